/*
 * kdiff.c - `pooltag diff` of two reads of the kernel: which allocation
 * sites grew, and which modules were unloaded in between while memory is
 * still charged to them.
 *
 * Sites are matched by (module, file, line, function); lines repeated with
 * one identity are summed.  A leak suspect is a site whose outstanding
 * count and bytes both grew.  A module "present in OLD" has sites in OLD;
 * it is unloaded in NEW when NEW's module list lacks it (a kernel snapshot
 * lists them) or, lacking a list, when NEW has none of its sites.  The
 * kernel stops listing an unloaded module's sites, so memory it left
 * behind can show in two ways: sites still carrying its name in NEW (a
 * definite finding), or sites gone with what they held in OLD (NEW cannot
 * say whether that was freed; the kernel logs each site still holding
 * memory at unload).
 */
#include <stdlib.h>
#include <string.h>

#include "kmod.h"
#include "kview.h"
#include "tally.h"

static int cmp_site(const struct pt_row *x, const struct pt_row *y)
{
	int c = strcmp(x->module, y->module);

	if (!c)
		c = strcmp(x->file, y->file);
	if (!c)
		c = x->line < y->line ? -1 : x->line > y->line;
	if (!c)
		c = strcmp(x->func, y->func);
	return c;
}

static int cmp_rowp(const void *a, const void *b)
{
	return cmp_site(*(const struct pt_row *const *)a, *(const struct pt_row *const *)b);
}

static const struct pt_row **sorted_rows(const struct pt_view *v)
{
	const struct pt_row **p = malloc((v->nrows + 1) * sizeof(*p));

	if (!p)
		return NULL;
	for (size_t i = 0; i < v->nrows; i++)
		p[i] = &v->rows[i];
	qsort(p, v->nrows, sizeof(*p), cmp_rowp);
	return p;
}

/* Merges the sorted rows of OLD and NEW into one change per site. */
static size_t merge(const struct pt_row **o, size_t on, const struct pt_row **n, size_t nn,
		    struct pt_kchange *out)
{
	size_t i = 0, j = 0, k = 0;

	while (i < on || j < nn) {
		int c = i == on ? 1 : j == nn ? -1 : cmp_site(o[i], n[j]);
		struct pt_kchange *ch = &out[k++];
		const struct pt_row *key = c <= 0 ? o[i] : n[j];

		memset(ch, 0, sizeof(*ch));
		ch->r = c < 0 ? o[i] : n[j];
		for (; i < on && cmp_site(o[i], key) == 0; i++) {
			ch->oc += o[i]->nallocs;
			ch->ob += o[i]->bytes_alloc;
			ch->in_old = 1;
		}
		for (; j < nn && cmp_site(n[j], key) == 0; j++) {
			ch->nc += n[j]->nallocs;
			ch->nb += n[j]->bytes_alloc;
			ch->in_new = 1;
		}
	}
	return k;
}

static int cmp_change(const void *a, const void *b)
{
	const struct pt_kchange *x = a, *y = b;
	int64_t bx = pt_kdelta(x->ob, x->nb), by = pt_kdelta(y->ob, y->nb);
	int64_t cx = pt_kdelta(x->oc, x->nc), cy = pt_kdelta(y->oc, y->nc);

	if (pt_kchange_suspect(x) != pt_kchange_suspect(y))
		return pt_kchange_suspect(x) ? -1 : 1;
	if (bx != by)
		return bx > by ? -1 : 1;
	if (cx != cy)
		return cx > cy ? -1 : 1;
	return cmp_site(x->r, y->r);
}

/* Is module m unloaded in NEW: not in NEW's module list, or, with no list,
 * no site of it in NEW?  ch[0..n) sorted by site, so m's sites are
 * consecutive from first. */
static int unloaded(const struct pt_view *nv, const struct pt_kchange *ch, size_t first, size_t n)
{
	int l = pt_kmod_loaded(nv, ch[first].r->module);

	if (l >= 0)
		return !l;
	for (size_t i = first; i < n && strcmp(ch[i].r->module, ch[first].r->module) == 0; i++)
		if (ch[i].in_new)
			return 0;
	return 1;
}

/* Sites of modules unloaded in NEW that NEW no longer lists: not changes
 * (NEW says nothing of them), reported with the unloaded modules. */
static int unlisted(const struct pt_view *nv, const struct pt_kchange *c)
{
	return !c->in_new && *c->r->module && pt_kmod_loaded(nv, c->r->module) != 1;
}

/* The sites that moved, copied from d->all and sorted. */
static int find_moved(const struct pt_view *nv, struct pt_kdiff *d)
{
	if (!(d->moved = malloc((d->nall + 1) * sizeof(*d->moved))))
		return -1;
	for (size_t i = 0; i < d->nall; i++) {
		const struct pt_kchange *c = &d->all[i];
		if (!unlisted(nv, c) && (c->oc != c->nc || c->ob != c->nb))
			d->moved[d->nmoved++] = *c;
	}
	qsort(d->moved, d->nmoved, sizeof(*d->moved), cmp_change);
	return 0;
}

/* Module m's sites, all[0..n) (one module, sorted by site), summed. */
static void sum_module(struct pt_kunload *m, const struct pt_kchange *all, size_t n)
{
	*m = (struct pt_kunload){.module = all[0].r->module, .sites = all, .nsites = n};
	for (size_t j = 0; j < n; j++) {
		m->in_old += all[j].in_old;
		m->in_new += all[j].in_new;
		if (all[j].in_new && (all[j].nc || all[j].nb)) {
			m->held_new++;
			m->nc += all[j].nc;
			m->nb += all[j].nb;
		}
		if (all[j].in_old && (all[j].oc || all[j].ob)) {
			m->held_old++;
			m->oc += all[j].oc;
			m->ob += all[j].ob;
		}
	}
}

/* The modules of OLD unloaded by NEW, with what their sites hold. */
static int find_unloaded(const struct pt_view *nv, struct pt_kdiff *d)
{
	if (!(d->unloaded = calloc(d->nall + 1, sizeof(*d->unloaded))))
		return -1;
	for (size_t i = 0, e; i < d->nall; i = e) {
		struct pt_kunload *m = &d->unloaded[d->nunloaded];

		for (e = i; e < d->nall && strcmp(d->all[e].r->module, d->all[i].r->module) == 0; e++)
			;
		sum_module(m, &d->all[i], e - i);
		if (*m->module && m->in_old && unloaded(nv, d->all, i, d->nall))
			d->nunloaded++;
	}
	return 0;
}

int pt_kdiff_build(const struct pt_view *ov, const struct pt_view *nv, struct pt_kdiff *d)
{
	const struct pt_row **o = sorted_rows(ov), **n = sorted_rows(nv);
	int rc = -1;

	memset(d, 0, sizeof(*d));
	if (o && n && (d->all = calloc(ov->nrows + nv->nrows + 1, sizeof(*d->all)))) {
		d->nall = merge(o, ov->nrows, n, nv->nrows, d->all);
		if (find_moved(nv, d) == 0 && find_unloaded(nv, d) == 0)
			rc = 0;
	}
	free(o);
	free(n);
	return rc;
}

void pt_kdiff_free(struct pt_kdiff *d)
{
	free(d->all);
	free(d->moved);
	free(d->unloaded);
	memset(d, 0, sizeof(*d));
}
