"""Digital product passport ledger: the one import name of the installed package.

``dpp_ledger.passport`` verifies offline (pure), ``dpp_ledger.ledger`` stores and signs,
``dpp_ledger.cli`` is the ``dpp`` command, ``dpp_ledger.schemas`` holds the JSON Schemas and CDDL.
"""

__version__ = "0.1.0"
