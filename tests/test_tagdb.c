/*
 * test_tagdb.c - the pooltag.txt reader: every irregular line shape, files on
 * disk, precedence, wildcard groups, tag patterns, and a file of realistic
 * size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pt_test.h"
#include "pooltag.h"
#include "tagdb.h"

/* The test data directory, found next to this source file. */
static char irregular_path[4096];

static void find_data(void)
{
	const char *slash = strrchr(__FILE__, '/');
	int n = slash ? (int)(slash - __FILE__) : 0;

	snprintf(irregular_path, sizeof(irregular_path), "%.*s%sdata/pooltag-irregular.txt", n,
		 __FILE__, slash ? "/" : "");
}

static struct pt_tagdb *load_str(const char *s)
{
	struct pt_tagdb *db = pt_tagdb_new();

	if (db && pt_tagdb_load_buf(db, s, strlen(s), "test") < 0) {
		pt_tagdb_free(db);
		return NULL;
	}
	return db;
}

/* The description of tag, "-" if unknown. */
static const char *desc_of(const struct pt_tagdb *db, uint32_t tag)
{
	const char *bin, *desc;

	return pt_tagdb_lookup(db, tag, &bin, &desc) ? desc : "-";
}

static const char *bin_of(const struct pt_tagdb *db, uint32_t tag)
{
	const char *bin, *desc;

	return pt_tagdb_lookup(db, tag, &bin, &desc) ? bin : "-";
}

static uint32_t tag4(const char *s)
{
	uint32_t t = 0;

	for (int i = 0; i < 4; i++)
		t |= (uint32_t)(unsigned char)(s[i] ? s[i] : ' ') << (8 * i);
	return t;
}

PT_TEST(test_three_fields)
{
	struct pt_tagdb *db = load_str("AcpD - acpi.sys - ACPI device data\n"
				       "Proc - demohost - Process objects\n");

	PT_CHECK(db);
	PT_CHECK_EQ(pt_tagdb_count(db), 2);
	PT_CHECK_STR(bin_of(db, PT_TAG("AcpD")), "acpi.sys");
	PT_CHECK_STR(desc_of(db, PT_TAG("AcpD")), "ACPI device data");
	PT_CHECK_STR(bin_of(db, PT_TAG("Proc")), "demohost");
	PT_CHECK_STR(desc_of(db, PT_TAG("Proc")), "Process objects");
	PT_CHECK_EQ(pt_tagdb_lookup(db, PT_TAG("Thre"), NULL, NULL), 0);
	pt_tagdb_free(db);
}

PT_TEST(test_comments_and_free_text)
{
	struct pt_tagdb *db = load_str("rem\n"
				       "rem Abcd - a.sys - a comment shaped like a row\n"
				       "REM - r.sys - upper-case rem\n"
				       "rem\tTabd - t.sys - a tab after rem\n"
				       "  rem Indd - i.sys - an indented rem\n"
				       "// Slsh - s.sys - slashes\n"
				       "\t// Sls2 - s.sys - indented slashes\n"
				       "\n\n   \t  \n\r\n"
				       "Free text without any separator\n"
				       "Free text - first field not a tag - skipped\n"
				       "TooLong - long.sys - five or more characters\n"
				       "B d - bad.sys - a space inside the tag\n"
				       "Notg\tdescription after a tab but no dash\n"
				       "Emp2 -\n"
				       "Emp3 -   -   \n"
				       "-\n-Ab\n - \n"
				       "Remx - remx.sys - rem followed by a letter\n"
				       "remy - remy.sys - lower case too\n");

	PT_CHECK(db);
	PT_CHECK_EQ(pt_tagdb_count(db), 2);
	PT_CHECK_STR(desc_of(db, PT_TAG("Remx")), "rem followed by a letter");
	PT_CHECK_STR(desc_of(db, PT_TAG("remy")), "lower case too");
	PT_CHECK_STR(desc_of(db, PT_TAG("Abcd")), "-");
	PT_CHECK_STR(desc_of(db, PT_TAG("REM")), "-");
	PT_CHECK_STR(desc_of(db, PT_TAG("Tabd")), "-");
	PT_CHECK_STR(desc_of(db, PT_TAG("Slsh")), "-");
	PT_CHECK_STR(desc_of(db, PT_TAG("Emp2")), "-");
	PT_CHECK_STR(desc_of(db, PT_TAG("Notg")), "-");
	pt_tagdb_free(db);
}

