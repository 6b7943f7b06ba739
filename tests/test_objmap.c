/*
 * test_objmap.c - the map of objects (src/objmap.c), and objects found by id
 * through it (src/object.c): the map's keys, growth and removal without
 * tombstones; a lookup takes a reference charged to its line, a duplicate
 * id is refused, an id is free again with its object's last reference,
 * even inside the delete routine and right after a lookup another thread
 * raced with.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pooltag.h>

#include "objmap.h"
#include "pt_libtest.h"
#include "segread.h"

#define CLS_REFS 2 /* counter class of references in the segment (segfmt.h) */

/* Types live until exit: kept here, so they stay reachable for LSan too. */
static struct pt_objtype *t_basic, *t_id, *t_dying, *t_race;

/* A reference row of this file in this process's own segment, read back the
 * way the CLI reads it (site_count: found is the rows matched, -1 when the
 * segment could not be read). */
static struct site_count refs_at(const char *tag, unsigned line)
{
	return site_count(CLS_REFS, tag, "test_objmap.c", line, NULL);
}

/* ---- the map ---- */

static char vals[4096]; /* value i is &vals[i]: non-NULL, and tells i */

static void map_free(struct pt_objmap *m)
{
	free(m->keys);
	free(m->vals);
	*m = (struct pt_objmap){0};
}

PT_TEST(test_map_empty_and_overwrite)
{
	struct pt_objmap m = {0};

	PT_CHECK(pt_objmap_get(&m, 0) == NULL);
	pt_objmap_del(&m, 0); /* nothing to remove, no table yet */
	PT_CHECK_EQ(m.cap, 0);
	PT_CHECK_EQ(pt_objmap_put(&m, 0, &vals[1]), 0); /* key 0 is a key */
	PT_CHECK_EQ(m.n, 1);
	PT_CHECK(m.cap >= 2 && (m.cap & (m.cap - 1)) == 0);
	PT_CHECK(pt_objmap_get(&m, 0) == &vals[1]);
	PT_CHECK(pt_objmap_get(&m, 1) == NULL);
	PT_CHECK_EQ(pt_objmap_put(&m, 0, &vals[2]), 0);
	PT_CHECK_EQ(m.n, 1);
	PT_CHECK(pt_objmap_get(&m, 0) == &vals[2]);
	pt_objmap_del(&m, 12345);
	PT_CHECK_EQ(m.n, 1);
	pt_objmap_del(&m, 0);
	PT_CHECK_EQ(m.n, 0);
	PT_CHECK(pt_objmap_get(&m, 0) == NULL);
	pt_objmap_del(&m, 0);
	PT_CHECK_EQ(m.n, 0);
	map_free(&m);
}

/* Keys of every shape (addresses 16 apart, small ids, high bits): the
 * table doubles at half load, and removing every other key leaves each
 * of the rest reachable, however the runs of the table were shifted. */
PT_TEST(test_map_grow_and_remove)
{
	struct pt_objmap m = {0};
	uint64_t keys[3000];
	int missing = 0, wrong = 0;

	for (int i = 0; i < 3000; i++)
		keys[i] = i < 1000 ? 0x7f0000001000ull + 16 * (uint64_t)i
		          : i < 2000 ? (uint64_t)(i - 1000)
		                     : (uint64_t)(i - 2000) << 48;
	for (int i = 0; i < 3000; i++) {
		PT_CHECK_EQ(pt_objmap_put(&m, keys[i], &vals[i]), 0);
		if (2 * m.n > m.cap)
			PT_FAIL_("%zu entries in a table of %zu", m.n, m.cap);
	}
	PT_CHECK_EQ(m.n, 2999); /* key 0 twice: an id and a shift of 0 */
	PT_CHECK_EQ(m.cap, 8192);
	for (int i = 0; i < 3000; i += 2)
		pt_objmap_del(&m, keys[i]);
	for (int i = 0; i < 3000; i++) {
		void *v = pt_objmap_get(&m, keys[i]);

		if (i % 2 == 0 && keys[i] != 0)
			wrong += v != NULL;
		else if (keys[i] != 0)
			missing += v != &vals[i];
	}
	PT_CHECK_EQ(missing, 0);
	PT_CHECK_EQ(wrong, 0);
	PT_CHECK_EQ(m.n, 1500); /* key 0 went with index 1000 */
	for (int i = 1; i < 3000; i += 2)
		pt_objmap_del(&m, keys[i]);
	PT_CHECK_EQ(m.n, 0);
	for (size_t i = 0; i < m.cap; i++)
		missing += m.vals[i] != NULL;
	PT_CHECK_EQ(missing, 0);
	map_free(&m);
}

