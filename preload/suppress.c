/*
 * suppress.c - the user's suppressions (--suppressions FILE, runsupp.h)
 * applied to a report's groups, and the entries --gen-suppressions prints
 * for the findings that remain: one per group, naming the innermost frame
 * of the program's own (its function, else its source file, else module).
 */
#include <string.h>

#include "preload.h"
#include "runsupp.h"

#define FRAMES 32

static struct pt_supp supp;

int pt_run_suppress_load(const char *path, char *err, size_t errlen)
{
	return pt_supp_load(&supp, path, err, errlen);
}

static unsigned kind_bit(enum pt_run_kind k)
{
	return k == PT_RUN_BLOCKS ? PT_SUPP_LEAK : k == PT_RUN_FD ? PT_SUPP_FD : PT_SUPP_FREE;
}

static size_t frames(const struct pt_run_group *g, struct pt_supp_frame *out, struct pt_frame *fr)
{
	unsigned n = pt_run_group_frames(g, fr, FRAMES);

	for (unsigned i = 0; i < n; i++)
		out[i] = (struct pt_supp_frame){fr[i].func, fr[i].file, fr[i].module};
	return n;
}

void pt_run_suppress(struct pt_run_findings *r)
{
	struct pt_supp_frame f[FRAMES];
	struct pt_frame fr[FRAMES];

	if (!supp.n)
		return;
	for (size_t i = 0; i < r->n; i++) {
		struct pt_run_group *g = &r->g[i];
		struct pt_supp_entry *e;
		if (g->runtime)
			continue;
		e = pt_supp_match(&supp, kind_bit(g->kind), f, frames(g, f, fr));
		if (e) {
			g->suppressed = 1;
			e->hits++;
		}
	}
}

static int known(const char *s)
{
	return s && *s && strcmp(s, "?") != 0;
}

void pt_run_suppress_entries(FILE *f, const struct pt_run_findings *r)
{
	static const char *const name[] = {"leak", "fd", "free"};
	struct pt_frame fr[FRAMES];

	for (size_t i = 0; i < r->n; i++) {
		const struct pt_run_group *g = &r->g[i];
		unsigned n;
		if (g->runtime || g->suppressed)
			continue;
		n = pt_run_group_frames(g, fr, FRAMES);
		if (!n)
			continue;
		if (known(fr[0].func))
			fprintf(f, "    %s:^%s$\n", name[g->kind], fr[0].func);
		else if (known(fr[0].file))
			fprintf(f, "    %s:^%s$\n", name[g->kind], fr[0].file);
		else
			fprintf(f, "    %s:^%s$\n", name[g->kind], fr[0].module);
	}
}
