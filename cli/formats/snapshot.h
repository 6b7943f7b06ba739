/*
 * snapshot.h - a view saved to a file and read back.
 *
 * The format is versioned line-oriented text, described in
 * docs/snapshot-format.md.  Writing is atomic (a temporary file in the same
 * directory, fsync, rename), so a reader sees the old file or the new one,
 * never half of one.  Reading trusts nothing: every malformed, truncated or
 * wrong-version input is an error naming file:line, never a crash.
 */
#ifndef PT_SNAPSHOT_H
#define PT_SNAPSHOT_H

#include <stddef.h>

#include "view.h"

#define PT_SNAP_VERSION 2
#define PT_SNAP_MAGIC "pooltag-snapshot"

/* Writes v to path.  0, or -1 with a one-line message in err. */
int pt_snap_write(const struct pt_view *v, const char *path, char *err, size_t errlen);

/* Reads a snapshot file into v (initialised by the caller, possibly left
 * partly filled on error: free it either way).  0, or -1 with
 * "FILE:LINE: reason" in err. */
int pt_snap_read(struct pt_view *v, const char *path, char *err, size_t errlen);

/* The same for a buffer; name stands for the file in messages. */
int pt_snap_parse(struct pt_view *v, const char *buf, size_t len, const char *name, char *err,
		  size_t errlen);

/* 1 if buf starts like a snapshot (its first line names the format). */
int pt_snap_sniff(const char *buf, size_t len);

#endif /* PT_SNAPSHOT_H */
