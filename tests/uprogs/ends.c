/*
 * ends.c - a program that knows nothing of pooltag and ends in the ways
 * pooltag run must give a verdict for (tests/e2e/verdict.bats).  Each mode
 * first leaks one block of 64 bytes at the LEAK line.
 *
 * usage: ends MODE
 *   closeerr   closes standard output and error at exit, as gnulib's
 *              close_stdout does, and exits 0
 *   _exit      leaves by _exit(4)
 *   exitgroup  leaves by syscall(SYS_exit_group, 5)
 *   segv       dies of SIGSEGV (a write through a null pointer)
 *   abort      dies of SIGABRT
 *   handler    sets its own SIGTERM handler, reads back what was set before
 *              (prints "SIGTERM was default"), raises it, exits 6 from it
 *   fork       a child leaks 10 blocks of 32 bytes (FORK line) and exits;
 *              the parent waits and exits 0
 *   vfork      a vfork child closes the parent's file (opened at VFORK open)
 *              and dup2s onto it, then _exits; the parent keeps its file
 *   dfree      frees a block twice (DFREE line), and a pointer into a block
 *   fdnums     opens files and prints the descriptor numbers it got
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void close_std(void)
{
	fclose(stdout);
	fclose(stderr);
}

static void on_term(int sig)
{
	(void)sig;
	_exit(6);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	volatile char *leak = malloc(64); /* LEAK */

	if (!leak)
		return 2;
	leak[0] = 1;
	if (strcmp(mode, "closeerr") == 0) {
		atexit(close_std);
		printf("done\n");
		return 0;
	}
	if (strcmp(mode, "_exit") == 0)
		_exit(4);
	if (strcmp(mode, "exitgroup") == 0)
		syscall(SYS_exit_group, 5);
	if (strcmp(mode, "segv") == 0) {
		fflush(stdout);
		*(volatile int *)0 = 1;
	}
	if (strcmp(mode, "abort") == 0)
		abort();
	if (strcmp(mode, "handler") == 0) {
		struct sigaction sa, old;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_term;
		sigaction(SIGTERM, &sa, &old);
		printf("SIGTERM was %s\n", old.sa_handler == SIG_DFL ? "default" : "something else");
		fflush(stdout);
		raise(SIGTERM);
		return 1;
	}
	if (strcmp(mode, "fork") == 0) {
		pid_t pid;
		int st;
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			for (int i = 0; i < 10; i++)
				if (!malloc(32)) /* FORK */
					_exit(1);
			exit(0);
		}
		if (pid < 0 || waitpid(pid, &st, 0) != pid)
			return 1;
		printf("child exited %d\n", WEXITSTATUS(st));
		return 0;
	}
	if (strcmp(mode, "vfork") == 0) {
		int fd = open("/dev/null", O_RDONLY); /* VFORK open */
		pid_t pid;
		int st;
		if (fd < 0)
			return 1;
		pid = vfork();
		if (pid == 0) {
			close(fd);
			dup2(0, fd);
			_exit(0);
		}
		if (pid < 0 || waitpid(pid, &st, 0) != pid)
			return 1;
		printf("parent still has fd %d\n", fd);
		return 0;
	}
	if (strcmp(mode, "dfree") == 0) {
		/* Through volatile pointers: the compiler may not drop the frees. */
		char *volatile p = malloc(16); /* DFREE alloc */
		char *volatile q = malloc(32), *volatile inner;
		inner = q + 8;
		free(p);
		free(p);     /* DFREE */
		free(inner); /* INTERIOR */
		free(q);
		printf("freed\n");
		return 0;
	}
	if (strcmp(mode, "fdnums") == 0) {
		int a = open("/dev/null", O_RDONLY);
		int b[2];
		if (pipe(b) != 0)
			return 1;
		FILE *f = fopen("/dev/null", "r");
		int c = dup(a);
		printf("open %d pipe %d %d fopen %d dup %d\n", a, b[0], b[1], f ? fileno(f) : -1, c);
		return 0;
	}
	return 3;
}
