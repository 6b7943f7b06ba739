/*
 * test_textfields.c - the line grammar of snapshots and recordings
 * (cli/formats/textfields.c): splitting at TABs, canonical decimals and
 * their range, percent escapes, four-byte tags, C strings decoded into the
 * scratch buffer, messages as "NAME:LINE: reason" with untrusted text
 * quoted on one line.
 */
#include <stdint.h>
#include <string.h>

#include "pt_test.h"
#include "textfields.h"

static char err[256];
static char scratch[256];

static struct pt_tf_parser parser(void)
{
	err[0] = 0;
	return (struct pt_tf_parser){"f.snap", err, sizeof(err), 7, scratch};
}

static struct pt_tf tf(const char *s)
{
	return (struct pt_tf){s, strlen(s)};
}

PT_TEST(test_split)
{
	struct pt_tf f[3];
	const char *s = "a\t\tccc\td";

	/* Empty fields count; fields past max are counted, not stored. */
	PT_CHECK_EQ(pt_tf_split(s, strlen(s), f, 3), 4);
	PT_CHECK_EQ(f[0].n, 1);
	PT_CHECK(f[0].s == s);
	PT_CHECK_EQ(f[1].n, 0);
	PT_CHECK_EQ(f[2].n, 3);
	PT_CHECK(!memcmp(f[2].s, "ccc", 3));
	PT_CHECK_EQ(pt_tf_split("", 0, f, 3), 1); /* one empty field */
	PT_CHECK_EQ(f[0].n, 0);
	PT_CHECK_EQ(pt_tf_split("\t", 1, f, 3), 2);
	PT_CHECK_EQ(pt_tf_split("x\ty", 1, f, 3), 1); /* only n bytes are read */
	PT_CHECK_EQ(f[0].n, 1);
	PT_CHECK_EQ(pt_tf_split("a\tb", 3, f, 0), 2);
}

PT_TEST(test_u64)
{
	uint64_t x = 99;

	PT_CHECK_EQ(pt_tf_u64(tf("0"), &x), 0);
	PT_CHECK_EQ(x, 0);
	PT_CHECK_EQ(pt_tf_u64(tf("18446744073709551615"), &x), 0);
	PT_CHECK(x == UINT64_MAX);
	PT_CHECK_EQ(pt_tf_u64(tf("18446744073709551616"), &x), -2);
	PT_CHECK_EQ(pt_tf_u64(tf("99999999999999999999"), &x), -2);
	PT_CHECK(x == UINT64_MAX); /* untouched on error */
	PT_CHECK_EQ(pt_tf_u64(tf(""), &x), -1);
	PT_CHECK_EQ(pt_tf_u64(tf("01"), &x), -1);
	PT_CHECK_EQ(pt_tf_u64(tf("00"), &x), -1);
	PT_CHECK_EQ(pt_tf_u64(tf("+1"), &x), -1);
	PT_CHECK_EQ(pt_tf_u64(tf("-1"), &x), -1);
	PT_CHECK_EQ(pt_tf_u64(tf("1 "), &x), -1);
	PT_CHECK_EQ(pt_tf_u64(tf("1a"), &x), -1);
	PT_CHECK_EQ(pt_tf_u64(tf("/"), &x), -1); /* the bytes either side of '0'..'9' */
	PT_CHECK_EQ(pt_tf_u64(tf(":"), &x), -1);
	PT_CHECK_EQ(pt_tf_u64((struct pt_tf){"123", 2}, &x), 0);
	PT_CHECK_EQ(x, 12);
}

