/*
 * httpd.h - the small HTTP/1.1 server of `pooltag exporter`: GET (and HEAD)
 * of /metrics and of / (a page linking to it), nothing else.
 *
 * Hand-written rather than libmicrohttpd (Debian's 0.9.75), because what
 * the exporter must guarantee is a policy that library does not offer: at
 * its connection limit it turns new connections away (or stops accepting)
 * instead of giving up an idle one, so whoever holds the limit's worth of
 * idle connections locks Prometheus out; its timeout restarts at every
 * byte, so a client sending one byte a second is never dropped; and it
 * judges a request line only once it ends, so garbage without a newline
 * waits for the timeout.  What is left to write is small: one request
 * (Connection: close), two routes, and a head parser under a fuzz target.
 *
 * Bounds, whoever the clients are (one thread, epoll, non-blocking
 * sockets, so no client ever waits for another):
 *   connections  at most max_conns at once (--max-connections, default
 *                PT_HTTP_MAX_CONNS, lowered to fit RLIMIT_NOFILE); a new
 *                one takes the place of the oldest idle one (conntab.h);
 *   time         a request head must be complete within read_ms of the
 *                connection (not extended by trickling bytes); a response
 *                that makes no progress for write_ms is dropped; lingering
 *                after a response ends after linger_ms;
 *   memory       a head buffer of PT_HTTP_MAX_REQUEST bytes per connection
 *                that has sent something, and at most max_pending bytes of
 *                responses held (beyond it the most stalled writer goes;
 *                the newest response is always kept);
 *   descriptors  max_conns + the listening socket and epoll.
 * A head that cannot be a request is answered 400 at the byte that shows
 * it (httpreq.c); one longer than PT_HTTP_MAX_REQUEST gets 431.  Every
 * response closes its connection ("Connection: close"), after a graceful
 * shutdown that lets the client read it all.
 */
#ifndef PT_HTTPD_H
#define PT_HTTPD_H

#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>

#include "conntab.h"

#define PT_HTTP_MAX_REQUEST 8192 /* bytes of a request head */
#define PT_HTTP_MAX_METHOD 32	 /* bytes of a method name (the longest known has 17) */
#define PT_HTTP_MAX_CONNS 1024	 /* default connection cap */
#define PT_HTTP_FD_RESERVE 32	 /* descriptors left to the rest of the exporter */

struct pt_http_limits {
	struct pt_conn_limits conn;
	size_t max_pending; /* bytes of responses held at once */
};

#define PT_HTTP_LIMITS_DEFAULT                                                                  \
	{                                                                                       \
		.conn = {.max_conns = PT_HTTP_MAX_CONNS, .read_ms = 5000, .write_ms = 10000,   \
			 .linger_ms = 2000},                                                    \
		.max_pending = (size_t)32 << 20                                                 \
	}

enum pt_http_route { PT_HTTP_NONE, PT_HTTP_METRICS, PT_HTTP_INDEX };

struct pt_http_req {
	int status; /* 200, or the error to answer: 400, 404, 405, 505 */
	int head;   /* a HEAD request: headers only */
	enum pt_http_route route;
};

/* Parses a request head from buf[0, len), which nothing vouches for.  0 if
 * the head is not complete yet (no empty line) and can still become a
 * request; else 1 with *r filled in: the head's answer, or 400 as soon as
 * the bytes cannot start a request (final: more bytes never change it).
 * Lines may end in CRLF or LF; one empty line before the request line is
 * ignored.  Header fields are checked for form only. */
int pt_http_parse(const char *buf, size_t len, struct pt_http_req *r);

/* Parses a --listen address: "HOST:PORT", "[IPV6]:PORT" or ":PORT" (every
 * IPv4 address); HOST a numeric address or a name; PORT 0-65535, 0 for
 * any free port.  0, or -1 with a message in err. */
int pt_http_parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen,
			 char *err, size_t errlen);

/* A listening socket on the address: its descriptor, or -1 with a message
 * in err ("Address already in use" and the like). */
int pt_http_listen(const struct sockaddr_storage *ss, socklen_t sslen, char *err, size_t errlen);

/* "http://ADDR:PORT" of a listening socket, into buf. */
char *pt_http_url(int fd, char *buf, size_t len);

/* What GET /metrics answers: a malloc'd body of *len bytes, or NULL (the
 * client gets 500). */
typedef char *(*pt_http_metrics_fn)(void *arg, size_t *len);

/* Makes room for *max_conns connections under RLIMIT_NOFILE: raises the
 * soft limit up to the hard one if it is too low, else lowers *max_conns to
 * what fits and says so in note (empty otherwise).  0, or -1 with a message
 * in note when not even a few connections fit. */
int pt_http_fit_nofile(size_t *max_conns, char *note, size_t notelen);

/* Serves connections on the listening socket lfd within lim until *stop is
 * set (by a signal handler: SIGINT and SIGTERM are blocked outside of the
 * wait, so that none is lost between the test and the wait).  0, or -1
 * with a message in err when setting up or waiting itself fails. */
int pt_http_serve(int lfd, const struct pt_http_limits *lim, pt_http_metrics_fn metrics,
		  void *arg, volatile sig_atomic_t *stop, char *err, size_t errlen);

#endif /* PT_HTTPD_H */
