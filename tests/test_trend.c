/*
 * test_trend.c - trends of a recording (cli/model/trend.c): the
 * least-squares fit, the shapes trend tells apart and the boundaries
 * between them, the order of the series, and series per tag or per site.
 * Recordings are written and read back the way pooltag record and pooltag
 * trend do (recording.c), one sample a second.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pooltag.h"
#include "pt_rectest.h"
#include "pt_test.h"
#include "recording.h"
#include "trend.h"

static char tmpdir[64] = "/tmp/pt-test-trend.XXXXXX";
static char path[128];
static char errbuf[1024];

#define NEAR(a, b, eps) ((a) - (b) < (eps) && (b) - (a) < (eps))

/* ---------------------------------------------------------------------------
 * The fit
 */

PT_TEST(test_fit_exact_line)
{
	struct pt_fit_acc a = {0};
	struct pt_fit f;

	for (int i = 0; i < 10; i++)
		pt_fit_add(&a, 0.5 * i, 3 + 2 * 0.5 * i);
	PT_CHECK_EQ(pt_fit_solve(&a, &f), 0);
	PT_CHECK(NEAR(f.slope, 2, 1e-9));
	PT_CHECK(NEAR(f.intercept, 3, 1e-9));
	PT_CHECK(NEAR(f.r2, 1, 1e-9));
}

/* Counters in the trillions with a slope of 5: the shift by the first point
 * keeps the digits that matter. */
PT_TEST(test_fit_large_counters)
{
	struct pt_fit_acc a = {0};
	struct pt_fit f;

	for (int i = 0; i <= 100; i++)
		pt_fit_add(&a, 1000 + i, 1e12 + 5.0 * i + (i % 2 ? 0.5 : -0.5));
	PT_CHECK_EQ(pt_fit_solve(&a, &f), 0);
	PT_CHECK(NEAR(f.slope, 5, 1e-3));
	PT_CHECK(f.r2 > 0.999 && f.r2 <= 1);
	PT_CHECK(NEAR(f.intercept + f.slope * 1000, 1e12, 1));
}

PT_TEST(test_fit_degenerate)
{
	struct pt_fit_acc a = {0};
	struct pt_fit f;

	PT_CHECK_EQ(pt_fit_solve(&a, &f), -1);
	pt_fit_add(&a, 1, 1);
	PT_CHECK_EQ(pt_fit_solve(&a, &f), -1); /* one point */
	pt_fit_add(&a, 1, 5);
	PT_CHECK_EQ(pt_fit_solve(&a, &f), -1); /* no time passed */
	PT_CHECK(f.slope == 0 && f.r2 == 0);
	memset(&a, 0, sizeof(a));
	for (int i = 0; i < 5; i++)
		pt_fit_add(&a, i, 7);
	PT_CHECK_EQ(pt_fit_solve(&a, &f), 0); /* flat: no slope, nothing explained */
	PT_CHECK(f.slope == 0 && f.r2 == 0 && NEAR(f.intercept, 7, 1e-9));
	memset(&a, 0, sizeof(a));
	for (int i = 0; i < 40; i++) /* a triangle: rises and falls */
		pt_fit_add(&a, i, i < 20 ? i : 40 - i);
	PT_CHECK_EQ(pt_fit_solve(&a, &f), 0);
	PT_CHECK(f.r2 < 0.1);
}

/* ---------------------------------------------------------------------------
 * Trends
 */

/* The outstanding count of each test tag at sample i of n (one per second). */
static uint64_t shape_count(int which, int i, int n)
{
	switch (which) {
	case 0: /* Stdy: 10 more per second, a little noise */
		return (uint64_t)(100 + 10 * i + (i % 3 == 0 ? 2 : 0));
	case 1: /* Wave: rises to 50, then back to where it began */
		return (uint64_t)(i < n / 2 ? 5 + 5 * i : 5 + 5 * (n - i) - 5);
	case 2: /* Plat: grows, then levels off for the second half */
		return (uint64_t)(i < n / 2 ? 10 * i : 10 * (n / 2));
	case 3: /* Flat */
		return 42;
	case 5: /* Rse1: one block more at the second sample only */
		return i == 1 ? 11 : 10;
	default: /* Fall */
		return (uint64_t)(1000 - 7 * i);
	}
}

