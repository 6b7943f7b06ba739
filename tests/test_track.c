/*
 * test_track.c - a record per live block while blocks are tracked
 * (src/track.c): one record for each block made while the layer is
 * installed, in front of its header, with the block's slot and (with
 * stacks) its stack; pt_track_each visits each live record once; records
 * of blocks freed (or moved) go, whenever the block is freed; a fork
 * child's own records have its generation; a thread parked by the exit
 * scan is parked only once it leaves its critical section; and concurrent
 * threads keep the count exact.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pooltag.h>

#include "internal.h"
#include "pt_libtest.h"

static struct pt_trec *rec_of(void *p)
{
	return (struct pt_trec *)((char *)p - pt_block_room(PT_ALIGN_TRACKED));
}

/* More blocks than lists, so that lists hold several records. */
#define NBLOCKS 256

/* pt_track_each's visits to the records of blocks[0..n). */
struct visits {
	void **blocks;
	int n, seen[NBLOCKS], others;
};

static void visit(struct pt_trec *r, void *arg)
{
	struct visits *v = arg;

	for (int i = 0; i < v->n; i++)
		if (v->blocks[i] && r == rec_of(v->blocks[i])) {
			v->seen[i]++;
			return;
		}
	v->others++;
}

PT_TEST(test_records_follow_blocks)
{
	void *p[NBLOCKS];
	struct visits v = {p, NBLOCKS, {0}, 0};
	size_t n0;
	uint32_t slot;

	PT_CHECK_EQ(pt_track_set(PT_TRACK_BLOCKS), 0);
	n0 = pt_track_count();
	for (int i = 0; i < NBLOCKS; i++)
		p[i] = pt_alloc(PT_PAGED, 8 + (size_t)i, "Trk1");
	PT_CHECK_EQ(pt_track_count(), n0 + NBLOCKS);
	slot = rec_of(p[0])->slot;
	PT_CHECK(slot != 0);
	for (int i = 0; i < NBLOCKS; i++) {
		PT_CHECK_EQ((uintptr_t)p[i] % 16, 0);
		PT_CHECK_EQ(rec_of(p[i])->slot, slot);
		PT_CHECK_EQ(rec_of(p[i])->stack, 0); /* no stacks asked for */
		PT_CHECK_EQ(rec_of(p[i])->gen, pt_track_gen);
		PT_CHECK_EQ(pt_size(p[i]), 8 + (size_t)i);
	}
	pt_track_each(visit, &v);
	for (int i = 0; i < NBLOCKS; i++)
		PT_CHECK_EQ(v.seen[i], 1);
	PT_CHECK_EQ((size_t)v.others, n0);
	PT_CHECK_EQ(pt_track_block_sample(slot), 0);

	/* Every other block freed: only the rest are visited. */
	for (int i = 0; i < NBLOCKS; i += 2) {
		pt_free(p[i], "Trk1");
		p[i] = NULL;
	}
	PT_CHECK_EQ(pt_track_count(), n0 + NBLOCKS / 2);
	memset(v.seen, 0, sizeof(v.seen));
	v.others = 0;
	pt_track_each(visit, &v);
	for (int i = 1; i < NBLOCKS; i += 2)
		PT_CHECK_EQ(v.seen[i], 1);
	PT_CHECK_EQ((size_t)v.others, n0);
	for (int i = 1; i < NBLOCKS; i += 2)
		pt_free(p[i], "Trk1");
	PT_CHECK_EQ(pt_track_count(), n0);
	PT_CHECK_EQ(pt_track_set(0), PT_TRACK_BLOCKS);
}

/* A block made before tracking has no record; moved while tracking, it
 * gets one.  A block made while tracking loses its record when it is
 * freed, tracking on or off. */
PT_TEST(test_on_and_off)
{
	void *before = pt_alloc(PT_PAGED, 32, "Trk2"), *during, *gone;
	size_t n0;

	PT_CHECK_EQ(pt_track_set(PT_TRACK_BLOCKS), 0);
	n0 = pt_track_count();
	gone = pt_alloc(PT_PAGED, 16, "Trk2");
	PT_CHECK_EQ(pt_track_count(), n0 + 1);
	pt_free(gone, "Trk2");
	PT_CHECK_EQ(pt_track_count(), n0);
	before = pt_realloc(before, 48, "Trk2");
	PT_CHECK(before != NULL);
	PT_CHECK_EQ(pt_track_count(), n0 + 1);
	PT_CHECK_EQ(pt_size(before), 48);
	during = pt_alloc(PT_PAGED, 16, "Trk2");
	PT_CHECK_EQ(pt_track_count(), n0 + 2);
	PT_CHECK_EQ(pt_track_set(0), PT_TRACK_BLOCKS);

	/* Tracking off: new blocks get no record; old ones still lose theirs. */
	gone = pt_alloc(PT_PAGED, 16, "Trk2");
	PT_CHECK_EQ(pt_track_count(), n0 + 2);
	pt_free(gone, "Trk2");
	pt_free(during, "Trk2");
	PT_CHECK_EQ(pt_track_count(), n0 + 1);
	pt_free(before, "Trk2");
	PT_CHECK_EQ(pt_track_count(), n0);
	PT_CHECK_EQ(count_of("Trk2", PT_PAGED).curblocks, 0);
}

