/*
 * test_hooks.c - the interposer's malloc family (preload/hooks.c), in a
 * test program linked with the interposer: its malloc, calloc and free are
 * the hooks.  calloc's memory is zero even where a block freed dirty is
 * handed out again; calloc's overflow fails; a block's usable size is what
 * was asked.
 *
 * The calls go through volatile function pointers: the compiler knows what
 * malloc and calloc return and could otherwise fold a store to freed memory,
 * or a read of calloc's, away.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "preload.h"
#include "pt_test.h"

static void *(*volatile do_malloc)(size_t) = malloc;
static void *(*volatile do_calloc)(size_t, size_t) = calloc;
static void (*volatile do_free)(void *) = free;

/* The hooks are this program's own: the interposer started, and a block's
 * usable size is exactly what was asked (glibc's own would round up). */
PT_TEST(test_interposed)
{
	void *p = do_malloc(13);

	PT_CHECK_EQ(pt_run_ready, 1);
	PT_CHECK(p != NULL);
	PT_CHECK_EQ(malloc_usable_size(p), 13);
	do_free(p);
}

/* Blocks of each size are filled, freed and asked for again with calloc,
 * which glibc then serves from the same chunks: every byte must be zero.
 * Sizes from a tcache bin to the mmap threshold and past it. */
PT_TEST(test_calloc_zeroes_reused_memory)
{
	static const size_t sizes[] = {1, 24, 100, 1000, 5000, 100000, 200000};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i], dirty = 0;
		unsigned char *p = do_malloc(n), *q;

		PT_CHECK(p != NULL);
		if (!p)
			continue;
		memset(p, 0xa5, n);
		do_free(p);
		q = do_calloc(1, n);
		PT_CHECK(q != NULL);
		for (size_t k = 0; q && k < n; k++)
			dirty += q[k] != 0;
		if (dirty)
			PT_FAIL_("calloc(1, %zu): %zu bytes not zero", n, dirty);
		PT_CHECK_EQ(q ? malloc_usable_size(q) : 0, n);
		do_free(q);
	}
}

PT_TEST(test_calloc_overflow)
{
	errno = 0;
	PT_CHECK(do_calloc(SIZE_MAX / 2, 3) == NULL);
	PT_CHECK_EQ(errno, ENOMEM);
}

int main(void)
{
	PT_RUN(test_interposed);
	PT_RUN(test_calloc_zeroes_reused_memory);
	PT_RUN(test_calloc_overflow);
	return pt_test_done();
}
