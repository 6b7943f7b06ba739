/*
 * pooltag.h - tagged pools with exact, always-on accounting.
 *
 * A program allocates with a pool, a size and a four-character tag, the way a
 * Windows driver calls ExAllocatePoolWithTag.  Every allocation is counted per
 * (call site, tag, pool); the counters live in a shared-memory segment that
 * `pooltag used PID` reads while the program runs.
 *
 * Conventions for the whole library:
 *  - Functions returning a pointer return NULL and set errno on failure
 *    (ENOMEM: out of memory, size overflow or memory-lock limit; EINVAL: a bad
 *    argument).  Functions returning int return 0 on success, -1 with errno set
 *    on failure.
 *  - Every function is thread-safe unless its comment says otherwise.
 *  - Misuse (a free with the wrong tag, a pointer pooltag did not allocate, a
 *    corrupted block header, a handle closed twice...) is reported through
 *    the misuse hook with both sites, counted, and survived: it never
 *    corrupts the counters.  With the verifier on it stops the program.
 */
#ifndef POOLTAG_H
#define POOLTAG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks what the shared library exports: every function and variable
 * declared with it, and nothing else (the library is built with hidden
 * visibility; tests/exports.sh checks the two sets are the same). */
#define PT_API __attribute__((visibility("default")))

/* ---------------------------------------------------------------------------
 * Tags
 *
 * A tag is four printable ASCII characters, written in source as a string
 * literal ("Proc", "SEY1").  Shorter literals are padded with spaces ("Ab" is
 * "Ab  "), as pooltag.txt pads three-character tags.  In memory a tag is a
 * uint32_t whose lowest byte is the first character, so its bytes read in
 * order spell the tag.
 */

/* PT_TAG("Proc"): the tag of a string literal of 1 to 4 characters, which
 * the compiler folds to a constant.  A longer literal or a pointer fails to
 * compile. */
#define PT_TAG(lit)                                                                      \
	((uint32_t)(sizeof(char[(sizeof(lit) >= 2 && sizeof(lit) <= 5) ? 1 : -1]) * 0) | \
	 (uint32_t)PT__TAGC(lit, 0) | (uint32_t)PT__TAGC(lit, 1) << 8 |                  \
	 (uint32_t)PT__TAGC(lit, 2) << 16 | (uint32_t)PT__TAGC(lit, 3) << 24)
#define PT__TAGC(lit, i) ((uint8_t)(sizeof(lit) > (i) + 1 ? (lit)[i] : ' '))

/* The tag of a run-time string: its first four characters, space padded.
 * Returns 0 (never a valid tag) if s is NULL, empty, longer than four
 * characters or holds a character outside printable ASCII. */
PT_API uint32_t pt_tag_make(const char *s);

/* Writes the tag's four characters and a NUL to out; returns out. */
PT_API char *pt_tag_str(uint32_t tag, char out[5]);

/* Describes a tag for readers of the counters (`pooltag used` shows it in the
 * description column, ahead of any pooltag.txt entry).  description and
 * binary (the owning component, may be NULL) are copied; a later call for the
 * same tag replaces the earlier one.  Returns -1 with EINVAL for a bad tag,
 * ENOSPC when the segment's description table or string area is full or a
 * string is longer than 4095 bytes. */
PT_API int pt_tag_describe(const char *tag, const char *description, const char *binary);

/* ---------------------------------------------------------------------------
 * Pools
 *
 * PT_PAGED is the ordinary heap.  PT_NONPAGED memory is locked in RAM
 * (mlock): never swapped out, and wiped before it is reused or returned to
 * the system, so it suits secrets and latency-critical buffers.  When the
 * lock limit (RLIMIT_MEMLOCK) is reached a non-paged allocation returns NULL
 * with errno ENOMEM and nothing else changes.
 *
 * The macros below record their call site in a static descriptor, so a tag
 * breaks down into the lines that allocate it.  Every block must be freed
 * with pt_free and the tag it was allocated with; a mismatch is reported.
 * Blocks are aligned to 16 bytes; sizes of 0 return a unique block.
 */
