#!/usr/bin/python3
"""tests/e2e/mkkeyless.py — makes a SYNTHETIC keyless (Sigstore) OpenSSF
Model Signing bundle and the trusted_root.json that it verifies against,
with every party played here: a Fulcio-like CA (root and intermediate), a
certificate transparency log that signs the leaf's embedded SCT, a Rekor
log (ECDSA P-256, or Ed25519) that logs a "dsse" 0.0.1 entry with its SET,
an RFC 9162 inclusion proof and a signed checkpoint, and optionally an
RFC 3161 timestamp authority (the openssl ts CLI).  It can get one thing
wrong on purpose, to reach each step of the keyless verifier that real
bundles cannot.

    mkkeyless.py --dir DIR --out OUTDIR NAME...
        [--identity ID]          the leaf's SAN (default signer@example.test,
                                 or a workflow URI with --uri-san)
        [--oidc-issuer URL]      default https://issuer.example.test
        [--uri-san]              the SAN is a URI, not an e-mail address
        [--issuer-v1]            the old issuer extension (.57264.1.1, raw)
        [--rekor-ed25519]        an Ed25519 Rekor log (SET and checkpoint)
        [--tsa]                  add an RFC 3161 timestamp (openssl ts)
        [--tsa-after-leaf]       ... stamped after the leaf's notAfter
        [--tsa-not-in-root]      ... by a TSA the trusted root does not list
        [--tsa-other-signer]     ... by a certificate of the TSA's CA other
                                 than the one the trusted root lists
        [--no-codesigning]       EKU clientAuth instead of codeSigning
        [--no-digitalsignature]  KeyUsage keyEncipherment, not digitalSignature
        [--no-issuer-ext]        no OIDC issuer extension at all
        [--no-sct]               no embedded SCT list
        [--time-outside-leaf]    integratedTime after the leaf's notAfter
        [--sct-unknown-log]      the SCT signed by a CT log not in the root
        [--ca-validfor-ended]    the CA's validFor ends before integratedTime
        [--body-wrong-signature] the logged signature is another (valid) one
        [--body-wrong-verifier]  the logged verifier is another certificate
        [--body-wrong-payload-hash]  the logged payload hash is another
        [--kind-hashedrekord]    a hashedrekord 0.0.1 entry instead of dsse
        [--compat-pae]           the envelope signed over model_signing v0.2.0's
                                 quirky encoding (key bundles only), logged
                                 consistently

The DSSE envelope (an in-toto statement over the NAMEs under DIR, signed
with the leaf's key) is made by mkbundle.py in this directory, exactly as
for the key and certificate methods; this script only replaces its
verification material.  Writes OUTDIR/model.sig and
OUTDIR/trusted_root.json.  Keys are fresh on every run, so the output
differs from run to run; times are fixed (integratedTime
2025-01-01T00:01:00Z; with --tsa, the time of the run, which openssl ts
stamps) and the verifier never reads the clock, so the output verifies
the same way any day.
"""
import argparse
import base64
import datetime
import hashlib
import json
import os
import subprocess
import sys
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

HERE = os.path.dirname(os.path.abspath(__file__))
OID_ISSUER_V1 = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
OID_ISSUER_V2 = ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
OID_SCT_LIST = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
REKOR_URL = "https://rekor.example.test"
CT_URL = "https://ct.example.test"
FULCIO_URL = "https://fulcio.example.test"
T0 = 1735689600                     # 2025-01-01T00:00:00Z
INTEGRATED = T0 + 60


def utc(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).replace(tzinfo=None)


def rfc3339(t):
    return utc(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def b64(b):
    return base64.b64encode(b).decode()


def der_len(n):
    if n < 0x80:
        return bytes([n])
    out = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(out)]) + out


def der(tag, body):
    return bytes([tag]) + der_len(len(body)) + body


