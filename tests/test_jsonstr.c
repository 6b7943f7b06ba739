/*
 * test_jsonstr.c - untrusted strings as JSON strings (common/jsonstr.c):
 * valid UTF-8 passes through, every other byte of 0x80 and up, control
 * characters, quotes and backslashes are escaped.
 */
#include <stdlib.h>

#include "jsonstr.h"
#include "pt_test.h"

/* pt_json_str(s) as a string, in buf. */
static const char *json(const char *s, char *buf, size_t len)
{
	FILE *f = fmemopen(buf, len, "w");

	if (!f)
		return "(fmemopen failed)";
	pt_json_str(f, s);
	fclose(f);
	return buf;
}

#define CHECK_JSON(in, out)                                    \
	do {                                                   \
		char buf_[256];                                \
		PT_CHECK_STR(json(in, buf_, sizeof(buf_)), out); \
	} while (0)

PT_TEST(test_ascii_and_escapes)
{
	CHECK_JSON("", "\"\"");
	CHECK_JSON("server 1.c:42", "\"server 1.c:42\"");
	CHECK_JSON("a\"b\\c", "\"a\\\"b\\\\c\"");
	CHECK_JSON("\x01tab\there\nend\x1f\x7f", "\"\\u0001tab\\u0009here\\u000aend\\u001f\\u007f\"");
}

PT_TEST(test_valid_utf8_passes)
{
	CHECK_JSON("caf\xc3\xa9", "\"caf\xc3\xa9\"");                 /* U+00E9 */
	CHECK_JSON("\xc2\xa0", "\"\xc2\xa0\"");                       /* U+00A0, the first of two bytes after C1 */
	CHECK_JSON("\xc2\x80\xc2\x9b", "\"\\u0080\\u009b\"");           /* C1 controls: escaped, the same characters */
	CHECK_JSON("\xe2\x82\xac 5", "\"\xe2\x82\xac 5\"");           /* U+20AC */
	CHECK_JSON("\xef\xbf\xbf", "\"\xef\xbf\xbf\"");               /* U+FFFF */
	CHECK_JSON("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");       /* U+1F600 */
	CHECK_JSON("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");       /* U+10FFFF, the last */
	CHECK_JSON("\xed\x9f\xbf", "\"\xed\x9f\xbf\"");               /* U+D7FF, below the surrogates */
}

PT_TEST(test_invalid_bytes_escaped)
{
	CHECK_JSON("\x80", "\"\\u0080\"");                            /* a lone continuation byte */
	CHECK_JSON("a\xff" "b", "\"a\\u00ffb\"");
	CHECK_JSON("\xc0\xaf", "\"\\u00c0\\u00af\"");                 /* overlong '/' */
	CHECK_JSON("\xc1\xbf", "\"\\u00c1\\u00bf\"");
	CHECK_JSON("\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\"");      /* overlong, three bytes */
	CHECK_JSON("\xf0\x8f\xbf\xbf", "\"\\u00f0\\u008f\\u00bf\\u00bf\""); /* overlong, four */
	CHECK_JSON("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"");      /* a surrogate, U+D800 */
	CHECK_JSON("\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\""); /* above U+10FFFF */
	CHECK_JSON("\xf5\x80\x80\x80", "\"\\u00f5\\u0080\\u0080\\u0080\"");
	/* Cut short: at the end, and by an ASCII byte, which stays itself. */
	CHECK_JSON("\xe2\x82", "\"\\u00e2\\u0082\"");
	CHECK_JSON("\xe2\x82" "A\xc3\xa9", "\"\\u00e2\\u0082A\xc3\xa9\"");
	CHECK_JSON("\xf0\x9f\x98\"", "\"\\u00f0\\u009f\\u0098\\\"\"");
}

PT_TEST(test_utf8_len)
{
	PT_CHECK_EQ(pt_utf8_len((const unsigned char *)"", 0), 0);
	PT_CHECK_EQ(pt_utf8_len((const unsigned char *)"a", 1), 1);
	PT_CHECK_EQ(pt_utf8_len((const unsigned char *)"\xc3\xa9", 2), 2);
	PT_CHECK_EQ(pt_utf8_len((const unsigned char *)"\xc3\xa9", 1), 0); /* n counts */
	PT_CHECK_EQ(pt_utf8_len((const unsigned char *)"\xe2\x82\xac", 3), 3);
	PT_CHECK_EQ(pt_utf8_len((const unsigned char *)"\xf0\x9f\x98\x80", 4), 4);
	PT_CHECK_EQ(pt_utf8_len((const unsigned char *)"\xf0\x9f\x98\x80", 3), 0);
	PT_CHECK_EQ(pt_utf8_len((const unsigned char *)"\xbf", 1), 0);
	PT_CHECK_EQ(pt_utf8_len((const unsigned char *)"\xed\xbf\xbf", 3), 0);
	PT_CHECK_EQ(pt_utf8_len((const unsigned char *)"\xee\x80\x80", 3), 3); /* U+E000 */
}

/* Every byte value alone: what comes out is escaped or is the byte. */
PT_TEST(test_every_single_byte)
{
	int bad = 0;

	for (int c = 1; c < 256; c++) {
		char in[2] = {(char)c, 0}, out[16], want[16];

		json(in, out, sizeof(out));
		if (c == '"' || c == '\\')
			snprintf(want, sizeof(want), "\"\\%c\"", c);
		else if (c < 0x20 || c >= 0x7f)
			snprintf(want, sizeof(want), "\"\\u%04x\"", c);
		else
			snprintf(want, sizeof(want), "\"%c\"", c);
		bad += strcmp(out, want) != 0;
	}
	PT_CHECK_EQ(bad, 0);
}

int main(void)
{
	PT_RUN(test_ascii_and_escapes);
	PT_RUN(test_valid_utf8_passes);
	PT_RUN(test_invalid_bytes_escaped);
	PT_RUN(test_utf8_len);
	PT_RUN(test_every_single_byte);
	return pt_test_done();
}
