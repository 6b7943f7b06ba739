/*
 * test_handle.c - handle tables: a handle holds a reference while it is
 * open, reaches its object only with the right type, never reaches another
 * object once closed or reused, and its count per opening line is exact.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pooltag.h>

#include "pt_libtest.h"
#include "segread.h"

#define CLS_REFS    2 /* counter classes of the segment (segfmt.h) */
#define CLS_HANDLES 3

/* Types live until exit: kept here, so they stay reachable for LSan too. */
static struct pt_objtype *t_a, *t_b, *t_d, *t_mt;

static int ndeleted;
static void *last_deleted;

static void on_delete(void *body)
{
	__atomic_fetch_add(&ndeleted, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&last_deleted, body, __ATOMIC_RELAXED);
}

/* The counts of one (class, tag, line) of this file in this process's own
 * segment, read the way the CLI reads them; found: rows matched, -1 when
 * the segment could not be read. */
/* The rows of this file's line in the segment. */
static struct site_count handle_rows(unsigned cls, const char *tag, unsigned line)
{
	return site_count(cls, tag, "test_handle.c", line, NULL);
}

PT_TEST(test_open_ref_close)
{
	struct pt_htable *t = pt_htable_create("basic");
	char *o = pt_obj_create(t_a, 16, 0), want[256];
	unsigned l_open, l_ref, l_close, l_close2;
	struct site_count s;
	pt_handle h = 0;
	void *out = NULL;
	int n = nreports;

	PT_CHECK(t && o);
	if (!t || !o)
		return;
	l_open = __LINE__ + 1;
	PT_CHECK_EQ(pt_handle_open(t, o, &h), 0);
	PT_CHECK(h != 0);
	PT_CHECK_EQ(pt_obj_refs(o), 2);
	s = handle_rows(CLS_HANDLES, "HdlA", l_open);
	PT_CHECK_EQ(s.found, 1);
	PT_CHECK_EQ(s.nallocs, 1);
	PT_CHECK_EQ(s.nfrees, 0);
	PT_CHECK_EQ(handle_rows(CLS_REFS, "HdlA", l_open).found, 0); /* a handle, not a reference */

	/* Referencing through the handle takes a reference of its own. */
	l_ref = __LINE__ + 1;
	PT_CHECK_EQ(pt_handle_ref(t, h, t_a, &out), 0);
	PT_CHECK(out == o);
	PT_CHECK_EQ(pt_obj_refs(o), 3);
	out = NULL;
	PT_CHECK_EQ(pt_handle_ref(t, h, NULL, &out), 0); /* any type */
	PT_CHECK(out == o);
	PT_CHECK_EQ(pt_obj_refs(o), 4);
	PT_CHECK_EQ(handle_rows(CLS_REFS, "HdlA", l_ref).nallocs, 1);
	PT_CHECK_EQ(pt_obj_deref(o), 0);
	PT_CHECK_EQ(pt_obj_deref(o), 0);
	PT_CHECK_EQ(pt_obj_refs(o), 2); /* the handle's reference is not a plain one */
	PT_CHECK_EQ(handle_rows(CLS_REFS, "HdlA", l_ref).nfrees, 1);
	PT_CHECK_EQ(handle_rows(CLS_HANDLES, "HdlA", l_open).nfrees, 0);

	l_close = __LINE__ + 1;
	PT_CHECK_EQ(pt_handle_close(t, h), 0);
	PT_CHECK_EQ(pt_obj_refs(o), 1);
	PT_CHECK_EQ(handle_rows(CLS_HANDLES, "HdlA", l_open).nfrees, 1);

	/* Closed: no second close, no reference through it; both are misuse,
	 * reported with the lines that opened and closed the handle. */
	errno = 0;
	l_close2 = __LINE__ + 1;
	PT_CHECK_EQ(pt_handle_close(t, h), -1);
	PT_CHECK_EQ(errno, EBADF);
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_BAD_HANDLE);
	PT_CHECK_EQ(last.alloc_line, l_open);
	PT_CHECK(last.site && last.site->line == l_close2);
	snprintf(want, sizeof(want), "close of handle 0x%llx (table 'basic', 'HdlA' object) at "
		 "tests/test_handle.c:%u", (unsigned long long)h, l_close2);
	PT_CHECK_HAS(last.text, want);
	snprintf(want, sizeof(want), "it was closed at tests/test_handle.c:%u (test_open_ref_close); "
		 "it was opened at tests/test_handle.c:%u", l_close, l_open);
	PT_CHECK_HAS(last.text, want);
	out = o;
	errno = 0;
	PT_CHECK_EQ(pt_handle_ref(t, h, t_a, &out), -1);
	PT_CHECK_EQ(errno, EBADF);
	PT_CHECK(out == NULL);
	PT_CHECK_EQ(nreports, n + 2);
	PT_CHECK_EQ(last.kind, PT_MISUSE_BAD_HANDLE);
	PT_CHECK_HAS(last.text, "pooltag: reference of handle");
	PT_CHECK_HAS(last.text, want);
	PT_CHECK_EQ(pt_obj_refs(o), 1);
	PT_CHECK_EQ(handle_rows(CLS_HANDLES, "HdlA", l_open).nfrees, 1);

	PT_CHECK_EQ(pt_obj_deref(o), 0);
	PT_CHECK_EQ(pt_htable_destroy(t), 0);
}

