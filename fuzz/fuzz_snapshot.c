/*
 * fuzz_snapshot.c - libFuzzer target for the snapshot reader.
 *
 * Any bytes must parse or fail cleanly (ASan/UBSan watch the rest).  When
 * they parse, the view must keep the promises view.h makes, and writing it
 * and reading it back must give the same view: the writer and the reader
 * agree on every input the reader accepts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pooltag.h"
#include "snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_view(const struct pt_view *v)
{
	size_t i;

	if (v->pid <= 0 || v->taken_ns < 0 || v->created_ns < 0 ||
	    memchr(v->comm, '\0', sizeof(v->comm)) == NULL)
		abort();
	for (i = 0; i < v->nrows; i++) {
		const struct pt_row *r = &v->rows[i];

		if (r->nfrees > r->nallocs || r->bytes_freed > r->bytes_alloc ||
		    r->pool > 3 || !r->file || !r->func || !r->module)
			abort();
		(void)strlen(r->file);
		(void)strlen(r->func);
	}
	for (i = 0; i < v->ndescs; i++)
		if (!v->descs[i].binary || !v->descs[i].desc)
			abort();
}

static void check_same(const struct pt_view *a, const struct pt_view *b)
{
	size_t i;

	if (a->pid != b->pid || a->uid != b->uid || strcmp(a->comm, b->comm) ||
	    a->taken_ns != b->taken_ns || a->created_ns != b->created_ns ||
	    a->start_ticks != b->start_ticks || a->nmisuse != b->nmisuse || a->nrows != b->nrows ||
	    a->ndescs != b->ndescs)
		abort();
	for (i = 0; i < a->nrows; i++) {
		const struct pt_row *x = &a->rows[i], *y = &b->rows[i];

		if (x->tag != y->tag || x->pool != y->pool || x->line != y->line ||
		    x->nallocs != y->nallocs || x->nfrees != y->nfrees ||
		    x->bytes_alloc != y->bytes_alloc || x->bytes_freed != y->bytes_freed ||
		    strcmp(x->file, y->file) || strcmp(x->func, y->func) ||
		    strcmp(x->module, y->module))
			abort();
	}
	for (i = 0; i < a->ndescs; i++)
		if (a->descs[i].tag != b->descs[i].tag ||
		    strcmp(a->descs[i].binary, b->descs[i].binary) ||
		    strcmp(a->descs[i].desc, b->descs[i].desc))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct pt_view v, w;
	char err[512];

	if (!path[0])
		snprintf(path, sizeof(path), "%s/fuzz_snapshot.%d",
		         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
	pt_view_init(&v);
	if (pt_snap_parse(&v, (const char *)data, size, "fuzz", err, sizeof(err)) == 0) {
		check_view(&v);
		pt_view_init(&w);
		if (pt_snap_write(&v, path, err, sizeof(err)) < 0 ||
		    pt_snap_read(&w, path, err, sizeof(err)) < 0) {
			fprintf(stderr, "round trip failed: %s\n", err);
			abort();
		}
		check_same(&v, &w);
		pt_view_free(&w);
		unlink(path);
	} else if (strncmp(err, "fuzz:", 5) || strchr(err, '\n')) {
		abort(); /* every error is one "NAME:LINE: reason" line */
	}
	pt_view_free(&v);
	return 0;
}
