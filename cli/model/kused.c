/*
 * kused.c - `pooltag used kernel`: the kernel's allocation sites grouped by
 * module, the module in the tag's place (kview.h; printed by usedk.c).
 *
 * The sums come from the tally (tally.c) like every other table: the
 * kernel's view keys rows by a module id in the tag field, so a tally is a
 * module.  The kernel counts what is outstanding only (allocinfo.h), so the
 * table has one count and one byte column, not !poolused's pools.
 */
#include <stdlib.h>
#include <string.h>

#include "kmod.h"
#include "kview.h"
#include "tally.h"

static enum pt_ksort g_sort;
static int g_reverse;

static int cmp_kmod(const void *a, const void *b)
{
	const struct pt_kmodule *x = a, *y = b;
	uint64_t vx = g_sort == PT_KSORT_BYTES ? x->bytes : x->count;
	uint64_t vy = g_sort == PT_KSORT_BYTES ? y->bytes : y->count;
	int c = g_sort != PT_KSORT_MODULE && vx != vy ? (vx > vy ? -1 : 1)
						       : strcmp(x->module, y->module);

	return g_reverse ? -c : c;
}

int pt_kused_build(const struct pt_view *v, const char *pattern, enum pt_ksort sort, int reverse,
		   struct pt_kused *k)
{
	memset(k, 0, sizeof(*k));
	if (pt_tally_build(v, NULL, &k->t, &k->nt) != 0 ||
	    !(k->m = calloc(k->nt + 1, sizeof(*k->m))))
		return -1;
	for (size_t i = 0; i < k->nt; i++) {
		struct pt_kmodule *m = &k->m[k->n];
		/* Every row of a tally has the module of its id. */
		if (!pt_kmod_match(pattern, k->t[i].sites[0]->module))
			continue;
		m->t = &k->t[i];
		m->module = k->t[i].sites[0]->module;
		for (size_t j = 0; j < k->t[i].nsites; j++) {
			const struct pt_row *r = k->t[i].sites[j];
			m->count += r->nallocs;
			m->bytes += r->bytes_alloc;
			m->holding += pt_krow_holds(r);
			m->inexact += (r->flags & PT_ROW_INEXACT) != 0;
		}
		k->total.count += m->count;
		k->total.bytes += m->bytes;
		k->total.holding += m->holding;
		k->total.inexact += m->inexact;
		k->n++;
	}
	g_sort = sort;
	g_reverse = reverse;
	qsort(k->m, k->n, sizeof(*k->m), cmp_kmod);
	return 0;
}

void pt_kused_free(struct pt_kused *k)
{
	free(k->m);
	pt_tally_free(k->t, k->nt);
	memset(k, 0, sizeof(*k));
}
