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
#include "tagdb.h"

static const char *const class_names[] = {"Paged", "NonPaged", "Refs", "Handles"};

struct cand {
	const struct pt_tally *t;
	unsigned cls;
	double score;
};

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	uint64_t dx = pt_sums_diff(&x->t->pool[x->cls]), dy = pt_sums_diff(&y->t->pool[y->cls]);

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (dx != dy)
		return dx > dy ? -1 : 1;
	if (x->t->tag != y->t->tag)
		return memcmp(&x->t->tag, &y->t->tag, 4);
	return x->cls < y->cls ? -1 : x->cls > y->cls;
}

static void put_line(FILE *f, const struct pt_view *v, const struct pt_tagdb *db,
                     const struct pt_tally *t, unsigned cls, const char *extra)
{
	const struct pt_sums *s = &t->pool[cls];
	char tag[5], desc[1024];

	fprintf(f, " %-4s %-8s %11llu %11llu %11llu %12llu %5.1f%%  %s%s\n",
	        pt_tag_print(t->tag, tag), class_names[cls], (unsigned long long)s->nallocs,
	        (unsigned long long)s->nfrees, (unsigned long long)pt_sums_diff(s),
	        (unsigned long long)pt_sums_used(s),
	        s->nallocs ? 100.0 * (double)s->nfrees / (double)s->nallocs : 0.0,
	        pt_tally_describe(desc, sizeof(desc), v, db, t), extra);
}

static void put_head(FILE *f)
{
	fprintf(f, " %-4s %-8s %11s %11s %11s %12s %6s  %s\n", "Tag", "Pool", "Allocs", "Frees",
	        "Diff", "Used", "Freed", "Description");
}

/* Is outstanding count d within 2% of a suspect's ds?  Counts under 50
 * match by chance too easily to mean anything. */
static int close_to(uint64_t d, uint64_t ds)
{
	uint64_t gap = d > ds ? d - ds : ds - d;

	return ds >= 50 && gap <= ds / 50;
}

size_t pt_suspects_print(FILE *f, const struct pt_view *v, const struct pt_tagdb *db,
                         const struct pt_tally *t, size_t n, const struct pt_suspect_opts *o)
{
	struct cand *c = calloc(4 * n + 1, sizeof(*c));
	size_t nc = 0, shown, nheld = 0;
	char tag[5];

	if (!c) {
		fprintf(f, " (out of memory)\n");
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		for (unsigned k = 0; k < 4; k++) {
			const struct pt_sums *s = &t[i].pool[k];
			double a = (double)s->nallocs, d = (double)pt_sums_diff(s);

			if (s->nallocs < o->min_allocs || s->nallocs == 0 ||
			    (double)s->nfrees * 100.0 > (double)o->max_freed * a)
				continue;
			c[nc++] = (struct cand){&t[i], k, d * d / a};
		}
	qsort(c, nc, sizeof(*c), cmp_cand);
	shown = o->top >= 0 && (size_t)o->top < nc ? (size_t)o->top : nc;

	fprintf(f, " Leak suspects: at least %llu allocations, at most %u%% of them freed\n",
	        (unsigned long long)o->min_allocs, o->max_freed);
	fprintf(f, " (ranked by kept share times outstanding count)\n\n");
	if (!nc) {
		fprintf(f,
		        " None: every tag with at least %llu allocations freed more than %u%% of "
		        "them.\n",
		        (unsigned long long)o->min_allocs, o->max_freed);
		free(c);
		return 0;
	}
	put_head(f);
	for (size_t i = 0; i < shown; i++)
		put_line(f, v, db, c[i].t, c[i].cls, "");
	if (shown < nc)
		fprintf(f, " ... %zu more suspects not shown (-t %ld)\n", nc - shown, o->top);

	/* Held with them: any other tag and class whose outstanding count is
	 * close to a shown suspect's, the closest suspect named. */
	for (size_t i = 0; i < n; i++)
		for (unsigned k = 0; k < 4; k++) {
			const struct pt_sums *s = &t[i].pool[k];
			uint64_t d = pt_sums_diff(s), best_gap = UINT64_MAX;
			const struct cand *best = NULL;
			char extra[64];
			int is_suspect = 0;

			for (size_t j = 0; j < nc && !is_suspect; j++)
				is_suspect = c[j].t == &t[i] && c[j].cls == k;
			if (is_suspect || !d)
				continue;
			for (size_t j = 0; j < shown; j++) {
				uint64_t ds = pt_sums_diff(&c[j].t->pool[c[j].cls]);
				uint64_t gap = d > ds ? d - ds : ds - d;
				if (close_to(d, ds) && gap < best_gap) {
					best = &c[j];
					best_gap = gap;
				}
			}
			if (!best)
				continue;
			if (!nheld++) {
				fprintf(f, "\n Held with them: outstanding count within 2%% of a "
				           "suspect's\n");
				fprintf(
				    f,
				    " (allocations that objects which never die keep alive)\n\n");
				put_head(f);
			}
			snprintf(extra, sizeof(extra), " [like %s %s]",
			         pt_tag_print(best->t->tag, tag), class_names[best->cls]);
			put_line(f, v, db, &t[i], k, extra);
		}
	free(c);
	return nc;
}
