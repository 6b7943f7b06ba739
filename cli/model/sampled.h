/*
 * sampled.h - the sampled call paths of a view (src/sample.h): the paths
 * of the biggest live consumers, each with its estimated live bytes,
 * symbolised from the modules' files, for the text of `pooltag used
 * --sites`, the monitor and the exporter alike.
 */
#ifndef PT_SAMPLED_H
#define PT_SAMPLED_H

#include <stdio.h>

#include "view.h"

/* One path, ready to show.  The strings are printable (pt_safe_str):
 * where the path was charged ("file:line", "?:0" when unknown), its
 * function, and how it was reached ("f.c:12 in g <- main.c:3 in main",
 * innermost first, the library's own frames and those outside main left
 * out; "" when no frame was recorded). */
struct pt_spath {
	const struct pt_vsample *s;
	char where[512];
	char func[256];
	char via[1024];
};

/* A view's paths with sampled blocks live, biggest estimate first (equal
 * estimates in the view's order). */
struct pt_spaths {
	struct pt_spath *p;
	size_t n;
	uint64_t mean;     /* bytes between samples; 0: the view samples nothing */
	uint64_t ndropped; /* samples not recorded (table full, no stack) */
};

/* Fills *out with the top paths (all with top < 0) whose tag matches
 * pattern (NULL: all).  Each frame is symbolised once, from its module's
 * file only (pt_sym_offline): nothing of the process is trusted.  0, or -1
 * on out of memory (*out then empty).  Free with pt_sampled_free. */
int pt_sampled_top(struct pt_spaths *out, const struct pt_view *v, const char *pattern,
		   long top);
void pt_sampled_free(struct pt_spaths *sp);

/* Prints the top paths as `pooltag used --sites` shows them under its
 * table; nothing when the view has no samples.  0, or -1 on out of memory. */
int pt_sampled_print(FILE *f, const struct pt_view *v, const char *pattern, long top);

/* n bytes for people: "512 B", "44.2 MiB".  Returns buf. */
const char *pt_sampled_human(uint64_t n, char *buf, size_t len);

#endif /* PT_SAMPLED_H */
