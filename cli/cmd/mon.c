/*
 * mon.c - `pooltag mon PID`: a live process's tags at each interval, with
 * what changed since the read before.  On a terminal it is a full-screen
 * monitor in the spirit of PoolMon (monui.c); otherwise it prints a plain
 * table per interval, for logs and scripts, through the emitter (emit.h).
 * The reads are monread.c's.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "kmod.h"
#include "mon.h"
#include "pooltag.h"
#include "safestr.h"
#include "sampled.h"

#define MIN_INTERVAL 0.05
#define MAX_INTERVAL 86400.0

static const char *interval_str(double s, char *buf, size_t len)
{
	snprintf(buf, len, "%gs", s);
	return buf;
}

/* The values of a row of the plain table: a tag and pool, or a TOTAL. */
enum {
	V_LABEL, /* the tag, or the kernel's module */
	V_POOL,
	V_ALLOCS,
	V_DALLOCS, /* the changes since the read before */
	V_FREES,
	V_DFREES,
	V_DIFF,
	V_BYTES,
	V_DBYTES,
	V_PERALLOC,
	V_RALLOCS, /* the changes per second */
	V_RFREES,
	V_RBYTES,
	V_DESC,
	V_N
};

/* The text layouts: a process's tags, or the kernel's modules (longer). */
enum { PROC = 1, KERNEL = 2 };

#define T PT_IN_TEXT

/* A tag and pool: exact numbers, changes since the read before and rates
 * per second. */
static const struct pt_emit_col row_cols[] = {
	{.in = T, .layout = PROC, .val = V_LABEL, .title = "Tag", .sep = " ", .width = -4},
	{.in = T, .layout = KERNEL, .val = V_LABEL, .title = "Module", .sep = " ", .width = -20},
	{.in = T, .val = V_POOL, .title = "Pool", .sep = " ", .width = -5},
	{.in = T, .val = V_ALLOCS, .title = "Allocs", .sep = " ", .width = 10},
	{.in = T, .val = V_DALLOCS, .title = "Change", .sep = " ", .width = 8},
	{.in = T, .val = V_FREES, .title = "Frees", .sep = " ", .width = 10},
	{.in = T, .val = V_DFREES, .title = "Change", .sep = " ", .width = 8},
	{.in = T, .val = V_DIFF, .title = "Diff", .sep = " ", .width = 9},
	{.in = T, .val = V_BYTES, .title = "Bytes", .sep = " ", .width = 12},
	{.in = T, .val = V_DBYTES, .title = "Change", .sep = " ", .width = 10},
	{.in = T, .val = V_PERALLOC, .title = "Per-Alloc", .sep = " ", .width = 9},
	{.in = T, .val = V_RALLOCS, .title = "Allocs/s", .sep = " ", .width = 10, .prec = 1},
	{.in = T, .val = V_RFREES, .title = "Frees/s", .sep = " ", .width = 10, .prec = 1},
	{.in = T, .val = V_RBYTES, .title = "Bytes/s", .sep = " ", .width = 12, .prec = 1},
	{.in = T, .val = V_DESC, .sep = "  "},
};
static const struct pt_emit_table row_table = PT_EMIT_TABLE(row_cols);

/* A pool's TOTAL, its columns where the rows' are: after a process's
 * tags, its first number one column narrower, since "TOTAL" is one wider
 * than a tag; the kernel's module column holds it. */
static const struct pt_emit_col total_cols[] = {
	{.in = T, .layout = PROC, .val = V_LABEL, .sep = " "},
	{.in = T, .layout = KERNEL, .val = V_LABEL, .sep = " ", .width = -20},
	{.in = T, .val = V_POOL, .sep = " ", .width = -5},
	{.in = T, .layout = PROC, .val = V_ALLOCS, .sep = " ", .width = 9},
	{.in = T, .layout = KERNEL, .val = V_ALLOCS, .sep = " ", .width = 10},
	{.in = T, .val = V_DALLOCS, .sep = " ", .width = 8},
	{.in = T, .val = V_FREES, .sep = " ", .width = 10},
	{.in = T, .val = V_DFREES, .sep = " ", .width = 8},
	{.in = T, .val = V_DIFF, .sep = " ", .width = 9},
	{.in = T, .val = V_BYTES, .sep = " ", .width = 12},
	{.in = T, .val = V_DBYTES, .sep = " ", .width = 10},
};
static const struct pt_emit_table total_table = PT_EMIT_TABLE(total_cols);

