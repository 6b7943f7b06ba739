/*
 * diffk.c - `pooltag diff` of two reads of the kernel: the sites that grew,
 * and the modules unloaded in between while memory is still charged to
 * them (kdiff.c computes both), printed through the emitter (emit.h).
 */
#include <inttypes.h>
#include <stdio.h>

#include "cmd.h"
#include "diff.h"
#include "kmod.h"
#include "kview.h"
#include "safestr.h"
#include "tally.h"

enum { V_LABEL, V_DCOUNT, V_DBYTES, V_COUNT, V_BYTES, V_SITE, V_N };

/* A site: its module, what it grew by, what it holds, where it is.  Under
 * an unloaded module, what it holds and where only. */
static const struct pt_emit_col site_cols[] = {
	{.in = PT_IN_TEXT, .val = V_LABEL, .title = "Module", .sep = " ", .width = -20},
	{.in = PT_IN_TEXT, .val = V_DCOUNT, .title = "+Allocs", .sep = " ", .width = 10},
	{.in = PT_IN_TEXT, .val = V_DBYTES, .title = "+Bytes", .sep = " ", .width = 14},
	{.in = PT_IN_TEXT, .val = V_COUNT, .title = "Allocs", .sep = " ", .width = 10},
	{.in = PT_IN_TEXT, .val = V_BYTES, .title = "Bytes", .sep = " ", .width = 14},
	{.in = PT_IN_TEXT, .val = V_SITE, .title = "Site", .sep = "   "},
};
static const struct pt_emit_table site_table = PT_EMIT_TABLE(site_cols);

/* The row of site c: with its module and changes if label, else what it
 * holds in NEW (held_new) or held in OLD. */
static void print_site(struct pt_emit *e, const struct pt_kchange *c, int label, int held_new)
{
	struct pt_val v[V_N] = {0};
	char lab[300], b1[300], b2[300], site[700];

	snprintf(site, sizeof(site), "%s:%" PRIu32 " func:%s", pt_safe_str(c->r->file, b1, sizeof(b1)),
		 c->r->line, pt_safe_str(c->r->func, b2, sizeof(b2)));
	if (label) {
		v[V_LABEL] = pt_val_str(pt_kmod_label(c->r->module, lab, sizeof(lab)));
		v[V_DCOUNT] = pt_val_delta(pt_kdelta(c->oc, c->nc));
		v[V_DBYTES] = pt_val_delta(pt_kdelta(c->ob, c->nb));
	}
	v[V_COUNT] = pt_val_u64(held_new ? c->nc : c->oc);
	v[V_BYTES] = pt_val_u64(held_new ? c->nb : c->ob);
	v[V_SITE] = pt_val_str(site);
	pt_emit_row(e, PT_IN_ALL, &site_table, v);
}

/* The sites that moved, leak suspects first, each list under its title. */
static void print_changes(struct pt_emit *e, const struct pt_kdiff *d, long top)
{
	int header = -1;
	size_t shown = 0;

	if (!d->nmoved) {
		pt_emit_text(e, " No site changed.\n");
		return;
	}
	for (; shown < d->nmoved && (top < 0 || shown < (size_t)top); shown++) {
		const struct pt_kchange *c = &d->moved[shown];

		if (header != pt_kchange_suspect(c)) {
			header = pt_kchange_suspect(c);
			pt_emit_text(e, "\n %s\n", header ? "Leak suspects: outstanding count and bytes grew"
							  : "Other changes:");
			pt_emit_head(e, &site_table);
		}
		print_site(e, c, 1, 1);
	}
	if (shown < d->nmoved)
		pt_emit_text(e, " ... %zu more changes not shown\n", d->nmoved - shown);
}

