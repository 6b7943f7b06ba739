/*
 * pt_libtest.h - what the library's test programs share: catching misuse
 * reports, reading a tag's counters, and the closing check that a test
 * program leaves nothing allocated.
 */
#ifndef PT_LIBTEST_H
#define PT_LIBTEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pooltag.h>

#include "pt_test.h"
#include "segread.h"

/* The last misuse report (its text copied), and how many were made. */
static struct pt_misuse last;
static char last_text[1024];
static int nreports;

static inline void catch_misuse(const struct pt_misuse *m, void *arg)
{
	(void)arg;
	last = *m;
	snprintf(last_text, sizeof(last_text), "%s", m->text);
	last.text = last_text;
	nreports++;
}

static inline struct pt_count count_of(const char *tag, enum pt_pool pool)
{
	struct pt_count c;
	pt_count_tag(pt_tag_make(tag), pool, &c);
	return c;
}

/* The rows of this process's own segment for (class, tag, file, line) and,
 * if module is not NULL, that module, read the way the CLI reads them. */
struct site_count {
	int found;
	uint64_t nallocs, nfrees, bytes_alloc;
	char func[64], module[64];
};

static inline struct site_count site_count(unsigned cls, const char *tag, const char *file, unsigned line,
                                    const char *module)
{
	struct site_count sc = {0};
	struct pt_view v;
	char err[256];

	pt_view_init(&v);
	if (pt_segread_pid(&v, getpid(), err, sizeof(err)) != 0) {
		printf("# cannot read this process's segment: %s\n", err);
		pt_view_free(&v);
		sc.found = -1;
		return sc;
	}
	for (size_t i = 0; i < v.nrows; i++) {
		const struct pt_row *r = &v.rows[i];
		const char *base = strrchr(r->file, '/');

		if (r->pool != cls || r->tag != pt_tag_make(tag) || r->line != line ||
		    strcmp(base ? base + 1 : r->file, file) != 0 ||
		    (module && strcmp(r->module, module) != 0))
			continue;
		sc.found++;
		sc.nallocs += r->nallocs;
		sc.nfrees += r->nfrees;
		sc.bytes_alloc += r->bytes_alloc;
		snprintf(sc.func, sizeof(sc.func), "%s", r->func);
		snprintf(sc.module, sizeof(sc.module), "%s", r->module);
	}
	pt_view_free(&v);
	return sc;
}

/* modplug.so: $PT_MODPLUG, else plugins/modplug.so beside this program. */
static inline int plugin_path(char *out, size_t len)
{
	const char *env = getenv("PT_MODPLUG");
	char self[PATH_MAX];
	ssize_t n;

	if (env) {
		snprintf(out, len, "%s", env);
		return access(out, R_OK);
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -1;
	self[n] = '\0';
	snprintf(out, len, "%s/plugins/modplug.so", dirname(self));
	return access(out, R_OK);
}

/* Copies from to to; 0 or -1. */
static inline int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0700);
	ssize_t n = 0;

	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			n = -1;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return in < 0 || out < 0 || n < 0 ? -1 : 0;
}

/* Loads plugins/modplug.so (a copy named name in dir, if name is not NULL).
 * Unless keep_ctor, frees what its constructor allocated, so that it starts
 * holding nothing.  NULL (said why) on failure. */
static inline struct pt_module *load_plugin_in(const char *dir, const char *name, int keep_ctor)
{
	char path[PATH_MAX + 64], copy[PATH_MAX + 64];
	struct pt_module *m;
	void (*ctor_free)(void);

	if (plugin_path(path, sizeof(path)) != 0) {
		printf("# plugins/modplug.so beside the test (or $PT_MODPLUG) is missing\n");
		return NULL;
	}
	if (name) {
		snprintf(copy, sizeof(copy), "%s/%s", dir, name);
		if (copy_file(path, copy) != 0)
			return NULL;
		snprintf(path, sizeof(path), "%s", copy);
	}
	m = pt_module_load(path);
	if (!m) {
		printf("# %s (is the test linked with -rdynamic?)\n", pt_module_error());
		return NULL;
	}
	*(void **)&ctor_free = pt_module_sym(m, "modplug_ctor_free");
	if (!keep_ctor && ctor_free)
		ctor_free();
	return m;
}

/* ---- deadlocks, found without timing ---- */

/* 1 when every thread of process pid sleeps on a futex (its
 * /proc/PID/task/TID/syscall), with in *ran the threads' summed run time
 * (schedstat) and their number. */
static inline int all_in_futex(pid_t pid, unsigned long long *ran)
{
	char path[96];
	struct dirent *e;
	DIR *d;
	int n = 0, waiting = 0;

	*ran = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		unsigned long long ns = 0;
		FILE *f;
		long nr = -1;

		if (e->d_name[0] == '.')
			continue;
		n++;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/syscall", (int)pid, e->d_name);
		f = fopen(path, "r");
		if (f) {
			if (fscanf(f, "%ld", &nr) != 1) /* "running" */
				nr = -1;
			fclose(f);
		}
		waiting += nr == SYS_futex;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/schedstat", (int)pid, e->d_name);
		f = fopen(path, "r");
		if (f) {
			if (fscanf(f, "%llu", &ns) != 1)
				ns = 0;
			fclose(f);
		}
		*ran += ns;
	}
	closedir(d);
	*ran += (unsigned long long)n;
	return n > 0 && waiting == n;
}

/* waitpid for a child that may deadlock (it must wait on nothing with a
 * timeout, nor on another process): found twice in a row with every thread
 * sleeping on a futex and none having run in between, no thread is left
 * to wake another, whatever the machine's speed.  Such a child is killed
 * (SIGKILL). */
static inline void wait_or_deadlock(pid_t pid, int *st)
{
	unsigned long long ran, was = 0;
	int stuck = 0;

	for (;;) {
		pid_t r = waitpid(pid, st, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			return;
		if (r == 0 && all_in_futex(pid, &ran)) {
			if (stuck && ran == was) {
				kill(pid, SIGKILL);
				waitpid(pid, st, 0);
				return;
			}
			stuck = 1;
			was = ran;
		} else {
			stuck = 0;
		}
		usleep(1000);
	}
}

/* Every test program ends with this one: nothing outstanding in any pool. */
PT_TEST(test_nothing_outstanding)
{
	struct pt_count p, np;

	pt_count_pool(PT_PAGED, &p);
	pt_count_pool(PT_NONPAGED, &np);
	PT_CHECK_EQ(p.curblocks, 0);
	PT_CHECK_EQ(p.curbytes, 0);
	PT_CHECK_EQ(np.curblocks, 0);
	PT_CHECK_EQ(np.curbytes, 0);
}

#endif /* PT_LIBTEST_H */
