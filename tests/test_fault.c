/*
 * test_fault.c - fault injection: the option parser, random failures from a
 * seed, counters exact after injected failures, and systematic runs of a
 * function (pt_fault_each) finding an error-path leak, a crash and misuse,
 * and nothing in clean code.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pooltag.h>

#include "pt_libtest.h"
#include "pt_test.h"

/* Runs pt_fault_each(fn) with its report in *text (caller frees). */
static int each(void (*fn)(void *), const char *options, char **text)
{
	size_t len;
	FILE *f = open_memstream(text, &len);
	int n = pt_fault_each(fn, NULL, options, f);

	fclose(f);
	return n;
}

PT_TEST(test_bad_options)
{
	PT_CHECK_EQ(pt_config("fail=2"), -1);
	PT_CHECK_HAS(pt_config_error(), "option 'fail'");
	PT_CHECK_EQ(pt_config("fail.kinds=alloc+bogus"), -1);
	PT_CHECK_HAS(pt_config_error(), "fail.kinds");
	PT_CHECK_EQ(pt_config("fail.size=9-1"), -1);
	PT_CHECK_EQ(pt_config("no-such-key=1"), -1);
	PT_CHECK_HAS(pt_config_error(), "unknown option 'no-such-key'");
	PT_CHECK_EQ(pt_config("verify=sometimes"), -1);
	PT_CHECK_EQ(pt_config("fail.result=99999"), -1);
	PT_CHECK_EQ(pt_config("track=none,verify=continue"), 0);
}

/* Random failures limited to one tag: the others never fail, the counters
 * count only what succeeded, and the same seed fails the same ones. */
static unsigned random_pattern(uint64_t seed, struct pt_count *c)
{
	char opts[128];
	unsigned pattern = 0;

	snprintf(opts, sizeof(opts), "fail=30%%,fail.seed=%llu,fail.tag=RndA",
		 (unsigned long long)seed);
	pt_config(opts);
	for (int i = 0; i < 32; i++) {
		void *a = pt_alloc(PT_PAGED, 8, "RndA"), *b = pt_alloc(PT_PAGED, 8, "RndB");
		if (!a)
			pattern |= 1u << i;
		PT_CHECK(b != NULL);
		pt_free(a, "RndA"); /* NULL is fine */
		pt_free(b, "RndB");
	}
	pt_config("fail=0");
	pt_count_tag(PT_TAG("RndA"), PT_PAGED, c);
	return pattern;
}

PT_TEST(test_random_reproducible)
{
	struct pt_count c1, c2;
	unsigned p1 = random_pattern(42, &c1);
	unsigned p2 = random_pattern(42, &c2);
	int failed = __builtin_popcount(p1);

	PT_CHECK(p1 != 0 && p1 != 0xffffffffu); /* 30% of 32 */
	/* Candidates are numbered per process, so the second round continues the
	 * sequence: compare counts, not patterns. */
	PT_CHECK_EQ(c1.nallocs, 32u - failed);
	PT_CHECK_EQ(c1.nfrees, c1.nallocs);
	PT_CHECK_EQ(c2.nallocs - c1.nallocs, 32u - __builtin_popcount(p2));
	PT_CHECK_EQ(c2.curblocks, 0u);
}

/* The shape of the seed's bug: the error path of the second acquisition
 * forgets the first. */
static void leaky(void *arg)
{
	char *a = pt_alloc(PT_PAGED, 16, "LkyA"); /* LINE_A */
	char *b;

	(void)arg;
	if (!a)
		return;
	b = pt_alloc(PT_PAGED, 32, "LkyB"); /* LINE_B */
	if (!b)
		return; /* a leaks */
	pt_free(b, "LkyB");
	pt_free(a, "LkyA");
}
#define LINE_A "test_fault.c:85"
#define LINE_B "test_fault.c:91"

PT_TEST(test_each_finds_error_path_leak)
{
	char *text = NULL;
	int n = each(leaky, NULL, &text);

	PT_CHECK_EQ(n, 1);
	PT_CHECK_HAS(text, "failing the allocation of 'LkyB' at " LINE_B " in leaky");
	PT_CHECK_HAS(text, "holds 1 block of 'LkyA' (16 bytes) allocated at " LINE_A " in leaky");
	PT_CHECK_HAS(text, "repeat: POOLTAG=fail.nth=2");
	PT_CHECK(!strstr(text, "'LkyA' at")); /* failing the first leaks nothing */
	free(text);
}

static void clean(void *arg)
{
	char *a = pt_alloc(PT_PAGED, 16, "ClnA"), *b;

	(void)arg;
	if (!a)
		return;
	b = pt_alloc(PT_NONPAGED, 32, "ClnB");
	if (!b) {
		pt_free(a, "ClnA");
		return;
	}
	pt_free(b, "ClnB");
	pt_free(a, "ClnA");
}

PT_TEST(test_each_clean)
{
	char *text = NULL;

	PT_CHECK_EQ(each(clean, NULL, &text), 0);
	PT_CHECK_STR(text, "");
	free(text);
}

