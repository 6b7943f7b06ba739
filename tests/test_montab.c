/*
 * test_montab.c - the monitor's table without a terminal: sums per tag and
 * pool, changes between two reads paired by site, order for every key,
 * pool and pattern filters, a tag's expansion, and the cell formats.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "montab.h"
#include "pooltag.h"
#include "pt_test.h"
#include "segfmt.h"

static void add(struct pt_view *v, const char *tag, uint32_t pool, uint32_t line, const char *func,
		uint64_t na, uint64_t nf, uint64_t ba, uint64_t bf)
{
	struct pt_row r = {.tag = pt_tag_make(tag), .pool = pool, .line = line, .file = "x.c",
			   .func = func, .module = "prog", .nallocs = na, .nfrees = nf,
			   .bytes_alloc = ba, .bytes_freed = bf};

	if (pt_view_add_row(v, &r) != 0)
		abort();
}

/* Read 1 of a process; read 2 is the same one second later, after work.
 *   Aaaa paged  two sites: 10/0 (1000 B) and 5/5 (0 B)
 *   Bbbb nonpaged 4/1 (300 B); paged 100/90 (40 B)
 *   Cccc paged 1/0 (4096 B), and 3 references, 2 handles held on Cccc objects
 * Read 2: Aaaa's first site +6 allocs +600 B, Bbbb nonpaged +2 frees -200 B,
 * a new Dddd site 2/0 (64 B), and one more Cccc reference. */
static void read1(struct pt_view *v)
{
	pt_view_init(v);
	v->taken_ns = 1000000000;
	add(v, "Aaaa", PT_PAGED, 10, "a1", 10, 0, 1000, 0);
	add(v, "Aaaa", PT_PAGED, 20, "a2", 5, 5, 50, 50);
	add(v, "Bbbb", PT_NONPAGED, 30, "b", 4, 1, 400, 100);
	add(v, "Bbbb", PT_PAGED, 31, "b", 100, 90, 400, 360);
	add(v, "Cccc", PT_PAGED, 40, "c", 1, 0, 4096, 0);
	add(v, "Cccc", PT_SEG_CLASS_REFS, 41, "cref", 5, 2, 5, 2);
	add(v, "Cccc", PT_SEG_CLASS_HANDLES, 42, "chandle", 2, 0, 2, 0);
}

static void read2(struct pt_view *v)
{
	pt_view_init(v);
	v->taken_ns = 3000000000; /* two seconds later */
	/* Another order than read 1: pairing goes by identity. */
	add(v, "Cccc", PT_SEG_CLASS_REFS, 41, "cref", 6, 2, 6, 2);
	add(v, "Dddd", PT_PAGED, 50, "d", 2, 0, 64, 0);
	add(v, "Bbbb", PT_PAGED, 31, "b", 100, 90, 400, 360);
	add(v, "Bbbb", PT_NONPAGED, 30, "b", 4, 3, 400, 300);
	add(v, "Aaaa", PT_PAGED, 20, "a2", 5, 5, 50, 50);
	add(v, "Aaaa", PT_PAGED, 10, "a1", 16, 0, 1600, 0);
	add(v, "Cccc", PT_PAGED, 40, "c", 1, 0, 4096, 0);
	add(v, "Cccc", PT_SEG_CLASS_HANDLES, 42, "chandle", 2, 0, 2, 0);
}

static const struct pt_mon_row *row(const struct pt_montab *t, const char *tag, uint32_t pool)
{
	long i = pt_montab_find(t, pt_tag_make(tag), pool);
	return i >= 0 ? &t->rows[i] : NULL;
}

/* The tags and pools of the shown rows, "Aaaa/P Bbbb/N ...". */
static const char *order_str(const struct pt_montab *t, const struct pt_mon_opts *o)
{
	static char buf[256];
	size_t idx[16], n = pt_montab_order(t, o, idx);
	char tag[5];

	buf[0] = 0;
	for (size_t i = 0; i < n; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s/%c", i ? " " : "",
			 pt_tag_str(t->rows[idx[i]].tag, tag),
			 t->rows[idx[i]].pool == PT_PAGED ? 'P' : 'N');
	return buf;
}