PT_TEST(test_wrong_type)
{
	struct pt_htable *t = pt_htable_create("types");
	void *o = pt_obj_create(t_a, 16, 0), *out = &out;
	pt_handle h = 0;

	PT_CHECK_EQ(pt_handle_open(t, o, &h), 0);
	errno = 0;
	PT_CHECK_EQ(pt_handle_ref(t, h, t_b, &out), -1);
	PT_CHECK_EQ(errno, EPROTOTYPE);
	PT_CHECK(out == NULL);
	PT_CHECK_EQ(pt_obj_refs(o), 2);
	/* The handle itself is fine. */
	PT_CHECK_EQ(pt_handle_ref(t, h, t_a, &out), 0);
	PT_CHECK(out == o);
	PT_CHECK_EQ(pt_obj_deref(o), 0);
	PT_CHECK_EQ(pt_handle_close(t, h), 0);
	PT_CHECK_EQ(pt_obj_deref(o), 0);
	PT_CHECK_EQ(pt_htable_destroy(t), 0);
}

/* A closed handle whose slot now holds another object reaches nothing. */
PT_TEST(test_reused_slot)
{
	struct pt_htable *t = pt_htable_create("reuse");
	void *a = pt_obj_create(t_a, 8, 0), *b = pt_obj_create(t_a, 8, 0), *out;
	pt_handle h1 = 0, h2 = 0, h3 = 0;
	int n;

	PT_CHECK_EQ(pt_handle_open(t, a, &h1), 0);
	PT_CHECK_EQ(pt_handle_close(t, h1), 0);
	PT_CHECK_EQ(pt_handle_open(t, b, &h2), 0);
	PT_CHECK_EQ((uint32_t)h1, (uint32_t)h2); /* the same slot... */
	PT_CHECK(h1 != h2);                      /* ...in a new generation */
	out = b;
	errno = 0;
	n = nreports;
	PT_CHECK_EQ(pt_handle_ref(t, h1, NULL, &out), -1);
	PT_CHECK_EQ(errno, EBADF);
	PT_CHECK(out == NULL);
	PT_CHECK_EQ(nreports, n + 1); /* h1 was closed: its slot's last closed handle */
	PT_CHECK_EQ(last.kind, PT_MISUSE_BAD_HANDLE);
	PT_CHECK_HAS(last.text, "it was closed at tests/test_handle.c:");
	errno = 0;
	PT_CHECK_EQ(pt_handle_close(t, h1), -1);
	PT_CHECK_EQ(errno, EBADF);
	PT_CHECK_EQ(pt_obj_refs(b), 2);
	PT_CHECK_EQ(pt_obj_refs(a), 1);
	PT_CHECK_EQ(pt_handle_ref(t, h2, NULL, &out), 0);
	PT_CHECK(out == b);
	PT_CHECK_EQ(pt_obj_deref(b), 0);
	PT_CHECK_EQ(pt_handle_close(t, h2), 0);
	/* Third generation: neither earlier handle matches it. */
	PT_CHECK_EQ(pt_handle_open(t, a, &h3), 0);
	PT_CHECK(h3 != h1 && h3 != h2 && (uint32_t)h3 == (uint32_t)h1);
	n = nreports;
	PT_CHECK_EQ(pt_handle_ref(t, h1, NULL, &out), -1);
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_HAS(last.text, "its slot reused and closed again since");
	PT_CHECK_EQ(pt_handle_ref(t, h2, NULL, &out), -1);
	PT_CHECK_EQ(nreports, n + 2);
	PT_CHECK_HAS(last.text, "it was closed at tests/test_handle.c:");
	PT_CHECK_EQ(pt_obj_refs(a), 2);
	PT_CHECK_EQ(pt_obj_refs(b), 1);
	PT_CHECK_EQ(pt_handle_close(t, h3), 0);
	PT_CHECK_EQ(pt_obj_deref(a), 0);
	PT_CHECK_EQ(pt_obj_deref(b), 0);
	PT_CHECK_EQ(pt_htable_destroy(t), 0);
}

