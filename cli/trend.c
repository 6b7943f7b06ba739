/*
 * trend.c - `pooltag trend FILE`: least-squares lines through a recording's
 * series, and the leaks among them (trend.h says what a leak is).
 *
 * One replay of the recording feeds every series' sums, so the cost is one
 * pass over the samples and memory per series, not per sample: a long
 * recording needs no more than a short one.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocinfo.h"
#include "cmd.h"
#include "tally.h"
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

/* ---------------------------------------------------------------------------
 * The command
 */

static const char *const pool_names[] = {"Paged", "NonPaged", "Refs", "Handles"};

/* What the count of a series counts, per second. */
static const char *unit_of(uint32_t pool)
{
	return pool == 2 ? "references" : pool == 3 ? "handles" : "objects";
}

/* A rate with a sign, to a precision that suits its size. */
static void fmt_rate(char *buf, size_t len, double v)
{
	double a = v < 0 ? -v : v;

	snprintf(buf, len, a >= 100 || v == 0 ? "%+.0f" : a >= 1 ? "%+.1f" : "%+.3g", v);
}

/* "file:line in func" of a site, made safe for a terminal. */
static const char *site_str(const struct pt_row *s, char *buf, size_t len)
{
	char f[256], fn[256];

	snprintf(buf, len, "at %s:%" PRIu32 " in %s", pt_safe_str(s->file, f, sizeof(f)), s->line,
	         pt_safe_str(*s->func ? s->func : "?", fn, sizeof(fn)));
	return buf;
}

static const char *describe(const struct pt_trend *t, const struct pt_view *v,
                            const struct pt_tagdb *db, const struct pt_tally *tl, size_t ntl,
                            char *buf, size_t len)
{
	if (t->site)
		return site_str(t->site, buf, len);
	for (size_t i = 0; i < ntl; i++)
		if (tl[i].tag == t->tag)
			return pt_tally_describe(buf, len, v, db, &tl[i]);
	return "";
}

/* A leak as one sentence, then its numbers and what it is. */
static void print_leak(const struct pt_trend *t, const struct pt_view *v, const char *desc)
{
	char tag[300], rate[32], kib[32];

	fmt_rate(rate, sizeof(rate), t->count.slope);
	printf(" %s %s: %s %s/s", pt_view_tag_label(v, t->tag, tag, sizeof(tag)),
	       pool_names[t->pool & 3], rate, unit_of(t->pool));
	if (t->pool < 2) {
		fmt_rate(kib, sizeof(kib), t->bytes.slope / 1024);
		printf(" (%s KiB/s)", kib);
	}
	printf(" over %.1f s%s", t->seconds, v->kernel_format ? "\n" : ", ");
	if (v->kernel_format) /* the kernel counts what is live, not frees */
		;
	else if (t->frees)
		printf("%" PRIu64 " %s\n", t->frees, t->pool < 2 ? "freed" : "released");
	else
		printf("%s\n", t->pool < 2 ? "never freed" : "never released");
	printf("   outstanding %" PRIu64 " -> %" PRIu64, t->count0, t->count1);
	if (t->pool < 2)
		printf(" (%" PRIu64 " -> %" PRIu64 " bytes)", t->bytes0, t->bytes1);
	printf(", fit R2 %.3f\n", t->count.r2);
	printf("   %s\n", desc);
}

static void print_other_header(int kernel)
{
	printf(" %-4s %-8s %-10s %10s %10s %8s %6s %12s %12s %10s   %s\n", kernel ? "Module" : "Tag",
	       "Pool", "Shape", "Count/s", "KiB/s", "Seconds", "R2", "Outst.start", "Outst.end",
	       kernel ? "-" : "Frees", "Description");
}