PT_TEST(test_first_read_sums_and_no_change)
{
	struct pt_view v;
	struct pt_montab t;
	const struct pt_mon_row *r;

	read1(&v);
	PT_CHECK_EQ(pt_montab_build(&t, NULL, &v), 0);
	/* Aaaa/P, Bbbb/N, Bbbb/P, Cccc/P: references and handles are no pool. */
	PT_CHECK_EQ(t.nrows, 4);
	PT_CHECK(t.elapsed == 0);
	r = row(&t, "Aaaa", PT_PAGED);
	PT_CHECK(r && r->now.nallocs == 15 && r->now.nfrees == 5);
	PT_CHECK(r && pt_sums_used(&r->now) == 1000 && pt_sums_diff(&r->now) == 10);
	PT_CHECK(r && pt_mon_peralloc(&r->now) == 100);
	PT_CHECK(r && r->chg.nallocs == 0 && r->chg.bytes == 0);
	PT_CHECK(row(&t, "Aaaa", PT_NONPAGED) == NULL);
	PT_CHECK(row(&t, "Cccc", PT_SEG_CLASS_REFS) == NULL);
	PT_CHECK_EQ(t.total[PT_PAGED].nallocs, 15 + 100 + 1);
	PT_CHECK_EQ(pt_sums_used(&t.total[PT_NONPAGED]), 300);
	pt_montab_free(&t);
	pt_view_free(&v);
}

PT_TEST(test_changes_pair_by_site)
{
	struct pt_view v1, v2;
	struct pt_montab t;
	const struct pt_mon_row *r;

	read1(&v1);
	read2(&v2);
	PT_CHECK_EQ(pt_montab_build(&t, &v1, &v2), 0);
	PT_CHECK(t.elapsed == 2.0);
	r = row(&t, "Aaaa", PT_PAGED);
	PT_CHECK(r && r->chg.nallocs == 6 && r->chg.nfrees == 0 && r->chg.diff == 6 &&
		 r->chg.bytes == 600);
	r = row(&t, "Bbbb", PT_NONPAGED);
	PT_CHECK(r && r->chg.nallocs == 0 && r->chg.nfrees == 2 && r->chg.diff == -2 &&
		 r->chg.bytes == -200);
	r = row(&t, "Bbbb", PT_PAGED);
	PT_CHECK(r && r->chg.nallocs == 0 && r->chg.nfrees == 0 && r->chg.bytes == 0);
	/* A site new since the last read changed by all it counts. */
	r = row(&t, "Dddd", PT_PAGED);
	PT_CHECK(r && r->chg.nallocs == 2 && r->chg.bytes == 64);
	PT_CHECK_EQ(t.total_chg[PT_PAGED].nallocs, 8);
	PT_CHECK_EQ(t.total_chg[PT_PAGED].bytes, 664);
	PT_CHECK_EQ(t.total_chg[PT_NONPAGED].bytes, -200);
	/* Per row of the view too: the reference taken. */
	PT_CHECK_EQ(t.rowchg[0].nallocs, 1);
	PT_CHECK_EQ(t.rowchg[7].nallocs, 0);
	PT_CHECK(pt_montab_rate(&t, 600) == 300.0);
	pt_montab_free(&t);
	pt_view_free(&v1);
	pt_view_free(&v2);
}

