/*
 * handle.c - handle tables: a handle names an object through a slot of a
 * table, holding a reference while it is open.
 *
 * A handle is (generation << 32 | slot index + 1).  Closing a slot bumps its
 * generation, so a closed handle, or one whose slot was reused since, never
 * matches again and never reaches another object; generation 0 is skipped
 * so that no handle is 0.  Each open slot keeps the acquisition its
 * reference was recorded as, so closing releases exactly that one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct hslot {
	void *obj;          /* NULL: free */
	struct pt_acq *acq; /* the handle's reference */
	uint32_t gen;
	uint32_t next_free; /* index + 1 of the next free slot, 0: none */
};

struct pt_htable {
	pthread_mutex_t lock;
	char name[32];
	struct hslot *slots;
	uint32_t cap, used, free_head; /* free_head: index + 1, 0: none */
	long open;
};

struct pt_htable *pt_htable_create(const char *name)
{
	struct pt_htable *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	snprintf(t->name, sizeof(t->name), "%s", name ? name : "");
	return t;
}

/* The open slot h names, or NULL.  Called with t->lock held. */
static struct hslot *find(struct pt_htable *t, pt_handle h)
{
	uint32_t idx = (uint32_t)h, gen = (uint32_t)(h >> 32);
	struct hslot *s;

	if (idx == 0 || idx > t->used)
		return NULL;
	s = &t->slots[idx - 1];
	return s->obj && s->gen == gen ? s : NULL;
}

int pt_handle_open_at(struct pt_site *site, struct pt_htable *t, void *obj, pt_handle *out)
{
	struct pt_acq *a;
	struct hslot *s;
	uint32_t idx;

	if (!t || !out) {
		errno = EINVAL;
		return -1;
	}
	a = pt_obj_handle_acquire(site, obj);
	if (!a)
		return -1;
	pthread_mutex_lock(&t->lock);
	if (t->free_head) {
		idx = t->free_head;
		t->free_head = t->slots[idx - 1].next_free;
	} else {
		if (t->used == t->cap) {
			uint32_t ncap = t->cap ? 2 * t->cap : 64;
			struct hslot *n = ncap > t->cap ? realloc(t->slots, ncap * sizeof(*n)) : NULL;
			if (!n) {
				pthread_mutex_unlock(&t->lock);
				pt_obj_handle_release(obj, a);
				errno = ENOMEM;
				return -1;
			}
			memset(n + t->cap, 0, (ncap - t->cap) * sizeof(*n));
			t->slots = n;
			t->cap = ncap;
		}
		idx = ++t->used;
		t->slots[idx - 1].gen = 1;
	}
	s = &t->slots[idx - 1];
	s->obj = obj;
	s->acq = a;
	t->open++;
	*out = (pt_handle)s->gen << 32 | idx;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

/* Frees slot s (its handle stops matching); returns its object and
 * acquisition for the caller to release outside the lock. */
static void vacate(struct pt_htable *t, struct hslot *s, void **obj, struct pt_acq **acq)
{
	*obj = s->obj;
	*acq = s->acq;
	s->obj = NULL;
	s->acq = NULL;
	if (++s->gen == 0)
		s->gen = 1;
	s->next_free = t->free_head;
	t->free_head = (uint32_t)(s - t->slots) + 1;
	t->open--;
}

int pt_handle_close_at(struct pt_site *site, struct pt_htable *t, pt_handle h)
{
	struct pt_acq *a = NULL;
	struct hslot *s;
	void *obj = NULL;

	(void)site;
	if (!t) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&t->lock);
	s = find(t, h);
	if (s)
		vacate(t, s, &obj, &a);
	pthread_mutex_unlock(&t->lock);
	if (!s) {
		errno = EBADF;
		return -1;
	}
	pt_obj_handle_release(obj, a);
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
	pthread_mutex_lock(&t->lock);
	s = find(t, h);
	if (!s) {
		errno = EBADF;
	} else if (type && pt_obj_type(s->obj) != type) {
		errno = EPROTOTYPE;
	} else if (pt_obj_ref_at(site, s->obj, reftag) == 0) {
		/* The open handle keeps the object alive while the lock is held. */
		*out = s->obj;
		rc = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

long pt_htable_destroy(struct pt_htable *t)
{
	long open;

	if (!t)
		return 0;
	open = t->open;
	for (uint32_t i = 0; i < t->used; i++) {
		struct pt_acq *a;
		void *obj;
		if (!t->slots[i].obj)
			continue;
		pthread_mutex_lock(&t->lock);
		vacate(t, &t->slots[i], &obj, &a);
		pthread_mutex_unlock(&t->lock);
		pt_obj_handle_release(obj, a);
	}
	pthread_mutex_destroy(&t->lock);
	free(t->slots);
	free(t);
	return open;
}
