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

enum pt_ksort { PT_KSORT_MODULE, PT_KSORT_BYTES, PT_KSORT_COUNT };
enum pt_kfmt { PT_KFMT_TEXT, PT_KFMT_JSON, PT_KFMT_CSV };

struct pt_kused_opts {
	enum pt_ksort sort;
	enum pt_kfmt fmt;
	int reverse, sites;
	long top;            /* the first N modules only; -1 all */
	const char *pattern; /* module pattern (pt_kmod_match), NULL all */
};

/* Prints the modules of kernel view v to f: per module the outstanding
 * count, bytes and sites holding memory, then a TOTAL; with o->sites each
 * module's sites that hold memory, most bytes first.  0, or -1 on out of
 * memory (nothing printed). */
int pt_kused_print(FILE *f, const struct pt_view *v, const struct pt_kused_opts *o);

/* Prints what changed from kernel view ov to nv: sites whose outstanding
 * count or bytes moved, those where both grew first (leak suspects), then
 * the modules of ov unloaded by nv: still holding memory at sites carrying
 * their name, or gone from the file with what their sites held in ov.  At
 * most top sites per list (-1 all).  0, or -1 on out of memory. */
int pt_kdiff_print(FILE *f, const struct pt_view *ov, const struct pt_view *nv, long top);

#endif /* PT_KVIEW_H */
