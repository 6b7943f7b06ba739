/*
 * test_winimport.c - Windows dumps read into views: WinDbg's !poolused in
 * its normal, verbose and wide layouts with prompts and debugger noise
 * around them, copies whose spacing was collapsed, wrapped 32-bit
 * counters, PoolMon's snapshot files and screen, encodings, and text that
 * is no dump at all.
 */
#include <stdlib.h>
#include <string.h>

#include "pooltag.h"
#include "pt_test.h"
#include "readfile.h"
#include "winimport.h"

/* The result of one import: the view, what the importer reported, and
 * what pt_winimport_parse returned. */
struct imp {
	struct pt_view v;
	struct pt_winimport info;
	int rc;
};

static void import_buf(struct imp *m, const char *buf, size_t len)
{
	char err[256];

	pt_view_init(&m->v);
	m->rc = pt_winimport_parse(&m->v, buf, len, "dump.txt", &m->info, err, sizeof(err));
}

static void import_str(struct imp *m, const char *s)
{
	import_buf(m, s, strlen(s));
}

/* Imports tests/data/NAME, found next to this source file. */
static void import_data(struct imp *m, const char *name)
{
	const char *slash = strrchr(__FILE__, '/'), *why;
	int n = slash ? (int)(slash - __FILE__) : 0;
	char path[4096], *buf = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%.*s%sdata/%s", n, __FILE__, slash ? "/" : "", name);
	if (pt_read_file(path, 1 << 20, &buf, &len, &why) != 0) {
		PT_FAIL_("cannot read %s", path);
		pt_view_init(&m->v);
		m->rc = -2;
		return;
	}
	import_buf(m, buf, len);
	free(buf);
}

/* The row of tag in pool, or NULL; a second row for the same pair is a
 * failure. */
static const struct pt_row *row_of(const struct imp *m, const char *tag, int pool)
{
	const struct pt_row *found = NULL;
	uint32_t t;

	memcpy(&t, tag, 4);
	for (size_t i = 0; i < m->v.nrows; i++)
		if (m->v.rows[i].tag == t && m->v.rows[i].pool == (uint32_t)pool) {
			if (found)
				PT_FAIL_("two rows for '%s' in pool %d", tag, pool);
			found = &m->v.rows[i];
		}
	return found;
}

/* Does tag have a row in pool with these counts? */
static int has(const struct imp *m, const char *tag, int pool, uint64_t allocs, uint64_t frees,
               uint64_t used)
{
	const struct pt_row *r = row_of(m, tag, pool);

	if (!r) {
		PT_FAIL_("no row for '%s' in pool %d", tag, pool);
		return 0;
	}
	if (r->nallocs != allocs || r->nfrees != frees || r->bytes_alloc != used ||
	    r->bytes_freed != 0 || *r->file || *r->func || *r->module || r->line) {
		PT_FAIL_("'%s' pool %d: %llu %llu %llu/%llu", tag, pool,
		         (unsigned long long)r->nallocs, (unsigned long long)r->nfrees,
		         (unsigned long long)r->bytes_alloc, (unsigned long long)r->bytes_freed);
		return 0;
	}
	return 1;
}

/* "desc|binary" of tag, "-" when the view has no description for it. */
static const char *desc_of(const struct imp *m, const char *tag, char *buf, size_t len)
{
	uint32_t t;

	memcpy(&t, tag, 4);
	for (size_t i = 0; i < m->v.ndescs; i++)
		if (m->v.descs[i].tag == t) {
			snprintf(buf, len, "%s|%s", m->v.descs[i].desc, m->v.descs[i].binary);
			return buf;
		}
	return "-";
}

