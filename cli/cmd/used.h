/*
 * used.h - `pooltag used`'s options, shared by the process's table
 * (used.c) and the kernel's (usedk.c).
 */
#ifndef PT_USED_H
#define PT_USED_H

#include "cmd.h"
#include "suspects.h"

enum used_sort {
	USED_SORT_TAG,
	USED_SORT_NONPAGED,
	USED_SORT_PAGED,
	USED_SORT_DIFF,
	USED_SORT_ALLOCS
};

struct used_opts {
	struct pt_cmdopt c; /* --tags, --json, --csv */
	int verbose, sites, reverse, suspects;
	int sorted; /* -s or -r given */
	enum used_sort sort;
	long top; /* -1: all */
	const char *pattern; /* NULL: every tag (or module) */
	const char *target;
	struct pt_suspect_opts so;
};

struct pt_kused;
struct pt_tally;

/* `pooltag used --suspects` of the tallies t[0..n) of v (suspects.h):
 * the exit status. */
int pt_used_suspects(const struct used_opts *o, const struct pt_view *v,
		     const struct pt_tagdb *db, const struct pt_tally *t, size_t n);

/* `pooltag used` of a kernel view v: the exit status. */
int pt_used_kernel(const struct used_opts *o, const struct pt_view *v);

/* Prints the kernel's table k of v (kview.h) as the options ask: the
 * modules (the first o->top), with o->sites their sites holding memory,
 * and the TOTAL. */
void pt_used_kernel_print(struct pt_emit *e, const struct pt_view *v, const struct pt_kused *k,
			  const struct used_opts *o);

#endif /* PT_USED_H */
