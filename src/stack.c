/*
 * stack.c - capturing call stacks and storing each distinct one once.
 *
 * Capture is pt_unwind() (unwind.c): .eh_frame rules cached per pc, so it
 * is right in code built without frame pointers and costs a few ns a frame.
 *
 * The depot is an append-only arena of records plus an open-addressing hash
 * table, both anonymous mappings made once (POOLTAG_STACK_DEPOT_KB, default
 * 4 MiB of arena; the table is a quarter of that, touched lazily):
 *
 *	arena (64-bit words)
 *	+--------------------+------+------+-...-+--------------------+---
 *	| id | depth | magic | pc 0 | pc 1 |     | id | depth | magic | ...
 *	+--------------------+------+------+-...-+--------------------+---
 *	^ word w: the record of id w + 1          ^ next record        ^ top
 *
 *	table slot: hash >> 32 (high half) | id (low half); 0 = empty
 *
 * Invariants (no lock anywhere: a thread that finds its stack stored, the
 * steady state, does a hash and a probe; one that stores a new stack
 * reserves room with an atomic add and publishes it with a compare and
 * swap):
 *  - A record is reserved by an atomic add to top, written completely,
 *    and only then published by a compare-and-swap of an empty table slot
 *    (release); a probe loads slots with acquire, so a record reached
 *    through the table is complete.  Records and slots never change once
 *    published.
 *  - Two threads storing the same new stack at once: the one whose swap
 *    fails finds the other's slot and returns its id; its own record stays
 *    in the arena unpublished (counted in nwasted), never handed out.
 *  - An id is its record's word offset plus one, so ids are never 0 and
 *    reach a record in O(1).  The record repeats its id and a magic in its
 *    first word; a bad id fails that check (the high 16 bits of a pc word in
 *    user space are 0, never the magic).
 *  - The table is at most 3/4 full (nentries is reserved before a swap), so
 *    every probe ends at an empty slot.  When either the arena or the table
 *    has no room, capture returns 0 and counts a drop: nothing is ever
 *    evicted, so an id stays valid forever.
 *
 * Cost: see pt_stack_capture().
 */
#include "stack.h"
#include "unwind.h"

#define pt_unlikely(x) __builtin_expect(!!(x), 0)

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PT_STACK_DEFAULT_KB 4096
#define PT_STACK_MAX_KB     (4u << 20) /* 4 GiB: word offsets stay below 2^32 */
#define PT_STACK_MAX_SKIP   32
#define PT_STACK_MAGIC      0x5354u /* "ST" */

/* The first word of a record; the pcs follow. */
struct pt_stack_rec {
	uint32_t id;
	uint16_t depth;
	uint16_t magic;
};
_Static_assert(sizeof(struct pt_stack_rec) == sizeof(uint64_t), "a record header is one word");
_Static_assert(sizeof(uintptr_t) == sizeof(uint64_t), "pcs are stored as words");

static struct {
	pthread_once_t once;
	uint64_t *arena;       /* NULL if the depot could not be mapped */
	size_t nwords;         /* arena capacity */
	size_t top;            /* words reserved; atomic */
	uint64_t *table;       /* mask + 1 slots */
	uint32_t mask;         /* table slots - 1 (a power of two less one) */
	uint32_t nentries;     /* slots taken or reserved; atomic */
	uint64_t ndropped;     /* captures refused for want of room; atomic */
	uint64_t nwasted;      /* records written but not published (lost races); atomic */
} pt_stk = {
    .once = PTHREAD_ONCE_INIT,
};

/* The depot takes no lock, so a fork never finds it half-locked; kept for
 * the library's fork handlers' lock order (segment.c).  A record a thread
 * was writing when another forked stays unpublished in the child. */
void pt_stack_lock(void)
{
}

void pt_stack_unlock(void)
{
}

/* The arena size from POOLTAG_STACK_DEPOT_KB: the default when unset or not
 * a whole number of KiB in [1, 4 GiB]. */