PT_TEST(test_two_fields_and_dashes)
{
	struct pt_tagdb *db = load_str("Two - A row without a binary\n"
				       "Dsh2 - A description with - a dash inside\n"
				       "Desc - dsc.sys - Part one - part two - part three\n"
				       "Hyph - nt!mm - per-process data\n"
				       "Nosp - bin - trailing -dash glued on one side\n"
				       "Emp1 - emp.sys -\n"
				       "Nobn -  - An empty binary field\n"
				       "Mid2 - words here -done\n");

	PT_CHECK(db);
	PT_CHECK_EQ(pt_tagdb_count(db), 8);
	PT_CHECK_STR(bin_of(db, PT_TAG("Two")), "");
	PT_CHECK_STR(desc_of(db, PT_TAG("Two")), "A row without a binary");
	PT_CHECK_STR(bin_of(db, PT_TAG("Dsh2")), "");
	PT_CHECK_STR(desc_of(db, PT_TAG("Dsh2")), "A description with - a dash inside");
	PT_CHECK_STR(bin_of(db, PT_TAG("Desc")), "dsc.sys");
	PT_CHECK_STR(desc_of(db, PT_TAG("Desc")), "Part one - part two - part three");
	PT_CHECK_STR(desc_of(db, PT_TAG("Hyph")), "per-process data");
	PT_CHECK_STR(desc_of(db, PT_TAG("Nosp")), "trailing -dash glued on one side");
	PT_CHECK_STR(bin_of(db, PT_TAG("Emp1")), "emp.sys");
	PT_CHECK_STR(desc_of(db, PT_TAG("Emp1")), "");
	PT_CHECK_STR(bin_of(db, PT_TAG("Nobn")), "");
	PT_CHECK_STR(desc_of(db, PT_TAG("Nobn")), "An empty binary field");
	PT_CHECK_STR(bin_of(db, PT_TAG("Mid2")), "");
	PT_CHECK_STR(desc_of(db, PT_TAG("Mid2")), "words here -done");
	pt_tagdb_free(db);
}

PT_TEST(test_spacing_tabs_crlf)
{
	struct pt_tagdb *db = load_str("Tabs\t-\ttab.sys\t-\tTab separated\t\n"
				       "Wide     -      wide.sys     -     Lots of spacing   \n"
				       "Crlf - crlf.sys - CR LF line end\r\n"
				       "Crl2 - Two fields with CR LF\r\n"
				       "Gl1 -glued.sys - dash glued to the binary\n"
				       "Gl2- glued.sys - dash glued to the tag\n"
				       "\t  Ind - ind.sys - indented row\r\n"
				       "Last - last.sys - no final line end");

	PT_CHECK(db);
	PT_CHECK_EQ(pt_tagdb_count(db), 8);
	PT_CHECK_STR(bin_of(db, PT_TAG("Tabs")), "tab.sys");
	PT_CHECK_STR(desc_of(db, PT_TAG("Tabs")), "Tab separated");
	PT_CHECK_STR(bin_of(db, PT_TAG("Wide")), "wide.sys");
	PT_CHECK_STR(desc_of(db, PT_TAG("Wide")), "Lots of spacing");
	PT_CHECK_STR(desc_of(db, PT_TAG("Crlf")), "CR LF line end");
	PT_CHECK_STR(desc_of(db, PT_TAG("Crl2")), "Two fields with CR LF");
	PT_CHECK_STR(bin_of(db, PT_TAG("Gl1")), "glued.sys");
	PT_CHECK_STR(bin_of(db, PT_TAG("Gl2")), "glued.sys");
	PT_CHECK_STR(desc_of(db, PT_TAG("Ind")), "indented row");
	PT_CHECK_STR(desc_of(db, PT_TAG("Last")), "no final line end");
	pt_tagdb_free(db);
}

