/*
 * recording.h - a process's counters sampled over time, in one file that
 * survives the recorder or the target being killed.
 *
 * The format is versioned line-oriented text (docs/recording-format.md): a
 * header naming the process, then one block per sample holding only the
 * rows that changed since the previous sample.  The writer appends each
 * sample with one write(2) and syncs it, so a file is always a run of
 * complete samples, possibly followed by one cut short; the reader ignores
 * such a last block with a note and refuses everything else that is
 * malformed with "FILE:LINE: reason".  Nothing in the file is trusted.
 */
#ifndef PT_RECORDING_H
#define PT_RECORDING_H

#include <stddef.h>
#include <stdint.h>

#include "view.h"

#define PT_REC_VERSION 1
#define PT_REC_MAGIC   "pooltag-recording"

/* Counter classes are named in the file by pt_pool_word (view.h). */

/* ---------------------------------------------------------------------------
 * Writing
 */

struct pt_rec_writer;

/* Creates (or truncates) path with mode 0600 and writes the header: the
 * identity of the process v was read from, and the sampling interval.
 * Writes no sample.  NULL with "cannot write recording PATH: why" in err. */
struct pt_rec_writer *pt_rec_create(const char *path, const struct pt_view *v, int64_t interval_us,
                                    char *err, size_t errlen);

/* Appends v as one sample: its time, the rows whose counters changed (a row
 * seen for the first time defines a new site) and descriptions not yet
 * written.  Rows with the same site are summed.  The sample goes out in one
 * write and is synced before this returns.  A time earlier than the last
 * sample's is written as the last one (the wall clock stepped back), so
 * times never decrease.  0, or -1 with a message. */
int pt_rec_append(struct pt_rec_writer *w, const struct pt_view *v, char *err, size_t errlen);

/* Samples written so far. */
size_t pt_rec_nsamples(const struct pt_rec_writer *w);

/* Closes the file and frees w.  0, or -1 with a message (the samples already
 * appended are on disk either way). */
int pt_rec_close(struct pt_rec_writer *w, char *err, size_t errlen);

/* ---------------------------------------------------------------------------
 * Reading
 */

/* A site's counters as of one sample: its values from then on, until the
 * next change of that site. */
struct pt_rec_change {
	uint32_t sample;
	uint32_t site; /* index into sites.rows */
	uint64_t nallocs, nfrees, bytes_alloc, bytes_freed;
};

struct pt_recording {
	/* The process (pid, uid, comm, created_ns, start_ticks), every site in
	 * order of appearance with its counters at the last complete sample,
	 * and the descriptions; taken_ns is the last sample's time. */
	struct pt_view sites;
	int64_t interval_us; /* what the recorder asked for; 0 if unknown */
	int64_t *taken;      /* per sample, CLOCK_REALTIME ns, never decreasing */
	size_t nsamples;
	struct pt_rec_change *changes; /* by sample, then in file order */
	size_t nchanges;
	/* Non-empty when the file ends in a sample cut short, which was
	 * ignored: "FILE:LINE: last sample incomplete, ignored (...)". */
	char note[256];
	size_t changes_cap, taken_cap;
};

void pt_rec_init(struct pt_recording *r);
void pt_rec_free(struct pt_recording *r);

/* Parses buf[0..len) into r (initialised by the caller; free it either
 * way).  name stands for the file in messages.  0, or -1 with
 * "NAME:LINE: reason" in err. */
int pt_rec_parse(struct pt_recording *r, const char *buf, size_t len, const char *name, char *err,
                 size_t errlen);

/* Reads and parses a file.  0, or -1 with "cannot read recording PATH: why"
 * or a parse error in err. */
int pt_rec_read(struct pt_recording *r, const char *path, char *err, size_t errlen);

/* Replays r: calls fn once per sample, in order, with the sites defined by
 * then and their counters at that sample (rows[0..nrows), copies of the
 * first rows of r->sites; the array is reused between calls).  Stops early
 * if fn returns non-zero and returns that; 0 when done, -1 on out of
 * memory. */
typedef int (*pt_rec_fn)(void *ctx, size_t sample, int64_t taken_ns, const struct pt_row *rows,
                         size_t nrows);
int pt_rec_replay(const struct pt_recording *r, pt_rec_fn fn, void *ctx);

#endif /* PT_RECORDING_H */
