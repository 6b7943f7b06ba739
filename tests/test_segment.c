/*
 * test_segment.c - the export segment: where it lives, who may read it, what
 * a fork child and an exit do to it, and the switch that turns it off.
 *
 * Cases that need a fresh process (environment read at start-up) re-run
 * this program with a mode argument.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pooltag.h>

#include "pt_libtest.h"
#include "segread.h"

static char dir[] = "/tmp/pt_segtest_XXXXXX";

static int count_outstanding(const char *tag)
{
	struct pt_count c;
	pt_count_tag(pt_tag_make(tag), PT_PAGED, &c);
	return (int)c.curblocks;
}

/* Runs this program again with argument mode and extra environment. */
static int rerun(const char *mode, const char *env)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		char *argv[] = {"test_segment", (char *)mode, NULL};
		if (env)
			putenv((char *)env);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

PT_TEST(test_file_and_mode)
{
	void *p = pt_alloc(PT_PAGED, 10, "SgA ");
	const char *path = pt_export_path();
	char want[PATH_MAX];
	struct stat st;

	snprintf(want, sizeof(want), "%s/pooltag-%d", dir, (int)getpid());
	PT_CHECK_STR(path, want);
	PT_CHECK(path && stat(path, &st) == 0);
	PT_CHECK_EQ(st.st_mode & 0777, 0600);
	PT_CHECK_EQ(st.st_uid, geteuid());
	pt_free(p, "SgA ");
}

/* The live process reads as live, and its counters through the reader. */
PT_TEST(test_read_self)
{
	void *p = pt_alloc(PT_NONPAGED, 48, "SgB ");
	struct pt_view v;
	char err[512];
	int found = 0;

	pt_view_init(&v);
	PT_CHECK_EQ(pt_segread_pid(&v, getpid(), err, sizeof(err)), 0);
	for (size_t i = 0; i < v.nrows; i++)
		found += v.rows[i].tag == PT_TAG("SgB ") && v.rows[i].pool == PT_NONPAGED &&
			 v.rows[i].bytes_alloc - v.rows[i].bytes_freed == 48;
	PT_CHECK_EQ(found, 1);
	PT_CHECK_EQ(v.pid, getpid());
	pt_view_free(&v);
	pt_free(p, "SgB ");
}

/* A fork child counts into a segment of its own, starting from a copy of
 * its parent's counters; the parent sees none of the child's work. */
PT_TEST(test_fork_child_has_own_segment)
{
	void *kept = pt_alloc(PT_PAGED, 7, "Prnt");
	char parent_path[PATH_MAX];
	int st = -1;
	pid_t pid;

	snprintf(parent_path, sizeof(parent_path), "%s", pt_export_path());
	pid = fork();
	if (pid == 0) {
		void *c[5];
		char want[PATH_MAX];
		int rc = 0;
		for (int i = 0; i < 5; i++)
			c[i] = pt_alloc(PT_PAGED, 3, "Chld");
		snprintf(want, sizeof(want), "%s/pooltag-%d", dir, (int)getpid());
		if (!pt_export_path() || strcmp(pt_export_path(), want) != 0)
			rc = 1;
		else if (count_outstanding("Prnt") != 1 || count_outstanding("Chld") != 5)
			rc = 2;
		else if (access(parent_path, F_OK) != 0)
			rc = 3;
		for (int i = 0; i < 5; i++)
			pt_free(c[i], "Chld");
		pt_free(kept, "Prnt");
		exit(rc); /* normal exit: unlinks the child's segment */
	}
	PT_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	PT_CHECK_EQ(WEXITSTATUS(st), 0);
	PT_CHECK_EQ(count_outstanding("Chld"), 0);
	PT_CHECK_EQ(count_outstanding("Prnt"), 1);
	PT_CHECK_STR(pt_export_path(), parent_path);
	PT_CHECK(access(parent_path, F_OK) == 0);
	{
		char child_path[PATH_MAX];
		snprintf(child_path, sizeof(child_path), "%s/pooltag-%d", dir, (int)pid);
		PT_CHECK(access(child_path, F_OK) != 0); /* removed at its exit */
	}
	pt_free(kept, "Prnt");
}

/* A child that execs another program right away (system, popen) leaves no
 * segment behind: it never counted, so it never exported. */
PT_TEST(test_fork_exec_leaves_nothing)
{
	char path[PATH_MAX];
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	PT_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	snprintf(path, sizeof(path), "%s/pooltag-%d", dir, (int)pid);
	PT_CHECK(access(path, F_OK) != 0);
}

/* A process that dies without exit handlers leaves a stale segment: the
 * list says so, and reading that pid says so. */
PT_TEST(test_stale_after_crash)
{
	struct pt_segent *e;
	struct pt_view v;
	size_t n;
	char err[512];
	int st, stale = 0;
	pid_t pid = fork();

	if (pid == 0) {
		pt_free(pt_alloc(PT_PAGED, 1, "Dead"), "Dead");
		_exit(0); /* no atexit: the segment stays */
	}
	waitpid(pid, &st, 0);
	PT_CHECK_EQ(pt_seglist(&e, &n, err, sizeof(err)), 0);
	for (size_t i = 0; i < n; i++) {
		if (e[i].pid == pid)
			stale += e[i].stale;
		if (e[i].pid == getpid())
			PT_CHECK(!e[i].stale);
	}
	free(e);
	PT_CHECK_EQ(stale, 1);
	pt_view_init(&v);
	PT_CHECK_EQ(pt_segread_pid(&v, pid, err, sizeof(err)), PT_SEGREAD_EXITED);
	PT_CHECK_HAS(err, "stale segment");
	PT_CHECK_HAS(err, "has exited");
	pt_view_free(&v);
}