PT_TEST(test_short_tags_and_case)
{
	struct pt_tagdb *db = load_str("Vad - nt!mm - three characters\n"
				       "Ab - ab.sys - two characters\n"
				       "X - x.sys - one character\n"
				       "Proc - demohost - Process objects\n"
				       "proc - lower.sys - lower case\n");

	PT_CHECK(db);
	PT_CHECK_STR(desc_of(db, PT_TAG("Vad")), "three characters");
	PT_CHECK_STR(desc_of(db, PT_TAG("Vad ")), "three characters");
	PT_CHECK_STR(desc_of(db, tag4("Vad ")), "three characters");
	PT_CHECK_STR(desc_of(db, PT_TAG("VadX")), "-");
	PT_CHECK_STR(desc_of(db, PT_TAG("Ab")), "two characters");
	PT_CHECK_STR(desc_of(db, PT_TAG("X")), "one character");
	PT_CHECK_STR(desc_of(db, PT_TAG("Proc")), "Process objects");
	PT_CHECK_STR(desc_of(db, PT_TAG("proc")), "lower case");
	PT_CHECK_STR(desc_of(db, PT_TAG("PROC")), "-");
	PT_CHECK_STR(desc_of(db, PT_TAG("vad")), "-");
	pt_tagdb_free(db);
}

PT_TEST(test_duplicates_first_wins)
{
	struct pt_tagdb *db = load_str("Proc - first.sys - First row\n"
				       "Proc - second.sys - Second row\n"
				       "Vad - nt!mm - First short\n"
				       "Vad  - other - Padded spelling, same tag\n");

	PT_CHECK(db);
	PT_CHECK_EQ(pt_tagdb_count(db), 2);
	PT_CHECK_STR(bin_of(db, PT_TAG("Proc")), "first.sys");
	PT_CHECK_STR(desc_of(db, PT_TAG("Proc")), "First row");
	PT_CHECK_STR(desc_of(db, PT_TAG("Vad")), "First short");
	pt_tagdb_free(db);
}

PT_TEST(test_earlier_source_wins)
{
	const char *a = "Proc - a.sys - From A\nOnlA - a.sys - Only in A\n";
	const char *b = "Proc - b.sys - From B\nOnlB - b.sys - Only in B\n";
	struct pt_tagdb *db = pt_tagdb_new();

	PT_CHECK(db);
	PT_CHECK_EQ(pt_tagdb_load_buf(db, a, strlen(a), "a"), 2);
	PT_CHECK_EQ(pt_tagdb_load_buf(db, b, strlen(b), "b"), 1);
	PT_CHECK_EQ(pt_tagdb_count(db), 3);
	PT_CHECK_STR(desc_of(db, PT_TAG("Proc")), "From A");
	PT_CHECK_STR(desc_of(db, PT_TAG("OnlB")), "Only in B");

	/* A run-time description added later loses too, but fills gaps. */
	PT_CHECK_EQ(pt_tagdb_add(db, PT_TAG("Proc"), "rt", "Run time"), 0);
	PT_CHECK_EQ(pt_tagdb_add(db, PT_TAG("Mine"), NULL, "Run time only"), 0);
	PT_CHECK_STR(desc_of(db, PT_TAG("Proc")), "From A");
	PT_CHECK_STR(desc_of(db, PT_TAG("Mine")), "Run time only");
	PT_CHECK_STR(bin_of(db, PT_TAG("Mine")), "");
	pt_tagdb_free(db);

	/* Added before the files, it wins over them. */
	db = pt_tagdb_new();
	PT_CHECK_EQ(pt_tagdb_add(db, PT_TAG("Proc"), "rt", "Run time"), 0);
	PT_CHECK_EQ(pt_tagdb_load_buf(db, a, strlen(a), "a"), 1);
	PT_CHECK_STR(desc_of(db, PT_TAG("Proc")), "Run time");
	PT_CHECK_STR(bin_of(db, PT_TAG("Proc")), "rt");
	pt_tagdb_free(db);
}

