/*
 * jsonstr.h - strings from untrusted sources (a process's name, a file
 * name, a tag, a description) written as JSON strings, for every JSON
 * pooltag prints: the CLI's (used, used kernel, trend...) and pooltag run's
 * report (--json, docs/run-json-format.md).
 *
 * The output is valid JSON and valid UTF-8 whatever the bytes: a valid
 * UTF-8 sequence passes through as it is; '"' and '\' are escaped with a
 * backslash; control characters (below 0x20, and 0x7f), the C1 controls
 * (U+0080 to U+009F, as \u0080 to \u009f: the same characters) and every
 * byte that is not part of a valid sequence become \u00XX, XX the byte.
 */
#ifndef PT_JSONSTR_H
#define PT_JSONSTR_H

#include <stddef.h>
#include <stdio.h>

/* The length of the valid UTF-8 sequence s[0..n) starts with: 1 to 4, or 0
 * if s[0] does not start one (a continuation byte, 0xc0, 0xc1, 0xf5 to
 * 0xff, a sequence cut short, an overlong form, a surrogate, a code point
 * above U+10FFFF).  n is 0: 0. */
size_t pt_utf8_len(const unsigned char *s, size_t n);

/* Writes s (NUL-terminated) to f as a JSON string, quotes included. */
void pt_json_str(FILE *f, const char *s);

#endif /* PT_JSONSTR_H */