PT_TEST(test_export_off)
{
	PT_CHECK_EQ(rerun("noexport", "POOLTAG_EXPORT=0"), 0);
}

PT_TEST(test_leftover_replaced)
{
	PT_CHECK_EQ(rerun("leftover", NULL), 0);
}

/* Child modes: 0 on success, a distinct code per failed check. */
static int mode_noexport(void)
{
	void *p = pt_alloc(PT_PAGED, 5, "NoEx");
	int rc = pt_export_path() != NULL ? 1 : count_outstanding("NoEx") != 1 ? 2 : 0;

	pt_free(p, "NoEx");
	return rc ? rc : count_outstanding("NoEx") != 0 ? 3 : 0;
}

/* A file already at our name (left by an earlier program with our pid) is
 * replaced, never written into while it is someone else's. */
static int mode_leftover(void)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;
	void *p;

	snprintf(path, sizeof(path), "%s/pooltag-%d", getenv("POOLTAG_DIR"), (int)getpid());
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
	if (fd < 0 || write(fd, "garbage", 7) != 7)
		return 10;
	close(fd);
	p = pt_alloc(PT_PAGED, 5, "Left");
	if (!pt_export_path() || strcmp(pt_export_path(), path) != 0)
		return 11;
	if (stat(path, &st) != 0 || st.st_size < 4096)
		return 12;
	pt_free(p, "Left");
	return 0;
}

/*
 * Fork while 4 threads allocate and free.  The threads count each
 * operation in memory of their own, under a lock this program holds across
 * fork (its handler is registered after the library's, so it is taken
 * first and released last): the child's memory then holds exactly the
 * operations made before fork, and its counters must say the same.  The
 * parent's threads go on counting as soon as fork returns; a child that
 * took its copy of the (shared) counters after that would count more.
 */
#define FORK_THREADS 4
static pthread_mutex_t fork_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t fork_allocs, fork_frees;
static int fork_stop;

static void fork_lock(void)
{
	pthread_mutex_lock(&fork_mu);
}

static void fork_unlock(void)
{
	pthread_mutex_unlock(&fork_mu);
}

static void *fork_worker(void *arg)
{
	void *ring[16] = {0};

	(void)arg;
	for (unsigned i = 0; !__atomic_load_n(&fork_stop, __ATOMIC_RELAXED); i++) {
		pthread_mutex_lock(&fork_mu);
		if (ring[i % 16]) {
			pt_free(ring[i % 16], "Frk8");
			fork_frees++;
		}
		ring[i % 16] = pt_alloc(PT_PAGED, 8, "Frk8");
		fork_allocs++;
		pthread_mutex_unlock(&fork_mu);
	}
	for (int i = 0; i < 16; i++)
		if (ring[i])
			pt_free(ring[i], "Frk8");
	return NULL;
}

PT_TEST(test_fork_counts_exact_under_threads)
{
	pthread_t t[FORK_THREADS];
	int bad = 0;

	pt_free(pt_alloc(PT_PAGED, 8, "Frk8"), "Frk8"); /* the library's handlers first */
	PT_CHECK_EQ(pthread_atfork(fork_lock, fork_unlock, fork_unlock), 0);
	for (int i = 0; i < FORK_THREADS; i++)
		PT_CHECK_EQ(pthread_create(&t[i], NULL, fork_worker, NULL), 0);
	for (int round = 0; round < 50; round++) {
		int st;
		pid_t pid = fork();

		if (pid == 0) {
			struct pt_count c;
			/* +1 and +1: the allocation and free before the threads. */
			if (pt_count_tag(pt_tag_make("Frk8"), PT_PAGED, &c) != 0 ||
			    c.nallocs != fork_allocs + 1 || c.nfrees != fork_frees + 1) {
				fprintf(stderr, "# child: %llu allocations, %llu frees; memory says %llu, %llu\n",
					(unsigned long long)c.nallocs, (unsigned long long)c.nfrees,
					(unsigned long long)fork_allocs + 1, (unsigned long long)fork_frees + 1);
				_exit(1);
			}
			_exit(0);
		}
		PT_CHECK(pid > 0);
		if (pid > 0 && (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0))
			bad++;
	}
	__atomic_store_n(&fork_stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < FORK_THREADS; i++)
		pthread_join(t[i], NULL);
	PT_CHECK_EQ(bad, 0);
}

int main(int argc, char **argv)
{
	int rc;

	if (argc > 1 && strcmp(argv[1], "noexport") == 0)
		return mode_noexport();
	if (argc > 1 && strcmp(argv[1], "leftover") == 0)
		return mode_leftover();
	if (!mkdtemp(dir))
		return 1;
	setenv("POOLTAG_DIR", dir, 1);
	PT_RUN(test_file_and_mode);
	PT_RUN(test_read_self);
	PT_RUN(test_fork_child_has_own_segment);
	PT_RUN(test_fork_exec_leaves_nothing);
	PT_RUN(test_stale_after_crash);
	PT_RUN(test_export_off);
	PT_RUN(test_leftover_replaced);
	PT_RUN(test_nothing_outstanding);
	PT_RUN(test_fork_counts_exact_under_threads);
	rc = pt_test_done();
	/* Leave nothing behind: stale files of the children, then ours. */
	{
		struct pt_segent *e;
		size_t n;
		char err[256];
		if (pt_seglist(&e, &n, err, sizeof(err)) == 0) {
			for (size_t i = 0; i < n; i++)
				if (e[i].pid != getpid())
					unlink(e[i].path);
			free(e);
		}
	}
	unlink(pt_export_path());
	rmdir(dir);
	return rc;
}
