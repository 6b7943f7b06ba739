/*
 * used.c - `pooltag used`: the !poolused table of a process or snapshot.
 *
 * The text layout is WinDbg's: a "Sorting by" header, NonPaged then Paged
 * columns (outstanding count and bytes; with the verbose flag allocs, frees,
 * diff and bytes), the description column and a TOTAL row.  Numeric flags are
 * WinDbg's too: 1 verbose, 2 sort by non-paged bytes, 4 by paged bytes (2
 * wins when both are set, so 7 behaves as 3).
 *
 * Parsed into struct used_opts, read and computed into struct used_result,
 * printed through the emitter (emit.h) in text, JSON or CSV; the kernel's
 * table is usedk.c's, the suspects' usedsus.c's.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pooltag.h"
#include "safestr.h"
#include "sampled.h"
#include "segfmt.h"
#include "tally.h"
#include "used.h"

static const char *const sort_names[] = {"tag", "nonpaged", "paged", "diff", "allocs"};
static const char *const sort_titles[] = {
	"Tag", "NonPaged Pool Consumed", "Paged Pool Consumed", "Outstanding Allocations (Diff)",
	"Allocations"};

/* What the table shows, read and computed. */
struct used_result {
	struct pt_view v;
	struct pt_tagdb *db;
	struct pt_tally *t; /* sorted */
	size_t n, shown;    /* tags, and the first of them shown (-t) */
	struct pt_sums total[2]; /* non-paged and paged, over every tag */
};

/* ---- Parse --------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stdout,
		"usage: pooltag used [FLAGS] [PATTERN] PID|SNAPSHOT|DUMP|kernel\n"
		"  kernel   the Linux kernel's /proc/allocinfo, sites grouped by module; PATTERN\n"
		"           then matches module names, '(kernel)' the kernel's own sites\n"
		"  a SEGMENT file (what a dead process left in /dev/shm) works as a SNAPSHOT\n"
		"  a DUMP is text saved from WinDbg's !poolused or PoolMon's snapshot (poolmon /n)\n"
		"  FLAGS    WinDbg's numeric flags: 1 verbose, 2 sort by non-paged, 4 by paged\n"
		"  PATTERN  tag pattern, '?' one character, '*' any (case-sensitive): 'SEY?'\n"
		"  -v, --verbose        allocs, frees, diff and bytes per pool\n"
		"  -s, --sort KEY       tag, nonpaged, paged, diff or allocs (kernel: module,\n"
		"                       bytes, count)\n"
		"  -r, --reverse        reverse the order\n"
		"  -t, --top N          the first N tags only (TOTAL still counts all)\n"
		"      --sites          break each tag into its call sites\n"
		"      --json, --csv    for scripts\n"
		"      --tags FILE      pooltag.txt-format descriptions (repeatable)\n"
		"      --suspects       tags whose allocations were almost never freed, ranked\n"
		"      --min-allocs N   with --suspects: judge tags with at least N allocations (100)\n"
		"      --max-freed PCT  with --suspects: at most PCT%% of them freed (10)\n");
}

/* Reads WinDbg flags from s: 1 if s is a flags word (decimal or 0x hex),
 * 0 if not a number, -1 (printed) if a number with unknown bits. */
static int parse_flags(const char *s, struct used_opts *o)
{
	char *end;
	int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	unsigned long f = strtoul(s, &end, hex ? 16 : 10);

	if (!*s || *end || *s == '-' || *s == '+')
		return 0;
	if (f & 8) {
		pt_usage_err("used", "flag 8 (session pool) has no meaning for a process");
		return -1;
	}
	if (f & ~7ul) {
		pt_usage_err("used", "unknown flag bits in '%s': 1 verbose, 2 sort non-paged, 4 sort paged", s);
		return -1;
	}
	o->verbose |= (int)(f & 1);
	if (f & 2)
		o->sort = USED_SORT_NONPAGED;
	else if (f & 4)
		o->sort = USED_SORT_PAGED;
	return 1;
}

/* A sort key by name, or by the kernel's names for its keys (module,
 * bytes, count); -1 (printed) if neither. */
