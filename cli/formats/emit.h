/*
 * emit.h - one description of a table, written as the text table, JSON or
 * CSV: the three formats of a command come from the same calls, so they
 * cannot drift apart.
 *
 * A table is an array of columns; a row is an array of typed values, which
 * the columns pick by index.  A column says which formats show it and how:
 * its text title, width, alignment and the blanks before it; its JSON key
 * (and the object of the row that groups it); its CSV header.  A command
 * fills one row of values and calls pt_emit_row whatever the format: a
 * value two formats show is read from one slot, so they cannot disagree,
 * and what one format shows and another does not is written in the table,
 * where a reader sees it.
 *
 * Values carry their type, which says how each format writes them:
 *
 *   type    text                 JSON                      CSV
 *   SKIP    left out, with what  key left out (an object   empty field (every
 *           comes before it      of the row left empty     row has every column)
 *                                with it)
 *   NULL    "-"                  null                      empty field
 *   STR     control characters   pt_json_str (jsonstr.h)   quoted, '"' doubled,
 *           and bytes outside                              safe as in text
 *           UTF-8 '?' (safestr.h)
 *   WORD    as it is             pt_json_str               as it is
 *   U64     decimal              decimal                   decimal
 *   I64     decimal              decimal                   decimal
 *   DELTA   decimal with a sign  decimal                   decimal
 *   DBL     col.prec decimals    %.6g, 0 for nan and inf   %.6g
 *   BOOL    yes, no              true, false               yes, no
 *
 * A STR is untrusted (a name read from a segment or a file), and no format
 * writes its control bytes raw.  A WORD is the program's own, from a fixed
 * set (a pool's name), which CSV needs no quotes for.  A value never set
 * (zero) is SKIP.  Prose (pt_emit_text) is written as given: a caller makes
 * an untrusted string in it safe (pt_safe_str) itself.
 *
 * Around the rows, JSON has structure (objects, arrays, keys) that text and
 * CSV do not, and text has prose (titles, notes): pt_emit_obj, _arr, _key,
 * _kv and _end write in JSON alone, pt_emit_text in text alone.
 */
#ifndef PT_EMIT_H
#define PT_EMIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum pt_emit_fmt { PT_EMIT_TEXT, PT_EMIT_JSON, PT_EMIT_CSV };

/* Sets of formats: where a column is shown, where a row is written. */
#define PT_IN_TEXT (1u << PT_EMIT_TEXT)
#define PT_IN_JSON (1u << PT_EMIT_JSON)
#define PT_IN_CSV  (1u << PT_EMIT_CSV)
#define PT_IN_ALL  (PT_IN_TEXT | PT_IN_JSON | PT_IN_CSV)

enum pt_val_type {
	PT_VAL_SKIP, /* not part of this row */
	PT_VAL_NULL, /* part of it, but unknown */
	PT_VAL_STR,
	PT_VAL_WORD, /* a string of the program's own: bare in CSV */
	PT_VAL_U64,
	PT_VAL_I64,
	PT_VAL_DELTA, /* a change: "+3", "-2", "+0" in text */
	PT_VAL_DBL,
	PT_VAL_BOOL,
};

struct pt_val {
	enum pt_val_type type;
	union {
		const char *s; /* not owned: valid until the row is written */
		uint64_t u;
		int64_t i;
		double d;
		int b;
	};
};

static inline struct pt_val pt_val_null(void)
{
	return (struct pt_val){.type = PT_VAL_NULL};
}
static inline struct pt_val pt_val_str(const char *s)
{
	return (struct pt_val){.type = PT_VAL_STR, .s = s};
}
static inline struct pt_val pt_val_word(const char *s)
{
	return (struct pt_val){.type = PT_VAL_WORD, .s = s};
}
static inline struct pt_val pt_val_u64(uint64_t u)
{
	return (struct pt_val){.type = PT_VAL_U64, .u = u};
}
static inline struct pt_val pt_val_i64(int64_t i)
{
	return (struct pt_val){.type = PT_VAL_I64, .i = i};
}
static inline struct pt_val pt_val_delta(int64_t i)
{
	return (struct pt_val){.type = PT_VAL_DELTA, .i = i};
}
static inline struct pt_val pt_val_dbl(double d)
{
	return (struct pt_val){.type = PT_VAL_DBL, .d = d};
}
static inline struct pt_val pt_val_bool(int b)
{
	return (struct pt_val){.type = PT_VAL_BOOL, .b = b != 0};
}

