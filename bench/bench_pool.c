/*
 * bench_pool.c - paged-pool allocate/free with accounting against plain
 * malloc/free, measured in the same run.
 *
 * Workload: a ring of 4096 live blocks; each step frees one slot's block and
 * allocates a new one of a size from a fixed-seed PRNG (8-512 bytes, 1% of
 * them 4-64 KiB) and writes its first byte.  Each thread runs its own ring.
 * The variants alternate run by run (ABCABC...) so drift on a shared machine
 * hits all alike.  Reported: the median time per operation of each variant,
 * and the median of the per-round ratios (each variant's time over the
 * malloc run of the same round), which is what drift disturbs least.
 *
 * usage: bench_pool [STEPS [RUNS [malloc|bare|pooltag]]]   (default 20000000 steps, 5 runs)
 * Naming a variant runs only it, once, on one thread: for profiling.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <pooltag.h>

#define RING 4096

struct job {
	uint64_t steps;
	int variant; /* 0 malloc, 1 pooltag, 2 bare counting wrapper */
	uint64_t sink;
};

/* A reference point: the least any accounting wrapper does, a call that
 * counts calls and bytes in thread-local counters and forwards to malloc.
 * (The size is kept in a 16-byte prefix so free can count bytes too.) */
static __thread uint64_t bare_n, bare_bytes;

static __attribute__((noinline)) void *bare_alloc(size_t n)
{
	size_t *p = malloc(n + 16);
	if (!p)
		return NULL;
	p[0] = n;
	bare_n++;
	bare_bytes += n;
	return p + 2;
}

static __attribute__((noinline)) void bare_free(void *q)
{
	size_t *p = q;
	if (!p)
		return;
	bare_n--;
	bare_bytes -= p[-2];
	free(p - 2);
}

static inline uint64_t next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static inline size_t next_size(uint64_t *s)
{
	uint64_t r = next_rand(s);
	if (r % 100 == 0)
		return 4096 + (r >> 8) % (60 * 1024 + 1);
	return 8 + (r >> 8) % 505;
}

static void *run(void *arg)
{
	struct job *j = arg;
	void *ring[RING] = {0};
	uint64_t seed = 0x9e3779b97f4a7c15ull, sink = 0;

	if (j->variant == 0) {
		for (uint64_t i = 0; i < j->steps; i++) {
			size_t k = i % RING, n = next_size(&seed);
			free(ring[k]);
			ring[k] = malloc(n);
			*(volatile char *)ring[k] = (char)i;
		}
		for (size_t k = 0; k < RING; k++)
			free(ring[k]);
	} else if (j->variant == 2) {
		for (uint64_t i = 0; i < j->steps; i++) {
			size_t k = i % RING, n = next_size(&seed);
			bare_free(ring[k]);
			ring[k] = bare_alloc(n);
			*(volatile char *)ring[k] = (char)i;
		}
		for (size_t k = 0; k < RING; k++)
			bare_free(ring[k]);
		sink = bare_n;
	} else {
		for (uint64_t i = 0; i < j->steps; i++) {
			size_t k = i % RING, n = next_size(&seed);
			pt_free(ring[k], "Bnch");
			ring[k] = pt_alloc(PT_PAGED, n, "Bnch");
			*(volatile char *)ring[k] = (char)i;
		}
		for (size_t k = 0; k < RING; k++)
			pt_free(ring[k], "Bnch");
	}
	j->sink = sink;
	return NULL;
}

