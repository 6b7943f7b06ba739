/*
 * sampled.h - the sampled call paths of a view (src/sample.h), as text:
 * the paths of the biggest live consumers, each with its estimated live
 * bytes, symbolised from the modules' files.
 */
#ifndef PT_SAMPLED_H
#define PT_SAMPLED_H

#include <stdio.h>

#include "view.h"

/* Prints the top paths (all with top < 0) with sampled blocks live, whose
 * tag matches pattern (NULL: all), biggest estimate first; nothing when
 * the view has no samples.  0, or -1 on out of memory. */
int pt_sampled_print(FILE *f, const struct pt_view *v, const char *pattern, long top);

#endif /* PT_SAMPLED_H */
