/*
 * semantics.c - the malloc family's documented behaviour, checked the same
 * way with or without pooltag run (tests/e2e/run.bats compares the output).
 * Knows nothing of pooltag.  Prints one "name: ok" or "name: FAILED" line
 * per check.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failed;

static void check(const char *name, int ok)
{
	printf("%s: %s\n", name, ok ? "ok" : "FAILED");
	failed |= !ok;
}

static int aligned(const void *p, size_t a)
{
	return ((uintptr_t)p & (a - 1)) == 0;
}

int main(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char *p, *q;
	void *v = NULL;
	int r;

	p = malloc(0);
	check("malloc(0) unique", p != NULL);
	free(p);
	free(NULL);
	check("free(NULL)", 1);
	p = malloc(100);
	check("malloc aligned 16", p && aligned(p, 16));
	memset(p, 'x', 100);
	q = realloc(p, 100000);
	check("realloc grows, keeps data", q && q[0] == 'x' && q[99] == 'x');
	p = realloc(q, 10);
	check("realloc shrinks, keeps data", p && p[9] == 'x');
	check("malloc_usable_size >= size", malloc_usable_size(p) >= 10);
	errno = 0;
	q = realloc(p, 0);
	check("realloc(p, 0) frees, NULL", q == NULL);
	p = realloc(NULL, 32);
	check("realloc(NULL, n) allocates", p != NULL);
	free(p);
	p = calloc(1000, 10);
	r = 1;
	for (int i = 0; p && i < 10000; i++)
		r &= p[i] == 0;
	check("calloc zeroed", p && r);
	free(p);
	/* Sizes from a volatile, so the compiler cannot see they are absurd. */
	volatile size_t huge = SIZE_MAX / 2;
	errno = 0;
	check("calloc overflow ENOMEM", calloc(huge, 4) == NULL && errno == ENOMEM);
	errno = 0;
	check("malloc huge ENOMEM", malloc(huge * 2 - 8) == NULL && errno == ENOMEM);
	p = malloc(8);
	errno = 0;
	q = reallocarray(p, huge, 4);
	check("reallocarray overflow ENOMEM, block kept", q == NULL && errno == ENOMEM);
	free(q ? q : p); /* a failed reallocarray leaves p allocated */
	r = posix_memalign(&v, 64, 1000);
	check("posix_memalign 64", r == 0 && aligned(v, 64));
	memset(v, 'y', 1000);
	p = realloc(v, 2000);
	check("realloc of aligned keeps data", p && p[999] == 'y');
	free(p);
	errno = 1234;
	v = (void *)1;
	r = posix_memalign(&v, 24, 10);
	check("posix_memalign bad alignment EINVAL, errno kept", r == EINVAL && errno == 1234 &&
								  v == (void *)1);
	r = posix_memalign(&v, 4096, 1);
	check("posix_memalign 4096", r == 0 && aligned(v, 4096));
	free(v);
	p = aligned_alloc(256, 512);
	check("aligned_alloc 256", p && aligned(p, 256));
	free(p);
	p = memalign(24, 100);
	check("memalign rounds alignment up", p && aligned(p, 32));
	free(p);
	p = valloc(10);
	check("valloc page aligned", p && aligned(p, page));
	free(p);
	p = pvalloc(page + 1);
	check("pvalloc rounds to pages", p && aligned(p, page) && malloc_usable_size(p) >= 2 * page);
	free(p);
	p = strdup("copy");
	check("strdup", p && strcmp(p, "copy") == 0);
	free(p);
	p = malloc(8 << 20);
	check("large block", p != NULL);
	if (p)
		memset(p, 1, 8 << 20);
	free(p);
	return failed;
}
