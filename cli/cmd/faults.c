/*
 * faults.c - pooltag faults [options] -- PROGRAM ARGS: systematic fault
 * injection on a program, linked with pooltag or not (then it runs under
 * pooltag run's interposer, see interpose()).
 *
 * The first run fails nothing and counts the acquisitions the program makes
 * (allocations, references, handle opens; the --config filters choose);
 * run k then fails the k-th, for every k.  Each run is checked at every
 * module unload and at exit (POOLTAG exit-check), and reports crashes and
 * misuse; the report lists each distinct failing site that led to a
 * finding.  With --stacks a run fails the first acquisition of each
 * distinct call stack instead (fewer runs for programs that acquire in
 * loops).
 *
 * Speed: the program is started once per worker (-j) and becomes a fork
 * server at its first acquisition (fault.c), so a run costs a fork.  A
 * program that has threads by then cannot be forked safely; each run then
 * execs it afresh.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "faultrun.h"
#include "pooltag.h"
#include "safestr.h"

#define RESULT_FD 200 /* where a run finds its result file */
#define SERVER_FD 201 /* and its fork server's socket */
#define MAX_JOBS 64

struct worker {
	struct pt_fault_result res;
	pid_t server;  /* the program started by this worker, 0 if none */
	int sock;      /* its fork server socket, -1 in exec mode */
	pid_t run;     /* the run in progress, 0 if idle */
	uint64_t k;    /* its number */
	int64_t since; /* when it started (ns) */
};

static struct {
	char **argv;
	const char *name; /* the program, as the summary names it */
	const char *config;
	int stack_mode, show_output, exec_mode;
	double timeout;
	uint64_t max_runs;
	volatile sig_atomic_t stop;
} fo;

/*
 * The program to drive.  One that carries libpooltag is run as it is; any
 * other (an unmodified program, a script) runs under pooltag run, whose
 * interposer makes its allocations and descriptors candidates: the same as
 * "pooltag faults -- pooltag run -q -- PROGRAM", without the ceremony.
 * The summary names the program either way.
 */
static int interpose(int argc, char **argv)
{
	static char self[4096];
	char file[4096];
	char **v;
	ssize_t n;

	fo.argv = argv;
	fo.name = argv[0];
	if (pt_find_program(argv[0], file, sizeof(file)) != 0)
		return 0; /* execvp says why */
	if (pt_links_pooltag(file)) {
		const char *b = strrchr(argv[0], '/');
		if (strcmp(b ? b + 1 : argv[0], "pooltag") == 0 && argc > 1 && strcmp(argv[1], "run") == 0)
			for (int i = 2; i + 1 < argc; i++)
				if (strcmp(argv[i], "--") == 0) {
					fo.name = argv[i + 1];
					break;
				}
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || !(v = calloc((size_t)argc + 5, sizeof(*v)))) {
		pt_err("faults: cannot find pooltag itself to interpose %s", argv[0]);
		return -1;
	}
	self[n] = 0;
	v[0] = self;
	v[1] = "run";
	v[2] = "-q";
	v[3] = "--";
	memcpy(v + 4, argv, (size_t)argc * sizeof(*v));
	fo.argv = v;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pooltag faults [-j N] [--stacks] [-c OPTIONS] [--timeout S] [--max-runs N]\n"
		"                      [--show-output] [--no-server] -- PROGRAM [ARGS]\n"
		"Runs PROGRAM once to count its acquisitions, then once for each, failing it, and\n"
		"reports the failing sites that lead to a leak, a crash or misuse.\n"
		"  -j, --jobs N        runs in parallel (default: the number of CPUs)\n"
		"  --stacks            fail each distinct call stack once, not each acquisition\n"
		"  -c, --config OPTS   more POOLTAG options, e.g. fail.kinds=ref+handle,fail.module=libsey.so\n"
		"  --timeout S         a run taking longer is killed and reported (default 10)\n"
		"  --max-runs N        stop after N failing runs\n"
		"  --show-output       let the runs write to the terminal\n"
		"  --no-server         exec the program for every run (no fork server)\n"
		"Exit status: 0 nothing found, 1 findings, 2 usage, 3 the program could not be run.\n");
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_signal(int sig)
{
	(void)sig;
	fo.stop = 1;
}

