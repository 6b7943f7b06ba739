/*
 * tally.h - a view summed per tag, the unit every table of the CLI shows,
 * with each tag's call sites kept for --sites and for naming the owner of a
 * tag nobody described.
 */
#ifndef PT_TALLY_H
#define PT_TALLY_H

#include <stddef.h>
#include <stdint.h>

#include "view.h"

struct pt_sums {
	uint64_t nallocs, nfrees, bytes_alloc, bytes_freed;
};

static inline uint64_t pt_sums_diff(const struct pt_sums *s)
{
	return s->nallocs - s->nfrees;
}
static inline uint64_t pt_sums_used(const struct pt_sums *s)
{
	return s->bytes_alloc - s->bytes_freed;
}

struct pt_tally {
	uint32_t tag;
	struct pt_sums pool[4]; /* indexed by counter class: paged, non-paged, refs, handles */
	const struct pt_row **sites; /* rows of this tag, most bytes outstanding first */
	size_t nsites;
};

/* Sums v's rows per tag, keeping only tags matching pattern (NULL: all).
 * Tags come out sorted by tag.  *out is freed with pt_tally_free.  0, or -1
 * on out of memory. */
int pt_tally_build(const struct pt_view *v, const char *pattern, struct pt_tally **out, size_t *n);
void pt_tally_free(struct pt_tally *t, size_t n);

/* The program's own description of tag in v (the last one it registered),
 * or NULL. */
const struct pt_vdesc *pt_view_desc(const struct pt_view *v, uint32_t tag);

struct pt_tagdb;

/* The description column of a tag, as !poolused prints it:
 * "<description> , Binary: <binary>".  From the program's own description
 * first, then db; a tag nobody described is named by the functions and
 * files that allocate it; else "UNKNOWN pooltag 'XXXX', please update
 * pooltag.txt".  Control characters from the untrusted source are replaced
 * by '?'.  Returns buf. */
char *pt_tally_describe(char *buf, size_t len, const struct pt_view *v,
			const struct pt_tagdb *db, const struct pt_tally *t);

/* Names where v's counters came from, for a table's first line: "pid 42
 * (server)", "dump FILE (!poolused)" for an imported Windows dump, or
 * "kernel /proc/allocinfo (allocinfo 1.0)" for the kernel.
 * Control characters are replaced by '?'.  Returns buf. */
const char *pt_view_name(const struct pt_view *v, char *buf, size_t len);

/* The tag's four characters with anything unprintable shown as '.'. */
char *pt_tag_print(uint32_t tag, char out[5]);

#endif /* PT_TALLY_H */