PT_TEST(test_verbose_after_unload)
{
	struct imp m;
	char b[256];

	import_data(&m, "seed-after.txt");
	PT_CHECK_EQ(m.rc, 1);
	PT_CHECK_STR(m.info.format, "!poolused");
	PT_CHECK_STR(m.v.import_format, "!poolused");
	PT_CHECK_STR(m.v.import_file, "dump.txt");
	PT_CHECK_EQ(m.v.outstanding_only, 0);
	PT_CHECK_EQ(m.v.pid, 0);
	PT_CHECK_EQ(m.info.ntables, 1);
	PT_CHECK_EQ(m.info.line, 19);
	PT_CHECK_EQ(m.info.nrows, 13);
	/* Nine lines of debugger banner and warnings, and "quit:". */
	PT_CHECK_EQ(m.info.nskipped, 10);
	PT_CHECK(has(&m, "Proc", PT_NONPAGED, 12980, 1, 8618056));
	PT_CHECK(row_of(&m, "Proc", PT_PAGED) == NULL);
	PT_CHECK(has(&m, "SePa", PT_NONPAGED, 955604, 942626, 2247904));
	PT_CHECK(has(&m, "SePa", PT_PAGED, 17, 16, 16));
	PT_CHECK(has(&m, "SeTd", PT_PAGED, 372125, 359104, 1145088));
	PT_CHECK(has(&m, "Io  ", PT_NONPAGED, 1021112, 1020985, 91912));
	PT_CHECK(has(&m, "CM31", PT_PAGED, 41235, 21438, 91705344));
	PT_CHECK(has(&m, "SEY1", PT_PAGED, 54507, 54507, 0));
	PT_CHECK(row_of(&m, "SEY1", PT_NONPAGED) == NULL);
	PT_CHECK_STR(desc_of(&m, "Proc", b, sizeof(b)), "Process objects|nt!ps");
	PT_CHECK_STR(desc_of(&m, "File", b, sizeof(b)), "File objects|");
	PT_CHECK_STR(desc_of(&m, "Pool", b, sizeof(b)), "Pool tables, etc.|");
	PT_CHECK_STR(desc_of(&m, "SEYC", b, sizeof(b)), "-"); /* UNKNOWN is no description */
	pt_view_free(&m.v);
}

PT_TEST(test_normal_layout_has_outstanding_counts_only)
{
	struct imp m;
	char b[256];

	import_data(&m, "poolused-0.txt");
	PT_CHECK_EQ(m.rc, 1);
	PT_CHECK_EQ(m.v.outstanding_only, 1);
	PT_CHECK_EQ(m.info.nrows, 8);
	PT_CHECK_EQ(m.info.nskipped, 2); /* "Opened log file", "Closing open log file" */
	PT_CHECK(has(&m, "Proc", PT_NONPAGED, 12979, 0, 8618056));
	PT_CHECK(has(&m, "SeTd", PT_PAGED, 13021, 0, 1145088));
	PT_CHECK(has(&m, "AGP ", PT_PAGED, 2, 0, 384));
	PT_CHECK(has(&m, "Io  ", PT_NONPAGED, 127, 0, 91912));
	PT_CHECK(has(&m, "8042", PT_NONPAGED, 4, 0, 3944));
	PT_CHECK_STR(desc_of(&m, "AcdN", b, sizeof(b)), "TDI AcdObjectInfoG|");
	PT_CHECK_STR(desc_of(&m, "8042", b, sizeof(b)), "PS/2 kb and mouse|i8042prt.sys");
	PT_CHECK_STR(desc_of(&m, "AGP ", b, sizeof(b)), "-");
	pt_view_free(&m.v);
}

PT_TEST(test_wide_layout_two_tables_last_wins)
{
	struct imp m;
	char b[256];

	import_data(&m, "poolused-2-4.txt");
	PT_CHECK_EQ(m.rc, 1);
	PT_CHECK_EQ(m.info.ntables, 2);
	PT_CHECK_EQ(m.info.line, 46);
	PT_CHECK_EQ(m.info.nrows, 7);
	PT_CHECK_EQ(m.v.ndescs, 6); /* ConT is UNKNOWN */
	/* Ten lines of cache statistics before each table. */
	PT_CHECK_EQ(m.info.nskipped, 20);
	PT_CHECK(has(&m, "EtwB", PT_NONPAGED, 148, 0, 5206272));
	PT_CHECK(has(&m, "EtwB", PT_PAGED, 16, 0, 442368));
	PT_CHECK(has(&m, "MmSt", PT_PAGED, 3302, 0, 31612160));
	PT_CHECK_EQ(m.v.nrows, 8);
	PT_CHECK_STR(desc_of(&m, "File", b, sizeof(b)), "File objects|");
	PT_CHECK_STR(desc_of(&m, "NtxF", b, sizeof(b)),
	             "FCB_NONPAGED                      NtfsFcbNonpagedDataLookasideList|ntfs.sys");
	pt_view_free(&m.v);
}

