/*
 * plot.c - `pooltag plot RECORDING -o OUT.svg|OUT.html`: the recording's
 * top growing tags over time, drawn by hand as SVG.
 *
 * Two panels share the time axis: outstanding bytes (in the largest unit
 * that keeps the numbers short) and outstanding objects; a legend names
 * each series with its verdict and rate.  The HTML page is the same SVG
 * inline plus a table of the series, with no script and no external asset,
 * so it opens anywhere, offline.  Every string from the recording (tags,
 * file and function names, descriptions) is untrusted: it is cut to
 * printable ASCII and XML-escaped.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"
#include "kmod.h"
#include "safestr.h"
#include "tally.h"
#include "trend.h"

#define PLOT_MAX_SERIES 12
#define PLOT_MAX_POINTS 1000 /* per series; more samples are thinned evenly */

/* Geometry, in SVG user units. */
#define W       960
#define LEFT    90
#define RIGHT   30
#define TOP     50
#define PANEL_H 260
#define GAP     70
#define LEG_Y   (TOP + 2 * PANEL_H + GAP + 50)
#define LEG_ROW 18

static const char *const palette[PLOT_MAX_SERIES] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                                     "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                                     "#bcbd22", "#17becf", "#393b79", "#637939"};

struct plot_series {
	const struct pt_trend *t;
	char label[160]; /* printable ASCII, not yet escaped */
	double *count, *bytes;
};

struct plot {
	const struct pt_recording *r;
	struct plot_series s[PLOT_MAX_SERIES];
	size_t ns;
	long *slot_of;    /* per site: the series, or -1 */
	double *t;        /* seconds since the first sample, per point */
	size_t npoints;   /* kept so far */
	size_t maxpoints; /* kept in all */
	double tmax, ymax_count, ymax_bytes;
};

/* Writes s XML-escaped, anything outside printable ASCII as '?'. */
static void xml_put(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '&')
			fputs("&amp;", f);
		else if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f);
		else if (c == '"')
			fputs("&quot;", f);
		else
			fputc(c >= 0x20 && c < 0x7f ? c : '?', f);
	}
}

/* Collects the points of the chosen series: sample s is kept when it is the
 * next of maxpoints spread evenly over the recording (always the first and
 * the last). */
static int plot_sample(void *arg, size_t s, int64_t taken, const struct pt_row *rows, size_t nrows)
{
	struct plot *p = arg;
	size_t n = p->r->nsamples, k = p->npoints;
	size_t want = p->maxpoints > 1
	                  ? (size_t)((double)k * (double)(n - 1) / (double)(p->maxpoints - 1) + 0.5)
	                  : 0;

	if (k >= p->maxpoints || s != want)
		return 0;
	p->t[k] = (double)(taken - p->r->taken[0]) / 1e9;
	for (size_t j = 0; j < p->ns; j++)
		p->s[j].count[k] = p->s[j].bytes[k] = 0;
	for (size_t i = 0; i < nrows; i++) {
		long j = p->slot_of[i];

		if (j < 0)
			continue;
		p->s[j].count[k] += (double)(rows[i].nallocs - rows[i].nfrees);
		p->s[j].bytes[k] += (double)(rows[i].bytes_alloc - rows[i].bytes_freed);
	}
	for (size_t j = 0; j < p->ns; j++) {
		if (p->s[j].count[k] > p->ymax_count)
			p->ymax_count = p->s[j].count[k];
		if (p->s[j].t->pool < 2 && p->s[j].bytes[k] > p->ymax_bytes)
			p->ymax_bytes = p->s[j].bytes[k];
	}
	p->tmax = p->t[k];
	p->npoints++;
	return 0;
}

/* A round step for about five ticks up to max: 1, 2 or 5 times a power of
 * ten. */
static double nice_step(double max)
{
	double raw = max / 5, p = 1;

	if (!(raw > 0))
		return 1;
	while (p * 10 <= raw)
		p *= 10;
	while (p > raw)
		p /= 10;
	return raw <= p ? p : raw <= 2 * p ? 2 * p : raw <= 5 * p ? 5 * p : 10 * p;
}

/* One panel: frame, grid, ticks, axis titles and a polyline per series.
 * scale divides the values (the bytes unit); bytes picks the series' bytes. */
