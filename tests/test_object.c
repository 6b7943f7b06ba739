/*
 * test_object.c - reference-counted objects: creation, references, the
 * delete routine, lookups by id, reference tags and their pairing rule, the
 * per-site reference counts in the segment, misuse (deleted and foreign
 * objects), ownership transfer between modules, and concurrent traffic.
 *
 * The transfer test loads tests/plugins/modplug.c twice (plugins/modplug.so
 * beside this program, or $PT_MODPLUG, and a copy of it under another name).
 * The plugin resolves pooltag from this program, which must therefore be
 * linked with -rdynamic.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pooltag.h>

#include "plugins/provider.h"
#include "pt_libtest.h"
#include "segread.h"

#define CLS_REFS    2 /* counter class of references in the segment (segfmt.h) */
#define CLS_HANDLES 3

/* Types live until exit: kept here, so they stay reachable for LSan too. */
static struct pt_objtype *t_basic, *t_np, *t_id, *t_dying, *t_chain, *t_zero, *t_tags, *t_sites,
    *t_xfer, *t_mt, *t_described, *t_race;

/* Delete routine calls: how many, and the last body passed. */
static int ndeleted;
static void *last_deleted;

static void on_delete(void *body)
{
	__atomic_fetch_add(&ndeleted, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&last_deleted, body, __ATOMIC_RELAXED);
}

static int deleted(void)
{
	return __atomic_load_n(&ndeleted, __ATOMIC_RELAXED);
}

/* The counts of one (class, tag, file, line[, module]) in this process's own
 * segment, read back the way the CLI reads them.  found: rows matched, -1
 * when the segment could not be read. */
/* A reference row of this file. */
static struct site_count refs_at(const char *tag, unsigned line)
{
	return site_count(CLS_REFS, tag, "test_object.c", line, NULL);
}

/* The bytes an object adds to its body: measured once, so the tests do not
 * hard-code the header's size but do check it is the same for every object. */
static uint64_t obj_overhead;

PT_TEST(test_create_ref_delete)
{
	struct pt_count before = count_of("ObjA", PT_PAGED), c;
	int n = nreports, d0 = deleted(), zero = 1;
	unsigned char *o = pt_obj_create(t_basic, 40, 7), *o2;

	PT_CHECK(o != NULL);
	if (!o)
		return;
	PT_CHECK_EQ((uintptr_t)o & 15, 0);
	for (int i = 0; i < 40; i++)
		zero &= o[i] == 0;
	PT_CHECK(zero);
	memset(o, 0xa5, 40); /* the whole body is ours (ASan checks the bounds) */
	PT_CHECK_EQ(pt_obj_refs(o), 1);
	PT_CHECK_EQ(pt_obj_id(o), 7);
	PT_CHECK(pt_obj_type(o) == t_basic);
	PT_CHECK_STR(pt_objtype_name(t_basic), "Basic");
	PT_CHECK_STR(pt_objtype_name(NULL), "?");

	/* The object's memory is a block of the type's tag and pool. */
	c = count_of("ObjA", PT_PAGED);
	PT_CHECK_EQ(before.curblocks, 0);
	PT_CHECK_EQ(c.nallocs - before.nallocs, 1);
	PT_CHECK_EQ(c.curblocks, 1);
	obj_overhead = c.curbytes - 40;
	PT_CHECK(c.curbytes > 40 && obj_overhead % 16 == 0);
	PT_CHECK_EQ(count_of("ObjA", PT_NONPAGED).nallocs, 0);
	o2 = pt_obj_create(t_basic, 100, 8);
	PT_CHECK_EQ(count_of("ObjA", PT_PAGED).curbytes, 140 + 2 * obj_overhead);
	PT_CHECK_EQ(pt_obj_deref(o2), 0);
	PT_CHECK_EQ(deleted(), d0 + 1);
	PT_CHECK(last_deleted == o2);

	PT_CHECK_EQ(pt_obj_ref(o), 0);
	PT_CHECK_EQ(pt_obj_ref(o), 0);
	PT_CHECK_EQ(pt_obj_refs(o), 3);
	PT_CHECK_EQ(pt_obj_deref(o), 0);
	PT_CHECK_EQ(pt_obj_deref(o), 0);
	PT_CHECK_EQ(pt_obj_refs(o), 1);
	PT_CHECK_EQ(deleted(), d0 + 1); /* not yet */
	PT_CHECK_EQ(count_of("ObjA", PT_PAGED).curblocks, 1);

	/* The last dereference: the delete routine once, with the body, then
	 * the memory. */
	PT_CHECK_EQ(pt_obj_deref(o), 0);
	PT_CHECK_EQ(deleted(), d0 + 2);
	PT_CHECK(last_deleted == o);
	PT_CHECK_EQ(pt_obj_refs(o), -1);
	c = count_of("ObjA", PT_PAGED);
	PT_CHECK_EQ(c.curblocks, 0);
	PT_CHECK_EQ(c.curbytes, 0);
	PT_CHECK_EQ(c.nfrees - before.nfrees, 2);
	PT_CHECK_EQ(nreports, n);
}

