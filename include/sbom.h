/* sbom — a CycloneDX 1.6 bill of materials (JSON, written with
 * libjansson) of the models a config serves: what they are, where they
 * come from, what proves them, and optionally what the store holds now.
 * `modelfsctl sbom` prints it.
 *
 *   metadata     the tool (modelfs and its version), the time, the config
 *                file as the subject (type file, bom-ref "config": its
 *                path and SHA-256), the store's path as a property
 *   components   one per [model] section, in config order, of type
 *                machine-learning-model, named by the section id, bom-ref
 *                "model:<id>":
 *     hashes               every pinned digest (SHA-1, SHA-256, SHA-512)
 *     externalReferences   distribution: the url, then every mirror's;
 *                          attestation: a signed model's bundle (its
 *                          mirrors too; with the store, the kept copy's
 *                          SHA-256)
 *     pedigree.ancestors   a zip model's archive (type file, bom-ref
 *                          "archive:<id>": its URLs, archive_sha*, size)
 *     components           a directory model's files (type file, bom-ref
 *                          "model:<id>/<name>"), each with its size and
 *                          digests (a folder's file: its own URLs too)
 *     properties           modelfs:path, modelfs:size, modelfs:source,
 *                          modelfs:member, modelfs:files, modelfs:weak,
 *                          modelfs:signature:* (the config's trust; with
 *                          the store, the kept bundle's state, signer,
 *                          key hint) and modelfs:store:* (below)
 *   dependencies the config depends on every model
 *
 * With the store, every file says what it holds, with no network and
 * without re-hashing a model's bytes: modelfs:store:state "verified"
 * (its object is in objects/, which only ever receives verified bytes;
 * modelfs:store:verified_at is when it was committed, the object's
 * ctime), "quarantined" (no object, and quarantine/ holds copies that
 * failed: of the file, or of its zip) or "absent".  A directory model
 * sums its files up: verified (all), quarantined (not all verified, some
 * quarantined), partial (some verified, the rest absent) or absent.  A
 * signed file's object is known only from a kept bundle that verifies
 * again under the config's trust (signature.h, with no network):
 * modelfs:signature:state "verified" (hashes then also list the signed
 * SHA-256), "absent" (none kept) or "refused" (with the reason: its
 * files are then absent, their signed digests unknown).  A kept bundle
 * whose signature fails is left alone; one whose signature verifies but
 * whose statement no longer matches the config is dropped by
 * signature.c, as the daemon would.
 *
 * The same config and store give the same document but for the
 * timestamp and the serial number: everything else is in config order
 * or a fixed order, and bom-refs come from section ids. */
#ifndef MFS_SBOM_H
#define MFS_SBOM_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "store.h"

struct mfs_sbom_opts {
	const struct mfs_config *cfg;
	const char *config_path;     /* the subject's name; NULL: cfg->file */
	const char *config_sha256;   /* hex SHA-256 of the config's bytes; NULL: none */
	time_t timestamp;            /* when the document is made */
	const char *serial;          /* "urn:uuid:..." (mfs_sbom_serial) */
	bool with_store;             /* say what the store holds */
	struct mfs_store *store;     /* with_store: the opened store, NULL if
					there is none yet (everything absent) */
};

/* Builds the document.  0 with *out (JSON text, indented, ending in a
 * newline; malloc'd, the caller's); else *out is NULL and `err` says why:
 * -EINVAL a string of the config (a path, a url, an id) is not valid
 * UTF-8, which JSON cannot carry; -ENOMEM; -errno reading the store
 * ("store: ..."). */
int mfs_sbom_build(const struct mfs_sbom_opts *o, char **out, char *err, size_t errlen);

/* A random (version 4) "urn:uuid:..." into buf (>= 46 bytes).  0, or
 * -EINVAL (buf too small), -errno from getrandom. */
int mfs_sbom_serial(char *buf, size_t len);

#endif