enum pt_pool {
	PT_PAGED = 0,
	PT_NONPAGED = 1,
};
#define PT_NPOOLS 2

/* A call site.  Defined static by the macros; never build one by hand. */
struct pt_site {
	const char *file;
	const char *func;
	unsigned line;
	uint64_t key; /* private: the counter slot cache, written by the library */
};

#define PT_SITE()                                                                \
	__extension__({                                                          \
		static struct pt_site pt__site = {__FILE__, __func__, __LINE__, 0}; \
		&pt__site;                                                       \
	})

#define pt_alloc(pool, size, tag) pt__alloc_inline(PT_SITE(), (pool), (size), PT_TAG(tag))
#define pt_zalloc(pool, size, tag) pt_zalloc_at(PT_SITE(), (pool), (size), PT_TAG(tag))
#define pt_calloc(pool, n, size, tag) pt_calloc_at(PT_SITE(), (pool), (n), (size), PT_TAG(tag))
#define pt_alloc_aligned(pool, align, size, tag) \
	pt_alloc_aligned_at(PT_SITE(), (pool), (align), (size), PT_TAG(tag))
#define pt_realloc(p, size, tag) pt_realloc_at(PT_SITE(), (p), (size), PT_TAG(tag))
#define pt_free(p, tag) pt__free_inline(PT_SITE(), (p), PT_TAG(tag))
#define pt_free_pool(p, pool, tag) pt_free_pool_at(PT_SITE(), (p), (pool), PT_TAG(tag))

/* size bytes of uninitialised memory from pool, charged to (site, tag, pool).
 * NULL with ENOMEM when out of memory or size is absurd; EINVAL for a bad
 * pool or tag. */
PT_API void *pt_alloc_at(struct pt_site *site, enum pt_pool pool, size_t size, uint32_t tag);

/* As pt_alloc_at, zero-filled. */
PT_API void *pt_zalloc_at(struct pt_site *site, enum pt_pool pool, size_t size, uint32_t tag);

/* n * size zeroed bytes; NULL with ENOMEM if the product overflows. */
PT_API void *pt_calloc_at(struct pt_site *site, enum pt_pool pool, size_t n, size_t size,
			  uint32_t tag);

/* size bytes aligned to align, a power of two (EINVAL otherwise). */
PT_API void *pt_alloc_aligned_at(struct pt_site *site, enum pt_pool pool, size_t align, size_t size,
				 uint32_t tag);

/* Resizes p (NULL: allocates in the paged pool) keeping its pool, alignment
 * and contents up to the smaller size.  The block is re-charged to this call
 * site: the counters see a free at the old site and an allocation here, as
 * Linux's allocation profiling charges krealloc.  On failure p is untouched
 * and still allocated. */
PT_API void *pt_realloc_at(struct pt_site *site, void *p, size_t size, uint32_t tag);

/* Frees p (NULL is ignored).  tag must be the tag p was allocated with; a
 * mismatch is reported with both tags and both sites, and the block is still
 * freed and charged to its real tag.  A pointer pooltag did not allocate (or
 * whose header was overwritten) is reported and left alone. */
PT_API void pt_free_at(struct pt_site *site, void *p, uint32_t tag);

/* As pt_free, and p must come from pool: a block of another pool is
 * reported (PT_MISUSE_WRONG_POOL, with both sites) and still freed into its
 * own pool, as a wrong tag is.  For code that, like a driver, knows which
 * pool each buffer should be in. */
PT_API void pt_free_pool_at(struct pt_site *site, void *p, enum pt_pool pool, uint32_t tag);

/* The requested size of a live block, its pool and its tag. */
PT_API size_t pt_size(const void *p);
PT_API enum pt_pool pt_pool_of(const void *p);
PT_API uint32_t pt_tag_of(const void *p);

