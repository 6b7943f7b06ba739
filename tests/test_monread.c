/*
 * test_monread.c - the monitor's reads (cli/mon/monread.c), without a
 * terminal: a child of the test that exports a segment read twice, the
 * table then showing what changed; a process that exits (a zombie, then
 * reaped), one killed (its segment left stale), and a pid that names
 * another process now, each ending the monitor while its last table stays;
 * a first read of a process that exports nothing, or of no process; the
 * kernel read from a directory standing for /proc, a read that fails
 * keeping the last table; the description column, on views built in the
 * test too (untrusted strings, tags in any byte order, small buffers);
 * every allocation of a kernel read failed in turn.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pooltag.h>

#include "mon.h"
#include "procinfo.h"
#include "pt_oom.h"
#include "pt_test.h"
#include "segread.h"

static char dir[] = "/tmp/pt-test-monread.XXXXXX";  /* POOLTAG_DIR */
static char proc[] = "/tmp/pt-test-monproc.XXXXXX"; /* POOLTAG_PROC */

static uint32_t tag_of(const char *t)
{
	return (uint32_t)(unsigned char)t[0] | (uint32_t)(unsigned char)t[1] << 8 |
	       (uint32_t)(unsigned char)t[2] << 16 | (uint32_t)(unsigned char)t[3] << 24;
}

static void mon_init(struct pt_mon *m, pid_t pid, int kernel)
{
	memset(m, 0, sizeof(*m));
	m->pid = pid;
	m->kernel = kernel;
	pt_view_init(&m->prev);
	pt_view_init(&m->cur);
}

static void mon_free(struct pt_mon *m)
{
	pt_montab_free(&m->tab);
	pt_tally_free(m->tally, m->ntally);
	pt_view_free(&m->prev);
	pt_view_free(&m->cur);
}

static const struct pt_mon_row *row(const struct pt_mon *m, const char *tag, uint32_t pool)
{
	long i = pt_montab_find(&m->tab, tag_of(tag), pool);

	return i < 0 ? NULL : &m->tab.rows[i];
}

/* ---------------------------------------------------------------------------
 * A child that exports: it describes MonA, allocates three blocks of it,
 * then answers each command with 'r' once done: 'a' two blocks more, 'x'
 * exit (its segment removed), anything else nothing.
 */

struct child {
	pid_t pid;
	int to, from;
};

static void child_main(int in, int out)
{
	void *p[16];
	int n = 0;
	char c;

	pt_tag_describe("MonA", "blocks\tof a\x1b test", "monbin");
	while (n < 3)
		p[n++] = pt_alloc(PT_PAGED, 100, "MonA");
	for (;;) {
		if (write(out, "r", 1) != 1 || read(in, &c, 1) != 1)
			_exit(1);
		if (c == 'a' && n + 2 <= 16) {
			p[n++] = pt_alloc(PT_PAGED, 100, "MonA");
			p[n++] = pt_alloc(PT_PAGED, 100, "MonA");
		} else if (c == 'x') {
			while (n > 0)
				pt_free(p[--n], "MonA");
			exit(0);
		}
	}
}

/* Waits for the child's 'r'; 0, or -1 if it is gone. */
static int child_ready(const struct child *c)
{
	char r;

	return read(c->from, &r, 1) == 1 && r == 'r' ? 0 : -1;
}

static int child_start(struct child *c)
{
	int down[2], up[2];

	if (pipe(down) != 0 || pipe(up) != 0)
		return -1;
	c->pid = fork();
	if (c->pid == 0) {
		close(down[1]);
		close(up[0]);
		child_main(down[0], up[1]);
	}
	close(down[0]);
	close(up[1]);
	c->to = down[1];
	c->from = up[0];
	return c->pid > 0 ? child_ready(c) : -1;
}

static int child_say(const struct child *c, char what)
{
	return write(c->to, &what, 1) == 1 ? child_ready(c) : -1;
}

