/*
 * safestr.h - untrusted text made safe for a terminal.
 *
 * Every string the CLI reads (segments, snapshots, recordings, dumps, tag
 * files, /proc) was written by someone it does not trust: a name holding
 * ESC could recolour the screen, retitle the window or move the cursor, a
 * carriage return or line feed could forge a line.  Wherever such a string
 * reaches a terminal or a CSV cell, its control bytes (below 0x20) and DEL
 * are written as '?'; bytes from 0x80 up pass, so UTF-8 names stay
 * readable.  Text tables and CSV (emit.c), prose around them and error
 * messages share this one rule.
 */
#ifndef PT_SAFESTR_H
#define PT_SAFESTR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* 1 if byte c may be written as it is. */
static inline int pt_safe_byte(unsigned char c)
{
	return c >= 0x20 && c != 0x7f;
}

/* s with every unsafe byte replaced by '?', cut to fit buf; returns buf. */
const char *pt_safe_str(const char *s, char *buf, size_t len);

/* Writes s to f, every unsafe byte as '?', whatever its length. */
void pt_safe_put(FILE *f, const char *s);

/* vprintf to f, every unsafe byte of the result as '?', the format's own
 * included: for one line of a message, whose end the caller writes. */
void pt_safe_vprintf(FILE *f, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#endif /* PT_SAFESTR_H */
