/*
 * nonpaged.c - the non-paged pool's back end: mlock'ed slabs and large blocks.
 *
 * A request that fits a size class (at most 4 KiB, aligned to at most 4 KiB)
 * is served from a slab of that class; anything else gets a mapping of its own.
 * Every region, slab or large block, is an anonymous private mapping that is
 * mlock'ed as soon as it is made; if the lock fails the mapping is undone and
 * the allocation fails with ENOMEM, leaving the pool as it was.
 *
 * A slab of class c (here c = 48 in one 4 KiB page):
 *
 *	base (page aligned)                                      base + len
 *	|<-- c -->|<-- c -->|<-- c -->|     |<-- c -->|<- len % c ->|
 *	+---------+---------+---------+-...-+---------+-------------+
 *	|  live   |  free   |  live   |     |  free   | tail: never |
 *	|         | [next]0 |         |     | [next]0 | handed out  |
 *	+---------+----|----+---------+-...-+---------+-------------+
 *	               +--> next free block of class c (any slab), or NULL
 *
 * Invariants:
 *  - Block i of a slab starts at base + i * c.  base is page aligned, so a
 *    block is aligned to the largest power of two dividing c (c <= 4096).
 *    pt_np_class() rounds the size up to a multiple of align before picking a
 *    class, and every such multiple up to 4096 rounds to a class that is
 *    itself a multiple of align (the classes between 2^b and 2^(b+1) are the
 *    multiples of 2^(b-2), and a multiple of a larger align in that range is
 *    2^b + 2^(b-1) or 2^(b+1), both classes).  So small blocks honour align.
 *  - A free block is zero except for its first word, the free-list link:
 *    pt_np_free() wipes the whole block before linking it, pt_np_alloc()
 *    clears the link, so callers always get zeros and no secret survives a free.
 *  - Slabs are never unmapped; their blocks stay locked on the free lists.
 *    Large blocks are wiped and unmapped when freed.
 *  - Every region has a record in pt_np.regions, and pt_np.curlocked is the
 *    sum of the lengths of the records whose region is locked.
 *  - The mutex guards the free lists, the region tree and the counter.  No
 *    system call runs under it (but in a fork child, which has one thread):
 *    mmap, mlock, munmap and the wipes happen outside; only tsearch/tdelete,
 *    which may call malloc, run inside.
 *
 * Size classes: 16-byte steps up to 128, then four per doubling (160, 192,
 * 224, 256, 320, ..., 3584, 4096), 28 in all.  Rounding wastes at most 15
 * bytes up to 128 and under 20% of a block above, where powers of two would
 * waste up to half of a resource that RLIMIT_MEMLOCK caps at 8 MiB by default
 * (64 KiB before Linux 5.16); finer classes would leave more slabs partly used.  A slab holds eight blocks or
 * one page, whichever is larger, rounded up to pages: a class that holds one
 * small secret costs a single page, the unused tail is at most 6% of a slab,
 * and touching every class locks 256 KiB.
 *
 * Fork: memory locks are not inherited by a child, so the atfork child
 * handler locks every region again; otherwise the child's copy of a secret
 * could be swapped out.  Because mlock breaks copy-on-write on private
 * mappings, this copies the pool in the child (posix_spawn, which runs no
 * atfork handler, avoids the cost for fork-and-exec).
 */
#include "nonpaged.h"

#include <errno.h>
#include <pthread.h>
#include <search.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PT_NP_MIN_ALIGN   16
#define PT_NP_SMALL_MAX   4096 /* the largest class, and the largest alignment a slab gives */
#define PT_NP_NCLASS      28
#define PT_NP_SLAB_BLOCKS 8

/* A mapping owned by the pool: a slab or a large block. */
struct pt_np_region {
	char *base;
	size_t len;
	int large;  /* a large block (freed by unmapping), not a slab */
	int locked; /* 0 only in a fork child whose re-lock failed */
};

static struct {
	pthread_mutex_t mutex;
	pthread_once_t once;
	size_t page;              /* system page size, set once */
	void *free[PT_NP_NCLASS]; /* per class: free blocks linked through their first word */
	void *regions;            /* tsearch tree of struct pt_np_region, ordered by base */
	size_t curlocked;         /* bytes of the regions that are locked */
} pt_np = {
    .mutex = PTHREAD_MUTEX_INITIALIZER,
    .once = PTHREAD_ONCE_INIT,
};

/*
 * mlock through the system call: the sanitizers' interceptors turn mlock()
 * into a no-op that returns 0, which would hide the lock limit (and leave
 * memory unlocked) in sanitizer builds.  Returns 0 or -1 with errno set.
 */
static int pt_np_mlock(void *p, size_t len)
{
	return (int)syscall(SYS_mlock, p, len);
}

