/*
 * test_snapshot.c - snapshot files: exact round trips, every rejected input
 * with its message, truncation at every byte, atomic replacement.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pooltag.h"
#include "pt_test.h"
#include "snapshot.h"

#define HDR "pooltag-snapshot 1\npid 1234\nuid 1000\ncommand demo\ntaken 1764107400123456789\n"
#define SITE                                                                                       \
	"site\tProc\tpaged\t12980\t1\t8618056000\t1324\t57\tprocpath.c\tget_process_image_path\n"

static char tmpdir[64];
static char errbuf[1024];

/* A path inside the test's temporary directory (one static buffer per slot). */
static const char *tpath(int slot, const char *name)
{
	static char buf[4][256];

	snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", tmpdir, name);
	return buf[slot];
}

/* Parses text[0..len) from an exactly sized heap copy, so ASan catches any
 * read past the end; returns the error message, or "(parsed)". */
static const char *parse_err_n(const char *text, size_t len)
{
	struct pt_view v;
	char *copy = malloc(len ? len : 1);

	memcpy(copy, text, len);
	pt_view_init(&v);
	errbuf[0] = '\0';
	if (pt_snap_parse(&v, copy, len, "t.snap", errbuf, sizeof(errbuf)) == 0)
		strcpy(errbuf, "(parsed)");
	else if (strchr(errbuf, '\n') || !errbuf[0])
		strcpy(errbuf, "(message is not one line)");
	pt_view_free(&v);
	free(copy);
	return errbuf;
}

#define EXPECT_ERR(text, msg) PT_CHECK_HAS(parse_err_n(text, sizeof(text) - 1), msg)
#define TEXT_HAS(t, n, lit)   (memmem(t, n, lit, sizeof(lit) - 1) != NULL)
#define EXPECT_OK(text)       PT_CHECK_STR(parse_err_n(text, sizeof(text) - 1), "(parsed)")

/* Files in tmpdir whose name starts with prefix. */
static int count_files(const char *prefix)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += !strncmp(e->d_name, prefix, strlen(prefix));
	if (d)
		closedir(d);
	return n;
}

static const char nasty_file[] = "dir\tx/a%b\n.c\r \x01\x7f\xff%25%%";
static const char nasty_desc[] = "\xff\x01%\t\nend\t0\t0\n";

/* A view exercising every field, odd bytes in every string and the
 * extremes of every number. */
static void make_view(struct pt_view *v, int32_t pid, size_t nextra)
{
	struct pt_row r = {0};
	size_t i;

	pt_view_init(v);
	v->pid = pid;
	v->uid = UINT32_MAX;
	strcpy(v->comm, "my prog\t%\x01\xff\n");
	v->taken_ns = INT64_MAX;
	v->created_ns = 1764107300000000000;
	v->start_ticks = UINT64_MAX;
	v->nmisuse = 3;
	PT_CHECK_EQ(pt_view_add_desc(v, PT_TAG("Proc"), "nt!ps", "Process objects"), 0);
	PT_CHECK_EQ(pt_view_add_desc(v, 0x00ff2509u, NULL, nasty_desc), 0);
	PT_CHECK_EQ(pt_view_add_desc(v, PT_TAG("Ab"), "", ""), 0);
	r.tag = PT_TAG("Proc");
	r.pool = PT_PAGED;
	r.line = 57;
	r.file = "procpath.c";
	r.func = "get_process_image_path";
	r.nallocs = 12980;
	r.nfrees = 1;
	r.bytes_alloc = 8618056000;
	r.bytes_freed = 1324;
	PT_CHECK_EQ(pt_view_add_row(v, &r), 0);
	r.tag = 0x00ff2509u;
	r.pool = PT_NONPAGED;
	r.line = UINT32_MAX;
	r.file = nasty_file;
	r.func = "";
	r.nallocs = r.nfrees = r.bytes_alloc = r.bytes_freed = UINT64_MAX;
	PT_CHECK_EQ(pt_view_add_row(v, &r), 0);
	r.file = NULL;
	r.func = NULL;
	r.nallocs = r.nfrees = r.bytes_alloc = r.bytes_freed = 0;
	r.line = 0;
	PT_CHECK_EQ(pt_view_add_row(v, &r), 0);
	for (i = 0; i < nextra; i++) {
		r.line = (uint32_t)i;
		r.nallocs = i;
		PT_CHECK_EQ(pt_view_add_row(v, &r), 0);
	}
}

