/*
 * used.c - `pooltag used`: the !poolused table of a process or snapshot.
 *
 * The text layout is WinDbg's: a "Sorting by" header, NonPaged then Paged
 * columns (outstanding count and bytes; with the verbose flag allocs, frees,
 * diff and bytes), the description column and a TOTAL row.  Numeric flags are
 * WinDbg's too: 1 verbose, 2 sort by non-paged bytes, 4 by paged bytes (2
 * wins when both are set, so 7 behaves as 3).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "jsonstr.h"
#include "kview.h"
#include "pooltag.h"
#include "sampled.h"
#include "segfmt.h"
#include "suspects.h"
#include "tally.h"

enum sort_key { SORT_TAG, SORT_NONPAGED, SORT_PAGED, SORT_DIFF, SORT_ALLOCS };
enum format { FMT_TEXT, FMT_JSON, FMT_CSV };

static const char *const sort_names[] = {"tag", "nonpaged", "paged", "diff", "allocs"};
static const char *const class_names[] = {"paged", "nonpaged", "refs", "handles"};
static const char *const sort_titles[] = {
	"Tag", "NonPaged Pool Consumed", "Paged Pool Consumed", "Outstanding Allocations (Diff)",
	"Allocations"};

struct used_opts {
	int verbose, sites, reverse, suspects, sorted;
	enum sort_key sort;
	enum format fmt;
	long top; /* -1: all */
};

static enum sort_key g_sort;
static int g_reverse;
/* The view has outstanding counts only (an imported !poolused without flag
 * 1): allocations and frees are unknown and printed as such. */
static int g_outstanding_only;

static uint64_t sort_value(const struct pt_tally *t)
{
	const struct pt_sums *np = &t->pool[PT_NONPAGED], *p = &t->pool[PT_PAGED];

	switch (g_sort) {
	case SORT_NONPAGED:
		return pt_sums_used(np);
	case SORT_PAGED:
		return pt_sums_used(p);
	case SORT_DIFF:
		return pt_sums_diff(np) + pt_sums_diff(p);
	case SORT_ALLOCS:
		return np->nallocs + p->nallocs;
	default:
		return 0;
	}
}

/* Largest first for the numeric keys, ties and SORT_TAG by tag. */
static int cmp_tally(const void *a, const void *b)
{
	const struct pt_tally *x = a, *y = b;
	uint64_t vx = sort_value(x), vy = sort_value(y);
	int c = vx != vy ? (vx > vy ? -1 : 1) : memcmp(&x->tag, &y->tag, 4);

	return g_reverse ? -c : c;
}

static void put_csv_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc((unsigned char)*s < 0x20 ? '?' : *s, f);
	}
	fputc('"', f);
}

/* The numeric columns of one pool: "Allocs Used" (outstanding count and
 * bytes) or, verbose, "Allocs Frees Diff Used". */
