/*
 * test_sample.c - the sampler (src/sample.c): the distribution of its
 * distances and the weights, then, through the library's API, the segment's
 * table of sampled stacks: estimates, releases, resizes and the bounds of
 * both tables.  Deterministic: fixed seeds, no timing.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pt_test.h"

#include "internal.h"

#define MEAN (512u << 10)

/* Sums over the segment's sample table. */
static void table_sums(uint64_t *nlive, uint64_t *est, uint64_t *ntaken)
{
	const struct pt_seg_header *h = pt_seg.hdr;

	*nlive = *est = *ntaken = 0;
	for (uint32_t i = 0; i < h->nsamples; i++) {
		*nlive += pt_seg.samples[i].nlive;
		*est += pt_seg.samples[i].live_est;
		*ntaken += pt_seg.samples[i].ntaken;
	}
}

PT_TEST(test_draw_is_exponential)
{
	uint64_t rng = 0x1234567887654321ull;
	double sum = 0, sq = 0;
	int below = 0, n = 200000;

	for (int i = 0; i < n; i++) {
		double d = (double)pt_sample_draw(&rng, MEAN);
		sum += d;
		sq += d * d;
		below += d < MEAN;
	}
	/* Mean and standard deviation both MEAN; P(d < mean) = 1 - 1/e.  The
	 * standard errors are 0.22 %, about 0.5 % and 0.1 %: bounds of 1 %,
	 * 3 % and 0.01 are over four of them. */
	double mean = sum / n, sd = sqrt(sq / n - mean * mean);
	PT_CHECK(fabs(mean / MEAN - 1) < 0.01);
	PT_CHECK(fabs(sd / MEAN - 1) < 0.03);
	PT_CHECK(fabs((double)below / n - (1 - exp(-1))) < 0.01);
	/* Never 0, whatever the state: a distance of 0 would sample every
	 * allocation after it. */
	rng = 1;
	for (int i = 0; i < 1000; i++)
		PT_CHECK(pt_sample_draw(&rng, 1) >= 1);
}

PT_TEST(test_weights)
{
	PT_CHECK_EQ(pt_sample_weight(0, MEAN), MEAN);
	/* Small blocks stand for about the mean (plus half their size)... */
	PT_CHECK_EQ(pt_sample_weight(16, MEAN), MEAN + 8);
	/* ...a block of the mean for mean / (1 - 1/e)... */
	PT_CHECK_EQ(pt_sample_weight(MEAN, MEAN), (uint64_t)(MEAN / (1 - exp(-1)) + 0.5));
	/* ...and a huge one, always sampled, for itself. */
	PT_CHECK_EQ(pt_sample_weight(100ull * MEAN, MEAN), 100ull * MEAN);
	PT_CHECK_EQ(pt_sample_weight(1000, 0), 1000);
}

PT_TEST(test_options)
{
	pt_seg_init();
	PT_CHECK_EQ(pt_config("sample=lots"), -1);
	PT_CHECK_HAS(pt_config_error(), "sample=lots");
	PT_CHECK_EQ(pt_config("sample.seed=-1"), -1);
	PT_CHECK_EQ(pt_config("sample=2T"), -1);
	PT_CHECK_EQ(pt_config("sample=64K"), 0);
	PT_CHECK_EQ(pt_seg.hdr->sample_mean, 64u << 10);
	PT_CHECK_EQ(pt_config("sample=512K,sample.seed=42"), 0);
	PT_CHECK_EQ(pt_seg.hdr->sample_mean, MEAN);
}

/* 64 MiB live in 4 KiB blocks: about 128 samples, an estimate within 4
 * standard deviations (sqrt(128) * 512 KiB, 9 %) of the truth; all gone
 * once freed. */
PT_TEST(test_estimate_and_release)
{
	enum { N = 16384, SIZE = 4096 };
	void **v = malloc(N * sizeof(*v));
	uint64_t nlive, est, ntaken, taken0;

	PT_CHECK_EQ(pt_config("sample=512K,sample.seed=3"), 0);
	table_sums(&nlive, &est, &taken0);
	PT_CHECK_EQ(nlive, 0);
	for (int i = 0; i < N; i++)
		v[i] = pt_alloc(PT_PAGED, SIZE, "Smp1");
	table_sums(&nlive, &est, &ntaken);
	PT_CHECK(nlive >= 80 && nlive <= 180);
	PT_CHECK_EQ(ntaken - taken0, nlive);
	PT_CHECK(fabs((double)est / (N * (double)SIZE) - 1) < 0.36);
	/* Half freed: about half the estimate gone. */
	for (int i = 0; i < N; i += 2)
		pt_free(v[i], "Smp1");
	uint64_t half_live, half_est;
	table_sums(&half_live, &half_est, &ntaken);
	PT_CHECK(half_live < nlive && half_live > nlive / 4);
	for (int i = 1; i < N; i += 2)
		pt_free(v[i], "Smp1");
	table_sums(&nlive, &est, &ntaken);
	PT_CHECK_EQ(nlive, 0);
	PT_CHECK_EQ(est, 0);
	free(v);
}

/* Resizing a sampled block (in place or moved) takes the old sample off;
 * the new size may be sampled again.  Every block sampled: sample=1. */
