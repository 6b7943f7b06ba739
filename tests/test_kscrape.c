/*
 * test_kscrape.c - the kernel's series of an exporter scrape
 * (cli/exporter/kscrape.c), read from a directory standing for /proc
 * ($POOLTAG_PROC) written in the test: the per-module gauges, "(kernel)"
 * for the kernel's own sites; with --sites a series per site holding
 * memory, repeated lines added up, label values escaped; the series budget
 * at its bound and one past it, shared with what came before; a kernel
 * that cannot be read adds nothing; every allocation failed in turn.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "expo.h"
#include "kscrape.h"
#include "pt_oom.h"
#include "pt_test.h"

static char proc[] = "/tmp/pt-test-kscrape.XXXXXX";

/* ka is listed twice, kb holds nothing; foo's f1 has a quote, a backslash
 * and a byte that is not UTF-8 in its labels, f2 holds bytes and no count,
 * f3 a count and no bytes. */
static const char allocinfo[] = "allocinfo - version: 1.0\n"
                                "#     <size>  <calls> <tag info>\n"
                                "        4096        2 mm/a.c:1 func:ka\n"
                                "         100        1 mm/a.c:1 func:ka\n"
                                "           0        0 mm/a.c:2 func:kb\n"
                                "        8192        4 drivers/foo/x\"q\\.c:10 [foo] func:f1\xff\n"
                                "         512        0 drivers/foo/x.c:11 [foo] func:f2\n"
                                "           0        3 drivers/foo/x.c:12 [foo] func:f3\n";

static const char modules_text[] =
    "# HELP pooltag_kernel_outstanding_allocations Kernel allocations not freed, per module "
    "(/proc/allocinfo).\n"
    "# TYPE pooltag_kernel_outstanding_allocations gauge\n"
    "pooltag_kernel_outstanding_allocations{module=\"(kernel)\"} 3\n"
    "pooltag_kernel_outstanding_allocations{module=\"foo\"} 7\n"
    "# HELP pooltag_kernel_outstanding_bytes Kernel bytes allocated and not freed, per module "
    "(/proc/allocinfo).\n"
    "# TYPE pooltag_kernel_outstanding_bytes gauge\n"
    "pooltag_kernel_outstanding_bytes{module=\"(kernel)\"} 4196\n"
    "pooltag_kernel_outstanding_bytes{module=\"foo\"} 8704\n";

#define SITE_C "pooltag_kernel_site_outstanding_allocations"
#define SITE_B "pooltag_kernel_site_outstanding_bytes"
#define KA     "{module=\"(kernel)\",file=\"mm/a.c\",line=\"1\",function=\"ka\"}"
#define F1     "{module=\"foo\",file=\"drivers/foo/x\\\"q\\\\.c\",line=\"10\",function=\"f1?\"}"
#define F2     "{module=\"foo\",file=\"drivers/foo/x.c\",line=\"11\",function=\"f2\"}"
#define F3     "{module=\"foo\",file=\"drivers/foo/x.c\",line=\"12\",function=\"f3\"}"

