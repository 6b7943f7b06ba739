/*
 * trendcmd.c - `pooltag trend FILE`: a recording's series (trend.c) as
 * sentences for the leaks and a table for the rest, or as JSON.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "jsonstr.h"
#include "kmod.h"
#include "tally.h"
#include "trend.h"

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
	pt_json_str(stdout, r->sites.comm);
	if (r->sites.kernel_format) { /* a recording of the kernel: tags are modules */
		printf(", \"kernel\": ");
		pt_json_str(stdout, r->sites.kernel_format);
	}
	printf(", \"samples\": %zu", r->nsamples);
	json_num("seconds", (double)(r->taken[r->nsamples - 1] - r->taken[0]) / 1e9);
	json_num("interval", (double)r->interval_us / 1e6);
	printf(",\n \"series\": [");
	for (size_t i = 0; i < nt; i++) {
		const struct pt_trend *x = &t[i];

		printf("%s\n  {\"tag\": ", i ? "," : "");
		pt_json_str(stdout, pt_view_tag_label(v, x->tag, tag, sizeof(tag)));
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
			pt_json_str(stdout, x->site->file);
			printf(", \"line\": %" PRIu32 ", \"func\": ", x->site->line);
			pt_json_str(stdout, x->site->func);
			printf(", \"module\": ");
			pt_json_str(stdout, x->site->module);
		} else {
			printf(", \"description\": ");
			pt_json_str(stdout, describe(x, v, db, tl, ntl, desc, sizeof(desc)));
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