PT_TEST(test_order_every_key)
{
	struct pt_view v1, v2;
	struct pt_montab t;
	struct pt_mon_opts o = {.sort = PT_MON_SORT_TAG};

	read1(&v1);
	read2(&v2);
	PT_CHECK_EQ(pt_montab_build(&t, &v1, &v2), 0);
	PT_CHECK_STR(order_str(&t, &o), "Aaaa/P Bbbb/P Bbbb/N Cccc/P Dddd/P");
	o.reverse = 1;
	PT_CHECK_STR(order_str(&t, &o), "Dddd/P Cccc/P Bbbb/N Bbbb/P Aaaa/P");
	o.reverse = 0;
	o.sort = PT_MON_SORT_ALLOCS; /* 21 4 100 1 2 */
	PT_CHECK_STR(order_str(&t, &o), "Bbbb/P Aaaa/P Bbbb/N Dddd/P Cccc/P");
	o.sort = PT_MON_SORT_FREES; /* 5 3 90 0 0 */
	PT_CHECK_STR(order_str(&t, &o), "Bbbb/P Aaaa/P Bbbb/N Cccc/P Dddd/P");
	o.sort = PT_MON_SORT_DIFF; /* 16 1 10 1 2 */
	PT_CHECK_STR(order_str(&t, &o), "Aaaa/P Bbbb/P Dddd/P Bbbb/N Cccc/P");
	o.sort = PT_MON_SORT_BYTES; /* 1600 100 40 4096 64 */
	PT_CHECK_STR(order_str(&t, &o), "Cccc/P Aaaa/P Bbbb/N Dddd/P Bbbb/P");
	o.sort = PT_MON_SORT_PERALLOC; /* 100 100 4 4096 32 */
	PT_CHECK_STR(order_str(&t, &o), "Cccc/P Aaaa/P Bbbb/N Dddd/P Bbbb/P");
	o.sort = PT_MON_SORT_CHANGE; /* bytes +600 -200 0 0 +64 */
	PT_CHECK_STR(order_str(&t, &o), "Aaaa/P Dddd/P Bbbb/P Cccc/P Bbbb/N");
	o.reverse = 1;
	PT_CHECK_STR(order_str(&t, &o), "Bbbb/N Cccc/P Bbbb/P Dddd/P Aaaa/P");
	pt_montab_free(&t);
	pt_view_free(&v1);
	pt_view_free(&v2);
}

PT_TEST(test_filters)
{
	struct pt_view v;
	struct pt_montab t;
	struct pt_mon_opts o = {.sort = PT_MON_SORT_TAG, .pools = PT_MON_POOLS_PAGED};

	read2(&v);
	PT_CHECK_EQ(pt_montab_build(&t, NULL, &v), 0);
	PT_CHECK_STR(order_str(&t, &o), "Aaaa/P Bbbb/P Cccc/P Dddd/P");
	o.pools = PT_MON_POOLS_NONPAGED;
	PT_CHECK_STR(order_str(&t, &o), "Bbbb/N");
	o.pools = PT_MON_POOLS_BOTH;
	o.pattern = "?ccc";
	PT_CHECK_STR(order_str(&t, &o), "Cccc/P");
	o.pattern = "B*";
	PT_CHECK_STR(order_str(&t, &o), "Bbbb/P Bbbb/N");
	o.pattern = "b*"; /* case-sensitive, as `pooltag used` */
	PT_CHECK_STR(order_str(&t, &o), "");
	pt_montab_free(&t);
	pt_view_free(&v);
}

PT_TEST(test_sites_then_references_and_handles)
{
	struct pt_view v;
	struct pt_montab t;
	size_t idx[16], n;

	read2(&v);
	PT_CHECK_EQ(pt_montab_build(&t, NULL, &v), 0);
	n = pt_montab_sites(&t, PT_TAG("Aaaa"), PT_PAGED, idx);
	PT_CHECK_EQ(n, 2);
	PT_CHECK_STR(v.rows[idx[0]].func, "a1"); /* 1600 bytes outstanding, then 0 */
	PT_CHECK_STR(v.rows[idx[1]].func, "a2");
	n = pt_montab_sites(&t, PT_TAG("Aaaa"), PT_NONPAGED, idx);
	PT_CHECK_EQ(n, 0);
	n = pt_montab_sites(&t, PT_TAG("Cccc"), PT_PAGED, idx);
	PT_CHECK_EQ(n, 3);
	PT_CHECK_STR(v.rows[idx[0]].func, "c");
	PT_CHECK_EQ(v.rows[idx[1]].pool, PT_SEG_CLASS_REFS);
	PT_CHECK_EQ(v.rows[idx[2]].pool, PT_SEG_CLASS_HANDLES);
	pt_montab_free(&t);
	pt_view_free(&v);
}

/* Counters that go back (a corrupt or recycled segment) give wrapped
 * changes, never a crash; an empty view gives an empty table. */
