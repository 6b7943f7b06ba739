/*
 * block.h - the block layer: what a pooltag block is, said once, for the
 * library (pool.c) and the interposer (preload/hooks.c) alike.
 *
 * A block is memory from a back end (malloc, the non-paged slabs, glibc's
 * own __libc_malloc for the interposer) with a 16-byte header directly below
 * the pointer handed out (struct pt__hdr in pooltag.h):
 *
 *        base (from the back end)
 *        |<------------------ room (pt_block_room) ------------------>|
 *        +---------------------------------+------------------+-----------------
 *        | padding, or the tracking record | struct pt__hdr   | user data ...
 *        +---------------------------------+------------------+-----------------
 *                                                             ^ pointer returned
 *
 * meta packs the counter slot (24 bits), the pool (1), the sampled bit (1,
 * sample.h's PT_META_SAMPLED) and a 6-bit mark: 0
 * for an ordinary block, PT_ALIGN_TRACKED for a block with a tracking
 * record in front, PT_ALIGN_SPECIAL for a special-pool block, else log2 of
 * the alignment.  word packs the requested size (40 bits) and a 24-bit check
 * derived from meta (pt__hdr_word).  Every release flips the check to mark
 * the block freed before the back end takes it (pt__hdr_kill): malloc's
 * free lists usually overwrite the header anyway, but not when a block
 * merges whole into the free space at the top of the heap.
 *
 * Layers.  Tracking, the special pool and fault injection are optional
 * layers that install themselves by wrapping the chain of allocation
 * methods (pt_block_install), as SQLite's fault simulator wraps
 * sqlite3_mem_methods: each layer's alloc and resize see every request and
 * pass it down (pt_block_next_*).  The bottom of the chain is the core,
 * which writes the header from the back end's memory.  With no layer
 * installed the chain is the core alone (pt_block_layered() is 0): the
 * callers' fast paths then run the core's inline helpers directly, with no
 * test per feature, and pt__fast_slots lets pooltag.h's inline paths run.
 * A block a layer made carries the layer's mark in its header; its release
 * goes to that layer (which passes it down when done), so blocks made while
 * a layer was installed are released by it even after it is removed.
 *
 * Counting is not a layer's business: the entry points count a block that
 * was made, and a release before it is handed down.
 */
#ifndef PT_BLOCK_H
#define PT_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "pooltag.h"

#define pt_likely(x) __builtin_expect(!!(x), 1)
#define pt_unlikely(x) __builtin_expect(!!(x), 0)

/* ---- the header ---- */

#define PT_HDR_SLOT_BITS PT__SLOT_BITS
#define PT_MAX_SLOTS_LIMIT (1u << PT_HDR_SLOT_BITS)
#define PT_CHECK_FLIP 0xff0000u /* the check bits a release flips (pt__hdr_kill) */

/* Marks in meta's top 6 bits (values below 4 are no alignment: a power of
 * two of 16 or less needs none). */
#define PT_ALIGN_TRACKED 1 /* a tracking record in front (track.c) */
#define PT_ALIGN_SPECIAL 2 /* a special-pool block (special.c); its record has the alignment */
#define PT_ALIGN_LARGE 3   /* an ordinary block above PT__INLINE_MAX: its meta keeps the
			      inline free away, whose release the library must see */
#define PT_ALIGN_MARKS 4


/* A tracked block's record, in front of its header (track.c). */
struct pt_trec {
	struct pt_trec *next, *prev;
	uint32_t slot, stack;
	uint32_t gen; /* pt_track_gen when made: a fork child's own blocks have its gen */
	uint32_t pad; /* 32 bytes: keeps the user pointer 16-byte aligned */
};

static inline uint32_t pt_hdr_meta(uint32_t slot, unsigned pool, unsigned mark)
{
	return slot | (uint32_t)pool << PT__SLOT_BITS | (uint32_t)mark << 26;
}
static inline uint32_t pt_meta_slot(uint32_t meta)
{
	return meta & PT__SLOT_MASK;
}
/* The pool: the low bit of the 2-bit field; the high bit is
 * PT_META_SAMPLED, set on a block whose stack the sampler recorded
 * (sample.h), so that its release takes it off the live estimate. */
