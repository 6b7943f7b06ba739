/*
 * grower.c - allocations that follow the clock, for recording and trends
 * (tests/e2e/record.bats).
 *
 * usage: grower leak|noleak
 *
 * Every couple of milliseconds it brings each tag's outstanding blocks to a
 * target set by the time since it started, so what a recorder samples does
 * not depend on how often the program got the CPU:
 *   "Leak"  100 bytes, LEAK_RATE more per second, never freed (leak only)
 *   "Wave"  256 bytes, rises from 0 to WAVE_TOP and back every WAVE_MS
 *   "Chrn"  32 bytes, one allocated and freed at each step (never outstanding)
 * Prints "pid N" and "running".  It exits at the end of its input, or on a
 * line "quit", freeing everything.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pooltag.h>

#define LEAK_RATE 200 /* blocks per second */
#define WAVE_TOP  50
#define WAVE_MS   400
#define MAX_LEAK  (LEAK_RATE * 600)

static void *leak[MAX_LEAK], *wave[WAVE_TOP];
static size_t nleak, nwave;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A triangle: 0 at the start of each period, WAVE_TOP in its middle. */
static size_t wave_target(double t)
{
	double phase = t * 1000 / WAVE_MS;

	phase -= (double)(long)phase;
	return (size_t)(WAVE_TOP * (phase < 0.5 ? 2 * phase : 2 * (1 - phase)));
}

static void step(double t, int leaking)
{
	size_t want = leaking ? (size_t)(t * LEAK_RATE) : 0, w = wave_target(t);
	void *c;

	while (nleak < want && nleak < MAX_LEAK)
		leak[nleak++] = pt_alloc(PT_PAGED, 100, "Leak");
	while (nwave < w)
		wave[nwave++] = pt_alloc(PT_PAGED, 256, "Wave");
	while (nwave > w)
		pt_free(wave[--nwave], "Wave");
	c = pt_alloc(PT_PAGED, 32, "Chrn");
	pt_free(c, "Chrn");
}

int main(int argc, char **argv)
{
	struct pollfd in = {.fd = 0, .events = POLLIN};
	int leaking = argc > 1 && strcmp(argv[1], "leak") == 0;
	double start = now_s();
	char line[64];

	if (argc != 2 || (!leaking && strcmp(argv[1], "noleak") != 0)) {
		fprintf(stderr, "usage: grower leak|noleak\n");
		return 2;
	}
	pt_tag_describe("Leak", "Blocks nobody frees", "grower");
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("pid %d\n", (int)getpid());
	step(0, leaking);
	printf("running\n");
	for (;;) {
		int r = poll(&in, 1, 2);

		if (r > 0 && (!fgets(line, sizeof(line), stdin) || strcmp(line, "quit\n") == 0))
			break;
		step(now_s() - start, leaking);
	}
	while (nleak)
		pt_free(leak[--nleak], "Leak");
	while (nwave)
		pt_free(wave[--nwave], "Wave");
	return 0;
}
