/*
 * test_shard.c - per-thread counter shards (src/shard.c): a thread counts
 * in a shard of its own, which the next thread reuses after it exits; a
 * read sums a slot over the shards and never shows more freed than
 * allocated; the fork window holds the counts made while a fork is under
 * way and hands them to shard 0 (the parent) or to the child's copy; the
 * counting calls refuse bad arguments.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include <pooltag.h>

#include "internal.h"
#include "pt_libtest.h"

/* A slot of its own for each test: a site made at run time. */
static uint32_t new_slot(struct pt_site *site, const char *tag)
{
	uint32_t slot;

	pt_seg_lock();
	slot = pt_registry_slot(site, pt_tag_make(tag), PT_PAGED);
	pt_seg_unlock();
	return slot;
}

static struct pt_count sum(uint32_t slot)
{
	struct pt_count c;

	pt_slot_sum(slot, &c);
	return c;
}

PT_TEST(test_bad_arguments)
{
	struct pt_count c;

	errno = 0;
	PT_CHECK_EQ(pt_count_tag(PT_TAG("Shd0"), PT_NPOOLS, &c), -1);
	PT_CHECK_EQ(errno, EINVAL);
	errno = 0;
	PT_CHECK_EQ(pt_count_tag(PT_TAG("Shd0"), (enum pt_pool)-1, &c), -1);
	PT_CHECK_EQ(errno, EINVAL);
	errno = 0;
	PT_CHECK_EQ(pt_count_pool(PT_NONPAGED, NULL), -1);
	PT_CHECK_EQ(errno, EINVAL);
	PT_CHECK_EQ(pt_count_pool(PT_NONPAGED, &c), 0);
}

/* ---- a shard per thread ---- */

static struct pt_site thread_site = {"shard.c", "worker", 1, 0};
static uint32_t thread_slot;

static pthread_barrier_t both; /* two threads alive at once */

/* Counts n events of 8 bytes at thread_slot (then, when n > 1, waits for
 * the other thread, so that both hold their shards at once); returns the
 * thread's shard. */
static void *count_n(void *arg)
{
	for (uintptr_t i = 0; i < (uintptr_t)arg; i++)
		pt_count_event(thread_slot, 8, 0);
	if ((uintptr_t)arg > 1)
		pthread_barrier_wait(&both);
	return __atomic_load_n(&pt__tls_ctr, __ATOMIC_RELAXED);
}

static int shard_no(const struct pt__ctr *c)
{
	for (uint32_t s = 0; s < pt_seg.hdr->nshards; s++)
		if (c == pt_seg_shard(s))
			return (int)s;
	return -1;
}

/* Each thread's counts are in its shard alone; the sum is every shard's;
 * a thread started after another ended takes its shard. */
PT_TEST(test_shard_per_thread)
{
	pthread_t a, b;
	void *ca = NULL, *cb = NULL, *cc = NULL;
	uint32_t nshards;
	int sa, sb;

	thread_slot = new_slot(&thread_site, "Shd1");
	pt_count_event(thread_slot, 8, 0); /* this thread: a shard of its own */
	PT_CHECK(pt__tls_ctr != NULL);
	PT_CHECK(shard_no(pt__tls_ctr) > 0);
	pthread_barrier_init(&both, NULL, 2);
	PT_CHECK_EQ(pthread_create(&a, NULL, count_n, (void *)10), 0);
	PT_CHECK_EQ(pthread_create(&b, NULL, count_n, (void *)20), 0);
	pthread_join(a, &ca);
	pthread_join(b, &cb);
	pthread_barrier_destroy(&both);
	sa = shard_no(ca);
	sb = shard_no(cb);
	PT_CHECK(sa > 0 && sb > 0 && sa != sb && sa != shard_no(pt__tls_ctr));
	if (sa > 0 && sb > 0) {
		PT_CHECK_EQ(pt_seg_shard((uint32_t)sa)[thread_slot].nallocs, 10);
		PT_CHECK_EQ(pt_seg_shard((uint32_t)sb)[thread_slot].nallocs, 20);
		PT_CHECK_EQ(pt_seg_shard((uint32_t)sb)[thread_slot].bytes_alloc, 160);
	}
	PT_CHECK_EQ(sum(thread_slot).nallocs, 31);
	PT_CHECK_EQ(sum(thread_slot).curbytes, 31 * 8);

	/* One at a time: each takes a shard released before, none is made. */
	nshards = pt_seg.hdr->nshards;
	for (int i = 0; i < 4; i++) {
		PT_CHECK_EQ(pthread_create(&a, NULL, count_n, (void *)1), 0);
		pthread_join(a, &cc);
		PT_CHECK(cc == ca || cc == cb);
	}
	PT_CHECK_EQ(pt_seg.hdr->nshards, nshards);
	PT_CHECK_EQ(sum(thread_slot).nallocs, 35);
	for (int i = 0; i < 35; i++)
		pt_count_event(thread_slot, 8, 1);
	PT_CHECK_EQ(sum(thread_slot).curblocks, 0);
	PT_CHECK_EQ(sum(thread_slot).curbytes, 0);
}

/* A read never shows more freed than allocated, whatever the shards say
 * (a free counted before the allocation it pairs with was read). */
