/*
 * bench_stack.c - what capturing a call stack costs: pt_unwind() alone,
 * pt_stack_capture() (unwind and depot) and glibc's backtrace(), on a
 * 16-frame stack of code built without frame pointers (this file, -O2),
 * after a first capture has cached every frame's rule.
 *
 * Printed: nanoseconds per capture, the median of ROUNDS rounds of N
 * captures each, with the lowest and highest round (CPU time of this
 * thread, so a loaded machine's run queue does not count).
 *
 * usage: bench_stack [ROUNDS]          (from the source tree: make bench)
 */
#include <execinfo.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "stack.h"
#include "unwind.h"

#define ITERS  200000
#define ROUNDS 7
#define DEPTH  16

enum { M_UNWIND, M_CAPTURE, M_BACKTRACE };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile uint64_t sink;

static void once(int method)
{
	uintptr_t pcs[DEPTH];
	void *buf[DEPTH];

	switch (method) {
	case M_UNWIND:
		sink += pt_unwind(pcs, DEPTH, 0);
		break;
	case M_CAPTURE:
		sink += pt_stack_capture(0);
		break;
	default:
		sink += (uint64_t)backtrace(buf, DEPTH);
	}
}

/* n frames of recursion (each a frame of its own), then iters captures. */
__attribute__((noinline)) static void deep(int n, int method, long iters)
{
	if (n > 0) {
		deep(n - 1, method, iters);
		__asm__ volatile("" ::: "memory");
		return;
	}
	for (long i = 0; i < iters; i++)
		once(method);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Recursion levels that make the stack a capture sees DEPTH frames deep
 * (main and the C library's start-up frames are below them). */
static int levels;

/* Stores the id of a capture n levels deep. */
__attribute__((noinline)) static void deep_id(int n, uint32_t *id)
{
	if (n > 0) {
		deep_id(n - 1, id);
		__asm__ volatile("" ::: "memory");
		return;
	}
	*id = pt_stack_capture(1); /* as once() does, one frame further down */
	__asm__ volatile("" ::: "memory");
}

static void measure(const char *name, int method, int rounds)
{
	double ns[16];

	deep(levels, method, 1); /* rules cached, stack stored */
	for (int r = 0; r < rounds; r++) {
		double t = now();
		deep(levels, method, ITERS);
		ns[r] = (now() - t) * 1e9 / ITERS;
	}
	qsort(ns, (size_t)rounds, sizeof(ns[0]), cmp);
	printf("  %-44s %8.1f ns  (%.1f-%.1f)\n", name, ns[rounds / 2], ns[0], ns[rounds - 1]);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : ROUNDS;
	struct pt_unwind_stats st;

	uintptr_t pcs[PT_STACK_DEPTH];
	uint32_t id;

	if (rounds < 1 || rounds > 16)
		rounds = ROUNDS;
	deep_id(0, &id);
	levels = DEPTH - (int)pt_stack_pcs(id, pcs, PT_STACK_DEPTH);
	deep_id(levels, &id);
	if (levels < 0 || pt_stack_pcs(id, pcs, PT_STACK_DEPTH) != DEPTH) {
		fprintf(stderr, "bench_stack: cannot build a %d-frame stack\n", DEPTH);
		return 1;
	}
	printf("stack capture, %d frames deep, no frame pointers (median of %d rounds of %d):\n",
	       DEPTH, rounds, ITERS);
	measure("pt_unwind, 16 frames", M_UNWIND, rounds);
	measure("pt_stack_capture (unwind + depot), 16 frames", M_CAPTURE, rounds);
	measure("glibc backtrace(), 16 frames", M_BACKTRACE, rounds);
	pt_unwind_stats(&st);
	printf("  rules computed: %llu, frame-pointer steps: %llu\n", (unsigned long long)st.nmisses,
	       (unsigned long long)st.nfallback);
	return 0;
}
