/*
 * test_allocinfo.c - /proc/allocinfo read into a view: both format
 * versions, module ids, inexact counts, kernel snapshots written and read
 * back, module labels, patterns and lists, and every kind of input the
 * reader must refuse with the file and line.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "allocinfo.h"
#include "kmod.h"
#include "pooltag.h"
#include "pt_test.h"

#define HDR "#     <size>  <calls> <tag info>\n"

struct ki {
	struct pt_view v;
	struct pt_allocinfo info;
	char err[512];
	int rc;
};

static void parse(struct ki *k, const char *s)
{
	pt_view_init(&k->v);
	k->err[0] = 0;
	k->rc = pt_allocinfo_parse(&k->v, s, strlen(s), "ai.txt", &k->info, k->err, sizeof(k->err));
}

/* The row of file:line, or NULL. */
static const struct pt_row *row(const struct ki *k, const char *file, uint32_t line)
{
	for (size_t i = 0; i < k->v.nrows; i++)
		if (strcmp(k->v.rows[i].file, file) == 0 && k->v.rows[i].line == line)
			return &k->v.rows[i];
	return NULL;
}

PT_TEST(test_version_1_0)
{
	struct ki k;
	const struct pt_row *r;

	parse(&k, "allocinfo - version: 1.0\n" HDR
		  "           0        0 init/main.c:1314 func:do_initcalls \n"
		  "         512        1 arch/x86/events/rapl.c:681 func:init_rapl_pmus \n"
		  "        4096        1 drivers/foo/bar.c:123 [foo] func:foo_probe \n"
		  "          64        2 drivers/foo/bar.c:200 [foo] func:foo_open \n");
	PT_CHECK_EQ(k.rc, 0);
	PT_CHECK_STR(k.v.kernel_format, "1.0");
	PT_CHECK_STR(k.v.kernel_source, "ai.txt");
	PT_CHECK(k.v.kernel_modules == NULL);
	PT_CHECK(k.v.outstanding_only);
	PT_CHECK_EQ(k.v.nrows, 4);
	PT_CHECK_EQ(k.info.nsites, 4);
	PT_CHECK_EQ(k.info.nmodules, 2);
	r = row(&k, "drivers/foo/bar.c", 123);
	PT_CHECK(r != NULL);
	if (r) {
		PT_CHECK_STR(r->module, "foo");
		PT_CHECK_STR(r->func, "foo_probe");
		PT_CHECK_EQ(r->nallocs, 1);
		PT_CHECK_EQ(r->bytes_alloc, 4096);
		PT_CHECK_EQ(r->nfrees, 0);
		PT_CHECK_EQ(r->bytes_freed, 0);
		PT_CHECK_EQ(r->pool, PT_NONPAGED);
		PT_CHECK_EQ(r->flags, 0);
		PT_CHECK_EQ(r->tag, row(&k, "drivers/foo/bar.c", 200)->tag);
	}
	r = row(&k, "arch/x86/events/rapl.c", 681);
	PT_CHECK(r && !*r->module && strcmp(r->func, "init_rapl_pmus") == 0);
	PT_CHECK(r && r->tag == row(&k, "init/main.c", 1314)->tag);
	PT_CHECK(r && r->tag != row(&k, "drivers/foo/bar.c", 123)->tag);
	pt_view_free(&k.v);
}

PT_TEST(test_version_2_0_pairs)
{
	struct ki k;

	parse(&k, "allocinfo - version: 2.0\n" HDR
		  "       49152       48 arch/x86/kernel/cpu/mce/core.c:2709 func:mce_device_create accurate:no \n"
		  "       32768        1 arch/x86/kernel/cpu/mce/genpool.c:132 func:mce_gen_pool_create \n"
		  "         100        1 a.c:1 [m] func:f accurate:yes colour:blue \n");
	PT_CHECK_EQ(k.rc, 0);
	PT_CHECK_STR(k.v.kernel_format, "2.0");
	PT_CHECK_EQ(k.info.ninexact, 1);
	PT_CHECK_EQ(k.info.nunknown, 1);
	PT_CHECK(row(&k, "arch/x86/kernel/cpu/mce/core.c", 2709)->flags & PT_ROW_INEXACT);
	PT_CHECK_EQ(row(&k, "arch/x86/kernel/cpu/mce/core.c", 2709)->bytes_alloc, 49152);
	PT_CHECK_EQ(row(&k, "a.c", 1)->flags, 0);
	PT_CHECK_STR(row(&k, "a.c", 1)->func, "f");
	pt_view_free(&k.v);
}

