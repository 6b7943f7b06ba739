/*
 * track.c - a record per live block, while blocks are tracked: which slot
 * (site, tag, pool, module) allocated it and with what call stack, so a leak
 * of memory at a module's unload gets a sample stack like a leak of
 * references does.
 *
 * The record sits in front of the block header, inside the same
 * allocation (the header's alignment field says so: 1 is "tracked"):
 *
 *   +-------------------+----------------+-----------------
 *   | struct pt_trec    | struct pt__hdr | user data ...
 *   +-------------------+----------------+-----------------
 *
 * Records are linked in one of 64 lists chosen by address, each with its own
 * lock, so threads rarely meet; cost per allocation and free is one
 * uncontended lock and a list splice (and a stack capture with
 * PT_TRACK_STACKS).
 */
#include <pthread.h>
#include <stdint.h>

#include "internal.h"

#define NSTRIPES 64

static struct stripe {
	pthread_mutex_t lock;
	struct pt_trec head; /* circular list */
	char pad[64 - (sizeof(pthread_mutex_t) + sizeof(struct pt_trec)) % 64];
} stripes[NSTRIPES];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init(void)
{
	for (int i = 0; i < NSTRIPES; i++) {
		pthread_mutex_init(&stripes[i].lock, NULL);
		stripes[i].head.next = stripes[i].head.prev = &stripes[i].head;
	}
}

static struct stripe *stripe_of(const struct pt_trec *r)
{
	return &stripes[((uintptr_t)r >> 6) % NSTRIPES];
}

void pt_track_block_add(struct pt_trec *r, uint32_t slot)
{
	struct stripe *s = stripe_of(r);

	pthread_once(&once, init);
	r->slot = slot;
	r->stack = pt_track_stack();
	pthread_mutex_lock(&s->lock);
	r->next = s->head.next;
	r->prev = &s->head;
	r->next->prev = r;
	s->head.next = r;
	pthread_mutex_unlock(&s->lock);
}

void pt_track_block_del(struct pt_trec *r)
{
	struct stripe *s = stripe_of(r);

	pthread_mutex_lock(&s->lock);
	r->prev->next = r->next;
	r->next->prev = r->prev;
	pthread_mutex_unlock(&s->lock);
}

uint32_t pt_track_block_sample(uint32_t slot)
{
	uint32_t stack = 0;

	pthread_once(&once, init);
	for (int i = 0; i < NSTRIPES && !stack; i++) {
		struct stripe *s = &stripes[i];
		pthread_mutex_lock(&s->lock);
		for (struct pt_trec *r = s->head.next; r != &s->head && !stack; r = r->next)
			if (r->slot == slot)
				stack = r->stack;
		pthread_mutex_unlock(&s->lock);
	}
	return stack;
}
