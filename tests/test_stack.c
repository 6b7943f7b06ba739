/*
 * test_stack.c - stack capture, the stack depot and symbolisation.
 *
 * The helpers below are noinline and end with an empty asm after their call,
 * so each keeps a frame of its own (no inlining, no tail call) and the line of
 * each call is known exactly (recorded with __LINE__).
 *
 * Needs the plugin tests/plugins/stackplug.c built as a shared object with
 * -g: $PT_STACKPLUG, else plugins/stackplug.so beside this program.
 * Run with --depot-full (and POOLTAG_STACK_DEPOT_KB=1), it is the child of
 * test_depot_full.
 */
#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pt_test.h"

#include "stack.h"

/* The lines of the calls that capture, set by the helpers (atomically, as the
 * threads of test_threads run them too). */
static int line_a, line_b, line_inl, line_outer;

__attribute__((noinline)) static uint32_t helper_b(void)
{
	uint32_t id;

	__atomic_store_n(&line_b, __LINE__ + 1, __ATOMIC_RELAXED);
	id = pt_stack_capture(0);
	__asm__ volatile("");
	return id;
}

__attribute__((noinline)) static uint32_t helper_a(void)
{
	uint32_t id;

	__atomic_store_n(&line_a, __LINE__ + 1, __ATOMIC_RELAXED);
	id = helper_b();
	__asm__ volatile("");
	return id;
}

/* Always inlined into outer_fn: its frame exists only in the debug info. */
static inline __attribute__((always_inline)) uint32_t inl_fn(void)
{
	uint32_t id;

	__atomic_store_n(&line_inl, __LINE__ + 1, __ATOMIC_RELAXED);
	id = pt_stack_capture(0);
	__asm__ volatile("");
	return id;
}

__attribute__((noinline)) static uint32_t outer_fn(void)
{
	uint32_t id;

	__atomic_store_n(&line_outer, __LINE__ + 1, __ATOMIC_RELAXED);
	id = inl_fn();
	__asm__ volatile("");
	return id;
}

/* n + 1 frames of recurse, then a capture: a distinct stack per n. */
__attribute__((noinline)) static uint32_t recurse(int n)
{
	uint32_t id = n > 0 ? recurse(n - 1) : pt_stack_capture(0);

	__asm__ volatile("" ::: "memory");
	return id;
}

/* pt_stack_capture(skip), from a frame of its own. */
__attribute__((noinline)) static uint32_t capture_via(unsigned skip)
{
	uint32_t id = pt_stack_capture(skip);

	__asm__ volatile("");
	return id;
}

/* v, hidden from the optimiser: a loop bound it cannot see is not unrolled
 * (nor cloned into a constant-bound copy), so a call in the loop body has one
 * return address. */
static int opaque(int v)
{
	__asm__("" : "+r"(v));
	return v;
}

/* ids[i] = capture_via(i), both from one call site: the same stack but for
 * capture_via's frame, which skip 1 drops. */
__attribute__((noinline)) static void skip_pair(uint32_t ids[2])
{
	for (int i = 0; i < opaque(2); i++)
		ids[i] = capture_via((unsigned)i);
	__asm__ volatile("" ::: "memory");
}

/* out[i] = recurse(vs[i]) for i < n, every capture from one call site, so
 * equal vs give equal stacks. */
__attribute__((noinline)) static void recurse_each(const int *vs, uint32_t *out, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = recurse(vs[i]);
	__asm__ volatile("" ::: "memory");
}

