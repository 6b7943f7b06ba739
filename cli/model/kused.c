/*
 * kused.c - `pooltag used kernel`: the kernel's allocation sites grouped by
 * module, the module in the tag's place.
 *
 * The sums come from the tally (tally.c) like every other table: the
 * kernel's view keys rows by a module id in the tag field, so a tally is a
 * module.  The kernel counts what is outstanding only (allocinfo.h), so the
 * table has one count and one byte column, not !poolused's pools.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "jsonstr.h"
#include "kmod.h"
#include "kview.h"
#include "tally.h"

struct kmod {
	const struct pt_tally *t;
	const char *module;
	uint64_t count, bytes;
	size_t holding; /* sites with a count or bytes outstanding */
	size_t inexact; /* sites the kernel marked inaccurate */
};

static enum pt_ksort g_sort;
static int g_reverse;

static int cmp_kmod(const void *a, const void *b)
{
	const struct kmod *x = a, *y = b;
	uint64_t vx = g_sort == PT_KSORT_BYTES ? x->bytes : x->count;
	uint64_t vy = g_sort == PT_KSORT_BYTES ? y->bytes : y->count;
	int c = g_sort != PT_KSORT_MODULE && vx != vy ? (vx > vy ? -1 : 1)
						       : strcmp(x->module, y->module);

	return g_reverse ? -c : c;
}

static int holds(const struct pt_row *r)
{
	return r->nallocs || r->bytes_alloc;
}

static void put_csv_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc((unsigned char)*s < 0x20 ? '?' : *s, f);
	}
	fputc('"', f);
}

static const char *const sort_titles[] = {"Module", "Bytes", "Outstanding Allocations"};
static const char *const sort_names[] = {"module", "bytes", "count"};

static void print_text(FILE *f, const struct pt_view *v, const struct kmod *m, size_t n,
		       size_t shown, const struct pt_kused_opts *o, uint64_t tc, uint64_t tb,
		       size_t th, size_t tinexact)
{
	char b1[600], b2[300], lab[300];

	fprintf(f, " %s, %zu module%s, %zu site%s holding memory\n", pt_view_name(v, b1, sizeof(b1)),
		n, n == 1 ? "" : "s", th, th == 1 ? "" : "s");
	fprintf(f, " Sorting by %s%s\n\n", sort_titles[o->sort], o->reverse ? " (reversed)" : "");
	fprintf(f, " %-24s %10s %14s %6s\n", "Module", "Allocs", "Bytes", "Sites");
	for (size_t i = 0; i < shown; i++) {
		fprintf(f, " %-24s %10" PRIu64 " %14" PRIu64 " %6zu%s\n",
			pt_kmod_label(m[i].module, lab, sizeof(lab)), m[i].count, m[i].bytes,
			m[i].holding, m[i].inexact ? " *" : "");
		for (size_t j = 0; o->sites && j < m[i].t->nsites; j++) {
			const struct pt_row *r = m[i].t->sites[j];
			if (!holds(r))
				continue;
			fprintf(f, " %-24s %10" PRIu64 " %14" PRIu64 "        %s:%" PRIu32 " func:%s%s\n",
				"", r->nallocs, r->bytes_alloc, pt_safe_str(r->file, b1, sizeof(b1)),
				r->line, pt_safe_str(r->func, b2, sizeof(b2)),
				r->flags & PT_ROW_INEXACT ? " *" : "");
		}
	}
	if (shown < n)
		fprintf(f, " ... %zu more modules not shown (-t %ld)\n", n - shown, o->top);
	fprintf(f, " %-24s %10" PRIu64 " %14" PRIu64 " %6zu\n", "TOTAL", tc, tb, th);
	if (tinexact)
		fprintf(f, " * %zu site%s marked inaccurate by the kernel (accurate:no, or a count "
			   "read below zero): the true counts may be higher\n",
			tinexact, tinexact == 1 ? "" : "s");
}

