/*
 * suppress.c - the user's suppressions (--suppressions FILE, runsupp.h)
 * applied to a report's groups, and the entries --gen-suppressions prints
 * for the findings that remain: one per group, naming the innermost frame
 * of the program's own (its function, else its source file, else module).
 */
#include <stdio.h>
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

/* The entry for group g, in buf; 0 if none. */
static int entry(const struct pt_run_group *g, char *buf, size_t len)
{
	static const char *const name[] = {"leak", "fd", "free"};
	struct pt_frame fr[1];
	const char *what;

	if (g->runtime || g->suppressed || (g->kind == PT_RUN_BLOCKS && g->reach == PT_RUN_REACHABLE) ||
	    !pt_run_group_frames(g, fr, 1))
		return 0;
	what = known(fr[0].func) ? fr[0].func : known(fr[0].file) ? fr[0].file : fr[0].module;
	snprintf(buf, len, "%s:^%s$", name[g->kind], what);
	return 1;
}

void pt_run_suppress_entries(FILE *f, const struct pt_run_findings *r)
{
	char line[512], prev[512];

	for (size_t i = 0; i < r->n; i++) {
		int dup = 0;
		if (!entry(&r->g[i], line, sizeof(line)))
			continue;
		for (size_t j = 0; j < i && !dup; j++) /* each entry once */
			dup = entry(&r->g[j], prev, sizeof(prev)) && strcmp(prev, line) == 0;
		if (!dup)
			fprintf(f, "    %s\n", line);
	}
}