static void check_same(const struct pt_view *a, const struct pt_view *b)
{
	size_t i;

	PT_CHECK_EQ(a->pid, b->pid);
	PT_CHECK_EQ(a->uid, b->uid);
	PT_CHECK_STR(a->comm, b->comm);
	PT_CHECK(a->taken_ns == b->taken_ns && a->created_ns == b->created_ns);
	PT_CHECK(a->start_ticks == b->start_ticks && a->nmisuse == b->nmisuse);
	PT_CHECK_EQ(a->nrows, b->nrows);
	PT_CHECK_EQ(a->ndescs, b->ndescs);
	for (i = 0; i < a->nrows && i < b->nrows; i++) {
		const struct pt_row *x = &a->rows[i], *y = &b->rows[i];

		PT_CHECK(x->tag == y->tag && x->pool == y->pool && x->line == y->line);
		PT_CHECK(x->nallocs == y->nallocs && x->nfrees == y->nfrees);
		PT_CHECK(x->bytes_alloc == y->bytes_alloc && x->bytes_freed == y->bytes_freed);
		PT_CHECK_STR(x->file, y->file);
		PT_CHECK_STR(x->func, y->func);
	}
	for (i = 0; i < a->ndescs && i < b->ndescs; i++) {
		PT_CHECK(a->descs[i].tag == b->descs[i].tag);
		PT_CHECK_STR(a->descs[i].binary, b->descs[i].binary);
		PT_CHECK_STR(a->descs[i].desc, b->descs[i].desc);
	}
}

/* The whole file into a malloc'd buffer. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(1 << 20);

	*len = f ? fread(buf, 1, 1 << 20, f) : 0;
	if (f)
		fclose(f);
	return buf;
}

PT_TEST(test_example_from_docs)
{
	static const char text[] = "pooltag-snapshot 1\npid 1234\nuid 1000\ncommand demo\n"
	                           "taken 1764107400123456789\ncreated 1764107300000000000\n"
	                           "start_ticks 123456\nmisuse 0\n"
	                           "desc\tProc\tdemohost\tProcess objects\n" SITE "end\t1\t1\n";
	struct pt_view v;

	pt_view_init(&v);
	PT_CHECK_EQ(pt_snap_parse(&v, text, sizeof(text) - 1, "t", errbuf, sizeof(errbuf)), 0);
	PT_CHECK_EQ(v.pid, 1234);
	PT_CHECK_EQ(v.uid, 1000);
	PT_CHECK_STR(v.comm, "demo");
	PT_CHECK(v.taken_ns == 1764107400123456789 && v.created_ns == 1764107300000000000);
	PT_CHECK_EQ(v.start_ticks, 123456);
	PT_CHECK_EQ(v.nrows, 1);
	PT_CHECK_EQ(v.ndescs, 1);
	if (v.nrows == 1 && v.ndescs == 1) {
		PT_CHECK_EQ(v.rows[0].tag, PT_TAG("Proc"));
		PT_CHECK_EQ(v.rows[0].pool, PT_PAGED);
		PT_CHECK_EQ(v.rows[0].nallocs, 12980);
		PT_CHECK_EQ(v.rows[0].bytes_alloc, 8618056000);
		PT_CHECK_EQ(v.rows[0].line, 57);
		PT_CHECK_STR(v.rows[0].file, "procpath.c");
		PT_CHECK_STR(v.rows[0].func, "get_process_image_path");
		PT_CHECK_STR(v.descs[0].binary, "demohost");
		PT_CHECK_STR(v.descs[0].desc, "Process objects");
	}
	pt_view_free(&v);
	/* Optional keys, header keys in any order, interleaved data lines,
	 * an end line without its newline, escapes in either case. */
	EXPECT_OK("pooltag-snapshot 1\ntaken 0\ncommand \nuid 0\npid 1\nend\t0\t0");
	EXPECT_OK(HDR "site\tPr%6fc\tnonpaged\t0\t0\t0\t0\t0\t\t\ndesc\tProc\t\t\n" SITE
	              "end\t2\t1\n");
}

