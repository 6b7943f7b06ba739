/*
 * fuzz_http.c - what the exporter takes from outside, on arbitrary bytes:
 * an HTTP request head from any client, and label values from any segment.
 *
 * Aborts when an invariant breaks: a complete head whose answer is not one
 * of the statuses the server knows, a route without a 200 (or the other way
 * round), an answer that changes when more bytes follow the head; a label
 * value rendered as anything but valid UTF-8 without control characters,
 * with only the format's three escapes, at most PT_EXPO_MAX_VALUE bytes
 * long once unescaped; a tag label that is neither four printable
 * characters nor "0x" and eight hex digits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "expo.h"
#include "httpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const uint8_t *data, size_t size)
{
	struct pt_http_req r, r2;
	char *more;

	if (!pt_http_parse((const char *)data, size, &r))
		return;
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
	check_value(data, size);
	check_tag(data, size);
	return 0;
}