/* With stacks, each record has one, and a slot's sample is one of a live
 * block's. */
PT_TEST(test_sample_stack)
{
	void *a, *b;
	uint32_t slot;

	pt_track_set(PT_TRACK_BLOCKS | PT_TRACK_STACKS);
	a = pt_alloc(PT_PAGED, 8, "Trk3");
	b = pt_alloc(PT_PAGED, 8, "Trk4");
	slot = rec_of(a)->slot;
	PT_CHECK(rec_of(a)->stack != 0);
	PT_CHECK(rec_of(b)->slot != slot);
	PT_CHECK_EQ(pt_track_block_sample(slot), rec_of(a)->stack);
	pt_free(a, "Trk3");
	PT_CHECK_EQ(pt_track_block_sample(slot), 0);
	PT_CHECK_EQ(pt_track_block_sample(rec_of(b)->slot), rec_of(b)->stack);
	pt_free(b, "Trk4");
	pt_track_set(0);
}

/* A fork child starts a generation: what it inherited is older. */
PT_TEST(test_fork_generation)
{
	void *old;
	uint32_t gen = pt_track_gen;
	int st = -1;
	pid_t pid;

	pt_track_set(PT_TRACK_BLOCKS);
	old = pt_alloc(PT_PAGED, 8, "Trk5");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		void *mine = pt_alloc(PT_PAGED, 8, "Trk5");
		int rc = pt_track_gen == gen + 1 && rec_of(old)->gen == gen &&
		                 rec_of(mine)->gen == gen + 1
		             ? 0
		             : 1;

		pt_free(mine, "Trk5");
		if (pt_export_path())
			unlink(pt_export_path());
		_exit(rc);
	}
	waitpid(pid, &st, 0);
	PT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	PT_CHECK_EQ(pt_track_gen, gen);
	pt_free(old, "Trk5");
	pt_track_set(0);
}

/* ---- parking ---- */

static int parked, cs_when_parked;
static size_t count_when_parked;

static void park(void)
{
	parked++;
	cs_when_parked = pt_track_cs;
	count_when_parked = pt_track_count();
}

/* A stop requested inside the critical section waits for its end: the
 * block is then counted and recorded, and the thread parks once. */
PT_TEST(test_park_after_critical_section)
{
	void *p;
	size_t n0;

	pt_track_set(PT_TRACK_BLOCKS);
	n0 = pt_track_count();
	__atomic_store_n(&pt_track_cs_park, park, __ATOMIC_RELEASE);
	pt_track_cs_pending = 1;
	p = pt_alloc(PT_PAGED, 8, "Trk6");
	PT_CHECK_EQ(parked, 1);
	PT_CHECK_EQ(cs_when_parked, 0);
	PT_CHECK_EQ(count_when_parked, n0 + 1);
	PT_CHECK_EQ(pt_track_cs_pending, 0);
	PT_CHECK_EQ(pt_track_cs, 0);
	pt_free(p, "Trk6");
	PT_CHECK_EQ(parked, 1); /* nothing pending: no park */
	pt_track_cs_pending = 1;
	pt_free(pt_alloc(PT_PAGED, 8, "Trk6"), "Trk6");
	PT_CHECK_EQ(parked, 2);
	PT_CHECK_EQ(count_when_parked, n0 + 1); /* after the alloc; the free parks no more */
	__atomic_store_n(&pt_track_cs_park, NULL, __ATOMIC_RELEASE);
	pt_track_cs_pending = 0;
	pt_track_set(0);
	PT_CHECK_EQ(pt_track_count(), n0);
}

/* ---- threads ---- */

#define NTHREADS 4
#define ROUNDS   20000

static void *churn(void *arg)
{
	void *keep[8] = {0};

	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		int k = i % 8;

		if (keep[k])
			pt_free(keep[k], "TrkT");
		keep[k] = pt_alloc(PT_PAGED, 16, "TrkT");
	}
	for (int k = 0; k < 8; k++)
		pt_free(keep[k], "TrkT");
	return NULL;
}

PT_TEST(test_threads)
{
	pthread_t th[NTHREADS];
	size_t n0;

	pt_track_set(PT_TRACK_BLOCKS);
	n0 = pt_track_count();
	for (int i = 0; i < NTHREADS; i++)
		PT_CHECK_EQ(pthread_create(&th[i], NULL, churn, NULL), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	PT_CHECK_EQ(pt_track_count(), n0);
	PT_CHECK_EQ(count_of("TrkT", PT_PAGED).nallocs, NTHREADS * ROUNDS);
	PT_CHECK_EQ(count_of("TrkT", PT_PAGED).curblocks, 0);
	pt_track_set(0);
}

int main(void)
{
	PT_RUN(test_records_follow_blocks);
	PT_RUN(test_on_and_off);
	PT_RUN(test_sample_stack);
	PT_RUN(test_fork_generation);
	PT_RUN(test_park_after_critical_section);
	PT_RUN(test_threads);
	PT_RUN(test_nothing_outstanding);
	return pt_test_done();
}