static int parse_sort(const char *s)
{
	static const char *const alias[] = {"module", "bytes", "count"};
	static const enum used_sort aliased[] = {USED_SORT_TAG, USED_SORT_NONPAGED, USED_SORT_DIFF};

	for (int i = 0; i < 5; i++)
		if (strcmp(s, sort_names[i]) == 0)
			return i;
	for (int i = 0; i < 3; i++)
		if (strcmp(s, alias[i]) == 0)
			return (int)aliased[i];
	pt_usage_err("used", "unknown sort key '%s': tag, nonpaged, paged, diff or allocs", s);
	return -1;
}

/* One option of getopt_long's: 0, or -1 on a usage error (printed). */
static int take_opt(struct used_opts *o, int c, char *arg, char **argv)
{
	long num;

	switch (c) {
	case 'v':
		o->verbose = 1;
		return 0;
	case 's':
		if ((num = parse_sort(arg)) < 0)
			return -1;
		o->sort = (enum used_sort)num;
		o->sorted = 1;
		return 0;
	case 'r':
		o->reverse = 1;
		o->sorted = 1;
		return 0;
	case 'U':
		o->suspects = 1;
		return 0;
	case 'M':
		if ((num = pt_parse_count("used", "--min-allocs", arg)) < 0)
			return -1;
		o->so.min_allocs = (uint64_t)num;
		return 0;
	case 'F':
		if ((num = pt_parse_count("used", "--max-freed", arg)) < 0)
			return -1;
		if (num > 100)
			return pt_usage_err("used", "--max-freed is a percentage, 0 to 100, not '%s'", arg), -1;
		o->so.max_freed = (unsigned)num;
		return 0;
	case 't':
		return (o->top = pt_parse_count("used", "-t", arg)) < 0 ? -1 : 0;
	case 'S':
		o->sites = 1;
		return 0;
	default:
		if (pt_cmdopt_take(&o->c, c, arg))
			return 0;
		pt_getopt_err("used", argv);
		return -1;
	}
}

/* The arguments after the options: [FLAGS] [PATTERN] TARGET. */
static int take_args(struct used_opts *o, int argc, char **argv)
{
	int npos = argc - optind, f;

	if (npos < 1 || npos > 3)
		return pt_usage_err("used", npos < 1 ? "which process or snapshot?" : "too many arguments");
	o->target = argv[argc - 1];
	if (npos < 2)
		return PT_PARSED;
	if ((f = parse_flags(argv[optind], o)) < 0)
		return 2;
	if (f == 0 && npos == 3)
		return pt_usage_err("used", "'%s' is not a flags number", argv[optind]);
	if (f == 0 || npos == 3)
		o->pattern = argv[argc - 2];
	return PT_PARSED;
}

static int used_parse(int argc, char **argv, struct used_opts *o)
{
	static const struct option longs[] = {
		{"verbose", no_argument, 0, 'v'}, {"sort", required_argument, 0, 's'},
		{"reverse", no_argument, 0, 'r'}, {"top", required_argument, 0, 't'},
		{"sites", no_argument, 0, 'S'},   {"json", no_argument, 0, PT_OPT_JSON},
		{"csv", no_argument, 0, PT_OPT_CSV}, {"tags", required_argument, 0, PT_OPT_TAGS},
		{"help", no_argument, 0, 'h'},    {"suspects", no_argument, 0, 'U'},
		{"min-allocs", required_argument, 0, 'M'},
		{"max-freed", required_argument, 0, 'F'}, {0, 0, 0, 0}};
	int c, rc;

	*o = (struct used_opts){.sort = USED_SORT_TAG, .top = -1,
				.so = {.min_allocs = PT_SUSPECT_MIN_ALLOCS,
				       .max_freed = PT_SUSPECT_MAX_FREED}};
	if (pt_cmdopt_init(&o->c, argc) != 0)
		return 1;
	while ((c = getopt_long(argc, argv, "vs:rt:h", longs, NULL)) != -1) {
		if (c == 'h') {
			usage();
			return 0;
		}
		if (take_opt(o, c, optarg, argv) != 0)
			return 2;
	}
	if ((rc = take_args(o, argc, argv)) != PT_PARSED)
		return rc;
	if (o->suspects && (o->c.fmt != PT_EMIT_TEXT || o->sites || o->sorted))
		return pt_usage_err("used", "--suspects has its own order and text table: no --json, --csv, --sites, -s or -r");
	return PT_PARSED;
}

/* ---- Execute ------------------------------------------------------------- */

static enum used_sort g_sort;
static int g_reverse;

