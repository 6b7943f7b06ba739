/*
 * test_kdiff.c - `pooltag diff` of two reads of the kernel
 * (cli/model/kdiff.c) on views read from /proc/allocinfo text written in
 * the test: sites matched by module, file, line and function, repeated
 * lines summed; the sites that moved, leak suspects first, and their ties;
 * modules unloaded, judged by NEW's module list or, lacking one, by NEW's
 * sites, with what their sites hold in either read; empty reads; every
 * allocation failed in turn.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocinfo.h"
#include "kview.h"
#include "pooltag.h"
#include "pt_oom.h"
#include "pt_test.h"

#define HDR "allocinfo - version: 1.0\n#     <size>  <calls> <tag info>\n"

/* The kernel: ka grows (a suspect), kb grows in bytes and falls in count,
 * kc stays, kd is gone; kn is new.  foo is unloaded: f1 still listed,
 * f2 and f3 gone.  bar stays: g1 freed everything, g2 is listed twice in
 * OLD and once in NEW with their sum.  baz is new. */
static const char old_text[] = HDR "4096 2 mm/a.c:1 func:ka\n"
                                   "1024 1 mm/a.c:2 func:kb\n"
                                   " 512 4 mm/a.c:3 func:kc\n"
                                   " 256 1 mm/a.c:4 func:kd\n"
                                   " 100 1 drivers/foo/x.c:1 [foo] func:f1\n"
                                   " 200 2 drivers/foo/x.c:2 [foo] func:f2\n"
                                   "   0 0 drivers/foo/x.c:3 [foo] func:f3\n"
                                   "8192 1 drivers/bar/y.c:1 [bar] func:g1\n"
                                   " 300 3 drivers/bar/y.c:2 [bar] func:g2\n"
                                   " 100 1 drivers/bar/y.c:2 [bar] func:g2\n";
static const char new_text[] = HDR "8192 3 mm/a.c:1 func:ka\n"
                                   "2048 0 mm/a.c:2 func:kb\n"
                                   " 512 4 mm/a.c:3 func:kc\n"
                                   " 100 1 drivers/foo/x.c:1 [foo] func:f1\n"
                                   "   0 0 drivers/bar/y.c:1 [bar] func:g1\n"
                                   " 400 4 drivers/bar/y.c:2 [bar] func:g2\n"
                                   "  64 1 new/n.c:1 [baz] func:n1\n"
                                   "  32 1 new/n.c:2 func:kn\n";

/* A kernel view of text; modules, when not NULL, the modules loaded then
 * ("foo\nbar\n"), as a kernel snapshot lists them. */
static void kview(struct pt_view *v, const char *text, const char *modules)
{
	char err[256];

	pt_view_init(v);
	if (pt_allocinfo_parse(v, text, strlen(text), "ai.txt", NULL, err, sizeof(err)) != 0) {
		printf("# %s\n", err);
		abort();
	}
	if (modules && !(v->kernel_modules = pt_view_strdup(v, modules, strlen(modules))))
		abort();
}

/* "module:file:line:func" of each change, " " between: the order. */
static const char *sites(const struct pt_kchange *c, size_t n)
{
	static char out[2048];
	size_t at = 0;

	out[0] = 0;
	for (size_t i = 0; i < n && at < sizeof(out); i++)
		at += (size_t)snprintf(out + at, sizeof(out) - at, "%s%s:%s:%u:%s", i ? " " : "",
		                       c[i].r->module, c[i].r->file, c[i].r->line, c[i].r->func);
	return out;
}

static const struct pt_kchange *change(const struct pt_kdiff *d, const char *func)
{
	for (size_t i = 0; i < d->nall; i++)
		if (strcmp(d->all[i].r->func, func) == 0)
			return &d->all[i];
	return NULL;
}

static void check_change(const struct pt_kchange *c, uint64_t oc, uint64_t ob, uint64_t nc,
                         uint64_t nb, int in_old, int in_new)
{
	PT_CHECK(c != NULL);
	if (!c)
		return;
	PT_CHECK_EQ(c->oc, oc);
	PT_CHECK_EQ(c->ob, ob);
	PT_CHECK_EQ(c->nc, nc);
	PT_CHECK_EQ(c->nb, nb);
	PT_CHECK_EQ(c->in_old, in_old);
	PT_CHECK_EQ(c->in_new, in_new);
}

