/*
 * view.h - what the CLI knows of one process's counters, wherever they came
 * from: a live segment (segread.c), a snapshot file (snapshot.c), or a
 * Windows dump imported as counters per tag (winimport.c).
 *
 * A view is a list of rows, one per (call site, tag, pool), with cumulative
 * counters, plus the tag descriptions the program registered.  Strings are
 * owned by the view.  Views are single-threaded objects.
 */
#ifndef PT_VIEW_H
#define PT_VIEW_H

#include <stddef.h>
#include <stdint.h>

struct pt_row {
	uint32_t tag;
	uint32_t pool; /* counter class: enum pt_pool, or PT_SEG_CLASS_REFS/_HANDLES */
	uint32_t line;
	const char *file;   /* "" when unknown */
	const char *func;   /* "" when unknown */
	const char *module; /* the module charged, "" when unknown */
	uint64_t nallocs, nfrees;          /* nfrees <= nallocs */
	uint64_t bytes_alloc, bytes_freed; /* bytes_freed <= bytes_alloc */
	uint32_t flags; /* PT_ROW_INEXACT: the source said these counts may be wrong */
};

#define PT_ROW_INEXACT 1u

struct pt_vdesc {
	uint32_t tag;
	const char *binary; /* "" when none */
	const char *desc;
};

/* A sampled call path (src/sample.h): the live blocks sampled with one
 * stack at one site, and the bytes they stand for.  Estimates, not counts. */
#define PT_VSAMPLE_FRAMES 16
struct pt_vsample {
	uint32_t tag, pool, line;   /* the site charged, as its row */
	const char *file, *func;    /* "" when unknown */
	uint64_t nlive;             /* sampled blocks live */
	uint64_t live_est;          /* estimated live bytes */
	uint64_t ntaken;            /* samples ever taken on this path */
	unsigned depth;             /* frames, innermost first */
	struct {
		uint64_t pc, off;   /* the return address; as an offset in path */
		const char *path;   /* the module's file, "" when unknown */
	} frames[PT_VSAMPLE_FRAMES];
};

struct pt_view_chunk;

struct pt_view {
	int32_t pid;
	uint32_t uid;
	char comm[64];
	int64_t taken_ns;   /* CLOCK_REALTIME when the counters were read */
	int64_t created_ns; /* when the process made its segment */
	uint64_t start_ticks;
	uint64_t nmisuse;
	struct pt_row *rows;
	size_t nrows, rows_cap;
	struct pt_vdesc *descs;
	size_t ndescs, descs_cap;
	struct pt_view_chunk *chunks; /* string storage */
	/* An imported Windows dump: the file and its format ("!poolused",
	 * "poolmon"), both owned by the view; NULL for pooltag's own sources.
	 * outstanding_only: the dump gave outstanding counts, not allocations
	 * and frees; then nallocs holds the outstanding count and nfrees is 0. */
	const char *import_file, *import_format;
	int outstanding_only;
	/* Read from the Linux kernel's /proc/allocinfo (allocinfo.h): the
	 * format version ("1.0", "2.0"), where it was read, and the modules
	 * loaded then, one per line ("" none, NULL unknown); all owned by the
	 * view.  kernel_format is NULL for every other source. */
	const char *kernel_format, *kernel_source, *kernel_modules;
	/* Sampled call paths (a segment only): mean bytes between samples (0:
	 * sampling off, or a writer without samples), samples not recorded. */
	struct pt_vsample *samples;
	size_t nsamples, samples_cap;
	uint64_t sample_mean, sample_ndropped;
};

/* A row's pool (pt_row.pool: the paged and non-paged pools, then the
 * classes of references and handles), named once for every output: as a
 * word in machine formats (JSON, CSV, Prometheus labels, recordings) and
 * as a title in the tables people read. */
extern const char *const pt_pool_word[4];  /* "paged", "nonpaged", "refs", "handles" */
extern const char *const pt_pool_title[4]; /* "Paged", "NonPaged", "Refs", "Handles" */

void pt_view_init(struct pt_view *v);
void pt_view_free(struct pt_view *v);

/* A copy of s[0..len) owned by the view, NUL-terminated; NULL on out of memory. */
const char *pt_view_strdup(struct pt_view *v, const char *s, size_t len);

/* Appends a row or description, copying its strings.  0, or -1 on out of memory. */
int pt_view_add_row(struct pt_view *v, const struct pt_row *r);
int pt_view_add_desc(struct pt_view *v, uint32_t tag, const char *binary, const char *desc);
int pt_view_add_sample(struct pt_view *v, const struct pt_vsample *s);

#endif /* PT_VIEW_H */
