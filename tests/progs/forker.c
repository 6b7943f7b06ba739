/*
 * forker.c - a parent and its fork child, each with its own counters
 * (tests/e2e/live.bats).
 *
 * usage: forker K J
 *
 * The parent describes "Prnt", allocates K "Prnt" blocks, prints
 * "parent PID" and forks.  The child allocates J "Chld" blocks and prints
 * "child PID".  The child then waits for "quit" (or the end of standard
 * input), frees what it holds, its own blocks and its copies of the
 * parent's, and exits; the parent waits for it, frees its blocks and exits.
 * So while the child waits, the parent's segment must show K "Prnt" and no
 * "Chld", and the child's must show the inherited K "Prnt" plus J "Chld".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pooltag.h>

#define MAX_BLOCKS 100000

static void *prnt[MAX_BLOCKS], *chld[MAX_BLOCKS];

/* The child's life: allocate, report, wait for the word, free, exit. */
static int child(long j, long k)
{
	char line[64];

	for (long i = 0; i < j; i++)
		if (!(chld[i] = pt_alloc(PT_PAGED, 48, "Chld")))
			return 1;
	printf("child %d\n", (int)getpid());
	while (fgets(line, sizeof(line), stdin) && strncmp(line, "quit", 4) != 0)
		;
	for (long i = 0; i < j; i++)
		pt_free(chld[i], "Chld");
	for (long i = 0; i < k; i++)
		pt_free(prnt[i], "Prnt");
	return 0;
}

int main(int argc, char **argv)
{
	long k = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
	long j = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
	int status;
	pid_t pid;

	if (argc != 3 || k < 1 || k > MAX_BLOCKS || j < 1 || j > MAX_BLOCKS) {
		fprintf(stderr, "usage: forker K J, each 1 to %d\n", MAX_BLOCKS);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* The description lives in the segment's string area: the child's copy
	 * must carry it. */
	pt_tag_describe("Prnt", "Parent blocks", "forker");
	for (long i = 0; i < k; i++)
		if (!(prnt[i] = pt_alloc(PT_PAGED, 32, "Prnt")))
			return 1;
	printf("parent %d\n", (int)getpid());
	fflush(stdout); /* or the child would print the line a second time */
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0)
		return child(j, k);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return 1;
	for (long i = 0; i < k; i++)
		pt_free(prnt[i], "Prnt");
	return 0;
}
