/*
 * test_lifecycle.c - the library's life beside the dynamic linker and
 * across fork (src/lifecycle.c).
 *
 * The dynamic linker: no lock of the library may be held while it calls
 * into the dynamic linker, which holds its own lock while a constructor
 * runs inside dlopen.  Two cases are made to happen, not hoped for: the
 * plugin's constructor waits (stormplug_ctor_hook) until the other thread
 * sleeps in the kernel on a futex (/proc/self/task/TID/syscall says so) or
 * has finished its call, and only then calls the library itself:
 *  - start-up: the first call of a process into the library (the other
 *    thread) against a constructor's first call;
 *  - references under the objects' lock while fault injection hashes the
 *    stack of each (fail.stack=), which names the modules of its frames.
 * Then a storm: threads loading and unloading copies of the plugin with
 * dlopen and with pt_module_load, each load's constructor allocating at
 * call sites never registered, every third load allocating inside a
 * dl_iterate_phdr callback too; the counts are exact afterwards.  Each runs in
 * a child process, watched: a child whose threads all sleep on futexes,
 * none running in between, is deadlocked (pt_libtest.h), and an alarm ends
 * any other hang.  Start-up's case must run before this process first
 * calls the library, so it is the first test.
 *
 * Fork: three threads allocate and free in balanced pairs while the main
 * thread forks again and again; each child checks that every thread's
 * outstanding count is the one its memory proves: the thread publishes
 * how many blocks it holds after each call, and marks the call it is in,
 * whose count the child may or may not hold (the fork instant fell inside
 * it).
 *
 * Needs tests/plugins/stormplug.c built as plugins/stormplug.so beside
 * this program ($PT_STORMPLUG to override); linked with -rdynamic, so the
 * plugin finds pooltag and the hook here.
 */
#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pooltag.h>

#include "pt_libtest.h"

#define WATCHDOG 120 /* seconds: only a hang comes near it */

/* ---- the plugin ---- */

static char storm_dir[PATH_MAX];

/* A copy of plugins/stormplug.so ($PT_STORMPLUG) named libstormN.so in
 * storm_dir, its path in out; 0 or -1 (said why). */
static int storm_copy(int n, char *out, size_t len)
{
	const char *env = getenv("PT_STORMPLUG");
	char self[PATH_MAX], src[PATH_MAX + 32];
	ssize_t k;

	if (env) {
		snprintf(src, sizeof(src), "%s", env);
	} else {
		k = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (k <= 0)
			return -1;
		self[k] = '\0';
		snprintf(src, sizeof(src), "%s/plugins/stormplug.so", dirname(self));
	}
	if (!storm_dir[0]) {
		const char *tmp = getenv("TMPDIR");
		snprintf(storm_dir, sizeof(storm_dir), "%s/pt-lifecycle.XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(storm_dir)) {
			printf("# mkdtemp %s: %s\n", storm_dir, strerror(errno));
			storm_dir[0] = 0;
			return -1;
		}
	}
	snprintf(out, len, "%s/libstorm%d.so", storm_dir, n);
	if (access(out, R_OK) == 0)
		return 0;
	if (copy_file(src, out) != 0) {
		printf("# cannot copy %s (built? $PT_STORMPLUG)\n", src);
		return -1;
	}
	return 0;
}

static void storm_cleanup(void)
{
	char path[PATH_MAX + 32];

	if (!storm_dir[0])
		return;
	for (int n = 0; n < 64; n++) {
		snprintf(path, sizeof(path), "%s/libstorm%d.so", storm_dir, n);
		unlink(path);
	}
	rmdir(storm_dir);
	storm_dir[0] = 0;
}

/* ---- a constructor that waits for another thread ---- */

static struct {
	int armed;          /* the next constructor waits */
	pid_t tid;          /* for this thread to sleep in the kernel */
	int in_ctor;        /* the constructor is waiting */
	int done;           /* or for it to finish its call */
	void (*then)(void); /* what the constructor does next (besides its allocations) */
} race;

/* Waits until thread tid sleeps on a futex or *done is set. */
static void wait_blocked(pid_t tid, const int *done)
{
	char path[64], buf[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	while (!__atomic_load_n(done, __ATOMIC_ACQUIRE)) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

		if (fd >= 0)
			close(fd);
		if (n <= 0)
			return; /* the kernel does not tell: go on (the case may not happen) */
		buf[n] = 0;
		if (buf[0] >= '0' && buf[0] <= '9' && strtol(buf, NULL, 10) == SYS_futex)
			return;
		sched_yield();
	}
}

