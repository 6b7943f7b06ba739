/*
 * suspects.h - `pooltag used --suspects`: tags whose allocations were
 * almost never freed, ranked, with what hangs off them.
 */
#ifndef PT_SUSPECTS_H
#define PT_SUSPECTS_H

#include <stdint.h>
#include <stdio.h>

#include "tally.h"

struct pt_tagdb;

struct pt_suspect_opts {
	uint64_t min_allocs; /* a tag and pool with fewer allocations is not judged */
	unsigned max_freed;  /* percent: a suspect freed at most this share */
	long top;            /* the first N suspects only; -1 all */
};

/* The defaults of --min-allocs and --max-freed. */
#define PT_SUSPECT_MIN_ALLOCS 100
#define PT_SUSPECT_MAX_FREED  10

/* Prints the suspects among the tallies t[0..n) of v to f: each tag and
 * counter class (pool, references, handles) with at least min_allocs
 * allocations of which at most max_freed percent were freed, the largest
 * "kept share times outstanding count" first; then the tags whose
 * outstanding count is within 2% of a suspect's, which objects that never
 * die usually keep alive.  v must have allocations and frees (not
 * outstanding_only).  Returns the number of suspects. */
size_t pt_suspects_print(FILE *f, const struct pt_view *v, const struct pt_tagdb *db,
                         const struct pt_tally *t, size_t n, const struct pt_suspect_opts *o);

#endif /* PT_SUSPECTS_H */
