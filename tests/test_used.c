/*
 * test_used.c - `pooltag used` (cli/cmd/used.c) on a snapshot: each tag's row
 * and the TOTAL row, whose non-paged and paged columns differ in every
 * number, in the short and the verbose layout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pt_cmdtest.h"
#include "pt_test.h"

static char snap[] = "/tmp/pt_used_XXXXXX";

/* Bbbb's frees come from three sites; Cccc is in both pools. */
static const char text[] =
    "pooltag-snapshot 2\npid 4242\nuid 0\ncommand fixture\ntaken 1000000000\n"
    "site\tAaaa\tpaged\t10\t0\t1000\t0\t1\ta.c\tafunc\tfixture\n"
    "site\tBbbb\tnonpaged\t40\t36\t4000\t3600\t2\tb.c\tbfunc\tfixture\n"
    "site\tBbbb\tnonpaged\t20\t20\t2000\t2000\t3\tb.c\tbfunc\tfixture\n"
    "site\tBbbb\tnonpaged\t7\t3\t70\t30\t4\tb.c\tbfunc2\tfixture\n"
    "site\tCccc\tnonpaged\t3\t0\t3000\t0\t5\tc.c\tcfunc\tfixture\n"
    "site\tCccc\tpaged\t100\t70\t100\t70\t6\tc.c\tcfunc\tfixture\n"
    "end\t6\t0\n";

/* Non-paged: 70 allocs, 59 frees, 11 outstanding, 3440 bytes;
 * paged: 110 allocs, 70 frees, 40 outstanding, 1030 bytes. */
PT_TEST(test_rows_and_total_verbose)
{
	char out[8192], line[256], want[256];

	PT_CHECK_EQ(cmd_output(out, sizeof(out), pt_cmd_used, "used", "-v", snap, NULL), 0);
	snprintf(want, sizeof(want), "Bbbb%9d%10d%9d%9d%9d%10d%9d%9d", 67, 59, 8, 440, 0, 0, 0, 0);
	PT_CHECK_HAS(line_of(out, "Bbbb", line, sizeof(line)), want);
	snprintf(want, sizeof(want), "Cccc%9d%10d%9d%9d%9d%10d%9d%9d", 3, 0, 3, 3000, 100, 70, 30,
	         30);
	PT_CHECK_HAS(line_of(out, "Cccc", line, sizeof(line)), want);
	snprintf(want, sizeof(want), "TOTAL%9d%10d%9d%9d%9d%10d%9d%9d", 70, 59, 11, 3440, 110, 70,
	         40, 1030);
	PT_CHECK_STR(line_of(out, "TOTAL", line, sizeof(line)), want);
}

PT_TEST(test_total_short)
{
	char out[8192], line[256], want[256];

	PT_CHECK_EQ(cmd_output(out, sizeof(out), pt_cmd_used, "used", snap, NULL), 0);
	snprintf(want, sizeof(want), "TOTAL%9d%9d %9d%9d", 11, 3440, 40, 1030);
	PT_CHECK_STR(line_of(out, "TOTAL", line, sizeof(line)), want);
	/* -t 1 shows one tag; TOTAL still counts them all. */
	PT_CHECK_EQ(cmd_output(out, sizeof(out), pt_cmd_used, "used", "-t", "1", snap, NULL), 0);
	PT_CHECK(line_of(out, "Bbbb", line, sizeof(line)) == NULL);
	PT_CHECK_STR(line_of(out, "TOTAL", line, sizeof(line)), want);
}

int main(void)
{
	int fd, rc;

	unsetenv("POOLTAG_TAGS");
	fd = mkstemp(snap);
	if (fd < 0 || write(fd, text, sizeof(text) - 1) != (ssize_t)(sizeof(text) - 1))
		return 1;
	close(fd);
	PT_RUN(test_rows_and_total_verbose);
	PT_RUN(test_total_short);
	rc = pt_test_done();
	unlink(snap);
	return rc;
}
