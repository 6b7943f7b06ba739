/*
 * sampled.c - the sampled call paths of a view, chosen and named
 * (sampled.h).
 *
 * Frames are symbolised offline, from the module file each one names and
 * its offset there (pt_sym_offline), as pooltag reads another process's
 * segment: nothing of the process is trusted beyond the strings' bounds,
 * and a file that is gone or has no symbols leaves "module+0xOFF".  The
 * library's own frames (functions named pt_*, and the hooks of pooltag
 * run's interposer) are left out from the innermost end, and start-up frames after main from the outermost.  A
 * lookup opens the module's file, so each distinct frame is looked up once
 * per call: paths share their outer frames (main, its callers).
 */
#include <stdlib.h>
#include <string.h>

#include "pooltag.h"
#include "safestr.h"
#include "sampled.h"
#include "stack.h"
#include "tagdb.h"
#include "tally.h"

const char *pt_sampled_human(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

/* Biggest estimate first; equal ones keep the view's order (the pointers
 * into its samples), so that the order never depends on how qsort treats
 * ties. */
static int by_estimate(const void *a, const void *b)
{
	const struct pt_vsample *x = *(const struct pt_vsample *const *)a;
	const struct pt_vsample *y = *(const struct pt_vsample *const *)b;

	if (x->live_est != y->live_est)
		return x->live_est < y->live_est ? 1 : -1;
	return x < y ? -1 : x > y;
}

/* The frames looked up so far: open addressing on (path, offset), sized
 * for every frame of the paths shown, so it never fills. */
struct frames {
	struct fslot {
		const char *path; /* NULL: empty slot */
		uint64_t off;
		struct pt_frame fr;
	} *slot;
	size_t mask;
};

static uint64_t fhash(const char *path, uint64_t off)
{
	uint64_t h = 1469598103934665603ull ^ off;

	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h * 0x9e3779b97f4a7c15ull;
}

/* The frame at off in path, "?" when the file tells nothing. */
static const struct pt_frame *frame_at(struct frames *fs, const char *path, uint64_t off)
{
	size_t i = (size_t)(fhash(path, off) >> 32) & fs->mask;

	for (;; i = (i + 1) & fs->mask) {
		struct fslot *s = &fs->slot[i];
		if (!s->path) {
			s->path = path;
			s->off = off;
			if (!*path || pt_sym_offline(path, off, 1, &s->fr) != 0)
				s->fr = (struct pt_frame){.func = "?", .file = NULL};
			return &s->fr;
		}
		if (s->off == off && !strcmp(s->path, path))
			return &s->fr;
	}
}

#define PRELOAD_SO "libpooltag-preload.so" /* pooltag run's interposer */

/* The frames of s that sp shows: from the first outside the library (its
 * functions are named pt_*) and the interposer's hooks, the site's own
 * frame left out (its line names it already), up to main. */
static void pick_frames(struct frames *fs, const struct pt_vsample *s, struct pt_spath *sp)
{
	int seen_user = 0;

	sp->nframes = 0;
	for (unsigned i = 0; i < s->depth && sp->nframes < PT_SPATH_FRAMES; i++) {
		const struct pt_frame *fr = frame_at(fs, s->frames[i].path, s->frames[i].off);
		const char *base = strrchr(s->frames[i].path, '/');

		base = base ? base + 1 : s->frames[i].path;
		if (!seen_user && (!strncmp(fr->func, "pt_", 3) || !strcmp(base, PRELOAD_SO)))
			continue;
		if (!seen_user && fr->file && fr->line == s->line && !strcmp(fr->func, s->func))
			continue;
		seen_user = 1;
		sp->frames[sp->nframes++] = (struct pt_sframe){
			.module = s->frames[i].path,
			.off = s->frames[i].off,
			.func = fr->func,
			.file = fr->file,
			.line = fr->line,
		};
		if (!strcmp(fr->func, "main"))
			break;
	}
}

/* Each frame "file:line in func", or "module+0xoff" without a line. */
void pt_sampled_via(const struct pt_spath *sp, int safe, char *via, size_t len)
{
	char b1[512], b2[256];
	size_t at = 0;

	via[0] = 0;
	for (unsigned i = 0; i < sp->nframes && at < len; i++) {
		const struct pt_sframe *fr = &sp->frames[i];
		const char *base = strrchr(fr->module, '/');
		const char *sep = i ? " <- " : "";
		int w;

		base = base ? base + 1 : fr->module;
		if (fr->file)
			w = snprintf(via + at, len - at, "%s%s:%u in %s", sep,
				     safe ? pt_safe_str(fr->file, b1, sizeof(b1)) : fr->file, fr->line,
				     safe ? pt_safe_str(fr->func, b2, sizeof(b2)) : fr->func);
		else
			w = snprintf(via + at, len - at, "%s%s+0x%llx", sep,
				     !*base ? "?" : safe ? pt_safe_str(base, b1, sizeof(b1)) : base,
				     (unsigned long long)fr->off);
		at += w > 0 ? (size_t)w : 0;
	}
}

int pt_sampled_top(struct pt_spaths *out, const struct pt_view *v, const char *pattern,
		   long top)
{
	const struct pt_vsample **p = calloc(v->nsamples + 1, sizeof(*p));
	struct frames fs = {0};
	size_t n = 0, nframes = 1;

	*out = (struct pt_spaths){.mean = v->sample_mean, .ndropped = v->sample_ndropped};
	if (!p)
		return -1;
	for (size_t i = 0; i < v->nsamples; i++)
		if (v->samples[i].nlive && (!pattern || pt_tag_match(pattern, v->samples[i].tag)))
			p[n++] = &v->samples[i];
	qsort(p, n, sizeof(*p), by_estimate);
	if (top >= 0 && (size_t)top < n)
		n = (size_t)top;
	for (size_t i = 0; i < n; i++)
		nframes += p[i]->depth;
	while (fs.mask + 1 < 2 * nframes)
		fs.mask = 2 * fs.mask + 1;
	fs.slot = calloc(fs.mask + 1, sizeof(*fs.slot));
	out->p = calloc(n + 1, sizeof(*out->p));
	if (!fs.slot || !out->p) {
		free(fs.slot);
		free(p);
		pt_sampled_free(out);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct pt_spath *sp = &out->p[i];
		char b[512];

		sp->s = p[i];
		snprintf(sp->where, sizeof(sp->where), "%s:%u",
			 *p[i]->file ? pt_safe_str(p[i]->file, b, sizeof(b)) : "?", p[i]->line);
		pt_safe_str(*p[i]->func ? p[i]->func : "?", sp->func, sizeof(sp->func));
		pick_frames(&fs, p[i], sp);
		pt_sampled_via(sp, 1, sp->via, sizeof(sp->via));
	}
	out->n = n;
	free(fs.slot);
	free(p);
	return 0;
}

void pt_sampled_free(struct pt_spaths *sp)
{
	free(sp->p);
	*sp = (struct pt_spaths){0};
}

/* JSON: a path, its callers as objects of "frames". */
enum { V_TAG, V_POOL, V_FILE, V_LINE, V_FUNC, V_EST, V_NLIVE, V_PATH, V_MODULE, V_OFF, V_N };

static const struct pt_emit_col path_cols[] = {
	{.in = PT_IN_JSON, .val = V_TAG, .key = "tag"},
	{.in = PT_IN_JSON, .val = V_POOL, .key = "pool"},
	{.in = PT_IN_JSON, .val = V_FILE, .key = "file"},
	{.in = PT_IN_JSON, .val = V_LINE, .key = "line"},
	{.in = PT_IN_JSON, .val = V_FUNC, .key = "function"},
	{.in = PT_IN_JSON, .val = V_EST, .key = "live_bytes_estimate"},
	{.in = PT_IN_JSON, .val = V_NLIVE, .key = "live_samples"},
	{.in = PT_IN_JSON, .val = V_PATH, .key = "path"},
};
static const struct pt_emit_table path_table = PT_EMIT_TABLE(path_cols);

static const struct pt_emit_col frame_cols[] = {
	{.in = PT_IN_JSON, .val = V_FILE, .key = "file"},
	{.in = PT_IN_JSON, .val = V_LINE, .key = "line"},
	{.in = PT_IN_JSON, .val = V_FUNC, .key = "function"},
	{.in = PT_IN_JSON, .val = V_MODULE, .key = "module"},
	{.in = PT_IN_JSON, .val = V_OFF, .key = "offset"},
};
static const struct pt_emit_table frame_table = PT_EMIT_TABLE(frame_cols);

static void json_path(struct pt_emit *e, const struct pt_spath *p)
{
	struct pt_val v[V_N] = {0};
	char tag[5], via[sizeof(p->via)];

	pt_sampled_via(p, 0, via, sizeof(via));
	v[V_TAG] = pt_val_str(pt_tag_str(p->s->tag, tag));
	v[V_POOL] = pt_val_word(pt_pool_word[p->s->pool & 1]);
	v[V_FILE] = pt_val_str(p->s->file);
	v[V_LINE] = pt_val_u64(p->s->line);
	v[V_FUNC] = pt_val_str(p->s->func);
	v[V_EST] = pt_val_u64(p->s->live_est);
	v[V_NLIVE] = pt_val_u64(p->s->nlive);
	v[V_PATH] = pt_val_str(via);
	pt_emit_row_open(e, PT_IN_JSON, &path_table, v);
	pt_emit_arr(e, "frames");
	for (unsigned i = 0; i < p->nframes; i++) {
		const struct pt_sframe *fr = &p->frames[i];
		struct pt_val f[V_N] = {0};

		if (fr->file) {
			f[V_FILE] = pt_val_str(fr->file);
			f[V_LINE] = pt_val_u64(fr->line);
		}
		if (strcmp(fr->func, "?") != 0)
			f[V_FUNC] = pt_val_str(fr->func);
		f[V_MODULE] = pt_val_str(fr->module);
		f[V_OFF] = pt_val_u64(fr->off);
		pt_emit_row(e, PT_IN_JSON, &frame_table, f);
	}
	pt_emit_end(e);
	pt_emit_end(e);
}

int pt_sampled_emit(struct pt_emit *e, const struct pt_view *v, const char *pattern, long top)
{
	struct pt_spaths sp;
	char tag[5], b[64];

	if (e->fmt == PT_EMIT_CSV)
		return 0;
	if (pt_sampled_top(&sp, v, pattern, top) != 0)
		return -1;
	if (sp.mean || sp.n) {
		pt_emit_text(e, "\n Sampled call paths (one allocation in about %s has its stack recorded;\n"
				" '~' marks estimates of the live bytes, see pooltag(1)):\n",
			     pt_sampled_human(sp.mean, b, sizeof(b)));
		if (!sp.n)
			pt_emit_text(e, "  (no sampled block is live)\n");
		pt_emit_obj(e, "sampled");
		pt_emit_kv(e, "mean_bytes", pt_val_u64(sp.mean));
		pt_emit_kv(e, "not_recorded", pt_val_u64(sp.ndropped));
		pt_emit_arr(e, "paths");
	}
	for (size_t i = 0; i < sp.n; i++) {
		const struct pt_spath *p = &sp.p[i];
		pt_emit_text(e, " %-4s sampled: ~%s live (%llu sample%s) at %s in %s\n       via %s\n",
			     pt_tag_print(p->s->tag, tag), pt_sampled_human(p->s->live_est, b, sizeof(b)),
			     (unsigned long long)p->s->nlive, p->s->nlive == 1 ? "" : "s", p->where,
			     p->func, *p->via ? p->via : "(no frames recorded)");
		if (e->fmt == PT_EMIT_JSON)
			json_path(e, p);
	}
	if (sp.ndropped)
		pt_emit_text(e, "  (%llu samples not recorded: table full or no stack)\n",
			     (unsigned long long)sp.ndropped);
	if (sp.mean || sp.n) {
		pt_emit_end(e);
		pt_emit_end(e);
	}
	pt_sampled_free(&sp);
	return 0;
}
