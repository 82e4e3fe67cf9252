/* sct — see include/sct.h.  RFC 6962 §3.2 (the signed structure) and
 * §3.3 (the embedded SCT list). */
#include "sct.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ct.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "log.h"

static void put_be(unsigned char *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

/* The leaf's TBSCertificate without its SCT list, DER, malloc'd: what the
 * log saw (as a precertificate) when it signed.  NULL on failure. */
static unsigned char *precert_tbs(X509 *leaf, size_t *len)
{
	X509 *dup = X509_dup(leaf);
	unsigned char *der = NULL, *p;
	int idx, n;

	if (!dup)
		return NULL;
	idx = X509_get_ext_by_NID(dup, NID_ct_precert_scts, -1);
	if (idx < 0)
		goto out_free_dup;
	X509_EXTENSION_free(X509_delete_ext(dup, idx));
	/* i2d_re_X509_tbs re-encodes: the cached encoding still has the
	 * extension. */
	n = i2d_re_X509_tbs(dup, NULL);
	if (n <= 0 || n >= (1 << 24))
		goto out_free_dup;
	der = malloc((size_t)n);
	if (!der)
		goto out_free_dup;
	p = der;
	if (i2d_re_X509_tbs(dup, &p) != n) {
		free(der);
		der = NULL;
		goto out_free_dup;
	}
	*len = (size_t)n;
out_free_dup:
	X509_free(dup);
	return der;
}

int mfs_sct_verify(X509 *leaf, X509 *issuer, const struct mfs_tlog_root *ctlogs,
		   int64_t *first_ms, char *err, size_t errlen)
{
	STACK_OF(SCT) *scts;
	unsigned char *tbs = NULL, *spki = NULL, *msg = NULL, keyhash[32];
	size_t tbslen = 0, fixed;
	int crit = 0, n, spkilen, rc;
	int64_t first = INT64_MAX;

	scts = X509_get_ext_d2i(leaf, NID_ct_precert_scts, &crit, NULL);
	if (!scts) {
		ERR_clear_error();
		return mfs_fail(err, errlen, -EKEYREJECTED, crit == -1 ?
			    "the certificate has no embedded SCT" :
			    "the certificate's SCT list does not parse");
	}
	n = sk_SCT_num(scts);
	if (n <= 0 || n > MFS_SCT_MAX) {
		rc = mfs_fail(err, errlen, -EKEYREJECTED, "the certificate has %d SCTs (1 to %d)", n,
			  MFS_SCT_MAX);
		goto out_free_scts;
	}
	spkilen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(issuer), &spki);
	if (spkilen <= 0 ||
	    !EVP_Digest(spki, (size_t)spkilen, keyhash, NULL, EVP_sha256(), NULL)) {
		rc = mfs_fail(err, errlen, -ENOMEM, "out of memory");
		goto out_free_spki;
	}
	tbs = precert_tbs(leaf, &tbslen);
	if (!tbs) {
		rc = mfs_fail(err, errlen, -ENOMEM, "cannot re-encode the certificate without its SCTs");
		goto out_free_spki;
	}
	/* 1+1+8+2+32+3 bytes before the TBS, 2 after it, then extensions. */
	fixed = 47 + tbslen + 2;
	for (int i = 0; i < n; i++) {
		SCT *sct = sk_SCT_value(scts, i);
		const struct mfs_tlog *log;
		unsigned char *id, *ext, *sig, *p;
		size_t idlen, extlen, siglen, len;
		uint64_t ts = SCT_get_timestamp(sct);
		int ok;

		if (SCT_get_version(sct) != SCT_VERSION_V1) {
			rc = mfs_fail(err, errlen, -EKEYREJECTED, "SCT %d is not version 1", i);
			goto out_free_tbs;
		}
		idlen = SCT_get0_log_id(sct, &id);
		log = idlen == 32 ? mfs_tlog_find(ctlogs, id, (int64_t)(ts / 1000)) : NULL;
		if (!log) {
			rc = mfs_fail(err, errlen, -EKEYREJECTED,
				  "SCT %d is by a CT log not in the trusted root", i);
			goto out_free_tbs;
		}
		if (ts / 1000 > (uint64_t)INT64_MAX || (int64_t)(ts / 1000) < log->valid_from ||
		    (int64_t)(ts / 1000) > log->valid_until) {
			rc = mfs_fail(err, errlen, -EKEYREJECTED,
				  "SCT %d: %s is not trusted at the SCT's time", i, log->base_url);
			goto out_free_tbs;
		}
		extlen = SCT_get0_extensions(sct, &ext);
		siglen = SCT_get0_signature(sct, &sig);
		if (extlen > 0xffff || siglen == 0) {
			rc = mfs_fail(err, errlen, -EKEYREJECTED, "SCT %d is malformed", i);
			goto out_free_tbs;
		}
		len = fixed + extlen;
		free(msg);
		msg = malloc(len);
		if (!msg) {
			rc = mfs_fail(err, errlen, -ENOMEM, "out of memory");
			goto out_free_tbs;
		}
		p = msg;
		*p++ = 0;                       /* sct_version v1 */
		*p++ = 0;                       /* certificate_timestamp */
		put_be(p, ts, 8);
		p += 8;
		put_be(p, 1, 2);                /* precert_entry */
		p += 2;
		memcpy(p, keyhash, 32);
		p += 32;
		put_be(p, tbslen, 3);
		p += 3;
		memcpy(p, tbs, tbslen);
		p += tbslen;
		put_be(p, extlen, 2);
		p += 2;
		if (extlen)
			memcpy(p, ext, extlen);
		ok = mfs_tlog_signed(log, msg, len, sig, siglen);
		if (ok < 0) {
			rc = mfs_fail(err, errlen, -ENOMEM, "out of memory");
			goto out_free_tbs;
		}
		if (!ok) {
			rc = mfs_fail(err, errlen, -EKEYREJECTED,
				  "SCT %d does not verify with %s's key", i, log->base_url);
			goto out_free_tbs;
		}
		if ((int64_t)ts < first)
			first = (int64_t)ts;
	}
	if (first_ms)
		*first_ms = first;
	rc = 0;
out_free_tbs:
	free(msg);
	free(tbs);
out_free_spki:
	OPENSSL_free(spki);
out_free_scts:
	SCT_LIST_free(scts);
	ERR_clear_error();
	return rc;
}