PT_TEST(test_nonpaged_type)
{
	void *o = pt_obj_create(t_np, 64, 0);

	PT_CHECK(o != NULL);
	PT_CHECK_EQ(count_of("ObjN", PT_NONPAGED).curblocks, 1);
	PT_CHECK_EQ(count_of("ObjN", PT_NONPAGED).curbytes, 64 + obj_overhead);
	PT_CHECK_EQ(count_of("ObjN", PT_PAGED).nallocs, 0);
	PT_CHECK_EQ(pt_obj_deref(o), 0);
	PT_CHECK_EQ(count_of("ObjN", PT_NONPAGED).curblocks, 0);
	PT_CHECK_EQ(count_of("ObjN", PT_NONPAGED).nfrees, 1);
}

PT_TEST(test_bad_arguments)
{
	struct pt_count before = count_of("ObjA", PT_PAGED);

	errno = 0;
	PT_CHECK(pt_objtype_create(NULL, PT_PAGED, "ObjQ", NULL, 0) == NULL && errno == EINVAL);
	errno = 0;
	PT_CHECK(pt_objtype_create("Q", PT_PAGED, "TooLong", NULL, 0) == NULL && errno == EINVAL);
	errno = 0;
	PT_CHECK(pt_objtype_create("Q", PT_PAGED, NULL, NULL, 0) == NULL && errno == EINVAL);
	errno = 0;
	PT_CHECK(pt_objtype_create("Q", (enum pt_pool)5, "ObjQ", NULL, 0) == NULL &&
	         errno == EINVAL);
	errno = 0;
	PT_CHECK(pt_obj_create(NULL, 8, 0) == NULL && errno == EINVAL);
	errno = 0;
	PT_CHECK(pt_obj_create(t_basic, SIZE_MAX, 0) == NULL && errno == ENOMEM);
	errno = 0;
	PT_CHECK(pt_obj_create(t_basic, SIZE_MAX - 40, 0) == NULL && errno == ENOMEM);
	PT_CHECK_EQ(count_of("ObjA", PT_PAGED).nallocs, before.nallocs);
}

/* A reference to or release of a deleted object is reported and refused,
 * and the library never reads the freed memory (ASan would stop here). */
PT_TEST(test_deleted_object)
{
	char *o = pt_obj_create(t_basic, 16, 0), want[128];
	struct pt_count before;
	uint64_t m0 = pt_misuse_count();
	int n = nreports, d0 = deleted();
	unsigned line;

	PT_CHECK_EQ(pt_obj_deref(o), 0);
	PT_CHECK_EQ(deleted(), d0 + 1);
	before = count_of("ObjA", PT_PAGED);

	errno = 0;
	line = __LINE__ + 1;
	PT_CHECK_EQ(pt_obj_deref(o), -1);
	PT_CHECK_EQ(errno, EINVAL);
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(pt_misuse_count(), m0 + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_BAD_OBJECT);
	PT_CHECK(last.addr == o);
	PT_CHECK(last.site && last.site->line == line);
	snprintf(want, sizeof(want), "pooltag: dereference of %p at ", (void *)o);
	PT_CHECK_HAS(last.text, want);
	snprintf(want, sizeof(want), "test_object.c:%u (test_deleted_object)", line);
	PT_CHECK_HAS(last.text, want);
	PT_CHECK_HAS(last.text, "not a live object");

	errno = 0;
	PT_CHECK_EQ(pt_obj_ref(o), -1);
	PT_CHECK_EQ(errno, EINVAL);
	PT_CHECK_EQ(nreports, n + 2);
	PT_CHECK_EQ(last.kind, PT_MISUSE_BAD_OBJECT);
	snprintf(want, sizeof(want), "pooltag: reference of %p at ", (void *)o);
	PT_CHECK_HAS(last.text, want);
	PT_CHECK_EQ(pt_obj_refs(o), -1);

	/* Nothing deleted or freed twice. */
	PT_CHECK_EQ(deleted(), d0 + 1);
	PT_CHECK_EQ(count_of("ObjA", PT_PAGED).nfrees, before.nfrees);
	PT_CHECK_EQ(count_of("ObjA", PT_PAGED).curblocks, 0);
}

/* Pointers that are no live object: reported, refused, nothing changes. */
PT_TEST(test_foreign_pointers)
{
	uint64_t stack_buf[16] = {0};
	char *heap = malloc(128);
	char *block = pt_alloc(PT_PAGED, 64, "ObjF");
	char *o = pt_obj_create(t_basic, 64, 0);
	void *bad[] = {&stack_buf[8], heap + 64, block, o + 16, NULL};
	int n = nreports;

	PT_CHECK(heap && block && o);
	if (!heap || !block || !o)
		return;
	memset(heap, 0, 128);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		PT_CHECK_EQ(pt_obj_ref(bad[i]), -1);
		PT_CHECK_EQ(errno, EINVAL);
		PT_CHECK_EQ(last.kind, PT_MISUSE_BAD_OBJECT);
		PT_CHECK(last.addr == bad[i]);
		errno = 0;
		PT_CHECK_EQ(pt_obj_deref(bad[i]), -1);
		PT_CHECK_EQ(errno, EINVAL);
		PT_CHECK_EQ(last.kind, PT_MISUSE_BAD_OBJECT);
		PT_CHECK_HAS(last.text, "not a live object");
		PT_CHECK_EQ(pt_obj_refs(bad[i]), -1);
	}
	PT_CHECK_EQ(nreports, n + 10);
	PT_CHECK_EQ(pt_obj_refs(o), 1);
	PT_CHECK_EQ(pt_size(block), 64); /* the block is untouched */
	PT_CHECK_EQ(count_of("ObjF", PT_PAGED).curblocks, 1);
	pt_free(block, "ObjF");
	free(heap);
	PT_CHECK_EQ(pt_obj_deref(o), 0);
}