/* The class of a small request, or -1 when it needs a mapping of its own. */
static int pt_np_class(size_t size, size_t align)
{
	unsigned b;

	if (size > PT_NP_SMALL_MAX || align > PT_NP_SMALL_MAX)
		return -1;
	size = (size + align - 1) & ~(align - 1); /* cannot overflow: both are <= 4096 */
	if (size <= 128)
		return (int)((size + 15) / 16) - 1;
	b = (unsigned)(8 * sizeof(long) - 1 - __builtin_clzl(size - 1)); /* 2^b < size <= 2^(b+1) */
	return 8 + 4 * (int)(b - 7) + (int)((size - 1 - ((size_t)1 << b)) >> (b - 2));
}

static size_t pt_np_class_size(int c)
{
	unsigned b;

	if (c < 8)
		return (size_t)(c + 1) * 16;
	b = 7 + (unsigned)(c - 8) / 4;
	return ((size_t)1 << b) + ((size_t)((c - 8) % 4 + 1) << (b - 2));
}

/* A large block's mapping: size rounded up to pages; 0 if that overflows. */
static size_t pt_np_large_len(size_t size)
{
	if (size > SIZE_MAX - (pt_np.page - 1))
		return 0;
	return (size + pt_np.page - 1) & ~(pt_np.page - 1);
}

static int pt_np_region_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct pt_np_region *)a)->base;
	uintptr_t y = (uintptr_t)((const struct pt_np_region *)b)->base;

	return x < y ? -1 : x > y;
}

/* twalk action for the fork child: lock each region again, once per node. */
static void pt_np_relock(const void *node, VISIT which, int depth)
{
	struct pt_np_region *r = *(struct pt_np_region *const *)node;
	int ok;

	(void)depth;
	if (which != postorder && which != leaf)
		return;
	ok = pt_np_mlock(r->base, r->len) == 0;
	if (ok != r->locked) {
		r->locked = ok;
		pt_np.curlocked = ok ? pt_np.curlocked + r->len : pt_np.curlocked - r->len;
	}
}

/* Held across fork, so the child never inherits a mutex locked by a thread it lacks. */
void pt_np_prepare(void)
{
	pthread_mutex_lock(&pt_np.mutex);
}

void pt_np_parent(void)
{
	pthread_mutex_unlock(&pt_np.mutex);
}

void pt_np_child(void)
{
	twalk(pt_np.regions, pt_np_relock);
	pthread_mutex_unlock(&pt_np.mutex);
}

static void pt_np_init(void)
{
	long page = sysconf(_SC_PAGESIZE);

	pt_np.page = page >= PT_NP_SMALL_MAX ? (size_t)page : PT_NP_SMALL_MAX;
	/* Fork handlers: pt_np_prepare/parent/child, called by segment.c's in
	 * the library's lock order. */
	pt_fork_handlers();
}

/*
 * Maps len bytes (a page multiple) aligned to align (a power of two), locks
 * them and records the region.  Returns zero-filled memory, or NULL with errno
 * ENOMEM when the address space, the lock limit or malloc (for the record)
 * runs out; nothing stays mapped then.  Alignments above the page size are
 * met by mapping align - page extra bytes and trimming both ends: the mapping
 * is page aligned, so at most align - page bytes precede the aligned start and
 * [p, p + len) stays inside it (len >= page).
 */
