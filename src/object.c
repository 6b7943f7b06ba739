/*
 * object.c - reference-counted objects whose every reference is charged to
 * the call site and module that took it.
 *
 *   block from the type's pool, under the type's tag:
 *   +----------------+-----------------+-------------------------
 *   | struct pt__hdr | struct pt_obj   | object body ...
 *   +----------------+-----------------+-------------------------
 *                                      ^ the pointer users hold
 *
 * Each object keeps the list of its outstanding acquisitions (struct
 * pt_acq): one per reference, with the counter slot of the site that took it
 * (which names file, line, function and module), the reference tag, and a
 * stack id when stacks are tracked.  A release removes the acquisition it
 * pairs with and counts the release in that acquisition's slot, so per-site
 * counts of outstanding references are exact, wherever the release happens.
 *
 * Pairing rule: a release pairs with an acquisition of the same reference
 * tag, first one taken by the releasing module, else the most recent one.
 * A reference handed from one module to another and released there pairs
 * with it and is no finding; what a module took and nobody released stays
 * charged to it.  Among the releasing module's own: the most recent one
 * taken in the releasing function (code that looks an object up and
 * releases it again on its way out), else the oldest (the final release of
 * an object pairs with its creation, so a reference some function forgot
 * stays charged to that function's line).  When that last choice was made
 * between references of different lines, the ones left behind remember
 * the line chosen (alt): if one of them is never released, the report says
 * the pairing was not certain and names both lines.
 *
 * Every live object is in a set keyed by address, so a reference to a
 * deleted or foreign object is recognised without reading its memory; an
 * object leaves the set and its id table with its last reference, so nothing
 * finds a dying object.  One mutex guards objects, acquisitions, id tables,
 * the set and the handle tables: references are not the allocation hot
 * path.  Delete routines and misuse reports run with it released (they may
 * call back into the library), and it is held across fork.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "internal.h"
#include "objmap.h"
#include "stack.h"

struct pt_objtype {
	char name[48];
	uint32_t tag;
	enum pt_pool pool;
	unsigned flags;
	void (*del)(void *obj);
	struct pt_objmap ids; /* id -> struct pt_obj *, for PT_OBJTYPE_BY_ID */
	struct pt_site site;  /* where its objects' memory is charged when created */
};

struct pt_acq {
	struct pt_acq *next;
	uint32_t slot;   /* the acquiring site's counter slot (class refs or handles) */
	uint32_t module; /* the module charged, from the slot */
	uint32_t reftag;
	uint32_t stack; /* 0: not tracked */
	uint32_t epoch; /* modules loaded before it was taken (pt_module_epoch) */
	uint32_t alt;   /* a release chose alt's reference over this one by guess (0: none) */
	int is_handle;
};

struct pt_obj {
	struct pt_objtype *type;
	uint64_t id;
	long refs;
	struct pt_acq *acqs; /* outstanding, most recent first */
	uint32_t create_slot, create_stack; /* the creating reference's, for reports */
	uint64_t pad;                       /* keeps the body 16-byte aligned */
};
_Static_assert(sizeof(struct pt_obj) % 16 == 0, "object bodies stay 16-byte aligned");

/*
 * Deleted objects, remembered while the special pool is on, so that a
 * reference, dereference or handle opened on one names where it was created
 * and where its last reference was released.  A record is believed only
 * while the object's memory is in the special pool's quarantine: anywhere
 * else the address may already belong to something new.
 */
#define GRAVES 1024
struct grave {
	const void *body;
	const struct pt_objtype *type;
	uint32_t create_slot, create_stack, release_stack;
	char released_at[112];
};

static struct {
	pthread_mutex_t lock;
	struct pt_objmap live; /* struct pt_obj * -> itself */
	struct grave graves[GRAVES]; /* a ring, newest at next - 1 */
	unsigned next;
} objs = {.lock = PTHREAD_MUTEX_INITIALIZER};

static struct pt_obj *hdr_of(const void *body)
{
	return (struct pt_obj *)body - 1;
}

