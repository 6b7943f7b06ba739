/*
 * httpd.c - the exporter's HTTP/1.1 server (see httpd.h for its bounds).
 *
 * A connection goes READ (collecting the request head) -> WRITE (sending
 * the whole response) -> LINGER (our side shut down; reading and dropping
 * whatever the client still sends until it closes, so that closing with
 * unread data does not reset the connection and cut the response short) ->
 * closed.  conntab.c keeps the connections, their deadlines and which one
 * to give up; this file does the I/O, driven by level-triggered epoll.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <limits.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "httpd.h"

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
	if (bind(fd, (const struct sockaddr *)ss, sslen) != 0 || listen(fd, SOMAXCONN) != 0) {
		e = errno;
		close(fd);
		snprintf(err, errlen, "cannot listen on %s: %s", addr_str(ss, a, sizeof(a)),
			 strerror(e));
		return -1;
	}
	return fd;
}

/* ---------------------------------------------------------------------------
 * Descriptors */

int pt_http_fit_nofile(size_t *max_conns, char *note, size_t notelen)
{
	rlim_t want = (rlim_t)*max_conns + PT_HTTP_FD_RESERVE;
	struct rlimit rl;

	note[0] = 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= want)
		return 0;
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > rl.rlim_cur) {
		struct rlimit up = {rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max
										   : want,
				    rl.rlim_max};
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl.rlim_cur = up.rlim_cur;
	}
	if (rl.rlim_cur >= want)
		return 0;
	if (rl.rlim_cur < PT_HTTP_FD_RESERVE + 4) {
		snprintf(note, notelen, "RLIMIT_NOFILE is %llu: too few descriptors to serve",
			 (unsigned long long)rl.rlim_cur);
		return -1;
	}
	*max_conns = (size_t)(rl.rlim_cur - PT_HTTP_FD_RESERVE);
	snprintf(note, notelen, "at most %zu connections at once (RLIMIT_NOFILE is %llu)",
		 *max_conns, (unsigned long long)rl.rlim_cur);
	return 0;
}

/* ---------------------------------------------------------------------------
 * Connections */

#define LISTEN_KEY UINT64_MAX
#define ACCEPT_BATCH 64	 /* connections taken per wake-up: the others get a turn */
#define ACCEPT_PAUSE_MS 100 /* out of descriptors: how long before trying again */

struct server {
	int lfd, ep;
	const struct pt_http_limits *lim;
	struct pt_conntab tab;
	pt_http_metrics_fn metrics;
	void *arg;
	size_t pending;	   /* bytes of the responses connections hold */
	int listening;	   /* lfd is in the epoll set */
	int64_t resume_at; /* when not listening: when to start again */
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

static void watch(struct server *s, struct pt_conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.u64 = pt_conntab_key(&s->tab, c)};

	epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_close(struct server *s, struct pt_conn *c)
{
	if (c->out)
		s->pending -= c->outlen;
	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	pt_conntab_remove(&s->tab, c);
}

/* Sends what the socket takes; when all is sent, shuts our side down and
 * lingers.  polled: called because epoll said the socket takes more (so it
 * watches for output now). */
static void on_write(struct server *s, struct pt_conn *c, int polled)
{
	int progress = 0;

	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (progress)
				pt_conntab_set(&s->tab, c, PT_CONN_WRITE, now_ms());
			if (!polled)
				watch(s, c, EPOLLOUT);
			return;
		}
		if (n <= 0) {
			conn_close(s, c);
			return;
		}
		c->outoff += (size_t)n;
		progress = 1;
	}
	s->pending -= c->outlen;
	free(c->out);
	c->out = NULL;
	shutdown(c->fd, SHUT_WR);
	pt_conntab_set(&s->tab, c, PT_CONN_LINGER, now_ms());
	if (polled)
		watch(s, c, EPOLLIN | EPOLLRDHUP);
}

/* Makes c's response (status line, headers and, unless HEAD, body), and
 * starts sending it. */
