/*
 * faulty.c - a program for pooltag faults: each mode has one kind of
 * error-path bug (or none).
 *
 *	faulty clean|leak|crash|misuse|hang|threads|pattern|slow
 *
 * leak: the second allocation's error path forgets the first (the seed's
 * shape); crash: an allocation used without a check; misuse: an error path
 * frees with the wrong tag; hang: an error path that never returns;
 * threads: a thread exists before the first allocation (no fork server),
 * and leaks like leak; pattern: 64 allocations, printed as . (done) or x
 * (failed); slow: 100 allocations, 20 ms each, for interrupting (creates
 * $FAULTY_MARK when one fails).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pooltag.h>

static int two(void)
{
	char *a = pt_alloc(PT_PAGED, 16, "FltA");
	char *b;

	if (!a)
		return -1;
	b = pt_alloc(PT_NONPAGED, 32, "FltB");
	if (!b)
		return -1; /* a leaks */
	pt_free(b, "FltB");
	pt_free(a, "FltA");
	return 0;
}

static void *idle(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

/* A plain fault (UBSan would stop the run at the null store first). */
__attribute__((noinline, no_sanitize("undefined"))) static void crash(void)
{
	char *a = pt_alloc(PT_PAGED, 8, "FltD");

	a[0] = 1; /* no check */
	pt_free(a, "FltD");
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "clean";

	if (!strcmp(mode, "clean")) {
		char *a = pt_alloc(PT_PAGED, 8, "FltC");
		pt_free(a, "FltC");
	} else if (!strcmp(mode, "leak")) {
		two();
	} else if (!strcmp(mode, "crash")) {
		crash();
	} else if (!strcmp(mode, "misuse")) {
		char *a = pt_alloc(PT_PAGED, 8, "FltE"), *b;
		if (a) {
			b = pt_alloc(PT_PAGED, 8, "FltF");
			if (b)
				pt_free(a, "FltE");
			else
				pt_free(a, "FltF"); /* the wrong tag */
			pt_free(b, "FltF");
		}
	} else if (!strcmp(mode, "hang")) {
		char *a = pt_alloc(PT_PAGED, 8, "FltG");
		while (!a)
			pause();
		pt_free(a, "FltG");
	} else if (!strcmp(mode, "threads")) {
		pthread_t t;
		pthread_create(&t, NULL, idle, NULL);
		two();
	} else if (!strcmp(mode, "pattern")) {
		for (int i = 0; i < 64; i++) {
			char *a = pt_alloc(PT_PAGED, 8, "FltI");
			putchar(a ? '.' : 'x');
			pt_free(a, "FltI");
		}
		putchar('\n');
	} else if (!strcmp(mode, "slow")) {
		/* $FAULTY_MARK, when set, is created once an allocation fails:
		 * the test interrupts the failing runs after that, not after a
		 * guess of how long the counting run takes. */
		const char *mark = getenv("FAULTY_MARK");
		for (int i = 0; i < 100; i++) {
			char *a = pt_alloc(PT_PAGED, 8, "FltH");
			int fd = !a && mark ? open(mark, O_WRONLY | O_CREAT, 0644) : -1;
			if (fd >= 0)
				close(fd);
			usleep(20000);
			pt_free(a, "FltH");
		}
	} else {
		fprintf(stderr, "usage: faulty clean|leak|crash|misuse|hang|threads|pattern|slow\n");
		return 2;
	}
	return 0;
}
