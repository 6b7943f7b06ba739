/*
 * diff.h - `pooltag diff` of two reads of the kernel (diffk.c), called by
 * diff.c once both views are read.
 */
#ifndef PT_DIFF_H
#define PT_DIFF_H

#include "emit.h"
#include "view.h"

struct pt_kdiff;

/* `pooltag diff` of kernel views ov (read from old) and nv (from new),
 * at most top sites per list (-1 all): the exit status. */
int pt_diff_kernel(const struct pt_view *ov, const struct pt_view *nv, const char *old,
		   const char *new, long top);

/* Prints d, what changed from ov to nv (kview.h): the sites that moved,
 * the modules unloaded in between, at most top sites per list. */
void pt_diff_kernel_print(struct pt_emit *e, const struct pt_view *ov, const struct pt_view *nv,
			  const struct pt_kdiff *d, long top);

#endif /* PT_DIFF_H */
