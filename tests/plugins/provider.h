/*
 * provider.h - what the module tests and their plugin (tests/plugins/modplug.c,
 * built as plugins/modplug.so) share.
 *
 * Providers: functions the test program defines and exports (it is linked
 * with -rdynamic), the way a host exports Ps* and Ob* routines to its
 * drivers.  Each acquiring provider has a macro that wraps the call in
 * PT_ON_BEHALF, so what it acquires is charged to the plugin's line; the
 * plugin can also call the _impl function directly, and then the charge
 * stays on the provider's own line.  In the plugin the references are weak:
 * tests/test_objref.c loads the plugin too and defines no providers, and a
 * weak reference resolves to NULL there instead of failing the load.
 *
 * Plugin exports: what the tests look up with pt_module_sym.  The plugin
 * records the line of each acquiring statement in modplug_lines when it runs
 * it, so the tests compare report lines and segment rows with real line
 * numbers.
 */
#ifndef PT_TEST_PROVIDER_H
#define PT_TEST_PROVIDER_H

#include <stdint.h>

#include <pooltag.h>

#ifdef MODPLUG_BUILD
#define PROV_API __attribute__((weak))
#else
#define PROV_API
#endif

/* The live object of a BY_ID type with a reference taken for the caller
 * (pt_obj_lookup inside). */
PROV_API void *prov_lookup_impl(struct pt_objtype *type, uint64_t id);
#define prov_lookup(type, id) PT_ON_BEHALF(prov_lookup_impl((type), (id)))

/* Calls prov_lookup itself (wrapped): the outermost PT_ON_BEHALF wins. */
PROV_API void *prov_nested_impl(struct pt_objtype *type, uint64_t id);
#define prov_nested(type, id) PT_ON_BEHALF(prov_nested_impl((type), (id)))

/* A new object of 32 bytes (pt_obj_create inside). */
PROV_API void *prov_create_impl(struct pt_objtype *type, uint64_t id);
#define prov_create(type, id) PT_ON_BEHALF(prov_create_impl((type), (id)))

/* Opens a handle (pt_handle_open inside). */
PROV_API int prov_open_impl(struct pt_htable *t, void *obj, pt_handle *h);
#define prov_open(t, obj, h) PT_ON_BEHALF(prov_open_impl((t), (obj), (h)))

/* Releases a reference (pt_obj_deref inside). */
PROV_API void prov_put_impl(void *obj);
#define prov_put(obj) PT_ON_BEHALF_VOID(prov_put_impl(obj))

/* ---- what modplug.so exports ---- */

/* The lines of the plugin's acquiring statements, set as they run. */
struct modplug_lines {
	int ctor_alloc;     /* modplug_ctor: pt_alloc "MpCt" */
	int leak_block;     /* modplug_leak: pt_alloc "MpBk", 3 times */
	int leak_ref;       /* modplug_leak: pt_obj_ref, 2 times */
	int leak_handle;    /* modplug_leak: pt_handle_open */
	int balanced_alloc; /* modplug_balanced: pt_alloc "MpBl", 10 times, all freed */
	int ref;            /* modplug_ref: pt_obj_ref */
	int behalf_lookup;  /* modplug_behalf: prov_lookup */
	int nested_lookup;  /* modplug_nested: prov_nested */
	int behalf_create;  /* modplug_create_behalf: prov_create */
	int behalf_open;    /* modplug_open_behalf: prov_open */
	int plain_lookup;   /* modplug_nobehalf: prov_lookup_impl, unwrapped */
};
extern struct modplug_lines modplug_lines;

/* What modplug_leak leaves behind for the test to release. */
struct modplug_leaks {
	void *blocks[3]; /* "MpBk", 100 bytes each: free with pt_free */
	pt_handle handle;
};

/* The block the plugin's constructor allocated ("MpCt", 24 bytes); freed by
 * modplug_ctor_free. */
void *modplug_ctor_block(void);
void modplug_ctor_free(void);

/* Leaks 3 blocks, 2 references to obj and a handle to it in t (after some
 * balanced work).  0, or -1 if an acquisition failed. */
int modplug_leak(void *obj, struct pt_htable *t, struct modplug_leaks *out);

/* Allocates, references and opens handles, and releases all of it.  0, or
 * -1 if a call failed. */
int modplug_balanced(void *obj, struct pt_htable *t);

int modplug_ref(void *obj);   /* pt_obj_ref in the plugin */
int modplug_deref(void *obj); /* pt_obj_deref in the plugin */

void *modplug_behalf(struct pt_objtype *type, uint64_t id);            /* prov_lookup */
void *modplug_nested(struct pt_objtype *type, uint64_t id);            /* prov_nested */
void *modplug_create_behalf(struct pt_objtype *type, uint64_t id);     /* prov_create */
int modplug_open_behalf(struct pt_htable *t, void *obj, pt_handle *h); /* prov_open */
void *modplug_nobehalf(struct pt_objtype *type, uint64_t id);          /* prov_lookup_impl */
void modplug_put_behalf(void *obj);                                    /* prov_put */
void modplug_put_plain(void *obj);                                     /* prov_put_impl */

#endif /* PT_TEST_PROVIDER_H */