/* Starts the program for worker w: a fork server (sock >= 0), or, in exec
 * mode, run k itself.  0, or -1 with a message printed. */
static int start(struct worker *w, uint64_t k, uint64_t stack)
{
	int sv[2] = {-1, -1};
	char env[4096];
	const char *old = getenv("POOLTAG");
	pid_t pid;

	if (!fo.exec_mode && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		pt_err("faults: socketpair: %s", strerror(errno));
		return -1;
	}
	snprintf(env, sizeof(env),
		 "%s%sverify=continue,exit-check=1,output=/dev/null,fail.result=%d%s%s%s%s",
		 old && *old ? old : "", old && *old ? "," : "", RESULT_FD,
		 fo.exec_mode ? "" : ",fail.server=201", fo.config ? "," : "",
		 fo.config ? fo.config : "", fo.stack_mode && k == 0 ? ",fail.stacks=1" : "");
	if (fo.exec_mode && k) {
		size_t n = strlen(env);
		if (fo.stack_mode)
			snprintf(env + n, sizeof(env) - n, ",fail.stack=%llu", (unsigned long long)stack);
		else
			snprintf(env + n, sizeof(env) - n, ",fail.nth=%llu", (unsigned long long)k);
	}
	pt_fault_result_reset(&w->res);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		pt_err("faults: fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		signal(SIGINT, SIG_DFL);
		setpgid(0, 0); /* Ctrl-C stops the driver, which stops the runs */
		if (null >= 0) {
			dup2(null, 0);
			if (!fo.show_output)
				dup2(null, 1), dup2(null, 2);
		}
		dup2(w->res.fd, RESULT_FD);
		if (sv[1] >= 0)
			dup2(sv[1], SERVER_FD);
		setenv("POOLTAG", env, 1);
		setenv("POOLTAG_EXPORT", "0", 1); /* nobody reads the runs' counters */
		execvp(fo.argv[0], fo.argv);
		_exit(127);
	}
	if (sv[1] >= 0)
		close(sv[1]);
	w->server = fo.exec_mode ? 0 : pid;
	w->run = fo.exec_mode ? pid : 0;
	w->sock = sv[0];
	w->k = k;
	w->since = now_ns();
	return 0;
}

static int reply(struct worker *w, struct pt_fault_reply *r, int timeout_ms)
{
	struct pollfd p = {w->sock, POLLIN, 0};
	char *b = (char *)r;
	size_t got = 0;

	while (got < sizeof(*r)) {
		int n = poll(&p, 1, timeout_ms);
		ssize_t m;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		m = read(w->sock, b + got, sizeof(*r) - got);
		if (m <= 0)
			return -1;
		got += (size_t)m;
	}
	return 0;
}

/* Ends worker w's program (the fork server and what runs). */
static void stop_worker(struct worker *w)
{
	if (w->run > 0)
		kill(w->run, SIGKILL);
	if (w->sock >= 0)
		close(w->sock);
	w->sock = -1;
	if (w->server > 0) {
		kill(w->server, SIGKILL);
		waitpid(w->server, NULL, 0);
	}
	if (w->run > 0 && fo.exec_mode)
		waitpid(w->run, NULL, 0);
	w->server = 0;
	w->run = 0;
}

/* Sends run k to w's fork server.  0, or -1 if the server is gone. */
static int dispatch(struct worker *w, uint64_t k, const struct pt_fault_tally *t)
{
	struct pt_fault_cmd cmd = {0};
	struct pt_fault_reply r;

	if (fo.stack_mode && k)
		cmd.stack = t->stacks[k - 1];
	else
		cmd.nth = k;
	if (fo.exec_mode)
		return start(w, k, cmd.stack);
	cmd.stacks = fo.stack_mode && k == 0;
	pt_fault_result_reset(&w->res);
	if (write(w->sock, &cmd, sizeof(cmd)) != (ssize_t)sizeof(cmd) ||
	    reply(w, &r, 10000) || r.kind != PT_FAULT_REPLY_PID || r.value <= 0)
		return -1;
	w->run = r.value;
	w->k = k;
	w->since = now_ns();
	return 0;
}

/* Waits up to ms for a run of w to end; its wait status, -1 if it timed
 * out (and was killed), -2 if still running, -3 if the server died. */