/* An object whose only reference is a handle's: a plain dereference has
 * nothing to release and must not take the handle's. */
PT_TEST(test_deref_without_reference)
{
	struct pt_htable *t = pt_htable_create("zero");
	char *o = pt_obj_create(t_zero, 8, 0), want[160];
	unsigned create_line = __LINE__ - 1;
	int n = nreports, d0 = deleted();
	pt_handle h = 0;
	unsigned line;

	PT_CHECK_EQ(pt_handle_open(t, o, &h), 0);
	PT_CHECK_EQ(pt_obj_deref(o), 0); /* the creation reference */
	PT_CHECK_EQ(pt_obj_refs(o), 1);
	errno = 0;
	line = __LINE__ + 1;
	PT_CHECK_EQ(pt_obj_deref(o), -1);
	PT_CHECK_EQ(errno, EINVAL);
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_DEREF_ZERO);
	PT_CHECK_EQ(last.tag, PT_TAG("ObjZ"));
	PT_CHECK_EQ(last.used_tag, 0);
	PT_CHECK(last.addr == o);
	snprintf(want, sizeof(want), "pooltag: dereference of object %p ('ObjZ') at ", (void *)o);
	PT_CHECK_HAS(last.text, want);
	snprintf(want, sizeof(want),
	         "test_object.c:%u (test_deref_without_reference): no reference left to release",
	         line);
	PT_CHECK_HAS(last.text, want);
	snprintf(want, sizeof(want),
	         "the object was created at tests/test_object.c:%u (test_deref_without_reference)",
	         create_line);
	PT_CHECK_HAS(last.text, want);
	PT_CHECK_EQ(last.alloc_line, create_line);
	PT_CHECK_EQ(pt_obj_refs(o), 1);
	PT_CHECK_EQ(deleted(), d0);
	PT_CHECK_EQ(pt_handle_close(t, h), 0);
	PT_CHECK_EQ(deleted(), d0 + 1);
	PT_CHECK(last_deleted == o);
	PT_CHECK_EQ(pt_htable_destroy(t), 0);
}

/* Tagged references net by tag, each release counted at the line that
 * took the reference it pairs with. */
PT_TEST(test_ref_tags_net)
{
	unsigned l_create, l_a = 0, l_b = 0;
	struct site_count a, b, c;
	char *o;

	l_create = __LINE__ + 1;
	o = pt_obj_create(t_tags, 8, 0);
	for (int i = 0; i < 3; i++) {
		l_a = __LINE__ + 1;
		PT_CHECK_EQ(pt_obj_ref_tag(o, "TagA"), 0);
	}
	for (int i = 0; i < 2; i++) {
		l_b = __LINE__ + 1;
		PT_CHECK_EQ(pt_obj_ref_tag(o, "TagB"), 0);
	}
	PT_CHECK_EQ(pt_obj_refs(o), 6);
	for (int i = 0; i < 2; i++)
		PT_CHECK_EQ(pt_obj_deref_tag(o, "TagB"), 0);
	a = refs_at("ObjG", l_a);
	b = refs_at("ObjG", l_b);
	c = refs_at("ObjG", l_create);
	PT_CHECK_EQ(a.nallocs, 3);
	PT_CHECK_EQ(a.nfrees, 0);
	PT_CHECK_EQ(b.nallocs, 2);
	PT_CHECK_EQ(b.nfrees, 2);
	PT_CHECK_EQ(c.nallocs, 1);
	PT_CHECK_EQ(c.nfrees, 0);
	for (int i = 0; i < 3; i++)
		PT_CHECK_EQ(pt_obj_deref_tag(o, "TagA"), 0);
	PT_CHECK_EQ(refs_at("ObjG", l_a).nfrees, 3);
	PT_CHECK_EQ(refs_at("ObjG", l_create).nfrees, 0);
	PT_CHECK_EQ(pt_obj_refs(o), 1);
	PT_CHECK_EQ(pt_obj_deref(o), 0);
	PT_CHECK_EQ(refs_at("ObjG", l_create).nfrees, 1);
}

/* The pairing rule for tags (pooltag.h): a release pairs with a reference
 * of its own tag, or an untagged one if there is none of that tag; with
 * neither it is reported and releases nothing. */
