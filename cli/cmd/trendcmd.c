/*
 * trendcmd.c - `pooltag trend FILE`: a recording's series (trend.c) as
 * sentences for the leaks and a table for the rest, or as JSON.
 *
 * Parsed into struct trend_opts, read and computed into struct
 * trend_result, printed through the emitter (emit.h): every series is a
 * row of JSON's "series"; in text a leak is a sentence, and the others
 * rows of a table with --all.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "kmod.h"
#include "safestr.h"
#include "tally.h"
#include "trend.h"

struct trend_opts {
	struct pt_cmdopt c; /* --tags, --json */
	int all, sites;
	const char *file;
};

/* What the report shows, read and computed. */
struct trend_result {
	struct pt_recording r;
	struct pt_tagdb *db;
	struct pt_trend *t; /* leaks first */
	size_t nt, nleaks;
	struct pt_tally *tl; /* the recording's tags, for their descriptions */
	size_t ntl;
};

/* ---- Parse --------------------------------------------------------------- */

static int usage(FILE *f)
{
	fprintf(f, "usage: pooltag trend [--all] [--sites] [--json] [--tags FILE] RECORDING\n");
	return f == stdout ? 0 : 2;
}

static int trend_parse(int argc, char **argv, struct trend_opts *o)
{
	static const struct option longs[] = {
	    {"all", no_argument, 0, 'a'},  {"sites", no_argument, 0, 'S'},
	    {"json", no_argument, 0, PT_OPT_JSON}, {"tags", required_argument, 0, PT_OPT_TAGS},
	    {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	int ch;

	*o = (struct trend_opts){0};
	if (pt_cmdopt_init(&o->c, argc) != 0)
		return 1;
	while ((ch = getopt_long(argc, argv, "ah", longs, NULL)) != -1) {
		if (ch == 'h')
			return usage(stdout);
		else if (ch == 'a')
			o->all = 1;
		else if (ch == 'S')
			o->sites = 1;
		else if (!pt_cmdopt_take(&o->c, ch, optarg))
			return pt_getopt_err("trend", argv);
	}
	if (argc - optind != 1)
		return pt_usage_err("trend", "wants one argument, a recording (pooltag record -o FILE)");
	o->file = argv[optind];
	return PT_PARSED;
}

/* ---- Execute ------------------------------------------------------------- */

static int trend_execute(const struct trend_opts *o, struct trend_result *r)
{
	char err[1024];

	if (!(r->db = pt_cmdopt_tagdb(&o->c, err, sizeof(err)))) {
		pt_err("%s", err);
		return 1;
	}
	if (pt_recording_load(o->file, &r->r) != 0)
		return 1;
	if (pt_trend_compute(&r->r, o->sites, &r->t, &r->nt) != 0 ||
	    pt_tally_build(&r->r.sites, NULL, &r->tl, &r->ntl) != 0) {
		pt_err("out of memory");
		return 1;
	}
	while (r->nleaks < r->nt && r->t[r->nleaks].shape == PT_SHAPE_STEADY)
		r->nleaks++;
	return 0;
}

/* ---- Print --------------------------------------------------------------- */

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

static const char *describe(const struct pt_trend *t, const struct trend_result *r, char *buf,
                            size_t len)
{
	if (t->site)
		return site_str(t->site, buf, len);
	for (size_t i = 0; i < r->ntl; i++)
		if (r->tl[i].tag == t->tag)
			return pt_tally_describe(buf, len, &r->r.sites, r->db, &r->tl[i]);
	return "";
}

/* The values of a series. */
enum {
	V_LABEL, /* the tag, or in a recording of the kernel the module */
	V_POOL,
	V_SHAPE,
	V_LEAK,
	V_RATE, /* text: the count's slope, V_KIB the bytes' in KiB/s ("-": none) */
	V_KIB,
	V_CPS, /* the slopes as they are */
	V_BPS,
	V_R2,
	V_SECONDS,
	V_SAMPLES,
	V_COUNT0,
	V_COUNT1,
	V_BYTES0,
	V_BYTES1,
	V_FREES,
	V_FILE, /* a site's, with --sites */
	V_LINE,
	V_FUNC,
	V_MODULE,
	V_DESC, /* a tag's description, without --sites */
	V_WHAT, /* text: the description, or the site */
	V_N
};

/* The text layouts: a process's recording, or the kernel's. */
enum { PROC = 1, KERNEL = 2 };

#define T PT_IN_TEXT
#define J PT_IN_JSON

/* A series: an object of JSON's "series"; in text a row of the table of
 * the series that do not leak (--all). */
static const struct pt_emit_col series_cols[] = {
	{.in = T, .layout = PROC, .val = V_LABEL, .title = "Tag", .sep = " ", .width = -4},
	{.in = T, .layout = KERNEL, .val = V_LABEL, .title = "Module", .sep = " ", .width = -4},
	{.in = J, .val = V_LABEL, .key = "tag"},
	{.in = T | J, .val = V_POOL, .key = "pool", .title = "Pool", .sep = " ", .width = -8},
	{.in = T | J, .val = V_SHAPE, .key = "shape", .title = "Shape", .sep = " ", .width = -10},
	{.in = J, .val = V_LEAK, .key = "leak"},
	{.in = T, .val = V_RATE, .title = "Count/s", .sep = " ", .width = 10},
	{.in = T, .val = V_KIB, .title = "KiB/s", .sep = " ", .width = 10},
	{.in = J, .val = V_CPS, .key = "count_per_s"},
	{.in = J, .val = V_BPS, .key = "bytes_per_s"},
	{.in = J, .val = V_R2, .key = "r2"},
	{.in = T | J, .val = V_SECONDS, .key = "seconds", .title = "Seconds", .sep = " ", .width = 8,
	 .prec = 1},
	{.in = T, .val = V_R2, .title = "R2", .sep = " ", .width = 6, .prec = 3},
	{.in = J, .val = V_SAMPLES, .key = "samples"},
	{.in = T | J, .val = V_COUNT0, .key = "count_start", .title = "Outst.start", .sep = " ",
	 .width = 12},
	{.in = T | J, .val = V_COUNT1, .key = "count_end", .title = "Outst.end", .sep = " ",
	 .width = 12},
	{.in = J, .val = V_BYTES0, .key = "bytes_start"},
	{.in = J, .val = V_BYTES1, .key = "bytes_end"},
	{.in = J, .val = V_FREES, .key = "frees"},
	{.in = T, .layout = PROC, .val = V_FREES, .title = "Frees", .sep = " ", .width = 10},
	{.in = T, .layout = KERNEL, .val = V_FREES, .title = "-", .sep = " ", .width = 10},
	{.in = J, .val = V_FILE, .key = "file"},
	{.in = J, .val = V_LINE, .key = "line"},
	{.in = J, .val = V_FUNC, .key = "function"},
	{.in = J, .val = V_FUNC, .key = "func"}, /* the former name, deprecated: kept for scripts */
	{.in = J, .val = V_MODULE, .key = "module"},
	{.in = J, .val = V_DESC, .key = "description"},
	{.in = T, .val = V_WHAT, .title = "Description", .sep = "   "},
};
static const struct pt_emit_table series_table = PT_EMIT_TABLE(series_cols);

/* The strings the values point into. */
struct series_text {
	char label[300], rate[32], kib[32], what[1024];
};

static void series_vals(const struct pt_trend *x, const struct trend_result *r,
                        struct series_text *s, struct pt_val *v)
{
	memset(v, 0, V_N * sizeof(*v));
	fmt_rate(s->rate, sizeof(s->rate), x->count.slope);
	fmt_rate(s->kib, sizeof(s->kib), x->bytes.slope / 1024);
	v[V_LABEL] = pt_val_str(pt_view_tag_label(&r->r.sites, x->tag, s->label, sizeof(s->label)));
	v[V_POOL] = pt_val_word(pt_pool_title[x->pool & 3]);
	v[V_SHAPE] = pt_val_word(pt_shape_name(x->shape));
	v[V_LEAK] = pt_val_bool(x->shape == PT_SHAPE_STEADY);
	v[V_RATE] = pt_val_str(s->rate);
	v[V_KIB] = x->pool < 2 ? pt_val_str(s->kib) : pt_val_null();
	v[V_CPS] = pt_val_dbl(x->count.slope);
	v[V_BPS] = pt_val_dbl(x->bytes.slope);
	v[V_R2] = pt_val_dbl(x->count.r2);
	v[V_SECONDS] = pt_val_dbl(x->seconds);
	v[V_SAMPLES] = pt_val_u64(x->nsamples);
	v[V_COUNT0] = pt_val_u64(x->count0);
	v[V_COUNT1] = pt_val_u64(x->count1);
	v[V_BYTES0] = pt_val_u64(x->bytes0);
	v[V_BYTES1] = pt_val_u64(x->bytes1);
	v[V_FREES] = pt_val_u64(x->frees);
	v[V_WHAT] = pt_val_str(describe(x, r, s->what, sizeof(s->what)));
	if (x->site) {
		v[V_FILE] = pt_val_str(x->site->file);
		v[V_LINE] = pt_val_u64(x->site->line);
		v[V_FUNC] = pt_val_str(x->site->func);
		v[V_MODULE] = pt_val_str(x->site->module);
	} else {
		v[V_DESC] = v[V_WHAT];
	}
}

/* A leak in text: one sentence, then its numbers and what it is. */
static void print_leak(struct pt_emit *e, const struct pt_trend *t, const struct pt_view *v,
                       const struct series_text *s)
{
	pt_emit_text(e, " %s %s: %s %s/s", s->label, pt_pool_title[t->pool & 3], s->rate,
	             unit_of(t->pool));
	if (t->pool < 2)
		pt_emit_text(e, " (%s KiB/s)", s->kib);
	pt_emit_text(e, " over %.1f s%s", t->seconds, v->kernel_format ? "\n" : ", ");
	if (v->kernel_format) /* the kernel counts what is live, not frees */
		;
	else if (t->frees)
		pt_emit_text(e, "%" PRIu64 " %s\n", t->frees, t->pool < 2 ? "freed" : "released");
	else
		pt_emit_text(e, "%s\n", t->pool < 2 ? "never freed" : "never released");
	pt_emit_text(e, "   outstanding %" PRIu64 " -> %" PRIu64, t->count0, t->count1);
	if (t->pool < 2)
		pt_emit_text(e, " (%" PRIu64 " -> %" PRIu64 " bytes)", t->bytes0, t->bytes1);
	pt_emit_text(e, ", fit R2 %.3f\n", t->count.r2);
	pt_emit_text(e, "   %s\n", s->what);
}

/* What a series is, plural: "tags", "modules", "call sites". */
static const char *what_of(const struct trend_opts *o, const struct trend_result *r)
{
	return o->sites ? "call sites" : r->r.sites.kernel_format ? "modules" : "tags";
}

/* The recording: in text a line, then whether anything leaks; JSON's
 * header members. */
static void print_head(struct pt_emit *e, const struct trend_opts *o, const struct trend_result *r)
{
	const struct pt_recording *rec = &r->r;
	double seconds = (double)(rec->taken[rec->nsamples - 1] - rec->taken[0]) / 1e9;
	char b[256];

	if (rec->sites.kernel_format)
		pt_emit_text(e, " %s", pt_view_name(&rec->sites, b, sizeof(b)));
	else
		pt_emit_text(e, " pid %d (%s)", (int)rec->sites.pid, pt_safe_str(rec->sites.comm, b, sizeof(b)));
	pt_emit_text(e, ": %zu samples over %.1f s", rec->nsamples, seconds);
	if (rec->interval_us > 0)
		pt_emit_text(e, ", one every %.2f s", (double)rec->interval_us / 1e6);
	pt_emit_text(e, "\n\n");
	if (r->nleaks)
		pt_emit_text(e, " Leaks: outstanding count grew steadily, never back to where it began\n");
	else
		pt_emit_text(e, " No leak: no %s grew steadily.\n",
		             o->sites ? "call site" : rec->sites.kernel_format ? "module" : "tag");
	pt_emit_obj(e, NULL);
	pt_emit_kv(e, "format", pt_val_word("pooltag-trend"));
	pt_emit_kv(e, "version", pt_val_u64(1));
	pt_emit_kv(e, "pid", pt_val_i64(rec->sites.pid));
	pt_emit_kv(e, "command", pt_val_str(rec->sites.comm));
	if (rec->sites.kernel_format) /* a recording of the kernel: tags are modules */
		pt_emit_kv(e, "kernel", pt_val_str(rec->sites.kernel_format));
	pt_emit_kv(e, "samples", pt_val_u64(rec->nsamples));
	pt_emit_kv(e, "seconds", pt_val_dbl(seconds));
	pt_emit_kv(e, "interval", pt_val_dbl((double)rec->interval_us / 1e6));
}

/* Every series once: a row of JSON's; in text a leak's sentence, then
 * the others as a table (--all) or counted. */
static void trend_print(struct pt_emit *e, const struct trend_opts *o, const struct trend_result *r)
{
	struct series_text s;
	struct pt_val v[V_N];

	e->layout = r->r.sites.kernel_format ? KERNEL : PROC;
	e->spaced = 1;
	print_head(e, o, r);
	pt_emit_arr(e, "series");
	for (size_t i = 0; i < r->nt; i++) {
		series_vals(&r->t[i], r, &s, v);
		if (i < r->nleaks) {
			print_leak(e, &r->t[i], &r->r.sites, &s);
		} else if (i == r->nleaks && o->all) {
			pt_emit_text(e, "\n Other %s:\n", what_of(o, r));
			pt_emit_head(e, &series_table);
		} else if (i == r->nleaks) {
			pt_emit_text(e, "\n %zu other %s not leaking ('pooltag trend --all' lists them)\n",
			             r->nt - r->nleaks, what_of(o, r));
		}
		pt_emit_row(e, i < r->nleaks || !o->all ? J : T | J, &series_table, v);
	}
	pt_emit_end(e);
	pt_emit_end(e);
}

int pt_cmd_trend(int argc, char **argv)
{
	struct trend_opts o;
	struct trend_result r = {.db = NULL};
	struct pt_emit e;
	int rc = trend_parse(argc, argv, &o);

	pt_rec_init(&r.r);
	if (rc == PT_PARSED && (rc = trend_execute(&o, &r)) == 0) {
		pt_emit_init(&e, stdout, o.c.fmt);
		trend_print(&e, &o, &r);
		rc = pt_flush_stdout();
	}
	free(r.t);
	pt_tally_free(r.tl, r.ntl);
	pt_tagdb_free(r.db);
	pt_rec_free(&r.r);
	pt_cmdopt_free(&o.c);
	return rc;
}
