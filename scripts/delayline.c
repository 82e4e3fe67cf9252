/*
 * delayline — a fixed-delay link between two TUN devices, for benchmarks.
 *
 * What it is for: a benchmark over a real network is limited by latency,
 * not bandwidth — one TCP stream carries at most one receive window per
 * round trip.  On loopback the round trip is microseconds and that limit
 * never shows.  The kernel's own tool for this (netem) is not built into
 * every kernel we run on, so this program plays the wire: it creates two
 * TUN devices and hands every packet read from one to the other after a
 * fixed one-way delay, in order.  scripts/wan.sh moves the two devices
 * into two network namespaces, which then talk over a link of RTT = 2 x
 * the delay (see there).
 *
 * Usage:
 *
 *	delayline [-d MS] [-q MIB] TUN_A TUN_B
 *
 *	-d MS	one-way delay in milliseconds, fractions allowed (default 25)
 *	-q MIB	queue per direction in MiB (default 32); a packet that does
 *		not fit is dropped, as a router's full buffer would
 *
 * It creates TUN_A and TUN_B (IFF_TUN | IFF_NO_PI, not persistent), prints
 * "ready" on stdout once both exist, and forwards until SIGTERM or SIGINT;
 * it then prints per-direction counters on stderr and exits 0.  Closing
 * the devices' file descriptors (on exit) deletes them.  Needs root (or
 * CAP_NET_ADMIN).  Build:
 *
 *	cc -O2 -Wall -Wextra -Werror -o delayline scripts/delayline.c -lpthread
 *
 * The devices' MTU is the caller's business (ip link set ... mtu N): every
 * packet up to 65535 bytes is carried.  A large MTU (65000) keeps the
 * packet rate, and so this program's cost per byte, low.
 *
 * Design: one thread per direction, each owning its queue (no locks).  A
 * queue is a byte ring of [header, packet] records, packets read straight
 * into it (no copy), each stamped with the CLOCK_MONOTONIC time at which it
 * is due; since the delay is fixed, due times are in arrival order and the
 * ring's tail is always the next packet to leave.  The thread sleeps in
 * ppoll() on its input until the tail is due.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_PKT		65536		/* a TUN packet is at most 65535 bytes */
#define READ_BATCH	64		/* reads per wakeup before sending what is due */
#define WRAP		UINT32_MAX	/* header length: the rest of the ring is unused */

struct rec {
	int64_t due;			/* ns, CLOCK_MONOTONIC */
	uint32_t len;			/* packet bytes that follow, or WRAP */
	uint32_t pad;
};

#define REC		sizeof(struct rec)
#define ALIGN(n)	(((n) + REC - 1) & ~(REC - 1))
#define NEED		(REC + MAX_PKT)	/* room a read must have */

struct line {
	char name[40];			/* "A -> B", for the counters */
	int in, out;
	int64_t delay;			/* ns */
	unsigned char *ring;
	size_t cap;			/* a multiple of REC */
	size_t head, tail;		/* write and read offsets */
	size_t queued;			/* packets in the ring */
	/* read by main at exit only: relaxed atomics keep that race-free */
	atomic_ullong pkts, bytes, drops, lost;
	unsigned char drop[MAX_PKT];	/* where a packet that does not fit goes */
};