PT_TEST(test_poolmon_snapshot_file)
{
	struct imp m;

	import_data(&m, "poolmon-snap.log");
	PT_CHECK_EQ(m.rc, 1);
	PT_CHECK_STR(m.info.format, "poolmon");
	PT_CHECK_STR(m.v.import_format, "poolmon");
	PT_CHECK_EQ(m.v.outstanding_only, 0);
	PT_CHECK_EQ(m.info.ntables, 2); /* poolmon /n appends */
	PT_CHECK_EQ(m.info.nskipped, 0);
	PT_CHECK_EQ(m.info.nrows, 7);
	PT_CHECK(has(&m, "Proc", PT_NONPAGED, 12980, 1, 8618056));
	PT_CHECK(has(&m, "SeTd", PT_NONPAGED, 372125, 359104, 833344));
	PT_CHECK(has(&m, "SeTd", PT_PAGED, 372125, 359104, 1145088));
	PT_CHECK(has(&m, "Io  ", PT_NONPAGED, 1021112, 1020985, 91912));
	PT_CHECK(has(&m, "SEY4", PT_NONPAGED, 1186033, 1186033, 0));
	PT_CHECK_EQ(m.v.ndescs, 0);
	pt_view_free(&m.v);
}

PT_TEST(test_poolmon_screen_with_changes_and_drivers)
{
	struct imp m;

	import_str(
	    &m, " Memory:  260620K Avail:   65152K  PageFlts:    85   InRam Krnl: 2116K P:19560K\n"
	        " Commit: 237688K Limit: 640916K Peak: 260632K            Pool N: 8500K P:33024K\n"
	        " System pool information\n"
	        " Tag  Type     Allocs            Frees            Diff   Bytes      Per Alloc  "
	        "Mapped_Driver\n"
	        "\n"
	        " NtFA Nonp       9112 (   0)      9112 (   0)     0       0 (     0)      0 "
	        "[ntfs.sys  -  AttrSup.c]\n"
	        " NtFB Paged      3996 (  12)      3986 (   2)    10  252088 (  2048)  25208 "
	        "[ntfs.sys  -  BitmpSup.c]\n"
	        " Key  Paged    954821 (   0)    953979 (   0)   842   87528 (     0)    103 "
	        "Unknown Driver\n"
	        " Bad  Paged      1000 (   0)       900 (   0)   101    5000 (     0)     50\n");
	PT_CHECK_EQ(m.rc, 1);
	PT_CHECK_EQ(m.info.nrows, 3);
	PT_CHECK_EQ(m.info.nskipped, 1); /* Bad: Diff is not Allocs - Frees */
	PT_CHECK(has(&m, "NtFA", PT_NONPAGED, 9112, 9112, 0));
	PT_CHECK(has(&m, "NtFB", PT_PAGED, 3996, 3986, 252088));
	PT_CHECK(has(&m, "Key ", PT_PAGED, 954821, 953979, 87528));
	pt_view_free(&m.v);
}

/* A copy through a web page: leading and repeated blanks collapsed, the
 * tab before the description lost. */