PT_TEST(test_round_trip)
{
	struct pt_view a, b;
	const char *path = tpath(0, "rt.snap");
	struct stat st;
	size_t len, nl = 0, i;
	char *text;

	make_view(&a, INT32_MAX, 0);
	PT_CHECK_EQ(pt_snap_write(&a, path, errbuf, sizeof(errbuf)), 0);
	pt_view_init(&b);
	PT_CHECK_EQ(pt_snap_read(&b, path, errbuf, sizeof(errbuf)), 0);
	check_same(&a, &b);
	PT_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

	/* One line per record, odd bytes escaped, nothing else. */
	text = slurp(path, &len);
	for (i = 0; i < len; i++)
		nl += text[i] == '\n';
	PT_CHECK_EQ(nl, 8 + a.ndescs + a.nrows + 1);
	PT_CHECK(pt_snap_sniff(text, len));
	PT_CHECK(TEXT_HAS(text, len, "command my prog%09%25%01\xff%0A\n"));
	PT_CHECK(TEXT_HAS(text, len, "site\t%09%25\xff%00\tnonpaged\t"));
	PT_CHECK(TEXT_HAS(text, len,
			  "\t4294967295\tdir%09x/a%25b%0A.c%0D %01%7F\xff%2525%25%25\t\t\n"));
	PT_CHECK(len > 8 && !memcmp(text + len - 8, "end\t3\t3\n", 8));
	free(text);
	pt_view_free(&b);

	/* Writing what was read gives the same bytes: the form is canonical. */
	pt_view_init(&b);
	PT_CHECK_EQ(pt_snap_read(&b, path, errbuf, sizeof(errbuf)), 0);
	PT_CHECK_EQ(pt_snap_write(&b, tpath(1, "rt2.snap"), errbuf, sizeof(errbuf)), 0);
	{
		size_t l1, l2;
		char *t1 = slurp(path, &l1), *t2 = slurp(tpath(1, "rt2.snap"), &l2);

		PT_CHECK(l1 == l2 && !memcmp(t1, t2, l1));
		free(t1);
		free(t2);
	}
	pt_view_free(&a);
	pt_view_free(&b);
	unlink(path);
	unlink(tpath(1, "rt2.snap"));
}

PT_TEST(test_header_errors)
{
	EXPECT_ERR("hello\n", "t.snap:1: not a pooltag snapshot");
	EXPECT_ERR("", "t.snap:1: not a pooltag snapshot (empty file)");
	EXPECT_ERR("pooltag-snapshot\n", "t.snap:1: not a pooltag snapshot");
	EXPECT_ERR("pooltag-snapshot 3\npid 1\n", "t.snap:1: snapshot version 3, this pooltag "
	                                          "reads versions 1 to 2");
	EXPECT_ERR("pooltag-snapshot x\n", "t.snap:1: bad snapshot version 'x'");
	EXPECT_ERR("pooltag-snapshot 01\n", "t.snap:1: bad snapshot version '01'");
	EXPECT_ERR(HDR "bogus 1\nend\t0\t0\n", "t.snap:6: unknown line type 'bogus'");
	EXPECT_ERR(HDR "\nend\t0\t0\n", "t.snap:6: empty line");
	EXPECT_ERR(HDR "pid 5\nend\t0\t0\n", "t.snap:6: duplicated key 'pid'");
	EXPECT_ERR(HDR "misuse 1\nmisuse 1\nend\t0\t0\n", "t.snap:7: duplicated key 'misuse'");
	EXPECT_ERR(HDR "misuse\nend\t0\t0\n",
	           "t.snap:6: wrong field count: expected 'misuse VALUE'");
	EXPECT_ERR(HDR "misuse\t1\nend\t0\t0\n", "t.snap:6: wrong field count");
	EXPECT_ERR("pooltag-snapshot 1\npid 1\nuid 1\ncommand x\nend\t0\t0\n",
	           "t.snap:5: missing required key 'taken'");
	EXPECT_ERR("pooltag-snapshot 1\nuid 1\ncommand x\ntaken 1\nsite\t\n",
	           "t.snap:5: missing required key 'pid'");
	EXPECT_ERR("pooltag-snapshot 1\npid 1\ncommand x\ntaken 1\ndesc\tProc\t\t\nend\t0\t1\n",
	           "t.snap:5: missing required key 'uid'");
	EXPECT_ERR("pooltag-snapshot 1\npid 1\nuid 1\ntaken 1\nend\t0\t0\n",
	           "t.snap:5: missing required key 'command'");
	EXPECT_ERR(HDR "desc\tProc\t\t\nmisuse 1\nend\t0\t1\n",
	           "t.snap:7: header key 'misuse' after the desc/site lines");
	EXPECT_ERR("pooltag-snapshot 1\ncommand "
	           "0123456789012345678901234567890123456789012345678901234567890123\n",
	           "t.snap:2: command longer than 63 bytes");
	EXPECT_OK("pooltag-snapshot 1\npid 1\nuid 1\ntaken 1\ncommand "
	          "012345678901234567890123456789012345678901234567890123456789012\nend\t0\t0\n");
	EXPECT_ERR("pooltag-snapshot 1\r\n", "t.snap:1: carriage return at end of line");
	EXPECT_ERR(HDR "end\t0\t0\r\n", "t.snap:6: carriage return at end of line");
}

