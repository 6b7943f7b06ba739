/*
 * stormplug.c - the plugin tests/test_lifecycle.c loads and unloads from
 * several threads at once.  Each thread loads a copy of its own, so every
 * load runs the constructor anew on fresh static site descriptors: call
 * sites the library registers for the first time, while the dynamic
 * linker holds its lock.
 *
 * Built with the project's flags as a shared object that does not link
 * libpooltag: pooltag resolves from the test program (-rdynamic), and so
 * does stormplug_ctor_hook, which the constructor calls before it
 * allocates (a test makes it wait there, inside dlopen).  Every block is
 * freed before the function that allocated it returns.
 */
#include <link.h>
#include <stddef.h>

#include <pooltag.h>

void stormplug_ctor_hook(void) __attribute__((weak));
int storm_work(int n);
int storm_iterate(void);

#define STORM_MAX 16

/* Two allocations at two sites, tag Stm1, while dlopen runs. */
__attribute__((constructor)) static void storm_ctor(void)
{
	void *a, *b;

	if (stormplug_ctor_hook)
		stormplug_ctor_hook();
	a = pt_alloc(PT_PAGED, 24, "Stm1");
	b = pt_alloc(PT_PAGED, 40, "Stm1");
	pt_free(b, "Stm1");
	pt_free(a, "Stm1");
}

/* n (at most STORM_MAX) blocks at one site and one at another, all freed;
 * returns how many were allocated. */
int storm_work(int n)
{
	void *p[STORM_MAX], *q;

	if (n > STORM_MAX)
		n = STORM_MAX;
	for (int i = 0; i < n; i++)
		p[i] = pt_alloc(PT_PAGED, 16 + (size_t)i, "Stm1");
	q = pt_alloc(PT_PAGED, 100, "Stm1");
	pt_free(q, "Stm1");
	for (int i = 0; i < n; i++)
		pt_free(p[i], "Stm1");
	return n + 1;
}

/* dl_iterate_phdr callback: one block, at a site of its own, while the
 * dynamic linker holds the lock dl_iterate_phdr takes; stops there. */
static int storm_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	void *p = pt_alloc(PT_PAGED, 8, "Stm1");

	(void)info;
	(void)size;
	pt_free(p, "Stm1");
	++*(int *)arg;
	return 1;
}

/* Allocates inside a dl_iterate_phdr callback; returns how many blocks. */
int storm_iterate(void)
{
	int n = 0;

	dl_iterate_phdr(storm_cb, &n);
	return n;
}