static void print_json(FILE *f, const struct pt_view *v, const struct kmod *m, size_t shown,
		       const struct pt_kused_opts *o, uint64_t tc, uint64_t tb, size_t th)
{
	fprintf(f, "{\"format\":\"pooltag-kernel-used\",\"version\":1,\"source\":");
	pt_json_str(f, v->kernel_source);
	fprintf(f, ",\"allocinfo_version\":");
	pt_json_str(f, v->kernel_format);
	fprintf(f, ",\"taken_ns\":%" PRId64 ",\"sort\":\"%s\",\"modules\":[", v->taken_ns,
		sort_names[o->sort]);
	for (size_t i = 0; i < shown; i++) {
		int loaded = pt_kmod_loaded(v, m[i].module);
		fprintf(f, "%s{\"module\":", i ? "," : "");
		pt_json_str(f, m[i].module);
		fprintf(f, ",\"loaded\":%s,\"allocs\":%" PRIu64 ",\"bytes\":%" PRIu64
			   ",\"sites_holding\":%zu,\"inexact_sites\":%zu",
			loaded < 0 ? "null" : loaded ? "true" : "false", m[i].count, m[i].bytes,
			m[i].holding, m[i].inexact);
		if (o->sites) {
			size_t k = 0;
			fprintf(f, ",\"sites\":[");
			for (size_t j = 0; j < m[i].t->nsites; j++) {
				const struct pt_row *r = m[i].t->sites[j];
				if (!holds(r))
					continue;
				fprintf(f, "%s{\"file\":", k++ ? "," : "");
				pt_json_str(f, r->file);
				fprintf(f, ",\"line\":%" PRIu32 ",\"function\":", r->line);
				pt_json_str(f, r->func);
				fprintf(f, ",\"allocs\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"accurate\":%s}",
					r->nallocs, r->bytes_alloc,
					r->flags & PT_ROW_INEXACT ? "false" : "true");
			}
			fputc(']', f);
		}
		fputc('}', f);
	}
	fprintf(f, "],\"total\":{\"allocs\":%" PRIu64 ",\"bytes\":%" PRIu64
		   ",\"sites_holding\":%zu}}\n",
		tc, tb, th);
}

static void print_csv(FILE *f, const struct kmod *m, size_t shown, const struct pt_kused_opts *o)
{
	fprintf(f, "module,file,line,function,allocs,bytes,accurate\n");
	for (size_t i = 0; i < shown; i++) {
		if (!o->sites) {
			put_csv_str(f, m[i].module);
			fprintf(f, ",\"\",0,\"\",%" PRIu64 ",%" PRIu64 ",%s\n", m[i].count, m[i].bytes,
				m[i].inexact ? "no" : "yes");
			continue;
		}
		for (size_t j = 0; j < m[i].t->nsites; j++) {
			const struct pt_row *r = m[i].t->sites[j];
			if (!holds(r))
				continue;
			put_csv_str(f, m[i].module);
			fputc(',', f);
			put_csv_str(f, r->file);
			fprintf(f, ",%" PRIu32 ",", r->line);
			put_csv_str(f, r->func);
			fprintf(f, ",%" PRIu64 ",%" PRIu64 ",%s\n", r->nallocs, r->bytes_alloc,
				r->flags & PT_ROW_INEXACT ? "no" : "yes");
		}
	}
}

int pt_kused_print(FILE *f, const struct pt_view *v, const struct pt_kused_opts *o)
{
	struct pt_tally *t = NULL;
	struct kmod *m;
	size_t nt = 0, n = 0, shown, th = 0, tinexact = 0;
	uint64_t tc = 0, tb = 0;

	if (pt_tally_build(v, NULL, &t, &nt) != 0)
		return -1;
	m = calloc(nt + 1, sizeof(*m));
	if (!m) {
		pt_tally_free(t, nt);
		return -1;
	}
	for (size_t i = 0; i < nt; i++) {
		struct kmod *k = &m[n];
		/* Every row of a tally has the module of its id. */
		if (!pt_kmod_match(o->pattern, t[i].sites[0]->module))
			continue;
		k->t = &t[i];
		k->module = t[i].sites[0]->module;
		for (size_t j = 0; j < t[i].nsites; j++) {
			const struct pt_row *r = t[i].sites[j];
			k->count += r->nallocs;
			k->bytes += r->bytes_alloc;
			k->holding += holds(r);
			k->inexact += (r->flags & PT_ROW_INEXACT) != 0;
		}
		tc += k->count;
		tb += k->bytes;
		th += k->holding;
		tinexact += k->inexact;
		n++;
	}
	g_sort = o->sort;
	g_reverse = o->reverse;
	qsort(m, n, sizeof(*m), cmp_kmod);
	shown = o->top >= 0 && (size_t)o->top < n ? (size_t)o->top : n;
	if (o->fmt == PT_KFMT_JSON)
		print_json(f, v, m, shown, o, tc, tb, th);
	else if (o->fmt == PT_KFMT_CSV)
		print_csv(f, m, shown, o);
	else
		print_text(f, v, m, n, shown, o, tc, tb, th, tinexact);
	free(m);
	pt_tally_free(t, nt);
	return 0;
}
