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
 * charged to it.
 *
 * Every live object is in a set keyed by address, so a reference to a
 * deleted or foreign object is recognised without reading its memory.  One
 * mutex guards objects, acquisitions, id tables and the set: references are
 * not the allocation hot path, and delete routines run with it released
 * (they may release other objects).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "objmap.h"

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
	int is_handle;
};

struct pt_obj {
	struct pt_objtype *type;
	uint64_t id;
	long refs;
	struct pt_acq *acqs; /* outstanding, most recent first */
	uint64_t pad[2];     /* keeps the body 16-byte aligned */
};
_Static_assert(sizeof(struct pt_obj) % 16 == 0, "object bodies stay 16-byte aligned");

static struct {
	pthread_mutex_t lock;
	struct pt_objmap live; /* struct pt_obj * -> itself */
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

/* A new acquisition of o at site (or the caller acted for), counted.
 * Called with the lock held; NULL on out of memory. */
static struct pt_acq *acquire(struct pt_obj *o, struct pt_site *site, uint32_t reftag,
			      int is_handle)
{
	struct pt_site *charged = pt_behalf_site(site);
	unsigned cls = is_handle ? PT_SEG_CLASS_HANDLES : PT_SEG_CLASS_REFS;
	uint32_t slot = pt_slot_of(charged, o->type->tag, cls);
	struct pt_acq *a = malloc(sizeof(*a));

	if (!a || !slot) {
		free(a);
		return NULL;
	}
	a->slot = slot;
	a->module = pt_seg.slots[slot].module;
	a->reftag = reftag;
	a->stack = pt_track_stack();
	a->is_handle = is_handle;
	a->next = o->acqs;
	o->acqs = a;
	o->refs++;
	pt_count_event(slot, 0, 0);
	return a;
}

/* Removes acquisition a (which must be o's) and counts its release.  Returns
 * 1 when that was o's last reference: the caller deletes o. */
static int release(struct pt_obj *o, struct pt_acq *a)
{
	struct pt_acq **pp = &o->acqs;

	while (*pp != a)
		pp = &(*pp)->next;
	*pp = a->next;
	pt_count_event(a->slot, 0, 1);
	free(a);
	return --o->refs == 0;
}

/* The reference a release by module `module` with tag reftag pairs with
 * (see the pairing rule above), or NULL if o holds none of that tag. */
static struct pt_acq *pair(struct pt_obj *o, uint32_t module, uint32_t reftag)
{
	struct pt_acq *recent = NULL;

