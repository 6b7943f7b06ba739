/*
 * diff.c - `pooltag diff OLD NEW`: which tags (or call sites) grew between
 * two reads of a process.
 *
 * A leak suspect is a tag whose outstanding count and bytes both rose: the
 * frees did not keep pace with the allocations.  (References and handles
 * have no bytes: for them the count alone decides.)  Suspects come first,
 * largest growth in bytes first, then every other tag that saw traffic.
 * With --sites the same is done per call site, matched by (tag, pool, file,
 * line, function).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "kview.h"
#include "pooltag.h"
#include "tally.h"

static const char *const class_names[] = {"Paged", "NonPaged", "Refs", "Handles"};

struct change {
	uint32_t tag;
	unsigned pool;
	const struct pt_row *site; /* with --sites */
	const struct pt_tally *tally; /* in NEW, for the description; NULL if gone */
	struct pt_sums old, new;
	int64_t d_diff, d_used;
	int suspect;
};

static int64_t delta(uint64_t a, uint64_t b)
{
	return (int64_t)(b - a);
}

static int cmp_change(const void *a, const void *b)
{
	const struct change *x = a, *y = b;

	if (x->suspect != y->suspect)
		return x->suspect ? -1 : 1;
	if (x->d_used != y->d_used)
		return x->d_used > y->d_used ? -1 : 1;
	if (x->d_diff != y->d_diff)
		return x->d_diff > y->d_diff ? -1 : 1;
	return memcmp(&x->tag, &y->tag, 4);
}

static int same_site(const struct pt_row *a, const struct pt_row *b)
{
	return a->tag == b->tag && a->pool == b->pool && a->line == b->line &&
	       strcmp(a->file, b->file) == 0 && strcmp(a->func, b->func) == 0;
}

static void sums_of_row(const struct pt_row *r, struct pt_sums *s)
{
	*s = (struct pt_sums){r->nallocs, r->nfrees, r->bytes_alloc, r->bytes_freed};
}

/* Adds a change unless nothing moved; fills the deltas and the verdict. */
static void add(struct change *c, size_t *n, struct change ch)
{
	if (ch.old.nallocs == ch.new.nallocs && ch.old.nfrees == ch.new.nfrees &&
	    ch.old.bytes_alloc == ch.new.bytes_alloc && ch.old.bytes_freed == ch.new.bytes_freed)
		return;
	ch.d_diff = delta(pt_sums_diff(&ch.old), pt_sums_diff(&ch.new));
	ch.d_used = delta(pt_sums_used(&ch.old), pt_sums_used(&ch.new));
	ch.suspect = ch.d_diff > 0 && (ch.d_used > 0 || ch.pool >= 2);
	c[(*n)++] = ch;
}

static const struct pt_tally *find_tally(const struct pt_tally *t, size_t n, uint32_t tag)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].tag == tag)
			return &t[i];
	return NULL;
}

static void print(const struct change *c, size_t n, const struct pt_view *ov,
		  const struct pt_view *nv, const struct pt_tagdb *db, int sites, long top)
{
	char desc[1024], tag[5], b1[512], b2[512], da[24], df[24];
	/* A dump with outstanding counts only cannot say how many were
	 * allocated or freed in between. */
	int counts = !ov->outstanding_only && !nv->outstanding_only;
	int header = -1;
	long shown = 0;

	printf(" Comparing OLD: %s with NEW: %s", pt_view_name(ov, b1, sizeof(b1)),
	       pt_view_name(nv, b2, sizeof(b2)));
	if (!ov->import_format && !nv->import_format)
		printf(", %.2f s apart", (double)(nv->taken_ns - ov->taken_ns) / 1e9);
	printf("\n");
	if (n == 0) {
		printf(" No tag changed.\n");
		return;
	}
	for (size_t i = 0; i < n && (top < 0 || shown < top); i++, shown++) {
		if (header != c[i].suspect) {
			header = c[i].suspect;
			printf("\n %s\n", header ? "Leak suspects: outstanding count and bytes grew"
						 : "Other changes:");
			printf(" %-4s %-8s %12s %12s %9s %9s %9s %10s\n", "Tag", "Pool", "+Diff", "+Used",
			       "+Allocs", "+Frees", "Diff", "Used");
		}
		snprintf(da, sizeof(da), "%+" PRId64, delta(c[i].old.nallocs, c[i].new.nallocs));
		snprintf(df, sizeof(df), "%+" PRId64, delta(c[i].old.nfrees, c[i].new.nfrees));
		printf(" %-4s %-8s %+12" PRId64 " %+12" PRId64 " %9s %9s %9" PRIu64 " %10" PRIu64 "   ",
		       pt_tag_print(c[i].tag, tag), class_names[c[i].pool & 3], c[i].d_diff,
		       c[i].d_used, counts ? da : "-", counts ? df : "-", pt_sums_diff(&c[i].new),
		       pt_sums_used(&c[i].new));
		if (sites && c[i].site)
			printf("at %s:%u in %s\n", pt_safe_str(c[i].site->file, b1, sizeof(b1)),
			       c[i].site->line,
			       pt_safe_str(*c[i].site->func ? c[i].site->func : "?", b2, sizeof(b2)));
		else if (c[i].tally)
			printf("%s\n", pt_tally_describe(desc, sizeof(desc), nv, db, c[i].tally));
		else
			printf("(no longer allocated)\n");
	}
	if ((size_t)shown < n)
		printf(" ... %zu more changes not shown\n", n - (size_t)shown);
}

