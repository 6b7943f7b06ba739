/*
 * herd.c - starts many processes at once that each make a segment, so that
 * `pooltag ls --clean` can be run against processes starting
 * (tests/e2e/segment.bats).  It allocates nothing itself.
 *
 * usage: herd N
 * Starts N copies of itself as members (one allocation each, which makes
 * the member's segment; then each waits for the end of its input).  Prints
 * "member PID" for each once it has its segment, then "all N".  At the end
 * of herd's own input it closes the members' input and waits for them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pooltag.h>

static int member(void)
{
	char buf[64];
	void *p = pt_alloc(PT_PAGED, 8, "Herd");

	/* Says where its segment is, then waits for the end of its input. */
	printf("member %d %s\n", (int)getpid(), pt_export_path() ? pt_export_path() : "none");
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	pt_free(p, "Herd");
	return 0;
}

int main(int argc, char **argv)
{
	int in[2], out[2];
	long n;
	char line[600];
	FILE *f;

	if (argc == 2 && strcmp(argv[1], "member") == 0)
		return member();
	if (argc != 2 || (n = strtol(argv[1], NULL, 10)) <= 0 || n > 10000 || pipe(in) || pipe(out))
		return 2;
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			dup2(in[0], 0);
			dup2(out[1], 1);
			close(in[0]);
			close(in[1]);
			close(out[0]);
			close(out[1]);
			execl("/proc/self/exe", argv[0], "member", (char *)NULL);
			_exit(127);
		}
	}
	close(in[0]);
	close(out[1]);
	f = fdopen(out[0], "r");
	for (long i = 0; i < n && f && fgets(line, sizeof(line), f); i++)
		fputs(line, stdout);
	printf("all %ld\n", n);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		;
	close(in[1]);
	while (wait(NULL) > 0)
		;
	return 0;
}