static uint64_t sort_value(const struct pt_tally *t)
{
	const struct pt_sums *np = &t->pool[PT_NONPAGED], *p = &t->pool[PT_PAGED];

	switch (g_sort) {
	case USED_SORT_NONPAGED:
		return pt_sums_used(np);
	case USED_SORT_PAGED:
		return pt_sums_used(p);
	case USED_SORT_DIFF:
		return pt_sums_diff(np) + pt_sums_diff(p);
	case USED_SORT_ALLOCS:
		return np->nallocs + p->nallocs;
	default:
		return 0;
	}
}

/* Largest first for the numeric keys, ties and USED_SORT_TAG by tag. */
static int cmp_tally(const void *a, const void *b)
{
	const struct pt_tally *x = a, *y = b;
	uint64_t vx = sort_value(x), vy = sort_value(y);
	int c = vx != vy ? (vx > vy ? -1 : 1) : memcmp(&x->tag, &y->tag, 4);

	return g_reverse ? -c : c;
}

/* What a process's view cannot show, for the options given: 0, or the
 * exit status (message printed). */
static int check_view(const struct used_opts *o, const struct pt_view *v)
{
	char err[1024];

	if (o->pattern && pt_tag_pattern_check(o->pattern, err, sizeof(err)) != 0)
		return pt_usage_err("used", "bad tag pattern '%s': %s", o->pattern, err);
	if (o->sites && v->import_format) {
		pt_err("%s: a %s dump has no call sites (--sites)", o->target, v->import_format);
		return 1;
	}
	if (o->suspects && v->outstanding_only) {
		pt_err("%s: --suspects needs allocations and frees, and this dump has outstanding counts only (save !poolused with flag 1)",
		       o->target);
		return 1;
	}
	return 0;
}

/* The tags of r->v matching the pattern, summed; for the table (not
 * --suspects, which has its own order) sorted and totalled. */
static int used_execute(const struct used_opts *o, struct used_result *r)
{
	if (pt_tally_build(&r->v, o->pattern, &r->t, &r->n) != 0) {
		pt_err("out of memory");
		return 1;
	}
	if (o->suspects)
		return 0;
	for (size_t i = 0; i < r->n; i++)
		for (int p = 0; p < 2; p++) {
			r->total[p].nallocs += r->t[i].pool[p].nallocs;
			r->total[p].nfrees += r->t[i].pool[p].nfrees;
			r->total[p].bytes_alloc += r->t[i].pool[p].bytes_alloc;
			r->total[p].bytes_freed += r->t[i].pool[p].bytes_freed;
		}
	g_sort = o->sort;
	g_reverse = o->reverse;
	qsort(r->t, r->n, sizeof(*r->t), cmp_tally);
	r->shown = o->top >= 0 && (size_t)o->top < r->n ? (size_t)o->top : r->n;
	return 0;
}

/* ---- Print --------------------------------------------------------------- */

/* The values of a row: a tag, one of its sites, or the TOTAL. */
enum {
	V_TAG,   /* the tag's four bytes as they are */
	V_LABEL, /* text: the tag made printable, "" under it for a site, TOTAL */
	V_DESC,  /* the description; text: a site's place under it */
	V_HELD,  /* text: " [held: N references, M handles]" or "" */
	V_POOL,  /* a site's pool, or a CSV row's */
	V_FILE,
	V_LINE,
	V_FUNC,
	V_MODULE,
	V_NP,    /* four counts per pool from here: allocs, frees, diff, used */
	V_P = V_NP + 4,
	V_REFS = V_P + 4,
	V_HANDLES = V_REFS + 4,
	V_COUNTS = V_HANDLES + 4, /* a site's, in its own pool */
	V_N = V_COUNTS + 4
};

/* The text layouts: WinDbg's short one and its verbose one (flag 1). */
enum { SHORT = 1, VERBOSE = 2 };

#define T PT_IN_TEXT
#define J PT_IN_JSON
#define C PT_IN_CSV

/* A pool's columns in text: "Allocs Used" (the outstanding count under
 * WinDbg's title, and bytes), verbose "Allocs Frees Diff Used". */