PT_TEST(test_trend_shapes)
{
	static const char *const tags[] = {"Stdy", "Wave", "Plat", "Flat", "Fall", "Rse1"};
	static const int want[] = {PT_SHAPE_STEADY, PT_SHAPE_RETURNS, PT_SHAPE_LEVELS,
	                           PT_SHAPE_FLAT,   PT_SHAPE_FALLING, PT_SHAPE_RETURNS};
	struct pt_rec_writer *w = NULL;
	struct pt_recording r;
	struct pt_trend *t = NULL;
	size_t nt = 0;
	const int n = 30;

	for (int i = 0; i < n; i++) {
		struct pt_view v;

		head(&v, (int64_t)i * 1000000000);
		for (int k = 0; k < 6; k++) {
			uint64_t c = shape_count(k, i, n);

			/* Allocations go on; the frees make up the difference. */
			row(&v, tags[k], PT_PAGED, (uint32_t)k, 2000 + 100 * (uint64_t)i,
			    2000 + 100 * (uint64_t)i - c, 64);
		}
		/* A tag that leaked only its last sample: too short to tell. */
		if (i == n - 1)
			row(&v, "Late", PT_PAGED, 9, 5, 0, 8);
		if (i == 0)
			w = pt_rec_create(path, &v, 1000000, errbuf, sizeof(errbuf));
		PT_CHECK(w != NULL);
		if (w)
			PT_CHECK_EQ(pt_rec_append(w, &v, errbuf, sizeof(errbuf)), 0);
		pt_view_free(&v);
	}
	PT_CHECK_EQ(pt_rec_close(w, errbuf, sizeof(errbuf)), 0);
	pt_rec_init(&r);
	PT_CHECK_EQ(pt_rec_read(&r, path, errbuf, sizeof(errbuf)), 0);
	PT_CHECK_EQ(pt_trend_compute(&r, 0, &t, &nt), 0);
	PT_CHECK_EQ(nt, 7);
	for (size_t i = 0; i < nt; i++) {
		int k = 0;

		while (k < 6 && memcmp(&t[i].tag, tags[k], 4))
			k++;
		if (k == 6) {
			PT_CHECK(!memcmp(&t[i].tag, "Late", 4));
			PT_CHECK_EQ(t[i].shape, PT_SHAPE_SHORT);
			PT_CHECK_EQ(t[i].first, n - 1);
			continue;
		}
		if (t[i].shape != want[k])
			PT_FAIL_("%s: shape %s, expected %s", tags[k], pt_shape_name(t[i].shape),
			         pt_shape_name(want[k]));
		if (k == 0) {
			PT_CHECK_EQ(i, 0); /* the leak comes first */
			PT_CHECK(NEAR(t[i].count.slope, 10, 0.2));
			PT_CHECK(NEAR(t[i].bytes.slope, 640, 13));
			PT_CHECK(t[i].count.r2 > 0.99);
			PT_CHECK(t[i].count0 == 102 && t[i].count1 == 390);
			PT_CHECK(NEAR(t[i].seconds, n - 1, 1e-9));
			PT_CHECK_EQ(t[i].frees, 100 * (n - 1) - (t[i].count1 - t[i].count0));
		}
	}
	free(t);
	/* Per site: the same verdicts, each series pointing at its row. */
	PT_CHECK_EQ(pt_trend_compute(&r, 1, &t, &nt), 0);
	PT_CHECK_EQ(nt, 7);
	PT_CHECK(nt && t[0].site && t[0].site->line == 0 && t[0].shape == PT_SHAPE_STEADY);
	for (size_t i = 1; i < nt; i++)
		PT_CHECK(t[i].shape != PT_SHAPE_STEADY);
	free(t);
	pt_rec_free(&r);
}


