/*
 * test_tagmap.c - the tag map of pooltag run (common/tagmap.c,
 * docs/tagmap-format.md): the grammar, every error with its file and line,
 * the limits (pattern length, tag length, rule count, file size), --skip
 * lists, and which rule matches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pt_test.h"
#include "tagmap.h"

static char err[512];
static char tmpdir[64] = "/tmp/pt-test-tagmap.XXXXXX";

static int parse(struct pt_tagmap *m, const char *text)
{
	err[0] = 0;
	return pt_tagmap_parse(m, text, strlen(text), "map.txt", err, sizeof(err));
}

static uint32_t tag4(const char *s)
{
	return (uint32_t)(unsigned char)s[0] | (uint32_t)(unsigned char)s[1] << 8 |
	       (uint32_t)(unsigned char)s[2] << 16 | (uint32_t)(unsigned char)s[3] << 24;
}

PT_TEST(test_grammar)
{
	struct pt_tagmap m = {0};

	PT_CHECK_EQ(parse(&m, "# tags of a server\n"
	                      "\n"
	                      "module libsqlite3.so*   Sqlt\n"
	                      "\tmodule myserver\tSrv # the program\r\n"
	                      "func   cache_*   C\n"
	                      "skip   my_xmalloc\n"
	                      "   # indented comment\n"
	                      "func x ~!#\n"
	                      "skip last"),
	            0);
	PT_CHECK_STR(err, "");
	PT_CHECK_EQ(m.n, 6);
	if (m.n == 6) {
		PT_CHECK_EQ(m.rules[0].kind, PT_TAGMAP_MODULE);
		PT_CHECK_STR(m.rules[0].glob, "libsqlite3.so*");
		PT_CHECK_EQ(m.rules[0].tag, tag4("Sqlt"));
		PT_CHECK_STR(m.rules[1].glob, "myserver");
		PT_CHECK_EQ(m.rules[1].tag, tag4("Srv ")); /* padded with spaces */
		PT_CHECK_EQ(m.rules[2].kind, PT_TAGMAP_FUNC);
		PT_CHECK_EQ(m.rules[2].tag, tag4("C   "));
		PT_CHECK_EQ(m.rules[3].kind, PT_TAGMAP_SKIP);
		PT_CHECK_STR(m.rules[3].glob, "my_xmalloc");
		PT_CHECK_EQ(m.rules[3].tag, 0);
		/* '#' inside a field is part of it: a comment starts a field. */
		PT_CHECK_EQ(m.rules[4].tag, tag4("~!# "));
		PT_CHECK_STR(m.rules[5].glob, "last"); /* no newline at the end */
	}
	/* A second text appends. */
	PT_CHECK_EQ(parse(&m, "func more Mor\n"), 0);
	PT_CHECK_EQ(m.n, 7);
	pt_tagmap_free(&m);
	PT_CHECK(m.rules == NULL && m.n == 0 && m.cap == 0);
	PT_CHECK_EQ(parse(&m, ""), 0);
	PT_CHECK_EQ(parse(&m, "\n\n# only comments\n"), 0);
	PT_CHECK_EQ(m.n, 0);
	pt_tagmap_free(&m);
}

PT_TEST(test_errors_name_the_line)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
	    {"module a Aaaa\nmodel b Bbbb\n",
	     "map.txt:2: expected 'module GLOB TAG', 'func GLOB TAG' or 'skip GLOB'"},
	    {"Module a Aaaa\n", "map.txt:1: expected 'module GLOB TAG', 'func GLOB TAG' or 'skip GLOB'"},
	    {"\n\nskip a b\n", "map.txt:3: 'skip' takes one pattern"},
	    {"skip\n", "map.txt:1: 'skip' takes one pattern"},
	    {"func a\n", "map.txt:1: expected a pattern and a tag"},
	    {"module a Aaaa extra\n", "map.txt:1: expected a pattern and a tag"},
	    {"module a Aaaa b c\n", "map.txt:1: expected a pattern and a tag"},
	    {"func a Abcde\n", "map.txt:1: a tag is 1 to 4 printable ASCII characters"},
	    {"func a \x7f\n", "map.txt:1: a tag is 1 to 4 printable ASCII characters"},
	    {"func a \xc3\xa9\n", "map.txt:1: a tag is 1 to 4 printable ASCII characters"},
	};
	struct pt_tagmap m = {0};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		PT_CHECK_EQ(parse(&m, bad[i].text), -1);
		if (strcmp(err, bad[i].err) != 0)
			PT_FAIL_("text %zu: \"%s\", expected \"%s\"", i, err, bad[i].err);
	}
	/* The rules of the lines before the bad one are kept. */
	PT_CHECK_EQ(m.n, 1);
	PT_CHECK_EQ(pt_tagmap_parse(&m, "func a A\nfu\0nc\n", 15, "map.txt", err, sizeof(err)), -1);
	PT_CHECK_STR(err, "map.txt:2: a NUL byte in the line");
	PT_CHECK_EQ(m.n, 2);
	pt_tagmap_free(&m);
}

