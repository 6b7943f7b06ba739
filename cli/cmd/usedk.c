/*
 * usedk.c - `pooltag used kernel`: the kernel's table (kused.c), modules in
 * the tags' place, one count and one byte column, since the kernel counts
 * what is outstanding only; printed through the emitter (emit.h).
 */
#include <inttypes.h>
#include <stdio.h>

#include "kmod.h"
#include "kview.h"
#include "safestr.h"
#include "tally.h"
#include "used.h"

/* used's sort keys as the kernel's: module, bytes, count. */
static const enum pt_ksort ksort[] = {PT_KSORT_MODULE, PT_KSORT_BYTES, PT_KSORT_BYTES,
				      PT_KSORT_COUNT, PT_KSORT_COUNT};
static const char *const sort_titles[] = {"Module", "Bytes", "Outstanding Allocations"};
static const char *const sort_names[] = {"module", "bytes", "count"};

/* The values of a row: a module, one of its sites, or the TOTAL. */
enum {
	V_LABEL,   /* text: "[foo]", "(kernel)"; "" under it for a site; TOTAL */
	V_MODULE,  /* the module's name as it is */
	V_LOADED,  /* still loaded: yes, no or unknown (NULL) */
	V_COUNT,   /* outstanding */
	V_BYTES,
	V_HOLDING, /* sites holding memory */
	V_INEXACT, /* sites marked inaccurate */
	V_FILE,
	V_LINE,
	V_FUNC,
	V_ACCURATE,
	V_SITE,    /* text: "FILE:LINE func:FUNC" */
	V_MARK,    /* text: " *" inaccurate, or "" */
	V_N
};

#define T PT_IN_TEXT
#define J PT_IN_JSON
#define C PT_IN_CSV

/* A module: a line of text, an object of JSON's "modules" (the TOTAL row
 * too); CSV has a row per module or per site (site_table).  A site is
 * written in text as a line of this table. */
static const struct pt_emit_col mod_cols[] = {
	{.in = T, .val = V_LABEL, .title = "Module", .sep = " ", .width = -24},
	{.in = J, .val = V_MODULE, .key = "module"},
	{.in = J, .val = V_LOADED, .key = "loaded"},
	{.in = T | J, .val = V_COUNT, .key = "allocs", .title = "Allocs", .sep = " ", .width = 10},
	{.in = T | J, .val = V_BYTES, .key = "bytes", .title = "Bytes", .sep = " ", .width = 14},
	{.in = T | J, .val = V_HOLDING, .key = "sites_holding", .title = "Sites", .sep = " ",
	 .width = 6},
	{.in = J, .val = V_INEXACT, .key = "inexact_sites"},
	{.in = T, .val = V_SITE, .sep = "        "},
	{.in = T, .val = V_MARK},
};
static const struct pt_emit_table mod_table = PT_EMIT_TABLE(mod_cols);

/* A site: an object of its module's "sites" (JSON), a row (CSV), which is
 * also CSV's row of a module (file "", line 0) without --sites. */
static const struct pt_emit_col site_cols[] = {
	{.in = C, .val = V_MODULE, .key = "module"},
	{.in = J | C, .val = V_FILE, .key = "file"},
	{.in = J | C, .val = V_LINE, .key = "line"},
	{.in = J | C, .val = V_FUNC, .key = "function"},
	{.in = J | C, .val = V_COUNT, .key = "allocs"},
	{.in = J | C, .val = V_BYTES, .key = "bytes"},
	{.in = J | C, .val = V_ACCURATE, .key = "accurate"},
};
static const struct pt_emit_table site_table = PT_EMIT_TABLE(site_cols);

static void print_head(struct pt_emit *e, const struct pt_view *v, const struct pt_kused *k,
		       const struct used_opts *o)
{
	enum pt_ksort s = ksort[o->sort];
	char b[600];

	pt_emit_text(e, " %s, %zu module%s, %zu site%s holding memory\n",
		     pt_view_name(v, b, sizeof(b)), k->n, k->n == 1 ? "" : "s", k->total.holding,
		     k->total.holding == 1 ? "" : "s");
	pt_emit_text(e, " Sorting by %s%s\n\n", sort_titles[s], o->reverse ? " (reversed)" : "");
	pt_emit_head(e, &mod_table);
	pt_emit_head(e, &site_table);
	pt_emit_obj(e, NULL);
	pt_emit_kv(e, "format", pt_val_word("pooltag-kernel-used"));
	pt_emit_kv(e, "version", pt_val_u64(1));
	pt_emit_kv(e, "source", pt_val_str(v->kernel_source));
	pt_emit_kv(e, "allocinfo_version", pt_val_str(v->kernel_format));
	pt_emit_kv(e, "taken_ns", pt_val_i64(v->taken_ns));
	pt_emit_kv(e, "sort", pt_val_word(sort_names[s]));
}

/* A site of module row mv holding memory: a line under the module in
 * text, an object or a row in JSON and CSV. */
