/*
 * test_diff.c - `pooltag diff OLD NEW` (cli/cmd/diff.c) on two snapshots: a
 * tag is a leak suspect when its outstanding count and bytes both grew, or,
 * for references and handles (no bytes), its count alone; every row's
 * numbers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pt_cmdtest.h"
#include "pt_test.h"

static char old_path[] = "/tmp/pt_diff_old_XXXXXX", new_path[] = "/tmp/pt_diff_new_XXXXXX";

#define HDR "pooltag-snapshot 2\npid 4242\nuid 0\ncommand fixture\n"

/* Between the two: the driver kept 40 more references and 40 more handles
 * on Proc objects whose memory was freed; Zero's zero-byte blocks grew in
 * number but not in bytes; Grow grew in both. */
static const char old_text[] =
    HDR "taken 1000000000\n"
        "site\tProc\tnonpaged\t100\t100\t24000\t24000\t1\tps.c\tcreate\tfixture\n"
        "site\tProc\trefs\t100\t90\t0\t0\t2\tdrv.c\tget_path\tfixture\n"
        "site\tProc\thandles\t100\t90\t0\t0\t3\tdrv.c\tget_path\tfixture\n"
        "site\tZero\tpaged\t10\t0\t0\t0\t4\tz.c\tzfunc\tfixture\n"
        "site\tGrow\tpaged\t5\t0\t500\t0\t5\tg.c\tgfunc\tfixture\n"
        "end\t5\t0\n";
static const char new_text[] =
    HDR "taken 3000000000\n"
        "site\tProc\tnonpaged\t200\t200\t48000\t48000\t1\tps.c\tcreate\tfixture\n"
        "site\tProc\trefs\t200\t150\t0\t0\t2\tdrv.c\tget_path\tfixture\n"
        "site\tProc\thandles\t200\t150\t0\t0\t3\tdrv.c\tget_path\tfixture\n"
        "site\tZero\tpaged\t20\t0\t0\t0\t4\tz.c\tzfunc\tfixture\n"
        "site\tGrow\tpaged\t8\t0\t800\t0\t5\tg.c\tgfunc\tfixture\n"
        "end\t5\t0\n";

/* The numbers of a row as diff prints them: +Diff +Used +Allocs +Frees
 * Diff Used. */
static void want_row(char *buf, size_t len, const char *tag, const char *pool, long dd, long du,
                     long da, long df, unsigned long d, unsigned long u)
{
	char a[24], f[24];

	snprintf(a, sizeof(a), "%+ld", da);
	snprintf(f, sizeof(f), "%+ld", df);
	snprintf(buf, len, "%-4s %-8s %+12ld %+12ld %9s %9s %9lu %10lu", tag, pool, dd, du, a, f, d,
	         u);
}

PT_TEST(test_refs_and_handles_are_suspects)
{
	char out[8192], line[512], want[512];
	const char *suspects, *other, *p;

	PT_CHECK_EQ(cmd_output(out, sizeof(out), pt_cmd_diff, "diff", old_path, new_path, NULL), 0);
	PT_CHECK_HAS(out, ", 2.00 s apart\n");
	suspects = strstr(out, "\n Leak suspects: outstanding count and bytes grew\n");
	other = strstr(out, "\n Other changes:\n");
	PT_CHECK(suspects && other && suspects < other);
	if (!suspects || !other)
		return;
	/* Suspects, largest growth in bytes first (here none), then count. */
	want_row(want, sizeof(want), "Grow", "Paged", 3, 300, 3, 0, 8, 800);
	PT_CHECK_HAS(line_of(suspects, "Grow", line, sizeof(line)), want);
	PT_CHECK((p = strstr(out, want)) && p < other);
	want_row(want, sizeof(want), "Proc", "Refs", 40, 0, 100, 60, 50, 0);
	PT_CHECK((p = strstr(out, want)) && p > suspects && p < other);
	want_row(want, sizeof(want), "Proc", "Handles", 40, 0, 100, 60, 50, 0);
	PT_CHECK((p = strstr(out, want)) && p > suspects && p < other);
	/* More blocks but no more bytes: not a suspect; nor memory freed
	 * as fast as it was allocated. */
	want_row(want, sizeof(want), "Zero", "Paged", 10, 0, 10, 0, 20, 0);
	PT_CHECK((p = strstr(out, want)) && p > other);
	want_row(want, sizeof(want), "Proc", "NonPaged", 0, 0, 100, 100, 0, 0);
	PT_CHECK((p = strstr(out, want)) && p > other);
}

static int put(char *path, const char *text, size_t len)
{
	int fd = mkstemp(path), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, text, len) == (ssize_t)len;
	close(fd);
	return ok ? 0 : -1;
}

int main(void)
{
	int rc;

	unsetenv("POOLTAG_TAGS");
	if (put(old_path, old_text, sizeof(old_text) - 1) != 0 ||
	    put(new_path, new_text, sizeof(new_text) - 1) != 0)
		return 1;
	PT_RUN(test_refs_and_handles_are_suspects);
	rc = pt_test_done();
	unlink(old_path);
	unlink(new_path);
	return rc;
}
