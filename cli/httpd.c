/*
 * httpd.c - the exporter's HTTP/1.1 server (see httpd.h).
 *
 * A connection goes READ (collecting the request head) -> WRITE (sending
 * the whole response) -> LINGER (our side shut down; reading and dropping
 * whatever the client still sends until it closes, so that closing with
 * unread data does not reset the connection and cut the response short) ->
 * closed.  Each state has a deadline; a connection past it is closed.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "httpd.h"

#define LINGER_MS 2000

/* ---------------------------------------------------------------------------
 * Requests */

/* RFC 9110 token characters. */
static int tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The end of the line starting at p (before CR LF or LF), within end. */
static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	if (nl && nl > p && nl[-1] == '\r')
		nl--;
	return nl ? nl : end;
}

static const char *next_line(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return nl ? nl + 1 : end;
}

/* The status and route of a request line "METHOD SP TARGET SP VERSION". */
static void parse_request_line(const char *p, const char *eol, struct pt_http_req *r)
{
	const char *m = p, *t, *v, *path;
	size_t mlen, plen;

	r->status = 400;
	while (p < eol && tchar((unsigned char)*p))
		p++;
	mlen = (size_t)(p - m);
	if (mlen == 0 || p == eol || *p != ' ')
		return;
	t = ++p;
	while (p < eol && (unsigned char)*p > ' ' && (unsigned char)*p < 0x7f)
		p++;
	if (p == t || p == eol || *p != ' ')
		return;
	plen = (size_t)(p - t);
	v = ++p;
	if (eol - v != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9')
		return;
	if (v[5] != '1') {
		r->status = 505;
		return;
	}
	/* Absolute form (what a client talking to a proxy sends): drop the
	 * scheme and authority. */
	path = t;
	if (plen >= 7 && strncasecmp(t, "http://", 7) == 0) {
		const char *s = memchr(t + 7, '/', plen - 7);
		if (!s) {
			path = "/";
			plen = 1;
		} else {
			plen -= (size_t)(s - t);
			path = s;
		}
	}
	if (path[0] != '/')
		return;
	for (size_t i = 0; i < plen; i++)
		if (path[i] == '?' || path[i] == '#')
			plen = i; /* the query does not choose the page */
	r->head = mlen == 4 && memcmp(m, "HEAD", 4) == 0;
	if (!r->head && !(mlen == 3 && memcmp(m, "GET", 3) == 0)) {
		r->status = 405;
		return;
	}
	if (plen == 8 && memcmp(path, "/metrics", 8) == 0)
		r->route = PT_HTTP_METRICS;
	else if (plen == 1)
		r->route = PT_HTTP_INDEX;
	r->status = r->route == PT_HTTP_NONE ? 404 : 200;
}

int pt_http_parse(const char *buf, size_t len, struct pt_http_req *r)
{
	const char *end = buf + len, *p = buf, *eol;

	*r = (struct pt_http_req){.status = 400};
	/* RFC 9112 2.2: ignore empty lines before the request line. */
	while (p < end && (*p == '\r' || *p == '\n')) {
		if (*p == '\r' && (p + 1 == end || p[1] != '\n'))
			break;
		p += *p == '\r' ? 2 : 1;
	}
	/* Complete once an empty line ends the head. */
	for (const char *q = p;;) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		if (!nl)
			return 0;
		if (nl > p && (nl[-1] == '\n' || (nl[-1] == '\r' && nl - 1 > p && nl[-2] == '\n')))
			break;
		q = nl + 1;
	}
	eol = line_end(p, end);
	if (memchr(p, 0, (size_t)(eol - p)) == NULL)
		parse_request_line(p, eol, r);
	/* Header fields: "name:value", name a token; no folded lines. */
	for (p = next_line(p, end); p < end; p = next_line(p, end)) {
		const char *q = p;
		eol = line_end(p, end);
		if (eol == p)
			break; /* the empty line */
		while (q < eol && tchar((unsigned char)*q))
			q++;
		if (q == p || q == eol || *q != ':' || memchr(p, 0, (size_t)(eol - p)) ||
		    memchr(p, '\r', (size_t)(eol - p))) {
			*r = (struct pt_http_req){.status = 400};
			break;
		}
	}
	if (r->status != 200)
		r->route = PT_HTTP_NONE;
	return 1;
}

/* ---------------------------------------------------------------------------
 * Addresses */

