"""The ``dpp`` command: parse arguments, call the ledger and the passport core, print."""