/* Module m, unloaded: what its sites hold in NEW, or held in OLD. */
static void print_unloaded(struct pt_emit *e, const struct pt_kunload *m, long top)
{
	int held_new = m->held_new != 0;
	long k = 0;
	char lab[300], mod[300];

	pt_kmod_label(m->module, lab, sizeof(lab));
	if (m->held_new)
		pt_emit_text(e, " %s is not loaded in NEW, yet %zu site%s carrying its name still "
				"hold%s %" PRIu64 " allocation%s, %" PRIu64 " bytes: left behind at unload\n",
			     lab, m->held_new, m->held_new == 1 ? "" : "s", m->held_new == 1 ? "s" : "",
			     m->nc, m->nc == 1 ? "" : "s", m->nb);
	else if (m->in_new)
		pt_emit_text(e, " %s is not loaded in NEW, and the sites carrying its name hold "
				"nothing: clean\n", lab);
	else if (m->held_old)
		pt_emit_text(e, " %s is gone from NEW; in OLD %zu of its sites held %" PRIu64
				" allocation%s, %" PRIu64 " bytes:\n   NEW cannot say whether they were "
				"freed (the kernel stops listing an unloaded module's sites); the kernel "
				"log names each site still holding memory at unload: dmesg | grep "
				"'module %s .* allocated at module unload'\n",
			     lab, m->held_old, m->oc, m->oc == 1 ? "" : "s", m->ob,
			     pt_safe_str(m->module, mod, sizeof(mod)));
	else
		pt_emit_text(e, " %s is gone from NEW; its sites held nothing in OLD or NEW: clean\n",
			     lab);
	if (!m->held_new && (m->in_new || !m->held_old))
		return;
	for (size_t j = 0; j < m->nsites; j++) {
		const struct pt_kchange *c = &m->sites[j];
		int holds = held_new ? c->in_new && (c->nc || c->nb) : c->in_old && (c->oc || c->ob);

		if (holds && (top < 0 || k++ < top))
			print_site(e, c, 0, held_new);
	}
}

void pt_diff_kernel_print(struct pt_emit *e, const struct pt_view *ov, const struct pt_view *nv,
			  const struct pt_kdiff *d, long top)
{
	char b1[600], b2[600];

	pt_emit_text(e, " Comparing OLD: %s with NEW: %s", pt_view_name(ov, b1, sizeof(b1)),
		     pt_view_name(nv, b2, sizeof(b2)));
	if (ov->taken_ns > 0 && nv->taken_ns > 0)
		pt_emit_text(e, ", %.2f s apart", (double)(nv->taken_ns - ov->taken_ns) / 1e9);
	pt_emit_text(e, "\n");
	print_changes(e, d, top);
	for (size_t i = 0; i < d->nunloaded; i++) {
		if (!i)
			pt_emit_text(e, "\n Modules unloaded between OLD and NEW:\n");
		print_unloaded(e, &d->unloaded[i], top);
	}
	if (!ov->kernel_modules || !nv->kernel_modules)
		pt_emit_text(e, "\n Note: %s the loaded modules (a saved copy of allocinfo has no list): "
				"a module unloaded while its sites are still listed shows only between "
				"snapshots taken with 'pooltag snap kernel'\n",
			     !ov->kernel_modules && !nv->kernel_modules ? "neither read lists"
			     : !nv->kernel_modules			  ? "NEW does not list"
									  : "OLD does not list");
}

int pt_diff_kernel(const struct pt_view *ov, const struct pt_view *nv, const char *old,
		   const char *new, long top)
{
	struct pt_kdiff d;
	struct pt_emit e;
	int rc = 1;

	if (!ov->kernel_format || !nv->kernel_format) {
		pt_err("%s is the kernel and %s is not: nothing to compare",
		       ov->kernel_format ? old : new, ov->kernel_format ? new : old);
		return 1;
	}
	if (pt_kdiff_build(ov, nv, &d) != 0) {
		pt_err("out of memory");
	} else {
		pt_emit_init(&e, stdout, PT_EMIT_TEXT);
		pt_diff_kernel_print(&e, ov, nv, &d, top);
		rc = pt_flush_stdout();
	}
	pt_kdiff_free(&d);
	return rc;
}
