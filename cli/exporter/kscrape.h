/*
 * kscrape.h - the kernel's allocation profiling (allocinfo.h) in a scrape of
 * `pooltag exporter --kernel`.
 *
 * Families, all gauges (the kernel counts what is outstanding):
 *   pooltag_kernel_outstanding_allocations{module}
 *   pooltag_kernel_outstanding_bytes{module}
 * and with --sites, for each site that holds memory:
 *   pooltag_kernel_site_outstanding_allocations{module,file,line,function}
 *   pooltag_kernel_site_outstanding_bytes{module,file,line,function}
 * module is the module's name, "(kernel)" for the kernel's own sites (no
 * module name has parentheses).  Sites repeated with one identity add up.
 */
#ifndef PT_KSCRAPE_H
#define PT_KSCRAPE_H

#include <stddef.h>

#include "expo.h"

/* Reads the kernel and adds its series to e, at most budget of them; the
 * series written and those left out for the budget are added to *series and
 * *skipped.  0; -1 with a message in err when the kernel cannot be read
 * (nothing added) or on out of memory. */
int pt_kscrape_add(struct pt_expo *e, int sites, size_t budget, size_t *series, size_t *skipped,
		   char *err, size_t errlen);

#endif /* PT_KSCRAPE_H */
