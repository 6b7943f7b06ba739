/*
 * misfree.c - frees of pointers that are not live blocks of the program's
 * malloc: freed twice, or never allocated by it (a pointer into the middle
 * of a block, a string literal, a block of another allocator).  Handing
 * them to glibc could corrupt the heap, so the hooks leave them alone and
 * record them here by freeing line: a fixed table of call sites (return
 * addresses of free or realloc), claimed lock-free, so the record itself
 * can never fail or allocate.  Sites beyond the table are counted in the
 * last entry's overflow.
 *
 * Where the block was allocated is known when its header survived the
 * first free (blocks with a record, --track, and aligned ones: hooks.c);
 * for plain blocks glibc's free list overwrites it.  Where it was first
 * freed is not kept (no quarantine); the special pool (POOLTAG=special=...)
 * keeps freed blocks and names both.
 */
#include "preload.h"

#define SITES 32

static struct pt_run_misfree sites[SITES];
static uint64_t overflow;

void pt_run_misfree(void *p, uintptr_t pc, uint32_t slot, uint64_t size)
{
	for (int i = 0; i < SITES; i++) {
		uintptr_t cur = __atomic_load_n(&sites[i].pc, __ATOMIC_ACQUIRE);
		if (!cur) {
			uintptr_t zero = 0;
			if (__atomic_compare_exchange_n(&sites[i].pc, &zero, pc, 0, __ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE)) {
				sites[i].first = (uintptr_t)p;
				sites[i].slot = slot;
				sites[i].size = size;
				cur = pc;
			} else {
				cur = zero;
			}
		}
		if (cur == pc) {
			__atomic_fetch_add(&sites[i].count, 1, __ATOMIC_RELAXED);
			return;
		}
	}
	__atomic_fetch_add(&overflow, 1, __ATOMIC_RELAXED);
}

size_t pt_run_misfrees(const struct pt_run_misfree **out, uint64_t *more)
{
	size_t n = 0;

	while (n < SITES && __atomic_load_n(&sites[n].pc, __ATOMIC_ACQUIRE))
		n++;
	*out = sites;
	*more = __atomic_load_n(&overflow, __ATOMIC_RELAXED);
	return n;
}

/* A fork child's record starts empty: its parent's misfrees are not its. */
void pt_run_misfree_forget(void)
{
	for (int i = 0; i < SITES; i++)
		sites[i] = (struct pt_run_misfree){0};
	overflow = 0;
}
