/*
 * hooks.c - the malloc family, charged to the module and line that called
 * it, plus the interposer's start-up and exit.
 *
 * Every block is glibc's (__libc_malloc and friends, called directly) with
 * the library's header in front: tag, meta (slot, alignment) and the
 * checked size word (src/internal.h).  A block's header alone says how to
 * free it, whoever frees it, so blocks handed out before start-up, while a
 * hook was busy, or by another thread's slow path, all free correctly: their
 * slot is 0 and they are simply not counted.
 *
 * The common case of malloc: a thread-local cache lookup of the return
 * address (preload.h), glibc's malloc, three header stores and two adds to
 * counters only this thread writes.  free: a header check and two adds.
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

#include "faultrun.h"
#include "preload.h"
#include "stack.h"

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t align, size_t n);
void __libc_free(void *p);

#define HDR sizeof(struct pt__hdr)
#define TRACKED_ROOM (sizeof(struct pt_trec) + HDR)
#define RET() ((uintptr_t)__builtin_return_address(0))

int pt_run_ready;
int pt_run_pid;
__thread uintptr_t pt_run_outer __attribute__((tls_model("initial-exec")));
static int track_blocks;     /* blocks carry a record (PT_TRACK_BLOCKS) */
static uint32_t max_slots = 1; /* a header's slot must be below this (1: only 0 before start-up) */

/* ---- counting ---- */

static inline void count(uint32_t slot, uint64_t n, int is_free)
{
	struct pt__ctr *c = pt__tls_ctr;

	if (pt_unlikely(!c || __atomic_load_n(&pt_seg_pending, __ATOMIC_RELAXED))) {
		pt_count_event(slot, n, is_free);
		return;
	}
	if (is_free) {
		pt__ctr_add(&c[slot].nfrees, 1);
		pt__ctr_add(&c[slot].bytes_freed, n);
	} else {
		pt__ctr_add(&c[slot].nallocs, 1);
		pt__ctr_add(&c[slot].bytes_alloc, n);
	}
}

/* The info word of the site that called the hook whose return address is ret. */
static inline uint64_t caller(uintptr_t ret)
{
	uintptr_t pc = pt_run_outer ? pt_run_outer : ret;
	uint64_t info = pt_run_site(pc);

	if (pt_unlikely(info & PT_RUN_WRAP))
		info = pt_run_unwrap(pc, info);
	return info;
}

/* ---- blocks ---- */

/* Fault injection (POOLTAG=fail..., pooltag faults): should this
 * allocation fail?  Only the program's counted sites are candidates, never
 * the interposer's own start-up. */
static inline int injected(uint64_t info, size_t n)
{
	uint32_t slot = PT_RUN_INFO_SLOT(info);
	int fail, was;

	if (pt_likely(!__atomic_load_n(&pt_fault_active, __ATOMIC_RELAXED)) || !slot)
		return 0;
	pt_fault_point_slow();
	was = pt_run_busy;
	pt_run_busy = 1; /* what the unwinder allocates is not the program's */
	fail = pt_fault_check_slot(PT_FAULT_ALLOC, slot, PT_RUN_INFO_TAG(info), n);
	pt_run_busy = was;
	return fail;
}

static inline size_t room_of(unsigned lg)
{
	return lg == 0 ? HDR : lg == PT_ALIGN_TRACKED ? TRACKED_ROOM : (size_t)1 << lg;
}

/* Writes the header of a new block whose memory starts at base; counts it. */
static inline void *finish(char *base, unsigned lg, size_t n, uint64_t info)
{
	struct pt__hdr *h = (struct pt__hdr *)(base + room_of(lg)) - 1;
	uint32_t slot = PT_RUN_INFO_SLOT(info);

	h->tag = PT_RUN_INFO_TAG(info);
	h->meta = pt_hdr_meta(slot, PT_PAGED, lg);
	h->word = pt__hdr_word(h->meta, n);
	if (lg == PT_ALIGN_TRACKED)
		pt_track_block_add((struct pt_trec *)base, slot);
	if (slot)
		count(slot, n, 0);
	return h + 1;
}

