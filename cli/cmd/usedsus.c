/*
 * usedsus.c - `pooltag used --suspects`: the tags suspects.c finds almost
 * never freed, ranked, then those held with them, printed through the
 * emitter (emit.h).
 */
#include <stdio.h>

#include "suspects.h"
#include "tally.h"
#include "used.h"

enum { V_TAG, V_POOL, V_ALLOCS, V_FREES, V_DIFF, V_USED, V_FREED, V_DESC, V_LIKE, V_N };

/* A tag and class: its counts, the share of its allocations freed, what
 * it is, and for one held with a suspect which. */
static const struct pt_emit_col cols[] = {
	{.in = PT_IN_TEXT, .val = V_TAG, .title = "Tag", .sep = " ", .width = -4},
	{.in = PT_IN_TEXT, .val = V_POOL, .title = "Pool", .sep = " ", .width = -8},
	{.in = PT_IN_TEXT, .val = V_ALLOCS, .title = "Allocs", .sep = " ", .width = 11},
	{.in = PT_IN_TEXT, .val = V_FREES, .title = "Frees", .sep = " ", .width = 11},
	{.in = PT_IN_TEXT, .val = V_DIFF, .title = "Diff", .sep = " ", .width = 11},
	{.in = PT_IN_TEXT, .val = V_USED, .title = "Used", .sep = " ", .width = 12},
	{.in = PT_IN_TEXT, .val = V_FREED, .title = "Freed", .sep = " ", .width = 6},
	{.in = PT_IN_TEXT, .val = V_DESC, .title = "Description", .sep = "  "},
	{.in = PT_IN_TEXT, .val = V_LIKE},
};
static const struct pt_emit_table table = PT_EMIT_TABLE(cols);

static void print_row(struct pt_emit *e, const struct pt_view *v, const struct pt_tagdb *db,
		      const struct pt_tally *t, unsigned cls, const struct pt_suspect *like)
{
	const struct pt_sums *s = &t->pool[cls];
	char tag[5], desc[1024], freed[32], lk[64];
	struct pt_val val[V_N];

	snprintf(freed, sizeof(freed), "%.1f%%",
		 s->nallocs ? 100.0 * (double)s->nfrees / (double)s->nallocs : 0.0);
	lk[0] = 0;
	if (like)
		snprintf(lk, sizeof(lk), " [like %s %s]", pt_tag_print(like->t->tag, tag),
			 pt_pool_title[like->cls]);
	val[V_TAG] = pt_val_str(pt_tag_print(t->tag, tag));
	val[V_POOL] = pt_val_word(pt_pool_title[cls]);
	val[V_ALLOCS] = pt_val_u64(s->nallocs);
	val[V_FREES] = pt_val_u64(s->nfrees);
	val[V_DIFF] = pt_val_u64(pt_sums_diff(s));
	val[V_USED] = pt_val_u64(pt_sums_used(s));
	val[V_FREED] = pt_val_str(freed);
	val[V_DESC] = pt_val_str(pt_tally_describe(desc, sizeof(desc), v, db, t));
	val[V_LIKE] = pt_val_str(lk);
	pt_emit_row(e, PT_IN_ALL, &table, val);
}

static void print_suspects(struct pt_emit *e, const struct pt_view *v, const struct pt_tagdb *db,
			   const struct pt_suspects *s, const struct pt_suspect_opts *o)
{
	pt_emit_text(e, " Leak suspects: at least %llu allocations, at most %u%% of them freed\n",
		     (unsigned long long)o->min_allocs, o->max_freed);
	pt_emit_text(e, " (ranked by kept share times outstanding count)\n\n");
	if (!s->n) {
		pt_emit_text(e, " None: every tag with at least %llu allocations freed more than %u%% "
				"of them.\n",
			     (unsigned long long)o->min_allocs, o->max_freed);
		return;
	}
	pt_emit_head(e, &table);
	for (size_t i = 0; i < s->shown; i++)
		print_row(e, v, db, s->s[i].t, s->s[i].cls, NULL);
	if (s->shown < s->n)
		pt_emit_text(e, " ... %zu more suspects not shown (-t %ld)\n", s->n - s->shown, o->top);
	if (s->nheld) {
		pt_emit_text(e, "\n Held with them: outstanding count within 2%% of a suspect's\n");
		pt_emit_text(e, " (allocations that objects which never die keep alive)\n\n");
		pt_emit_head(e, &table);
	}
	for (size_t i = 0; i < s->nheld; i++)
		print_row(e, v, db, s->held[i].t, s->held[i].cls, s->held[i].like);
}

int pt_used_suspects(const struct used_opts *o, const struct pt_view *v,
		     const struct pt_tagdb *db, const struct pt_tally *t, size_t n)
{
	struct pt_suspect_opts so = o->so;
	struct pt_suspects s;
	struct pt_emit e;
	char b[512];

	so.top = o->top;
	pt_emit_init(&e, stdout, PT_EMIT_TEXT);
	pt_emit_text(&e, " %s\n", pt_view_name(v, b, sizeof(b)));
	if (pt_suspects_find(t, n, &so, &s) != 0)
		pt_emit_text(&e, " (out of memory)\n");
	else
		print_suspects(&e, v, db, &s, &so);
	pt_suspects_free(&s);
	return pt_flush_stdout();
}
