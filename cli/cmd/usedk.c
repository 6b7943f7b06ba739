/*
 * usedk.c - `pooltag used kernel`: the kernel's table (kused.c), modules in
 * the tags' place, one count and one byte column, since the kernel counts
 * what is outstanding only.
 */
#include <stdio.h>

#include "kview.h"
#include "used.h"

int pt_used_kernel(const struct used_opts *o, const struct pt_view *v)
{
	static const enum pt_ksort ksort[] = {PT_KSORT_MODULE, PT_KSORT_BYTES, PT_KSORT_BYTES,
					      PT_KSORT_COUNT, PT_KSORT_COUNT};
	struct pt_kused_opts ko = {.sort = ksort[o->sort], .reverse = o->reverse,
				   .sites = o->sites, .top = o->top, .pattern = o->pattern,
				   .fmt = o->c.fmt == PT_EMIT_JSON  ? PT_KFMT_JSON
					  : o->c.fmt == PT_EMIT_CSV ? PT_KFMT_CSV
								    : PT_KFMT_TEXT};

	if (o->suspects) {
		pt_err("%s: --suspects needs allocations and frees, and the kernel counts what is outstanding only: compare two reads with 'pooltag diff'",
		       o->target);
		return 1;
	}
	if (o->sort == USED_SORT_PAGED)
		return pt_usage_err("used", "the kernel's memory is never paged: sort by module, bytes or count");
	if (pt_kused_print(stdout, v, &ko) != 0) {
		pt_err("out of memory");
		return 1;
	}
	return pt_flush_stdout();
}