static inline unsigned pt_meta_pool(uint32_t meta)
{
	return (meta >> PT__SLOT_BITS) & 1;
}
#define PT_META_SAMPLED (2u << PT__SLOT_BITS)
static inline int pt_meta_sampled(uint32_t meta)
{
	return (meta & PT_META_SAMPLED) != 0;
}
static inline unsigned pt_meta_align_log2(uint32_t meta)
{
	return meta >> 26;
}
static inline uint64_t pt_hdr_freed(uint64_t live_word)
{
	return live_word ^ (uint64_t)PT_CHECK_FLIP << PT__SIZE_BITS;
}
_Static_assert((uint64_t)PT_CHECK_FLIP << PT__SIZE_BITS == (uint64_t)0xff << 56,
	       "pt__hdr_kill flips the same bits");
/* The mark of an ordinary block of size bytes. */
static inline unsigned pt_block_plain_mark(uint64_t size)
{
	return size > PT__INLINE_MAX ? PT_ALIGN_LARGE : 0;
}
static inline int pt_block_is_plain(uint32_t meta)
{
	unsigned mark = pt_meta_align_log2(meta);
	return mark == 0 || mark == PT_ALIGN_LARGE;
}

static inline uint64_t pt_hdr_size(const struct pt__hdr *h)
{
	return h->word & PT__SIZE_MASK;
}

/* From base to the header's end, for a block with this mark. */
static inline size_t pt_block_room(unsigned mark)
{
	if (mark == PT_ALIGN_TRACKED)
		return sizeof(struct pt_trec) + sizeof(struct pt__hdr);
	return mark >= PT_ALIGN_MARKS ? (size_t)1 << mark : sizeof(struct pt__hdr);
}

/* The alignment a back end is asked for. */
static inline size_t pt_block_align(unsigned mark)
{
	return mark >= PT_ALIGN_MARKS ? (size_t)1 << mark : 16;
}

/* Writes the header of a new block at base; returns the user pointer. */
static inline void *pt_block_init(void *base, uint32_t tag, uint32_t slot, unsigned pool,
				  unsigned mark, uint64_t size)
{
	struct pt__hdr *h = (struct pt__hdr *)((char *)base + pt_block_room(mark)) - 1;

	pt__hdr_set(h, tag, pt_hdr_meta(slot, pool, mark), size);
	return h + 1;
}

static inline void *pt_block_base(const struct pt__hdr *h)
{
	return (char *)(h + 1) - pt_block_room(pt_meta_align_log2(h->meta));
}

/* h if it is the header of a live block of a pool below npools with a slot
 * in [slot_lo, slot_end), else NULL.  The caller has made sure the header
 * is readable (pt_block_unreadable). */
static inline struct pt__hdr *pt_block_live(const void *p, unsigned npools, uint32_t slot_lo,
					    uint32_t slot_end)
{
	struct pt__hdr *h = (struct pt__hdr *)p - 1;
	uint32_t meta = h->meta, slot = pt_meta_slot(meta);
	uint64_t word = h->word;

	if (pt_unlikely(word != pt__hdr_word(meta, word & PT__SIZE_MASK) ||
			pt_meta_pool(meta) >= npools || slot < slot_lo || slot >= slot_end))
		return NULL;
	return h;
}

/* ---- counting ---- */

extern int pt_seg_pending; /* segment.c: a fork child that has not exported yet */
void pt_block_count_slow(uint32_t slot, uint64_t bytes, int is_free);

/* Counts one allocation or release of bytes at slot in this thread's shard:
 * two plain adds, or the slow path for a thread's first count. */
static inline void pt_block_count(uint32_t slot, uint64_t bytes, int is_free)
{
	struct pt__ctr *c = __atomic_load_n(&pt__tls_ctr, __ATOMIC_RELAXED);

	if (pt_unlikely(!c || __atomic_load_n(&pt_seg_pending, __ATOMIC_RELAXED))) {
		pt_block_count_slow(slot, bytes, is_free);
		return;
	}
	pt__ctr_count(&c[slot], bytes, is_free);
}

/* ---- call sites ---- */

/* The counter slot of (site, tag, pool class): the site's cached key when
 * it matches, else registration.  0 (errno EINVAL, a bad tag reported) when
 * the tag or class is bad. */
