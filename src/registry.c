/*
 * registry.c - counter slots, the strings they name and tag descriptions, all
 * published in the export segment.
 *
 * A slot is one (call site, tag, pool).  A site gets its slot the first time
 * it runs (pool.c caches the slot in the site's static descriptor), so
 * registration costs one locked lookup per site and tag, once.  The lookup
 * tables are private to the process; the segment only ever receives
 * complete, published entries.
 *
 * Invariants (under pt_seg_lock, which every function here expects held):
 *  - slots [1, hdr->nslots) are filled and their counter pages exist in
 *    every shard in [0, hdr->nshards): committed >= nslots.
 *  - slots 1 to 4 are the last resort of the four counter classes (paged,
 *    non-paged, references, handles), used when the table or the file
 *    system is full, so a count is never lost: per-site detail degrades
 *    first, then per-tag, never the totals.
 *  - string offset 0 is "", offset 1 is "?" (a string that did not fit).
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <errno.h>

#include "internal.h"

#define SLOTS_PER_COMMIT PT_FIRST_COMMIT /* one 4 KiB page of counters per shard */
#define RESERVED_FOR_TAGS 64 /* slots kept for per-tag fallbacks when sites overflow */

static struct {
	uint32_t *slot_hash; /* open addressing, slot numbers, 0 = empty */
	uint32_t slot_mask;
	const struct pt_site **slot_site; /* the site each slot was made for (NULL: tag fallback) */
	uint32_t *str_hash; /* open addressing, string offsets, 0 = empty */
	uint32_t str_mask;
	uint32_t committed; /* slots whose counters have pages in every shard */
	int ready;
} reg;