PT_TEST(test_number_errors)
{
	EXPECT_ERR("pooltag-snapshot 1\npid 12a\n", "t.snap:2: bad number for pid: '12a'");
	EXPECT_ERR("pooltag-snapshot 1\npid +1\n", "t.snap:2: bad number for pid: '+1'");
	EXPECT_ERR("pooltag-snapshot 1\npid -1\n", "t.snap:2: bad number for pid: '-1'");
	EXPECT_ERR("pooltag-snapshot 1\npid 01\n", "t.snap:2: bad number for pid: '01'");
	EXPECT_ERR("pooltag-snapshot 1\npid \n", "t.snap:2: bad number for pid: ''");
	EXPECT_ERR("pooltag-snapshot 1\npid 1 \n", "t.snap:2: bad number for pid: '1 '");
	EXPECT_ERR("pooltag-snapshot 1\npid 0\n",
	           "t.snap:2: bad number for pid: '0' is out of range");
	EXPECT_ERR("pooltag-snapshot 1\npid 2147483648\n",
	           "t.snap:2: bad number for pid: '2147483648' is out of range");
	EXPECT_ERR("pooltag-snapshot 1\nuid 4294967296\n", "t.snap:2: bad number for uid");
	EXPECT_ERR("pooltag-snapshot 1\ntaken 9223372036854775808\n",
	           "t.snap:2: bad number for taken");
	EXPECT_ERR("pooltag-snapshot 1\nmisuse 18446744073709551616\n",
	           "t.snap:2: bad number for misuse: '18446744073709551616' is out of range");
	EXPECT_OK("pooltag-snapshot 1\npid 2147483647\nuid 4294967295\ncommand x\n"
	          "taken 9223372036854775807\nmisuse 18446744073709551615\nend\t0\t0\n");
	EXPECT_ERR(HDR "site\tProc\tpaged\tx\t0\t0\t0\t0\t\t\n",
	           "t.snap:6: bad number for nallocs: 'x'");
	EXPECT_ERR(HDR "site\tProc\tpaged\t0\t0\t0\t0\t4294967296\t\t\n",
	           "t.snap:6: bad number for line");
	EXPECT_ERR(HDR "end\t0\t00\n", "t.snap:6: bad number for end desc count: '00'");
}