/* The counts of s and their changes c at v. */
static void count_vals(struct pt_val *v, const struct pt_sums *s, const struct pt_mon_delta *c)
{
	v[V_ALLOCS] = pt_val_u64(s->nallocs);
	v[V_DALLOCS] = pt_val_i64(c->nallocs);
	v[V_FREES] = pt_val_u64(s->nfrees);
	v[V_DFREES] = pt_val_i64(c->nfrees);
	v[V_DIFF] = pt_val_u64(pt_sums_diff(s));
	v[V_BYTES] = pt_val_u64(pt_sums_used(s));
	v[V_DBYTES] = pt_val_i64(c->bytes);
}

/* The read: who, when, how often, in what order. */
static void print_plain_head(struct pt_emit *e, const struct pt_mon *m)
{
	char when[32], iv[32], comm[128];
	time_t secs = (time_t)(m->cur.taken_ns / 1000000000);
	struct tm tm;

	localtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	if (m->kernel)
		pt_emit_text(e, " %s", pt_view_name(&m->cur, comm, sizeof(comm)));
	else
		pt_emit_text(e, " pid %d (%s)", (int)m->pid, pt_safe_str(m->cur.comm, comm, sizeof(comm)));
	pt_emit_text(e, "  %s  every %s  sort %s%s%s%s\n", when,
		     interval_str(m->interval, iv, sizeof(iv)), pt_mon_sort_name(m->opts.sort),
		     m->opts.reverse ? " (reversed)" : "", m->opts.pattern ? "  filter " : "",
		     m->opts.pattern ? m->opts.pattern : "");
	pt_emit_head(e, &row_table);
}

/* One table of the plain mode; idx has room for every row's index. */
static void print_plain(struct pt_emit *e, const struct pt_mon *m, size_t *idx)
{
	const struct pt_montab *t = &m->tab;
	size_t n = pt_montab_order(t, &m->opts, idx);
	char desc[512], tag[300];
	struct pt_val v[V_N];

	e->layout = m->kernel ? KERNEL : PROC;
	print_plain_head(e, m);
	for (size_t i = 0; i < n; i++) {
		const struct pt_mon_row *w = &t->rows[idx[i]];

		v[V_LABEL] = pt_val_str(pt_view_tag_label(&m->cur, w->tag, tag, sizeof(tag)));
		v[V_POOL] = pt_val_word(w->pool == PT_PAGED ? "Paged" : "Nonp");
		count_vals(v, &w->now, &w->chg);
		v[V_PERALLOC] = pt_val_u64(pt_mon_peralloc(&w->now));
		v[V_RALLOCS] = pt_val_dbl(pt_montab_rate(t, w->chg.nallocs));
		v[V_RFREES] = pt_val_dbl(pt_montab_rate(t, w->chg.nfrees));
		v[V_RBYTES] = pt_val_dbl(pt_montab_rate(t, w->chg.bytes));
		v[V_DESC] = pt_val_str(pt_mon_desc(m, w->tag, desc, sizeof(desc)));
		pt_emit_row(e, PT_IN_ALL, &row_table, v);
	}
	for (int p = PT_NONPAGED; p >= PT_PAGED; p--) {
		v[V_LABEL] = pt_val_word("TOTAL");
		v[V_POOL] = pt_val_word(p == PT_PAGED ? "Paged" : "Nonp");
		count_vals(v, &t->total[p], &t->total_chg[p]);
		pt_emit_row(e, PT_IN_ALL, &total_table, v);
	}
}

