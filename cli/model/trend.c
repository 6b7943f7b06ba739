/*
 * trend.c - least-squares lines through a recording's series, and the leaks
 * among them (trend.h says what a leak is); `pooltag trend` (trendcmd.c)
 * prints them.
 *
 * One replay of the recording feeds every series' sums, so the cost is one
 * pass over the samples and memory per series, not per sample: a long
 * recording needs no more than a short one.
 */
#include <stdlib.h>
#include <string.h>

#include "trend.h"

void pt_fit_add(struct pt_fit_acc *a, double x, double y)
{
	if (a->n == 0) {
		a->x0 = x;
		a->y0 = y;
	}
	x -= a->x0;
	y -= a->y0;
	a->n += 1;
	a->sx += x;
	a->sy += y;
	a->sxx += x * x;
	a->sxy += x * y;
	a->syy += y * y;
}

int pt_fit_solve(const struct pt_fit_acc *a, struct pt_fit *f)
{
	double vxx, vxy, vyy;

	*f = (struct pt_fit){0};
	if (a->n < 2)
		return -1;
	vxx = a->sxx - a->sx * a->sx / a->n;
	vxy = a->sxy - a->sx * a->sy / a->n;
	vyy = a->syy - a->sy * a->sy / a->n;
	if (!(vxx > 0))
		return -1;
	f->slope = vxy / vxx;
	/* Back from the shifted coordinates: y - y0 = b + slope * (x - x0). */
	f->intercept = a->y0 + (a->sy - f->slope * a->sx) / a->n - f->slope * a->x0;
	/* R2 of a simple regression: the squared correlation of x and y. */
	f->r2 = vyy > 0 ? vxy * vxy / (vxx * vyy) : 0;
	if (f->r2 > 1)
		f->r2 = 1;
	return 0;
}

const char *pt_shape_name(int shape)
{
	static const char *const names[] = {"steady",  "short",     "flat",      "returns",
	                                    "falling", "irregular", "levels off"};

	return shape >= 0 && shape <= PT_SHAPE_LEVELS ? names[shape] : "?";
}

/* ---------------------------------------------------------------------------
 * Computing the series
 */

struct trend_ctx {
	const struct pt_recording *r;
	struct pt_trend *t;
	size_t nt;
	size_t *series_of;  /* per site */
	uint64_t (*cur)[3]; /* per series at one sample: count, bytes, frees */
};

/* A sample of the replay: every series' sums, then each series' point. */
static int trend_sample(void *arg, size_t s, int64_t taken, const struct pt_row *rows, size_t nrows)
{
	struct trend_ctx *c = arg;

	memset(c->cur, 0, c->nt * sizeof(*c->cur));
	for (size_t i = 0; i < nrows; i++) {
		uint64_t *u = c->cur[c->series_of[i]];

		u[0] += rows[i].nallocs - rows[i].nfrees;
		u[1] += rows[i].bytes_alloc - rows[i].bytes_freed;
		u[2] += rows[i].nfrees;
	}
	for (size_t k = 0; k < c->nt; k++) {
		struct pt_trend *t = &c->t[k];
		uint64_t count = c->cur[k][0], bytes = c->cur[k][1];
		double x;
		size_t idx;

		if (s < t->first)
			continue;
		x = (double)(taken - c->r->taken[t->first]) / 1e9;
		idx = s - t->first;
		if (idx == 0) {
			t->count0 = count;
			t->bytes0 = bytes;
			t->nfrees0 = c->cur[k][2];
		} else if (count > t->count0) {
			t->risen = 1;
		} else if (t->risen) {
			t->returned = 1;
		}
		/* The first two thirds of its samples, then the last third. */
		if (idx < t->nsamples - t->nsamples / 3) {
			if (count > t->max_early)
				t->max_early = count;
		} else if (count > t->max_late) {
			t->max_late = count;
		}
		pt_fit_add(&t->acc_count, x, (double)count);
		pt_fit_add(&t->acc_bytes, x, (double)bytes);
		t->count1 = count;
		t->bytes1 = bytes;
		t->frees = c->cur[k][2] - t->nfrees0;
		t->seconds = x;
	}
	return 0;
}