#define TEXT_POOL(v, short_sep)                                                              \
	{.in = T, .layout = VERBOSE, .val = (v), .title = "Allocs", .width = 9},             \
	{.in = T, .layout = VERBOSE, .val = (v) + 1, .title = "Frees", .width = 10},         \
	{.in = T, .layout = VERBOSE, .val = (v) + 2, .title = "Diff", .width = 9},           \
	{.in = T, .layout = SHORT, .val = (v) + 2, .title = "Allocs", .sep = (short_sep),    \
	 .width = 9},                                                                         \
	{.in = T, .val = (v) + 3, .title = "Used", .width = 9}

/* Four counts in an object named group (JSON), or as columns (CSV). */
#define COUNTS(in_, v, group_)                                                               \
	{.in = (in_), .val = (v), .key = "allocs", .group = (group_)},                       \
	{.in = (in_), .val = (v) + 1, .key = "frees", .group = (group_)},                    \
	{.in = (in_), .val = (v) + 2, .key = "diff", .group = (group_)},                     \
	{.in = (in_), .val = (v) + 3, .key = "used", .group = (group_)}

/* A tag: a line of text, an object of JSON's "tags" (the TOTAL row too);
 * CSV has no row per tag, but one per pool or site (site_table).  A site
 * of counts is written in text as a line of this table (print_site). */
static const struct pt_emit_col tag_cols[] = {
	{.in = T, .val = V_LABEL, .title = "Tag", .sep = " ", .width = -4},
	{.in = J, .val = V_TAG, .key = "tag"},
	{.in = J, .val = V_DESC, .key = "description"},
	TEXT_POOL(V_NP, NULL),
	TEXT_POOL(V_P, " "),
	COUNTS(J, V_NP, "nonpaged"),
	COUNTS(J, V_P, "paged"),
	COUNTS(J, V_REFS, "refs"),
	COUNTS(J, V_HANDLES, "handles"),
	{.in = T, .layout = SHORT, .val = V_DESC, .sep = "\t"},
	{.in = T, .layout = VERBOSE, .val = V_DESC, .sep = "   "},
	{.in = T, .val = V_HELD},
};
static const struct pt_emit_table tag_table = PT_EMIT_TABLE(tag_cols);

/* A site: an object of its tag's "sites" (JSON), a row (CSV), which is
 * also CSV's row of a tag's pool (file "", line 0) without --sites. */
static const struct pt_emit_col site_cols[] = {
	{.in = C, .val = V_TAG, .key = "tag"},
	{.in = C, .val = V_POOL, .key = "pool"},
	{.in = J | C, .val = V_FILE, .key = "file"},
	{.in = J | C, .val = V_LINE, .key = "line"},
	{.in = J | C, .val = V_FUNC, .key = "function"},
	{.in = J, .val = V_MODULE, .key = "module"},
	{.in = J, .val = V_POOL, .key = "pool"},
	COUNTS(J | C, V_COUNTS, "counts"),
	{.in = C, .val = V_DESC, .key = "description"},
};
static const struct pt_emit_table site_table = PT_EMIT_TABLE(site_cols);

/* Four counts of s at v[0..4); allocations and frees unknown (NULL) in a
 * view of outstanding counts only (an imported !poolused without flag 1). */
static void count_vals(struct pt_val *v, const struct pt_sums *s, const struct pt_view *view)
{
	v[0] = view->outstanding_only ? pt_val_null() : pt_val_u64(s->nallocs);
	v[1] = view->outstanding_only ? pt_val_null() : pt_val_u64(s->nfrees);
	v[2] = pt_val_u64(pt_sums_diff(s));
	v[3] = pt_val_u64(pt_sums_used(s));
}

static void row_sums(const struct pt_row *r, struct pt_sums s[4])
{
	memset(s, 0, 4 * sizeof(*s));
	s[r->pool & 3] = (struct pt_sums){r->nallocs, r->nfrees, r->bytes_alloc, r->bytes_freed};
}

/* " [held: N references, M handles]" for a tag whose objects are referenced
 * through pooltag's objects, or "". */
static const char *held(const struct pt_tally *t, char *buf, size_t len)
{
	uint64_t r = pt_sums_diff(&t->pool[PT_SEG_CLASS_REFS]);
	uint64_t h = pt_sums_diff(&t->pool[PT_SEG_CLASS_HANDLES]);

	if (!t->pool[PT_SEG_CLASS_REFS].nallocs && !t->pool[PT_SEG_CLASS_HANDLES].nallocs)
		return "";
	snprintf(buf, len, " [held: %llu references, %llu handles]", (unsigned long long)r,
		 (unsigned long long)h);
	return buf;
}

