/*
 * objmap.c - see objmap.h.
 */
#include <stdlib.h>

#include "objmap.h"

static size_t slot_of(const struct pt_objmap *m, uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (size_t)key & (m->cap - 1);
}

void *pt_objmap_get(const struct pt_objmap *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	for (size_t i = slot_of(m, key); m->vals[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key)
			return m->vals[i];
	return NULL;
}

/* Rebuilds the table with cap entries; -1 on out of memory. */
static int resize(struct pt_objmap *m, size_t cap)
{
	struct pt_objmap n = {calloc(cap, sizeof(uint64_t)), calloc(cap, sizeof(void *)), cap, 0};

	if (!n.keys || !n.vals) {
		free(n.keys);
		free(n.vals);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->vals[i])
			pt_objmap_put(&n, m->keys[i], m->vals[i]);
	free(m->keys);
	free(m->vals);
	*m = n;
	return 0;
}

int pt_objmap_put(struct pt_objmap *m, uint64_t key, void *val)
{
	size_t i;

	if (2 * (m->n + 1) > m->cap && resize(m, m->cap ? 2 * m->cap : 64) != 0)
		return -1;
	for (i = slot_of(m, key); m->vals[i]; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			m->vals[i] = val;
			return 0;
		}
	}
	m->keys[i] = key;
	m->vals[i] = val;
	m->n++;
	return 0;
}

void pt_objmap_del(struct pt_objmap *m, uint64_t key)
{
	size_t mask = m->cap - 1, i, j;

	if (!m->cap)
		return;
	for (i = slot_of(m, key); m->vals[i] && m->keys[i] != key; i = (i + 1) & mask)
		;
	if (!m->vals[i])
		return;
	/* Shift back every later entry of the run that hashes at or before the
	 * hole, so lookups never meet a gap inside their run. */
	for (j = (i + 1) & mask; m->vals[j]; j = (j + 1) & mask) {
		size_t home = slot_of(m, m->keys[j]);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			i = j;
		}
	}
	m->vals[i] = NULL;
	m->n--;
}
