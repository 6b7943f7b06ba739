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

#include "fault.h"
#include "internal.h"

struct hslot {
	void *obj;          /* NULL: free */
	struct pt_acq *acq; /* the handle's reference */
	uint32_t gen;
	uint32_t next_free; /* index + 1 of the next free slot, 0: none */
	/* The last handle closed in this slot, for reports of its misuse. */
	uint32_t closed_gen;  /* its generation, 0: none closed yet */
	uint32_t opened_slot; /* the counter slot of the line that opened it */
	char closed_at[96];   /* where it was closed */
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
		pt_obj_report_not_live("handle open", obj, site);
	if (e) {
		errno = e;
		return -1;
	}
	return 0;
}

/* Frees slot s (its handle stops matching) and releases its reference;
 * returns the object to destroy after unlocking, or NULL.  Lock held.
 * site: the closing call (NULL: the table's destruction). */
static void *vacate(struct pt_htable *t, struct hslot *s, const struct pt_site *site)
{
	void *dead;

	s->closed_gen = s->gen;
	s->opened_slot = pt_acq_slot(s->acq);
	if (site)
		pt_site_text(site, s->closed_at, sizeof(s->closed_at));
	else
		snprintf(s->closed_at, sizeof(s->closed_at), "the destruction of its table");
	dead = pt_obj_release_locked(s->obj, s->acq, site);

	s->obj = NULL;
	s->acq = NULL;
	if (++s->gen == 0)
		s->gen = 1;
	s->next_free = t->free_head;
	t->free_head = (uint32_t)(s - t->slots) + 1;
	t->open--;
	return dead;
}

/*
 * A handle that matched nothing: if it names a slot of t in a generation
 * older than the slot's, it was closed, and its use is misuse (reported,
 * with where it was opened and closed when it is the slot's last closed
 * one).  Anything else (0, made-up values) is no handle of t: an error only.
 * Lock held; fills what report_closed prints.
 */
struct closed {
	int was_closed, known;
	uint32_t opened_slot;
	char closed_at[96];
};

static struct closed closed_handle(const struct pt_htable *t, pt_handle h)
{
	uint32_t idx = (uint32_t)h, gen = (uint32_t)(h >> 32);
	struct closed c = {0};
	const struct hslot *s;

	if (idx == 0 || idx > t->used || gen == 0)
		return c;
	s = &t->slots[idx - 1];
	if (gen >= s->gen)
		return c;
	c.was_closed = 1;
	if (gen == s->closed_gen) {
		c.known = 1;
		c.opened_slot = s->opened_slot;
		memcpy(c.closed_at, s->closed_at, sizeof(c.closed_at));
	}
	return c;
}

static void report_closed(const struct closed *c, const char *op, const struct pt_htable *t,
			  pt_handle h, const struct pt_site *site)
{
	char text[768], at[256], opened[256];
	const struct pt_seg_slot *os = &pt_seg.slots[c->opened_slot];
	struct pt_misuse m = {PT_MISUSE_BAD_HANDLE, NULL, c->known ? os->tag : 0, 0,
			      c->known ? pt_seg.strings + os->file : NULL,
			      c->known ? pt_seg.strings + os->func : NULL, c->known ? os->line : 0,
			      site, text, NULL, c->known ? c->closed_at : NULL};

	if (!c->was_closed)
		return;
	pt_site_text(site, at, sizeof(at));
	if (c->known) {
		char tag[5];
		pt_slot_text(c->opened_slot, opened, sizeof(opened));
		snprintf(text, sizeof(text),
			 "pooltag: %s of handle 0x%llx (table '%s', '%s' object) at %s: it was closed "
			 "at %s; it was opened at %s",
			 op, (unsigned long long)h, t->name, pt_tag_str(os->tag, tag), at, c->closed_at,
			 opened);
	} else {
		snprintf(text, sizeof(text),
			 "pooltag: %s of handle 0x%llx (table '%s') at %s: it was closed, and its slot "
			 "reused and closed again since",
			 op, (unsigned long long)h, t->name, at);
	}
	pt_misuse_deliver(&m);
}

int pt_handle_close_at(struct pt_site *site, struct pt_htable *t, pt_handle h)
{
	struct hslot *s;
	struct closed c = {0};
	void *dead = NULL;

	if (!t) {
		errno = EINVAL;
		return -1;
	}
	pt_obj_lock();
	s = find(t, h);
	if (s)
		dead = vacate(t, s, site);
	else
		c = closed_handle(t, h);
	pt_obj_unlock();
	pt_obj_destroy(dead, site);
	if (!s) {
		report_closed(&c, "close", t, h, site);
		errno = EBADF;
		return -1;
	}
	return 0;
}

int pt_handle_ref_at(struct pt_site *site, struct pt_htable *t, pt_handle h,
		     const struct pt_objtype *type, uint32_t reftag, void **out)
{
	struct hslot *s;
	struct closed c = {0};
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
		c = closed_handle(t, h);
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
	if (c.was_closed) {
		report_closed(&c, "reference", t, h, site);
		errno = EBADF;
	}
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
			dead = vacate(t, &t->slots[i], NULL);
		pt_obj_unlock();
		pt_obj_destroy(dead, NULL);
	}
	free(t->slots);
	free(t);
	return open;
}
