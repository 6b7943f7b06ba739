/*
 * special.c - the verifier's special pool: selected allocations of any pool
 * on pages of their own, fenced by an inaccessible guard page, and kept
 * inaccessible for a while after they are freed.
 *
 * A block is selected by its tag (patterns with * and ?), the module of its
 * call site and its size (special=, special.module=, special.size=; all the
 * given ones must match).  Once a selection is configured the special
 * layer is installed in the block layer (block.h): every allocation passes
 * it, and it asks pt_special_selected() for each one.  A selected block is
 * one mapping:
 *
 *   guard after (the default: overruns fault):
 *   +-------------------------+-----+----------------+-------+--------------+
 *   | fill (pad)              | hdr | user data      | slack | guard page   |
 *   +-------------------------+-----+----------------+-------+--------------+
 *   ^ base                          ^ user, as close to the guard as its
 *                                     alignment (16, or more) allows
 *   guard before (underruns fault):
 *   +--------------+-----+----------------+-----------------------------------+
 *   | guard page   | hdr | user data      | slack (fill up to the page end)   |
 *   +--------------+-----+----------------+-----------------------------------+
 *
 * The header is the ordinary one (its alignment field says "special"), so
 * every header check applies.  Pad and slack are filled with a byte pattern
 * checked on free: an overrun too small to reach the guard page (the
 * slack, at most 15 bytes after the end with guard after) is reported then,
 * with its offset.  With the guard before, an underrun of up to 16 bytes
 * lands in the header and is caught on free by the header check; one further
 * down faults.
 *
 * A freed block is made inaccessible (PROT_NONE, the whole mapping) and
 * waits in a FIFO quarantine bounded by a count and bytes (mapping bytes);
 * the oldest ones are unmapped past either bound, leaving a tombstone in the
 * block layer (so a later free of one is reported, never read).  Any access to a guard
 * page or a quarantined block faults: the SIGSEGV/SIGBUS handler finds the
 * block, reports (access address, block, tag, size, offset, the acquiring
 * site and stack, for a use after free the freeing site and stack), then
 * applies the verifier's action.  Under "continue" it makes the page
 * accessible and returns, so the program proceeds; the finding is counted.
 * Faults on addresses that are not ours go to the handler installed before.
 *
 * Each block has a record, out of band, from a private slab (never malloc,
 * so nothing here waits for an allocator's lock): the mapping, the block,
 * the acquiring slot and stack, and once freed the freeing site and stack.
 * Records are in a hash by user pointer (free, queries) and in one list
 * (the fault handler scans it: a fault is rare, the scan need not be fast).
 * One spin lock guards records, hash, list, quarantine and configuration;
 * it is a leaf (nothing is called with it held but system calls), the
 * signal handler may take it (the program's own accesses, the only ones
 * that fault, never happen with it held), and it is held across fork.
 *
 * The options and the selection are in specialopt.c, the reports and the
 * fault handler in specialrep.c.
 *
 * In the signal handler: finding the record, formatting and writing the
 * report are async-signal-safe (own formatting, one writev); the call
 * stacks are symbolised with libdw there too, which is not: it is done only
 * when the symboliser's mutex is free (so the faulting thread is not inside
 * it) and is otherwise replaced by the raw program counters.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "special.h"
#include "stack.h"

#define NBUCKETS (1u << 16)
#define REC_CHUNK (64u << 10)

int pt_special_on;

struct pt_sp pt_sp = {
	.max = UINT64_MAX,
	.q_count = 1024,
	.q_bytes = 64u << 20,
	.fill = 0xa5,
};

void pt_special_fork_prepare(void)
{
	pt_sp_lock();
}

void pt_special_fork_release(void)
{
	pt_sp_unlock();
}

/* ---- set-up ---- */

static void setup_once(void)
{
	long pg = sysconf(_SC_PAGESIZE);

	pt_sp.page = pg > 0 ? (size_t)pg : 4096;
	pt_sp.buckets = mmap(NULL, NBUCKETS * sizeof(*pt_sp.buckets), PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pt_sp.buckets == MAP_FAILED) {
		pt_sp.buckets = NULL;
		return; /* no special pool: every allocation stays ordinary */
	}
	pt_sp.all.next = pt_sp.all.prev = &pt_sp.all;
	pt_sp_install_handler();
	pt_stack_init();
	__atomic_store_n(&pt_sp.ready, 1, __ATOMIC_RELEASE);
}

/* ---- the special layer ---- */

static void *pt_special_layer_alloc(struct pt_block_layer *self, struct pt_block_req *r)
{
	if (r->size <= PT__SIZE_MAX && pt_block_req_slot(r) &&
	    pt_special_selected(r->slot, r->tag, r->size)) {
		void *user = pt_special_alloc(r->slot, r->pool, r->mark, r->size, r->tag);
		if (user)
			return user; /* fresh pages: zeroed already */
		/* Not mappable (the kernel's map count): an ordinary block. */
	}
	return pt_block_next_alloc(self, r);
}

static void pt_special_layer_release(struct pt_block_layer *self, struct pt__hdr *h,
			  const struct pt_block_backend *be, const struct pt_site *site)
{
	(void)self;
	(void)be;
	pt_special_free(h + 1, site); /* into the quarantine */
}

