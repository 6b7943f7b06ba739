/*
 * mon.h - `pooltag mon`: what the command (mon.c: options, the plain
 * tables) shares with the reads (monread.c) and the full-screen interface
 * (monui.c), which calls the reads and nothing of the command's.
 *
 * A monitor reads one live process at each interval, keeping the read
 * before so that the table (montab.h) shows what changed in between.  It is
 * single-threaded.
 */
#ifndef PT_MON_H
#define PT_MON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "montab.h"
#include "tagdb.h"
#include "tally.h"
#include "view.h"

struct pt_mon {
	pid_t pid;
	int kernel; /* the Linux kernel's /proc/allocinfo (allocinfo.h), not a process */
	uint64_t start_ticks; /* of the first read: a recycled pid is another process */
	struct pt_view prev, cur;
	unsigned long nreads; /* successful reads; prev is valid from the second */
	struct pt_montab tab;   /* built from prev and cur */
	struct pt_tally *tally; /* cur per tag, for the description column */
	size_t ntally;
	struct pt_tagdb *db;
	struct pt_mon_opts opts;
	char pattern[64]; /* opts.pattern points here when a filter is set */
	double interval;  /* seconds between reads */
	char err[1024];   /* why the last read failed */
};

/* Reads the process (or the kernel) again: 0 when read (the table
 * rebuilt), 1 when the process has exited (or its pid now names another
 * process), -1 when it could not be read (m->err says why; the last table
 * stays).  Out of memory once the read is taken, it is -1 with "out of
 * memory" too, but the read counts and its table or descriptions are
 * empty until the next. */
int pt_mon_read(struct pt_mon *m);

/* The description column of tag (see pt_tally_describe); "" if the tag is
 * not in the current read.  Returns buf. */
char *pt_mon_desc(const struct pt_mon *m, uint32_t tag, char *buf, size_t len);

/* Runs the full-screen monitor on the terminal until q, a signal or the
 * process's exit; returns the exit status (a signal is re-raised once the
 * terminal is restored).  It prints nothing outside the screen: what the
 * caller is to print on stderr once it returns (the terminal could not be
 * used, the process exited) is left in m->err, "" when nothing. */
int pt_mon_ui(struct pt_mon *m);

#endif /* PT_MON_H */
