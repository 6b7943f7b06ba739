/*
 * runlib.h - the library as `pooltag run`'s interposer (preload/) reaches
 * it.  preload/ includes this header and pooltag.h, never internal.h: what
 * is not declared here (or in the module headers it includes) the
 * interposer cannot call, so this file is the whole edge between the two.
 * Each declaration lives here once; internal.h includes this file for the
 * library's own modules.
 *
 * The interposer runs the library inside a program that knows nothing of
 * it.  It shares, whole:
 *   block.h    the block layer: the same header and layers on glibc's
 *              allocator, so a block is the library's whatever made it
 *   segfmt.h   the segment's records, which its reports read by slot
 *   stack.h    call stacks and their symbols, unwind.h the unwinder it
 *              runs to find a caller, elfsym.h function names of stripped
 *              modules
 * and reaches the rest of the library through the declarations below.
 * The files it applies (the tag map, suppressions) are no part of the
 * library: their parsers are in common/, shared with the CLI.
 */
#ifndef PT_RUNLIB_H
#define PT_RUNLIB_H

#include <stddef.h>
#include <stdint.h>

#include "pooltag.h"
#include "segfmt.h"
#include "block.h"
#include "elfsym.h"
#include "stack.h"
#include "unwind.h"

/* ---- segment.c: the export segment ---- */
struct pt_seg {
	struct pt_seg_header *hdr;
	struct pt_seg_slot *slots;
	struct pt_seg_desc *descs;
	struct pt_seg_module *modules;
	char *strings;
	struct pt_seg_sample *samples; /* sample.c's table */
	char *shards;
};
extern struct pt_seg pt_seg; /* valid after pt_seg_init() */
void pt_seg_init(void);      /* lifecycle.c: idempotent, thread-safe; never fails (falls back to private memory) */
void pt_seg_lock(void);
void pt_seg_unlock(void);
void pt_seg_remove(void); /* unlink the segment's name now (a verifier stop) */
void pt_seg_exec_prepare(void); /* an exec is coming: unlink the segment's name */
void pt_seg_exec_failed(void);  /* it failed: export a new file at the next count */

/* ---- sample.c: sampled stacks (sample.h) ---- */
/* The countdown (pt__tls_sample) crossed zero at the allocation of user
 * (size bytes, counted at slot): draws the next distance and records the
 * stack above the caller's return address.  A thread's first crossing only
 * starts its sampler.  Never fails the allocation: a sample that cannot be
 * recorded is counted as dropped.  The interposer's hooks call it as
 * pt_block_alloc does. */
void pt_sample_hit(void *user, uint32_t slot, uint64_t size);

/* A block with PT_META_SAMPLED is being released (or resized in place). */
void pt_sample_drop(const void *user);

/* Sampling off, or as configured (off 0): segment.c sets it once the
 * segment is made (off in the interposer's copy, and in a program's copy
 * deferring to it); the interposer turns it on when it tracks nothing. */
void pt_sample_setup(int off);

/* ---- fdplace.c: pooltag's own descriptors above the program's range ---- */
int pt_fd_base(void);     /* the lowest number they take */
int pt_fd_high(int fd);   /* fd moved up (close-on-exec, the original closed); fd if no room */

/* ---- registry.c: slots, strings, descriptions (callers hold pt_seg_lock) ---- */
/* As pt_registry_slot (internal.h), charged to module id: a site
 * descriptor made at run time for a program counter lies in no module of
 * its own. */
uint32_t pt_registry_slot_in(const struct pt_site *site, uint32_t tag, unsigned pool,
			     uint32_t module);
int pt_registry_describe(uint32_t tag, const char *desc, const char *binary);
/* s in the string area: its offset, 0 for "", 1 ("?") when it does not fit. */
uint32_t pt_registry_string(const char *s);
int pt_registry_described(uint32_t tag);
void pt_registry_module(uint32_t id, const char *name, const char *path, uint32_t state);
void pt_registry_forget_module(uint32_t id); /* its sites are gone with its code */
/* Gives slot its function, file and line once they are known (pooltag run
 * resolves lines only for the sites a report shows).  Segment lock held. */
void pt_registry_locate(uint32_t slot, const char *func, const char *file, unsigned line);

/* ---- block.c, shard.c: counting without a block ---- */
/* Counts one acquisition (is_release 0) or release of bytes at slot in
 * this thread's shard, with no block: the interposer's descriptors. */
void pt_count_event(uint32_t slot, uint64_t bytes, int is_release);
void pt_slot_sum(uint32_t slot, struct pt_count *out); /* one slot over all shards */

/* ---- verify.c, track.c: records of live blocks while blocks are tracked ---- */
unsigned pt_track_flags(void);
/* Calls fn for every live record, every stripe locked meanwhile (fn must
 * not allocate or free a tracked block). */
void pt_track_each(void (*fn)(struct pt_trec *r, void *arg), void *arg);
size_t pt_track_count(void); /* live records (exact while no thread allocates) */
/* A thread inside tracking's critical section (pt_track_cs non-zero) must
 * not be parked there by the exit scan (preload/reach.c): its stop signal
 * sets pt_track_cs_pending, and it calls pt_track_cs_park when it leaves. */
extern __thread int pt_track_cs __attribute__((tls_model("initial-exec")));
extern __thread int pt_track_cs_pending __attribute__((tls_model("initial-exec")));
extern void (*pt_track_cs_park)(void);
extern uint32_t pt_track_gen; /* this process's: 0, a fork child's parent's + 1 */

/* ---- fault.c: a run driven by `pooltag faults` (faultrun.h is the driver's side) ---- */
int pt_fault_logging(void); /* is this a driven run */
void pt_fault_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pt_fault_finding(void); /* call before logging a finding */

#endif /* PT_RUNLIB_H */
