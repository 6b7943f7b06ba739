/*
 * seglock.c - the segment's liveness lock (see seglock.h for the protocol).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seglock.h"

/* Byte 0, one byte: the whole protocol uses this one range. */
static struct flock range(short type)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	return fl;
}

int pt_seglock_hold(int fd)
{
	struct flock fl = range(F_RDLCK);

	return fcntl(fd, F_OFD_SETLK, &fl);
}

enum pt_seglock pt_seglock_test(int fd)
{
	/* The question is asked as a write lock, which any lock conflicts
	 * with; the answer names the kind of lock found. */
	struct flock fl = range(F_WRLCK);

	if (fcntl(fd, F_OFD_GETLK, &fl) != 0)
		return PT_SEGLOCK_UNKNOWN;
	return fl.l_type == F_UNLCK ? PT_SEGLOCK_FREE
	       : fl.l_type == F_RDLCK ? PT_SEGLOCK_LIVE
				      : PT_SEGLOCK_REMOVING;
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int pt_seglock_remove_dead(const char *path, uid_t uid)
{
	struct stat before, st, now;
	struct flock fl = range(F_WRLCK);
	int fd, rc = 0, e;

	if (lstat(path, &before) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISREG(before.st_mode) || before.st_uid != uid)
		return 0;
	fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) != 0 || !same_file(&st, &before)) {
		close(fd);
		return 0; /* replaced since the lstat: look again next time */
	}
	if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
		e = errno;
		close(fd);
		if (e == EAGAIN || e == EACCES)
			return 0; /* live, or another remover's */
		errno = e;
		return -1;
	}
	/* Locked: nobody else removes or replaces this file now; check the name
	 * still leads to it. */
	if (lstat(path, &now) == 0 && same_file(&now, &st)) {
		rc = unlink(path) == 0 ? 1 : errno == ENOENT ? 0 : -1;
	}
	e = errno;
	close(fd); /* drops the remover's lock */
	errno = e;
	return rc;
}