static void panel(FILE *f, const struct plot *p, int y0, const char *id, const char *title,
                  double ymax, double scale, int bytes)
{
	double xmax = p->tmax > 0 ? p->tmax : 1, ys = nice_step(ymax / scale), xs = nice_step(xmax);
	double top = ys * (double)(long long)((ymax / scale) / ys + 0.999999);
	int pw = W - LEFT - RIGHT;

	if (!(top > 0))
		top = ys;
	fprintf(f, "<g id=\"%s\">\n", id);
	fprintf(f,
	        "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
	        "stroke=\"#444\"/>\n",
	        LEFT, y0, pw, PANEL_H);
	for (double v = 0; v <= top * 1.000001; v += ys) {
		double y = y0 + PANEL_H - v / top * PANEL_H;

		fprintf(f,
		        "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>"
		        "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
		        LEFT, y, LEFT + pw, y, LEFT - 6, y + 4, v);
	}
	for (double v = 0; v <= xmax * 1.000001; v += xs) {
		double x = LEFT + v / xmax * pw;

		fprintf(f,
		        "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#444\"/>"
		        "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n",
		        x, y0 + PANEL_H, x, y0 + PANEL_H + 5, x, y0 + PANEL_H + 18, v);
	}
	fprintf(f,
	        "<text class=\"axis\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">Time (s)</text>\n",
	        LEFT + pw / 2, y0 + PANEL_H + 36);
	fprintf(f,
	        "<text class=\"axis\" transform=\"translate(%d,%d) rotate(-90)\" "
	        "text-anchor=\"middle\">%s</text>\n",
	        LEFT - 60, y0 + PANEL_H / 2, title);
	for (size_t j = 0; j < p->ns; j++) {
		const double *v = bytes ? p->s[j].bytes : p->s[j].count;

		if (bytes && p->s[j].t->pool >= 2)
			continue; /* references and handles have no bytes */
		fprintf(f,
		        "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
		        "data-series=\"",
		        palette[j]);
		xml_put(f, p->s[j].label);
		fputs("\" points=\"", f);
		for (size_t k = 0; k < p->npoints; k++)
			fprintf(f, "%s%.1f,%.1f", k ? " " : "", LEFT + p->t[k] / xmax * pw,
			        y0 + PANEL_H - v[k] / scale / top * PANEL_H);
		fputs("\"><title>", f);
		xml_put(f, p->s[j].label);
		fputs("</title></polyline>\n", f);
	}
	fputs("</g>\n", f);
}

/* The verdict and rate of a series, for the legend and the table. */
static void verdict(const struct pt_trend *t, char *buf, size_t len)
{
	if (t->shape != PT_SHAPE_STEADY)
		snprintf(buf, len, "%s", pt_shape_name(t->shape));
	else if (t->pool < 2)
		snprintf(buf, len, "leak: %+.1f objects/s (%+.1f KiB/s)", t->count.slope,
		         t->bytes.slope / 1024);
	else
		snprintf(buf, len, "leak: %+.1f %s/s", t->count.slope,
		         t->pool == 2 ? "references" : "handles");
}

