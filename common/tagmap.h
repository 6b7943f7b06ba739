/*
 * tagmap.h - the tag-map file of `pooltag run`: which tag a module's or a
 * function's allocations get, and which functions are allocation wrappers
 * whose caller is charged instead.  docs/tagmap-format.md is the format.
 *
 * Shared by the CLI (which checks the file before starting the program, so
 * a mistake is reported as FILE:LINE) and the interposer (which applies it).
 */
#ifndef PT_TAGMAP_H
#define PT_TAGMAP_H

#include <stddef.h>
#include <stdint.h>

enum pt_tagmap_kind {
	PT_TAGMAP_MODULE = 1, /* module GLOB TAG: a shared object's or the program's file name */
	PT_TAGMAP_FUNC,       /* func GLOB TAG: the allocating function */
	PT_TAGMAP_SKIP,       /* skip GLOB: a wrapper; charge its caller */
};

#define PT_TAGMAP_GLOB_MAX 255

struct pt_tagmap_rule {
	enum pt_tagmap_kind kind;
	uint32_t tag; /* 0 for skip rules */
	char glob[PT_TAGMAP_GLOB_MAX + 1];
};

/* Rules in file order; the first matching rule of a kind wins. */
struct pt_tagmap {
	struct pt_tagmap_rule *rules;
	size_t n, cap;
};

#define PT_TAGMAP_MAX_RULES 4096

/* Appends the rules of text (len bytes, not NUL-terminated) to m.  name
 * names the text in errors.  0, or -1 with "NAME:LINE: problem" in err (m
 * then keeps the rules of the lines before). */
int pt_tagmap_parse(struct pt_tagmap *m, const char *text, size_t len, const char *name,
		    char *err, size_t errlen);

/* Reads and parses the file at path (at most 1 MiB).  0, or -1 with err. */
int pt_tagmap_load(struct pt_tagmap *m, const char *path, char *err, size_t errlen);

/* Appends one skip rule per comma-separated glob of list.  0, or -1. */
int pt_tagmap_add_skips(struct pt_tagmap *m, const char *list, char *err, size_t errlen);

/* The tag of the first rule of kind matching s, or 0; for skip rules, 1 if
 * one matches. */
uint32_t pt_tagmap_match(const struct pt_tagmap *m, enum pt_tagmap_kind kind, const char *s);

void pt_tagmap_free(struct pt_tagmap *m);

#endif /* PT_TAGMAP_H */
