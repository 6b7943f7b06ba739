/*
 * test_ls.c - `pooltag ls` (cli/cmd/ls.c): a live process and the stale
 * segment of one that died without its exit handlers, each row with its
 * state, tags and outstanding bytes; --clean removes the stale one only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pooltag.h>

#include "pt_cmdtest.h"
#include "pt_test.h"

static char dir[] = "/tmp/pt_lstest_XXXXXX";
static pid_t dead;

/* The row of pid in ls's output, leading blanks kept; NULL if none. */
static const char *row_of(const char *out, pid_t pid, char *line, size_t len)
{
	char key[32];

	snprintf(key, sizeof(key), "%d  ", (int)pid);
	return line_of(out, key, line, len);
}

PT_TEST(test_live_and_stale)
{
	char out[8192], line[512], want[512];

	PT_CHECK_EQ(cmd_output(out, sizeof(out), pt_cmd_ls, "ls", NULL), 0);
	PT_CHECK_HAS(out, "     PID  STATE    TAGS  OUTSTANDING  COMMAND\n");
	snprintf(want, sizeof(want), "%d  %-6s %6d %12s  %s", (int)getpid(), "live", 1, "300 B",
	         "test_ls");
	PT_CHECK_STR(row_of(out, getpid(), line, sizeof(line)), want);
	snprintf(want, sizeof(want), "%d  %-6s %6d %12s  %s%s", (int)dead, "stale", 2, "1.3 KiB",
	         "test_ls", " (exited; 'pooltag ls --clean' removes it)");
	PT_CHECK_STR(row_of(out, dead, line, sizeof(line)), want);
}

PT_TEST(test_clean_removes_the_stale_only)
{
	char out[8192], line[512];

	PT_CHECK_EQ(cmd_output(out, sizeof(out), pt_cmd_ls, "ls", "--clean", NULL), 0);
	PT_CHECK_HAS(out, "removed 1 stale segment\n");
	PT_CHECK(row_of(out, dead, line, sizeof(line)) == NULL);
	PT_CHECK_EQ(cmd_output(out, sizeof(out), pt_cmd_ls, "ls", NULL), 0);
	PT_CHECK(row_of(out, dead, line, sizeof(line)) == NULL);
	PT_CHECK(row_of(out, getpid(), line, sizeof(line)) != NULL);
}

int main(void)
{
	void *held;
	int st, rc;

	if (!mkdtemp(dir))
		return 1;
	setenv("POOLTAG_DIR", dir, 1);
	held = pt_alloc(PT_PAGED, 300, "Live");
	dead = fork();
	if (dead == 0) {
		/* The 300 bytes it inherited and 1000 of its own under a
		 * second tag (1.3 KiB), and no exit handlers: the segment
		 * stays behind, stale. */
		pt_alloc(PT_NONPAGED, 1000, "Dead");
		_exit(0);
	}
	if (dead < 0 || waitpid(dead, &st, 0) != dead)
		return 1;
	PT_RUN(test_live_and_stale);
	PT_RUN(test_clean_removes_the_stale_only);
	pt_free(held, "Live");
	rc = pt_test_done();
	unlink(pt_export_path());
	rmdir(dir);
	return rc;
}