static void print_other(const struct pt_trend *t, const struct pt_view *v, const char *desc)
{
	char tag[300], rate[32], kib[32] = "-";

	fmt_rate(rate, sizeof(rate), t->count.slope);
	if (t->pool < 2)
		fmt_rate(kib, sizeof(kib), t->bytes.slope / 1024);
	printf(" %-4s %-8s %-10s %10s %10s %8.1f %6.3f %12" PRIu64 " %12" PRIu64 " %10" PRIu64
	       "   %s\n",
	       pt_view_tag_label(v, t->tag, tag, sizeof(tag)), pool_names[t->pool & 3],
	       pt_shape_name(t->shape), rate,
	       kib, t->seconds, t->count.r2, t->count0, t->count1, t->frees, desc);
}

/* s as a JSON string; control and non-ASCII bytes as \u00XX, so the output
 * is valid JSON (and UTF-8) whatever bytes the recording held. */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* A double as JSON: a number, never nan or inf. */
static void json_num(const char *key, double v)
{
	printf(", \"%s\": %.6g", key, v == v && v - v == 0 ? v : 0);
}

static void print_json(const struct pt_recording *r, const struct pt_trend *t, size_t nt,
                       const struct pt_view *v, const struct pt_tagdb *db,
                       const struct pt_tally *tl, size_t ntl)
{
	char tag[300], desc[1024];

	printf("{\"format\": \"pooltag-trend\", \"version\": 1, \"pid\": %d, \"command\": ",
	       (int)r->sites.pid);
	json_str(r->sites.comm);
	if (r->sites.kernel_format) { /* a recording of the kernel: tags are modules */
		printf(", \"kernel\": ");
		json_str(r->sites.kernel_format);
	}
	printf(", \"samples\": %zu", r->nsamples);
	json_num("seconds", (double)(r->taken[r->nsamples - 1] - r->taken[0]) / 1e9);
	json_num("interval", (double)r->interval_us / 1e6);
	printf(",\n \"series\": [");
	for (size_t i = 0; i < nt; i++) {
		const struct pt_trend *x = &t[i];

		printf("%s\n  {\"tag\": ", i ? "," : "");
		json_str(pt_view_tag_label(v, x->tag, tag, sizeof(tag)));
		printf(", \"pool\": \"%s\", \"shape\": \"%s\", \"leak\": %s",
		       pool_names[x->pool & 3], pt_shape_name(x->shape),
		       x->shape == PT_SHAPE_STEADY ? "true" : "false");
		json_num("count_per_s", x->count.slope);
		json_num("bytes_per_s", x->bytes.slope);
		json_num("r2", x->count.r2);
		json_num("seconds", x->seconds);
		printf(", \"samples\": %zu, \"count_start\": %" PRIu64 ", \"count_end\": %" PRIu64
		       ", \"bytes_start\": %" PRIu64 ", \"bytes_end\": %" PRIu64
		       ", \"frees\": %" PRIu64,
		       x->nsamples, x->count0, x->count1, x->bytes0, x->bytes1, x->frees);
		if (x->site) {
			printf(", \"file\": ");
			json_str(x->site->file);
			printf(", \"line\": %" PRIu32 ", \"func\": ", x->site->line);
			json_str(x->site->func);
			printf(", \"module\": ");
			json_str(x->site->module);
		} else {
			printf(", \"description\": ");
			json_str(describe(x, v, db, tl, ntl, desc, sizeof(desc)));
		}
		putchar('}');
	}
	printf("\n ]}\n");
}

static int usage(FILE *f)
{
	fprintf(f, "usage: pooltag trend [--all] [--sites] [--json] [--tags FILE] RECORDING\n");
	return f == stdout ? 0 : 2;
}

