/*
 * faultrun.h - systematic fault injection, the driver's side: what a driven
 * run leaves in its result file, the fork server's protocol, and the
 * bookkeeping that turns many runs into a short list of findings.  Used by
 * `pooltag faults` (cli/cmd/faults.c) and pt_fault_each (faultrun.c), a
 * driver of the library's API, so it is the library's; fault.c is the side
 * inside the program (fault.h), which writes the result file and serves the
 * protocol.  Not part of the public API.
 *
 * The result file: one page (struct pt_fault_page) the run maps shared,
 * then lines appended by the run, one record each, fields separated by tabs:
 *   F kind tag site       the acquisition this run failed
 *   f stack               its call stack (written before a run's first finding)
 *   L module kind tag type site count bytes
 *                         held at a module's unload or the program's exit
 *   M text                a misuse report
 *   C signal n            a fatal signal, followed by n raw frame lines
 *   c stack               the crash's symbolised stack
 *   S hash                a distinct call stack met (counting run, stack mode)
 * A run's lines are untrusted input to the driver: a crashing program can
 * leave anything there; the reader skips what it does not understand.
 */
#ifndef PT_FAULTRUN_H
#define PT_FAULTRUN_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define PT_FAULT_PAGE 4096

struct pt_fault_page {
	uint64_t ncand;     /* candidates this run met */
	uint64_t failed_at; /* the candidate it failed, 0 if none */
};

/* Fork server protocol over one socket: the server sends READY (or
 * NOSERVER, then goes on as an ordinary run); per command it replies PID,
 * then STATUS (a wait status).  Closing the socket ends the server. */
struct pt_fault_cmd {
	uint64_t nth, stack, stacks;
};
enum { PT_FAULT_REPLY_READY = 1, PT_FAULT_REPLY_NOSERVER, PT_FAULT_REPLY_PID,
       PT_FAULT_REPLY_STATUS };
struct pt_fault_reply {
	int32_t kind;
	int32_t value;
};

/* ---- faultrun.c (the driver) ---- */

/* A result file: an unlinked memory file, its page mapped. */
struct pt_fault_result {
	int fd;
	struct pt_fault_page *page;
};
int pt_fault_result_open(struct pt_fault_result *r); /* 0, or -1 with errno */
void pt_fault_result_close(struct pt_fault_result *r);
int pt_fault_result_reset(struct pt_fault_result *r); /* empty, before a run */

struct pt_fault_finding;
struct pt_fault_tally {
	struct pt_fault_finding *f;
	size_t n, cap;
	char **base; /* signatures of findings of the run that failed nothing */
	size_t nbase;
	uint64_t *stacks; /* distinct stack hashes (stack mode) */
	size_t nstacks, stacks_cap;
	uint64_t runs, ncand, nfound;
};

/*
 * Reads the result of run k (nth = k, or the k-th stack; 0: the counting
 * run, whose findings become the baseline that later runs do not repeat)
 * that ended with wait status `status` (-1: timed out and killed) and adds
 * its new findings.  Returns how many it added, -1 on out of memory.
 */
int pt_fault_collect(struct pt_fault_tally *t, struct pt_fault_result *r, uint64_t k,
		     int status, int baseline);
/* Prints the findings, grouped by failing site, each with the option that
 * repeats its first run (fail.nth=K, or fail.stack=H in stack mode). */
void pt_fault_print(FILE *out, const struct pt_fault_tally *t, int stack_mode);
void pt_fault_tally_free(struct pt_fault_tally *t);

#endif /* PT_FAULTRUN_H */
