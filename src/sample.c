/*
 * sample.c - the sampler, the segment's table of sampled stacks and the side
 * table of live sampled blocks (see sample.h for what and why).
 *
 * Costs.  Unsampled allocations pay one subtract and a predictable branch
 * (pooltag.h's inline path, block.c's pt_block_alloc, and the hooks of
 * pooltag run's interposer when it tracks nothing); unsampled frees pay
 * nothing more than before (inline) or one predictable branch (library).  A
 * sample (one in every mean bytes) costs a stack capture (about 100 ns,
 * stack.c) and a lookup under this module's lock; the first sample of a new
 * (stack, slot) pair also resolves its frames to module offsets with
 * _dl_find_object (well under a microsecond a frame, once per path).
 *
 * Locks.  samp.lock guards the (stack, slot) -> entry map and the live
 * table; pt_seg_lock guards the string area.  Neither is taken while the
 * other is held, and the dynamic linker is asked under neither: a constructor allocating inside dlopen holds the loader's
 * lock and then registers its site under pt_seg_lock.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "sample.h"

__thread int64_t pt__tls_sample __attribute__((tls_model("initial-exec")));

static __thread uint64_t tls_rng;
static __thread uint32_t tls_gen; /* samp.gen when this thread last drew */
static __thread int tls_busy;     /* inside the sampler: its own allocations are not sampled */

/* An entry of the live table: a sampled block, its entry and weight. */
struct live {
	uintptr_t user; /* 0: empty */
	uint64_t weight;
	uint32_t entry;
	uint32_t pad;
};

#define MAP_CAP (2 * PT_SAMPLE_TABLE) /* the (stack, slot) map: half full at most */

static struct {
	pthread_mutex_t lock;
	uint64_t mean;     /* 0: off */
	uint64_t seed;     /* sample.seed=; 0: from the clock */
	int have_seed;
	int disabled;      /* the interposer samples nothing (sample.h) */
	uint32_t gen;      /* bumped when mean or seed change: threads redraw */
	uint32_t nthreads; /* threads that started a sampler, for seeding */
	struct live *live; /* PT_SAMPLE_LIVE entries, mapped at the first sample */
	uint32_t nlive;
	uint64_t map_key[MAP_CAP]; /* stack id << 32 | slot; 0: empty */
	uint32_t map_val[MAP_CAP];
} samp = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.mean = PT_SAMPLE_MEAN_DEFAULT,
	.gen = 1,
};

/* ---- statistics ---- */

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

uint64_t pt_sample_draw(uint64_t *rng, uint64_t mean)
{
	/* u uniform in (0, 1]: 53 random bits, never 0, so log(u) is finite. */
	double u = ((double)(xorshift(rng) >> 11) + 1.0) / 9007199254740992.0;
	double d = -log(u) * (double)mean;

	return d < 1.0 ? 1 : d > 9e18 ? (uint64_t)9e18 : (uint64_t)d;
}

uint64_t pt_sample_weight(uint64_t size, uint64_t mean)
{
	double r;

	if (mean == 0)
		return size;
	if (size == 0)
		return mean; /* the limit of s / (1 - exp(-s/m)) as s -> 0 */
	r = (double)size / (double)mean;
	/* -expm1(-r) is 1 - exp(-r) without cancellation for small r. */
	return (uint64_t)((double)size / -expm1(-r) + 0.5);
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Starts (or restarts, after the options changed) this thread's sampler:
 * with sample.seed= the n-th thread to start gets the same sequence in
 * every run, so a single-threaded program samples the same blocks. */
static void thread_start(uint32_t gen)
{
	uint32_t n = __atomic_fetch_add(&samp.nthreads, 1, __ATOMIC_RELAXED);
	uint64_t seed = samp.seed;

	if (!samp.have_seed) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		seed = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32 ^ (uintptr_t)&tls_rng;
	}
	tls_rng = mix(seed ^ mix(n)) | 1; /* xorshift's state must not be 0 */
	tls_gen = gen;
}

/* ---- options ---- */

