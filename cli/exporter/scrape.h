/*
 * scrape.h - one scrape for `pooltag exporter`: the counters of every
 * process of the user that exports them, as a Prometheus exposition.
 *
 * The work of a scrape is bounded: at most max_processes segments are read
 * and at most max_series per-process series written; what is left out is
 * counted in pooltag_scrape_skipped_processes and _series.  A process that
 * exits while it is read is left out and counted, never an error; a segment
 * that cannot be read is counted in pooltag_scrape_errors_total, and the
 * scrape goes on with the others.  pooltag(1) lists the metrics and their
 * labels, under "pooltag exporter".
 */
#ifndef PT_SCRAPE_H
#define PT_SCRAPE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "segread.h"

struct pt_scrape_opts {
	size_t max_processes; /* segments read per scrape */
	size_t max_series;    /* per-process series per scrape */
	int sites;            /* per-site series too, and the sampled call paths' */
	size_t paths;         /* sampled call paths per process (the biggest) */
	int kernel;           /* the kernel's /proc/allocinfo too (kscrape.h) */
	FILE *log;            /* one line per unreadable segment; NULL: silent */
};

/* Cumulative over the scrapes of one exporter (counters must not go back). */
struct pt_scrape_state {
	uint64_t errors; /* segments that could not be read */
	uint64_t exited; /* processes gone between listing and reading */
};

/* Scrapes every segment in pt_segdir().  A directory that cannot be listed
 * counts as an error; the exposition then has the scrape's own metrics
 * only.  The text is malloc'd (*len bytes); NULL on out of memory. */
char *pt_scrape(const struct pt_scrape_opts *o, struct pt_scrape_state *st, size_t *len);

/* The same over the segments listed in ents (as pt_seglist gives them,
 * sorted by pid). */
char *pt_scrape_list(const struct pt_scrape_opts *o, struct pt_scrape_state *st,
		     const struct pt_segent *ents, size_t n, size_t *len);

#endif /* PT_SCRAPE_H */