/* ---- objects by id ---- */

PT_TEST(test_lookup_by_id)
{
	char *o = pt_obj_create(t_id, 32, 42), *p, *again;
	struct pt_count c;
	unsigned l_lookup;

	PT_CHECK(o != NULL);
	l_lookup = __LINE__ + 1;
	p = pt_obj_lookup(t_id, 42);
	PT_CHECK(p == o);
	PT_CHECK_EQ(pt_obj_refs(o), 2);
	PT_CHECK_EQ(refs_at("ObjI", l_lookup).nallocs, 1);
	PT_CHECK_EQ(pt_obj_deref(p), 0);
	PT_CHECK_EQ(refs_at("ObjI", l_lookup).nfrees, 1);
	PT_CHECK_EQ(pt_obj_refs(o), 1);

	errno = 0;
	PT_CHECK(pt_obj_lookup(t_id, 43) == NULL && errno == ENOENT);
	errno = 0;
	PT_CHECK(pt_obj_lookup(t_basic, 42) == NULL && errno == EINVAL); /* not BY_ID */
	errno = 0;
	PT_CHECK(pt_obj_lookup(NULL, 42) == NULL && errno == EINVAL);

	/* A duplicate id: refused, and no memory is left behind. */
	c = count_of("ObjI", PT_PAGED);
	errno = 0;
	PT_CHECK(pt_obj_create(t_id, 32, 42) == NULL && errno == EEXIST);
	PT_CHECK_EQ(count_of("ObjI", PT_PAGED).curblocks, c.curblocks);
	PT_CHECK_EQ(count_of("ObjI", PT_PAGED).curbytes, c.curbytes);
	PT_CHECK_EQ(pt_obj_refs(o), 1);
	PT_CHECK(pt_obj_lookup(t_id, 42) == o); /* still the first one */
	PT_CHECK_EQ(pt_obj_deref(o), 0);

	/* Its last reference gone, the id is free again. */
	PT_CHECK_EQ(pt_obj_deref(o), 0);
	errno = 0;
	PT_CHECK(pt_obj_lookup(t_id, 42) == NULL && errno == ENOENT);
	again = pt_obj_create(t_id, 32, 42);
	PT_CHECK(again != NULL);
	PT_CHECK(pt_obj_lookup(t_id, 42) == again);
	PT_CHECK_EQ(pt_obj_refs(again), 2);
	PT_CHECK_EQ(pt_obj_deref(again), 0);
	PT_CHECK_EQ(pt_obj_deref(again), 0);
	PT_CHECK_EQ(count_of("ObjI", PT_PAGED).curblocks, 0);
}

/* Inside the delete routine the object is already gone for everyone: not
 * found by id, no references, and its id can be taken by a new object.
 * The routine runs without the library's lock, so it may call back. */
static struct {
	int armed;
	void *found;
	int found_errno;
	long refs;
	void *replacement;
} in_delete;

static void dying_delete(void *body)
{
	if (!in_delete.armed)
		return;
	in_delete.armed = 0;
	errno = 0;
	in_delete.found = pt_obj_lookup(t_dying, pt_obj_id(body));
	in_delete.found_errno = errno;
	in_delete.refs = pt_obj_refs(body);
	in_delete.replacement = pt_obj_create(t_dying, 8, pt_obj_id(body));
}

