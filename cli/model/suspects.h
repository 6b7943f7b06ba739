/*
 * suspects.h - `pooltag used --suspects`: tags whose allocations were
 * almost never freed, ranked, with what hangs off them.
 */
#ifndef PT_SUSPECTS_H
#define PT_SUSPECTS_H

#include <stdint.h>

#include "tally.h"

struct pt_suspect_opts {
	uint64_t min_allocs; /* a tag and pool with fewer allocations is not judged */
	unsigned max_freed;  /* percent: a suspect freed at most this share */
	long top;            /* the first N suspects only; -1 all */
};

/* The defaults of --min-allocs and --max-freed. */
#define PT_SUSPECT_MIN_ALLOCS 100
#define PT_SUSPECT_MAX_FREED  10

/* A tag and counter class (pool, references, handles) judged a suspect;
 * score: kept share times outstanding count, Diff^2 / Allocs. */
struct pt_suspect {
	const struct pt_tally *t;
	unsigned cls;
	double score;
};

/* A tag and class held with a suspect: its outstanding count within 2% of
 * like's, the closest. */
struct pt_held {
	const struct pt_tally *t;
	unsigned cls;
	const struct pt_suspect *like;
};

struct pt_suspects {
	struct pt_suspect *s; /* the highest score first */
	size_t n, shown;      /* the first shown of them, at most o->top */
	struct pt_held *held; /* by tag, then class */
	size_t nheld;
};

/* The suspects among the tallies t[0..n) (which must have allocations and
 * frees, not outstanding counts only): each tag and counter class with at
 * least min_allocs allocations of which at most max_freed percent were
 * freed; then the tags and classes held with the shown ones, which objects
 * that never die usually keep alive.  0, or -1 on out of memory; s is
 * freed with pt_suspects_free either way. */
int pt_suspects_find(const struct pt_tally *t, size_t n, const struct pt_suspect_opts *o,
		     struct pt_suspects *s);
void pt_suspects_free(struct pt_suspects *s);

#endif /* PT_SUSPECTS_H */