/* Builds the change list of two views: per tag and pool, or per site. */
static struct change *compare(const struct pt_view *ov, const struct pt_view *nv,
			      const struct pt_tally *ot, size_t on, const struct pt_tally *nt,
			      size_t nn, int sites, size_t *count)
{
	size_t cap = sites ? ov->nrows + nv->nrows : 4 * (on + nn);
	struct change *c = calloc(cap + 1, sizeof(*c));

	*count = 0;
	if (!c)
		return NULL;
	if (sites) {
		for (size_t i = 0; i < nv->nrows; i++) {
			const struct pt_row *r = &nv->rows[i];
			struct change ch = {.tag = r->tag, .pool = r->pool, .site = r};
			sums_of_row(r, &ch.new);
			for (size_t j = 0; j < ov->nrows; j++)
				if (same_site(&ov->rows[j], r))
					sums_of_row(&ov->rows[j], &ch.old);
			ch.tally = find_tally(nt, nn, r->tag);
			add(c, count, ch);
		}
		for (size_t j = 0; j < ov->nrows; j++) { /* sites gone from NEW */
			int gone = 1;
			for (size_t i = 0; i < nv->nrows && gone; i++)
				gone = !same_site(&ov->rows[j], &nv->rows[i]);
			if (gone) {
				struct change ch = {.tag = ov->rows[j].tag, .pool = ov->rows[j].pool,
						    .site = &ov->rows[j]};
				sums_of_row(&ov->rows[j], &ch.old);
				add(c, count, ch);
			}
		}
		return c;
	}
	for (size_t i = 0; i < nn; i++) {
		const struct pt_tally *o = find_tally(ot, on, nt[i].tag);
		for (unsigned p = 0; p < 4; p++)
			add(c, count,
			    (struct change){.tag = nt[i].tag, .pool = p, .tally = &nt[i],
					    .old = o ? o->pool[p] : (struct pt_sums){0},
					    .new = nt[i].pool[p]});
	}
	for (size_t i = 0; i < on; i++) /* tags gone from NEW entirely */
		if (!find_tally(nt, nn, ot[i].tag))
			for (unsigned p = 0; p < 4; p++)
				add(c, count,
				    (struct change){.tag = ot[i].tag, .pool = p, .old = ot[i].pool[p]});
	return c;
}

int pt_cmd_diff(int argc, char **argv)
{
	static const struct option longs[] = {{"sites", no_argument, 0, 'S'},
					      {"top", required_argument, 0, 't'},
					      {"tags", required_argument, 0, 'T'},
					      {"help", no_argument, 0, 'h'},
					      {0, 0, 0, 0}};
	char **tagfiles = calloc((size_t)argc + 1, sizeof(char *));
	struct pt_view ov, nv;
	struct pt_tally *ot = NULL, *nt = NULL;
	struct pt_tagdb *db = NULL;
	struct change *c = NULL;
	size_t ntagfiles = 0, on = 0, nn = 0, n = 0;
	int ch, sites = 0, rc = 1;
	long top = -1;
	char err[1024];

	pt_view_init(&ov);
	pt_view_init(&nv);
	if (!tagfiles)
		return 1;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "t:h", longs, NULL)) != -1) {
		if (ch == 'h') {
			fprintf(stdout, "usage: pooltag diff [--sites] [-t N] [--tags FILE] OLD NEW\n"
					"  OLD and NEW: PIDs, snapshots, segments, or dumps saved from\n"
					"  WinDbg's !poolused or PoolMon (poolmon /n); or two reads of the\n"
					"  kernel: 'kernel', kernel snapshots, saved /proc/allocinfo\n");
			rc = 0;
			goto out;
		}
		if (ch == 'S')
			sites = 1;
		else if (ch == 'T')
			tagfiles[ntagfiles++] = optarg;
		else if (ch == 't' && (top = pt_parse_count("diff", "-t", optarg)) >= 0)
			continue;
		else if (ch == 't')
			goto usage;
		else {
			pt_getopt_err("diff", argv);
			goto usage;
		}
	}
	if (argc - optind != 2) {
		pt_usage_err("diff", "wants two arguments, OLD and NEW (PIDs, snapshots or dumps)");
		goto usage;
	}
	if (!(db = pt_tagdb_for(tagfiles, ntagfiles, err, sizeof(err))) ||
	    pt_target_load(argv[optind], &ov, err, sizeof(err)) != 0 ||
	    pt_target_load(argv[optind + 1], &nv, err, sizeof(err)) != 0) {
		pt_err("%s", err);
		goto out;
	}
	if (ov.kernel_format || nv.kernel_format) { /* sites and modules: kdiff.c */
		if (!ov.kernel_format || !nv.kernel_format)
			pt_err("%s is the kernel and %s is not: nothing to compare",
			       argv[optind + !ov.kernel_format], argv[optind + !!ov.kernel_format]);
		else if (pt_kdiff_print(stdout, &ov, &nv, top) != 0)
			pt_err("out of memory");
		else
			rc = pt_flush_stdout();
		goto out;
	}
	if (sites && (ov.import_format || nv.import_format)) {
		pt_err("%s: a %s dump has no call sites (--sites)",
		       argv[optind + !ov.import_format],
		       ov.import_format ? ov.import_format : nv.import_format);
		goto out;
	}
	if (pt_tally_build(&ov, NULL, &ot, &on) != 0 || pt_tally_build(&nv, NULL, &nt, &nn) != 0 ||
	    !(c = compare(&ov, &nv, ot, on, nt, nn, sites, &n))) {
		pt_err("out of memory");
		goto out;
	}
	qsort(c, n, sizeof(*c), cmp_change);
	print(c, n, &ov, &nv, db, sites, top);
	rc = pt_flush_stdout();
	goto out;
usage: /* the message is printed */
	rc = 2;
out:
	free(c);
	pt_tally_free(ot, on);
	pt_tally_free(nt, nn);
	pt_tagdb_free(db);
	pt_view_free(&ov);
	pt_view_free(&nv);
	free(tagfiles);
	return rc;
}