static int trend_shape(const struct pt_trend *t)
{
	if (t->nsamples < PT_TREND_MIN_SAMPLES || !(t->seconds > 0))
		return PT_SHAPE_SHORT;
	if (t->acc_count.syy == 0)
		return PT_SHAPE_FLAT;
	if (t->returned)
		return PT_SHAPE_RETURNS;
	if (!(t->count.slope > 0) || t->count1 <= t->count0)
		return PT_SHAPE_FALLING;
	if (t->count.r2 < PT_TREND_MIN_R2)
		return PT_SHAPE_IRREGULAR;
	if (t->max_late <= t->max_early)
		return PT_SHAPE_LEVELS;
	return PT_SHAPE_STEADY;
}

static int cmp_trend(const void *a, const void *b)
{
	const struct pt_trend *x = a, *y = b;
	int lx = x->shape == PT_SHAPE_STEADY, ly = y->shape == PT_SHAPE_STEADY;
	double gx = (double)x->bytes1 - (double)x->bytes0,
	       gy = (double)y->bytes1 - (double)y->bytes0;

	if (lx != ly)
		return lx ? -1 : 1;
	if (lx && x->bytes.slope != y->bytes.slope)
		return x->bytes.slope > y->bytes.slope ? -1 : 1;
	if (lx && x->count.slope != y->count.slope)
		return x->count.slope > y->count.slope ? -1 : 1;
	if (gx != gy)
		return gx > gy ? -1 : 1;
	gx = (double)x->count1 - (double)x->count0;
	gy = (double)y->count1 - (double)y->count0;
	if (gx != gy)
		return gx > gy ? -1 : 1;
	if (x->tag != y->tag)
		return memcmp(&x->tag, &y->tag, 4);
	if (x->pool != y->pool)
		return x->pool < y->pool ? -1 : 1;
	return x->site && y->site && x->site != y->site ? (x->site < y->site ? -1 : 1) : 0;
}

int pt_trend_compute(const struct pt_recording *r, int sites, struct pt_trend **out, size_t *n)
{
	size_t ns = r->sites.nrows;
	struct trend_ctx c = {.r = r};
	size_t *first = calloc(ns + 1, sizeof(*first));
	int ret = -1;

	*out = NULL;
	*n = 0;
	c.series_of = calloc(ns + 1, sizeof(*c.series_of));
	c.t = calloc(ns + 1, sizeof(*c.t));
	c.cur = calloc(ns + 1, sizeof(*c.cur));
	if (!first || !c.series_of || !c.t || !c.cur)
		goto out;
	/* The sample defining each site: sites are defined in order. */
	for (size_t i = 0, next = 0; i < r->nchanges && next < ns; i++)
		if (r->changes[i].site == next)
			first[next++] = r->changes[i].sample;
	for (size_t i = 0; i < ns; i++) {
		const struct pt_row *row = &r->sites.rows[i];
		size_t k = 0;

		if (!sites)
			while (k < c.nt && (c.t[k].tag != row->tag || c.t[k].pool != row->pool))
				k++;
		else
			k = c.nt;
		if (k == c.nt) {
			c.t[c.nt++] = (struct pt_trend){.tag = row->tag,
			                                .pool = row->pool,
			                                .site = sites ? row : NULL,
			                                .first = first[i]};
		} else if (first[i] < c.t[k].first) {
			c.t[k].first = first[i];
		}
		c.series_of[i] = k;
	}
	for (size_t k = 0; k < c.nt; k++)
		c.t[k].nsamples = r->nsamples - c.t[k].first;
	if (pt_rec_replay(r, trend_sample, &c) != 0)
		goto out;
	for (size_t k = 0; k < c.nt; k++) {
		pt_fit_solve(&c.t[k].acc_count, &c.t[k].count);
		pt_fit_solve(&c.t[k].acc_bytes, &c.t[k].bytes);
		c.t[k].shape = trend_shape(&c.t[k]);
	}
	qsort(c.t, c.nt, sizeof(*c.t), cmp_trend);
	*out = c.t;
	*n = c.nt;
	c.t = NULL;
	ret = 0;
out:
	free(first);
	free(c.series_of);
	free(c.t);
	free(c.cur);
	return ret;
}
