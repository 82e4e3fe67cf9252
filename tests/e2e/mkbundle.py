#!/usr/bin/env python3
"""tests/e2e/mkbundle.py — makes an OpenSSF Model Signing bundle the way
model_signing does, signed with the openssl CLI, and can get it wrong on
purpose, for the tests of signed models.

    mkbundle.py --dir DIR --key KEY.pem --out model.sig NAME...
        [--hash sha256|sha384|sha512]   digest to sign the PAE with
                                        (default: the one the curve implies)
        [--cert LEAF.pem [--cert INT.pem ...]]   certificate method (leaf
                                        first); else key method
        [--bad-root]                    a wrong subject digest
        [--rename OLD=NEW]              sign NEW as the name of file OLD
        [--shards N]                    a manifest of shards of N bytes
                                        ("NAME:START:END", sha256-sharded-N)

The statement lists each NAME (a file under DIR) with its SHA-256, in the
order given; the subject digest is SHA-256 over the raw digests in that
order.  The PAE "DSSEv1 28 application/vnd.in-toto+json <len> <payload>"
is signed with `openssl dgst -sign` (DER ECDSA).
"""
import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile

PAYLOAD_TYPE = "application/vnd.in-toto+json"


def curve_hash(key):
    text = subprocess.run(["openssl", "pkey", "-in", key, "-noout", "-text"],
                          check=True, capture_output=True, text=True).stdout
    for curve, h in (("P-256", "sha256"), ("prime256v1", "sha256"),
                     ("P-384", "sha384"), ("secp384r1", "sha384"),
                     ("P-521", "sha512"), ("secp521r1", "sha512")):
        if curve in text:
            return h
    return "sha256"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--hash")
    ap.add_argument("--cert", action="append", default=[])
    ap.add_argument("--bad-root", action="store_true")
    ap.add_argument("--rename", action="append", default=[])
    ap.add_argument("--shards", type=int, default=0)
    ap.add_argument("names", nargs="+")
    a = ap.parse_args()
    renames = dict(r.split("=", 1) for r in a.rename)

    resources, raw = [], b""
    for n in a.names:
        data = open(os.path.join(a.dir, n), "rb").read()
        name = renames.get(n, n)
        if a.shards:
            for start in range(0, len(data), a.shards):
                end = min(start + a.shards, len(data))
                d = hashlib.sha256(data[start:end]).digest()
                resources.append({"name": "%s:%d:%d" % (name, start, end),
                                  "algorithm": "sha256-sharded-%d" % a.shards,
                                  "digest": d.hex()})
                raw += d
            continue
        d = hashlib.sha256(data).digest()
        resources.append({"name": name, "algorithm": "sha256", "digest": d.hex()})
        raw += d
    root = hashlib.sha256(raw).hexdigest()
    if a.bad_root:
        root = hashlib.sha256(raw + b"x").hexdigest()
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "model", "digest": {"sha256": root}}],
        "predicateType": "https://model_signing/signature/v1.0",
        "predicate": {
            "serialization": ({"method": "shards", "hash_type": "sha256",
                               "allow_symlinks": False, "shard_size": float(a.shards)}
                              if a.shards else
                              {"method": "files", "hash_type": "sha256",
                               "allow_symlinks": False}),
            "resources": resources,
        },
    }
    payload = json.dumps(statement, indent=2).encode()
    pae = b"DSSEv1 %d %s %d " % (len(PAYLOAD_TYPE), PAYLOAD_TYPE.encode(), len(payload)) + payload
    with tempfile.TemporaryDirectory() as tmp:
        pae_file = os.path.join(tmp, "pae")
        sig_file = os.path.join(tmp, "sig")
        open(pae_file, "wb").write(pae)
        subprocess.run(["openssl", "dgst", "-" + (a.hash or curve_hash(a.key)), "-sign", a.key,
                        "-out", sig_file, pae_file], check=True)
        sig = open(sig_file, "rb").read()
    if a.cert:
        certs = []
        for c in a.cert:
            der = subprocess.run(["openssl", "x509", "-in", c, "-outform", "DER"],
                                 check=True, capture_output=True).stdout
            certs.append({"rawBytes": base64.b64encode(der).decode()})
        material = {"x509CertificateChain": {"certificates": certs}, "tlogEntries": []}
    else:
        material = {"publicKey": {"hint": ""}, "tlogEntries": []}
    bundle = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": material,
        "dsseEnvelope": {
            "payload": base64.b64encode(payload).decode(),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"sig": base64.b64encode(sig).decode(), "keyid": ""}],
        },
    }
    json.dump(bundle, open(a.out, "w"), indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
