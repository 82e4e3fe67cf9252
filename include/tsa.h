/* tsa — RFC 3161 signed timestamps, as a Sigstore bundle carries them
 * (verificationMaterial.timestampVerificationData.rfc3161Timestamps[i].
 * signedTimestamp: a DER TimeStampResp): granted, signed by a timestamp
 * authority of the trusted root (trustroot.h) whose chain validates at
 * the stamped time, over an imprint of the given data (for a DSSE bundle,
 * the envelope's signature bytes), with that time inside the authority's
 * validFor, and signed by the authority's own certificate (the first of
 * its chain), not another one its CA issued.  The response's nonce and
 * policy are not read.
 *
 * No shared state; safe from several threads. */
#ifndef MFS_TSA_H
#define MFS_TSA_H

#include <stddef.h>
#include <stdint.h>

#include "trustroot.h"

#define MFS_TSA_MAX_RESP (64u << 10)   /* bytes of one response */

/* 0 with the stamped time (genTime, Unix seconds) in *when if the
 * response `resp` (len bytes, DER) verifies as above against one of
 * `tsas[0..ntsas)`; -EKEYREJECTED: it does not parse, was not granted,
 * no authority's chain validates its signer at its time, its signature or
 * its imprint is wrong, or its time is outside the authority's validFor
 * (`err`, may be NULL, says which); -ENOMEM. */
int mfs_tsa_verify(const unsigned char *resp, size_t len, const unsigned char *data,
		   size_t datalen, const struct mfs_authority *tsas, size_t ntsas, int64_t *when,
		   char *err, size_t errlen);

#endif