PT_TEST(test_ref_tag_rules)
{
	unsigned l_create, l_good, l_plain, line;
	int n = nreports;
	char *o, want[160];

	l_create = __LINE__ + 1;
	o = pt_obj_create(t_tags, 8, 1);
	l_good = __LINE__ + 1;
	PT_CHECK_EQ(pt_obj_ref_tag(o, "Good"), 0);
	PT_CHECK_EQ(pt_obj_deref(o), 0); /* untagged: pairs with the creation */
	PT_CHECK_EQ(refs_at("ObjG", l_create).nfrees, 1);
	PT_CHECK_EQ(refs_at("ObjG", l_good).nfrees, 0);
	PT_CHECK_EQ(nreports, n);

	/* Only the 'Good' reference is left: neither an untagged release nor
	 * one with another tag may take it. */
	errno = 0;
	PT_CHECK_EQ(pt_obj_deref(o), -1);
	PT_CHECK_EQ(errno, EINVAL);
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_DEREF_ZERO);
	PT_CHECK_HAS(last.text, "no reference left to release");
	errno = 0;
	line = __LINE__ + 1;
	PT_CHECK_EQ(pt_obj_deref_tag(o, "Nevr"), -1);
	PT_CHECK_EQ(errno, EINVAL);
	PT_CHECK_EQ(nreports, n + 2);
	PT_CHECK_EQ(last.kind, PT_MISUSE_DEREF_ZERO);
	PT_CHECK_EQ(last.tag, PT_TAG("ObjG"));
	PT_CHECK_EQ(last.used_tag, PT_TAG("Nevr"));
	snprintf(
	    want, sizeof(want),
	    "test_object.c:%u (test_ref_tag_rules): no reference tagged 'Nevr' left to release",
	    line);
	PT_CHECK_HAS(last.text, want);
	PT_CHECK_EQ(pt_obj_refs(o), 1);
	PT_CHECK_EQ(refs_at("ObjG", l_good).nfrees, 0);

	/* A tag never acquired falls back to an untagged reference. */
	l_plain = __LINE__ + 1;
	PT_CHECK_EQ(pt_obj_ref(o), 0);
	PT_CHECK_EQ(pt_obj_deref_tag(o, "Nevr"), 0);
	PT_CHECK_EQ(nreports, n + 2);
	PT_CHECK_EQ(refs_at("ObjG", l_plain).nallocs, 1);
	PT_CHECK_EQ(refs_at("ObjG", l_plain).nfrees, 1);
	PT_CHECK_EQ(refs_at("ObjG", l_good).nfrees, 0);
	PT_CHECK_EQ(pt_obj_refs(o), 1);

	PT_CHECK_EQ(pt_obj_deref_tag(o, "Good"), 0);
	PT_CHECK_EQ(refs_at("ObjG", l_good).nfrees, 1);
	PT_CHECK_EQ(pt_obj_refs(o), -1);
}

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

/* A delete routine that releases another object: the chain unwinds. */
static void chain_delete(void *body)
{
	void *child = *(void **)body;

	on_delete(body);
	if (child)
		pt_obj_deref(child);
}

PT_TEST(test_delete_releases_others)
{
	void *child = pt_obj_create(t_chain, 16, 0);
	void **parent = pt_obj_create(t_chain, 16, 0);
	int d0 = deleted();

	PT_CHECK(child && parent);
	if (!child || !parent)
		return;
	*parent = child; /* the parent owns the child's creation reference */
	PT_CHECK_EQ(pt_obj_deref(parent), 0);
	PT_CHECK_EQ(deleted(), d0 + 2);
	PT_CHECK(last_deleted == child);
	PT_CHECK_EQ(pt_obj_refs(child), -1);
	PT_CHECK_EQ(count_of("ObjC", PT_PAGED).curblocks, 0);
}

static void release_two_tagged(void *o)
{
	for (int i = 0; i < 2; i++)
		pt_obj_deref_tag(o, "SitA");
}

/* Per-site counts of references in the segment are exact, and a release
 * is counted against the line that acquired, wherever it is made. */
PT_TEST(test_sites_in_segment)
{
	unsigned l_create, l_a = 0, l_b = 0, l_da = 0, l_db = 0, l_d;
	struct site_count s;
	char *o;

	l_create = __LINE__ + 1;
	o = pt_obj_create(t_sites, 24, 0);
	for (int i = 0; i < 5; i++) {
		l_a = __LINE__ + 1;
		pt_obj_ref_tag(o, "SitA");
	}
	for (int i = 0; i < 2; i++) {
		l_b = __LINE__ + 1;
		pt_obj_ref_tag(o, "SitB");
	}
	for (int i = 0; i < 3; i++) {
		l_da = __LINE__ + 1;
		pt_obj_deref_tag(o, "SitA");
	}
	for (int i = 0; i < 2; i++) {
		l_db = __LINE__ + 1;
		pt_obj_deref_tag(o, "SitB");
	}

	s = refs_at("Site", l_create);
	PT_CHECK_EQ(s.found, 1);
	PT_CHECK_EQ(s.nallocs, 1);
	PT_CHECK_EQ(s.nfrees, 0);
	PT_CHECK_EQ(s.bytes_alloc, 0);
	PT_CHECK_STR(s.func, "test_sites_in_segment");
	PT_CHECK_STR(s.module, program_invocation_short_name);
	s = refs_at("Site", l_a);
	PT_CHECK_EQ(s.found, 1);
	PT_CHECK_EQ(s.nallocs, 5);
	PT_CHECK_EQ(s.nfrees, 3);
	s = refs_at("Site", l_b);
	PT_CHECK_EQ(s.nallocs, 2);
	PT_CHECK_EQ(s.nfrees, 2);
	/* Releasing lines have no rows of their own. */
	PT_CHECK_EQ(refs_at("Site", l_da).found, 0);
	PT_CHECK_EQ(refs_at("Site", l_db).found, 0);
	/* The object's memory: a block row at the creating line. */
	s = site_count(PT_PAGED, "Site", "test_object.c", l_create, NULL);
	PT_CHECK_EQ(s.nallocs, 1);
	PT_CHECK_EQ(s.nfrees, 0);
	PT_CHECK_EQ(s.bytes_alloc, 24 + obj_overhead);

	release_two_tagged(o); /* another function, another line */
	PT_CHECK_EQ(refs_at("Site", l_a).nfrees, 5);
	l_d = __LINE__ + 1;
	pt_obj_deref(o);
	PT_CHECK_EQ(refs_at("Site", l_create).nfrees, 1);
	PT_CHECK_EQ(refs_at("Site", l_d).found, 0);
	PT_CHECK_EQ(site_count(PT_PAGED, "Site", "test_object.c", l_create, NULL).nfrees, 1);
	PT_CHECK_EQ(site_count(CLS_HANDLES, "Site", "test_object.c", l_create, NULL).found, 0);
}

