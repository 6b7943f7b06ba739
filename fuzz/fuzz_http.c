/*
 * fuzz_http.c - what the exporter takes from outside, on arbitrary bytes:
 * an HTTP request head from any client, and label values from any segment.
 *
 * Aborts when an invariant breaks: a complete head whose answer is not one
 * of the statuses the server knows, a route without a 200 (or the other way
 * round), an answer that changes when more bytes follow the head, an early
 * verdict on a prefix that the whole input does not share, an incomplete
 * head that an empty line does not complete; a connection table whose
 * lists, counts, deadlines or stale keys disagree with what was done to it
 * (the bytes read as operations); a label
 * value rendered as anything but valid UTF-8 without control characters,
 * with only the format's three escapes, at most PT_EXPO_MAX_VALUE bytes
 * long once unescaped; a tag label that is neither four printable
 * characters nor "0x" and eight hex digits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conntab.h"
#include "expo.h"
#include "httpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const uint8_t *data, size_t size)
{
	struct pt_http_req r, r2;
	char *more;
	size_t cut = size ? data[0] % (size + 1) : 0;

	/* A verdict on a prefix is final. */
	if (pt_http_parse((const char *)data, cut, &r2) &&
	    (!pt_http_parse((const char *)data, size, &r) || r.status != r2.status ||
	     r.route != r2.route || r.head != r2.head))
		abort();
	if (!pt_http_parse((const char *)data, size, &r)) {
		/* An empty line completes what can still become a head. */
		more = malloc(size + 4);
		if (!more)
			return;
		memcpy(more, data, size);
		memcpy(more + size, "\r\n\r\n", 4);
		if (!pt_http_parse(more, size + 4, &r2))
			abort();
		free(more);
		return;
	}
	if (r.status != 200 && r.status != 400 && r.status != 404 && r.status != 405 &&
	    r.status != 505)
		abort();
	if ((r.status == 200) != (r.route != PT_HTTP_NONE))
		abort();
	/* Whatever follows the head (a body, a pipelined request) is not
	 * looked at. */
	more = malloc(size + 8);
	if (!more)
		return;
	memcpy(more, data, size);
	memcpy(more + size, "X\r\n\r\n\0\n\r", 8);
	if (!pt_http_parse(more, size + 8, &r2) || r2.status != r.status || r2.route != r.route ||
	    r2.head != r.head)
		abort();
	free(more);
}

/* The bytes as operations on a table of 8 connections, with a clock that
 * only goes forward: each byte's top bits choose add, write, linger,
 * remove, expire, or advance the clock by its low bits. */
static void check_conntab(const uint8_t *data, size_t size)
{
	static const struct pt_conn_limits lim = {
		.max_conns = 8, .read_ms = 40, .write_ms = 100, .linger_ms = 7};
	struct pt_conntab t;
	uint64_t stale[64];
	size_t nstale = 0, live;
	int64_t now = 0;

	if (pt_conntab_init(&t, &lim) != 0)
		return;
	for (size_t i = 0; i < size; i++) {
		struct pt_conn *c = &t.slots[data[i] & 7], *v;
		unsigned op = data[i] >> 5;

		if (op == 0 && !pt_conntab_full(&t)) {
			if (!pt_conntab_add(&t, (int)i, now))
				abort();
		} else if (op == 0) {
			/* Full: the victim goes, lingering first, then readers. */
			v = pt_conntab_victim(&t);
			if (!v || (v->state == PT_CONN_READ && t.list[PT_CONN_LINGER].head) ||
			    (v->state == PT_CONN_WRITE &&
			     (t.list[PT_CONN_LINGER].head || t.list[PT_CONN_READ].head)))
				abort();
			if (nstale < 64)
				stale[nstale++] = pt_conntab_key(&t, v);
			pt_conntab_remove(&t, v);
		} else if ((op == 1 || op == 2) && c->state != PT_CONN_FREE) {
			pt_conntab_set(&t, c, op == 1 ? PT_CONN_WRITE : PT_CONN_LINGER, now);
		} else if (op == 3 && c->state != PT_CONN_FREE) {
			if (nstale < 64)
				stale[nstale++] = pt_conntab_key(&t, c);
			pt_conntab_remove(&t, c);
		} else if (op == 4) {
			while ((v = pt_conntab_expired(&t, now))) {
				if (v->deadline > now)
					abort();
				pt_conntab_remove(&t, v);
			}
			if (pt_conntab_next_deadline(&t) <= now)
				abort();
		} else if (op >= 5) {
			now += data[i] & 31;
		}
		/* Each list in deadline order, every connection in one, the
		 * count right; keys of freed slots stale. */
		live = 0;
		for (int st = PT_CONN_READ; st <= PT_CONN_LINGER; st++)
			for (struct pt_conn *p = t.list[st].head; p; p = p->next) {
				if (p->state != (enum pt_conn_state)st ||
				    (p->next && p->next->deadline < p->deadline) ||
				    (p->next && p->next->prev != p) ||
				    pt_conntab_get(&t, pt_conntab_key(&t, p)) != p)
					abort();
				live++;
			}
		if (live != t.n || pt_conntab_full(&t) != (t.n == lim.max_conns))
			abort();
		for (size_t k = 0; k < nstale; k++)
			if (pt_conntab_get(&t, stale[k]))
				abort();
	}
	pt_conntab_free(&t);
}

