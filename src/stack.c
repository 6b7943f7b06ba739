/*
 * stack.c - capturing call stacks and storing each distinct one once.
 *
 * Capture is glibc's backtrace(): the libgcc unwinder reading .eh_frame, so
 * it works in code built without frame pointers.  Its first call loads
 * libgcc_s (dlopen, malloc); pt_stack_init() makes that call early so that a
 * capture from a malloc hook never does.
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
 * Invariants:
 *  - Records and table slots are written only under the mutex and never
 *    change once published: a record is complete before top moves past it
 *    (release) and before its slot is stored (release).  So finding an
 *    existing stack is a lock-free probe (acquire loads), and reading a
 *    record by id needs no lock.
 *  - An id is its record's word offset plus one, so ids are never 0 and
 *    reach a record in O(1).  The record repeats its id and a magic in its
 *    first word; a bad id fails that check (the high 16 bits of a pc word in
 *    user space are 0, never the magic).
 *  - The table is at most 3/4 full, so every probe ends at an empty slot.
 *    When either the arena or the table has no room, capture returns 0 and
 *    counts a drop: nothing is ever evicted, so an id stays valid forever.
 *
 * Cost: see pt_stack_capture().  A new stack also takes the mutex and writes
 * depth + 1 words.
 */
#include "stack.h"

#include <execinfo.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PT_STACK_DEFAULT_KB 4096
#define PT_STACK_MAX_KB     (4u << 20) /* 4 GiB: word offsets stay below 2^32 */
#define PT_STACK_MAX_SKIP   32
#define PT_STACK_FIRST_MAX  4       /* backtrace() entries searched by pt_stack_first() */
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
	pthread_mutex_t mutex; /* serialises insertions */
	uint64_t *arena;       /* NULL if the depot could not be mapped */
	size_t nwords;         /* arena capacity */
	size_t top;            /* words in use; stored with release under the mutex */
	uint64_t *table;       /* mask + 1 slots */
	uint32_t mask;         /* table slots - 1 (a power of two less one) */
	uint32_t nentries;     /* stored stacks; written under the mutex */
	uint64_t ndropped;     /* captures refused for want of room; atomic */
	int first;             /* index of the caller's frame in backtrace()'s result */
} pt_stk = {
    .once = PTHREAD_ONCE_INIT,
    .mutex = PTHREAD_MUTEX_INITIALIZER,
};

/* A fork child must not inherit the mutex held by a thread that does not
 * exist there; the depot itself is copied with the address space. */
void pt_stack_lock(void)
{
	pthread_mutex_lock(&pt_stk.mutex);
}

