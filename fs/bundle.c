/* bundle — see include/bundle.h.  Formats: the Sigstore bundle protobuf
 * specs (as JSON), DSSE envelope protocol.md, OpenSSF Model Signing v1.0
 * §7. */
#include "bundle.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonin.h"
#include "log.h"

#define DSSE_PAYLOAD_TYPE "application/vnd.in-toto+json"

enum {
	QUOTE_MAX = 80,  /* bytes of a hostile string quoted in a message */
	HINT_MAX = sizeof(((struct mfs_bundle *)0)->key_hint) - 1,
};

static const struct {
	const char *type;
	int version;
} media_types[] = {
	{ "application/vnd.dev.sigstore.bundle.v0.1+json", 1 },
	{ "application/vnd.dev.sigstore.bundle.v0.2+json", 2 },
	{ "application/vnd.dev.sigstore.bundle.v0.3+json", 3 },
	{ "application/vnd.dev.sigstore.bundle+json;version=0.3", 3 },
};

struct ctx {
	struct mfs_bundle *b;
	char *err;
	size_t errlen;
};

/* The reason into the caller's buffer; returns rc. */
#define fail(c, rc, ...) mfs_fail((c)->err, (c)->errlen, (rc), __VA_ARGS__)

/* Decodes the base64 string `j` at `path` into *out; it must hold at
 * least one byte. */
static int decode_at(struct ctx *c, const json_t *j, const char *path, unsigned char **out,
		     size_t *outlen)
{
	char why[96];
	int rc;

	if (!json_is_string(j))
		return fail(c, -EINVAL, "%s: %s", path, j ? "not a string" : "missing");
	rc = mfs_b64_decode(json_string_value(j), json_string_length(j), out, outlen, why,
			    sizeof(why));
	if (rc == -EINVAL)
		return fail(c, rc, "%s: %s", path, why);
	if (rc < 0)
		return fail(c, rc, "%s: out of memory", path);
	return 0;
}

static int read_envelope(struct ctx *c, json_t *env)
{
	struct mfs_bundle *b = c->b;
	json_t *type, *sigs, *sig0, *keyid;
	char q[QUOTE_MAX];
	int rc;

	if (!json_is_object(env))
		return fail(c, -EINVAL, "dsseEnvelope: not an object");
	/* sigverify signs over this very type, and manifest reads only an
	 * in-toto statement: anything else is not an OMS signature */
	type = json_object_get(env, "payloadType");
	if (!json_is_string(type))
		return fail(c, -EINVAL, "dsseEnvelope.payloadType: %s",
			    type ? "not a string" : "missing");
	if (strcmp(json_string_value(type), DSSE_PAYLOAD_TYPE) != 0)
		return fail(c, -EINVAL, "dsseEnvelope.payloadType '%s': not " DSSE_PAYLOAD_TYPE,
			    mfs_json_quote(json_string_value(type), q, sizeof(q)));
	b->payload_type = strdup(DSSE_PAYLOAD_TYPE);
	if (!b->payload_type)
		return fail(c, -ENOMEM, "out of memory");
	rc = decode_at(c, json_object_get(env, "payload"), "dsseEnvelope.payload", &b->payload,
		       &b->payload_len);
	if (rc < 0)
		return rc;

	sigs = json_object_get(env, "signatures");
	if (!json_is_array(sigs))
		return fail(c, -EINVAL, "dsseEnvelope.signatures: %s",
			    sigs ? "not an array" : "missing");
	if (json_array_size(sigs) == 0)
		return fail(c, -EINVAL, "dsseEnvelope.signatures: empty");
	sig0 = json_array_get(sigs, 0);
	if (!json_is_object(sig0))
		return fail(c, -EINVAL, "dsseEnvelope.signatures[0]: not an object");
	/* OMS: a keyid absent, null or "" (model_signing writes all three);
	 * any string is only a label, never trusted */
	keyid = json_object_get(sig0, "keyid");
	if (keyid && !json_is_null(keyid) && !json_is_string(keyid))
		return fail(c, -EINVAL, "dsseEnvelope.signatures[0].keyid: not a string");
	return decode_at(c, json_object_get(sig0, "sig"), "dsseEnvelope.signatures[0].sig", &b->sig,
			 &b->sig_len);
}

