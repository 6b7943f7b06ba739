/*
 * dlhost.c - loads a plugin with dlopen, has it work, unloads it with
 * dlclose (tests/e2e/run.bats); knows nothing of pooltag.
 *
 * usage: dlhost PLUGIN N leak|clean
 * Prints "closed" after dlclose and exits 0 with nothing of its own held.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	int (*work)(int, int);
	void *h;

	if (argc != 4)
		return 2;
	h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlhost: %s\n", dlerror());
		return 1;
	}
	work = (int (*)(int, int))dlsym(h, "plug_work");
	if (!work || work(atoi(argv[2]), strcmp(argv[3], "leak") == 0) != 0)
		return 1;
	if (dlclose(h) != 0)
		return 1;
	printf("closed\n");
	return 0;
}