struct pt_objtype *pt_objtype_create(const char *name, enum pt_pool pool, const char *tag,
				     void (*del)(void *obj), unsigned flags)
{
	uint32_t t = pt_tag_make(tag);
	struct pt_objtype *type;

	if (!name || !t || (unsigned)pool >= PT_NPOOLS) {
		errno = EINVAL;
		return NULL;
	}
	pt_seg_init();
	type = calloc(1, sizeof(*type));
	if (!type)
		return NULL;
	snprintf(type->name, sizeof(type->name), "%s", name);
	type->tag = t;
	type->pool = pool;
	type->flags = flags;
	type->del = del;
	type->site = (struct pt_site){"(objects)", type->name, 0, 0};
	pt_seg_init();
	pt_seg_lock();
	if (!pt_registry_described(t)) {
		char desc[80];
		snprintf(desc, sizeof(desc), "%s objects", type->name);
		pt_registry_describe(t, desc, NULL);
	}
	pt_seg_unlock();
	return type;
}

const char *pt_objtype_name(const struct pt_objtype *t)
{
	return t ? t->name : "?";
}

/*
 * Records are allocated and freed outside the lock: malloc may take locks of
 * its own (a sanitizer's, held across fork in the wrong order for ours).
 * Each thread keeps one spare record, made before it takes the lock, and
 * records released under the lock wait in a per-thread list freed after it
 * is dropped (see lock_objs, unlock_objs).
 */
static __thread struct pt_acq *spare, *dead;
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;

static void free_spare(void *unused)
{
	(void)unused;
	free(spare);
	spare = NULL;
}

static void spare_init(void)
{
	pthread_key_create(&spare_key, free_spare);
}

static void lock_objs(void)
{
	if (!spare) {
		pthread_once(&spare_once, spare_init);
		spare = malloc(sizeof(*spare));
		pthread_setspecific(spare_key, spare); /* its destructor frees it */
	}
	pthread_mutex_lock(&objs.lock);
}

static void unlock_objs(void)
{
	pthread_mutex_unlock(&objs.lock);
	while (dead) {
		struct pt_acq *a = dead;
		dead = a->next;
		free(a);
	}
}

/* A new acquisition of o at site (or the caller acted for), counted, in
 * the thread's spare record.  Called with the lock held; NULL when there is
 * no spare (out of memory) or no slot. */
static struct pt_acq *pt_obj_acquire(struct pt_obj *o, struct pt_site *site, uint32_t reftag,
				     int is_handle)
{
	struct pt_site *charged = pt_behalf_site(site);
	unsigned cls = is_handle ? PT_SEG_CLASS_HANDLES : PT_SEG_CLASS_REFS;
	uint32_t slot = spare ? pt_slot_of(charged, o->type->tag, cls) : 0;
	struct pt_acq *a = spare;

	if (!slot)
		return NULL;
	spare = NULL;
	a->slot = slot;
	a->module = pt_seg.slots[slot].module;
	a->reftag = reftag;
	a->stack = pt_track_stack();
	a->epoch = pt_module_epoch();
	a->alt = 0;
	a->is_handle = is_handle;
	a->next = o->acqs;
	o->acqs = a;
	o->refs++;
	pt_count_event(slot, 0, 0);
	return a;
}

/* Remembers o, whose last reference site released (lock held).  This and
 * pt_obj_drop capture stacks: named pt_ so the printed stack starts at the
 * program's call. */
static void pt_obj_bury(struct pt_obj *o, const struct pt_site *site)
{
	struct grave *g = &objs.graves[objs.next++ % GRAVES];

	g->body = o + 1;
	g->type = o->type;
	g->create_slot = o->create_slot;
	g->create_stack = o->create_stack;
	g->release_stack = pt_track_stack();
	pt_site_text(site, g->released_at, sizeof(g->released_at));
	if (!site)
		snprintf(g->released_at, sizeof(g->released_at), "its handle table's destruction");
}

/* Removes acquisition a (which must be o's) and counts its release.  When
 * that was o's last reference, o leaves the live set and its id table at
 * once (nothing can find a dying object) and 1 is returned: the caller then
 * calls destroy(o) without the lock.  site: the releasing call. */