/* A type describes its tag, unless the program described it first. */
PT_TEST(test_type_describes_tag)
{
	struct pt_view v;
	char err[256];
	int found_site = 0, found_mine = 0, found_type = 0;

	PT_CHECK_EQ(pt_tag_describe("ObjE", "described by the program", "test_object"), 0);
	t_described = pt_objtype_create("Described", PT_PAGED, "ObjE", NULL, 0);
	PT_CHECK(t_described != NULL);
	pt_view_init(&v);
	PT_CHECK_EQ(pt_segread_pid(&v, getpid(), err, sizeof(err)), 0);
	for (size_t i = 0; i < v.ndescs; i++) {
		if (v.descs[i].tag == PT_TAG("Site"))
			found_site += !strcmp(v.descs[i].desc, "Site objects");
		if (v.descs[i].tag == PT_TAG("ObjE")) {
			found_mine += !strcmp(v.descs[i].desc, "described by the program");
			found_type += !strcmp(v.descs[i].desc, "Described objects");
		}
	}
	PT_CHECK_EQ(found_site, 1);
	PT_CHECK_EQ(found_mine, 1);
	PT_CHECK_EQ(found_type, 0);
	pt_view_free(&v);
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

/* ---- a misuse hook that calls back into the objects ---- */

static long hook_refs = -2;

static void hook_calls_back(const struct pt_misuse *m, void *arg)
{
	(void)arg;
	hook_refs = pt_obj_refs(m->addr); /* takes the objects' lock */
}

/* In a child, so that a deadlock is found and ended (wait_or_deadlock)
 * instead of hanging the run: a report about an object, with a hook that
 * asks about it. */
static int hook_child(int deref_zero)
{
	struct pt_htable *t = pt_htable_create("hook");
	void *o = pt_obj_create(t_basic, 8, 0);
	pt_handle h;

	pt_misuse_set_hook(hook_calls_back, NULL);
	if (deref_zero) {
		/* Only a handle holds it: a plain dereference is reported. */
		pt_handle_open(t, o, &h);
		pt_obj_deref(o);
		pt_obj_deref(o);
		pt_htable_destroy(t);
		return hook_refs == 1 ? 0 : 1;
	}
	pt_htable_destroy(t);
	pt_obj_deref(o);
	pt_obj_ref(o); /* deleted: reported */
	return hook_refs == -1 ? 0 : 1;
}

PT_TEST(test_hook_may_call_back)
{
	for (int deref_zero = 0; deref_zero < 2; deref_zero++) {
		int st = -1;
		pid_t pid;

		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			int rc = hook_child(deref_zero);
			const char *seg = pt_export_path();

			if (seg)
				unlink(seg);
			_exit(rc);
		}
		wait_or_deadlock(pid, &st);
		if (WIFSIGNALED(st)) {
			char seg[PATH_MAX];

			printf("# %s report: the hook calling pt_obj_refs never returned (signal "
			       "%d)\n",
			       deref_zero ? "dereference-without-reference" : "deleted-object",
			       WTERMSIG(st));
			snprintf(seg, sizeof(seg), "%s/pooltag-%d", pt_segdir(), (int)pid);
			unlink(seg);
		}
		PT_CHECK(WIFEXITED(st));
		PT_CHECK_EQ(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);
	}
}

/* ---- fork ---- */

/*
 * Runs fn in a child process under an alarm of 60 s (fork is slow under
 * ASan, whose heap the spinners churn), so that a deadlock fails the test
 * instead of hanging the run.  Returns 0 when fn returned
 * 0, else prints why (what) and returns -1.
 */
