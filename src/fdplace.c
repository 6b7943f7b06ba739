/*
 * fdplace.c - pooltag's own descriptors live above the program's range,
 * as valgrind places its own: at the soft RLIMIT_NOFILE (at most 65536)
 * minus a reserve of 32, with close-on-exec.  open(2) in the program then
 * returns the numbers it returns without pooltag.
 *
 * The limit the program sees is not lowered (`ulimit -n` prints the same);
 * a program that opens within 32 of its limit gets numbers that skip
 * pooltag's.  The cap keeps the kernel's descriptor table small when the
 * limit is huge (a table of a million entries costs megabytes).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "internal.h"

#define FD_RESERVE 32
#define FD_CAP 65536

int pt_fd_base(void)
{
	static int base = -1;
	struct rlimit rl;
	rlim_t soft = 1024;

	if (base >= 0)
		return base;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		soft = rl.rlim_cur;
	if (soft == RLIM_INFINITY || soft > FD_CAP)
		soft = FD_CAP;
	base = soft > 2 * FD_RESERVE ? (int)(soft - FD_RESERVE) : 3;
	return base;
}

int pt_fd_high(int fd)
{
	int e = errno, hi;

	if (fd < 0 || fd >= pt_fd_base())
		return fd;
	hi = fcntl(fd, F_DUPFD_CLOEXEC, pt_fd_base());
	if (hi >= 0)
		close(fd);
	errno = e;
	return hi >= 0 ? hi : fd; /* no room up there: the low one stays */
}