/* ---------------------------------------------------------------------------
 * Inline fast paths of pt_alloc and pt_free.
 *
 * Not API: everything named pt__ (the block header, the counter layout) may
 * change in any release; a program is rebuilt with the header of the library
 * it links.  They are inline because a call into the library costs more
 * than the accounting itself: at the call site the tag and the site are
 * constants, and what is left is a load and compare of the site's cached
 * slot, malloc, three header stores, two adds to counters that only this
 * thread writes, and a subtract from the sampler's byte countdown.  Any
 * other case (first call at a site, first count of a
 * thread, non-paged pool, a header that does not check out) calls the
 * library, which handles everything.  A thread whose pt__tls_ctr is NULL
 * takes the library's path for every call, and so does every thread while
 * pt__fast_slots is 0 (blocks are being tracked).  pt__tls_ctr is read with
 * a relaxed atomic load (a plain load on every target): another thread sets
 * it to NULL while a fork is under way.
 */
#include <stdlib.h>

/* The 16 bytes below every block; see src/block.h for the full layout. */
struct pt__hdr {
	uint32_t tag;
	uint32_t meta; /* slot (24 bits) | pool (2) | log2 of alignment (6) */
	uint64_t word; /* requested size (40 bits) | check (24) */
};

/* One slot's counters in one thread's shard. */
struct pt__ctr {
	uint64_t nallocs, bytes_alloc, nfrees, bytes_freed;
};

#define PT__SIZE_BITS 40
#define PT__SIZE_MAX ((((uint64_t)1) << PT__SIZE_BITS) - 1 - 65536)
#define PT__SIZE_MASK ((((uint64_t)1) << PT__SIZE_BITS) - 1)
#define PT__CHECK_LIVE 0x5a17c3u
#define PT__SLOT_BITS 24
#define PT__SLOT_MASK 0xffffffu
/* The largest block the inline paths handle: below glibc's smallest
 * threshold for serving a block from a mapping of its own (128 KiB), whose
 * release the library must see. */
#define PT__INLINE_MAX ((((uint64_t)1) << 17) - 4096)

PT_API extern __thread struct pt__ctr *pt__tls_ctr __attribute__((tls_model("initial-exec")));
PT_API extern uint32_t pt__fast_slots;
/* Bytes this thread may still allocate before the next sampled allocation
 * (src/sample.h): an allocation that would take it below zero goes to the
 * library, which samples it. */
PT_API extern __thread int64_t pt__tls_sample __attribute__((tls_model("initial-exec")));
/* Bit i set: a block whose pointer lies at page offset 64*i..64*i+63 was
 * freed with its pages (a mapping of its own); a free there asks the
 * library before reading the header, which may be unmapped. */
PT_API extern uint64_t pt__gone;

/* The key a site caches: tag (32 bits), a valid bit, pool (7) and slot (24).
 * Comparing the top 40 bits against the call's tag and pool validates it. */
static inline uint64_t pt__site_key(uint32_t tag, unsigned pool, uint32_t slot)
{
	return (uint64_t)tag << 32 | 1u << 31 | (uint64_t)pool << PT__SLOT_BITS | slot;
}
static inline int pt__key_matches(uint64_t key, uint32_t tag, unsigned pool)
{
	return key >> PT__SLOT_BITS == pt__site_key(tag, pool, 0) >> PT__SLOT_BITS;
}
static inline uint32_t pt__key_slot(uint64_t key)
{
	return (uint32_t)key & PT__SLOT_MASK;
}

/* The check word: the size, and 24 bits derived from meta, so a foreign
 * pointer or an overwritten header is told from a live block.  Derived from
 * meta alone on purpose: the tag is compared whole on free, an overrun from
 * the block below reaches the tag first and an underrun of this block the
 * check bits first (they are the top bytes of word), so the check needs to
 * cover neither tag nor size, and costs a multiply. */
static inline uint64_t pt__hdr_word(uint32_t meta, uint64_t size)
{
	uint32_t check = ((meta * 0x9e3779b1u) >> 8) ^ PT__CHECK_LIVE;
	return size | (uint64_t)check << PT__SIZE_BITS;
}