uint32_t pt_block_site_slot_slow(struct pt_site *site, uint32_t tag, unsigned cls);
static inline uint32_t pt_block_site_slot(struct pt_site *site, uint32_t tag, unsigned cls)
{
	uint64_t key = __atomic_load_n(&site->key, __ATOMIC_RELAXED);

	if (pt_likely(pt__key_matches(key, tag, cls)))
		return pt__key_slot(key);
	return pt_block_site_slot_slow(site, tag, cls);
}

/* ---- back ends ---- */

struct pt_block_backend {
	/* len bytes aligned to align (16 or a larger power of two), zeroed if
	 * zero; NULL with errno. */
	void *(*alloc)(size_t len, size_t align, int zero);
	void (*free)(void *base, size_t len, size_t align);
	/* Resizes an ordinary block (base from alloc with align 16) to len,
	 * moving it if need be; NULL (base untouched) on failure.  NULL: the
	 * back end cannot, blocks move by copy. */
	void *(*resize)(void *base, size_t len);
	/* Does freeing this live block return its pages to the system (a
	 * mapping of its own)?  Then a second free must not read its header:
	 * see pt_block_unreadable. */
	int (*alone)(const void *base, size_t len, size_t align);
	size_t alone_min; /* alone is asked only from this length up */
};

/* glibc's own chunk flag: a chunk it mapped for this block alone.  (Under
 * AddressSanitizer malloc is the sanitizer's, which has no such word.) */
#if defined(__SANITIZE_ADDRESS__)
#define PT_MALLOC_IS_GLIBC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PT_MALLOC_IS_GLIBC 0
#endif
#endif
#ifndef PT_MALLOC_IS_GLIBC
#define PT_MALLOC_IS_GLIBC 1
#endif
static inline int pt_block_glibc_alone(const void *base)
{
	return PT_MALLOC_IS_GLIBC && (((const size_t *)base)[-1] & 2) != 0;
}

/* ---- requests and layers ---- */

/* One allocation request as it passes down the layers. */
struct pt_block_req {
	struct pt_site *site; /* the library's call site; NULL in the interposer */
	uint32_t tag;
	uint32_t slot;        /* 0 until resolved (the interposer's 0: counted nowhere) */
	unsigned pool;        /* PT_PAGED, PT_NONPAGED */
	unsigned mark;        /* 0, or log2 of an alignment above 16 (or a layer's mark) */
	size_t size;
	int zero;
	const struct pt_block_backend *be;
};

/* The slot of r, registering its site on first use; 0 means failure only
 * when r has a site (errno set).  Layers that need the slot call this. */
static inline uint32_t pt_block_req_slot(struct pt_block_req *r)
{
	if (!r->slot && r->site)
		r->slot = pt_block_site_slot(r->site, r->tag, r->pool);
	return r->slot;
}

#define PT_BLOCK_MOVE ((void *)1) /* resize: move the block by copy */

struct pt_block_layer {
	const char *name;
	int rank; /* higher ranks wrap lower ones: fault 30, special 20, track 10 */
	unsigned mark; /* the mark of the blocks it makes (0: none of its own) */
	/* A new block for r, or NULL with errno; pass r down with
	 * pt_block_next_alloc. */
	void *(*alloc)(struct pt_block_layer *self, struct pt_block_req *r);
	/* Resize an ordinary block h in place for r (size, slot): pass down,
	 * fail (NULL with errno), or PT_BLOCK_MOVE to make it move by copy
	 * (through alloc).  NULL: passes down. */
	void *(*resize)(struct pt_block_layer *self, struct pt__hdr *h, struct pt_block_req *r);
	/* Release a block bearing this layer's mark (checked, counted and
	 * marked freed already); site: where it was freed.  Pass it down with
	 * pt_block_core_release when done with it.  Only for mark != 0. */
	void (*release)(struct pt_block_layer *self, struct pt__hdr *h,
			const struct pt_block_backend *be, const struct pt_site *site);
	/* Before a header is read: is p memory this layer holds with no
	 * readable header (or, header_bad, a block of its own whose header
	 * fails)?  Reports it and returns non-zero.  NULL: never. */
	int (*check)(const void *p, const char *op, uint32_t used_tag, const struct pt_site *site,
		     int header_bad);
	struct pt_block_layer *next; /* set by pt_block_install */
	int installed;
};

