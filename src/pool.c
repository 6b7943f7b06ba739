/*
 * pool.c - allocation and free with accounting: every case the inline fast
 * paths of pooltag.h hand over.
 *
 * The fast paths (a paged block at a site that ran before, on a thread that
 * has its shard) cost, on top of malloc: a relaxed load and compare of the
 * site's cached slot, three header stores, and two plain adds to counters
 * only this thread writes.  No lock, no atomic read-modify-write, no shared
 * cache line written, nothing that grows with the number of tags or sites.
 * A free reads the header (on the cache line malloc's own header shares),
 * checks it and does the same two adds.  Here is the rest: registration of a
 * site, a thread's first count, aligned and non-paged blocks, resizing, and
 * every report of misuse.
 *
 * Back ends sit behind a method table, one entry per pool, so that a later
 * layer (fault injection, special pool) can wrap them.  The inline paths
 * call malloc and free directly: such a layer must also keep them away
 * (sites registered without the key's valid bit, pt__fast_slots at 0).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultrun.h"
#include "internal.h"
#include "nonpaged.h"

struct pt_backend {
	void *(*alloc)(size_t size, size_t align); /* zeroed memory is not required */
	void (*free)(void *base, size_t size, size_t align);
};

static void *paged_alloc(size_t size, size_t align)
{
	void *p;
	int e;

	if (align <= 16)
		return malloc(size);
	e = posix_memalign(&p, align, size);
	if (e) {
		errno = e;
		return NULL;
	}
	return p;
}

static void paged_free(void *base, size_t size, size_t align)
{
	(void)size;
	(void)align;
	free(base);
}

static struct pt_backend pt_backends[PT_NPOOLS] = {
	[PT_PAGED] = {paged_alloc, paged_free},
	[PT_NONPAGED] = {pt_np_alloc, pt_np_free},
};

/* The key a site caches: tag, a valid bit, pool and slot.  Comparing the
 * top 40 bits against the call's tag and pool validates the cache. */
static inline uint64_t site_key(uint32_t tag, unsigned pool, uint32_t slot)
{
	return (uint64_t)tag << 32 | 1u << 31 | (uint64_t)pool << 24 | slot;
}

/* The slow half of slot lookup: validates the arguments, registers, and
 * caches the slot in the site.  pool is a counter class (PT_SEG_CLASS_*).
 * 0 (with errno EINVAL) for a bad class or tag. */
static __attribute__((noinline)) uint32_t slot_slow(struct pt_site *site, uint32_t tag,
						    unsigned pool)
{
	uint32_t slot;

	if (pool >= PT_SEG_NCLASSES) {
		errno = EINVAL;
		return 0;
	}
	pt_seg_init();
	if (!pt_tag_valid(tag)) {
		pt_misuse_report(PT_MISUSE_BAD_TAG, "allocation", NULL, 0, tag, 0, site);
		errno = EINVAL;
		return 0;
	}
	pt_seg_lock();
	slot = pt_registry_slot(site, tag, pool);
	pt_seg_unlock();
	__atomic_store_n(&site->key, site_key(tag, pool, slot), __ATOMIC_RELAXED);
	return slot;
}

static inline uint32_t slot_of(struct pt_site *site, uint32_t tag, unsigned pool)
{
	uint64_t key = __atomic_load_n(&site->key, __ATOMIC_RELAXED);

	if (pt_likely(key >> 24 == (site_key(tag, pool, 0) >> 24)))
		return (uint32_t)key & 0xffffff;
	return slot_slow(site, tag, pool);
}

uint32_t pt_slot_of(struct pt_site *site, uint32_t tag, unsigned cls)
{
	return slot_of(site, tag, cls);
}

/* Counts one allocation or free of size bytes at slot, in the thread's
 * shard; a thread's first count attaches it to a shard. */
