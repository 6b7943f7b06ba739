/*
 * run.c - pooltag run [OPTIONS] -- PROGRAM [ARGS]: runs an unmodified,
 * dynamically linked program with the interposer (libpooltag-preload.so)
 * in LD_PRELOAD, waits for it, and exits with its status, or with
 * --error-exitcode's when the interposer reported findings.
 *
 * The interposer is found beside this executable (the build tree), else
 * where make install put it.  Options travel in POOLTAG_RUN_* variables
 * (preload/config.c reads them); the findings come back as lines in a
 * status file this command makes and removes.
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
	"  -f, --follow-exec        interpose the programs PROGRAM executes too\n";

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

/* PROGRAM's file, searched in PATH like execvp.  0, or -1 with errno. */
static int find_program(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH"), *p;
	int e = ENOENT;

	if (strchr(name, '/')) {
		snprintf(out, len, "%s", name);
		return access(out, X_OK) == 0 ? 0 : -1;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path;; p++) {
		const char *c = strchr(p, ':');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		struct stat st;

		if ((size_t)snprintf(out, len, "%.*s%s%s", (int)n, n ? p : ".", "/", name) < len &&
		    stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(out, X_OK) == 0)
				return 0;
			e = EACCES;
		}
		if (!c)
			break;
		p = c;
	}
	errno = e;
	return -1;
}

/* Is file an ELF executable without an interpreter (statically linked)?
 * Scripts and anything unreadable say no: exec decides. */
static int is_static_elf(const char *file)
{
	Elf64_Ehdr eh;
	int fd = open(file, O_RDONLY | O_CLOEXEC), interp = 0, ok;

	if (fd < 0)
		return 0;
	ok = pread(fd, &eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) &&
	     memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
	     eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum < 256;
	for (int i = 0; ok && i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * sizeof(ph))) !=
		    (ssize_t)sizeof(ph)) {
			ok = 0;
			break;
		}
		if (ph.p_type == PT_INTERP)
			interp = 1;
	}
	close(fd);
	return ok && !interp;
}

/* The findings the interposer reported, summed over the status lines. */
static long read_findings(const char *path)
{
	FILE *f = fopen(path, "r");
	long sum = 0, n;
	char line[128];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "findings %ld", &n) == 1 && n > 0)
			sum += n;
	fclose(f);
	return sum;
}

static int set_env(const char *name, const char *value)
{
	if (setenv(name, value, 1) != 0) {
		pt_err("run: cannot set %s: %s", name, strerror(errno));
		return -1;
	}
	return 0;
}

