/*
 * libuplug.c - a plugin that knows nothing of pooltag, loaded and unloaded
 * by dlhost (tests/e2e/run.bats).  plug_work(n, leak) allocates n blocks
 * and opens a descriptor; unless leak is set it releases them again.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX 1000

static void *blocks[MAX];
static int fd = -1;

int plug_work(int n, int leak);

int plug_work(int n, int leak)
{
	if (n > MAX)
		n = MAX;
	for (int i = 0; i < n; i++)
		blocks[i] = malloc(64); /* PLUGIN alloc */
	fd = open("/dev/null", O_RDONLY); /* PLUGIN open */
	if (!leak) {
		for (int i = 0; i < n; i++)
			free(blocks[i]);
		close(fd);
	}
	return fd >= 0 ? 0 : -1;
}
