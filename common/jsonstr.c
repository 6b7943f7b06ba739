/*
 * jsonstr.c - untrusted strings as JSON strings (jsonstr.h).
 */
#include <string.h>

#include "jsonstr.h"

size_t pt_utf8_len(const unsigned char *s, size_t n)
{
	/* The second byte's range depends on the first (RFC 3629, section 4):
	 * that is what excludes overlong forms, surrogates (U+D800 to U+DFFF)
	 * and code points above U+10FFFF. */
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (!n)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

void pt_json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	fputc('"', f);
	while (n) {
		size_t k = *p >= 0x80 ? pt_utf8_len(p, n) : 1;

		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f || k == 0)
			fprintf(f, "\\u%04x", *p);
		else if (k == 2 && p[0] == 0xc2 && p[1] < 0xa0)
			fprintf(f, "\\u%04x", p[1]); /* a C1 control, U+0080 to U+009F: the same
						      * character, escaped as the others are */
		else
			fwrite(p, 1, k, f);
		k = k ? k : 1;
		p += k;
		n -= k;
	}
	fputc('"', f);
}