static void *pt_np_map(size_t len, size_t align, int large)
{
	size_t extra = align > pt_np.page ? align - pt_np.page : 0, head;
	struct pt_np_region *r;
	void **node;
	char *map, *p;

	if (len > SIZE_MAX - extra)
		goto nomem;
	map = mmap(NULL, len + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		goto nomem;
	p = (char *)(((uintptr_t)map + align - 1) & ~((uintptr_t)align - 1));
	head = (size_t)(p - map);
	if (head)
		munmap(map, head);
	if (extra > head)
		munmap(p + len, extra - head);

	r = malloc(sizeof(*r));
	if (!r || pt_np_mlock(p, len) != 0)
		goto unmap;
	/* Secrets have no place in a core dump either; old kernels lack this, which is harmless. */
	madvise(p, len, MADV_DONTDUMP);
	r->base = p;
	r->len = len;
	r->large = large;
	r->locked = 1;

	pthread_mutex_lock(&pt_np.mutex);
	node = tsearch(r, &pt_np.regions, pt_np_region_cmp);
	/* Another record at this base would mean overlapping regions: never adopt it. */
	if (!node || *node != r) {
		pthread_mutex_unlock(&pt_np.mutex);
		goto unmap;
	}
	pt_np.curlocked += len;
	pthread_mutex_unlock(&pt_np.mutex);
	return p;

unmap:
	free(r);
	munmap(p, len); /* also drops the lock, if it was taken */
nomem:
	errno = ENOMEM;
	return NULL;
}

/*
 * Makes a slab for class c and returns its first block; the others go on the
 * class's free list.  NULL with errno ENOMEM as pt_np_map().
 */
static void *pt_np_grow(int c)
{
	size_t size = pt_np_class_size(c), len, n, i;
	char *base;

	len = size * PT_NP_SLAB_BLOCKS > pt_np.page ? size * PT_NP_SLAB_BLOCKS : pt_np.page;
	len = (len + pt_np.page - 1) & ~(pt_np.page - 1);
	base = pt_np_map(len, pt_np.page, 0);
	if (!base)
		return NULL;
	n = len / size;
	if (n < 2)
		return base;
	/* The slab is still private to this thread: chain blocks 1..n-1 before taking the lock. */
	for (i = 1; i + 1 < n; i++)
		*(void **)(base + i * size) = base + (i + 1) * size;
	pthread_mutex_lock(&pt_np.mutex);
	*(void **)(base + (n - 1) * size) = pt_np.free[c];
	pt_np.free[c] = base + size;
	pthread_mutex_unlock(&pt_np.mutex);
	return base;
}

/*
 * size bytes aligned to align, zero-filled and locked.  A size of 0 gets a
 * minimal block; an align below 16 counts as 16.  NULL with errno ENOMEM when
 * memory or the lock limit runs out or size is absurd, EINVAL when align is
 * not a power of two.  Takes the mutex briefly; a new slab or a large block
 * costs mmap and mlock outside it.
 */
int pt_np_alone(size_t size, size_t align)
{
	size += !size;
	return pt_np_class(size, align < PT_NP_MIN_ALIGN ? PT_NP_MIN_ALIGN : align) < 0;
}

void *pt_np_alloc(size_t size, size_t align)
{
	void *p;
	int c;

	pthread_once(&pt_np.once, pt_np_init);
	size += !size; /* a minimal block, which also keeps a large mapping from being empty */
	if (align < PT_NP_MIN_ALIGN)
		align = PT_NP_MIN_ALIGN;
	if (align & (align - 1)) {
		errno = EINVAL;
		return NULL;
	}
	c = pt_np_class(size, align);
	if (c < 0) {
		size_t len = pt_np_large_len(size);

		if (!len) {
			errno = ENOMEM;
			return NULL;
		}
		return pt_np_map(len, align, 1);
	}

	pthread_mutex_lock(&pt_np.mutex);
	p = pt_np.free[c];
	if (p)
		pt_np.free[c] = *(void **)p;
	pthread_mutex_unlock(&pt_np.mutex);
	if (!p)
		return pt_np_grow(c);
	*(void **)p = NULL; /* the rest of the block was wiped when it was freed */
	return p;
}

/*
 * Wipes p and puts it back: on its class's free list, or, for a large block,
 * unmapped.  size and align must be those p was allocated with; NULL is
 * ignored.  A small block is trusted to be one this pool handed out (pool.c
 * checks its header first).  A large size whose pointer is not a large block
 * of that length (a slab, a stranger, a wrong size) is left alone.
 */
void pt_np_free(void *p, size_t size, size_t align)
{
	struct pt_np_region key, *r;
	void **node;
	int c;

	if (!p)
		return;
	size += !size;
	if (align < PT_NP_MIN_ALIGN)
		align = PT_NP_MIN_ALIGN;
	c = pt_np_class(size, align);
	if (c >= 0) {
		explicit_bzero(p, pt_np_class_size(c));
		pthread_mutex_lock(&pt_np.mutex);
		*(void **)p = pt_np.free[c];
		pt_np.free[c] = p;
		pthread_mutex_unlock(&pt_np.mutex);
		return;
	}

	key.base = p;
	pthread_mutex_lock(&pt_np.mutex);
	node = tfind(&key, &pt_np.regions, pt_np_region_cmp);
	r = node ? *node : NULL;
	if (r && r->large && r->len == pt_np_large_len(size)) {
		tdelete(&key, &pt_np.regions, pt_np_region_cmp);
		if (r->locked)
			pt_np.curlocked -= r->len;
	} else {
		r = NULL;
	}
	pthread_mutex_unlock(&pt_np.mutex);
	if (!r)
		return;
	/* Unmapped pages keep their bytes until the kernel reuses them: wipe first. */
	explicit_bzero(r->base, r->len);
	munmap(r->base, r->len);
	free(r);
}

size_t pt_np_locked_bytes(void)
{
	size_t n;

	pthread_mutex_lock(&pt_np.mutex);
	n = pt_np.curlocked;
	pthread_mutex_unlock(&pt_np.mutex);
	return n;
}