static void put_cols(FILE *f, const struct pt_sums *s, int verbose)
{
	if (verbose && g_outstanding_only)
		fprintf(f, "%9s%10s%9llu%9llu", "-", "-", (unsigned long long)pt_sums_diff(s),
			(unsigned long long)pt_sums_used(s));
	else if (verbose)
		fprintf(f, "%9llu%10llu%9llu%9llu", (unsigned long long)s->nallocs,
			(unsigned long long)s->nfrees, (unsigned long long)pt_sums_diff(s),
			(unsigned long long)pt_sums_used(s));
	else
		fprintf(f, "%9llu%9llu", (unsigned long long)pt_sums_diff(s),
			(unsigned long long)pt_sums_used(s));
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

static void print_text(FILE *f, const struct pt_view *v, const struct pt_tagdb *db,
		       struct pt_tally *t, size_t n, size_t shown, const struct used_opts *o,
		       const struct pt_sums total[2])
{
	char desc[1024], tag[5], b1[512], b2[256];
	const char *gap = o->verbose ? "   " : "\t";

	fprintf(f, " %s%s\n", pt_view_name(v, b1, sizeof(b1)), v->nmisuse ? ", misuse reported" : "");
	fprintf(f, " Sorting by %s%s\n\n", sort_titles[o->sort], o->reverse ? " (reversed)" : "");
	fprintf(f, " Pool Used:\n");
	if (o->verbose) {
		fprintf(f, "            NonPaged                         Paged\n");
		fprintf(f, " Tag    Allocs     Frees     Diff     Used   Allocs     Frees     Diff     Used\n");
	} else {
		fprintf(f, "            NonPaged            Paged\n");
		fprintf(f, " Tag    Allocs     Used    Allocs     Used\n");
	}
	for (size_t i = 0; i < shown; i++) {
		fprintf(f, " %-4s", pt_tag_print(t[i].tag, tag));
		put_cols(f, &t[i].pool[PT_NONPAGED], o->verbose);
		if (!o->verbose)
			fputc(' ', f);
		put_cols(f, &t[i].pool[PT_PAGED], o->verbose);
		fprintf(f, "%s%s%s\n", gap, pt_tally_describe(desc, sizeof(desc), v, db, &t[i]),
			held(&t[i], b2, sizeof(b2)));
		for (size_t j = 0; o->sites && j < t[i].nsites; j++) {
			const struct pt_row *r = t[i].sites[j];
			struct pt_sums s[4];
			row_sums(r, s);
			if (r->pool >= PT_SEG_CLASS_REFS) {
				fprintf(f, "      %s: %llu held, %llu taken, at %s:%u in %s%s%s%s\n",
					r->pool == PT_SEG_CLASS_REFS ? "references" : "handles",
					(unsigned long long)(r->nallocs - r->nfrees),
					(unsigned long long)r->nallocs, pt_safe_str(r->file, b1, sizeof(b1)),
					r->line, *r->func ? r->func : "?", *r->module ? " (" : "",
					r->module, *r->module ? ")" : "");
				continue;
			}
			fprintf(f, "     ");
			put_cols(f, &s[PT_NONPAGED], o->verbose);
			if (!o->verbose)
				fputc(' ', f);
			put_cols(f, &s[PT_PAGED], o->verbose);
			if (*r->file)
				fprintf(f, "%s  at %s:%u in %s\n", gap, pt_safe_str(r->file, b1, sizeof(b1)),
					r->line, pt_safe_str(*r->func ? r->func : "?", b2, sizeof(b2)));
			else
				fprintf(f, "%s  (sites beyond the table, counted by tag)\n", gap);
		}
	}
	if (shown < n)
		fprintf(f, " ... %zu more tags not shown (-t %ld)\n", n - shown, o->top);
	fprintf(f, " TOTAL");
	put_cols(f, &total[PT_NONPAGED], o->verbose);
	if (!o->verbose)
		fputc(' ', f);
	put_cols(f, &total[PT_PAGED], o->verbose);
	fputc('\n', f);
}

static void put_json_sums(FILE *f, const char *name, const struct pt_sums *s)
{
	if (g_outstanding_only)
		fprintf(f, "\"%s\":{\"allocs\":null,\"frees\":null,\"diff\":%llu,\"used\":%llu}",
			name, (unsigned long long)pt_sums_diff(s), (unsigned long long)pt_sums_used(s));
	else
		fprintf(f, "\"%s\":{\"allocs\":%llu,\"frees\":%llu,\"diff\":%llu,\"used\":%llu}",
			name, (unsigned long long)s->nallocs, (unsigned long long)s->nfrees,
			(unsigned long long)pt_sums_diff(s), (unsigned long long)pt_sums_used(s));
}

static void print_json(FILE *f, const struct pt_view *v, const struct pt_tagdb *db,
		       struct pt_tally *t, size_t shown, const struct used_opts *o,
		       const struct pt_sums total[2])
{
	char desc[1024], tag[5];

	fprintf(f, "{\"format\":\"pooltag-used\",\"version\":2,\"pid\":%d,\"command\":", (int)v->pid);
	pt_json_str(f, v->comm);
	if (v->import_format) {
		fprintf(f, ",\"import\":{\"file\":");
		pt_json_str(f, v->import_file);
		fprintf(f, ",\"format\":");
		pt_json_str(f, v->import_format);
		fprintf(f, "}");
	}
	fprintf(f, ",\"taken_ns\":%lld,\"misuse\":%llu,\"sort\":\"%s\",\"tags\":[",
		(long long)v->taken_ns, (unsigned long long)v->nmisuse, sort_names[o->sort]);
	for (size_t i = 0; i < shown; i++) {
		fprintf(f, "%s{\"tag\":", i ? "," : "");
		pt_json_str(f, pt_tag_str(t[i].tag, tag));
		fprintf(f, ",\"description\":");
		pt_json_str(f, pt_tally_describe(desc, sizeof(desc), v, db, &t[i]));
		fputc(',', f);
		put_json_sums(f, "nonpaged", &t[i].pool[PT_NONPAGED]);
		fputc(',', f);
		put_json_sums(f, "paged", &t[i].pool[PT_PAGED]);
		fputc(',', f);
		put_json_sums(f, "refs", &t[i].pool[PT_SEG_CLASS_REFS]);
		fputc(',', f);
		put_json_sums(f, "handles", &t[i].pool[PT_SEG_CLASS_HANDLES]);
		if (o->sites) {
			fprintf(f, ",\"sites\":[");
			for (size_t j = 0; j < t[i].nsites; j++) {
				const struct pt_row *r = t[i].sites[j];
				struct pt_sums s[4];
				row_sums(r, s);
				fprintf(f, "%s{\"file\":", j ? "," : "");
				pt_json_str(f, r->file);
				fprintf(f, ",\"line\":%u,\"function\":", r->line);
				pt_json_str(f, r->func);
				fprintf(f, ",\"module\":");
				pt_json_str(f, r->module);
				fprintf(f, ",\"pool\":\"%s\",", class_names[r->pool & 3]);
				put_json_sums(f, "counts", &s[r->pool & 3]);
				fputc('}', f);
			}
			fputc(']', f);
		}
		fputc('}', f);
	}
	fprintf(f, "],\"total\":{");
	put_json_sums(f, "nonpaged", &total[PT_NONPAGED]);
	fputc(',', f);
	put_json_sums(f, "paged", &total[PT_PAGED]);
	fprintf(f, "}}\n");
}

static void put_csv_row(FILE *f, const char *tag, const char *pool, const struct pt_row *r,
			const struct pt_sums *s, const char *desc)
{
	put_csv_str(f, tag);
	fprintf(f, ",%s,", pool);
	put_csv_str(f, r ? r->file : "");
	fprintf(f, ",%u,", r ? r->line : 0);
	put_csv_str(f, r ? r->func : "");
	if (g_outstanding_only)
		fprintf(f, ",,,%llu,%llu,", (unsigned long long)pt_sums_diff(s),
			(unsigned long long)pt_sums_used(s));
	else
		fprintf(f, ",%llu,%llu,%llu,%llu,", (unsigned long long)s->nallocs,
			(unsigned long long)s->nfrees, (unsigned long long)pt_sums_diff(s),
			(unsigned long long)pt_sums_used(s));
	put_csv_str(f, desc);
	fputc('\n', f);
}

/* One row per tag and pool that has allocations; with --sites, one per
 * site instead. */
static void print_csv(FILE *f, const struct pt_view *v, const struct pt_tagdb *db,
		      struct pt_tally *t, size_t shown, const struct used_opts *o)
{
	char desc[1024], tag[5];

	fprintf(f, "tag,pool,file,line,function,allocs,frees,diff,used,description\n");
	for (size_t i = 0; i < shown; i++) {
		pt_tag_str(t[i].tag, tag);
		pt_tally_describe(desc, sizeof(desc), v, db, &t[i]);
		if (o->sites) {
			for (size_t j = 0; j < t[i].nsites; j++) {
				const struct pt_row *r = t[i].sites[j];
				struct pt_sums s[4];
				row_sums(r, s);
				put_csv_row(f, tag, class_names[r->pool & 3], r, &s[r->pool & 3], desc);
			}
			continue;
		}
		static const int order[] = {PT_NONPAGED, PT_PAGED, PT_SEG_CLASS_REFS,
					    PT_SEG_CLASS_HANDLES};
		for (int k = 0; k < 4; k++)
			if (t[i].pool[order[k]].nallocs)
				put_csv_row(f, tag, class_names[order[k]], NULL, &t[i].pool[order[k]],
					    desc);
	}
}

/* The kernel's table (kused.c): modules in the tags' place, one count
 * and one byte column, since the kernel counts what is outstanding only. */
static int used_kernel(const struct pt_view *v, const struct used_opts *o, const char *pattern,
		       const char *target)
{
	static const enum pt_ksort ksort[] = {PT_KSORT_MODULE, PT_KSORT_BYTES, PT_KSORT_BYTES,
					      PT_KSORT_COUNT, PT_KSORT_COUNT};
	struct pt_kused_opts ko = {.sort = ksort[o->sort], .reverse = o->reverse,
				   .sites = o->sites, .top = o->top, .pattern = pattern,
				   .fmt = o->fmt == FMT_JSON ? PT_KFMT_JSON
					  : o->fmt == FMT_CSV ? PT_KFMT_CSV : PT_KFMT_TEXT};

	if (o->suspects) {
		pt_err("%s: --suspects needs allocations and frees, and the kernel counts what is outstanding only: compare two reads with 'pooltag diff'",
		       target);
		return 1;
	}
	if (o->sort == SORT_PAGED) {
		pt_usage_err("used", "the kernel's memory is never paged: sort by module, bytes or count");
		return 2;
	}
	if (pt_kused_print(stdout, v, &ko) != 0) {
		pt_err("out of memory");
		return 1;
	}
	return pt_flush_stdout();
}

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
		o->sort = SORT_NONPAGED;
	else if (f & 4)
		o->sort = SORT_PAGED;
	return 1;
}

