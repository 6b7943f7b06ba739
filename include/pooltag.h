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
 *    corrupted block header) is reported through the misuse hook with both
 *    sites, counted, and survived: it never corrupts the counters.
 */
#ifndef POOLTAG_H
#define POOLTAG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Tags
 *
 * A tag is four printable ASCII characters, written in source as a string
 * literal ("Proc", "SEY1").  Shorter literals are padded with spaces ("Ab" is
 * "Ab  "), as pooltag.txt pads three-character tags.  In memory a tag is a
 * uint32_t whose lowest byte is the first character, so its bytes read in
 * order spell the tag.
 */

/* PT_TAG("Proc"): the tag of a string literal of 1 to 4 characters, as a
 * compile-time constant.  A longer literal or a pointer fails to compile. */
#define PT_TAG(lit)                                                                      \
	((uint32_t)(sizeof(char[(sizeof(lit) >= 2 && sizeof(lit) <= 5) ? 1 : -1]) * 0) | \
	 (uint32_t)PT__TAGC(lit, 0) | (uint32_t)PT__TAGC(lit, 1) << 8 |                  \
	 (uint32_t)PT__TAGC(lit, 2) << 16 | (uint32_t)PT__TAGC(lit, 3) << 24)
#define PT__TAGC(lit, i) ((uint8_t)(sizeof(lit) > (i) + 1 ? (lit)[i] : ' '))

/* The tag of a run-time string: its first four characters, space padded.
 * Returns 0 (never a valid tag) if s is NULL, empty, longer than four
 * characters or holds a character outside printable ASCII. */
uint32_t pt_tag_make(const char *s);

/* Writes the tag's four characters and a NUL to out; returns out. */
char *pt_tag_str(uint32_t tag, char out[5]);

/* Describes a tag for readers of the counters (`pooltag used` shows it in the
 * description column, ahead of any pooltag.txt entry).  description and
 * binary (the owning component, may be NULL) are copied; a later call for the
 * same tag replaces the earlier one.  Returns -1 with EINVAL for a bad tag,
 * ENOSPC when the segment's description table or string area is full. */
int pt_tag_describe(const char *tag, const char *description, const char *binary);

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

#define pt_alloc(pool, size, tag) pt_alloc_at(PT_SITE(), (pool), (size), PT_TAG(tag))
#define pt_zalloc(pool, size, tag) pt_zalloc_at(PT_SITE(), (pool), (size), PT_TAG(tag))
#define pt_calloc(pool, n, size, tag) pt_calloc_at(PT_SITE(), (pool), (n), (size), PT_TAG(tag))
#define pt_alloc_aligned(pool, align, size, tag) \
	pt_alloc_aligned_at(PT_SITE(), (pool), (align), (size), PT_TAG(tag))
#define pt_realloc(p, size, tag) pt_realloc_at(PT_SITE(), (p), (size), PT_TAG(tag))
#define pt_free(p, tag) pt_free_at(PT_SITE(), (p), PT_TAG(tag))

/* size bytes of uninitialised memory from pool, charged to (site, tag, pool).
 * NULL with ENOMEM when out of memory or size is absurd; EINVAL for a bad
 * pool or tag. */
void *pt_alloc_at(struct pt_site *site, enum pt_pool pool, size_t size, uint32_t tag);

/* As pt_alloc_at, zero-filled. */
void *pt_zalloc_at(struct pt_site *site, enum pt_pool pool, size_t size, uint32_t tag);

/* n * size zeroed bytes; NULL with ENOMEM if the product overflows. */
void *pt_calloc_at(struct pt_site *site, enum pt_pool pool, size_t n, size_t size, uint32_t tag);

/* size bytes aligned to align, a power of two (EINVAL otherwise). */
void *pt_alloc_aligned_at(struct pt_site *site, enum pt_pool pool, size_t align, size_t size,
			  uint32_t tag);

/* Resizes p (NULL: allocates in the paged pool) keeping its pool, alignment
 * and contents up to the smaller size.  The block is re-charged to this call
 * site: the counters see a free at the old site and an allocation here, as
 * Linux's allocation profiling charges krealloc.  On failure p is untouched
 * and still allocated. */
void *pt_realloc_at(struct pt_site *site, void *p, size_t size, uint32_t tag);

/* Frees p (NULL is ignored).  tag must be the tag p was allocated with; a
 * mismatch is reported with both tags and both sites, and the block is still
 * freed and charged to its real tag.  A pointer pooltag did not allocate (or
 * whose header was overwritten) is reported and left alone. */
void pt_free_at(struct pt_site *site, void *p, uint32_t tag);

/* The requested size of a live block, its pool and its tag. */
size_t pt_size(const void *p);
enum pt_pool pt_pool_of(const void *p);
uint32_t pt_tag_of(const void *p);

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
int pt_count_tag(uint32_t tag, enum pt_pool pool, struct pt_count *out);

/* Sums every tag of a pool. */
int pt_count_pool(enum pt_pool pool, struct pt_count *out);

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
};

struct pt_misuse {
	enum pt_misuse_kind kind;
	const void *addr;                /* the block the user passed */
	uint32_t tag;                    /* the block's own tag (0 if unknown) */
	uint32_t used_tag;               /* the tag the caller passed */
	const char *alloc_file, *alloc_func; /* where the block was allocated, or NULL */
	unsigned alloc_line;
	const struct pt_site *site;      /* the site of the offending call */
	const char *text;                /* the one-line report, without newline */
};

typedef void (*pt_misuse_fn)(const struct pt_misuse *m, void *arg);

/* Installs fn (NULL: the default) as the hook; returns the previous one.
 * Set it before threads start misusing; the hook itself must be thread-safe. */
pt_misuse_fn pt_misuse_set_hook(pt_misuse_fn fn, void *arg);

/* How many misuse reports this process has made. */
uint64_t pt_misuse_count(void);

/* ---------------------------------------------------------------------------
 * Export
 *
 * The counters live in a shared-memory segment, /dev/shm/pooltag-PID, mode
 * 0600, created at the first allocation and unlinked at normal exit.  A child
 * made by fork gets its own segment with a copy of its parent's counters.
 * POOLTAG_EXPORT=0 in the environment keeps the counters in private memory.
 * docs/segment-format.md describes the format.
 */

/* The segment's file name (e.g. "/dev/shm/pooltag-1234"), or NULL if the
 * counters are not exported.  The string stays valid until exit. */
const char *pt_export_path(void);

#ifdef __cplusplus
}
#endif
#endif /* POOLTAG_H */
