"""``python -m dpp_ledger`` runs the ``dpp`` command."""

from dpp_ledger.cli.main import main

main()
