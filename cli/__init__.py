"""The ``dpp`` command: parse arguments, call the ledger and the passport core, print."""

__version__ = "0.1.0"
