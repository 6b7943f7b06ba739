/*
 * misuser.c - one memory error on purpose, for the special pool's
 * end-to-end tests (tests/e2e/special.bats).  The POOLTAG environment
 * variable configures the special pool and the verifier's action.
 *
 * usage: misuser overrun|underrun|uaf|slack|padunder|clean
 *
 * Allocates a 40-byte "Bug1" block at a line of its own (alloc_here), then:
 * overrun writes the byte after the 48 the block rounds up to, underrun the
 * byte 17 below it (under the header), uaf frees it and reads it, slack
 * writes the byte just after its end and frees it, padunder writes the
 * byte 17 below it (in the fill before the header when the guard page is
 * after the block) and frees it, clean frees it.  Then
 * prints "done" and exits 0 (reached when the finding's action continues).
 */
#include <stdio.h>
#include <string.h>

#include <pooltag.h>

/* No tail calls: the frames stay in the stacks the reports print. */
static __attribute__((noinline)) char *alloc_here(void)
{
	char *p = pt_alloc(PT_PAGED, 40, "Bug1");
	__asm__ volatile("" ::: "memory");
	return p;
}

static __attribute__((noinline)) void free_here(char *p)
{
	pt_free(p, "Bug1");
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	volatile char *p;
	const char *what = argc == 2 ? argv[1] : "";

	p = alloc_here();
	if (!p)
		return 1;
	if (!strcmp(what, "overrun")) {
		p[48] = 1;
	} else if (!strcmp(what, "underrun")) {
		(void)p[-17];
	} else if (!strcmp(what, "uaf")) {
		free_here((char *)p);
		(void)p[8];
		p = NULL;
	} else if (!strcmp(what, "slack")) {
		p[40] = 1;
	} else if (!strcmp(what, "padunder")) {
		p[-17] = 1;
	} else if (strcmp(what, "clean") != 0) {
		fprintf(stderr, "usage: misuser overrun|underrun|uaf|slack|padunder|clean\n");
		return 2;
	}
	if (p)
		free_here((char *)p);
	printf("done\n");
	return 0;
}
