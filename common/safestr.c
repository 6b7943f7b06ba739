/*
 * safestr.c - untrusted text made safe for a terminal (safestr.h).
 */
#include <stdlib.h>
#include <string.h>

#include "jsonstr.h"
#include "safestr.h"

size_t pt_safe_len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t k;

	if (!n)
		return 0;
	if (p[0] < 0x80)
		return p[0] >= 0x20 && p[0] != 0x7f;
	k = pt_utf8_len(p, n);
	if (k == 2 && p[0] == 0xc2 && p[1] < 0xa0)
		return 0; /* a C1 control; its second byte, alone, is no sequence either */
	return k;
}

void pt_safe_inplace(char *s)
{
	pt_safe_mem(s, strlen(s));
}

void pt_safe_mem(char *s, size_t n)
{
	while (n) {
		size_t k = pt_safe_len(s, n);
		if (!k) {
			*s = '?';
			k = 1;
		}
		s += k;
		n -= k;
	}
}

void pt_safe_lines(char *text, size_t len)
{
	while (len) {
		char *end = memchr(text, '\n', len);
		size_t n = end ? (size_t)(end - text) : len;

		pt_safe_mem(text, n);
		n += end != NULL;
		text += n;
		len -= n;
	}
}

const char *pt_safe_str(const char *s, char *buf, size_t len)
{
	size_t n = strlen(s);

	if (!len)
		return buf;
	n = n < len - 1 ? n : len - 1;
	memcpy(buf, s, n);
	buf[n] = 0; /* a sequence cut here becomes '?' below */
	pt_safe_inplace(buf);
	return buf;
}

void pt_safe_put(FILE *f, const char *s)
{
	pt_safe_write(f, s, strlen(s));
}

void pt_safe_write(FILE *f, const char *s, size_t n)
{
	while (n) {
		size_t k = pt_safe_len(s, n);
		if (k)
			fwrite(s, 1, k, f);
		else
			fputc('?', f);
		k = k ? k : 1;
		s += k;
		n -= k;
	}
}

void pt_safe_vprintf(FILE *f, const char *fmt, va_list ap)
{
	char small[1024], *s = small;
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	/* A message naming a long path: formatted again at its length. */
	if (n >= 0 && (size_t)n >= sizeof(small) && (s = malloc((size_t)n + 1)))
		vsnprintf(s, (size_t)n + 1, fmt, again);
	va_end(again);
	if (n >= 0)
		pt_safe_put(f, s ? s : small);
	if (s != small)
		free(s);
}
