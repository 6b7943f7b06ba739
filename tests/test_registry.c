/*
 * test_registry.c - what happens when the counter table fills up: per-site
 * detail degrades to per-tag slots, then to the pool's last-resort slot,
 * and not one count is lost.  Runs with the smallest table (256 slots).
 */
#include <stdlib.h>
#include <string.h>

#include <pooltag.h>

#include "pt_libtest.h"

#define NSITES 300

/* Sites made at run time, as a code generator might: more than fit. */
static struct pt_site sites[NSITES];

static uint32_t tag_n(int i)
{
	char s[5];
	snprintf(s, sizeof(s), "R%03d", i);
	return pt_tag_make(s);
}

PT_TEST(test_sites_overflow_to_tag_slots)
{
	void *p[NSITES];
	struct pt_count c;

	for (int i = 0; i < NSITES; i++) {
		sites[i] = (struct pt_site){"generated.c", "gen", (unsigned)i + 1, 0};
		p[i] = pt_alloc_at(&sites[i], PT_PAGED, 10, PT_TAG("RegA"));
		PT_CHECK(p[i] != NULL);
	}
	pt_count_tag(PT_TAG("RegA"), PT_PAGED, &c);
	PT_CHECK_EQ(c.nallocs, NSITES);
	PT_CHECK_EQ(c.curbytes, NSITES * 10);
	for (int i = 0; i < NSITES; i++)
		pt_free_at(&sites[i], p[i], PT_TAG("RegA"));
	pt_count_tag(PT_TAG("RegA"), PT_PAGED, &c);
	PT_CHECK_EQ(c.curblocks, 0);
	PT_CHECK_EQ(c.nfrees, NSITES);
}

/* Hundreds of distinct tags: those beyond the table land in "????", and the
 * pool's totals stay exact. */
PT_TEST(test_tags_overflow_to_last_resort)
{
	void *p[NSITES];
	struct pt_count pool, unknown, before;

	pt_count_pool(PT_NONPAGED, &before);
	for (int i = 0; i < NSITES; i++)
		p[i] = pt_alloc_at(&sites[i], PT_NONPAGED, 16, tag_n(i));
	pt_count_pool(PT_NONPAGED, &pool);
	pt_count_tag(PT_TAG("????"), PT_NONPAGED, &unknown);
	PT_CHECK_EQ(pool.nallocs - before.nallocs, NSITES);
	PT_CHECK_EQ(pool.curbytes, NSITES * 16);
	PT_CHECK(unknown.nallocs > 0);
	for (int i = 0; i < NSITES; i++)
		pt_free_at(&sites[i], p[i], tag_n(i));
	pt_count_pool(PT_NONPAGED, &pool);
	PT_CHECK_EQ(pool.curblocks, 0);
	PT_CHECK_EQ(pool.curbytes, 0);
}

int main(void)
{
	setenv("POOLTAG_MAX_SITES", "256", 1);
	setenv("POOLTAG_EXPORT", "0", 1);
	PT_RUN(test_sites_overflow_to_tag_slots);
	PT_RUN(test_tags_overflow_to_last_resort);
	PT_RUN(test_nothing_outstanding);
	return pt_test_done();
}