void pt_stack_unlock(void)
{
	pthread_mutex_unlock(&pt_stk.mutex);
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

/*
 * Where backtrace() puts its caller's caller: it leaves out its own frame,
 * so its result starts with a pc in its caller and the caller's return
 * address comes next, at 1.  A sanitizer's interceptor of backtrace() adds
 * its own frame first, moving it to 2.  Returns the index (1 if not found).
 * The first call of backtrace() loads libgcc_s.
 */
__attribute__((noinline)) static int pt_stack_first(void)
{
	void *buf[PT_STACK_FIRST_MAX], *ret = __builtin_return_address(0);
	int n = backtrace(buf, PT_STACK_FIRST_MAX);

	for (int i = 1; i < n; i++)
		if (buf[i] == ret)
			return i;
	return 1;
}

/* Maps the depot and loads the unwinder.  On a mapping failure the depot
 * stays unmapped and every capture returns 0. */
static void pt_stack_init_once(void)
{
	size_t bytes = pt_stack_depot_bytes(), slots = 4;

	/* The first backtrace() dlopens libgcc_s: do it here, not in a hook. */
	pt_stk.first = pt_stack_first();

	/* Records are at least two words, so at most nwords / 2 of them; a table of
	 * nwords / 4 slots (3/4 usable) fits the usual stack of a few frames. */
	while (slots < bytes / sizeof(uint64_t) / 4)
		slots *= 2;
	pt_stk.table = pt_stack_map(slots * sizeof(uint64_t));
	pt_stk.arena = pt_stack_map(bytes);
	if (!pt_stk.table || !pt_stk.arena) {
		if (pt_stk.table)
			munmap(pt_stk.table, slots * sizeof(uint64_t));
		if (pt_stk.arena)
			munmap(pt_stk.arena, bytes);
		pt_stk.table = NULL;
		pt_stk.arena = NULL;
		return;
	}
	pt_stk.nwords = bytes / sizeof(uint64_t);
	pt_stk.mask = (uint32_t)(slots - 1);
}

void pt_stack_init(void)
{
	pthread_once(&pt_stk.once, pt_stack_init_once);
}

/* A 64-bit hash of the pcs: its low bits pick the slot, its high half is
 * kept in the slot to skip most record comparisons. */
static uint64_t pt_stack_hash(const uintptr_t *pcs, unsigned depth)
{
	uint64_t h = 0x243f6a8885a308d3ull ^ depth;

	for (unsigned i = 0; i < depth; i++) {
		h ^= pcs[i];
		h *= 0x9e3779b97f4a7c15ull;
		h ^= h >> 32;
	}
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

/* Stores a stack that the lock-free probe did not find.  Returns its id (an
 * equal stack may have been stored meanwhile), or 0 when there is no room. */
static uint32_t pt_stack_insert(uint64_t h, const uintptr_t *pcs, unsigned depth)
{
	struct pt_stack_rec *r;
	uint32_t id, slot = 0;
	size_t top;

	pthread_mutex_lock(&pt_stk.mutex);
	id = pt_stack_find(h, pcs, depth, &slot);
	if (id)
		goto out;
	top = pt_stk.top;
	if (pt_stk.nwords - top < 1 + (size_t)depth ||
	    pt_stk.nentries >= (pt_stk.mask + 1) / 4 * 3) {
		__atomic_fetch_add(&pt_stk.ndropped, 1, __ATOMIC_RELAXED);
		goto out;
	}
	id = (uint32_t)top + 1;
	r = (struct pt_stack_rec *)&pt_stk.arena[top];
	r->id = id;
	r->depth = (uint16_t)depth;
	r->magic = PT_STACK_MAGIC;
	memcpy(r + 1, pcs, depth * sizeof(*pcs));
	__atomic_store_n(&pt_stk.top, top + 1 + depth, __ATOMIC_RELEASE);
	__atomic_store_n(&pt_stk.nentries, pt_stk.nentries + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&pt_stk.table[slot], h >> 32 << 32 | id, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&pt_stk.mutex);
	return id;
}

/*
 * Cost, measured on the 2-core development machine (gcc -O2, best of many
 * runs): about 2.5 us for a 10-frame stack already in the depot, of which
 * the depot (hash, probe, compare) is tens of ns and the rest the unwinder:
 * about 1.2 us of set-up plus 0.2 us a frame, interpreting .eh_frame CFI
 * (glibc's backtrace keeps no cache between calls).  noinline: the frame
 * that pt_stack_first() found to drop must be this function's own.
 */
__attribute__((noinline)) uint32_t pt_stack_capture(unsigned skip)
{
	void *buf[PT_STACK_FIRST_MAX + PT_STACK_MAX_SKIP + PT_STACK_DEPTH];
	const uintptr_t *pcs;
	unsigned depth;
	uint32_t slot, id;
	int n, first;
	uint64_t h;

	pt_stack_init();
	if (!pt_stk.arena)
		return 0;
	if (skip > PT_STACK_MAX_SKIP)
		skip = PT_STACK_MAX_SKIP;
	first = pt_stk.first;
	n = backtrace(buf, (int)(first + skip + PT_STACK_DEPTH));
	if (n <= first + (int)skip)
		return 0;
	pcs = (const uintptr_t *)(buf + first + skip);
	depth = (unsigned)(n - first) - skip;
	if (depth > PT_STACK_DEPTH)
		depth = PT_STACK_DEPTH;
	while (depth && !pcs[depth - 1])
		depth--;
	if (!depth)
		return 0;
	h = pt_stack_hash(pcs, depth);
	id = pt_stack_find(h, pcs, depth, &slot);
	return id ? id : pt_stack_insert(h, pcs, depth);
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
	out->nstacks = __atomic_load_n(&pt_stk.nentries, __ATOMIC_RELAXED);
	out->ndropped = __atomic_load_n(&pt_stk.ndropped, __ATOMIC_RELAXED);
	out->curbytes = __atomic_load_n(&pt_stk.top, __ATOMIC_RELAXED) * sizeof(uint64_t);
	out->capbytes = pt_stk.nwords * sizeof(uint64_t);
}