struct pt_emit_col {
	unsigned in;       /* the formats that show it (PT_IN_*) */
	unsigned layout;   /* the layouts that show it (pt_emit.layout); 0 every one */
	int val;           /* the index of its value in a row */
	const char *key;   /* JSON key and CSV header */
	const char *group; /* JSON: the object of the row it is in; NULL the row itself */
	const char *title; /* text header; NULL none */
	const char *sep;   /* text: what comes before the cell; NULL nothing */
	int width;         /* text: padded to at least this, right-aligned; < 0 left-aligned */
	int prec;          /* text: digits after the point of a DBL */
};

struct pt_emit_table {
	const struct pt_emit_col *cols;
	size_t ncols;
};

/* A table of a static array of columns. */
#define PT_EMIT_TABLE(cols) {(cols), sizeof(cols) / sizeof((cols)[0])}

#define PT_EMIT_DEPTH 8

struct pt_emit {
	FILE *f;
	enum pt_emit_fmt fmt;
	/* Which columns with a layout are shown: a command whose table has
	 * two layouts (used's short and verbose text) sets the one it prints. */
	unsigned layout;
	/* JSON with ", " and ": " between members, and each array on lines
	 * of its own: the member that opens it, each element, its end. */
	int spaced;
	int depth; /* JSON containers open */
	int keyed; /* JSON: a key is written, its value comes next */
	struct {
		char array; /* else an object */
		char any;   /* a member or element is written */
	} open[PT_EMIT_DEPTH];
};

/* An emitter writing fmt to f, layout 0, JSON compact. */
void pt_emit_init(struct pt_emit *e, FILE *f, enum pt_emit_fmt fmt);

/* Text alone: printf to the output; nothing in JSON or CSV. */
void pt_emit_text(struct pt_emit *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* JSON alone.  pt_emit_obj and pt_emit_arr open an object or array, as the
 * member key of the object open (key NULL in an array or at the top);
 * pt_emit_end closes the innermost, and after the outermost ends the line.
 * pt_emit_key writes a member's key, the next value (a row) its value;
 * pt_emit_kv a member whole. */
void pt_emit_obj(struct pt_emit *e, const char *key);
void pt_emit_arr(struct pt_emit *e, const char *key);
void pt_emit_end(struct pt_emit *e);
void pt_emit_key(struct pt_emit *e, const char *key);
void pt_emit_kv(struct pt_emit *e, const char *key, struct pt_val v);

/* The header of table t: in text the titles of the columns shown, as wide
 * and aligned as their cells, with no blanks at the end of the line; in
 * CSV the keys.  Nothing in JSON, nor where no column shown has a title
 * (text) or where no column is shown (CSV). */
void pt_emit_head(struct pt_emit *e, const struct pt_emit_table *t);

/* A row of t with values v, written if the format is one of in: a line in
 * text and CSV, an object in JSON (an element of the array open, or the
 * value of a key).  No line where the format shows no column of t (text:
 * or every cell is SKIP).  pt_emit_row_open leaves the JSON object open
 * for more members (an array of sub-rows), to be closed by pt_emit_end
 * when in holds PT_IN_JSON. */
void pt_emit_row(struct pt_emit *e, unsigned in, const struct pt_emit_table *t,
		 const struct pt_val *v);
void pt_emit_row_open(struct pt_emit *e, unsigned in, const struct pt_emit_table *t,
		      const struct pt_val *v);

#endif /* PT_EMIT_H */
