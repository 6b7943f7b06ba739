/*
 * closeall.c - closes every descriptor above standard error in one of the
 * ways daemons do, then writes a file and registers many new call sites
 * and threads (which makes pooltag run's interposer back new pages of its
 * segment).  The file must hold exactly what was written
 * (tests/e2e/segment.bats).
 *
 * After the close the file is put on every number from 3 to 255, so
 * whichever number the interposer's descriptor had leads to the file.
 *
 * usage: closeall STYLE FILE
 *   STYLE: closefrom | syscall (the raw close_range system call) | loop (3..1023)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define M1 free(malloc(8));
#define M10 M1 M1 M1 M1 M1 M1 M1 M1 M1 M1
#define M100 M10 M10 M10 M10 M10 M10 M10 M10 M10 M10

static void *thread(void *arg)
{
	(void)arg;
	M10
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[4];
	struct stat st;
	int fd;

	if (argc != 3)
		return 2;
	if (strcmp(argv[1], "closefrom") == 0)
		closefrom(3);
	else if (strcmp(argv[1], "syscall") == 0)
		syscall(SYS_close_range, 3u, ~0u, 0u);
	else if (strcmp(argv[1], "loop") == 0)
		for (int i = 3; i < 1024; i++)
			close(i);
	else
		return 2;
	fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "0123456789", 10) != 10)
		return 1;
	/* Every low number is the file now, whichever the interposer had. */
	for (int i = 3; i < 256; i++)
		if (i != fd && dup2(fd, i) != i)
			return 1;
	M100 M100 M100
	for (int i = 0; i < 4; i++)
		if (pthread_create(&t[i], NULL, thread, NULL) != 0)
			return 1;
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	if (fstat(fd, &st) != 0 || close(fd) != 0)
		return 1;
	printf("size %lld\n", (long long)st.st_size);
	return 0;
}