static int finish(struct worker *w, int ms)
{
	int st;

	if (w->run && (now_ns() - w->since) / 1e9 > fo.timeout) {
		kill(w->run, SIGKILL);
		if (fo.exec_mode)
			waitpid(w->run, NULL, 0);
		else {
			struct pt_fault_reply r;
			if (reply(w, &r, 10000))
				return -3;
		}
		w->run = 0;
		return -1;
	}
	if (fo.exec_mode) {
		pid_t p = waitpid(w->run, &st, ms ? 0 : WNOHANG);
		if (p == 0)
			return -2;
		w->run = 0;
		return p < 0 ? -3 : st;
	} else {
		struct pollfd p = {w->sock, POLLIN, 0};
		struct pt_fault_reply r;
		if (poll(&p, 1, ms) == 0)
			return -2;
		if (reply(w, &r, 10000) || r.kind != PT_FAULT_REPLY_STATUS)
			return -3;
		w->run = 0;
		return r.value;
	}
}

/* The counting run: on worker w, which starts the program.  The number of
 * failing runs to make, or -1 (message printed). */
static long long counting_run(struct worker *w, struct pt_fault_tally *t)
{
	struct pt_fault_reply r;
	int st = -2;

	if (start(w, 0, 0))
		return -1;
	if (!fo.exec_mode) {
		if (reply(w, &r, (int)(fo.timeout * 1000)) < 0) {
			/* no acquisition before exit (or a hang): the program's status says */
			int s2;
			waitpid(w->server, &s2, 0);
			w->server = 0;
			pt_err("faults: %s made no acquisition pooltag can fail (is it linked with "
			       "libpooltag?)%s",
			       fo.name, WIFEXITED(s2) && WEXITSTATUS(s2) == 127
						   ? ": it could not be run"
						   : "");
			return -1;
		}
		if (r.kind == PT_FAULT_REPLY_NOSERVER) {
			/* threads already: this process is the counting run */
			fo.exec_mode = 1;
			w->run = w->server;
			w->server = 0;
			close(w->sock);
			w->sock = -1;
		} else if (dispatch(w, 0, t)) {
			pt_err("faults: %s: the fork server stopped", fo.name);
			return -1;
		}
	}
	while ((st = finish(w, 100)) == -2 && !fo.stop)
		;
	if (st == -3 || fo.stop) {
		pt_err("faults: %s: the counting run did not finish", fo.name);
		return -1;
	}
	if (fo.exec_mode && WIFEXITED(st) && WEXITSTATUS(st) == 127 && w->res.page->ncand == 0) {
		pt_err("faults: cannot run %s", fo.name);
		return -1;
	}
	pt_fault_collect(t, &w->res, 0, st, 1);
	return fo.stack_mode ? (long long)t->nstacks : (long long)w->res.page->ncand;
}

static void progress(uint64_t done, uint64_t total, const struct pt_fault_tally *t, int64_t t0)
{
	double s = (now_ns() - t0) / 1e9;

	fprintf(stderr, "\rpooltag faults: %llu/%llu runs, %.0f runs/s, %llu finding%s ",
		(unsigned long long)done, (unsigned long long)total, s > 0 ? done / s : 0.0,
		(unsigned long long)t->nfound, t->nfound == 1 ? "" : "s");
}

/* ---- Parse --------------------------------------------------------------- */

/* One drive of the program: the workers, what their runs found, how far it got. */
struct drive {
	char **prog; /* the program and its arguments, as given */
	int nprog;
	long jobs; /* workers, each with a result file */
	int nw;    /* workers in use: with a fork server, or with runs in exec mode */
	struct worker w[MAX_JOBS];
	struct pt_fault_tally t;
	long long total; /* failing runs to make */
	uint64_t done;   /* failing runs finished */
	int64_t t0;      /* when the counting run started */
};

/* One option of getopt_long's but --help: 0, or 2 on a usage error
 * (printed). */