/* Per-CPU sums read while they moved: shown as 0, marked inexact. */
PT_TEST(test_negative_counts)
{
	struct ki k;

	parse(&k, "allocinfo - version: 1.0\n" HDR
		  "       -4096 18446744073709551615 mm/a.c:1 func:f \n"
		  "          -0        0 mm/a.c:2 func:g \n");
	PT_CHECK_EQ(k.rc, 0);
	PT_CHECK_EQ(row(&k, "mm/a.c", 1)->bytes_alloc, 0);
	PT_CHECK_EQ(row(&k, "mm/a.c", 1)->nallocs, 0);
	PT_CHECK(row(&k, "mm/a.c", 1)->flags & PT_ROW_INEXACT);
	PT_CHECK_EQ(row(&k, "mm/a.c", 2)->flags, 0);
	PT_CHECK_EQ(k.info.ninexact, 1);
	pt_view_free(&k.v);
}

/* The same module has the same id in two views, whatever else is there. */
PT_TEST(test_ids_stable)
{
	struct ki a, b;

	parse(&a, "allocinfo - version: 1.0\n" HDR "1 1 x.c:1 [foo] func:f \n");
	parse(&b, "allocinfo - version: 1.0\n" HDR "1 1 y.c:1 [bar] func:g \n1 1 x.c:1 [foo] func:f \n"
		  "1 1 z.c:1 func:h \n");
	PT_CHECK_EQ(a.rc, 0);
	PT_CHECK_EQ(b.rc, 0);
	PT_CHECK_EQ(row(&a, "x.c", 1)->tag, row(&b, "x.c", 1)->tag);
	PT_CHECK(row(&b, "y.c", 1)->tag != row(&b, "x.c", 1)->tag);
	pt_view_free(&a.v);
	pt_view_free(&b.v);
}

/* Many modules: every one gets an id of its own. */
PT_TEST(test_ids_unique)
{
	char *buf = malloc(200000), *p;
	struct ki k;

	p = buf + sprintf(buf, "allocinfo - version: 1.0\n" HDR);
	for (int i = 0; i < 3000; i++)
		p += sprintf(p, "1 1 f.c:%d [m%d] func:f \n", i, i);
	parse(&k, buf);
	PT_CHECK_EQ(k.rc, 0);
	PT_CHECK_EQ(k.info.nmodules, 3000);
	for (size_t i = 0; i < k.v.nrows; i++)
		for (size_t j = i + 1; j < k.v.nrows; j += 97)
			PT_CHECK(k.v.rows[i].tag != k.v.rows[j].tag);
	pt_view_free(&k.v);
	free(buf);
}

static void refused(const char *text, const char *why)
{
	struct ki k;

	parse(&k, text);
	PT_CHECK_EQ(k.rc, -1);
	PT_CHECK_HAS(k.err, why);
	PT_CHECK(k.v.kernel_format == NULL);
	pt_view_free(&k.v);
}

PT_TEST(test_refused)
{
	refused("allocinfo - version: 1.1\n" HDR,
		"ai.txt:1: allocinfo format version '1.1': this pooltag reads 1.0 and 2.0");
	refused("allocinfo - version: 3.0\n" HDR "1 1 a.c:1 func:f \n", "version '3.0'");
	refused("allocinfo - version: 1.0\n", "ai.txt:2: the file ends before the header line");
	refused("allocinfo - version: 1.0\n<size> <calls> <tag info>\n", "ai.txt:2:");
	refused("allocinfo - version: 1.0\n" HDR "1 1 a.c:1 func:f \n4096 1 a.c:2 fu",
		"ai.txt:4: the file ends inside a line");
	refused("allocinfo - version: 1.0\n" HDR "1 1 a.c:1 func:f accurate:no \n",
		"ai.txt:3: 'accurate:no' after the function: format 1.0 has nothing there");
	refused("allocinfo - version: 2.0\n" HDR "1 1 a.c:1 func:f junk \n",
		"ai.txt:3: 'junk' is not a KEY:VALUE pair");
	refused("allocinfo - version: 1.0\n" HDR "x 1 a.c:1 func:f \n", "size 'x'");
	refused("allocinfo - version: 1.0\n" HDR "1 -1 a.c:1 func:f \n", "call count '-1'");
	refused("allocinfo - version: 1.0\n" HDR "99999999999999999999 1 a.c:1 func:f \n", "size");
	refused("allocinfo - version: 1.0\n" HDR "1 1 a.c func:f \n", "'a.c' is not FILE:LINE");
	refused("allocinfo - version: 1.0\n" HDR "1 1 a.c:99999999999 func:f \n", "FILE:LINE");
	refused("allocinfo - version: 1.0\n" HDR "1 1 :5 func:f \n", "FILE:LINE");
	refused("allocinfo - version: 1.0\n" HDR "1 1 a.c:1 [] func:f \n", "module name");
	refused("allocinfo - version: 1.0\n" HDR "1 1 a.c:1 [a]b] func:f \n", "module name");
	refused("allocinfo - version: 1.0\n" HDR "1 1 a.c:1 [m] \n", "cut short after the module");
	refused("allocinfo - version: 1.0\n" HDR "1 1 a.c:1 f \n", "'f' is not func:FUNCTION");
	refused("allocinfo - version: 1.0\n" HDR "1 1 a.c:1 func: \n", "func:FUNCTION");
	refused("allocinfo - version: 1.0\n" HDR "1 1\n", "cut short after the call count");
	refused("allocinfo - version: 1.0\n" HDR "1 1 a\x01.c:1 func:f \n", "control byte 0x01");
	refused("pooltag-kernel-snapshot 2\n", "kernel snapshot version '2'");
	refused("pooltag-kernel-snapshot 1\ntaken 5\nallocinfo - version: 1.0\n" HDR,
		"preamble is incomplete");
	refused("pooltag-kernel-snapshot 1\ntaken 5\nformat 1.0\nmodules 2\nmodule a\n"
		"allocinfo - version: 1.0\n" HDR,
		"preamble is incomplete");
	refused("pooltag-kernel-snapshot 1\nbogus 1\n", "ai.txt:2: 'bogus 1' is not a line");
	refused("pooltag-kernel-snapshot 1\ntaken 5\nformat 1.1\n", "format '1.1'");
	refused("hello\n", "ai.txt:1: not /proc/allocinfo");
	refused("", "ai.txt:1: the file ends before the allocinfo version line");
}

