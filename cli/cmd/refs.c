/*
 * refs.c - `pooltag refs`: the references and handles a process holds, by
 * the module that took them, the object type (tag) and the line.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "segfmt.h"
#include "tally.h"

static int cmp_row(const void *a, const void *b)
{
	const struct pt_row *x = *(const struct pt_row *const *)a;
	const struct pt_row *y = *(const struct pt_row *const *)b;
	uint64_t hx = x->nallocs - x->nfrees, hy = y->nallocs - y->nfrees;
	int c = strcmp(x->module, y->module);

	if (c)
		return c;
	if (hx != hy)
		return hx > hy ? -1 : 1;
	return x->pool != y->pool ? (x->pool < y->pool ? -1 : 1) : memcmp(&x->tag, &y->tag, 4);
}

int pt_cmd_refs(int argc, char **argv)
{
	static const struct option longs[] = {
		{"all", no_argument, 0, 'a'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	const struct pt_row **rows = NULL;
	struct pt_view v;
	size_t n = 0;
	uint64_t held = 0;
	int c, all = 0, rc = 1;
	char err[1024], b1[256], b2[256], b3[128], tag[5];

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "ah", longs, NULL)) != -1) {
		if (c == 'a') {
			all = 1;
		} else if (c == 'h') {
			printf("usage: pooltag refs [--all] PID|SEGMENT|SNAPSHOT\n");
			return 0;
		} else {
			return pt_getopt_err("refs", argv);
		}
	}
	if (argc - optind != 1)
		return pt_usage_err("refs", "wants one PID, segment or snapshot");
	pt_view_init(&v);
	if (pt_target_load(argv[optind], &v, err, sizeof(err)) != 0) {
		pt_err("%s", err);
		goto out;
	}
	if (v.import_format || v.kernel_format) {
		pt_err("%s: %s%s%s records no references or handles", argv[optind],
		       v.kernel_format ? "the kernel's allocinfo" : "a ",
		       v.kernel_format ? "" : v.import_format, v.kernel_format ? "" : " dump");
		goto out;
	}
	rows = calloc(v.nrows + 1, sizeof(*rows));
	if (!rows) {
		pt_err("out of memory");
		goto out;
	}
	for (size_t i = 0; i < v.nrows; i++) {
		const struct pt_row *r = &v.rows[i];
		if (r->pool >= PT_SEG_CLASS_REFS && (all || r->nallocs > r->nfrees)) {
			rows[n++] = r;
			held += r->nallocs - r->nfrees;
		}
	}
	qsort(rows, n, sizeof(*rows), cmp_row);
	printf(" pid %d (%s): %" PRIu64 " references and handles held\n", (int)v.pid,
	       pt_safe_str(v.comm, b1, sizeof(b1)), held);
	if (n) {
		printf("\n %-20s %-8s %-4s %10s %10s %10s  %s\n", "Module", "Kind", "Tag", "Held",
		       "Taken", "Released", "Acquired at");
	}
	for (size_t i = 0; i < n; i++) {
		const struct pt_row *r = rows[i];
		printf(" %-20s %-8s %-4s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "  %s:%u in %s\n",
		       pt_safe_str(*r->module ? r->module : "?", b3, sizeof(b3)),
		       r->pool == PT_SEG_CLASS_REFS ? "refs" : "handles", pt_tag_print(r->tag, tag),
		       r->nallocs - r->nfrees, r->nallocs, r->nfrees,
		       pt_safe_str(*r->file ? r->file : "?", b1, sizeof(b1)), r->line,
		       pt_safe_str(*r->func ? r->func : "?", b2, sizeof(b2)));
	}
	rc = pt_flush_stdout();
out:
	free(rows);
	pt_view_free(&v);
	return rc;
}
