/*
 * hooks.c - the malloc family, charged to the module and line that called
 * it, plus the interposer's start-up and exit.
 *
 * Every block is glibc's (__libc_malloc and friends, called directly) with
 * the library's header in front: tag, meta (slot, alignment) and the
 * checked size word (src/block.h).  A block's header alone says how to
 * free it, whoever frees it, so blocks handed out before start-up, while a
 * hook was busy, or by another thread's slow path, all free correctly: their
 * slot is 0 and they are simply not counted.
 *
 * The common case of malloc: a thread-local cache lookup of the return
 * address (preload.h), glibc's malloc, three header stores, two adds to
 * counters only this thread writes and, with nothing tracked, a subtract
 * from the sampler's countdown.  free: a header check, two adds and a test
 * of the header's sampled bit.
 *
 * Semantics are glibc's: malloc(0) returns a unique block, realloc(p, 0)
 * frees p and returns NULL, realloc(NULL, n) allocates, a failed realloc
 * leaves the block alone, calloc and reallocarray fail with ENOMEM on
 * overflow, posix_memalign returns EINVAL for an alignment that is not a
 * power of two multiple of sizeof(void *) (errno untouched), memalign and
 * aligned_alloc round a bad alignment up to a power of two, pvalloc rounds the size up to pages.
 * malloc_usable_size returns the size asked for: the program may use
 * exactly that much.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload.h"

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t align, size_t n);
void __libc_free(void *p);

#define HDR sizeof(struct pt__hdr)
#define RET() ((uintptr_t)__builtin_return_address(0))

int pt_run_ready;
int pt_run_pid;
__thread uintptr_t pt_run_outer __attribute__((tls_model("initial-exec")));
static uint32_t max_slots = 1; /* a header's slot must be below this (1: only 0 before start-up) */

/* The info word of the site that called the hook whose return address is ret. */
static inline uint64_t caller(uintptr_t ret)
{
	uintptr_t pc = pt_run_outer ? pt_run_outer : ret;
	uint64_t info;

	if (pt_unlikely(pt_run_busy))
		return 0; /* the interposer's own (its symboliser's strdup): uncounted */
	info = pt_run_site(pc);

	if (pt_unlikely(info & PT_RUN_WRAP))
		info = pt_run_unwrap(pc, info);
	return info;
}

/* ---- the back end: glibc's own entry points ---- */

static void *libc_alloc(size_t len, size_t align, int zero)
{
	void *p;

	if (align <= 16)
		return zero ? __libc_calloc(1, len) : __libc_malloc(len);
	p = __libc_memalign(align, len);
	if (p && zero)
		memset(p, 0, len);
	return p;
}

static void libc_free(void *base, size_t len, size_t align)
{
	(void)len;
	(void)align;
	__libc_free(base);
}

static int libc_alone(const void *base, size_t len, size_t align)
{
	(void)len;
	(void)align;
	return pt_block_glibc_alone(base);
}

static const struct pt_block_backend libc_be = {libc_alloc, libc_free, __libc_realloc,
						libc_alone, 0};

/* ---- blocks ---- */

/* Runs stmt with the hooks busy: what it allocates or frees (a layer's
 * records, a stack's capture, the sampler's tables) is pooltag's, not the
 * program's, and goes uncounted. */
#define AS_POOLTAG(stmt)                   \
	do {                               \
		int was_ = pt_run_busy;    \
		pt_run_busy = 1;           \
		stmt;                      \
		pt_run_busy = was_;        \
	} while (0)

/* Through the installed layers (fault injection, the special pool,
 * tracking): their records, stack captures and reports allocate, and what
 * they allocate is not the program's. */
static __attribute__((noinline)) void *alloc_layered(size_t n, unsigned mark, uint64_t info,
						     int zero)
{
	struct pt_block_req r = {NULL, PT_RUN_INFO_TAG(info), PT_RUN_INFO_SLOT(info), PT_PAGED,
				 mark, n, zero, &libc_be};
	void *p;

	AS_POOLTAG(p = pt_block_alloc(&r));
	return p;
}

/* A new block of n bytes (mark: 0, or log2 of an alignment above 16) for
 * the site of info.  Without layers: the core's helpers, inline. */
static inline void *alloc_block(size_t n, unsigned mark, uint64_t info, int zero)
{
	uint32_t slot = PT_RUN_INFO_SLOT(info);
	size_t room = pt_block_room(mark);
	char *base;
	void *user;

	if (pt_unlikely(n > PT__SIZE_MAX)) {
		errno = ENOMEM;
		return NULL;
	}
	if (pt_unlikely(pt_block_layered()))
		return alloc_layered(n, mark, info, zero);
	base = libc_alloc(n + room, pt_block_align(mark), zero);
	if (pt_unlikely(!base))
		return NULL; /* glibc set errno */
	user = pt_block_init(base, PT_RUN_INFO_TAG(info), slot, PT_PAGED, mark, n);
	if (pt_unlikely(n > PT__INLINE_MAX))
		pt_block_gone_forget(user); /* a mapping of its own may reuse an address */
	if (slot) {
		pt_block_count(slot, n, 0);
		/* The sampler's countdown, as pt_block_alloc's: a subtract and
		 * a branch taken once in about 512 KiB.  Its stack starts at
		 * the hook's caller (pt_sample_hit keeps the frames above the
		 * return address into the hook). */
		if (pt_unlikely((pt__tls_sample -= (int64_t)n) < 0))
			AS_POOLTAG(pt_sample_hit(user, slot, n));
	}
	return user;
}

