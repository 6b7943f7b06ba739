/*
 * montab.c - the monitor's table: rows per tag and pool, their changes
 * between two reads, their order, a tag's sites, and cell formatting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmod.h"
#include "montab.h"
#include "pooltag.h"
#include "segfmt.h"
#include "tagdb.h"

/* The identity of a row across reads: its tag, counter class and site.  Two
 * reads of one process list the same sites with the same strings. */
static int cmp_site_key(const struct pt_row *x, const struct pt_row *y)
{
	int c;

	if (x->tag != y->tag)
		return memcmp(&x->tag, &y->tag, 4);
	if (x->pool != y->pool)
		return x->pool < y->pool ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if ((c = strcmp(x->file, y->file)) || (c = strcmp(x->func, y->func)))
		return c;
	return strcmp(x->module, y->module);
}

static int cmp_rowp(const void *a, const void *b)
{
	return cmp_site_key(*(const struct pt_row *const *)a, *(const struct pt_row *const *)b);
}

/* The view's rows sorted by their identity; NULL on out of memory. */
static const struct pt_row **sorted_rows(const struct pt_view *v)
{
	const struct pt_row **r = malloc((v->nrows + 1) * sizeof(*r));

	if (!r)
		return NULL;
	for (size_t i = 0; i < v->nrows; i++)
		r[i] = &v->rows[i];
	qsort(r, v->nrows, sizeof(*r), cmp_rowp);
	return r;
}

static struct pt_sums sums_of(const struct pt_row *r)
{
	return (struct pt_sums){r->nallocs, r->nfrees, r->bytes_alloc, r->bytes_freed};
}

struct pt_mon_delta pt_mon_delta_of(const struct pt_sums *now, const struct pt_sums *before)
{
	return (struct pt_mon_delta){
		.nallocs = (int64_t)(now->nallocs - before->nallocs),
		.nfrees = (int64_t)(now->nfrees - before->nfrees),
		.diff = (int64_t)(pt_sums_diff(now) - pt_sums_diff(before)),
		.bytes = (int64_t)(pt_sums_used(now) - pt_sums_used(before)),
	};
}

static void add_delta(struct pt_mon_delta *d, const struct pt_mon_delta *s)
{
	d->nallocs = (int64_t)((uint64_t)d->nallocs + (uint64_t)s->nallocs);
	d->nfrees = (int64_t)((uint64_t)d->nfrees + (uint64_t)s->nfrees);
	d->diff = (int64_t)((uint64_t)d->diff + (uint64_t)s->diff);
	d->bytes = (int64_t)((uint64_t)d->bytes + (uint64_t)s->bytes);
}

static void add_sums(struct pt_sums *d, const struct pt_sums *s)
{
	d->nallocs += s->nallocs;
	d->nfrees += s->nfrees;
	d->bytes_alloc += s->bytes_alloc;
	d->bytes_freed += s->bytes_freed;
}

uint64_t pt_mon_peralloc(const struct pt_sums *s)
{
	uint64_t d = pt_sums_diff(s);

	return d ? pt_sums_used(s) / d : 0;
}

/* Each current row's change: paired with the previous read's row of the
 * same identity by merging both sorted lists.  A row new since then
 * changed by all it counts. */
static int pair_rows(struct pt_montab *t, const struct pt_view *prev,
		     const struct pt_row **cs)
{
	const struct pt_row **ps = sorted_rows(prev);
	static const struct pt_sums zero;
	size_t j = 0;

	if (!ps)
		return -1;
	for (size_t i = 0; i < t->cur->nrows; i++) {
		const struct pt_row *r = cs[i];
		struct pt_sums now = sums_of(r), before = zero;
		int c = 1;

		while (j < prev->nrows && (c = cmp_site_key(ps[j], r)) < 0)
			j++;
		if (j < prev->nrows && c == 0)
			before = sums_of(ps[j++]);
		t->rowchg[r - t->cur->rows] = pt_mon_delta_of(&now, &before);
	}
	free(ps);
	return 0;
}

