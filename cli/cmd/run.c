/*
 * run.c - pooltag run [OPTIONS] -- PROGRAM [ARGS]: runs an unmodified,
 * dynamically linked program with the interposer (libpooltag-preload.so)
 * in LD_PRELOAD, waits for it, and exits with its status, or with
 * --error-exitcode's when the interposer reported findings.
 *
 * The interposer is found beside this executable (the build tree), else
 * where make install put it.  Options travel in POOLTAG_RUN_* variables
 * (preload/config.c reads them).  In a private directory this command
 * makes and removes, the interposer appends its reports to a spool file
 * (preload/channel.c) and one status line per process end ("end PID
 * findings N", "exec PID findings N").  When the program ends, the spool
 * is copied to this command's standard error, which it owns whatever the
 * program did with its own; a program that ended without a verdict (killed
 * by SIGKILL, a raw exit system call, a set-user-ID program that the
 * dynamic linker runs without LD_PRELOAD) gets one from here, saying how
 * it ended.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "runsupp.h"
#include "tagmap.h"

#ifndef PT_PRELOAD_DEFAULT
#define PT_PRELOAD_DEFAULT "/usr/local/lib/pooltag/libpooltag-preload.so"
#endif
#define PRELOAD_NAME "libpooltag-preload.so"

static const char usage_text[] =
	"usage: pooltag run [OPTIONS] [--] PROGRAM [ARGS...]\n"
	"Runs PROGRAM with its allocations and descriptors counted per module and call\n"
	"site ('pooltag used PID' reads them live); reports what is still held at exit\n"
	"and when a shared object is unloaded.\n"
	"  -o, --output FILE        append reports to FILE instead of standard error\n"
	"  -e, --error-exitcode N   exit with N (1-255) when there are findings\n"
	"  -q, --quiet              say nothing about a clean run\n"
	"  -a, --all                also list what the C runtime itself still holds\n"
	"  -m, --tags-map FILE      tags for modules and functions, wrappers to skip\n"
	"  -s, --skip GLOB[,GLOB]   allocation wrappers whose caller is charged\n"
	"  -t, --track none|blocks|stacks  a record per block with its call stack (stacks,\n"
	"                           the default), without (blocks), none (counts only)\n"
	"      --no-stacks          --track blocks: lost memory grouped per site\n"
	"  -r, --show-reachable     list still reachable memory by group, not one line\n"
	"  -f, --follow-exec        interpose the programs PROGRAM executes too\n"
	"  -j, --json FILE          append a JSON report per process to FILE\n"
	"  -S, --suppressions FILE  findings to leave out (leak:, fd:, free:, any: lines)\n"
	"  -g, --gen-suppressions   print a suppression entry for each finding\n";

static pid_t child;

static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

/* The interposer: beside this executable (the build folder), in
 * ../lib/pooltag/ (an installed tree, wherever its PREFIX), else at the
 * configured path. */
static int find_preload(char *out, size_t len)
{
	static const char *const rel[] = {"/", "/../lib/pooltag/"};
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *env = getenv("POOLTAG_PRELOAD");

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return access(out, R_OK) == 0 ? 0 : -1;
	}
	if (n > 0) {
		char *slash;
		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++)
				if ((size_t)snprintf(out, len, "%s%s%s", self, rel[i],
						     PRELOAD_NAME) < len &&
				    access(out, R_OK) == 0)
					return 0;
		}
	}
	snprintf(out, len, "%s", PT_PRELOAD_DEFAULT);
	return access(out, R_OK) == 0 ? 0 : -1;
}

/* What the status lines say: the findings summed, and how the last
 * record of pid ended ('e' end, 'x' exec, 0 none). */
static long read_status(const char *path, pid_t pid, int *last)
{
	FILE *f = fopen(path, "r");
	long sum = 0, n;
	int p;
	char line[128], what[16];

	*last = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%15s %d findings %ld", what, &p, &n) != 3)
			continue;
		if (n > 0)
			sum += n;
		if (p == pid)
			*last = strcmp(what, "exec") == 0 ? 'x' : 'e';
	}
	fclose(f);
	return sum;
}

