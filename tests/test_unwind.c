/*
 * test_unwind.c - the unwinder (src/unwind.c): the frames it finds are
 * backtrace()'s, in code built with frame pointers and without
 * (tests/unwind/chain.c, compiled both ways), through a signal handler's
 * frame, from several threads; and handed garbage registers it neither
 * faults nor loops.
 */
#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "pt_test.h"
#include "unwind.h"

#define MAXF 64

/* What one comparison saw. */
struct cmp {
	unsigned n_unwind, n_bt; /* frames found by each */
	int mismatch;            /* first differing index, -1 if none */
	uintptr_t got, want;     /* the pcs at the mismatch */
};

/*
 * Both walks from the same function: pcs[0] and bt[0] are the return
 * addresses of the two calls here, which differ; every frame above is the
 * same code, so from index 1 on the lists must be equal.  A sanitizer's
 * interceptor of backtrace() adds a frame of its own first: the lists are
 * aligned on the caller's frame.
 */
__attribute__((noinline)) static void compare_here(struct cmp *c)
{
	uintptr_t pcs[MAXF];
	void *bt[MAXF];
	unsigned n = pt_unwind(pcs, MAXF, 0), k = 1;
	int m = backtrace(bt, MAXF);

	while (n > 1 && k < 3 && (int)k < m && (uintptr_t)bt[k] != pcs[1])
		k++;
	k -= 1; /* bt[i + k] is pcs[i] */
	c->n_unwind = n;
	c->n_bt = m > (int)k ? (unsigned)m - k : 0;
	c->mismatch = -1;
	for (unsigned i = 1; i < n && i < c->n_bt; i++)
		if (pcs[i] != (uintptr_t)bt[i + k]) {
			c->mismatch = (int)i;
			c->got = pcs[i];
			c->want = (uintptr_t)bt[i + k];
			break;
		}
	__asm__ volatile("" ::: "memory");
}

static int cb_compare(void *arg)
{
	compare_here(arg);
	return 0;
}

static void check_cmp(const struct cmp *c, unsigned min_frames)
{
	PT_CHECK_EQ(c->n_unwind, c->n_bt);
	PT_CHECK(c->n_unwind >= min_frames);
	if (c->mismatch >= 0)
		PT_FAIL_("frame %d: 0x%jx, backtrace() has 0x%jx", c->mismatch, (uintmax_t)c->got,
			 (uintmax_t)c->want);
}

PT_TEST(test_without_frame_pointers)
{
	struct cmp c;

	for (int depth = 0; depth < 12; depth += 3) {
		nofp_chain(depth, cb_compare, &c);
		check_cmp(&c, (unsigned)depth + 5);
	}
}

PT_TEST(test_with_frame_pointers)
{
	struct cmp c;

	for (int depth = 0; depth < 12; depth += 3) {
		fp_chain(depth, cb_compare, &c);
		check_cmp(&c, (unsigned)depth + 5);
	}
}

/* The chains mixed: one kind calling the other through the callback. */
static int cb_nofp(void *arg)
{
	return nofp_chain(2, cb_compare, arg);
}

PT_TEST(test_mixed)
{
	struct cmp c;

	fp_chain(3, cb_nofp, &c);
	check_cmp(&c, 14);
}

/* The second walk of the same stack finds every rule cached, and the
 * chains' CFI (realigned and alloca frames included) needs no guessing
 * with frame pointers. */
__attribute__((noinline)) static void both_chains(struct cmp *c)
{
	nofp_chain(4, cb_compare, c);
	fp_chain(4, cb_compare, c);
	__asm__ volatile("" ::: "memory");
}

PT_TEST(test_cached)
{
	struct pt_unwind_stats st[2];
	struct cmp c;

	/* One call site, so the same return addresses: i is opaque to the
	 * compiler, which then cannot peel the loop into two calls. */
	for (int i = 0; i < 2; i++) {
		__asm__ volatile("" : "+r"(i));
		both_chains(&c);
		pt_unwind_stats(&st[i]);
	}
	check_cmp(&c, 9);
	/* The cache is direct-mapped: two of these pcs may share an entry and
	 * evict each other, a miss each walk; all the others hit. */
	PT_CHECK(st[1].nmisses - st[0].nmisses <= 2);
	PT_CHECK_EQ(st[1].nfallback, st[0].nfallback);
	PT_CHECK_EQ(st[0].nfallback, 0);
}

/* ---- signal handlers ---- */

static struct cmp sig_cmp;
static volatile sig_atomic_t sig_seen;

