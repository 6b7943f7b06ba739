/*
 * internal.h - what the library's modules share: compiler glue, the block
 * header, the counter update primitives and the entry points of each module.
 * Nothing here is part of the public API.
 */
#ifndef PT_INTERNAL_H
#define PT_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pooltag.h"
#include "segfmt.h"

#define pt_likely(x) __builtin_expect(!!(x), 1)
#define pt_unlikely(x) __builtin_expect(!!(x), 0)
#define PT_TLS __thread __attribute__((tls_model("initial-exec")))

/*
 * The block header: 16 bytes directly below every pointer the library hands
 * out, so the user pointer keeps malloc's 16-byte alignment.
 *
 *        base (from the back end)
 *        |<- off = 16, or the alignment for aligned blocks ->|
 *        +---------------------------------+-----------------+------------------
 *        | padding (aligned blocks only)   | struct pt_hdr   | user data ...
 *        +---------------------------------+-----------------+------------------
 *                                                            ^ pointer returned
 *
 * meta packs the counter slot (24 bits), the pool (2 bits) and log2 of the
 * alignment (6 bits; 0 for ordinary blocks).  word packs the requested size
 * (40 bits) and a 24-bit check value derived from the other fields; a block
 * whose check does not match was not allocated by pooltag, was freed
 * already, or had its header overwritten.
 */
struct pt_hdr {
	uint32_t tag;
	uint32_t meta;
	uint64_t word;
};

#define PT_HDR_SLOT_BITS 24
#define PT_SIZE_BITS 40
#define PT_SIZE_MAX ((((uint64_t)1) << PT_SIZE_BITS) - 1 - 65536)
#define PT_MAX_SLOTS_LIMIT (1u << PT_HDR_SLOT_BITS)

static inline uint32_t pt_hdr_meta(uint32_t slot, unsigned pool, unsigned align_log2)
{
	return slot | (uint32_t)pool << 24 | (uint32_t)align_log2 << 26;
}
static inline uint32_t pt_meta_slot(uint32_t meta)
{
	return meta & 0xffffff;
}
static inline unsigned pt_meta_pool(uint32_t meta)
{
	return (meta >> 24) & 3;
}
static inline unsigned pt_meta_align_log2(uint32_t meta)
{
	return meta >> 26;
}

/* The check: a multiplicative hash of the other fields, 24 bits.  Freeing a
 * block rewrites it with the "freed" constant mixed in, so a second free of
 * an untouched block is recognised too. */
#define PT_CHECK_LIVE 0x5a17c3u
#define PT_CHECK_FREED 0xa5e83cu
static inline uint64_t pt_hdr_check(uint32_t tag, uint32_t meta, uint64_t size, uint32_t state)
{
	uint64_t h = ((uint64_t)tag << 32 | meta) * 0x9e3779b97f4a7c15ull;
	h ^= size * 0xc2b2ae3d27d4eb4full;
	return ((h >> 40) ^ state) & 0xffffff;
}
static inline uint64_t pt_hdr_word(uint32_t tag, uint32_t meta, uint64_t size, uint32_t state)
{
	return size | pt_hdr_check(tag, meta, size, state) << PT_SIZE_BITS;
}

/*
 * Counter updates.  A thread that owns its shard is the only writer of it,
 * so an update is a relaxed load and store (a plain add on x86-64, no lock
 * prefix); readers in this process or another one load the words relaxed.
 * Shard 0 has many writers and uses atomic read-modify-write.
 */
typedef _Atomic uint64_t pt_counter;
struct pt_ctr {
	pt_counter nallocs, bytes_alloc, nfrees, bytes_freed;
};
_Static_assert(sizeof(struct pt_ctr) == sizeof(struct pt_seg_ctr), "counters match the segment");

static inline void pt_counter_add(pt_counter *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* ---- segment.c: the export segment ---- */
struct pt_seg {
	struct pt_seg_header *hdr;
	struct pt_seg_slot *slots;
	struct pt_seg_desc *descs;
	char *strings;
	char *shards;
};
extern struct pt_seg pt_seg; /* valid after pt_seg_init() */
void pt_seg_init(void);      /* idempotent, thread-safe; never fails (falls back to private memory) */
int pt_seg_commit(uint64_t off, uint64_t len); /* make [off, off+len) writable without faults */
void pt_seg_lock(void);
void pt_seg_unlock(void);
static inline struct pt_ctr *pt_seg_shard(uint32_t shard)
{
	return (struct pt_ctr *)(pt_seg.shards + (uint64_t)shard * pt_seg.hdr->shard_stride);
}

/* ---- registry.c: slots, strings, descriptions (callers hold pt_seg_lock) ---- */
uint32_t pt_registry_slot(const struct pt_site *site, uint32_t tag, unsigned pool);
int pt_registry_describe(uint32_t tag, const char *desc, const char *binary);
uint32_t pt_registry_committed(void); /* slots [0, n) have counter pages in every shard */

/* ---- shard.c: per-thread counter shards ---- */
extern PT_TLS struct pt_ctr *pt_tls_ctr; /* this thread's shard, or NULL */
struct pt_ctr *pt_shard_attach(int *shared); /* *shared: shard 0, update with atomic RMW */
int pt_shard_commit_all(uint64_t rel_off, uint64_t len); /* callers hold pt_seg_lock */
void pt_shard_atfork_child(void);

/* ---- misuse.c ---- */
void pt_misuse_report(enum pt_misuse_kind kind, const char *op, const void *addr, uint32_t tag,
		      uint32_t used_tag, uint32_t slot, const struct pt_site *site);

/* ---- tag.c ---- */
int pt_tag_valid(uint32_t tag);

#endif /* PT_INTERNAL_H */
