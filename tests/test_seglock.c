/*
 * test_seglock.c - the segment's liveness lock (src/seglock.c): the
 * writer's lock seen as live from any other open, through its own
 * description only, and gone with its process; a remover's lock; and
 * removal only of a regular file of the given user that nobody holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pt_test.h"
#include "seglock.h"

static char dir[64] = "/tmp/pt-test-seglock.XXXXXX";
static char path[128];

static int make_file(void)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd >= 0 && write(fd, "seg", 3) != 3) {
		close(fd);
		return -1;
	}
	return fd;
}

static int exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

PT_TEST(test_free_live_free)
{
	int w = make_file(), r = open(path, O_RDONLY | O_CLOEXEC);

	PT_CHECK(w >= 0 && r >= 0);
	PT_CHECK_EQ(pt_seglock_test(r), PT_SEGLOCK_FREE);
	PT_CHECK_EQ(pt_seglock_hold(w), 0);
	PT_CHECK_EQ(pt_seglock_test(r), PT_SEGLOCK_LIVE);
	/* The lock is the description's: the holder's own test sees none. */
	PT_CHECK_EQ(pt_seglock_test(w), PT_SEGLOCK_FREE);
	PT_CHECK_EQ(pt_seglock_remove_dead(path, getuid()), 0);
	PT_CHECK(exists(path));
	close(w);
	PT_CHECK_EQ(pt_seglock_test(r), PT_SEGLOCK_FREE);
	PT_CHECK_EQ(pt_seglock_remove_dead(path, getuid()), 1);
	PT_CHECK(!exists(path));
	PT_CHECK_EQ(pt_seglock_remove_dead(path, getuid()), 0); /* gone already */
	close(r);
	errno = 0;
	PT_CHECK_EQ(pt_seglock_test(-1), PT_SEGLOCK_UNKNOWN);
	PT_CHECK_EQ(errno, EBADF);
}

/* A remover's write lock: seen as removing, and keeps other removers off. */
PT_TEST(test_removing)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	int rm = make_file(), r = open(path, O_RDONLY | O_CLOEXEC);

	PT_CHECK(rm >= 0 && r >= 0);
	PT_CHECK_EQ(fcntl(rm, F_OFD_SETLK, &fl), 0);
	PT_CHECK_EQ(pt_seglock_test(r), PT_SEGLOCK_REMOVING);
	PT_CHECK_EQ(pt_seglock_remove_dead(path, getuid()), 0);
	PT_CHECK(exists(path));
	close(rm);
	close(r);
	PT_CHECK_EQ(pt_seglock_remove_dead(path, getuid()), 1);
}

/* The lock lasts as long as its process: a child's goes with it. */
PT_TEST(test_gone_with_its_process)
{
	int fds[2], fd = make_file(), st = -1;
	char c = 0;
	pid_t pid;

	PT_CHECK(fd >= 0 && pipe(fds) == 0);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int w = open(path, O_RDWR | O_CLOEXEC);

		close(fds[0]);
		c = w >= 0 && pt_seglock_hold(w) == 0 ? 'L' : 'E';
		if (write(fds[1], &c, 1) != 1)
			_exit(1);
		pause(); /* until killed */
		_exit(0);
	}
	close(fds[1]);
	PT_CHECK_EQ(read(fds[0], &c, 1), 1);
	PT_CHECK_EQ(c, 'L');
	PT_CHECK_EQ(pt_seglock_test(fd), PT_SEGLOCK_LIVE);
	PT_CHECK_EQ(pt_seglock_remove_dead(path, getuid()), 0);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(fds[0]);
	PT_CHECK_EQ(pt_seglock_test(fd), PT_SEGLOCK_FREE);
	PT_CHECK_EQ(pt_seglock_remove_dead(path, getuid()), 1);
	close(fd);
}

/* Only a regular file of uid is removed; a symbolic link to a dead one,
 * a directory or another user's file are left alone. */
PT_TEST(test_what_is_left_alone)
{
	char link[160], sub[160];
	int fd = make_file();

	PT_CHECK(fd >= 0);
	close(fd);
	PT_CHECK_EQ(pt_seglock_remove_dead(path, getuid() + 1), 0);
	PT_CHECK(exists(path));
	snprintf(link, sizeof(link), "%s/link", dir);
	PT_CHECK_EQ(symlink(path, link), 0);
	PT_CHECK_EQ(pt_seglock_remove_dead(link, getuid()), 0);
	PT_CHECK(exists(link) && exists(path));
	unlink(link);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	PT_CHECK_EQ(mkdir(sub, 0700), 0);
	PT_CHECK_EQ(pt_seglock_remove_dead(sub, getuid()), 0);
	PT_CHECK(exists(sub));
	rmdir(sub);
	/* A path through a file: an error, with errno. */
	snprintf(sub, sizeof(sub), "%s/x", path);
	errno = 0;
	PT_CHECK_EQ(pt_seglock_remove_dead(sub, getuid()), -1);
	PT_CHECK_EQ(errno, ENOTDIR);
	PT_CHECK_EQ(pt_seglock_remove_dead(path, getuid()), 1);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/pooltag-1", dir);
	PT_RUN(test_free_live_free);
	PT_RUN(test_removing);
	PT_RUN(test_gone_with_its_process);
	PT_RUN(test_what_is_left_alone);
	unlink(path);
	rmdir(dir);
	return pt_test_done();
}
