/*
 * runplug.c - a plugin that knows nothing of pooltag, for the unit tests
 * of the interposer (tests/test_fds.c, test_report.c).  Those test programs
 * are linked with the interposer, and the interposer counts nothing its
 * own module does: what is to be counted is done from here, a module of
 * its own, as a program's library would.  Each call's line is in a
 * variable the tests read; no call is a tail call, so the interposer sees
 * this module as the caller.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int runplug_open(const char *path);
void *runplug_alloc_a(size_t n);
void *runplug_alloc_b(size_t n);
extern int runplug_open_line, runplug_a_line, runplug_b_line;

int runplug_open_line, runplug_a_line, runplug_b_line;

__attribute__((noinline)) int runplug_open(const char *path)
{
	int fd;

	runplug_open_line = __LINE__ + 1;
	fd = open(path, O_RDONLY);
	__asm__ volatile("");
	return fd;
}

__attribute__((noinline)) void *runplug_alloc_a(size_t n)
{
	void *p;

	runplug_a_line = __LINE__ + 1;
	p = malloc(n);
	__asm__ volatile("");
	return p;
}

__attribute__((noinline)) void *runplug_alloc_b(size_t n)
{
	void *p;

	runplug_b_line = __LINE__ + 1;
	p = malloc(n);
	__asm__ volatile("");
	return p;
}
