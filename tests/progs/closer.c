/*
 * closer.c - a program linked with pooltag that closes every descriptor
 * above standard error the way daemons do, then opens, writes and keeps a
 * file while it registers many new call sites and starts threads (which
 * makes pooltag back new pages of its segment).  The file must hold exactly
 * what was written, with or without pooltag (tests/e2e/segment.bats).
 *
 * After the close the file is put on every number from 3 to 255, so
 * whichever number pooltag's descriptor had leads to the file.
 *
 * usage: closer STYLE FILE
 *   STYLE: closefrom   closefrom(3)
 *          syscall     the close_range system call, not its libc wrapper
 *          loop        close(fd) for fd in 3..1023
 * Prints "size N" (the file's size after the registrations).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <pooltag.h>

/* Every expansion is a call site of its own, so a slot of its own. */
#define A1 pt_free(pt_alloc(PT_PAGED, 8, "Clsr"), "Clsr");
#define A10 A1 A1 A1 A1 A1 A1 A1 A1 A1 A1
#define A100 A10 A10 A10 A10 A10 A10 A10 A10 A10 A10

static void *thread(void *arg)
{
	(void)arg;
	A10
	return NULL;
}

static int close_all(const char *style)
{
	if (strcmp(style, "closefrom") == 0) {
		closefrom(3);
		return 0;
	}
	if (strcmp(style, "syscall") == 0)
		return (int)syscall(SYS_close_range, 3u, ~0u, 0u);
	if (strcmp(style, "loop") == 0) {
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		return 0;
	}
	return -1;
}

int main(int argc, char **argv)
{
	pthread_t t[4];
	struct stat st;
	int fd;

	if (argc != 3)
		return 2;
	/* The first allocation makes the segment. */
	pt_free(pt_alloc(PT_PAGED, 8, "Clsr"), "Clsr");
	if (close_all(argv[1]) != 0)
		return 2;
	fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "0123456789", 10) != 10)
		return 1;
	/* Every low number is the file now, whichever pooltag had. */
	for (int i = 3; i < 256; i++)
		if (i != fd && dup2(fd, i) != i)
			return 1;
	A100 A100 A100
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
