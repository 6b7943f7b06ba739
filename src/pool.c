/*
 * pool.c - allocation and free with accounting: the hot path.
 *
 * Cost of an allocation on top of the back end's: one relaxed load of the
 * site's cached slot, one compare, two header stores, and two plain adds to
 * counters in the calling thread's own shard.  No lock, no atomic
 * read-modify-write, no shared cache line written, nothing that grows with
 * the number of tags or sites.  A free reads the block header (on the cache
 * line malloc's own header shares), checks it, and does the same two adds.
 * Everything else (the first call at a site, a thread's first count,
 * aligned or non-paged blocks, misuse) leaves the fast path through one
 * unlikely branch.
 *
 * Back ends sit behind a method table, one entry per pool, so that a later
 * layer (fault injection, special pool) can wrap them without touching this
 * file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
 * caches the slot in the site.  0 (with errno EINVAL) for a bad pool or tag. */
static __attribute__((noinline)) uint32_t slot_slow(struct pt_site *site, uint32_t tag,
						    unsigned pool)
{
	uint32_t slot;

	if (pool >= PT_NPOOLS) {
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

/* Counts one allocation (sign 0) or free (sign 1) of size bytes at slot, in
 * the thread's shard; a thread's first count attaches it to a shard. */
static __attribute__((noinline)) void count_slow(uint32_t slot, uint64_t size, int is_free)
{
	int shared;
	struct pt_ctr *c = pt_shard_attach(&shared) + slot;

	if (!shared) {
		pt_counter_add(is_free ? &c->nfrees : &c->nallocs, 1);
		pt_counter_add(is_free ? &c->bytes_freed : &c->bytes_alloc, size);
		return;
	}
	atomic_fetch_add_explicit(is_free ? &c->nfrees : &c->nallocs, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(is_free ? &c->bytes_freed : &c->bytes_alloc, size,
				  memory_order_relaxed);
}

static inline void count_alloc(uint32_t slot, uint64_t size)
{
	struct pt_ctr *c = pt_tls_ctr;

	if (pt_unlikely(!c)) {
		count_slow(slot, size, 0);
		return;
	}
	pt_counter_add(&c[slot].nallocs, 1);
	pt_counter_add(&c[slot].bytes_alloc, size);
}

static inline void count_free(uint32_t slot, uint64_t size)
{
	struct pt_ctr *c = pt_tls_ctr;

	if (pt_unlikely(!c)) {
		count_slow(slot, size, 1);
		return;
	}
	pt_counter_add(&c[slot].nfrees, 1);
	pt_counter_add(&c[slot].bytes_freed, size);
}

/* Where the header of a block with this alignment starts relative to base. */
static inline size_t hdr_room(unsigned align_log2)
{
	return align_log2 ? (size_t)1 << align_log2 : sizeof(struct pt_hdr);
}

/* The common allocation path.  align_log2 is 0 for ordinary blocks. */
static inline void *alloc_block(struct pt_site *site, unsigned pool, unsigned align_log2,
				size_t size, uint32_t tag, int zero)
{
	uint32_t slot = slot_of(site, tag, pool);
	size_t room = hdr_room(align_log2);
	struct pt_hdr *h;
	char *base;

	if (pt_unlikely(!slot))
		return NULL;
	if (pt_unlikely(size > PT_SIZE_MAX)) {
		errno = ENOMEM;
		return NULL;
	}
	base = pt_backends[pool].alloc(size + room, room);
	if (pt_unlikely(!base)) {
		errno = ENOMEM;
		return NULL;
	}
	h = (struct pt_hdr *)(base + room) - 1;
	h->tag = tag;
	h->meta = pt_hdr_meta(slot, pool, align_log2);
	h->word = pt_hdr_word(tag, h->meta, size, PT_CHECK_LIVE);
	if (zero)
		memset(h + 1, 0, size);
	count_alloc(slot, size);
	return h + 1;
}

void *pt_alloc_at(struct pt_site *site, enum pt_pool pool, size_t size, uint32_t tag)
{
	return alloc_block(site, (unsigned)pool, 0, size, tag, 0);
}

void *pt_zalloc_at(struct pt_site *site, enum pt_pool pool, size_t size, uint32_t tag)
{
	return alloc_block(site, (unsigned)pool, 0, size, tag, pool != PT_NONPAGED);
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
	if (align > sizeof(struct pt_hdr))
		lg = (unsigned)__builtin_ctzl(align);
	return alloc_block(site, (unsigned)pool, lg, size, tag, 0);
}

/* Validates p's header for op; reports and returns NULL if it is not a live
 * block of ours. */
static struct pt_hdr *live_header(const void *p, const char *op, uint32_t used_tag,
				  struct pt_site *site)
{
	struct pt_hdr *h = (struct pt_hdr *)p - 1;
	uint64_t size = h->word & ((1ull << PT_SIZE_BITS) - 1);
	uint64_t check = h->word >> PT_SIZE_BITS;
	uint32_t slot = pt_meta_slot(h->meta);

	/* A live block implies the segment exists: its slot was registered. */
	if (pt_likely(check == pt_hdr_check(h->tag, h->meta, size, PT_CHECK_LIVE) && pt_seg.hdr &&
		      slot < __atomic_load_n(&pt_seg.hdr->nslots, __ATOMIC_RELAXED)))
		return h;
	pt_seg_init();
	if (check == pt_hdr_check(h->tag, h->meta, size, PT_CHECK_FREED) &&
	    slot < pt_seg.hdr->nslots)
		pt_misuse_report(PT_MISUSE_BAD_POINTER, op, p, h->tag, used_tag, slot, site);
	else
		pt_misuse_report(PT_MISUSE_BAD_POINTER, op, p, 0, used_tag, 0, site);
	return NULL;
}

/* Releases a checked block: marks it freed, counts, returns it to its pool. */
static inline void free_block(struct pt_hdr *h)
{
	uint32_t meta = h->meta;
	uint64_t size = h->word & ((1ull << PT_SIZE_BITS) - 1);
	unsigned lg = pt_meta_align_log2(meta);
	size_t room = hdr_room(lg);

	h->word = pt_hdr_word(h->tag, meta, size, PT_CHECK_FREED);
	count_free(pt_meta_slot(meta), size);
	pt_backends[pt_meta_pool(meta)].free((char *)(h + 1) - room, size + room, room);
}

void pt_free_at(struct pt_site *site, void *p, uint32_t tag)
{
	struct pt_hdr *h;

	if (pt_unlikely(!p))
		return;
	h = live_header(p, "free", tag, site);
	if (pt_unlikely(!h))
		return;
	if (pt_unlikely(h->tag != tag))
		pt_misuse_report(PT_MISUSE_TAG_MISMATCH, "free", p, h->tag, tag,
				 pt_meta_slot(h->meta), site);
	free_block(h);
}

void *pt_realloc_at(struct pt_site *site, void *p, size_t size, uint32_t tag)
{
	struct pt_hdr *h, old;
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
	old_size = old.word & ((1ull << PT_SIZE_BITS) - 1);
	pool = pt_meta_pool(old.meta);
	lg = pt_meta_align_log2(old.meta);
	if (old.tag != tag) {
		pt_misuse_report(PT_MISUSE_TAG_MISMATCH, "realloc", p, old.tag, tag,
				 pt_meta_slot(old.meta), site);
		tag = old.tag; /* the block keeps its own tag */
	}
	if (pool != PT_PAGED || lg != 0) {
		/* Locked or over-aligned memory cannot move with realloc(3). */
		n = alloc_block(site, pool, lg, size, tag, 0);
		if (n) {
			memcpy(n, p, size < old_size ? size : old_size);
			free_block(h);
		}
		return n;
	}
	slot = slot_of(site, tag, pool);
	if (!slot)
		return NULL;
	if (size > PT_SIZE_MAX || !(n = realloc(h, size + sizeof(*h)))) {
		errno = ENOMEM;
		return NULL;
	}
	h = n;
	h->meta = pt_hdr_meta(slot, pool, 0);
	h->word = pt_hdr_word(tag, h->meta, size, PT_CHECK_LIVE);
	count_free(pt_meta_slot(old.meta), old_size);
	count_alloc(slot, size);
	return h + 1;
}

size_t pt_size(const void *p)
{
	const struct pt_hdr *h = p ? live_header(p, "size query", 0, NULL) : NULL;
	return h ? h->word & ((1ull << PT_SIZE_BITS) - 1) : 0;
}

enum pt_pool pt_pool_of(const void *p)
{
	const struct pt_hdr *h = p ? live_header(p, "pool query", 0, NULL) : NULL;
	return h ? (enum pt_pool)pt_meta_pool(h->meta) : PT_PAGED;
}

uint32_t pt_tag_of(const void *p)
{
	const struct pt_hdr *h = p ? live_header(p, "tag query", 0, NULL) : NULL;
	return h ? h->tag : 0;
}
