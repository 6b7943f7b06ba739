/*
 * internal.h - what the library's modules share: compiler glue, the block
 * header, the counter update primitives and the entry points of each module.
 * Nothing here is part of the public API.
 */
#ifndef PT_INTERNAL_H
#define PT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pooltag.h"
#include "segfmt.h"

/* The block header, its layout and the block layer: block.h.  What the
 * interposer reaches too (the segment, the registry's entry points,
 * tracking's records, stacks): runlib.h. */
#include "block.h"
#include "runlib.h"
#include "sample.h"

/*
 * Counters (struct pt__ctr in pooltag.h).  A thread that owns its shard is
 * the only writer of it, so an update is a relaxed load and store
 * (pt__ctr_add: a plain add on x86-64); readers in this process or another
 * load the words relaxed.  Shard 0 has many writers and uses atomic
 * read-modify-write.
 */
_Static_assert(sizeof(struct pt__ctr) == sizeof(struct pt_seg_ctr), "counters match the segment");
_Static_assert(sizeof(struct pt__hdr) == 16, "the header keeps 16-byte alignment");

/* ---- config.c: options (POOLTAG, pt_config) ---- */
void pt_config_init(void); /* reads the environment once; idempotent, thread-safe */
/* A group of option keys (those starting with prefix) and the module's
 * parser: 0, or -1 with a one-line message in err. */
struct pt_option_group {
	const char *prefix;
	int (*apply)(const char *key, const char *val, char *err, size_t errlen);
	struct pt_option_group *next;
};
void pt_config_register(struct pt_option_group *g);
#define PT_OPTION_PRIO 101 /* groups register before the environment is read */
#define PT_OPTION_GROUP(name, prefix, fn)                                             \
	static struct pt_option_group name = {prefix, fn, NULL};                      \
	__attribute__((constructor(PT_OPTION_PRIO))) static void name##_register(void) \
	{                                                                             \
		pt_config_register(&name);                                            \
	}
int pt_fault_option(const char *key, const char *val, char *err, size_t errlen);
int pt_special_option(const char *key, const char *val, char *err, size_t errlen);

/* ---- segment.c: the export segment (the rest in runlib.h) ---- */
void pt_seg_probe(void);     /* what start-up asks the dynamic linker, asked before its once */
void pt_seg_create(void);    /* once, from pt_seg_init: a file, else private memory */
void pt_seg_fork_prepare(void); /* lifecycle.c's fork handlers, every library lock held */
void pt_seg_fork_parent(void);
void pt_seg_fork_child(void);
int pt_seg_commit(uint64_t off, uint64_t len); /* make [off, off+len) writable without faults */
extern int pt_seg_pending; /* a fork child that has not exported yet */
void pt_seg_export_child(void);
void pt_seg_keep_private(void); /* a fork child that never exports */
static inline struct pt__ctr *pt_seg_shard(uint32_t shard)
{
	return (struct pt__ctr *)(pt_seg.shards + (uint64_t)shard * pt_seg.hdr->shard_stride);
}

/* ---- registry.c: slots, strings, descriptions (callers hold pt_seg_lock; the rest in runlib.h) ---- */
uint32_t pt_registry_slot(const struct pt_site *site, uint32_t tag, unsigned pool);
/* pt_registry_slot_in's module for "the module holding the site descriptor". */
#define PT_MODULE_OF_SITE UINT32_MAX
uint32_t pt_registry_committed(void); /* slots [0, n) have counter pages in every shard */
#define PT_FIRST_COMMIT 128u /* slots backed when the segment is made (one page of counters) */

/* ---- shard.c: per-thread counter shards ---- */
/* pt__tls_ctr (pooltag.h): this thread's shard, or NULL. */
struct pt__ctr *pt_shard_attach(int *shared); /* *shared: shard 0, update with atomic RMW */
int pt_shard_commit_all(uint64_t rel_off, uint64_t len); /* callers hold pt_seg_lock */
void pt_shard_atfork_child(void);
/* The fork window (shard.c): opened by a fork's prepare handler, with every
 * library lock held; 0 when it cannot be (the counts then go on into the
 * shards). */
int pt_shard_window_open(void);
/* A count taken by the slow path: 1 if it went into the open window. */
int pt_shard_window_count(uint32_t slot, uint64_t bytes, int is_free);
void pt_shard_window_close(void); /* the parent, once the child's copy is made: window into shard 0 */
void pt_shard_window_child(struct pt__ctr *shard0, uint32_t nslots); /* the child: its window into its copy */

/* ---- block.c (besides block.h) ---- */
uint32_t pt_slot_of(struct pt_site *site, uint32_t tag, unsigned cls); /* 0: bad tag or class */