static void write_svg(FILE *f, const struct plot *p)
{
	static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
	int height = LEG_Y + (int)p->ns * LEG_ROW + 20, u = 0;
	double scale = 1;
	char title[512], b[128], v[160];

	while (u < 4 && p->ymax_bytes / scale >= 10 * 1024) {
		scale *= 1024;
		u++;
	}
	fprintf(f,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	        "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
	        W, height, W, height);
	if (p->r->sites.kernel_format) /* tags are the kernel's modules */
		snprintf(title, sizeof(title), "the kernel: outstanding allocations of the top %s",
		         p->s[0].t->site ? "call sites" : "modules");
	else
		snprintf(title, sizeof(title), "pid %d (%s): outstanding allocations of the top %s",
		         (int)p->r->sites.pid, pt_safe_str(p->r->sites.comm, b, sizeof(b)),
		         p->s[0].t->site ? "call sites" : "tags");
	fputs("<title>", f);
	xml_put(f, title);
	fprintf(f, "</title>\n<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, height);
	fprintf(f, "<text x=\"%d\" y=\"28\" font-size=\"16\" font-weight=\"bold\">", LEFT);
	xml_put(f, title);
	fputs("</text>\n", f);
	snprintf(title, sizeof(title), "Outstanding %s", units[u]);
	panel(f, p, TOP, "bytes", title, p->ymax_bytes, scale, 1);
	panel(f, p, TOP + PANEL_H + GAP, "objects", "Outstanding objects", p->ymax_count, 1, 0);
	fprintf(f, "<g id=\"legend\">\n");
	for (size_t j = 0; j < p->ns; j++) {
		int y = LEG_Y + (int)j * LEG_ROW;

		verdict(p->s[j].t, v, sizeof(v));
		fprintf(f,
		        "<rect x=\"%d\" y=\"%d\" width=\"24\" height=\"4\" fill=\"%s\"/>"
		        "<text class=\"legend\" x=\"%d\" y=\"%d\">",
		        LEFT, y - 6, palette[j], LEFT + 32, y);
		xml_put(f, p->s[j].label);
		fputs(": ", f);
		xml_put(f, v);
		fputs("</text>\n", f);
	}
	fputs("</g>\n</svg>\n", f);
}

static void write_html(FILE *f, const struct plot *p, const char *file)
{
	char b[256], v[160];

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", f);
	if (p->r->sites.kernel_format)
		snprintf(b, sizeof(b), "pooltag plot: the kernel");
	else
		snprintf(b, sizeof(b), "pooltag plot: pid %d (%s)", (int)p->r->sites.pid,
		         p->r->sites.comm);
	xml_put(f, b);
	fputs("</title>\n<style>\nbody { font-family: sans-serif; margin: 1.5em; }\n"
	      "table { border-collapse: collapse; margin-top: 1em; }\n"
	      "th, td { padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: right; }\n"
	      "th.l, td.l { text-align: left; }\n"
	      ".sw { display: inline-block; width: 24px; height: 4px; vertical-align: middle; }\n"
	      "</style>\n</head>\n<body>\n<h1>",
	      f);
	xml_put(f, b);
	fputs("</h1>\n<p>", f);
	snprintf(b, sizeof(b), "%zu samples over %.1f s from ", p->r->nsamples,
	         (double)(p->r->taken[p->r->nsamples - 1] - p->r->taken[0]) / 1e9);
	xml_put(f, b);
	xml_put(f, file);
	fputs(".</p>\n", f);
	write_svg(f, p);
	fputs("<table>\n<tr><th class=\"l\">Series</th><th class=\"l\">Verdict</th>"
	      "<th>Objects/s</th><th>KiB/s</th><th>R2</th><th>Outstanding at start</th>"
	      "<th>Outstanding at end</th><th>Bytes at end</th></tr>\n",
	      f);
	for (size_t j = 0; j < p->ns; j++) {
		const struct pt_trend *t = p->s[j].t;

		verdict(t, v, sizeof(v));
		fprintf(f,
		        "<tr><td class=\"l\"><span class=\"sw\" style=\"background:%s\"></span> ",
		        palette[j]);
		xml_put(f, p->s[j].label);
		fputs("</td><td class=\"l\">", f);
		xml_put(f, v);
		fprintf(f,
		        "</td><td>%+.2f</td><td>%+.2f</td><td>%.3f</td><td>%" PRIu64
		        "</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td></tr>\n",
		        t->count.slope, t->bytes.slope / 1024, t->count.r2, t->count0, t->count1,
		        t->bytes1);
	}
	fputs("</table>\n</body>\n</html>\n", f);
}

/* Picks the series (the first of the trend order that moved), allocates
 * their points and fills them with one replay. */
static int plot_build(struct plot *p, const struct pt_trend *t, size_t nt, long top)
{
	const struct pt_recording *r = p->r;
	char tag[300], b1[128], b2[128];

	for (size_t i = 0; i < nt && p->ns < (size_t)top; i++) {
		struct plot_series *s = &p->s[p->ns];
		size_t n;

		if (t[i].shape == PT_SHAPE_FLAT)
			continue;
		s->t = &t[i];
		n = (size_t)snprintf(s->label, sizeof(s->label), "%s",
				     pt_view_tag_label(&r->sites, t[i].tag, tag, sizeof(tag)));
		while (n > 0 && s->label[n - 1] == ' ')
			s->label[--n] = '\0';
		n = strlen(s->label);
		snprintf(s->label + n, sizeof(s->label) - n, " %s", pt_pool_title[t[i].pool & 3]);
		if (t[i].site) {
			n = strlen(s->label);
			snprintf(s->label + n, sizeof(s->label) - n, " at %s:%" PRIu32 " in %s",
			         pt_safe_str(t[i].site->file, b1, sizeof(b1)), t[i].site->line,
			         pt_safe_str(t[i].site->func, b2, sizeof(b2)));
		}
		p->ns++;
	}
	p->maxpoints = r->nsamples < PLOT_MAX_POINTS ? r->nsamples : PLOT_MAX_POINTS;
	if (!(p->slot_of = malloc((r->sites.nrows + 1) * sizeof(long))) ||
	    !(p->t = calloc(p->maxpoints, sizeof(double))))
		return -1;
	for (size_t j = 0; j < p->ns; j++)
		if (!(p->s[j].count = calloc(p->maxpoints, sizeof(double))) ||
		    !(p->s[j].bytes = calloc(p->maxpoints, sizeof(double))))
			return -1;
	for (size_t i = 0; i < r->sites.nrows; i++) {
		const struct pt_row *row = &r->sites.rows[i];

		p->slot_of[i] = -1;
		for (size_t j = 0; j < p->ns; j++)
			if (p->s[j].t->site
			        ? p->s[j].t->site == row
			        : p->s[j].t->tag == row->tag && p->s[j].t->pool == row->pool)
				p->slot_of[i] = (long)j;
	}
	return pt_rec_replay(r, plot_sample, p);
}

static int usage(FILE *f)
{
	fprintf(f, "usage: pooltag plot [-t N] [--sites] RECORDING -o OUT.svg|OUT.html\n");
	return f == stdout ? 0 : 2;
}

/* Is name's extension ext (case-insensitive)? */
static int has_ext(const char *name, const char *ext)
{
	size_t n = strlen(name), e = strlen(ext);

	return n > e && strcasecmp(name + n - e, ext) == 0;
}

/* ---- Parse --------------------------------------------------------------- */

struct plot_opts {
	const char *out, *file;
	long top;  /* series at most */
	int sites; /* series per call site, not per tag */
	int html;  /* out is a page, else an SVG */
};

static int plot_parse(int argc, char **argv, struct plot_opts *o)
{
	static const struct option longs[] = {{"output", required_argument, 0, 'o'},
	                                      {"top", required_argument, 0, 't'},
	                                      {"sites", no_argument, 0, 'S'},
	                                      {"help", no_argument, 0, 'h'},
	                                      {0, 0, 0, 0}};
	int ch;

	*o = (struct plot_opts){.top = 6};
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "o:t:h", longs, NULL)) != -1) {
		if (ch == 'h')
			return usage(stdout);
		if (ch == 'o')
			o->out = optarg;
		else if (ch == 'S')
			o->sites = 1;
		else if (ch == 't' && (o->top = pt_parse_count("plot", "-t", optarg)) < 0)
			return 2;
		else if (ch == 't' && (o->top < 1 || o->top > PLOT_MAX_SERIES))
			return pt_usage_err("plot", "-t wants 1 to %d series, not %ld",
			                    PLOT_MAX_SERIES, o->top);
		else if (ch != 't')
			return pt_getopt_err("plot", argv);
	}
	if (argc - optind != 1)
		return pt_usage_err("plot",
		                    "wants one argument, a recording (pooltag record -o FILE)");
	o->file = argv[optind];
	if (!o->out)
		return pt_usage_err("plot", "-o OUT.svg or -o OUT.html is required");
	o->html = has_ext(o->out, ".html") || has_ext(o->out, ".htm");
	if (!o->html && !has_ext(o->out, ".svg"))
		return pt_usage_err("plot", "-o wants a file ending in .svg or .html, not '%s'",
		                    o->out);
	return PT_PARSED;
}

