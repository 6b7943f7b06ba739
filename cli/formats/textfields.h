/*
 * textfields.h - the line grammar that snapshot files and recordings share:
 * TAB-separated fields, canonical unsigned decimals, percent-escaped
 * strings and four-byte tags, with errors as one line "NAME:LINE: reason".
 * Everything here reads untrusted text: no field is assumed well formed.
 */
#ifndef PT_TEXTFIELDS_H
#define PT_TEXTFIELDS_H

#include <stddef.h>
#include <stdint.h>

/* One field of a line: s[0..n), not NUL-terminated. */
struct pt_tf {
	const char *s;
	size_t n;
};

/* What every parser of these files keeps: where it is, for messages, and a
 * scratch buffer for decoded strings (as long as the longest line plus 3). */
struct pt_tf_parser {
	const char *name; /* the file, for messages */
	char *err;        /* the message goes here; NULL or errlen 0: none */
	size_t errlen;
	size_t lineno;
	char *scratch;
};

#define PT_TF_QUOTE_MAX 32
#define PT_TF_QUOTE_SIZE (PT_TF_QUOTE_MAX * 3 + 4)

/* A printable excerpt of s[0..n) for a message, in out: at most
 * PT_TF_QUOTE_MAX input bytes, control, quote, '%' and non-ASCII bytes as
 * %XX, so that a message stays one line of plain text. */
const char *pt_tf_quote(const char *s, size_t n, char out[PT_TF_QUOTE_SIZE]);

/* Formats "NAME:LINE: reason" into p->err; returns -1, so that callers can
 * write `return pt_tf_fail(...)`. */
int pt_tf_fail(struct pt_tf_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* f as a canonical unsigned decimal (digits only, no leading zero unless
 * it is 0): 0, -1 if it is not one, -2 if it does not fit uint64_t. */
int pt_tf_u64(struct pt_tf f, uint64_t *out);

/* pt_tf_u64 within [min, max].  Errors: "bad number for WHAT: ...". */
int pt_tf_num(struct pt_tf_parser *p, struct pt_tf f, const char *what, uint64_t min,
	      uint64_t max, uint64_t *out);

/* Decodes the percent-escaped field f.  Stores at most cap bytes in out
 * but checks all of f, and sets *outlen to the full decoded length, so the
 * caller can tell a field that is too long.  %00 only when nul_ok (a tag is
 * four raw bytes; other strings are C strings).  Errors: a '%' without two
 * hex digits, %00, a raw control byte. */
int pt_tf_unescape(struct pt_tf_parser *p, struct pt_tf f, const char *what, int nul_ok,
		   char *out, size_t cap, size_t *outlen);

/* A tag field: exactly four bytes once unescaped, the first in the tag's
 * lowest byte. */
int pt_tf_tag(struct pt_tf_parser *p, struct pt_tf f, uint32_t *tag);

/* A C-string field decoded into p->scratch at *off, NUL-terminated; *off
 * moves past it.  Decoding never lengthens a field, so the fields of one
 * line always fit.  NULL on error. */
const char *pt_tf_str(struct pt_tf_parser *p, struct pt_tf f, const char *what, size_t *off);

/* Splits s[0..n) at TABs into at most max fields; returns the field count,
 * which may exceed max (the extra fields are only counted). */
size_t pt_tf_split(const char *s, size_t n, struct pt_tf *f, size_t max);

#endif /* PT_TEXTFIELDS_H */
