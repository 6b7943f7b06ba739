/*
 * emit.c - tables written as text, JSON or CSV from one description
 * (emit.h).
 */
#include <stdlib.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "emit.h"
#include "jsonstr.h"
#include "safestr.h"

void pt_emit_init(struct pt_emit *e, FILE *f, enum pt_emit_fmt fmt)
{
	memset(e, 0, sizeof(*e));
	e->f = f;
	e->fmt = fmt;
}

void pt_emit_text(struct pt_emit *e, const char *fmt, ...)
{
	va_list ap;

	if (e->fmt != PT_EMIT_TEXT)
		return;
	va_start(ap, fmt);
	vfprintf(e->f, fmt, ap);
	va_end(ap);
}

static int shown(const struct pt_emit *e, unsigned in, const struct pt_emit_col *c)
{
	unsigned bit = 1u << e->fmt;

	return (in & c->in & bit) && (!c->layout || (c->layout & e->layout));
}

/* ---- JSON ---------------------------------------------------------------- */

static void indent(struct pt_emit *e, int n)
{
	fputc('\n', e->f);
	while (n-- > 0)
		fputc(' ', e->f);
}

/* What comes before a value (or before its key): a separator after the
 * container's previous member; in the spaced style a line of its own for
 * an array's element and for the member that opens an array. */
static void json_next(struct pt_emit *e, int opens_array)
{
	int d = e->depth;

	if (e->keyed) {
		e->keyed = 0;
		return;
	}
	if (!d)
		return;
	if (e->open[d - 1].any)
		fputc(',', e->f);
	if (e->spaced && (e->open[d - 1].array || opens_array))
		indent(e, d);
	else if (e->spaced && e->open[d - 1].any)
		fputc(' ', e->f);
	e->open[d - 1].any = 1;
}

static void json_key(struct pt_emit *e, const char *key, int opens_array)
{
	json_next(e, opens_array);
	pt_json_str(e->f, key);
	fputs(e->spaced ? ": " : ":", e->f);
	e->keyed = 1;
}

static void json_open(struct pt_emit *e, const char *key, int array)
{
	if (key)
		json_key(e, key, array);
	json_next(e, 0);
	/* The nesting is the code's, never the input's: deeper than the
	 * table is a bug, stopped here in every build. */
	if (e->depth >= PT_EMIT_DEPTH)
		abort();
	e->open[e->depth].array = (char)array;
	e->open[e->depth].any = 0;
	e->depth++;
	fputc(array ? '[' : '{', e->f);
}

static void json_close(struct pt_emit *e)
{
	if (e->depth == 0)
		abort(); /* a close without its open: the code's bug */
	e->depth--;
	if (e->open[e->depth].array) {
		if (e->spaced)
			indent(e, e->depth);
		fputc(']', e->f);
	} else {
		fputc('}', e->f);
	}
	if (!e->depth)
		fputc('\n', e->f);
}

static void json_val(struct pt_emit *e, struct pt_val v)
{
	json_next(e, 0);
	switch (v.type) {
	case PT_VAL_STR:
	case PT_VAL_WORD:
		pt_json_str(e->f, v.s);
		break;
	case PT_VAL_U64:
		fprintf(e->f, "%" PRIu64, v.u);
		break;
	case PT_VAL_I64:
	case PT_VAL_DELTA:
		fprintf(e->f, "%" PRId64, v.i);
		break;
	case PT_VAL_DBL: /* JSON has no nan or inf */
		fprintf(e->f, "%.6g", v.d == v.d && v.d - v.d == 0 ? v.d : 0);
		break;
	case PT_VAL_BOOL:
		fputs(v.b ? "true" : "false", e->f);
		break;
	default:
		fputs("null", e->f);
		break;
	}
}

void pt_emit_obj(struct pt_emit *e, const char *key)
{
	if (e->fmt == PT_EMIT_JSON)
		json_open(e, key, 0);
}

void pt_emit_arr(struct pt_emit *e, const char *key)
{
	if (e->fmt == PT_EMIT_JSON)
		json_open(e, key, 1);
}

void pt_emit_end(struct pt_emit *e)
{
	if (e->fmt == PT_EMIT_JSON)
		json_close(e);
}

void pt_emit_key(struct pt_emit *e, const char *key)
{
	if (e->fmt == PT_EMIT_JSON)
		json_key(e, key, 0);
}

void pt_emit_kv(struct pt_emit *e, const char *key, struct pt_val v)
{
	if (e->fmt != PT_EMIT_JSON || v.type == PT_VAL_SKIP)
		return;
	json_key(e, key, 0);
	json_val(e, v);
}

/* A row's members; columns of one group in an object of its own, opened
 * at the group's first value, so that a group all SKIP is left out. */
static void json_row(struct pt_emit *e, unsigned in, const struct pt_emit_table *t,
		     const struct pt_val *v)
{
	const char *group = NULL;

	json_open(e, NULL, 0);
	for (size_t i = 0; i < t->ncols; i++) {
		const struct pt_emit_col *c = &t->cols[i];

		if (!shown(e, in, c) || v[c->val].type == PT_VAL_SKIP)
			continue;
		if (group && (!c->group || strcmp(group, c->group) != 0)) {
			json_close(e);
			group = NULL;
		}
		if (c->group && !group) {
			json_open(e, c->group, 0);
			group = c->group;
		}
		json_key(e, c->key, 0);
		json_val(e, v[c->val]);
	}
	if (group)
		json_close(e);
}

/* ---- CSV ----------------------------------------------------------------- */

/* Quoted, '"' doubled, unsafe bytes as text writes them.  A quote is
 * ASCII, never inside a UTF-8 sequence: cutting at quotes cuts none. */