/* Copies the spool to fd (this command's standard error). */
static void copy_spool(const char *path, int fd)
{
	char buf[65536];
	int in = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (in < 0)
		return;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			break;
	close(in);
}

/* A program that died without a verdict left its segment file behind
 * (no exit handler ran): it is removed if it is ours. */
static void remove_segment(pid_t pid)
{
	const char *dir = getenv("POOLTAG_DIR");
	char path[PATH_MAX];
	struct stat st;

	if (!dir || !*dir)
		dir = "/dev/shm";
	snprintf(path, sizeof(path), "%s/pooltag-%d", dir, (int)pid);
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid())
		unlink(path);
}

/* The verdict of a program that left none: how it ended. */
static void fallback(FILE *out, const char *name, pid_t pid, int status, int last)
{
	const char *why = last == 'x' ? "the program it executed was not interposed (statically linked, or set-user-ID)"
				      : "it was not interposed (statically linked, or set-user-ID), or left by a raw exit system call";

	if (WIFSIGNALED(status)) {
		fprintf(out, "pooltag: %s (pid %d) killed by SIG%s: no report (the signal cannot be caught, or came while pooltag was busy)\n",
			name, (int)pid, sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
		return;
	}
	fprintf(out, "pooltag: %s (pid %d) exited with status %d: no report (%s)\n", name, (int)pid,
		WIFEXITED(status) ? WEXITSTATUS(status) : -1, why);
}

static int set_env(const char *name, const char *value)
{
	if (setenv(name, value, 1) != 0) {
		pt_err("run: cannot set %s: %s", name, strerror(errno));
		return -1;
	}
	return 0;
}

/* The private directory of a run: its spool and status files. */
struct rundir {
	char dir[64], spool[96], status[96];
};

static int rundir_make(struct rundir *d)
{
	int fd;

	snprintf(d->dir, sizeof(d->dir), "/tmp/pooltag-run.XXXXXX");
	if (!mkdtemp(d->dir))
		return -1;
	snprintf(d->spool, sizeof(d->spool), "%s/reports", d->dir);
	snprintf(d->status, sizeof(d->status), "%s/status", d->dir);
	fd = open(d->spool, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	if (fd < 0 || (fd = open(d->status, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		unlink(d->spool);
		rmdir(d->dir);
		return -1;
	}
	close(fd);
	return 0;
}

static void rundir_remove(const struct rundir *d)
{
	unlink(d->spool);
	unlink(d->status);
	rmdir(d->dir);
}

/* The options, as the interposer reads them (preload/config.c). */
struct runopts {
	const char *output, *tagsmap, *skip, *track, *json, *supp;
	int quiet, all, follow, gensupp, reachable;
};

static int export_opts(const struct runopts *o, const char *preload, const struct rundir *d)
{
	const char *ld = getenv("LD_PRELOAD");
	int e;

	if (ld && *ld) {
		char *both = malloc(strlen(preload) + strlen(ld) + 2);
		if (!both) {
			pt_err("run: out of memory");
			return -1;
		}
		sprintf(both, "%s:%s", preload, ld);
		e = set_env("LD_PRELOAD", both);
		free(both);
	} else {
		e = set_env("LD_PRELOAD", preload);
	}
	e = e ? e : set_env("POOLTAG_RUN_STATUS", d->status);
	e = e ? e : set_env("POOLTAG_RUN_SPOOL", d->spool);
	if (!e && o->output)
		e = set_env("POOLTAG_RUN_OUTPUT", o->output);
	if (!e && o->tagsmap)
		e = set_env("POOLTAG_RUN_TAGS_MAP", o->tagsmap);
	if (!e && o->skip)
		e = set_env("POOLTAG_RUN_SKIP", o->skip);
	if (!e && o->track)
		e = set_env("POOLTAG_RUN_TRACK", o->track);
	if (!e && o->json)
		e = set_env("POOLTAG_RUN_JSON", o->json);
	if (!e && o->supp)
		e = set_env("POOLTAG_RUN_SUPPRESS", o->supp);
	if (!e && o->gensupp)
		e = set_env("POOLTAG_RUN_GEN_SUPP", "1");
	if (!e && o->quiet)
		e = set_env("POOLTAG_RUN_QUIET", "1");
	if (!e && o->all)
		e = set_env("POOLTAG_RUN_ALL", "1");
	if (!e && o->reachable)
		e = set_env("POOLTAG_RUN_REACHABLE", "1");
	if (!e && o->follow)
		e = set_env("POOLTAG_RUN_FOLLOW_EXEC", "1");
	return e;
}

/* A file the user named for pooltag to write: it must be writable now. */
static int check_writable(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (fd < 0) {
		pt_err("run: cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/* ---- Parse --------------------------------------------------------------- */

/* The command line: the interposer's options, this command's own, the
 * program. */
struct run_args {
	struct runopts o;
	int errcode; /* --error-exitcode's status on findings; -1 none */
	char **prog; /* the program and its arguments */
	/* the options' files made absolute */
	char out_abs[PATH_MAX + 8], json_abs[PATH_MAX + 8], supp_abs[PATH_MAX + 8];
};

/* One option of getopt_long's but --help: 0, or 2 on a usage error
 * (printed). */
static int take_opt(struct run_args *a, int c, char *arg, char **argv)
{
	struct runopts *o = &a->o;
	long v;

	switch (c) {
	case 'o':
		o->output = arg;
		return 0;
	case 'e':
		if ((v = pt_parse_count("run", "--error-exitcode", arg)) < 0)
			return 2;
		if (v < 1 || v > 255)
			return pt_usage_err("run", "--error-exitcode wants 1 to 255, not '%s'", arg);
		a->errcode = (int)v;
		return 0;
	case 'q':
		o->quiet = 1;
		return 0;
	case 'a':
		o->all = 1;
		return 0;
	case 'm':
		o->tagsmap = arg;
		return 0;
	case 's':
		o->skip = arg;
		return 0;
	case 't':
		if (strcmp(arg, "blocks") != 0 && strcmp(arg, "stacks") != 0 && strcmp(arg, "none") != 0)
			return pt_usage_err("run", "--track wants 'none', 'blocks' or 'stacks', not '%s'",
					    arg);
		o->track = arg;
		return 0;
	case 'N':
		o->track = "blocks";
		return 0;
	case 'r':
		o->reachable = 1;
		return 0;
	case 'f':
		o->follow = 1;
		return 0;
	case 'j':
		o->json = arg;
		return 0;
	case 'S':
		o->supp = arg;
		return 0;
	case 'g':
		o->gensupp = 1;
		return 0;
	default:
		return pt_getopt_err("run", argv);
	}
}

/* Checks the files the options name before anything runs: 0, or the exit status. */
static int check_files(const struct runopts *o)
{
	struct pt_tagmap map = {0};
	struct pt_supp supp;
	char err[1024];

	if (o->tagsmap && pt_tagmap_load(&map, o->tagsmap, err, sizeof(err)) != 0) {
		pt_tagmap_free(&map);
		pt_err("run: %s", err);
		return 1;
	}
	if (o->skip && pt_tagmap_add_skips(&map, o->skip, err, sizeof(err)) != 0) {
		pt_tagmap_free(&map);
		return pt_usage_err("run", "--skip: %s", err);
	}
	pt_tagmap_free(&map);
	if (o->supp) {
		if (pt_supp_load(&supp, o->supp, err, sizeof(err)) != 0) {
			pt_err("run: %s", err);
			return 1;
		}
		pt_supp_free(&supp);
	}
	if ((o->output && check_writable(o->output)) || (o->json && check_writable(o->json)))
		return 1;
	return 0;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* path made absolute (the program may change its directory before the
 * interposer writes there); path itself if it is, or on failure. */
static const char *absolute(const char *path, char *buf, size_t len)
{
	char cwd[PATH_MAX];

	if (!path || path[0] == '/' || !getcwd(cwd, sizeof(cwd)) ||
	    (size_t)snprintf(buf, len, "%s/%s", cwd, path) >= len)
		return path;
	return buf;
}

/* The options up to the program ('+': its options are its own), the files
 * they name checked, made absolute.  PT_PARSED, or the exit status. */
static int run_parse(int argc, char **argv, struct run_args *a)
{
	static const struct option longs[] = {
		{"output", required_argument, 0, 'o'},  {"error-exitcode", required_argument, 0, 'e'},
		{"quiet", no_argument, 0, 'q'},         {"all", no_argument, 0, 'a'},
		{"tags-map", required_argument, 0, 'm'}, {"skip", required_argument, 0, 's'},
		{"track", required_argument, 0, 't'},   {"follow-exec", no_argument, 0, 'f'},
		{"json", required_argument, 0, 'j'},    {"suppressions", required_argument, 0, 'S'},
		{"gen-suppressions", no_argument, 0, 'g'}, {"help", no_argument, 0, 'h'},
		{"no-stacks", no_argument, 0, 'N'},     {"show-reachable", no_argument, 0, 'r'},
		{0, 0, 0, 0}};
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+o:e:qam:s:t:frj:S:gh", longs, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_text, stdout);
			return pt_flush_stdout();
		}
		if ((rc = take_opt(a, c, optarg, argv)) != 0)
			return rc;
	}
	if (optind >= argc)
		return pt_usage_err("run", "no program to run");
	a->prog = argv + optind;
	if ((rc = check_files(&a->o)) != 0)
		return rc;
	a->o.output = absolute(a->o.output, a->out_abs, sizeof(a->out_abs));
	a->o.json = absolute(a->o.json, a->json_abs, sizeof(a->json_abs));
	a->o.supp = absolute(a->o.supp, a->supp_abs, sizeof(a->supp_abs));
	return PT_PARSED;
}

/* ---- Execute ------------------------------------------------------------- */

/* A run of the program: what it runs, where its reports gather, how this
 * command learns that it started and how it ended. */
struct run {
	char preload[PATH_MAX], prog[PATH_MAX];
	struct rundir d;
	FILE *out;   /* the pid line and a verdict from here: --output, else stderr */
	int pfd[2];  /* the child's errno if its exec fails */
	int gate[2]; /* the child waits until the pid line is written */
	int status;  /* the program's wait status */
};

/* The interposer and the program, found and checked before anything runs:
 * 0, or the exit status (message printed). */
static int run_locate(struct run *r, const char *name)
{
	struct stat st;

	if (find_preload(r->preload, sizeof(r->preload)) != 0) {
		pt_err("run: cannot find %s (looked beside pooltag, in ../lib/pooltag/ and at %s)",
		       PRELOAD_NAME, PT_PRELOAD_DEFAULT);
		return 1;
	}
	if (pt_find_program(name, r->prog, sizeof(r->prog)) != 0) {
		int en = errno;
		pt_err("run: %s: %s", name, en == ENOENT ? "command not found" : strerror(en));
		return en == ENOENT ? 127 : 126;
	}
	if (pt_is_static_elf(r->prog)) {
		pt_err("run: %s is statically linked: pooltag run needs a dynamically linked program",
		       r->prog);
		return 1;
	}
	if (stat(r->prog, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)) &&
	    (st.st_uid != geteuid() || (st.st_mode & S_ISGID && st.st_gid != getegid())))
		pt_err("run: %s is set-user-ID or set-group-ID: the dynamic linker ignores LD_PRELOAD, "
		       "so nothing will be counted", r->prog);
	return 0;
}

/* The child: waits at the gate, then becomes the program; if it cannot,
 * its errno goes up the pipe. */
static _Noreturn void exec_child(const struct run *r, char **argv)
{
	int en;
	char c;

	close(r->pfd[0]);
	close(r->gate[1]);
	while (read(r->gate[0], &c, 1) < 0 && errno == EINTR)
		;
	execv(r->prog, argv);
	en = errno;
	(void)!write(r->pfd[1], &en, sizeof(en));
	_exit(127);
}

/* The run's directory and variables made, the program forked, held at the
 * gate: 0, or 1 (message printed, the directory removed). */
static int run_start(struct run *r, const struct run_args *a)
{
	if (rundir_make(&r->d) != 0) {
		pt_err("run: cannot make a directory in /tmp: %s", strerror(errno));
		return 1;
	}
	if (export_opts(&a->o, r->preload, &r->d) != 0 || pipe2(r->pfd, O_CLOEXEC) != 0 ||
	    pipe2(r->gate, O_CLOEXEC) != 0) {
		pt_err("run: pipe: %s", strerror(errno));
		rundir_remove(&r->d);
		return 1;
	}
	r->out = stderr;
	if (a->o.output && !(r->out = fopen(a->o.output, "a")))
		r->out = stderr;
	fflush(NULL);
	child = fork();
	if (child < 0) {
		pt_err("run: fork: %s", strerror(errno));
		rundir_remove(&r->d);
		return 1;
	}
	if (child == 0)
		exec_child(r, a->prog);
	close(r->pfd[1]);
	close(r->gate[0]);
	return 0;
}

/* The pid line, then the program let go (so the line comes first), and
 * its end waited for: 0, or the exit status (message printed). */
static int run_wait(struct run *r, const struct runopts *o)
{
	ssize_t got;
	int e = 0;

	if (!o->quiet) {
		fprintf(r->out, "pooltag: run: %s pid %d ('pooltag used %d' follows it)\n",
			base_name(r->prog), (int)child, (int)child);
		fflush(r->out);
	}
	close(r->gate[1]);
	signal(SIGINT, SIG_IGN); /* the terminal sends it to the program too */
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTERM, forward);
	signal(SIGHUP, forward);
	while ((got = read(r->pfd[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(r->pfd[0]);
	while (waitpid(child, &r->status, 0) < 0)
		if (errno != EINTR) {
			pt_err("run: waitpid: %s", strerror(errno));
			return 1;
		}
	if (got == (ssize_t)sizeof(e)) {
		pt_err("run: cannot execute %s: %s", r->prog, strerror(e));
		return e == ENOENT ? 127 : 126;
	}
	return 0;
}

/* ---- Print --------------------------------------------------------------- */

/* The reports copied to stderr (unless --output has them), a verdict from
 * here for a program that left none: the exit status, the program's
 * unless --error-exitcode's applies. */
static int run_report(const struct run *r, const struct run_args *a)
{
	int last;
	long findings = read_status(r->d.status, child, &last);

	if (!a->o.output)
		copy_spool(r->d.spool, 2);
	if (last != 'e' && !(last == 'x' && !a->o.follow)) {
		fallback(r->out, base_name(r->prog), child, r->status, last);
		remove_segment(child);
	}
	if (findings > 0 && a->errcode > 0)
		return a->errcode;
	if (WIFEXITED(r->status))
		return WEXITSTATUS(r->status);
	if (WIFSIGNALED(r->status))
		return 128 + WTERMSIG(r->status);
	return 1;
}

/* ---- The command --------------------------------------------------------- */

int pt_cmd_run(int argc, char **argv)
{
	struct run_args a = {.errcode = -1};
	struct run r;
	int rc;

	if ((rc = run_parse(argc, argv, &a)) != PT_PARSED)
		return rc;
	if ((rc = run_locate(&r, a.prog[0])) != 0 || (rc = run_start(&r, &a)) != 0)
		return rc;
	if ((rc = run_wait(&r, &a.o)) == 0)
		rc = run_report(&r, &a);
	rundir_remove(&r.d);
	if (r.out != stderr)
		fclose(r.out);
	return rc;
}
