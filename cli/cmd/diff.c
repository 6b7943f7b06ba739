/*
 * diff.c - `pooltag diff OLD NEW`: which tags (or call sites) grew between
 * two reads of a process (of the kernel: diffk.c).
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
#include "diff.h"
#include "pooltag.h"
#include "safestr.h"
#include "tally.h"

struct diff_opts {
	struct pt_cmdopt c; /* --tags */
	int sites;
	long top; /* -1: all */
	const char *old, *new;
};

/* What the table shows, read and computed. */
struct diff_result {
	struct pt_view ov, nv;
	struct pt_tagdb *db;
	struct pt_tally *ot, *nt; /* the views' tallies */
	size_t on, nn;
	struct change *c; /* suspects first, largest growth first */
	size_t n;
};

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

/* ---- Parse --------------------------------------------------------------- */

static int diff_parse(int argc, char **argv, struct diff_opts *o)
{
	static const struct option longs[] = {{"sites", no_argument, 0, 'S'},
					      {"top", required_argument, 0, 't'},
					      {"tags", required_argument, 0, PT_OPT_TAGS},
					      {"help", no_argument, 0, 'h'},
					      {0, 0, 0, 0}};
	int ch;

	*o = (struct diff_opts){.top = -1};
	if (pt_cmdopt_init(&o->c, argc) != 0)
		return 1;
	while ((ch = getopt_long(argc, argv, "t:h", longs, NULL)) != -1) {
		if (ch == 'h') {
			fprintf(stdout, "usage: pooltag diff [--sites] [-t N] [--tags FILE] OLD NEW\n"
					"  OLD and NEW: PIDs, snapshots, segments, or dumps saved from\n"
					"  WinDbg's !poolused or PoolMon (poolmon /n); or two reads of the\n"
					"  kernel: 'kernel', kernel snapshots, saved /proc/allocinfo\n");
			return 0;
		}
		if (ch == 'S')
			o->sites = 1;
		else if (ch == 't' && (o->top = pt_parse_count("diff", "-t", optarg)) < 0)
			return 2;
		else if (ch != 't' && !pt_cmdopt_take(&o->c, ch, optarg))
			return pt_getopt_err("diff", argv);
	}
	if (argc - optind != 2)
		return pt_usage_err("diff", "wants two arguments, OLD and NEW (PIDs, snapshots or dumps)");
	o->old = argv[optind];
	o->new = argv[optind + 1];
	return PT_PARSED;
}

/* ---- Execute ------------------------------------------------------------- */

static int diff_execute(const struct diff_opts *o, struct diff_result *r)
{
	if (o->sites && (r->ov.import_format || r->nv.import_format)) {
		pt_err("%s: a %s dump has no call sites (--sites)",
		       r->ov.import_format ? o->old : o->new,
		       r->ov.import_format ? r->ov.import_format : r->nv.import_format);
		return 1;
	}
	if (pt_tally_build(&r->ov, NULL, &r->ot, &r->on) != 0 ||
	    pt_tally_build(&r->nv, NULL, &r->nt, &r->nn) != 0 ||
	    !(r->c = compare(&r->ov, &r->nv, r->ot, r->on, r->nt, r->nn, o->sites, &r->n))) {
		pt_err("out of memory");
		return 1;
	}
	qsort(r->c, r->n, sizeof(*r->c), cmp_change);
	return 0;
}

/* ---- Print --------------------------------------------------------------- */

enum { V_TAG, V_POOL, V_DDIFF, V_DUSED, V_DALLOCS, V_DFREES, V_DIFF, V_USED, V_WHAT, V_N };

/* A change: growth of the outstanding count and bytes, allocations and
 * frees in between (unknown for a dump of outstanding counts), what is
 * outstanding in NEW; then the description, or the site. */
static const struct pt_emit_col change_cols[] = {
	{.in = PT_IN_TEXT, .val = V_TAG, .title = "Tag", .sep = " ", .width = -4},
	{.in = PT_IN_TEXT, .val = V_POOL, .title = "Pool", .sep = " ", .width = -8},
	{.in = PT_IN_TEXT, .val = V_DDIFF, .title = "+Diff", .sep = " ", .width = 12},
	{.in = PT_IN_TEXT, .val = V_DUSED, .title = "+Used", .sep = " ", .width = 12},
	{.in = PT_IN_TEXT, .val = V_DALLOCS, .title = "+Allocs", .sep = " ", .width = 9},
	{.in = PT_IN_TEXT, .val = V_DFREES, .title = "+Frees", .sep = " ", .width = 9},
	{.in = PT_IN_TEXT, .val = V_DIFF, .title = "Diff", .sep = " ", .width = 9},
	{.in = PT_IN_TEXT, .val = V_USED, .title = "Used", .sep = " ", .width = 10},
	{.in = PT_IN_TEXT, .val = V_WHAT, .sep = "   "},
};
static const struct pt_emit_table change_table = PT_EMIT_TABLE(change_cols);

