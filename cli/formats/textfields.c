/*
 * textfields.c - the line grammar shared by snapshots and recordings (see
 * textfields.h).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "textfields.h"

const char *pt_tf_quote(const char *s, size_t n, char out[PT_TF_QUOTE_SIZE])
{
	size_t i, o = 0;

	for (i = 0; i < n && i < PT_TF_QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '%' || c == '\'') {
			snprintf(out + o, 4, "%%%02X", c);
			o += 3;
		} else {
			out[o++] = (char)c;
		}
	}
	if (i < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

int pt_tf_fail(struct pt_tf_parser *p, const char *fmt,
                                                           ...)
{
	va_list ap;
	int n;

	if (!p->err || !p->errlen)
		return -1;
	n = snprintf(p->err, p->errlen, "%s:%zu: ", p->name, p->lineno);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int pt_tf_u64(struct pt_tf f, uint64_t *out)
{
	uint64_t x = 0;
	size_t i;

	if (f.n == 0 || (f.n > 1 && f.s[0] == '0'))
		return -1;
	for (i = 0; i < f.n; i++) {
		unsigned d = (unsigned char)f.s[i] - (unsigned)'0';

		if (d > 9)
			return -1;
		if (x > (UINT64_MAX - d) / 10)
			return -2;
		x = x * 10 + d;
	}
	*out = x;
	return 0;
}

int pt_tf_num(struct pt_tf_parser *p, struct pt_tf f, const char *what, uint64_t min,
                    uint64_t max, uint64_t *out)
{
	char q[PT_TF_QUOTE_SIZE];
	uint64_t x = 0;
	int r = pt_tf_u64(f, &x);

	if (r == -1)
		return pt_tf_fail(p, "bad number for %s: '%s'", what, pt_tf_quote(f.s, f.n, q));
	if (r < 0 || x < min || x > max)
		return pt_tf_fail(
		    p, "bad number for %s: '%s' is out of range (%" PRIu64 " to %" PRIu64 ")", what,
		    pt_tf_quote(f.s, f.n, q), min, max);
	*out = x;
	return 0;
}

static int hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int pt_tf_unescape(struct pt_tf_parser *p, struct pt_tf f, const char *what, int nul_ok,
                         char *out, size_t cap, size_t *outlen)
{
	size_t i, o = 0;

	for (i = 0; i < f.n; i++, o++) {
		unsigned char c = (unsigned char)f.s[i];

		if (c == '%') {
			int hi = i + 2 < f.n ? hex((unsigned char)f.s[i + 1]) : -1;
			int lo = i + 2 < f.n ? hex((unsigned char)f.s[i + 2]) : -1;

			if (hi < 0 || lo < 0) {
				char q[PT_TF_QUOTE_SIZE];

				return pt_tf_fail(p, "bad escape in %s: '%s'", what,
				                 pt_tf_quote(f.s + i, f.n - i < 3 ? f.n - i : 3, q));
			}
			c = (unsigned char)(hi << 4 | lo);
			if (c == 0 && !nul_ok)
				return pt_tf_fail(p, "bad escape in %s: %%00 (a NUL) in a string",
				                 what);
			i += 2;
		} else if (c < 0x20 || c == 0x7f) {
			return pt_tf_fail(p, "unescaped control byte 0x%02X in %s", c, what);
		}
		if (o < cap)
			out[o] = (char)c;
	}
	*outlen = o;
	return 0;
}

int pt_tf_tag(struct pt_tf_parser *p, struct pt_tf f, uint32_t *tag)
{
	unsigned char b[4];
	char q[PT_TF_QUOTE_SIZE];
	size_t n;

	if (pt_tf_unescape(p, f, "tag", 1, (char *)b, sizeof(b), &n) < 0)
		return -1;
	if (n != 4)
		return pt_tf_fail(p, "tag '%s' is not 4 bytes", pt_tf_quote(f.s, f.n, q));
	*tag = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return 0;
}

const char *pt_tf_str(struct pt_tf_parser *p, struct pt_tf f, const char *what,
                            size_t *off)
{
	char *out = p->scratch + *off;
	size_t n;

	if (pt_tf_unescape(p, f, what, 0, out, f.n, &n) < 0)
		return NULL;
	out[n] = '\0';
	*off += n + 1;
	return out;
}

size_t pt_tf_split(const char *s, size_t n, struct pt_tf *f, size_t max)
{
	size_t nf = 0, start = 0, i;

	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '\t')
			continue;
		if (nf < max)
			f[nf] = (struct pt_tf){s + start, i - start};
		nf++;
		start = i + 1;
	}
	return nf;
}
