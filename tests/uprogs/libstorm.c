/*
 * libstorm.c - a plugin that knows nothing of pooltag, loaded and unloaded
 * by dlstorm from several threads at once (tests/e2e/dlstorm.bats).  dlstorm
 * loads copies of it, so each load runs the constructor anew at call sites
 * pooltag run has not registered.
 *
 * The constructor allocates and frees two blocks, unless LIBSTORM_QUIET is
 * set in the environment.  storm_work(n) allocates n
 * blocks at one site and one at another and frees them; storm_iterate(wait)
 * allocates one block inside a dl_iterate_phdr callback, after calling
 * wait (if not NULL) there.  Every block is freed before its function
 * returns.
 */
#define _GNU_SOURCE
#include <link.h>
#include <stdlib.h>

int storm_work(int n);
int storm_iterate(void (*wait)(void));

#define MAX 16

/* p, as far as the compiler knows used: a malloc whose block is only
 * freed may be left out otherwise. */
static void *used(void *p)
{
	__asm__ volatile("" : "+r"(p) : : "memory");
	return p;
}

__attribute__((constructor)) static void storm_ctor(void)
{
	void *a, *b;

	if (getenv("LIBSTORM_QUIET"))
		return;
	a = used(malloc(24)); /* CTOR alloc */
	b = used(malloc(40)); /* CTOR alloc 2 */
	free(b);
	free(a);
}

int storm_work(int n)
{
	void *p[MAX], *q;

	if (n > MAX)
		n = MAX;
	for (int i = 0; i < n; i++)
		p[i] = used(malloc(16 + (size_t)i)); /* WORK alloc */
	q = used(malloc(100)); /* WORK alloc 2 */
	free(q);
	for (int i = 0; i < n; i++)
		free(p[i]);
	return n + 1;
}

struct iter {
	void (*wait)(void);
	int n;
};

/* One block while dl_iterate_phdr holds the dynamic linker's lock; stops
 * at the first object. */
static int storm_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct iter *it = arg;
	void *p;

	(void)info;
	(void)size;
	if (it->wait)
		it->wait();
	p = used(malloc(8)); /* ITERATE alloc */
	free(p);
	it->n++;
	return 1;
}

int storm_iterate(void (*wait)(void))
{
	struct iter it = {wait, 0};

	dl_iterate_phdr(storm_cb, &it);
	return it.n;
}
