/*
 * test_kused.c - the kernel's table by module (cli/model/kused.c) on views
 * read from /proc/allocinfo text written in the test: each module's sums,
 * the sites holding memory and those marked inexact, the total; every sort
 * key, reversed, and their ties; the module pattern; an empty view; module
 * names with bytes of any value; every allocation failed in turn.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocinfo.h"
#include "kview.h"
#include "pooltag.h"
#include "pt_oom.h"
#include "pt_test.h"
#include "tally.h"

#define HDR "allocinfo - version: 2.0\n#     <size>  <calls> <tag info>\n"

/* The kernel, three sites (one holding nothing, one inexact); foo, a site
 * with bytes and no count and one with a count and no bytes; bar, one
 * inexact site and one empty; zed, as many allocations as foo. */
static const char fixture[] =
    HDR "        4096        2 mm/a.c:1 func:ka\n"
        "           0        0 mm/a.c:2 func:kb\n"
        "         512        1 fs/b.c:3 func:kc accurate:no\n"
        "        8192        4 drivers/foo/x.c:10 [foo] func:f1\n"
        "         100        0 drivers/foo/x.c:11 [foo] func:f2\n"
        "           0        3 drivers/foo/x.c:12 [foo] func:f3\n"
        "        8192        1 drivers/bar/y.c:5 [bar] func:g1 accurate:no\n"
        "           0        0 drivers/bar/y.c:6 [bar] func:g2\n"
        "         300        7 drivers/zed/z.c:1 [zed] func:h\n";

static void kview(struct pt_view *v, const char *text)
{
	char err[256];

	pt_view_init(v);
	if (pt_allocinfo_parse(v, text, strlen(text), "ai.txt", NULL, err, sizeof(err)) != 0) {
		printf("# %s\n", err);
		abort();
	}
}

/* The modules of k in order, "" standing for the kernel: "(kernel) bar foo zed". */
static const char *order(const struct pt_kused *k)
{
	static char out[256];
	size_t at = 0;

	out[0] = 0;
	for (size_t i = 0; i < k->n && at < sizeof(out); i++)
		at += (size_t)snprintf(out + at, sizeof(out) - at, "%s%s", i ? " " : "",
		                       *k->m[i].module ? k->m[i].module : "(kernel)");
	return out;
}

static const struct pt_kmodule *module(const struct pt_kused *k, const char *name)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->m[i].module, name) == 0)
			return &k->m[i];
	return NULL;
}

static void check_module(const struct pt_kmodule *m, uint64_t count, uint64_t bytes, size_t holding,
                         size_t inexact, size_t nsites)
{
	PT_CHECK(m != NULL);
	if (!m)
		return;
	PT_CHECK_EQ(m->count, count);
	PT_CHECK_EQ(m->bytes, bytes);
	PT_CHECK_EQ(m->holding, holding);
	PT_CHECK_EQ(m->inexact, inexact);
	PT_CHECK_EQ(m->t ? m->t->nsites : 0, nsites);
	for (size_t i = 0; m->t && i < m->t->nsites; i++)
		PT_CHECK_STR(m->t->sites[i]->module, m->module);
}

PT_TEST(test_sums)
{
	struct pt_kused k;
	struct pt_view v;

	kview(&v, fixture);
	PT_CHECK_EQ(pt_kused_build(&v, NULL, PT_KSORT_MODULE, 0, &k), 0);
	PT_CHECK_EQ(k.n, 4);
	PT_CHECK_EQ(k.nt, 4);
	check_module(module(&k, ""), 3, 4608, 2, 1, 3);
	check_module(module(&k, "foo"), 7, 8292, 3, 0, 3);
	check_module(module(&k, "bar"), 1, 8192, 1, 1, 2);
	check_module(module(&k, "zed"), 7, 300, 1, 0, 1);
	PT_CHECK_EQ(k.total.count, 18);
	PT_CHECK_EQ(k.total.bytes, 21392);
	PT_CHECK_EQ(k.total.holding, 7);
	PT_CHECK_EQ(k.total.inexact, 2);
	PT_CHECK(k.total.t == NULL && k.total.module == NULL);
	pt_kused_free(&k);
	PT_CHECK(k.m == NULL && k.t == NULL && k.n == 0);
	pt_view_free(&v);
}

/* Largest first, by name for the module key and for ties; reversed whole. */
PT_TEST(test_sort)
{
	static const struct {
		enum pt_ksort sort;
		int reverse;
		const char *want;
	} cases[] = {
	    {PT_KSORT_MODULE, 0, "(kernel) bar foo zed"},
	    {PT_KSORT_MODULE, 1, "zed foo bar (kernel)"},
	    {PT_KSORT_BYTES, 0, "foo bar (kernel) zed"},
	    {PT_KSORT_BYTES, 1, "zed (kernel) bar foo"},
	    {PT_KSORT_COUNT, 0, "foo zed (kernel) bar"}, /* foo and zed tie at 7 */
	    {PT_KSORT_COUNT, 1, "bar (kernel) zed foo"},
	};
	struct pt_kused k;
	struct pt_view v;

	kview(&v, fixture);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		PT_CHECK_EQ(pt_kused_build(&v, NULL, cases[i].sort, cases[i].reverse, &k), 0);
		PT_CHECK_STR(order(&k), cases[i].want);
		pt_kused_free(&k);
	}
	pt_view_free(&v);
}