static int take_opt(struct drive *s, int c, char *arg, char **argv)
{
	char *end;
	long n;

	switch (c) {
	case 'j':
		s->jobs = pt_parse_count("faults", "--jobs", arg);
		if (s->jobs < 1 || s->jobs > MAX_JOBS)
			return s->jobs < 0 ? 2
					   : pt_usage_err("faults", "--jobs: 1 to %d", MAX_JOBS);
		return 0;
	case 's':
		fo.stack_mode = 1;
		return 0;
	case 'c':
		fo.config = arg;
		return 0;
	case 't':
		fo.timeout = strtod(arg, &end);
		if (*end || !(fo.timeout > 0))
			return pt_usage_err("faults", "--timeout: '%s' is not a number of seconds",
					    arg);
		return 0;
	case 'm':
		if ((n = pt_parse_count("faults", "--max-runs", arg)) < 0)
			return 2;
		fo.max_runs = (uint64_t)n;
		return 0;
	case 'o':
		fo.show_output = 1;
		return 0;
	case 'n':
		fo.exec_mode = 1;
		return 0;
	default:
		return pt_getopt_err("faults", argv);
	}
}

/* The options into fo and s, up to the program ('+': its options are its
 * own). */
static int faults_parse(int argc, char **argv, struct drive *s)
{
	static const struct option longopts[] = {
		{"jobs", required_argument, NULL, 'j'},   {"stacks", no_argument, NULL, 's'},
		{"config", required_argument, NULL, 'c'}, {"timeout", required_argument, NULL, 't'},
		{"max-runs", required_argument, NULL, 'm'}, {"show-output", no_argument, NULL, 'o'},
		{"no-server", no_argument, NULL, 'n'},    {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	int c, rc;

	memset(&fo, 0, sizeof(fo));
	fo.timeout = 10;
	/* One worker per CPU, as many as the worker table holds. */
	s->jobs = sysconf(_SC_NPROCESSORS_ONLN);
	if (s->jobs > MAX_JOBS)
		s->jobs = MAX_JOBS;
	optind = 1;
	opterr = 0; /* pt_getopt_err says it, in one line */
	while ((c = getopt_long(argc, argv, "+j:c:h", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if ((rc = take_opt(s, c, optarg, argv)) != 0)
			return rc;
	}
	if (optind >= argc)
		return pt_usage_err("faults", "no program given (pooltag faults -- PROGRAM ARGS)");
	if (fo.config && pt_config(fo.config) != 0)
		return pt_usage_err("faults", "--config: %s", pt_config_error());
	s->prog = argv + optind;
	s->nprog = argc - optind;
	return PT_PARSED;
}

/* ---- Execute ------------------------------------------------------------- */

/* A result file per worker: 0, or 3 (message printed). */
static int open_workers(struct drive *s)
{
	for (long i = 0; i < s->jobs; i++)
		if (pt_fault_result_open(&s->w[i].res)) {
			pt_err("faults: cannot make a result file: %s", strerror(errno));
			return 3;
		}
	return 0;
}

/* The workers after the first start their own programs (fork servers),
 * no more than there are runs; the first that fails ends the starting. */
static void start_servers(struct drive *s)
{
	for (s->nw = 1; s->nw < s->jobs && (long long)s->nw < s->total; s->nw++) {
		struct worker *w = &s->w[s->nw];
		struct pt_fault_reply r;
		if (fo.exec_mode)
			continue;
		if (start(w, 0, 0) || reply(w, &r, (int)(fo.timeout * 1000)) ||
		    r.kind != PT_FAULT_REPLY_READY) {
			stop_worker(w);
			break;
		}
	}
}

/* Hands the next runs to the idle workers and lists in p the sockets of
 * those running: their number, or -1 if a run could not start (message
 * printed). */
static int dispatch_idle(struct drive *s, uint64_t *next, struct pollfd *p)
{
	int np = 0;

	for (int i = 0; i < s->nw; i++) {
		struct worker *w = &s->w[i];
		if (!w->run && *next <= (uint64_t)s->total) {
			if (dispatch(w, *next, &s->t)) {
				pt_err("faults: %s: run %llu could not start", fo.name,
				       (unsigned long long)*next);
				return -1;
			}
			(*next)++;
		}
		if (w->run && !fo.exec_mode)
			p[np++] = (struct pollfd){w->sock, POLLIN, 0};
	}
	return np;
}

/* Collects the runs that ended: 0, or -1 if a fork server stopped
 * (message printed). */
static int collect_ended(struct drive *s)
{
	for (int i = 0; i < s->nw; i++) {
		struct worker *w = &s->w[i];
		int st;
		if (!w->run)
			continue;
		st = finish(w, 0);
		if (st == -2)
			continue;
		if (st == -3) {
			pt_err("faults: %s: the fork server stopped during run %llu", fo.name,
			       (unsigned long long)w->k);
			return -1;
		}
		pt_fault_collect(&s->t, &w->res, w->k, st, 0);
		s->done++;
	}
	return 0;
}

/* The failing runs, on every worker, until all are done or a signal
 * stops them; progress on stderr if it is a terminal.  0, or 3. */
static int failing_runs(struct drive *s)
{
	int tty = isatty(2);
	uint64_t next = 1;
	int64_t last = 0;

	while (s->done < (uint64_t)s->total && !fo.stop) {
		struct pollfd p[MAX_JOBS];
		int np = dispatch_idle(s, &next, p);
		if (np < 0)
			return 3;
		/* Sleep until a run ends (exec mode: a short nap, then waitpid). */
		if (np)
			poll(p, (nfds_t)np, 50);
		else if (fo.exec_mode)
			usleep(200);
		if (collect_ended(s) != 0)
			return 3;
		if (tty && now_ns() - last > 100000000) {
			progress(s->done, (uint64_t)s->total, &s->t, s->t0);
			last = now_ns();
		}
	}
	if (tty)
		fprintf(stderr, "\r\033[K");
	return 0;
}

/* The program found, the result files made, the counting run and then the
 * failing runs: 0, or 3 (message printed). */
static int faults_execute(struct drive *s)
{
	int rc;

	if (interpose(s->nprog, s->prog) != 0)
		return 3;
	if (s->jobs < 1)
		s->jobs = 1;
	if ((rc = open_workers(s)) != 0)
		return rc;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	s->t0 = now_ns();
	if ((s->total = counting_run(&s->w[0], &s->t)) < 0)
		return 3;
	if (fo.max_runs && (uint64_t)s->total > fo.max_runs)
		s->total = (long long)fo.max_runs;
	start_servers(s);
	return failing_runs(s);
}

/* ---- Print --------------------------------------------------------------- */

/* The findings, their names (the program's symbols and files) made safe
 * for a terminal line by line (safestr.h). */
static void print_findings(const struct pt_fault_tally *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		pt_err("out of memory");
		return;
	}
	pt_fault_print(f, t, fo.stack_mode);
	if (fclose(f) == 0 && buf) {
		pt_safe_lines(buf, len);
		fwrite(buf, 1, len, stdout);
	}
	free(buf);
}

/* The summary (the counting run is one of the runs), then the findings. */
static void faults_print(const struct drive *s)
{
	double secs = (now_ns() - s->t0) / 1e9;
	uint64_t done = s->done;

	printf("pooltag faults: %s: %lld %sacquisition%s%s, %llu run%s in %.2f s (%.0f runs/s)%s, "
	       "%llu finding%s\n",
	       fo.name, s->total, fo.stack_mode ? "distinct " : "", s->total == 1 ? "" : "s",
	       fo.stack_mode ? " stacks" : "", (unsigned long long)done + 1, done ? "s" : "", secs,
	       secs > 0 ? (done + 1) / secs : 0.0, fo.exec_mode ? " (exec per run)" : "",
	       (unsigned long long)s->t.nfound, s->t.nfound == 1 ? "" : "s");
	if (fo.stop)
		printf("pooltag faults: interrupted after %llu of %lld runs; findings so far:\n",
		       (unsigned long long)done, s->total);
	print_findings(&s->t);
}

/* ---- The command --------------------------------------------------------- */

int pt_cmd_faults(int argc, char **argv)
{
	struct drive s = {.prog = NULL};
	int rc = faults_parse(argc, argv, &s);

	if (rc != PT_PARSED)
		return rc;
	/* Every worker idle and without a result file, whatever fails next. */
	for (int i = 0; i < MAX_JOBS; i++)
		s.w[i] = (struct worker){.sock = -1, .res = {.fd = -1}};
	if ((rc = faults_execute(&s)) == 0) {
		faults_print(&s);
		rc = s.t.nfound ? 1 : 0;
	}
	for (int i = 0; i < MAX_JOBS; i++) {
		stop_worker(&s.w[i]);
		pt_fault_result_close(&s.w[i].res);
	}
	pt_fault_tally_free(&s.t);
	if (pt_flush_stdout())
		rc = 3;
	return fo.stop && rc != 3 ? 130 : rc;
}