PT_TEST(test_collapsed_copy)
{
	struct imp m;
	char b[256];

	import_str(&m, "0: kd> !poolused\n"
	               "Sorting by Tag\n"
	               "Pool Used:\n"
	               "NonPaged Paged\n"
	               "Tag Allocs Used Allocs Used\n"
	               "1394 1 520 0 0UNKNOWN pooltag '1394', please update pooltag.txt\n"
	               "AGP 1 344 2 384UNKNOWN pooltag 'AGP ', please update pooltag.txt\n"
	               "Io 5 640 0 0general IO allocations , Binary: nt!io\n"
	               "AcpA 3 192 1 504ACPI Pooltags , Binary: acpi.sys\n"
	               "Io 1 2 3 4 5\n"
	               "...\n"
	               "WmiG 30 6720 0 0 Allocation of WMIGUID\n");
	PT_CHECK_EQ(m.rc, 1);
	PT_CHECK_EQ(m.info.nrows, 6);
	PT_CHECK_EQ(m.info.nskipped, 0);
	PT_CHECK(has(&m, "1394", PT_NONPAGED, 1, 0, 520));
	PT_CHECK(has(&m, "AGP ", PT_PAGED, 2, 0, 384));
	PT_CHECK(has(&m, "AcpA", PT_PAGED, 1, 0, 504));
	PT_CHECK(has(&m, "WmiG", PT_NONPAGED, 30, 0, 6720));
	/* "Io 1 2 3 4 5" reads as the four-character field "Io 1" and four
	 * numbers (ambiguous, and the fixed field is what WinDbg prints);
	 * "Io 5 640 0 0general" cannot, so it is the short tag "Io". */
	PT_CHECK(has(&m, "Io 1", PT_NONPAGED, 2, 0, 3));
	PT_CHECK(has(&m, "Io 1", PT_PAGED, 4, 0, 5));
	PT_CHECK(has(&m, "Io  ", PT_NONPAGED, 5, 0, 640));
	PT_CHECK_STR(desc_of(&m, "AcpA", b, sizeof(b)), "ACPI Pooltags|acpi.sys");
	PT_CHECK_STR(desc_of(&m, "Io  ", b, sizeof(b)), "general IO allocations|nt!io");
	PT_CHECK_STR(desc_of(&m, "WmiG", b, sizeof(b)), "Allocation of WMIGUID|");
	pt_view_free(&m.v);
}

/* A paste from a blog, a chat or a bug tracker: a separator between the
 * two pool groups in the title, the header and every row, blanks
 * collapsed, and people's words between the rows. */