/* The three stores of a new block's header. */
static inline void pt__hdr_set(struct pt__hdr *h, uint32_t tag, uint32_t meta, uint64_t size)
{
	h->tag = tag;
	h->meta = meta;
	h->word = pt__hdr_word(meta, size);
}

/* Marks a header freed: the top byte of its check flipped, one
 * instruction (a second free of a block malloc merged back whole, leaving
 * the header as it was, fails the check). */
static inline void pt__hdr_kill(struct pt__hdr *h)
{
	((unsigned char *)&h->word)[7] ^= 0xff; /* little-endian: bits 56..63 */
}

/* Single-writer counter update: a relaxed load and store, no lock prefix. */
static inline void pt__ctr_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/* One allocation (is_free 0) or free of bytes, in a slot of this thread's
 * own shard. */
static inline void pt__ctr_count(struct pt__ctr *c, uint64_t bytes, int is_free)
{
	pt__ctr_add(is_free ? &c->nfrees : &c->nallocs, 1);
	pt__ctr_add(is_free ? &c->bytes_freed : &c->bytes_alloc, bytes);
}

/* May p be a block freed with its pages (see pt__gone)? */
static inline int pt__maybe_gone(const void *p)
{
	return (int)(__atomic_load_n(&pt__gone, __ATOMIC_RELAXED) >> (((uintptr_t)p >> 6) & 63) & 1);
}

static inline void *pt__alloc_inline(struct pt_site *site, enum pt_pool pool, size_t size,
				     uint32_t tag)
{
	uint64_t key = __atomic_load_n(&site->key, __ATOMIC_RELAXED);
	uint32_t slot = pt__key_slot(key);
	struct pt__ctr *c = __atomic_load_n(&pt__tls_ctr, __ATOMIC_RELAXED);
	int64_t left = pt__tls_sample - (int64_t)size;
	struct pt__hdr *h;

	if (__builtin_expect(!pt__key_matches(key, tag, PT_PAGED) || pool != PT_PAGED ||
				     size > PT__INLINE_MAX || !c || left < 0 ||
				     slot >= __atomic_load_n(&pt__fast_slots, __ATOMIC_RELAXED),
			     0))
		return pt_alloc_at(site, pool, size, tag);
	h = (struct pt__hdr *)malloc(size + sizeof(*h));
	if (__builtin_expect(!h, 0))
		return NULL; /* malloc set errno */
	pt__hdr_set(h, tag, slot, size);
	pt__ctr_count(&c[slot], size, 0);
	pt__tls_sample = left;
	return h + 1;
}

static inline void pt__free_inline(struct pt_site *site, void *p, uint32_t tag)
{
	struct pt__ctr *c = __atomic_load_n(&pt__tls_ctr, __ATOMIC_RELAXED);
	uint32_t fast = __atomic_load_n(&pt__fast_slots, __ATOMIC_RELAXED);
	struct pt__hdr *h;
	uint32_t meta;
	uint64_t word, size;

	if (!p)
		return;
	/* With fast_slots 0 (tracking, special pool) the header is not read
	 * here: a block in the special pool's quarantine has no readable one;
	 * nor where a block freed with its pages may have been. */
	if (__builtin_expect(!c || !fast || pt__maybe_gone(p), 0)) {
		pt_free_at(site, p, tag);
		return;
	}
	h = (struct pt__hdr *)p - 1;
	meta = h->meta;
	word = h->word;
	size = word & PT__SIZE_MASK;
	/* meta below pt__fast_slots means pool 0, no alignment or mark (a
	 * block above PT__INLINE_MAX has one), slot in range. */
	if (__builtin_expect(h->tag != tag || meta >= fast || word != pt__hdr_word(meta, size), 0)) {
		pt_free_at(site, p, tag);
		return;
	}
	pt__ctr_count(&c[meta], size, 1);
	pt__hdr_kill(h);
	free(h);
}

