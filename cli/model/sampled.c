/*
 * sampled.c - printing sampled call paths (sampled.h).
 *
 * Frames are symbolised offline, from the module file each one names and
 * its offset there (pt_sym_offline), as pooltag reads another process's
 * segment: nothing of the process is trusted beyond the strings' bounds,
 * and a file that is gone or has no symbols leaves "module+0xOFF".  The
 * library's own frames (functions named pt_*) are left out from the
 * innermost end, and start-up frames after main from the outermost.
 */
#include <stdlib.h>
#include <string.h>

#include "sampled.h"
#include "stack.h"
#include "tagdb.h"
#include "tally.h"

#define SHOW_FRAMES 6

static const char *human(uint64_t n, char *buf, size_t len)
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

static int by_estimate(const void *a, const void *b)
{
	const struct pt_vsample *x = *(const struct pt_vsample *const *)a;
	const struct pt_vsample *y = *(const struct pt_vsample *const *)b;

	return x->live_est < y->live_est ? 1 : x->live_est > y->live_est ? -1 : 0;
}

static void put_path(FILE *f, const struct pt_vsample *s)
{
	char b1[512], b2[256];
	unsigned shown = 0;
	int seen_user = 0;

	for (unsigned i = 0; i < s->depth && shown < SHOW_FRAMES; i++) {
		struct pt_frame fr;
		const char *base = strrchr(s->frames[i].path, '/');

		base = base ? base + 1 : s->frames[i].path;
		if (!*s->frames[i].path || pt_sym_offline(s->frames[i].path, s->frames[i].off, 1, &fr) != 0)
			fr = (struct pt_frame){.func = "?", .file = NULL};
		if (!seen_user && !strncmp(fr.func, "pt_", 3))
			continue; /* the library's own frames */
		seen_user = 1;
		fputs(shown++ ? " <- " : " via ", f);
		if (fr.file)
			fprintf(f, "%s:%u in %s", pt_safe_str(fr.file, b1, sizeof(b1)), fr.line,
				pt_safe_str(fr.func, b2, sizeof(b2)));
		else
			fprintf(f, "%s+0x%llx", *base ? pt_safe_str(base, b1, sizeof(b1)) : "?",
				(unsigned long long)s->frames[i].off);
		if (!strcmp(fr.func, "main"))
			break;
	}
	if (!shown)
		fputs(" via (no frames recorded)", f);
}

int pt_sampled_print(FILE *f, const struct pt_view *v, const char *pattern, long top)
{
	const struct pt_vsample **p = calloc(v->nsamples + 1, sizeof(*p));
	char tag[5], b1[64], b2[512], b3[256];
	size_t n = 0;

	if (!p)
		return -1;
	for (size_t i = 0; i < v->nsamples; i++)
		if (v->samples[i].nlive && (!pattern || pt_tag_match(pattern, v->samples[i].tag)))
			p[n++] = &v->samples[i];
	if (v->sample_mean || n) {
		fprintf(f, "\n Sampled call paths (one allocation in about %s has its stack recorded;\n"
			   " '~' marks estimates of the live bytes, see pooltag(1)):\n",
			human(v->sample_mean, b1, sizeof(b1)));
		if (!n)
			fprintf(f, "  (no sampled block is live)\n");
	}
	qsort(p, n, sizeof(*p), by_estimate);
	for (size_t i = 0; i < n && (top < 0 || (long)i < top); i++) {
		const struct pt_vsample *s = p[i];
		fprintf(f, " %-4s sampled: ~%s live (%llu sample%s) at %s:%u in %s\n      ",
			pt_tag_print(s->tag, tag), human(s->live_est, b1, sizeof(b1)),
			(unsigned long long)s->nlive, s->nlive == 1 ? "" : "s",
			*s->file ? pt_safe_str(s->file, b2, sizeof(b2)) : "?", s->line,
			pt_safe_str(*s->func ? s->func : "?", b3, sizeof(b3)));
		put_path(f, s);
		fputc('\n', f);
	}
	if (v->sample_ndropped)
		fprintf(f, "  (%llu samples not recorded: table full or no stack)\n",
			(unsigned long long)v->sample_ndropped);
	free(p);
	return 0;
}