int pt_http_parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen,
			 char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res;
	char host[256], *end;
	const char *colon, *port;
	long pn;
	int rc;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (!close || close[1] != ':' || (size_t)(close - spec - 1) >= sizeof(host) ||
		    close == spec + 1)
			goto bad;
		memcpy(host, spec + 1, (size_t)(close - spec - 1));
		host[close - spec - 1] = 0;
		port = close + 2;
		hints.ai_family = AF_INET6;
		hints.ai_flags |= AI_NUMERICHOST;
	} else {
		colon = strrchr(spec, ':');
		if (!colon || memchr(spec, ':', (size_t)(colon - spec)) ||
		    (size_t)(colon - spec) >= sizeof(host))
			goto bad;
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = 0;
		port = colon + 1;
		if (!host[0])
			snprintf(host, sizeof(host), "0.0.0.0");
	}
	errno = 0;
	pn = strtol(port, &end, 10);
	if (!*port || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 || *end ||
	    errno || pn > 65535) {
		snprintf(err, errlen, "bad port in '%s': want a number from 0 to 65535", spec);
		return -1;
	}
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve '%s': %s", host, gai_strerror(rc));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
bad:
	snprintf(err, errlen, "bad address '%s': want HOST:PORT, [IPV6]:PORT or :PORT", spec);
	return -1;
}

/* "HOST:PORT" or "[IPV6]:PORT" of an address. */
static char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%d", host, ntohs(a->sin6_port));
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%d", host, ntohs(a->sin_port));
	} else {
		snprintf(buf, len, "?");
	}
	return buf;
}

char *pt_http_url(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl = sizeof(ss);
	char a[INET6_ADDRSTRLEN + 16];

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		ss.ss_family = AF_UNSPEC;
	snprintf(buf, len, "http://%s", addr_str(&ss, a, sizeof(a)));
	return buf;
}

int pt_http_listen(const struct sockaddr_storage *ss, socklen_t sslen, char *err, size_t errlen)
{
	char a[INET6_ADDRSTRLEN + 16];
	int one = 1, e;
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr_str(ss, a, sizeof(a)),
			 strerror(errno));
		return -1;
	}
	/* A restarted exporter can take its port back while connections of
	 * the previous one are in TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, sslen) != 0 || listen(fd, 64) != 0) {
		e = errno;
		close(fd);
		snprintf(err, errlen, "cannot listen on %s: %s", addr_str(ss, a, sizeof(a)),
			 strerror(e));
		return -1;
	}
	return fd;
}

/* ---------------------------------------------------------------------------
 * Connections */

enum cstate { C_READ, C_WRITE, C_LINGER };

struct conn {
	int fd;
	enum cstate state;
	int64_t deadline; /* ms, CLOCK_MONOTONIC */
	size_t inlen;
	char in[PT_HTTP_MAX_REQUEST];
	char *out;
	size_t outlen, outoff;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

static const char index_page[] =
	"<!DOCTYPE html>\n<html><head><title>pooltag exporter</title></head>\n"
	"<body><h1>pooltag exporter</h1>\n"
	"<p><a href=\"/metrics\">Metrics</a>: the pooltag counters of every process of this "
	"user that exports them.</p></body></html>\n";

/* Makes c's response: status line, headers and (unless HEAD) body. */
static void respond(struct conn *c, const struct pt_http_req *r, pt_http_metrics_fn metrics,
		    void *arg)
{
	char head[512], err[64];
	const char *type = "text/plain; charset=utf-8", *extra = "";
	char *body = NULL;
	size_t blen = 0;
	int status = r->status, hl;

	if (status == 200 && r->route == PT_HTTP_METRICS) {
		body = metrics(arg, &blen);
		if (body)
			type = "text/plain; version=0.0.4; charset=utf-8";
		else
			status = 500;
	} else if (status == 200) {
		body = strdup(index_page);
		blen = body ? strlen(body) : 0;
		type = "text/html; charset=utf-8";
		if (!body)
			status = 500;
	}
	if (status != 200) {
		free(body);
		snprintf(err, sizeof(err), "%d %s\n", status, reason(status));
		body = strdup(err);
		blen = body ? strlen(body) : 0;
		if (status == 405)
			extra = "Allow: GET, HEAD\r\n";
	}
	hl = snprintf(head, sizeof(head),
		      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
		      "Connection: close\r\n\r\n",
		      status, reason(status), type, blen, extra);
	c->outlen = (size_t)hl + (r->head ? 0 : blen);
	c->out = malloc(c->outlen);
	if (c->out) {
		memcpy(c->out, head, (size_t)hl);
		if (!r->head && blen)
			memcpy(c->out + hl, body, blen);
	} else {
		c->outlen = 0; /* nothing to send: the connection just closes */
	}
	free(body);
	c->outoff = 0;
	c->state = C_WRITE;
	c->deadline = now_ms() + PT_HTTP_TIMEOUT_MS;
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	free(c->out);
	c->fd = -1;
	c->out = NULL;
}

static void on_read(struct conn *c, pt_http_metrics_fn metrics, void *arg)
{
	struct pt_http_req r;
	char drop[4096];
	ssize_t n;

	if (c->state == C_LINGER) {
		n = recv(c->fd, drop, sizeof(drop), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			conn_close(c);
		return;
	}
	n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c); /* gone before asking anything complete */
		return;
	}
	c->inlen += (size_t)n;
	if (pt_http_parse(c->in, c->inlen, &r)) {
		respond(c, &r, metrics, arg);
	} else if (c->inlen == sizeof(c->in)) {
		r = (struct pt_http_req){.status = 431};
		respond(c, &r, metrics, arg);
	}
}