PT_TEST(test_sum_never_below_zero)
{
	static struct pt_site site = {"shard.c", "clamp", 2, 0};
	uint32_t slot = new_slot(&site, "Shd2");
	struct pt__ctr *s0 = pt_seg_shard(0) + slot;
	struct pt_count c;

	pt_count_event(slot, 100, 0);
	pt_count_event(slot, 100, 0);
	__atomic_fetch_add(&s0->nfrees, 5, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s0->bytes_freed, 500, __ATOMIC_RELAXED);
	c = sum(slot);
	PT_CHECK_EQ(c.nallocs, 2);
	PT_CHECK_EQ(c.nfrees, 2);
	PT_CHECK_EQ(c.curblocks, 0);
	PT_CHECK_EQ(c.curbytes, 0);
	PT_CHECK_EQ(pt_count_tag(PT_TAG("Shd2"), PT_PAGED, &c), 0);
	PT_CHECK_EQ(c.nfrees, 2);
	PT_CHECK_EQ(c.curblocks, 0);
	/* One short of the allocations is shown as it is. */
	__atomic_fetch_sub(&s0->nfrees, 4, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&s0->bytes_freed, 400, __ATOMIC_RELAXED);
	c = sum(slot);
	PT_CHECK_EQ(c.nfrees, 1);
	PT_CHECK_EQ(c.curblocks, 1);
	PT_CHECK_EQ(c.curbytes, 100);
	__atomic_fetch_sub(&s0->nfrees, 1, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&s0->bytes_freed, 100, __ATOMIC_RELAXED);
	pt_count_event(slot, 100, 1);
	pt_count_event(slot, 100, 1);
	PT_CHECK_EQ(sum(slot).curblocks, 0);
}

/* ---- the fork window ---- */

/* While the window is open (a fork's prepare handler to the parent's
 * handler), counts go into it, not into any shard: a read shows the counts
 * of its opening.  Closed, they are in shard 0 and the thread has its
 * shard back. */
PT_TEST(test_window_to_shard0)
{
	static struct pt_site site = {"shard.c", "window", 3, 0};
	uint32_t slot = new_slot(&site, "Shd3");
	struct pt__ctr *mine, before0;
	int opened;

	pt_count_event(slot, 10, 0);
	mine = pt__tls_ctr;
	before0 = pt_seg_shard(0)[slot];
	PT_CHECK_EQ(pt_shard_window_count(slot, 10, 0), 0); /* closed: not taken */
	pt_seg_lock();
	opened = pt_shard_window_open();
	pt_seg_unlock();
	PT_CHECK_EQ(opened, 1);
	PT_CHECK(pt__tls_ctr == NULL);
	for (int i = 0; i < 3; i++)
		pt_count_event(slot, 10, 0);
	pt_count_event(slot, 10, 1);
	PT_CHECK_EQ(pt_shard_window_count(slot, 10, 0), 1);
	PT_CHECK_EQ(sum(slot).nallocs, 1);
	PT_CHECK_EQ(sum(slot).nfrees, 0);
	pt_seg_lock();
	pt_shard_window_close();
	pt_seg_unlock();
	PT_CHECK(pt__tls_ctr == mine);
	PT_CHECK_EQ(sum(slot).nallocs, 5);
	PT_CHECK_EQ(sum(slot).nfrees, 1);
	PT_CHECK_EQ(sum(slot).curbytes, 40);
	PT_CHECK_EQ(pt_seg_shard(0)[slot].nallocs - before0.nallocs, 4);
	PT_CHECK_EQ(pt_seg_shard(0)[slot].bytes_freed - before0.bytes_freed, 10);
	PT_CHECK_EQ(mine[slot].nallocs, 1);
	for (int i = 0; i < 4; i++)
		pt_count_event(slot, 10, 1);
	PT_CHECK_EQ(sum(slot).curblocks, 0);
}

/* The child adds the window to its copy of shard 0; nothing of it is
 * left for the parent's close to move again. */
PT_TEST(test_window_to_child)
{
	static struct pt_site site = {"shard.c", "child", 4, 0};
	uint32_t slot = new_slot(&site, "Shd4"), nslots = pt_seg.hdr->nslots;
	struct pt__ctr *copy = calloc(nslots, sizeof(*copy));

	PT_CHECK(copy != NULL);
	if (!copy)
		return;
	pt_seg_lock();
	PT_CHECK_EQ(pt_shard_window_open(), 1);
	pt_seg_unlock();
	pt_count_event(slot, 7, 0);
	pt_count_event(slot, 7, 0);
	pt_count_event(slot, 7, 1);
	pt_shard_window_child(copy, nslots);
	PT_CHECK_EQ(copy[slot].nallocs, 2);
	PT_CHECK_EQ(copy[slot].bytes_alloc, 14);
	PT_CHECK_EQ(copy[slot].nfrees, 1);
	PT_CHECK_EQ(copy[slot].bytes_freed, 7);
	PT_CHECK_EQ(copy[slot - 1].nallocs, 0);
	PT_CHECK_EQ(pt_shard_window_count(slot, 7, 0), 0); /* closed for the child */
	pt_seg_lock();
	pt_shard_window_close();
	pt_seg_unlock();
	PT_CHECK_EQ(sum(slot).nallocs, 0);
	free(copy);
}

int main(void)
{
	PT_RUN(test_bad_arguments);
	PT_RUN(test_shard_per_thread);
	PT_RUN(test_sum_never_below_zero);
	PT_RUN(test_window_to_shard0);
	PT_RUN(test_window_to_child);
	PT_RUN(test_nothing_outstanding);
	return pt_test_done();
}
