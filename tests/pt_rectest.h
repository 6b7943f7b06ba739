/*
 * pt_rectest.h - what the tests of recordings and of their trends share: a
 * process's view built in the test, one row at a time, as a recording's
 * sample holds it.
 */
#ifndef PT_RECTEST_H
#define PT_RECTEST_H

#include <stdint.h>
#include <string.h>

#include "pt_test.h"
#include "view.h"

/* A row of tag at line of a.c in f of prog: na allocations and nf frees of
 * size bytes each. */
static void row(struct pt_view *v, const char *tag, uint32_t pool, uint32_t line, uint64_t na,
                uint64_t nf, uint64_t size)
{
	struct pt_row r = {.tag = (uint32_t)tag[0] | (uint32_t)tag[1] << 8 |
	                          (uint32_t)tag[2] << 16 | (uint32_t)tag[3] << 24,
	                   .pool = pool,
	                   .line = line,
	                   .file = "a.c",
	                   .func = "f",
	                   .module = "prog",
	                   .nallocs = na,
	                   .nfrees = nf,
	                   .bytes_alloc = na * size,
	                   .bytes_freed = nf * size};

	PT_CHECK_EQ(pt_view_add_row(v, &r), 0);
}

/* A fresh view of pid 4242 taken at taken, its command name odd on purpose. */
static void head(struct pt_view *v, int64_t taken)
{
	pt_view_init(v);
	v->pid = 4242;
	v->uid = 7;
	strcpy(v->comm, "odd\tname%\x01\xff");
	v->created_ns = 5;
	v->start_ticks = 99;
	v->taken_ns = taken;
}

#endif /* PT_RECTEST_H */