/* Length of the valid UTF-8 character at s (n bytes left), 0 if none. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
				 : s[0] >= 0xe0 && s[0] <= 0xef ? 3
				 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
	uint32_t cp = len == 1 ? s[0] : len == 2 ? s[0] & 0x1fu : len == 3 ? s[0] & 0x0fu : s[0] & 0x07u;

	if (len == 0 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static void check_value(const uint8_t *data, size_t size)
{
	char *v = malloc(size + 1);
	struct pt_strbuf b = {0};
	struct pt_expo_label l = {"v", v};
	size_t i, end, decoded = 0;

	if (!v)
		return;
	memcpy(v, data, size);
	v[size] = 0;
	if (pt_expo_labels(&b, &l, 1) != 0)
		abort();
	if (b.oom)
		goto out;
	if (b.len < 6 || memcmp(b.p, "{v=\"", 4) != 0 || memcmp(b.p + b.len - 2, "\"}", 2) != 0)
		abort();
	end = b.len - 2;
	for (i = 4; i < end;) {
		const unsigned char *c = (const unsigned char *)b.p + i;
		size_t k;
		if (*c == '\\') {
			if (i + 1 >= end || (c[1] != '\\' && c[1] != '"' && c[1] != 'n'))
				abort();
			i += 2;
			decoded++;
			continue;
		}
		if (*c == '"' || *c < 0x20 || *c == 0x7f || !(k = utf8_char(c, end - i)))
			abort();
		i += k;
		decoded += k;
	}
	if (decoded > PT_EXPO_MAX_VALUE || decoded > strlen(v))
		abort();
out:
	pt_strbuf_free(&b);
	free(v);
}

static void check_tag(const uint8_t *data, size_t size)
{
	uint32_t tag = 0;
	char out[11];
	size_t n;

	for (size_t i = 0; i < 4 && i < size; i++)
		tag |= (uint32_t)data[i] << (8 * i);
	pt_expo_tag(tag, out);
	n = strlen(out);
	if (n == 4) {
		for (size_t i = 0; i < 4; i++)
			if (out[i] < 0x20 || out[i] > 0x7e || (uint8_t)out[i] != (uint8_t)(tag >> (8 * i)))
				abort();
	} else if (n != 10 || memcmp(out, "0x", 2) != 0 || strspn(out + 2, "0123456789abcdef") != 8) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > PT_HTTP_MAX_REQUEST)
		size = PT_HTTP_MAX_REQUEST; /* the server never parses more */
	check_request(data, size);
	check_conntab(data, size);
	check_value(data, size);
	check_tag(data, size);
	return 0;
}