/* Installs (on) or removes a layer from the allocation chain, keeping ranks
 * in order, and recomputes pt__fast_slots.  A removed layer still releases
 * the blocks it made.  Thread-safe; call while options are applied. */
void pt_block_install(struct pt_block_layer *l, int on);

extern struct pt_block_layer *pt_block_top; /* the chain's first layer */
extern struct pt_block_layer pt_block_core;
extern int pt_block_nchecks; /* layers with a check were installed */

static inline int pt_block_layered(void)
{
	return __atomic_load_n(&pt_block_top, __ATOMIC_ACQUIRE) != &pt_block_core;
}

static inline void *pt_block_next_alloc(struct pt_block_layer *self, struct pt_block_req *r)
{
	return self->next->alloc(self->next, r);
}

void *pt_block_next_resize(struct pt_block_layer *self, struct pt__hdr *h,
			   struct pt_block_req *r);

/* The core's release: the back end takes the block (a block mapped on its
 * own leaves a tombstone first, see below). */
void pt_block_core_release(struct pt__hdr *h, const struct pt_block_backend *be);

/* ---- entry points ---- */

/* A new block for r through the layers, counted; NULL with errno. */
void *pt_block_alloc(struct pt_block_req *r);

/* Releases a live block (checked by the caller): marks it freed, counts
 * the release, hands it to the layer that made it or the back end. */
void pt_block_release(struct pt__hdr *h, const struct pt_block_backend *be,
		      const struct pt_site *site);

/* Resizes the live block h for r (r->size, r->tag, r->site or r->slot; r's
 * pool and be are h's).  The new user pointer, or NULL with errno (h
 * untouched).  Moves by copy for blocks that are not ordinary. */
void *pt_block_resize(struct pt__hdr *h, struct pt_block_req *r);

/* Recomputes pt__fast_slots (after the segment is set up). */
void pt_block_fast_path(void);

/* ---- blocks whose memory went back to the system ---- */

/*
 * A block mapped on its own (glibc's mmap'ed chunks, the non-paged pool's
 * large blocks, special blocks evicted from the quarantine) is unmapped when
 * freed: a second free of it must not read its header.  Freeing one leaves
 * a tombstone (user pointer, tag, slot) and sets the bit of its page offset
 * in pt__gone (pooltag.h); a free whose pointer's bit is set looks it up
 * before reading a header.  A hit is confirmed by asking the kernel whether
 * the header is still readable (the address may have been mapped again, by
 * a new block of ours or by anything else); only an unreadable one is
 * reported as freed.  A tombstone goes when a new block of ours is made at
 * its address.
 */
struct pt_block_gone {
	uint32_t tag, slot;
};
void pt_block_gone_add(const void *user, uint32_t tag, uint32_t slot);
void pt_block_gone_forget_slow(const void *user);
static inline void pt_block_gone_forget(const void *user)
{
	if (pt_unlikely(pt__maybe_gone(user)))
		pt_block_gone_forget_slow(user);
}
/* Is p's header unreadable?  1: a layer reported it; 2: a tombstone of a
 * block freed already, *g filled; 0: readable. */
int pt_block_unreadable_slow(const void *p, const char *op, uint32_t used_tag,
			     const struct pt_site *site, struct pt_block_gone *g);
static inline int pt_block_unreadable(const void *p, const char *op, uint32_t used_tag,
				      const struct pt_site *site, struct pt_block_gone *g)
{
	if (pt_likely(!pt__maybe_gone(p))) /* a layer with a check sets every bit */
		return 0;
	return pt_block_unreadable_slow(p, op, used_tag, site, g);
}
/* As the layers' check with header_bad: a live block of a layer whose
 * header fails (reported by the layer). */
int pt_block_layer_header_bad(const void *p, const char *op, uint32_t used_tag,
			      const struct pt_site *site);
/* Can this process read len bytes at p?  Asks the kernel. */
int pt_block_readable(const void *p, size_t len);
/* Fork: the tombstones' lock, a leaf taken last (segment.c's handlers). */
void pt_block_fork_prepare(void);
void pt_block_fork_release(void);

#endif /* PT_BLOCK_H */
