#!/usr/bin/env python3
"""cdx_validate.py SCHEMA_DIR DOC.json... -- validates CycloneDX 1.6 JSON
documents against the official schema in SCHEMA_DIR (tests/data/cyclonedx)
with Debian's python3-jsonschema (Draft 7), offline: the schema's
references to spdx and jsf resolve to the files beside it.  Prints
"valid" per document, or each error with its place; exit 1 if any is
invalid."""
import json
import os
import sys
import warnings

import jsonschema

BOM = "bom-1.6.SNAPSHOT.schema.json"


def main():
    sdir, docs = sys.argv[1], sys.argv[2:]
    bom = json.load(open(os.path.join(sdir, BOM)))
    base = bom["$id"].rsplit("/", 1)[0] + "/"
    store = {}
    for name in os.listdir(sdir):
        if name.endswith(".schema.json"):
            s = json.load(open(os.path.join(sdir, name)))
            # by the name a $ref uses, and by the $id the file declares
            store[base + name] = s
            store[s.get("$id", base + name)] = s
    with warnings.catch_warnings():
        # RefResolver is what Debian 12's jsonschema 4.10 has; newer
        # releases deprecate it but still honour it.
        warnings.simplefilter("ignore", DeprecationWarning)
        resolver = jsonschema.RefResolver(bom["$id"], bom, store=store)
        cls = jsonschema.validators.validator_for(bom)
        cls.check_schema(bom)
        v = cls(bom, resolver=resolver, format_checker=cls.FORMAT_CHECKER
                if hasattr(cls, "FORMAT_CHECKER") else jsonschema.draft7_format_checker)
        bad = 0
        for d in docs:
            errs = sorted(v.iter_errors(json.load(open(d))), key=lambda e: list(e.path))
            if not errs:
                print(f"{d}: valid")
            for e in errs:
                bad += 1
                where = "/".join(str(p) for p in e.absolute_path)
                print(f"{d}: /{where}: {e.message[:300]}")
    sys.exit(1 if bad else 0)


main()