static __attribute__((noinline)) void count_slow(uint32_t slot, uint64_t size, int is_free)
{
	int shared;
	struct pt__ctr *c;

	if (pt_unlikely(__atomic_load_n(&pt_seg_pending, __ATOMIC_ACQUIRE)))
		pt_seg_export_child();
	c = pt__tls_ctr;
	if (c) {
		pt__ctr_add(is_free ? &c[slot].nfrees : &c[slot].nallocs, 1);
		pt__ctr_add(is_free ? &c[slot].bytes_freed : &c[slot].bytes_alloc, size);
		return;
	}
	c = pt_shard_attach(&shared) + slot;

	if (!shared) {
		pt__ctr_add(is_free ? &c->nfrees : &c->nallocs, 1);
		pt__ctr_add(is_free ? &c->bytes_freed : &c->bytes_alloc, size);
		return;
	}
	__atomic_fetch_add(is_free ? &c->nfrees : &c->nallocs, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(is_free ? &c->bytes_freed : &c->bytes_alloc, size, __ATOMIC_RELAXED);
}

static inline void count_alloc(uint32_t slot, uint64_t size)
{
	struct pt__ctr *c = pt__tls_ctr;

	if (pt_unlikely(!c || __atomic_load_n(&pt_seg_pending, __ATOMIC_RELAXED))) {
		count_slow(slot, size, 0);
		return;
	}
	pt__ctr_add(&c[slot].nallocs, 1);
	pt__ctr_add(&c[slot].bytes_alloc, size);
}

static inline void count_free(uint32_t slot, uint64_t size)
{
	struct pt__ctr *c = pt__tls_ctr;

	if (pt_unlikely(!c || __atomic_load_n(&pt_seg_pending, __ATOMIC_RELAXED))) {
		count_slow(slot, size, 1);
		return;
	}
	pt__ctr_add(&c[slot].nfrees, 1);
	pt__ctr_add(&c[slot].bytes_freed, size);
}

void pt_count_event(uint32_t slot, uint64_t bytes, int is_release)
{
	if (is_release)
		count_free(slot, bytes);
	else
		count_alloc(slot, bytes);
}

/* The alignment asked of the back end for a block of this kind. */
static inline size_t backend_align(unsigned align_log2)
{
	return align_log2 > PT_ALIGN_TRACKED ? (size_t)1 << align_log2 : 16;
}

/* Where the header of a block with this alignment starts relative to base
 * (a tracked block has its record there, see track.c). */
static inline size_t hdr_room(unsigned align_log2)
{
	if (align_log2 == PT_ALIGN_TRACKED)
		return sizeof(struct pt_trec) + sizeof(struct pt__hdr);
	return align_log2 ? (size_t)1 << align_log2 : sizeof(struct pt__hdr);
}

/* The general allocation path: any pool, any alignment, first calls at a
 * site.  align_log2 is 0 for ordinary blocks. */
static void *pt_alloc_block(struct pt_site *site, unsigned pool, unsigned align_log2,
				size_t size, uint32_t tag, int zero)
{
	uint32_t slot;
	size_t room = hdr_room(align_log2);
	struct pt__hdr *h;
	char *base;

	if (pt_unlikely(pool >= PT_NPOOLS)) {
		errno = EINVAL;
		return NULL;
	}
	pt_fault_point();
	if (pt_fault_check(PT_FAULT_ALLOC, site, tag, size))
		return NULL;
	slot = slot_of(site, tag, pool);
	if (pt_unlikely(!slot))
		return NULL;
	if (pt_unlikely(__atomic_load_n(&pt_special_on, __ATOMIC_RELAXED)) &&
	    size <= PT__SIZE_MAX && pt_special_selected(slot, tag, size)) {
		void *user = pt_special_alloc(slot, pool, align_log2, size, tag);
		if (user) { /* fresh pages: zeroed already */
			count_alloc(slot, size);
			return user;
		}
		/* Not mappable (the kernel's map count): an ordinary block. */
	}
	if (align_log2 == 0 && (pt_track_flags() & PT_TRACK_BLOCKS)) {
		align_log2 = PT_ALIGN_TRACKED;
		room = hdr_room(align_log2);
	}
	if (pt_unlikely(size > PT__SIZE_MAX)) {
		errno = ENOMEM;
		return NULL;
	}
	base = pt_backends[pool].alloc(size + room, backend_align(align_log2));
	if (pt_unlikely(!base)) {
		errno = ENOMEM;
		return NULL;
	}
	h = (struct pt__hdr *)(base + room) - 1;
	h->tag = tag;
	h->meta = pt_hdr_meta(slot, pool, align_log2);
	h->word = pt__hdr_word(h->meta, size);
	if (zero)
		memset(h + 1, 0, size);
	if (align_log2 == PT_ALIGN_TRACKED)
		pt_track_block_add((struct pt_trec *)base, slot);
	count_alloc(slot, size);
	return h + 1;
}

/* pt_alloc's fast path is inline in pooltag.h; it calls here for the rest. */
void *pt_alloc_at(struct pt_site *site, enum pt_pool pool, size_t size, uint32_t tag)
{
	return pt_alloc_block(site, (unsigned)pool, 0, size, tag, 0);
}

void *pt_zalloc_at(struct pt_site *site, enum pt_pool pool, size_t size, uint32_t tag)
{
	return pt_alloc_block(site, (unsigned)pool, 0, size, tag, pool != PT_NONPAGED);
}

void *pt_calloc_at(struct pt_site *site, enum pt_pool pool, size_t n, size_t size, uint32_t tag)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return pt_zalloc_at(site, pool, total, tag);
}