/* align: a power of two. */
static void *alloc_aligned(size_t align, size_t n, uint64_t info)
{
	unsigned lg;

	if (align <= HDR)
		return alloc_block(n, 0, info, 0);
	lg = (unsigned)__builtin_ctzl(align);
	if (lg > 40) {
		errno = ENOMEM;
		return NULL;
	}
	return alloc_block(n, lg, info, 0);
}

/* A pointer that is not a live block of ours: freed twice, or never
 * allocated here.  Handing it to glibc could corrupt the heap; it is
 * recorded by the line that freed it (misfree.c), reported at exit, and
 * left alone.  Where it was allocated is known for a block freed with its
 * pages (gone: its tombstone's slot), and for one whose header survived
 * the first free marked freed (tracked and aligned blocks: glibc's free
 * list does not reach their header); either was freed twice. */
static void foreign(void *p, uintptr_t pc, int gone, uint32_t gone_slot)
{
	const struct pt__hdr *h = (const struct pt__hdr *)p - 1;
	uint64_t live = 0;
	uint32_t slot = gone ? gone_slot : 0;

	if (!gone) { /* readable: pt_block_live read it */
		live = pt_hdr_freed(h->word);
		if (live == pt__hdr_word(h->meta, live & PT__SIZE_MASK) &&
		    pt_meta_pool(h->meta) == PT_PAGED && pt_meta_slot(h->meta) < max_slots)
			slot = pt_meta_slot(h->meta);
	}
	pt_run_misfree(p, pt_run_outer ? pt_run_outer : pc, slot,
		       slot && !gone ? live & PT__SIZE_MASK : 0);
}

/* Is p's header unreadable?  1: a special block in quarantine (reported
 * with its sites), 2: a block freed with its pages (*slot: its site). */
static __attribute__((noinline)) int unreadable(void *p, const char *op, uint32_t *slot)
{
	struct pt_block_gone g = {0, 0};
	int u;

	AS_POOLTAG(u = pt_block_unreadable_slow(p, op, 0, NULL, &g));
	*slot = u == 2 && g.slot < max_slots ? g.slot : 0;
	return u;
}

/* p's header if p is a live block of ours, else NULL: a pointer freed
 * already or never ours is counted as foreign, by the line at pc, when the
 * call would have released it (release). */
static inline struct pt__hdr *header(void *p, const char *op, int release, uintptr_t pc)
{
	struct pt__hdr *h = NULL;
	uint32_t gone_slot = 0;
	int u = 0;

	if (pt_unlikely(pt__maybe_gone(p)) && (u = unreadable(p, op, &gone_slot)) == 1)
		return NULL;
	if (!u)
		h = pt_block_live(p, 1, 0, max_slots);
	if (pt_unlikely(!h) && release)
		foreign(p, pc, u == 2, gone_slot);
	return h;
}

static __attribute__((noinline)) void drop_sample(void *p)
{
	AS_POOLTAG(pt_sample_drop(p));
}

/* Through the layers (the special pool's checks and records). */
static __attribute__((noinline)) void free_block(struct pt__hdr *h)
{
	AS_POOLTAG(pt_block_release(h, &libc_be, NULL));
}

