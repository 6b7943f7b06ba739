/*
 * reach.h - lost or still reachable: the exit-time scan of `pooltag run`
 * (reach.c) and the findings grouped by call path it feeds (group.c).
 *
 * Words, as LeakSanitizer and valgrind's memcheck use them:
 *   reachable  a pointer to the block (to its start or anywhere inside it)
 *              sits in a root, or in a reachable block;
 *   lost       (directly lost) nothing reachable points to it and no other
 *              lost block does either: the program dropped its last pointer;
 *   indirectly lost  only lost blocks point to it (the nodes of a leaked
 *              tree under its root); counted under the group of the lost
 *              block that owns it.  A cycle no root reaches has no block
 *              that nothing points to: its first block is called lost and
 *              the rest indirectly lost under it.
 * Roots: the writable data and bss of every loaded object but the
 * interposer, every thread's stack from its stack pointer up and its
 * registers, the static TLS and thread descriptor of every thread.
 * Pointers are the aligned 8-byte words of those ranges; a word pointing
 * anywhere in [start, start + size) of a block counts (interior pointers
 * count, LeakSanitizer's default).
 */
#ifndef PT_REACH_H
#define PT_REACH_H

#include <stdint.h>
#include <stdio.h>

/* PT_REACH_INHERITED: a fork child's block its parent allocated (the
 * child's report is about what it acquired): a root for the scan, like the
 * data segment, never a finding. */
enum { PT_REACH_REACHABLE = 1, PT_REACH_LOST = 2, PT_REACH_INDIRECT = 3, PT_REACH_INHERITED = 4 };

struct pt_reach_block {
	uintptr_t beg, end; /* the program's bytes; end > beg even for malloc(0) */
	uint32_t slot;      /* counter slot (site) */
	uint32_t stack;     /* stack id, 0 without stacks */
	uint32_t owner;     /* index of the lost block an indirect one is counted under */
	uint32_t state;     /* 0 unvisited, then PT_REACH_* */
};

struct pt_reach {
	struct pt_reach_block *b; /* sorted by beg */
	size_t n;
	size_t mapped;        /* bytes of the mapping b lives in */
	unsigned threads;     /* threads whose stack and registers were scanned */
	unsigned unstopped;   /* threads that did not answer (see reach.c) */
	uint64_t root_bytes;  /* bytes of roots scanned */
	uint64_t heap_bytes;  /* bytes of blocks scanned */
	double seconds;       /* CPU time of the scan (the scanning thread's) */
};

/* Reads the loaded objects' writable segments, the scan's first roots:
 * asks the dynamic linker, so it is called before the site lock is taken
 * (src/lifecycle.c), by the thread that then scans. */
void pt_reach_prepare(void);
/* Scans at exit: stops the other threads, classifies every live tracked
 * block, calls stopped(arg) (if set) while the threads are still stopped,
 * so that what it reads (the counters) agrees with the blocks the scan
 * saw, then lets the threads go; stopped must neither allocate nor lock.
 * 0, or -1 when blocks are not tracked, this thread did not call
 * pt_reach_prepare first, or memory for the table could not be mapped (r->n
 * is 0 then). */
int pt_reach_scan(struct pt_reach *r, void (*stopped)(void *arg), void *arg);
void pt_reach_release(struct pt_reach *r);

/* reach.c's hooks into the process's exit: exit() called by the program
 * records where its frames end; so does main's return. */

/* ---- group.c ---- */
struct pt_run_mem;
/* What the blocks module (UINT32_MAX: all, at exit) still holds, scanned
 * and grouped when blocks are tracked; per site otherwise (site lock held). */
struct pt_run_mem *pt_run_mem_collect(uint32_t module);
/* Tells the C runtime's groups by their stacks and sums the findings: it
 * symbolises, so it runs after the site lock is released. */
void pt_run_mem_classify(struct pt_run_mem *m);
/* Findings: lost groups (or held sites without a scan). */
int pt_run_mem_findings(const struct pt_run_mem *m);
/* The first line's figures: blocks and bytes of the findings, and groups. */
void pt_run_mem_totals(const struct pt_run_mem *m, uint64_t *blocks, uint64_t *bytes,
		       int *groups, uint64_t *rt_blocks, uint64_t *rt_bytes);
int pt_run_mem_scanned(const struct pt_run_mem *m); /* classified by a scan */
int pt_run_mem_reachable(const struct pt_run_mem *m, uint64_t *blocks, uint64_t *bytes);
void pt_run_mem_print(FILE *f, const struct pt_run_mem *m);
void pt_run_mem_log(const struct pt_run_mem *m); /* for pooltag faults' driver */
void pt_run_mem_free(struct pt_run_mem *m);
void pt_run_mem_fork_child(void); /* a fork child's counts at the fork */
/* The groups as report.c's pipeline holds them (BLOCKS groups, preload.h). */
struct pt_run_group;
size_t pt_run_mem_ngroups(const struct pt_run_mem *m);
void pt_run_mem_group(const struct pt_run_mem *m, size_t i, struct pt_run_group *out);
void pt_run_mem_suppress(struct pt_run_mem *m, size_t i); /* no finding, not listed */

/* Symbolises, before dlclose may unmap it, every frame of a live block's
 * stack inside the object holding addr, so groups keep the names (group.c). */
void pt_run_names_keep(uintptr_t addr);

#endif /* PT_REACH_H */