/* ---------------------------------------------------------------------------
 * Shapes at their boundaries, and the order of the series
 */

PT_TEST(test_shape_names)
{
	static const char *const want[] = {"steady",  "short",     "flat",      "returns",
	                                   "falling", "irregular", "levels off"};

	for (int s = 0; s <= PT_SHAPE_LEVELS; s++)
		PT_CHECK_STR(pt_shape_name(s), want[s]);
	PT_CHECK_STR(pt_shape_name(-1), "?");
	PT_CHECK_STR(pt_shape_name(PT_SHAPE_LEVELS + 1), "?");
}

/* One series per tag of tags[0..ntags): counts[k][i] outstanding at sample
 * i (sample i taken at times[i] seconds, or i when times is NULL), each
 * block of 8 bytes, with 1000 + i allocations; a count of -1 leaves the
 * tag out of that sample. */
struct series {
	const char *const *tags;
	int ntags, n;
	const int (*counts)[12];
	const int *times;
};

static struct pt_trend *trends_of(const struct series *s, int sites, struct pt_recording *r,
                                  size_t *nt)
{
	struct pt_rec_writer *w = NULL;
	struct pt_trend *t = NULL;

	*nt = 0;
	for (int i = 0; i < s->n; i++) {
		struct pt_view v;

		head(&v, (int64_t)(s->times ? s->times[i] : i) * 1000000000);
		for (int k = 0; k < s->ntags; k++)
			if (s->counts[k][i] >= 0)
				row(&v, s->tags[k], PT_PAGED, (uint32_t)k, 1000 + (uint64_t)i,
				    1000 + (uint64_t)i - (uint64_t)s->counts[k][i], 8);
		if (i == 0)
			w = pt_rec_create(path, &v, 1000000, errbuf, sizeof(errbuf));
		if (w)
			PT_CHECK_EQ(pt_rec_append(w, &v, errbuf, sizeof(errbuf)), 0);
		pt_view_free(&v);
	}
	PT_CHECK(w != NULL);
	PT_CHECK_EQ(pt_rec_close(w, errbuf, sizeof(errbuf)), 0);
	pt_rec_init(r);
	PT_CHECK_EQ(pt_rec_read(r, path, errbuf, sizeof(errbuf)), 0);
	PT_CHECK_EQ(pt_trend_compute(r, sites, &t, nt), 0);
	return t;
}

static const struct pt_trend *find(const struct pt_trend *t, size_t nt, const char *tag)
{
	for (size_t i = 0; i < nt; i++)
		if (!memcmp(&t[i].tag, tag, 4))
			return &t[i];
	PT_FAIL_("no series for %s", tag);
	return NULL;
}

static void check_shape(const struct pt_trend *t, size_t nt, const char *tag, int want)
{
	const struct pt_trend *s = find(t, nt, tag);

	if (s && s->shape != want)
		PT_FAIL_("%s: shape %s, expected %s", tag, pt_shape_name(s->shape),
		         pt_shape_name(want));
}

/* Nine samples: the last third is samples 6 to 8.  A series whose last
 * third reaches no higher than its first two thirds levels off; one more
 * block there and it is a leak. */
PT_TEST(test_levels_off_boundary)
{
	static const char *const tags[] = {"Levl", "Stdy"};
	static const int counts[][12] = {{1, 2, 3, 4, 5, 6, 6, 6, 6}, {1, 2, 3, 4, 5, 6, 6, 6, 7}};
	struct series s = {tags, 2, 9, counts, NULL};
	struct pt_recording r;
	struct pt_trend *t;
	size_t nt;

	t = trends_of(&s, 0, &r, &nt);
	PT_CHECK_EQ(nt, 2);
	check_shape(t, nt, "Levl", PT_SHAPE_LEVELS);
	check_shape(t, nt, "Stdy", PT_SHAPE_STEADY);
	free(t);
	pt_rec_free(&r);
}

