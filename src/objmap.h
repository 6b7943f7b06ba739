/*
 * objmap.h - a small hash map from 64-bit keys to non-NULL pointers, for the
 * object registry (live objects by address, objects by id).
 *
 * Open addressing with linear probing; deletion shifts later entries back,
 * so there are no tombstones and a lookup stops at the first empty slot.
 * The table doubles at half load.  Not thread-safe: callers lock.
 */
#ifndef PT_OBJMAP_H
#define PT_OBJMAP_H

#include <stddef.h>
#include <stdint.h>

struct pt_objmap {
	uint64_t *keys;
	void **vals; /* NULL: empty */
	size_t cap;  /* a power of two, or 0 */
	size_t n;
};

/* The value of key, or NULL. */
void *pt_objmap_get(const struct pt_objmap *m, uint64_t key);

/* Sets key to val (non-NULL).  0, or -1 on out of memory (m unchanged). */
int pt_objmap_put(struct pt_objmap *m, uint64_t key, void *val);

/* Removes key if present. */
void pt_objmap_del(struct pt_objmap *m, uint64_t key);

#endif /* PT_OBJMAP_H */