PT_TEST(test_data_errors)
{
	EXPECT_ERR(HDR "site\tProc\tPaged\t0\t0\t0\t0\t0\t\t\n", "t.snap:6: unknown pool 'Paged'");
	EXPECT_ERR(HDR "site\tProc\t\t0\t0\t0\t0\t0\t\t\n", "t.snap:6: unknown pool ''");
	EXPECT_ERR(HDR "site\tProc\tpaged\t1\t2\t0\t0\t0\t\t\n",
	           "t.snap:6: inconsistent counters: nfrees 2 > nallocs 1");
	EXPECT_ERR(HDR "site\tProc\tpaged\t2\t2\t5\t6\t0\t\t\n",
	           "t.snap:6: inconsistent counters: bytes_freed 6 > bytes_alloc 5");
	EXPECT_ERR(HDR "site\tPro\tpaged\t0\t0\t0\t0\t0\t\t\n",
	           "t.snap:6: tag 'Pro' is not 4 bytes");
	EXPECT_ERR(HDR "desc\tProcs\t\t\n", "t.snap:6: tag 'Procs' is not 4 bytes");
	EXPECT_ERR(HDR "desc\t%50%72%6F\t\t\n", "t.snap:6: tag '%2550%2572%256F' is not 4 bytes");
	EXPECT_ERR(HDR "site\tProc\tpaged\t0\t0\t0\t0\t0\t\n",
	           "t.snap:6: wrong field count for site: 9 (expected 10)");
	EXPECT_ERR(HDR "site\tProc\tpaged\t0\t0\t0\t0\t0\t\t\t\n",
	           "t.snap:6: wrong field count for site: 11 (expected 10)");
	EXPECT_ERR(HDR "desc\tProc\t\n", "t.snap:6: wrong field count for desc: 3 (expected 4)");
	EXPECT_ERR(HDR "end\t0\n", "t.snap:6: wrong field count for end: 2 (expected 3)");
	EXPECT_ERR(HDR "end\n", "t.snap:6: wrong field count for end: 1 (expected 3)");
	EXPECT_ERR(HDR "site Proc\tpaged\t0\t0\t0\t0\t0\t\t\n",
	           "t.snap:6: fields of site lines must be separated by TABs");
	EXPECT_ERR(HDR "end\t1\t0\n", "t.snap:6: end line counts 1 sites and 0 descs, the file has "
	                              "0 and 0");
	EXPECT_ERR(HDR SITE "end\t1\t1\n", "t.snap:7: end line counts 1 sites and 1 descs");
	EXPECT_ERR(HDR "end\t0\t0\n\n", "t.snap:7: data after the end line");
	EXPECT_ERR(HDR "end\t0\t0\n" SITE, "t.snap:7: data after the end line");
	EXPECT_ERR(HDR "end\t0\t0\nend\t0\t0\n", "t.snap:7: data after the end line");
	EXPECT_ERR(HDR SITE, "t.snap:7: truncated (no end line)");
	EXPECT_ERR(HDR, "t.snap:6: truncated (no end line)");
	EXPECT_ERR(HDR "site\tProc", "t.snap:6: truncated (no end line)");
}

PT_TEST(test_escape_errors)
{
	EXPECT_ERR(HDR "site\tProc\tpaged\t0\t0\t0\t0\t0\t%G0\t\n",
	           "t.snap:6: bad escape in file: '%25G0'");
	EXPECT_ERR(HDR "site\tProc\tpaged\t0\t0\t0\t0\t0\ta%2\t\n",
	           "t.snap:6: bad escape in file: '%252'");
	EXPECT_ERR(HDR "site\tProc\tpaged\t0\t0\t0\t0\t0\tx\t%\n",
	           "t.snap:6: bad escape in func: '%25'");
	EXPECT_ERR(HDR "site\tProc\tpaged\t0\t0\t0\t0\t0\tx\t%00\n",
	           "t.snap:6: bad escape in func: %00 (a NUL) in a string");
	EXPECT_ERR(HDR "desc\tProc\t\x01\t\n", "t.snap:6: unescaped control byte 0x01 in binary");
	EXPECT_ERR(HDR "desc\tProc\t\t\x7f\n",
	           "t.snap:6: unescaped control byte 0x7F in description");
	EXPECT_ERR("pooltag-snapshot 1\ncommand a\rb\n",
	           "t.snap:2: unescaped control byte 0x0D in command");
	EXPECT_ERR("pooltag-snapshot 1\ncommand %0\n", "t.snap:2: bad escape in command");
	EXPECT_ERR(HDR "desc\t%00%00%0\t\t\n", "t.snap:6: bad escape in tag");
	EXPECT_ERR(HDR "desc\tPr\x01"
	               "c\t\t\n",
	           "t.snap:6: unescaped control byte 0x01 in tag");
	EXPECT_ERR(HDR "desc\tPr\0c\t\t\nend\t0\t1\n", "t.snap:6: NUL byte");
	EXPECT_ERR("pooltag-snapshot 1\0\n", "t.snap:1: NUL byte");
	EXPECT_OK(HDR "desc\t%00%00%00%00\t%0a%7f%ff\t%25\nend\t0\t1\n");
}