/* Called by stormplug's constructor inside dlopen, before it allocates. */
void stormplug_ctor_hook(void);
void stormplug_ctor_hook(void)
{
	if (!__atomic_exchange_n(&race.armed, 0, __ATOMIC_ACQ_REL))
		return;
	__atomic_store_n(&race.in_ctor, 1, __ATOMIC_RELEASE);
	wait_blocked(race.tid, &race.done);
	if (race.then)
		race.then();
}

static void *load_plugin(void *path)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!h)
		printf("# dlopen: %s\n", dlerror());
	else
		dlclose(h);
	return h;
}

/* Starts a thread loading path whose constructor waits for this thread;
 * returns once the constructor waits. */
static int start_racing_load(pthread_t *t, char *path, void (*then)(void))
{
	race.tid = gettid();
	race.done = 0;
	race.in_ctor = 0;
	race.then = then;
	__atomic_store_n(&race.armed, 1, __ATOMIC_RELEASE);
	if (pthread_create(t, NULL, load_plugin, path) != 0)
		return -1;
	while (!__atomic_load_n(&race.in_ctor, __ATOMIC_ACQUIRE))
		sched_yield();
	return 0;
}

/* Runs fn in a child, watched (wait_or_deadlock: a child whose threads all
 * sleep on futexes is deadlocked, and killed; an alarm of WATCHDOG seconds
 * ends any other hang); its exit status, or -1 when it was killed (said
 * why, its segment removed). */