/* Waits until the child has exited, leaving it a zombie (not reaped). */
static void child_zombie(const struct child *c)
{
	siginfo_t si;

	PT_CHECK_EQ(waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOWAIT), 0);
}

static void child_reap(struct child *c)
{
	int st;

	PT_CHECK_EQ(waitpid(c->pid, &st, 0), c->pid);
	close(c->to);
	close(c->from);
}

/* Two reads: the table, then what changed; the description column. */
PT_TEST(test_reads_and_changes)
{
	const struct pt_mon_row *r;
	struct child c;
	struct pt_mon m;
	char b[512];

	PT_CHECK_EQ(child_start(&c), 0);
	mon_init(&m, c.pid, 0);
	PT_CHECK_EQ(pt_mon_read(&m), 0);
	PT_CHECK_EQ(m.nreads, 1);
	PT_CHECK(m.start_ticks != 0 && m.start_ticks == pt_proc_start_ticks(c.pid));
	PT_CHECK_EQ(m.cur.pid, c.pid);
	r = row(&m, "MonA", PT_PAGED);
	PT_CHECK(r != NULL);
	if (r) {
		PT_CHECK_EQ(r->now.nallocs, 3);
		PT_CHECK_EQ(r->now.bytes_alloc, 300);
		PT_CHECK_EQ(r->chg.nallocs, 0); /* nothing before the first read */
	}
	PT_CHECK_STR(pt_mon_desc(&m, tag_of("MonA"), b, sizeof(b)),
	             "blocks?of a? test , Binary: monbin");
	PT_CHECK_STR(pt_mon_desc(&m, tag_of("None"), b, sizeof(b)), "");

	PT_CHECK_EQ(child_say(&c, 'a'), 0);
	PT_CHECK_EQ(pt_mon_read(&m), 0);
	PT_CHECK_EQ(m.nreads, 2);
	r = row(&m, "MonA", PT_PAGED);
	PT_CHECK(r != NULL);
	if (r) {
		PT_CHECK_EQ(r->now.nallocs, 5);
		PT_CHECK_EQ(r->chg.nallocs, 2);
		PT_CHECK_EQ(r->chg.bytes, 200);
	}
	PT_CHECK(m.tab.cur == &m.cur);
	PT_CHECK_EQ(m.ntally, 1);

	PT_CHECK_EQ(child_say(&c, 'x'), -1); /* exits without answering */
	child_reap(&c);
	mon_free(&m);
}

/* The process exits: first a zombie whose segment is gone, then reaped;
 * either ends the monitor, and the last table stays. */
PT_TEST(test_exit)
{
	struct child c;
	struct pt_mon m;
	size_t nrows;

	PT_CHECK_EQ(child_start(&c), 0);
	mon_init(&m, c.pid, 0);
	PT_CHECK_EQ(pt_mon_read(&m), 0);
	nrows = m.tab.nrows;
	PT_CHECK(write(c.to, "x", 1) == 1);
	child_zombie(&c);
	PT_CHECK_EQ(pt_mon_read(&m), 1);
	PT_CHECK_EQ(m.nreads, 1);
	PT_CHECK_EQ(m.tab.nrows, nrows);
	PT_CHECK(row(&m, "MonA", PT_PAGED) != NULL);
	child_reap(&c);
	PT_CHECK_EQ(pt_mon_read(&m), 1);
	PT_CHECK_EQ(m.nreads, 1);
	PT_CHECK_EQ(m.tab.nrows, nrows);
	mon_free(&m);
}