static uint32_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (uint32_t)x;
}

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static void *map_private(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Appends s to the string area; returns its offset, 1 ("?") if it does not
 * fit.  Equal strings share one offset. */
static uint32_t intern(const char *s)
{
	struct pt_seg_header *h = pt_seg.hdr;
	uint32_t i, off, len;

	if (!s || !*s)
		return 0;
	for (i = hash_str(s) & reg.str_mask; (off = reg.str_hash[i]) != 0; i = (i + 1) & reg.str_mask)
		if (strcmp(pt_seg.strings + off, s) == 0)
			return off;
	len = (uint32_t)strnlen(s, 4096);
	off = h->strings_used;
	if (len >= 4096 || (uint64_t)off + len + 1 > h->strings_size ||
	    pt_seg_commit(h->strings_off + off, len + 1) != 0)
		return 1;
	memcpy(pt_seg.strings + off, s, len);
	pt_seg.strings[off + len] = 0;
	reg.str_hash[i] = off;
	__atomic_store_n(&h->strings_used, off + len + 1, __ATOMIC_RELEASE);
	return off;
}

uint32_t pt_registry_string(const char *s)
{
	return reg.str_hash ? intern(s) : 1;
}

/* Backs the next SLOTS_PER_COMMIT slots: their descriptors and their
 * counters in every shard. */
static int commit_more(void)
{
	uint64_t first = reg.committed, n = SLOTS_PER_COMMIT;

	if (first + n > pt_seg.hdr->max_slots)
		n = pt_seg.hdr->max_slots - first;
	if (pt_seg_commit(pt_seg.hdr->slots_off + first * sizeof(struct pt_seg_slot),
			  n * sizeof(struct pt_seg_slot)) != 0 ||
	    pt_shard_commit_all(first * sizeof(struct pt_seg_ctr), n * sizeof(struct pt_seg_ctr)) != 0)
		return -1;
	reg.committed += (uint32_t)n;
	return 0;
}

/* Fills and publishes a new slot; 0 if there is no room. */
static uint32_t add_slot(const struct pt_site *site, uint32_t tag, unsigned pool, uint32_t hi,
			 uint32_t module)
{
	struct pt_seg_header *h = pt_seg.hdr;
	uint32_t n = h->nslots;
	struct pt_seg_slot *s;

	if (n >= hi || (n >= reg.committed && commit_more() != 0))
		return 0;
	s = &pt_seg.slots[n];
	s->tag = tag;
	s->pool = pool;
	s->line = site ? site->line : 0;
	s->file = site ? intern(site->file) : 0;
	s->func = site ? intern(site->func) : 0;
	s->module = !site ? 0 : module == PT_MODULE_OF_SITE ? pt_module_of(site) : module;
	reg.slot_site[n] = site;
	__atomic_store_n(&h->nslots, n + 1, __ATOMIC_RELEASE);
	return n;
}

static int setup(void)
{
	struct pt_seg_header *h = pt_seg.hdr;
	uint32_t slot_cap = 1, str_cap = 1;

	while (slot_cap < 2 * h->max_slots)
		slot_cap <<= 1;
	while (str_cap < 2 * h->max_slots + 1024)
		str_cap <<= 1;
	reg.slot_hash = map_private(slot_cap * sizeof(uint32_t));
	reg.slot_site = map_private(h->max_slots * sizeof(*reg.slot_site));
	reg.str_hash = map_private(str_cap * sizeof(uint32_t));
	if (!reg.slot_hash || !reg.slot_site || !reg.str_hash)
		return -1;
	reg.slot_mask = slot_cap - 1;
	reg.str_mask = str_cap - 1;
	if (pt_seg_commit(h->strings_off, 3) != 0)
		return -1;
	memcpy(pt_seg.strings, "\0?", 3);
	h->strings_used = 3;
	for (unsigned cls = 0; cls < PT_SEG_NCLASSES; cls++)
		if (add_slot(NULL, PT_TAG("????"), cls, h->max_slots, 0) != 1 + cls)
			return -1;
	reg.ready = 1;
	pt_registry_module(0, program_invocation_short_name, program_invocation_name,
			   PT_SEG_MODULE_LOADED);
	return pt_registry_describe(PT_TAG("????"),
				    "Tags beyond the counter table (raise POOLTAG_MAX_SITES)",
				    "pooltag");
}

/* Looks (site, tag, pool) up or adds it, charged to module (or, for
 * PT_MODULE_OF_SITE, to the module holding the site descriptor).  A site
 * that does not fit falls back to its tag's slot, a tag that does not fit to
 * its pool's last resort. */
uint32_t pt_registry_slot_in(const struct pt_site *site, uint32_t tag, unsigned pool,
			     uint32_t module)
{
	uint32_t i, slot, hi;

	if (!reg.ready && setup() != 0)
		return 1 + pool;
	for (;;) {
		uint64_t key = (uint64_t)(uintptr_t)site * 31 + ((uint64_t)tag << 2 | pool);

		for (i = hash64(key) & reg.slot_mask; (slot = reg.slot_hash[i]) != 0;
		     i = (i + 1) & reg.slot_mask) {
			const struct pt_seg_slot *s = &pt_seg.slots[slot];
			if (reg.slot_site[slot] == site && s->tag == tag && s->pool == pool)
				return slot;
		}
		hi = pt_seg.hdr->max_slots - (site ? RESERVED_FOR_TAGS : 0);
		slot = add_slot(site, tag, pool, hi, module);
		if (slot) {
			reg.slot_hash[i] = slot;
			return slot;
		}
		if (!site)
			return 1 + pool;
		site = NULL;
	}
}

void pt_registry_locate(uint32_t slot, const char *func, const char *file, unsigned line)
{
	struct pt_seg_slot *s;

	if (!reg.ready || slot >= pt_seg.hdr->nslots)
		return;
	s = &pt_seg.slots[slot];
	s->func = intern(func);
	s->file = intern(file);
	/* Last: a reader that sees the line sees its file. */
	__atomic_store_n(&s->line, line, __ATOMIC_RELEASE);
}

uint32_t pt_registry_slot(const struct pt_site *site, uint32_t tag, unsigned pool)
{
	return pt_registry_slot_in(site, tag, pool, PT_MODULE_OF_SITE);
}

/* Publishes module id's entry (the table was backed when the segment was
 * made).  Ids are given out in order, so nmodules only grows. */
void pt_registry_module(uint32_t id, const char *name, const char *path, uint32_t state)
{
	struct pt_seg_header *h = pt_seg.hdr;
	struct pt_seg_module *m;

	if (!reg.ready && setup() != 0)
		return;
	if (id >= h->max_modules || pt_seg_commit(h->modules_off + id * sizeof(*m), sizeof(*m)))
		return;
	m = &pt_seg.modules[id];
	m->name = intern(name);
	m->path = intern(path);
	__atomic_store_n(&m->state, state, __ATOMIC_RELEASE);
	if (id >= h->nmodules)
		__atomic_store_n(&h->nmodules, id + 1, __ATOMIC_RELEASE);
}

/* A site address that can never match again: the slots of an unloaded
 * module keep their counts, but a plugin loaded later at the same address
 * gets slots of its own. */
static const struct pt_site gone;

void pt_registry_forget_module(uint32_t id)
{
	if (!reg.ready)
		return;
	for (uint32_t i = 1; i < pt_seg.hdr->nslots; i++)
		if (pt_seg.slots[i].module == id && reg.slot_site[i])
			reg.slot_site[i] = &gone;
}

/* Has the program described tag itself? */
int pt_registry_described(uint32_t tag)
{
	for (uint32_t i = 0; i < pt_seg.hdr->ndescs; i++)
		if (pt_seg.descs[i].tag == tag)
			return 1;
	return 0;
}

uint32_t pt_registry_committed(void)
{
	return reg.committed;
}

/* Publishes a description; a later one for the same tag wins for readers.
 * 0, or -1 when the table or the string area is full. */
int pt_registry_describe(uint32_t tag, const char *desc, const char *binary)
{
	struct pt_seg_header *h = pt_seg.hdr;
	uint32_t n = h->ndescs;
	struct pt_seg_desc *d;

	if (!reg.ready && setup() != 0)
		return -1;
	if (n >= h->max_descs || pt_seg_commit(h->descs_off + n * sizeof(*d), sizeof(*d)) != 0)
		return -1;
	d = &pt_seg.descs[n];
	d->tag = tag;
	d->desc = intern(desc);
	d->binary = intern(binary);
	if (d->desc == 1 || d->binary == 1)
		return -1;
	__atomic_store_n(&h->ndescs, n + 1, __ATOMIC_RELEASE);
	return 0;
}
