/*
 * shard.c - per-thread counter shards, summed on read.
 *
 * Each thread that counts gets a shard of its own: a row of counters, one per
 * slot, that only it writes, so an update touches no cache line another
 * thread writes and needs no lock prefix.  A shard outlives its thread: at
 * thread exit it goes on a free list and the next new thread continues its
 * counts (counters are cumulative; what matters is one writer at a time).
 * Threads beyond max_shards, and a thread that counts after its shard was
 * released in its exit path, share shard 0 with atomic read-modify-write.
 *
 * Readers sum a slot over shards [0, nshards), allocations, frees and
 * allocations again until the two agree (sum_slot), so that a live read
 * shows the count of one instant: never more outstanding than ever existed
 * at once, nor fewer than zero.
 *
 * The fork window.  A fork child's counters are those of the fork instant,
 * as its memory is (segment.c).  The shards are shared memory, which fork
 * does not copy, and counting takes no lock; so while a fork of a process
 * exporting its counters is under way, from its prepare handler until the
 * parent, right after the fork, has copied the shards for the child, no
 * thread writes a shard.  The prepare handler sets every thread's
 * pt__tls_ctr to NULL, the test the inline paths make anyway, so a
 * thread's next count takes the slow path, which adds it to the window:
 * counters in private memory, which fork copies at its instant.  The child
 * adds its window to its copy of the shards; the parent, once the copy is
 * made, adds its own to shard 0 and gives the threads their shards back.
 * A count in flight when the window opened (its thread had read its
 * pt__tls_ctr) still lands in the shard: before the fork instant, and the
 * child's copy holds it; or after it, when its thread was inside that call
 * in the child's memory.  Either way the child counts what its memory
 * holds.  The counting paths cost nothing more; readers of the parent's
 * segment see, while the window is open (the length of a fork), the counts
 * of its opening.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>

#include "internal.h"

__thread struct pt__ctr *pt__tls_ctr __attribute__((tls_model("initial-exec")));
static __thread uint32_t tls_shard; /* 0: none */
static __thread int tls_exited;     /* this thread's shard was released at exit */

static struct {
	pthread_once_t once;
	pthread_key_t key;
	uint32_t *free; /* stack of released shard numbers */
	uint32_t nfree;
	/* Per shard, under pt_seg_lock: the pt__tls_ctr of the thread that
	 * owns it (NULL: free), and what the fork window took from it. */
	struct pt__ctr ***owner_ctr;
	struct pt__ctr **saved;
} shards = {PTHREAD_ONCE_INIT};

/* The fork window's counters (see the top), added to with atomic adds.
 * Each word is moved to shard 0 by whoever swaps it with 0: the parent,
 * after it closed the window, and a count that finds the window closed
 * once it has added (it may have added after the parent's swap), so no
 * count stays behind and none is moved twice. */
static struct {
	int open;
	struct pt__ctr *ctr; /* per slot (max_slots), private memory */
} win;

/* This thread's shard is s from now on (segment lock held). */
static void own(uint32_t s)
{
	shards.owner_ctr[s] = &pt__tls_ctr;
	__atomic_store_n(&pt__tls_ctr, pt_seg_shard(s), __ATOMIC_RELAXED);
}

/* Thread exit: release the shard for the next thread. */
static void release(void *unused)
{
	(void)unused;
	pt_seg_lock();
	shards.free[shards.nfree++] = tls_shard;
	shards.owner_ctr[tls_shard] = NULL;
	__atomic_store_n(&pt__tls_ctr, NULL, __ATOMIC_RELAXED);
	pt_seg_unlock();
	tls_shard = 0;
	tls_exited = 1;
}