static size_t pt_stack_depot_bytes(void)
{
	const char *s = getenv("POOLTAG_STACK_DEPOT_KB");
	unsigned long kb;
	char *end;

	if (!s || !*s)
		return (size_t)PT_STACK_DEFAULT_KB << 10;
	kb = strtoul(s, &end, 10);
	if (*end || kb < 1 || kb > PT_STACK_MAX_KB)
		return (size_t)PT_STACK_DEFAULT_KB << 10;
	return (size_t)kb << 10;
}

static void *pt_stack_map(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Maps the depot and learns the thread's stack bounds (a capture from a
 * hook then makes no system call).  On a mapping failure the depot stays
 * unmapped and every capture returns 0. */
static void pt_stack_init_once(void)
{
	size_t bytes = pt_stack_depot_bytes(), slots = 4;
	uint64_t *table, *arena;
	uintptr_t pc;

	(void)pt_unwind(&pc, 1, 0);

	/* Records are at least two words, so at most nwords / 2 of them; a table of
	 * nwords / 4 slots (3/4 usable) fits the usual stack of a few frames. */
	while (slots < bytes / sizeof(uint64_t) / 4)
		slots *= 2;
	table = pt_stack_map(slots * sizeof(uint64_t));
	arena = pt_stack_map(bytes);
	if (!table || !arena) {
		if (table)
			munmap(table, slots * sizeof(uint64_t));
		if (arena)
			munmap(arena, bytes);
		return;
	}
	pt_stk.table = table;
	pt_stk.nwords = bytes / sizeof(uint64_t);
	pt_stk.mask = (uint32_t)(slots - 1);
	/* Last: a capture that sees the arena sees the rest. */
	__atomic_store_n(&pt_stk.arena, arena, __ATOMIC_RELEASE);
}

void pt_stack_init(void)
{
	pthread_once(&pt_stk.once, pt_stack_init_once);
}

/* A 64-bit hash of the pcs: its low bits pick the slot, its high half is
 * kept in the slot to skip most record comparisons.  Each pc is mixed on
 * its own (a multiply by an odd constant that depends on its position) and
 * the products summed, so the multiplies run in parallel rather than as one
 * chain; a final mix spreads the sum's bits. */
static uint64_t pt_stack_hash(const uintptr_t *pcs, unsigned depth)
{
	uint64_t h = 0x243f6a8885a308d3ull ^ depth;

	for (unsigned i = 0; i < depth; i++) {
		uint64_t x = (pcs[i] ^ (pcs[i] >> 29)) * (0x9e3779b97f4a7c15ull + 2 * i);
		h += x ^ (x >> 32);
	}
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 29);
}

static const struct pt_stack_rec *pt_stack_rec(uint32_t id)
{
	return (const struct pt_stack_rec *)&pt_stk.arena[id - 1];
}

/* The id of a stored stack equal to pcs, or 0; *slot gets the slot where the
 * probe stopped (the empty slot to fill when not found).  Lock-free. */
static uint32_t pt_stack_find(uint64_t h, const uintptr_t *pcs, unsigned depth, uint32_t *slot)
{
	uint32_t i = (uint32_t)h & pt_stk.mask;

	for (;; i = (i + 1) & pt_stk.mask) {
		uint64_t e = __atomic_load_n(&pt_stk.table[i], __ATOMIC_ACQUIRE);
		uint32_t id = (uint32_t)e;
		const struct pt_stack_rec *r;

		if (!e) {
			*slot = i;
			return 0;
		}
		if (e >> 32 != h >> 32)
			continue;
		r = pt_stack_rec(id);
		if (r->depth == depth && !memcmp(r + 1, pcs, depth * sizeof(*pcs)))
			return id;
	}
}

/* Stores a stack that the probe did not find, from slot on.  Returns its
 * id (an equal stack may have been stored meanwhile), or 0 when there is
 * no room.  Lock-free: see the invariants above. */
