/*
 * fuzz_winimport.c - libFuzzer target for the Windows dump importer.
 *
 * Any bytes must import or be refused cleanly (ASan/UBSan watch the rest).
 * Besides sanitizer findings it aborts when a promise of winimport.h
 * breaks: a row with more frees than allocations, freed bytes, a pool that
 * is not paged or non-paged, call-site strings, frees in a view that has
 * outstanding counts only, rows in a refused input, or a report that does
 * not add up.  The same text must also import the same with CRLF line ends
 * and as UTF-16 with a byte order mark, the other ways Windows saves it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "winimport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int import(struct pt_view *v, const char *buf, size_t len, struct pt_winimport *info)
{
	char err[128];
	int rc;

	pt_view_init(v);
	rc = pt_winimport_parse(v, buf, len, "fuzz", info, err, sizeof(err));
	if (rc < -1 || rc > 1 || (rc < 0 && strcmp(err, "out of memory") != 0))
		abort();
	return rc;
}

static void check(const struct pt_view *v, int rc, const struct pt_winimport *info, size_t size)
{
	if (rc == 0 && (v->nrows || v->ndescs || v->import_format || info->ntables))
		abort();
	if (rc != 1)
		return;
	if (!v->import_format || !v->import_file || strcmp(v->import_format, info->format) ||
	    !info->ntables || info->line == 0 || info->nrows > size || info->nskipped > size ||
	    v->nrows > 2 * info->nrows || v->ndescs > info->nrows)
		abort();
	for (size_t i = 0; i < v->nrows; i++) {
		const struct pt_row *r = &v->rows[i];

		if (r->nfrees > r->nallocs || r->bytes_freed || r->pool > 1 || *r->file ||
		    *r->func || *r->module || r->line || (v->outstanding_only && r->nfrees) ||
		    (!r->nallocs && !r->bytes_alloc))
			abort();
	}
	for (size_t i = 0; i < v->ndescs; i++)
		if (!v->descs[i].binary || !v->descs[i].desc)
			abort();
}

static void same(const struct pt_view *a, const struct pt_view *b)
{
	if (a->nrows != b->nrows || a->ndescs != b->ndescs ||
	    a->outstanding_only != b->outstanding_only)
		abort();
	for (size_t i = 0; i < a->nrows; i++) {
		const struct pt_row *x = &a->rows[i], *y = &b->rows[i];
		if (x->tag != y->tag || x->pool != y->pool || x->nallocs != y->nallocs ||
		    x->nfrees != y->nfrees || x->bytes_alloc != y->bytes_alloc)
			abort();
	}
	for (size_t i = 0; i < a->ndescs; i++)
		if (a->descs[i].tag != b->descs[i].tag ||
		    strcmp(a->descs[i].desc, b->descs[i].desc) ||
		    strcmp(a->descs[i].binary, b->descs[i].binary))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_winimport info, info2;
	struct pt_view v, w;
	int rc, plain = size < 65536 && (size < 2 || data[0] != 0xff || data[1] != 0xfe) &&
	                (size < 3 || data[0] != 0xef);
	char *alt;
	size_t n = 0;

	rc = import(&v, (const char *)data, size, &info);
	check(&v, rc, &info, size);
	for (size_t i = 0; plain && i < size; i++)
		plain = data[i] != '\r' && data[i] < 0x80;
	if (plain && rc >= 0 && (alt = malloc(2 * size + 2))) {
		/* CRLF line ends. */
		for (size_t i = 0; i < size; i++) {
			if (data[i] == '\n')
				alt[n++] = '\r';
			alt[n++] = (char)data[i];
		}
		if (import(&w, alt, n, &info2) != rc || info2.nskipped != info.nskipped)
			abort();
		same(&v, &w);
		pt_view_free(&w);
		/* UTF-16LE after a byte order mark. */
		alt[0] = (char)0xff;
		alt[1] = (char)0xfe;
		for (size_t i = 0; i < size; i++) {
			alt[2 + 2 * i] = (char)data[i];
			alt[3 + 2 * i] = 0;
		}
		if (import(&w, alt, 2 + 2 * size, &info2) != rc || info2.nskipped != info.nskipped)
			abort();
		same(&v, &w);
		pt_view_free(&w);
		free(alt);
	}
	pt_view_free(&v);
	return 0;
}
