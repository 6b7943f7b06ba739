/*
 * nonpaged.h - the non-paged pool's back end: memory locked in RAM.
 *
 * Blocks come from mlock'ed regions: small blocks from size-class slabs,
 * large ones from their own mapping.  Every block is wiped (explicit_bzero)
 * when freed, before it can be handed out again or unmapped, so a secret never
 * outlives its block.  When the memory-lock limit (RLIMIT_MEMLOCK, unless the
 * process has CAP_IPC_LOCK) stops a new region from being locked, the
 * allocation fails with errno ENOMEM and nothing else changes.
 *
 * This module knows nothing of tags or counters: pool.c puts its block header
 * inside the memory returned here.  Thread-safe.
 */
#ifndef PT_NONPAGED_H
#define PT_NONPAGED_H

#include <stddef.h>

/* size bytes aligned to align (a power of two, at least 16), zero-filled.
 * NULL with errno ENOMEM when memory or the lock limit runs out, or size is
 * absurd. */
void *pt_np_alloc(size_t size, size_t align);

/* Wipes and releases a block; size and align are the ones it was allocated
 * with (the caller keeps them, so blocks carry no header here). */
void pt_np_free(void *p, size_t size, size_t align);

/* Is a block of this size and alignment a mapping of its own (unmapped
 * when freed)? */
int pt_np_alone(size_t size, size_t align);

/* Fork handlers, called by the library's own (segment.c) in its lock order:
 * the mutex is held across fork, and the child locks its regions again
 * (locks are not inherited). */
void pt_np_prepare(void);
void pt_np_parent(void);
void pt_np_child(void);
void pt_fork_handlers(void); /* segment.c: registers the library's handlers once */

/* Bytes currently locked by the pool (slabs and large blocks), for tests. */
size_t pt_np_locked_bytes(void);

#endif /* PT_NONPAGED_H */