PT_TEST(test_tabs_crlf_blank)
{
	struct ki k;

	parse(&k, "allocinfo - version: 1.0\r\n#\t<size>\t<calls> <tag info>\r\n\r\n"
		  "\t4096\t1\ta.c:7\t[m]\tfunc:f\r\n");
	PT_CHECK_EQ(k.rc, 0);
	PT_CHECK_EQ(k.v.nrows, 1);
	PT_CHECK_STR(k.v.rows[0].func, "f");
	PT_CHECK_STR(k.v.rows[0].module, "m");
	pt_view_free(&k.v);
}

PT_TEST(test_sniff)
{
	PT_CHECK(pt_allocinfo_sniff("allocinfo - version: 1.0\n", 25));
	PT_CHECK(pt_allocinfo_sniff("pooltag-kernel-snapshot 1\n", 26));
	PT_CHECK(!pt_allocinfo_sniff("pooltag-snapshot 2\n", 19));
	PT_CHECK(!pt_allocinfo_sniff("allocinfo", 9));
}

/* A kernel snapshot reads back as the view it was written from. */
PT_TEST(test_snapshot_round_trip)
{
	char path[] = "/tmp/pt-test-ksnap.XXXXXX", err[512];
	struct ki k;
	struct pt_view w;
	int fd = mkstemp(path);

	PT_CHECK(fd >= 0);
	close(fd);
	parse(&k, "allocinfo - version: 1.0\n" HDR "       -8 1 a.c:1 func:f \n"
		  "4096 1 b.c:2 [mod] func:g \n");
	PT_CHECK_EQ(k.rc, 0);
	k.v.taken_ns = 1234567890123;
	k.v.kernel_modules = "mod\nother\n";
	PT_CHECK_EQ(pt_allocinfo_write(&k.v, path, err, sizeof(err)), 0);
	pt_view_init(&w);
	{
		FILE *f = fopen(path, "r");
		char buf[4096];
		size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
		if (f)
			fclose(f);
		PT_CHECK_EQ(pt_allocinfo_parse(&w, buf, n, path, NULL, err, sizeof(err)), 0);
	}
	PT_CHECK_STR(w.kernel_format, "1.0");
	PT_CHECK_STR(w.kernel_source, "ai.txt");
	PT_CHECK_STR(w.kernel_modules, "mod\nother\n");
	PT_CHECK_EQ(w.taken_ns, 1234567890123);
	PT_CHECK_EQ(w.nrows, 2);
	for (size_t i = 0; i < w.nrows && i < k.v.nrows; i++) {
		PT_CHECK_STR(w.rows[i].file, k.v.rows[i].file);
		PT_CHECK_STR(w.rows[i].func, k.v.rows[i].func);
		PT_CHECK_STR(w.rows[i].module, k.v.rows[i].module);
		PT_CHECK_EQ(w.rows[i].line, k.v.rows[i].line);
		PT_CHECK_EQ(w.rows[i].nallocs, k.v.rows[i].nallocs);
		PT_CHECK_EQ(w.rows[i].bytes_alloc, k.v.rows[i].bytes_alloc);
		PT_CHECK_EQ(w.rows[i].flags, k.v.rows[i].flags);
		PT_CHECK_EQ(w.rows[i].tag, k.v.rows[i].tag);
	}
	PT_CHECK_EQ(pt_kmod_loaded(&w, "mod"), 1);
	PT_CHECK_EQ(pt_kmod_loaded(&w, "mo"), 0);
	PT_CHECK_EQ(pt_kmod_loaded(&w, ""), 1);
	PT_CHECK_EQ(pt_kmod_loaded(&k.v, "mod"), 1);
	k.v.kernel_modules = NULL;
	PT_CHECK_EQ(pt_kmod_loaded(&k.v, "mod"), -1);
	unlink(path);
	pt_view_free(&w);
	pt_view_free(&k.v);
}

