/*
 * test_report.c - the report of what a module holds (preload/report.c),
 * in a test program linked with the interposer: blocks held at two lines
 * and a descriptor left open by a plugin (pt_runtest.h), reported the way
 * a dlclose reports them.  The verdict's figures are the sums of the groups
 * listed above it, exactly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pt_runtest.h"

static char out_path[] = "/tmp/pt_report_XXXXXX";

/* The text pt_run_report wrote for module (its output file emptied first),
 * into buf; its number of findings. */
static int report(uint32_t module, char *buf, size_t len)
{
	FILE *f;
	size_t n = 0;
	int findings;

	if (truncate(out_path, 0) != 0)
		return -1;
	/* As dlclose and exit call it: busy, so that its own allocations
	 * take no lock the report holds (preload.h). */
	pt_run_busy = 1;
	findings = pt_run_report(module, "checked");
	pt_run_busy = 0;
	f = fopen(out_path, "r");
	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = 0;
	return findings;
}

PT_TEST(test_held_blocks_and_descriptor)
{
	void *a[3], *b[2];
	char text[8192], want[1024];
	int fd = plug.open("/dev/null");
	uint32_t slot = fd >= 0 ? slot_of_fd(fd) : 0, module;

	PT_CHECK(slot != 0);
	if (!slot)
		return;
	module = pt_seg.slots[slot].module;
	PT_CHECK(module != 0);
	for (int i = 0; i < 3; i++)
		a[i] = plug.alloc_a(100);
	for (int i = 0; i < 2; i++)
		b[i] = plug.alloc_b(50);
	PT_CHECK_EQ(report(module, text, sizeof(text)), 3);
	/* The whole report: the groups, largest first, the descriptor, and
	 * the verdict summing them. */
	snprintf(
	    want, sizeof(want),
	    "  memory held:\n"
	    "    3 blocks, 300 bytes held [runp] by runplug.so at runplug.c:%d in runplug_alloc_a\n"
	    "    2 blocks, 100 bytes held [runp] by runplug.so at runplug.c:%d in runplug_alloc_b\n"
	    "  descriptors open:\n"
	    "    fd %d [File] /dev/null opened by runplug.so at runplug.c:%d in runplug_open\n"
	    "pooltag: runplug.so (pid %d) checked: 3 findings: held 5 blocks (400 bytes) in 2 "
	    "groups, 1 descriptors open, 0 bad frees, 0 misuse reports\n",
	    *plug.a_line, *plug.b_line, fd, *plug.open_line, (int)getpid());
	PT_CHECK_STR(text, want);
	/* One group given back: the figures follow. */
	for (int i = 0; i < 3; i++)
		free(a[i]);
	PT_CHECK_EQ(report(module, text, sizeof(text)), 2);
	PT_CHECK(!strstr(text, "runplug_alloc_a"));
	snprintf(want, sizeof(want),
	         "pooltag: runplug.so (pid %d) checked: 2 findings: held 2 blocks (100 bytes) in 1 "
	         "groups, 1 descriptors open, 0 bad frees, 0 misuse reports\n",
	         (int)getpid());
	PT_CHECK_HAS(text, want);
	/* Everything given back: clean. */
	for (int i = 0; i < 2; i++)
		free(b[i]);
	close(fd);
	PT_CHECK_EQ(report(module, text, sizeof(text)), 0);
	snprintf(want, sizeof(want), "pooltag: runplug.so (pid %d) checked: clean, nothing held\n",
	         (int)getpid());
	PT_CHECK_STR(text, want);
}

int main(void)
{
	int fd = mkstemp(out_path), rc;

	if (fd < 0 || plug_load() != 0)
		return 1;
	close(fd);
	/* Reports to this file rather than standard error (channel.c). */
	snprintf(pt_run_cfg.output, sizeof(pt_run_cfg.output), "%s", out_path);
	PT_RUN(test_held_blocks_and_descriptor);
	rc = pt_test_done();
	pt_run_cfg.output[0] = 0;
	unlink(out_path);
	return rc;
}