PT_TEST(test_counters_going_back)
{
	struct pt_view v1, v2, e;
	struct pt_montab t;

	read2(&v1);
	read1(&v2);
	PT_CHECK_EQ(pt_montab_build(&t, &v1, &v2), 0);
	PT_CHECK(t.elapsed == 0); /* taken earlier: no rates */
	PT_CHECK_EQ(row(&t, "Aaaa", PT_PAGED)->chg.nallocs, -6);
	PT_CHECK(row(&t, "Dddd", PT_PAGED) == NULL);
	pt_montab_free(&t);
	pt_view_init(&e);
	PT_CHECK_EQ(pt_montab_build(&t, &v1, &e), 0);
	PT_CHECK_EQ(t.nrows, 0);
	pt_montab_free(&t);
	pt_view_free(&e);
	pt_view_free(&v1);
	pt_view_free(&v2);
}

PT_TEST(test_formats)
{
	char b[64];

	PT_CHECK_STR(pt_mon_fmt_count(b, sizeof(b), 12345, 8, 0), "   12345");
	PT_CHECK_STR(pt_mon_fmt_count(b, sizeof(b), 123456789, 8, 0), " 123456K");
	PT_CHECK_STR(pt_mon_fmt_count(b, sizeof(b), 123456789, 6, 0), "  123M");
	PT_CHECK_STR(pt_mon_fmt_count(b, sizeof(b), 123456789, 5, 0), " 123M");
	PT_CHECK_STR(pt_mon_fmt_count(b, sizeof(b), 5 << 20, 4, 1), "  5M");
	PT_CHECK_STR(pt_mon_fmt_count(b, sizeof(b), UINT64_MAX, 3, 0), "18E");
	PT_CHECK_STR(pt_mon_fmt_count(b, sizeof(b), 42, 0, 0), "42");
	PT_CHECK_STR(pt_mon_fmt_change(b, sizeof(b), -12, 4, 0), " -12");
	PT_CHECK_STR(pt_mon_fmt_change(b, sizeof(b), 0, 4, 0), "   0");
	PT_CHECK_STR(pt_mon_fmt_change(b, sizeof(b), -20480, 4, 1), "-20K");
	PT_CHECK_STR(pt_mon_fmt_change(b, sizeof(b), INT64_MIN, 0, 0), "-9223372036854775808");
	PT_CHECK_STR(pt_mon_fmt_rate(b, sizeof(b), 2.5, 4, 0), " 2.5");
	PT_CHECK_STR(pt_mon_fmt_rate(b, sizeof(b), 300.0, 4, 0), " 300");
	PT_CHECK_STR(pt_mon_fmt_rate(b, sizeof(b), -0.01, 4, 0), "   0");
	PT_CHECK_STR(pt_mon_fmt_rate(b, sizeof(b), 25000.7, 4, 0), " 25K");
	PT_CHECK_STR(pt_mon_fmt_rate(b, sizeof(b), 1e300, 4, 0), "   ?");
}

PT_TEST(test_sort_names)
{
	PT_CHECK_EQ(pt_mon_sort_parse("t"), PT_MON_SORT_TAG);
	PT_CHECK_EQ(pt_mon_sort_parse("m"), PT_MON_SORT_PERALLOC);
	PT_CHECK_EQ(pt_mon_sort_parse("per-alloc"), PT_MON_SORT_PERALLOC);
	PT_CHECK_EQ(pt_mon_sort_parse("change"), PT_MON_SORT_CHANGE);
	PT_CHECK_EQ(pt_mon_sort_parse("c"), PT_MON_SORT_CHANGE);
	PT_CHECK_EQ(pt_mon_sort_parse("x"), -1);
	PT_CHECK_EQ(pt_mon_sort_parse(""), -1);
	for (int i = 0; i < PT_MON_NSORT; i++)
		PT_CHECK_EQ(pt_mon_sort_parse(pt_mon_sort_name((enum pt_mon_sort)i)), i);
}

int main(void)
{
	PT_RUN(test_first_read_sums_and_no_change);
	PT_RUN(test_changes_pair_by_site);
	PT_RUN(test_order_every_key);
	PT_RUN(test_filters);
	PT_RUN(test_sites_then_references_and_handles);
	PT_RUN(test_counters_going_back);
	PT_RUN(test_formats);
	PT_RUN(test_sort_names);
	return pt_test_done();
}