/* The lines above the rows: the view, the order, the titles; JSON's
 * header members; CSV's column names. */
static void print_head(struct pt_emit *e, const struct used_opts *o, const struct pt_view *v)
{
	char b[512];

	pt_emit_text(e, " %s%s\n", pt_view_name(v, b, sizeof(b)), v->nmisuse ? ", misuse reported" : "");
	pt_emit_text(e, " Sorting by %s%s\n\n", sort_titles[o->sort], o->reverse ? " (reversed)" : "");
	pt_emit_text(e, " Pool Used:\n");
	pt_emit_text(e, o->verbose ? "            NonPaged                         Paged\n"
				   : "            NonPaged            Paged\n");
	pt_emit_head(e, &tag_table);
	pt_emit_head(e, &site_table);
	pt_emit_obj(e, NULL);
	pt_emit_kv(e, "format", pt_val_word("pooltag-used"));
	pt_emit_kv(e, "version", pt_val_u64(2));
	pt_emit_kv(e, "pid", pt_val_i64(v->pid));
	pt_emit_kv(e, "command", pt_val_str(v->comm));
	if (v->import_format) {
		pt_emit_obj(e, "import");
		pt_emit_kv(e, "file", pt_val_str(v->import_file));
		pt_emit_kv(e, "format", pt_val_str(v->import_format));
		pt_emit_end(e);
	}
	pt_emit_kv(e, "taken_ns", pt_val_i64(v->taken_ns));
	pt_emit_kv(e, "misuse", pt_val_u64(v->nmisuse));
	pt_emit_kv(e, "sort", pt_val_word(sort_names[o->sort]));
}

/* A site of tag row tv (whose tag and description it shares): in text a
 * line under the tag, counts in their pool's columns and the place in the
 * description's, or a sentence for references and handles. */
static void print_site(struct pt_emit *e, const struct pt_view *view, const struct pt_row *r,
		       const struct pt_val *tv)
{
	struct pt_val v[V_N] = {[V_TAG] = tv[V_TAG], [V_DESC] = tv[V_DESC], [V_LABEL] = pt_val_str("")};
	struct pt_sums s[4];
	char b1[512], b2[256], b3[256], at[1024];

	row_sums(r, s);
	v[V_POOL] = pt_val_word(pt_pool_word[r->pool & 3]);
	v[V_FILE] = pt_val_str(r->file);
	v[V_LINE] = pt_val_u64(r->line);
	v[V_FUNC] = pt_val_str(r->func);
	v[V_MODULE] = pt_val_str(r->module);
	count_vals(v + V_COUNTS, &s[r->pool & 3], view);
	pt_emit_row(e, J | C, &site_table, v);
	if (r->pool >= PT_SEG_CLASS_REFS) {
		pt_emit_text(e, "      %s: %llu held, %llu taken, at %s:%u in %s%s%s%s\n",
			     r->pool == PT_SEG_CLASS_REFS ? "references" : "handles",
			     (unsigned long long)(r->nallocs - r->nfrees),
			     (unsigned long long)r->nallocs, pt_safe_str(r->file, b1, sizeof(b1)),
			     r->line, pt_safe_str(*r->func ? r->func : "?", b2, sizeof(b2)),
			     *r->module ? " (" : "", pt_safe_str(r->module, b3, sizeof(b3)),
			     *r->module ? ")" : "");
		return;
	}
	if (*r->file)
		snprintf(at, sizeof(at), "  at %s:%u in %s", pt_safe_str(r->file, b1, sizeof(b1)),
			 r->line, pt_safe_str(*r->func ? r->func : "?", b2, sizeof(b2)));
	else
		snprintf(at, sizeof(at), "  (sites beyond the table, counted by tag)");
	v[V_DESC] = pt_val_str(at);
	count_vals(v + V_NP, &s[PT_NONPAGED], view);
	count_vals(v + V_P, &s[PT_PAGED], view);
	pt_emit_row(e, T, &tag_table, v);
}