/* Every site of either read, once, by module, file, line, function; the
 * row named from NEW where it is there. */
PT_TEST(test_all_sites)
{
	struct pt_view ov, nv;
	struct pt_kdiff d;

	kview(&ov, old_text, NULL);
	kview(&nv, new_text, "bar\nbaz\n");
	PT_CHECK_EQ(pt_kdiff_build(&ov, &nv, &d), 0);
	PT_CHECK_EQ(d.nall, 11);
	PT_CHECK_STR(sites(d.all, d.nall),
	             ":mm/a.c:1:ka :mm/a.c:2:kb :mm/a.c:3:kc :mm/a.c:4:kd :new/n.c:2:kn "
	             "bar:drivers/bar/y.c:1:g1 bar:drivers/bar/y.c:2:g2 baz:new/n.c:1:n1 "
	             "foo:drivers/foo/x.c:1:f1 foo:drivers/foo/x.c:2:f2 foo:drivers/foo/x.c:3:f3");
	check_change(change(&d, "ka"), 2, 4096, 3, 8192, 1, 1);
	check_change(change(&d, "kd"), 1, 256, 0, 0, 1, 0);
	check_change(change(&d, "kn"), 0, 0, 1, 32, 0, 1);
	check_change(change(&d, "g2"), 4, 400, 4, 400, 1, 1); /* OLD's two lines summed */
	check_change(change(&d, "f3"), 0, 0, 0, 0, 1, 0);
	PT_CHECK(change(&d, "ka")->r >= nv.rows && change(&d, "ka")->r < nv.rows + nv.nrows);
	PT_CHECK(change(&d, "kd")->r >= ov.rows && change(&d, "kd")->r < ov.rows + ov.nrows);
	pt_kdiff_free(&d);
	PT_CHECK(d.all == NULL && d.moved == NULL && d.unloaded == NULL && d.nall == 0);
	pt_view_free(&ov);
	pt_view_free(&nv);
}

/* What moved: the suspects (count and bytes grew) first, then by bytes
 * grown, then by count; a site that stayed is not there, nor the sites of
 * an unloaded module NEW no longer lists. */
PT_TEST(test_moved)
{
	struct pt_view ov, nv;
	struct pt_kdiff d;

	kview(&ov, old_text, NULL);
	kview(&nv, new_text, "bar\nbaz\n");
	PT_CHECK_EQ(pt_kdiff_build(&ov, &nv, &d), 0);
	PT_CHECK_STR(sites(d.moved, d.nmoved),
	             ":mm/a.c:1:ka baz:new/n.c:1:n1 :new/n.c:2:kn "
	             ":mm/a.c:2:kb :mm/a.c:4:kd bar:drivers/bar/y.c:1:g1");
	for (size_t i = 0; i < d.nmoved; i++)
		PT_CHECK_EQ(pt_kchange_suspect(&d.moved[i]), i < 3);
	pt_kdiff_free(&d);
	pt_view_free(&ov);
	pt_view_free(&nv);
}

/* Equal growth: by count grown, then by site, the kernel's first. */
PT_TEST(test_moved_ties)
{
	struct pt_view ov, nv;
	struct pt_kdiff d;

	kview(&ov,
	      HDR "0 0 t.c:2 func:t2\n0 0 t.c:1 func:t1\n0 0 t.c:3 func:t3\n"
	          "0 0 t.c:4 func:t4\n0 0 a.c:1 [m] func:t5\n0 0 t.c:1 func:t0\n",
	      NULL);
	kview(&nv,
	      HDR "100 1 a.c:1 [m] func:t5\n100 1 t.c:2 func:t2\n100 1 t.c:1 func:t1\n"
	          "100 2 t.c:3 func:t3\n100 0 t.c:4 func:t4\n100 1 t.c:1 func:t0\n",
	      "m\n");
	PT_CHECK_EQ(pt_kdiff_build(&ov, &nv, &d), 0);
	PT_CHECK_STR(sites(d.moved, d.nmoved),
	             ":t.c:3:t3 :t.c:1:t0 :t.c:1:t1 :t.c:2:t2 m:a.c:1:t5 :t.c:4:t4");
	pt_kdiff_free(&d);
	pt_view_free(&ov);
	pt_view_free(&nv);
}

