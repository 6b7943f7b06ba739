/*
 * refs.c - `pooltag refs`: the references and handles a process holds, by
 * the module that took them, the object type (tag) and the line.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "safestr.h"
#include "segfmt.h"
#include "tally.h"

struct refs_opts {
	int all; /* also what was taken and all released */
	const char *target;
};

/* What the table shows, read and computed. */
struct refs_result {
	struct pt_view v;
	const struct pt_row **rows; /* by module, most held first */
	size_t n;
	uint64_t held; /* over every row */
};

static int cmp_row(const void *a, const void *b)
{
	const struct pt_row *x = *(const struct pt_row *const *)a;
	const struct pt_row *y = *(const struct pt_row *const *)b;
	uint64_t hx = x->nallocs - x->nfrees, hy = y->nallocs - y->nfrees;
	int c = strcmp(x->module, y->module);

	if (c)
		return c;
	if (hx != hy)
		return hx > hy ? -1 : 1;
	return x->pool != y->pool ? (x->pool < y->pool ? -1 : 1) : memcmp(&x->tag, &y->tag, 4);
}

/* ---- Parse --------------------------------------------------------------- */

static int refs_parse(int argc, char **argv, struct refs_opts *o)
{
	static const struct option longs[] = {
		{"all", no_argument, 0, 'a'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	int c;

	*o = (struct refs_opts){0};
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "ah", longs, NULL)) != -1) {
		if (c == 'a') {
			o->all = 1;
		} else if (c == 'h') {
			printf("usage: pooltag refs [--all] PID|SEGMENT|SNAPSHOT\n");
			return 0;
		} else {
			return pt_getopt_err("refs", argv);
		}
	}
	if (argc - optind != 1)
		return pt_usage_err("refs", "wants one PID, segment or snapshot");
	o->target = argv[optind];
	return PT_PARSED;
}

/* ---- Execute ------------------------------------------------------------- */

static int refs_execute(const struct refs_opts *o, struct refs_result *r)
{
	char err[1024];

	if (pt_target_load(o->target, &r->v, err, sizeof(err)) != 0) {
		pt_err("%s", err);
		return 1;
	}
	if (r->v.import_format || r->v.kernel_format) {
		pt_err("%s: %s%s%s records no references or handles", o->target,
		       r->v.kernel_format ? "the kernel's allocinfo" : "a ",
		       r->v.kernel_format ? "" : r->v.import_format, r->v.kernel_format ? "" : " dump");
		return 1;
	}
	if (!(r->rows = calloc(r->v.nrows + 1, sizeof(*r->rows)))) {
		pt_err("out of memory");
		return 1;
	}
	for (size_t i = 0; i < r->v.nrows; i++) {
		const struct pt_row *row = &r->v.rows[i];
		if (row->pool >= PT_SEG_CLASS_REFS && (o->all || row->nallocs > row->nfrees)) {
			r->rows[r->n++] = row;
			r->held += row->nallocs - row->nfrees;
		}
	}
	qsort(r->rows, r->n, sizeof(*r->rows), cmp_row);
	return 0;
}

/* ---- Print --------------------------------------------------------------- */

enum { V_MODULE, V_KIND, V_TAG, V_HELD, V_TAKEN, V_RELEASED, V_AT, V_N };

/* A line of references or handles: who took them, what they are, how
 * many, and where. */
static const struct pt_emit_col ref_cols[] = {
	{.in = PT_IN_TEXT, .val = V_MODULE, .title = "Module", .sep = " ", .width = -20},
	{.in = PT_IN_TEXT, .val = V_KIND, .title = "Kind", .sep = " ", .width = -8},
	{.in = PT_IN_TEXT, .val = V_TAG, .title = "Tag", .sep = " ", .width = -4},
	{.in = PT_IN_TEXT, .val = V_HELD, .title = "Held", .sep = " ", .width = 10},
	{.in = PT_IN_TEXT, .val = V_TAKEN, .title = "Taken", .sep = " ", .width = 10},
	{.in = PT_IN_TEXT, .val = V_RELEASED, .title = "Released", .sep = " ", .width = 10},
	{.in = PT_IN_TEXT, .val = V_AT, .title = "Acquired at", .sep = "  "},
};
static const struct pt_emit_table ref_table = PT_EMIT_TABLE(ref_cols);

/* A row, its names whole (the emitter makes them safe): 0, or -1 on out of
 * memory. */
static int print_row(struct pt_emit *e, const struct pt_row *r)
{
	char tag[5], *at;
	struct pt_val v[V_N];

	if (asprintf(&at, "%s:%u in %s", *r->file ? r->file : "?", r->line,
		     *r->func ? r->func : "?") < 0)
		return -1;
	v[V_MODULE] = pt_val_str(*r->module ? r->module : "?");
	v[V_KIND] = pt_val_word(r->pool == PT_SEG_CLASS_REFS ? "refs" : "handles");
	v[V_TAG] = pt_val_str(pt_tag_print(r->tag, tag));
	v[V_HELD] = pt_val_u64(r->nallocs - r->nfrees);
	v[V_TAKEN] = pt_val_u64(r->nallocs);
	v[V_RELEASED] = pt_val_u64(r->nfrees);
	v[V_AT] = pt_val_str(at);
	pt_emit_row(e, PT_IN_ALL, &ref_table, v);
	free(at);
	return 0;
}

/* 0, or -1 on out of memory (the rows after left out). */
static int refs_print(struct pt_emit *e, const struct refs_result *r)
{
	char b[256];

	pt_emit_text(e, " pid %d (%s): %" PRIu64 " references and handles held\n", (int)r->v.pid,
		     pt_safe_str(r->v.comm, b, sizeof(b)), r->held);
	if (r->n) {
		pt_emit_text(e, "\n");
		pt_emit_head(e, &ref_table);
	}
	for (size_t i = 0; i < r->n; i++)
		if (print_row(e, r->rows[i]) != 0)
			return -1;
	return 0;
}

int pt_cmd_refs(int argc, char **argv)
{
	struct refs_opts o;
	struct refs_result r = {.rows = NULL};
	struct pt_emit e;
	int rc = refs_parse(argc, argv, &o);

	if (rc != PT_PARSED)
		return rc;
	pt_view_init(&r.v);
	if ((rc = refs_execute(&o, &r)) == 0) {
		pt_emit_init(&e, stdout, PT_EMIT_TEXT);
		if (refs_print(&e, &r) != 0) {
			pt_err("out of memory");
			rc = 1;
		} else {
			rc = pt_flush_stdout();
		}
	}
	free(r.rows);
	pt_view_free(&r.v);
	return rc;
}
