/*
 * prochdr.h - the header lines that name a process, as snapshots and
 * recordings hold them (docs/snapshot-format.md, docs/recording-format.md):
 * "KEY VALUE", the key and its value separated by one space, the value
 * the rest of the line; each key at most once.
 *
 * Both formats read these lines with this one parser, so a key has the
 * same range and the same messages ("NAME:LINE: reason") in both.  A
 * format says which keys it has and which it requires; where the header
 * may stand, and what ends it, is the format's own business.  Nothing read
 * is trusted.
 */
#ifndef PT_PROCHDR_H
#define PT_PROCHDR_H

#include <stddef.h>
#include <stdint.h>

#include "textfields.h"
#include "view.h"

/* Every key either format knows, in the order "missing required key"
 * names them. */
enum pt_ph_key {
	PT_PH_PID,         /* 1 to 2^31-1: view pid */
	PT_PH_UID,         /* uint32: view uid */
	PT_PH_COMMAND,     /* a string of at most 63 bytes: view comm */
	PT_PH_TAKEN,       /* ns, 0 to 2^63-1: view taken_ns */
	PT_PH_CREATED,     /* ns, 0 to 2^63-1: view created_ns */
	PT_PH_START_TICKS, /* uint64: view start_ticks */
	PT_PH_MISUSE,      /* uint64: view nmisuse */
	PT_PH_INTERVAL_US, /* 0 to 2^63-1: *interval_us */
	PT_PH_KERNEL,      /* "FORMAT SOURCE": the kernel, which has no pid */
	PT_PH_NKEYS
};
#define PT_PH_BIT(key) (1u << (key))

/* The keys' names, as the files spell them. */
extern const char *const pt_ph_names[PT_PH_NKEYS];

/* One header being read.  The caller sets keys, required, v and (when keys
 * has interval_us) interval_us; seen starts at 0. */
struct pt_ph {
	unsigned keys;        /* the format's keys, PT_PH_BIT each */
	unsigned required;    /* those it requires; once kernel is read, pid is not */
	unsigned seen;        /* the keys read so far */
	struct pt_view *v;    /* receives the values */
	int64_t *interval_us; /* receives interval_us, which a view has no field for */
};

/* The key s[0..n) starts with (its first word, up to a space or a TAB), if
 * it is one of h's keys; -1 otherwise. */
int pt_ph_key(const struct pt_ph *h, const char *s, size_t n);

/* Reads the header line s[0..n) into h->v.  0, or -1 with the message in
 * tp: "unknown line type 'WORD'" (not one of h's keys), "duplicated key
 * 'KEY'", "wrong field count: expected 'KEY VALUE'", a bad value (as
 * textfields.h words it), "command longer than 63 bytes", a pid beside
 * kernel, a kernel value that is not "1.0 SOURCE" or "2.0 SOURCE", out of
 * memory. */
int pt_ph_line(struct pt_ph *h, struct pt_tf_parser *tp, const char *s, size_t n);

/* 1 if every required key has been read. */
int pt_ph_complete(const struct pt_ph *h);

/* At the end of the header: 0, or -1 with "missing required key 'KEY'"
 * (the first one missing) in tp. */
int pt_ph_check(const struct pt_ph *h, struct pt_tf_parser *tp);

#endif /* PT_PROCHDR_H */