static void on_write(struct conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->outoff += (size_t)n;
		c->deadline = now_ms() + PT_HTTP_TIMEOUT_MS;
	}
	free(c->out);
	c->out = NULL;
	shutdown(c->fd, SHUT_WR);
	c->state = C_LINGER;
	c->deadline = now_ms() + LINGER_MS;
}

static void accept_all(int lfd, struct conn *conns, size_t *nconns)
{
	while (*nconns < PT_HTTP_MAX_CONNS) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0)
			return; /* EAGAIN, or a connection reset before we took it */
		c = &conns[(*nconns)++];
		c->fd = fd;
		c->state = C_READ;
		c->inlen = 0;
		c->out = NULL;
		c->deadline = now_ms() + PT_HTTP_TIMEOUT_MS;
	}
}

int pt_http_serve(int lfd, pt_http_metrics_fn metrics, void *arg, volatile sig_atomic_t *stop,
		  char *err, size_t errlen)
{
	struct pollfd pfd[PT_HTTP_MAX_CONNS + 1];
	struct conn *conns = calloc(PT_HTTP_MAX_CONNS, sizeof(*conns));
	sigset_t block, old;
	size_t nconns = 0;
	int rc = 0;

	if (!conns) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	while (!*stop) {
		int64_t now = now_ms(), wait = -1;
		struct timespec ts, *tsp = NULL;
		size_t np = 0;
		int n;

		for (size_t i = 0; i < nconns; i++) {
			int64_t left = conns[i].deadline - now;
			pfd[np++] = (struct pollfd){conns[i].fd,
						    conns[i].state == C_WRITE ? POLLOUT : POLLIN, 0};
			if (wait < 0 || left < wait)
				wait = left < 0 ? 0 : left;
		}
		if (nconns < PT_HTTP_MAX_CONNS)
			pfd[np++] = (struct pollfd){lfd, POLLIN, 0};
		if (wait >= 0) {
			ts = (struct timespec){wait / 1000, (wait % 1000) * 1000000};
			tsp = &ts;
		}
		/* The signals are let in only while waiting. */
		n = ppoll(pfd, np, tsp, &old);
		if (n < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			rc = -1;
			break;
		}
		if (n < 0)
			continue;
		for (size_t i = 0; i < nconns; i++) {
			struct conn *c = &conns[i];
			if (pfd[i].revents & (POLLIN | POLLOUT | POLLERR | POLLHUP)) {
				if (c->state == C_WRITE)
					on_write(c);
				else
					on_read(c, metrics, arg);
			}
			if (c->fd >= 0 && now_ms() >= c->deadline)
				conn_close(c);
		}
		/* Close the gaps the closed connections left. */
		size_t k = 0;
		for (size_t i = 0; i < nconns; i++)
			if (conns[i].fd >= 0)
				conns[k++] = conns[i];
		nconns = k;
		if (np > 0 && pfd[np - 1].fd == lfd && (pfd[np - 1].revents & POLLIN))
			accept_all(lfd, conns, &nconns);
	}
	for (size_t i = 0; i < nconns; i++)
		conn_close(&conns[i]);
	free(conns);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}