/* out[i] = helper_a() for i < n, from one call site. */
__attribute__((noinline)) static void helper_a_each(uint32_t *out, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = helper_a();
	__asm__ volatile("" ::: "memory");
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* First, so that the cold symbolisation is the process's first. */
PT_TEST(test_costs)
{
	enum { N = 100000, M = 100000 };
	uintptr_t pcs[PT_STACK_DEPTH];
	struct pt_frame f;
	uint64_t t0, t1, t2;
	uint32_t id = 0, other = 0;
	unsigned depth;

	t0 = now_ns();
	for (int i = 0; i < N; i++) {
		uint32_t r = recurse(5);

		other += i && r != id;
		id = r;
	}
	t1 = now_ns();
	PT_CHECK_EQ(other, 0);
	depth = pt_stack_pcs(id, pcs, PT_STACK_DEPTH);
	printf("# capture of a %u-frame stack already in the depot: %.0f ns\n", depth,
	       (double)(t1 - t0) / N);

	t0 = now_ns();
	PT_CHECK_EQ(pt_sym_lookup(pcs[0], 1, &f), 0);
	t0 = now_ns() - t0;
	PT_CHECK_STR(f.func, "recurse");
	pt_sym_reset();
	t2 = now_ns();
	PT_CHECK_EQ(pt_sym_lookup(pcs[1], 1, &f), 0);
	t1 = now_ns();
	/* main (past six frames of recurse): not cached, its module loaded */
	PT_CHECK_EQ(pt_sym_lookup(pcs[depth > 6 ? 6 : depth - 1], 1, &f), 0);
	printf("# symbolise: first in the process %.0f us, first after reset %.0f us, "
	       "another pc %.0f us\n",
	       (double)t0 / 1000, (double)(t1 - t2) / 1000, (double)(now_ns() - t1) / 1000);
	t0 = now_ns();
	for (int i = 0; i < M; i++)
		pt_sym_lookup(pcs[1], 1, &f);
	printf("# symbolise a cached pc: %.0f ns\n", (double)(now_ns() - t0) / M);
}

PT_TEST(test_same_stack_same_id)
{
	static const int vs[] = {3, 3, 7, 3};
	uint32_t ids[4];

	helper_a_each(ids, opaque(3));
	PT_CHECK(ids[0] != 0);
	PT_CHECK_EQ(ids[0], ids[1]);
	PT_CHECK_EQ(ids[1], ids[2]);
	recurse_each(vs, ids, opaque(4));
	PT_CHECK(ids[0] != 0);
	PT_CHECK_EQ(ids[0], ids[1]);
	PT_CHECK_EQ(ids[0], ids[3]);
	PT_CHECK(ids[2] != ids[0]);
}

PT_TEST(test_different_paths)
{
	uint32_t a = helper_a(), b = helper_b(), c = helper_a();
	uint32_t r3 = recurse(3), r4 = recurse(4);

	PT_CHECK(a && b && r3 && r4);
	PT_CHECK(a != b); /* different caller of helper_b */
	PT_CHECK(a != c); /* same functions, another call line here */
	PT_CHECK(r3 != r4);
	PT_CHECK(a != r3);
}

PT_TEST(test_pcs)
{
	uintptr_t pcs[PT_STACK_DEPTH], small[2];
	uint32_t id = helper_a(), deep = recurse(40);
	unsigned n = pt_stack_pcs(id, pcs, PT_STACK_DEPTH);
	struct pt_stack_stats st;

	/* helper_b, helper_a, this test (maybe inlined in main), main, libc start-up */
	PT_CHECK(n >= 3 && n <= PT_STACK_DEPTH);
	for (unsigned i = 0; i < n && i < PT_STACK_DEPTH; i++)
		PT_CHECK(pcs[i] != 0);
	PT_CHECK_EQ(pt_stack_pcs(id, small, 2), n);
	PT_CHECK_EQ(small[0], pcs[0]);
	PT_CHECK_EQ(small[1], pcs[1]);
	PT_CHECK_EQ(pt_stack_pcs(deep, pcs, PT_STACK_DEPTH), PT_STACK_DEPTH);

	/* Bad ids read as empty stacks. */
	PT_CHECK_EQ(pt_stack_pcs(0, pcs, PT_STACK_DEPTH), 0);
	PT_CHECK_EQ(pt_stack_pcs(id + 1, pcs, PT_STACK_DEPTH), 0);
	PT_CHECK_EQ(pt_stack_pcs(0xfffffff0u, pcs, PT_STACK_DEPTH), 0);

	pt_stack_stats(&st);
	PT_CHECK(st.nstacks >= 5);
	PT_CHECK_EQ(st.capbytes, 4096 * 1024); /* the default: the test runs without the variable */
	PT_CHECK(st.curbytes > 0 && st.curbytes < st.capbytes);
	PT_CHECK_EQ(st.ndropped, 0);
}

PT_TEST(test_skip)
{
	uintptr_t a[PT_STACK_DEPTH], b[PT_STACK_DEPTH];
	uint32_t ids[2];
	unsigned na, nb;

	skip_pair(ids);
	na = pt_stack_pcs(ids[0], a, PT_STACK_DEPTH);
	nb = pt_stack_pcs(ids[1], b, PT_STACK_DEPTH);
	PT_CHECK(na >= 3);
	PT_CHECK_EQ(nb + 1, na);
	PT_CHECK(memcmp(a + 1, b, nb * sizeof(b[0])) == 0);
	PT_CHECK_EQ(pt_stack_capture(PT_STACK_DEPTH + 40), 0); /* nothing left */
}

PT_TEST(test_symbolise)
{
	uintptr_t pcs[PT_STACK_DEPTH];
	struct pt_frame f, chain[4];
	uint32_t id = helper_a();
	unsigned n = pt_stack_pcs(id, pcs, PT_STACK_DEPTH);

	PT_CHECK(n >= 3);
	PT_CHECK_EQ(pt_sym_lookup(pcs[0], 1, &f), 0);
	PT_CHECK_STR(f.func, "helper_b");
	PT_CHECK_STR(f.file, "test_stack.c");
	PT_CHECK_EQ(f.line, line_b);
	PT_CHECK_EQ(f.pc, pcs[0]);
	PT_CHECK(f.module && strcmp(f.module, "?") != 0 && !strchr(f.module, '/'));
	PT_CHECK_EQ(f.inlined, 0);
	PT_CHECK_EQ(pt_sym_lookup(pcs[1], 1, &f), 0);
	PT_CHECK_STR(f.func, "helper_a");
	PT_CHECK_STR(f.file, "test_stack.c");
	PT_CHECK_EQ(f.line, line_a);
	PT_CHECK_EQ(pt_sym_lookup_inline(pcs[1], 1, chain, 4), 1);
	PT_CHECK_STR(chain[0].func, "helper_a");

	/* A libc function has a symbol but (usually) no line information. */
	PT_CHECK_EQ(pt_sym_lookup((uintptr_t)&gnu_get_libc_version, 0, &f), 0);
	PT_CHECK_HAS(f.module, "libc");

	/* Nothing is known of the null page. */
	PT_CHECK_EQ(pt_sym_lookup(16, 0, &f), -1);
	PT_CHECK_STR(f.func, "?");
	PT_CHECK_STR(f.module, "?");
	PT_CHECK(f.file == NULL);
	PT_CHECK_EQ(pt_sym_lookup(0, 1, &f), -1);
}

PT_TEST(test_inlined)
{
	uintptr_t pcs[PT_STACK_DEPTH];
	struct pt_frame chain[4], f;
	uint32_t id = outer_fn();
	char want[128], buf[1024];

	memset(chain, 0, sizeof(chain));
	PT_CHECK(pt_stack_pcs(id, pcs, PT_STACK_DEPTH) >= 2);
	PT_CHECK_EQ(pt_sym_lookup_inline(pcs[0], 1, chain, 4), 2);
	PT_CHECK_STR(chain[0].func, "inl_fn");
	PT_CHECK_EQ(chain[0].line, line_inl);
	PT_CHECK_EQ(chain[0].inlined, 1);
	PT_CHECK_STR(chain[1].func, "outer_fn");
	PT_CHECK_STR(chain[1].file, "test_stack.c");
	PT_CHECK_EQ(chain[1].line, line_outer);
	PT_CHECK_EQ(chain[1].inlined, 0);
	PT_CHECK_EQ(chain[1].pc, pcs[0]);
	/* pt_sym_lookup gives the innermost: the inlined function and its line. */
	PT_CHECK_EQ(pt_sym_lookup(pcs[0], 1, &f), 0);
	PT_CHECK_STR(f.func, "inl_fn");
	PT_CHECK_EQ(f.line, line_inl);
	pt_stack_format(id, buf, sizeof(buf), 0);
	snprintf(want, sizeof(want), "inl_fn (test_stack.c:%d) <- outer_fn (test_stack.c:%d)",
	         line_inl, line_outer);
	PT_CHECK_HAS(buf, want);
	PT_CHECK(strncmp(buf, "inl_fn", 6) == 0);
}

PT_TEST(test_format)
{
	uint32_t id = helper_a();
	char want[128], want2[160], buf[2048], small[16];
	size_t n = pt_stack_format(id, buf, sizeof(buf), 0);

	printf("# %s\n", buf);
	PT_CHECK_EQ(n, strlen(buf));
	snprintf(want, sizeof(want), "helper_b (test_stack.c:%d) <- helper_a (test_stack.c:%d)",
	         line_b, line_a);
	PT_CHECK_HAS(buf, want);
	PT_CHECK(strncmp(buf, "helper_b (", 10) == 0);
	/* The stack stops at main: no start-up frames. */
	PT_CHECK_HAS(buf, " <- main (test_stack.c:");
	PT_CHECK(strstr(buf, "_start") == NULL);
	PT_CHECK(strstr(buf, "libc") == NULL);
	PT_CHECK(buf[n - 1] == ')');

	/* snprintf-like: the full length whatever the room, NUL-terminated. */
	PT_CHECK_EQ(pt_stack_format(id, small, sizeof(small), 0), n);
	PT_CHECK_EQ(strlen(small), sizeof(small) - 1);
	PT_CHECK(strncmp(small, buf, sizeof(small) - 1) == 0);
	PT_CHECK_EQ(pt_stack_format(id, NULL, 0, 0), n);

	/* At most max_frames frames, then " <- ...". */
	n = pt_stack_format(id, buf, sizeof(buf), 2);
	snprintf(want2, sizeof(want2), "%s <- ...", want);
	PT_CHECK_STR(buf, want2);
	PT_CHECK_EQ(n, strlen(want2));

	/* Deep stacks are cut at PT_STACK_DEPTH pcs, so main is not reached. */
	pt_stack_format(recurse(40), buf, sizeof(buf), 0);
	PT_CHECK(strncmp(buf, "recurse (test_stack.c:", 22) == 0);
	PT_CHECK(strstr(buf, "main") == NULL);

	PT_CHECK_EQ(pt_stack_format(0, buf, sizeof(buf), 0), 1);
	PT_CHECK_STR(buf, "?");
}

/* Finds the plugin; returns 0 or -1 with a diagnostic. */
static int plugin_path(char *out, size_t len)
{
	const char *env = getenv("PT_STACKPLUG");
	char self[PATH_MAX];
	ssize_t n;

	if (env) {
		snprintf(out, len, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -1;
	self[n] = '\0';
	snprintf(out, len, "%s/plugins/stackplug.so", dirname(self));
	return access(out, R_OK);
}

PT_TEST(test_plugin)
{
	typedef uint32_t (*capture_fn)(unsigned);
	uint32_t (*plug_capture)(capture_fn);
	char path[PATH_MAX + 64], buf[1024], want[128];
	uintptr_t pcs[PT_STACK_DEPTH], plug_pc;
	struct pt_frame f;
	const char *func;
	int *plug_line;
	uint32_t id;
	void *h;

	if (plugin_path(path, sizeof(path))) {
		PT_CHECK(!"plugins/stackplug.so beside the test (or $PT_STACKPLUG) exists");
		return;
	}
	/* The symboliser has read the module map already: the plugin is new to it,
	 * and is found by re-reading the map without a reset. */
	PT_CHECK_EQ(pt_sym_lookup((uintptr_t)&helper_a, 0, &f), 0);
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	PT_CHECK(h != NULL);
	if (!h) {
		printf("# dlopen: %s\n", dlerror());
		return;
	}
	*(void **)&plug_capture = dlsym(h, "stackplug_capture");
	plug_line = dlsym(h, "stackplug_line");
	PT_CHECK(plug_capture && plug_line);
	if (!plug_capture || !plug_line) {
		dlclose(h);
		return;
	}
	id = plug_capture(pt_stack_capture);
	PT_CHECK(pt_stack_pcs(id, pcs, PT_STACK_DEPTH) >= 2);
	PT_CHECK_EQ(pt_sym_lookup(pcs[0], 1, &f), 0);
	PT_CHECK_STR(f.module, strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	PT_CHECK_STR(f.func, "stackplug_capture");
	PT_CHECK_STR(f.file, "stackplug.c");
	PT_CHECK_EQ(f.line, *plug_line);
	pt_stack_format(id, buf, sizeof(buf), 3);
	snprintf(want, sizeof(want), "stackplug_capture (stackplug.c:%d) <- test_plugin (",
	         *plug_line);
	PT_CHECK_HAS(buf, want);
	printf("# %s\n", buf);

	/* Symbolised before dlclose, the strings outlive the module. */
	func = f.func;
	plug_pc = pcs[0];
	PT_CHECK_EQ(dlclose(h), 0);
	pt_sym_reset();
	PT_CHECK_STR(func, "stackplug_capture");
	PT_CHECK(pt_sym_lookup(plug_pc, 1, &f) == -1 || strcmp(f.module, "stackplug.so") != 0);

	/* Loaded again (maybe elsewhere) after an explicit reset. */
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	PT_CHECK(h != NULL);
	if (!h)
		return;
	*(void **)&plug_capture = dlsym(h, "stackplug_capture");
	plug_line = dlsym(h, "stackplug_line");
	pt_sym_reset();
	id = plug_capture(pt_stack_capture);
	PT_CHECK(pt_stack_pcs(id, pcs, PT_STACK_DEPTH) >= 2);
	PT_CHECK_EQ(pt_sym_lookup(pcs[0], 1, &f), 0);
	PT_CHECK_STR(f.func, "stackplug_capture");
	PT_CHECK_EQ(f.line, *plug_line);
	dlclose(h);
	pt_sym_reset();
}

/* ids[i] = helper_a() for i < 2, from one call site, forking between the
 * two; the iteration that forks is hidden so the loop is not peeled. */
__attribute__((noinline)) static void helper_a_fork(uint32_t ids[2], pid_t *pid)
{
	for (int i = 0; i < opaque(2); i++) {
		ids[i] = helper_a();
		if (i == opaque(0))
			*pid = fork();
	}
	__asm__ volatile("" ::: "memory");
}

/* ---- threads ---- */

enum { NTHREADS = 4, NCAPTURES = 10000, NVARIANTS = 8 };

struct worker {
	pthread_t t;
	int idx;
	uint32_t ids[NVARIANTS]; /* the id seen for recurse(v) */
	uint32_t helper;         /* the id of helper_a() */
	int bad;                 /* captures that disagreed with an earlier one */
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < NCAPTURES; i++) {
		int v = (i / 2 + w->idx) % NVARIANTS;
		uint32_t id = i % 2 ? recurse(v) : helper_a();
		uint32_t *slot = i % 2 ? &w->ids[v] : &w->helper;

		if (!*slot)
			*slot = id;
		else if (*slot != id)
			w->bad++;
	}
	return NULL;
}

/* Symbolises and formats while the workers capture. */
static void *formatter_main(void *arg)
{
	uint32_t id = *(uint32_t *)arg;
	char buf[512];
	int bad = 0;

	for (int i = 0; i < 200; i++) {
		pt_stack_format(id, buf, sizeof(buf), 0);
		bad += strncmp(buf, "helper_b (test_stack.c:", 23) != 0;
		if (i % 50 == 0)
			pt_sym_reset();
	}
	return (void *)(intptr_t)bad;
}

PT_TEST(test_threads)
{
	struct worker w[NTHREADS];
	uint32_t main_id = helper_a();
	char buf[1024];
	pthread_t fmt;
	void *fmt_bad;

	memset(w, 0, sizeof(w));
	PT_CHECK_EQ(pthread_create(&fmt, NULL, formatter_main, &main_id), 0);
	for (int i = 0; i < NTHREADS; i++) {
		w[i].idx = i;
		PT_CHECK_EQ(pthread_create(&w[i].t, NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(w[i].t, NULL);
	pthread_join(fmt, &fmt_bad);
	PT_CHECK_EQ((intptr_t)fmt_bad, 0);
	for (int i = 0; i < NTHREADS; i++) {
		PT_CHECK_EQ(w[i].bad, 0);
		PT_CHECK(w[i].helper != 0);
		PT_CHECK_EQ(w[i].helper, w[0].helper);
		for (int v = 0; v < NVARIANTS; v++) {
			PT_CHECK(w[i].ids[v] != 0);
			PT_CHECK_EQ(w[i].ids[v], w[0].ids[v]);
			PT_CHECK(v == 0 || w[i].ids[v] != w[i].ids[v - 1]);
		}
	}
	/* The thread stacks end in the thread start: none of it is shown. */
	pt_stack_format(w[0].ids[0], buf, sizeof(buf), 0);
	printf("# %s\n", buf);
	PT_CHECK_HAS(buf, "recurse (test_stack.c:");
	PT_CHECK_HAS(buf, "worker_main (test_stack.c:");
	PT_CHECK(strstr(buf, "start_thread") == NULL && strstr(buf, "clone") == NULL);
}

/* A fork child inherits the depot and symbolises with its own module map. */
PT_TEST(test_fork)
{
	uintptr_t pcs[PT_STACK_DEPTH];
	struct pt_frame f;
	uint32_t ids[2] = {0, 0};
	int status = -1, ok;
	pid_t pid = -1;

	/* The second capture, in both processes, is the first one's stack. */
	fflush(stdout);
	helper_a_fork(ids, &pid);
	ok = ids[1] == ids[0] && pt_stack_pcs(ids[0], pcs, PT_STACK_DEPTH) >= 3 &&
	     pt_sym_lookup(pcs[0], 1, &f) == 0 && !strcmp(f.func, "helper_b") &&
	     f.line == (unsigned)line_b;
	if (pid == 0)
		_exit(ok ? 0 : 1);
	PT_CHECK(ok);
	PT_CHECK(pid > 0);
	waitpid(pid, &status, 0);
	PT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- a full depot ---- */

/* In the child, with a 1 KiB depot: captures fail with 0 once it is full,
 * and what it holds stays intact.  Exits 0 if all is well. */
static int depot_full_child(void)
{
	enum { N = 32 };
	uintptr_t pcs[PT_STACK_DEPTH];
	struct pt_stack_stats st;
	int vs[N + 2], n = 0, ok = 1;
	uint32_t ids[N + 2];

	/* Ever deeper stacks until one does not fit, then one that is stored and
	 * one that is not, all captured from one call site. */
	for (int i = 0; i < N; i++)
		vs[i] = i;
	vs[N] = 0;
	vs[N + 1] = N - 1;
	recurse_each(vs, ids, opaque(N + 2));
	while (n < N && ids[n])
		n++;
	pt_stack_stats(&st);
	printf("# child: %d stacks stored, %zu of %zu bytes, %ju dropped\n", n, st.curbytes,
	       st.capbytes, (uintmax_t)st.ndropped);
	ok &= n > 2 && n < N && st.capbytes == 1024 && st.nstacks == (uint64_t)n;
	for (int i = n; i < N; i++)
		ok &= ids[i] == 0; /* once full, full for good: no stack is smaller */
	ok &= st.ndropped == (uint64_t)(N - n + 1);
	ok &= ids[N] == ids[0] && ids[N + 1] == 0;
	ok &= pt_stack_pcs(ids[n - 1], pcs, PT_STACK_DEPTH) > (unsigned)n;
	ok &= st.curbytes <= st.capbytes;
	if (!ok)
		printf("# child: depot-full checks failed\n");
	fflush(stdout);
	return ok ? 0 : 1;
}

PT_TEST(test_depot_full)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int status = -1;
	pid_t pid;

	PT_CHECK(n > 0);
	if (n <= 0)
		return;
	self[n] = '\0';
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char *argv[] = {self, "--depot-full", NULL};

		setenv("POOLTAG_STACK_DEPOT_KB", "1", 1);
		execv(self, argv);
		_exit(127);
	}
	PT_CHECK(pid > 0);
	waitpid(pid, &status, 0);
	PT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--depot-full"))
		return depot_full_child();
	PT_RUN(test_costs);
	PT_RUN(test_same_stack_same_id);
	PT_RUN(test_different_paths);
	PT_RUN(test_pcs);
	PT_RUN(test_skip);
	PT_RUN(test_symbolise);
	PT_RUN(test_inlined);
	PT_RUN(test_format);
	PT_RUN(test_plugin);
	PT_RUN(test_threads);
	PT_RUN(test_fork);
	PT_RUN(test_depot_full);
	return pt_test_done();
}