def spki(key):
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def canonical(obj):
    """RFC 8785 for what appears here (ASCII strings, integers)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def sign(key, data):
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


# ------------------------------------------------------------- Fulcio

def ca_certs(root_key, int_key):
    root_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "example.test"),
                           x509.NameAttribute(NameOID.COMMON_NAME, "test-fulcio-root")])
    int_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "example.test"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "test-fulcio-intermediate")])
    root = (x509.CertificateBuilder()
            .subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(1)
            .not_valid_before(utc(T0 - 86400 * 365)).not_valid_after(utc(T0 + 86400 * 3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()),
                           critical=False)
            .sign(root_key, hashes.SHA384()))
    inter = (x509.CertificateBuilder()
             .subject_name(int_name).issuer_name(root_name)
             .public_key(int_key.public_key()).serial_number(2)
             .not_valid_before(utc(T0 - 86400 * 365)).not_valid_after(utc(T0 + 86400 * 3650))
             .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
             .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                          False), critical=True)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]),
                            critical=False)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(int_key.public_key()),
                            critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 root_key.public_key()), critical=False)
             .sign(root_key, hashes.SHA384()))
    return root, inter


def sct_list(log_key, precert_tbs, issuer_spki, when_ms):
    """The TLS-encoded SignedCertificateTimestampList of one v1 SCT by
    log_key over the RFC 6962 precert entry."""
    log_id = hashlib.sha256(spki(log_key)).digest()
    ts = when_ms.to_bytes(8, "big")
    signed = (b"\x00\x00" + ts + b"\x00\x01" + hashlib.sha256(issuer_spki).digest() +
              len(precert_tbs).to_bytes(3, "big") + precert_tbs + b"\x00\x00")
    sig = sign(log_key, signed)
    sct = (b"\x00" + log_id + ts + b"\x00\x00" +
           b"\x04\x03" + len(sig).to_bytes(2, "big") + sig)   # sha256, ecdsa
    item = len(sct).to_bytes(2, "big") + sct
    return len(item).to_bytes(2, "big") + item


def leaf_cert(a, leaf_key, int_key, inter, ct_key):
    not_before = INTEGRATED - 30
    if a.uri_san:
        san = x509.UniformResourceIdentifier(a.identity)
    else:
        san = x509.RFC822Name(a.identity)
    if a.issuer_v1:
        issuer_ext = x509.UnrecognizedExtension(OID_ISSUER_V1, a.oidc_issuer.encode())
    else:
        issuer_ext = x509.UnrecognizedExtension(OID_ISSUER_V2,
                                                der(0x0c, a.oidc_issuer.encode()))
    eku = ExtendedKeyUsageOID.CLIENT_AUTH if a.no_codesigning else ExtendedKeyUsageOID.CODE_SIGNING
    ds = not a.no_digitalsignature
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([])).issuer_name(inter.subject)
         .public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(utc(not_before)).not_valid_after(utc(not_before + 600))
         .add_extension(x509.KeyUsage(ds, False, not ds, False, False, False, False, False,
                                      False), critical=True)
         .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()),
                        critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
             int_key.public_key()), critical=False)
         .add_extension(x509.SubjectAlternativeName([san]), critical=True))
    if not a.no_issuer_ext:
        b = b.add_extension(issuer_ext, critical=False)
    if a.no_sct:
        return b.sign(int_key, hashes.SHA384())
    # The precertificate's TBS is this one's without the SCT list, which
    # comes last: removing it from the final certificate gives these bytes.
    precert_tbs = b.sign(int_key, hashes.SHA384()).tbs_certificate_bytes
    scts = sct_list(ct_key, precert_tbs, spki(int_key), (not_before + 1) * 1000)
    return b.add_extension(x509.UnrecognizedExtension(OID_SCT_LIST, der(0x04, scts)),
                           critical=False).sign(int_key, hashes.SHA384())


# -------------------------------------------------------------- Rekor

def log_id(key, ed_note):
    """Rekor v1: SHA-256 of the DER key; for Ed25519 here the C2SP
    signed-note key ID (rekor.h accepts both)."""
    if not ed_note:
        return hashlib.sha256(spki(key)).digest()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    host = REKOR_URL.split("://", 1)[1]
    return hashlib.sha256(host.encode() + b"\n\x01" + raw).digest()


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(leaves):
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node(mth(leaves[:k]), mth(leaves[k:]))


def audit_path(m, leaves):
    """RFC 9162 §2.1.3.1 PATH(m, leaves)."""
    if len(leaves) <= 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return audit_path(m, leaves[:k]) + [mth(leaves[k:])]
    return audit_path(m - k, leaves[k:]) + [mth(leaves[:k])]


def tlog_entry(a, rekor_key, ed, body):
    lid = log_id(rekor_key, ed)
    integrated = INTEGRATED
    if a.time_outside_leaf:
        integrated = INTEGRATED - 30 + 600 + 60
    log_index, index, size = 123456, 6, 13
    body_b64 = b64(body)
    set_msg = canonical({"body": body_b64, "integratedTime": integrated,
                         "logID": lid.hex(), "logIndex": log_index})
    leaves = [hashlib.sha256(b"\x00other leaf %d" % i).digest() for i in range(size)]
    leaves[index] = hashlib.sha256(b"\x00" + body).digest()
    root = mth(leaves)
    note = "rekor.example.test - 1193050959916656506\n%d\n%s\n" % (size, b64(root))
    sig = sign(rekor_key, note.encode())
    note += "\n\u2014 rekor.example.test %s\n" % b64(lid[:4] + sig)
    kind = "hashedrekord" if a.kind_hashedrekord else "dsse"
    return {
        "logIndex": str(log_index),
        "logId": {"keyId": b64(lid)},
        "kindVersion": {"kind": kind, "version": "0.0.1"},
        "integratedTime": str(integrated),
        "inclusionPromise": {"signedEntryTimestamp": b64(sign(rekor_key, set_msg))},
        "inclusionProof": {"logIndex": str(index), "rootHash": b64(root),
                           "treeSize": str(size),
                           "hashes": [b64(h) for h in audit_path(index, leaves)],
                           "checkpoint": {"envelope": note}},
        "canonicalizedBody": body_b64,
    }


def entry_body(a, envelope, payload, sig, leaf, other_cert, other_sig):
    pem = leaf.public_bytes(serialization.Encoding.PEM)
    if a.body_wrong_verifier:
        pem = other_cert.public_bytes(serialization.Encoding.PEM)
    logged_sig = other_sig if a.body_wrong_signature else sig
    payload_hash = hashlib.sha256(payload + (b"x" if a.body_wrong_payload_hash else b""))
    if a.kind_hashedrekord:
        return canonical({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": payload_hash.hexdigest()}},
            "signature": {"content": b64(logged_sig), "publicKey": {"content": b64(pem)}}}})
    return canonical({"apiVersion": "0.0.1", "kind": "dsse", "spec": {
        "envelopeHash": {"algorithm": "sha256",
                         "value": hashlib.sha256(canonical(envelope)).hexdigest()},
        "payloadHash": {"algorithm": "sha256", "value": payload_hash.hexdigest()},
        "signatures": [{"signature": b64(logged_sig), "verifier": b64(pem)}]}})


# ---------------------------------------------------------------- TSA

TSA_CNF = """\
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = {dir}/serial
crypto_device = builtin
signer_cert = {dir}/tsa.pem
certs = {dir}/chain.pem
signer_key = {dir}/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.57264.2
digests = sha256
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def tsa_cert(key, serial, root_key, root):
    """A timestamping certificate for `key`, issued by the root."""
    now = int(datetime.datetime.now(datetime.timezone.utc).timestamp())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-tsa")])
    return (x509.CertificateBuilder()
            .subject_name(name).issuer_name(root.subject)
            .public_key(key.public_key()).serial_number(serial)
            .not_valid_before(utc(T0 - 86400)).not_valid_after(utc(now + 86400 * 3650))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                           critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                         False), critical=True)
            .sign(root_key, hashes.SHA384()))