static uint32_t pt_stack_insert(uint64_t h, const uintptr_t *pcs, unsigned depth, uint32_t slot)
{
	struct pt_stack_rec *r;
	uint32_t id, n;
	size_t top;

	n = __atomic_add_fetch(&pt_stk.nentries, 1, __ATOMIC_RELAXED);
	top = __atomic_fetch_add(&pt_stk.top, 1 + (size_t)depth, __ATOMIC_RELAXED);
	if (n > (pt_stk.mask + 1) / 4 * 3 || top + 1 + depth > pt_stk.nwords) {
		/* top stays past the limit: every later new stack is refused
		 * here too, and ids stay below nwords. */
		__atomic_fetch_sub(&pt_stk.nentries, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&pt_stk.ndropped, 1, __ATOMIC_RELAXED);
		return 0;
	}
	id = (uint32_t)top + 1;
	r = (struct pt_stack_rec *)&pt_stk.arena[top];
	r->id = id;
	r->depth = (uint16_t)depth;
	r->magic = PT_STACK_MAGIC;
	memcpy(r + 1, pcs, depth * sizeof(*pcs));
	for (;; slot = (slot + 1) & pt_stk.mask) {
		uint64_t e = 0;
		const struct pt_stack_rec *o;

		if (__atomic_compare_exchange_n(&pt_stk.table[slot], &e, h >> 32 << 32 | id, 0,
						__ATOMIC_RELEASE, __ATOMIC_ACQUIRE))
			return id;
		/* Taken meanwhile (e holds it): by this very stack? */
		if (e >> 32 != h >> 32)
			continue;
		o = pt_stack_rec((uint32_t)e);
		if (o->depth == depth && !memcmp(o + 1, pcs, depth * sizeof(*pcs))) {
			__atomic_fetch_add(&pt_stk.nwasted, 1, __ATOMIC_RELAXED);
			__atomic_fetch_sub(&pt_stk.nentries, 1, __ATOMIC_RELAXED);
			return (uint32_t)e;
		}
	}
}

/*
 * Cost, measured with bench/bench_stack.c on the 2-core development machine
 * (gcc -O2): see pt_stack_capture() in stack.h.  The unwind is most of it;
 * the depot adds a hash of the pcs and one probe.  noinline: the frame
 * skipped below must be this function's own.
 */
__attribute__((noinline)) uint32_t pt_stack_capture(unsigned skip)
{
	uintptr_t pcs[PT_STACK_DEPTH];
	unsigned depth;
	uint32_t slot = 0, id;
	uint64_t h;

	if (pt_unlikely(!__atomic_load_n(&pt_stk.arena, __ATOMIC_ACQUIRE))) {
		pt_stack_init();
		if (!pt_stk.arena)
			return 0;
	}
	if (skip > PT_STACK_MAX_SKIP)
		skip = PT_STACK_MAX_SKIP;
	depth = pt_unwind(pcs, PT_STACK_DEPTH, skip + 1);
	if (!depth)
		return 0;
	h = pt_stack_hash(pcs, depth);
	id = pt_stack_find(h, pcs, depth, &slot);
	if (!id)
		id = pt_stack_insert(h, pcs, depth, slot);
	__asm__ volatile("" ::: "memory"); /* no tail call: this frame is skipped */
	return id;
}

unsigned pt_stack_pcs(uint32_t id, uintptr_t *pcs, unsigned max)
{
	const struct pt_stack_rec *r;
	size_t top;

	pt_stack_init();
	if (!id || !pt_stk.arena)
		return 0;
	top = __atomic_load_n(&pt_stk.top, __ATOMIC_ACQUIRE);
	if (id - 1 >= top)
		return 0;
	r = pt_stack_rec(id);
	if (r->id != id || r->magic != PT_STACK_MAGIC || !r->depth || r->depth > PT_STACK_DEPTH ||
	    id + (size_t)r->depth > top)
		return 0;
	memcpy(pcs, r + 1, (r->depth < max ? r->depth : max) * sizeof(*pcs));
	return r->depth;
}

void pt_stack_stats(struct pt_stack_stats *out)
{
	pt_stack_init();
	uint32_t n = __atomic_load_n(&pt_stk.nentries, __ATOMIC_RELAXED);
	size_t top = __atomic_load_n(&pt_stk.top, __ATOMIC_RELAXED);

	out->nstacks = n;
	out->ndropped = __atomic_load_n(&pt_stk.ndropped, __ATOMIC_RELAXED);
	out->curbytes = (top < pt_stk.nwords ? top : pt_stk.nwords) * sizeof(uint64_t);
	out->capbytes = pt_stk.nwords * sizeof(uint64_t);
}