	for (struct pt_acq *a = o->acqs; a; a = a->next) {
		if (a->is_handle || a->reftag != reftag)
			continue;
		if (a->module == module)
			return a;
		if (!recent)
			recent = a;
	}
	return recent;
}

/* The second half of a last release, without the lock: out of the id table,
 * the delete routine, the memory. */
static void destroy(struct pt_obj *o)
{
	struct pt_objtype *t = o->type;

	if (t->flags & PT_OBJTYPE_BY_ID) {
		pthread_mutex_lock(&objs.lock);
		if (pt_objmap_get(&t->ids, o->id) == o)
			pt_objmap_del(&t->ids, o->id);
		pthread_mutex_unlock(&objs.lock);
	}
	if (t->del)
		t->del(o + 1);
	pt_free_at(&t->site, o, t->tag);
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
	pthread_mutex_lock(&objs.lock);
	if ((type->flags & PT_OBJTYPE_BY_ID) && pt_objmap_get(&type->ids, id)) {
		pthread_mutex_unlock(&objs.lock);
		pt_free_at(site, o, type->tag);
		errno = EEXIST;
		return NULL;
	}
	if (pt_objmap_put(&objs.live, (uintptr_t)o, o) != 0 ||
	    ((type->flags & PT_OBJTYPE_BY_ID) && pt_objmap_put(&type->ids, id, o) != 0) ||
	    !acquire(o, site, 0, 0)) {
		pt_objmap_del(&objs.live, (uintptr_t)o);
		if (type->flags & PT_OBJTYPE_BY_ID)
			pt_objmap_del(&type->ids, id);
		pthread_mutex_unlock(&objs.lock);
		pt_free_at(site, o, type->tag);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_unlock(&objs.lock);
	return o + 1;
}

/* The live object of body, or NULL (reported as op) if body is none.
 * Called with the lock held. */
static struct pt_obj *live(const void *body, const char *op, struct pt_site *site)
{
	struct pt_obj *o = body ? hdr_of(body) : NULL;

	if (o && pt_objmap_get(&objs.live, (uintptr_t)o) == o)
		return o;
	pt_misuse_report(PT_MISUSE_BAD_OBJECT, op, body, 0, 0, 0, site);
	return NULL;
}

int pt_obj_ref_at(struct pt_site *site, void *obj, uint32_t reftag)
{
	struct pt_obj *o;
	int rc = -1;

	pthread_mutex_lock(&objs.lock);
	o = live(obj, "reference", site);
	if (o && acquire(o, site, reftag, 0))
		rc = 0;
	pthread_mutex_unlock(&objs.lock);
	if (rc)
		errno = o ? ENOMEM : EINVAL;
	return rc;
}

int pt_obj_deref_at(struct pt_site *site, void *obj, uint32_t reftag)
{
	struct pt_obj *o;
	struct pt_acq *a = NULL;
	int last = 0;

	pthread_mutex_lock(&objs.lock);
	o = live(obj, "dereference", site);
	if (o) {
		a = pair(o, pt_module_of(pt_behalf_site(site)), reftag);
		if (!a && reftag)
			a = pair(o, pt_module_of(pt_behalf_site(site)), 0);
		if (a) {
			last = release(o, a);
			if (last)
				pt_objmap_del(&objs.live, (uintptr_t)o);
		} else {
			pt_misuse_report(PT_MISUSE_DEREF_ZERO, "dereference", obj, o->type->tag,
					 reftag, 0, site);
		}
	}
	pthread_mutex_unlock(&objs.lock);
	if (last)
		destroy(o);
	if (!a) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

void *pt_obj_lookup_at(struct pt_site *site, struct pt_objtype *type, uint64_t id,
		       uint32_t reftag)
{
	struct pt_obj *o = NULL;

	if (!type || !(type->flags & PT_OBJTYPE_BY_ID)) {
		errno = EINVAL;
		return NULL;
	}
	pthread_mutex_lock(&objs.lock);
	o = pt_objmap_get(&type->ids, id);
	/* A dying object (its last reference gone, not yet out of the table)
	 * is no longer in the live set: it is not found. */
	if (o && (pt_objmap_get(&objs.live, (uintptr_t)o) != o || !acquire(o, site, reftag, 0)))
		o = NULL;
	pthread_mutex_unlock(&objs.lock);
	if (!o) {
		errno = ENOENT;
		return NULL;
	}
	return o + 1;
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

	pthread_mutex_lock(&objs.lock);
	if (obj && pt_objmap_get(&objs.live, (uintptr_t)hdr_of(obj)) == hdr_of(obj))
		n = hdr_of(obj)->refs;
	pthread_mutex_unlock(&objs.lock);
	return n;
}

/* ---- for handle.c ---- */

/* Takes a handle's reference on obj (live, else reported); the acquisition
 * to give back to pt_obj_handle_release.  NULL with errno set. */
struct pt_acq *pt_obj_handle_acquire(struct pt_site *site, void *obj)
{
	struct pt_obj *o;
	struct pt_acq *a = NULL;

	pthread_mutex_lock(&objs.lock);
	o = live(obj, "handle open", site);
	if (o)
		a = acquire(o, site, 0, 1);
	pthread_mutex_unlock(&objs.lock);
	if (!a)
		errno = o ? ENOMEM : EINVAL;
	return a;
}

void pt_obj_handle_release(void *obj, struct pt_acq *a)
{
	struct pt_obj *o = hdr_of(obj);
	int last;

	pthread_mutex_lock(&objs.lock);
	last = release(o, a);
	if (last)
		pt_objmap_del(&objs.live, (uintptr_t)o);
	pthread_mutex_unlock(&objs.lock);
	if (last)
		destroy(o);
}

/* ---- for verify.c ---- */

/* Calls fn for every outstanding acquisition, with the lock held (fn must
 * not call back into objects). */
void pt_obj_each_acq(pt_acq_fn fn, void *arg)
{
	pthread_mutex_lock(&objs.lock);
	for (size_t i = 0; i < objs.live.cap; i++) {
		struct pt_obj *o = objs.live.vals[i];
		if (!o)
			continue;
		for (struct pt_acq *a = o->acqs; a; a = a->next)
			fn(o->type, a->slot, a->stack, a->is_handle, arg);
	}
	pthread_mutex_unlock(&objs.lock);
}