PT_TEST(test_add_rejects_bad_tags)
{
	struct pt_tagdb *db = pt_tagdb_new();

	PT_CHECK(db);
	errno = 0;
	PT_CHECK_EQ(pt_tagdb_add(db, 0, "b", "d"), -1);
	PT_CHECK_EQ(errno, EINVAL);
	PT_CHECK_EQ(pt_tagdb_add(db, tag4("\001abc"), "b", "d"), -1);
	PT_CHECK_EQ(pt_tagdb_add(db, tag4("ab\200c"), "b", "d"), -1);
	PT_CHECK_EQ(pt_tagdb_add(db, PT_TAG(" ab"), "b", "d"), -1);
	PT_CHECK_EQ(pt_tagdb_add(db, PT_TAG("A b"), "b", "d"), 0);
	PT_CHECK_EQ(pt_tagdb_add(db, PT_TAG("Rt*"), "rt", "Run-time group"), 0);
	PT_CHECK_EQ(pt_tagdb_count(db), 2);
	PT_CHECK_STR(desc_of(db, PT_TAG("A b")), "d");
	PT_CHECK_STR(desc_of(db, PT_TAG("Rt")), "Run-time group");
	PT_CHECK_STR(desc_of(db, PT_TAG("RtXY")), "Run-time group");
	pt_tagdb_free(db);
}

PT_TEST(test_wildcard_groups)
{
	struct pt_tagdb *db = load_str("Afd? - afd.sys - AFD objects\n"
				       "    AfdB - afd.sys - AFD data buffer\n"
				       "\tAfdC - afd.sys - AFD connection\n"
				       "Aml* - acpi.sys - ACPI AMLI objects\n"
				       "    AmlH - acpi.sys - ACPI AMLI heap\n"
				       "Afd? - dup.sys - duplicate group\n"
				       "A* - any.sys - Anything starting with A\n"
				       "??x - q.sys - Three with x third\n"
				       "AfdZ - late.sys - exact row after the group\n");

	PT_CHECK(db);
	PT_CHECK_EQ(pt_tagdb_count(db), 8);
	PT_CHECK_STR(desc_of(db, PT_TAG("AfdB")), "AFD data buffer");
	PT_CHECK_STR(desc_of(db, PT_TAG("AfdC")), "AFD connection");
	PT_CHECK_STR(desc_of(db, PT_TAG("AfdQ")), "AFD objects");
	PT_CHECK_STR(bin_of(db, PT_TAG("AfdQ")), "afd.sys");
	PT_CHECK_STR(desc_of(db, PT_TAG("Afd")), "AFD objects");
	/* An exact row beats a group, even one loaded before it. */
	PT_CHECK_STR(desc_of(db, PT_TAG("AfdZ")), "exact row after the group");
	PT_CHECK_STR(desc_of(db, PT_TAG("AmlH")), "ACPI AMLI heap");
	PT_CHECK_STR(desc_of(db, PT_TAG("AmlX")), "ACPI AMLI objects");
	PT_CHECK_STR(desc_of(db, PT_TAG("Aml")), "ACPI AMLI objects");
	/* Among groups the first in load order wins. */
	PT_CHECK_STR(desc_of(db, PT_TAG("Axyz")), "Anything starting with A");
	PT_CHECK_STR(desc_of(db, PT_TAG("Af")), "Anything starting with A");
	PT_CHECK_STR(desc_of(db, PT_TAG("Qrx")), "Three with x third");
	PT_CHECK_STR(desc_of(db, PT_TAG("Qrxy")), "-");
	PT_CHECK_STR(desc_of(db, PT_TAG("afdQ")), "-");
	pt_tagdb_free(db);
}