/* A tag's row, then its sites (--sites) or, in CSV, a row per pool. */
static void print_tag(struct pt_emit *e, const struct used_opts *o, const struct used_result *r,
		      const struct pt_tally *t)
{
	static const int order[] = {PT_NONPAGED, PT_PAGED, PT_SEG_CLASS_REFS, PT_SEG_CLASS_HANDLES};
	struct pt_val v[V_N] = {0};
	char tag[5], label[5], desc[1024], hb[256];

	v[V_TAG] = pt_val_str(pt_tag_str(t->tag, tag));
	v[V_LABEL] = pt_val_str(pt_tag_print(t->tag, label));
	v[V_DESC] = pt_val_str(pt_tally_describe(desc, sizeof(desc), &r->v, r->db, t));
	v[V_HELD] = pt_val_str(held(t, hb, sizeof(hb)));
	count_vals(v + V_NP, &t->pool[PT_NONPAGED], &r->v);
	count_vals(v + V_P, &t->pool[PT_PAGED], &r->v);
	count_vals(v + V_REFS, &t->pool[PT_SEG_CLASS_REFS], &r->v);
	count_vals(v + V_HANDLES, &t->pool[PT_SEG_CLASS_HANDLES], &r->v);
	pt_emit_row_open(e, T | J, &tag_table, v);
	if (o->sites) {
		pt_emit_arr(e, "sites");
		for (size_t j = 0; j < t->nsites; j++)
			print_site(e, &r->v, t->sites[j], v);
		pt_emit_end(e);
	}
	for (int k = 0; !o->sites && k < 4; k++) {
		if (!t->pool[order[k]].nallocs)
			continue;
		v[V_POOL] = pt_val_word(pt_pool_word[order[k]]);
		v[V_FILE] = v[V_FUNC] = pt_val_str("");
		v[V_LINE] = pt_val_u64(0);
		count_vals(v + V_COUNTS, &t->pool[order[k]], &r->v);
		pt_emit_row(e, C, &site_table, v);
	}
	pt_emit_end(e);
}

/* The table, then with --sites the sampled call paths: 0, or -1 on out of
 * memory (the paths left out). */
static int used_print(struct pt_emit *e, const struct used_opts *o, const struct used_result *r)
{
	struct pt_val v[V_N] = {[V_LABEL] = pt_val_str("TOTAL")};
	int rc = 0;

	e->layout = o->verbose ? VERBOSE : SHORT;
	print_head(e, o, &r->v);
	pt_emit_arr(e, "tags");
	for (size_t i = 0; i < r->shown; i++)
		print_tag(e, o, r, &r->t[i]);
	pt_emit_end(e);
	if (r->shown < r->n)
		pt_emit_text(e, " ... %zu more tags not shown (-t %ld)\n", r->n - r->shown, o->top);
	count_vals(v + V_NP, &r->total[PT_NONPAGED], &r->v);
	count_vals(v + V_P, &r->total[PT_PAGED], &r->v);
	pt_emit_key(e, "total");
	pt_emit_row(e, T | J, &tag_table, v);
	if (o->sites)
		rc = pt_sampled_emit(e, &r->v, o->pattern, o->top);
	pt_emit_end(e);
	return rc;
}

/* ---- The command --------------------------------------------------------- */

/* Reads the target and prints what the options ask of it. */
static int used_run(const struct used_opts *o, struct used_result *r)
{
	char err[1024];
	struct pt_emit e;
	int rc;

	if (!(r->db = pt_cmdopt_tagdb(&o->c, err, sizeof(err))) ||
	    pt_target_load(o->target, &r->v, err, sizeof(err)) != 0) {
		pt_err("%s", err);
		return 1;
	}
	if (r->v.kernel_format) /* module patterns, not tag patterns */
		return pt_used_kernel(o, &r->v);
	if ((rc = check_view(o, &r->v)) != 0 || (rc = used_execute(o, r)) != 0)
		return rc;
	if (o->suspects) /* its own order and table: usedsus.c */
		return pt_used_suspects(o, &r->v, r->db, r->t, r->n);
	pt_emit_init(&e, stdout, o->c.fmt);
	if (used_print(&e, o, r) != 0) {
		pt_err("out of memory");
		return 1;
	}
	return pt_flush_stdout();
}

int pt_cmd_used(int argc, char **argv)
{
	struct used_opts o;
	struct used_result r = {.db = NULL};
	int rc = used_parse(argc, argv, &o);

	pt_view_init(&r.v);
	if (rc == PT_PARSED)
		rc = used_run(&o, &r);
	pt_tally_free(r.t, r.n);
	pt_tagdb_free(r.db);
	pt_view_free(&r.v);
	pt_cmdopt_free(&o.c);
	return rc;
}