static void csv_str(FILE *f, const char *s)
{
	const char *q;

	fputc('"', f);
	while ((q = strchr(s, '"'))) {
		pt_safe_write(f, s, (size_t)(q - s));
		fputs("\"\"", f);
		s = q + 1;
	}
	pt_safe_put(f, s);
	fputc('"', f);
}

static void csv_val(FILE *f, struct pt_val v)
{
	switch (v.type) {
	case PT_VAL_STR:
		csv_str(f, v.s);
		break;
	case PT_VAL_WORD:
		fputs(v.s, f);
		break;
	case PT_VAL_U64:
		fprintf(f, "%" PRIu64, v.u);
		break;
	case PT_VAL_I64:
	case PT_VAL_DELTA:
		fprintf(f, "%" PRId64, v.i);
		break;
	case PT_VAL_DBL:
		fprintf(f, "%.6g", v.d);
		break;
	case PT_VAL_BOOL:
		fputs(v.b ? "yes" : "no", f);
		break;
	default: /* SKIP and NULL: an empty field */
		break;
	}
}

/* A CSV line of the columns shown, header (keys) or values; nothing if no
 * column is shown. */
static void csv_line(struct pt_emit *e, unsigned in, const struct pt_emit_table *t,
		     const struct pt_val *v)
{
	int n = 0;

	for (size_t i = 0; i < t->ncols; i++) {
		const struct pt_emit_col *c = &t->cols[i];

		if (!shown(e, in, c))
			continue;
		if (n++)
			fputc(',', e->f);
		if (v)
			csv_val(e->f, v[c->val]);
		else
			fputs(c->key, e->f);
	}
	if (n)
		fputc('\n', e->f);
}

/* ---- Text ---------------------------------------------------------------- */

/* The text of a value other than a string, in buf. */
static const char *text_of(struct pt_val v, int prec, char *buf, size_t len)
{
	switch (v.type) {
	case PT_VAL_U64:
		snprintf(buf, len, "%" PRIu64, v.u);
		break;
	case PT_VAL_I64:
		snprintf(buf, len, "%" PRId64, v.i);
		break;
	case PT_VAL_DELTA:
		snprintf(buf, len, "%+" PRId64, v.i);
		break;
	case PT_VAL_DBL:
		snprintf(buf, len, "%.*f", prec, v.d);
		break;
	case PT_VAL_BOOL:
		return v.b ? "yes" : "no";
	case PT_VAL_STR:
	case PT_VAL_WORD:
		return v.s;
	default:
		return "-";
	}
	return buf;
}

/* A cell padded to the column's width; an untrusted string (safe) with
 * its unsafe bytes as '?', one for one, so the padding is the same. */
static void text_cell(FILE *f, const struct pt_emit_col *c, const char *s, int safe)
{
	size_t n = strlen(s), w = (size_t)(c->width < 0 ? -c->width : c->width);

	fputs(c->sep ? c->sep : "", f);
	for (size_t i = n; c->width > 0 && i < w; i++)
		fputc(' ', f);
	if (safe)
		pt_safe_put(f, s);
	else
		fputs(s, f);
	for (size_t i = n; c->width < 0 && i < w; i++)
		fputc(' ', f);
}

static void text_row(struct pt_emit *e, unsigned in, const struct pt_emit_table *t,
		     const struct pt_val *v)
{
	int n = 0;

	for (size_t i = 0; i < t->ncols; i++) {
		const struct pt_emit_col *c = &t->cols[i];
		char buf[64];

		if (!shown(e, in, c) || v[c->val].type == PT_VAL_SKIP)
			continue;
		text_cell(e->f, c, text_of(v[c->val], c->prec, buf, sizeof(buf)),
			  v[c->val].type == PT_VAL_STR);
		n++;
	}
	if (n)
		fputc('\n', e->f);
}

/* The titles, built in a buffer to drop the blanks at the end. */
static void text_head(struct pt_emit *e, const struct pt_emit_table *t)
{
	char line[1024];
	size_t n = 0;
	int titled = 0;

	for (size_t i = 0; i < t->ncols; i++) {
		const struct pt_emit_col *c = &t->cols[i];
		int w;

		if (!shown(e, PT_IN_TEXT, c))
			continue;
		titled |= c->title != NULL;
		w = snprintf(line + n, sizeof(line) - n, "%s%*s", c->sep ? c->sep : "", c->width,
			     c->title ? c->title : "");
		if (w < 0 || (size_t)w >= sizeof(line) - n)
			break; /* titles are the program's own: never this long */
		n += (size_t)w;
	}
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (titled)
		fprintf(e->f, "%.*s\n", (int)n, line);
}

/* ---- Every format -------------------------------------------------------- */

void pt_emit_head(struct pt_emit *e, const struct pt_emit_table *t)
{
	if (e->fmt == PT_EMIT_TEXT)
		text_head(e, t);
	else if (e->fmt == PT_EMIT_CSV)
		csv_line(e, PT_IN_CSV, t, NULL);
}

void pt_emit_row_open(struct pt_emit *e, unsigned in, const struct pt_emit_table *t,
		      const struct pt_val *v)
{
	if (!(in & (1u << e->fmt)))
		return;
	if (e->fmt == PT_EMIT_JSON)
		json_row(e, in, t, v);
	else if (e->fmt == PT_EMIT_CSV)
		csv_line(e, in, t, v);
	else
		text_row(e, in, t, v);
}

void pt_emit_row(struct pt_emit *e, unsigned in, const struct pt_emit_table *t,
		 const struct pt_val *v)
{
	pt_emit_row_open(e, in, t, v);
	if (e->fmt == PT_EMIT_JSON && (in & PT_IN_JSON))
		json_close(e);
}