/* ---------------------------------------------------------------------------
 * Counters
 *
 * Exact: once the threads that allocate are quiescent, for every tag and
 * pool nallocs - nfrees equals the number of live blocks and curbytes their
 * requested bytes.  While threads run, a read is a consistent lower bound of
 * frees taken before an upper bound of allocations, so it never shows a
 * negative outstanding count.
 */
struct pt_count {
	uint64_t nallocs;  /* allocations that succeeded */
	uint64_t nfrees;   /* frees */
	uint64_t curblocks; /* nallocs - nfrees */
	uint64_t curbytes; /* requested bytes of the live blocks */
};

/* Sums the counters of one tag in one pool over all call sites and threads.
 * Returns 0 (an unused tag reads as zeros), -1 with EINVAL for a bad pool. */
PT_API int pt_count_tag(uint32_t tag, enum pt_pool pool, struct pt_count *out);

/* Sums every tag of a pool. */
PT_API int pt_count_pool(enum pt_pool pool, struct pt_count *out);

/* ---------------------------------------------------------------------------
 * Misuse reports
 *
 * One report per finding, with the sites involved.  The default hook writes
 * the report's text as one line to standard error.  A test replaces the hook
 * to assert findings; the library has already counted the event and kept its
 * counters exact when the hook runs.
 */
enum pt_misuse_kind {
	PT_MISUSE_TAG_MISMATCH = 1, /* freed with a tag other than its own */
	PT_MISUSE_BAD_POINTER,      /* not a pooltag block, freed twice, or header corrupted */
	PT_MISUSE_BAD_TAG,          /* a tag that is not printable ASCII */
	PT_MISUSE_BAD_OBJECT,       /* a reference to an object that is not live (deleted, foreign) */
	PT_MISUSE_DEREF_ZERO,       /* a dereference with no reference left to release */
	PT_MISUSE_CORRUPTED,        /* a header, or the special pool's fill around a block, overwritten */
	PT_MISUSE_WRONG_POOL,       /* freed as a block of another pool (pt_free_pool) */
	PT_MISUSE_FAULT,            /* an access to a special-pool guard page or freed block */
	PT_MISUSE_OBJECT_FREED,     /* an object used after its last reference was released */
	PT_MISUSE_BAD_HANDLE,       /* a handle used or closed after it was closed */
};

struct pt_misuse {
	enum pt_misuse_kind kind;
	const void *addr;                /* the block the user passed */
	uint32_t tag;                    /* the block's own tag (0 if unknown) */
	uint32_t used_tag;               /* the tag the caller passed */
	const char *alloc_file, *alloc_func; /* where the block was allocated, or NULL */
	unsigned alloc_line;
	const struct pt_site *site;      /* the site of the offending call (NULL for a fault) */
	const char *text;                /* the report, without a final newline: one line, or
					    for the special pool and objects more lines with
					    the sites' call stacks */
	const void *access;              /* PT_MISUSE_FAULT, CORRUPTED: the address accessed
					    or found overwritten, else NULL */
	const char *freed_at;            /* where the block was freed, the object's last
					    reference released or the handle closed
					    ("file:line (func)"), or NULL if unknown */
};

typedef void (*pt_misuse_fn)(const struct pt_misuse *m, void *arg);

/* Installs fn (NULL: the default) as the hook; returns the previous one.
 * Set it before threads start misusing; the hook itself must be thread-safe. */
PT_API pt_misuse_fn pt_misuse_set_hook(pt_misuse_fn fn, void *arg);

/* How many misuse reports this process has made. */
PT_API uint64_t pt_misuse_count(void);

/* ---------------------------------------------------------------------------
 * Modules
 *
 * A module is the main program or a plugin loaded with pt_module_load.
 * Every allocation, reference and handle is charged to the module whose code
 * acquired it: the module holding the call site, or, inside PT_ON_BEHALF,
 * the module that called the provider.  Unloading a module checks what it
 * still holds and reports it (see Verification).
 */
struct pt_module;

/* The main program's module (everything that is not a loaded plugin). */
PT_API struct pt_module *pt_module_main(void);