PT_TEST(test_limits)
{
	size_t max = (size_t)1 << 20, hl = sizeof(HDR) - 1, pre = 8;
	size_t len = hl + max + 1 + 8;
	char *buf = malloc(len + 1);
	void *big;

	/* A desc line of exactly 1 MiB is fine, one byte more is not. */
	memcpy(buf, HDR, hl);
	memcpy(buf + hl, "desc\tAb  \t\t", pre + 3);
	memset(buf + hl + pre + 3, 'x', max - pre - 3);
	memcpy(buf + hl + max, "\nend\t0\t1\n", 9);
	PT_CHECK_STR(parse_err_n(buf, hl + max + 9), "(parsed)");
	memset(buf + hl + pre + 3, 'x', max - pre - 2);
	memcpy(buf + hl + max + 1, "\nend\t0\t1\n", 9);
	PT_CHECK_STR(parse_err_n(buf, hl + max + 10), "t.snap:6: line longer than 1 MiB");
	free(buf);

	/* Anonymous zero pages: the size check must come before any read. */
	big = mmap(NULL, (256 << 20) + 1, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
	           -1, 0);
	PT_CHECK(big != MAP_FAILED);
	if (big != MAP_FAILED) {
		struct pt_view v;

		pt_view_init(&v);
		PT_CHECK_EQ(pt_snap_parse(&v, big, (256 << 20) + 1, "big", errbuf, sizeof(errbuf)),
		            -1);
		PT_CHECK_STR(errbuf, "big:1: snapshot larger than 256 MiB");
		pt_view_free(&v);
		munmap(big, (256 << 20) + 1);
	}
}

/* Every proper prefix of a valid snapshot is an error, except the one that
 * only lacks the final newline. */
PT_TEST(test_truncation)
{
	struct pt_view a;
	const char *path = tpath(0, "trunc.snap");
	size_t len, k;
	char *text;
	int bad = 0;

	make_view(&a, 42, 2);
	PT_CHECK_EQ(pt_snap_write(&a, path, errbuf, sizeof(errbuf)), 0);
	text = slurp(path, &len);
	PT_CHECK(len > 100);
	for (k = 0; k + 1 < len; k++) {
		const char *e = parse_err_n(text, k);

		if (!strcmp(e, "(parsed)") || strncmp(e, "t.snap:", 7)) {
			if (bad++ < 5)
				PT_CHECK_STR(e, "an error for a prefix");
		}
	}
	PT_CHECK_EQ(bad, 0);
	PT_CHECK_STR(parse_err_n(text, len - 1), "(parsed)");
	PT_CHECK_STR(parse_err_n(text, len), "(parsed)");
	PT_CHECK_HAS(parse_err_n(text, len - 10), "truncated (no end line)");
	free(text);
	pt_view_free(&a);
	unlink(path);
}

PT_TEST(test_write_replaces_atomically)
{
	struct pt_view a, b, c;
	const char *path = tpath(0, "atomic.snap");
	pid_t child;
	int i, status = -1;

	make_view(&a, 1, 500);
	make_view(&b, 2, 700);
	PT_CHECK_EQ(pt_snap_write(&a, path, errbuf, sizeof(errbuf)), 0);

	/* A reader racing the writer sees the old file or the new one. */
	child = fork();
	if (child == 0) {
		int fails = 0;

		while (access(tpath(1, "stop"), F_OK) != 0 && fails < 10) {
			pt_view_init(&c);
			if (pt_snap_read(&c, path, errbuf, sizeof(errbuf)) < 0 ||
			    !((c.pid == 1 && c.nrows == 503) || (c.pid == 2 && c.nrows == 703))) {
				printf("# reader: %s\n", errbuf);
				fflush(stdout);
				fails++;
			}
			pt_view_free(&c);
		}
		pt_view_free(&a);
		pt_view_free(&b);
		_exit(fails ? 1 : 0);
	}
	for (i = 0; i < 40; i++)
		PT_CHECK_EQ(pt_snap_write(i % 2 ? &a : &b, path, errbuf, sizeof(errbuf)), 0);
	close(open(tpath(1, "stop"), O_CREAT | O_WRONLY, 0600));
	PT_CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	         WEXITSTATUS(status) == 0);
	unlink(tpath(1, "stop"));

	pt_view_init(&c);
	PT_CHECK_EQ(pt_snap_read(&c, path, errbuf, sizeof(errbuf)), 0);
	check_same(&a, &c);
	pt_view_free(&c);
	PT_CHECK_EQ(count_files(".pooltag-snap."), 0);
	pt_view_free(&a);
	pt_view_free(&b);
	unlink(path);
}

