/*
 * montab.h - the table `pooltag mon` shows: one row per tag and pool, built
 * from two successive views of a process, with what changed in between.
 *
 * This is the monitor's model, kept apart from the terminal: it sums the
 * rows of a view per (tag, pool), pairs every row (call site) with the same
 * row of the previous view to get its change, orders and filters the rows
 * the way the keys ask, lists a tag's sites and the references and handles
 * held on its objects, and formats the cells to fit their columns.  monui.c
 * and the plain tables of cli/cmd/mon.c draw it; tests/test_montab.c checks
 * it without a terminal.
 *
 * Rows point into the current view, which must outlive the table.  Counters
 * of a live process only grow, but nothing read is trusted: a change is the
 * difference modulo 2^64 read as signed, never a crash.
 */
#ifndef PT_MONTAB_H
#define PT_MONTAB_H

#include <stddef.h>
#include <stdint.h>

#include "tally.h"
#include "view.h"

/* Sort keys: PoolMon's t a f d b m, plus the change since the last read. */
enum pt_mon_sort {
	PT_MON_SORT_TAG,
	PT_MON_SORT_ALLOCS,
	PT_MON_SORT_FREES,
	PT_MON_SORT_DIFF,
	PT_MON_SORT_BYTES,
	PT_MON_SORT_PERALLOC,
	PT_MON_SORT_CHANGE,
	PT_MON_NSORT
};

/* Which pools are shown; PoolMon's p cycles through them in this order. */
enum pt_mon_pools { PT_MON_POOLS_BOTH, PT_MON_POOLS_PAGED, PT_MON_POOLS_NONPAGED };

/* A change between two reads of a counter set; allocs and frees never go
 * down in a live process, diff and bytes (outstanding) can. */
struct pt_mon_delta {
	int64_t nallocs, nfrees, diff, bytes;
};

struct pt_mon_row {
	uint32_t tag;
	uint32_t pool; /* PT_PAGED or PT_NONPAGED */
	struct pt_sums now;
	struct pt_mon_delta chg; /* since the previous view; zero on the first */
};

struct pt_montab {
	const struct pt_view *cur;
	double elapsed;              /* seconds between the two views; 0 on the first */
	struct pt_mon_delta *rowchg; /* change of each cur->rows[i] */
	struct pt_mon_row *rows;     /* sorted by tag, then pool */
	size_t nrows;
	struct pt_sums total[2];           /* per pool, over every row */
	struct pt_mon_delta total_chg[2];
};

/* Builds t from cur and the view read before it (NULL on the first read,
 * when every change is zero).  0, or -1 on out of memory (t is then empty
 * and may be freed). */
int pt_montab_build(struct pt_montab *t, const struct pt_view *prev, const struct pt_view *cur);
void pt_montab_free(struct pt_montab *t);

/* The change of a row's counters as one number per sort key. */
struct pt_mon_delta pt_mon_delta_of(const struct pt_sums *now, const struct pt_sums *before);

/* Bytes outstanding per outstanding allocation, PoolMon's "Per Alloc"
 * (0 when none is outstanding). */
uint64_t pt_mon_peralloc(const struct pt_sums *s);

struct pt_mon_opts {
	enum pt_mon_sort sort;
	int reverse;
	enum pt_mon_pools pools;
	const char *pattern; /* a tag pattern (tagdb.h), NULL for all */
};

/* The rows to show, in order: fills idx (t->nrows entries at most) with
 * indices into t->rows and returns how many.  Numeric keys put the largest
 * first; ties and the tag key go by tag, then pool.  The change key ranks
 * by bytes grown, then allocations made since the last read. */
size_t pt_montab_order(const struct pt_montab *t, const struct pt_mon_opts *o, size_t *idx);

/* The index in t->rows of (tag, pool), or -1. */
long pt_montab_find(const struct pt_montab *t, uint32_t tag, uint32_t pool);

/* The rows of t->cur that expand (tag, pool): its call sites in that pool,
 * most bytes outstanding first, then the references and the handles held on
 * the tag's objects, most held first.  Fills idx (cur->nrows entries at
 * most) with indices into t->cur->rows; returns how many. */
size_t pt_montab_sites(const struct pt_montab *t, uint32_t tag, uint32_t pool, size_t *idx);

/* Per second over the interval between the views (0 on the first). */
double pt_montab_rate(const struct pt_montab *t, int64_t chg);

/* Formatting.  A cell is right-aligned in width columns.  A number that
 * does not fit is scaled (K, M, G, T: powers of 1000, or of 1024 for
 * bytes) and rounded down.  A change is signed ("+12", "-3", "0"); a rate
 * keeps one decimal below 10.  Each returns buf. */
char *pt_mon_fmt_count(char *buf, size_t len, uint64_t v, int width, int bytes);
char *pt_mon_fmt_change(char *buf, size_t len, int64_t v, int width, int bytes);
char *pt_mon_fmt_rate(char *buf, size_t len, double v, int width, int bytes);

/* Names of the sort keys ("tag", "allocs", ...), and the key of a name or
 * of a PoolMon letter ("t", "a", ...); -1 if unknown. */
const char *pt_mon_sort_name(enum pt_mon_sort s);
int pt_mon_sort_parse(const char *s);

#endif /* PT_MONTAB_H */
