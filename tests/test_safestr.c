/*
 * test_safestr.c - untrusted text made safe for a terminal
 * (common/safestr.c): C0 and C1 controls, DEL and bytes outside valid
 * UTF-8 become '?', one a byte; valid UTF-8 passes; a text's own line ends
 * stay.
 */
#include <string.h>

#include "pt_test.h"
#include "safestr.h"

/* pt_safe_put(s) as a string, in buf. */
static const char *put(const char *s, char *buf, size_t len)
{
	FILE *f = fmemopen(buf, len, "w");

	if (!f)
		return "(fmemopen failed)";
	pt_safe_put(f, s);
	fclose(f);
	return buf;
}

/* Every way in gives the same text, of the same length. */
#define CHECK_SAFE(in, out)                                         \
	do {                                                        \
		char b1_[256], b2_[256];                            \
		PT_CHECK_STR(pt_safe_str(in, b1_, sizeof(b1_)), out); \
		PT_CHECK_STR(put(in, b2_, sizeof(b2_)), out);       \
		strcpy(b2_, in);                                    \
		pt_safe_inplace(b2_);                               \
		PT_CHECK_STR(b2_, out);                             \
		PT_CHECK_EQ(strlen(out), strlen(in));               \
	} while (0)

PT_TEST(test_ascii_and_c0)
{
	CHECK_SAFE("", "");
	CHECK_SAFE("server 1.c:42 \"quoted\"", "server 1.c:42 \"quoted\"");
	CHECK_SAFE("\x1b[31mred\x07\r\n\t\x7f", "?[31mred?????");
}

PT_TEST(test_utf8_passes)
{
	CHECK_SAFE("caf\xc3\xa9", "caf\xc3\xa9");                /* U+00E9 */
	CHECK_SAFE("\xc2\xa0nbsp", "\xc2\xa0nbsp");              /* U+00A0, the first after C1 */
	CHECK_SAFE("\xe2\x82\xac \xf0\x9f\x98\x80", "\xe2\x82\xac \xf0\x9f\x98\x80"); /* 3 and 4 bytes */
}

PT_TEST(test_c1_and_invalid)
{
	CHECK_SAFE("\xc2\x9b" "31m", "??31m");  /* U+009B: CSI to some terminals */
	CHECK_SAFE("\xc2\x80\xc2\x9f", "????"); /* the whole C1 range */
	CHECK_SAFE("\x9b" "31m", "?31m");       /* CSI in an 8-bit encoding */
	CHECK_SAFE("caf\xe9!", "caf?!");        /* Latin-1 */
	CHECK_SAFE("\xc0\xaf", "??");           /* overlong '/' */
	CHECK_SAFE("\xed\xa0\x80", "???");      /* a surrogate */
	CHECK_SAFE("\xe2\x82", "??");           /* cut short */
}

PT_TEST(test_cut_to_fit)
{
	char small[5];

	PT_CHECK_STR(pt_safe_str("abcdef", small, sizeof(small)), "abcd");
	/* A sequence cut by the buffer's end is no sequence: '?'. */
	PT_CHECK_STR(pt_safe_str("abc\xc3\xa9", small, sizeof(small)), "abc?");
	PT_CHECK_STR(pt_safe_str("ab\xc3\xa9", small, sizeof(small)), "ab\xc3\xa9");
}

/* Line ends are the writer's: each line is made safe apart, a sequence
 * never spans one. */
PT_TEST(test_lines)
{
	char text[] = "fd 7 \x1b[1m\nnext \xc3\xa9\x9b\n\xc2\x9b" "end";

	pt_safe_lines(text, sizeof(text) - 1);
	PT_CHECK_STR(text, "fd 7 ?[1m\nnext \xc3\xa9?\n??" "end");
	pt_safe_lines(text, 0); /* nothing to do */
}

int main(void)
{
	PT_RUN(test_ascii_and_c0);
	PT_RUN(test_utf8_passes);
	PT_RUN(test_c1_and_invalid);
	PT_RUN(test_cut_to_fit);
	PT_RUN(test_lines);
	return pt_test_done();
}
