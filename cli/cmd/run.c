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

static int parse_opts(int argc, char **argv, struct runopts *o, int *errcode)
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
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+o:e:qam:s:t:frj:S:gh", longs, NULL)) != -1) {
		switch (c) {
		case 'o':
			o->output = optarg;
			break;
		case 'e': {
			long v = pt_parse_count("run", "--error-exitcode", optarg);
			if (v < 0)
				return 2;
			if (v < 1 || v > 255)
				return pt_usage_err("run", "--error-exitcode wants 1 to 255, not '%s'",
						    optarg);
			*errcode = (int)v;
			break;
		}
		case 'q':
			o->quiet = 1;
			break;
		case 'a':
			o->all = 1;
			break;
		case 'm':
			o->tagsmap = optarg;
			break;
		case 's':
			o->skip = optarg;
			break;
		case 't':
			if (strcmp(optarg, "blocks") != 0 && strcmp(optarg, "stacks") != 0 &&
			    strcmp(optarg, "none") != 0)
				return pt_usage_err("run",
						    "--track wants 'none', 'blocks' or 'stacks', not '%s'",
						    optarg);
			o->track = optarg;
			break;
		case 'N':
			o->track = "blocks";
			break;
		case 'r':
			o->reachable = 1;
			break;
		case 'f':
			o->follow = 1;
			break;
		case 'j':
			o->json = optarg;
			break;
		case 'S':
			o->supp = optarg;
			break;
		case 'g':
			o->gensupp = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			c = pt_flush_stdout();
			return c ? c : -1; /* -1: done, status 0 */
		default:
			return pt_getopt_err("run", argv);
		}
	}
	if (optind >= argc)
		return pt_usage_err("run", "no program to run");
	return 0;
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

int pt_cmd_run(int argc, char **argv)
{
	char out_abs[PATH_MAX + 8], json_abs[PATH_MAX + 8], supp_abs[PATH_MAX + 8];
	struct runopts o = {0};
	struct rundir d;
	int errcode = -1, status, pfd[2], gate[2], e = 0, last, r;
	char preload[PATH_MAX], prog[PATH_MAX];
	struct stat st;
	long findings;
	ssize_t got;
	FILE *out;

	r = parse_opts(argc, argv, &o, &errcode);
	if (r != 0)
		return r < 0 ? 0 : r;
	if ((r = check_files(&o)) != 0)
		return r;
	o.output = absolute(o.output, out_abs, sizeof(out_abs));
	o.json = absolute(o.json, json_abs, sizeof(json_abs));
	o.supp = absolute(o.supp, supp_abs, sizeof(supp_abs));
	if (find_preload(preload, sizeof(preload)) != 0) {
		pt_err("run: cannot find %s (looked beside pooltag, in ../lib/pooltag/ and at %s)",
		       PRELOAD_NAME, PT_PRELOAD_DEFAULT);
		return 1;
	}
	if (pt_find_program(argv[optind], prog, sizeof(prog)) != 0) {
		int en = errno;
		pt_err("run: %s: %s", argv[optind],
		       en == ENOENT ? "command not found" : strerror(en));
		return en == ENOENT ? 127 : 126;
	}
	if (pt_is_static_elf(prog)) {
		pt_err("run: %s is statically linked: pooltag run needs a dynamically linked program",
		       prog);
		return 1;
	}
	if (stat(prog, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)) &&
	    (st.st_uid != geteuid() || (st.st_mode & S_ISGID && st.st_gid != getegid())))
		pt_err("run: %s is set-user-ID or set-group-ID: the dynamic linker ignores LD_PRELOAD, "
		       "so nothing will be counted", prog);
	if (rundir_make(&d) != 0) {
		pt_err("run: cannot make a directory in /tmp: %s", strerror(errno));
		return 1;
	}
	if (export_opts(&o, preload, &d) != 0 || pipe2(pfd, O_CLOEXEC) != 0 ||
	    pipe2(gate, O_CLOEXEC) != 0) {
		pt_err("run: pipe: %s", strerror(errno));
		rundir_remove(&d);
		return 1;
	}
	/* The pid line, then the program: the child waits at the gate until the
	 * line is written, so it comes first. */
	out = stderr;
	if (o.output && !(out = fopen(o.output, "a")))
		out = stderr;
	fflush(NULL);
	child = fork();
	if (child < 0) {
		pt_err("run: fork: %s", strerror(errno));
		rundir_remove(&d);
		return 1;
	}
	if (child == 0) {
		int en;
		char c;
		close(pfd[0]);
		close(gate[1]);
		while (read(gate[0], &c, 1) < 0 && errno == EINTR)
			;
		execv(prog, argv + optind);
		en = errno;
		(void)!write(pfd[1], &en, sizeof(en));
		_exit(127);
	}
	close(pfd[1]);
	close(gate[0]);
	if (!o.quiet) {
		fprintf(out, "pooltag: run: %s pid %d ('pooltag used %d' follows it)\n", base_name(prog),
			(int)child, (int)child);
		fflush(out);
	}
	close(gate[1]);
	signal(SIGINT, SIG_IGN); /* the terminal sends it to the program too */
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTERM, forward);
	signal(SIGHUP, forward);
	while ((got = read(pfd[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(pfd[0]);
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR) {
			pt_err("run: waitpid: %s", strerror(errno));
			rundir_remove(&d);
			return 1;
		}
	if (got == (ssize_t)sizeof(e)) {
		rundir_remove(&d);
		pt_err("run: cannot execute %s: %s", prog, strerror(e));
		return e == ENOENT ? 127 : 126;
	}
	findings = read_status(d.status, child, &last);
	if (!o.output)
		copy_spool(d.spool, 2);
	if (last != 'e' && !(last == 'x' && !o.follow)) {
		fallback(out, base_name(prog), child, status, last);
		remove_segment(child);
	}
	rundir_remove(&d);
	if (out != stderr)
		fclose(out);
	if (findings > 0 && errcode > 0)
		return errcode;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}