int pt_cmd_used(int argc, char **argv)
{
	static const struct option longs[] = {
		{"verbose", no_argument, 0, 'v'}, {"sort", required_argument, 0, 's'},
		{"reverse", no_argument, 0, 'r'}, {"top", required_argument, 0, 't'},
		{"sites", no_argument, 0, 'S'},   {"json", no_argument, 0, 'J'},
		{"csv", no_argument, 0, 'C'},     {"tags", required_argument, 0, 'T'},
		{"help", no_argument, 0, 'h'},    {"suspects", no_argument, 0, 'U'},
		{"min-allocs", required_argument, 0, 'M'},
		{"max-freed", required_argument, 0, 'F'}, {0, 0, 0, 0}};
	struct used_opts o = {.sort = SORT_TAG, .fmt = FMT_TEXT, .top = -1};
	struct pt_suspect_opts so = {.min_allocs = PT_SUSPECT_MIN_ALLOCS,
				     .max_freed = PT_SUSPECT_MAX_FREED};
	long num;
	char **tagfiles = calloc((size_t)argc + 1, sizeof(char *));
	const char *pattern = NULL, *target;
	struct pt_view v;
	struct pt_tagdb *db = NULL;
	struct pt_tally *t = NULL;
	struct pt_sums total[2] = {{0}};
	size_t ntagfiles = 0, n = 0, shown;
	char err[1024];
	int c, rc = 1, npos;

	pt_view_init(&v);
	if (!tagfiles)
		return 1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "vs:rt:h", longs, NULL)) != -1) {
		switch (c) {
		case 'v':
			o.verbose = 1;
			break;
		case 's': {
			/* The kernel's names for its keys: module, bytes, count. */
			static const char *const alias[] = {"module", "bytes", "count"};
			static const enum sort_key aliased[] = {SORT_TAG, SORT_NONPAGED, SORT_DIFF};
			int k = -1;
			for (int i = 0; i < 5; i++)
				if (strcmp(optarg, sort_names[i]) == 0)
					k = i;
			for (int i = 0; i < 3; i++)
				if (strcmp(optarg, alias[i]) == 0)
					k = (int)aliased[i];
			if (k < 0) {
				pt_usage_err("used", "unknown sort key '%s': tag, nonpaged, paged, diff or allocs",
					     optarg);
				goto usage;
			}
			o.sort = (enum sort_key)k;
			o.sorted = 1;
			break;
		}
		case 'r':
			o.reverse = 1;
			o.sorted = 1;
			break;
		case 'U':
			o.suspects = 1;
			break;
		case 'M':
			if ((num = pt_parse_count("used", "--min-allocs", optarg)) < 0)
				goto usage;
			so.min_allocs = (uint64_t)num;
			break;
		case 'F':
			if ((num = pt_parse_count("used", "--max-freed", optarg)) < 0)
				goto usage;
			if (num > 100) {
				pt_usage_err("used", "--max-freed is a percentage, 0 to 100, not '%s'", optarg);
				goto usage;
			}
			so.max_freed = (unsigned)num;
			break;
		case 't':
			if ((o.top = pt_parse_count("used", "-t", optarg)) < 0)
				goto usage;
			break;
		case 'S':
			o.sites = 1;
			break;
		case 'J':
			o.fmt = FMT_JSON;
			break;
		case 'C':
			o.fmt = FMT_CSV;
			break;
		case 'T':
			tagfiles[ntagfiles++] = optarg;
			break;
		case 'h':
			usage();
			rc = 0;
			goto out;
		default:
			pt_getopt_err("used", argv);
			goto usage;
		}
	}
	npos = argc - optind;
	if (npos < 1 || npos > 3) {
		pt_usage_err("used", npos < 1 ? "which process or snapshot?" : "too many arguments");
		goto usage;
	}
	target = argv[argc - 1];
	if (npos >= 2) {
		int f = parse_flags(argv[optind], &o);
		if (f < 0)
			goto usage;
		if (f == 0 && npos == 3) {
			pt_usage_err("used", "'%s' is not a flags number", argv[optind]);
			goto usage;
		}
		if (f == 0 || npos == 3)
			pattern = argv[argc - 2];
	}
	if (o.suspects && (o.fmt != FMT_TEXT || o.sites || o.sorted)) {
		pt_usage_err("used", "--suspects has its own order and text table: no --json, --csv, --sites, -s or -r");
		goto usage;
	}
	if (!(db = pt_tagdb_for(tagfiles, ntagfiles, err, sizeof(err)))) {
		pt_err("%s", err);
		goto out;
	}
	if (pt_target_load(target, &v, err, sizeof(err)) != 0) {
		pt_err("%s", err);
		goto out;
	}
	if (v.kernel_format) { /* module patterns, not tag patterns */
		rc = used_kernel(&v, &o, pattern, target);
		goto out;
	}
	if (pattern && pt_tag_pattern_check(pattern, err, sizeof(err)) != 0) {
		pt_usage_err("used", "bad tag pattern '%s': %s", pattern, err);
		goto usage;
	}
	if (o.sites && v.import_format) {
		pt_err("%s: a %s dump has no call sites (--sites)", target, v.import_format);
		goto out;
	}
	if (o.suspects && v.outstanding_only) {
		pt_err("%s: --suspects needs allocations and frees, and this dump has outstanding counts only (save !poolused with flag 1)",
		       target);
		goto out;
	}
	g_outstanding_only = v.outstanding_only;
	if (pt_tally_build(&v, pattern, &t, &n) != 0) {
		pt_err("out of memory");
		goto out;
	}
	if (o.suspects) {
		char b1[512];
		so.top = o.top;
		printf(" %s\n", pt_view_name(&v, b1, sizeof(b1)));
		pt_suspects_print(stdout, &v, db, t, n, &so);
		rc = pt_flush_stdout();
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		for (int p = 0; p < 2; p++) {
			total[p].nallocs += t[i].pool[p].nallocs;
			total[p].nfrees += t[i].pool[p].nfrees;
			total[p].bytes_alloc += t[i].pool[p].bytes_alloc;
			total[p].bytes_freed += t[i].pool[p].bytes_freed;
		}
	g_sort = o.sort;
	g_reverse = o.reverse;
	qsort(t, n, sizeof(*t), cmp_tally);
	shown = o.top >= 0 && (size_t)o.top < n ? (size_t)o.top : n;
	if (o.fmt == FMT_JSON)
		print_json(stdout, &v, db, t, shown, &o, total);
	else if (o.fmt == FMT_CSV)
		print_csv(stdout, &v, db, t, shown, &o);
	else
		print_text(stdout, &v, db, t, n, shown, &o, total);
	if (o.fmt == FMT_TEXT && o.sites && pt_sampled_print(stdout, &v, pattern, o.top) != 0) {
		pt_err("out of memory");
		goto out;
	}
	rc = pt_flush_stdout();
	goto out;
usage: /* the message is printed */
	rc = 2;
out:
	pt_tally_free(t, n);
	pt_tagdb_free(db);
	pt_view_free(&v);
	free(tagfiles);
	return rc;
}