static int read_public_key(struct ctx *c, json_t *pk)
{
	json_t *hint, *raw, *details;
	const char *h;
	size_t len;

	if (!json_is_object(pk))
		return fail(c, -EINVAL, "verificationMaterial.publicKey: not an object");
	/* Older bundles carry the signer's key as rawBytes (base64 of its PEM
	 * text) and keyDetails: the verifier trusts only the operator's keys,
	 * so these are not read, only typed. */
	raw = json_object_get(pk, "rawBytes");
	if (raw && !json_is_string(raw))
		return fail(c, -EINVAL, "verificationMaterial.publicKey.rawBytes: not a string");
	details = json_object_get(pk, "keyDetails");
	if (details && !json_is_string(details))
		return fail(c, -EINVAL, "verificationMaterial.publicKey.keyDetails: not a string");
	hint = json_object_get(pk, "hint");
	if (!hint || json_is_null(hint))
		return 0;
	if (!json_is_string(hint))
		return fail(c, -EINVAL, "verificationMaterial.publicKey.hint: not a string");
	h = json_string_value(hint);
	len = json_string_length(hint);
	if (len > HINT_MAX)
		return fail(c, -EINVAL, "verificationMaterial.publicKey.hint: longer than %d bytes",
			    (int)HINT_MAX);
	/* it is quoted in the audit log: printable ASCII only */
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)h[i] < 0x21 || (unsigned char)h[i] > 0x7e)
			return fail(c, -EINVAL,
				    "verificationMaterial.publicKey.hint: not printable ASCII");
	}
	memcpy(c->b->key_hint, h, len + 1);
	return 0;
}

static int read_chain(struct ctx *c, json_t *chain)
{
	struct mfs_bundle *b = c->b;
	json_t *certs, *cert;
	char path[96];
	size_t i;
	int rc;

	if (!json_is_object(chain))
		return fail(c, -EINVAL, "verificationMaterial.x509CertificateChain: not an object");
	certs = json_object_get(chain, "certificates");
	if (!json_is_array(certs))
		return fail(c, -EINVAL, "verificationMaterial.x509CertificateChain.certificates: %s",
			    certs ? "not an array" : "missing");
	if (json_array_size(certs) == 0)
		return fail(c, -EINVAL,
			    "verificationMaterial.x509CertificateChain.certificates: empty");
	if (json_array_size(certs) > MFS_BUNDLE_MAX_CERTS)
		return fail(c, -EINVAL,
			    "verificationMaterial.x509CertificateChain.certificates: %zu, over the "
			    "limit of %d", json_array_size(certs), MFS_BUNDLE_MAX_CERTS);
	json_array_foreach(certs, i, cert) {
		snprintf(path, sizeof(path),
			 "verificationMaterial.x509CertificateChain.certificates[%zu]", i);
		if (!json_is_object(cert))
			return fail(c, -EINVAL, "%s: not an object", path);
		strcat(path, ".rawBytes");
		rc = decode_at(c, json_object_get(cert, "rawBytes"), path, &b->certs[i].der,
			       &b->certs[i].len);
		if (rc < 0)
			return rc;
		b->ncerts++;
	}
	return 0;
}

