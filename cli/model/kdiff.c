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
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kmod.h"
#include "kview.h"
#include "tally.h"

/* One site's sums in OLD and NEW (zero where absent). */
struct kchange {
	const struct pt_row *r; /* the site, from NEW if there, else OLD */
	uint64_t oc, ob, nc, nb;
	int in_old, in_new;
};

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
		    struct kchange *out)
{
	size_t i = 0, j = 0, k = 0;

	while (i < on || j < nn) {
		int c = i == on ? 1 : j == nn ? -1 : cmp_site(o[i], n[j]);
		struct kchange *ch = &out[k++];
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

static int64_t d(uint64_t a, uint64_t b)
{
	return (int64_t)(b - a);
}

static int suspect(const struct kchange *c)
{
	return d(c->oc, c->nc) > 0 && d(c->ob, c->nb) > 0;
}

static int cmp_change(const void *a, const void *b)
{
	const struct kchange *x = a, *y = b;
	int64_t bx = d(x->ob, x->nb), by = d(y->ob, y->nb);
	int64_t cx = d(x->oc, x->nc), cy = d(y->oc, y->nc);

	if (suspect(x) != suspect(y))
		return suspect(x) ? -1 : 1;
	if (bx != by)
		return bx > by ? -1 : 1;
	if (cx != cy)
		return cx > cy ? -1 : 1;
	return cmp_site(x->r, y->r);
}

/* Is module m unloaded in NEW: not in NEW's module list, or, with no list,
 * no site of it in NEW?  ch[0..n) sorted by site, so m's sites are
 * consecutive from first. */
static int unloaded(const struct pt_view *nv, const struct kchange *ch, size_t first, size_t n)
{
	int l = pt_kmod_loaded(nv, ch[first].r->module);

	if (l >= 0)
		return !l;
	for (size_t i = first; i < n && strcmp(ch[i].r->module, ch[first].r->module) == 0; i++)
		if (ch[i].in_new)
			return 0;
	return 1;
}

static void site_text(FILE *f, const struct pt_row *r)
{
	char b1[300], b2[300];

	fprintf(f, "%s:%" PRIu32 " func:%s\n", pt_safe_str(r->file, b1, sizeof(b1)), r->line,
		pt_safe_str(r->func, b2, sizeof(b2)));
}

/* The modules of OLD unloaded by NEW, with what their sites hold. */
static size_t print_unloaded(FILE *f, const struct pt_view *nv, const struct kchange *ch,
			     size_t n, long top)
{
	size_t found = 0;
	char lab[300];

	for (size_t i = 0; i < n;) {
		size_t e = i, in_old = 0, in_new = 0, held_new = 0, held_old = 0, k = 0;
		uint64_t nc = 0, nb = 0, oc = 0, ob = 0;

		while (e < n && strcmp(ch[e].r->module, ch[i].r->module) == 0)
			e++;
		for (size_t j = i; j < e; j++) {
			in_old += ch[j].in_old;
			in_new += ch[j].in_new;
			if (ch[j].in_new && (ch[j].nc || ch[j].nb)) {
				held_new++;
				nc += ch[j].nc;
				nb += ch[j].nb;
			}
			if (ch[j].in_old && (ch[j].oc || ch[j].ob)) {
				held_old++;
				oc += ch[j].oc;
				ob += ch[j].ob;
			}
		}
		if (!*ch[i].r->module || !in_old || !unloaded(nv, ch, i, n)) {
			i = e;
			continue;
		}
		if (!found++)
			fprintf(f, "\n Modules unloaded between OLD and NEW:\n");
		pt_kmod_label(ch[i].r->module, lab, sizeof(lab));
		if (held_new) {
			fprintf(f, " %s is not loaded in NEW, yet %zu site%s carrying its name still "
				   "hold%s %" PRIu64 " allocation%s, %" PRIu64 " bytes: left behind at unload\n",
				lab, held_new, held_new == 1 ? "" : "s", held_new == 1 ? "s" : "", nc,
				nc == 1 ? "" : "s", nb);
			for (size_t j = i; j < e; j++)
				if (ch[j].in_new && (ch[j].nc || ch[j].nb) && (top < 0 || (long)k++ < top)) {
					fprintf(f, " %10" PRIu64 " %14" PRIu64 "   ", ch[j].nc, ch[j].nb);
					site_text(f, ch[j].r);
				}
		} else if (in_new) {
			fprintf(f, " %s is not loaded in NEW, and the sites carrying its name hold "
				   "nothing: clean\n", lab);
		} else if (held_old) {
			fprintf(f, " %s is gone from NEW; in OLD %zu of its sites held %" PRIu64
				   " allocation%s, %" PRIu64 " bytes:\n   NEW cannot say whether they were "
				   "freed (the kernel stops listing an unloaded module's sites); the kernel "
				   "log names each site still holding memory at unload: dmesg | grep "
				   "'module %s .* allocated at module unload'\n",
				lab, held_old, oc, oc == 1 ? "" : "s", ob, ch[i].r->module);
			for (size_t j = i; j < e; j++)
				if (ch[j].in_old && (ch[j].oc || ch[j].ob) && (top < 0 || (long)k++ < top)) {
					fprintf(f, " %10" PRIu64 " %14" PRIu64 "   ", ch[j].oc, ch[j].ob);
					site_text(f, ch[j].r);
				}
		} else {
			fprintf(f, " %s is gone from NEW; its sites held nothing in OLD or NEW: clean\n",
				lab);
		}
		i = e;
	}
	return found;
}

/* Sites of modules unloaded in NEW that NEW no longer lists: not changes
 * (NEW says nothing of them), reported with the unloaded modules. */
static int unlisted(const struct pt_view *nv, const struct kchange *c)
{
	return !c->in_new && *c->r->module && pt_kmod_loaded(nv, c->r->module) != 1;
}

static void print_changes(FILE *f, const struct pt_view *nv, struct kchange *c, size_t n,
			  long top)
{
	char lab[300], da[24], db[24];
	int header = -1;
	long shown = 0;
	size_t moved = 0;

	for (size_t i = 0; i < n; i++)
		if (!unlisted(nv, &c[i]) && (c[i].oc != c[i].nc || c[i].ob != c[i].nb))
			c[moved++] = c[i];
	qsort(c, moved, sizeof(*c), cmp_change);
	if (!moved) {
		fprintf(f, " No site changed.\n");
		return;
	}
	for (size_t i = 0; i < moved && (top < 0 || shown < top); i++, shown++) {
		if (header != suspect(&c[i])) {
			header = suspect(&c[i]);
			fprintf(f, "\n %s\n", header ? "Leak suspects: outstanding count and bytes grew"
						     : "Other changes:");
			fprintf(f, " %-20s %10s %14s %10s %14s   %s\n", "Module", "+Allocs", "+Bytes",
				"Allocs", "Bytes", "Site");
		}
		snprintf(da, sizeof(da), "%+" PRId64, d(c[i].oc, c[i].nc));
		snprintf(db, sizeof(db), "%+" PRId64, d(c[i].ob, c[i].nb));
		fprintf(f, " %-20s %10s %14s %10" PRIu64 " %14" PRIu64 "   ",
			pt_kmod_label(c[i].r->module, lab, sizeof(lab)), da, db, c[i].nc, c[i].nb);
		site_text(f, c[i].r);
	}
	if ((size_t)shown < moved)
		fprintf(f, " ... %zu more changes not shown\n", moved - (size_t)shown);
}

int pt_kdiff_print(FILE *f, const struct pt_view *ov, const struct pt_view *nv, long top)
{
	const struct pt_row **o = sorted_rows(ov), **n = sorted_rows(nv);
	struct kchange *ch = calloc(ov->nrows + nv->nrows + 1, sizeof(*ch)), *moved = NULL;
	char b1[600], b2[600];
	size_t nch;

	if (!o || !n || !ch) {
		free(o);
		free(n);
		free(ch);
		return -1;
	}
	nch = merge(o, ov->nrows, n, nv->nrows, ch);
	moved = malloc((nch + 1) * sizeof(*moved));
	if (!moved) {
		free(o);
		free(n);
		free(ch);
		return -1;
	}
	memcpy(moved, ch, nch * sizeof(*ch));
	fprintf(f, " Comparing OLD: %s with NEW: %s", pt_view_name(ov, b1, sizeof(b1)),
		pt_view_name(nv, b2, sizeof(b2)));
	if (ov->taken_ns > 0 && nv->taken_ns > 0)
		fprintf(f, ", %.2f s apart", (double)(nv->taken_ns - ov->taken_ns) / 1e9);
	fprintf(f, "\n");
	print_changes(f, nv, moved, nch, top);
	print_unloaded(f, nv, ch, nch, top);
	if (!ov->kernel_modules || !nv->kernel_modules)
		fprintf(f, "\n Note: %s the loaded modules (a saved copy of allocinfo has no list): "
			   "a module unloaded while its sites are still listed shows only between "
			   "snapshots taken with 'pooltag snap kernel'\n",
			!ov->kernel_modules && !nv->kernel_modules ? "neither read lists"
			: !nv->kernel_modules ? "NEW does not list" : "OLD does not list");
	free(moved);
	free(o);
	free(n);
	free(ch);
	return 0;
}
