/*
 * tagdb.h - tag descriptions from files in the pooltag.txt format of the
 * Windows debugging tools.
 *
 * A line "Tag - binary - description" describes a tag; "Tag - description"
 * (no binary) too.  Everything else is skipped quietly: blank lines, "//",
 * "rem" and "REM" comments, free text.  Descriptions may themselves contain
 * " - ".  Three-character tags are space padded.  A row whose tag holds '?'
 * or '*' (Afd?, Aml*) is a wildcard group: it describes every tag it matches
 * that has no row of its own, and the indented member rows that follow it
 * are ordinary rows.  Duplicate tags: the first row loaded wins, so files
 * loaded earlier take precedence.  CRLF and LF line ends both work.
 * Matching is case-sensitive.
 *
 * Nothing in a file is trusted: any byte sequence parses without crashing,
 * in time linear in its size.
 */
#ifndef PT_TAGDB_H
#define PT_TAGDB_H

#include <stddef.h>
#include <stdint.h>

struct pt_tagdb;

/* An empty database; NULL on out of memory. */
struct pt_tagdb *pt_tagdb_new(void);
void pt_tagdb_free(struct pt_tagdb *db);

/* Adds the rows of a file.  Returns 0, or -1 with a one-line message
 * naming the file ("cannot read tag file FILE: reason") in err. */
int pt_tagdb_load_file(struct pt_tagdb *db, const char *path, char *err, size_t errlen);

/* Adds the rows of a buffer (what load_file does after reading).  name
 * labels the source in messages.  Returns the number of rows added, -1 on
 * out of memory. */
long pt_tagdb_load_buf(struct pt_tagdb *db, const char *buf, size_t len, const char *name);

/* Adds one description (a program's run-time description, say).  Like a row
 * of a file loaded at this point: earlier rows win.  0, or -1 on out of
 * memory. */
int pt_tagdb_add(struct pt_tagdb *db, uint32_t tag, const char *binary, const char *desc);

/* Looks tag up: an exact row first, then the first wildcard group that
 * matches.  Returns 1 and sets *binary (may be "") and *desc, pointers into
 * db valid until it is freed; 0 if the tag is unknown. */
int pt_tagdb_lookup(const struct pt_tagdb *db, uint32_t tag, const char **binary,
		    const char **desc);

/* Number of rows (exact and wildcard) held. */
size_t pt_tagdb_count(const struct pt_tagdb *db);

/* Tag patterns as !poolused takes them: '?' one character, '*' any run;
 * case-sensitive; a pattern without '*' must be 4 characters (shorter ones
 * are space padded like tags).  Returns 1 if tag matches. */
int pt_tag_match(const char *pattern, uint32_t tag);

/* Checks a user's pattern: 0 if usable, -1 (with a reason in err) if not
 * (empty, longer than 4 characters without '*', non-printable characters). */
int pt_tag_pattern_check(const char *pattern, char *err, size_t errlen);

#endif /* PT_TAGDB_H */