int pt_montab_build(struct pt_montab *t, const struct pt_view *prev, const struct pt_view *cur)
{
	const struct pt_row **cs;

	memset(t, 0, sizeof(*t));
	t->cur = cur;
	if (prev && cur->taken_ns > prev->taken_ns)
		t->elapsed = (double)(cur->taken_ns - prev->taken_ns) / 1e9;
	t->rowchg = calloc(cur->nrows + 1, sizeof(*t->rowchg));
	t->rows = calloc(cur->nrows + 1, sizeof(*t->rows));
	cs = sorted_rows(cur);
	if (!t->rowchg || !t->rows || !cs || (prev && pair_rows(t, prev, cs) != 0)) {
		free(cs);
		pt_montab_free(t);
		t->cur = cur;
		return -1;
	}
	/* Sorted by identity, the rows of one (tag, pool) are adjacent. */
	for (size_t i = 0; i < cur->nrows; i++) {
		const struct pt_row *r = cs[i];
		const struct pt_mon_delta *chg = &t->rowchg[r - cur->rows];
		struct pt_sums s = sums_of(r);
		struct pt_mon_row *m;

		if (r->pool != PT_PAGED && r->pool != PT_NONPAGED)
			continue;
		m = t->nrows ? &t->rows[t->nrows - 1] : NULL;
		if (!m || m->tag != r->tag || m->pool != r->pool) {
			m = &t->rows[t->nrows++];
			m->tag = r->tag;
			m->pool = r->pool;
		}
		add_sums(&m->now, &s);
		add_delta(&m->chg, chg);
		add_sums(&t->total[r->pool], &s);
		add_delta(&t->total_chg[r->pool], chg);
	}
	free(cs);
	return 0;
}

void pt_montab_free(struct pt_montab *t)
{
	free(t->rowchg);
	free(t->rows);
	memset(t, 0, sizeof(*t));
}

long pt_montab_find(const struct pt_montab *t, uint32_t tag, uint32_t pool)
{
	for (size_t i = 0; i < t->nrows; i++)
		if (t->rows[i].tag == tag && t->rows[i].pool == pool)
			return (long)i;
	return -1;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a != b ? (a > b ? -1 : 1) : 0;
}

/* Largest first; ties by tag, then pool.  Changes compare as signed, so
 * shrinking tags rank last by change. */
struct order_ctx {
	const struct pt_montab *t;
	const struct pt_mon_opts *o;
};

static int cmp_mon(const void *a, const void *b, void *arg)
{
	const struct order_ctx *ctx = arg;
	const struct pt_mon_opts *o = ctx->o;
	const struct pt_mon_row *x = &ctx->t->rows[*(const size_t *)a];
	const struct pt_mon_row *y = &ctx->t->rows[*(const size_t *)b];
	int c = 0;

	switch (o->sort) {
	case PT_MON_SORT_ALLOCS:
		c = cmp_u64(x->now.nallocs, y->now.nallocs);
		break;
	case PT_MON_SORT_FREES:
		c = cmp_u64(x->now.nfrees, y->now.nfrees);
		break;
	case PT_MON_SORT_DIFF:
		c = cmp_u64(pt_sums_diff(&x->now), pt_sums_diff(&y->now));
		break;
	case PT_MON_SORT_BYTES:
		c = cmp_u64(pt_sums_used(&x->now), pt_sums_used(&y->now));
		break;
	case PT_MON_SORT_PERALLOC:
		c = cmp_u64(pt_mon_peralloc(&x->now), pt_mon_peralloc(&y->now));
		break;
	case PT_MON_SORT_CHANGE: {
		int64_t vx = x->chg.bytes, vy = y->chg.bytes;
		c = vx != vy ? (vx > vy ? -1 : 1) : 0;
		if (!c && x->chg.nallocs != y->chg.nallocs)
			c = x->chg.nallocs > y->chg.nallocs ? -1 : 1;
		break;
	}
	default:
		break;
	}
	if (!c && x->tag != y->tag)
		c = memcmp(&x->tag, &y->tag, 4);
	if (!c && x->pool != y->pool)
		c = x->pool < y->pool ? -1 : 1;
	return o->reverse ? -c : c;
}

size_t pt_montab_order(const struct pt_montab *t, const struct pt_mon_opts *o, size_t *idx)
{
	struct order_ctx ctx = {t, o};
	size_t n = 0;

	for (size_t i = 0; i < t->nrows; i++) {
		const struct pt_mon_row *r = &t->rows[i];
		if ((o->pools == PT_MON_POOLS_PAGED && r->pool != PT_PAGED) ||
		    (o->pools == PT_MON_POOLS_NONPAGED && r->pool != PT_NONPAGED))
			continue;
		if (o->pattern && !pt_view_tag_match(t->cur, o->pattern, r->tag))
			continue;
		idx[n++] = i;
	}
	qsort_r(idx, n, sizeof(*idx), cmp_mon, &ctx);
	return n;
}