/* Killed: the segment stays behind, stale; the monitor ends. */
PT_TEST(test_killed)
{
	char path[256];
	struct child c;
	struct pt_mon m;

	PT_CHECK_EQ(child_start(&c), 0);
	mon_init(&m, c.pid, 0);
	PT_CHECK_EQ(pt_mon_read(&m), 0);
	PT_CHECK_EQ(kill(c.pid, SIGKILL), 0);
	child_zombie(&c);
	PT_CHECK_EQ(pt_mon_read(&m), 1);
	child_reap(&c);
	PT_CHECK_EQ(pt_mon_read(&m), 1);
	PT_CHECK_EQ(m.nreads, 1);
	snprintf(path, sizeof(path), "%s/pooltag-%d", dir, (int)c.pid);
	PT_CHECK_EQ(access(path, F_OK), 0);
	unlink(path);
	mon_free(&m);
}

/* The pid names another process than the one first read (its start time
 * differs): the monitored process has exited. */
PT_TEST(test_pid_reused)
{
	struct child c;
	struct pt_mon m;
	uint64_t ticks;

	PT_CHECK_EQ(child_start(&c), 0);
	mon_init(&m, c.pid, 0);
	PT_CHECK_EQ(pt_mon_read(&m), 0);
	ticks = m.start_ticks;
	m.start_ticks = ticks + 1;
	PT_CHECK_EQ(pt_mon_read(&m), 1);
	PT_CHECK_EQ(m.nreads, 1);
	PT_CHECK(row(&m, "MonA", PT_PAGED) != NULL);
	m.start_ticks = ticks;
	PT_CHECK_EQ(pt_mon_read(&m), 0);
	PT_CHECK_EQ(m.nreads, 2);
	PT_CHECK_EQ(child_say(&c, 'x'), -1);
	child_reap(&c);
	mon_free(&m);
}

/* A first read that fails: -1 with the reason, at once. */
PT_TEST(test_first_read_fails)
{
	struct pt_mon m;
	char want[64];
	pid_t gone;
	int st;

	mon_init(&m, getpid(), 0); /* this program exports nothing */
	PT_CHECK_EQ(pt_mon_read(&m), -1);
	PT_CHECK_HAS(m.err, "does not export pooltag counters");
	PT_CHECK_EQ(m.nreads, 0);
	mon_free(&m);

	gone = fork();
	if (gone == 0)
		_exit(0);
	PT_CHECK_EQ(waitpid(gone, &st, 0), gone);
	mon_init(&m, gone, 0);
	PT_CHECK_EQ(pt_mon_read(&m), -1);
	snprintf(want, sizeof(want), "%d", (int)gone);
	PT_CHECK_HAS(m.err, want);
	PT_CHECK_EQ(m.nreads, 0);
	mon_free(&m);
}

