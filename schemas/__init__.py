"""JSON Schemas (draft 2020-12) and the CDDL of the CBOR wire formats; data, loaded by code."""

# The JSON files beside this one, by name: passport.schema reads each with pkgutil.get_data,
# so loading them needs no directory listing (importlib.resources' costs ~4 ms at every start
# of the CLI). tests/test_schemas.py checks that this lists every .json file here.
JSON_FILES = (
    "authentication",
    "countries",
    "defs",
    "end_of_life",
    "outlet",
    "production",
    "recovered",
    "repair",
    "resale",
    "sale",
    "stolen",
    "truststore",
)