static const char sites_text[] =
    "# HELP " SITE_C " Kernel allocations not freed, per call site and module (/proc/allocinfo).\n"
    "# TYPE " SITE_C " gauge\n" SITE_C KA " 3\n" SITE_C F1 " 4\n" SITE_C F2 " 0\n" SITE_C F3 " 3\n"
    "# HELP " SITE_B " Kernel bytes allocated and not freed, per call site and module.\n"
    "# TYPE " SITE_B " gauge\n" SITE_B KA " 4196\n" SITE_B F1 " 8192\n" SITE_B F2 " 512\n" SITE_B F3
    " 0\n";

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", proc, name);
	if (!(f = fopen(path, "w")) || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

static void rm(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", proc, name);
	unlink(path);
}

struct scrape {
	int rc;
	size_t series, skipped;
	char err[512];
	char *text;
};

/* A scrape of the kernel alone into a new writer, series counted from
 * series0. */
static struct scrape scrape(int sites, size_t budget, size_t series0)
{
	struct scrape s = {.series = series0};
	struct pt_expo e;
	size_t len;

	pt_expo_init(&e);
	s.rc = pt_kscrape_add(&e, sites, budget, &s.series, &s.skipped, s.err, sizeof(s.err));
	s.text = pt_expo_text(&e, &len);
	pt_expo_free(&e);
	if (!s.text)
		abort();
	return s;
}

PT_TEST(test_modules)
{
	struct scrape s = scrape(0, 1000, 0);

	PT_CHECK_EQ(s.rc, 0);
	PT_CHECK_STR(s.text, modules_text);
	PT_CHECK_EQ(s.series, 4);
	PT_CHECK_EQ(s.skipped, 0);
	free(s.text);
}

/* Sites holding memory only, each label set once. */
PT_TEST(test_sites)
{
	char want[sizeof(modules_text) + sizeof(sites_text)];
	struct scrape s = scrape(1, 1000, 0);

	snprintf(want, sizeof(want), "%s%s", modules_text, sites_text);
	PT_CHECK_EQ(s.rc, 0);
	PT_CHECK_STR(s.text, want);
	PT_CHECK_EQ(s.series, 12);
	PT_CHECK_EQ(s.skipped, 0);
	free(s.text);
}

/* Two series at a time, while they fit within the budget; those left out
 * are counted. */
PT_TEST(test_budget)
{
	struct scrape s;

	s = scrape(1, 12, 0); /* exactly enough */
	PT_CHECK(s.rc == 0 && s.series == 12 && s.skipped == 0);
	free(s.text);
	s = scrape(1, 11, 0); /* the last site left out */
	PT_CHECK(s.rc == 0 && s.series == 10 && s.skipped == 2);
	PT_CHECK(strstr(s.text, "line=\"12\"") == NULL);
	PT_CHECK_HAS(s.text, SITE_B F2 " 512\n");
	free(s.text);
	s = scrape(1, 3, 0); /* the kernel's own module only */
	PT_CHECK(s.rc == 0 && s.series == 2 && s.skipped == 10);
	PT_CHECK(strstr(s.text, "foo") == NULL);
	free(s.text);
	s = scrape(1, 12, 5); /* five series of processes before */
	PT_CHECK(s.rc == 0 && s.series == 11 && s.skipped == 6);
	PT_CHECK_HAS(s.text, SITE_C KA " 3\n");
	PT_CHECK(strstr(s.text, F1) == NULL);
	free(s.text);
	s = scrape(0, 4, 0); /* the modules, exactly */
	PT_CHECK(s.rc == 0 && s.series == 4 && s.skipped == 0);
	free(s.text);
	s = scrape(0, 2, 0);
	PT_CHECK(s.rc == 0 && s.series == 2 && s.skipped == 2);
	PT_CHECK_HAS(s.text, "{module=\"(kernel)\"} 4196\n");
	free(s.text);
	s = scrape(0, 1, 0);
	PT_CHECK(s.rc == 0 && s.series == 0 && s.skipped == 4);
	PT_CHECK_STR(s.text, "");
	free(s.text);
}

/* A kernel with nothing outstanding anywhere: the modules at 0, no site. */
PT_TEST(test_nothing_held)
{
	struct scrape s;

	put("allocinfo", "allocinfo - version: 1.0\n#     <size>  <calls> <tag info>\n"
	                 "0 0 mm/a.c:1 func:ka\n");
	s = scrape(1, 1000, 0);
	PT_CHECK_EQ(s.rc, 0);
	PT_CHECK_HAS(s.text, "pooltag_kernel_outstanding_bytes{module=\"(kernel)\"} 0\n");
	PT_CHECK(strstr(s.text, "site") == NULL);
	PT_CHECK_EQ(s.series, 2);
	free(s.text);
	put("allocinfo", "allocinfo - version: 1.0\n#     <size>  <calls> <tag info>\n");
	s = scrape(1, 1000, 0);
	PT_CHECK(s.rc == 0 && s.series == 0 && strcmp(s.text, "") == 0);
	free(s.text);
	put("allocinfo", allocinfo);
}

/* The kernel cannot be read: -1 with the reason, nothing added. */
PT_TEST(test_unreadable)
{
	char path[256];
	struct scrape s;

	rm("allocinfo");
	s = scrape(1, 1000, 7);
	PT_CHECK_EQ(s.rc, -1);
	PT_CHECK_HAS(s.err, "does not exist");
	PT_CHECK(s.series == 7 && s.skipped == 0 && strcmp(s.text, "") == 0);
	free(s.text);
	put("allocinfo", allocinfo);
	snprintf(path, sizeof(path), "%s/sys", proc);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/sys/vm", proc);
	mkdir(path, 0700);
	put("sys/vm/mem_profiling", "0\n");
	s = scrape(1, 1000, 0);
	PT_CHECK_EQ(s.rc, -1);
	PT_CHECK_HAS(s.err, "switched off");
	PT_CHECK(s.series == 0 && strcmp(s.text, "") == 0);
	free(s.text);
	rm("sys/vm/mem_profiling");
	rmdir(path);
	snprintf(path, sizeof(path), "%s/sys", proc);
	rmdir(path);
}

/* Each allocation failed in turn: -1 with a reason, or the whole scrape
 * (the reader takes a module list it could not read as unknown, which the
 * series do not show). */
PT_TEST(test_out_of_memory)
{
	char want[sizeof(modules_text) + sizeof(sites_text)], err[512], *text;
	struct pt_expo e;
	size_t series, skipped, len;
	long n;
	int rc, failed;

	snprintf(want, sizeof(want), "%s%s", modules_text, sites_text);
	for (n = 0;; n++) {
		series = skipped = 0;
		err[0] = 0;
		pt_expo_init(&e);
		oom_arm(n);
		rc = pt_kscrape_add(&e, 1, 1000, &series, &skipped, err, sizeof(err));
		failed = oom_disarm();
		if (rc == 0) {
			text = pt_expo_text(&e, &len);
			PT_CHECK_STR(text, want);
			PT_CHECK_EQ(series, 12);
			free(text);
		} else {
			PT_CHECK_EQ(rc, -1);
			PT_CHECK(err[0] != 0);
		}
		pt_expo_free(&e);
		if (!failed)
			break;
	}
	PT_CHECK(n > 0);
	PT_CHECK_EQ(rc, 0);
}

int main(void)
{
	int rc;

	if (!mkdtemp(proc))
		return 1;
	setenv("POOLTAG_PROC", proc, 1);
	put("allocinfo", allocinfo);
	put("modules", "foo 16384 0 - Live 0x0\n");
	PT_RUN(test_modules);
	PT_RUN(test_sites);
	PT_RUN(test_budget);
	PT_RUN(test_nothing_held);
	PT_RUN(test_unreadable);
	PT_RUN(test_out_of_memory);
	rc = pt_test_done();
	rm("allocinfo");
	rm("modules");
	rmdir(proc);
	return rc;
}