/* ---------------------------------------------------------------------------
 * The kernel
 */

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", proc, name);
	if (!(f = fopen(path, "w")) || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

static void rm(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", proc, name);
	unlink(path);
}

#define AI_HDR "allocinfo - version: 1.0\n#     <size>  <calls> <tag info>\n"

/* The tag (module id) of module in m's current read; 0 if none. */
static uint32_t ktag(const struct pt_mon *m, const char *module)
{
	for (size_t i = 0; i < m->cur.nrows; i++)
		if (strcmp(m->cur.rows[i].module, module) == 0)
			return m->cur.rows[i].tag;
	return 0;
}

static const struct pt_mon_row *krow(const struct pt_mon *m, const char *module)
{
	long i = pt_montab_find(&m->tab, ktag(m, module), PT_NONPAGED);

	return i < 0 ? NULL : &m->tab.rows[i];
}

/* Read, read again after a change, then a read that fails: the last table
 * stays; the module named in full at the head of the description. */
PT_TEST(test_kernel)
{
	const struct pt_mon_row *r;
	struct pt_mon m;
	char b[512];

	put("allocinfo", AI_HDR "4096 2 x.c:1 [foo] func:f1\n 100 1 k.c:1 func:k\n");
	mon_init(&m, 0, 1);
	PT_CHECK_EQ(pt_mon_read(&m), 0);
	PT_CHECK_EQ(m.tab.nrows, 2);
	PT_CHECK_STR(pt_mon_desc(&m, ktag(&m, "foo"), b, sizeof(b)),
	             "[foo]  Allocated in f1 (x.c) , Binary: foo");
	PT_CHECK_HAS(pt_mon_desc(&m, ktag(&m, ""), b, sizeof(b)), "(kernel)  Allocated in k (k.c)");
	put("allocinfo", AI_HDR "8192 3 x.c:1 [foo] func:f1\n 100 1 k.c:1 func:k\n");
	PT_CHECK_EQ(pt_mon_read(&m), 0);
	PT_CHECK_EQ(m.nreads, 2);
	r = krow(&m, "foo");
	PT_CHECK(r && r->now.bytes_alloc == 8192 && r->chg.bytes == 4096 && r->chg.nallocs == 1);
	rm("allocinfo");
	PT_CHECK_EQ(pt_mon_read(&m), -1);
	PT_CHECK_HAS(m.err, "does not exist");
	PT_CHECK_EQ(m.nreads, 2);
	r = krow(&m, "foo");
	PT_CHECK(r && r->now.bytes_alloc == 8192);
	PT_CHECK_HAS(pt_mon_desc(&m, ktag(&m, "foo"), b, sizeof(b)), "[foo]  ");
	mon_free(&m);
}

/* Each allocation of a kernel read failed in turn: -1 with a reason, the
 * last table kept; or, out of memory once the read is taken, the read
 * counted with its table or descriptions empty.  The monitor can still
 * describe and read; the next read is whole. */
PT_TEST(test_kernel_out_of_memory)
{
	const struct pt_mon_row *r;
	unsigned long before;
	struct pt_mon m;
	char b[512];
	long n;
	int rc;

	put("allocinfo", AI_HDR "4096 2 x.c:1 [foo] func:f1\n 100 1 k.c:1 func:k\n");
	mon_init(&m, 0, 1);
	PT_CHECK_EQ(pt_mon_read(&m), 0);
	put("allocinfo", AI_HDR "8192 3 x.c:1 [foo] func:f1\n 100 1 k.c:1 func:k\n");
	for (n = 0;; n++) {
		before = m.nreads;
		m.err[0] = 0;
		oom_arm(n);
		rc = pt_mon_read(&m);
		if (!oom_disarm())
			break;
		if (rc != 0 && m.nreads == before) {
			PT_CHECK_EQ(rc, -1);
			PT_CHECK(m.err[0] != 0);
			PT_CHECK(m.tab.nrows == 2 && m.ntally == 2);
		} else if (rc != 0) {
			PT_CHECK_EQ(rc, -1);
			PT_CHECK_EQ(m.nreads, before + 1);
			PT_CHECK_STR(m.err, "out of memory");
			PT_CHECK(m.tab.nrows == 0 || (m.tally == NULL && m.ntally == 0));
		}
		pt_mon_desc(&m, ktag(&m, "foo"), b, sizeof(b));
	}
	PT_CHECK(n > 0);
	PT_CHECK_EQ(rc, 0);
	r = krow(&m, "foo");
	PT_CHECK(r && r->now.bytes_alloc == 8192 && r->chg.bytes == 0);
	PT_CHECK_STR(pt_mon_desc(&m, ktag(&m, "foo"), b, sizeof(b)),
	             "[foo]  Allocated in f1 (x.c) , Binary: foo");
	mon_free(&m);
	rm("allocinfo");
}

/* ---------------------------------------------------------------------------
 * The description column on reads built in the test
 */

static void add(struct pt_view *v, const char *tag, const char *func, const char *module)
{
	struct pt_row r = {.tag = tag_of(tag),
	                   .pool = PT_PAGED,
	                   .line = 1,
	                   .file = "a.c",
	                   .func = func,
	                   .module = module,
	                   .nallocs = 1,
	                   .bytes_alloc = 8};

	if (pt_view_add_row(v, &r) != 0)
		abort();
}

/* Tags whose byte order and number order differ are all found; a
 * description's control bytes shown as '?'. */
PT_TEST(test_desc)
{
	static const char *const tags[] = {"Aaaz", "Zzza", "\377ab ", "\001xy ", "Mmmm", "aaaa"};
	struct pt_mon m;
	char b[512];

	mon_init(&m, 42, 0);
	snprintf(m.cur.comm, sizeof(m.cur.comm), "prog");
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		add(&m.cur, tags[i], "f", "prog");
	PT_CHECK_EQ(pt_view_add_desc(&m.cur, tag_of("Mmmm"), "", "line\none\x7f"), 0);
	PT_CHECK_EQ(pt_tally_build(&m.cur, NULL, &m.tally, &m.ntally), 0);
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (strcmp(tags[i], "Mmmm") != 0)
			PT_CHECK_STR(pt_mon_desc(&m, tag_of(tags[i]), b, sizeof(b)),
			             "Allocated in f (a.c) , Binary: prog");
	PT_CHECK_STR(pt_mon_desc(&m, tag_of("Mmmm"), b, sizeof(b)), "line?one? , Binary: prog");
	PT_CHECK_STR(pt_mon_desc(&m, tag_of("Nope"), b, sizeof(b)), "");
	/* Cut to the room given; none given, nothing written. */
	PT_CHECK_STR(pt_mon_desc(&m, tag_of("Aaaz"), b, 10), "Allocated");
	b[0] = 'X';
	PT_CHECK(pt_mon_desc(&m, tag_of("Aaaz"), b, 0) == b && b[0] == 'X');
	PT_CHECK(pt_mon_desc(&m, tag_of("Nope"), b, 0) == b && b[0] == 'X');
	mon_free(&m);
	/* No read yet: nothing to describe. */
	mon_init(&m, 42, 0);
	PT_CHECK_STR(pt_mon_desc(&m, tag_of("Aaaz"), b, sizeof(b)), "");
	mon_free(&m);
}

/* The kernel's module label first, its control bytes shown as '?'; a room
 * too small for the label holds what fits of it. */
PT_TEST(test_desc_kernel)
{
	struct pt_mon m;
	char b[512];

	mon_init(&m, 0, 1);
	m.cur.kernel_format = pt_view_strdup(&m.cur, "1.0", 3);
	add(&m.cur, "\001\0\0\0", "f", "fo\x01o");
	PT_CHECK_EQ(pt_tally_build(&m.cur, NULL, &m.tally, &m.ntally), 0);
	PT_CHECK_STR(pt_mon_desc(&m, 1, b, sizeof(b)),
	             "[fo?o]  Allocated in f (a.c) , Binary: fo?o");
	PT_CHECK_STR(pt_mon_desc(&m, 1, b, 5), "[fo?");
	PT_CHECK_STR(pt_mon_desc(&m, 1, b, 9), "[fo?o]  ");
	PT_CHECK_STR(pt_mon_desc(&m, 1, b, 1), "");
	b[0] = 'X';
	PT_CHECK(pt_mon_desc(&m, 1, b, 0) == b && b[0] == 'X');
	mon_free(&m);
}

int main(void)
{
	int rc;

	if (!mkdtemp(dir) || !mkdtemp(proc))
		return 1;
	setenv("POOLTAG_DIR", dir, 1);
	setenv("POOLTAG_PROC", proc, 1);
	PT_RUN(test_reads_and_changes);
	PT_RUN(test_exit);
	PT_RUN(test_killed);
	PT_RUN(test_pid_reused);
	PT_RUN(test_first_read_fails);
	PT_RUN(test_kernel);
	PT_RUN(test_kernel_out_of_memory);
	PT_RUN(test_desc);
	PT_RUN(test_desc_kernel);
	rc = pt_test_done();
	rmdir(dir);
	rmdir(proc);
	return rc;
}