/* dlopen(path, RTLD_NOW | RTLD_LOCAL) and register the plugin.  NULL with
 * errno set (EINVAL for a NULL path, ENOENT for a missing file, ENOEXEC for
 * any other dlopen failure, EMFILE after 4095 loads in the life of the
 * process: entries are not reused);
 * pt_module_error() then says why in one line. */
PT_API struct pt_module *pt_module_load(const char *path);
PT_API const char *pt_module_error(void);

/* dlsym in the module; NULL if absent. */
PT_API void *pt_module_sym(struct pt_module *m, const char *symbol);

/* The module's name: the plugin's file name, or the program's. */
PT_API const char *pt_module_name(const struct pt_module *m);

/* Checks what m still holds (see Verification), reports it, applies the
 * configured action, then dlclose()s it.  Returns the number of findings
 * (0: clean), or -1 with EINVAL for the main module or a module unloaded
 * already. */
PT_API int pt_module_unload(struct pt_module *m);

/* Checks m without unloading it: reports and returns the number of
 * findings, the configured action is not applied. */
PT_API int pt_module_check(struct pt_module *m);

/* Runs the calls in expr on behalf of the caller: references, handles and
 * objects created inside are charged to the module and line of this call,
 * not to the provider's (plain allocations stay charged to their own line).
 * A provider's header wraps its acquiring functions:
 *	#define ps_lookup_process(id) PT_ON_BEHALF(ps_lookup_process_impl(id))
 * expr must not be void (use PT_ON_BEHALF_VOID). */
#define PT_ON_BEHALF(expr)                                                   \
	__extension__({                                                      \
		const struct pt_site *pt__prev = pt_behalf_enter(PT_SITE()); \
		__typeof__(expr) pt__r = (expr);                             \
		pt_behalf_leave(pt__prev);                                   \
		pt__r;                                                       \
	})
#define PT_ON_BEHALF_VOID(expr)                                              \
	do {                                                                 \
		const struct pt_site *pt__prev = pt_behalf_enter(PT_SITE()); \
		(expr);                                                      \
		pt_behalf_leave(pt__prev);                                   \
	} while (0)
PT_API const struct pt_site *pt_behalf_enter(const struct pt_site *caller);
PT_API void pt_behalf_leave(const struct pt_site *prev);

/* ---------------------------------------------------------------------------
 * Objects and references
 *
 * An object type has a name, a pool and a tag (process objects: "Proc") and
 * an optional delete routine.  Objects are allocated from the type's pool
 * under its tag, so they show in the accounting like any allocation, and
 * are reference counted: created with one reference, deleted (delete
 * routine, then free) when the last one is released.  Every reference is
 * recorded with the call site and module that took it, so what a module
 * still holds can be named down to the line.
 *
 * A release pairs with an acquisition of the same reference tag (a release
 * with a tag no acquisition has pairs with an untagged one): first one the
 * releasing module took itself, else the most recent one (an ownership
 * transfer: a reference taken in one module and released in another is
 * normal, not a finding).
 */
struct pt_objtype;

#define PT_OBJTYPE_BY_ID 1u /* keep a table of live objects by id, for lookups */

/* A new type; name is copied.  NULL with EINVAL (bad pool or tag) or
 * ENOMEM.  Types live until exit. */
PT_API struct pt_objtype *pt_objtype_create(const char *name, enum pt_pool pool, const char *tag,
					    void (*del)(void *obj), unsigned flags);
PT_API const char *pt_objtype_name(const struct pt_objtype *t);

#define pt_obj_create(type, size, id) pt_obj_create_at(PT_SITE(), (type), (size), (id))
#define pt_obj_ref(obj) pt_obj_ref_at(PT_SITE(), (obj), 0)
#define pt_obj_ref_tag(obj, rtag) pt_obj_ref_at(PT_SITE(), (obj), PT_TAG(rtag))
#define pt_obj_deref(obj) pt_obj_deref_at(PT_SITE(), (obj), 0)
#define pt_obj_deref_tag(obj, rtag) pt_obj_deref_at(PT_SITE(), (obj), PT_TAG(rtag))
#define pt_obj_lookup(type, id) pt_obj_lookup_at(PT_SITE(), (type), (id), 0)

