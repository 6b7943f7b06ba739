/*
 * block.c - the block layer (see block.h): call sites' counter slots, the
 * slow half of counting, the chain of layers and its core, the entry points
 * that allocate, resize and release through it, and the tombstones of
 * blocks freed with their pages.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"

uint64_t pt__gone;

/* ---- call sites ---- */

/* The slow half of slot lookup: validates the arguments, registers, and
 * caches the slot in the site.  cls is a counter class (PT_SEG_CLASS_*). */
uint32_t pt_block_site_slot_slow(struct pt_site *site, uint32_t tag, unsigned cls)
{
	uint32_t slot;

	if (cls >= PT_SEG_NCLASSES) {
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
	slot = pt_registry_slot(site, tag, cls);
	pt_seg_unlock();
	__atomic_store_n(&site->key, pt__site_key(tag, cls, slot), __ATOMIC_RELAXED);
	return slot;
}

uint32_t pt_slot_of(struct pt_site *site, uint32_t tag, unsigned cls)
{
	return pt_block_site_slot(site, tag, cls);
}

/* ---- counting ---- */

/* A thread's first count attaches it to a shard; shard 0, shared by the
 * threads that found no shard of their own, takes atomic adds.  While a
 * fork is under way every count comes here, for the fork window. */
void pt_block_count_slow(uint32_t slot, uint64_t bytes, int is_free)
{
	int shared;
	struct pt__ctr *c;

	if (pt_shard_window_count(slot, bytes, is_free))
		return; /* a fork is under way (shard.c) */
	if (pt_unlikely(__atomic_load_n(&pt_seg_pending, __ATOMIC_ACQUIRE)))
		pt_seg_export_child();
	c = __atomic_load_n(&pt__tls_ctr, __ATOMIC_RELAXED);
	if (c) {
		pt__ctr_count(&c[slot], bytes, is_free);
		return;
	}
	c = pt_shard_attach(&shared) + slot;
	if (!shared) {
		pt__ctr_count(c, bytes, is_free);
		return;
	}
	__atomic_fetch_add(is_free ? &c->nfrees : &c->nallocs, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(is_free ? &c->bytes_freed : &c->bytes_alloc, bytes, __ATOMIC_RELAXED);
}

void pt_count_event(uint32_t slot, uint64_t bytes, int is_release)
{
	pt_block_count(slot, bytes, is_release);
}

/* ---- the core: the bottom of the chain ---- */

static void *pt_block_core_alloc(struct pt_block_layer *self, struct pt_block_req *r)
{
	size_t room = pt_block_room(r->mark);
	unsigned mark = r->mark ? r->mark : pt_block_plain_mark(r->size);
	void *base, *user;

	(void)self;
	if (!pt_block_req_slot(r) && r->site)
		return NULL;
	if (pt_unlikely(r->size > PT__SIZE_MAX)) {
		errno = ENOMEM;
		return NULL;
	}
	base = r->be->alloc(r->size + room, pt_block_align(r->mark), r->zero);
	if (pt_unlikely(!base)) {
		errno = ENOMEM;
		return NULL;
	}
	user = pt_block_init(base, r->tag, r->slot, r->pool, mark, r->size);
	pt_block_gone_forget(user);
	return user;
}

/* An ordinary block (base is h) resized by its back end.  A block mapped
 * on its own that moved leaves a tombstone at its old address. */
static void *pt_block_core_resize(struct pt_block_layer *self, struct pt__hdr *h, struct pt_block_req *r)
{
	const struct pt_block_backend *be = r->be;
	uint64_t old_size = pt_hdr_size(h);
	uint32_t old_tag = h->tag, old_slot = pt_meta_slot(h->meta);
	int alone;
	void *n, *user;

	(void)self;
	if (!be->resize)
		return PT_BLOCK_MOVE;
	if (!pt_block_req_slot(r) && r->site)
		return NULL;
	if (r->size > PT__SIZE_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	alone = be->alone && old_size + sizeof(*h) >= be->alone_min &&
		be->alone(h, old_size + sizeof(*h), 16);
	pt__hdr_kill(h); /* if it moves, the old place reads as freed */
	n = be->resize(h, r->size + sizeof(*h));
	if (!n) {
		pt__hdr_kill(h); /* untouched: live again */
		errno = ENOMEM;
		return NULL;
	}
	if (alone && n != (void *)h)
		pt_block_gone_add(h + 1, old_tag, old_slot);
	user = pt_block_init(n, r->tag, r->slot, r->pool, pt_block_plain_mark(r->size), r->size);
	if (n != (void *)h)
		pt_block_gone_forget(user);
	return user;
}

void pt_block_core_release(struct pt__hdr *h, const struct pt_block_backend *be)
{
	unsigned mark = pt_meta_align_log2(h->meta);
	size_t room = pt_block_room(mark), len = pt_hdr_size(h) + room;
	size_t align = pt_block_align(mark);
	char *base = (char *)(h + 1) - room;

	if (be->alone && len >= be->alone_min && be->alone(base, len, align))
		pt_block_gone_add(h + 1, h->tag, pt_meta_slot(h->meta));
	be->free(base, len, align);
}

struct pt_block_layer pt_block_core = {
	.name = "core",
	.rank = 0,
	.alloc = pt_block_core_alloc,
	.resize = pt_block_core_resize,
	.installed = 1,
};

struct pt_block_layer *pt_block_top = &pt_block_core;
int pt_block_nchecks;

/* Layers that made blocks (by mark), and those with a check, ever
 * installed: their blocks may outlive their place in the chain. */
static struct pt_block_layer *owners[PT_ALIGN_MARKS];
static struct pt_block_layer *checkers[4];
static pthread_mutex_t chain_lock = PTHREAD_MUTEX_INITIALIZER;

void pt_block_fast_path(void)
{
	if (!pt_seg.hdr)
		return; /* the segment's initialisation calls again */
	__atomic_store_n(&pt__fast_slots, pt_block_layered() ? 0 : pt_seg.hdr->max_slots,
			 __ATOMIC_RELEASE);
}

void pt_block_install(struct pt_block_layer *l, int on)
{
	struct pt_block_layer **pp;

	pthread_mutex_lock(&chain_lock);
	if (on && !l->installed) {
		for (pp = &pt_block_top; (*pp)->rank > l->rank; pp = &(*pp)->next)
			;
		l->next = *pp;
		l->installed = 1;
		if (l->mark && l->mark < PT_ALIGN_MARKS)
			__atomic_store_n(&owners[l->mark], l, __ATOMIC_RELEASE);
		if (l->check) {
			int i, n = __atomic_load_n(&pt_block_nchecks, __ATOMIC_RELAXED);
			for (i = 0; i < n && checkers[i] != l; i++)
				;
			if (i == n && n < (int)(sizeof(checkers) / sizeof(checkers[0]))) {
				checkers[n] = l;
				__atomic_store_n(&pt_block_nchecks, n + 1, __ATOMIC_RELEASE);
			}
			/* Every free now asks before it reads a header. */
			__atomic_store_n(&pt__gone, ~(uint64_t)0, __ATOMIC_RELEASE);
		}
		__atomic_store_n(pp, l, __ATOMIC_RELEASE);
	} else if (!on && l->installed) {
		for (pp = &pt_block_top; *pp != l; pp = &(*pp)->next)
			;
		/* l keeps its next: a thread inside it carries on down the chain. */
		__atomic_store_n(pp, l->next, __ATOMIC_RELEASE);
		l->installed = 0;
	}
	pthread_mutex_unlock(&chain_lock);
	pt_block_fast_path();
}

static void *pt_block_resize_from(struct pt_block_layer *l, struct pt__hdr *h, struct pt_block_req *r)
{
	while (!l->resize)
		l = l->next;
	return l->resize(l, h, r);
}

void *pt_block_next_resize(struct pt_block_layer *self, struct pt__hdr *h,
			   struct pt_block_req *r)
{
	return pt_block_resize_from(self->next, h, r);
}

/* ---- entry points ---- */

void *pt_block_alloc(struct pt_block_req *r)
{
	struct pt_block_layer *top = __atomic_load_n(&pt_block_top, __ATOMIC_ACQUIRE);
	void *p = top->alloc(top, r);

	if (p && r->slot) {
		pt_block_count(r->slot, r->size, 0);
		/* The sampler's countdown (sample.h): a subtract and a branch
		 * taken once in about 512 KiB. */
		if (pt_unlikely((pt__tls_sample -= (int64_t)r->size) < 0))
			pt_sample_hit(p, r->slot, r->size);
	}
	return p;
}

/* Named pt_ like every function on a path that captures a stack: the
 * printer drops leading pt_ frames, so the stack starts at the program's
 * call. */
void pt_block_release(struct pt__hdr *h, const struct pt_block_backend *be,
		      const struct pt_site *site)
{
	uint32_t slot = pt_meta_slot(h->meta);
	unsigned mark = pt_meta_align_log2(h->meta);
	struct pt_block_layer *owner;

	if (slot)
		pt_block_count(slot, pt_hdr_size(h), 1);
	if (pt_unlikely(pt_meta_sampled(h->meta)))
		pt_sample_drop(h + 1);
	pt__hdr_kill(h);
	owner = mark < PT_ALIGN_MARKS ? __atomic_load_n(&owners[mark], __ATOMIC_ACQUIRE) : NULL;
	if (owner)
		owner->release(owner, h, be, site);
	else
		pt_block_core_release(h, be);
}

void *pt_block_resize(struct pt__hdr *h, struct pt_block_req *r)
{
	uint64_t old_size = pt_hdr_size(h);
	uint32_t old_slot = pt_meta_slot(h->meta);
	int sampled = pt_meta_sampled(h->meta);
	void *n = PT_BLOCK_MOVE;

	if (pt_block_is_plain(h->meta))
		n = pt_block_resize_from(__atomic_load_n(&pt_block_top, __ATOMIC_ACQUIRE), h, r);
	if (n == PT_BLOCK_MOVE) {
		n = pt_block_alloc(r);
		if (n) {
			memcpy(n, h + 1, r->size < old_size ? r->size : old_size);
			pt_block_release(h, r->be, r->site);
		}
		return n;
	}
	if (n) {
		if (old_slot)
			pt_block_count(old_slot, old_size, 1);
		/* Resized in place (the new header has no sampled bit): for the
		 * sampler, the old block is freed and the new one allocated. */
		if (sampled)
			pt_sample_drop(h + 1);
		if (r->slot) {
			pt_block_count(r->slot, r->size, 0);
			if (pt_unlikely((pt__tls_sample -= (int64_t)r->size) < 0))
				pt_sample_hit(n, r->slot, r->size);
		}
	}
	return n;
}

int pt_block_layer_header_bad(const void *p, const char *op, uint32_t used_tag,
			      const struct pt_site *site)
{
	int n = __atomic_load_n(&pt_block_nchecks, __ATOMIC_ACQUIRE);

	for (int i = 0; i < n; i++)
		if (checkers[i]->check(p, op, used_tag, site, 1))
			return 1;
	return 0;
}

/* ---- tombstones ---- */

/*
 * An open-addressing table (linear probing, deletion by backward shift) of
 * user pointers, in memory mapped here (never malloc: this runs inside
 * free), doubled when half full.  One spin lock, a leaf held for a few
 * probes, and across fork (pt_block_fork_*).  Capped at 1 Mi tombstones
 * (16 MiB); past that, new ones are not kept.
 */
struct stone {
	uintptr_t user; /* 0: empty */
	struct pt_block_gone g;
};

#define STONES_MAX (1u << 21)

static struct {
	int lock;
	struct stone *t;
	size_t cap, n;
} gone;

static void gone_lock(void)
{
	while (__atomic_exchange_n(&gone.lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&gone.lock, __ATOMIC_RELAXED))
			__builtin_ia32_pause();
}

static void gone_unlock(void)
{
	__atomic_store_n(&gone.lock, 0, __ATOMIC_RELEASE);
}

void pt_block_fork_prepare(void)
{
	gone_lock();
}

void pt_block_fork_release(void)
{
	gone_unlock();
}

static size_t stone_hash(uintptr_t user, size_t cap)
{
	return (size_t)((user >> 4) * 0x9e3779b97f4a7c15ull >> 20) & (cap - 1);
}

/* The index of user's tombstone, or of the empty entry where it would go. */
static size_t stone_find(uintptr_t user)
{
	size_t i = stone_hash(user, gone.cap);

	while (gone.t[i].user && gone.t[i].user != user)
		i = (i + 1) & (gone.cap - 1);
	return i;
}

static int stones_grow(void)
{
	size_t cap = gone.cap ? gone.cap * 2 : 1024;
	struct stone *old = gone.t, *t;
	size_t oldcap = gone.cap;

	if (cap > STONES_MAX)
		return -1;
	t = mmap(NULL, cap * sizeof(*t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		 0);
	if (t == MAP_FAILED)
		return -1;
	gone.t = t;
	gone.cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].user)
			gone.t[stone_find(old[i].user)] = old[i];
	if (old)
		munmap(old, oldcap * sizeof(*old));
	return 0;
}

void pt_block_gone_add(const void *user, uint32_t tag, uint32_t slot)
{
	uintptr_t u = (uintptr_t)user;
	size_t i;

	gone_lock();
	if ((gone.n + 1) * 2 > gone.cap && stones_grow() != 0) {
		gone_unlock();
		return;
	}
	i = stone_find(u);
	if (!gone.t[i].user)
		__atomic_store_n(&gone.n, gone.n + 1, __ATOMIC_RELAXED); /* read unlocked by gone_lookup */
	gone.t[i] = (struct stone){u, {tag, slot}};
	__atomic_fetch_or(&pt__gone, (uint64_t)1 << ((u >> 6) & 63), __ATOMIC_RELEASE);
	gone_unlock();
}

/* Removes entry i, shifting back the entries of its probe run. */
static void stone_remove(size_t i)
{
	size_t j = i, mask = gone.cap - 1;

	for (;;) {
		j = (j + 1) & mask;
		if (!gone.t[j].user)
			break;
		size_t home = stone_hash(gone.t[j].user, gone.cap);
		/* Move j into the hole at i unless its home lies in (i, j]. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			gone.t[i] = gone.t[j];
			i = j;
		}
	}
	gone.t[i].user = 0;
	__atomic_store_n(&gone.n, gone.n - 1, __ATOMIC_RELAXED);
}

void pt_block_gone_forget_slow(const void *user)
{
	size_t i;

	gone_lock();
	if (gone.cap && gone.t[i = stone_find((uintptr_t)user)].user)
		stone_remove(i);
	gone_unlock();
}

int pt_block_readable(const void *p, size_t len)
{
	char buf[64];
	struct iovec local = {buf, len < sizeof(buf) ? len : sizeof(buf)};
	struct iovec remote = {(void *)p, local.iov_len};
	uintptr_t page = (uintptr_t)p & ~(uintptr_t)4095;
	unsigned char vec[2];
	int saved = errno, ok;

	if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)local.iov_len) {
		ok = 1;
	} else if (errno == EFAULT) {
		ok = 0;
	} else {
		/* Not permitted here (a sandbox): is the range mapped at all? */
		ok = mincore((void *)page, (uintptr_t)p + len - page, vec) == 0;
	}
	errno = saved;
	return ok;
}

/* A tombstone of p whose header is really gone: 1 and *g; a stale one (the
 * address is mapped again) is dropped. */
static int gone_lookup(const void *p, struct pt_block_gone *g)
{
	size_t i;
	int hit = 0;

	if (!__atomic_load_n(&gone.n, __ATOMIC_RELAXED))
		return 0;
	gone_lock();
	if (gone.cap && gone.t[i = stone_find((uintptr_t)p)].user) {
		*g = gone.t[i].g;
		hit = 1;
	}
	gone_unlock();
	if (!hit)
		return 0;
	if (!pt_block_readable((const struct pt__hdr *)p - 1, sizeof(struct pt__hdr)))
		return 1;
	pt_block_gone_forget_slow(p);
	return 0;
}

int pt_block_unreadable_slow(const void *p, const char *op, uint32_t used_tag,
			     const struct pt_site *site, struct pt_block_gone *g)
{
	int n = __atomic_load_n(&pt_block_nchecks, __ATOMIC_ACQUIRE);

	for (int i = 0; i < n; i++)
		if (checkers[i]->check(p, op, used_tag, site, 0))
			return 1;
	if (gone_lookup(p, g))
		return 2;
	return 0;
}