PT_TEST(test_hostile_bytes)
{
	static const char nul[] = "Nul1 - n.sys - before\0after\n"
				  "Nu\0l - n.sys - NUL inside the tag\n"
				  "Esc1 - e.sys - \x1b[31mred\x1b[0m\n"
				  "Utf8 - u.sys - \xff\xfe invalid \xc3 utf-8 \xe2\x82\xac\n"
				  "\xc3\xa9t\xc3 - u.sys - non-ASCII tag\n"
				  "\r\r\r\n\n-\n--\n - - - \n";
	struct pt_tagdb *db = pt_tagdb_new();
	const char *bin, *desc;
	size_t big = 1 << 20;
	char *buf;

	PT_CHECK(db);
	PT_CHECK_EQ(pt_tagdb_load_buf(db, nul, sizeof(nul) - 1, "nul"), 3);
	PT_CHECK_STR(desc_of(db, PT_TAG("Nul1")), "before after");
	PT_CHECK_STR(desc_of(db, PT_TAG("Esc1")), "[31mred [0m");
	PT_CHECK_STR(desc_of(db, PT_TAG("Utf8")), "\xff\xfe invalid \xc3 utf-8 \xe2\x82\xac");
	PT_CHECK_EQ(pt_tagdb_load_buf(db, "", 0, "empty"), 0);
	PT_CHECK_EQ(pt_tagdb_load_buf(db, "\357\273\277Bom1 - b - after a BOM\n", 26, "bom"), 1);
	PT_CHECK_STR(desc_of(db, PT_TAG("Bom1")), "after a BOM");

	/* A 1 MB line: kept, cut to a bounded length; then a 1 MB binary. */
	buf = malloc(big + 64);
	PT_CHECK(buf);
	if (!buf) {
		pt_tagdb_free(db);
		return;
	}
	memcpy(buf, "Long - l.sys - ", 15);
	memset(buf + 15, 'x', big);
	memcpy(buf + 15 + big, "\nNext - n - after the long line\n", 31);
	PT_CHECK_EQ(pt_tagdb_load_buf(db, buf, 15 + big + 31, "long"), 2);
	PT_CHECK(pt_tagdb_lookup(db, PT_TAG("Long"), &bin, &desc));
	PT_CHECK(strlen(desc) > 100 && strlen(desc) < 4096);
	PT_CHECK_STR(desc_of(db, PT_TAG("Next")), "after the long line");
	memcpy(buf, "LBin - ", 7);
	memset(buf + 7, 'b', big);
	memcpy(buf + 7 + big, " - desc", 7);
	PT_CHECK_EQ(pt_tagdb_load_buf(db, buf, 14 + big, "longbin"), 1);
	PT_CHECK(pt_tagdb_lookup(db, PT_TAG("LBin"), &bin, &desc));
	PT_CHECK(strlen(bin) > 10 && strlen(bin) < 4096);
	PT_CHECK_STR(desc, "desc");
	/* A megabyte of " -": tag "-", no binary, a bounded description of dashes. */
	for (size_t i = 0; i < big; i++)
		buf[i] = i % 2 ? '-' : ' ';
	PT_CHECK_EQ(pt_tagdb_load_buf(db, buf, big, "dashes"), 1);
	PT_CHECK(pt_tagdb_lookup(db, PT_TAG("-"), &bin, &desc));
	PT_CHECK_STR(bin, "");
	PT_CHECK(!strncmp(desc, "- - -", 5) && strlen(desc) < 4096);
	/* A megabyte of lines holding only a dash: nothing loads. */
	for (size_t i = 0; i < big; i++)
		buf[i] = i % 2 ? '\n' : '-';
	PT_CHECK_EQ(pt_tagdb_load_buf(db, buf, big, "dash lines"), 0);
	free(buf);
	pt_tagdb_free(db);
}

PT_TEST(test_irregular_file)
{
	struct pt_tagdb *db = pt_tagdb_new();
	char err[512] = "";

	PT_CHECK(db);
	PT_CHECK_EQ(pt_tagdb_load_file(db, irregular_path, err, sizeof(err)), 0);
	PT_CHECK_STR(err, "");
	PT_CHECK_EQ(pt_tagdb_count(db), 24);
	PT_CHECK_STR(desc_of(db, PT_TAG("Proc")), "Process objects");
	PT_CHECK_STR(bin_of(db, PT_TAG("Proc")), "demohost");
	PT_CHECK_STR(bin_of(db, PT_TAG("Unkn")), "<unknown>");
	PT_CHECK_STR(desc_of(db, PT_TAG("Vad")), "A three-character tag");
	PT_CHECK_STR(desc_of(db, PT_TAG("X")), "A one-character tag");
	PT_CHECK_STR(bin_of(db, PT_TAG("Two")), "");
	PT_CHECK_STR(desc_of(db, PT_TAG("Dsh2")), "A two-field row with - a dash inside");
	PT_CHECK_STR(desc_of(db, PT_TAG("Desc")), "Part one - part two - part three");
	PT_CHECK_STR(desc_of(db, PT_TAG("Tabs")), "Tab separated fields");
	PT_CHECK_STR(desc_of(db, PT_TAG("Wide")), "Lots of spacing");
	PT_CHECK_STR(desc_of(db, PT_TAG("Crlf")), "A row ending in CR LF");
	PT_CHECK_STR(desc_of(db, PT_TAG("Crl2")), "A two-field row ending in CR LF");
	PT_CHECK_STR(desc_of(db, PT_TAG("proc")), "Lower-case proc, a tag of its own");
	PT_CHECK_STR(desc_of(db, PT_TAG("AfdX")), "AFD objects");
	PT_CHECK_STR(desc_of(db, PT_TAG("AfdB")), "AFD data buffer");
	PT_CHECK_STR(desc_of(db, PT_TAG("AfdC")), "AFD connection");
	PT_CHECK_STR(desc_of(db, PT_TAG("AmlZ")), "ACPI AMLI objects");
	PT_CHECK_STR(desc_of(db, PT_TAG("Last")), "The last row, without a final line end");
	PT_CHECK_STR(desc_of(db, PT_TAG("REM")), "-");
	PT_CHECK_STR(desc_of(db, PT_TAG("Fake")), "-");
	PT_CHECK_STR(desc_of(db, PT_TAG("Slsh")), "-");
	PT_CHECK_STR(desc_of(db, PT_TAG("Emp2")), "-");
	pt_tagdb_free(db);
}

