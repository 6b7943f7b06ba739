/*
 * ls.c - `pooltag ls`: the processes that export counters, and
 * `pooltag snap`: a process's counters saved to a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allocinfo.h"
#include "cmd.h"
#include "safestr.h"
#include "seglock.h"
#include "segread.h"
#include "snapshot.h"
#include "tally.h"

/* "12.3 MiB" style, for a column people read. */
static const char *human(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

/* A segment as ls's table shows it. */
struct ls_line {
	pid_t pid;
	const char *state; /* "live", "stale", "bad" (unreadable) */
	size_t ntags;
	uint64_t bytes; /* outstanding, in both pools */
	char what[1100]; /* the command and a note; (why) for an unreadable one */
};

/* What the table shows, read and computed. */
struct ls_result {
	struct ls_line *lines;
	size_t n;
	size_t removed; /* stale segments removed (--clean) */
	int failed;     /* a removal failed (said on stderr) */
};

/* ---- Parse --------------------------------------------------------------- */

static int ls_parse(int argc, char **argv, int *clean)
{
	*clean = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--clean") == 0) {
			*clean = 1;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: pooltag ls [--clean]\n");
			return 0;
		} else {
			return pt_usage_err("ls", "unknown argument '%s'", argv[i]);
		}
	}
	return PT_PARSED;
}

/* ---- Execute ------------------------------------------------------------- */

/* Reads segment e into l. */
static void read_line(const struct pt_segent *e, struct ls_line *l)
{
	struct pt_view v;
	struct pt_tally *t = NULL;
	size_t nt = 0;
	char err[1024], cb[256];
	int fd;

	pt_view_init(&v);
	l->pid = e->pid;
	fd = open(e->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || pt_segread_fd(&v, fd, e->path, err, sizeof(err)) != 0 ||
	    pt_tally_build(&v, NULL, &t, &nt) != 0) {
		if (fd < 0)
			snprintf(err, sizeof(err), "%s: %s", e->path, strerror(errno));
		l->state = "bad";
		snprintf(l->what, sizeof(l->what), "(%s)", err);
	} else {
		for (size_t j = 0; j < nt; j++)
			l->bytes += pt_sums_used(&t[j].pool[0]) + pt_sums_used(&t[j].pool[1]);
		l->ntags = nt;
		l->state = e->stale ? "stale" : "live";
		snprintf(l->what, sizeof(l->what), "%s%s", pt_safe_str(v.comm, cb, sizeof(cb)),
			 e->stale ? (e->state == PT_SEGSTATE_EXECD
					     ? " (exec'd; 'pooltag ls --clean' removes it)"
					     : " (exited; 'pooltag ls --clean' removes it)")
				  : "");
	}
	if (fd >= 0)
		close(fd);
	pt_tally_free(t, nt);
	pt_view_free(&v);
}

/* Your segments read, or with clean the stale ones removed: 0, or 1 with
 * the message printed. */
static int ls_execute(int clean, struct ls_result *r)
{
	struct pt_segent *e;
	size_t n;
	char err[1024];

	if (pt_seglist(&e, &n, err, sizeof(err)) != 0) {
		pt_err("%s", err);
		return 1;
	}
	if (!(r->lines = calloc(n + 1, sizeof(*r->lines)))) {
		free(e);
		pt_err("out of memory");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (e[i].foreign)
			continue; /* another user's: not ours to show or remove */
		if (clean && e[i].stale) {
			/* Under the remover's lock: a segment some process holds by
			 * now, or another remover's, is left alone (src/seglock.h). */
			int rm = pt_seglock_remove_dead(e[i].path, getuid());
			if (rm == 1) {
				r->removed++;
			} else if (rm < 0) {
				pt_err("cannot remove %s: %s", e[i].path, strerror(errno));
				r->failed = 1;
			}
			continue;
		}
		read_line(&e[i], &r->lines[r->n++]);
	}
	free(e);
	return 0;
}

/* ---- Print --------------------------------------------------------------- */

