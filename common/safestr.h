/*
 * safestr.h - untrusted text made safe for a terminal.
 *
 * Every string the CLI reads (segments, snapshots, recordings, dumps, tag
 * files, /proc) was written by someone it does not trust: a name holding
 * ESC could recolour the screen, retitle the window or move the cursor, a
 * carriage return or line feed could forge a line.  Wherever such a string
 * reaches a terminal or a CSV cell, its control characters are written as
 * '?', one '?' a byte so that a column's width stays its byte count: the
 * C0 controls (below 0x20) and DEL, the C1 controls in UTF-8 (U+0080 to
 * U+009F, 0xc2 0x80 to 0xc2 0x9f: a terminal may take U+009B for CSI), and
 * every byte that is not part of a valid UTF-8 sequence (a lone 0x9b is
 * CSI to a terminal in an 8-bit encoding).  Valid UTF-8 otherwise passes,
 * so names stay readable.  The CLI's text tables and CSV (emit.c), prose
 * around them and error messages, and pooltag run's text report, share
 * this one rule.
 */
#ifndef PT_SAFESTR_H
#define PT_SAFESTR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* How many bytes at s[0..n) may be written as they are: the length of the
 * printable character there (1 to 4), or 0 when s[0] is to be written as
 * '?'.  n is 0: 0. */
size_t pt_safe_len(const char *s, size_t n);

/* s[0..n) made safe in place, its length kept; pt_safe_inplace for a
 * NUL-terminated s; pt_safe_lines for text[0..len) of lines whose ends are
 * the writer's own, each line made safe apart. */
void pt_safe_mem(char *s, size_t n);
void pt_safe_inplace(char *s);
void pt_safe_lines(char *text, size_t len);

/* s made safe, cut to fit buf; returns buf. */
const char *pt_safe_str(const char *s, char *buf, size_t len);

/* Writes s to f, every unsafe byte as '?', whatever its length;
 * pt_safe_write for s[0..n). */
void pt_safe_put(FILE *f, const char *s);
void pt_safe_write(FILE *f, const char *s, size_t n);

/* vprintf to f, every unsafe byte of the result as '?', the format's own
 * included: for one line of a message, whose end the caller writes. */
void pt_safe_vprintf(FILE *f, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#endif /* PT_SAFESTR_H */
