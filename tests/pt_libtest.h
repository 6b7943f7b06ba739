/*
 * pt_libtest.h - what the library's test programs share: catching misuse
 * reports, reading a tag's counters, and the closing check that a test
 * program leaves nothing allocated.
 */
#ifndef PT_LIBTEST_H
#define PT_LIBTEST_H

#include <stdio.h>

#include <pooltag.h>

#include "pt_test.h"

/* The last misuse report (its text copied), and how many were made. */
static struct pt_misuse last;
static char last_text[1024];
static int nreports;

static inline void catch_misuse(const struct pt_misuse *m, void *arg)
{
	(void)arg;
	last = *m;
	snprintf(last_text, sizeof(last_text), "%s", m->text);
	last.text = last_text;
	nreports++;
}

static inline struct pt_count count_of(const char *tag, enum pt_pool pool)
{
	struct pt_count c;
	pt_count_tag(pt_tag_make(tag), pool, &c);
	return c;
}

/* Every test program ends with this one: nothing outstanding in any pool. */
PT_TEST(test_nothing_outstanding)
{
	struct pt_count p, np;

	pt_count_pool(PT_PAGED, &p);
	pt_count_pool(PT_NONPAGED, &np);
	PT_CHECK_EQ(p.curblocks, 0);
	PT_CHECK_EQ(p.curbytes, 0);
	PT_CHECK_EQ(np.curblocks, 0);
	PT_CHECK_EQ(np.curbytes, 0);
}

#endif /* PT_LIBTEST_H */