/* foo is not in NEW's module list: unloaded, with the site it still has
 * in NEW (held there) and those gone (what they held in OLD). */
PT_TEST(test_unloaded_by_list)
{
	struct pt_view ov, nv;
	struct pt_kdiff d;

	kview(&ov, old_text, "foo\nbar\n");
	kview(&nv, new_text, "bar\nbaz\n");
	PT_CHECK_EQ(pt_kdiff_build(&ov, &nv, &d), 0);
	PT_CHECK_EQ(d.nunloaded, 1);
	if (d.nunloaded == 1) {
		const struct pt_kunload *m = &d.unloaded[0];
		PT_CHECK_STR(m->module, "foo");
		PT_CHECK_STR(sites(m->sites, m->nsites), "foo:drivers/foo/x.c:1:f1 "
		                                         "foo:drivers/foo/x.c:2:f2 "
		                                         "foo:drivers/foo/x.c:3:f3");
		PT_CHECK_EQ(m->in_old, 3);
		PT_CHECK_EQ(m->in_new, 1);
		PT_CHECK_EQ(m->held_new, 1);
		PT_CHECK_EQ(m->nc, 1);
		PT_CHECK_EQ(m->nb, 100);
		PT_CHECK_EQ(m->held_old, 2);
		PT_CHECK_EQ(m->oc, 3);
		PT_CHECK_EQ(m->ob, 300);
	}
	pt_kdiff_free(&d);
	/* Listed again: nothing unloaded, and its gone sites moved. */
	pt_view_free(&nv);
	kview(&nv, new_text, "bar\nbaz\nfoo\n");
	PT_CHECK_EQ(pt_kdiff_build(&ov, &nv, &d), 0);
	PT_CHECK_EQ(d.nunloaded, 0);
	PT_CHECK_HAS(sites(d.moved, d.nmoved), "foo:drivers/foo/x.c:2:f2");
	PT_CHECK(strstr(sites(d.moved, d.nmoved), "x.c:3") == NULL); /* held nothing */
	pt_kdiff_free(&d);
	pt_view_free(&ov);
	pt_view_free(&nv);
}

/* An unloaded module's sites that hold nothing, listed in NEW or not, are
 * not counted as holding; NEW lists no module at all. */
PT_TEST(test_unloaded_holding_nothing)
{
	struct pt_view ov, nv;
	struct pt_kdiff d;

	kview(&ov, HDR "0 0 q.c:1 [q] func:q1\n8 1 q.c:2 [q] func:q2\n0 0 q.c:3 [q] func:q3\n",
	      NULL);
	kview(&nv, HDR "0 0 q.c:1 [q] func:q1\n", "");
	PT_CHECK_EQ(pt_kdiff_build(&ov, &nv, &d), 0);
	PT_CHECK_EQ(d.nunloaded, 1);
	if (d.nunloaded == 1) {
		PT_CHECK_EQ(d.unloaded[0].in_new, 1);
		PT_CHECK_EQ(d.unloaded[0].held_new, 0);
		PT_CHECK_EQ(d.unloaded[0].held_old, 1);
		PT_CHECK(d.unloaded[0].oc == 1 && d.unloaded[0].ob == 8 && d.unloaded[0].nb == 0);
	}
	PT_CHECK_EQ(d.nmoved, 0);
	pt_kdiff_free(&d);
	pt_view_free(&ov);
	pt_view_free(&nv);
}

/* No module list in NEW (a saved copy of the file): a module is unloaded
 * when none of its sites is in NEW; modules by name. */
PT_TEST(test_unloaded_by_sites)
{
	struct pt_view ov, nv;
	struct pt_kdiff d;

	kview(&ov,
	      HDR "10 1 z.c:1 [zz] func:z\n"
	          "20 2 a.c:1 [aa] func:a\n"
	          " 0 0 a.c:2 [aa] func:a2\n"
	          "30 3 s.c:1 [stay] func:s\n"
	          " 5 1 k.c:1 func:k\n",
	      NULL);
	kview(&nv, HDR "30 3 s.c:1 [stay] func:s\n", NULL);
	PT_CHECK_EQ(pt_kdiff_build(&ov, &nv, &d), 0);
	PT_CHECK_EQ(d.nunloaded, 2);
	if (d.nunloaded == 2) {
		PT_CHECK_STR(d.unloaded[0].module, "aa");
		PT_CHECK_EQ(d.unloaded[0].nsites, 2);
		PT_CHECK_EQ(d.unloaded[0].held_old, 1);
		PT_CHECK_EQ(d.unloaded[0].ob, 20);
		PT_CHECK_EQ(d.unloaded[0].held_new, 0);
		PT_CHECK_STR(d.unloaded[1].module, "zz");
	}
	/* The kernel's own site, gone, moved; the unloaded modules' did not. */
	PT_CHECK_STR(sites(d.moved, d.nmoved), ":k.c:1:k");
	pt_kdiff_free(&d);
	pt_view_free(&ov);
	pt_view_free(&nv);
}