static int pt_obj_drop(struct pt_obj *o, struct pt_acq *a, const struct pt_site *site)
{
	struct pt_acq **pp = &o->acqs;

	while (*pp != a)
		pp = &(*pp)->next;
	*pp = a->next;
	pt_count_event(a->slot, 0, 1);
	a->next = dead; /* freed after the lock is dropped */
	dead = a;
	if (--o->refs)
		return 0;
	pt_objmap_del(&objs.live, (uintptr_t)o);
	if (o->type->flags & PT_OBJTYPE_BY_ID)
		pt_objmap_del(&o->type->ids, o->id);
	if (__atomic_load_n(&pt_special_on, __ATOMIC_RELAXED))
		pt_obj_bury(o, site);
	return 1;
}

/* Reports op on obj, which is not live: with its sites if it is a deleted
 * object still in the special pool's quarantine (its reference count would
 * go below zero, or it is used after its last reference), else as a pointer
 * that is no live object.  Called without the lock. */
static void report_not_live(const char *op, void *obj, struct pt_site *site, int is_deref)
{
	struct grave g = {0};
	int found = 0;

	if (obj && __atomic_load_n(&pt_special_on, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&objs.lock);
		for (unsigned i = 1; i <= GRAVES && !found; i++) {
			const struct grave *e = &objs.graves[(objs.next - i) % GRAVES];
			if (e->body == obj) {
				g = *e;
				found = 1;
			}
		}
		pthread_mutex_unlock(&objs.lock);
		found = found && pt_special_contains(hdr_of(obj)) == 2;
	}
	if (!found) {
		pt_misuse_report(PT_MISUSE_BAD_OBJECT, op, obj, 0, 0, 0, site);
		return;
	}
	{
		char text[4096], at[256], created[256], t[5], stack[1536];
		const struct pt_seg_slot *cs = &pt_seg.slots[g.create_slot];
		struct pt_misuse m = {PT_MISUSE_OBJECT_FREED, obj, g.type->tag, 0,
				      pt_seg.strings + cs->file, pt_seg.strings + cs->func, cs->line,
				      site, text, NULL, g.released_at};
		size_t n;

		pt_site_text(site, at, sizeof(at));
		pt_slot_text(g.create_slot, created, sizeof(created));
		n = (size_t)snprintf(text, sizeof(text),
				     "pooltag: %s of object %p ('%s', %s) at %s: %s; its last reference "
				     "was released at %s\n  created at %s",
				     op, obj, pt_tag_str(g.type->tag, t), g.type->name, at,
				     is_deref ? "its reference count would go below zero"
					      : "used after its last reference",
				     g.released_at, created);
		if (g.create_stack && n < sizeof(text)) {
			pt_stack_format(g.create_stack, stack, sizeof(stack), 12);
			n += (size_t)snprintf(text + n, sizeof(text) - n, "\n    stack: %s", stack);
		}
		if (n < sizeof(text))
			n += (size_t)snprintf(text + n, sizeof(text) - n, "\n  last reference released at %s",
					      g.released_at);
		if (g.release_stack && n < sizeof(text)) {
			pt_stack_format(g.release_stack, stack, sizeof(stack), 12);
			snprintf(text + n, sizeof(text) - n, "\n    stack: %s", stack);
		}
		pt_misuse_deliver(&m);
	}
}

/* Was a taken in the function named func (the release's)? */
static int same_function(const struct pt_acq *a, const char *func)
{
	return func && strcmp(pt_seg.strings + pt_seg.slots[a->slot].func, func) == 0;
}

/* The reference a release by module `module` with tag reftag, made in the
 * function func, pairs with (see the pairing rule above), or NULL if o holds
 * none of that tag. */
static struct pt_acq *pair(struct pt_obj *o, uint32_t module, uint32_t reftag, const char *func)
{
	struct pt_acq *recent = NULL, *oldest = NULL;
	int lines = 0; /* the module's candidates come from more than one line */