PT_TEST(test_share_file)
{
	char path[4096];
	const char *slash = strrchr(__FILE__, '/');
	int n = slash ? (int)(slash - __FILE__) : 0;
	struct pt_tagdb *db = pt_tagdb_new();
	char err[512] = "";

	snprintf(path, sizeof(path), "%.*s%s../share/pooltag/pooltag.txt", n, __FILE__, slash ? "/" : "");
	PT_CHECK_EQ(pt_tagdb_load_file(db, path, err, sizeof(err)), 0);
	PT_CHECK_STR(err, "");
	PT_CHECK(pt_tagdb_count(db) >= 15 && pt_tagdb_count(db) <= 30);
	PT_CHECK_STR(desc_of(db, PT_TAG("Proc")), "Process objects");
	PT_CHECK_STR(bin_of(db, PT_TAG("Proc")), "demohost");
	PT_CHECK_HAS(desc_of(db, PT_TAG("SeTd")), "token");
	PT_CHECK_HAS(desc_of(db, PT_TAG("SePa")), "audit");
	PT_CHECK_HAS(desc_of(db, PT_TAG("PtIn")), "pooltag");
	pt_tagdb_free(db);
}

PT_TEST(test_temp_file_and_errors)
{
	char path[] = "/tmp/pt_tagdb_XXXXXX";
	const char *text = "Tmp1 - tmp.sys - From a temporary file\r\nTmp2 - Second row\r\n";
	struct pt_tagdb *db = pt_tagdb_new();
	char err[512] = "";
	int fd = mkstemp(path);

	PT_CHECK(fd >= 0);
	PT_CHECK_EQ(write(fd, text, strlen(text)), (long)strlen(text));
	close(fd);
	PT_CHECK_EQ(pt_tagdb_load_file(db, path, err, sizeof(err)), 0);
	PT_CHECK_STR(desc_of(db, PT_TAG("Tmp1")), "From a temporary file");
	PT_CHECK_STR(desc_of(db, PT_TAG("Tmp2")), "Second row");
	unlink(path);

	/* Gone now: the message names the file and the reason. */
	PT_CHECK_EQ(pt_tagdb_load_file(db, path, err, sizeof(err)), -1);
	PT_CHECK_HAS(err, "cannot read tag file");
	PT_CHECK_HAS(err, path);
	PT_CHECK_HAS(err, strerror(ENOENT));
	PT_CHECK(!strchr(err, '\n'));

	PT_CHECK_EQ(pt_tagdb_load_file(db, "/", err, sizeof(err)), -1);
	PT_CHECK_HAS(err, "cannot read tag file /:");
	PT_CHECK_HAS(err, strerror(EISDIR));

	/* A tiny buffer gets a truncated message, not an overflow. */
	memset(err, 'z', sizeof(err));
	PT_CHECK_EQ(pt_tagdb_load_file(db, "/nonexistent/x", err, 8), -1);
	PT_CHECK_EQ(strlen(err), 7);
	PT_CHECK_EQ(err[8], 'z');
	PT_CHECK_EQ(pt_tagdb_load_file(db, "/nonexistent/x", NULL, 0), -1);
	/* The failed loads left the rows alone. */
	PT_CHECK_EQ(pt_tagdb_count(db), 2);
	pt_tagdb_free(db);
}

