"""JSON Schemas (draft 2020-12) and the CDDL of the CBOR wire formats; data, loaded by code."""