/* A rise whose line fits poorly is irregular; one that falls back to its
 * first value returns, even if it ends higher; one that ends where it
 * began falls. */
PT_TEST(test_irregular_returns_falling)
{
	static const char *const tags[] = {"Irrg", "Back", "Same", "Down"};
	static const int counts[][12] = {{10, 200, 11, 200, 12, 200, 13, 200, 14, 200, 15, 200},
	                                 {10, 20, 30, 10, 40, 50, 60, 70, 80, 90, 100, 110},
	                                 {10, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 10},
	                                 {50, 45, 40, 30, 20, 10, 5, 4, 3, 2, 1, 0}};
	struct series s = {tags, 4, 12, counts, NULL};
	struct pt_recording r;
	struct pt_trend *t;
	size_t nt;

	t = trends_of(&s, 0, &r, &nt);
	PT_CHECK_EQ(nt, 4);
	check_shape(t, nt, "Irrg", PT_SHAPE_IRREGULAR);
	check_shape(t, nt, "Back", PT_SHAPE_RETURNS);
	check_shape(t, nt, "Same", PT_SHAPE_FALLING);
	check_shape(t, nt, "Down", PT_SHAPE_FALLING);
	free(t);
	pt_rec_free(&r);
}

/* Three samples are the fewest that can show a leak; two are too short, and
 * so are any number taken at one instant. */
PT_TEST(test_short)
{
	static const char *const tags[] = {"Two ", "Thre"};
	static const int counts[][12] = {{-1, 5, 10}, {0, 5, 10}};
	static const int same[] = {7, 7, 7};
	struct series s = {tags, 2, 3, counts, NULL};
	struct pt_recording r;
	struct pt_trend *t;
	size_t nt;

	t = trends_of(&s, 0, &r, &nt);
	PT_CHECK_EQ(nt, 2);
	check_shape(t, nt, "Two ", PT_SHAPE_SHORT);
	check_shape(t, nt, "Thre", PT_SHAPE_STEADY);
	if (nt == 2) {
		PT_CHECK_EQ(find(t, nt, "Two ")->first, 1);
		PT_CHECK_EQ(find(t, nt, "Two ")->nsamples, 2);
		PT_CHECK_EQ(find(t, nt, "Thre")->nsamples, 3);
	}
	free(t);
	pt_rec_free(&r);
	s.times = same;
	t = trends_of(&s, 0, &r, &nt);
	check_shape(t, nt, "Thre", PT_SHAPE_SHORT);
	free(t);
	pt_rec_free(&r);
}

/* Leaks first, the fastest in bytes first; then the others by how much
 * they grew in bytes, then in count, then by tag. */
PT_TEST(test_order)
{
	static const char *const tags[] = {"Zero", "Fast", "Grow", "Aaaa", "Slow", "Fall"};
	static const int counts[][12] = {{5, 5, 5, 5, 5, 5},       {0, 20, 40, 60, 80, 100},
	                                 {0, 50, 0, 50, 0, 60},    {5, 5, 5, 5, 5, 5},
	                                 {0, 10, 20, 30, 40, 50}, {90, 80, 70, 60, 50, 40}};
	static const char *const want[] = {"Fast", "Slow", "Grow", "Aaaa", "Zero", "Fall"};
	struct series s = {tags, 6, 6, counts, NULL};
	struct pt_recording r;
	struct pt_trend *t;
	size_t nt;

	t = trends_of(&s, 0, &r, &nt);
	PT_CHECK_EQ(nt, 6);
	for (size_t i = 0; i < nt && i < 6; i++)
		if (memcmp(&t[i].tag, want[i], 4))
			PT_FAIL_("series %zu: %.4s, expected %s", i, (const char *)&t[i].tag, want[i]);
	free(t);
	pt_rec_free(&r);
}