PT_TEST(test_num_range)
{
	struct pt_tf_parser p = parser();
	uint64_t x = 0;

	PT_CHECK_EQ(pt_tf_num(&p, tf("10"), "line", 10, 20, &x), 0);
	PT_CHECK_EQ(x, 10);
	PT_CHECK_EQ(pt_tf_num(&p, tf("20"), "line", 10, 20, &x), 0);
	PT_CHECK_EQ(x, 20);
	PT_CHECK_STR(err, "");
	x = 5;
	PT_CHECK_EQ(pt_tf_num(&p, tf("21"), "line", 10, 20, &x), -1);
	PT_CHECK_STR(err, "f.snap:7: bad number for line: '21' is out of range (10 to 20)");
	PT_CHECK_EQ(x, 5);
	PT_CHECK_EQ(pt_tf_num(&p, tf("9"), "line", 10, 20, &x), -1);
	PT_CHECK_STR(err, "f.snap:7: bad number for line: '9' is out of range (10 to 20)");
	PT_CHECK_EQ(pt_tf_num(&p, tf("99999999999999999999"), "pid", 0, UINT64_MAX, &x), -1);
	PT_CHECK_HAS(err, "'99999999999999999999' is out of range (0 to 18446744073709551615)");
	PT_CHECK_EQ(pt_tf_num(&p, tf("0x10"), "pid", 0, 100, &x), -1);
	PT_CHECK_STR(err, "f.snap:7: bad number for pid: '0x10'");
	PT_CHECK_EQ(x, 5);
}

/* Untrusted text in a message: at most 32 bytes, then "...", and every
 * byte that could break the line or the quotes as %XX. */
PT_TEST(test_quote)
{
	char q[PT_TF_QUOTE_SIZE], in[40];

	PT_CHECK_STR(pt_tf_quote("plain", 5, q), "plain");
	PT_CHECK_STR(pt_tf_quote("a\tb\n'%\x7f\x80", 8, q), "a%09b%0A%27%25%7F%80");
	PT_CHECK_STR(pt_tf_quote(" ~", 2, q), " ~");
	PT_CHECK_STR(pt_tf_quote("", 0, q), "");
	memset(in, 'x', sizeof(in));
	pt_tf_quote(in, 32, q);
	PT_CHECK_EQ(strlen(q), 32);
	pt_tf_quote(in, 33, q);
	PT_CHECK_EQ(strlen(q), 35);
	PT_CHECK(!strcmp(q + 32, "..."));
	/* The longest excerpt fits its buffer: 32 escaped bytes and "...". */
	memset(in, '\n', sizeof(in));
	pt_tf_quote(in, sizeof(in), q);
	PT_CHECK_EQ(strlen(q), PT_TF_QUOTE_MAX * 3 + 3);
}

PT_TEST(test_unescape)
{
	struct pt_tf_parser p = parser();
	char out[8];
	size_t n = 0;

	PT_CHECK_EQ(pt_tf_unescape(&p, tf("a%25b%7e%7E"), "file", 0, out, sizeof(out), &n), 0);
	PT_CHECK_EQ(n, 5);
	PT_CHECK(!memcmp(out, "a%b~~", 5));
	/* Too long for out: the whole field is checked and measured. */
	PT_CHECK_EQ(pt_tf_unescape(&p, tf("0123456789%41"), "file", 0, out, 4, &n), 0);
	PT_CHECK_EQ(n, 11);
	PT_CHECK(!memcmp(out, "0123", 4));
	PT_CHECK_EQ(pt_tf_unescape(&p, tf("0123456789%4"), "file", 0, out, 4, &n), -1);
	PT_CHECK_STR(err, "f.snap:7: bad escape in file: '%254'");
	PT_CHECK_EQ(pt_tf_unescape(&p, tf("%"), "file", 0, out, sizeof(out), &n), -1);
	PT_CHECK_STR(err, "f.snap:7: bad escape in file: '%25'");
	PT_CHECK_EQ(pt_tf_unescape(&p, tf("%g0"), "func", 0, out, sizeof(out), &n), -1);
	PT_CHECK_STR(err, "f.snap:7: bad escape in func: '%25g0'");
	PT_CHECK_EQ(pt_tf_unescape(&p, tf("%0G"), "func", 0, out, sizeof(out), &n), -1);
	PT_CHECK_EQ(pt_tf_unescape(&p, tf("a%00"), "func", 0, out, sizeof(out), &n), -1);
	PT_CHECK_STR(err, "f.snap:7: bad escape in func: %00 (a NUL) in a string");
	PT_CHECK_EQ(pt_tf_unescape(&p, tf("a%00"), "tag", 1, out, sizeof(out), &n), 0);
	PT_CHECK_EQ(n, 2);
	PT_CHECK(out[1] == 0);
	PT_CHECK_EQ(pt_tf_unescape(&p, tf("a\x01"), "comm", 0, out, sizeof(out), &n), -1);
	PT_CHECK_STR(err, "f.snap:7: unescaped control byte 0x01 in comm");
	PT_CHECK_EQ(pt_tf_unescape(&p, tf("\x7f"), "comm", 0, out, sizeof(out), &n), -1);
	PT_CHECK_STR(err, "f.snap:7: unescaped control byte 0x7F in comm");
	/* Bytes above ASCII are the file's own (UTF-8 names). */
	PT_CHECK_EQ(pt_tf_unescape(&p, tf("\xc3\xa9"), "comm", 0, out, sizeof(out), &n), 0);
	PT_CHECK_EQ(n, 2);
}

