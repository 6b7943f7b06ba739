/*
 * overrun.c - a program that knows nothing of pooltag and writes past a
 * block, or uses one after freeing it (tests/e2e/run.bats runs it under
 * the special pool: POOLTAG=special=...).
 *
 * usage: overrun over|uaf
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The freed pointer is used through this, out of the compiler's sight (the
 * use after free is the point). */
static volatile char *volatile kept;

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "over";
	volatile char *p = malloc(24); /* ALLOC */

	if (!p)
		return 2;
	if (!strcmp(mode, "over")) {
		p[32] = 'x'; /* OVERRUN: past the end, onto the guard page */
		free((void *)p);
	} else {
		kept = p;
		free((void *)p); /* FREE */
		kept[0] = 'y'; /* USE: after free */
	}
	printf("done\n");
	return 0;
}