static int in_child(int (*fn)(void), const char *what)
{
	int st = -1;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		alarm(WATCHDOG);
		exit(fn());
	}
	if (pid < 0)
		return -1;
	wait_or_deadlock(pid, &st);
	if (WIFSIGNALED(st)) {
		char seg[PATH_MAX];

		printf("# %s: %s\n", what,
		       WTERMSIG(st) == SIGKILL   ? "deadlocked: every thread waits on a futex"
		       : WTERMSIG(st) == SIGALRM ? "did not end (the watchdog ended it)"
						 : strsignal(WTERMSIG(st)));
		snprintf(seg, sizeof(seg), "%s/pooltag-%d", pt_segdir(), (int)pid);
		unlink(seg);
		return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- start-up against a constructor ---- */

static int startup_child(void)
{
	char path[PATH_MAX + 32];
	pthread_t t;
	void *p, *h;

	if (storm_copy(0, path, sizeof(path)) != 0 || start_racing_load(&t, path, NULL) != 0)
		return 2;
	/* This process's first call into the library, while the constructor
	 * waits inside dlopen; the constructor's own first call follows as
	 * soon as this thread sleeps in the kernel. */
	p = pt_alloc(PT_PAGED, 8, "Rac1");
	__atomic_store_n(&race.done, 1, __ATOMIC_RELEASE);
	pt_free(p, "Rac1");
	pthread_join(t, &h);
	return !h || count_of("Stm1", PT_PAGED).nallocs != 2 ||
	       count_of("Rac1", PT_PAGED).curblocks != 0;
}

PT_TEST(test_startup_beside_a_constructor)
{
	PT_CHECK_EQ(in_child(startup_child, "start-up beside a constructor"), 0);
}

/* ---- the objects' lock against a constructor ---- */

static void *race_obj;
static struct pt_objtype *race_type; /* types live until exit: kept reachable (LSan) */

static void ref_and_deref(void)
{
	if (pt_obj_ref(race_obj) == 0)
		pt_obj_deref(race_obj);
}

static int objects_child(void)
{
	char path[PATH_MAX + 32];
	pthread_t t;
	void *h;
	int rc;

	/* A stack hash no stack has: nothing fails, every acquisition is
	 * hashed, under the objects' lock for a reference. */
	if (pt_config("fail.stack=1") != 0)
		return 3;
	race_type = pt_objtype_create("Race", PT_PAGED, "RacO", NULL, 0);
	race_obj = race_type ? pt_obj_create(race_type, 32, 0) : NULL;
	if (!race_obj || storm_copy(1, path, sizeof(path)) != 0 ||
	    start_racing_load(&t, path, ref_and_deref) != 0)
		return 2;
	rc = pt_obj_ref(race_obj);
	__atomic_store_n(&race.done, 1, __ATOMIC_RELEASE);
	if (rc == 0)
		pt_obj_deref(race_obj);
	pthread_join(t, &h);
	pt_obj_deref(race_obj);
	return rc != 0 || !h || count_of("RacO", PT_PAGED).curblocks != 0;
}

PT_TEST(test_objects_lock_beside_a_constructor)
{
	PT_CHECK_EQ(in_child(objects_child, "objects' lock beside a constructor"), 0);
}

/* ---- the storm ---- */

#define STORM_DL 3       /* threads loading with dlopen */
#define STORM_MOD 2      /* threads loading with pt_module_load */
#define STORM_LOADS 60   /* loads per thread */

struct stormer {
	int n;              /* its copy of the plugin */
	int use_module;     /* pt_module_load, else dlopen */
	uint64_t allocs;    /* Stm1 allocations it caused */
	int failed;
};

static void *storm_thread(void *arg)
{
	struct stormer *s = arg;
	char path[PATH_MAX + 32];
	int (*work)(int), (*iterate)(void);

	if (storm_copy(2 + s->n, path, sizeof(path)) != 0) {
		s->failed = 1;
		return NULL;
	}
	for (int i = 0; i < STORM_LOADS && !s->failed; i++) {
		struct pt_module *m = NULL;
		void *h = NULL;

		if (s->use_module)
			m = pt_module_load(path);
		else
			h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (!m && !h) {
			printf("# load %s: %s\n", path, s->use_module ? pt_module_error() : dlerror());
			s->failed = 1;
			break;
		}
		s->allocs += 2; /* the constructor's */
		*(void **)&work = m ? pt_module_sym(m, "storm_work") : dlsym(h, "storm_work");
		*(void **)&iterate = m ? pt_module_sym(m, "storm_iterate") : dlsym(h, "storm_iterate");
		if (!work || !iterate) {
			s->failed = 1;
		} else {
			s->allocs += (uint64_t)work(1 + (i + s->n) % 8);
			if (i % 3 == s->n % 3)
				s->allocs += (uint64_t)iterate();
		}
		if (m && pt_module_unload(m) != 0) {
			printf("# %s held something at its unload\n", path);
			s->failed = 1;
		}
		if (h)
			dlclose(h);
	}
	return NULL;
}

static int storm_child(void)
{
	struct stormer s[STORM_DL + STORM_MOD];
	pthread_t t[STORM_DL + STORM_MOD];
	uint64_t want = 0;
	struct pt_count c;
	FILE *quiet = fopen("/dev/null", "w");
	int bad = 0;

	if (quiet)
		pt_verify_output(quiet); /* a line per clean unload otherwise */
	for (int i = 0; i < STORM_DL + STORM_MOD; i++) {
		s[i] = (struct stormer){.n = i, .use_module = i >= STORM_DL};
		if (pthread_create(&t[i], NULL, storm_thread, &s[i]) != 0)
			return 2;
	}
	for (int i = 0; i < STORM_DL + STORM_MOD; i++) {
		pthread_join(t[i], NULL);
		bad |= s[i].failed;
		want += s[i].allocs;
	}
	c = count_of("Stm1", PT_PAGED);
	if (c.nallocs != want || c.nfrees != want || c.curbytes != 0) {
		printf("# Stm1: %" PRIu64 " allocations, %" PRIu64 " frees, %" PRIu64
		       " bytes outstanding; made %" PRIu64 "\n",
		       c.nallocs, c.nfrees, c.curbytes, want);
		bad = 1;
	}
	pt_verify_output(stderr);
	if (quiet)
		fclose(quiet);
	return bad;
}

PT_TEST(test_dlopen_storm)
{
	PT_CHECK_EQ(in_child(storm_child, "dlopen storm"), 0);
}

/* ---- fork while threads count ---- */

#define FORK_WORKERS 3
#define FORK_RING 8
#define FORK_TIMES 300
#define FORK_SIZE 48

/* What a worker's memory proves: how many blocks it holds (after each
 * call returned), and the call it is in: +1 inside pt_alloc, -1 inside
 * pt_free, 0 in neither (its count is then exactly held). */
struct fork_worker {
	int id;
	int held;
	int inside;
	int stop;
	int started; /* it has made a call */
	void *ring[FORK_RING];
};

static void *fork_alloc(int id)
{
	switch (id) {
	case 0: return pt_alloc(PT_PAGED, FORK_SIZE, "Fk0");
	case 1: return pt_alloc(PT_PAGED, FORK_SIZE, "Fk1");
	default: return pt_alloc(PT_PAGED, FORK_SIZE, "Fk2");
	}
}

static void fork_free(int id, void *p)
{
	switch (id) {
	case 0: pt_free(p, "Fk0"); break;
	case 1: pt_free(p, "Fk1"); break;
	default: pt_free(p, "Fk2"); break;
	}
}

static const char *const fork_tags[FORK_WORKERS] = {"Fk0", "Fk1", "Fk2"};

static void *fork_worker(void *arg)
{
	struct fork_worker *w = arg;
	uint64_t seed = (uint64_t)w->id * 0x9e3779b97f4a7c15ull + 1;

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		unsigned k;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		k = (unsigned)(seed >> 40) % FORK_RING;
		/* seq_cst: the mark is in memory before the call's counting. */
		if (w->ring[k]) {
			__atomic_store_n(&w->inside, -1, __ATOMIC_SEQ_CST);
			fork_free(w->id, w->ring[k]);
			w->ring[k] = NULL;
			__atomic_store_n(&w->held, w->held - 1, __ATOMIC_RELEASE);
		} else {
			__atomic_store_n(&w->inside, 1, __ATOMIC_SEQ_CST);
			w->ring[k] = fork_alloc(w->id);
			__atomic_store_n(&w->held, w->held + 1, __ATOMIC_RELEASE);
		}
		__atomic_store_n(&w->inside, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&w->started, 1, __ATOMIC_RELEASE);
	}
	for (int k = 0; k < FORK_RING; k++)
		if (w->ring[k])
			fork_free(w->id, w->ring[k]);
	return NULL;
}