int pt_cmd_run(int argc, char **argv)
{
	static const struct option longs[] = {
		{"output", required_argument, 0, 'o'},  {"error-exitcode", required_argument, 0, 'e'},
		{"quiet", no_argument, 0, 'q'},         {"all", no_argument, 0, 'a'},
		{"tags-map", required_argument, 0, 'm'}, {"skip", required_argument, 0, 's'},
		{"track", required_argument, 0, 't'},   {"follow-exec", no_argument, 0, 'f'},
		{"help", no_argument, 0, 'h'},          {"no-stacks", no_argument, 0, 'S'},
		{"show-reachable", no_argument, 0, 'r'}, {0, 0, 0, 0}};
	const char *output = NULL, *tagsmap = NULL, *skip = NULL, *track = NULL;
	int quiet = 0, all = 0, follow = 0, reachable = 0, errcode = -1, c, status, pfd[2];
	char preload[PATH_MAX], prog[PATH_MAX], statusf[] = "/tmp/pooltag-run.XXXXXX";
	char err[1024], *ld;
	struct pt_tagmap map = {0};
	long findings;
	int e = 0;
	ssize_t got;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+o:e:qam:s:t:frh", longs, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'e': {
			long v = pt_parse_count("run", "--error-exitcode", optarg);
			if (v < 0)
				return 2;
			if (v < 1 || v > 255)
				return pt_usage_err("run", "--error-exitcode wants 1 to 255, not '%s'",
						    optarg);
			errcode = (int)v;
			break;
		}
		case 'q':
			quiet = 1;
			break;
		case 'a':
			all = 1;
			break;
		case 'm':
			tagsmap = optarg;
			break;
		case 's':
			skip = optarg;
			break;
		case 't':
			if (strcmp(optarg, "blocks") != 0 && strcmp(optarg, "stacks") != 0 &&
			    strcmp(optarg, "none") != 0)
				return pt_usage_err("run",
						    "--track wants 'none', 'blocks' or 'stacks', not '%s'",
						    optarg);
			track = optarg;
			break;
		case 'S':
			track = "blocks";
			break;
		case 'r':
			reachable = 1;
			break;
		case 'f':
			follow = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return pt_flush_stdout();
		default:
			return pt_getopt_err("run", argv);
		}
	}
	if (optind >= argc)
		return pt_usage_err("run", "no program to run");
	if (tagsmap && pt_tagmap_load(&map, tagsmap, err, sizeof(err)) != 0) {
		pt_tagmap_free(&map);
		pt_err("run: %s", err);
		return 1;
	}
	if (skip && pt_tagmap_add_skips(&map, skip, err, sizeof(err)) != 0) {
		pt_tagmap_free(&map);
		return pt_usage_err("run", "--skip: %s", err);
	}
	pt_tagmap_free(&map);
	if (output) {
		int fd = open(output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0) {
			pt_err("run: cannot write %s: %s", output, strerror(errno));
			return 1;
		}
		close(fd);
	}
	if (find_preload(preload, sizeof(preload)) != 0) {
		pt_err("run: cannot find %s (looked beside pooltag, in ../lib/pooltag/ and at %s)",
		       PRELOAD_NAME, PT_PRELOAD_DEFAULT);
		return 1;
	}
	if (find_program(argv[optind], prog, sizeof(prog)) != 0) {
		pt_err("run: %s: %s", argv[optind],
		       errno == ENOENT ? "command not found" : strerror(errno));
		return 127;
	}
	if (is_static_elf(prog)) {
		pt_err("run: %s is statically linked: pooltag run needs a dynamically linked program",
		       prog);
		return 1;
	}
	int sfd = mkstemp(statusf);
	if (sfd < 0) {
		pt_err("run: cannot make a status file in /tmp: %s", strerror(errno));
		return 1;
	}
	close(sfd);
	ld = getenv("LD_PRELOAD");
	if (ld && *ld) {
		char *both = malloc(strlen(preload) + strlen(ld) + 2);
		if (!both) {
			unlink(statusf);
			pt_err("run: out of memory");
			return 1;
		}
		sprintf(both, "%s:%s", preload, ld);
		e = set_env("LD_PRELOAD", both);
		free(both);
	} else {
		e = set_env("LD_PRELOAD", preload);
	}
	e = e ? e : set_env("POOLTAG_RUN_STATUS", statusf);
	if (!e && output)
		e = set_env("POOLTAG_RUN_OUTPUT", output);
	if (!e && tagsmap)
		e = set_env("POOLTAG_RUN_TAGS_MAP", tagsmap);
	if (!e && skip)
		e = set_env("POOLTAG_RUN_SKIP", skip);
	if (!e && track)
		e = set_env("POOLTAG_RUN_TRACK", track);
	if (!e && reachable)
		e = set_env("POOLTAG_RUN_REACHABLE", "1");
	if (!e && quiet)
		e = set_env("POOLTAG_RUN_QUIET", "1");
	if (!e && all)
		e = set_env("POOLTAG_RUN_ALL", "1");
	if (!e && follow)
		e = set_env("POOLTAG_RUN_FOLLOW_EXEC", "1");
	if (e || pipe2(pfd, O_CLOEXEC) != 0) {
		unlink(statusf);
		if (!e)
			pt_err("run: pipe: %s", strerror(errno));
		return 1;
	}
	fflush(NULL);
	child = fork();
	if (child < 0) {
		pt_err("run: fork: %s", strerror(errno));
		unlink(statusf);
		return 1;
	}
	if (child == 0) {
		int en;
		close(pfd[0]);
		execv(prog, argv + optind);
		en = errno;
		(void)!write(pfd[1], &en, sizeof(en));
		_exit(127);
	}
	close(pfd[1]);
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
			unlink(statusf);
			return 1;
		}
	findings = read_findings(statusf);
	unlink(statusf);
	if (got == (ssize_t)sizeof(e)) {
		pt_err("run: cannot execute %s: %s", prog, strerror(e));
		return e == ENOENT ? 127 : 126;
	}
	if (findings > 0 && errcode > 0)
		return errcode;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}
