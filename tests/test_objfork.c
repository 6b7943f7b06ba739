/*
 * test_objfork.c - objects and fork (src/object.c, src/lifecycle.c): a
 * program whose threads take references, or register new reference sites,
 * can fork, and its children use objects too.
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pooltag.h>

#include "pt_libtest.h"

/* Types live until exit: kept here, so they stay reachable for LSan too. */
static struct pt_objtype *t_basic, *t_tags;

/*
 * Runs fn in a child process under an alarm of 60 s (fork is slow under
 * ASan, whose heap the spinners churn), so that a deadlock fails the test
 * instead of hanging the run.  Returns 0 when fn returned
 * 0, else prints why (what) and returns -1.
 */
static int in_child(int (*fn)(void), const char *what)
{
	int st = -1;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int rc;
		const char *seg;

		alarm(60);
		rc = fn();
		seg = pt_export_path();
		if (seg)
			unlink(seg);
		_exit(rc);
	}
	waitpid(pid, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFSIGNALED(st)) {
		char seg[PATH_MAX];

		printf("# %s: deadlock (signal %d)\n", what, WTERMSIG(st));
		snprintf(seg, sizeof(seg), "%s/pooltag-%d", pt_segdir(), (int)pid);
		unlink(seg);
	} else {
		printf("# %s: exit status %d\n", what, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
	return -1;
}

/* Forks 100 times while spinner runs; each grandchild asks for the
 * object's count (its first object call) and exits.  0, or the number of
 * grandchildren that did not exit 0. */
static void *fork_objs[2];
static int fork_stop;

static int fork_many(void *(*spinner)(void *))
{
	pthread_t th;
	int bad = 0;

	/* The forking thread's first object call allocates its spare record:
	 * made here, before the spinner runs, the grandchildren inherit it and
	 * never call malloc.  A child of a threaded process may find the C
	 * library's allocator locked by a thread that no longer exists in it;
	 * glibc's malloc resets its locks at fork, ASan's allocator (clang 14)
	 * does not, and the grandchild would wait forever. */
	(void)pt_obj_refs(fork_objs[0]);
	if (pthread_create(&th, NULL, spinner, NULL) != 0)
		return 100;
	for (int i = 0; i < 100; i++) {
		int st = -1;
		pid_t pid = fork();

		if (pid == 0)
			_exit(pt_obj_refs(fork_objs[0]) >= 1 ? 0 : 1); /* made no segment */
		waitpid(pid, &st, 0);
		bad += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	}
	__atomic_store_n(&fork_stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	return bad;
}

/* Takes and drops references without pause: the objects' lock is held
 * most of the time. */
static void *spin_refs(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&fork_stop, __ATOMIC_RELAXED)) {
		pt_obj_ref(fork_objs[0]);
		pt_obj_deref(fork_objs[0]);
	}
	return NULL;
}

/* One site alternating between two tags: it registers a counter slot on
 * every call, taking the segment's lock inside the objects' lock. */
static void *spin_registering(void *arg)
{
	(void)arg;
	for (unsigned i = 0; !__atomic_load_n(&fork_stop, __ATOMIC_RELAXED); i++) {
		pt_obj_ref_at(PT_SITE(), fork_objs[i & 1], 0);
		pt_obj_deref(fork_objs[i & 1]);
	}
	return NULL;
}

static int fork_while_referencing(void)
{
	fork_objs[0] = pt_obj_create(t_basic, 8, 0);
	return fork_many(spin_refs);
}

static int fork_while_registering(void)
{
	fork_objs[0] = pt_obj_create(t_basic, 8, 0);
	fork_objs[1] = pt_obj_create(t_tags, 8, 0);
	return fork_many(spin_registering);
}

/*
 * A program whose threads use objects can fork, and its child can use
 * objects too (the segment gives a fork child counters of its own): the
 * objects' lock is not inherited held, and the atfork handlers take the
 * library's locks in the order it nests them, so fork() itself never waits
 * for a thread that waits for it.
 */
PT_TEST(test_fork_while_referencing)
{
	PT_CHECK_EQ(in_child(fork_while_referencing, "fork while referencing"), 0);
}

PT_TEST(test_fork_while_registering)
{
	PT_CHECK_EQ(in_child(fork_while_registering, "fork while a site registers"), 0);
}

int main(void)
{
	pt_misuse_set_hook(catch_misuse, NULL);
	t_basic = pt_objtype_create("Basic", PT_PAGED, "ObjA", NULL, 0);
	t_tags = pt_objtype_create("Tags", PT_PAGED, "ObjG", NULL, 0);
	PT_RUN(test_fork_while_referencing);
	PT_RUN(test_fork_while_registering);
	PT_RUN(test_nothing_outstanding);
	return pt_test_done();
}
