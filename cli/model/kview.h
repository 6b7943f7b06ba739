/*
 * kview.h - the kernel's views (allocinfo.h) as tables: `pooltag used
 * kernel` (kused.c), sites grouped by module, and `pooltag diff` of two
 * kernel reads (kdiff.c), sites that grew and modules unloaded while sites
 * carrying their name still hold memory.
 */
#ifndef PT_KVIEW_H
#define PT_KVIEW_H

#include <stdio.h>

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

/* Prints what changed from kernel view ov to nv: sites whose outstanding
 * count or bytes moved, those where both grew first (leak suspects), then
 * the modules of ov unloaded by nv: still holding memory at sites carrying
 * their name, or gone from the file with what their sites held in ov.  At
 * most top sites per list (-1 all).  0, or -1 on out of memory. */
int pt_kdiff_print(FILE *f, const struct pt_view *ov, const struct pt_view *nv, long top);

#endif /* PT_KVIEW_H */
