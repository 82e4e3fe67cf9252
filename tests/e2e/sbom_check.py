#!/usr/bin/env python3
"""sbom_check.py -- helpers of tests/e2e/t_37_sbom.sh.

  flat DOC       one line per fact of a modelfsctl sbom document, for every
                 component (metadata's, models', their files', archives'):
                   REF hash ALG HEX / REF url TYPE URL [sha256:HEX] /
                   REF size N / REF prop NAME VALUE / REF type TYPE
  expect CONFIG  the hash, url and size lines the document must hold, read
                 from the config on their own (another reading of the INI
                 than modelfs's; what the tests write, no escapes)
  strip DOC      the document without timestamp and serialNumber, its
                 order kept (determinism)
"""
import hashlib
import json
import sys

ALG = {"sha1": "SHA-1", "sha256": "SHA-256", "sha512": "SHA-512"}


def walk(c, out):
    ref = c.get("bom-ref", "-")
    out.append(f"{ref} type {c['type']}")
    for h in c.get("hashes", []):
        out.append(f"{ref} hash {h['alg']} {h['content']}")
    for r in c.get("externalReferences", []):
        extra = "".join(f" {h['alg']}:{h['content']}" for h in r.get("hashes", []))
        out.append(f"{ref} url {r['type']} {r['url']}{extra}")
    for p in c.get("properties", []):
        if p["name"] == "modelfs:size":
            out.append(f"{ref} size {p['value']}")
        else:
            out.append(f"{ref} prop {p['name']} {p.get('value', '')}")
    for a in c.get("pedigree", {}).get("ancestors", []):
        walk(a, out)
    for s in c.get("components", []):
        walk(s, out)


def flat(doc):
    d = json.load(open(doc))
    out = []
    walk(d["metadata"]["component"], out)
    for c in d["components"]:
        walk(c, out)
    for dep in d.get("dependencies", []):
        for on in dep.get("dependsOn", []):
            out.append(f"{dep['ref']} dependsOn {on}")
    print("\n".join(out))


def parse_ini(path):
    secs, cur = [], None
    for line in open(path):
        line = line.rstrip("\n")
        s = line.strip()
        if not s or s[0] in ";#":
            continue
        if s.startswith("["):
            kind, _, name = s[1:-1].partition(" ")
            cur = {"kind": kind, "name": name, "kv": {}, "files": []}
            secs.append(cur)
            continue
        k, _, v = s.partition("=")
        k, v = k.strip(), v.split(" ;")[0].strip()
        if k == "file":
            cur["files"].append(v)
        else:
            cur["kv"][k] = v
    return secs


def expect(cfg):
    secs = parse_ini(cfg)
    src = {s["name"]: s["kv"] for s in secs if s["kind"] == "source"}
    out = [f"config hash SHA-256 {hashlib.sha256(open(cfg, 'rb').read()).hexdigest()}"]

    def urls(ref, typ, s, rel):
        bases = [s["url"]] + s.get("mirrors", "").split()
        for b in bases:
            out.append(f"{ref} url {typ} {b}{rel}")

    for m in (s for s in secs if s["kind"] == "model"):
        kv, mid = m["kv"], m["name"]
        s = src[kv["source"]]
        ref = f"model:{mid}"
        if "archive" in kv:
            urls(ref, "distribution", s, kv["url"])
            aref = f"archive:{mid}"
            urls(aref, "distribution", s, kv["url"])
            for a in ALG:
                if f"archive_{a}" in kv:
                    out.append(f"{aref} hash {ALG[a]} {kv['archive_' + a]}")
            if "archive_size" in kv:
                out.append(f"{aref} size {kv['archive_size']}")
        if "signature" in kv:
            urls(ref, "attestation", s, kv["signature"])
        if m["files"]:
            total = 0
            for f in m["files"]:
                name, size, *pins = f.split()
                total += int(size)
                fref = f"{ref}/{name}"
                out.append(f"{fref} size {size}")
                for p in sorted(pins, key=lambda p: list(ALG).index(p.split(":")[0])):
                    a, h = p.split(":")
                    out.append(f"{fref} hash {ALG[a]} {h}")
                if "archive" not in kv:
                    urls(fref, "distribution", s, kv["url"] + name)
            out.append(f"{ref} size {total}")
        else:
            out.append(f"{ref} size {kv['size']}")
            for a in ALG:
                if a in kv:
                    out.append(f"{ref} hash {ALG[a]} {kv[a]}")
            if "archive" not in kv:
                urls(ref, "distribution", s, kv["url"])
    print("\n".join(out))


def strip(doc):
    d = json.load(open(doc))
    d.pop("serialNumber", None)
    d["metadata"].pop("timestamp", None)
    print(json.dumps(d, indent=1))


{"flat": flat, "expect": expect, "strip": strip}[sys.argv[1]](sys.argv[2])