/* A pattern of 255 characters is the longest. */
PT_TEST(test_pattern_length)
{
	struct pt_tagmap m = {0};
	char text[PT_TAGMAP_GLOB_MAX + 32], glob[PT_TAGMAP_GLOB_MAX + 2];

	memset(glob, 'g', sizeof(glob));
	glob[PT_TAGMAP_GLOB_MAX] = 0;
	snprintf(text, sizeof(text), "func %s Long\n", glob);
	PT_CHECK_EQ(parse(&m, text), 0);
	PT_CHECK_EQ(m.n, 1);
	PT_CHECK_EQ(strlen(m.rules[0].glob), PT_TAGMAP_GLOB_MAX);
	PT_CHECK_EQ(pt_tagmap_match(&m, PT_TAGMAP_FUNC, glob), tag4("Long"));
	glob[PT_TAGMAP_GLOB_MAX] = 'g';
	glob[PT_TAGMAP_GLOB_MAX + 1] = 0;
	snprintf(text, sizeof(text), "skip %s\n", glob);
	PT_CHECK_EQ(parse(&m, text), -1);
	PT_CHECK_STR(err, "map.txt:1: pattern longer than 255 characters");
	PT_CHECK_EQ(m.n, 1);
	pt_tagmap_free(&m);
}

/* 4096 rules fit; the 4097th is refused with its line. */
PT_TEST(test_rule_limit)
{
	struct pt_tagmap m = {0};
	size_t len = (PT_TAGMAP_MAX_RULES + 1) * 8;
	char *text = malloc(len + 1);

	PT_CHECK(text != NULL);
	if (!text)
		return;
	for (size_t i = 0; i <= PT_TAGMAP_MAX_RULES; i++)
		memcpy(text + i * 8, "skip ab\n", 8);
	PT_CHECK_EQ(pt_tagmap_parse(&m, text, len - 8, "map.txt", err, sizeof(err)), 0);
	PT_CHECK_EQ(m.n, PT_TAGMAP_MAX_RULES);
	pt_tagmap_free(&m);
	PT_CHECK_EQ(pt_tagmap_parse(&m, text, len, "map.txt", err, sizeof(err)), -1);
	PT_CHECK_STR(err, "map.txt:4097: more than 4096 rules");
	PT_CHECK_EQ(m.n, PT_TAGMAP_MAX_RULES);
	/* --skip patterns count against the same limit. */
	PT_CHECK_EQ(pt_tagmap_add_skips(&m, "more", err, sizeof(err)), -1);
	PT_CHECK_STR(err, "too many wrapper patterns");
	pt_tagmap_free(&m);
	free(text);
}

PT_TEST(test_add_skips)
{
	struct pt_tagmap m = {0};
	char glob[PT_TAGMAP_GLOB_MAX + 2];

	PT_CHECK_EQ(pt_tagmap_add_skips(&m, "xmalloc,g_*", err, sizeof(err)), 0);
	PT_CHECK_EQ(m.n, 2);
	PT_CHECK_STR(m.rules[0].glob, "xmalloc");
	PT_CHECK_STR(m.rules[1].glob, "g_*");
	PT_CHECK_EQ(m.rules[1].kind, PT_TAGMAP_SKIP);
	PT_CHECK_EQ(pt_tagmap_add_skips(&m, "", err, sizeof(err)), 0); /* nothing to add */
	PT_CHECK_EQ(pt_tagmap_add_skips(&m, "last,", err, sizeof(err)), 0);
	PT_CHECK_EQ(m.n, 3);
	static const char *const bad[] = {"a,,b", ",a", "a b", "a\tb", "\x7f", "\xc3\xa9"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		PT_CHECK_EQ(pt_tagmap_add_skips(&m, bad[i], err, sizeof(err)), -1);
		PT_CHECK_STR(err, "a wrapper pattern is 1 to 255 printable characters without blanks");
	}
	memset(glob, 's', sizeof(glob));
	glob[PT_TAGMAP_GLOB_MAX] = 0;
	PT_CHECK_EQ(pt_tagmap_add_skips(&m, glob, err, sizeof(err)), 0);
	glob[PT_TAGMAP_GLOB_MAX] = 's';
	glob[PT_TAGMAP_GLOB_MAX + 1] = 0;
	PT_CHECK_EQ(pt_tagmap_add_skips(&m, glob, err, sizeof(err)), -1);
	pt_tagmap_free(&m);
}

