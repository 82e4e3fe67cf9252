/* version — modelfs's release, as `modelfs --version` and the SBOM's
 * tool entry (sbom.h) say it. */
#ifndef MFS_VERSION_H
#define MFS_VERSION_H

#define MFS_VERSION "0.1.0"

#endif