static void *map_private(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void init_once(void)
{
	uint32_t n = pt_seg.hdr->max_shards;

	shards.free = map_private(n * sizeof(uint32_t));
	shards.owner_ctr = map_private(n * sizeof(*shards.owner_ctr));
	shards.saved = map_private(n * sizeof(*shards.saved));
	if (!shards.owner_ctr || !shards.saved || pthread_key_create(&shards.key, release) != 0)
		shards.free = NULL; /* every thread counts in shard 0 */
	win.ctr = map_private(pt_seg.hdr->max_slots * sizeof(*win.ctr));
}

/* Backs counters [rel_off, rel_off + len) of a shard. */
static int commit_shard(uint32_t s, uint64_t rel_off, uint64_t len)
{
	const struct pt_seg_header *h = pt_seg.hdr;
	return pt_seg_commit(h->shards_off + s * h->shard_stride + rel_off, len);
}

int pt_shard_commit_all(uint64_t rel_off, uint64_t len)
{
	for (uint32_t s = 0; s < pt_seg.hdr->nshards; s++)
		if (commit_shard(s, rel_off, len) != 0)
			return -1;
	return 0;
}

/* Takes a shard for the calling thread: a released one, else a new one,
 * else shard 0 (then *shared is set).  Called on a thread's first count. */
struct pt__ctr *pt_shard_attach(int *shared)
{
	struct pt_seg_header *h;
	uint32_t s = 0;

	pt_seg_init();
	pthread_once(&shards.once, init_once);
	h = pt_seg.hdr;
	*shared = 1;
	if (tls_exited || !shards.free)
		return pt_seg_shard(0);
	if (tls_shard) { /* a fork child's thread: its shard, mapped anew */
		*shared = 0;
		pt_seg_lock();
		own(tls_shard);
		pt_seg_unlock();
		return pt_seg_shard(tls_shard);
	}
	pt_seg_lock();
	if (h->nshards == 0) { /* shard 0 itself, made by the first attach */
		if (commit_shard(0, 0, (uint64_t)pt_registry_committed() * sizeof(struct pt__ctr)) == 0)
			__atomic_store_n(&h->nshards, 1, __ATOMIC_RELEASE);
	}
	if (shards.nfree) {
		s = shards.free[--shards.nfree];
	} else if (h->nshards >= 1 && h->nshards < h->max_shards &&
		   commit_shard(h->nshards, 0,
				(uint64_t)pt_registry_committed() * sizeof(struct pt__ctr)) == 0) {
		s = h->nshards;
		__atomic_store_n(&h->nshards, s + 1, __ATOMIC_RELEASE);
	}
	pt_seg_unlock();
	if (s == 0 || pthread_setspecific(shards.key, (void *)1) != 0) {
		if (s) {
			pt_seg_lock();
			shards.free[shards.nfree++] = s;
			pt_seg_unlock();
		}
		return pt_seg_shard(0);
	}
	*shared = 0;
	tls_shard = s;
	pt_seg_lock();
	own(s);
	pt_seg_unlock();
	return pt_seg_shard(s);
}

/* In a fork child only the forking thread exists: every other shard is free. */
void pt_shard_atfork_child(void)
{
	if (!shards.free)
		return;
	shards.nfree = 0;
	for (uint32_t s = pt_seg.hdr->nshards; s-- > 1;) {
		if (s != tls_shard) {
			shards.free[shards.nfree++] = s;
			shards.owner_ctr[s] = NULL;
		}
		shards.saved[s] = NULL;
	}
}

/* Adds field f and the one after it (0: nallocs and bytes_alloc, 2: nfrees
 * and bytes_freed) of slot over shards [0, nshards now). */
static void sum_field(uint32_t slot, int f, uint64_t *n, uint64_t *bytes)
{
	uint32_t nsh = __atomic_load_n(&pt_seg.hdr->nshards, __ATOMIC_ACQUIRE);

	*n = *bytes = 0;
	for (uint32_t sh = 0; sh < nsh; sh++) {
		uint64_t *c = (uint64_t *)(pt_seg_shard(sh) + slot);
		*n += __atomic_load_n(&c[f], __ATOMIC_RELAXED);
		*bytes += __atomic_load_n(&c[f + 1], __ATOMIC_RELAXED);
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
}

/* Tries before a slot's read settles for the bounded fallback. */
#define SUM_TRIES 256

/*
 * Sums one slot so that a live read shows what was outstanding at one
 * instant during the read: allocations (A), frees (F), allocations again
 * (A').  Counters only grow (and a shard is in use before its first count),
 * so when A' == A no allocation was made while the frees were read, and
 * A - F is the outstanding count of an instant in that time: never below 0,
 * never above the most that ever existed at once.  Otherwise it is tried
 * again; after SUM_TRIES the last A - F is taken, lowered to 0 if below:
 * A was read before F, so it is still at most what was outstanding when
 * the frees were read, never more than existed.  docs/segment-format.md,
 * "Reading safely".
 */
static void sum_slot(uint32_t slot, struct pt_count *out, uint64_t *ba, uint64_t *bf)
{
	uint64_t a, b, f, fb, a2, b2;

	for (int i = 0;; i++) {
		sum_field(slot, 0, &a, &b);
		sum_field(slot, 2, &f, &fb);
		sum_field(slot, 0, &a2, &b2);
		if ((a2 == a && b2 == b) || i + 1 == SUM_TRIES)
			break;
	}
	out->nallocs += a;
	out->nfrees += f < a ? f : a;
	*ba += b;
	*bf += fb < b ? fb : b;
}

/* Sums every slot of pool whose tag is tag (any tag when all is set).  Each
 * slot is a count of one instant (sum_slot); a tag's sum adds its sites. */
static int count(uint32_t tag, int all, enum pt_pool pool, struct pt_count *out)
{
	uint64_t ba = 0, bf = 0;
	uint32_t n;

	if ((unsigned)pool >= PT_NPOOLS || !out) {
		errno = EINVAL;
		return -1;
	}
	pt_seg_init();
	*out = (struct pt_count){0};
	n = __atomic_load_n(&pt_seg.hdr->nslots, __ATOMIC_ACQUIRE);
	for (uint32_t slot = 1; slot < n; slot++) {
		const struct pt_seg_slot *s = &pt_seg.slots[slot];
		if (s->pool == (uint32_t)pool && (all || s->tag == tag))
			sum_slot(slot, out, &ba, &bf);
	}
	out->curblocks = out->nallocs - out->nfrees;
	out->curbytes = ba - bf;
	return 0;
}

void pt_slot_sum(uint32_t slot, struct pt_count *out)
{
	uint64_t ba = 0, bf = 0;

	*out = (struct pt_count){0};
	sum_slot(slot, out, &ba, &bf);
	out->curblocks = out->nallocs - out->nfrees;
	out->curbytes = ba - bf;
}

int pt_count_tag(uint32_t tag, enum pt_pool pool, struct pt_count *out)
{
	return count(tag, 0, pool, out);
}

int pt_count_pool(enum pt_pool pool, struct pt_count *out)
{
	return count(0, 1, pool, out);
}

/* ---- the fork window ---- */

int pt_shard_window_open(void)
{
	struct pt_seg_header *h = pt_seg.hdr;
	uint32_t n = h->nshards;

	pthread_once(&shards.once, init_once);
	if (!win.ctr || !shards.free)
		return 0;
	/* Shard 0 receives the window's counts: it must exist first. */
	if (n == 0) {
		if (commit_shard(0, 0, (uint64_t)pt_registry_committed() * sizeof(struct pt__ctr)) != 0)
			return 0;
		__atomic_store_n(&h->nshards, 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&win.open, 1, __ATOMIC_SEQ_CST);
	/* After the window is open: a thread that reads NULL finds it open. */
	for (uint32_t s = 1; s < n; s++)
		if (shards.owner_ctr[s])
			shards.saved[s] = __atomic_exchange_n(shards.owner_ctr[s], NULL,
							      __ATOMIC_ACQ_REL);
	return 1;
}

/* Moves word f (an offset in struct pt__ctr, in words) of slot's window
 * counters to shard 0. */
static void window_move(uint32_t slot, int f)
{
	uint64_t *w = (uint64_t *)&win.ctr[slot] + f;
	uint64_t v = __atomic_exchange_n(w, 0, __ATOMIC_ACQ_REL);

	if (v)
		__atomic_fetch_add((uint64_t *)(pt_seg_shard(0) + slot) + f, v, __ATOMIC_RELAXED);
}

int pt_shard_window_count(uint32_t slot, uint64_t bytes, int is_free)
{
	int f = is_free ? 2 : 0; /* nfrees, bytes_freed; else nallocs, bytes_alloc */
	uint64_t *w;

	if (!__atomic_load_n(&win.open, __ATOMIC_ACQUIRE))
		return 0;
	w = (uint64_t *)&win.ctr[slot] + f;
	__atomic_fetch_add(&w[0], 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&w[1], bytes, __ATOMIC_SEQ_CST);
	/* Closed meanwhile: the parent's swap may have come first. */
	if (!__atomic_load_n(&win.open, __ATOMIC_SEQ_CST)) {
		window_move(slot, f);
		window_move(slot, f + 1);
	}
	return 1;
}

void pt_shard_window_close(void)
{
	struct pt_seg_header *h = pt_seg.hdr;

	__atomic_store_n(&win.open, 0, __ATOMIC_SEQ_CST);
	for (uint32_t s = 1; shards.free && s < h->nshards; s++) {
		if (shards.owner_ctr[s] && shards.saved[s])
			__atomic_store_n(shards.owner_ctr[s], shards.saved[s], __ATOMIC_RELEASE);
		shards.saved[s] = NULL;
	}
	/* Frees first: a reader meanwhile never sees more outstanding than
	 * existed. */
	for (int f = 2; f >= 0; f -= 2)
		for (uint32_t slot = 1; slot < h->nslots; slot++) {
			window_move(slot, f);
			window_move(slot, f + 1);
		}
}

void pt_shard_window_child(struct pt__ctr *shard0, uint32_t nslots)
{
	win.open = 0;
	for (uint32_t slot = 1; slot < nslots; slot++) {
		struct pt__ctr *w = &win.ctr[slot];
		shard0[slot].nallocs += w->nallocs;
		shard0[slot].bytes_alloc += w->bytes_alloc;
		shard0[slot].nfrees += w->nfrees;
		shard0[slot].bytes_freed += w->bytes_freed;
		*w = (struct pt__ctr){0};
	}
}
