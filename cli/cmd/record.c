/*
 * record.c - `pooltag record PID -o FILE`: the process's counters sampled
 * every --interval seconds into a recording (recording.h).
 *
 * Samples are due at fixed times from the start (start + k * interval), so
 * a slow read does not shift the ones after it; a read that overran one or
 * more due times skips them rather than firing a burst.  SIGINT and SIGTERM
 * stay blocked and are taken with sigtimedwait while waiting, so a signal
 * never cuts a sample short: the one being taken is finished and the file
 * ends on a complete sample.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "procinfo.h"
#include "recording.h"
#include "safestr.h"
#include "tally.h"

#define NS_PER_S 1000000000LL

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* Seconds given as a decimal (fractions allowed) into nanoseconds, within
 * [min_ns, max_ns]; -1 with the usage error printed if it is not one. */
static int64_t parse_seconds(const char *opt, const char *s, int64_t min_ns, int64_t max_ns)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v * 1e9 >= (double)min_ns) ||
	    !(v * 1e9 <= (double)max_ns)) {
		pt_usage_err("record", "%s wants seconds from %g to %g, not '%s'", opt,
		             (double)min_ns / 1e9, (double)max_ns / 1e9, s);
		return -1;
	}
	return (int64_t)(v * 1e9 + 0.5);
}

/* Waits until the monotonic time due; 1 if SIGINT or SIGTERM came first. */
static int wait_until(int64_t due, const sigset_t *sigs)
{
	for (;;) {
		int64_t left = due - mono_ns();
		struct timespec ts;

		if (left <= 0)
			return 0;
		ts.tv_sec = (time_t)(left / NS_PER_S);
		ts.tv_nsec = (long)(left % NS_PER_S);
		if (sigtimedwait(sigs, NULL, &ts) >= 0)
			return 1;
		if (errno != EAGAIN && errno != EINTR)
			return 0;
	}
}

static int usage(FILE *f)
{
	fprintf(f, "usage: pooltag record PID|kernel -o FILE [--interval S] [--duration S]\n");
	return f == stdout ? 0 : 2;
}

enum why_stop { STOP_NOT, STOP_DURATION, STOP_SIGNAL, STOP_EXITED, STOP_ERROR };

/* Has the process that started at start_ticks gone: no such pid, another
 * process under it, or a zombie (its parent has not reaped it yet)?  The
 * judgement every command makes (pt_proc_alive). */
static int proc_gone(pid_t pid, uint64_t start_ticks)
{
	return !pt_proc_alive(pid, start_ticks);
}

#define RETRY_NS (10 * NS_PER_S)

/* Reads the target into v.  A read that fails is retried for a while: a
 * process removes its segment as it exits, a little before it is gone, and
 * the segment can change under a reader.  STOP_NOT with v filled, else
 * STOP_EXITED once the process has gone, STOP_SIGNAL, or STOP_ERROR
 * (printed) if it still runs and cannot be read for RETRY_NS. */
static enum why_stop read_target(const char *pidarg, const struct pt_view *first, struct pt_view *v,
                                 const sigset_t *sigs)
{
	int64_t until = mono_ns() + RETRY_NS;
	char err[1024];

	for (;;) {
		pt_view_init(v);
		if (pt_target_load(pidarg, v, err, sizeof(err)) == 0 &&
		    v->start_ticks == first->start_ticks)
			return STOP_NOT;
		pt_view_free(v);
		if (first->kernel_format) { /* the kernel does not exit: say why */
			pt_err("record: %s", err);
			return STOP_ERROR;
		}
		if (proc_gone(first->pid, first->start_ticks))
			return STOP_EXITED;
		if (mono_ns() > until) {
			pt_err("record: %s", err);
			return STOP_ERROR;
		}
		if (wait_until(mono_ns() + NS_PER_S / 50, sigs))
			return STOP_SIGNAL;
	}
}

/* The loop after the first sample: one sample per due time until the
 * duration is over, a signal comes, or the target goes away. */
static enum why_stop record_loop(struct pt_rec_writer *w, const struct pt_view *first,
                                 const char *pidarg, int64_t interval, int64_t duration,
                                 const sigset_t *sigs)
{
	int64_t start = mono_ns();
	char err[1024];

	if (duration == 0)
		return STOP_DURATION; /* the first sample was all */
	for (int64_t k = 1;; k++) {
		int64_t at = k * interval, now;
		struct pt_view v;
		enum why_stop why;
		int last = duration >= 0 && at >= duration;

		if (last)
			at = duration; /* the last sample, at the end of the duration */
		if (wait_until(start + at, sigs))
			return STOP_SIGNAL;
		now = mono_ns() - start;
		if (now - at >= interval) /* overran: skip the due times missed */
			k = now / interval;
		if ((why = read_target(pidarg, first, &v, sigs)) != STOP_NOT)
			return why;
		if (pt_rec_append(w, &v, err, sizeof(err)) != 0) {
			pt_view_free(&v);
			pt_err("%s", err);
			return STOP_ERROR;
		}
		pt_view_free(&v);
		if (last)
			return STOP_DURATION;
	}
}