/* The verifier's special pool (POOLTAG=special=...): a selected block on
 * pages of its own, counted to its site; NULL when not selected or not
 * mappable (then an ordinary block). */
static void *special(unsigned lg, size_t n, uint64_t info)
{
	uint32_t slot = PT_RUN_INFO_SLOT(info), tag = PT_RUN_INFO_TAG(info);
	void *user;
	int was = pt_run_busy;

	if (!slot || !pt_special_selected(slot, tag, n))
		return NULL;
	pt_run_busy = 1; /* its records and stack captures are not the program's */
	user = pt_special_alloc(slot, PT_PAGED, lg, n, tag);
	pt_run_busy = was;
	if (user)
		count(slot, n, 0);
	return user;
}

/* Is p a special block already freed (its pages locked away)?  Then the
 * header must not be read: reported as the misuse it is. */
static int special_freed(void *p, const char *op)
{
	if (pt_likely(!__atomic_load_n(&pt_special_on, __ATOMIC_RELAXED)) ||
	    pt_special_contains(p) != 2)
		return 0;
	pt_special_check(p, op, 0, NULL, 0);
	return 1;
}

static inline void *alloc_plain(size_t n, uint64_t info, int zero)
{
	unsigned lg = track_blocks && PT_RUN_INFO_SLOT(info) ? PT_ALIGN_TRACKED : 0;
	char *base;

	if (pt_unlikely(n > PT__SIZE_MAX) || pt_unlikely(injected(info, n))) {
		errno = ENOMEM;
		return NULL;
	}
	if (pt_unlikely(__atomic_load_n(&pt_special_on, __ATOMIC_RELAXED)) &&
	    (base = special(0, n, info)))
		return base; /* fresh pages: zeroed already */
	base = zero ? __libc_calloc(1, n + room_of(lg)) : __libc_malloc(n + room_of(lg));
	if (pt_unlikely(!base))
		return NULL; /* glibc set errno */
	return finish(base, lg, n, info);
}

/* align: a power of two. */
static void *alloc_aligned(size_t align, size_t n, uint64_t info)
{
	unsigned lg;
	char *base;

	if (align <= HDR)
		return alloc_plain(n, info, 0);
	lg = (unsigned)__builtin_ctzl(align);
	if (n > PT__SIZE_MAX || lg > 40 || injected(info, n)) {
		errno = ENOMEM;
		return NULL;
	}
	if (pt_unlikely(__atomic_load_n(&pt_special_on, __ATOMIC_RELAXED)) &&
	    (base = special(lg, n, info)))
		return base;
	base = __libc_memalign(align, n + align);
	return base ? finish(base, lg, n, info) : NULL;
}

/* p's header if p is a live block of ours, else NULL. */
static inline struct pt__hdr *header(void *p)
{
	struct pt__hdr *h = (struct pt__hdr *)p - 1;
	uint32_t meta = h->meta;
	uint64_t word = h->word;

	if (pt_unlikely(word != pt__hdr_word(meta, word & PT__SIZE_MASK) ||
			pt_meta_pool(meta) != PT_PAGED || pt_meta_slot(meta) >= max_slots))
		return NULL;
	return h;
}

/* A pointer that is not a live block of ours: freed twice, or never
 * allocated here.  Handing it to glibc could corrupt the heap; it is
 * recorded by the line that freed it (misfree.c), reported at exit, and
 * left alone.  A block whose header free_block marked freed (tracked and
 * aligned ones: glibc's free list does not reach their header) still
 * names its site: then it was freed twice, and where it was allocated is
 * known. */
static void foreign(void *p, uintptr_t pc)
{
	const struct pt__hdr *h = (const struct pt__hdr *)p - 1;
	uint64_t live = pt_hdr_freed(h->word);
	uint32_t slot = 0;

	if (live == pt__hdr_word(h->meta, live & PT__SIZE_MASK) && pt_meta_pool(h->meta) == PT_PAGED &&
	    pt_meta_slot(h->meta) < max_slots)
		slot = pt_meta_slot(h->meta);
	pt_run_misfree(p, pt_run_outer ? pt_run_outer : pc, slot, slot ? live & PT__SIZE_MASK : 0);
}