static void print_site(struct pt_emit *e, const struct pt_row *r, const struct pt_val *mv)
{
	struct pt_val v[V_N] = {[V_LABEL] = pt_val_str(""), [V_MODULE] = mv[V_MODULE]};
	char b1[600], b2[300], site[1000];

	snprintf(site, sizeof(site), "%s:%" PRIu32 " func:%s", pt_safe_str(r->file, b1, sizeof(b1)),
		 r->line, pt_safe_str(r->func, b2, sizeof(b2)));
	v[V_FILE] = pt_val_str(r->file);
	v[V_LINE] = pt_val_u64(r->line);
	v[V_FUNC] = pt_val_str(r->func);
	v[V_COUNT] = pt_val_u64(r->nallocs);
	v[V_BYTES] = pt_val_u64(r->bytes_alloc);
	v[V_ACCURATE] = pt_val_bool(!(r->flags & PT_ROW_INEXACT));
	v[V_SITE] = pt_val_str(site);
	v[V_MARK] = pt_val_str(r->flags & PT_ROW_INEXACT ? " *" : "");
	pt_emit_row(e, T, &mod_table, v);
	pt_emit_row(e, J | C, &site_table, v);
}

/* A module's row, then its sites holding memory (--sites). */
static void print_module(struct pt_emit *e, const struct pt_view *view,
			 const struct pt_kmodule *m, int sites)
{
	struct pt_val v[V_N] = {0};
	int loaded = pt_kmod_loaded(view, m->module);
	char lab[300];

	v[V_LABEL] = pt_val_str(pt_kmod_label(m->module, lab, sizeof(lab)));
	v[V_MODULE] = pt_val_str(m->module);
	v[V_LOADED] = loaded < 0 ? pt_val_null() : pt_val_bool(loaded);
	v[V_COUNT] = pt_val_u64(m->count);
	v[V_BYTES] = pt_val_u64(m->bytes);
	v[V_HOLDING] = pt_val_u64(m->holding);
	v[V_INEXACT] = pt_val_u64(m->inexact);
	v[V_MARK] = pt_val_str(m->inexact ? " *" : "");
	pt_emit_row_open(e, T | J, &mod_table, v);
	if (!sites) {
		v[V_FILE] = v[V_FUNC] = pt_val_str("");
		v[V_LINE] = pt_val_u64(0);
		v[V_ACCURATE] = pt_val_bool(!m->inexact);
		pt_emit_row(e, C, &site_table, v);
	} else {
		pt_emit_arr(e, "sites");
		for (size_t j = 0; j < m->t->nsites; j++)
			if (pt_krow_holds(m->t->sites[j]))
				print_site(e, m->t->sites[j], v);
		pt_emit_end(e);
	}
	pt_emit_end(e);
}

void pt_used_kernel_print(struct pt_emit *e, const struct pt_view *v, const struct pt_kused *k,
			  const struct used_opts *o)
{
	size_t shown = o->top >= 0 && (size_t)o->top < k->n ? (size_t)o->top : k->n;
	size_t ni = k->total.inexact;
	struct pt_val t[V_N] = {[V_LABEL] = pt_val_str("TOTAL")};

	print_head(e, v, k, o);
	pt_emit_arr(e, "modules");
	for (size_t i = 0; i < shown; i++)
		print_module(e, v, &k->m[i], o->sites);
	pt_emit_end(e);
	if (shown < k->n)
		pt_emit_text(e, " ... %zu more modules not shown (-t %ld)\n", k->n - shown, o->top);
	t[V_COUNT] = pt_val_u64(k->total.count);
	t[V_BYTES] = pt_val_u64(k->total.bytes);
	t[V_HOLDING] = pt_val_u64(k->total.holding);
	pt_emit_key(e, "total");
	pt_emit_row(e, T | J, &mod_table, t);
	pt_emit_end(e);
	if (ni)
		pt_emit_text(e, " * %zu site%s marked inaccurate by the kernel (accurate:no, or a "
				"count read below zero): the true counts may be higher\n",
			     ni, ni == 1 ? "" : "s");
}

int pt_used_kernel(const struct used_opts *o, const struct pt_view *v)
{
	struct pt_kused k;
	struct pt_emit e;
	int rc = 1;

	if (o->suspects) {
		pt_err("%s: --suspects needs allocations and frees, and the kernel counts what is outstanding only: compare two reads with 'pooltag diff'",
		       o->target);
		return 1;
	}
	if (o->sort == USED_SORT_PAGED)
		return pt_usage_err("used", "the kernel's memory is never paged: sort by module, bytes or count");
	if (pt_kused_build(v, o->pattern, ksort[o->sort], o->reverse, &k) != 0) {
		pt_err("out of memory");
	} else {
		pt_emit_init(&e, stdout, o->c.fmt);
		pt_used_kernel_print(&e, v, &k, o);
		rc = pt_flush_stdout();
	}
	pt_kused_free(&k);
	return rc;
}
