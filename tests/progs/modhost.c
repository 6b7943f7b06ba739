/*
 * modhost.c - a host that exports providers (tests/plugins/provider.h) to
 * the test plugin modplug.so and loads it, for the end-to-end tests of
 * what an unload reports (tests/e2e/numbers.bats).  Linked with -rdynamic,
 * like the seed's host, so the plugin finds the providers.
 *
 * usage: modhost PLUGIN nested|epoch
 *
 * nested: the plugin takes a reference through prov_nested, a wrapped
 *   provider that calls the wrapped prov_lookup: the reference is the
 *   plugin's (the outermost PT_ON_BEHALF takes the charge), so the unload
 *   reports it at the plugin's line.
 * epoch: with stacks tracked (POOLTAG_TRACK=stacks), the plugin takes a
 *   reference through the unwrapped provider and leaks it; the unload
 *   reports it by its stack.  Loaded again (most often at the same
 *   address) and unloaded having done nothing, the plugin is clean: the
 *   old reference was taken before this load.
 *
 * Prints "loaded N at ADDRESS" for each load, the lines it knows
 * ("line NAME N"), and "done"; the reports go to standard error.  Exit
 * status 0, 1 when the plugin cannot be loaded.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <pooltag.h>

#include "../plugins/provider.h"

#define SYM(m, name) ((__typeof__(&name))pt_module_sym((m), #name))

void *prov_lookup_impl(struct pt_objtype *type, uint64_t id)
{
	void *obj;

	printf("line prov_lookup %d\n", __LINE__ + 1);
	obj = pt_obj_lookup(type, id);
	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return obj;
}

void *prov_nested_impl(struct pt_objtype *type, uint64_t id)
{
	printf("line prov_nested %d\n", __LINE__ + 1);
	return prov_lookup(type, id); /* wrapped again: the outer caller keeps the charge */
}

static struct pt_module *load(const char *path, int n)
{
	struct pt_module *m = pt_module_load(path);

	if (!m) {
		fprintf(stderr, "modhost: cannot load %s: %s\n", path, pt_module_error());
		return NULL;
	}
	printf("loaded %d at %p\n", n, pt_module_sym(m, "modplug_lines"));
	return m;
}

int main(int argc, char **argv)
{
	struct pt_objtype *t;
	struct pt_module *m;
	void *obj, *got;

	if (argc != 3 || (strcmp(argv[2], "nested") != 0 && strcmp(argv[2], "epoch") != 0)) {
		fprintf(stderr, "usage: modhost PLUGIN nested|epoch\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	t = pt_objtype_create("Provided", PT_PAGED, "MhPv", NULL, PT_OBJTYPE_BY_ID);
	obj = pt_obj_create(t, 16, 7);
	m = load(argv[1], 1);
	if (!t || !obj || !m)
		return 1;
	if (!strcmp(argv[2], "nested")) {
		got = SYM(m, modplug_nested)(t, 7);
		printf("line modplug_nested %d\n", SYM(m, modplug_lines)->nested_lookup);
	} else {
		got = SYM(m, modplug_nobehalf)(t, 7);
		printf("line modplug_nobehalf %d\n", SYM(m, modplug_lines)->plain_lookup);
	}
	if (got != obj)
		return 1;
	fflush(stdout);
	pt_module_unload(m);
	fflush(stderr);
	if (!strcmp(argv[2], "epoch")) {
		m = load(argv[1], 2);
		if (!m)
			return 1;
		fflush(stdout);
		pt_module_unload(m);
		fflush(stderr);
	}
	/* The plugin's leaked reference, then the creator's. */
	pt_obj_deref(obj);
	pt_obj_deref(obj);
	printf("done\n");
	return 0;
}