__attribute__((format(printf, 1, 2), noreturn))
static void die(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fprintf(stderr, "delayline: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(err));
	exit(1);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int tun_open(const char *name)
{
	struct ifreq ifr;
	int fd;

	if (strlen(name) >= IFNAMSIZ) {
		errno = ENAMETOOLONG;
		die("device name '%s'", name);
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		die("/dev/net/tun");
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		die("TUNSETIFF %s", name);
	return fd;
}

/*
 * Where the next packet may be read to, or NULL if the ring is full.  The
 * ring is kept so that head == tail only when it is empty: a packet needs
 * NEED contiguous bytes, and in the wrapped state (head < tail) strictly
 * more than that, so head never catches up with tail.
 */
static struct rec *ring_space(struct line *l)
{
	if (l->queued == 0)
		l->head = l->tail = 0;	/* start over: the most room in one piece */
	if (l->head >= l->tail) {
		if (l->cap - l->head >= NEED)
			return (struct rec *)(l->ring + l->head);
		if (l->tail <= NEED)
			return NULL;
		/* Too little room at the end: mark it unused, go on at 0. */
		if (l->head < l->cap)
			((struct rec *)(l->ring + l->head))->len = WRAP;
		l->head = 0;
	}
	if (l->tail - l->head > NEED)
		return (struct rec *)(l->ring + l->head);
	return NULL;
}

static struct rec *ring_peek(struct line *l)
{
	struct rec *r;

	if (l->queued == 0)
		return NULL;
	if (l->tail == l->cap)
		l->tail = 0;
	r = (struct rec *)(l->ring + l->tail);
	if (r->len == WRAP) {
		l->tail = 0;
		r = (struct rec *)l->ring;
	}
	return r;
}

/* Sends every packet that is due; returns the ns until the next one, or -1. */
static int64_t send_due(struct line *l, int64_t now)
{
	struct rec *r;

	while ((r = ring_peek(l))) {
		if (r->due > now)
			return r->due - now;
		/*
		 * A write to a TUN device hands the packet to the stack and does
		 * not block; one that fails (the device is down, the stack is
		 * out of memory) is a lost packet, as on a wire.
		 */
		if (write(l->out, r + 1, r->len) == (ssize_t)r->len) {
			atomic_fetch_add_explicit(&l->pkts, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&l->bytes, r->len, memory_order_relaxed);
		} else {
			atomic_fetch_add_explicit(&l->lost, 1, memory_order_relaxed);
		}
		l->tail += ALIGN(REC + r->len);
		l->queued--;
	}
	return -1;
}

/* Reads up to READ_BATCH packets, stamping each due at now + delay. */
static void recv_batch(struct line *l, int64_t now)
{
	struct rec *r;
	ssize_t n;
	int i;

	for (i = 0; i < READ_BATCH; i++) {
		r = ring_space(l);
		n = read(l->in, r ? (void *)(r + 1) : l->drop, MAX_PKT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			/* The device went away under us (its netns was deleted). */
			fprintf(stderr, "delayline: %s: read: %s\n", l->name, strerror(errno));
			exit(1);
		}
		if (n == 0)
			return;
		if (!r) {
			/* Full: drop it, like a router's tail drop. */
			atomic_fetch_add_explicit(&l->drops, 1, memory_order_relaxed);
			continue;
		}
		r->due = now + l->delay;
		r->len = (uint32_t)n;
		l->head += ALIGN(REC + (size_t)n);
		l->queued++;
	}
}

static void *run(void *arg)
{
	struct line *l = arg;
	struct pollfd pfd = { .fd = l->in, .events = POLLIN };
	struct timespec ts, *tsp;
	int64_t wait;

	/*
	 * The default timer slack (50 us) would add up to that much to every
	 * wakeup; a delay line is a timer, so ask for the kernel's best.
	 */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	for (;;) {
		wait = send_due(l, now_ns());
		tsp = NULL;
		if (wait >= 0) {
			ts.tv_sec = wait / 1000000000;
			ts.tv_nsec = wait % 1000000000;
			tsp = &ts;
		}
		if (ppoll(&pfd, 1, tsp, NULL) < 0 && errno != EINTR) {
			fprintf(stderr, "delayline: %s: ppoll: %s\n", l->name, strerror(errno));
			exit(1);
		}
		if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) {
			fprintf(stderr, "delayline: %s: the device went away\n", l->name);
			exit(1);
		}
		/*
		 * One clock read per batch: the packets of a batch arrived
		 * within microseconds of each other, and equal stamps keep
		 * them in order anyway.
		 */
		if (pfd.revents & POLLIN)
			recv_batch(l, now_ns());
	}
	return NULL;
}

__attribute__((noreturn))
static void usage(void)
{
	fprintf(stderr, "usage: delayline [-d MS] [-q MIB] TUN_A TUN_B\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct line lines[2];
	double delay_ms = 25, queue_mib = 32;
	struct sigaction sa;
	sigset_t set;
	pthread_t tid;
	char *end;
	int fd[2], sig, opt, i;

	while ((opt = getopt(argc, argv, "d:q:")) != -1) {
		switch (opt) {
		case 'd':
			delay_ms = strtod(optarg, &end);
			if (*end || end == optarg || !(delay_ms >= 0 && delay_ms <= 60000))
				usage();
			break;
		case 'q':
			queue_mib = strtod(optarg, &end);
			if (*end || end == optarg || !(queue_mib >= 1 && queue_mib <= 4096))
				usage();
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();

	/*
	 * SIGTERM and SIGINT are taken by sigwait() below, so every thread
	 * blocks them.  A shell starts a background job with SIGINT ignored,
	 * and an ignored signal is discarded rather than left pending: put
	 * back the default first.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	fd[0] = tun_open(argv[optind]);
	fd[1] = tun_open(argv[optind + 1]);
	for (i = 0; i < 2; i++) {
		struct line *l = &lines[i];

		snprintf(l->name, sizeof(l->name), "%.15s -> %.15s",
			 argv[optind + i], argv[optind + !i]);
		l->in = fd[i];
		l->out = fd[!i];
		l->delay = (int64_t)(delay_ms * 1e6);
		l->cap = ALIGN((size_t)(queue_mib * 1024 * 1024));
		if (l->cap < 2 * NEED + REC)
			l->cap = ALIGN(2 * NEED + REC);
		/* malloc'd, not touched: pages are only used once traffic needs them */
		l->ring = malloc(l->cap);
		if (!l->ring)
			die("malloc");
	}
	/* Threads, not an epoll loop: the two directions then use two CPUs. */
	for (i = 0; i < 2; i++) {
		errno = pthread_create(&tid, NULL, run, &lines[i]);
		if (errno)
			die("pthread_create");
		pthread_detach(tid);
	}
	printf("ready\n");
	fflush(stdout);

	do
		sig = 0;
	while (sigwait(&set, &sig) != 0 || (sig != SIGTERM && sig != SIGINT));

	for (i = 0; i < 2; i++)
		fprintf(stderr, "delayline: %s: %llu packets, %llu bytes, "
			"%llu dropped (queue full), %llu not delivered\n",
			lines[i].name, atomic_load(&lines[i].pkts),
			atomic_load(&lines[i].bytes), atomic_load(&lines[i].drops),
			atomic_load(&lines[i].lost));
	/* exit() ends both threads mid-poll; closing the fds deletes the devices. */
	exit(0);
}