PT_TEST(test_write_failures)
{
	struct pt_view a, b, c;
	const char *path = tpath(0, "keep.snap");
	char msg[512];
	struct rlimit old, lim;

	make_view(&a, 1, 0);
	make_view(&b, 2, 2000);
	PT_CHECK_EQ(pt_snap_write(&a, path, errbuf, sizeof(errbuf)), 0);

	/* No such directory. */
	snprintf(msg, sizeof(msg), "cannot write snapshot %s: %s", tpath(1, "nodir/x.snap"),
	         strerror(ENOENT));
	PT_CHECK_EQ(pt_snap_write(&a, tpath(1, "nodir/x.snap"), errbuf, sizeof(errbuf)), -1);
	PT_CHECK_STR(errbuf, msg);

	/* The rename fails (the target is a directory): the temp file goes. */
	PT_CHECK_EQ(mkdir(tpath(1, "adir"), 0700), 0);
	close(open(tpath(2, "adir/f"), O_CREAT | O_WRONLY, 0600));
	PT_CHECK_EQ(pt_snap_write(&a, tpath(1, "adir"), errbuf, sizeof(errbuf)), -1);
	PT_CHECK_HAS(errbuf, "cannot write snapshot ");
	PT_CHECK_HAS(errbuf, "/adir: ");
	PT_CHECK_EQ(count_files(".pooltag-snap."), 0);
	unlink(tpath(2, "adir/f"));
	rmdir(tpath(1, "adir"));

	/* A write fails halfway (file size limit): the old file stays whole. */
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 4096;
	PT_CHECK_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
	PT_CHECK_EQ(pt_snap_write(&b, path, errbuf, sizeof(errbuf)), -1);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	snprintf(msg, sizeof(msg), "cannot write snapshot %s: %s", path, strerror(EFBIG));
	PT_CHECK_STR(errbuf, msg);
	PT_CHECK_EQ(count_files(".pooltag-snap."), 0);
	pt_view_init(&c);
	PT_CHECK_EQ(pt_snap_read(&c, path, errbuf, sizeof(errbuf)), 0);
	check_same(&a, &c);
	pt_view_free(&c);

	/* A view that cannot read back identically is refused up front. */
	a.rows[0].pool = 7;
	PT_CHECK_EQ(pt_snap_write(&a, path, errbuf, sizeof(errbuf)), -1);
	PT_CHECK_HAS(errbuf, "invalid view: a row has an unknown pool");
	a.rows[0].pool = 0;
	a.rows[0].nfrees = a.rows[0].nallocs + 1;
	PT_CHECK_EQ(pt_snap_write(&a, path, errbuf, sizeof(errbuf)), -1);
	PT_CHECK_HAS(errbuf, "invalid view: a row has inconsistent counters");
	a.rows[0].nfrees = 0;
	a.pid = 0;
	PT_CHECK_EQ(pt_snap_write(&a, path, errbuf, sizeof(errbuf)), -1);
	PT_CHECK_HAS(errbuf, "invalid view: pid is not positive");
	PT_CHECK_EQ(count_files(".pooltag-snap."), 0);

	pt_view_free(&a);
	pt_view_free(&b);
	unlink(path);
}