/* Tags in the order a generator makes them: distinct for i < 62^4. */
static uint32_t gen_tag(unsigned i)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	char t[5];

	for (int k = 0; k < 4; k++) {
		t[k] = a[i % 62];
		i /= 62;
	}
	t[4] = '\0';
	return tag4(t);
}

PT_TEST(test_large_file)
{
	enum { N = 5000 };
	size_t cap = (size_t)N * 64 + 1024, len = 0;
	char *buf = malloc(cap), expect[64];
	struct pt_tagdb *db = pt_tagdb_new();
	unsigned found = 0, wrong = 0, misses = 0;

	PT_CHECK(buf && db);
	if (!buf || !db) {
		free(buf);
		pt_tagdb_free(db);
		return;
	}
	len += (size_t)snprintf(buf + len, cap - len, "rem generated\r\nzz?? - g.sys - Group\n");
	for (unsigned i = 0; i < N; i++) {
		uint32_t t = gen_tag(i * 7919u);
		char s[5] = {(char)t, (char)(t >> 8), (char)(t >> 16), (char)(t >> 24), 0};

		len += (size_t)snprintf(buf + len, cap - len, "%s%s - mod%u.sys - Row %u\n",
					i % 50 ? "" : "  ", s, i % 13, i);
	}
	PT_CHECK_EQ(pt_tagdb_load_buf(db, buf, len, "generated"), N + 1);
	PT_CHECK_EQ(pt_tagdb_count(db), N + 1);

	for (int round = 0; round < 50; round++) {
		for (unsigned i = 0; i < N; i++) {
			const char *bin, *desc;

			/* Generated tags are alphanumeric; these end in '!'. */
			misses += pt_tagdb_lookup(db, tag4("Q!!!") + i, NULL, NULL);
			if (!pt_tagdb_lookup(db, gen_tag(i * 7919u), &bin, &desc))
				continue;
			found++;
			snprintf(expect, sizeof(expect), "Row %u", i);
			wrong += strcmp(desc, expect) != 0;
		}
	}
	PT_CHECK_EQ(found, 50 * N);
	PT_CHECK_EQ(wrong, 0);
	PT_CHECK_EQ(misses, 0);
	PT_CHECK_STR(desc_of(db, PT_TAG("zzQQ")), "Group");
	/* How fast lookups are is a benchmark's question, not a test's. */
	free(buf);
	pt_tagdb_free(db);
}

PT_TEST(test_tag_match)
{
	PT_CHECK_EQ(pt_tag_match("Proc", PT_TAG("Proc")), 1);
	PT_CHECK_EQ(pt_tag_match("Proc", PT_TAG("proc")), 0);
	PT_CHECK_EQ(pt_tag_match("Proc", PT_TAG("Pro")), 0);
	PT_CHECK_EQ(pt_tag_match("SEY?", PT_TAG("SEY1")), 1);
	PT_CHECK_EQ(pt_tag_match("SEY?", PT_TAG("SEYC")), 1);
	PT_CHECK_EQ(pt_tag_match("SEY?", PT_TAG("SEX1")), 0);
	PT_CHECK_EQ(pt_tag_match("SEY?", PT_TAG("SEY")), 1); /* '?' takes the pad space */
	PT_CHECK_EQ(pt_tag_match("SE*", PT_TAG("SEY4")), 1);
	PT_CHECK_EQ(pt_tag_match("SE*", PT_TAG("SE")), 1);
	PT_CHECK_EQ(pt_tag_match("SE*", PT_TAG("Se12")), 0);
	PT_CHECK_EQ(pt_tag_match("*", PT_TAG("Proc")), 1);
	PT_CHECK_EQ(pt_tag_match("*", PT_TAG("X")), 1);
	PT_CHECK_EQ(pt_tag_match("*c", PT_TAG("Proc")), 1);
	PT_CHECK_EQ(pt_tag_match("*c", PT_TAG("Abc")), 1); /* padding ignored by '*' */
	PT_CHECK_EQ(pt_tag_match("*c", PT_TAG("Abcd")), 0);
	PT_CHECK_EQ(pt_tag_match("P*c", PT_TAG("Proc")), 1);
	PT_CHECK_EQ(pt_tag_match("P**o*", PT_TAG("Proc")), 1);
	PT_CHECK_EQ(pt_tag_match("?r?c", PT_TAG("Proc")), 1);
	PT_CHECK_EQ(pt_tag_match("*?*?*?*?*", PT_TAG("Proc")), 1);
	PT_CHECK_EQ(pt_tag_match("*?*?*?*?*?", PT_TAG("Proc")), 0);
	PT_CHECK_EQ(pt_tag_match("Vad", PT_TAG("Vad")), 1);
	PT_CHECK_EQ(pt_tag_match("Vad", PT_TAG("Vadx")), 0);
	PT_CHECK_EQ(pt_tag_match("Vad ", PT_TAG("Vad")), 1);
	PT_CHECK_EQ(pt_tag_match("", PT_TAG("Proc")), 0);
	PT_CHECK_EQ(pt_tag_match(NULL, PT_TAG("Proc")), 0);
	PT_CHECK_EQ(pt_tag_match("TOOLONG", PT_TAG("TOOL")), 0);
	PT_CHECK_EQ(pt_tag_match("Pr*oc", PT_TAG("Proc")), 1);
	PT_CHECK_EQ(pt_tag_match("?", PT_TAG("A")), 1);
	PT_CHECK_EQ(pt_tag_match("?", PT_TAG("AB")), 0);
	PT_CHECK_EQ(pt_tag_match("A?*", PT_TAG("A")), 1); /* '?' takes a pad space */
}