PT_TEST(test_resize)
{
	uint64_t nlive, est, ntaken;
	void *p, *q;

	PT_CHECK_EQ(pt_config("sample=1,sample.seed=5"), 0);
	p = pt_alloc(PT_PAGED, 100, "Smp2"); /* the thread restarts: not sampled */
	q = pt_alloc(PT_PAGED, 100, "Smp2"); /* sampled */
	PT_CHECK(pt_meta_sampled(((struct pt__hdr *)q - 1)->meta));
	table_sums(&nlive, &est, &ntaken);
	PT_CHECK_EQ(nlive, 1);
	PT_CHECK_EQ(est, pt_sample_weight(100, 1));
	q = pt_realloc(q, 200000, "Smp2");
	table_sums(&nlive, &est, &ntaken);
	PT_CHECK_EQ(nlive, 1);
	PT_CHECK_EQ(est, 200000);
	q = pt_realloc(q, 50, "Smp2");
	table_sums(&nlive, &est, &ntaken);
	PT_CHECK_EQ(nlive, 1);
	PT_CHECK_EQ(est, 50);
	pt_free(q, "Smp2");
	pt_free(p, "Smp2");
	table_sums(&nlive, &est, &ntaken);
	PT_CHECK_EQ(nlive, 0);
	PT_CHECK_EQ(est, 0);
}

/* The segment's table holds PT_SAMPLE_TABLE (stack, slot) pairs; samples
 * beyond it are counted as dropped, and never fail an allocation.  The live
 * table holds three quarters of PT_SAMPLE_LIVE blocks. */
PT_TEST(test_bounds)
{
	static struct pt_site site = {__FILE__, __func__, __LINE__, 0};
	enum { NTAGS = PT_SAMPLE_TABLE + 100, NLIVE = PT_SAMPLE_LIVE };
	void **v = malloc(NLIVE * sizeof(*v));
	uint64_t nlive, est, ntaken, dropped0 = pt_seg.hdr->sample_ndropped;
	uint32_t tags[NTAGS];

	PT_CHECK_EQ(pt_config("sample=1,sample.seed=9"), 0);
	pt_free(pt_alloc(PT_PAGED, 8, "Smp3"), "Smp3"); /* restarts the thread */
	/* The live table: one pair, many blocks (of 64 bytes: a distance of
	 * mean 1 byte exceeds that with probability e^-64). */
	for (int i = 0; i < NLIVE; i++)
		v[i] = pt_alloc(PT_PAGED, 64, "Smp3");
	table_sums(&nlive, &est, &ntaken);
	PT_CHECK_EQ(nlive, PT_SAMPLE_LIVE / 4 * 3);
	PT_CHECK_EQ(pt_seg.hdr->sample_ndropped - dropped0, NLIVE - PT_SAMPLE_LIVE / 4 * 3);
	for (int i = 0; i < NLIVE; i++)
		pt_free(v[i], "Smp3");
	table_sums(&nlive, &est, &ntaken);
	PT_CHECK_EQ(nlive, 0);
	PT_CHECK_EQ(est, 0);
	dropped0 = pt_seg.hdr->sample_ndropped;
	/* One slot per tag, the same stack: a pair per tag. */
	for (int i = 0; i < NTAGS; i++) {
		char t[5];
		snprintf(t, sizeof(t), "Q%03d", i % 1000);
		t[0] = (char)('Q' + i / 1000);
		memcpy(&tags[i], t, 4);
		v[i] = pt_alloc_at(&site, PT_PAGED, 16, tags[i]);
		PT_CHECK(v[i] != NULL);
	}
	PT_CHECK_EQ(pt_seg.hdr->nsamples, PT_SAMPLE_TABLE);
	PT_CHECK(pt_seg.hdr->sample_ndropped - dropped0 >= 100);
	for (int i = 0; i < NTAGS; i++)
		pt_free_at(&site, v[i], tags[i]);
	table_sums(&nlive, &est, &ntaken);
	PT_CHECK_EQ(nlive, 0);

	PT_CHECK_EQ(pt_config("sample=512K"), 0);
	free(v);
}

/* Threads sample, free and resize each other's sampled blocks at once:
 * every sample taken is taken off again (run under TSan too). */
static void *churn(void *arg)
{
	void *v[256] = {0};
	uint64_t s = (uintptr_t)arg * 7919 + 1;

	for (int i = 0; i < 20000; i++) {
		int k = i % 256;
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		if ((s >> 60) == 0)
			v[k] = pt_realloc(v[k], 64 + (s >> 40) % 8192, "Smp4");
		else {
			pt_free(v[k], "Smp4");
			v[k] = pt_alloc(PT_PAGED, 16 + (s >> 40) % 4096, "Smp4");
		}
	}
	for (int k = 0; k < 256; k++)
		pt_free(v[k], "Smp4");
	return NULL;
}

PT_TEST(test_threads)
{
	pthread_t th[4];
	uint64_t nlive, est, ntaken, taken0;

	PT_CHECK_EQ(pt_config("sample=4K"), 0);
	table_sums(&nlive, &est, &taken0);
	for (uintptr_t t = 0; t < 4; t++)
		pthread_create(&th[t], NULL, churn, (void *)t);
	for (int t = 0; t < 4; t++)
		pthread_join(th[t], NULL);
	table_sums(&nlive, &est, &ntaken);
	PT_CHECK(ntaken - taken0 > 1000);
	PT_CHECK_EQ(nlive, 0);
	PT_CHECK_EQ(est, 0);
	PT_CHECK_EQ(pt_config("sample=512K"), 0);
}

PT_TEST(test_nothing_outstanding)
{
	struct pt_count c;

	PT_CHECK_EQ(pt_count_pool(PT_PAGED, &c), 0);
	PT_CHECK_EQ(c.curblocks, 0);
}

int main(void)
{
	PT_RUN(test_draw_is_exponential);
	PT_RUN(test_weights);
	PT_RUN(test_options);
	PT_RUN(test_estimate_and_release);
	PT_RUN(test_resize);
	PT_RUN(test_threads);
	PT_RUN(test_bounds); /* last: it fills the table */
	PT_RUN(test_nothing_outstanding);
	return pt_test_done();
}