/* 0 and made-up values are no handles, in an empty table and a used one;
 * trying them leaves the real handle alone. */
PT_TEST(test_bad_handles)
{
	struct pt_htable *t = pt_htable_create("bad");
	void *o = pt_obj_create(t_a, 8, 0), *out;
	pt_handle h = 0;
	pt_handle bogus[] = {0,
	                     1,
	                     (pt_handle)1 << 32 | 1,
	                     ~(pt_handle)0,
	                     0x7fffffff,
	                     (pt_handle)0xdeadbeef << 32 | 0x1000};
	int n = nreports;

	for (size_t i = 0; i < sizeof(bogus) / sizeof(bogus[0]); i++) {
		out = o;
		errno = 0;
		PT_CHECK_EQ(pt_handle_ref(t, bogus[i], NULL, &out), -1);
		PT_CHECK_EQ(errno, EBADF);
		PT_CHECK(out == NULL);
		errno = 0;
		PT_CHECK_EQ(pt_handle_close(t, bogus[i]), -1);
		PT_CHECK_EQ(errno, EBADF);
	}
	PT_CHECK_EQ(pt_handle_open(t, o, &h), 0);
	{
		pt_handle near[] = {0,           h + 1,
		                    h - 1,       h ^ (pt_handle)1 << 32,
		                    (uint32_t)h, h + ((pt_handle)1 << 32),
		                    ~h,          h | (pt_handle)0xffff0000 << 32};
		for (size_t i = 0; i < sizeof(near) / sizeof(near[0]); i++) {
			out = o;
			errno = 0;
			PT_CHECK_EQ(pt_handle_ref(t, near[i], NULL, &out), -1);
			PT_CHECK_EQ(errno, EBADF);
			PT_CHECK(out == NULL);
			errno = 0;
			PT_CHECK_EQ(pt_handle_close(t, near[i]), -1);
			PT_CHECK_EQ(errno, EBADF);
		}
	}
	PT_CHECK_EQ(pt_obj_refs(o), 2);
	PT_CHECK_EQ(nreports, n);

	/* Missing arguments. */
	errno = 0;
	PT_CHECK_EQ(pt_handle_ref(NULL, h, NULL, &out), -1);
	PT_CHECK_EQ(errno, EINVAL);
	errno = 0;
	PT_CHECK_EQ(pt_handle_ref(t, h, NULL, NULL), -1);
	PT_CHECK_EQ(errno, EINVAL);
	errno = 0;
	PT_CHECK_EQ(pt_handle_close(NULL, h), -1);
	PT_CHECK_EQ(errno, EINVAL);
	errno = 0;
	PT_CHECK_EQ(pt_handle_open(NULL, o, &h), -1);
	PT_CHECK_EQ(errno, EINVAL);
	errno = 0;
	PT_CHECK_EQ(pt_handle_open(t, o, NULL), -1);
	PT_CHECK_EQ(errno, EINVAL);
	PT_CHECK_EQ(pt_obj_refs(o), 2);

	PT_CHECK_EQ(pt_handle_close(t, h), 0);
	PT_CHECK_EQ(pt_obj_deref(o), 0);
	PT_CHECK_EQ(pt_htable_destroy(t), 0);
	PT_CHECK_EQ(pt_htable_destroy(NULL), 0);
}