static void respond(struct server *s, struct pt_conn *c, const struct pt_http_req *r)
{
	char head[512], err[64];
	const char *type = "text/plain; charset=utf-8", *extra = "";
	char *body = NULL;
	size_t blen = 0;
	int status = r->status, hl;
	struct pt_conn *w;

	free(c->in); /* the head is answered: what follows is not read */
	c->in = NULL;
	if (status == 200 && r->route == PT_HTTP_METRICS) {
		body = s->metrics(s->arg, &blen);
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
	s->pending += c->outlen;
	pt_conntab_set(&s->tab, c, PT_CONN_WRITE, now_ms());
	/* The bound on held responses: the most stalled writers go first,
	 * never the response just made. */
	while (s->pending > s->lim->max_pending && (w = pt_conntab_oldest_writer(&s->tab)) &&
	       w != c)
		conn_close(s, w);
	on_write(s, c, 0);
}

static void on_read(struct server *s, struct pt_conn *c)
{
	struct pt_http_req r;
	char drop[4096];
	ssize_t n;

	if (c->state == PT_CONN_LINGER) {
		n = recv(c->fd, drop, sizeof(drop), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			conn_close(s, c);
		return;
	}
	if (!c->in && !(c->in = malloc(PT_HTTP_MAX_REQUEST))) {
		conn_close(s, c);
		return;
	}
	n = recv(c->fd, c->in + c->inlen, PT_HTTP_MAX_REQUEST - c->inlen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(s, c); /* gone before asking anything complete */
		return;
	}
	c->inlen += (size_t)n;
	if (pt_http_parse(c->in, c->inlen, &r)) {
		respond(s, c, &r);
	} else if (c->inlen == PT_HTTP_MAX_REQUEST) {
		r = (struct pt_http_req){.status = 431};
		respond(s, c, &r);
	}
}

static void listen_on(struct server *s, int on)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = LISTEN_KEY};

	if (on == s->listening)
		return;
	if (epoll_ctl(s->ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, s->lfd, &ev) == 0)
		s->listening = on;
}

/* Takes up to ACCEPT_BATCH new connections, giving up the oldest idle one
 * for each when the table is full.  Out of descriptors, one idle
 * connection is given up to make room; with none, accepting pauses for
 * ACCEPT_PAUSE_MS (the connection waits in the backlog) rather than
 * spinning on a socket that stays readable. */
static void accept_some(struct server *s)
{
	int freed = 0;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};
		struct pt_conn *c;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				c = pt_conntab_victim(&s->tab);
				if (c && c->state != PT_CONN_WRITE && !freed) {
					conn_close(s, c);
					freed = 1;
					continue;
				}
				listen_on(s, 0);
				s->resume_at = now_ms() + ACCEPT_PAUSE_MS;
				return;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			continue; /* reset before we took it, and the like */
		}
		if (pt_conntab_full(&s->tab))
			conn_close(s, pt_conntab_victim(&s->tab));
		c = pt_conntab_add(&s->tab, fd, now_ms());
		ev.data.u64 = pt_conntab_key(&s->tab, c);
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			pt_conntab_remove(&s->tab, c);
		}
	}
}

/* One wait and what it brought; then the connections past their deadline
 * are closed.  -1 when waiting fails. */
static int serve_once(struct server *s, const sigset_t *mask)
{
	struct epoll_event ev[256];
	int64_t now = now_ms(), next = pt_conntab_next_deadline(&s->tab), wait;
	struct pt_conn *c;
	int n;

	if (!s->listening && s->resume_at < next)
		next = s->resume_at;
	wait = next == INT64_MAX ? -1 : next <= now ? 0 : next - now;
	if (wait > INT_MAX)
		wait = INT_MAX;
	/* The signals are let in only while waiting. */
	n = epoll_pwait(s->ep, ev, (int)(sizeof(ev) / sizeof(ev[0])), (int)wait, mask);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	for (int i = 0; i < n; i++) {
		if (ev[i].data.u64 == LISTEN_KEY) {
			accept_some(s);
			continue;
		}
		c = pt_conntab_get(&s->tab, ev[i].data.u64);
		if (!c)
			continue; /* closed earlier in this round */
		if (c->state == PT_CONN_WRITE)
			on_write(s, c, 1);
		else
			on_read(s, c);
	}
	now = now_ms();
	while ((c = pt_conntab_expired(&s->tab, now)))
		conn_close(s, c);
	if (!s->listening && now >= s->resume_at)
		listen_on(s, 1);
	return 0;
}

int pt_http_serve(int lfd, const struct pt_http_limits *lim, pt_http_metrics_fn metrics,
		  void *arg, volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	struct server s = {.lfd = lfd, .lim = lim, .metrics = metrics, .arg = arg};
	sigset_t block, old;
	int rc = 0;

	if (pt_conntab_init(&s.tab, &lim->conn) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s.ep = epoll_create1(EPOLL_CLOEXEC);
	if (s.ep < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		pt_conntab_free(&s.tab);
		return -1;
	}
	listen_on(&s, 1);
	if (!s.listening) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		rc = -1;
	}
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	while (rc == 0 && !*stop) {
		if (serve_once(&s, &old) != 0) {
			snprintf(err, errlen, "epoll: %s", strerror(errno));
			rc = -1;
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	for (size_t i = 0; i < s.tab.lim.max_conns; i++)
		if (s.tab.slots[i].state != PT_CONN_FREE)
			close(s.tab.slots[i].fd);
	pt_conntab_free(&s.tab);
	close(s.ep);
	return rc;
}
