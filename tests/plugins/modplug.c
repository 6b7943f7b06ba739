/*
 * modplug.c - the plugin the module tests load with pt_module_load: a
 * "driver" that allocates under its own tags and takes references and
 * handles on objects the test program owns, some in balance, some leaked on
 * purpose.  provider.h describes every export.
 *
 * Built with the project's flags as a shared object that does not link
 * libpooltag: pooltag (and the providers) resolve from the test program,
 * which exports them (-rdynamic).  Each acquiring statement is on the line
 * after the one recording its line number; a function whose frame a test
 * looks for in a stack keeps it (no tail call).
 */
#define MODPLUG_BUILD
#include <stddef.h>

#include <pooltag.h>

#include "provider.h"

struct modplug_lines modplug_lines;

/* The constructor's allocation: made while dlopen runs, before
 * pt_module_load has registered the plugin's address range. */
static void *ctor_block;

__attribute__((constructor)) static void modplug_ctor(void)
{
	modplug_lines.ctor_alloc = __LINE__ + 1;
	ctor_block = pt_alloc(PT_PAGED, 24, "MpCt");
}

void *modplug_ctor_block(void)
{
	return ctor_block;
}

void modplug_ctor_free(void)
{
	pt_free(ctor_block, "MpCt");
	ctor_block = NULL;
}

int modplug_balanced(void *obj, struct pt_htable *t)
{
	pt_handle h[3];
	void *p[10], *via;

	for (int i = 0; i < 10; i++) {
		modplug_lines.balanced_alloc = __LINE__ + 1;
		p[i] = pt_alloc(PT_PAGED, 10 + i, "MpBl");
		if (!p[i])
			return -1;
	}
	for (int i = 0; i < 10; i++)
		pt_free(p[i], "MpBl");
	for (int i = 0; i < 5; i++)
		if (pt_obj_ref(obj) != 0)
			return -1;
	for (int i = 0; i < 5; i++)
		if (pt_obj_deref(obj) != 0)
			return -1;
	if (pt_obj_ref_tag(obj, "MpRt") != 0 || pt_obj_deref_tag(obj, "MpRt") != 0)
		return -1;
	for (int i = 0; i < 3; i++)
		if (pt_handle_open(t, obj, &h[i]) != 0)
			return -1;
	if (pt_handle_ref(t, h[1], NULL, &via) != 0 || via != obj || pt_obj_deref(via) != 0)
		return -1;
	for (int i = 0; i < 3; i++)
		if (pt_handle_close(t, h[i]) != 0)
			return -1;
	return 0;
}

int modplug_leak(void *obj, struct pt_htable *t, struct modplug_leaks *out)
{
	/* Balanced work first: the report must show only what is left. */
	if (modplug_balanced(obj, t) != 0)
		return -1;
	for (int i = 0; i < 3; i++) {
		modplug_lines.leak_block = __LINE__ + 1;
		out->blocks[i] = pt_alloc(PT_PAGED, 100, "MpBk");
		if (!out->blocks[i])
			return -1;
	}
	for (int i = 0; i < 2; i++) {
		modplug_lines.leak_ref = __LINE__ + 1;
		if (pt_obj_ref(obj) != 0)
			return -1;
	}
	modplug_lines.leak_handle = __LINE__ + 1;
	return pt_handle_open(t, obj, &out->handle);
}

int modplug_ref(void *obj)
{
	modplug_lines.ref = __LINE__ + 1;
	return pt_obj_ref(obj);
}

int modplug_deref(void *obj)
{
	return pt_obj_deref(obj);
}

void *modplug_behalf(struct pt_objtype *type, uint64_t id)
{
	modplug_lines.behalf_lookup = __LINE__ + 1;
	return prov_lookup_impl ? prov_lookup(type, id) : NULL;
}

void *modplug_nested(struct pt_objtype *type, uint64_t id)
{
	modplug_lines.nested_lookup = __LINE__ + 1;
	return prov_nested_impl ? prov_nested(type, id) : NULL;
}

void *modplug_create_behalf(struct pt_objtype *type, uint64_t id)
{
	modplug_lines.behalf_create = __LINE__ + 1;
	return prov_create_impl ? prov_create(type, id) : NULL;
}

int modplug_open_behalf(struct pt_htable *t, void *obj, pt_handle *h)
{
	modplug_lines.behalf_open = __LINE__ + 1;
	return prov_open_impl ? prov_open(t, obj, h) : -1;
}

/* The unwrapped call: charged to the provider's line, but this frame is on
 * the stack the provider records when stacks are tracked. */
__attribute__((noinline)) void *modplug_nobehalf(struct pt_objtype *type, uint64_t id)
{
	void *obj;

	if (!prov_lookup_impl)
		return NULL;
	modplug_lines.plain_lookup = __LINE__ + 1;
	obj = prov_lookup_impl(type, id);
	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return obj;
}

void modplug_put_behalf(void *obj)
{
	if (prov_put_impl)
		prov_put(obj);
}

void modplug_put_plain(void *obj)
{
	if (prov_put_impl)
		prov_put_impl(obj);
}