/* The first matching rule of the kind asked wins; other kinds never do. */
PT_TEST(test_match)
{
	struct pt_tagmap m = {0};

	PT_CHECK_EQ(parse(&m, "func   cache_get  Get\n"
	                      "func   cache_*    Cach\n"
	                      "module libz.so.?  Zlib\n"
	                      "module lib[ab].so AB\n"
	                      "skip   *_alloc\n"
	                      "func   *          Any\n"),
	            0);
	PT_CHECK_EQ(pt_tagmap_match(&m, PT_TAGMAP_FUNC, "cache_get"), tag4("Get "));
	PT_CHECK_EQ(pt_tagmap_match(&m, PT_TAGMAP_FUNC, "cache_put"), tag4("Cach"));
	PT_CHECK_EQ(pt_tagmap_match(&m, PT_TAGMAP_FUNC, "other"), tag4("Any "));
	PT_CHECK_EQ(pt_tagmap_match(&m, PT_TAGMAP_MODULE, "libz.so.1"), tag4("Zlib"));
	PT_CHECK_EQ(pt_tagmap_match(&m, PT_TAGMAP_MODULE, "libz.so.12"), 0);
	PT_CHECK_EQ(pt_tagmap_match(&m, PT_TAGMAP_MODULE, "libb.so"), tag4("AB  "));
	PT_CHECK_EQ(pt_tagmap_match(&m, PT_TAGMAP_MODULE, "libc.so"), 0);
	PT_CHECK_EQ(pt_tagmap_match(&m, PT_TAGMAP_MODULE, "cache_get"), 0);
	PT_CHECK_EQ(pt_tagmap_match(&m, PT_TAGMAP_SKIP, "pool_alloc"), 1);
	PT_CHECK_EQ(pt_tagmap_match(&m, PT_TAGMAP_SKIP, "pool_alloc2"), 0);
	PT_CHECK_EQ(pt_tagmap_match(&m, PT_TAGMAP_SKIP, "other"), 0);
	pt_tagmap_free(&m);
	PT_CHECK_EQ(pt_tagmap_match(&m, PT_TAGMAP_FUNC, "x"), 0); /* an empty map */
}

static int write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");
	size_t w;

	if (!f)
		return -1;
	w = fwrite(text, 1, len, f);
	return fclose(f) == 0 && w == len ? 0 : -1;
}

/* A file: its errors name it; one of exactly 1 MiB is read, a byte more is
 * refused. */
PT_TEST(test_load)
{
	struct pt_tagmap m = {0};
	char path[128], want[256];
	size_t mib = 1u << 20;
	char *big = malloc(mib + 1);

	PT_CHECK(big != NULL);
	if (!big)
		return;
	snprintf(path, sizeof(path), "%s/map.txt", tmpdir);
	PT_CHECK_EQ(write_file(path, "func f Fff\nfunc g Ab Cd\n", 25), 0);
	PT_CHECK_EQ(pt_tagmap_load(&m, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: expected a pattern and a tag", path);
	PT_CHECK_STR(err, want);
	PT_CHECK_EQ(m.n, 1);
	pt_tagmap_free(&m);

	/* Comment lines up to exactly 1 MiB, then one rule at the end. */
	memset(big, '#', mib);
	for (size_t i = 63; i < mib; i += 64)
		big[i] = '\n';
	memcpy(big + mib - 11, "\nskip last\n", 11);
	PT_CHECK_EQ(write_file(path, big, mib), 0);
	PT_CHECK_EQ(pt_tagmap_load(&m, path, err, sizeof(err)), 0);
	PT_CHECK_EQ(m.n, 1);
	PT_CHECK_EQ(pt_tagmap_match(&m, PT_TAGMAP_SKIP, "last"), 1);
	pt_tagmap_free(&m);
	big[mib] = '\n';
	PT_CHECK_EQ(write_file(path, big, mib + 1), 0);
	PT_CHECK_EQ(pt_tagmap_load(&m, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: larger than 1 MiB", path);
	PT_CHECK_STR(err, want);
	PT_CHECK_EQ(m.n, 0);
	unlink(path);

	PT_CHECK_EQ(pt_tagmap_load(&m, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	PT_CHECK_STR(err, want);
	PT_CHECK_EQ(pt_tagmap_load(&m, tmpdir, err, sizeof(err)), -1); /* a directory */
	snprintf(want, sizeof(want), "%s: Is a directory", tmpdir);
	PT_CHECK_STR(err, want);
	free(big);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	PT_RUN(test_grammar);
	PT_RUN(test_errors_name_the_line);
	PT_RUN(test_pattern_length);
	PT_RUN(test_rule_limit);
	PT_RUN(test_add_skips);
	PT_RUN(test_match);
	PT_RUN(test_load);
	rmdir(tmpdir);
	return pt_test_done();
}
