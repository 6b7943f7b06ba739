/*
 * threads.c - threads that allocate and free under a few tags while the CLI
 * reads their counters (tests/e2e/live.bats).
 *
 * usage: threads [T]     T threads, default 4
 *
 * Each thread loops over i: the block in ring slot i % RING is freed and a
 * new one allocated in its place, with kind i % NKINDS.  RING is a multiple
 * of NKINDS, so a slot always holds the same kind and, once a thread has gone
 * round its ring, it keeps RING / NKINDS blocks of each kind live (one fewer
 * between a free and the allocation that refills the slot).  That gives the
 * test a lower bound that every live read must meet.  Each thread frees only
 * its own blocks, so its shard never counts a free of another thread's block.
 *
 * Prints "pid N", then "running" once every thread has filled its ring.
 * Commands on standard input, one per line:
 *   stop   stop the threads and free every block; prints one line
 *          "total TAG NALLOCS NFREES NBYTES" per kind, then "quiescent"
 *   quit   stop if still running, and exit (so does the end of the input)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pooltag.h>

#define NKINDS 3
#define RING (8 * NKINDS)
#define MAX_THREADS 64

/* The kinds: two paged, one non-paged.  Fixed sizes make bytes = count * size. */
static const char *const kind_tag[NKINDS] = {"ThrA", "ThrB", "ThrN"};
static const size_t kind_size[NKINDS] = {24, 200, 64};

struct worker {
	pthread_t thread;
	void *ring[RING];
	/* Written by the thread only, read by main after the join. */
	uint64_t nallocs[NKINDS], nfrees[NKINDS], nbytes[NKINDS];
};

static struct worker workers[MAX_THREADS];
static unsigned nworkers;
static int stop_flag; /* atomic; set once to end the loops */
static pthread_barrier_t filled; /* every ring full, and main */

/* pt_alloc and pt_free want a literal tag (and record the line), hence the
 * switches. */
static void *alloc_kind(unsigned k)
{
	switch (k) {
	case 0:
		return pt_alloc(PT_PAGED, 24, "ThrA");
	case 1:
		return pt_alloc(PT_PAGED, 200, "ThrB");
	default:
		return pt_alloc(PT_NONPAGED, 64, "ThrN");
	}
}

static void free_kind(unsigned k, void *p)
{
	switch (k) {
	case 0:
		pt_free(p, "ThrA");
		break;
	case 1:
		pt_free(p, "ThrB");
		break;
	default:
		pt_free(p, "ThrN");
		break;
	}
}

static void *work(void *arg)
{
	struct worker *w = arg;
	unsigned s, k;

	for (uint64_t i = 0; !__atomic_load_n(&stop_flag, __ATOMIC_RELAXED); i++) {
		s = (unsigned)(i % RING);
		k = s % NKINDS;
		if (w->ring[s]) {
			free_kind(k, w->ring[s]);
			w->nfrees[k]++;
		}
		w->ring[s] = alloc_kind(k);
		/* A failure would break the test's lower bound: say so and stop. */
		if (!w->ring[s]) {
			perror("threads: allocation failed");
			exit(1);
		}
		w->nallocs[k]++;
		w->nbytes[k] += kind_size[k];
		if (i == RING - 1)
			pthread_barrier_wait(&filled);
	}
	for (s = 0; s < RING; s++) {
		if (w->ring[s]) {
			free_kind(s % NKINDS, w->ring[s]);
			w->nfrees[s % NKINDS]++;
			w->ring[s] = NULL;
		}
	}
	return NULL;
}

/* Stops and joins the threads, then prints what they did.  Idempotent. */
static void stop_all(void)
{
	uint64_t na, nf, nb;

	if (__atomic_exchange_n(&stop_flag, 1, __ATOMIC_RELAXED))
		return;
	for (unsigned t = 0; t < nworkers; t++)
		pthread_join(workers[t].thread, NULL);
	for (unsigned k = 0; k < NKINDS; k++) {
		na = nf = nb = 0;
		for (unsigned t = 0; t < nworkers; t++) {
			na += workers[t].nallocs[k];
			nf += workers[t].nfrees[k];
			nb += workers[t].nbytes[k];
		}
		printf("total %s %llu %llu %llu\n", kind_tag[k], (unsigned long long)na,
		       (unsigned long long)nf, (unsigned long long)nb);
	}
	printf("quiescent\n");
}

int main(int argc, char **argv)
{
	char line[64];
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 4;

	if (n < 1 || n > MAX_THREADS) {
		fprintf(stderr, "usage: threads [T], 1 <= T <= %d\n", MAX_THREADS);
		return 2;
	}
	nworkers = (unsigned)n;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("pid %d\n", (int)getpid());
	pthread_barrier_init(&filled, NULL, nworkers + 1);
	for (unsigned t = 0; t < nworkers; t++) {
		if (pthread_create(&workers[t].thread, NULL, work, &workers[t]) != 0) {
			fprintf(stderr, "threads: cannot create thread %u\n", t);
			return 1;
		}
	}
	pthread_barrier_wait(&filled);
	printf("running\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (strncmp(line, "stop", 4) == 0)
			stop_all();
		else if (strncmp(line, "quit", 4) == 0)
			break;
	}
	stop_all();
	pthread_barrier_destroy(&filled);
	return 0;
}