PT_TEST(test_read_failures)
{
	struct pt_view v;
	char msg[512];
	int fd;

	pt_view_init(&v);
	snprintf(msg, sizeof(msg), "cannot read snapshot %s: %s", tpath(0, "none"),
	         strerror(ENOENT));
	PT_CHECK_EQ(pt_snap_read(&v, tpath(0, "none"), errbuf, sizeof(errbuf)), -1);
	PT_CHECK_STR(errbuf, msg);

	snprintf(msg, sizeof(msg), "cannot read snapshot %s: %s", tmpdir, strerror(EISDIR));
	PT_CHECK_EQ(pt_snap_read(&v, tmpdir, errbuf, sizeof(errbuf)), -1);
	PT_CHECK_STR(errbuf, msg);

	/* A FIFO with no writer: refused at once, not waited on. */
	PT_CHECK_EQ(mkfifo(tpath(0, "fifo"), 0600), 0);
	PT_CHECK_EQ(pt_snap_read(&v, tpath(0, "fifo"), errbuf, sizeof(errbuf)), -1);
	PT_CHECK_HAS(errbuf, "/fifo: not a regular file");
	unlink(tpath(0, "fifo"));

	/* A sparse file over the limit: refused by its size. */
	fd = open(tpath(0, "huge"), O_CREAT | O_WRONLY | O_TRUNC, 0600);
	PT_CHECK(fd >= 0 && ftruncate(fd, (256 << 20) + 1) == 0);
	close(fd);
	PT_CHECK_EQ(pt_snap_read(&v, tpath(0, "huge"), errbuf, sizeof(errbuf)), -1);
	PT_CHECK_HAS(errbuf, "/huge: larger than 256 MiB");
	unlink(tpath(0, "huge"));

	/* A parse error names the file and the line. */
	fd = open(tpath(0, "junk"), O_CREAT | O_WRONLY | O_TRUNC, 0600);
	PT_CHECK(fd >= 0 && write(fd, HDR "oops\n", sizeof(HDR) + 4) == (ssize_t)sizeof(HDR) + 4);
	close(fd);
	snprintf(msg, sizeof(msg), "%s:6: unknown line type 'oops'", tpath(0, "junk"));
	PT_CHECK_EQ(pt_snap_read(&v, tpath(0, "junk"), errbuf, sizeof(errbuf)), -1);
	PT_CHECK_STR(errbuf, msg);
	pt_view_free(&v);

	/* Symlinks to snapshots are fine. */
	fd = open(tpath(0, "ok"), O_CREAT | O_WRONLY | O_TRUNC, 0600);
	PT_CHECK(fd >= 0 &&
	         write(fd, HDR "end\t0\t0\n", sizeof(HDR) + 7) == (ssize_t)sizeof(HDR) + 7);
	close(fd);
	PT_CHECK_EQ(symlink("ok", tpath(1, "link")), 0);
	pt_view_init(&v);
	PT_CHECK_EQ(pt_snap_read(&v, tpath(1, "link"), errbuf, sizeof(errbuf)), 0);
	PT_CHECK_EQ(v.pid, 1234);
	pt_view_free(&v);
	unlink(tpath(0, "junk"));
	unlink(tpath(0, "ok"));
	unlink(tpath(1, "link"));
}

PT_TEST(test_sniff)
{
	PT_CHECK_EQ(pt_snap_sniff("pooltag-snapshot 1\n", 19), 1);
	PT_CHECK_EQ(pt_snap_sniff("pooltag-snapshot 7", 18), 1);
	PT_CHECK_EQ(pt_snap_sniff("pooltag-snapshot ", 17), 1);
	PT_CHECK_EQ(pt_snap_sniff("pooltag-snapshot 1\n", 16), 0);
	PT_CHECK_EQ(pt_snap_sniff("pooltag-snapshot", 16), 0);
	PT_CHECK_EQ(pt_snap_sniff("1234", 4), 0);
	PT_CHECK_EQ(pt_snap_sniff("", 0), 0);
	PT_CHECK_EQ(pt_snap_sniff("Pooltag-snapshot 1\n", 19), 0);
}

/* Many lines parse in one pass; the counts and the last row come through. */
PT_TEST(test_many_lines)
{
	struct pt_view a, b;
	const char *path = tpath(0, "many.snap");

	make_view(&a, 7, 100000);
	PT_CHECK_EQ(pt_snap_write(&a, path, errbuf, sizeof(errbuf)), 0);
	pt_view_init(&b);
	PT_CHECK_EQ(pt_snap_read(&b, path, errbuf, sizeof(errbuf)), 0);
	check_same(&a, &b);
	pt_view_free(&a);
	pt_view_free(&b);
	unlink(path);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pt_snapshot.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	PT_RUN(test_example_from_docs);
	PT_RUN(test_round_trip);
	PT_RUN(test_header_errors);
	PT_RUN(test_number_errors);
	PT_RUN(test_data_errors);
	PT_RUN(test_escape_errors);
	PT_RUN(test_limits);
	PT_RUN(test_truncation);
	PT_RUN(test_write_replaces_atomically);
	PT_RUN(test_write_failures);
	PT_RUN(test_read_failures);
	PT_RUN(test_sniff);
	PT_RUN(test_many_lines);
	if (rmdir(tmpdir) != 0)
		printf("# %s left behind: %s\n", tmpdir, strerror(errno));
	return pt_test_done();
}