void *pt_alloc_aligned_at(struct pt_site *site, enum pt_pool pool, size_t align, size_t size,
			  uint32_t tag)
{
	unsigned lg = 0;

	if (align == 0 || (align & (align - 1)) || align > ((size_t)1 << 30)) {
		errno = EINVAL;
		return NULL;
	}
	if (align > sizeof(struct pt__hdr))
		lg = (unsigned)__builtin_ctzl(align);
	return pt_alloc_block(site, (unsigned)pool, lg, size, tag, 0);
}

/* Validates p's header for op; reports and returns NULL if it is not a live
 * block of ours.  A block in the special pool's quarantine is recognised
 * before its (unreadable) header is touched.  A header that fails the check
 * but still names a slot of its own tag and pool was overwritten in place
 * (an underrun, or an overrun of the block below): reported as corrupted,
 * with the site it names. */
static struct pt__hdr *live_header(const void *p, const char *op, uint32_t used_tag,
				  struct pt_site *site)
{
	struct pt__hdr *h = (struct pt__hdr *)p - 1;
	uint64_t size;
	uint32_t slot;
	int in_range;

	pt_seg_init();
	if (pt_unlikely(__atomic_load_n(&pt_special_on, __ATOMIC_RELAXED)) &&
	    pt_special_check(p, op, used_tag, site, 0))
		return NULL;
	size = h->word & PT__SIZE_MASK;
	slot = pt_meta_slot(h->meta);
	in_range = pt_meta_pool(h->meta) < PT_NPOOLS && slot > 0 &&
		   slot < __atomic_load_n(&pt_seg.hdr->nslots, __ATOMIC_ACQUIRE);
	if (in_range && h->word == pt__hdr_word(h->meta, size))
		return h;
	if (in_range && h->word == pt_hdr_freed(pt__hdr_word(h->meta, size)))
		pt_misuse_report(PT_MISUSE_BAD_POINTER, op, p, h->tag, used_tag, slot, site);
	else if (pt_unlikely(__atomic_load_n(&pt_special_on, __ATOMIC_RELAXED)) &&
		 pt_special_check(p, op, used_tag, site, 1))
		; /* reported with the special block's record */
	else if (in_range && pt_seg.slots[slot].tag == h->tag &&
		 pt_seg.slots[slot].pool == pt_meta_pool(h->meta))
		pt_misuse_report(PT_MISUSE_CORRUPTED, op, p, h->tag, used_tag, slot, site);
	else
		pt_misuse_report(PT_MISUSE_BAD_POINTER, op, p, 0, used_tag, 0, site);
	return NULL;
}

/* Releases a checked block: marks it freed, counts, returns it to its pool
 * (a special block to the quarantine; site is where it was freed).  Named
 * pt_ like every function on a path that captures a stack: the printer
 * drops leading pt_ frames, so the stack starts at the program's call. */
static void pt_free_block(struct pt__hdr *h, const struct pt_site *site)
{
	uint32_t meta = h->meta;
	uint64_t size = h->word & PT__SIZE_MASK;
	unsigned lg = pt_meta_align_log2(meta);
	size_t room = hdr_room(lg);
	char *base = (char *)(h + 1) - room;

	h->word = pt_hdr_freed(h->word);
	if (lg == PT_ALIGN_SPECIAL) {
		count_free(pt_meta_slot(meta), size);
		pt_special_free(h + 1, site);
		return;
	}
	if (lg == PT_ALIGN_TRACKED)
		pt_track_block_del((struct pt_trec *)base);
	count_free(pt_meta_slot(meta), size);
	pt_backends[pt_meta_pool(meta)].free(base, size + room, backend_align(lg));
}

/* pt_free's fast path is inline in pooltag.h; it calls here for the rest:
 * other pools and alignments, a thread's first count, and every kind of
 * misuse, reported before anything is touched. */
void pt_free_at(struct pt_site *site, void *p, uint32_t tag)
{
	struct pt__hdr *h;

	if (!p)
		return;
	h = live_header(p, "free", tag, site);
	if (!h)
		return;
	if (h->tag != tag)
		pt_misuse_report(PT_MISUSE_TAG_MISMATCH, "free", p, h->tag, tag,
				 pt_meta_slot(h->meta), site);
	pt_free_block(h, site);
}

static const char *pool_name(unsigned pool)
{
	return pool == PT_NONPAGED ? "non-paged" : pool == PT_PAGED ? "paged" : "unknown";
}

