/*
 * leaky.c - a program that knows nothing of pooltag and leaks on purpose
 * (tests/e2e/run.bats): memory at known lines, through its own wrapper,
 * descriptors of several kinds, and descriptors closed again.
 *
 * usage: leaky [clean] [wait]
 * Prints "pid N".  Without "clean" it leaves what the LEAK lines take;
 * with "clean" it releases everything.  With "wait" it prints "ready" and
 * waits for a line on standard input before releasing and exiting.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The program's own allocation wrapper (run.bats skips it with --skip). */
__attribute__((noinline)) static void *my_xalloc(size_t n)
{
	void *p = malloc(n); /* WRAPPER line */
	if (!p)
		abort();
	return p;
}

__attribute__((noinline)) static char *make_name(const char *s)
{
	return strdup(s); /* LEAK strdup */
}

int main(int argc, char **argv)
{
	int clean = 0, wait = 0, fds[2];
	char line[64];

	for (int i = 1; i < argc; i++) {
		clean |= strcmp(argv[i], "clean") == 0;
		wait |= strcmp(argv[i], "wait") == 0;
	}
	printf("pid %d\n", (int)getpid());
	fflush(stdout);
	char *a = malloc(1000);                        /* LEAK malloc */
	int *b = calloc(25, sizeof(int));              /* LEAK calloc */
	char *c = make_name("a name");
	char *d = my_xalloc(300);                      /* LEAK wrapped */
	int fd = open("/dev/null", O_RDONLY);          /* LEAK open */
	int s = socket(AF_UNIX, SOCK_STREAM, 0);       /* LEAK socket */
	int p = pipe(fds);                             /* LEAK pipe */
	FILE *f = fopen("/dev/null", "r");             /* LEAK fopen */
	memset(a, 1, 1000);
	memset(d, 2, 300);
	if (fd < 0 || s < 0 || p != 0 || !f || !b || !c)
		return 3;
	/* Opened and closed again, three times on one number: nothing held. */
	for (int i = 0; i < 3; i++)
		close(open("/dev/null", O_RDONLY));      /* CLOSED open */
	if (wait) {
		printf("ready\n");
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			line[0] = 0;
	}
	if (clean) {
		free(a);
		free(b);
		free(c);
		free(d);
		close(fd);
		close(s);
		close(fds[0]);
		close(fds[1]);
		fclose(f);
	}
	return 0;
}
