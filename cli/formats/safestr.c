/*
 * safestr.c - untrusted text made safe for a terminal (safestr.h).
 */
#include <stdlib.h>

#include "safestr.h"

const char *pt_safe_str(const char *s, char *buf, size_t len)
{
	size_t i = 0;

	for (; s[i] && i + 1 < len; i++)
		buf[i] = pt_safe_byte((unsigned char)s[i]) ? s[i] : '?';
	buf[i] = 0;
	return buf;
}

void pt_safe_put(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(pt_safe_byte((unsigned char)*s) ? *s : '?', f);
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
