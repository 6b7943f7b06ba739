/*
 * kscrape.c - the kernel's series of a scrape (see kscrape.h).
 *
 * The tally groups the kernel's sites by module (the view's tag is the
 * module's id), so a module's series is its tally.  Sites are sorted by
 * their labels' identity, so that repeated lines add up instead of
 * repeating a series, which Prometheus would reject.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocinfo.h"
#include "pooltag.h"
#include "kscrape.h"
#include "tally.h"

static const char *modname(const struct pt_row *r)
{
	return *r->module ? r->module : "(kernel)";
}

static int cmp_site(const void *a, const void *b)
{
	const struct pt_row *x = *(const struct pt_row *const *)a, *y = *(const struct pt_row *const *)b;
	int c = strcmp(x->module, y->module);

	if (!c)
		c = strcmp(x->file, y->file);
	if (!c)
		c = x->line < y->line ? -1 : x->line > y->line;
	if (!c)
		c = strcmp(x->func, y->func);
	return c;
}

/* Adds one label set's two gauges. */
static int add2(struct pt_expo *e, int fc, int fb, const struct pt_expo_label *l, size_t nl,
		uint64_t count, uint64_t bytes)
{
	struct pt_strbuf b = {0};
	int rc;

	if (pt_expo_labels(&b, l, nl) != 0 || b.oom) {
		pt_strbuf_free(&b);
		return -1;
	}
	pt_strbuf_add(&b, "", 1);
	rc = b.oom ? -1 : pt_expo_add(e, fc, b.p, count) | pt_expo_add(e, fb, b.p, bytes);
	pt_strbuf_free(&b);
	return rc;
}

static int add_sites(struct pt_expo *e, const struct pt_view *v, size_t budget, size_t *series,
		     size_t *skipped)
{
	const struct pt_row **p = malloc((v->nrows + 1) * sizeof(*p));
	int fc = pt_expo_family(e, "pooltag_kernel_site_outstanding_allocations", PT_EXPO_GAUGE,
				"Kernel allocations not freed, per call site and module (/proc/allocinfo).");
	int fb = pt_expo_family(e, "pooltag_kernel_site_outstanding_bytes", PT_EXPO_GAUGE,
				"Kernel bytes allocated and not freed, per call site and module.");
	size_t n = 0;
	int rc = 0;

	if (!p || fc < 0 || fb < 0) {
		free(p);
		return -1;
	}
	for (size_t i = 0; i < v->nrows; i++)
		if (v->rows[i].nallocs || v->rows[i].bytes_alloc)
			p[n++] = &v->rows[i];
	qsort(p, n, sizeof(*p), cmp_site);
	for (size_t i = 0; i < n && rc == 0;) {
		uint64_t c = 0, b = 0;
		char line[16];
		size_t j = i;

		for (; j < n && cmp_site(&p[i], &p[j]) == 0; j++) {
			c += p[j]->nallocs;
			b += p[j]->bytes_alloc;
		}
		if (*series + 2 > budget) {
			*skipped += 2;
		} else {
			struct pt_expo_label l[4] = {{"module", modname(p[i])}, {"file", p[i]->file},
						     {"line", line}, {"function", p[i]->func}};
			snprintf(line, sizeof(line), "%u", p[i]->line);
			rc = add2(e, fc, fb, l, 4, c, b);
			*series += 2;
		}
		i = j;
	}
	free(p);
	return rc;
}

int pt_kscrape_add(struct pt_expo *e, int sites, size_t budget, size_t *series, size_t *skipped,
		   char *err, size_t errlen)
{
	struct pt_view v;
	struct pt_tally *t = NULL;
	size_t nt = 0;
	int fc, fb, rc = 0;

	pt_view_init(&v);
	if (pt_allocinfo_load(&v, err, errlen) != 0) {
		pt_view_free(&v);
		return -1;
	}
	fc = pt_expo_family(e, "pooltag_kernel_outstanding_allocations", PT_EXPO_GAUGE,
			    "Kernel allocations not freed, per module (/proc/allocinfo).");
	fb = pt_expo_family(e, "pooltag_kernel_outstanding_bytes", PT_EXPO_GAUGE,
			    "Kernel bytes allocated and not freed, per module (/proc/allocinfo).");
	if (fc < 0 || fb < 0 || pt_tally_build(&v, NULL, &t, &nt) != 0)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < nt; i++) {
		struct pt_expo_label l = {"module", modname(t[i].sites[0])};
		const struct pt_sums *s = &t[i].pool[PT_NONPAGED];
		if (*series + 2 > budget) {
			*skipped += 2;
			continue;
		}
		rc = add2(e, fc, fb, &l, 1, s->nallocs, s->bytes_alloc);
		*series += 2;
	}
	if (rc == 0 && sites)
		rc = add_sites(e, &v, budget, series, skipped);
	if (rc != 0)
		snprintf(err, errlen, "out of memory");
	pt_tally_free(t, nt);
	pt_view_free(&v);
	return rc;
}