static void free_block(struct pt__hdr *h)
{
	uint32_t meta = h->meta, slot = pt_meta_slot(meta);
	uint64_t size = h->word & PT__SIZE_MASK;
	unsigned lg = pt_meta_align_log2(meta);
	char *base = (char *)(h + 1) - room_of(lg);

	h->word = pt_hdr_freed(h->word);
	if (lg == PT_ALIGN_SPECIAL) {
		int was = pt_run_busy;
		if (slot)
			count(slot, size, 1);
		pt_run_busy = 1;
		pt_special_free(h + 1, NULL); /* into the quarantine */
		pt_run_busy = was;
		return;
	}
	if (lg == PT_ALIGN_TRACKED)
		pt_track_block_del((struct pt_trec *)base);
	if (slot)
		count(slot, size, 1);
	__libc_free(base);
}

static void *realloc_at(void *p, size_t n, uint64_t info, uintptr_t pc)
{
	struct pt__hdr *h, *nh;
	uint32_t old_slot, slot = PT_RUN_INFO_SLOT(info);
	uint64_t old_size;
	void *q;

	if (!p)
		return alloc_plain(n, info, 0);
	if (special_freed(p, "realloc")) {
		errno = EINVAL;
		return NULL;
	}
	if (!(h = header(p))) {
		foreign(p, pc);
		errno = EINVAL;
		return NULL;
	}
	if (n == 0) {
		free_block(h);
		return NULL;
	}
	old_slot = pt_meta_slot(h->meta);
	old_size = h->word & PT__SIZE_MASK;
	if (pt_meta_align_log2(h->meta) != 0 || (track_blocks && slot)) {
		/* Aligned and tracked blocks move by copy: their base is not h. */
		q = alloc_plain(n, info, 0);
		if (q) {
			memcpy(q, p, n < old_size ? n : old_size);
			free_block(h);
		}
		return q;
	}
	if (n > PT__SIZE_MAX || (n > old_size && injected(info, n))) {
		errno = ENOMEM;
		return NULL;
	}
	nh = __libc_realloc(h, n + HDR);
	if (!nh)
		return NULL;
	nh->tag = PT_RUN_INFO_TAG(info);
	nh->meta = pt_hdr_meta(slot, PT_PAGED, 0);
	nh->word = pt__hdr_word(nh->meta, n);
	if (old_slot)
		count(old_slot, old_size, 1);
	if (slot)
		count(slot, n, 0);
	return nh + 1;
}

/* ---- the hooks ---- */

PT_EXPORT void *malloc(size_t n)
{
	return alloc_plain(n, caller(RET()), 0);
}

PT_EXPORT void free(void *p)
{
	struct pt__hdr *h;

	if (!p || special_freed(p, "free"))
		return;
	h = header(p);
	if (pt_unlikely(!h)) {
		foreign(p, RET());
		return;
	}
	if (pt_likely(pt_meta_align_log2(h->meta) == 0)) {
		uint32_t slot = pt_meta_slot(h->meta);
		if (slot)
			count(slot, h->word & PT__SIZE_MASK, 1);
		/* No need to mark it freed: glibc's free list links overwrite
		 * the header's words (tcache's key lands on the check word). */
		__libc_free(h);
		return;
	}
	free_block(h);
}

PT_EXPORT void *calloc(size_t nm, size_t size)
{
	size_t n;

	if (__builtin_mul_overflow(nm, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return alloc_plain(n, caller(RET()), 1);
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
	struct pt__hdr *h = p && !special_freed(p, "malloc_usable_size") ? header(p) : NULL;
	return h ? h->word & PT__SIZE_MASK : 0;
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
	track_blocks = (pt_run_cfg.track & PT_TRACK_BLOCKS) != 0;
	pt_stack_init(); /* loads the unwinder now, not inside a hook */
	pt_run_site_init();
	pt_run_fds_init();
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	pt_run_exit_init(); /* the verdict at every end (exit.c) */
	pt_run_pid = getpid();
	__atomic_store_n(&pt_run_ready, 1, __ATOMIC_RELEASE);
	pt_run_busy = 0;
}
