/*
 * track.c - a record per live block, while blocks are tracked: which slot
 * (site, tag, pool, module) allocated it and with what call stack, so a leak
 * of memory at a module's unload gets a sample stack like a leak of
 * references does.
 *
 * Tracking is a layer of the block layer (block.h), installed while
 * PT_TRACK_BLOCKS is set: it gives each ordinary block the program asked
 * for a record, which sits in front of the block header, inside the same
 * allocation (the header's mark says so: PT_ALIGN_TRACKED):
 *
 *   +-------------------+----------------+-----------------
 *   | struct pt_trec    | struct pt__hdr | user data ...
 *   +-------------------+----------------+-----------------
 *
 * Records are linked in one of 64 lists chosen by address, each with its own
 * spin lock (held for a list splice only, a few instructions), so threads
 * rarely meet; cost per allocation and free is one uncontended atomic
 * exchange and a list splice (and a stack capture with PT_TRACK_STACKS).
 *
 * The layer is the place to hook work per live block: the record is made
 * in pt_track_layer_alloc (pt_track_block_add, after the block exists, its slot
 * known) and dropped in pt_track_layer_release (before the back end takes the
 * memory); every tracked block is in exactly one stripe list in between,
 * so walking the stripes under their locks enumerates the live tracked
 * blocks (pt_track_each, pt_track_block_sample).  A layer of its own (a
 * struct pt_block_layer with a rank, see block.h) is the other way in:
 * its alloc sees every request before the blocks below are made.
 */
#include <stdint.h>

#include "internal.h"

#define NSTRIPES 64

static struct stripe {
	int lock;
	size_t n;            /* records in the list */
	struct pt_trec head; /* circular list; an empty one is all NULL until first use */
} __attribute__((aligned(64))) stripes[NSTRIPES];

/* A thread inside a critical section (a stripe's lock, or a tracked block
 * being counted and recorded, or released and uncounted) must not be parked
 * there (the exit scan of pooltag run, preload/reach.c, walks every stripe
 * and compares with the counts while the other threads are stopped): its
 * stop signal then only sets
 * pt_track_cs_pending, and the thread parks itself by calling
 * pt_track_cs_park when it leaves. */
__thread int pt_track_cs __attribute__((tls_model("initial-exec")));
__thread int pt_track_cs_pending __attribute__((tls_model("initial-exec")));
void (*pt_track_cs_park)(void);

static void cs_enter(void)
{
	pt_track_cs++;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static void cs_leave(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (--pt_track_cs == 0 && pt_unlikely(pt_track_cs_pending)) {
		void (*park)(void) = __atomic_load_n(&pt_track_cs_park, __ATOMIC_ACQUIRE);
		pt_track_cs_pending = 0;
		if (park)
			park();
	}
}

static void lock(struct stripe *s)
{
	cs_enter();
	while (__atomic_exchange_n(&s->lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&s->lock, __ATOMIC_RELAXED))
			__builtin_ia32_pause();
	if (!s->head.next)
		s->head.next = s->head.prev = &s->head;
}

static void unlock(struct stripe *s)
{
	__atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE);
	cs_leave();
}

/* Fork: no stripe may stay locked in the child by a thread that is not
 * there (called by segment.c's handlers in the library's lock order). */
void pt_track_fork_prepare(void)
{
	for (int i = 0; i < NSTRIPES; i++)
		lock(&stripes[i]);
}

void pt_track_fork_release(void)
{
	for (int i = NSTRIPES; i-- > 0;)
		unlock(&stripes[i]);
}

/* Which process made a record: the child of a fork starts a generation of
 * its own, so a record's gen tells the blocks it inherited (gen below its
 * own) from those it allocated.  Counting generations rather than marking
 * the inherited records at fork writes no inherited page: the child's copy
 * of a large heap stays shared with the parent's. */
uint32_t pt_track_gen;

void pt_track_fork_child(void)
{
	pt_track_fork_release();
	__atomic_store_n(&pt_track_gen, pt_track_gen + 1, __ATOMIC_RELAXED);
}

static struct stripe *stripe_of(const struct pt_trec *r)
{
	return &stripes[((uintptr_t)r >> 6) % NSTRIPES];
}

