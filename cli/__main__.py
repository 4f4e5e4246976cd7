"""``python -m cli`` runs the ``dpp`` command."""

from .main import main

main()
