/*
 * errpath.c - a program that knows nothing of pooltag, with the seed's
 * kind of bug: the error path of its second allocation forgets the first
 * (tests/e2e/run.bats drives it with pooltag faults).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static char *label(const char *name)
{
	char *buf = malloc(64); /* FIRST */
	char *copy;

	if (!buf)
		return NULL;
	copy = strdup(name); /* SECOND */
	if (!copy)
		return NULL; /* buf leaks */
	snprintf(buf, 64, "[%s]", copy);
	free(copy);
	return buf;
}

int main(void)
{
	char *l = label("errpath");

	printf("%s\n", l ? l : "out of memory");
	free(l);
	return 0;
}
