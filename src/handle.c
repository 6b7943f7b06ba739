/*
 * handle.c - handle tables: a handle names an object through a slot of a
 * table, holding a reference while it is open.
 *
 * A handle is (generation << 32 | slot index + 1).  Closing a slot bumps its
 * generation, so a closed handle, or one whose slot was reused since, never
 * matches again and never reaches another object; generation 0 is skipped
 * so that no handle is 0.  Each open slot keeps the acquisition its
 * reference was recorded as, so closing releases exactly that one.
 *
 * Tables share the objects' lock (object.c): opening, closing and
 * referencing through a handle are one critical section each with the
 * reference they take or release, so a handle and its reference never
 * disagree, and nothing needs a lock order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultrun.h"
#include "internal.h"

struct hslot {
	void *obj;          /* NULL: free */
	struct pt_acq *acq; /* the handle's reference */
	uint32_t gen;
	uint32_t next_free; /* index + 1 of the next free slot, 0: none */
};

struct pt_htable {
	char name[32];
	struct hslot *slots;
	uint32_t cap, used, free_head; /* free_head: index + 1, 0: none */
	long open;
};

struct pt_htable *pt_htable_create(const char *name)
{
	struct pt_htable *t = calloc(1, sizeof(*t));

	if (t)
		snprintf(t->name, sizeof(t->name), "%s", name ? name : "");
	return t;
}

/* The open slot h names, or NULL.  Called with the lock held. */
static struct hslot *find(struct pt_htable *t, pt_handle h)
{
	uint32_t idx = (uint32_t)h, gen = (uint32_t)(h >> 32);
	struct hslot *s;

	if (idx == 0 || idx > t->used)
		return NULL;
	s = &t->slots[idx - 1];
	return s->obj && s->gen == gen ? s : NULL;
}

/* A free slot, growing the table if needed; NULL on out of memory.  Called
 * with the lock held. */
static struct hslot *take_slot(struct pt_htable *t)
{
	uint32_t idx;

	if (t->free_head) {
		idx = t->free_head;
		t->free_head = t->slots[idx - 1].next_free;
		return &t->slots[idx - 1];
	}
	if (t->used == t->cap) {
		uint32_t ncap = t->cap ? 2 * t->cap : 64;
		struct hslot *n = ncap > t->cap ? realloc(t->slots, ncap * sizeof(*n)) : NULL;
		if (!n)
			return NULL;
		memset(n + t->cap, 0, (ncap - t->cap) * sizeof(*n));
		t->slots = n;
		t->cap = ncap;
	}
	t->slots[t->used].gen = 1;
	return &t->slots[t->used++];
}

int pt_handle_open_at(struct pt_site *site, struct pt_htable *t, void *obj, pt_handle *out)
{
	struct pt_acq *a = NULL;
	struct hslot *s = NULL;
	int e = 0;

	if (!t || !out) {
		errno = EINVAL;
		return -1;
	}
	pt_fault_point();
	pt_obj_lock();
	s = take_slot(t);
	if (!s)
		e = ENOMEM;
	else if (pt_obj_tag_locked(obj) &&
		 pt_fault_check(PT_FAULT_HANDLE, pt_behalf_site(site), pt_obj_tag_locked(obj), 0))
		e = ENOMEM;
	else if (!(a = pt_obj_acquire_locked(site, obj, 0, 1)))
		e = errno;
	if (a) {
		s->obj = obj;
		s->acq = a;
		t->open++;
		*out = (pt_handle)s->gen << 32 | (uint32_t)(s - t->slots + 1);
	} else if (s) { /* give the slot back unused */
		s->next_free = t->free_head;
		t->free_head = (uint32_t)(s - t->slots) + 1;
	}
	pt_obj_unlock();
	if (e == EINVAL)
		pt_misuse_report(PT_MISUSE_BAD_OBJECT, "handle open", obj, 0, 0, 0, site);
	if (e) {
		errno = e;
		return -1;
	}
	return 0;
}

/* Frees slot s (its handle stops matching) and releases its reference;
 * returns the object to destroy after unlocking, or NULL.  Lock held. */
static void *vacate(struct pt_htable *t, struct hslot *s)
{
	void *dead = pt_obj_release_locked(s->obj, s->acq);

	s->obj = NULL;
	s->acq = NULL;
	if (++s->gen == 0)
		s->gen = 1;
	s->next_free = t->free_head;
	t->free_head = (uint32_t)(s - t->slots) + 1;
	t->open--;
	return dead;
}

int pt_handle_close_at(struct pt_site *site, struct pt_htable *t, pt_handle h)
{
	struct hslot *s;
	void *dead = NULL;

	(void)site;
	if (!t) {
		errno = EINVAL;
		return -1;
	}
	pt_obj_lock();
	s = find(t, h);
	if (s)
		dead = vacate(t, s);
	pt_obj_unlock();
	pt_obj_destroy(dead, site);
	if (!s) {
		errno = EBADF;
		return -1;
	}
	return 0;
}

int pt_handle_ref_at(struct pt_site *site, struct pt_htable *t, pt_handle h,
		     const struct pt_objtype *type, uint32_t reftag, void **out)
{
	struct hslot *s;
	int rc = -1;

	if (!out || !t) {
		errno = EINVAL;
		return -1;
	}
	*out = NULL;
	pt_fault_point();
	pt_obj_lock();
	s = find(t, h);
	if (!s) {
		errno = EBADF;
	} else if (type && pt_obj_type(s->obj) != type) {
		errno = EPROTOTYPE;
	} else if (pt_fault_check(PT_FAULT_REF, pt_behalf_site(site), pt_obj_tag_locked(s->obj), 0)) {
		errno = ENOMEM;
	} else if (pt_obj_acquire_locked(site, s->obj, reftag, 0)) {
		*out = s->obj;
		rc = 0;
	}
	pt_obj_unlock();
	return rc;
}

long pt_htable_destroy(struct pt_htable *t)
{
	long open;

	if (!t)
		return 0;
	open = t->open;
	for (uint32_t i = 0; i < t->used; i++) {
		void *dead = NULL;
		pt_obj_lock();
		if (t->slots[i].obj)
			dead = vacate(t, &t->slots[i]);
		pt_obj_unlock();
		pt_obj_destroy(dead, NULL);
	}
	free(t->slots);
	free(t);
	return open;
}