static void *realloc_at(void *p, size_t n, uint64_t info, uintptr_t pc)
{
	struct pt_block_req r = {NULL, PT_RUN_INFO_TAG(info), PT_RUN_INFO_SLOT(info), PT_PAGED, 0,
				 n, 0, &libc_be};
	struct pt__hdr *h;
	void *q;

	if (!p)
		return alloc_block(n, 0, info, 0);
	if (!(h = header(p, "realloc", 1, pc))) {
		errno = EINVAL;
		return NULL;
	}
	if (n == 0) {
		free_block(h);
		return NULL;
	}
	if (n > PT__SIZE_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	/* Aligned and tracked blocks move by copy (their base is not h), and
	 * lose their alignment as glibc's do.  What the layers and the sampler
	 * do meanwhile is not the program's. */
	AS_POOLTAG(q = pt_block_resize(h, &r));
	return q;
}

/* ---- the hooks ---- */

PT_EXPORT void *malloc(size_t n)
{
	return alloc_block(n, 0, caller(RET()), 0);
}

PT_EXPORT void free(void *p)
{
	struct pt__hdr *h;
	uint32_t slot;

	if (!p || !(h = header(p, "free", 1, RET())))
		return;
	if (pt_unlikely(pt_meta_align_log2(h->meta) != 0)) {
		free_block(h);
		return;
	}
	slot = pt_meta_slot(h->meta);
	if (slot)
		pt_block_count(slot, pt_hdr_size(h), 1);
	if (pt_unlikely(pt_meta_sampled(h->meta)))
		drop_sample(p);
	if (pt_unlikely(libc_alone(h, 0, 0)))
		pt_block_gone_add(p, h->tag, slot); /* glibc unmaps it */
	pt__hdr_kill(h); /* see block.h */
	__libc_free(h);
}

PT_EXPORT void *calloc(size_t nm, size_t size)
{
	size_t n;

	if (__builtin_mul_overflow(nm, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return alloc_block(n, 0, caller(RET()), 1);
}

PT_EXPORT void *realloc(void *p, size_t n)
{
	return realloc_at(p, n, caller(RET()), RET());
}

PT_EXPORT void *reallocarray(void *p, size_t nm, size_t size)
{
	size_t n;

	if (__builtin_mul_overflow(nm, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc_at(p, n, caller(RET()), RET());
}

PT_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	int saved = errno;
	void *p;

	if (align == 0 || align % sizeof(void *) != 0 || (align & (align - 1)) != 0)
		return EINVAL;
	p = alloc_aligned(align, n, caller(RET()));
	if (!p) {
		errno = saved;
		return ENOMEM;
	}
	*out = p;
	return 0;
}

/* glibc's memalign rounds a bad alignment up to a power of two; its
 * aligned_alloc (2.36) is the same function. */
static void *memalign_at(size_t align, size_t n, uint64_t info)
{
	if (align > (SIZE_MAX >> 1) + 1) {
		errno = EINVAL;
		return NULL;
	}
	if (align & (align - 1)) { /* glibc rounds up to a power of two */
		size_t a = 1;
		while (a < align)
			a <<= 1;
		align = a;
	}
	return alloc_aligned(align, n, info);
}

PT_EXPORT void *memalign(size_t align, size_t n)
{
	return memalign_at(align, n, caller(RET()));
}

PT_EXPORT void *aligned_alloc(size_t align, size_t n)
{
	return memalign_at(align, n, caller(RET()));
}

PT_EXPORT void *valloc(size_t n)
{
	return alloc_aligned((size_t)sysconf(_SC_PAGESIZE), n, caller(RET()));
}

PT_EXPORT void *pvalloc(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), r;

	if (__builtin_add_overflow(n, page - 1, &r)) {
		errno = ENOMEM;
		return NULL;
	}
	r &= ~(page - 1);
	return alloc_aligned(page, r ? r : page, caller(RET()));
}

PT_EXPORT size_t malloc_usable_size(void *p)
{
	struct pt__hdr *h = p ? header(p, "malloc_usable_size", 0, 0) : NULL;
	return h ? pt_hdr_size(h) : 0;
}

/* ---- start-up and exit ---- */

/* Removes this library from LD_PRELOAD, so the programs this one executes
 * run bare unless pooltag run was asked to follow them. */
static void strip_preload(void)
{
	const char *v = getenv("LD_PRELOAD");
	char *out, *w;
	const char *p;

	if (!v)
		return;
	out = __libc_malloc(strlen(v) + 1);
	if (!out)
		return;
	w = out;
	for (p = v; *p;) {
		size_t n = strcspn(p, ": ");
		const char *slash = memrchr(p, '/', n), *base = slash ? slash + 1 : p;
		size_t bl = n - (size_t)(base - p);
		if (n && !(bl == strlen("libpooltag-preload.so") &&
			   memcmp(base, "libpooltag-preload.so", bl) == 0)) {
			if (w != out)
				*w++ = ':';
			memcpy(w, p, n);
			w += n;
		}
		p += n;
		if (*p)
			p++;
	}
	*w = 0;
	if (*out)
		setenv("LD_PRELOAD", out, 1);
	else
		unsetenv("LD_PRELOAD");
	__libc_free(out);
}

/* Registered after the library's handlers, so this prepare runs before
 * theirs and this parent/child handler after theirs: while the library's
 * child handler runs (it opens /proc files), hooks are busy and take no
 * lock. */
static void fork_prepare(void)
{
	pt_run_busy = 1;
	pt_run_lock();
}

static void fork_parent(void)
{
	pt_run_unlock();
	pt_run_busy = 0;
}

static void fork_child(void)
{
	pt_run_unlock();
	pt_run_busy = 0;
}

__attribute__((constructor)) static void pt_run_start(void)
{
	pt_run_busy = 1;
	pt_run_config_load();
	pt_verify_at_exit(0); /* the exit report below says it all (POOLTAG exit-check=) */
	if (!pt_run_cfg.follow_exec)
		strip_preload();
	pt_seg_init();
	max_slots = pt_seg.hdr->max_slots;
	if (pt_run_cfg.track)
		pt_track_set(pt_run_cfg.track);
	else
		pt_sample_setup(0); /* nothing tracked: stacks by sampling (sample.h) */
	pt_stack_init(); /* loads the unwinder now, not inside a hook */
	pt_run_site_init();
	pt_run_fds_init();
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	pt_run_exit_init(); /* the verdict at every end (exit.c) */
	pt_run_pid = getpid();
	__atomic_store_n(&pt_run_ready, 1, __ATOMIC_RELEASE);
	pt_run_busy = 0;
}
