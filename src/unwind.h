/*
 * unwind.h - walking the calling thread's stack fast enough to do it on
 * every allocation (x86-64 Linux; elsewhere it answers with backtrace()).
 *
 * The unwinder reads .eh_frame call-frame information, so it is right in
 * code built without frame pointers (most Debian binaries), and keeps the
 * unwind rule of every pc it has seen in a cache: a frame already met costs
 * a hash probe and two or three loads.  Nothing here is part of the public
 * API; src/stack.c captures through it and preload/site.c finds the caller
 * of an allocation wrapper with it.
 */
#ifndef PT_UNWIND_H
#define PT_UNWIND_H

#include <stdint.h>

/*
 * Fills pcs[0..max) with the return addresses of the calling thread's
 * frames, innermost first, as backtrace() does but after dropping `skip`
 * of them: pcs[0] is then the return address into the caller of
 * pt_unwind()'s caller when skip is 1, into pt_unwind()'s caller when skip
 * is 0.  Returns the number stored (0 when nothing could be read).
 *
 * Safety: never faults on a bad frame (every stack word read lies between
 * the current stack pointer and the top of the thread's stack, and each
 * frame must lie above the one before); does not allocate, take a lock or
 * make a system call once the thread's stack bounds are known (its first
 * call reads /proc/self/maps with plain read(2)s); async-signal-safe, and
 * goes through a signal handler's frame into the interrupted code.
 * A frame it cannot unwind (no rule, an unusual rule, a word outside the
 * stack) ends the walk there.  Thread-safe.
 *
 * Cost: a few ns a frame once its pc's rule is cached (see unwind.c); a
 * pc seen for the first time costs a lookup of its module and the
 * interpretation of its FDE, a few us.
 */
unsigned pt_unwind(uintptr_t *pcs, unsigned max, unsigned skip);

/*
 * The same walk, frame by frame: calls fn(pc, arg) with each return address
 * pt_unwind(pcs, max, skip) would store, innermost first, until fn returns
 * non-zero or the walk ends.  Returns the number of calls made.  A frame
 * is stepped only when fn asks for the next one, so a caller that needs
 * the first few frames does not pay for (nor miss the cache on) the rules
 * of the frames above them.  Same safety as pt_unwind; fn must not unwind.
 */
unsigned pt_unwind_each(unsigned skip, int (*fn)(uintptr_t pc, void *arg), void *arg);

/*
 * Walks from a register state (pc: the instruction, not a return address;
 * sp, bp: rsp and rbp there) of the calling thread's stack, storing the
 * return addresses found in pcs[0..max).  A state whose sp is not in the
 * calling thread's stack between its current stack pointer and the top is
 * refused (returns 0).  For a signal handler given a ucontext, and for
 * tests that hand it garbage: it never faults.
 */
unsigned pt_unwind_regs(uintptr_t pc, uintptr_t sp, uintptr_t bp, uintptr_t *pcs, unsigned max);

/* Unwinder statistics, for tests and benchmarks. */
struct pt_unwind_stats {
	uint64_t nmisses;   /* pcs whose rule was not cached and was computed */
	uint64_t nfallback; /* frames stepped with the frame-pointer rule (no usable CFI) */
};
void pt_unwind_stats(struct pt_unwind_stats *out);

#endif /* PT_UNWIND_H */
