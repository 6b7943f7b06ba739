/*
 * dblfree.c - a program that knows nothing of pooltag and frees blocks
 * twice whose memory went back to the system (tests/e2e/run.bats runs it
 * under pooltag run).
 *
 * usage: dblfree large|merged|special
 *   large    a block glibc serves from a mapping of its own (above its
 *            largest threshold, 32 MiB), unmapped on free
 *   merged   a heap block freed whole into the top of the heap
 *   special  (with POOLTAG=special=...) a block evicted from the special
 *            pool's quarantine, which holds one block
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Frees p through a pointer the compiler cannot see through (the double
 * free is the point). */
static void (*volatile release)(void *) = free;

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "large";

	if (!strcmp(mode, "large") || !strcmp(mode, "merged")) {
		char *p = malloc(!strcmp(mode, "large") ? (size_t)64 << 20 : 100000); /* ALLOC */
		if (!p)
			return 2;
		p[0] = 1;
		release(p);
		release(p); /* AGAIN */
	} else {
		char *a = malloc(100), *b = malloc(100); /* ALLOC */
		if (!a || !b)
			return 2;
		release(a);
		release(b); /* a leaves the quarantine */
		release(a); /* AGAIN */
	}
	printf("done\n");
	return 0;
}