PT_TEST(test_pasted_with_separators)
{
	struct imp m;
	char b[256];

	import_str(&m, "here is what !poolused 3 gave after the driver was unloaded:\n"
		       "NonPaged * Paged\n"
		       "Tag Allocs Frees Diff Used * Allocs Frees Diff Used\n"
		       "Proc 12980 1 12979 8618056 * 0 0 0 0 Process objects , Binary: nt!ps\n"
		       "this one is the leak ^^^\n"
		       "Io 1021112 1020985 127 91912 * 0 0 0 0 general IO allocations\n"
		       "SeTd 372,125 359,104 13,021 833,344 * 372125 359104 13021 1145088\n"
		       "and the driver's own tags are balanced:\n"
		       "SEY1 0 0 0 0 *54507 54507 0 0 UNKNOWN pooltag 'SEY1'\n"
		       "SEY4 1 1 0 0* 2 2 0 0 * starred description\n"
		       "Bad1 1 1 0 0 2 2 0 0 the separator is missing\n"
		       "Bad2 1 1 0 * 0 2 2 0 0 in the wrong place\n"
		       "TOTAL 10643243 10589886 53357 19301960 * 467884 435065 32819 92850448\n"
		       "thanks!\n");
	PT_CHECK_EQ(m.rc, 1);
	PT_CHECK_EQ(m.info.nrows, 5);
	PT_CHECK_EQ(m.info.nskipped, 6); /* 4 lines of prose, Bad1, Bad2 */
	PT_CHECK_EQ(m.v.outstanding_only, 0);
	PT_CHECK(has(&m, "Proc", PT_NONPAGED, 12980, 1, 8618056));
	PT_CHECK(has(&m, "Io  ", PT_NONPAGED, 1021112, 1020985, 91912));
	PT_CHECK(has(&m, "SeTd", PT_NONPAGED, 372125, 359104, 833344));
	PT_CHECK(has(&m, "SeTd", PT_PAGED, 372125, 359104, 1145088));
	PT_CHECK(has(&m, "SEY1", PT_PAGED, 54507, 54507, 0));
	PT_CHECK(has(&m, "SEY4", PT_PAGED, 2, 2, 0));
	PT_CHECK(row_of(&m, "Bad1", PT_NONPAGED) == NULL);
	PT_CHECK(row_of(&m, "Bad2", PT_NONPAGED) == NULL);
	PT_CHECK_STR(desc_of(&m, "Proc", b, sizeof(b)), "Process objects|nt!ps");
	PT_CHECK_STR(desc_of(&m, "SEY4", b, sizeof(b)), "* starred description|");
	pt_view_free(&m.v);

	/* '|', glued to the words, the pools named in the other order by the
	 * title; the normal layout. */
	import_str(&m, "Paged| NonPaged\n"
		       "Tag Allocs Used| Allocs Used\n"
		       "Sess 3 300|1 64 Sessions\n"
		       "Io 2 128 |0 0\n");
	PT_CHECK_EQ(m.rc, 1);
	PT_CHECK_EQ(m.info.nrows, 2);
	PT_CHECK_EQ(m.info.nskipped, 0);
	PT_CHECK_EQ(m.v.outstanding_only, 1);
	PT_CHECK(has(&m, "Sess", PT_PAGED, 3, 0, 300));
	PT_CHECK(has(&m, "Sess", PT_NONPAGED, 1, 0, 64));
	PT_CHECK(has(&m, "Io  ", PT_PAGED, 2, 0, 128));
	pt_view_free(&m.v);

	/* Pool names on the header line, on both sides of the separator. */
	import_str(&m, "Tag Paged Allocs Used | NonPaged Allocs Used\n"
		       "Abcd 1 10 | 2 20\n");
	PT_CHECK_EQ(m.rc, 1);
	PT_CHECK(has(&m, "Abcd", PT_PAGED, 1, 0, 10));
	PT_CHECK(has(&m, "Abcd", PT_NONPAGED, 2, 0, 20));
	pt_view_free(&m.v);

	/* A separator anywhere but between two groups, two of them, or two
	 * kinds: no header. */
	static const char *const not_headers[] = {
		"Tag Allocs | Used Allocs Used\nAbcd 1 | 2 3 4\n",
		"Tag Allocs Used | Allocs Used |\nAbcd 1 2 | 3 4\n",
		"Tag | Allocs Used Allocs Used\nAbcd | 1 2 3 4\n",
		"Tag Allocs Used * | Allocs Used\nAbcd 1 2 * | 3 4\n",
		"Tag Allocs Used | Allocs Used * Allocs Used\nAbcd 1 2 | 3 4 * 5 6\n",
		"Tag Allocs Used |\nAbcd 1 2 |\n",
		"Tag Allocs Used Paged| Allocs Used\nAbcd 1 2 | 3 4\n",
	};
	for (size_t i = 0; i < sizeof(not_headers) / sizeof(not_headers[0]); i++) {
		import_str(&m, not_headers[i]);
		if (m.rc != 0)
			PT_FAIL_("read as a table: \"%s\"", not_headers[i]);
		pt_view_free(&m.v);
	}
}

PT_TEST(test_wrapped_counters)
{
	struct imp m;

	/* 32-bit counters printed with %ld: Allocs wrapped to 100, Frees at
	 * 2^32 - 96 prints -96; Diff 196 is right modulo 2^32. */
	import_str(
	    &m,
	    " Tag    Allocs    Frees     Diff     Used   Allocs    Frees     Diff     Used\n"
	    " Wrap      100      -96      196     3136        0        0        0        0\n"
	    " Sign -2147483000 -2147483100 100 1600       0        0        0        0\n"
	    " Bad1       10       20      -10        0        0        0        0        0\n"
	    " Bad2       10        5        4       16        0        0        0        0\n"
	    " Bad3       10        5        5      -16        0        0        0        0\n"
	    " Bad4 -2147483649       0        1       16        0        0        0        0\n");
	PT_CHECK_EQ(m.rc, 1);
	PT_CHECK_EQ(m.info.nrows, 2);
	PT_CHECK_EQ(m.info.nskipped, 4); /* below -2^31 is no 32-bit counter */
	PT_CHECK(has(&m, "Wrap", PT_NONPAGED, 4294967396ull, 4294967200ull, 3136));
	PT_CHECK(has(&m, "Sign", PT_NONPAGED, 2147484296ull, 2147484196ull, 1600));
	pt_view_free(&m.v);
}