/* Opening a handle to something that is no live object is reported and
 * takes no slot. */
PT_TEST(test_open_dead_object)
{
	struct pt_htable *t = pt_htable_create("dead");
	char *o = pt_obj_create(t_a, 8, 0), want[96];
	uint64_t fake[8] = {0};
	pt_handle h = 0;
	int n = nreports;

	PT_CHECK_EQ(pt_obj_deref(o), 0);
	errno = 0;
	PT_CHECK_EQ(pt_handle_open(t, o, &h), -1);
	PT_CHECK_EQ(errno, EINVAL);
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_BAD_OBJECT);
	PT_CHECK(last.addr == o);
	snprintf(want, sizeof(want), "pooltag: handle open of %p at ", (void *)o);
	PT_CHECK_HAS(last.text, want);
	PT_CHECK_HAS(last.text, "test_handle.c:");
	errno = 0;
	PT_CHECK_EQ(pt_handle_open(t, &fake[4], &h), -1);
	PT_CHECK_EQ(errno, EINVAL);
	PT_CHECK_EQ(nreports, n + 2);
	PT_CHECK_EQ(last.kind, PT_MISUSE_BAD_OBJECT);
	PT_CHECK_EQ(pt_htable_destroy(t), 0);
}

/* Destroying a table closes what is open, releasing the references: objects
 * held only by handles are deleted. */
PT_TEST(test_destroy_closes)
{
	struct pt_htable *t = pt_htable_create("destroy");
	void *o[3], *keep = pt_obj_create(t_d, 8, 0);
	unsigned l_open = 0;
	pt_handle h[4];
	int d0 = ndeleted;

	for (int i = 0; i < 3; i++) {
		o[i] = pt_obj_create(t_d, 8, 0);
		l_open = __LINE__ + 1;
		PT_CHECK_EQ(pt_handle_open(t, o[i], &h[i]), 0);
		PT_CHECK_EQ(pt_obj_deref(o[i]), 0); /* now only the handle holds it */
		PT_CHECK_EQ(pt_obj_refs(o[i]), 1);
	}
	PT_CHECK_EQ(pt_handle_open(t, keep, &h[3]), 0);
	PT_CHECK_EQ(pt_handle_close(t, h[1]), 0); /* one closed before */
	PT_CHECK_EQ(ndeleted, d0 + 1);
	PT_CHECK_EQ(count_of("HdlD", PT_PAGED).curblocks, 3);
	PT_CHECK_EQ(pt_htable_destroy(t), 3);
	PT_CHECK_EQ(ndeleted, d0 + 3);
	PT_CHECK_EQ(pt_obj_refs(o[0]), -1);
	PT_CHECK_EQ(pt_obj_refs(o[2]), -1);
	PT_CHECK_EQ(pt_obj_refs(keep), 1);
	PT_CHECK_EQ(count_of("HdlD", PT_PAGED).curblocks, 1);
	PT_CHECK_EQ(handle_rows(CLS_HANDLES, "HdlD", l_open).nallocs, 3);
	PT_CHECK_EQ(handle_rows(CLS_HANDLES, "HdlD", l_open).nfrees, 3);
	PT_CHECK_EQ(pt_obj_deref(keep), 0);
	PT_CHECK_EQ(pt_htable_destroy(pt_htable_create("empty")), 0);
}

/* Handle counts per opening line are exact; closing releases the handle's
 * own acquisition, wherever the close is. */