static void on_signal(int sig)
{
	(void)sig;
	compare_here(&sig_cmp);
	sig_seen = 1;
}

static int cb_raise(void *arg)
{
	(void)arg;
	raise(SIGUSR1);
	return 0;
}

/* From a handler, the walk goes through the signal frame into the code
 * the signal interrupted, as backtrace() does. */
PT_TEST(test_signal_frame)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	PT_CHECK_EQ(sigaction(SIGUSR1, &sa, &old), 0);
	sig_seen = 0;
	nofp_chain(3, cb_raise, NULL);
	PT_CHECK(sig_seen);
	check_cmp(&sig_cmp, 10);
	sigaction(SIGUSR1, &old, NULL);
}

static uintptr_t alt_pcs[MAXF];
static unsigned alt_n;

static void on_signal_alt(int sig)
{
	(void)sig;
	alt_n = pt_unwind(alt_pcs, MAXF, 0);
	sig_seen = 1;
}

/* On an alternate signal stack the interrupted code's stack is another
 * mapping: the walk stops at the signal frame, without reading it. */
PT_TEST(test_sigaltstack)
{
	struct sigaction sa, old;
	stack_t ss = {0}, oss;
	struct cmp c;

	ss.ss_size = 1 << 16;
	ss.ss_sp = malloc(ss.ss_size);
	PT_CHECK(ss.ss_sp != NULL);
	if (!ss.ss_sp)
		return;
	PT_CHECK_EQ(sigaltstack(&ss, &oss), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal_alt;
	sa.sa_flags = SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	PT_CHECK_EQ(sigaction(SIGUSR1, &sa, &old), 0);
	sig_seen = 0;
	nofp_chain(3, cb_raise, NULL);
	PT_CHECK(sig_seen);
	PT_CHECK(alt_n >= 1 && alt_n < MAXF);
	sigaction(SIGUSR1, &old, NULL);
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	free(ss.ss_sp);
	/* Back on the thread's own stack, walks are whole again. */
	nofp_chain(2, cb_compare, &c);
	check_cmp(&c, 7);
}

/* ---- threads ---- */

static void *thread_main(void *arg)
{
	struct cmp *c = arg;

	for (int i = 0; i < 50; i++) {
		(i % 2 ? fp_chain : nofp_chain)(i % 7, cb_compare, &c[i]);
		__asm__ volatile("" ::: "memory");
	}
	return NULL;
}

PT_TEST(test_threads)
{
	static struct cmp c[4][50];
	pthread_t th[4];

	for (int t = 0; t < 4; t++)
		PT_CHECK_EQ(pthread_create(&th[t], NULL, thread_main, c[t]), 0);
	for (int t = 0; t < 4; t++)
		pthread_join(th[t], NULL);
	for (int t = 0; t < 4; t++)
		for (int i = 0; i < 50; i++)
			check_cmp(&c[t][i], (unsigned)(i % 7) + 5);
}

/* ---- bad frames ---- */

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Registers and a stack of garbage: words pointing into the garbage
 * itself (cycles, frames below their callee), at code, and anywhere. */
__attribute__((noinline)) static void garbage_walks(unsigned trials)
{
	uintptr_t junk[1024], pcs[MAXF];
	const uintptr_t code[] = {(uintptr_t)&nofp_chain, (uintptr_t)&fp_chain,
				  (uintptr_t)&memcpy, (uintptr_t)&garbage_walks};
	uint64_t s = 0x2545f4914f6cdd1dull;

	for (unsigned t = 0; t < trials; t++) {
		uintptr_t pc, sp, bp;
		unsigned n;

		for (unsigned i = 0; i < 1024; i++) {
			uint64_t r = rnd(&s);
			switch (r % 4) {
			case 0:
				junk[i] = (uintptr_t)&junk[(r >> 8) % 1024] + (r >> 40) % 8;
				break;
			case 1:
				junk[i] = code[(r >> 8) % 4] + (r >> 16) % 256;
				break;
			case 2:
				junk[i] = (uintptr_t)(r >> 16);
				break;
			default:
				junk[i] = (uintptr_t)r;
			}
		}
		pc = junk[rnd(&s) % 1024];
		sp = (uintptr_t)&junk[rnd(&s) % 1024];
		bp = t % 2 ? junk[rnd(&s) % 1024] : (uintptr_t)&junk[rnd(&s) % 1024];
		n = pt_unwind_regs(pc, sp, bp, pcs, MAXF);
		PT_CHECK(n <= MAXF);
	}
	__asm__ volatile("" ::: "memory");
}

PT_TEST(test_garbage)
{
	garbage_walks(3000);
}

/* A frame-pointer frame that points at itself: one step, then the walk
 * stops, since a frame must lie above the one before. */
PT_TEST(test_cycle)
{
	uintptr_t frame[4], pcs[MAXF];

	frame[0] = (uintptr_t)&frame[0]; /* saved rbp: itself */
	frame[1] = 0x1000;               /* a return address in no module */
	frame[2] = frame[3] = 0;
	PT_CHECK(pt_unwind_regs(0x1000, (uintptr_t)&frame[0], (uintptr_t)&frame[0], pcs, MAXF) <= 1);
}

/* A stack pointer outside the thread's stack is refused. */
PT_TEST(test_foreign_stack)
{
	uintptr_t *heap = calloc(64, sizeof(*heap)), pcs[MAXF];

	PT_CHECK(heap != NULL);
	if (!heap)
		return;
	heap[0] = (uintptr_t)heap;
	heap[1] = (uintptr_t)&nofp_chain;
	PT_CHECK_EQ(pt_unwind_regs((uintptr_t)&nofp_chain, (uintptr_t)heap, (uintptr_t)heap, pcs, MAXF), 0);
	PT_CHECK_EQ(pt_unwind_regs(0, 0, 0, pcs, MAXF), 0);
	free(heap);
}

/* skip and max. */
PT_TEST(test_skip_max)
{
	uintptr_t all[MAXF], some[4];
	unsigned n = pt_unwind(all, MAXF, 0), m = pt_unwind(some, 4, 1);

	PT_CHECK(n >= 3);
	PT_CHECK_EQ(m, 4 < n - 1 ? 4 : n - 1);
	/* pt_unwind's return addresses differ (two calls); the frames above match. */
	for (unsigned i = 1; i < m; i++)
		PT_CHECK_EQ(some[i], all[i + 1]);
	PT_CHECK_EQ(pt_unwind(some, 0, 0), 0);
}

/* pt_unwind_each: the frames pt_unwind stores, one call each, as far as
 * the callback asks; skip as pt_unwind's. */
struct each {
	uintptr_t pcs[MAXF];
	unsigned n, stop_at; /* the callback returns 1 at call stop_at */
};

static int each_frame(uintptr_t pc, void *arg)
{
	struct each *e = arg;

	if (e->n < MAXF)
		e->pcs[e->n] = pc;
	return ++e->n == e->stop_at;
}

/* Both walks from one function, as compare_here: index 0 differs. */
__attribute__((noinline)) static void each_here(struct cmp *c, unsigned skip, unsigned stop_at)
{
	uintptr_t pcs[MAXF];
	struct each e = {.stop_at = stop_at};
	unsigned n = pt_unwind(pcs, MAXF, skip), m = pt_unwind_each(skip, each_frame, &e);

	c->n_unwind = m;
	c->n_bt = n;
	c->mismatch = -1;
	PT_CHECK_EQ(m, e.n);
	for (unsigned i = 1; i < m && i < n; i++)
		if (pcs[i] != e.pcs[i]) {
			c->mismatch = (int)i;
			c->got = e.pcs[i];
			c->want = pcs[i];
			break;
		}
	if (skip) /* the frames above the one skipped are this function's callers: equal */
		PT_CHECK(m == 0 || pcs[0] == e.pcs[0]);
	__asm__ volatile("" ::: "memory");
}

static int cb_each(void *arg)
{
	each_here(arg, 0, 0);
	return 0;
}

PT_TEST(test_each)
{
	struct cmp c;

	/* Every frame, through code without frame pointers. */
	nofp_chain(6, cb_each, &c);
	check_cmp(&c, 11);
	/* Stopped by the callback: exactly that many calls. */
	each_here(&c, 0, 3);
	PT_CHECK_EQ(c.n_unwind, 3);
	PT_CHECK_EQ(c.mismatch, -1);
	each_here(&c, 1, 2);
	PT_CHECK_EQ(c.n_unwind, 2);
	PT_CHECK_EQ(c.mismatch, -1);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	PT_RUN(test_without_frame_pointers);
	PT_RUN(test_with_frame_pointers);
	PT_RUN(test_mixed);
	PT_RUN(test_cached);
	PT_RUN(test_signal_frame);
	PT_RUN(test_sigaltstack);
	PT_RUN(test_threads);
	PT_RUN(test_garbage);
	PT_RUN(test_cycle);
	PT_RUN(test_foreign_stack);
	PT_RUN(test_skip_max);
	PT_RUN(test_each);
	return pt_test_done();
}