PT_TEST(test_labels_patterns)
{
	char b[64];

	PT_CHECK_STR(pt_kmod_label("foo", b, sizeof(b)), "[foo]");
	PT_CHECK_STR(pt_kmod_label("", b, sizeof(b)), "(kernel)");
	PT_CHECK(pt_kmod_match(NULL, "x"));
	PT_CHECK(pt_kmod_match("foo*", "foobar"));
	PT_CHECK(pt_kmod_match("f?o", "foo"));
	PT_CHECK(!pt_kmod_match("foo*", "barfoo"));
	PT_CHECK(pt_kmod_match("*", ""));
	PT_CHECK(pt_kmod_match("(kernel)", ""));
	PT_CHECK(!pt_kmod_match("foo", ""));
	PT_CHECK(pt_kmod_match("*a*b*c", "xxaxxbxxc"));
	PT_CHECK(!pt_kmod_match("*a*b*c", "xxaxxbxxd"));
}

/* The live reader: a directory standing for /proc. */
PT_TEST(test_load_procdir)
{
	char dir[] = "/tmp/pt-test-proc.XXXXXX", path[256], err[512];
	struct pt_view v;
	FILE *f;

	PT_CHECK(mkdtemp(dir) != NULL);
	setenv("POOLTAG_PROC", dir, 1);
	PT_CHECK_STR(pt_allocinfo_procdir(), dir);
	pt_view_init(&v);
	PT_CHECK_EQ(pt_allocinfo_load(&v, err, sizeof(err)), -1);
	PT_CHECK_HAS(err, "does not exist: this kernel does not offer memory allocation profiling");
	pt_view_free(&v);
	snprintf(path, sizeof(path), "%s/allocinfo", dir);
	f = fopen(path, "w");
	fputs("allocinfo - version: 1.0\n" HDR "10 1 a.c:1 [m] func:f \n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/modules", dir);
	f = fopen(path, "w");
	fputs("m 16384 0 - Live 0x0\nother 4096 1 m, Live 0x0\n", f);
	fclose(f);
	pt_view_init(&v);
	PT_CHECK_EQ(pt_allocinfo_load(&v, err, sizeof(err)), 0);
	PT_CHECK_STR(v.kernel_modules, "m\nother\n");
	PT_CHECK(v.taken_ns > 0);
	PT_CHECK_EQ(v.nrows, 1);
	pt_view_free(&v);
	snprintf(path, sizeof(path), "%s/sys", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/sys/vm", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/sys/vm/mem_profiling", dir);
	f = fopen(path, "w");
	fputs("0\n", f);
	fclose(f);
	pt_view_init(&v);
	PT_CHECK_EQ(pt_allocinfo_load(&v, err, sizeof(err)), -1);
	PT_CHECK_HAS(err, "switched off");
	PT_CHECK_HAS(err, "sysctl vm.mem_profiling=1");
	PT_CHECK_EQ(v.nrows, 0);
	pt_view_free(&v);
	unsetenv("POOLTAG_PROC");
	PT_CHECK_STR(pt_allocinfo_procdir(), "/proc");
	/* Clean up the directory. */
	unlink(path);
	snprintf(path, sizeof(path), "%s/sys/vm", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/sys", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/modules", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/allocinfo", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	PT_RUN(test_version_1_0);
	PT_RUN(test_version_2_0_pairs);
	PT_RUN(test_negative_counts);
	PT_RUN(test_ids_stable);
	PT_RUN(test_ids_unique);
	PT_RUN(test_refused);
	PT_RUN(test_tabs_crlf_blank);
	PT_RUN(test_sniff);
	PT_RUN(test_snapshot_round_trip);
	PT_RUN(test_labels_patterns);
	PT_RUN(test_load_procdir);
	return pt_test_done();
}
