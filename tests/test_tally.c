/*
 * test_tally.c - a view summed per tag (cli/model/tally.c): every counter of
 * every site of a tag added into its pool, tags in order, a tag's sites
 * most bytes outstanding first, the pattern.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pooltag.h"
#include "pt_test.h"
#include "segfmt.h"
#include "tally.h"

static void add_row(struct pt_view *v, const char *tag, unsigned pool, unsigned line, uint64_t na,
                    uint64_t nf, uint64_t ba, uint64_t bf)
{
	struct pt_row r = {.tag = pt_tag_make(tag),
	                   .pool = pool,
	                   .line = line,
	                   .file = "a.c",
	                   .func = "f",
	                   .nallocs = na,
	                   .nfrees = nf,
	                   .bytes_alloc = ba,
	                   .bytes_freed = bf};

	PT_CHECK_EQ(pt_view_add_row(v, &r), 0);
}

static void check_sums(const struct pt_sums *s, uint64_t na, uint64_t nf, uint64_t ba, uint64_t bf)
{
	PT_CHECK_EQ(s->nallocs, na);
	PT_CHECK_EQ(s->nfrees, nf);
	PT_CHECK_EQ(s->bytes_alloc, ba);
	PT_CHECK_EQ(s->bytes_freed, bf);
}

/* Three sites of one tag in one pool, one in another pool, and a second
 * tag given first: each counter is the sum of its sites', per pool. */
PT_TEST(test_sums_every_site)
{
	struct pt_tally *t;
	struct pt_view v;
	size_t n;

	pt_view_init(&v);
	add_row(&v, "Zzzz", PT_PAGED, 9, 1, 1, 8, 8);
	add_row(&v, "Bbbb", PT_NONPAGED, 1, 40, 36, 4000, 3600);
	add_row(&v, "Bbbb", PT_NONPAGED, 2, 20, 20, 2000, 2000);
	add_row(&v, "Bbbb", PT_NONPAGED, 3, 7, 3, 70, 30);
	add_row(&v, "Bbbb", PT_PAGED, 4, 5, 2, 50, 20);
	add_row(&v, "Bbbb", PT_SEG_CLASS_HANDLES, 5, 6, 1, 0, 0);
	PT_CHECK_EQ(pt_tally_build(&v, NULL, &t, &n), 0);
	PT_CHECK_EQ(n, 2);
	if (n == 2) {
		PT_CHECK_EQ(t[0].tag, pt_tag_make("Bbbb"));
		PT_CHECK_EQ(t[1].tag, pt_tag_make("Zzzz"));
		check_sums(&t[0].pool[PT_NONPAGED], 67, 59, 6070, 5630);
		check_sums(&t[0].pool[PT_PAGED], 5, 2, 50, 20);
		check_sums(&t[0].pool[PT_SEG_CLASS_REFS], 0, 0, 0, 0);
		check_sums(&t[0].pool[PT_SEG_CLASS_HANDLES], 6, 1, 0, 0);
		check_sums(&t[1].pool[PT_PAGED], 1, 1, 8, 8);
		PT_CHECK_EQ(t[0].nsites, 5);
		PT_CHECK_EQ(t[1].nsites, 1);
		/* Most bytes outstanding first: 400 (line 1), 40, 30, then
		 * none (line 2, then the handles of line 5). */
		if (t[0].nsites == 5) {
			PT_CHECK_EQ(t[0].sites[0]->line, 1);
			PT_CHECK_EQ(t[0].sites[1]->line, 3);
			PT_CHECK_EQ(t[0].sites[2]->line, 4);
			PT_CHECK_EQ(t[0].sites[3]->line, 2);
			PT_CHECK_EQ(t[0].sites[4]->line, 5);
		}
	}
	pt_tally_free(t, n);
	pt_view_free(&v);
}

PT_TEST(test_pattern)
{
	struct pt_tally *t;
	struct pt_view v;
	size_t n;

	pt_view_init(&v);
	add_row(&v, "Req ", PT_PAGED, 1, 3, 1, 30, 10);
	add_row(&v, "Req ", PT_PAGED, 2, 4, 4, 40, 40);
	add_row(&v, "Rsp ", PT_PAGED, 3, 9, 0, 90, 0);
	add_row(&v, "Hdr ", PT_PAGED, 4, 1, 0, 10, 0);
	PT_CHECK_EQ(pt_tally_build(&v, "Re*", &t, &n), 0);
	PT_CHECK_EQ(n, 1);
	if (n == 1) {
		PT_CHECK_EQ(t[0].tag, pt_tag_make("Req "));
		check_sums(&t[0].pool[PT_PAGED], 7, 5, 70, 50);
	}
	pt_tally_free(t, n);
	PT_CHECK_EQ(pt_tally_build(&v, "Q*", &t, &n), 0);
	PT_CHECK_EQ(n, 0);
	pt_tally_free(t, n);
	pt_view_free(&v);
}

int main(void)
{
	PT_RUN(test_sums_every_site);
	PT_RUN(test_pattern);
	return pt_test_done();
}