static int in_child(int (*fn)(void), const char *what)
{
	int st = -1;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int rc;
		const char *seg;

		alarm(60);
		rc = fn();
		seg = pt_export_path();
		if (seg)
			unlink(seg);
		_exit(rc);
	}
	waitpid(pid, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFSIGNALED(st)) {
		char seg[PATH_MAX];

		printf("# %s: deadlock (signal %d)\n", what, WTERMSIG(st));
		snprintf(seg, sizeof(seg), "%s/pooltag-%d", pt_segdir(), (int)pid);
		unlink(seg);
	} else {
		printf("# %s: exit status %d\n", what, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
	return -1;
}

/* Forks 100 times while spinner runs; each grandchild asks for the
 * object's count (its first object call) and exits.  0, or the number of
 * grandchildren that did not exit 0. */
static void *fork_objs[2];
static int fork_stop;

static int fork_many(void *(*spinner)(void *))
{
	pthread_t th;
	int bad = 0;

	/* The forking thread's first object call allocates its spare record:
	 * made here, before the spinner runs, the grandchildren inherit it and
	 * never call malloc.  A child of a threaded process may find the C
	 * library's allocator locked by a thread that no longer exists in it;
	 * glibc's malloc resets its locks at fork, ASan's allocator (clang 14)
	 * does not, and the grandchild would wait forever. */
	(void)pt_obj_refs(fork_objs[0]);
	if (pthread_create(&th, NULL, spinner, NULL) != 0)
		return 100;
	for (int i = 0; i < 100; i++) {
		int st = -1;
		pid_t pid = fork();

		if (pid == 0)
			_exit(pt_obj_refs(fork_objs[0]) >= 1 ? 0 : 1); /* made no segment */
		waitpid(pid, &st, 0);
		bad += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	}
	__atomic_store_n(&fork_stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	return bad;
}

/* Takes and drops references without pause: the objects' lock is held
 * most of the time. */
static void *spin_refs(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&fork_stop, __ATOMIC_RELAXED)) {
		pt_obj_ref(fork_objs[0]);
		pt_obj_deref(fork_objs[0]);
	}
	return NULL;
}

/* One site alternating between two tags: it registers a counter slot on
 * every call, taking the segment's lock inside the objects' lock. */
static void *spin_registering(void *arg)
{
	(void)arg;
	for (unsigned i = 0; !__atomic_load_n(&fork_stop, __ATOMIC_RELAXED); i++) {
		pt_obj_ref_at(PT_SITE(), fork_objs[i & 1], 0);
		pt_obj_deref(fork_objs[i & 1]);
	}
	return NULL;
}

static int fork_while_referencing(void)
{
	fork_objs[0] = pt_obj_create(t_basic, 8, 0);
	return fork_many(spin_refs);
}

static int fork_while_registering(void)
{
	fork_objs[0] = pt_obj_create(t_basic, 8, 0);
	fork_objs[1] = pt_obj_create(t_tags, 8, 0);
	return fork_many(spin_registering);
}

/*
 * A program whose threads use objects can fork, and its child can use
 * objects too (the segment gives a fork child counters of its own): the
 * objects' lock is not inherited held, and the atfork handlers take the
 * library's locks in the order it nests them, so fork() itself never waits
 * for a thread that waits for it.
 */
PT_TEST(test_fork_while_referencing)
{
	PT_CHECK_EQ(in_child(fork_while_referencing, "fork while referencing"), 0);
}

PT_TEST(test_fork_while_registering)
{
	PT_CHECK_EQ(in_child(fork_while_registering, "fork while a site registers"), 0);
}

/* ---- two modules ---- */

static char tmpdir[64];



#define SYM(m, name) ((__typeof__(&name))pt_module_sym((m), #name))

/*
 * A reference taken in one module and released by code in another pairs
 * with it: no misuse report, and the taker's check is clean.  The releasing
 * module pairs with one of its own references first, so the transfer is
 * visible only when the releaser holds none.
 */
