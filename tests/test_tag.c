/*
 * test_tag.c - tags (src/tag.c): four printable ASCII characters packed
 * first-in-lowest-byte, shorter names padded with spaces, everything else
 * refused as 0; back to text; and descriptions, refused for a bad tag or
 * none, found in the segment otherwise.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <pooltag.h>

#include "internal.h"
#include "pt_libtest.h"

PT_TEST(test_make)
{
	char s[6];

	PT_CHECK_EQ(pt_tag_make("AbcD"), 0x44636241u);
	PT_CHECK_EQ(pt_tag_make("Ab"), 0x20206241u);
	PT_CHECK_EQ(pt_tag_make("A"), 0x20202041u);
	PT_CHECK_EQ(pt_tag_make(" ~!#"), 0x23217e20u);
	PT_CHECK_EQ(pt_tag_make(""), 0);
	PT_CHECK_EQ(pt_tag_make(NULL), 0);
	PT_CHECK_EQ(pt_tag_make("Abcde"), 0);
	PT_CHECK_EQ(pt_tag_make("Ab\tc"), 0);
	PT_CHECK_EQ(pt_tag_make("Ab\x7f"), 0);
	PT_CHECK_EQ(pt_tag_make("\xc3\xa9"), 0);
	/* Only five bytes are read: a name without its NUL is no overrun. */
	memcpy(s, "Abcdef", 6);
	PT_CHECK_EQ(pt_tag_make(s), 0);
	PT_CHECK_EQ(PT_TAG("Xy"), pt_tag_make("Xy"));
}

PT_TEST(test_valid_and_str)
{
	char out[5] = "zzzz";

	PT_CHECK_EQ(pt_tag_valid(0x20202020u), 1);
	PT_CHECK_EQ(pt_tag_valid(0x7e7e7e7eu), 1);
	PT_CHECK_EQ(pt_tag_valid(0x1f202020u), 0);
	PT_CHECK_EQ(pt_tag_valid(0x2020207fu), 0);
	PT_CHECK_EQ(pt_tag_valid(0), 0);
	PT_CHECK_STR(pt_tag_str(pt_tag_make("Ab"), out), "Ab  ");
	PT_CHECK(pt_tag_str(0x44636241u, out) == out);
	PT_CHECK_STR(out, "AbcD");
}

/* A description lands in the segment; a bad tag or none is refused. */
PT_TEST(test_describe)
{
	struct pt_view v;
	char err[256];
	int found = 0;

	errno = 0;
	PT_CHECK_EQ(pt_tag_describe("Abcde", "too long", NULL), -1);
	PT_CHECK_EQ(errno, EINVAL);
	errno = 0;
	PT_CHECK_EQ(pt_tag_describe("Tdsc", NULL, NULL), -1);
	PT_CHECK_EQ(errno, EINVAL);
	PT_CHECK_EQ(pt_tag_describe("Tdsc", "described here", "test_tag"), 0);
	pt_view_init(&v);
	PT_CHECK_EQ(pt_segread_pid(&v, getpid(), err, sizeof(err)), 0);
	for (size_t i = 0; i < v.ndescs; i++)
		found += v.descs[i].tag == PT_TAG("Tdsc") && !strcmp(v.descs[i].desc, "described here");
	PT_CHECK_EQ(found, 1);
	pt_view_free(&v);
}

int main(void)
{
	PT_RUN(test_make);
	PT_RUN(test_valid_and_str);
	PT_RUN(test_describe);
	PT_RUN(test_nothing_outstanding);
	return pt_test_done();
}
