/*
 * test_counter.c - exact counters under threads: per-thread shards, cross-
 * thread frees, shard reuse after thread exit, more threads than shards,
 * and concurrent readers that must never see a negative count.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <pooltag.h>

#include "pt_libtest.h"
#include "segread.h"

#define NTHREADS 8
#define OPS 100000
#define QCAP 1024

/* A bounded queue handing blocks from producers to consumers, so that
 * blocks are freed on other threads than the ones that allocated them. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void *items[QCAP];
	size_t head, tail;
	int producers_left;
} q = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static atomic_int stop_reader;
static atomic_long reader_reads, reader_bad;

static void q_put(void *p)
{
	pthread_mutex_lock(&q.lock);
	while (q.tail - q.head == QCAP)
		pthread_cond_wait(&q.cond, &q.lock);
	q.items[q.tail++ % QCAP] = p;
	pthread_cond_broadcast(&q.cond);
	pthread_mutex_unlock(&q.lock);
}

/* NULL once the queue is empty and every producer is done. */
static void *q_get(void)
{
	void *p = NULL;

	pthread_mutex_lock(&q.lock);
	while (q.tail == q.head && q.producers_left)
		pthread_cond_wait(&q.cond, &q.lock);
	if (q.tail != q.head)
		p = q.items[q.head++ % QCAP];
	pthread_cond_broadcast(&q.cond);
	pthread_mutex_unlock(&q.lock);
	return p;
}

/* Allocates under two tags; keeps some blocks, hands some to consumers,
 * frees the rest itself. */
static void *producer(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	void *keep[64] = {0};

	for (int i = 0; i < OPS; i++) {
		size_t n = 1 + rand_r(&seed) % 300;
		char *p = i & 1 ? pt_alloc(PT_PAGED, n, "MtA ") : pt_alloc(PT_NONPAGED, n, "MtB ");
		if (!p)
			abort();
		p[0] = (char)(i & 1);
		switch (i % 3) {
		case 0:
			q_put(p);
			break;
		case 1: {
			void **k = &keep[i % 64];
			if (*k) {
				if (*(char *)*k)
					pt_free(*k, "MtA ");
				else
					pt_free(*k, "MtB ");
			}
			*k = p;
			break;
		}
		default:
			if (p[0])
				pt_free(p, "MtA ");
			else
				pt_free(p, "MtB ");
		}
	}
	for (int i = 0; i < 64; i++)
		if (keep[i])
			q_put(keep[i]);
	pthread_mutex_lock(&q.lock);
	q.producers_left--;
	pthread_cond_broadcast(&q.cond);
	pthread_mutex_unlock(&q.lock);
	return NULL;
}

static void *consumer(void *arg)
{
	char *p;

	(void)arg;
	while ((p = q_get()) != NULL) {
		if (p[0])
			pt_free(p, "MtA ");
		else
			pt_free(p, "MtB ");
	}
	return NULL;
}

/* Reads the counters over and over while the others run. */
static void *reader(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_reader)) {
		struct pt_count a, b;
		pt_count_tag(PT_TAG("MtA "), PT_PAGED, &a);
		pt_count_tag(PT_TAG("MtB "), PT_NONPAGED, &b);
		if (a.nfrees > a.nallocs || b.nfrees > b.nallocs ||
		    a.curblocks != a.nallocs - a.nfrees || a.curbytes > (uint64_t)1 << 40 ||
		    b.curbytes > (uint64_t)1 << 40)
			atomic_fetch_add(&reader_bad, 1);
		atomic_fetch_add(&reader_reads, 1);
	}
	return NULL;
}

PT_TEST(test_cross_thread_exact)
{
	pthread_t prod[NTHREADS / 2], cons[NTHREADS / 2], rd;
	struct pt_count a, b;

	q.producers_left = NTHREADS / 2;
	pthread_create(&rd, NULL, reader, NULL);
	for (int i = 0; i < NTHREADS / 2; i++) {
		pthread_create(&prod[i], NULL, producer, (void *)(uintptr_t)(i + 1));
		pthread_create(&cons[i], NULL, consumer, NULL);
	}
	for (int i = 0; i < NTHREADS / 2; i++) {
		pthread_join(prod[i], NULL);
		pthread_join(cons[i], NULL);
	}
	atomic_store(&stop_reader, 1);
	pthread_join(rd, NULL);
	pt_count_tag(PT_TAG("MtA "), PT_PAGED, &a);
	pt_count_tag(PT_TAG("MtB "), PT_NONPAGED, &b);
	PT_CHECK_EQ(a.nallocs + b.nallocs, (uint64_t)OPS * (NTHREADS / 2));
	PT_CHECK_EQ(a.nfrees, a.nallocs);
	PT_CHECK_EQ(b.nfrees, b.nallocs);
	PT_CHECK_EQ(a.curbytes, 0);
	PT_CHECK_EQ(b.curbytes, 0);
	PT_CHECK(atomic_load(&reader_reads) > 0);
	PT_CHECK_EQ(atomic_load(&reader_bad), 0);
}

