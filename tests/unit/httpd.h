/* httpd.h — a scripted in-process HTTP/1.1 server on 127.0.0.1 for the
 * unit tests of fetch and download: one response per connection, bodies
 * of a known pattern (from any offset, for a 206), sent honestly or
 * lying, in paced pieces, stalled, or cut.
 *
 *   struct resp r = { .status = 200, .body_len = n, .content_length = CL_HONEST };
 *   struct server s;
 *   start(&s, &r, 1);  ... fetch "http://127.0.0.1:<s.port>/x" ...  server_stop(&s);
 */
#ifndef MFS_TEST_HTTPD_H
#define MFS_TEST_HTTPD_H

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 8
#define HEAD_MAX 2048
#define SERVER_DEADLINE_MS 10000 /* the server gives up on its own after this */

enum { CL_HONEST = -1, CL_NONE = -2 };

struct resp {
	int status;
	const char *headers;  /* extra header lines, each ending in \r\n */
	const char *body;     /* NULL: body_len bytes of pattern */
	size_t body_len;
	long content_length;  /* CL_HONEST, CL_NONE or a (lying) value */
	size_t piece;         /* send the body in pieces of this many bytes... */
	int piece_ms;         /* ...this far apart */
	size_t stall_after;   /* after this many body bytes, stall until stopped */
	size_t cut_after;     /* after this many body bytes, close (a cut) */
	size_t body_off;      /* the pattern starts at this offset (a 206's) */
};

struct server {
	int fd;
	int port;
	pthread_t thread;
	atomic_int stop;
	struct resp resp[MAX_CONNS];
	int nresp;
	int accepted;
	char head[MAX_CONNS][HEAD_MAX]; /* each request's head, as received */
};


static inline unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 31 + i / 251);
}

static inline long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static inline void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static inline int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static inline void read_head(int fd, char *head)
{
	size_t len = 0;

	while (len < HEAD_MAX - 1 && !strstr(head, "\r\n\r\n")) {
		ssize_t n = recv(fd, head + len, HEAD_MAX - 1 - len, 0);

		if (n <= 0)
			break;
		len += (size_t)n;
		head[len] = '\0';
	}
}

static inline void serve(struct server *s, int fd, const struct resp *r)
{
	const char *reason = r->status < 300 ? "OK" : r->status < 400 ? "Moved" : "Error";
	size_t blen = r->body ? strlen(r->body) : r->body_len;
	unsigned char *body = malloc(blen + 1);
	char head[1024];
	int n;

	if (!body)
		return;
	for (size_t i = 0; i < blen; i++)
		body[i] = r->body ? (unsigned char)r->body[i] : pattern(r->body_off + i);
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nConnection: close\r\n%s",
		     r->status, reason, r->headers ? r->headers : "");
	if (r->content_length == CL_HONEST)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Length: %zu\r\n", blen);
	else if (r->content_length >= 0)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Length: %ld\r\n",
			      r->content_length);
	n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
	if (send_all(fd, head, (size_t)n) < 0)
		goto out_free_body;
	for (size_t off = 0; off < blen && !s->stop;) {
		size_t len = r->piece ? r->piece : blen - off;

		if (len > blen - off)
			len = blen - off;
		if (r->stall_after && off + len > r->stall_after)
			len = r->stall_after - off;
		if (r->cut_after && off + len > r->cut_after)
			len = r->cut_after - off;
		if (send_all(fd, body + off, len) < 0)
			break;
		off += len;
		if (r->cut_after && off == r->cut_after)
			break;
		if (r->stall_after && off == r->stall_after) {
			struct timespec t0;

			clock_gettime(CLOCK_MONOTONIC, &t0);
			while (!s->stop && ms_since(&t0) < SERVER_DEADLINE_MS)
				sleep_ms(20);
			break;
		}
		if (r->piece_ms && off < blen)
			sleep_ms(r->piece_ms);
	}
out_free_body:
	free(body);
}

static inline void *server_main(void *arg)
{
	struct server *s = arg;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (s->accepted < s->nresp && !s->stop && ms_since(&t0) < SERVER_DEADLINE_MS) {
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		struct timeval tv = { .tv_sec = 5 };
		int c;

		if (poll(&p, 1, 50) <= 0)
			continue;
		c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		if (setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
		    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0) {
			read_head(c, s->head[s->accepted]);
			serve(s, c, &s->resp[s->accepted]);
		}
		s->accepted++;
		close(c);
	}
	return NULL;
}

/* Binds 127.0.0.1 on a free port; fill in resp[] and nresp, then start. */
static inline int server_init(struct server *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -1;
	if (bind(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(s->fd, (struct sockaddr *)&a, &alen) < 0 ||
	    listen(s->fd, MAX_CONNS) < 0) {
		close(s->fd);
		return -1;
	}
	s->port = ntohs(a.sin_port);
	return 0;
}

static inline int server_start(struct server *s)
{
	if (pthread_create(&s->thread, NULL, server_main, s) != 0) {
		close(s->fd);
		return -1;
	}
	return 0;
}

static inline void server_stop(struct server *s)
{
	s->stop = 1;
	pthread_join(s->thread, NULL);
	close(s->fd);
}

static inline int start(struct server *s, const struct resp *r, int n)
{
	if (server_init(s) < 0)
		return -1;
	memcpy(s->resp, r, sizeof(*r) * (size_t)n);
	s->nresp = n;
	return server_start(s);
}

#endif
