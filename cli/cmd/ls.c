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

int pt_cmd_ls(int argc, char **argv)
{
	struct pt_segent *e;
	size_t n, removed = 0;
	int clean = 0, rc = 0;
	char err[1024];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--clean") == 0) {
			clean = 1;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: pooltag ls [--clean]\n");
			return 0;
		} else {
			return pt_usage_err("ls", "unknown argument '%s'", argv[i]);
		}
	}
	if (pt_seglist(&e, &n, err, sizeof(err)) != 0) {
		pt_err("%s", err);
		return 1;
	}
	printf("%8s  %-6s %6s %12s  %s\n", "PID", "STATE", "TAGS", "OUTSTANDING", "COMMAND");
	for (size_t i = 0; i < n; i++) {
		struct pt_view v;
		struct pt_tally *t = NULL;
		size_t nt = 0;
		uint64_t bytes = 0;
		char hb[32], cb[256];
		int fd;

		if (e[i].foreign)
			continue; /* another user's: not ours to show or remove */
		if (clean && e[i].stale) {
			/* Under the remover's lock: a segment some process holds by
			 * now, or another remover's, is left alone (src/seglock.h). */
			int r = pt_seglock_remove_dead(e[i].path, getuid());
			if (r == 1) {
				removed++;
			} else if (r < 0) {
				pt_err("cannot remove %s: %s", e[i].path, strerror(errno));
				rc = 1;
			}
			continue;
		}
		pt_view_init(&v);
		fd = open(e[i].path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0 || pt_segread_fd(&v, fd, e[i].path, err, sizeof(err)) != 0 ||
		    pt_tally_build(&v, NULL, &t, &nt) != 0) {
			if (fd < 0)
				snprintf(err, sizeof(err), "%s: %s", e[i].path, strerror(errno));
			printf("%8d  %-6s %6s %12s  (%s)\n", (int)e[i].pid, "bad", "-", "-", err);
		} else {
			for (size_t j = 0; j < nt; j++)
				bytes += pt_sums_used(&t[j].pool[0]) + pt_sums_used(&t[j].pool[1]);
			printf("%8d  %-6s %6zu %12s  %s%s\n", (int)e[i].pid,
			       e[i].stale ? "stale" : "live", nt, human(bytes, hb, sizeof(hb)),
			       pt_safe_str(v.comm, cb, sizeof(cb)),
			       e[i].stale ? (e[i].state == PT_SEGSTATE_EXECD
						     ? " (exec'd; 'pooltag ls --clean' removes it)"
						     : " (exited; 'pooltag ls --clean' removes it)")
					  : "");
		}
		if (fd >= 0)
			close(fd);
		pt_tally_free(t, nt);
		pt_view_free(&v);
	}
	if (clean)
		printf("removed %zu stale segment%s\n", removed, removed == 1 ? "" : "s");
	free(e);
	return pt_flush_stdout() ? 1 : rc;
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
