/*
 * kview.h - the kernel's views (allocinfo.h) computed into tables: `pooltag
 * used kernel` (kused.c), sites grouped by module, and `pooltag diff` of
 * two kernel reads (kdiff.c), sites that grew and modules unloaded while
 * sites carrying their name still hold memory.  The commands print them
 * (cli/cmd/usedk.c, diffk.c).
 */
#ifndef PT_KVIEW_H
#define PT_KVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "view.h"

struct pt_tally;

enum pt_ksort { PT_KSORT_MODULE, PT_KSORT_BYTES, PT_KSORT_COUNT };

/* A module of the kernel's table: its sites' sums. */
struct pt_kmodule {
	const struct pt_tally *t; /* its sites: t->sites */
	const char *module;       /* "" for the kernel's own sites */
	uint64_t count, bytes;    /* outstanding */
	size_t holding;           /* sites with a count or bytes outstanding */
	size_t inexact;           /* sites the kernel marked inaccurate */
};

/* The kernel's table of a view, by module. */
struct pt_kused {
	struct pt_tally *t; /* the view's tallies, one per module */
	size_t nt;
	struct pt_kmodule *m; /* the modules matching the pattern, sorted */
	size_t n;
	struct pt_kmodule total; /* the sums of m (no t, no module) */
};

/* Does site r hold memory (a count or bytes outstanding)? */
static inline int pt_krow_holds(const struct pt_row *r)
{
	return r->nallocs || r->bytes_alloc;
}

/* Sums kernel view v per module into k: the modules matching pattern
 * (pt_kmod_match; NULL all), sorted by sort (largest first; by name for
 * PT_KSORT_MODULE and ties), reversed if reverse.  0, or -1 on out of
 * memory.  k is freed with pt_kused_free either way. */
int pt_kused_build(const struct pt_view *v, const char *pattern, enum pt_ksort sort, int reverse,
		   struct pt_kused *k);
void pt_kused_free(struct pt_kused *k);

/* One site's sums in OLD and NEW (zero where absent). */
struct pt_kchange {
	const struct pt_row *r; /* the site, from NEW if there, else OLD */
	uint64_t oc, ob, nc, nb;
	int in_old, in_new;
};

/* A module of OLD unloaded by NEW: not in NEW's module list (a kernel
 * snapshot lists them) or, lacking a list, with none of its sites in NEW. */
struct pt_kunload {
	const char *module;
	const struct pt_kchange *sites; /* its sites, by site */
	size_t nsites;
	size_t in_old, in_new;     /* of those, listed in OLD, in NEW */
	size_t held_new, held_old; /* holding memory in NEW, in OLD */
	uint64_t nc, nb, oc, ob;   /* what those held, in NEW and in OLD */
};

/* What changed from a kernel view OLD to NEW. */
struct pt_kdiff {
	struct pt_kchange *all; /* every site of either, by module, file, line, function */
	size_t nall;
	/* The sites whose outstanding count or bytes moved, leak suspects
	 * (both grew) first, then by growth in bytes, then in count; sites of
	 * unloaded modules NEW no longer lists are not among them. */
	struct pt_kchange *moved;
	size_t nmoved;
	struct pt_kunload *unloaded; /* by module */
	size_t nunloaded;
};

/* b - a, as a signed change. */
static inline int64_t pt_kdelta(uint64_t a, uint64_t b)
{
	return (int64_t)(b - a);
}

/* A leak suspect: its outstanding count and bytes both grew. */
static inline int pt_kchange_suspect(const struct pt_kchange *c)
{
	return pt_kdelta(c->oc, c->nc) > 0 && pt_kdelta(c->ob, c->nb) > 0;
}

/* Compares kernel views ov and nv into d.  0, or -1 on out of memory; d is
 * freed with pt_kdiff_free either way. */
int pt_kdiff_build(const struct pt_view *ov, const struct pt_view *nv, struct pt_kdiff *d);
void pt_kdiff_free(struct pt_kdiff *d);

#endif /* PT_KVIEW_H */
