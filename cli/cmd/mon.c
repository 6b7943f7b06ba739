/*
 * mon.c - `pooltag mon PID`: a live process's tags at each interval, with
 * what changed since the read before.  On a terminal it is a full-screen
 * monitor in the spirit of PoolMon (monui.c); otherwise it prints a plain
 * table per interval, for logs and scripts.  The reads are monread.c's.
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
#include "sampled.h"

#define MIN_INTERVAL 0.05
#define MAX_INTERVAL 86400.0

static const char *interval_str(double s, char *buf, size_t len)
{
	snprintf(buf, len, "%gs", s);
	return buf;
}

/* One table of the plain mode: exact numbers, changes since the read
 * before and rates per second. */
static void print_plain(struct pt_mon *m, size_t *idx)
{
	const struct pt_montab *t = &m->tab;
	size_t n = pt_montab_order(t, &m->opts, idx);
	char when[32], iv[32], comm[128], desc[512], tag[300], r[3][32];
	int tw = m->kernel ? 20 : 4; /* the tag column: a module's label is longer */
	time_t secs = (time_t)(m->cur.taken_ns / 1000000000);
	struct tm tm;

	localtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	if (m->kernel)
		printf(" %s", pt_view_name(&m->cur, comm, sizeof(comm)));
	else
		printf(" pid %d (%s)", (int)m->pid, pt_safe_str(m->cur.comm, comm, sizeof(comm)));
	printf("  %s  every %s  sort %s%s%s%s\n", when,
	       interval_str(m->interval, iv, sizeof(iv)), pt_mon_sort_name(m->opts.sort),
	       m->opts.reverse ? " (reversed)" : "", m->opts.pattern ? "  filter " : "",
	       m->opts.pattern ? m->opts.pattern : "");
	printf(" %-*s %-5s %10s %8s %10s %8s %9s %12s %10s %9s %10s %10s %12s\n", tw,
	       m->kernel ? "Module" : "Tag", "Pool",
	       "Allocs", "Change", "Frees", "Change", "Diff", "Bytes", "Change", "Per-Alloc",
	       "Allocs/s", "Frees/s", "Bytes/s");
	for (size_t i = 0; i < n; i++) {
		const struct pt_mon_row *w = &t->rows[idx[i]];
		snprintf(r[0], sizeof(r[0]), "%.1f", pt_montab_rate(t, w->chg.nallocs));
		snprintf(r[1], sizeof(r[1]), "%.1f", pt_montab_rate(t, w->chg.nfrees));
		snprintf(r[2], sizeof(r[2]), "%.1f", pt_montab_rate(t, w->chg.bytes));
		printf(" %-*s %-5s %10llu %8lld %10llu %8lld %9llu %12llu %10lld %9llu %10s %10s %12s  %s\n",
		       tw, pt_view_tag_label(&m->cur, w->tag, tag, sizeof(tag)),
		       w->pool == PT_PAGED ? "Paged" : "Nonp",
		       (unsigned long long)w->now.nallocs, (long long)w->chg.nallocs,
		       (unsigned long long)w->now.nfrees, (long long)w->chg.nfrees,
		       (unsigned long long)pt_sums_diff(&w->now),
		       (unsigned long long)pt_sums_used(&w->now), (long long)w->chg.bytes,
		       (unsigned long long)pt_mon_peralloc(&w->now), r[0], r[1], r[2],
		       pt_mon_desc(m, w->tag, desc, sizeof(desc)));
	}
	for (int p = PT_NONPAGED; p >= PT_PAGED; p--)
		printf(" TOTAL %-5s %9llu %8lld %10llu %8lld %9llu %12llu %10lld\n",
		       p == PT_PAGED ? "Paged" : "Nonp", (unsigned long long)t->total[p].nallocs,
		       (long long)t->total_chg[p].nallocs, (unsigned long long)t->total[p].nfrees,
		       (long long)t->total_chg[p].nfrees,
		       (unsigned long long)pt_sums_diff(&t->total[p]),
		       (unsigned long long)pt_sums_used(&t->total[p]),
		       (long long)t->total_chg[p].bytes);
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
	int rc;

	for (long i = 0;; i++) {
		if (m->tab.nrows + 1 > cap) {
			free(idx);
			cap = m->tab.nrows + 1;
			if (!(idx = malloc(cap * sizeof(*idx)))) {
				pt_err("out of memory");
				return 1;
			}
		}
		print_plain(m, idx);
		if (paths && !m->kernel && pt_sampled_print(stdout, &m->cur, m->opts.pattern, paths) != 0) {
			pt_err("out of memory");
			rc = 1;
			break;
		}
		putchar('\n');
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

int pt_cmd_mon(int argc, char **argv)
{
	static const struct option longs[] = {
		{"interval", required_argument, 0, 'i'}, {"count", required_argument, 0, 'n'},
		{"sort", required_argument, 0, 's'},     {"reverse", no_argument, 0, 'r'},
		{"pools", required_argument, 0, 'p'},    {"tags", required_argument, 0, 'T'},
		{"sampled-paths", required_argument, 0, 'w'},
		{"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
	static const char *const pools[] = {"both", "paged", "nonpaged"};
	struct pt_mon m = {.interval = 1.0, .opts = {.sort = PT_MON_SORT_TAG}};
	char **tagfiles = calloc((size_t)argc + 1, sizeof(char *));
	size_t ntagfiles = 0;
	long count = 0, paths = 0;
	int c, rc = 2, k;

	pt_view_init(&m.prev);
	pt_view_init(&m.cur);
	if (!tagfiles) {
		pt_err("out of memory");
		return 1;
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "i:n:s:rp:w:h", longs, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (parse_interval(optarg, &m.interval) != 0)
				goto out;
			break;
		case 'n':
			if ((count = pt_parse_count("mon", "-n", optarg)) < 0)
				goto out;
			if (count == 0) {
				pt_usage_err("mon", "-n wants at least 1 table");
				goto out;
			}
			break;
		case 's':
			if ((k = pt_mon_sort_parse(optarg)) < 0) {
				pt_usage_err("mon", "unknown sort key '%s': tag, allocs, frees, diff, bytes, "
					     "peralloc or change", optarg);
				goto out;
			}
			m.opts.sort = (enum pt_mon_sort)k;
			break;
		case 'r':
			m.opts.reverse = 1;
			break;
		case 'p':
			for (k = 0; k < 3 && strcmp(optarg, pools[k]) != 0; k++)
				;
			if (k == 3) {
				pt_usage_err("mon", "unknown pools '%s': both, paged or nonpaged", optarg);
				goto out;
			}
			m.opts.pools = (enum pt_mon_pools)k;
			break;
		case 'w':
			if ((paths = pt_parse_count("mon", "--sampled-paths", optarg)) < 0)
				goto out;
			break;
		case 'T':
			tagfiles[ntagfiles++] = optarg;
			break;
		case 'h':
			usage();
			rc = 0;
			goto out;
		default:
			pt_getopt_err("mon", argv);
			goto out;
		}
	}
	if (argc - optind < 1 || argc - optind > 2) {
		pt_usage_err("mon", argc - optind < 1 ? "which process?" : "too many arguments");
		goto out;
	}
	m.kernel = strcmp(argv[argc - 1], "kernel") == 0;
	if (!m.kernel && parse_pid(argv[argc - 1], &m.pid) != 0)
		goto out;
	if (argc - optind == 2) {
		char err[256];
		if (m.kernel && strlen(argv[optind]) >= sizeof(m.pattern)) {
			pt_usage_err("mon", "module pattern longer than %zu bytes", sizeof(m.pattern) - 1);
			goto out;
		}
		if (!m.kernel && pt_tag_pattern_check(argv[optind], err, sizeof(err)) != 0) {
			pt_usage_err("mon", "bad tag pattern '%s': %s", argv[optind], err);
			goto out;
		}
		snprintf(m.pattern, sizeof(m.pattern), "%s", argv[optind]);
		m.opts.pattern = m.pattern;
	}
	rc = 1;
	if (!(m.db = pt_tagdb_for(tagfiles, ntagfiles, m.err, sizeof(m.err)))) {
		pt_err("%s", m.err);
		goto out;
	}
	if ((rc = pt_mon_read(&m)) != 0) {
		/* Exited before the first read (a zombie included): the end the
		 * monitor reports with status 0, whenever it comes. */
		if (rc == 1)
			pt_err("process %d has exited", (int)m.pid);
		else
			pt_err("%s", m.err);
		rc = rc == 1 ? 0 : 1;
		goto out;
	}
	if (isatty(STDOUT_FILENO) && isatty(STDIN_FILENO)) {
		m.err[0] = 0;
		rc = pt_mon_ui(&m);
		if (m.err[0])
			pt_err("%s", m.err);
	} else {
		rc = run_plain(&m, count, paths);
	}
out:
	pt_montab_free(&m.tab);
	pt_tally_free(m.tally, m.ntally);
	pt_view_free(&m.prev);
	pt_view_free(&m.cur);
	pt_tagdb_free(m.db);
	free(tagfiles);
	return rc;
}