PT_TEST(test_lookup_while_dying)
{
	void *o = pt_obj_create(t_dying, 8, 5), *r;

	in_delete.found = (void *)1;
	in_delete.armed = 1;
	PT_CHECK_EQ(pt_obj_deref(o), 0);
	PT_CHECK_EQ(in_delete.armed, 0);
	PT_CHECK(in_delete.found == NULL);
	PT_CHECK_EQ(in_delete.found_errno, ENOENT);
	PT_CHECK_EQ(in_delete.refs, -1);
	r = in_delete.replacement;
	PT_CHECK(r != NULL);
	if (!r)
		return;
	PT_CHECK_EQ(pt_obj_id(r), 5);
	PT_CHECK(pt_obj_lookup(t_dying, 5) == r);
	PT_CHECK_EQ(pt_obj_refs(r), 2);
	PT_CHECK_EQ(pt_obj_deref(r), 0);
	PT_CHECK_EQ(pt_obj_deref(r), 0);
	PT_CHECK_EQ(pt_obj_refs(r), -1);
	PT_CHECK_EQ(count_of("ObjD", PT_PAGED).curblocks, 0);
}

/*
 * An id is free once a lookup no longer finds its object: a create right
 * after a lookup said ENOENT (and nobody else creating that id) must not
 * fail with EEXIST.  Another thread drops the object's last reference while
 * this one polls; the window in between is what is tested, so each round
 * may or may not hit it, and the test passes only if none does.
 */
#define RACE_ROUNDS 5000
#define RACE_ID     77

static void *race_obj;
static int race_phase; /* 1: release it now; 2: released; 3: stop */

static void *race_releaser(void *arg)
{
	int phase;

	(void)arg;
	for (;;) {
		while ((phase = __atomic_load_n(&race_phase, __ATOMIC_ACQUIRE)) != 1 && phase != 3)
			;
		if (phase == 3)
			return NULL;
		pt_obj_deref(__atomic_load_n(&race_obj, __ATOMIC_ACQUIRE));
		__atomic_store_n(&race_phase, 2, __ATOMIC_RELEASE);
	}
}

PT_TEST(test_id_free_once_not_found)
{
	int refused = 0, failed = 0;
	pthread_t th;

	PT_CHECK_EQ(pthread_create(&th, NULL, race_releaser, NULL), 0);
	for (int r = 0; r < RACE_ROUNDS; r++) {
		void *o = pt_obj_create(t_race, 8, RACE_ID), *p, *n;

		if (!o) {
			failed++;
			break;
		}
		__atomic_store_n(&race_obj, o, __ATOMIC_RELEASE);
		__atomic_store_n(&race_phase, 1, __ATOMIC_RELEASE);
		while ((p = pt_obj_lookup(t_race, RACE_ID)) != NULL)
			pt_obj_deref(p);
		n = pt_obj_create(t_race, 8, RACE_ID);
		if (!n) {
			refused += errno == EEXIST;
			while (__atomic_load_n(&race_phase, __ATOMIC_ACQUIRE) != 2)
				;
			n = pt_obj_create(t_race, 8, RACE_ID);
		}
		while (__atomic_load_n(&race_phase, __ATOMIC_ACQUIRE) != 2)
			;
		__atomic_store_n(&race_phase, 0, __ATOMIC_RELEASE);
		failed += !n;
		pt_obj_deref(n);
	}
	__atomic_store_n(&race_phase, 3, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	if (refused)
		printf("# %d of %d creates refused with EEXIST right after a lookup said ENOENT\n",
		       refused, RACE_ROUNDS);
	PT_CHECK_EQ(refused, 0);
	PT_CHECK_EQ(failed, 0);
	PT_CHECK_EQ(count_of("ObjR", PT_PAGED).curblocks, 0);
}

int main(void)
{
	pt_misuse_set_hook(catch_misuse, NULL);
	t_basic = pt_objtype_create("Basic", PT_PAGED, "ObjA", NULL, 0);
	t_id = pt_objtype_create("ById", PT_PAGED, "ObjI", NULL, PT_OBJTYPE_BY_ID);
	t_dying = pt_objtype_create("Dying", PT_PAGED, "ObjD", dying_delete, PT_OBJTYPE_BY_ID);
	t_race = pt_objtype_create("Race", PT_PAGED, "ObjR", NULL, PT_OBJTYPE_BY_ID);
	PT_RUN(test_map_empty_and_overwrite);
	PT_RUN(test_map_grow_and_remove);
	PT_RUN(test_lookup_by_id);
	PT_RUN(test_lookup_while_dying);
	PT_RUN(test_id_free_once_not_found);
	PT_RUN(test_nothing_outstanding);
	return pt_test_done();
}