/* A zeroed object of size bytes with one reference, taken at site.  For a
 * BY_ID type, id must not be in use (EEXIST).  NULL with errno set. */
PT_API void *pt_obj_create_at(struct pt_site *site, struct pt_objtype *type, size_t size,
			      uint64_t id);

/* Takes a reference.  0, or -1 with EINVAL (reported) when obj is not a
 * live object. */
PT_API int pt_obj_ref_at(struct pt_site *site, void *obj, uint32_t reftag);

/* Releases a reference; the last one deletes the object.  0, or -1 with
 * EINVAL (reported) when obj is not live or holds no reference. */
PT_API int pt_obj_deref_at(struct pt_site *site, void *obj, uint32_t reftag);

/* The live object of a BY_ID type with this id, with a reference taken (the
 * PsLookupProcessByProcessId pattern); NULL with ENOENT if there is none. */
PT_API void *pt_obj_lookup_at(struct pt_site *site, struct pt_objtype *type, uint64_t id,
			      uint32_t reftag);

PT_API uint64_t pt_obj_id(const void *obj);
PT_API long pt_obj_refs(const void *obj); /* current references, -1 if not live */
PT_API struct pt_objtype *pt_obj_type(const void *obj);

/* ---------------------------------------------------------------------------
 * Handles
 *
 * A handle table maps handles to objects.  Opening a handle takes a
 * reference that closing releases; referencing an object through a handle
 * (the ObReferenceObjectByHandle pattern) checks the handle and the type and
 * takes a reference of its own.  A slot's generation changes when it is
 * closed, so a closed or reused handle never reaches another object.
 */
typedef uint64_t pt_handle; /* 0 is never a valid handle */
struct pt_htable;

/* A new, empty table; NULL with ENOMEM. */
PT_API struct pt_htable *pt_htable_create(const char *name);

/* Closes every open handle (their references are released) and frees the
 * table.  Returns how many were still open. */
PT_API long pt_htable_destroy(struct pt_htable *t);

#define pt_handle_open(t, obj, out) pt_handle_open_at(PT_SITE(), (t), (obj), (out))
#define pt_handle_close(t, h) pt_handle_close_at(PT_SITE(), (t), (h))
#define pt_handle_ref(t, h, type, out) pt_handle_ref_at(PT_SITE(), (t), (h), (type), 0, (out))

/* Opens a handle to obj in t, taking a reference.  0 with *out set, or -1
 * with EINVAL (obj not live, reported) or ENOMEM. */
PT_API int pt_handle_open_at(struct pt_site *site, struct pt_htable *t, void *obj, pt_handle *out);

/* Closes h.  0, or -1 with EBADF (never opened, closed already, or its slot
 * reused since). */
PT_API int pt_handle_close_at(struct pt_site *site, struct pt_htable *t, pt_handle h);

/* The object of h, with a reference taken at site.  type NULL accepts any
 * type.  0 with *out set, or -1 with EBADF (bad, closed or reused handle) or
 * EPROTOTYPE (an object of another type); *out is then NULL. */
PT_API int pt_handle_ref_at(struct pt_site *site, struct pt_htable *t, pt_handle h,
			    const struct pt_objtype *type, uint32_t reftag, void **out);

/* ---------------------------------------------------------------------------
 * Verification and tracking
 *
 * At the unload of a module (and at exit for the main program, when
 * enabled) pooltag lists what the module still holds: allocations per call
 * site, references and handles per object type and acquiring site, each
 * group with its count and one sample call stack.  POOLTAG_VERIFY in the
 * environment, or pt_verify_set, chooses what a finding then does:
 * continue (the default without verification), exit with status
 * PT_BUGCHECK_EXIT (the default when verifying: "1" or "exit"), or abort
 * for a core dump.  Misuse reports and the special pool's findings (see
 * pooltag(3), CONFIGURATION: special=) apply the same action.  Tracking
 * call stacks (POOLTAG_TRACK=stacks, or pt_track_set) makes each reference,
 * handle and allocation record the stack that took it; references and
 * handles are always recorded with their site, and accounting per call
 * site stays on regardless.
 */