/* A plain fault (UBSan would stop the run at the null store first). */
__attribute__((no_sanitize("undefined"))) static void crashy(void *arg)
{
	volatile char *a = pt_alloc(PT_PAGED, 16, "CrsA");

	(void)arg;
	a[0] = 1; /* no check: dies when the allocation fails */
	pt_free((void *)a, "CrsA");
}

PT_TEST(test_each_crash_reported_with_site)
{
	char *text = NULL;
	int n = each(crashy, NULL, &text);

	PT_CHECK_EQ(n, 1);
	PT_CHECK_HAS(text, "failing the allocation of 'CrsA' at test_fault.c");
	PT_CHECK_HAS(text, "crashes with SIGSEGV");
	PT_CHECK_HAS(text, "crashy");
	free(text);
}

static void misusing(void *arg)
{
	char *a = pt_alloc(PT_PAGED, 16, "MisA"), *b;

	(void)arg;
	if (!a)
		return;
	b = pt_alloc(PT_PAGED, 16, "MisB");
	if (!b) {
		pt_free(a, "MisB"); /* the error path frees with the wrong tag */
		return;
	}
	pt_free(b, "MisB");
	pt_free(a, "MisA");
}

PT_TEST(test_each_misuse)
{
	char *text = NULL;
	pt_misuse_fn old = pt_misuse_set_hook(NULL, NULL);

	PT_CHECK_EQ(each(misusing, NULL, &text), 1);
	PT_CHECK_HAS(text, "failing the allocation of 'MisB'");
	PT_CHECK_HAS(text, "misuse: free with wrong tag");
	pt_misuse_set_hook(old, NULL);
	free(text);
}

/* References: failing the lookup is handled; failing the second reference
 * leaks the first. */
static struct pt_objtype *widget;

static void refs(void *arg)
{
	void *w, *again;

	(void)arg;
	w = pt_obj_lookup(widget, 7);
	if (!w)
		return;
	if (pt_obj_ref(w) != 0)
		return; /* the lookup's reference leaks */
	pt_obj_deref(w);
	again = pt_obj_lookup(widget, 7);
	if (again)
		pt_obj_deref(again);
	pt_obj_deref(w);
}

PT_TEST(test_each_reference_leak)
{
	char *text = NULL;
	void *w;

	widget = pt_objtype_create("Widget", PT_PAGED, "Wdgt", NULL, PT_OBJTYPE_BY_ID);
	w = pt_obj_create(widget, 8, 7);
	PT_CHECK(w != NULL);
	PT_CHECK_EQ(each(refs, "fail.kinds=ref", &text), 1);
	PT_CHECK_HAS(text, "failing the reference of 'Wdgt' at test_fault.c");
	PT_CHECK_HAS(text, "holds 1 reference to 'Wdgt'");
	PT_CHECK_HAS(text, "in refs");
	free(text);
	pt_obj_deref(w);
}

/* Filters: with fail.tag the other tags are no candidates. */
PT_TEST(test_each_filters)
{
	char *text = NULL;

	PT_CHECK_EQ(each(leaky, "fail.tag=LkyA", &text), 0);
	free(text);
	PT_CHECK_EQ(each(leaky, "fail.site=" LINE_B, &text), 1);
	free(text);
	PT_CHECK_EQ(each(leaky, "fail.size=20-", &text), 1);
	free(text);
	PT_CHECK_EQ(each(leaky, "fail.kinds=ref+handle", &text), 0);
	free(text);
	PT_CHECK_EQ(pt_fault_each(leaky, NULL, "fail.kinds=bogus", NULL), -1);
	PT_CHECK_EQ(errno, EINVAL);
}

/* fail.times=N: exactly N failures, the first N candidates at 100%.  The
 * count is the process's, so this runs before any other failure. */
PT_TEST(test_random_times)
{
	char got[11] = {0};

	PT_CHECK_EQ(pt_config("fail=100%,fail.seed=7,fail.tag=RndT,fail.times=3"), 0);
	for (int i = 0; i < 10; i++) {
		void *a = pt_alloc(PT_PAGED, 8, "RndT");
		got[i] = a ? '.' : 'x';
		pt_free(a, "RndT");
	}
	pt_config("fail=0,fail.times=0,fail.tag=*");
	PT_CHECK_STR(got, "xxx.......");
}

int main(void)
{
	PT_RUN(test_random_times); /* first: fail.times counts the process's failures */
	PT_RUN(test_bad_options);
	PT_RUN(test_random_reproducible);
	PT_RUN(test_each_finds_error_path_leak);
	PT_RUN(test_each_clean);
	PT_RUN(test_each_crash_reported_with_site);
	PT_RUN(test_each_misuse);
	PT_RUN(test_each_reference_leak);
	PT_RUN(test_each_filters);
	PT_RUN(test_nothing_outstanding);
	return pt_test_done();
}