/* Equal bytes and counts: by name, the kernel first. */
PT_TEST(test_ties)
{
	struct pt_kused k;
	struct pt_view v;

	kview(&v, HDR "64 2 b.c:1 [m2] func:f\n"
	              "64 2 a.c:1 [m10] func:f\n"
	              "32 1 k.c:1 func:f\n"
	              "32 1 k.c:2 func:g\n"
	              "64 2 c.c:1 [M] func:f\n");
	PT_CHECK_EQ(pt_kused_build(&v, NULL, PT_KSORT_BYTES, 0, &k), 0);
	PT_CHECK_STR(order(&k), "(kernel) M m10 m2");
	pt_kused_free(&k);
	PT_CHECK_EQ(pt_kused_build(&v, NULL, PT_KSORT_COUNT, 1, &k), 0);
	PT_CHECK_STR(order(&k), "m2 m10 M (kernel)");
	pt_kused_free(&k);
	pt_view_free(&v);
}

PT_TEST(test_pattern)
{
	static const struct {
		const char *pattern, *want;
	} cases[] = {
	    {"(kernel)", "(kernel)"},      {"*a*", "bar"}, {"f?o", "foo"},
	    {"*", "(kernel) bar foo zed"}, {"fo", ""},     {"[foo]", ""},
	};
	struct pt_kused k;
	struct pt_view v;

	kview(&v, fixture);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		PT_CHECK_EQ(pt_kused_build(&v, cases[i].pattern, PT_KSORT_MODULE, 0, &k), 0);
		PT_CHECK_STR(order(&k), cases[i].want);
		/* Every module is summed; the table and its total are those
		 * matching. */
		PT_CHECK_EQ(k.nt, 4);
		if (strcmp(cases[i].pattern, "*a*") == 0) {
			PT_CHECK_EQ(k.total.count, 1);
			PT_CHECK_EQ(k.total.bytes, 8192);
		}
		if (!*cases[i].want)
			PT_CHECK(k.total.count == 0 && k.total.bytes == 0 && k.total.holding == 0);
		pt_kused_free(&k);
	}
	pt_view_free(&v);
}

PT_TEST(test_empty)
{
	struct pt_kused k;
	struct pt_view v;

	kview(&v, HDR);
	PT_CHECK_EQ(pt_kused_build(&v, NULL, PT_KSORT_BYTES, 0, &k), 0);
	PT_CHECK(k.n == 0 && k.nt == 0 && k.total.count == 0 && k.total.holding == 0);
	pt_kused_free(&k);
	pt_view_free(&v);
}

/* A view from elsewhere (a kernel snapshot is text anyone can write) with
 * module names the parser would refuse: compared as bytes, never
 * interpreted. */
PT_TEST(test_any_bytes)
{
	static const char *const names[] = {"z\x01\x1b[2J", "\xff\xfe", "a"};
	struct pt_kused k;
	struct pt_view v;

	pt_view_init(&v);
	v.kernel_format = pt_view_strdup(&v, "1.0", 3);
	for (uint32_t i = 0; i < 3; i++) {
		struct pt_row r = {.tag = 100 + i,
		                   .pool = PT_NONPAGED,
		                   .line = 1,
		                   .file = "f.c",
		                   .func = "f",
		                   .module = names[i],
		                   .nallocs = 1,
		                   .bytes_alloc = 10};
		if (pt_view_add_row(&v, &r) != 0)
			abort();
	}
	PT_CHECK_EQ(pt_kused_build(&v, "*", PT_KSORT_MODULE, 0, &k), 0);
	PT_CHECK_EQ(k.n, 3);
	if (k.n == 3) {
		PT_CHECK_STR(k.m[0].module, "a");
		PT_CHECK_STR(k.m[1].module, names[0]);
		PT_CHECK_STR(k.m[2].module, names[1]); /* bytes compared unsigned */
	}
	PT_CHECK_EQ(k.total.count, 3);
	pt_kused_free(&k);
	PT_CHECK_EQ(pt_kused_build(&v, "z?*", PT_KSORT_MODULE, 0, &k), 0);
	PT_CHECK_EQ(k.n, 1);
	pt_kused_free(&k);
	pt_view_free(&v);
}

PT_TEST(test_out_of_memory)
{
	struct pt_kused k;
	struct pt_view v;
	long n;
	int rc;

	kview(&v, fixture);
	for (n = 0;; n++) {
		oom_arm(n);
		rc = pt_kused_build(&v, "*o*", PT_KSORT_BYTES, 0, &k);
		if (!oom_disarm())
			break;
		PT_CHECK_EQ(rc, -1);
		pt_kused_free(&k);
	}
	PT_CHECK(n > 0);
	PT_CHECK_EQ(rc, 0);
	PT_CHECK_STR(order(&k), "foo");
	pt_kused_free(&k);
	pt_view_free(&v);
}

int main(void)
{
	PT_RUN(test_sums);
	PT_RUN(test_sort);
	PT_RUN(test_ties);
	PT_RUN(test_pattern);
	PT_RUN(test_empty);
	PT_RUN(test_any_bytes);
	PT_RUN(test_out_of_memory);
	return pt_test_done();
}