	for (struct pt_acq *a = o->acqs; a; a = a->next) { /* most recent first */
		if (a->is_handle || a->reftag != reftag)
			continue;
		if (!recent)
			recent = a;
		if (a->module != module)
			continue;
		if (same_function(a, func))
			return a;
		if (oldest && oldest->slot != a->slot)
			lines = 1;
		oldest = a;
	}
	if (!oldest)
		return recent;
	if (lines)
		for (struct pt_acq *a = o->acqs; a; a = a->next)
			if (!a->is_handle && a->reftag == reftag && a->module == module &&
			    a->slot != oldest->slot && !a->alt)
				a->alt = oldest->slot;
	return oldest;
}

/* The rest of a last release, without the lock: the delete routine (which
 * may release other objects), then the memory, freed as by site (the last
 * release's; NULL: the type's), so the special pool names it. */
static void destroy(struct pt_obj *o, struct pt_site *site)
{
	struct pt_objtype *t = o->type;

	if (t->del)
		t->del(o + 1);
	pt_free_at(site ? site : &t->site, o, t->tag);
}

void *pt_obj_create_at(struct pt_site *site, struct pt_objtype *type, size_t size, uint64_t id)
{
	struct pt_obj *o;

	if (!type) {
		errno = EINVAL;
		return NULL;
	}
	if (size > PT__SIZE_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	o = pt_zalloc_at(pt_behalf_site(site), type->pool, sizeof(*o) + size, type->tag);
	if (!o)
		return NULL;
	o->type = type;
	o->id = id;
	lock_objs();
	if ((type->flags & PT_OBJTYPE_BY_ID) && pt_objmap_get(&type->ids, id)) {
		unlock_objs();
		pt_free_at(site, o, type->tag);
		errno = EEXIST;
		return NULL;
	}
	if (pt_objmap_put(&objs.live, (uintptr_t)o, o) != 0 ||
	    ((type->flags & PT_OBJTYPE_BY_ID) && pt_objmap_put(&type->ids, id, o) != 0) ||
	    !pt_obj_acquire(o, site, 0, 0)) {
		pt_objmap_del(&objs.live, (uintptr_t)o);
		if (type->flags & PT_OBJTYPE_BY_ID)
			pt_objmap_del(&type->ids, id);
		unlock_objs();
		pt_free_at(site, o, type->tag);
		errno = ENOMEM;
		return NULL;
	}
	o->create_slot = o->acqs->slot;
	o->create_stack = o->acqs->stack;
	unlock_objs();
	return o + 1;
}

/* The live object of body, or NULL.  Called with the lock held.  Misuse is
 * reported by the callers after they unlock: a report's hook may call back
 * into the library. */
static struct pt_obj *live(const void *body)
{
	struct pt_obj *o = body ? hdr_of(body) : NULL;

	return o && pt_objmap_get(&objs.live, (uintptr_t)o) == o ? o : NULL;
}

uint32_t pt_obj_tag_locked(const void *obj)
{
	struct pt_obj *o = live(obj);

	return o ? o->type->tag : 0;
}

int pt_obj_ref_at(struct pt_site *site, void *obj, uint32_t reftag)
{
	struct pt_obj *o;
	int rc = -1;

	pt_fault_point();
	lock_objs();
	o = live(obj);
	if (o && !pt_fault_check(PT_FAULT_REF, pt_behalf_site(site), o->type->tag, 0) &&
	    pt_obj_acquire(o, site, reftag, 0))
		rc = 0;
	unlock_objs();
	if (!o)
		report_not_live("reference", obj, site, 0);
	if (rc)
		errno = o ? ENOMEM : EINVAL;
	return rc;
}

int pt_obj_deref_at(struct pt_site *site, void *obj, uint32_t reftag)
{
	struct pt_site *charged = pt_behalf_site(site);
	uint32_t module = pt_module_of(charged), tag = 0, create_slot = 0;
	const char *func = charged ? charged->func : NULL;
	struct pt_acq *a = NULL;
	struct pt_obj *o;
	int last = 0;

	lock_objs();
	o = live(obj);
	if (o) {
		tag = o->type->tag;
		a = pair(o, module, reftag, func);
		if (!a && reftag) /* tagged release of an untagged reference */
			a = pair(o, module, 0, func);
		create_slot = o->create_slot;
		if (a)
			last = pt_obj_drop(o, a, site);
	}
	unlock_objs();
	if (!o)
		report_not_live("dereference", obj, site, 1);
	else if (!a)
		pt_misuse_report(PT_MISUSE_DEREF_ZERO, "dereference", obj, tag, reftag, create_slot,
				 site);
	if (last)
		destroy(o, site);
	if (!a) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

void *pt_obj_lookup_at(struct pt_site *site, struct pt_objtype *type, uint64_t id,
		       uint32_t reftag)
{
	struct pt_obj *o;

	if (!type || !(type->flags & PT_OBJTYPE_BY_ID)) {
		errno = EINVAL;
		return NULL;
	}
	pt_fault_point();
	lock_objs();
	o = pt_objmap_get(&type->ids, id); /* only live objects are in the table */
	if (!o)
		errno = ENOENT;
	else if (pt_fault_check(PT_FAULT_REF, pt_behalf_site(site), type->tag, 0) ||
		 !pt_obj_acquire(o, site, reftag, 0))
		o = NULL, errno = ENOMEM;
	unlock_objs();
	return o ? o + 1 : NULL;
}

uint64_t pt_obj_id(const void *obj)
{
	return obj ? hdr_of(obj)->id : 0;
}

struct pt_objtype *pt_obj_type(const void *obj)
{
	return obj ? hdr_of(obj)->type : NULL;
}

long pt_obj_refs(const void *obj)
{
	long n = -1;

	lock_objs();
	if (live(obj))
		n = hdr_of(obj)->refs;
	unlock_objs();
	return n;
}

/* ---- for handle.c, which shares the lock ---- */

void pt_obj_lock(void)
{
	lock_objs();
}

/* For the fork handlers: the bare mutex, no allocation (a sanitizer's fork
 * may hold its allocator's lock around them). */
void pt_obj_fork_lock(void)
{
	pthread_mutex_lock(&objs.lock);
}

void pt_obj_fork_unlock(void)
{
	pthread_mutex_unlock(&objs.lock);
}

void pt_obj_unlock(void)
{
	unlock_objs();
}

/* With the lock held: a reference (or a handle's) on obj if it is live.
 * NULL with errno EINVAL (not live: the caller reports after unlocking) or
 * ENOMEM. */
struct pt_acq *pt_obj_acquire_locked(struct pt_site *site, void *obj, uint32_t reftag,
				     int is_handle)
{
	struct pt_obj *o = live(obj);
	struct pt_acq *a = o ? pt_obj_acquire(o, site, reftag, is_handle) : NULL;

	if (!a)
		errno = o ? ENOMEM : EINVAL;
	return a;
}

/* With the lock held: releases a (a handle's reference on obj).  Returns the
 * object to pass to pt_obj_destroy after unlocking, or NULL. */
void *pt_obj_release_locked(void *obj, struct pt_acq *a, const struct pt_site *site)
{
	return pt_obj_drop(hdr_of(obj), a, site) ? obj : NULL;
}

uint32_t pt_acq_slot(const struct pt_acq *a)
{
	return a->slot;
}

void pt_obj_report_not_live(const char *op, void *obj, struct pt_site *site)
{
	report_not_live(op, obj, site, 0);
}

void pt_obj_destroy(void *obj, struct pt_site *site)
{
	if (obj)
		destroy(hdr_of(obj), site);
}

/* ---- for verify.c ---- */

/* Calls fn for every outstanding acquisition, with the lock held (fn must
 * not call back into objects). */
void pt_obj_each_acq(pt_acq_fn fn, void *arg)
{
	lock_objs();
	for (size_t i = 0; i < objs.live.cap; i++) {
		struct pt_obj *o = objs.live.vals[i];
		if (!o)
			continue;
		for (struct pt_acq *a = o->acqs; a; a = a->next)
			fn(o->type, a->slot, a->stack, a->epoch, a->is_handle, a->alt, arg);
	}
	unlock_objs();
}
