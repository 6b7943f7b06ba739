/*
 * test_module.c - plugins loaded with pt_module_load and what their unload
 * reports: the blocks, references and handles a plugin still holds, named
 * by module, tag or type, count, file and line; PT_ON_BEHALF charging;
 * stacks through the plugin's code; the configured action (continue, exit
 * 86, abort); and load errors.
 *
 * The plugin is tests/plugins/modplug.c (plugins/modplug.so beside this
 * program, or $PT_MODPLUG); tests/plugins/provider.h is what both sides
 * share.  The plugin resolves pooltag and the providers defined here from
 * this program, which must therefore be linked with -rdynamic.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pooltag.h>

#include "plugins/provider.h"
#include "pt_libtest.h"
#include "segread.h"

#define CLS_REFS    2 /* counter classes of the segment (segfmt.h) */
#define CLS_HANDLES 3

/* Types live until exit: kept here, so they stay reachable for LSan too. */
static struct pt_objtype *t_ob, *t_pv, *t_cr;

/* The bytes an object's block adds to its body (measured in main). */
static uint64_t obj_overhead;

/* ---- providers (provider.h), exported to the plugin ---- */

/* The lines of the providers' own acquiring calls. */
static struct {
	unsigned lookup, create, open, put;
} prov_lines;

void *prov_lookup_impl(struct pt_objtype *type, uint64_t id)
{
	void *obj;

	prov_lines.lookup = __LINE__ + 1;
	obj = pt_obj_lookup(type, id);
	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return obj;
}

void *prov_nested_impl(struct pt_objtype *type, uint64_t id)
{
	return prov_lookup(type, id); /* wrapped again: the outer caller keeps the charge */
}

void *prov_create_impl(struct pt_objtype *type, uint64_t id)
{
	prov_lines.create = __LINE__ + 1;
	return pt_obj_create(type, 32, id);
}

int prov_open_impl(struct pt_htable *t, void *obj, pt_handle *h)
{
	prov_lines.open = __LINE__ + 1;
	return pt_handle_open(t, obj, h);
}

void prov_put_impl(void *obj)
{
	prov_lines.put = __LINE__ + 1;
	pt_obj_deref(obj);
}

/* ---- helpers ---- */

static char tmpdir[64];



#define SYM(m, name) ((__typeof__(&name))pt_module_sym((m), #name))

/* Reports go to a memory stream while a test reads them. */
static struct {
	FILE *f;
	char *text;
	size_t len;
} rep;

static void report_start(void)
{
	rep.text = NULL;
	rep.len = 0;
	rep.f = open_memstream(&rep.text, &rep.len);
	pt_verify_output(rep.f);
}

/* The text reported since report_start (valid until report_end). */
static const char *report_text(void)
{
	fflush(rep.f);
	return rep.text ? rep.text : "";
}

static void report_end(void)
{
	pt_verify_output(NULL);
	fclose(rep.f);
	free(rep.text);
	rep.f = NULL;
	rep.text = NULL;
}

/* How many lines of text start with prefix "  " (the findings). */
static int finding_lines(const char *text)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, "\n  ")) != NULL; p++)
		n += p[3] != ' ';
	return n;
}

/* The counts of one (class, tag, file, line, module) in this process's own
 * segment; found: rows matched, -1 when the segment could not be read. */
static struct site_count main_count(unsigned cls, const char *tag, unsigned line)
{
	return site_count(cls, tag, "test_module.c", line, program_invocation_short_name);
}

/* ---- tests ---- */

