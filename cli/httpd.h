/*
 * httpd.h - the small HTTP/1.1 server of `pooltag exporter`: GET (and HEAD)
 * of /metrics and of / (a page linking to it), nothing else.
 *
 * One thread and poll(): a request head may be at most PT_HTTP_MAX_REQUEST
 * bytes and must arrive within PT_HTTP_TIMEOUT_MS of the connection; a
 * response that makes no progress for as long is dropped.  Every response
 * closes its connection ("Connection: close"), after a graceful shutdown
 * that lets the client read it all.  At most PT_HTTP_MAX_CONNS connections
 * are served at once; more wait in the listen backlog.
 */
#ifndef PT_HTTPD_H
#define PT_HTTPD_H

#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>

#define PT_HTTP_MAX_REQUEST 8192
#define PT_HTTP_TIMEOUT_MS 10000
#define PT_HTTP_MAX_CONNS 32

enum pt_http_route { PT_HTTP_NONE, PT_HTTP_METRICS, PT_HTTP_INDEX };

struct pt_http_req {
	int status; /* 200, or the error to answer: 400, 404, 405, 505 */
	int head;   /* a HEAD request: headers only */
	enum pt_http_route route;
};

/* Parses a request head from buf[0, len), which nothing vouches for.  0 if
 * the head is not complete yet (no empty line); else 1 with *r filled in.
 * Lines may end in CRLF or LF.  Header fields are checked for form only. */
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

/* Serves connections on the listening socket lfd until *stop is set (by a
 * signal handler: SIGINT and SIGTERM are blocked outside of the wait, so
 * that none is lost between the test and the wait).  0, or -1 with a message
 * in err when polling itself fails. */
int pt_http_serve(int lfd, pt_http_metrics_fn metrics, void *arg, volatile sig_atomic_t *stop,
		  char *err, size_t errlen);

#endif /* PT_HTTPD_H */