/* A free that names its pool.  Freeing into another pool than the block's
 * own cannot work for an allocator with separate pools (the Windows
 * verifier's "freed into the wrong pool"); here each block knows its pool,
 * so it is reported and the block returns to its own. */
void pt_free_pool_at(struct pt_site *site, void *p, enum pt_pool pool, uint32_t tag)
{
	struct pt__hdr *h;
	unsigned own;

	if (!p)
		return;
	h = live_header(p, "free", tag, site);
	if (!h)
		return;
	own = pt_meta_pool(h->meta);
	if (h->tag != tag)
		pt_misuse_report(PT_MISUSE_TAG_MISMATCH, "free", p, h->tag, tag,
				 pt_meta_slot(h->meta), site);
	if (own != (unsigned)pool) {
		char text[768], alloc_at[256], at[256], t[5];
		uint32_t slot = pt_meta_slot(h->meta);
		const struct pt_seg_slot *s = &pt_seg.slots[slot];
		struct pt_misuse m = {PT_MISUSE_WRONG_POOL, p, h->tag, tag,
				      pt_seg.strings + s->file, pt_seg.strings + s->func, s->line,
				      site, text, NULL, NULL};

		pt_slot_text(slot, alloc_at, sizeof(alloc_at));
		pt_site_text(site, at, sizeof(at));
		snprintf(text, sizeof(text),
			 "pooltag: free into the wrong pool: block %p (tag '%s') is %s, allocated "
			 "at %s; freed as %s at %s",
			 p, pt_tag_str(h->tag, t), pool_name(own), alloc_at,
			 (unsigned)pool < PT_NPOOLS ? pool_name((unsigned)pool) : "an invalid pool",
			 at);
		pt_misuse_deliver(&m);
	}
	pt_free_block(h, site);
}

void *pt_realloc_at(struct pt_site *site, void *p, size_t size, uint32_t tag)
{
	struct pt__hdr *h, old;
	uint64_t old_size;
	unsigned pool, lg;
	uint32_t slot;
	void *n;

	if (!p)
		return pt_alloc_at(site, PT_PAGED, size, tag);
	h = live_header(p, "realloc", tag, site);
	if (!h) {
		errno = EINVAL;
		return NULL;
	}
	old = *h;
	old_size = old.word & PT__SIZE_MASK;
	pool = pt_meta_pool(old.meta);
	lg = pt_meta_align_log2(old.meta);
	if (old.tag != tag) {
		pt_misuse_report(PT_MISUSE_TAG_MISMATCH, "realloc", p, old.tag, tag,
				 pt_meta_slot(old.meta), site);
		tag = old.tag; /* the block keeps its own tag */
	}
	if (lg == PT_ALIGN_SPECIAL)
		lg = pt_special_align_log2(p); /* the block's own alignment */
	if (pool != PT_PAGED || lg != 0 || pt_meta_align_log2(old.meta) == PT_ALIGN_SPECIAL) {
		/* Locked or over-aligned memory cannot move with realloc(3). */
		n = pt_alloc_block(site, pool, lg, size, tag, 0);
		if (n) {
			memcpy(n, p, size < old_size ? size : old_size);
			pt_free_block(h, site);
		}
		return n;
	}
	pt_fault_point();
	if (size > old_size && pt_fault_check(PT_FAULT_ALLOC, site, tag, size))
		return NULL; /* a realloc that grows is an acquisition */
	slot = slot_of(site, tag, pool);
	if (!slot)
		return NULL;
	if (size > PT__SIZE_MAX || !(n = realloc(h, size + sizeof(*h)))) {
		errno = ENOMEM;
		return NULL;
	}
	h = n;
	h->meta = pt_hdr_meta(slot, pool, 0);
	h->word = pt__hdr_word(h->meta, size);
	count_free(pt_meta_slot(old.meta), old_size);
	count_alloc(slot, size);
	return h + 1;
}

size_t pt_size(const void *p)
{
	const struct pt__hdr *h = p ? live_header(p, "size query", 0, NULL) : NULL;
	return h ? h->word & PT__SIZE_MASK : 0;
}

enum pt_pool pt_pool_of(const void *p)
{
	const struct pt__hdr *h = p ? live_header(p, "pool query", 0, NULL) : NULL;
	return h ? (enum pt_pool)pt_meta_pool(h->meta) : PT_PAGED;
}

uint32_t pt_tag_of(const void *p)
{
	const struct pt__hdr *h = p ? live_header(p, "tag query", 0, NULL) : NULL;
	return h ? h->tag : 0;
}
