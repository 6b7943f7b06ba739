/*
 * httpreq.c - request heads for the exporter's HTTP server (see httpd.h).
 *
 * A verdict as early as the bytes allow: a head is judged complete at its
 * empty line, and judged malformed (400) at the first byte that no valid
 * head could continue with, so that garbage is answered at once instead of
 * holding a connection until its deadline.  An early 400 is final: every
 * longer input that starts with the same bytes is a 400 too (the fuzz
 * target checks it), so the server may answer without reading more.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "httpd.h"

/* RFC 9110 token characters. */
static int tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* A request-target character: visible ASCII. */
static int target_char(unsigned char c)
{
	return c > ' ' && c < 0x7f;
}

/* The end of a line whose LF is at nl (before its CR, if any), within
 * [p, nl]. */
static const char *strip_cr(const char *p, const char *nl)
{
	return nl > p && nl[-1] == '\r' ? nl - 1 : nl;
}

/* The status and route of a complete request line "METHOD SP TARGET SP
 * VERSION" in [p, eol). */
static void parse_request_line(const char *p, const char *eol, struct pt_http_req *r)
{
	const char *m = p, *t, *v, *path;
	size_t mlen, plen;

	r->status = 400;
	if (memchr(p, 0, (size_t)(eol - p)))
		return;
	while (p < eol && tchar((unsigned char)*p))
		p++;
	mlen = (size_t)(p - m);
	if (mlen == 0 || mlen > PT_HTTP_MAX_METHOD || p == eol || *p != ' ')
		return;
	t = ++p;
	while (p < eol && target_char((unsigned char)*p))
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

/* Whether [p, end), a request line not ended yet, can still become a
 * well-formed one: METHOD (a short token) SP TARGET (visible ASCII) SP and
 * a prefix of "HTTP/d.d" CR.  What it says (404, 405, 505) waits for the
 * whole head. */
static int request_line_prefix_ok(const char *p, const char *end)
{
	static const char version[] = "HTTP/d.d\r";
	const char *m = p;
	size_t k;

	while (p < end && tchar((unsigned char)*p))
		p++;
	if ((size_t)(p - m) > PT_HTTP_MAX_METHOD)
		return 0;
	if (p == end)
		return 1;
	if (p == m || *p != ' ')
		return 0;
	m = ++p;
	while (p < end && target_char((unsigned char)*p))
		p++;
	if (p == end)
		return 1;
	if (p == m || *p != ' ')
		return 0;
	p++;
	for (k = 0; p + k < end; k++) {
		unsigned char c = (unsigned char)p[k];
		if (k >= sizeof(version) - 1)
			return 0; /* "HTTP/d.d" CR and not LF */
		if (version[k] == 'd' ? c < '0' || c > '9' : c != (unsigned char)version[k])
			return 0;
	}
	return 1;
}

/* Whether the complete header line [p, eol) is "name:value", name a token,
 * without NUL or CR (no folded lines either: they start with a blank). */
static int field_ok(const char *p, const char *eol)
{
	const char *q = p;

	while (q < eol && tchar((unsigned char)*q))
		q++;
	return q > p && q < eol && *q == ':' && !memchr(p, 0, (size_t)(eol - p)) &&
	       !memchr(p, '\r', (size_t)(eol - p));
}

/* Whether [p, end), a header line not ended yet, can still become a
 * well-formed one or the empty line that ends the head. */
static int field_prefix_ok(const char *p, const char *end)
{
	const char *q = p;

	if (end - p == 1 && *p == '\r')
		return 1; /* the empty line's CR, or a field's: LF decides */
	while (q < end && tchar((unsigned char)*q))
		q++;
	if (q == end)
		return 1;
	if (q == p || *q != ':')
		return 0;
	for (q++; q < end; q++)
		if (*q == 0 || (*q == '\r' && q + 1 < end))
			return 0;
	return 1;
}

int pt_http_parse(const char *buf, size_t len, struct pt_http_req *r)
{
	const char *end = buf + len, *p = buf, *nl;

	*r = (struct pt_http_req){.status = 400};
	/* RFC 9112 2.2: one empty line before the request line is ignored;
	 * a second one is an empty request line, answered at once. */
	if (p < end && *p == '\n')
		p++;
	else if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
		p += 2;
	else if (end - p == 1 && *p == '\r')
		return 0;
	nl = memchr(p, '\n', (size_t)(end - p));
	if (!nl)
		return request_line_prefix_ok(p, end) ? 0 : 1;
	parse_request_line(p, strip_cr(p, nl), r);
	if (r->status == 400)
		return 1;
	for (p = nl + 1;; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			if (field_prefix_ok(p, end))
				return 0;
			break;
		}
		if (strip_cr(p, nl) == p) { /* the empty line: complete */
			if (r->status != 200)
				r->route = PT_HTTP_NONE;
			return 1;
		}
		if (!field_ok(p, strip_cr(p, nl)))
			break;
	}
	*r = (struct pt_http_req){.status = 400};
	return 1;
}