static void sleep_for(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The plain mode: count tables (0: until the process exits), each followed
 * by the biggest sampled call paths (at most paths of them). */
static int run_plain(struct pt_mon *m, long count, long paths)
{
	size_t *idx = NULL, cap = 0;
	struct pt_emit e;
	int rc;

	pt_emit_init(&e, stdout, PT_EMIT_TEXT);
	for (long i = 0;; i++) {
		if (m->tab.nrows + 1 > cap) {
			free(idx);
			cap = m->tab.nrows + 1;
			if (!(idx = malloc(cap * sizeof(*idx)))) {
				pt_err("out of memory");
				return 1;
			}
		}
		print_plain(&e, m, idx);
		if (paths && !m->kernel && pt_sampled_emit(&e, &m->cur, m->opts.pattern, paths) != 0) {
			pt_err("out of memory");
			rc = 1;
			break;
		}
		pt_emit_text(&e, "\n");
		if ((rc = pt_flush_stdout()) != 0 || (count && i + 1 >= count))
			break;
		sleep_for(m->interval);
		rc = pt_mon_read(m);
		if (rc == 1) {
			char comm[128];
			pt_err("process %d (%s) has exited", (int)m->pid,
			       pt_safe_str(m->cur.comm, comm, sizeof(comm)));
			rc = 0;
			break;
		}
		if (rc < 0) {
			pt_err("%s", m->err);
			rc = 1;
			break;
		}
	}
	free(idx);
	return rc;
}

static void usage(void)
{
	printf("usage: pooltag mon [OPTIONS] [PATTERN] PID|kernel\n"
	       "  kernel: the Linux kernel's /proc/allocinfo, modules in the tags' place\n"
	       "  a live view of a process's tags, PoolMon style; plain tables when\n"
	       "  standard output is not a terminal\n"
	       "  PATTERN  tag pattern, '?' one character, '*' any (case-sensitive)\n"
	       "  -i, --interval SECONDS  between reads (fractions too; default 1)\n"
	       "  -n, --count N           plain mode: N tables, then exit\n"
	       "  -s, --sort KEY          tag, allocs, frees, diff, bytes, peralloc, change\n"
	       "                          (or PoolMon's letters t a f d b m, and c)\n"
	       "  -r, --reverse           reverse the order\n"
	       "  -p, --pools WHICH       both, paged or nonpaged\n"
	       "  -w, --sampled-paths N   plain mode: the N biggest sampled call paths\n"
	       "                          under each table (w in the monitor: all)\n"
	       "      --tags FILE         pooltag.txt-format descriptions (repeatable)\n"
	       "keys: h in the monitor; man pooltag for all\n");
}

static int parse_interval(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	/* written so that NaN is out of range too */
	if (errno || end == s || *end || !(v >= MIN_INTERVAL && v <= MAX_INTERVAL))
		return pt_usage_err("mon", "-i wants seconds from %g to %g, not '%s'", MIN_INTERVAL,
				    MAX_INTERVAL, s);
	*out = v;
	return 0;
}

static int parse_pid(const char *s, pid_t *pid)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v <= 0 || v > INT_MAX || strspn(s, "0123456789") != strlen(s))
		return pt_usage_err("mon", "'%s' is not a process id", s);
	*pid = (pid_t)v;
	return 0;
}

/* What the command line asks beyond struct pt_mon's options. */
struct mon_args {
	struct pt_cmdopt c; /* --tags */
	long count;         /* plain mode: the tables to print; 0 until the process exits */
	long paths;         /* plain mode: sampled call paths under each table */
};

/* One option of getopt_long's: 0, or 2 on a usage error (printed). */
static int take_opt(struct pt_mon *m, struct mon_args *a, int c, char *arg, char **argv)
{
	static const char *const pools[] = {"both", "paged", "nonpaged"};
	int k;

	switch (c) {
	case 'i':
		return parse_interval(arg, &m->interval) != 0 ? 2 : 0;
	case 'n':
		if ((a->count = pt_parse_count("mon", "-n", arg)) < 0)
			return 2;
		return a->count == 0 ? pt_usage_err("mon", "-n wants at least 1 table") : 0;
	case 's':
		if ((k = pt_mon_sort_parse(arg)) < 0)
			return pt_usage_err("mon", "unknown sort key '%s': tag, allocs, frees, diff, bytes, "
					    "peralloc or change", arg);
		m->opts.sort = (enum pt_mon_sort)k;
		return 0;
	case 'r':
		m->opts.reverse = 1;
		return 0;
	case 'p':
		for (k = 0; k < 3 && strcmp(arg, pools[k]) != 0; k++)
			;
		if (k == 3)
			return pt_usage_err("mon", "unknown pools '%s': both, paged or nonpaged", arg);
		m->opts.pools = (enum pt_mon_pools)k;
		return 0;
	case 'w':
		return (a->paths = pt_parse_count("mon", "--sampled-paths", arg)) < 0 ? 2 : 0;
	default:
		return pt_cmdopt_take(&a->c, c, arg) ? 0 : pt_getopt_err("mon", argv);
	}
}