int pt_cmd_trend(int argc, char **argv)
{
	static const struct option longs[] = {
	    {"all", no_argument, 0, 'a'},  {"sites", no_argument, 0, 'S'},
	    {"json", no_argument, 0, 'J'}, {"tags", required_argument, 0, 'T'},
	    {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	char **tagfiles = calloc((size_t)argc + 1, sizeof(char *));
	struct pt_recording r;
	struct pt_trend *t = NULL;
	struct pt_tally *tl = NULL;
	struct pt_tagdb *db = NULL;
	size_t ntagfiles = 0, nt = 0, ntl = 0, nleaks = 0;
	int ch, all = 0, sites = 0, json = 0, rc = 1;
	char err[1024], desc[1024], b[256];

	pt_rec_init(&r);
	if (!tagfiles)
		return 1;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "ah", longs, NULL)) != -1) {
		if (ch == 'h') {
			rc = usage(stdout);
			goto out;
		} else if (ch == 'a') {
			all = 1;
		} else if (ch == 'S') {
			sites = 1;
		} else if (ch == 'J') {
			json = 1;
		} else if (ch == 'T') {
			tagfiles[ntagfiles++] = optarg;
		} else {
			rc = pt_getopt_err("trend", argv);
			goto out;
		}
	}
	if (argc - optind != 1) {
		rc = pt_usage_err("trend",
		                  "wants one argument, a recording (pooltag record -o FILE)");
		goto out;
	}
	if (!(db = pt_tagdb_for(tagfiles, ntagfiles, err, sizeof(err))) ||
	    pt_rec_read(&r, argv[optind], err, sizeof(err)) != 0) {
		pt_err("%s", err);
		goto out;
	}
	if (r.note[0])
		pt_err("note: %s", r.note);
	if (r.nsamples == 0) {
		pt_err("%s: no complete sample", argv[optind]);
		goto out;
	}
	if (pt_trend_compute(&r, sites, &t, &nt) != 0 ||
	    pt_tally_build(&r.sites, NULL, &tl, &ntl) != 0) {
		pt_err("out of memory");
		goto out;
	}
	if (json) {
		print_json(&r, t, nt, &r.sites, db, tl, ntl);
		rc = pt_flush_stdout();
		goto out;
	}
	if (r.sites.kernel_format)
		printf(" %s", pt_view_name(&r.sites, b, sizeof(b)));
	else
		printf(" pid %d (%s)", (int)r.sites.pid, pt_safe_str(r.sites.comm, b, sizeof(b)));
	printf(": %zu samples over %.1f s", r.nsamples,
	       (double)(r.taken[r.nsamples - 1] - r.taken[0]) / 1e9);
	if (r.interval_us > 0)
		printf(", one every %.2f s", (double)r.interval_us / 1e6);
	printf("\n\n");
	while (nleaks < nt && t[nleaks].shape == PT_SHAPE_STEADY)
		nleaks++;
	if (nleaks)
		printf(" Leaks: outstanding count grew steadily, never back to where it began\n");
	else
		printf(" No leak: no %s grew steadily.\n",
		       sites ? "call site" : r.sites.kernel_format ? "module" : "tag");
	for (size_t i = 0; i < nleaks; i++)
		print_leak(&t[i], &r.sites, describe(&t[i], &r.sites, db, tl, ntl, desc, sizeof(desc)));
	if (all && nleaks < nt) {
		printf("\n Other %s:\n",
		       sites ? "call sites" : r.sites.kernel_format ? "modules" : "tags");
		print_other_header(r.sites.kernel_format != NULL);
		for (size_t i = nleaks; i < nt; i++)
			print_other(&t[i], &r.sites,
			            describe(&t[i], &r.sites, db, tl, ntl, desc, sizeof(desc)));
	} else if (nleaks < nt) {
		printf("\n %zu other %s not leaking ('pooltag trend --all' lists them)\n",
		       nt - nleaks, sites ? "call sites" : r.sites.kernel_format ? "modules" : "tags");
	}
	rc = pt_flush_stdout();
out:
	free(t);
	pt_tally_free(tl, ntl);
	pt_tagdb_free(db);
	pt_rec_free(&r);
	free(tagfiles);
	return rc;
}
