/*
 * expo.h - the Prometheus text exposition format (version 0.0.4), written.
 *
 * A writer holds metric families, each with its HELP and TYPE and the
 * samples added to it so far.  Samples may be added in any order (a scrape
 * walks process by process); the text comes out grouped by family, in the
 * order the families were declared, as the format requires: HELP and TYPE
 * once per family, then all of its samples.  Families that got no sample are
 * left out.
 *
 * Label values come from processes' segments, which nothing vouches for:
 * pt_expo_labels escapes them so that any bytes give a valid exposition
 * (see there).  Writers are single-threaded objects.
 */
#ifndef PT_EXPO_H
#define PT_EXPO_H

#include <stddef.h>
#include <stdint.h>

/* A growable byte string.  After an allocation failure it stops growing and
 * oom stays set; callers check once at the end. */
struct pt_strbuf {
	char *p;
	size_t len, cap;
	int oom;
};

void pt_strbuf_free(struct pt_strbuf *b);
void pt_strbuf_add(struct pt_strbuf *b, const char *s, size_t n);
void pt_strbuf_puts(struct pt_strbuf *b, const char *s);
void pt_strbuf_printf(struct pt_strbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

enum pt_expo_type { PT_EXPO_GAUGE, PT_EXPO_COUNTER };

struct pt_expo_label {
	const char *name;  /* [a-zA-Z_][a-zA-Z0-9_]*, not starting "__" */
	const char *value; /* any bytes up to the NUL */
};

struct pt_expo_family;

struct pt_expo {
	struct pt_expo_family *fams;
	size_t nfams, cap;
	size_t nsamples; /* samples added, all families */
	int oom;
};

/* Longest label value written, in bytes of the source; the rest is cut (at
 * a character boundary). */
#define PT_EXPO_MAX_VALUE 1024

void pt_expo_init(struct pt_expo *e);
void pt_expo_free(struct pt_expo *e);

/* Declares a family: name [a-zA-Z_:][a-zA-Z0-9_:]* (a counter's ends in
 * "_total"), help one line of text.  Its index, or -1 if the name is not
 * valid or already declared, or on out of memory. */
int pt_expo_family(struct pt_expo *e, const char *name, enum pt_expo_type type, const char *help);

/* Renders a label set, "{name="value",...}" ("" for none), onto b.  Values
 * are escaped as the format says: backslash, double quote and line feed as
 * \\, \" and \n.  The format also wants UTF-8: any other control character
 * (below 0x20, and 0x7F) and any byte that is not part of a valid UTF-8
 * sequence is written '?'.  -1 if a label name is not valid. */
int pt_expo_labels(struct pt_strbuf *b, const struct pt_expo_label *l, size_t n);

/* Adds a sample to family fam with labels rendered by pt_expo_labels (the
 * caller keeps them unique within the family).  0, or -1 on a bad family
 * index or out of memory. */
int pt_expo_add(struct pt_expo *e, int fam, const char *labels, uint64_t value);
int pt_expo_add_double(struct pt_expo *e, int fam, const char *labels, double value);

/* The exposition: every family with samples, in declaration order.
 * Malloc'd, *len bytes (NUL-terminated too); NULL on out of memory. */
char *pt_expo_text(const struct pt_expo *e, size_t *len);

/* A tag as a label value: its four characters when all are printable ASCII
 * (0x20-0x7E; "Hdr " keeps its space), else "0x" and the four bytes in
 * hex, first character first ("0x41420a43"), which no printable tag can
 * be mistaken for.  Returns out. */
char *pt_expo_tag(uint32_t tag, char out[11]);

#endif /* PT_EXPO_H */
