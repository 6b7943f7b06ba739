/*
 * usampler.c - tests/progs/sampler.c with the C library's malloc and free,
 * for the sampled stacks of `pooltag run --track none` (sampled.bats): a
 * process holding memory through two call paths in a 3:1 ratio.  Commands on
 * standard input, one per line; each answers one line:
 *   pid      "pid N"
 *   alloc    allocates 48 MiB through build_a and 16 MiB through build_b,
 *            in 4 KiB blocks from one allocation site (grab): "ok"
 *   free_a   frees build_a's blocks: "ok"
 *   quit     frees everything and exits (so does the end of the input)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK 4096
#define NA (48 * 256) /* 48 MiB of 4 KiB blocks */
#define NB (16 * 256)

static void *a[NA], *b[NB];

/* The one allocation site both paths share: only the stack tells them apart. */
__attribute__((noinline)) static void *grab(size_t n)
{
	void *p = malloc(n);

	__asm__ volatile("" ::: "memory"); /* keeps this frame: no tail call */
	return p;
}

__attribute__((noinline)) static int build_a(void)
{
	for (int i = 0; i < NA; i++)
		if (!(a[i] = grab(BLOCK)))
			return -1;
	__asm__ volatile("" ::: "memory");
	return 0;
}

__attribute__((noinline)) static int build_b(void)
{
	for (int i = 0; i < NB; i++)
		if (!(b[i] = grab(BLOCK)))
			return -1;
	__asm__ volatile("" ::: "memory");
	return 0;
}

static void release(void **v, int n)
{
	for (int i = 0; i < n; i++) {
		free(v[i]);
		v[i] = NULL;
	}
}

int main(void)
{
	char line[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "quit", 4))
			break;
		else if (!strncmp(line, "pid", 3))
			printf("pid %d\n", (int)getpid());
		else if (!strncmp(line, "alloc", 5))
			printf("%s\n", build_a() == 0 && build_b() == 0 ? "ok" : "failed");
		else if (!strncmp(line, "free_a", 6))
			release(a, NA), printf("ok\n");
		else
			printf("unknown\n");
	}
	release(a, NA);
	release(b, NB);
	return 0;
}