void pt_track_block_add(struct pt_trec *r, uint32_t slot)
{
	struct stripe *s = stripe_of(r);

	r->slot = slot;
	r->stack = pt_track_stack();
	r->gen = __atomic_load_n(&pt_track_gen, __ATOMIC_RELAXED);
	lock(s);
	r->next = s->head.next;
	r->prev = &s->head;
	r->next->prev = r;
	s->head.next = r;
	s->n++;
	unlock(s);
}

void pt_track_block_del(struct pt_trec *r)
{
	struct stripe *s = stripe_of(r);

	lock(s);
	r->prev->next = r->next;
	r->next->prev = r->prev;
	s->n--;
	unlock(s);
}

uint32_t pt_track_block_sample(uint32_t slot)
{
	uint32_t stack = 0;

	for (int i = 0; i < NSTRIPES && !stack; i++) {
		struct stripe *s = &stripes[i];
		lock(s);
		for (struct pt_trec *r = s->head.next; r != &s->head && !stack; r = r->next)
			if (r->slot == slot)
				stack = r->stack;
		unlock(s);
	}
	return stack;
}

/*
 * Walks the 64 lists side by side, one record of each in turn: the records
 * are scattered over the heap and each is a cache (and TLB) miss, and 64
 * independent chains let the processor wait for many misses at once where
 * one list after the other would wait for each.
 */
void pt_track_each(void (*fn)(struct pt_trec *r, void *arg), void *arg)
{
	struct pt_trec *cur[NSTRIPES];
	int active = 0;

	for (int i = 0; i < NSTRIPES; i++) {
		lock(&stripes[i]);
		cur[i] = stripes[i].head.next;
		active += cur[i] != &stripes[i].head;
	}
	while (active) {
		active = 0;
		for (int i = 0; i < NSTRIPES; i++) {
			struct pt_trec *r = cur[i];
			if (r == &stripes[i].head)
				continue;
			cur[i] = r->next;
			__builtin_prefetch(cur[i]);
			fn(r, arg);
			active = 1;
		}
	}
	for (int i = NSTRIPES; i-- > 0;)
		unlock(&stripes[i]);
}

size_t pt_track_count(void)
{
	size_t n = 0;

	for (int i = 0; i < NSTRIPES; i++)
		n += __atomic_load_n(&stripes[i].n, __ATOMIC_RELAXED);
	return n;
}

/* ---- the tracking layer ---- */

static void *pt_track_layer_alloc(struct pt_block_layer *self, struct pt_block_req *r)
{
	void *user;

	/* Only ordinary blocks the program asked for (the interposer's slot 0
	 * blocks are its own). */
	if (r->mark != 0 || (!r->site && !r->slot))
		return pt_block_next_alloc(self, r);
	/* Counted and recorded as one step for the exit scan: a thread parked
	 * between the two would leave a counted block without a record. */
	cs_enter();
	r->mark = PT_ALIGN_TRACKED;
	user = pt_block_next_alloc(self, r);
	r->mark = 0;
	if (user)
		pt_track_block_add((struct pt_trec *)((char *)user -
						      pt_block_room(PT_ALIGN_TRACKED)),
				   r->slot);
	cs_leave();
	return user;
}

/* An untracked block resized while tracking moves, so it gets a record. */
static void *pt_track_layer_resize(struct pt_block_layer *self, struct pt__hdr *h, struct pt_block_req *r)
{
	(void)self;
	(void)h;
	(void)r;
	return PT_BLOCK_MOVE;
}

static void pt_track_layer_release(struct pt_block_layer *self, struct pt__hdr *h,
			  const struct pt_block_backend *be, const struct pt_site *site)
{
	(void)self;
	(void)site;
	cs_enter(); /* the record and the count go together (see alloc) */
	pt_track_block_del((struct pt_trec *)pt_block_base(h));
	pt_block_core_release(h, be);
	cs_leave();
}

static struct pt_block_layer track_layer = {
	.name = "track",
	.rank = 10,
	.mark = PT_ALIGN_TRACKED,
	.alloc = pt_track_layer_alloc,
	.resize = pt_track_layer_resize,
	.release = pt_track_layer_release,
};

void pt_track_install(int on)
{
	pt_block_install(&track_layer, on);
}