static void *short_lived(void *arg)
{
	void **out = arg;

	*out = pt_alloc(PT_PAGED, 33, "MtS ");
	return NULL;
}

/* 200 threads one after another: shards are reused, counts stay exact,
 * and a block allocated by a dead thread is freed by another. */
PT_TEST(test_thread_churn)
{
	void *blocks[200];
	struct pt_count c;

	for (int i = 0; i < 200; i++) {
		pthread_t t;
		pthread_create(&t, NULL, short_lived, &blocks[i]);
		pthread_join(t, NULL);
	}
	pt_count_tag(PT_TAG("MtS "), PT_PAGED, &c);
	PT_CHECK_EQ(c.curblocks, 200);
	PT_CHECK_EQ(c.curbytes, 200 * 33);
	for (int i = 0; i < 200; i++)
		pt_free(blocks[i], "MtS ");
	pt_count_tag(PT_TAG("MtS "), PT_PAGED, &c);
	PT_CHECK_EQ(c.nallocs, 200);
	PT_CHECK_EQ(c.curblocks, 0);
}

static pthread_barrier_t all_in;

/* 20000 blocks, every thread counting before any has counted its last and
 * left: 16 threads hold shards at once, so 12 or more share shard 0. */
static void *busy_together(void *arg)
{
	pt_free(pt_alloc(PT_PAGED, 8, "MtO "), "MtO ");
	pthread_barrier_wait(&all_in);
	for (int i = 1; i < 20000; i++)
		pt_free(pt_alloc(PT_PAGED, 8, "MtO "), "MtO ");
	pthread_barrier_wait(&all_in);
	return arg;
}

/* More threads at once than shards (the test runs with 4): the rest share
 * shard 0 with atomic updates and lose nothing. */
PT_TEST(test_more_threads_than_shards)
{
	pthread_t t[16];
	struct pt_count c;

	pthread_barrier_init(&all_in, NULL, 16);
	for (int i = 0; i < 16; i++)
		pthread_create(&t[i], NULL, busy_together, NULL);
	for (int i = 0; i < 16; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&all_in);
	pt_count_tag(PT_TAG("MtO "), PT_PAGED, &c);
	PT_CHECK_EQ(c.nallocs, 16 * 20000);
	PT_CHECK_EQ(c.nfrees, 16 * 20000);
	PT_CHECK_EQ(c.curbytes, 0);
	/* The CLI's reader of the segment sums shard 0 too. */
	{
		struct pt_view v;
		char err[512];
		uint64_t na = 0, nf = 0, ba = 0;

		pt_view_init(&v);
		PT_CHECK_EQ(pt_segread_pid(&v, getpid(), err, sizeof(err)), 0);
		for (size_t i = 0; i < v.nrows; i++) {
			if (v.rows[i].tag != PT_TAG("MtO ") || v.rows[i].pool != PT_PAGED)
				continue;
			na += v.rows[i].nallocs;
			nf += v.rows[i].nfrees;
			ba += v.rows[i].bytes_alloc;
		}
		PT_CHECK_EQ(na, 16 * 20000);
		PT_CHECK_EQ(nf, 16 * 20000);
		PT_CHECK_EQ(ba, 16 * 20000 * 8);
		pt_view_free(&v);
	}
}

int main(void)
{
	/* Few shards, so that threads overflow into the shared shard. */
	setenv("POOLTAG_MAX_SHARDS", "4", 1);
	PT_RUN(test_cross_thread_exact);
	PT_RUN(test_thread_churn);
	PT_RUN(test_more_threads_than_shards);
	PT_RUN(test_nothing_outstanding);
	return pt_test_done();
}
