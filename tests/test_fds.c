/*
 * test_fds.c - descriptors as handles (preload/fds.c), in a test program
 * linked with the interposer: open charges a handle to the line that called
 * it, close releases that charge exactly once, and pooltag's own descriptor
 * cannot be closed by the program.  The opens are made by a plugin
 * (pt_runtest.h): the interposer counts nothing of its own module.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pt_runtest.h"

/* The plugin's line opens /dev/null five times; each close gives its
 * handle back, a second close of the same number (EBADF) nothing. */
PT_TEST(test_close_releases_the_charge)
{
	uint32_t slot = 0;
	struct pt_count c;

	for (int i = 0; i < 5; i++) {
		int fd = plug.open("/dev/null");

		PT_CHECK(fd >= 0);
		if (fd < 0)
			return;
		if (i == 0) {
			slot = slot_of_fd(fd);
			PT_CHECK(slot != 0);
			if (!slot)
				return;
			PT_CHECK_EQ(pt_seg.slots[slot].tag, PT_TAG("File"));
			PT_CHECK_EQ(pt_seg.slots[slot].line, *plug.open_line);
		}
		PT_CHECK_EQ(slot_of_fd(fd), slot);
		c = count_of_slot(slot);
		PT_CHECK_EQ(c.nallocs, i + 1);
		PT_CHECK_EQ(c.curblocks, 1);
		PT_CHECK_EQ(close(fd), 0);
		PT_CHECK_EQ(slot_of_fd(fd), 0);
		c = count_of_slot(slot);
		PT_CHECK_EQ(c.nfrees, i + 1);
		PT_CHECK_EQ(c.curblocks, 0);
		errno = 0;
		PT_CHECK_EQ(close(fd), -1);
		PT_CHECK_EQ(errno, EBADF);
		PT_CHECK_EQ(count_of_slot(slot).nfrees, i + 1);
	}
}

/* A handle kept open stays charged while another of the same line comes
 * and goes on another number. */
PT_TEST(test_open_stays_charged)
{
	int keep = plug.open("/dev/null"), other = plug.open("/dev/zero");
	uint32_t slot = keep >= 0 ? slot_of_fd(keep) : 0;

	PT_CHECK(slot != 0 && other >= 0 && other != keep);
	PT_CHECK_EQ(count_of_slot(slot).curblocks, 2);
	PT_CHECK_EQ(close(other), 0);
	PT_CHECK_EQ(count_of_slot(slot).curblocks, 1);
	PT_CHECK_EQ(slot_of_fd(keep), slot);
	PT_CHECK_EQ(close(keep), 0);
	PT_CHECK_EQ(count_of_slot(slot).curblocks, 0);
}

/* The copy of standard error the reports fall back to: the program's close
 * says it is not open and leaves it. */
PT_TEST(test_own_descriptor_kept)
{
	int own = pt_run_own_err_fd();

	PT_CHECK(own >= 0);
	errno = 0;
	PT_CHECK_EQ(close(own), -1);
	PT_CHECK_EQ(errno, EBADF);
	PT_CHECK(fcntl(own, F_GETFD) != -1);
}

int main(void)
{
	if (plug_load() != 0)
		return 1;
	PT_RUN(test_close_releases_the_charge);
	PT_RUN(test_open_stays_charged);
	PT_RUN(test_own_descriptor_kept);
	return pt_test_done();
}