PT_TEST(test_load_errors)
{
	char bogus[PATH_MAX];
	int fd;

	errno = 0;
	PT_CHECK(pt_module_load("/nonexistent/pt-no-such-plugin.so") == NULL);
	PT_CHECK_EQ(errno, ENOENT);
	PT_CHECK_HAS(pt_module_error(), "/nonexistent/pt-no-such-plugin.so");
	errno = 0;
	PT_CHECK(pt_module_load(NULL) == NULL);
	PT_CHECK_EQ(errno, EINVAL);

	/* A file that exists but is no shared object. */
	snprintf(bogus, sizeof(bogus), "%s/not-a-plugin.so", tmpdir);
	fd = open(bogus, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	PT_CHECK(fd >= 0 && write(fd, "hello, not ELF\n", 15) == 15);
	if (fd >= 0)
		close(fd);
	errno = 0;
	PT_CHECK(pt_module_load(bogus) == NULL);
	PT_CHECK_EQ(errno, ENOEXEC);
	PT_CHECK_HAS(pt_module_error(), bogus);
	unlink(bogus);

	/* The main program is no plugin: it cannot be unloaded. */
	errno = 0;
	PT_CHECK_EQ(pt_module_unload(pt_module_main()), -1);
	PT_CHECK_EQ(errno, EINVAL);
	errno = 0;
	PT_CHECK_EQ(pt_module_unload(NULL), -1);
	PT_CHECK_EQ(errno, EINVAL);
	errno = 0;
	PT_CHECK_EQ(pt_module_check(NULL), -1);
	PT_CHECK_EQ(errno, EINVAL);
	PT_CHECK_STR(pt_module_name(pt_module_main()), program_invocation_short_name);
	PT_CHECK_STR(pt_module_name(NULL), "?");
}

PT_TEST(test_unload_twice)
{
	struct pt_module *m = load_plugin_in(tmpdir, NULL, 0);

	PT_CHECK(m != NULL);
	if (!m)
		return;
	PT_CHECK_STR(pt_module_name(m), "modplug.so");
	PT_CHECK(pt_module_sym(m, "modplug_leak") != NULL);
	PT_CHECK(pt_module_sym(m, "no_such_symbol") == NULL);
	report_start();
	PT_CHECK_EQ(pt_module_unload(m), 0);
	PT_CHECK_STR(report_text(), "pooltag: modplug.so unloaded: clean, nothing held\n");
	errno = 0;
	PT_CHECK_EQ(pt_module_unload(m), -1);
	PT_CHECK_EQ(errno, EINVAL);
	PT_CHECK(pt_module_sym(m, "modplug_leak") == NULL);
	report_end();
}

/* A plugin that did everything in balance is clean. */
PT_TEST(test_clean_unload)
{
	struct pt_module *m = load_plugin_in(tmpdir, "modclean.so", 0);
	struct pt_htable *t = pt_htable_create("clean");
	void *o = pt_obj_create(t_ob, 16, 0);
	struct modplug_lines lines;
	struct site_count s;

	PT_CHECK(m != NULL);
	if (!m)
		return;
	PT_CHECK_STR(pt_module_name(m), "modclean.so");
	PT_CHECK_EQ(SYM(m, modplug_balanced)(o, t), 0);
	lines = *SYM(m, modplug_lines); /* the plugin's data goes with it */
	PT_CHECK_EQ(pt_obj_refs(o), 1);
	s = site_count(PT_PAGED, "MpBl", "modplug.c", (unsigned)lines.balanced_alloc,
	               "modclean.so");
	PT_CHECK_EQ(s.found, 1);
	PT_CHECK_EQ(s.nallocs, 10);
	PT_CHECK_EQ(s.nfrees, 10);
	PT_CHECK_STR(s.func, "modplug_balanced");
	report_start();
	PT_CHECK_EQ(pt_module_unload(m), 0);
	PT_CHECK_STR(report_text(), "pooltag: modclean.so unloaded: clean, nothing held\n");
	report_end();
	PT_CHECK_EQ(pt_obj_deref(o), 0);
	PT_CHECK_EQ(pt_htable_destroy(t), 0);
}

/* The seed's case: the plugin's own tags are fine or not, but it also holds
 * references and a handle to objects it does not own; the unload names
 * each, with count and line. */
PT_TEST(test_unload_report)
{
	struct pt_module *m = load_plugin_in(tmpdir, NULL, 0);
	struct pt_htable *t = pt_htable_create("leaks");
	void *o = pt_obj_create(t_ob, 16, 0);
	struct modplug_leaks leaks = {{0}, 0};
	struct modplug_lines lines;
	const char *text;
	struct site_count s;
	char want[256];

	PT_CHECK(m != NULL);
	if (!m)
		return;
	pt_verify_set(PT_VERIFY_CONTINUE);
	PT_CHECK_EQ(SYM(m, modplug_leak)(o, t, &leaks), 0);
	lines = *SYM(m, modplug_lines); /* the plugin's data goes with it */
	PT_CHECK_EQ(pt_obj_refs(o), 4); /* ours, 2 references, 1 handle */
	s = site_count(CLS_REFS, "MpOb", "modplug.c", (unsigned)lines.leak_ref, "modplug.so");
	PT_CHECK_EQ(s.found, 1);
	PT_CHECK_EQ(s.nallocs, 2);
	PT_CHECK_EQ(s.nfrees, 0);
	PT_CHECK_STR(s.func, "modplug_leak");
	s = site_count(CLS_HANDLES, "MpOb", "modplug.c", (unsigned)lines.leak_handle, "modplug.so");
	PT_CHECK_EQ(s.nallocs, 1);
	PT_CHECK_EQ(s.nfrees, 0);

	/* A check reports without unloading; the same again at the unload. */
	report_start();
	PT_CHECK_EQ(pt_module_check(m), 3);
	PT_CHECK_HAS(report_text(),
	             "pooltag: verifier: modplug.so checked holding what it acquired:\n");
	PT_CHECK_EQ(pt_module_unload(m), 3);
	text = report_text();
	PT_CHECK_HAS(text, "pooltag: verifier: modplug.so unloaded holding what it acquired:\n");
	snprintf(want, sizeof(want),
	         "  modplug.so holds 3 paged blocks of 'MpBk' (300 bytes): allocated at "
	         "modplug.c:%d in modplug_leak\n",
	         lines.leak_block);
	PT_CHECK_HAS(text, want);
	snprintf(want, sizeof(want),
	         "  modplug.so holds 2 references to 'MpOb' objects (Owned): 2 acquired at "
	         "modplug.c:%d in modplug_leak\n",
	         lines.leak_ref);
	PT_CHECK_HAS(text, want);
	snprintf(want, sizeof(want),
	         "  modplug.so holds 1 handle to 'MpOb' objects (Owned): 1 opened at "
	         "modplug.c:%d in modplug_leak\n",
	         lines.leak_handle);
	PT_CHECK_HAS(text, want);
	PT_CHECK_EQ(finding_lines(text), 6); /* 3 at the check, 3 at the unload */
	PT_CHECK(!strstr(text, "MpBl"));     /* the balanced work is not mentioned */
	PT_CHECK(!strstr(text, "stack:"));   /* stacks are not tracked */
	report_end();

	/* What it left stays charged to it after the unload; release it. */
	PT_CHECK_EQ(pt_handle_close(t, leaks.handle), 0);
	for (int i = 0; i < 3; i++)
		pt_free(leaks.blocks[i], "MpBk");
	for (int i = 0; i < 3; i++)
		PT_CHECK_EQ(pt_obj_deref(o), 0);
	PT_CHECK_EQ(pt_obj_refs(o), -1);
	s = site_count(CLS_REFS, "MpOb", "modplug.c", (unsigned)lines.leak_ref, "modplug.so");
	PT_CHECK_EQ(s.nfrees, 2);
	PT_CHECK_EQ(count_of("MpBk", PT_PAGED).curblocks, 0);
	PT_CHECK_EQ(pt_htable_destroy(t), 0);
}

/*
 * PT_ON_BEHALF: what a provider acquires for the plugin (a reference, a
 * handle, a whole object) is charged to the plugin's line; without it, to
 * the provider's line in the main program, which the plugin's unload does
 * not report while stacks are not tracked.
 */
PT_TEST(test_on_behalf)
{
	struct pt_module *m = load_plugin_in(tmpdir, NULL, 0);
	struct pt_htable *t = pt_htable_create("behalf");
	void *pv = pt_obj_create(t_pv, 16, 1), *cr, *a, *b, *c;
	struct modplug_lines lines;
	const char *text;
	struct site_count s;
	char want[256];
	pt_handle h = 0;

	PT_CHECK(m != NULL);
	if (!m)
		return;
	a = SYM(m, modplug_behalf)(t_pv, 1);
	b = SYM(m, modplug_nested)(t_pv, 1);
	c = SYM(m, modplug_nobehalf)(t_pv, 1);
	cr = SYM(m, modplug_create_behalf)(t_cr, 9);
	PT_CHECK(a == pv && b == pv && c == pv && cr != NULL);
	PT_CHECK_EQ(SYM(m, modplug_open_behalf)(t, pv, &h), 0);
	lines = *SYM(m, modplug_lines); /* the plugin's data goes with it */
	PT_CHECK_EQ(pt_obj_refs(pv), 5);

	/* The segment says the same as the report below. */
	s = site_count(CLS_REFS, "MpPv", "modplug.c", (unsigned)lines.behalf_lookup, "modplug.so");
	PT_CHECK_EQ(s.nallocs, 1);
	PT_CHECK_STR(s.func, "modplug_behalf");
	s = main_count(CLS_REFS, "MpPv", prov_lines.lookup);
	PT_CHECK_EQ(s.nallocs, 1); /* only the unwrapped call */
	PT_CHECK_STR(s.func, "prov_lookup_impl");
	PT_CHECK_EQ(main_count(CLS_HANDLES, "MpPv", prov_lines.open).found, 0);
	PT_CHECK_EQ(main_count(PT_PAGED, "MpCr", prov_lines.create).found, 0);
	s = site_count(PT_PAGED, "MpCr", "modplug.c", (unsigned)lines.behalf_create, "modplug.so");
	PT_CHECK_EQ(s.nallocs, 1);

	report_start();
	PT_CHECK_EQ(pt_module_unload(m), 5);
	text = report_text();
	snprintf(want, sizeof(want),
	         "  modplug.so holds 1 reference to 'MpPv' objects (Provided): 1 acquired at "
	         "modplug.c:%d in modplug_behalf\n",
	         lines.behalf_lookup);
	PT_CHECK_HAS(text, want);
	snprintf(want, sizeof(want),
	         "  modplug.so holds 1 reference to 'MpPv' objects (Provided): 1 acquired at "
	         "modplug.c:%d in modplug_nested\n",
	         lines.nested_lookup);
	PT_CHECK_HAS(text, want);
	snprintf(want, sizeof(want),
	         "  modplug.so holds 1 handle to 'MpPv' objects (Provided): 1 opened at "
	         "modplug.c:%d in modplug_open_behalf\n",
	         lines.behalf_open);
	PT_CHECK_HAS(text, want);
	snprintf(want, sizeof(want),
	         "  modplug.so holds 1 reference to 'MpCr' objects (Created): 1 acquired at "
	         "modplug.c:%d in modplug_create_behalf\n",
	         lines.behalf_create);
	PT_CHECK_HAS(text, want);
	snprintf(want, sizeof(want),
	         "  modplug.so holds 1 paged block of 'MpCr' (%llu bytes): allocated at "
	         "modplug.c:%d in modplug_create_behalf\n",
	         (unsigned long long)(32 + obj_overhead), lines.behalf_create);
	PT_CHECK_HAS(text, want);
	PT_CHECK(!strstr(text, "test_module.c")); /* nothing charged to a provider's line */
	PT_CHECK_EQ(finding_lines(text), 5);
	report_end();

	PT_CHECK_EQ(pt_handle_close(t, h), 0);
	for (int i = 0; i < 4; i++)
		PT_CHECK_EQ(pt_obj_deref(pv), 0);
	PT_CHECK_EQ(pt_obj_refs(pv), -1);
	PT_CHECK_EQ(pt_obj_deref(cr), 0);
	PT_CHECK_EQ(count_of("MpCr", PT_PAGED).curblocks, 0);
	PT_CHECK_EQ(pt_htable_destroy(t), 0);
}

/* A release made for the plugin pairs as the plugin's: with its own
 * reference first, even when the main program took one more recently. */
PT_TEST(test_on_behalf_release)
{
	struct pt_module *m = load_plugin_in(tmpdir, NULL, 0);
	unsigned l_main, l_create = __LINE__ + 1;
	void *pv = pt_obj_create(t_pv, 16, 2);

	PT_CHECK(m != NULL);
	if (!m)
		return;
	report_start();
	PT_CHECK(SYM(m, modplug_behalf)(t_pv, 2) == pv);
	l_main = __LINE__ + 1;
	PT_CHECK_EQ(pt_obj_ref(pv), 0);
	SYM(m, modplug_put_behalf)(pv);
	PT_CHECK_EQ(pt_module_check(m), 0);
	PT_CHECK_EQ(main_count(CLS_REFS, "MpPv", l_main).nfrees, 0);

	/* Without PT_ON_BEHALF the release is the provider's, a main-program
	 * one made outside the functions that took main's references: it
	 * takes main's oldest (the creation) and the plugin's stays. */
	PT_CHECK(SYM(m, modplug_behalf)(t_pv, 2) == pv);
	SYM(m, modplug_put_plain)(pv);
	PT_CHECK_EQ(main_count(CLS_REFS, "MpPv", l_create).nfrees, 1);
	PT_CHECK_EQ(main_count(CLS_REFS, "MpPv", l_main).nfrees, 0);
	PT_CHECK_EQ(pt_module_check(m), 1);
	PT_CHECK_HAS(report_text(), "  modplug.so holds 1 reference to 'MpPv' objects (Provided)");
	PT_CHECK_EQ(pt_obj_refs(pv), 2);
	SYM(m, modplug_put_behalf)(pv);
	PT_CHECK_EQ(pt_module_unload(m), 0);
	report_end();
	PT_CHECK_EQ(pt_obj_deref(pv), 0);
	PT_CHECK_EQ(pt_obj_refs(pv), -1);
}

/*
 * With stacks tracked, a reference a provider took without PT_ON_BEHALF is
 * still reported at the plugin's unload, because the plugin's frame is on
 * its stack; one the main program took by itself is not.
 */
PT_TEST(test_stack_through_module)
{
	struct pt_module *m;
	void *pv = pt_obj_create(t_pv, 16, 3), *c;
	struct modplug_lines lines;
	const char *text;
	char want[256];
	unsigned old;

	old = pt_track_set(PT_TRACK_STACKS);
	PT_CHECK_EQ(old & PT_TRACK_STACKS, 0);
	m = load_plugin_in(tmpdir, NULL, 0);
	PT_CHECK(m != NULL);
	if (!m) {
		pt_track_set(old);
		return;
	}
	c = SYM(m, modplug_nobehalf)(t_pv, 3);
	lines = *SYM(m, modplug_lines); /* the plugin's data goes with it */
	PT_CHECK(c == pv);
	PT_CHECK_EQ(pt_obj_ref(pv), 0); /* main's own, not through the plugin */
	report_start();
	PT_CHECK_EQ(pt_module_unload(m), 1);
	text = report_text();
	snprintf(want, sizeof(want),
	         "  modplug.so holds 1 reference to 'MpPv' objects (Provided): 1 acquired at "
	         "test_module.c:%u in prov_lookup_impl (through this module's code, see the "
	         "stack)\n    stack: ",
	         prov_lines.lookup);
	PT_CHECK_HAS(text, want);
	snprintf(want, sizeof(want),
	         "prov_lookup_impl (test_module.c:%u) <- modplug_nobehalf (modplug.c:%d) <- "
	         "test_stack_through_module (test_module.c:",
	         prov_lines.lookup, lines.plain_lookup);
	PT_CHECK_HAS(text, want);
	PT_CHECK_EQ(finding_lines(text), 1);
	report_end();

	/*
	 * The reference the old plugin left stays in the object, with its
	 * stack.  A plugin loaded afterwards (often at the same address) did
	 * not take it and must not be charged with it.
	 */
	m = load_plugin_in(tmpdir, NULL, 0);
	PT_CHECK(m != NULL);
	if (m) {
		report_start();
		PT_CHECK_EQ(pt_module_unload(m), 0);
		PT_CHECK_STR(report_text(), "pooltag: modplug.so unloaded: clean, nothing held\n");
		report_end();
	}
	pt_track_set(old);
	for (int i = 0; i < 3; i++)
		PT_CHECK_EQ(pt_obj_deref(pv), 0);
	PT_CHECK_EQ(pt_obj_refs(pv), -1);
}

/*
 * Module charging is by the address of the call site: the site of an
 * allocation made by the plugin's constructor is the plugin's, although
 * the constructor runs inside dlopen, before pt_module_load returns.
 */
PT_TEST(test_constructor_charged_to_plugin)
{
	struct pt_module *m = load_plugin_in(tmpdir, NULL, 1);
	struct modplug_lines lines;
	struct site_count s;
	char want[256];

	PT_CHECK(m != NULL);
	if (!m)
		return;
	PT_CHECK(SYM(m, modplug_ctor_block)() != NULL);
	lines = *SYM(m, modplug_lines); /* the plugin's data goes with it */
	s = site_count(PT_PAGED, "MpCt", "modplug.c", (unsigned)lines.ctor_alloc, "modplug.so");
	/* Each earlier load of the plugin has a row of its own, all freed. */
	PT_CHECK(s.found >= 1);
	PT_CHECK_EQ(s.nallocs - s.nfrees, 1);
	report_start();
	PT_CHECK_EQ(pt_module_check(m), 1);
	snprintf(want, sizeof(want),
	         "  modplug.so holds 1 paged block of 'MpCt' (24 bytes): allocated at "
	         "modplug.c:%d in modplug_ctor\n",
	         lines.ctor_alloc);
	PT_CHECK_HAS(report_text(), want);
	SYM(m, modplug_ctor_free)();
	PT_CHECK_EQ(pt_module_unload(m), 0);
	report_end();
	PT_CHECK_EQ(count_of("MpCt", PT_PAGED).curblocks, 0);
}

/*
 * More groups than a report lists (32): the rest are summed in one line,
 * and the return value still counts every finding (pooltag.h: "the number
 * of findings").  70 types share one tag, so each object is a group of its
 * own at the same line; the plugin holds 2 references to each.
 */
#define MANY_TYPES 70
static struct pt_objtype *many_types[MANY_TYPES];

PT_TEST(test_many_groups)
{
	struct pt_module *m = load_plugin_in(tmpdir, NULL, 0);
	void *objs[MANY_TYPES];
	const char *text;

	PT_CHECK(m != NULL);
	if (!m)
		return;
	for (int i = 0; i < MANY_TYPES; i++) {
		char name[16];

		snprintf(name, sizeof(name), "Many%02d", i);
		if (!many_types[i])
			many_types[i] = pt_objtype_create(name, PT_PAGED, "MpMy", NULL, 0);
		objs[i] = pt_obj_create(many_types[i], 8, 0);
		PT_CHECK_EQ(SYM(m, modplug_ref)(objs[i]), 0);
		PT_CHECK_EQ(SYM(m, modplug_ref)(objs[i]), 0);
	}
	report_start();
	PT_CHECK_EQ(pt_module_unload(m), MANY_TYPES);
	text = report_text();
	/* 32 groups are shown, the other 38 (76 references) counted. */
	PT_CHECK_EQ(finding_lines(text), 33);
	PT_CHECK_HAS(text, "  ... and 38 more groups holding 76 more\n");
	PT_CHECK_HAS(text, "  modplug.so holds 2 references to 'MpMy' objects (Many");
	report_end();
	for (int i = 0; i < MANY_TYPES; i++)
		for (int k = 0; k < 3; k++)
			PT_CHECK_EQ(pt_obj_deref(objs[i]), 0);
	PT_CHECK_EQ(count_of("MpMy", PT_PAGED).curblocks, 0);
}

/* Ends a child without exit handlers (LSan would count what the child
 * left on purpose), removing its segment as exit would. */
static void child_exit(int status)
{
	const char *seg = pt_export_path();

	fflush(NULL);
	if (seg)
		unlink(seg);
	_exit(status);
}

/* Runs fn in a child with its report going to a pipe; returns the child's
 * wait status and its report in buf. */
static int in_child(void (*fn)(void), char *buf, size_t len)
{
	int fds[2], st = -1;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	buf[0] = '\0';
	if (pipe(fds) != 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct rlimit no_core = {0, 0};
		FILE *f;

		close(fds[0]);
		setrlimit(RLIMIT_CORE, &no_core);
		f = fdopen(fds[1], "w");
		pt_verify_output(f);
		fn();
		child_exit(0);
	}
	close(fds[1]);
	while (n + 1 < len && (r = read(fds[0], buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(fds[0]);
	waitpid(pid, &st, 0);
	/* The child removed its segment, whatever way it stopped. */
	{
		char seg[PATH_MAX];
		snprintf(seg, sizeof(seg), "%s/pooltag-%d", pt_segdir(), (int)pid);
		PT_CHECK(access(seg, F_OK) != 0);
	}
	return st;
}

/* Leaks in a fresh plugin and unloads it under the configured action. */
static void leak_and_unload(void)
{
	struct pt_module *m = load_plugin_in(tmpdir, NULL, 0);
	struct pt_htable *t = pt_htable_create("child");
	void *o = pt_obj_create(t_ob, 16, 0);
	struct modplug_leaks leaks;

	if (!m || SYM(m, modplug_leak)(o, t, &leaks) != 0)
		child_exit(2);
	if (pt_module_check(m) != 3) /* a check never applies the action */
		child_exit(3);
	pt_module_unload(m);
	child_exit(4); /* not reached unless the action is "continue" */
}

static void unload_exit(void)
{
	pt_verify_set(PT_VERIFY_EXIT);
	leak_and_unload();
}

static void unload_abort(void)
{
	pt_verify_set(PT_VERIFY_ABORT);
	leak_and_unload();
}

static void unload_continue(void)
{
	pt_verify_set(PT_VERIFY_CONTINUE);
	leak_and_unload();
}

PT_TEST(test_verify_actions)
{
	char buf[8192];
	int st;

	st = in_child(unload_exit, buf, sizeof(buf));
	PT_CHECK(WIFEXITED(st));
	PT_CHECK_EQ(WEXITSTATUS(st), PT_BUGCHECK_EXIT);
	PT_CHECK_HAS(buf, "pooltag: verifier: modplug.so checked holding what it acquired:\n");
	PT_CHECK_HAS(buf, "pooltag: verifier: modplug.so unloaded holding what it acquired:\n");
	PT_CHECK_HAS(buf, "  modplug.so holds 2 references to 'MpOb' objects (Owned)");
	PT_CHECK_HAS(buf, "pooltag: verifier: stopping the program (exit status 86)\n");

	st = in_child(unload_abort, buf, sizeof(buf));
	PT_CHECK(WIFSIGNALED(st));
	PT_CHECK_EQ(WIFSIGNALED(st) ? WTERMSIG(st) : 0, SIGABRT);
	PT_CHECK_HAS(buf, "pooltag: verifier: stopping the program (abort)\n");

	st = in_child(unload_continue, buf, sizeof(buf));
	PT_CHECK(WIFEXITED(st));
	PT_CHECK_EQ(WEXITSTATUS(st), 4);
	PT_CHECK_HAS(buf, "pooltag: verifier: modplug.so unloaded holding what it acquired:\n");
	PT_CHECK(!strstr(buf, "stopping"));
}

/* The main program checked at exit, like an unload. */
static void exit_leaking(void)
{
	pt_verify_set(PT_VERIFY_EXIT);
	pt_verify_at_exit(1);
	if (!pt_obj_create(t_ob, 16, 0))
		child_exit(2);
	exit(0);
}

static void exit_clean(void)
{
	pt_verify_set(PT_VERIFY_EXIT);
	pt_verify_at_exit(1);
	pt_obj_deref(pt_obj_create(t_ob, 16, 0));
	exit(0);
}

PT_TEST(test_verify_at_exit)
{
	char buf[8192], want[128];
	int st;

	st = in_child(exit_leaking, buf, sizeof(buf));
	PT_CHECK(WIFEXITED(st));
	PT_CHECK_EQ(WEXITSTATUS(st), PT_BUGCHECK_EXIT);
	snprintf(want, sizeof(want), "pooltag: verifier: %s exited holding what it acquired:\n",
	         program_invocation_short_name);
	PT_CHECK_HAS(buf, want);
	snprintf(want, sizeof(want), "  %s holds 1 reference to 'MpOb' objects (Owned)",
	         program_invocation_short_name);
	PT_CHECK_HAS(buf, want);

	st = in_child(exit_clean, buf, sizeof(buf));
	PT_CHECK(WIFEXITED(st));
	PT_CHECK_EQ(WEXITSTATUS(st), 0);
	snprintf(want, sizeof(want), "pooltag: %s exited: clean, nothing held\n",
	         program_invocation_short_name);
	PT_CHECK_STR(buf, want);
}

/* "EMFILE when 255 modules are loaded": a host that loads and unloads a
 * plugin again and again never has more than one loaded. */
static void reload_many(void)
{
	for (int i = 0; i < 300; i++) {
		struct pt_module *m = pt_module_load(getenv("PT_RELOAD_PATH"));

		if (!m) {
			printf("# load %d failed: %s\n", i + 1, pt_module_error());
			child_exit(1);
		}
		pt_module_unload(m);
	}
	child_exit(0);
}

PT_TEST(test_reload_many_times)
{
	char path[PATH_MAX + 64], buf[65536];
	int st;

	PT_CHECK_EQ(plugin_path(path, sizeof(path)), 0);
	setenv("PT_RELOAD_PATH", path, 1);
	st = in_child(reload_many, buf, sizeof(buf));
	unsetenv("PT_RELOAD_PATH");
	PT_CHECK(WIFEXITED(st));
	PT_CHECK_EQ(WEXITSTATUS(st), 0);
}

/* Nothing above was misuse: loading, transfers and leaks are not. */
PT_TEST(test_no_misuse_reported)
{
	PT_CHECK_EQ(nreports, 0);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pt_test_module.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	pt_misuse_set_hook(catch_misuse, NULL);
	t_ob = pt_objtype_create("Owned", PT_PAGED, "MpOb", NULL, 0);
	t_pv = pt_objtype_create("Provided", PT_PAGED, "MpPv", NULL, PT_OBJTYPE_BY_ID);
	t_cr = pt_objtype_create("Created", PT_PAGED, "MpCr", NULL, PT_OBJTYPE_BY_ID);
	{
		void *o = pt_obj_create(t_ob, 0, 0);
		obj_overhead = count_of("MpOb", PT_PAGED).curbytes;
		pt_obj_deref(o);
	}
	PT_RUN(test_load_errors);
	PT_RUN(test_unload_twice);
	PT_RUN(test_clean_unload);
	PT_RUN(test_unload_report);
	PT_RUN(test_on_behalf);
	PT_RUN(test_on_behalf_release);
	PT_RUN(test_stack_through_module);
	PT_RUN(test_constructor_charged_to_plugin);
	PT_RUN(test_many_groups);
	PT_RUN(test_verify_actions);
	PT_RUN(test_verify_at_exit);
	PT_RUN(test_reload_many_times);
	PT_RUN(test_no_misuse_reported);
	PT_RUN(test_nothing_outstanding);
	{
		char copy[PATH_MAX];
		snprintf(copy, sizeof(copy), "%s/modclean.so", tmpdir);
		unlink(copy);
		rmdir(tmpdir);
	}
	return pt_test_done();
}