static struct pt_block_layer special_layer = {
	.name = "special",
	.rank = 20,
	.mark = PT_ALIGN_SPECIAL,
	.alloc = pt_special_layer_alloc,
	.release = pt_special_layer_release,
	.check = pt_special_check,
};

/* A selection was configured: send every allocation through the library
 * and install the handler.  Called while the options are read, which may be
 * inside the segment's initialisation: nothing here may need either. */
void pt_sp_enable(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, setup_once);
	if (!__atomic_load_n(&pt_sp.ready, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&pt_special_on, 1, __ATOMIC_RELEASE);
	pt_block_install(&special_layer, 1);
	pt_sp_altstack_ensure();
}

/* ---- records ---- */

static size_t bucket_of(const void *user)
{
	return (size_t)(((uintptr_t)user >> 4) * 0x9e3779b97f4a7c15ull >> 48) & (NBUCKETS - 1);
}

/* A free record, with the lock held; NULL when no memory can be mapped. */
static struct pt_sp_blk *rec_get(void)
{
	struct pt_sp_blk *r = pt_sp.spare;

	if (!r) {
		char *chunk = mmap(NULL, REC_CHUNK, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (chunk == MAP_FAILED)
			return NULL;
		for (size_t off = 0; off + sizeof(*r) <= REC_CHUNK; off += sizeof(*r)) {
			struct pt_sp_blk *b = (struct pt_sp_blk *)(chunk + off);
			b->hnext = pt_sp.spare;
			pt_sp.spare = b;
		}
		r = pt_sp.spare;
	}
	pt_sp.spare = r->hnext;
	memset(r, 0, sizeof(*r));
	return r;
}

static struct pt_sp_blk *find(const void *user)
{
	struct pt_sp_blk *r;