static struct fork_worker workers[FORK_WORKERS];

/* In the child, the only thread left: every worker's count against what
 * its memory proves.  Writes a line per disagreement; 0, or 1. */
static int fork_check(int n)
{
	int bad = 0;

	for (int i = 0; i < FORK_WORKERS; i++) {
		struct pt_count c = count_of(fork_tags[i], PT_PAGED);
		int64_t out = (int64_t)c.curblocks, held = workers[i].held, in = workers[i].inside;
		int ok = in == 0 ? out == held && c.curbytes == (uint64_t)held * FORK_SIZE
				 : out == held || out == held + in;
		if (!ok) {
			char line[160];
			int len = snprintf(line, sizeof(line),
					   "# fork %d: %s: %" PRId64 " outstanding (%" PRIu64
					   " bytes), the thread held %" PRId64 ", inside %" PRId64 "\n",
					   n, fork_tags[i], out, c.curbytes, held, in);
			if (write(1, line, (size_t)len) < 0)
				bad = 1;
			bad = 1;
		}
	}
	return bad;
}

PT_TEST(test_fork_child_counts_what_it_holds)
{
	pthread_t t[FORK_WORKERS];
	int bad = 0, failed = 0;

	for (int i = 0; i < FORK_WORKERS; i++) {
		workers[i] = (struct fork_worker){.id = i};
		PT_CHECK(pthread_create(&t[i], NULL, fork_worker, &workers[i]) == 0);
	}
	/* Every worker counts (and the library has started) before the first
	 * fork: a child that started the library would make a segment. */
	for (int i = 0; i < FORK_WORKERS; i++)
		while (!__atomic_load_n(&workers[i].started, __ATOMIC_ACQUIRE))
			sched_yield();
	for (int n = 0; n < FORK_TIMES; n++) {
		int st;
		pid_t pid;

		fflush(stdout);
		pid = fork();
		if (pid == 0)
			_exit(fork_check(n)); /* no count: the child makes no segment */
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
			failed++;
			continue;
		}
		bad += WEXITSTATUS(st) != 0;
	}
	for (int i = 0; i < FORK_WORKERS; i++) {
		__atomic_store_n(&workers[i].stop, 1, __ATOMIC_RELEASE);
		pthread_join(t[i], NULL);
	}
	PT_CHECK_EQ(failed, 0);
	PT_CHECK_EQ(bad, 0);
	for (int i = 0; i < FORK_WORKERS; i++)
		PT_CHECK_EQ(count_of(fork_tags[i], PT_PAGED).curblocks, 0);
}

int main(void)
{
	char path[PATH_MAX + 32];

	/* The copies are made here, so the children share them and this
	 * process removes them. */
	for (int n = 0; n < 2 + STORM_DL + STORM_MOD; n++)
		if (storm_copy(n, path, sizeof(path)) != 0)
			break;
	PT_RUN(test_startup_beside_a_constructor); /* first: before this process uses the library */
	PT_RUN(test_objects_lock_beside_a_constructor);
	PT_RUN(test_dlopen_storm);
	storm_cleanup();
	PT_RUN(test_fork_child_counts_what_it_holds);
	PT_RUN(test_nothing_outstanding);
	return pt_test_done();
}