/* ---- module.c ---- */
uint32_t pt_module_id(const struct pt_module *m);
struct pt_module *pt_module_by_id(uint32_t id);
uint32_t pt_module_of(const void *addr); /* 0: the main program */
int pt_module_contains(const struct pt_module *m, uintptr_t addr);
uint32_t pt_module_epoch(void); /* how many plugins were loaded so far */
uint32_t pt_module_loaded_at(const struct pt_module *m); /* the epoch m was loaded in */
struct pt_site *pt_behalf_site(struct pt_site *own); /* the caller acted for, else own */

/* ---- object.c, verify.c ---- */
struct pt_acq; /* one outstanding reference or handle */
/* alt: the slot of another reference a release may have been meant for
 * instead of this one's (the pairing guessed between them), 0 if certain. */
typedef void (*pt_acq_fn)(const struct pt_objtype *type, uint32_t slot, uint32_t stack,
			  uint32_t epoch, int is_handle, uint32_t alt, void *arg);
void pt_obj_each_acq(pt_acq_fn fn, void *arg); /* under the objects' lock */
void pt_obj_lock(void); /* the objects' lock, which handle tables share */
void pt_obj_unlock(void);
void pt_obj_fork_lock(void); /* the bare mutex, for fork handlers */
void pt_obj_fork_unlock(void);
struct pt_acq *pt_obj_acquire_locked(struct pt_site *site, void *obj, uint32_t reftag,
				     int is_handle);
/* Releases a, the reference of a handle closed at site; the object to
 * destroy, or NULL. */
void *pt_obj_release_locked(void *obj, struct pt_acq *a, const struct pt_site *site);
uint32_t pt_acq_slot(const struct pt_acq *a); /* the acquiring site's counter slot */
/* Reports op on obj, not live (a deleted object named with its sites when
 * the special pool still holds its memory).  Without the lock. */
void pt_obj_report_not_live(const char *op, void *obj, struct pt_site *site);
void pt_obj_destroy(void *obj, struct pt_site *site); /* after unlocking; site: the release's */
uint32_t pt_obj_tag_locked(const void *obj); /* its type's tag; 0 if obj is not live */
const char *pt_objtype_name(const struct pt_objtype *t);
int pt_verify_module(struct pt_module *m, int apply_action);
/* A finding was reported: stop the program if the verifier's action says
 * so (exit status PT_BUGCHECK_EXIT, or abort); returns under "continue".
 * Async-signal-safe. */
void pt_verify_finding(void);
uint32_t pt_track_stack(void); /* a stack id for a new record, 0 when stacks are off */

/* ---- track.c: records of live blocks while blocks are tracked ---- */
/* The tracking layer (block.h): installed while PT_TRACK_BLOCKS is set. */
void pt_track_install(int on);
void pt_track_block_add(struct pt_trec *r, uint32_t slot);
void pt_track_block_del(struct pt_trec *r);
uint32_t pt_track_block_sample(uint32_t slot); /* a stack of a live block of slot, or 0 */
void pt_track_fork_prepare(void);
void pt_track_fork_release(void);
void pt_track_fork_child(void); /* releases, and starts the child's generation */

/* ---- special.c: the verifier's special pool ---- */
extern int pt_special_on; /* a selection is configured: the special layer is installed */
int pt_special_selected(uint32_t slot, uint32_t tag, size_t size);
/* A block on its own pages with its header written; NULL (caller falls back
 * to the ordinary back end) when it cannot be mapped. */
void *pt_special_alloc(uint32_t slot, unsigned pool, unsigned align_log2, size_t size,
		       uint32_t tag);
void pt_special_free(void *user, const struct pt_site *site); /* checked and counted already */
unsigned pt_special_align_log2(const void *user);
int pt_special_check(const void *user, const char *op, uint32_t used_tag,
		     const struct pt_site *site, int header_bad);
int pt_special_contains(const void *user); /* 0 no, 1 live, 2 quarantined */
uint32_t pt_special_sample(uint32_t slot);  /* a stack of a live block of slot, or 0 */
struct pt_special_stats {
	uint64_t live, quarantined, quarantined_bytes;
};
void pt_special_stats(struct pt_special_stats *out);
void pt_special_fork_prepare(void);
void pt_special_fork_release(void);

/* ---- misuse.c ---- */
/* Counts m, hands it to the hook (or writes its text and a newline to
 * standard error), then applies the verifier's action.  Async-signal-safe
 * when the hook is. */
void pt_misuse_deliver(const struct pt_misuse *m);
/* "file:line (func)" of a counter slot / a site, "an unknown site" without. */
void pt_slot_text(uint32_t slot, char *buf, size_t len);
void pt_site_text(const struct pt_site *site, char *buf, size_t len);
void pt_misuse_report(enum pt_misuse_kind kind, const char *op, const void *addr, uint32_t tag,
		      uint32_t used_tag, uint32_t slot, const struct pt_site *site);

/* ---- tag.c ---- */
int pt_tag_valid(uint32_t tag);

#endif /* PT_INTERNAL_H */