PT_TEST(test_sites_exact)
{
	struct pt_htable *t = pt_htable_create("sites");
	void *o = pt_obj_create(t_b, 8, 0);
	unsigned l1 = 0, l2 = 0, lc = 0;
	pt_handle h1[5], h2[3];

	for (int i = 0; i < 5; i++) {
		l1 = __LINE__ + 1;
		PT_CHECK_EQ(pt_handle_open(t, o, &h1[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		l2 = __LINE__ + 1;
		PT_CHECK_EQ(pt_handle_open(t, o, &h2[i]), 0);
	}
	PT_CHECK_EQ(pt_obj_refs(o), 9);
	/* Close the first-opened handles: not the most recent acquisitions. */
	for (int i = 0; i < 4; i++) {
		lc = __LINE__ + 1;
		PT_CHECK_EQ(pt_handle_close(t, h1[i]), 0);
	}
	PT_CHECK_EQ(pt_handle_close(t, h2[0]), 0);
	PT_CHECK_EQ(handle_rows(CLS_HANDLES, "HdlB", l1).nallocs, 5);
	PT_CHECK_EQ(handle_rows(CLS_HANDLES, "HdlB", l1).nfrees, 4);
	PT_CHECK_EQ(handle_rows(CLS_HANDLES, "HdlB", l2).nallocs, 3);
	PT_CHECK_EQ(handle_rows(CLS_HANDLES, "HdlB", l2).nfrees, 1);
	PT_CHECK_EQ(handle_rows(CLS_HANDLES, "HdlB", lc).found, 0);
	PT_CHECK_EQ(pt_obj_refs(o), 4);
	PT_CHECK_EQ(pt_handle_close(t, h1[4]), 0);
	PT_CHECK_EQ(pt_handle_close(t, h2[1]), 0);
	PT_CHECK_EQ(pt_handle_close(t, h2[2]), 0);
	PT_CHECK_EQ(handle_rows(CLS_HANDLES, "HdlB", l1).nfrees, 5);
	PT_CHECK_EQ(handle_rows(CLS_HANDLES, "HdlB", l2).nfrees, 3);
	PT_CHECK_EQ(pt_obj_refs(o), 1);
	PT_CHECK_EQ(pt_obj_deref(o), 0);
	PT_CHECK_EQ(pt_htable_destroy(t), 0);
}

/* A table that grows keeps every handle pointing at its own object. */
PT_TEST(test_many_handles)
{
	enum { N = 300 };
	struct pt_htable *t = pt_htable_create("many");
	static void *objs[N];
	static pt_handle hs[N];
	int wrong = 0;

	for (int i = 0; i < N; i++) {
		objs[i] = pt_obj_create(t_b, 8, (uint64_t)i);
		PT_CHECK_EQ(pt_handle_open(t, objs[i], &hs[i]), 0);
		PT_CHECK_EQ(pt_obj_deref(objs[i]), 0);
	}
	/* Close every third and check that the rest still resolve. */
	for (int i = 0; i < N; i += 3)
		PT_CHECK_EQ(pt_handle_close(t, hs[i]), 0);
	for (int i = 0; i < N; i++) {
		void *out = NULL;
		int rc = pt_handle_ref(t, hs[i], t_b, &out);

		if (i % 3 == 0) {
			wrong += rc != -1 || out != NULL;
			continue;
		}
		wrong += rc != 0 || out != objs[i] || pt_obj_id(out) != (uint64_t)i;
		if (rc == 0)
			pt_obj_deref(out);
	}
	PT_CHECK_EQ(wrong, 0);
	PT_CHECK_EQ(count_of("HdlB", PT_PAGED).curblocks, N - (N + 2) / 3);
	PT_CHECK_EQ(pt_htable_destroy(t), N - (N + 2) / 3);
	PT_CHECK_EQ(count_of("HdlB", PT_PAGED).curblocks, 0);
}

/* ---- threads ---- */

#define NTHREADS 4
#define ITERS    20000

static struct pt_htable *mt_table;
static void *mt_objs[2];
static unsigned mt_open_line;

/* Opens, references through and closes handles; a closed handle must never
 * reach anything, even while other threads reuse its slot.  Returns the
 * number of failed checks. */
static void *mt_worker(void *arg)
{
	unsigned k = (unsigned)(uintptr_t)arg;
	uintptr_t bad = 0;

	for (unsigned i = 0; i < ITERS; i++) {
		void *o = mt_objs[(k + i) & 1], *out = NULL;
		pt_handle h;

		if (!k && !i)
			mt_open_line = __LINE__ + 1;
		if (pt_handle_open(mt_table, o, &h) != 0) {
			bad++;
			continue;
		}
		bad += pt_handle_ref(mt_table, h, t_mt, &out) != 0 || out != o;
		bad += pt_obj_deref(o) != 0;
		bad += pt_handle_close(mt_table, h) != 0;
		out = NULL;
		bad += pt_handle_ref(mt_table, h, NULL, &out) != -1 || out != NULL;
	}
	return (void *)bad;
}

/* The workers' use of a closed handle is misuse, reported from several
 * threads at once: counted here, thread-safely. */
static int mt_reports, mt_other_reports;

static void count_misuse(const struct pt_misuse *m, void *arg)
{
	(void)arg;
	__atomic_fetch_add(m->kind == PT_MISUSE_BAD_HANDLE ? &mt_reports : &mt_other_reports, 1,
			   __ATOMIC_RELAXED);
}

PT_TEST(test_threads)
{
	pthread_t th[NTHREADS];
	uintptr_t bad = 0;
	struct site_count s;

	pt_misuse_set_hook(count_misuse, NULL);
	mt_table = pt_htable_create("threads");
	mt_objs[0] = pt_obj_create(t_mt, 8, 0);
	mt_objs[1] = pt_obj_create(t_mt, 8, 1);
	for (uintptr_t k = 0; k < NTHREADS; k++)
		PT_CHECK_EQ(pthread_create(&th[k], NULL, mt_worker, (void *)k), 0);
	for (int k = 0; k < NTHREADS; k++) {
		void *r;
		pthread_join(th[k], &r);
		bad += (uintptr_t)r;
	}
	pt_misuse_set_hook(catch_misuse, NULL);
	PT_CHECK_EQ(bad, 0);
	/* Every use after close, whoever reused the slot since. */
	PT_CHECK_EQ(mt_reports, NTHREADS * ITERS);
	PT_CHECK_EQ(mt_other_reports, 0);
	PT_CHECK_EQ(pt_obj_refs(mt_objs[0]), 1);
	PT_CHECK_EQ(pt_obj_refs(mt_objs[1]), 1);
	s = handle_rows(CLS_HANDLES, "HdlM", mt_open_line);
	PT_CHECK_EQ(s.nallocs, NTHREADS * ITERS);
	PT_CHECK_EQ(s.nfrees, NTHREADS * ITERS);
	PT_CHECK_EQ(pt_htable_destroy(mt_table), 0);
	PT_CHECK_EQ(pt_obj_deref(mt_objs[0]), 0);
	PT_CHECK_EQ(pt_obj_deref(mt_objs[1]), 0);
}

int main(void)
{
	pt_misuse_set_hook(catch_misuse, NULL);
	t_a = pt_objtype_create("HandleA", PT_PAGED, "HdlA", on_delete, 0);
	t_b = pt_objtype_create("HandleB", PT_PAGED, "HdlB", on_delete, 0);
	t_d = pt_objtype_create("HandleD", PT_PAGED, "HdlD", on_delete, 0);
	t_mt = pt_objtype_create("HandleM", PT_PAGED, "HdlM", NULL, 0);
	PT_RUN(test_open_ref_close);
	PT_RUN(test_wrong_type);
	PT_RUN(test_reused_slot);
	PT_RUN(test_bad_handles);
	PT_RUN(test_open_dead_object);
	PT_RUN(test_destroy_closes);
	PT_RUN(test_sites_exact);
	PT_RUN(test_many_handles);
	PT_RUN(test_threads);
	PT_RUN(test_nothing_outstanding);
	return pt_test_done();
}