/* Wall-clock seconds for nthreads threads each running steps steps. */
static double timed(int variant, int nthreads, uint64_t steps)
{
	pthread_t th[8];
	struct job jobs[8];
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int t = 0; t < nthreads; t++) {
		jobs[t] = (struct job){steps, variant, 0};
		pthread_create(&th[t], NULL, run, &jobs[t]);
	}
	for (int t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	uint64_t steps = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000000;
	int runs = argc > 2 ? atoi(argv[2]) : 5;
	static const double target[] = {0, 1.05, 1.10};
	struct pt_count c;

	if (runs < 1 || runs > 64 || steps == 0)
		return 2;
	if (argc > 3) {
		double t = timed(argv[3][0] == 'p' ? 1 : argv[3][0] == 'b' ? 2 : 0, 1, steps);
		printf("%s: %.2f ns/op\n", argv[3], t * 1e9 / (double)steps);
		return 0;
	}
	printf("bench_pool: paged pool alloc/free with accounting vs malloc/free\n");
	printf("  ring %d, %llu steps per thread, median of %d runs, variants alternated\n", RING,
	       (unsigned long long)steps, runs);
	printf("  %-8s %13s %13s %13s %8s %8s %8s\n", "threads", "malloc ns/op", "bare ns/op",
	       "pooltag ns/op", "bare", "pooltag", "target");
	timed(1, 1, steps / 10); /* warm up: first-touch of the segment, heap growth */
	for (int nt = 1; nt <= 2; nt++) {
		double m[64], p[64], b[64], rb[64], rp[64];
		for (int r = 0; r < runs; r++) {
			m[r] = timed(0, nt, steps);
			b[r] = timed(2, nt, steps);
			p[r] = timed(1, nt, steps);
			rb[r] = b[r] / m[r];
			rp[r] = p[r] / m[r];
		}
		double mm = median(m, runs), bm = median(b, runs), pm = median(p, runs);
		printf("  %-8d %13.2f %13.2f %13.2f %7.3fx %7.3fx %7.2fx\n", nt,
		       mm * 1e9 / (double)steps, bm * 1e9 / (double)steps, pm * 1e9 / (double)steps,
		       median(rb, runs), median(rp, runs), target[nt]);
	}
	/* Tracking: a record per block (the unload report's stacks for memory),
	 * without and with call stacks, one thread, against malloc in the same
	 * round.  Stacks cost an unwind per allocation: fewer steps.  Targets:
	 * 2x with blocks tracked, 5x with stacks (POOLTAG_TRACK=all). */
	printf("\n  tracking (1 thread)      malloc ns/op  pooltag ns/op    ratio   target\n");
	for (int mode = 0; mode < 2; mode++) {
		uint64_t st = mode ? steps / 4 : steps;
		double rr[64], m[64], p[64];
		for (int r = 0; r < runs; r++) {
			m[r] = timed(0, 1, st);
			pt_track_set(mode ? PT_TRACK_BLOCKS | PT_TRACK_STACKS : PT_TRACK_BLOCKS);
			p[r] = timed(1, 1, st);
			pt_track_set(0);
			rr[r] = p[r] / m[r];
		}
		printf("  %-22s %13.2f %14.2f %7.3fx %8s\n",
		       mode ? "blocks + stacks" : "blocks, stacks off",
		       median(m, runs) * 1e9 / (double)st, median(p, runs) * 1e9 / (double)st,
		       median(rr, runs), mode ? "5.00x" : "2.00x");
	}

	/* Sampled stacks (src/sample.h) are on by default: the plain rows above
	 * include them.  Here the same pooltag run with sampling off and on
	 * (the default mean, 512 KiB), alternated, one thread: the ratio is
	 * the sampler's whole cost (countdown, captures, sampled frees).
	 * Target: 1.02x. */
	printf("\n  sampled stacks (1 thread)  sample=0 ns/op  sample=512K ns/op    ratio   target\n");
	{
		double off[64], on[64], rr[64];
		for (int r = 0; r < runs; r++) {
			pt_config("sample=0");
			off[r] = timed(1, 1, steps);
			pt_config("sample=512K");
			on[r] = timed(1, 1, steps);
			rr[r] = on[r] / off[r];
		}
		printf("  %-26s %14.2f %18.2f %7.3fx %8s\n", "", median(off, runs) * 1e9 / (double)steps,
		       median(on, runs) * 1e9 / (double)steps, median(rr, runs), "1.02x");
	}

	/* The accounting must balance after the run: every block was freed. */
	pt_count_tag(PT_TAG("Bnch"), PT_PAGED, &c);
	printf("  check: 'Bnch' allocs %llu frees %llu outstanding %llu bytes %llu\n",
	       (unsigned long long)c.nallocs, (unsigned long long)c.nfrees,
	       (unsigned long long)c.curblocks, (unsigned long long)c.curbytes);
	return c.curblocks == 0 && c.curbytes == 0 ? 0 : 1;
}
