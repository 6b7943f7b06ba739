/*
 * closefds.c - closes every descriptor above standard error, as a daemon
 * does, then writes a file and registers many new call sites (which makes
 * pooltag run's interposer extend its segment).  The file must keep
 * exactly what was written (tests/e2e/run.bats).  usage: closefds FILE
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define M1 blocks[n++] = malloc(8);
#define M10 M1 M1 M1 M1 M1 M1 M1 M1 M1 M1
#define M100 M10 M10 M10 M10 M10 M10 M10 M10 M10 M10

static void *blocks[400];

int main(int argc, char **argv)
{
	struct stat st;
	int n = 0, fd;

	if (argc != 2 || close_range(3, ~0u, 0) != 0)
		return 2;
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "0123456789", 10) != 10)
		return 1;
	M100 M100 M100
	for (int i = 0; i < n; i++)
		free(blocks[i]);
	if (fstat(fd, &st) != 0 || close(fd) != 0)
		return 1;
	printf("size %lld\n", (long long)st.st_size);
	return 0;
}