/* ---- Execute ------------------------------------------------------------- */

/* The recording read, its trends computed, the series picked and filled:
 * 0, or 1 (message printed). */
static int plot_execute(const struct plot_opts *o, struct pt_recording *r, struct pt_trend **t,
                        size_t *nt, struct plot *p)
{
	if (pt_recording_load(o->file, r) != 0)
		return 1;
	if (pt_trend_compute(r, o->sites, t, nt) != 0 || plot_build(p, *t, *nt, o->top) != 0) {
		pt_err("out of memory");
		return 1;
	}
	if (p->ns == 0) {
		pt_err("%s: nothing to plot: no %s moved during the recording", o->file,
		       o->sites ? "call site" : "tag");
		return 1;
	}
	return 0;
}

/* ---- Print --------------------------------------------------------------- */

/* The chart into o->out, then a line saying so: the exit status. */
static int plot_print(const struct plot_opts *o, const struct plot *p)
{
	FILE *f = fopen(o->out, "w");

	if (!f) {
		pt_err("cannot write %s: %s", o->out, strerror(errno));
		return 1;
	}
	if (o->html)
		write_html(f, p, o->file);
	else
		write_svg(f, p);
	if (ferror(f) | fclose(f)) {
		pt_err("cannot write %s: %s", o->out, strerror(errno ? errno : EIO));
		return 1;
	}
	printf("%s: %zu series over %.1f s\n", o->out, p->ns, p->tmax);
	return pt_flush_stdout();
}

/* ---- The command --------------------------------------------------------- */

int pt_cmd_plot(int argc, char **argv)
{
	struct plot_opts o;
	struct pt_recording r;
	struct pt_trend *t = NULL;
	struct plot p = {.r = &r};
	size_t nt = 0;
	int rc = plot_parse(argc, argv, &o);

	if (rc != PT_PARSED)
		return rc;
	pt_rec_init(&r);
	if ((rc = plot_execute(&o, &r, &t, &nt, &p)) == 0)
		rc = plot_print(&o, &p);
	for (size_t j = 0; j < p.ns; j++) {
		free(p.s[j].count);
		free(p.s[j].bytes);
	}
	free(p.slot_of);
	free(p.t);
	free(t);
	pt_rec_free(&r);
	return rc;
}