def tsa_stamp(data, tmp, root_key, root):
    """An RFC 3161 response over `data` by a TSA whose certificate the
    Fulcio-like root issues (a TSA chain of its own in the trusted root),
    and that chain (leaf first).  genTime is the clock's: openssl ts has
    no option for another, and the TSA certificate is made valid for
    years around it."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = tsa_cert(key, 3, root_key, root)
    pem = serialization.Encoding.PEM
    open(os.path.join(tmp, "tsa.pem"), "wb").write(cert.public_bytes(pem))
    open(os.path.join(tmp, "chain.pem"), "wb").write(cert.public_bytes(pem) +
                                                     root.public_bytes(pem))
    open(os.path.join(tmp, "tsa.key"), "wb").write(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    open(os.path.join(tmp, "serial"), "w").write("01\n")
    open(os.path.join(tmp, "tsa.cnf"), "w").write(TSA_CNF.format(dir=tmp))
    open(os.path.join(tmp, "data"), "wb").write(data)
    subprocess.run(["openssl", "ts", "-query", "-data", os.path.join(tmp, "data"), "-sha256",
                    "-cert", "-out", os.path.join(tmp, "req.tsq")], check=True,
                   capture_output=True)
    subprocess.run(["openssl", "ts", "-reply", "-config", os.path.join(tmp, "tsa.cnf"),
                    "-queryfile", os.path.join(tmp, "req.tsq"), "-out",
                    os.path.join(tmp, "resp.tsr")], check=True, capture_output=True)
    return open(os.path.join(tmp, "resp.tsr"), "rb").read(), [cert, root]


# --------------------------------------------------------------- main

def authority(uri, chain, start, end=None):
    vf = {"start": rfc3339(start)}
    if end is not None:
        vf["end"] = rfc3339(end)
    return {"subject": {"organization": "example.test", "commonName": uri.split("//")[1]},
            "uri": uri,
            "certChain": {"certificates": [
                {"rawBytes": b64(c.public_bytes(serialization.Encoding.DER))} for c in chain]},
            "validFor": vf}


def tlog(url, key, lid, details):
    return {"baseUrl": url, "hashAlgorithm": "SHA2_256",
            "publicKey": {"rawBytes": b64(spki(key)), "keyDetails": details,
                          "validFor": {"start": rfc3339(T0 - 86400 * 365)}},
            "logId": {"keyId": b64(lid)}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--identity")
    ap.add_argument("--oidc-issuer", default="https://issuer.example.test")
    for k in ("uri-san", "issuer-v1", "rekor-ed25519", "tsa", "no-codesigning",
              "tsa-after-leaf", "tsa-not-in-root", "no-digitalsignature", "no-issuer-ext",
              "no-sct", "time-outside-leaf", "sct-unknown-log", "ca-validfor-ended",
              "body-wrong-signature", "body-wrong-verifier", "body-wrong-payload-hash",
              "kind-hashedrekord", "compat-pae", "tsa-other-signer"):
        ap.add_argument("--" + k, action="store_true")
    ap.add_argument("names", nargs="+")
    a = ap.parse_args()
    if a.tsa_after_leaf or a.tsa_not_in_root or a.tsa_other_signer:
        a.tsa = True
    if a.tsa:
        # openssl ts stamps the clock's time, and the leaf must be valid
        # at every verified time: the whole story happens now.
        # (--tsa-after-leaf: an hour before, the leaf long expired when
        # the stamp is made.)
        global T0, INTEGRATED
        T0 = int(datetime.datetime.now(datetime.timezone.utc).timestamp()) - 120
        if a.tsa_after_leaf:
            T0 -= 3600
        INTEGRATED = T0 + 60
    if not a.identity:
        a.identity = ("https://github.com/example/model/.github/workflows/sign.yml"
                      "@refs/heads/main" if a.uri_san else "signer@example.test")

    root_key = ec.generate_private_key(ec.SECP384R1())
    int_key = ec.generate_private_key(ec.SECP384R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    ct_key = ec.generate_private_key(ec.SECP256R1())
    stranger_ct_key = ec.generate_private_key(ec.SECP256R1())
    if a.rekor_ed25519:
        rekor_key = ed25519.Ed25519PrivateKey.generate()
    else:
        rekor_key = ec.generate_private_key(ec.SECP256R1())

    root, inter = ca_certs(root_key, int_key)
    leaf = leaf_cert(a, leaf_key, int_key, inter,
                     stranger_ct_key if a.sct_unknown_log else ct_key)

    os.makedirs(a.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        key_pem = os.path.join(tmp, "leaf.key")
        open(key_pem, "wb").write(leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        made = os.path.join(tmp, "made.sig")
        subprocess.run([sys.executable, os.path.join(HERE, "mkbundle.py"), "--dir", a.dir,
                        "--key", key_pem, "--out", made] + a.names, check=True)
        bundle = json.load(open(made))
        envelope = bundle["dsseEnvelope"]
        payload = base64.b64decode(envelope["payload"])
        sig = base64.b64decode(envelope["signatures"][0]["sig"])
        # Another valid signature of the same payload type and payload
        # (ECDSA is randomised), for --body-wrong-signature.
        pae = (b"DSSEv1 %d %s %d " % (len(envelope["payloadType"]),
                                      envelope["payloadType"].encode(), len(payload)) + payload)
        other_sig = leaf_key.sign(pae, ec.ECDSA(hashes.SHA256()))
        if a.compat_pae:
            quirky = (b"DSSEV1 %d %s %d " % (len(envelope["payloadType"]),
                                             envelope["payloadType"].encode(), len(payload)) +
                      repr(payload).encode())
            sig = leaf_key.sign(quirky, ec.ECDSA(hashes.SHA256()))
            envelope["signatures"][0]["sig"] = b64(sig)

        body = entry_body(a, envelope, payload, sig, leaf, inter, other_sig)
        material = {
            "certificate": {"rawBytes": b64(leaf.public_bytes(serialization.Encoding.DER))},
            "tlogEntries": [tlog_entry(a, rekor_key, a.rekor_ed25519, body)],
        }
        tsas = []
        if a.tsa:
            resp, chain = tsa_stamp(sig, tmp, root_key, root)
            material["timestampVerificationData"] = {
                "rfc3161Timestamps": [{"signedTimestamp": b64(resp)}]}
            if a.tsa_other_signer:
                # the root lists another certificate of the same CA
                other = tsa_cert(ec.generate_private_key(ec.SECP256R1()), 4, root_key, root)
                chain = [other, root]
            if not a.tsa_not_in_root:
                tsas = [authority("https://tsa.example.test", chain, T0 - 86400)]
    bundle["verificationMaterial"] = material
    json.dump(bundle, open(os.path.join(a.out, "model.sig"), "w"), indent=2)

    ca_end = INTEGRATED - 3600 if a.ca_validfor_ended else None
    trusted = {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [tlog(REKOR_URL, rekor_key, log_id(rekor_key, a.rekor_ed25519),
                       "PKIX_ED25519" if a.rekor_ed25519 else "PKIX_ECDSA_P256_SHA_256")],
        "certificateAuthorities": [authority(FULCIO_URL, [inter, root], T0 - 86400 * 365,
                                             ca_end)],
        "ctlogs": [tlog(CT_URL, ct_key, log_id(ct_key, False), "PKIX_ECDSA_P256_SHA_256")],
        "timestampAuthorities": tsas,
    }
    json.dump(trusted, open(os.path.join(a.out, "trusted_root.json"), "w"), indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