PT_TEST(test_transfer_between_modules)
{
	struct pt_module *a = load_plugin_in(tmpdir, NULL, 0), *b = load_plugin_in(tmpdir, "modplug_b.so", 0);
	struct modplug_lines lines;
	char *text = NULL, want[160];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	unsigned l_create, l_main;
	int n = nreports;
	char *o;

	PT_CHECK(a && b && f);
	if (!a || !b || !f) {
		if (f)
			fclose(f);
		free(text);
		return;
	}
	pt_verify_output(f);
	l_create = __LINE__ + 1;
	o = pt_obj_create(t_xfer, 16, 0);

	/* Main to plugin A: A holds nothing of its own, so it releases the
	 * most recent reference, the one main took for it. */
	l_main = __LINE__ + 1;
	PT_CHECK_EQ(pt_obj_ref(o), 0);
	PT_CHECK_EQ(SYM(a, modplug_deref)(o), 0);
	PT_CHECK_EQ(nreports, n);
	PT_CHECK_EQ(refs_at("ObjX", l_main).nfrees, 1);
	PT_CHECK_EQ(refs_at("ObjX", l_create).nfrees, 0);
	PT_CHECK_EQ(pt_module_check(a), 0);
	PT_CHECK_EQ(pt_module_check(pt_module_main()), 2); /* o's block and creation reference */
	fflush(f);
	PT_CHECK_HAS(text, "pooltag: modplug.so checked: clean, nothing held\n");
	snprintf(want, sizeof(want), "1 acquired at test_object.c:%u in %s\n", l_create,
	         "test_transfer_between_modules");
	PT_CHECK_HAS(text, want);
	snprintf(want, sizeof(want), "test_object.c:%u ", l_main);
	PT_CHECK(!strstr(text, want));

	/* Plugin A to plugin B. */
	PT_CHECK_EQ(SYM(a, modplug_ref)(o), 0);
	lines = *SYM(a, modplug_lines);
	PT_CHECK_EQ(pt_obj_refs(o), 2);
	PT_CHECK_EQ(SYM(b, modplug_deref)(o), 0);
	PT_CHECK_EQ(nreports, n);
	PT_CHECK_EQ(pt_obj_refs(o), 1);
	PT_CHECK_EQ(pt_module_check(a), 0);
	PT_CHECK_EQ(pt_module_check(b), 0);
	{
		struct site_count s =
		    site_count(CLS_REFS, "ObjX", "modplug.c", (unsigned)lines.ref, "modplug.so");
		PT_CHECK_EQ(s.found, 1);
		PT_CHECK_EQ(s.nallocs, 1);
		PT_CHECK_EQ(s.nfrees, 1);
		PT_CHECK_STR(s.func, "modplug_ref");
	}

	/* Plugin A to main, which holds a reference of its own: main releases
	 * that one first (the documented rule), so A stays charged until
	 * main's second release. */
	PT_CHECK_EQ(SYM(a, modplug_ref)(o), 0);
	PT_CHECK_EQ(pt_obj_deref(o), 0);
	PT_CHECK_EQ(refs_at("ObjX", l_create).nfrees, 1);
	PT_CHECK_EQ(pt_module_check(a), 1);
	fflush(f);
	PT_CHECK_HAS(text, "  modplug.so holds 1 reference to 'ObjX' objects (Transfer)");
	PT_CHECK_EQ(pt_obj_deref(o), 0);
	PT_CHECK_EQ(pt_obj_refs(o), -1);
	PT_CHECK_EQ(pt_module_check(a), 0);
	PT_CHECK_EQ(nreports, n);

	PT_CHECK_EQ(pt_module_unload(a), 0);
	PT_CHECK_EQ(pt_module_unload(b), 0);
	pt_verify_output(NULL);
	fclose(f);
	free(text);
}

/* ---- threads ---- */

#define NTHREADS    4
#define ITERS       50000
#define NSHARED     4
#define CHURN_ID    1000
#define CHURN_ITERS 20000

static void *shared_objs[NSHARED];
static struct {
	unsigned ref, lookup, churn_lookup, churn_create;
} mt_lines;
static int churn_done;

/* ITERS reference/dereference pairs on the shared objects, a lookup every
 * 8th and a lookup of the churning id every 16th.  Returns the number of
 * calls that failed. */
static void *mt_worker(void *arg)
{
	unsigned k = (unsigned)(uintptr_t)arg;
	uintptr_t bad = 0;

	for (unsigned i = 0; i < ITERS; i++) {
		unsigned j = (k + i) % NSHARED;
		void *o = shared_objs[j], *p;

		if (!k && !i)
			mt_lines.ref = __LINE__ + 1;
		bad += pt_obj_ref(o) != 0;
		if (i % 8 == 0) {
			if (!k && !i)
				mt_lines.lookup = __LINE__ + 1;
			p = pt_obj_lookup(t_mt, j);
			bad += p != o || pt_obj_deref(p) != 0;
		}
		if (i % 16 == 0) {
			if (!k && !i)
				mt_lines.churn_lookup = __LINE__ + 1;
			p = pt_obj_lookup(t_mt, CHURN_ID);
			bad += p && (pt_obj_id(p) != CHURN_ID || pt_obj_deref(p) != 0);
			bad += !p && errno != ENOENT;
		}
		bad += pt_obj_deref(o) != 0;
	}
	return (void *)bad;
}

/* Creates and deletes the object with CHURN_ID over and over while the
 * workers look it up; returns how many creations succeeded. */
static void *mt_churn(void *arg)
{
	uintptr_t made = 0;

	(void)arg;
	for (unsigned i = 0; i < CHURN_ITERS; i++) {
		void *o;

		if (!i)
			mt_lines.churn_create = __LINE__ + 1;
		o = pt_obj_create(t_mt, 16, CHURN_ID);
		if (!o)
			continue; /* a worker still holds the previous one: EEXIST */
		made++;
		pt_obj_deref(o);
	}
	__atomic_store_n(&churn_done, 1, __ATOMIC_RELEASE);
	return (void *)made;
}