/* A module new in NEW, or the same file and line under another module or
 * function, is another site. */
PT_TEST(test_identity)
{
	struct pt_view ov, nv;
	struct pt_kdiff d;

	kview(&ov, HDR "10 1 x.c:1 [a] func:f\n5 1 y.c:1 func:f\n", NULL);
	kview(&nv, HDR "10 1 x.c:1 [b] func:f\n5 1 y.c:1 func:g\n", NULL);
	PT_CHECK_EQ(pt_kdiff_build(&ov, &nv, &d), 0);
	PT_CHECK_EQ(d.nall, 4);
	PT_CHECK_STR(sites(d.moved, d.nmoved), "b:x.c:1:f :y.c:1:g :y.c:1:f");
	PT_CHECK(d.nunloaded == 1 && strcmp(d.unloaded[0].module, "a") == 0);
	pt_kdiff_free(&d);
	pt_view_free(&ov);
	pt_view_free(&nv);
}

PT_TEST(test_empty)
{
	struct pt_view ov, nv;
	struct pt_kdiff d;

	kview(&ov, HDR, NULL);
	kview(&nv, HDR, NULL);
	PT_CHECK_EQ(pt_kdiff_build(&ov, &nv, &d), 0);
	PT_CHECK(d.nall == 0 && d.nmoved == 0 && d.nunloaded == 0);
	pt_kdiff_free(&d);
	pt_view_free(&nv);
	/* Nothing before: all of NEW moved, nothing unloaded. */
	kview(&nv, new_text, NULL);
	PT_CHECK_EQ(pt_kdiff_build(&ov, &nv, &d), 0);
	PT_CHECK_EQ(d.nall, 8);
	PT_CHECK_EQ(d.nmoved, 7); /* g1 holds nothing in either */
	PT_CHECK_EQ(d.nunloaded, 0);
	pt_kdiff_free(&d);
	/* Nothing after: the kernel's own sites moved, the least fallen
	 * first; every module gone. */
	PT_CHECK_EQ(pt_kdiff_build(&nv, &ov, &d), 0);
	PT_CHECK_STR(sites(d.moved, d.nmoved),
	             ":new/n.c:2:kn :mm/a.c:3:kc :mm/a.c:2:kb :mm/a.c:1:ka");
	PT_CHECK_EQ(d.nunloaded, 3);
	pt_kdiff_free(&d);
	pt_view_free(&ov);
	pt_view_free(&nv);
}

PT_TEST(test_out_of_memory)
{
	struct pt_view ov, nv;
	struct pt_kdiff d;
	long n;
	int rc;

	kview(&ov, old_text, NULL);
	kview(&nv, new_text, "bar\nbaz\n");
	for (n = 0;; n++) {
		oom_arm(n);
		rc = pt_kdiff_build(&ov, &nv, &d);
		if (!oom_disarm())
			break;
		PT_CHECK_EQ(rc, -1);
		pt_kdiff_free(&d);
	}
	PT_CHECK(n > 0);
	PT_CHECK(rc == 0 && d.nall == 11 && d.nmoved == 6 && d.nunloaded == 1);
	pt_kdiff_free(&d);
	pt_view_free(&ov);
	pt_view_free(&nv);
}

int main(void)
{
	PT_RUN(test_all_sites);
	PT_RUN(test_moved);
	PT_RUN(test_moved_ties);
	PT_RUN(test_unloaded_by_list);
	PT_RUN(test_unloaded_holding_nothing);
	PT_RUN(test_unloaded_by_sites);
	PT_RUN(test_identity);
	PT_RUN(test_empty);
	PT_RUN(test_out_of_memory);
	return pt_test_done();
}