#define PT_BUGCHECK_EXIT 86

enum pt_verify_action {
	PT_VERIFY_CONTINUE = 0,
	PT_VERIFY_EXIT,
	PT_VERIFY_ABORT,
};
PT_API void pt_verify_set(enum pt_verify_action action);

/* Also check the main program at exit (like a module unload); so does
 * POOLTAG_CHECK_EXIT=1 in the environment. */
PT_API void pt_verify_at_exit(int on);

#define PT_TRACK_BLOCKS 1u /* a record per live block (with PT_TRACK_STACKS, its stack) */
#define PT_TRACK_STACKS 2u /* record the call stack of every reference, handle (and block) */
/* Sets tracking flags (POOLTAG_TRACK=stacks, =blocks, =all for both);
 * returns the previous ones.  They apply to acquisitions made after the
 * call.  While blocks are tracked every allocation takes the library's
 * path: see make bench for the cost. */
PT_API unsigned pt_track_set(unsigned flags);

/* Reports go to this stream (default stderr). */
PT_API void pt_verify_output(FILE *f);

/* ---------------------------------------------------------------------------
 * Options and fault injection
 *
 * One option syntax for the library, the POOLTAG environment variable and
 * the CLI: "key=value,key=value" (pooltag(3), CONFIGURATION, lists the
 * keys: verify=, exit-check=, track=, output=, fail*= for fault injection,
 * special*= for the special pool).  The environment is read before the
 * first allocation or count.
 *
 * Fault injection makes acquisitions (allocations, references, handle
 * opens) fail as if memory ran out (NULL or -1 with ENOMEM): at random
 * (fail=0.01, reproducible with fail.seed=N) or systematically (fail.nth=K,
 * and `pooltag faults -- PROGRAM`, which fails each one in turn).
 */

/* Applies options.  0, or -1 with errno EINVAL and a one-line message in
 * pt_config_error(); options before the bad one stay applied.  Call it
 * before other threads use the library. */
PT_API int pt_config(const char *options);
PT_API const char *pt_config_error(void);

/*
 * Systematic fault injection for a test function: runs fn(arg) in a child
 * process once to count the acquisitions it makes, then once for each of
 * them, k = 1..n, with the k-th failing.  A run's findings: what fn still
 * holds when it returns (blocks, references, handles per acquiring site),
 * misuse reports, and a crash (the driver survives it).  Findings of the
 * run without failures are listed as such and not repeated.  Prints each
 * distinct failing site that led to a finding, with what it led to, to
 * report (NULL: stderr).  options: fail.* filters to restrict the
 * candidates (NULL: all).  Returns the number of distinct findings, or -1
 * with errno (EINVAL: bad options).  Each run forks: call it while the
 * program has a single thread.
 */
PT_API int pt_fault_each(void (*fn)(void *arg), void *arg, const char *options, FILE *report);

/* ---------------------------------------------------------------------------
 * Export
 *
 * The counters live in a shared-memory segment, /dev/shm/pooltag-PID, mode
 * 0600, created by the first call that needs it (an allocation, a tag
 * description, a counter read) and unlinked at normal exit.  A child
 * made by fork gets its own segment with a copy of its parent's counters
 * as they were at the instant of fork (its memory's instant), while the
 * parent's other threads go on counting.
 * POOLTAG_EXPORT=0 in the environment keeps the counters in private memory.
 * docs/segment-format.md describes the format.
 */

/* The segment's file name (e.g. "/dev/shm/pooltag-1234"), or NULL if the
 * counters are not exported.  The string stays valid until exit. */
PT_API const char *pt_export_path(void);

#ifdef __cplusplus
}
#endif
#endif /* POOLTAG_H */