PT_TEST(test_pattern_check)
{
	char err[256];

	PT_CHECK_EQ(pt_tag_pattern_check("SEY?", err, sizeof(err)), 0);
	PT_CHECK_EQ(pt_tag_pattern_check("SE*", err, sizeof(err)), 0);
	PT_CHECK_EQ(pt_tag_pattern_check("*", err, sizeof(err)), 0);
	PT_CHECK_EQ(pt_tag_pattern_check("Proc", err, sizeof(err)), 0);
	PT_CHECK_EQ(pt_tag_pattern_check("Vad", err, sizeof(err)), 0);
	PT_CHECK_EQ(pt_tag_pattern_check("S*E*Y*1", err, sizeof(err)), 0);

	err[0] = '\0';
	PT_CHECK_EQ(pt_tag_pattern_check("", err, sizeof(err)), -1);
	PT_CHECK_HAS(err, "empty");
	PT_CHECK_EQ(pt_tag_pattern_check(NULL, err, sizeof(err)), -1);
	PT_CHECK_HAS(err, "empty");
	PT_CHECK_EQ(pt_tag_pattern_check("TOOLONG", err, sizeof(err)), -1);
	PT_CHECK_HAS(err, "TOOLONG");
	PT_CHECK_HAS(err, "longer than 4");
	PT_CHECK_EQ(pt_tag_pattern_check("Proc ", err, sizeof(err)), -1);
	PT_CHECK_EQ(pt_tag_pattern_check("ABCDE*", err, sizeof(err)), -1);
	PT_CHECK_HAS(err, "besides '*'");
	PT_CHECK_EQ(pt_tag_pattern_check("Pr\toc", err, sizeof(err)), -1);
	PT_CHECK_HAS(err, "non-printable");
	PT_CHECK_EQ(pt_tag_pattern_check("Pr\x1b", err, sizeof(err)), -1);
	PT_CHECK(!strchr(err, '\x1b'));
	PT_CHECK_EQ(pt_tag_pattern_check("\xc3\xa9", err, sizeof(err)), -1);
	PT_CHECK_HAS(err, "non-printable");
	PT_CHECK_EQ(pt_tag_pattern_check("TOOLONG", NULL, 0), -1);
}

int main(void)
{
	find_data();
	PT_RUN(test_three_fields);
	PT_RUN(test_comments_and_free_text);
	PT_RUN(test_two_fields_and_dashes);
	PT_RUN(test_spacing_tabs_crlf);
	PT_RUN(test_short_tags_and_case);
	PT_RUN(test_duplicates_first_wins);
	PT_RUN(test_earlier_source_wins);
	PT_RUN(test_add_rejects_bad_tags);
	PT_RUN(test_wildcard_groups);
	PT_RUN(test_hostile_bytes);
	PT_RUN(test_irregular_file);
	PT_RUN(test_share_file);
	PT_RUN(test_temp_file_and_errors);
	PT_RUN(test_large_file);
	PT_RUN(test_tag_match);
	PT_RUN(test_pattern_check);
	return pt_test_done();
}