/* ---- Parse --------------------------------------------------------------- */

struct record_opts {
	const char *out;    /* -o FILE */
	const char *target; /* a PID, or "kernel" */
	int64_t interval;   /* ns */
	int64_t duration;   /* ns; -1 until stopped */
};

static int record_parse(int argc, char **argv, struct record_opts *o)
{
	static const struct option longs[] = {{"output", required_argument, 0, 'o'},
	                                      {"interval", required_argument, 0, 'i'},
	                                      {"duration", required_argument, 0, 'd'},
	                                      {"help", no_argument, 0, 'h'},
	                                      {0, 0, 0, 0}};
	int ch;

	*o = (struct record_opts){.interval = NS_PER_S, .duration = -1};
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "o:i:d:h", longs, NULL)) != -1) {
		if (ch == 'h')
			return usage(stdout);
		if (ch == 'o')
			o->out = optarg;
		else if (ch == 'i' &&
		         (o->interval = parse_seconds("--interval", optarg, NS_PER_S / 1000,
		                                      86400 * NS_PER_S)) < 0)
			return 2;
		else if (ch == 'd' &&
		         (o->duration = parse_seconds("--duration", optarg, 0, INT64_MAX / 4)) < 0)
			return 2;
		else if (ch != 'i' && ch != 'd')
			return pt_getopt_err("record", argv);
	}
	if (argc - optind != 1)
		return pt_usage_err("record",
		                    "wants one argument, the PID of the process to record");
	o->target = argv[optind];
	if (strcmp(o->target, "kernel") != 0 &&
	    (!*o->target || strspn(o->target, "0123456789") != strlen(o->target)))
		return pt_usage_err("record", "'%s' is not a PID (record reads a live process)",
		                    o->target);
	if (!o->out)
		return pt_usage_err("record", "-o FILE is required");
	return PT_PARSED;
}

/* ---- Execute ------------------------------------------------------------- */

/* The first sample read into first and written into a new recording: the
 * writer, or NULL (message printed). */
static struct pt_rec_writer *record_start(const struct record_opts *o, struct pt_view *first)
{
	struct pt_rec_writer *w;
	char err[1024];

	if (pt_target_load(o->target, first, err, sizeof(err)) != 0) {
		pt_err("%s", err);
		return NULL;
	}
	if (!(w = pt_rec_create(o->out, first, o->interval / 1000, err, sizeof(err))) ||
	    pt_rec_append(w, first, err, sizeof(err)) != 0) {
		pt_err("%s", err);
		if (w)
			pt_rec_close(w, err, sizeof(err));
		return NULL;
	}
	return w;
}

/* ---- Print --------------------------------------------------------------- */

/* What is recorded, where, how often: before the loop. */
static void print_start(const struct record_opts *o, const struct pt_view *first)
{
	char b[256];

	if (first->kernel_format)
		printf("recording the kernel (%s) to %s every %g s",
		       pt_safe_str(first->kernel_source, b, sizeof(b)), o->out,
		       (double)o->interval / 1e9);
	else
		printf("recording pid %d (%s) to %s every %g s", (int)first->pid,
		       pt_safe_str(first->comm, b, sizeof(b)), o->out, (double)o->interval / 1e9);
	if (o->duration >= 0)
		printf(" for %g s", (double)o->duration / 1e9);
	printf("\n");
	fflush(stdout);
}

/* How many samples, and why the loop stopped. */
static void print_end(const struct pt_view *first, const struct pt_rec_writer *w,
                      enum why_stop why)
{
	if (first->kernel_format)
		printf("recorded %zu samples of the kernel", pt_rec_nsamples(w));
	else
		printf("recorded %zu samples of pid %d", pt_rec_nsamples(w), (int)first->pid);
	printf(why == STOP_SIGNAL   ? ": interrupted\n"
	       : why == STOP_EXITED ? ": the process exited\n"
	       : why == STOP_ERROR  ? ": stopped by an error\n"
	                            : "\n");
}

/* ---- The command --------------------------------------------------------- */

int pt_cmd_record(int argc, char **argv)
{
	struct record_opts o;
	struct pt_rec_writer *w;
	struct pt_view first;
	sigset_t sigs, old;
	enum why_stop why;
	char err[1024];
	int rc = record_parse(argc, argv, &o);

	if (rc != PT_PARSED)
		return rc;
	pt_view_init(&first);
	/* From here a signal waits for the current sample to be written. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, &old);
	rc = 1;
	if ((w = record_start(&o, &first))) {
		print_start(&o, &first);
		why = record_loop(w, &first, o.target, o.interval, o.duration, &sigs);
		print_end(&first, w, why);
		rc = why == STOP_ERROR;
		if (pt_rec_close(w, err, sizeof(err)) != 0) {
			pt_err("%s", err);
			rc = 1;
		}
		if (pt_flush_stdout() != 0)
			rc = 1;
	}
	pt_view_free(&first);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}