static int read_material(struct ctx *c, json_t *vm)
{
	struct mfs_bundle *b = c->b;
	json_t *pk, *chain, *cert, *tlog, *ts;
	int rc;

	if (!json_is_object(vm))
		return fail(c, -EINVAL, "verificationMaterial: %s", vm ? "not an object" : "missing");
	tlog = json_object_get(vm, "tlogEntries");
	if (tlog && !json_is_array(tlog))
		return fail(c, -EINVAL, "verificationMaterial.tlogEntries: not an array");
	ts = json_object_get(vm, "timestampVerificationData");
	if (ts && !json_is_object(ts))
		return fail(c, -EINVAL, "verificationMaterial.timestampVerificationData: not an object");

	pk = json_object_get(vm, "publicKey");
	chain = json_object_get(vm, "x509CertificateChain");
	cert = json_object_get(vm, "certificate");
	/* a protobuf oneof: exactly one says how the signature is checked */
	if (!!pk + !!chain + !!cert != 1)
		return fail(c, -EINVAL, "verificationMaterial: %s",
			    pk || chain || cert ? "more than one of publicKey, x509CertificateChain "
						  "and certificate"
						: "no publicKey, x509CertificateChain or certificate");
	if (pk) {
		b->method = MFS_SIG_KEY;
		return read_public_key(c, pk);
	}
	if (chain) {
		b->method = MFS_SIG_CERTIFICATE;
		return read_chain(c, chain);
	}
	b->method = MFS_SIG_KEYLESS;
	if (!json_is_object(cert))
		return fail(c, -EINVAL, "verificationMaterial.certificate: not an object");
	rc = decode_at(c, json_object_get(cert, "rawBytes"), "verificationMaterial.certificate.rawBytes",
		       &b->certs[0].der, &b->certs[0].len);
	if (rc < 0)
		return rc;
	b->ncerts = 1;
	/* A Fulcio certificate lives ten minutes: only a transparency log
	 * entry (its inclusion time) makes it mean anything, so a keyless
	 * bundle without one can never verify.  Refused here, where the
	 * reason is plain; the keyless verifier checks the entry itself. */
	if (!tlog || json_array_size(tlog) == 0)
		return fail(c, -EINVAL, "verificationMaterial.tlogEntries: %s; a keyless bundle needs "
			    "its transparency log entry", tlog ? "empty" : "missing");
	return 0;
}

static int read_bundle(struct ctx *c, json_t *root)
{
	json_t *media, *env;
	char q[QUOTE_MAX];
	size_t i;
	int rc;

	if (!json_is_object(root))
		return fail(c, -EINVAL, "not a JSON object");

	media = json_object_get(root, "mediaType");
	if (!json_is_string(media))
		return fail(c, -EINVAL, "mediaType: %s", media ? "not a string" : "missing");
	for (i = 0; i < sizeof(media_types) / sizeof(media_types[0]); i++) {
		if (!strcmp(json_string_value(media), media_types[i].type))
			break;
	}
	if (i == sizeof(media_types) / sizeof(media_types[0]))
		return fail(c, -EINVAL, "mediaType '%s': not a Sigstore bundle v0.1 to v0.3",
			    mfs_json_quote(json_string_value(media), q, sizeof(q)));
	c->b->media_version = media_types[i].version;

	if (json_object_get(root, "messageSignature"))
		return fail(c, -EINVAL, "messageSignature: a message signature, not a DSSE envelope "
			    "(model signing signs an in-toto statement)");
	env = json_object_get(root, "dsseEnvelope");
	if (!env)
		return fail(c, -EINVAL, "dsseEnvelope: missing");
	rc = read_envelope(c, env);
	if (rc < 0)
		return rc;
	return read_material(c, json_object_get(root, "verificationMaterial"));
}

int mfs_bundle_parse(const void *text, size_t len, struct mfs_bundle *out, char *err, size_t errlen)
{
	struct ctx c = { .b = out, .err = err, .errlen = errlen };
	json_t *root;
	int rc;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	if (len > MFS_BUNDLE_MAX)
		return fail(&c, -E2BIG, "%zu bytes, over the limit of %u", len, MFS_BUNDLE_MAX);
	if (len == 0)
		return fail(&c, -EINVAL, "empty");
	root = mfs_json_load(text, len, MFS_BUNDLE_MAX_DEPTH, &rc, err, errlen);
	if (!root)
		return rc;
	out->json = root;
	rc = read_bundle(&c, root);
	if (rc < 0)
		mfs_bundle_free(out);
	return rc;
}

void mfs_bundle_free(struct mfs_bundle *b)
{
	if (!b)
		return;
	/* every slot, whatever ncerts says: unused ones are NULL */
	for (size_t i = 0; i < MFS_BUNDLE_MAX_CERTS; i++)
		free(b->certs[i].der);
	free(b->payload_type);
	free(b->payload);
	free(b->sig);
	json_decref(b->json);
	memset(b, 0, sizeof(*b));
}

const char *mfs_sig_method_name(enum mfs_sig_method m)
{
	switch (m) {
	case MFS_SIG_KEY:
		return "key";
	case MFS_SIG_CERTIFICATE:
		return "certificate";
	case MFS_SIG_KEYLESS:
		return "keyless";
	}
	return "unknown";
}