PT_TEST(test_header_variants)
{
	struct imp m;

	/* One group: the session pool, paged. */
	import_str(&m, " Tag    Allocs     Used\n Sess       3      300\n");
	PT_CHECK(has(&m, "Sess", PT_PAGED, 3, 0, 300));
	pt_view_free(&m.v);
	/* One group under a title naming it. */
	import_str(&m,
	           "    NonPaged\n Tag    Allocs    Frees     Diff     Used\n Np1x  9  4  5  50\n");
	PT_CHECK(has(&m, "Np1x", PT_NONPAGED, 9, 4, 50));
	PT_CHECK_EQ(m.v.outstanding_only, 0);
	pt_view_free(&m.v);
	/* Pool names in the header, paged first; thousands separators. */
	import_str(&m, " Tag  Paged Allocs Frees Diff Used  NonPaged Allocs Frees Diff Used\n"
	               " Grp1 1,234,567 1,000 1,233,567 12,345 7 7 0 0\n");
	PT_CHECK(has(&m, "Grp1", PT_PAGED, 1234567, 1000, 12345));
	PT_CHECK(has(&m, "Grp1", PT_NONPAGED, 7, 7, 0));
	pt_view_free(&m.v);
	/* Pool names on the line of "Tag", the column words below. */
	import_str(&m, " Tag      Paged                       NonPaged\n"
	               "          Allocs   Frees  Diff  Used  Allocs Frees Diff Used\n"
	               " Two1         10       4     6    60       3     1    2   20\n");
	PT_CHECK_EQ(m.rc, 1);
	PT_CHECK_EQ(m.info.line, 2);
	PT_CHECK(has(&m, "Two1", PT_PAGED, 10, 4, 60));
	PT_CHECK(has(&m, "Two1", PT_NONPAGED, 3, 1, 20));
	pt_view_free(&m.v);
	/* Only right below it: column words after another line are no header. */
	import_str(&m, " Tag      NonPaged  Paged\n\n noise\n Allocs Used Allocs Used\n");
	PT_CHECK_EQ(m.rc, 0);
	PT_CHECK_EQ(m.info.nskipped, 2);
	pt_view_free(&m.v);
	/* Frees without Diff; Diff without Frees. */
	import_str(&m, " Tag Allocs Frees Used Allocs Diff Used\n Mix1 10 4 60 8 3 30\n");
	PT_CHECK(has(&m, "Mix1", PT_NONPAGED, 10, 4, 60));
	PT_CHECK(has(&m, "Mix1", PT_PAGED, 8, 5, 30));
	pt_view_free(&m.v);
	/* A verbose group beside a short one: outstanding counts only, for
	 * both pools. */
	import_str(&m, " Tag Allocs Frees Diff Used Allocs Used\n Mixd 10 4 6 60 3 30\n");
	PT_CHECK_EQ(m.v.outstanding_only, 1);
	PT_CHECK(has(&m, "Mixd", PT_NONPAGED, 6, 0, 60));
	PT_CHECK(has(&m, "Mixd", PT_PAGED, 3, 0, 30));
	pt_view_free(&m.v);
	/* Not headers: a group without Used, three groups, a stray word. */
	import_str(&m, " Tag Allocs Frees\n Tag Allocs Used Allocs Used Allocs Used\n Tag Allocs "
	               "Used Total\n");
	PT_CHECK_EQ(m.rc, 0);
	PT_CHECK_EQ(m.info.nskipped, 3);
	pt_view_free(&m.v);
}