/* "BYTES" with an optional K, M or G suffix (powers of 1024). */
static int parse_bytes(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end == 'K' || *end == 'k')
		shift = 10, end++;
	else if (*end == 'M' || *end == 'm')
		shift = 20, end++;
	else if (*end == 'G' || *end == 'g')
		shift = 30, end++;
	if (*end || v > (1ull << 40) >> shift)
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

int pt_sample_option(const char *key, const char *val, char *err, size_t errlen)
{
	uint64_t v;

	if (!strcmp(key, "sample")) {
		if (parse_bytes(val, &v) != 0)
			goto bad;
		pthread_mutex_lock(&samp.lock);
		samp.mean = v;
		__atomic_fetch_add(&samp.gen, 1, __ATOMIC_RELEASE);
		pt__tls_sample = 0; /* this thread restarts at its next allocation;
				       others at their next crossing */
		if (pt_seg.hdr && !samp.disabled)
			__atomic_store_n(&pt_seg.hdr->sample_mean, v, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&samp.lock);
		return 0;
	}
	if (!strcmp(key, "sample.seed")) {
		char *end;
		errno = 0;
		v = strtoull(val, &end, 0);
		if (!*val || *end || errno || val[0] == '-')
			goto bad;
		pthread_mutex_lock(&samp.lock);
		samp.seed = v;
		samp.have_seed = 1;
		samp.nthreads = 0;
		__atomic_fetch_add(&samp.gen, 1, __ATOMIC_RELEASE);
		pt__tls_sample = 0;
		pthread_mutex_unlock(&samp.lock);
		return 0;
	}
	snprintf(err, errlen, "unknown option '%s' (sample, sample.seed)", key);
	errno = EINVAL;
	return -1;
bad:
	snprintf(err, errlen, "%s=%s: expected %s", key, val,
		 !strcmp(key, "sample") ? "bytes between samples (K, M, G suffixes; 0 turns sampling off)"
					: "a number");
	errno = EINVAL;
	return -1;
}
PT_OPTION_GROUP(sample_opts, "sample", pt_sample_option)

void pt_sample_setup(int off)
{
	pthread_mutex_lock(&samp.lock);
	samp.disabled = off;
	pt_seg.hdr->sample_mean = off ? 0 : samp.mean;
	pthread_mutex_unlock(&samp.lock);
}

void pt_sample_fork_prepare(void)
{
	pthread_mutex_lock(&samp.lock);
}

void pt_sample_fork_release(void)
{
	pthread_mutex_unlock(&samp.lock);
}

/* ---- the tables (samp.lock held) ---- */

static size_t live_slot(uintptr_t user)
{
	return (size_t)(mix(user) & (PT_SAMPLE_LIVE - 1));
}

/* Adds a live sampled block; 0, or -1 when the table is full (kept at most
 * three quarters full so that probes stay short). */