static int cmp_site(const void *a, const void *b, void *arg)
{
	const struct pt_view *v = arg;
	const struct pt_row *x = &v->rows[*(const size_t *)a], *y = &v->rows[*(const size_t *)b];
	int c;

	if (x->pool != y->pool)
		return x->pool < y->pool ? -1 : 1;
	/* Sites by bytes outstanding; references and handles by count held. */
	if (x->pool < PT_SEG_CLASS_REFS)
		c = cmp_u64(x->bytes_alloc - x->bytes_freed, y->bytes_alloc - y->bytes_freed);
	else
		c = cmp_u64(x->nallocs - x->nfrees, y->nallocs - y->nfrees);
	return c ? c : cmp_site_key(x, y);
}

size_t pt_montab_sites(const struct pt_montab *t, uint32_t tag, uint32_t pool, size_t *idx)
{
	const struct pt_view *v = t->cur;
	size_t n = 0;

	for (size_t i = 0; i < v->nrows; i++) {
		const struct pt_row *r = &v->rows[i];
		if (r->tag == tag && (r->pool == pool || r->pool == PT_SEG_CLASS_REFS ||
				      r->pool == PT_SEG_CLASS_HANDLES))
			idx[n++] = i;
	}
	qsort_r(idx, n, sizeof(*idx), cmp_site, (void *)v);
	return n;
}

double pt_montab_rate(const struct pt_montab *t, int64_t chg)
{
	return t->elapsed > 0 ? (double)chg / t->elapsed : 0;
}

/* Writes s right-aligned in width columns (as is when width <= 0). */
static char *pad(char *buf, size_t len, const char *s, int width)
{
	snprintf(buf, len, "%*s", width > 0 ? width : 0, s);
	return buf;
}

/* The magnitude m with sign prefix, scaled until it fits width. */
static char *fmt_scaled(char *buf, size_t len, const char *sign, uint64_t m, int width, int bytes)
{
	static const char units[] = "KMGTPE";
	uint64_t base = bytes ? 1024 : 1000;
	char s[32];

	snprintf(s, sizeof(s), "%s%llu", sign, (unsigned long long)m);
	for (int i = 0; width > 0 && strlen(s) > (size_t)width && units[i]; i++) {
		m /= base;
		snprintf(s, sizeof(s), "%s%llu%c", sign, (unsigned long long)m, units[i]);
	}
	return pad(buf, len, s, width);
}

char *pt_mon_fmt_count(char *buf, size_t len, uint64_t v, int width, int bytes)
{
	return fmt_scaled(buf, len, "", v, width, bytes);
}

char *pt_mon_fmt_change(char *buf, size_t len, int64_t v, int width, int bytes)
{
	uint64_t m = v < 0 ? -(uint64_t)v : (uint64_t)v;

	return fmt_scaled(buf, len, v < 0 ? "-" : "", m, width, bytes);
}

char *pt_mon_fmt_rate(char *buf, size_t len, double v, int width, int bytes)
{
	char s[32];
	double m = v < 0 ? -v : v;

	if (v != v || m >= 1.8e19) /* NaN, infinite or beyond 64 bits */
		return pad(buf, len, "?", width);
	if (m < 10 && m != (double)(int)m) {
		snprintf(s, sizeof(s), "%.1f", v);
		if (strcmp(s, "-0.0") == 0 || strcmp(s, "0.0") == 0)
			snprintf(s, sizeof(s), "0");
		return pad(buf, len, s, width);
	}
	return fmt_scaled(buf, len, v < 0 ? "-" : "", (uint64_t)m, width, bytes);
}

static const char *const sort_names[PT_MON_NSORT] = {"tag",   "allocs",   "frees", "diff",
						      "bytes", "peralloc", "change"};
static const char sort_letters[PT_MON_NSORT] = {'t', 'a', 'f', 'd', 'b', 'm', 'c'};

const char *pt_mon_sort_name(enum pt_mon_sort s)
{
	return (unsigned)s < PT_MON_NSORT ? sort_names[s] : "?";
}

int pt_mon_sort_parse(const char *s)
{
	for (int i = 0; i < PT_MON_NSORT; i++)
		if (strcmp(s, sort_names[i]) == 0 || (s[0] == sort_letters[i] && !s[1]))
			return i;
	if (strcmp(s, "per-alloc") == 0)
		return PT_MON_SORT_PERALLOC;
	return -1;
}
