/* backoff — see include/backoff.h. */
#include "backoff.h"

#include <errno.h>
#include <sys/random.h>
#include <time.h>

long mfs_backoff_ms(long base_ms, unsigned attempt, long retry_after)
{
	long ms = base_ms > 0 ? base_ms : MFS_BACKOFF_BASE_MS;
	unsigned short r = 0;

	for (unsigned i = 1; i < attempt && ms < MFS_BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > MFS_BACKOFF_MAX_MS)
		ms = MFS_BACKOFF_MAX_MS;
	if (retry_after >= 0)
		return retry_after < MFS_BACKOFF_MAX_MS / 1000 ? retry_after * 1000
							       : MFS_BACKOFF_MAX_MS;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (unsigned short)time(NULL);
	return ms / 2 + (long)((unsigned long)(ms / 2) * r / 65535u);
}

int mfs_backoff_wait(const struct mfs_cancel *cancel, long ms)
{
	while (ms > 0) {
		long step = ms < 20 ? ms : 20;
		struct timespec ts = { 0, step * 1000000L };

		if (mfs_cancel_fired(cancel))
			return -ECANCELED;
		nanosleep(&ts, NULL);
		ms -= step;
	}
	return mfs_cancel_fired(cancel) ? -ECANCELED : 0;
}
