/* Helpers the libFuzzer harnesses share: a verbose switch for replaying
 * an input, and the abort that reports a broken contract. */
#ifndef MFS_FUZZ_H
#define MFS_FUZZ_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* MFS_FUZZ_VERBOSE=1 prints each outcome (for replaying an input). */
static inline bool fuzz_verbose(void)
{
	static int v = -1;

	if (v < 0)
		v = getenv("MFS_FUZZ_VERBOSE") != NULL;
	return v;
}

/* Harness `who` found its module's contract broken: says what, aborts
 * (libFuzzer keeps the input). */
static inline void fuzz_broken(const char *who, const char *what, const char *detail)
{
	fprintf(stderr, "%s: contract broken: %s%s%s\n", who, what, detail ? ": " : "",
		detail ? detail : "");
	abort();
}

#endif