enum { V_PID, V_STATE, V_TAGS, V_BYTES, V_WHAT, V_N };

static const struct pt_emit_col ls_cols[] = {
	{.in = PT_IN_TEXT, .val = V_PID, .title = "PID", .width = 8},
	{.in = PT_IN_TEXT, .val = V_STATE, .title = "STATE", .sep = "  ", .width = -6},
	{.in = PT_IN_TEXT, .val = V_TAGS, .title = "TAGS", .sep = " ", .width = 6},
	{.in = PT_IN_TEXT, .val = V_BYTES, .title = "OUTSTANDING", .sep = " ", .width = 12},
	{.in = PT_IN_TEXT, .val = V_WHAT, .title = "COMMAND", .sep = "  "},
};
static const struct pt_emit_table ls_table = PT_EMIT_TABLE(ls_cols);

static void ls_print(struct pt_emit *e, int clean, const struct ls_result *r)
{
	pt_emit_head(e, &ls_table);
	for (size_t i = 0; i < r->n; i++) {
		const struct ls_line *l = &r->lines[i];
		int bad = strcmp(l->state, "bad") == 0;
		char hb[32];
		struct pt_val v[V_N] = {
			[V_PID] = pt_val_i64(l->pid),
			[V_STATE] = pt_val_word(l->state),
			[V_TAGS] = bad ? pt_val_null() : pt_val_u64(l->ntags),
			[V_BYTES] = bad ? pt_val_null() : pt_val_str(human(l->bytes, hb, sizeof(hb))),
			[V_WHAT] = pt_val_str(l->what),
		};
		pt_emit_row(e, PT_IN_ALL, &ls_table, v);
	}
	if (clean)
		pt_emit_text(e, "removed %zu stale segment%s\n", r->removed, r->removed == 1 ? "" : "s");
}

int pt_cmd_ls(int argc, char **argv)
{
	struct ls_result r = {.lines = NULL};
	struct pt_emit e;
	int clean, rc = ls_parse(argc, argv, &clean);

	if (rc != PT_PARSED)
		return rc;
	if ((rc = ls_execute(clean, &r)) == 0) {
		pt_emit_init(&e, stdout, PT_EMIT_TEXT);
		ls_print(&e, clean, &r);
		rc = pt_flush_stdout() ? 1 : r.failed;
	}
	free(r.lines);
	return rc;
}

int pt_cmd_snap(int argc, char **argv)
{
	const char *out = NULL;
	struct pt_view v;
	char err[1024];
	int c, rc = 1;

	optind = 1;
	opterr = 0;
	static const struct option longs[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

	while ((c = getopt_long(argc, argv, "o:h", longs, NULL)) != -1) {
		if (c == 'o') {
			out = optarg;
		} else if (c == 'h') {
			printf("usage: pooltag snap PID|SEGMENT|SNAPSHOT|kernel -o FILE\n"
			       "  kernel: the Linux kernel's /proc/allocinfo, saved with the loaded modules\n");
			return 0;
		} else {
			return pt_getopt_err("snap", argv);
		}
	}
	if (argc - optind != 1 || !out)
		return pt_usage_err("snap", "wants one PID (or segment or snapshot) and -o FILE");
	pt_view_init(&v);
	if (pt_target_load(argv[optind], &v, err, sizeof(err)) != 0)
		pt_err("%s", err);
	else if (v.kernel_format && pt_allocinfo_write(&v, out, err, sizeof(err)) != 0)
		pt_err("%s", err);
	else if (v.kernel_format) /* the kernel's snapshot: allocinfo.h */
		rc = 0;
	else if (v.import_format) /* a snapshot is pooltag's own evidence, with a process */
		pt_err("%s: a %s dump is read as it is, by used and diff; snap saves a process",
		       argv[optind], v.import_format);
	else if (pt_snap_write(&v, out, err, sizeof(err)) != 0)
		pt_err("%s", err);
	else
		rc = 0;
	pt_view_free(&v);
	return rc;
}
