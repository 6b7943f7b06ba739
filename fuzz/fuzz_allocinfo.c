/*
 * fuzz_allocinfo.c - libFuzzer target for the /proc/allocinfo reader and
 * the kernel's tables.
 *
 * Any bytes must parse or be refused with "fuzz:LINE: reason" (ASan/UBSan
 * watch the rest).  Besides sanitizer findings it aborts when a promise of
 * allocinfo.h breaks: a refused input that leaves the view marked as the
 * kernel's, a row with frees or freed bytes, a pool other than non-paged,
 * an empty file or function, brackets in a module name, a count above
 * 2^63, two modules with one id or one module with two, or a report that
 * does not add up.  The tables of `used kernel` and `diff` are then
 * printed from the view (to /dev/null), so they meet the same input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocinfo.h"
#include "diff.h"
#include "kview.h"
#include "pooltag.h"
#include "used.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

static void check(const struct pt_view *v, const struct pt_allocinfo *info)
{
	if (!v->kernel_format || !v->kernel_source || !v->outstanding_only ||
	    (strcmp(v->kernel_format, "1.0") && strcmp(v->kernel_format, "2.0")) ||
	    info->nsites != v->nrows || info->ninexact > info->nsites)
		abort();
	for (size_t i = 0; i < v->nrows; i++) {
		const struct pt_row *r = &v->rows[i];

		if (r->nfrees || r->bytes_freed || r->pool != PT_NONPAGED || !*r->file ||
		    !*r->func || strchr(r->module, '[') || strchr(r->module, ']') ||
		    r->nallocs > INT64_MAX || r->bytes_alloc > INT64_MAX)
			abort();
		/* Ids: one per module.  Quadratic, so only on small inputs. */
		for (size_t j = 0; v->nrows < 200 && j < i; j++)
			if ((v->rows[j].tag == r->tag) != (strcmp(v->rows[j].module, r->module) == 0))
				abort();
	}
}

/* The table of `used kernel` (by bytes, with sites) in fmt. */
static void print_kused(const struct pt_view *v, const struct used_opts *o, enum pt_emit_fmt fmt)
{
	struct pt_kused k;
	struct pt_emit e;

	if (pt_kused_build(v, o->pattern, PT_KSORT_BYTES, 0, &k) == 0) {
		pt_emit_init(&e, devnull, fmt);
		pt_used_kernel_print(&e, v, &k, o);
	}
	pt_kused_free(&k);
}

/* The table of `diff` of v against itself. */
static void print_kdiff(const struct pt_view *v)
{
	struct pt_kdiff d;
	struct pt_emit e;

	if (pt_kdiff_build(v, v, &d) == 0) {
		pt_emit_init(&e, devnull, PT_EMIT_TEXT);
		pt_diff_kernel_print(&e, v, v, &d, -1);
	}
	pt_kdiff_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_allocinfo info;
	struct pt_view v;
	char err[256];
	int rc;

	if (!devnull && !(devnull = fopen("/dev/null", "w")))
		abort();
	pt_view_init(&v);
	rc = pt_allocinfo_parse(&v, (const char *)data, size, "fuzz", &info, err, sizeof(err));
	if (rc != 0 && rc != -1)
		abort();
	if (rc < 0) {
		if (v.kernel_format || (strncmp(err, "fuzz:", 5) && strcmp(err, "out of memory")))
			abort();
	} else {
		struct used_opts o = {.sort = USED_SORT_NONPAGED, .sites = 1, .top = -1};

		check(&v, &info);
		print_kused(&v, &o, PT_EMIT_TEXT);
		o.pattern = "*a*";
		print_kused(&v, &o, PT_EMIT_JSON);
		print_kused(&v, &o, PT_EMIT_CSV);
		print_kdiff(&v);
	}
	pt_view_free(&v);
	return 0;
}
