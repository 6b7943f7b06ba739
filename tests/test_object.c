/*
 * test_object.c - reference-counted objects (src/object.c): creation, the
 * object's memory charged to its type's tag and pool, the delete routine
 * (and one that releases other objects), types describing their tags, and
 * misuse: bad arguments, deleted and foreign objects, a release with no
 * reference left, a misuse hook that calls back into the objects.
 *
 * References and their sites are proved in test_objref.c, lookups by id in
 * test_objmap.c, fork in test_objfork.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pooltag.h>

#include "pt_libtest.h"
#include "segread.h"

/* Types live until exit: kept here, so they stay reachable for LSan too. */
static struct pt_objtype *t_basic, *t_np, *t_chain, *t_zero, *t_sites, *t_described;

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

int main(void)
{
	pt_misuse_set_hook(catch_misuse, NULL);
	t_basic = pt_objtype_create("Basic", PT_PAGED, "ObjA", on_delete, 0);
	t_np = pt_objtype_create("Nonpaged", PT_NONPAGED, "ObjN", NULL, 0);
	t_chain = pt_objtype_create("Chain", PT_PAGED, "ObjC", chain_delete, 0);
	t_zero = pt_objtype_create("Zero", PT_PAGED, "ObjZ", on_delete, 0);
	/* A type whose tag nobody else describes (test_type_describes_tag). */
	t_sites = pt_objtype_create("Site", PT_PAGED, "Site", NULL, 0);
	PT_RUN(test_create_ref_delete);
	PT_RUN(test_nonpaged_type);
	PT_RUN(test_bad_arguments);
	PT_RUN(test_deleted_object);
	PT_RUN(test_foreign_pointers);
	PT_RUN(test_deref_without_reference);
	PT_RUN(test_delete_releases_others);
	PT_RUN(test_type_describes_tag);
	PT_RUN(test_hook_may_call_back);
	PT_RUN(test_nothing_outstanding);
	return pt_test_done();
}
