"""The ledger: SQLite storage, key store, import and export of bundles (built on ``passport``)."""
