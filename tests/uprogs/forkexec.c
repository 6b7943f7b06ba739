/*
 * forkexec.c - forks; the child leaks a block, then executes PROGRAM ARGS;
 * the parent waits and prints the child's status (tests/e2e/run.bats).
 * Knows nothing of pooltag.  usage: forkexec PROGRAM [ARGS...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char *mine;
	pid_t pid;
	int st;

	if (argc < 2)
		return 2;
	mine = malloc(100);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		if (!malloc(77)) /* CHILD leak */
			_exit(1);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid)
		return 1;
	printf("child exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	free(mine);
	return 0;
}