static void print_change(struct pt_emit *e, const struct diff_result *r, const struct change *c,
			 int sites)
{
	/* A dump with outstanding counts only cannot say how many were
	 * allocated or freed in between. */
	int counts = !r->ov.outstanding_only && !r->nv.outstanding_only;
	struct pt_val v[V_N];
	char desc[1024], tag[5], b1[512], b2[512];

	v[V_TAG] = pt_val_str(pt_tag_print(c->tag, tag));
	v[V_POOL] = pt_val_word(pt_pool_title[c->pool & 3]);
	v[V_DDIFF] = pt_val_delta(c->d_diff);
	v[V_DUSED] = pt_val_delta(c->d_used);
	v[V_DALLOCS] = counts ? pt_val_delta(delta(c->old.nallocs, c->new.nallocs)) : pt_val_null();
	v[V_DFREES] = counts ? pt_val_delta(delta(c->old.nfrees, c->new.nfrees)) : pt_val_null();
	v[V_DIFF] = pt_val_u64(pt_sums_diff(&c->new));
	v[V_USED] = pt_val_u64(pt_sums_used(&c->new));
	if (sites && c->site)
		snprintf(desc, sizeof(desc), "at %s:%u in %s", pt_safe_str(c->site->file, b1, sizeof(b1)),
			 c->site->line,
			 pt_safe_str(*c->site->func ? c->site->func : "?", b2, sizeof(b2)));
	else if (c->tally)
		pt_tally_describe(desc, sizeof(desc), &r->nv, r->db, c->tally);
	else
		snprintf(desc, sizeof(desc), "(no longer allocated)");
	v[V_WHAT] = pt_val_str(desc);
	pt_emit_row(e, PT_IN_ALL, &change_table, v);
}

static void diff_print(struct pt_emit *e, const struct diff_opts *o, const struct diff_result *r)
{
	char b1[512], b2[512];
	int header = -1;
	size_t shown = 0;

	pt_emit_text(e, " Comparing OLD: %s with NEW: %s", pt_view_name(&r->ov, b1, sizeof(b1)),
		     pt_view_name(&r->nv, b2, sizeof(b2)));
	if (!r->ov.import_format && !r->nv.import_format)
		pt_emit_text(e, ", %.2f s apart", (double)(r->nv.taken_ns - r->ov.taken_ns) / 1e9);
	pt_emit_text(e, "\n");
	if (r->n == 0) {
		pt_emit_text(e, " No tag changed.\n");
		return;
	}
	for (; shown < r->n && (o->top < 0 || shown < (size_t)o->top); shown++) {
		if (header != r->c[shown].suspect) {
			header = r->c[shown].suspect;
			pt_emit_text(e, "\n %s\n", header ? "Leak suspects: outstanding count and bytes grew"
							   : "Other changes:");
			pt_emit_head(e, &change_table);
		}
		print_change(e, r, &r->c[shown], o->sites);
	}
	if (shown < r->n)
		pt_emit_text(e, " ... %zu more changes not shown\n", r->n - shown);
}

/* ---- The command --------------------------------------------------------- */

static int diff_run(const struct diff_opts *o, struct diff_result *r)
{
	struct pt_emit e;
	char err[1024];
	int rc;

	if (!(r->db = pt_cmdopt_tagdb(&o->c, err, sizeof(err))) ||
	    pt_target_load(o->old, &r->ov, err, sizeof(err)) != 0 ||
	    pt_target_load(o->new, &r->nv, err, sizeof(err)) != 0) {
		pt_err("%s", err);
		return 1;
	}
	if (r->ov.kernel_format || r->nv.kernel_format) /* sites and modules */
		return pt_diff_kernel(&r->ov, &r->nv, o->old, o->new, o->top);
	if ((rc = diff_execute(o, r)) != 0)
		return rc;
	pt_emit_init(&e, stdout, PT_EMIT_TEXT);
	diff_print(&e, o, r);
	return pt_flush_stdout();
}

int pt_cmd_diff(int argc, char **argv)
{
	struct diff_opts o;
	struct diff_result r = {.db = NULL};
	int rc = diff_parse(argc, argv, &o);

	pt_view_init(&r.ov);
	pt_view_init(&r.nv);
	if (rc == PT_PARSED)
		rc = diff_run(&o, &r);
	free(r.c);
	pt_tally_free(r.ot, r.on);
	pt_tally_free(r.nt, r.nn);
	pt_tagdb_free(r.db);
	pt_view_free(&r.ov);
	pt_view_free(&r.nv);
	pt_cmdopt_free(&o.c);
	return rc;
}
