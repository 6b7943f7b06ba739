/*
 * trend.h - how each tag (or call site) of a recording moved over time, and
 * which ones leak.
 *
 * A series is the outstanding count and bytes of one (tag, pool) or one
 * site, from the first sample it appears in to the last sample.  Its count
 * gets a least-squares line; it is a leak ("steady") when that line rises
 * and fits (R2 >= PT_TREND_MIN_R2), the count ended higher than it began,
 * it never came back down to its first value after rising above it, and
 * it was still growing in the last third of its samples.  The other shapes
 * say why a series is not a leak.
 */
#ifndef PT_TREND_H
#define PT_TREND_H

#include <stddef.h>
#include <stdint.h>

#include "recording.h"

#define PT_TREND_MIN_R2      0.8
#define PT_TREND_MIN_SAMPLES 3

/* Sums for a least-squares line through points (x, y), shifted by the first
 * point so that large counters do not lose their digits. */
struct pt_fit_acc {
	double n, x0, y0, sx, sy, sxx, sxy, syy;
};

struct pt_fit {
	double slope;     /* y per x */
	double intercept; /* y at x = 0 */
	double r2;        /* coefficient of determination; 0 when y never moved */
};

void pt_fit_add(struct pt_fit_acc *a, double x, double y);

/* The line through the points added.  0, or -1 if there are fewer than two
 * points or every x is the same (then f is all zeros). */
int pt_fit_solve(const struct pt_fit_acc *a, struct pt_fit *f);

enum pt_shape {
	PT_SHAPE_STEADY,    /* a leak: see above */
	PT_SHAPE_SHORT,     /* fewer than PT_TREND_MIN_SAMPLES samples, or no time passed */
	PT_SHAPE_FLAT,      /* the count never moved */
	PT_SHAPE_RETURNS,   /* rose above its first value and came back down to it */
	PT_SHAPE_FALLING,   /* the line does not rise, or it ended no higher */
	PT_SHAPE_IRREGULAR, /* rose, but the line fits poorly */
	PT_SHAPE_LEVELS,    /* rose, then stopped: the last third no higher */
};

const char *pt_shape_name(int shape);

struct pt_trend {
	uint32_t tag, pool;
	const struct pt_row *site; /* with sites: the recording's row; else NULL */
	size_t first, nsamples;    /* the sample it appears in, and how many from there */
	double seconds;            /* from its first sample to the last */
	uint64_t count0, count1;   /* outstanding at its first and at the last sample */
	uint64_t bytes0, bytes1;
	uint64_t frees;             /* frees (releases) during the recording */
	struct pt_fit count, bytes; /* per second */
	int shape;
	/* While computing. */
	struct pt_fit_acc acc_count, acc_bytes;
	uint64_t max_early, max_late;
	int risen, returned;
	uint64_t nfrees0;
};

/* The series of r, per (tag, pool) or per site, leaks first (fastest growth
 * in bytes, then in count), then the others by growth.  *out is malloc'd
 * (free it).  0, or -1 on out of memory. */
int pt_trend_compute(const struct pt_recording *r, int sites, struct pt_trend **out, size_t *n);

#endif /* PT_TREND_H */
