/*
 * pool.c - the library's allocation API on the block layer (block.h): every
 * case the inline fast paths of pooltag.h hand over, and every report of
 * misuse.
 *
 * The fast paths (a paged block at a site that ran before, on a thread that
 * has its shard) cost, on top of malloc: a relaxed load and compare of the
 * site's cached slot, three header stores, and two plain adds to counters
 * only this thread writes.  No lock, no atomic read-modify-write, no shared
 * cache line written, nothing that grows with the number of tags or sites.
 * A free reads the header (on the cache line malloc's own header shares),
 * checks it and does the same two adds.  Here is the rest: registration of a
 * site, a thread's first count, aligned, large and non-paged blocks,
 * resizing, and the layers (tracking, the special pool, fault injection),
 * which while installed keep the inline paths away (pt__fast_slots 0).
 *
 * The back ends: malloc for the paged pool, the mlock'ed slabs of
 * nonpaged.c for the non-paged one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "nonpaged.h"

static void *paged_alloc(size_t len, size_t align, int zero)
{
	void *p;
	int e;

	if (align <= 16)
		return zero ? calloc(1, len) : malloc(len);
	e = posix_memalign(&p, align, len);
	if (e) {
		errno = e;
		return NULL;
	}
	if (zero)
		memset(p, 0, len);
	return p;
}

static void paged_free(void *base, size_t len, size_t align)
{
	(void)len;
	(void)align;
	free(base);
}

/* A block glibc served from a mapping of its own (only blocks too large
 * for the inline paths, which never see the release). */
static int paged_alone(const void *base, size_t len, size_t align)
{
	(void)align;
	return len > PT__INLINE_MAX && pt_block_glibc_alone(base);
}

static void *nonpaged_alloc(size_t len, size_t align, int zero)
{
	(void)zero; /* always zeroed */
	return pt_np_alloc(len, align);
}

static int nonpaged_alone(const void *base, size_t len, size_t align)
{
	(void)base;
	return pt_np_alone(len, align);
}

static const struct pt_block_backend backends[PT_NPOOLS] = {
	[PT_PAGED] = {paged_alloc, paged_free, realloc, paged_alone},
	[PT_NONPAGED] = {nonpaged_alloc, pt_np_free, NULL, nonpaged_alone},
};

/* The general allocation path: any pool, any alignment, first calls at a
 * site.  mark is 0 for ordinary blocks, else log2 of the alignment. */
static void *pt_alloc_block(struct pt_site *site, unsigned pool, unsigned mark, size_t size,
			    uint32_t tag, int zero)
{
	struct pt_block_req r = {site, tag, 0, pool, mark, size, zero, NULL};

	if (pt_unlikely(pool >= PT_NPOOLS)) {
		errno = EINVAL;
		return NULL;
	}
	r.be = &backends[pool];
	return pt_block_alloc(&r);
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
 * block of ours.  Memory whose header cannot be read (a special block in
 * quarantine, a block freed with its pages) is recognised before the header
 * is touched.  A header that fails the check but still names a slot of its
 * own tag and pool was overwritten in place (an underrun, or an overrun of
 * the block below): reported as corrupted, with the site it names. */
static struct pt__hdr *live_header(const void *p, const char *op, uint32_t used_tag,
				   struct pt_site *site)
{
	struct pt__hdr *h = (struct pt__hdr *)p - 1;
	struct pt_block_gone g;
	uint32_t slot, nslots;
	uint64_t size;
	int in_range;

	pt_seg_init();
	switch (pt_block_unreadable(p, op, used_tag, site, &g)) {
	case 1:
		return NULL; /* reported by the layer that holds it */
	case 2:
		pt_misuse_report(PT_MISUSE_BAD_POINTER, op, p, g.tag, used_tag, g.slot, site);
		return NULL;
	}
	nslots = __atomic_load_n(&pt_seg.hdr->nslots, __ATOMIC_ACQUIRE);
	if (pt_likely(pt_block_live(p, PT_NPOOLS, 1, nslots) != NULL))
		return h;
	size = pt_hdr_size(h);
	slot = pt_meta_slot(h->meta);
	in_range = pt_meta_pool(h->meta) < PT_NPOOLS && slot > 0 && slot < nslots;
	if (in_range && h->word == pt_hdr_freed(pt__hdr_word(h->meta, size)))
		pt_misuse_report(PT_MISUSE_BAD_POINTER, op, p, h->tag, used_tag, slot, site);
	else if (pt_block_layer_header_bad(p, op, used_tag, site))
		; /* reported with the layer's record */
	else if (in_range && pt_seg.slots[slot].tag == h->tag &&
		 pt_seg.slots[slot].pool == pt_meta_pool(h->meta))
		pt_misuse_report(PT_MISUSE_CORRUPTED, op, p, h->tag, used_tag, slot, site);
	else
		pt_misuse_report(PT_MISUSE_BAD_POINTER, op, p, 0, used_tag, 0, site);
	return NULL;
}

static void pt_free_block(struct pt__hdr *h, const struct pt_site *site)
{
	pt_block_release(h, &backends[pt_meta_pool(h->meta)], site);
}

/* pt_free's fast path is inline in pooltag.h; it calls here for the rest:
 * other pools and alignments, large blocks, a thread's first count, and
 * every kind of misuse, reported before anything is touched. */
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
	struct pt_block_req r = {site, tag, 0, PT_PAGED, 0, size, 0, NULL};
	struct pt__hdr *h;
	unsigned mark;

	if (!p)
		return pt_alloc_at(site, PT_PAGED, size, tag);
	h = live_header(p, "realloc", tag, site);
	if (!h) {
		errno = EINVAL;
		return NULL;
	}
	if (h->tag != tag) {
		pt_misuse_report(PT_MISUSE_TAG_MISMATCH, "realloc", p, h->tag, tag,
				 pt_meta_slot(h->meta), site);
		r.tag = h->tag; /* the block keeps its own tag */
	}
	/* The block keeps its pool and alignment (locked or over-aligned
	 * memory cannot move with realloc(3): such blocks move by copy). */
	r.pool = pt_meta_pool(h->meta);
	r.be = &backends[r.pool];
	mark = pt_meta_align_log2(h->meta);
	r.mark = mark == PT_ALIGN_SPECIAL ? pt_special_align_log2(p)
		 : mark == PT_ALIGN_TRACKED ? 0
					    : mark;
	return pt_block_resize(h, &r);
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
