/*
 * suspects.c - tags whose allocations were almost never freed.
 *
 * A tag that allocated a lot and freed almost nothing, read after the code
 * that should have freed it is gone (a driver unloaded, a plugin closed, a
 * workload finished), is the signature the seed's leak left: 12,980
 * process objects allocated, 1 freed.  Long-lived allocations made once
 * (tables at start-up) also free nothing, but there are few of them; busy
 * tags that free nearly everything carry large outstanding counts only when
 * something holds them.  So each tag and counter class is judged on two
 * numbers: the share of its allocations it kept, and how many it holds.
 * The rank is their product, kept share times outstanding count
 * (Diff^2 / Allocs): 12,979 for the seed's Proc, 100 for a start-up table
 * of 100 blocks, 176 for SePa, which freed 98.6% of 955,604.
 *
 * Objects that never die keep what hangs off them: the seed's SePa and
 * SeTd (audit names and tokens of the leaked processes) freed almost all
 * they allocated, yet their outstanding counts match Proc's to within a
 * fraction of a percent.  Those are listed after the suspects, as held
 * with them.
 */
#include <stdlib.h>
#include <string.h>

#include "suspects.h"

static int cmp_suspect(const void *a, const void *b)
{
	const struct pt_suspect *x = a, *y = b;
	uint64_t dx = pt_sums_diff(&x->t->pool[x->cls]), dy = pt_sums_diff(&y->t->pool[y->cls]);

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (dx != dy)
		return dx > dy ? -1 : 1;
	if (x->t->tag != y->t->tag)
		return memcmp(&x->t->tag, &y->t->tag, 4);
	return x->cls < y->cls ? -1 : x->cls > y->cls;
}

/* Is outstanding count d within 2% of a suspect's ds?  Counts under 50
 * match by chance too easily to mean anything. */
static int close_to(uint64_t d, uint64_t ds)
{
	uint64_t gap = d > ds ? d - ds : ds - d;

	return ds >= 50 && gap <= ds / 50;
}

/* The suspect of s->s[0..shown) whose outstanding count d is closest to,
 * within 2%; NULL if none. */
static const struct pt_suspect *closest(const struct pt_suspects *s, uint64_t d)
{
	const struct pt_suspect *best = NULL;
	uint64_t best_gap = UINT64_MAX;

	for (size_t j = 0; j < s->shown; j++) {
		uint64_t ds = pt_sums_diff(&s->s[j].t->pool[s->s[j].cls]);
		uint64_t gap = d > ds ? d - ds : ds - d;
		if (close_to(d, ds) && gap < best_gap) {
			best = &s->s[j];
			best_gap = gap;
		}
	}
	return best;
}

/* Held with them: any other tag and class whose outstanding count is close
 * to a shown suspect's, the closest suspect named. */
static void find_held(const struct pt_tally *t, size_t n, struct pt_suspects *s)
{
	for (size_t i = 0; i < n; i++)
		for (unsigned k = 0; k < 4; k++) {
			uint64_t d = pt_sums_diff(&t[i].pool[k]);
			const struct pt_suspect *like;
			int is_suspect = 0;

			for (size_t j = 0; j < s->n && !is_suspect; j++)
				is_suspect = s->s[j].t == &t[i] && s->s[j].cls == k;
			if (is_suspect || !d || !(like = closest(s, d)))
				continue;
			s->held[s->nheld++] = (struct pt_held){&t[i], k, like};
		}
}

int pt_suspects_find(const struct pt_tally *t, size_t n, const struct pt_suspect_opts *o,
		     struct pt_suspects *s)
{
	memset(s, 0, sizeof(*s));
	if (!(s->s = calloc(4 * n + 1, sizeof(*s->s))) ||
	    !(s->held = calloc(4 * n + 1, sizeof(*s->held))))
		return -1;
	for (size_t i = 0; i < n; i++)
		for (unsigned k = 0; k < 4; k++) {
			const struct pt_sums *p = &t[i].pool[k];
			double a = (double)p->nallocs, d = (double)pt_sums_diff(p);

			if (p->nallocs < o->min_allocs || p->nallocs == 0 ||
			    (double)p->nfrees * 100.0 > (double)o->max_freed * a)
				continue;
			s->s[s->n++] = (struct pt_suspect){&t[i], k, d * d / a};
		}
	qsort(s->s, s->n, sizeof(*s->s), cmp_suspect);
	s->shown = o->top >= 0 && (size_t)o->top < s->n ? (size_t)o->top : s->n;
	find_held(t, n, s);
	return 0;
}

void pt_suspects_free(struct pt_suspects *s)
{
	free(s->s);
	free(s->held);
	memset(s, 0, sizeof(*s));
}