/* The arguments after the options: [PATTERN] PID|kernel. */
static int take_args(struct pt_mon *m, int argc, char **argv)
{
	char err[256];

	if (argc - optind < 1 || argc - optind > 2)
		return pt_usage_err("mon", argc - optind < 1 ? "which process?" : "too many arguments");
	m->kernel = strcmp(argv[argc - 1], "kernel") == 0;
	if (!m->kernel && parse_pid(argv[argc - 1], &m->pid) != 0)
		return 2;
	if (argc - optind < 2)
		return PT_PARSED;
	if (m->kernel && strlen(argv[optind]) >= sizeof(m->pattern))
		return pt_usage_err("mon", "module pattern longer than %zu bytes", sizeof(m->pattern) - 1);
	if (!m->kernel && pt_tag_pattern_check(argv[optind], err, sizeof(err)) != 0)
		return pt_usage_err("mon", "bad tag pattern '%s': %s", argv[optind], err);
	snprintf(m->pattern, sizeof(m->pattern), "%s", argv[optind]);
	m->opts.pattern = m->pattern;
	return PT_PARSED;
}

static int mon_parse(int argc, char **argv, struct pt_mon *m, struct mon_args *a)
{
	static const struct option longs[] = {
		{"interval", required_argument, 0, 'i'}, {"count", required_argument, 0, 'n'},
		{"sort", required_argument, 0, 's'},     {"reverse", no_argument, 0, 'r'},
		{"pools", required_argument, 0, 'p'},    {"tags", required_argument, 0, PT_OPT_TAGS},
		{"sampled-paths", required_argument, 0, 'w'},
		{"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
	int c, rc;

	a->count = a->paths = 0;
	if (pt_cmdopt_init(&a->c, argc) != 0) {
		pt_err("out of memory");
		return 1;
	}
	while ((c = getopt_long(argc, argv, "i:n:s:rp:w:h", longs, NULL)) != -1) {
		if (c == 'h') {
			usage();
			return 0;
		}
		if ((rc = take_opt(m, a, c, optarg, argv)) != 0)
			return rc;
	}
	return take_args(m, argc, argv);
}

/* The first read, then the monitor or the plain tables. */
static int mon_run(struct pt_mon *m, const struct mon_args *a)
{
	int rc;

	if (!(m->db = pt_cmdopt_tagdb(&a->c, m->err, sizeof(m->err)))) {
		pt_err("%s", m->err);
		return 1;
	}
	if ((rc = pt_mon_read(m)) != 0) {
		/* Exited before the first read (a zombie included): the end the
		 * monitor reports with status 0, whenever it comes. */
		if (rc == 1)
			pt_err("process %d has exited", (int)m->pid);
		else
			pt_err("%s", m->err);
		return rc == 1 ? 0 : 1;
	}
	if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO))
		return run_plain(m, a->count, a->paths);
	m->err[0] = 0;
	rc = pt_mon_ui(m);
	if (m->err[0])
		pt_err("%s", m->err);
	return rc;
}

int pt_cmd_mon(int argc, char **argv)
{
	struct pt_mon m = {.interval = 1.0, .opts = {.sort = PT_MON_SORT_TAG}};
	struct mon_args a = {.c = {.tagfiles = NULL}};
	int rc;

	pt_view_init(&m.prev);
	pt_view_init(&m.cur);
	if ((rc = mon_parse(argc, argv, &m, &a)) == PT_PARSED)
		rc = mon_run(&m, &a);
	pt_montab_free(&m.tab);
	pt_tally_free(m.tally, m.ntally);
	pt_view_free(&m.prev);
	pt_view_free(&m.cur);
	pt_tagdb_free(m.db);
	pt_cmdopt_free(&a.c);
	return rc;
}
