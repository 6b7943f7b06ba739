/*
 * chain.c - a chain of calls for test_unwind.c, compiled twice: with frame
 * pointers (-DUW_FP=1: fp_x) and without (nofp_x), both -O2.  Each
 * function is noinline and does something after its call, so it keeps a
 * frame of its own and no call is a tail call.
 */
#include <alloca.h>
#include <stdint.h>
#include <string.h>

#include "chain.h"

#if UW_FP
#define UW(x) fp_##x
#else
#define UW(x) nofp_##x
#endif

__attribute__((noinline)) static int UW(leaf)(uw_fn fn, void *arg)
{
	int r = fn(arg);

	__asm__ volatile("" ::: "memory");
	return r + 1;
}

/* A frame of variable size: the CFA is rbp-based even without frame
 * pointers. */
__attribute__((noinline)) static int UW(dynamic)(uw_fn fn, void *arg, unsigned n)
{
	volatile char *p = alloca(n);
	int r;

	p[0] = 1;
	r = UW(leaf)(fn, arg);
	__asm__ volatile("" ::: "memory");
	return r + p[0];
}

/* A frame realigned for an over-aligned local. */
__attribute__((noinline)) static int UW(aligned)(uw_fn fn, void *arg, unsigned n)
{
	_Alignas(64) volatile char buf[64];
	int r;

	memset((char *)buf, (int)n, sizeof(buf));
	r = UW(dynamic)(fn, arg, n);
	__asm__ volatile("" ::: "memory");
	return r + buf[n % 64];
}

__attribute__((noinline)) int UW(chain)(int depth, uw_fn fn, void *arg)
{
	int r;

	if (depth > 0)
		r = UW(chain)(depth - 1, fn, arg);
	else
		r = UW(aligned)(fn, arg, 40);
	__asm__ volatile("" ::: "memory");
	return r + 1;
}