static int live_add(uintptr_t user, uint32_t entry, uint64_t weight)
{
	size_t i;

	if (!samp.live) {
		void *p = mmap(NULL, PT_SAMPLE_LIVE * sizeof(struct live), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return -1;
		samp.live = p;
	}
	if (samp.nlive >= PT_SAMPLE_LIVE / 4 * 3)
		return -1;
	for (i = live_slot(user); samp.live[i].user; i = (i + 1) & (PT_SAMPLE_LIVE - 1))
		if (samp.live[i].user == user)
			break; /* cannot happen: the block at user was released first */
	if (!samp.live[i].user)
		samp.nlive++;
	samp.live[i] = (struct live){user, weight, entry, 0};
	return 0;
}

/* Removes user's entry into *out; 0, or -1 if it has none. */
static int live_remove(uintptr_t user, struct live *out)
{
	size_t i, j, k;

	if (!samp.live)
		return -1;
	for (i = live_slot(user); samp.live[i].user != user; i = (i + 1) & (PT_SAMPLE_LIVE - 1))
		if (!samp.live[i].user)
			return -1;
	*out = samp.live[i];
	/* Linear probing's deletion: move back every later entry of the run
	 * whose home slot does not lie cyclically in (i, j]. */
	for (j = i;;) {
		samp.live[i].user = 0;
		for (;;) {
			j = (j + 1) & (PT_SAMPLE_LIVE - 1);
			if (!samp.live[j].user) {
				samp.nlive--;
				return 0;
			}
			k = live_slot(samp.live[j].user);
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		samp.live[i] = samp.live[j];
		i = j;
	}
}

/* The map slot of key: its entry's, or the empty one to put it in. */
static size_t map_find(uint64_t key)
{
	size_t i = (size_t)(mix(key) & (MAP_CAP - 1));

	while (samp.map_key[i] && samp.map_key[i] != key)
		i = (i + 1) & (MAP_CAP - 1);
	return i;
}

static void entry_account(uint32_t e, uint64_t weight, int add)
{
	struct pt_seg_sample *s = &pt_seg.samples[e];

	if (add) {
		__atomic_fetch_add(&s->nlive, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&s->live_est, weight, __ATOMIC_RELAXED);
		__atomic_fetch_add(&s->ntaken, 1, __ATOMIC_RELAXED);
	} else {
		__atomic_fetch_sub(&s->nlive, 1, __ATOMIC_RELAXED);
		__atomic_fetch_sub(&s->live_est, weight, __ATOMIC_RELAXED);
	}
}

/* ---- taking a sample ---- */

/* The frames of a new entry, resolved to files and offsets with no lock
 * held (see the top of the file). */
struct resolved {
	unsigned depth;
	uintptr_t pc[PT_SEG_SAMPLE_FRAMES];
	uintptr_t off[PT_SEG_SAMPLE_FRAMES];
	const char *path[PT_SEG_SAMPLE_FRAMES];
};

static const char *self_exe(void)
{
	static char exe[PATH_MAX];
	static int done;

	if (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = 0;
		__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	}
	return exe;
}

/* Each frame's module and offset there.  _dl_find_object, not dladdr:
 * the module is all a frame keeps (the CLI symbolises from its file), and
 * dladdr also looks for the nearest symbol, a scan of the module's whole
 * dynamic symbol table (tens of thousands in a large program) per frame. */
static void resolve(struct resolved *r)
{
	for (unsigned i = 0; i < r->depth; i++) {
		struct dl_find_object dlfo;
		const struct link_map *lm;

		r->off[i] = r->pc[i];
		r->path[i] = NULL;
		/* pc - 1: a return address may be just past its function's end. */
		if (_dl_find_object((void *)(r->pc[i] - 1), &dlfo) != 0 ||
		    !(lm = dlfo.dlfo_link_map))
			continue;
		r->off[i] = r->pc[i] - lm->l_addr;
		r->path[i] = lm->l_name && lm->l_name[0] ? lm->l_name : self_exe();
	}
}

/* Fills and publishes entry e (samp.lock held): its paths' string offsets
 * were interned already. */
static int entry_make(uint32_t slot, const struct resolved *r, const uint32_t *paths)
{
	struct pt_seg_header *h = pt_seg.hdr;
	uint32_t e = h->nsamples;
	struct pt_seg_sample *s = &pt_seg.samples[e];

	if (e >= h->max_samples ||
	    pt_seg_commit(h->samples_off + (uint64_t)e * sizeof(*s), sizeof(*s)) != 0)
		return -1;
	memset(s, 0, sizeof(*s));
	s->slot = slot;
	s->depth = r->depth;
	for (unsigned i = 0; i < r->depth; i++)
		s->frames[i] = (struct pt_seg_frame){r->pc[i], r->off[i], paths[i], 0};
	__atomic_store_n(&h->nsamples, e + 1, __ATOMIC_RELEASE);
	return (int)e;
}

static void dropped(void)
{
	__atomic_fetch_add(&pt_seg.hdr->sample_ndropped, 1, __ATOMIC_RELAXED);
}

/* Records the sample of user; ret is the return address into
 * pt_block_alloc, the innermost frame of the library's below the caller. */
static void take(void *user, uint32_t slot, uint64_t size, uint64_t mean, uintptr_t ret)
{
	uintptr_t pcs[PT_STACK_DEPTH];
	uint32_t id = pt_stack_capture(0), paths[PT_SEG_SAMPLE_FRAMES];
	uint64_t key, weight = pt_sample_weight(size, mean);
	struct resolved r;
	unsigned n, first = 0;
	size_t m;
	int e = -1;

	if (!id) {
		dropped();
		return;
	}
	key = (uint64_t)id << 32 | slot;
	pthread_mutex_lock(&samp.lock);
	m = map_find(key);
	if (samp.map_key[m]) {
		e = (int)samp.map_val[m];
		goto record;
	}
	pthread_mutex_unlock(&samp.lock);

	/* A new path: keep the frames above the library's (those after ret). */
	n = pt_stack_pcs(id, pcs, PT_STACK_DEPTH);
	n = n < PT_STACK_DEPTH ? n : PT_STACK_DEPTH;
	for (unsigned i = 0; i < n; i++)
		if (pcs[i] == ret)
			first = i + 1;
	r.depth = n - first < PT_SEG_SAMPLE_FRAMES ? n - first : PT_SEG_SAMPLE_FRAMES;
	for (unsigned i = 0; i < r.depth; i++)
		r.pc[i] = pcs[first + i];
	resolve(&r);
	pt_seg_lock();
	for (unsigned i = 0; i < r.depth; i++)
		paths[i] = r.path[i] ? pt_registry_string(r.path[i]) : 0;
	pt_seg_unlock();

	pthread_mutex_lock(&samp.lock);
	m = map_find(key); /* another thread may have made it meanwhile */
	if (samp.map_key[m]) {
		e = (int)samp.map_val[m];
	} else if ((e = entry_make(slot, &r, paths)) >= 0) {
		samp.map_key[m] = key;
		samp.map_val[m] = (uint32_t)e;
	}
record:
	if (e < 0 || live_add((uintptr_t)user, (uint32_t)e, weight) != 0) {
		pthread_mutex_unlock(&samp.lock);
		dropped();
		return;
	}
	entry_account((uint32_t)e, weight, 1);
	pthread_mutex_unlock(&samp.lock);
	/* Marked last: a block is marked only once its sample is recorded, so
	 * every marked block's release finds it. */
	{
		struct pt__hdr *h = (struct pt__hdr *)user - 1;
		pt__hdr_set(h, h->tag, h->meta | PT_META_SAMPLED, size);
	}
}

__attribute__((noinline)) void pt_sample_hit(void *user, uint32_t slot, uint64_t size)
{
	uint32_t gen = __atomic_load_n(&samp.gen, __ATOMIC_ACQUIRE);
	uint64_t mean = samp.mean;
	unsigned mark = pt_meta_align_log2(((struct pt__hdr *)user - 1)->meta);

	if (samp.disabled || mean == 0) {
		/* Looked at again after a MiB: a sampler switched on later
		 * (pt_sample_setup) starts in every thread then. */
		pt__tls_sample = 1 << 20;
		return;
	}
	if (tls_gen != gen) {
		/* A thread's first crossing (its countdown starts at 0), or new
		 * options: start, without sampling this block. */
		thread_start(gen);
		pt__tls_sample = (int64_t)pt_sample_draw(&tls_rng, mean);
		return;
	}
	pt__tls_sample = (int64_t)pt_sample_draw(&tls_rng, mean);
	/* Blocks of the tracking and special layers have records of their own
	 * (and the tracked ones their stacks); the sampler leaves them alone,
	 * and they are not "dropped": nothing was lost.  Nor are allocations
	 * made inside the sampler (none today: _dl_find_object does not
	 * allocate). */
	if (tls_busy || mark == PT_ALIGN_TRACKED || mark == PT_ALIGN_SPECIAL)
		return;
	tls_busy = 1;
	take(user, slot, size, mean, (uintptr_t)__builtin_return_address(0));
	tls_busy = 0;
}

void pt_sample_drop(const void *user)
{
	struct live l;
	int found;

	pthread_mutex_lock(&samp.lock);
	found = live_remove((uintptr_t)user, &l) == 0;
	if (found)
		entry_account(l.entry, l.weight, 0);
	pthread_mutex_unlock(&samp.lock);
}
