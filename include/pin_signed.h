/* pin_signed — `modelfsctl pin --signature`: a config section for a
 * signed model, from its bundle.  The bundle is downloaded (bounded) and
 * verified exactly as the daemon does (bundle.h, sigverify.h,
 * manifest.h); each signed file's size comes from a HEAD request for it
 * next to the bundle (the bundle URL's directory + its name): no weights
 * are downloaded.  The section names the folder's url, the signature and
 * one `file = NAME SIZE` line per file (a bundle of one named file gives
 * a single-file section); the digests are not written: every host takes
 * them from the bundle it verifies itself.  For a keyless bundle the
 * section also carries its trust (sigstore_trusted_root, one identity
 * line each, oidc_issuer): the identity is this publisher's, not the
 * source's. */
#ifndef MFS_PIN_SIGNED_H
#define MFS_PIN_SIGNED_H

#include <stdbool.h>
#include <stddef.h>

struct mfs_pin_signed_opts {
	const char *signature;       /* the bundle's absolute URL */
	const char *path;            /* mount path the section declares */
	const char *source;          /* [source] name; NULL: MFS_PIN_NO_SOURCE */
	const char *ca_file;         /* NULL: the system CAs */
	const char *proxy;           /* as in fetch.h: NULL: the environment's */
	bool allow_http;
	const char *const *public_keys;   /* trust, as in sigverify.h */
	const char *certificate_chain;
	const char *certificate_identity;
	/* keyless: all three or none; written into the section, since the
	 * identity is the publisher's */
	const char *sigstore_trusted_root;
	const char *const *identities;    /* NULL-terminated */
	const char *oidc_issuer;
};

/* Needs mfs_fetch_global_init().  0 with *section (malloc'd, the
 * caller's); -EKEYREJECTED / -EIO / -EINVAL with the reason in `err`: the
 * bundle cannot be fetched, parsed or verified (exit 1 in modelfsctl), a
 * HEAD fails or names no length, a bundle whose one file is named "."
 * (no name to fetch it by), a name or line unfit for the config.  A file
 * signed in shards gets one line. */
int mfs_pin_signed_run(const struct mfs_pin_signed_opts *o, char **section, char *err,
		       size_t errlen);

#endif