PT_TEST(test_tag)
{
	struct pt_tf_parser p = parser();
	uint32_t tag = 0;

	PT_CHECK_EQ(pt_tf_tag(&p, tf("AbcD"), &tag), 0);
	PT_CHECK_EQ(tag, (uint32_t)'A' | (uint32_t)'b' << 8 | (uint32_t)'c' << 16 |
	                     (uint32_t)'D' << 24);
	PT_CHECK_EQ(pt_tf_tag(&p, tf("%00%09%FF%25"), &tag), 0);
	PT_CHECK_EQ(tag, 0x25ff0900u);
	tag = 1;
	PT_CHECK_EQ(pt_tf_tag(&p, tf("abc"), &tag), -1);
	PT_CHECK_STR(err, "f.snap:7: tag 'abc' is not 4 bytes");
	PT_CHECK_EQ(pt_tf_tag(&p, tf("abcde"), &tag), -1);
	PT_CHECK_STR(err, "f.snap:7: tag 'abcde' is not 4 bytes");
	PT_CHECK_EQ(pt_tf_tag(&p, tf("ab%2"), &tag), -1);
	PT_CHECK_HAS(err, "bad escape in tag");
	PT_CHECK_EQ(tag, 1);
}

/* Strings of one line decoded one after the other into the scratch
 * buffer, each NUL-terminated. */
PT_TEST(test_str)
{
	struct pt_tf_parser p = parser();
	size_t off = 0;
	const char *a, *b;

	memset(scratch, 'z', sizeof(scratch));
	a = pt_tf_str(&p, tf("lib%25x.so"), "module", &off);
	b = pt_tf_str(&p, tf(""), "file", &off);
	PT_CHECK_STR(a, "lib%x.so");
	PT_CHECK_STR(b, "");
	PT_CHECK(a == scratch && b == scratch + 9);
	PT_CHECK_EQ(off, 10);
	PT_CHECK(pt_tf_str(&p, tf("a%00b"), "func", &off) == NULL);
	PT_CHECK_STR(err, "f.snap:7: bad escape in func: %00 (a NUL) in a string");
	PT_CHECK_EQ(off, 10);
}

/* A message is cut to the buffer, and no buffer means no message. */
PT_TEST(test_fail)
{
	char small[12];
	struct pt_tf_parser p = {"a-long-name", small, sizeof(small), 123, scratch};
	struct pt_tf_parser none = {"x", NULL, 0, 1, scratch};

	PT_CHECK_EQ(pt_tf_fail(&p, "reason %d", 5), -1);
	PT_CHECK_STR(small, "a-long-name");
	p.name = "n";
	PT_CHECK_EQ(pt_tf_fail(&p, "reason %d", 5), -1);
	PT_CHECK_STR(small, "n:123: reas");
	PT_CHECK_EQ(pt_tf_fail(&none, "reason"), -1);
	p.errlen = 0;
	small[0] = 'q';
	PT_CHECK_EQ(pt_tf_fail(&p, "reason"), -1);
	PT_CHECK_EQ(small[0], 'q');
}

int main(void)
{
	PT_RUN(test_split);
	PT_RUN(test_u64);
	PT_RUN(test_num_range);
	PT_RUN(test_quote);
	PT_RUN(test_unescape);
	PT_RUN(test_tag);
	PT_RUN(test_str);
	PT_RUN(test_fail);
	return pt_test_done();
}