PT_TEST(test_table_ends_at_total_and_prompt)
{
	struct imp m;

	import_str(&m, " Tag    Allocs     Used    Allocs     Used\n"
	               " Aaaa        1       10         0        0\n"
	               " TOTAL        1       10         0        0\n"
	               " Bbbb        2       20         0        0\n"
	               " Tag    Allocs     Used    Allocs     Used\n"
	               " Cccc        3       30         0        0\n"
	               "kd> !vm\n"
	               " Dddd        4       40         0        0\n");
	PT_CHECK_EQ(m.rc, 1);
	PT_CHECK_EQ(m.info.ntables, 2);
	PT_CHECK_EQ(m.info.nskipped, 2); /* Bbbb after TOTAL, Dddd after the prompt */
	PT_CHECK_EQ(m.v.nrows, 1);
	PT_CHECK(has(&m, "Cccc", PT_NONPAGED, 3, 0, 30));
	pt_view_free(&m.v);
}

PT_TEST(test_encodings)
{
	static const char text[] = " Tag    Allocs     Used    Allocs     Used\r\n Proc       7    "
	                           "  700         0        0\r\n";
	char wide[2 + 2 * sizeof(text)], bom8[3 + sizeof(text)];
	size_t n = strlen(text);
	struct imp m;

	/* UTF-16LE with its byte order mark, as Windows PowerShell writes. */
	wide[0] = (char)0xff;
	wide[1] = (char)0xfe;
	for (size_t i = 0; i < n; i++) {
		wide[2 + 2 * i] = text[i];
		wide[3 + 2 * i] = 0;
	}
	import_buf(&m, wide, 2 + 2 * n);
	PT_CHECK_EQ(m.rc, 1);
	PT_CHECK(has(&m, "Proc", PT_NONPAGED, 7, 0, 700));
	pt_view_free(&m.v);
	/* An odd byte at the end of UTF-16 text is dropped. */
	import_buf(&m, wide, 1 + 2 * n);
	PT_CHECK(has(&m, "Proc", PT_NONPAGED, 7, 0, 700));
	pt_view_free(&m.v);
	/* UTF-8 with a byte order mark, as Notepad saves. */
	memcpy(bom8, "\xef\xbb\xbf", 3);
	memcpy(bom8 + 3, text, n);
	import_buf(&m, bom8, 3 + n);
	PT_CHECK(has(&m, "Proc", PT_NONPAGED, 7, 0, 700));
	pt_view_free(&m.v);
}

PT_TEST(test_not_a_dump)
{
	static const char nul[] = " Tag    Allocs     Used\n Nu\0l 1 2\n";
	struct imp m;

	import_str(&m, "");
	PT_CHECK_EQ(m.rc, 0);
	PT_CHECK_EQ(m.info.nskipped, 0);
	pt_view_free(&m.v);
	import_str(&m, "hello\nworld\n\n");
	PT_CHECK_EQ(m.rc, 0);
	PT_CHECK_EQ(m.info.nskipped, 2);
	PT_CHECK(m.v.import_format == NULL && m.v.nrows == 0);
	pt_view_free(&m.v);
	import_str(&m, "Proc 1 2 3 4\n");
	PT_CHECK_EQ(m.rc, 0);
	pt_view_free(&m.v);
	/* A NUL byte makes its line unreadable, not the file. */
	import_buf(&m, nul, sizeof(nul) - 1);
	PT_CHECK_EQ(m.rc, 1);
	PT_CHECK_EQ(m.info.nskipped, 1);
	PT_CHECK_EQ(m.v.nrows, 0);
	pt_view_free(&m.v);
}

int main(void)
{
	PT_RUN(test_verbose_after_unload);
	PT_RUN(test_normal_layout_has_outstanding_counts_only);
	PT_RUN(test_wide_layout_two_tables_last_wins);
	PT_RUN(test_poolmon_snapshot_file);
	PT_RUN(test_poolmon_screen_with_changes_and_drivers);
	PT_RUN(test_collapsed_copy);
	PT_RUN(test_pasted_with_separators);
	PT_RUN(test_wrapped_counters);
	PT_RUN(test_header_variants);
	PT_RUN(test_table_ends_at_total_and_prompt);
	PT_RUN(test_encodings);
	PT_RUN(test_not_a_dump);
	return pt_test_done();
}
