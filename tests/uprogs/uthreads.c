/*
 * uthreads.c - threads allocating and freeing at once, knowing nothing of
 * pooltag (tests/e2e/run.bats).
 *
 * usage: uthreads THREADS STEPS KEEP
 * Each thread runs STEPS steps over a ring of live blocks (free one,
 * allocate another of 8 to 519 bytes, with malloc, calloc or realloc), then
 * frees its ring, except KEEP blocks of 48 bytes it allocates at the KEEP
 * line and leaves.  Prints a checksum of the data written, the same with or
 * without pooltag.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING 256

static long steps, keep;

static void *run(void *arg)
{
	uintptr_t seed = (uintptr_t)arg * 2654435761u + 1, sum = 0;
	unsigned char *ring[RING] = {0};

	for (long i = 0; i < steps; i++) {
		size_t k = (size_t)(seed % RING), n;
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		n = 8 + (size_t)((seed >> 33) % 512);
		switch ((seed >> 20) % 3) {
		case 0:
			free(ring[k]);
			ring[k] = malloc(n);
			break;
		case 1:
			free(ring[k]);
			ring[k] = calloc(1, n);
			break;
		default:
			ring[k] = realloc(ring[k], n);
			break;
		}
		if (!ring[k])
			abort();
		ring[k][n - 1] = (unsigned char)i;
		sum += ring[k][n - 1] + n;
	}
	for (int k = 0; k < RING; k++)
		free(ring[k]);
	for (long i = 0; i < keep; i++)
		if (!malloc(48)) /* KEEP line */
			abort();
	return (void *)sum;
}

int main(int argc, char **argv)
{
	pthread_t t[64];
	uintptr_t total = 0;
	int n;

	if (argc != 4)
		return 2;
	n = atoi(argv[1]);
	steps = atol(argv[2]);
	keep = atol(argv[3]);
	if (n < 1 || n > 64)
		return 2;
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, run, (void *)(uintptr_t)(i + 1)) != 0)
			return 1;
	for (int i = 0; i < n; i++) {
		void *r;
		pthread_join(t[i], &r);
		total += (uintptr_t)r;
	}
	printf("checksum %lu\n", (unsigned long)total);
	return 0;
}