	if (!pt_sp.buckets)
		return NULL;
	for (r = pt_sp.buckets[bucket_of(user)]; r; r = r->hnext)
		if (r->user == user)
			return r;
	return NULL;
}

static void unhash(struct pt_sp_blk *r)
{
	struct pt_sp_blk **pp = &pt_sp.buckets[bucket_of(r->user)];

	while (*pp != r)
		pp = &(*pp)->hnext;
	*pp = r->hnext;
}

/* Unmaps the oldest quarantined blocks while either bound is exceeded.
 * Lock held. */
static void evict(void)
{
	while (pt_sp.qhead && (pt_sp.qn > pt_sp.q_count || pt_sp.qbytes > pt_sp.q_bytes)) {
		struct pt_sp_blk *r = pt_sp.qhead;
		pt_sp.qhead = r->qnext;
		if (!pt_sp.qhead)
			pt_sp.qtail = NULL;
		pt_sp.qn--;
		pt_sp.qbytes -= r->len;
		unhash(r);
		r->prev->next = r->next;
		r->next->prev = r->prev;
		pt_block_gone_add(r->user, r->hdr.tag, r->slot);
		munmap(r->base, r->len);
		r->hnext = pt_sp.spare;
		pt_sp.spare = r;
	}
}

static size_t round_up(size_t n, size_t a)
{
	return (n + a - 1) & ~(a - 1);
}

void *pt_special_alloc(uint32_t slot, unsigned pool, unsigned align_log2, size_t size,
		       uint32_t tag)
{
	size_t pg = pt_sp.page, a = align_log2 ? (size_t)1 << align_log2 : 16;
	size_t room = a > 16 ? a : 16, body = round_up(size, 16), data_len, len;
	uint32_t stack;
	int before;
	unsigned char fill;
	char *base, *data, *user;
	struct pt__hdr *h;
	struct pt_sp_blk *r;

	if (a > pg || size > ((size_t)1 << 40))
		return NULL;
	pt_sp_altstack_ensure();
	stack = pt_stack_capture(0);
	pt_sp_lock();
	before = pt_sp.guard_before;
	fill = pt_sp.fill;
	pt_sp_unlock();
	data_len = round_up(before ? room + size : body + room, pg);
	len = data_len + pg;
	base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	data = before ? base + pg : base;
	if (mprotect(before ? base : base + data_len, pg, PROT_NONE) != 0 ||
	    (pool == PT_NONPAGED && mlock(data, data_len) != 0)) {
		munmap(base, len);
		return NULL;
	}
	user = before ? data + room : (char *)(((uintptr_t)(data + data_len - body)) & ~(a - 1));
	h = pt_block_init(user - pt_block_room(PT_ALIGN_SPECIAL), tag, slot, pool, PT_ALIGN_SPECIAL,
			  size);
	h--;
	memset(data, fill, (size_t)((char *)h - data));
	memset(user + size, fill, (size_t)(data + data_len - (user + size)));
	pt_sp_lock();
	r = rec_get();
	if (!r) {
		pt_sp_unlock();
		munmap(base, len);
		return NULL;
	}
	*r = (struct pt_sp_blk){.base = base, .len = len, .data = data, .data_len = data_len,
				.user = user, .size = size, .hdr = *h, .slot = slot, .stack = stack,
				.pool = pool, .align_log2 = align_log2, .guard_before = before,
				.fill = fill};
	r->hnext = pt_sp.buckets[bucket_of(user)];
	pt_sp.buckets[bucket_of(user)] = r;
	r->next = pt_sp.all.next;
	r->prev = &pt_sp.all;
	r->next->prev = r;
	pt_sp.all.next = r;
	pt_sp.nlive++;
	pt_sp_unlock();
	pt_block_gone_forget(user);
	return user;
}

unsigned pt_special_align_log2(const void *user)
{
	struct pt_sp_blk *r;
	unsigned lg = 0;

	pt_sp_lock();
	r = find(user);
	if (r)
		lg = r->align_log2;
	pt_sp_unlock();
	return lg;
}

/* ---- free ---- */

/* The first and last byte of [from, to) that lost the fill; 0 if none. */
static int fill_broken(const char *from, const char *to, unsigned char fill, const char **first,
		       const char **last)
{
	const char *p;

	for (p = from; p < to && (unsigned char)*p == fill; p++)
		;
	if (p == to)
		return 0;
	*first = p;
	for (p = to; p > *first && (unsigned char)p[-1] == fill; p--)
		;
	*last = p - 1;
	return 1;
}

/* Checks the fill around a live special block being freed, makes it
 * inaccessible and quarantines it.  The header was checked and flipped,
 * the free counted, by the block layer. */
void pt_special_free(void *user, const struct pt_site *site)
{
	struct pt_sp_blk *r, copy;
	int over = 0, under = 0;
	uint32_t fstack = pt_stack_capture(0);
	char at[120];

	pt_site_text(site, at, sizeof(at));
	pt_sp_lock();
	r = find(user);
	if (!r || r->freed) {
		pt_sp_unlock();
		return; /* only called with a live special block */
	}
	pt_sp_unlock();
	/* The block is the caller's: no other thread may touch it now. */
	char *hdr_start = r->user - sizeof(struct pt__hdr);
	const char *ofirst = NULL, *olast = NULL, *ufirst = NULL, *ulast = NULL;
	over = fill_broken(r->user + r->size, r->data + r->data_len, r->fill, &ofirst, &olast);
	under = fill_broken(r->data, hdr_start, r->fill, &ufirst, &ulast);
	if (r->pool == PT_NONPAGED)
		explicit_bzero(r->data, r->data_len);
	mprotect(r->base, r->len, PROT_NONE);
	pt_sp_lock(); /* reports of other threads may copy the record from now on */
	r->free_stack = fstack;
	memcpy(r->freed_at, at, sizeof(r->freed_at));
	r->freed = 1;
	copy = *r;
	pt_sp.nlive--;
	if (pt_sp.qtail)
		pt_sp.qtail->qnext = r;
	else
		pt_sp.qhead = r;
	pt_sp.qtail = r;
	pt_sp.qn++;
	pt_sp.qbytes += r->len;
	evict();
	pt_sp_unlock();
	if (over)
		pt_sp_report_fill(&copy, 1, ofirst, olast, site);
	if (under)
		pt_sp_report_fill(&copy, 0, ufirst, ulast, site);
}

/* The special layer's check, before a header is read: if user is a special block in
 * quarantine, reports op on a freed block (with the acquiring and freeing
 * sites and stacks) and returns 1; its header is not readable.  If user is
 * a live special block whose header fails the check, reports the
 * corruption and returns 2.  0 otherwise. */
int pt_special_check(const void *user, const char *op, uint32_t used_tag,
		     const struct pt_site *site, int header_bad)
{
	struct pt_sp_blk *r, copy;
	char at[120];

	pt_sp_lock();
	r = find(user);
	if (r)
		copy = *r;
	pt_sp_unlock();
	if (!r || (!copy.freed && !header_bad))
		return 0;
	pt_site_text(site, at, sizeof(at));
	pt_sp_report_check(&copy, op, used_tag, site, at);
	return copy.freed ? 1 : 2;
}

/* A stack of a live special block of slot, or 0: the sample a leak report
 * shows (special blocks are not in track.c's records). */
uint32_t pt_special_sample(uint32_t slot)
{
	uint32_t stack = 0;

	if (!__atomic_load_n(&pt_sp.ready, __ATOMIC_ACQUIRE))
		return 0;
	pt_sp_lock();
	for (struct pt_sp_blk *r = pt_sp.all.next; r != &pt_sp.all && !stack; r = r->next)
		if (!r->freed && r->slot == slot)
			stack = r->stack;
	pt_sp_unlock();
	return stack;
}

/* ---- numbers, for tests ---- */

void pt_special_stats(struct pt_special_stats *out)
{
	pt_sp_lock();
	out->live = pt_sp.nlive;
	out->quarantined = pt_sp.qn;
	out->quarantined_bytes = pt_sp.qbytes;
	pt_sp_unlock();
}

int pt_special_contains(const void *user)
{
	struct pt_sp_blk *r;
	int state;

	pt_sp_lock();
	r = find(user);
	state = !r ? 0 : r->freed ? 2 : 1;
	pt_sp_unlock();
	return state;
}