PT_TEST(test_threads)
{
	pthread_t th[NTHREADS + 1];
	uintptr_t bad = 0, made = 0;
	struct site_count s;
	unsigned l_create;
	int d0 = deleted(), n = nreports;

	for (int j = 0; j < NSHARED; j++) {
		l_create = __LINE__ + 1;
		shared_objs[j] = pt_obj_create(t_mt, 32, (uint64_t)j);
		PT_CHECK(shared_objs[j] != NULL);
		if (!shared_objs[j])
			return;
	}
	for (uintptr_t k = 0; k < NTHREADS; k++)
		PT_CHECK_EQ(pthread_create(&th[k], NULL, mt_worker, (void *)k), 0);
	PT_CHECK_EQ(pthread_create(&th[NTHREADS], NULL, mt_churn, NULL), 0);
	for (int k = 0; k < NTHREADS; k++) {
		void *r;
		pthread_join(th[k], &r);
		bad += (uintptr_t)r;
	}
	{
		void *r;
		pthread_join(th[NTHREADS], &r);
		made = (uintptr_t)r;
	}
	PT_CHECK_EQ(bad, 0);
	PT_CHECK(made > 0);
	PT_CHECK_EQ(nreports, n);
	for (int j = 0; j < NSHARED; j++)
		PT_CHECK_EQ(pt_obj_refs(shared_objs[j]), 1);
	PT_CHECK_EQ(deleted(), d0 + (int)made);
	errno = 0;
	PT_CHECK(pt_obj_lookup(t_mt, CHURN_ID) == NULL && errno == ENOENT);

	s = refs_at("ObjM", mt_lines.ref);
	PT_CHECK_EQ(s.nallocs, NTHREADS * ITERS);
	PT_CHECK_EQ(s.nfrees, NTHREADS * ITERS);
	s = refs_at("ObjM", mt_lines.lookup);
	PT_CHECK_EQ(s.nallocs, NTHREADS * ITERS / 8);
	PT_CHECK_EQ(s.nfrees, NTHREADS * ITERS / 8);
	s = refs_at("ObjM", mt_lines.churn_lookup);
	PT_CHECK_EQ(s.nfrees, s.nallocs);
	s = refs_at("ObjM", mt_lines.churn_create);
	PT_CHECK_EQ(s.nallocs, made);
	PT_CHECK_EQ(s.nfrees, made);
	s = refs_at("ObjM", l_create);
	PT_CHECK_EQ(s.nallocs, NSHARED);
	PT_CHECK_EQ(s.nfrees, 0);
	/* Memory: one live block per shared object; each churn attempt that
	 * met EEXIST allocated and freed. */
	PT_CHECK_EQ(count_of("ObjM", PT_PAGED).curblocks, NSHARED);
	s = site_count(PT_PAGED, "ObjM", "test_object.c", mt_lines.churn_create, NULL);
	PT_CHECK_EQ(s.nallocs, s.nfrees);
	PT_CHECK(s.nallocs >= made && s.nallocs <= CHURN_ITERS);

	for (int j = 0; j < NSHARED; j++)
		PT_CHECK_EQ(pt_obj_deref(shared_objs[j]), 0);
	PT_CHECK_EQ(deleted(), d0 + (int)made + NSHARED);
	PT_CHECK_EQ(count_of("ObjM", PT_PAGED).curblocks, 0);
	PT_CHECK_EQ(refs_at("ObjM", l_create).nfrees, NSHARED);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pt_test_object.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	pt_misuse_set_hook(catch_misuse, NULL);
	t_basic = pt_objtype_create("Basic", PT_PAGED, "ObjA", on_delete, 0);
	t_np = pt_objtype_create("Nonpaged", PT_NONPAGED, "ObjN", NULL, 0);
	t_id = pt_objtype_create("ById", PT_PAGED, "ObjI", NULL, PT_OBJTYPE_BY_ID);
	t_dying = pt_objtype_create("Dying", PT_PAGED, "ObjD", dying_delete, PT_OBJTYPE_BY_ID);
	t_chain = pt_objtype_create("Chain", PT_PAGED, "ObjC", chain_delete, 0);
	t_zero = pt_objtype_create("Zero", PT_PAGED, "ObjZ", on_delete, 0);
	t_tags = pt_objtype_create("Tags", PT_PAGED, "ObjG", NULL, 0);
	t_sites = pt_objtype_create("Site", PT_PAGED, "Site", NULL, 0);
	t_xfer = pt_objtype_create("Transfer", PT_PAGED, "ObjX", NULL, 0);
	t_mt = pt_objtype_create("Threads", PT_PAGED, "ObjM", on_delete, PT_OBJTYPE_BY_ID);
	t_race = pt_objtype_create("Race", PT_PAGED, "ObjR", NULL, PT_OBJTYPE_BY_ID);
	PT_RUN(test_create_ref_delete);
	PT_RUN(test_nonpaged_type);
	PT_RUN(test_bad_arguments);
	PT_RUN(test_deleted_object);
	PT_RUN(test_foreign_pointers);
	PT_RUN(test_deref_without_reference);
	PT_RUN(test_ref_tags_net);
	PT_RUN(test_ref_tag_rules);
	PT_RUN(test_lookup_by_id);
	PT_RUN(test_lookup_while_dying);
	PT_RUN(test_delete_releases_others);
	PT_RUN(test_sites_in_segment);
	PT_RUN(test_type_describes_tag);
	PT_RUN(test_id_free_once_not_found);
	PT_RUN(test_hook_may_call_back);
	PT_RUN(test_fork_while_referencing);
	PT_RUN(test_fork_while_registering);
	PT_RUN(test_transfer_between_modules);
	PT_RUN(test_threads);
	PT_RUN(test_nothing_outstanding);
	{
		char copy[PATH_MAX];
		snprintf(copy, sizeof(copy), "%s/modplug_b.so", tmpdir);
		unlink(copy);
		rmdir(tmpdir);
	}
	return pt_test_done();
}
