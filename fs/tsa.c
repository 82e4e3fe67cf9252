/* tsa — see include/tsa.h.  RFC 3161 with OpenSSL's TS_ API. */
#include "tsa.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ts.h>
#include <openssl/x509_vfy.h>

#include "log.h"

/* The response's genTime in Unix seconds; false if it has none. */
static bool gen_time(TS_RESP *resp, int64_t *out)
{
	TS_TST_INFO *info = TS_RESP_get_tst_info(resp);
	const ASN1_GENERALIZEDTIME *t = info ? TS_TST_INFO_get_time(info) : NULL;
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return false;
	*out = (int64_t)timegm(&tm);
	return true;
}

/* 1 if the one signer of `resp`'s token is `cert` (the authority's own
 * signing certificate, its chain's first: sigstore-python's rule, so that
 * another certificate under the same root cannot stamp for it), 0 if
 * not, -ENOMEM. */
static int signed_by(TS_RESP *resp, X509 *cert)
{
	PKCS7 *token = TS_RESP_get_token(resp);
	STACK_OF(X509) *extra = sk_X509_new_null(), *signers;
	int rc;

	if (!extra || !sk_X509_push(extra, cert)) {
		sk_X509_free(extra);
		return -ENOMEM;
	}
	signers = token ? PKCS7_get0_signers(token, extra, 0) : NULL;
	rc = signers && sk_X509_num(signers) == 1 && X509_cmp(sk_X509_value(signers, 0), cert) == 0;
	sk_X509_free(signers);
	sk_X509_free(extra);
	return rc;
}

/* 1 if `resp` verifies with authority `a` at time `when`, 0 if not (the
 * reason in why), -ENOMEM.  The context owns everything it is given: a
 * store holding a's root, a's other certificates as untrusted, and a
 * memory BIO of the data. */
static int verify_with(TS_RESP *resp, const struct mfs_authority *a, int64_t when,
		       const unsigned char *data, size_t datalen, char *why, size_t whylen)
{
	int n = sk_X509_num(a->chain);
	TS_VERIFY_CTX *ctx = TS_VERIFY_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509_STORE *store = X509_STORE_new();
	BIO *bio = BIO_new_mem_buf(data, (int)datalen);
	unsigned long e;
	int rc = -ENOMEM;

	if (!ctx || !untrusted || !store || !bio || n <= 0)
		goto out_free;
	if (!X509_STORE_add_cert(store, sk_X509_value(a->chain, n - 1)))
		goto out_free;
	for (int i = 0; i < n - 1; i++) {
		X509 *x = sk_X509_value(a->chain, i);

		if (!X509_up_ref(x))
			goto out_free;
		if (!sk_X509_push(untrusted, x)) {
			X509_free(x);
			goto out_free;
		}
	}
	/* The chain must hold when the stamp was made, not now: a TSA
	 * certificate that has since expired still vouches for its past. */
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), (time_t)when);
	TS_VERIFY_CTX_set_flags(ctx, TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_DATA);
	TS_VERIFY_CTX_set_store(ctx, store);
	store = NULL;
	TS_VERIFY_CTX_set_certs(ctx, untrusted);
	untrusted = NULL;
	TS_VERIFY_CTX_set_data(ctx, bio);
	bio = NULL;
	if (TS_RESP_verify_response(ctx, resp) == 1) {
		rc = signed_by(resp, sk_X509_value(a->chain, 0));
		if (rc == 0)
			snprintf(why, whylen, "signed by another certificate than the authority's");
	} else {
		const char *r;

		e = ERR_peek_last_error();
		r = e ? ERR_reason_error_string(e) : NULL;
		snprintf(why, whylen, "%s", r && *r ? r : "does not verify");
		rc = 0;
	}
out_free:
	TS_VERIFY_CTX_free(ctx);
	sk_X509_pop_free(untrusted, X509_free);
	X509_STORE_free(store);
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

int mfs_tsa_verify(const unsigned char *resp, size_t len, const unsigned char *data,
		   size_t datalen, const struct mfs_authority *tsas, size_t ntsas, int64_t *when,
		   char *err, size_t errlen)
{
	const unsigned char *p = resp;
	char why[160] = "no timestamp authority in the trusted root";
	TS_RESP *r;
	int64_t t;
	int rc = -EKEYREJECTED, ok;

	if (len == 0 || len > MFS_TSA_MAX_RESP || datalen > INT32_MAX)
		return mfs_fail(err, errlen, -EKEYREJECTED, "%zu bytes, not a timestamp response", len);
	r = d2i_TS_RESP(NULL, &p, (long)len);
	if (!r || p != resp + len) {
		TS_RESP_free(r);
		ERR_clear_error();
		return mfs_fail(err, errlen, -EKEYREJECTED, "not a DER timestamp response");
	}
	if (!gen_time(r, &t)) {
		rc = mfs_fail(err, errlen, -EKEYREJECTED, "the response has no time (not granted?)");
		goto out_free_resp;
	}
	for (size_t i = 0; i < ntsas; i++) {
		ok = verify_with(r, &tsas[i], t, data, datalen, why, sizeof(why));
		if (ok < 0) {
			rc = mfs_fail(err, errlen, -ENOMEM, "out of memory");
			goto out_free_resp;
		}
		if (!ok)
			continue;
		/* (an older or newer entry of the same authority may be) */
		if (t < tsas[i].valid_from || t > tsas[i].valid_until) {
			snprintf(why, sizeof(why), "%.100s is not trusted at the stamped time %lld",
				 tsas[i].uri, (long long)t);
			continue;
		}
		*when = t;
		rc = 0;
		goto out_free_resp;
	}
	rc = mfs_fail(err, errlen, -EKEYREJECTED, "does not verify with any timestamp authority of "
		  "the trusted root (%s)", why);
out_free_resp:
	TS_RESP_free(r);
	ERR_clear_error();
	return rc;
}
