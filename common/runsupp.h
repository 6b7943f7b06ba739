/*
 * runsupp.h - suppressions for pooltag run's findings (docs/run-suppressions.md),
 * close to LeakSanitizer's "leak:" lines:
 *
 *   # a comment
 *   leak:PATTERN[@DEPTH]   memory still held
 *   fd:PATTERN[@DEPTH]     a descriptor still open
 *   free:PATTERN[@DEPTH]   a free of what was not a live block
 *   any:PATTERN[@DEPTH]    any of them
 *
 * PATTERN is matched against each frame's function name, source file
 * (basename) and module (basename); '*' matches any run of characters and
 * the pattern is unanchored, as in LeakSanitizer, unless it starts with '^'
 * or ends with '$'.  Without @DEPTH any frame of the group's stack may
 * match; with it only frame DEPTH (0: the innermost frame shown).
 * Parsed by pooltag run (errors name the file and line) and again by the
 * interposer; the matcher never allocates.
 */
#ifndef PT_RUNSUPP_H
#define PT_RUNSUPP_H

#include <stddef.h>

#define PT_SUPP_MAX 1024    /* entries in a file */
#define PT_SUPP_PATTERN 256 /* bytes of a pattern, with its NUL */

enum pt_supp_kind { PT_SUPP_LEAK = 1, PT_SUPP_FD = 2, PT_SUPP_FREE = 4, PT_SUPP_ANY = 7 };

struct pt_supp_entry {
	unsigned kinds;              /* PT_SUPP_* bits it covers */
	int depth;                   /* -1: any frame */
	char glob[PT_SUPP_PATTERN + 2]; /* fnmatch pattern, anchors turned into '*' */
	unsigned hits;               /* groups it covered (for the user) */
};

struct pt_supp {
	struct pt_supp_entry *e;
	size_t n;
};

/* Parses text (len bytes) named name; 0, or -1 with "NAME:LINE: why" in err. */
int pt_supp_parse(struct pt_supp *s, const char *name, const char *text, size_t len, char *err,
		  size_t errlen);
/* Reads and parses a file; 0, or -1 with the reason in err. */
int pt_supp_load(struct pt_supp *s, const char *path, char *err, size_t errlen);
void pt_supp_free(struct pt_supp *s);

/* A frame as the matcher sees it (any field may be NULL). */
struct pt_supp_frame {
	const char *func, *file, *module;
};
/* The first entry covering a group of kind (one PT_SUPP_* bit) with these
 * frames, innermost first; NULL if none. */
struct pt_supp_entry *pt_supp_match(struct pt_supp *s, unsigned kind,
				    const struct pt_supp_frame *f, size_t n);

#endif /* PT_RUNSUPP_H */
