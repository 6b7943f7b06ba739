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

#include "sampled.h"
#include "stack.h"
#include "tagdb.h"
#include "tally.h"

#define SHOW_FRAMES 6
#define PRELOAD_SO "libpooltag-preload.so" /* pooltag run's interposer */

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

/* Appends "X <- Y ..." for s's frames to via. */
static void name_path(struct frames *fs, const struct pt_vsample *s, char *via, size_t len)
{
	char b1[512], b2[256];
	size_t at = 0;
	unsigned shown = 0;
	int seen_user = 0;

	via[0] = 0;
	for (unsigned i = 0; i < s->depth && shown < SHOW_FRAMES && at < len; i++) {
		const struct pt_frame *fr = frame_at(fs, s->frames[i].path, s->frames[i].off);
		const char *base = strrchr(s->frames[i].path, '/');
		int w;

		base = base ? base + 1 : s->frames[i].path;
		if (!seen_user && (!strncmp(fr->func, "pt_", 3) || !strcmp(base, PRELOAD_SO)))
			continue; /* the library's own frames, or the interposer's hooks */
		if (!seen_user && fr->file && fr->line == s->line && !strcmp(fr->func, s->func))
			continue; /* the site itself, which its line names already */
		seen_user = 1;
		if (fr->file)
			w = snprintf(via + at, len - at, "%s%s:%u in %s", shown ? " <- " : "",
				     pt_safe_str(fr->file, b1, sizeof(b1)), fr->line,
				     pt_safe_str(fr->func, b2, sizeof(b2)));
		else
			w = snprintf(via + at, len - at, "%s%s+0x%llx", shown ? " <- " : "",
				     *base ? pt_safe_str(base, b1, sizeof(b1)) : "?",
				     (unsigned long long)s->frames[i].off);
		at += w > 0 ? (size_t)w : 0;
		shown++;
		if (!strcmp(fr->func, "main"))
			break;
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
		name_path(&fs, p[i], sp->via, sizeof(sp->via));
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

int pt_sampled_print(FILE *f, const struct pt_view *v, const char *pattern, long top)
{
	struct pt_spaths sp;
	char tag[5], b[64];

	if (pt_sampled_top(&sp, v, pattern, top) != 0)
		return -1;
	if (sp.mean || sp.n) {
		fprintf(f, "\n Sampled call paths (one allocation in about %s has its stack recorded;\n"
			   " '~' marks estimates of the live bytes, see pooltag(1)):\n",
			pt_sampled_human(sp.mean, b, sizeof(b)));
		if (!sp.n)
			fprintf(f, "  (no sampled block is live)\n");
	}
	for (size_t i = 0; i < sp.n; i++) {
		const struct pt_spath *p = &sp.p[i];
		fprintf(f, " %-4s sampled: ~%s live (%llu sample%s) at %s in %s\n       via %s\n",
			pt_tag_print(p->s->tag, tag), pt_sampled_human(p->s->live_est, b, sizeof(b)),
			(unsigned long long)p->s->nlive, p->s->nlive == 1 ? "" : "s", p->where,
			p->func, *p->via ? p->via : "(no frames recorded)");
	}
	if (sp.ndropped)
		fprintf(f, "  (%llu samples not recorded: table full or no stack)\n",
			(unsigned long long)sp.ndropped);
	pt_sampled_free(&sp);
	return 0;
}
