/*
 * test_objref.c - references to objects (src/object.c): reference tags and
 * their pairing rule, the per-site reference counts in the segment (a
 * release counted at the line that took the reference it pairs with),
 * references handed from one module to another, and concurrent traffic.
 *
 * The transfer test loads tests/plugins/modplug.c twice (plugins/modplug.so
 * beside this program, or $PT_MODPLUG, and a copy of it under another name).
 * The plugin resolves pooltag from this program, which must therefore be
 * linked with -rdynamic.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pooltag.h>

#include "plugins/provider.h"
#include "pt_libtest.h"
#include "segread.h"

#define CLS_REFS    2 /* counter class of references in the segment (segfmt.h) */
#define CLS_HANDLES 3

/* Types live until exit: kept here, so they stay reachable for LSan too. */
static struct pt_objtype *t_tags, *t_sites, *t_xfer, *t_mt, *t_size;

/* Delete routine calls: how many. */
static int ndeleted;

static void on_delete(void *body)
{
	(void)body;
	__atomic_fetch_add(&ndeleted, 1, __ATOMIC_RELAXED);
}

static int deleted(void)
{
	return __atomic_load_n(&ndeleted, __ATOMIC_RELAXED);
}

/* A reference row of this file in this process's own segment, read back the
 * way the CLI reads it (site_count: found is the rows matched, -1 when the
 * segment could not be read). */
static struct site_count refs_at(const char *tag, unsigned line)
{
	return site_count(CLS_REFS, tag, "test_objref.c", line, NULL);
}

/* The bytes an object adds to its body (test_object.c checks that it is the
 * same for every object); measured in main. */
static uint64_t obj_overhead;

static uint64_t measure_overhead(void)
{
	void *o = pt_obj_create(t_size, 40, 0);
	uint64_t bytes = count_of("ObjO", PT_PAGED).curbytes;

	pt_obj_deref(o);
	return bytes - 40;
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
	    "test_objref.c:%u (test_ref_tag_rules): no reference tagged 'Nevr' left to release",
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
	s = site_count(PT_PAGED, "Site", "test_objref.c", l_create, NULL);
	PT_CHECK_EQ(s.nallocs, 1);
	PT_CHECK_EQ(s.nfrees, 0);
	PT_CHECK_EQ(s.bytes_alloc, 24 + obj_overhead);

	release_two_tagged(o); /* another function, another line */
	PT_CHECK_EQ(refs_at("Site", l_a).nfrees, 5);
	l_d = __LINE__ + 1;
	pt_obj_deref(o);
	PT_CHECK_EQ(refs_at("Site", l_create).nfrees, 1);
	PT_CHECK_EQ(refs_at("Site", l_d).found, 0);
	PT_CHECK_EQ(site_count(PT_PAGED, "Site", "test_objref.c", l_create, NULL).nfrees, 1);
	PT_CHECK_EQ(site_count(CLS_HANDLES, "Site", "test_objref.c", l_create, NULL).found, 0);
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
	snprintf(want, sizeof(want), "1 acquired at test_objref.c:%u in %s\n", l_create,
	         "test_transfer_between_modules");
	PT_CHECK_HAS(text, want);
	snprintf(want, sizeof(want), "test_objref.c:%u ", l_main);
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
	s = site_count(PT_PAGED, "ObjM", "test_objref.c", mt_lines.churn_create, NULL);
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
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pt_test_objref.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	pt_misuse_set_hook(catch_misuse, NULL);
	t_tags = pt_objtype_create("Tags", PT_PAGED, "ObjG", NULL, 0);
	t_sites = pt_objtype_create("Site", PT_PAGED, "Site", NULL, 0);
	t_xfer = pt_objtype_create("Transfer", PT_PAGED, "ObjX", NULL, 0);
	t_mt = pt_objtype_create("Threads", PT_PAGED, "ObjM", on_delete, PT_OBJTYPE_BY_ID);
	t_size = pt_objtype_create("Overhead", PT_PAGED, "ObjO", NULL, 0);
	obj_overhead = measure_overhead();
	PT_RUN(test_ref_tags_net);
	PT_RUN(test_ref_tag_rules);
	PT_RUN(test_sites_in_segment);
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
