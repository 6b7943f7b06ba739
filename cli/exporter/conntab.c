/*
 * conntab.c - the exporter's connection table (see conntab.h).
 */
#include <stdlib.h>

#include "conntab.h"

int pt_conntab_init(struct pt_conntab *t, const struct pt_conn_limits *lim)
{
	*t = (struct pt_conntab){.lim = *lim};
	if (t->lim.max_conns == 0)
		t->lim.max_conns = 1;
	t->slots = calloc(t->lim.max_conns, sizeof(*t->slots));
	if (!t->slots)
		return -1;
	for (size_t i = t->lim.max_conns; i-- > 0;) {
		t->slots[i].fd = -1;
		t->slots[i].next = t->free;
		t->free = &t->slots[i];
	}
	return 0;
}

void pt_conntab_free(struct pt_conntab *t)
{
	for (size_t i = 0; t->slots && i < t->lim.max_conns; i++) {
		free(t->slots[i].in);
		free(t->slots[i].out);
	}
	free(t->slots);
	*t = (struct pt_conntab){0};
}

static void unlink_conn(struct pt_conntab *t, struct pt_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		t->list[c->state].head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		t->list[c->state].tail = c->prev;
	c->prev = c->next = NULL;
}

static void append(struct pt_conntab *t, struct pt_conn *c, enum pt_conn_state s, int64_t now)
{
	int64_t ms = s == PT_CONN_READ ? t->lim.read_ms
		   : s == PT_CONN_WRITE ? t->lim.write_ms : t->lim.linger_ms;

	c->state = s;
	c->deadline = now + ms;
	c->next = NULL;
	c->prev = t->list[s].tail;
	if (c->prev)
		c->prev->next = c;
	else
		t->list[s].head = c;
	t->list[s].tail = c;
}

int pt_conntab_full(const struct pt_conntab *t)
{
	return t->free == NULL;
}

struct pt_conn *pt_conntab_victim(const struct pt_conntab *t)
{
	static const enum pt_conn_state order[] = {PT_CONN_LINGER, PT_CONN_READ, PT_CONN_WRITE};

	for (size_t i = 0; i < 3; i++)
		if (t->list[order[i]].head)
			return t->list[order[i]].head;
	return NULL;
}

struct pt_conn *pt_conntab_add(struct pt_conntab *t, int fd, int64_t now)
{
	struct pt_conn *c = t->free;

	if (!c)
		return NULL;
	t->free = c->next;
	c->fd = fd;
	c->inlen = c->outlen = c->outoff = 0;
	append(t, c, PT_CONN_READ, now);
	t->n++;
	return c;
}

void pt_conntab_set(struct pt_conntab *t, struct pt_conn *c, enum pt_conn_state s, int64_t now)
{
	unlink_conn(t, c);
	append(t, c, s, now);
}

void pt_conntab_remove(struct pt_conntab *t, struct pt_conn *c)
{
	unlink_conn(t, c);
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
	c->fd = -1;
	c->state = PT_CONN_FREE;
	c->gen++;
	c->next = t->free;
	t->free = c;
	t->n--;
}

int64_t pt_conntab_next_deadline(const struct pt_conntab *t)
{
	int64_t d = INT64_MAX;

	for (int s = PT_CONN_READ; s <= PT_CONN_LINGER; s++)
		if (t->list[s].head && t->list[s].head->deadline < d)
			d = t->list[s].head->deadline;
	return d;
}

struct pt_conn *pt_conntab_expired(const struct pt_conntab *t, int64_t now)
{
	for (int s = PT_CONN_READ; s <= PT_CONN_LINGER; s++)
		if (t->list[s].head && t->list[s].head->deadline <= now)
			return t->list[s].head;
	return NULL;
}

struct pt_conn *pt_conntab_oldest_writer(const struct pt_conntab *t)
{
	return t->list[PT_CONN_WRITE].head;
}

uint64_t pt_conntab_key(const struct pt_conntab *t, const struct pt_conn *c)
{
	return (uint64_t)c->gen << 32 | (uint64_t)(c - t->slots);
}

struct pt_conn *pt_conntab_get(const struct pt_conntab *t, uint64_t key)
{
	size_t i = (size_t)(key & 0xffffffffu);
	struct pt_conn *c;

	if (i >= t->lim.max_conns)
		return NULL;
	c = &t->slots[i];
	return c->state != PT_CONN_FREE && c->gen == (uint32_t)(key >> 32) ? c : NULL;
}