/* Per tag, a tag's sites add up and the series starts with its first
 * site; per site, each site is a series of its own from its own first
 * sample; pools are separate series either way. */
PT_TEST(test_sites_and_pools)
{
	struct pt_rec_writer *w = NULL;
	struct pt_recording r;
	struct pt_trend *t = NULL;
	size_t nt = 0;

	for (int i = 0; i < 6; i++) {
		struct pt_view v;

		head(&v, (int64_t)i * 1000000000);
		row(&v, "Both", PT_PAGED, 1, 10 + 2 * (uint64_t)i, 0, 8);
		if (i >= 2)
			row(&v, "Both", PT_PAGED, 2, (uint64_t)i, 0, 8);
		row(&v, "Both", PT_NONPAGED, 3, 7, 7, 16);
		if (i == 0)
			w = pt_rec_create(path, &v, 1000000, errbuf, sizeof(errbuf));
		if (w)
			PT_CHECK_EQ(pt_rec_append(w, &v, errbuf, sizeof(errbuf)), 0);
		pt_view_free(&v);
	}
	PT_CHECK_EQ(pt_rec_close(w, errbuf, sizeof(errbuf)), 0);
	pt_rec_init(&r);
	PT_CHECK_EQ(pt_rec_read(&r, path, errbuf, sizeof(errbuf)), 0);

	PT_CHECK_EQ(pt_trend_compute(&r, 0, &t, &nt), 0);
	PT_CHECK_EQ(nt, 2);
	if (nt == 2) {
		PT_CHECK_EQ(t[0].pool, PT_PAGED);
		PT_CHECK(t[0].site == NULL);
		PT_CHECK_EQ(t[0].first, 0);
		PT_CHECK_EQ(t[0].nsamples, 6);
		PT_CHECK_EQ(t[0].count0, 10);
		PT_CHECK_EQ(t[0].count1, 20 + 5);
		PT_CHECK_EQ(t[0].bytes1, 25 * 8);
		PT_CHECK_EQ(t[0].shape, PT_SHAPE_STEADY);
		PT_CHECK_EQ(t[1].pool, PT_NONPAGED);
		PT_CHECK_EQ(t[1].shape, PT_SHAPE_FLAT);
		PT_CHECK_EQ(t[1].frees, 0); /* its frees were all before the first sample */
	}
	free(t);

	PT_CHECK_EQ(pt_trend_compute(&r, 1, &t, &nt), 0);
	PT_CHECK_EQ(nt, 3);
	for (size_t i = 0; i < nt; i++) {
		PT_CHECK(t[i].site != NULL);
		if (!t[i].site)
			continue;
		PT_CHECK_EQ(t[i].pool, t[i].site->pool);
		if (t[i].site->line == 2) {
			PT_CHECK_EQ(t[i].first, 2);
			PT_CHECK_EQ(t[i].nsamples, 4);
			PT_CHECK_EQ(t[i].count0, 2);
			PT_CHECK_EQ(t[i].count1, 5);
			PT_CHECK(NEAR(t[i].seconds, 3, 1e-9));
			PT_CHECK(NEAR(t[i].count.slope, 1, 1e-9));
		}
	}
	free(t);
	pt_rec_free(&r);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/t.rec", tmpdir);
	PT_RUN(test_fit_exact_line);
	PT_RUN(test_fit_large_counters);
	PT_RUN(test_fit_degenerate);
	PT_RUN(test_trend_shapes);
	PT_RUN(test_shape_names);
	PT_RUN(test_levels_off_boundary);
	PT_RUN(test_irregular_returns_falling);
	PT_RUN(test_short);
	PT_RUN(test_order);
	PT_RUN(test_sites_and_pools);
	unlink(path);
	rmdir(tmpdir);
	return pt_test_done();
}
