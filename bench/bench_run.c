/*
 * bench_run.c - pooltag run against the bare program, in the same run.
 *
 * Workloads, each an unmodified program:
 *  - W1 ring: bench_pool.c's workload with plain malloc and free (a ring of
 *    4096 live blocks, each step frees one and allocates another of 8-512
 *    bytes, 1% of 4-64 KiB, and writes its first byte), this very binary
 *    run as "bench_run ring STEPS THREADS"; W2 the same on 2 threads;
 *  - SQ: sqlite3 :memory: (when installed) running a script of 200,000
 *    single-row INSERTs into an indexed table in one transaction, an UPDATE
 *    of 1/7 and a DELETE of 1/5 of the rows and two aggregate SELECTs;
 *  - real programs, when installed: gcc's cc1 -O2 on a preprocessed C file
 *    (src/registry.c), git log --stat -n 100 on this repository, sort -n of
 *    400,000 lines, python3 building a dict of 1.5 M strings.
 * Variants, alternated round by round so that drift hits all alike: the
 * bare program; under the interposer counting only (accounting per module
 * and site, POOLTAG_RUN_TRACK=none); with the registry of live blocks the
 * exit scan needs (a record per block, POOLTAG_RUN_TRACK=blocks); with a
 * record and a call stack per block (POOLTAG_RUN_TRACK=stacks, the default
 * of pooltag run); on W1, counting only with sampled stacks off
 * (POOLTAG=sample=0), so that the sampler's own cost shows.
 * Printed per variant: the median CPU time (user and system), the median
 * of the per-round ratios to the bare run of the same round with the
 * lowest and highest ratio, user-space instructions (counted with
 * perf_event_open, "-" where there is no hardware counter, as in most
 * virtual machines) and the peak RSS against bare.  Then instructions per
 * alloc+free pair of the ring under each variant, with valgrind's
 * cachegrind: stable where times are not.
 *
 * Then the exit scan (lost or still reachable): a program holding 1 GiB of
 * live blocks of 32-1024 bytes, linked in a list from a global, under
 * POOLTAG_RUN_TRACK=blocks; the interposer reports the scan's own time
 * (POOLTAG_RUN_SCAN_STATS), median of 3 runs.
 *
 * Then, when installed, heaptrack, valgrind's memcheck and ASan and LSan
 * builds (clang or gcc) on the same workloads, fewer steps, one round each,
 * as ratios to a bare run of the same size.
 *
 * usage: bench_run [ROUNDS]          (from the source tree: make bench)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define RING 4096
#define MAXV 5
#define MAXR 16

/* ---- the workload ---- */

static inline uint64_t next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static inline size_t next_size(uint64_t *s)
{
	uint64_t r = next_rand(s);
	if (r % 100 == 0)
		return 4096 + (r >> 8) % (60 * 1024 + 1);
	return 8 + (r >> 8) % 505;
}

static uint64_t ring_steps;

static void *ring_run(void *arg)
{
	void *ring[RING] = {0};
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	(void)arg;
	for (uint64_t i = 0; i < ring_steps; i++) {
		size_t k = i % RING, n = next_size(&seed);
		free(ring[k]);
		ring[k] = malloc(n);
		if (!ring[k])
			abort();
		*(volatile char *)ring[k] = (char)i;
	}
	for (size_t k = 0; k < RING; k++)
		free(ring[k]);
	return NULL;
}

static int ring_main(uint64_t steps, int threads)
{
	pthread_t th[8];

	ring_steps = steps;
	if (threads < 1 || threads > 8)
		return 2;
	for (int i = 0; i < threads; i++)
		if (pthread_create(&th[i], NULL, ring_run, NULL) != 0)
			return 1;
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	return 0;
}

/* heap MIB: MIB of live blocks of 32-1024 bytes filled with bytes that are
 * no pointers, each block's first word linking the next, the first held by
 * a global; exits holding them all (reachable). */
static void **heap_head;

static int heap_main(uint64_t mib)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull, total = 0;
	void **prev = (void **)&heap_head;

	while (total < (mib << 20)) {
		size_t n = 32 + next_rand(&seed) % 993;
		void **b = malloc(n);
		if (!b)
			return 1;
		memset(b, 0x5a, n);
		b[0] = NULL;
		*prev = b;
		prev = b;
		total += n;
	}
	return 0;
}

/* ---- the runner ---- */

static char self[PATH_MAX], preload[PATH_MAX], sqlscript[64] = "", sortin[64] = "",
	    cc1in[64] = "";

static const char *const vname[MAXV] = {"bare", "run", "run -t blocks", "run -t stacks",
					 "run, sample=0"};

/* One run's figures. */
struct res {
	double cpu;     /* user + system seconds */
	double instr;   /* user-space instructions, 0 if not counted */
	long rss_kb;    /* peak resident set */
};

/* A counter of pid's user-space instructions (and its threads' and
 * children's), enabled when it executes; -1 if the kernel refuses. */
static int instr_counter(pid_t pid)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = PERF_TYPE_HARDWARE;
	a.config = PERF_COUNT_HW_INSTRUCTIONS;
	a.disabled = 1;
	a.enable_on_exec = 1;
	a.inherit = 1;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	return (int)syscall(SYS_perf_event_open, &a, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

/* Runs argv (stdin from in, if set; output discarded) with the variant's
 * environment.  0, or -1 if it failed.  CPU time, not wall time: on a
 * shared, loaded machine wall time mostly measures the run queue. */
static int timed(char *const argv[], int variant, const char *in, struct res *out)
{
	struct rusage ru;
	int st, go[2], fd;
	uint64_t count = 0;
	pid_t pid;
	char c = 0;

	if (pipe(go) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int nul = open("/dev/null", O_WRONLY);
		close(go[1]);
		if (in) {
			int f = open(in, O_RDONLY);
			if (f < 0 || dup2(f, 0) < 0)
				_exit(126);
		}
		if (nul < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0)
			_exit(126);
		unsetenv("LD_PRELOAD");
		if (variant >= 1) {
			setenv("LD_PRELOAD", preload, 1);
			setenv("POOLTAG_RUN_QUIET", "1", 1);
		}
		if (variant == 1 || variant == 4)
			setenv("POOLTAG_RUN_TRACK", "none", 1);
		if (variant == 4) /* sampled stacks off: their cost is run's against this */
			setenv("POOLTAG", "sample=0", 1);
		if (variant == 2)
			setenv("POOLTAG_RUN_TRACK", "blocks", 1);
		if (variant == 3)
			setenv("POOLTAG_RUN_TRACK", "stacks", 1);
		if (read(go[0], &c, 1) != 1) /* the counter is ready */
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(go[0]);
	fd = instr_counter(pid);
	(void)!write(go[1], &c, 1);
	close(go[1]);
	if (wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (fd >= 0) {
		if (read(fd, &count, sizeof(count)) != sizeof(count))
			count = 0;
		close(fd);
	}
	out->cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		   (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
	out->instr = (double)count;
	out->rss_kb = ru.ru_maxrss;
	return 0;
}

static double time_only(char *const argv[], int variant, const char *in)
{
	struct res r;
	return timed(argv, variant, in, &r) == 0 ? r.cpu : -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double t[MAXR];

	memcpy(t, v, (size_t)n * sizeof(*t));
	qsort(t, (size_t)n, sizeof(*t), cmp_double);
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static double lowest(const double *v, int n)
{
	double m = v[0];
	for (int i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static double highest(const double *v, int n)
{
	double m = v[0];
	for (int i = 1; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

/*
 * Runs the variants in nv (bit v: variant v; bare always) rounds times,
 * alternated, and prints a row per variant.  steps > 0: instructions are
 * shown per step, else in millions per run.
 */
static void compare(const char *name, char *const argv[], const char *in, int rounds, unsigned nv,
		    uint64_t steps)
{
	struct res r[MAXV][MAXR];
	double ratio[MAXV][MAXR], v1[MAXR];

	nv |= 1;
	printf("  %s\n", name);
	fflush(stdout);
	for (int k = 0; k < rounds; k++)
		for (int v = 0; v < MAXV; v++) {
			if (!(nv & 1u << v))
				continue;
			if (timed(argv, v, in, &r[v][k]) != 0) {
				printf("    %s: failed (variant %s)\n", name, vname[v]);
				return;
			}
		}
	for (int v = 0; v < MAXV; v++) {
		double cpu, instr, rss;

		if (!(nv & 1u << v))
			continue;
		for (int k = 0; k < rounds; k++)
			ratio[v][k] = r[v][k].cpu / (r[0][k].cpu > 0 ? r[0][k].cpu : 1e-9);
		for (int k = 0; k < rounds; k++)
			v1[k] = r[v][k].cpu;
		cpu = median(v1, rounds);
		for (int k = 0; k < rounds; k++)
			v1[k] = r[v][k].instr;
		instr = median(v1, rounds);
		for (int k = 0; k < rounds; k++)
			v1[k] = (double)r[v][k].rss_kb;
		rss = median(v1, rounds);
		for (int k = 0; k < rounds; k++)
			v1[k] = (double)r[0][k].rss_kb;
		rss /= median(v1, rounds);
		printf("    %-14s %8.3fs %7.2fx (%5.2f-%5.2f)", vname[v], cpu, median(ratio[v], rounds),
		       lowest(ratio[v], rounds), highest(ratio[v], rounds));
		if (instr <= 0)
			printf(" %12s", "-");
		else if (steps)
			printf(" %12.0f", instr / (double)steps);
		else
			printf(" %11.0fM", instr / 1e6);
		printf(" %6.2fx\n", rss);
	}
	if ((nv & 0x12) == 0x12) { /* sampling's own cost: run against run, sample=0 */
		for (int k = 0; k < rounds; k++)
			v1[k] = r[1][k].cpu / (r[4][k].cpu > 0 ? r[4][k].cpu : 1e-9);
		printf("    sampled stacks: run / run, sample=0 %.3fx (%.3f-%.3f); target <= 1.02x\n",
		       median(v1, rounds), lowest(v1, rounds), highest(v1, rounds));
	}
	fflush(stdout);
}

/* User-space instructions of argv under the variant, counted by valgrind's
 * cachegrind (deterministic, where a virtual machine has no hardware
 * counter); -1 if it could not be run. */
static double cachegrind(char *const argv[], int variant)
{
	char out[] = "/tmp/pooltag-bench-cg-XXXXXX", line[256];
	char *vg[16] = {"valgrind", "--tool=cachegrind", "--cache-sim=no",
			"--cachegrind-out-file=/dev/null", NULL};
	double refs = -1;
	int fd = mkstemp(out), n = 4, st;
	pid_t pid;
	FILE *f;

	if (fd < 0)
		return -1;
	for (int i = 0; argv[i] && n < 15; i++)
		vg[n++] = argv[i];
	vg[n] = NULL;
	pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_WRONLY);
		if (nul < 0 || dup2(nul, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		unsetenv("LD_PRELOAD");
		if (variant >= 1) {
			setenv("LD_PRELOAD", preload, 1);
			setenv("POOLTAG_RUN_QUIET", "1", 1);
		}
		if (variant == 2)
			setenv("POOLTAG_RUN_TRACK", "blocks", 1);
		if (variant == 3)
			setenv("POOLTAG_RUN_TRACK", "stacks", 1);
		execvp(vg[0], vg);
		_exit(127);
	}
	close(fd);
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		unlink(out);
		return -1;
	}
	if ((f = fopen(out, "r"))) {
		while (fgets(line, sizeof(line), f)) {
			char *p = strstr(line, "I   refs:"), digits[64];
			int k = 0;
			if (!p)
				continue;
			for (p += 9; *p && k < 63; p++)
				if (*p >= '0' && *p <= '9')
					digits[k++] = *p;
			digits[k] = 0;
			refs = strtod(digits, NULL);
		}
		fclose(f);
	}
	unlink(out);
	return refs;
}

/* Instructions per ring step (an alloc+free pair) of each variant: the
 * difference between runs of 100,000 and 300,000 steps, so start-up and
 * exit do not count. */
static void ring_instructions(const char *threads)
{
	char *a[] = {self, "ring", "100000", (char *)threads, NULL};
	char *b[] = {self, "ring", "300000", (char *)threads, NULL};
	double base = 0;

	printf("  instructions per alloc+free pair, ring on %s thread(s) (cachegrind, 300k - 100k "
	       "steps):\n", threads);
	for (int v = 0; v < MAXV; v++) {
		double x = cachegrind(a, v), y = cachegrind(b, v), per;
		if (x < 0 || y < 0) {
			printf("    %-14s failed\n", vname[v]);
			continue;
		}
		per = (y - x) / 200000.0;
		if (v == 0)
			base = per;
		if (v == 1 && per == base) {
			/* Counted the same as bare: valgrind did not load the
			 * interposer (some versions drop LD_PRELOAD). */
			printf("    valgrind ran without the interposer here: no counts\n");
			break;
		}
		printf("    %-14s %8.0f  (+%.0f)\n", vname[v], per, per - base);
	}
	fflush(stdout);
}

static int have(const char *prog)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

/* One run of a tool wrapping argv, as a ratio to a bare run. */
static void tool(const char *label, char *const tool_argv[], char *const argv[], const char *in)
{
	double bare = time_only(argv, 0, in), t = time_only(tool_argv, 0, in);

	if (bare <= 0 || t < 0)
		printf("    %-30s failed\n", label);
	else
		printf("    %-30s %7.3fs %6.1fx\n", label, t, t / bare);
	fflush(stdout);
}

/* A temporary file named by template (XXXXXX) for writing; NULL on failure. */
static FILE *temp(char *name, size_t len)
{
	int fd;
	FILE *f;

	snprintf(name, len, "/tmp/pooltag-bench-XXXXXX");
	fd = mkstemp(name);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		name[0] = 0;
		return NULL;
	}
	return f;
}

/* SQ: 200,000 inserts in one transaction, an update of 1/7 and a delete of
 * 1/5 of the rows, two aggregate selects. */
static void write_sql(void)
{
	FILE *f = temp(sqlscript, sizeof(sqlscript));

	if (!f)
		return;
	fprintf(f, "create table t(a integer primary key, b text, c real);\n"
		   "create index tb on t(b);\nbegin;\n");
	for (int i = 0; i < 200000; i++)
		fprintf(f, "insert into t(b, c) values('key-%08x-%d-%s', %d.5);\n",
			(unsigned)(i * 2654435761u), i % 977, "padding-padding-padding-padding-padding-pad",
			i);
	fprintf(f, "commit;\nupdate t set c = c + 1 where a %% 7 = 0;\n"
		   "delete from t where a %% 5 = 0;\n"
		   "select count(*), sum(c) from t;\nselect b, count(*) from t group by a %% 10;\n");
	fclose(f);
}

static void write_sort_input(void)
{
	FILE *f = temp(sortin, sizeof(sortin));
	uint64_t s = 88172645463325252ull;

	if (!f)
		return;
	for (int i = 0; i < 400000; i++)
		fprintf(f, "%llu\n", (unsigned long long)(next_rand(&s) % 1000000000));
	fclose(f);
}

/* cc1's input: a source file of this project, preprocessed. */
static const char *cc1_path(void)
{
	static char path[PATH_MAX];
	char cmd[PATH_MAX + 256];
	FILE *p = popen("gcc -print-prog-name=cc1 2>/dev/null", "r");

	if (!p || !fgets(path, sizeof(path), p)) {
		if (p)
			pclose(p);
		return NULL;
	}
	pclose(p);
	path[strcspn(path, "\n")] = 0;
	if (path[0] != '/' || access(path, X_OK) != 0)
		return NULL;
	strcpy(cc1in, "/tmp/pooltag-bench-XXXXXX.i");
	{
		int fd = mkstemps(cc1in, 2);
		if (fd < 0)
			return NULL;
		close(fd);
	}
	snprintf(cmd, sizeof(cmd), "gcc -E -D_GNU_SOURCE -Iinclude -Isrc src/registry.c -o %s 2>/dev/null",
		 cc1in);
	if (system(cmd) != 0) {
		unlink(cc1in);
		cc1in[0] = 0;
		return NULL;
	}
	return path;
}

/* The exit scan of heap MIB, as the interposer times it; seconds, or -1. */
static double scan_once(uint64_t mib, size_t *blocks)
{
	char out[] = "/tmp/pooltag-bench-scan-XXXXXX", arg[32], line[512];
	char *argv[] = {self, "heap", arg, NULL};
	double secs = -1;
	int fd = mkstemp(out);
	struct res r;
	FILE *f;

	if (fd < 0)
		return -1;
	close(fd);
	snprintf(arg, sizeof(arg), "%llu", (unsigned long long)mib);
	setenv("POOLTAG_RUN_OUTPUT", out, 1);
	setenv("POOLTAG_RUN_SCAN_STATS", "1", 1);
	unsetenv("POOLTAG_RUN_QUIET");
	if (timed(argv, 2, NULL, &r) == 0 && (f = fopen(out, "r"))) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "  scan: %zu blocks, %*s bytes of blocks and %*s of roots in %lf s",
				   blocks, &secs) == 2)
				break;
		fclose(f);
	}
	unsetenv("POOLTAG_RUN_OUTPUT");
	unsetenv("POOLTAG_RUN_SCAN_STATS");
	unlink(out);
	return secs;
}

static void scan_cost(uint64_t mib)
{
	double t[3];
	size_t blocks = 0;

	for (int i = 0; i < 3; i++)
		if ((t[i] = scan_once(mib, &blocks)) < 0) {
			printf("exit scan of %llu MiB: failed\n", (unsigned long long)mib);
			return;
		}
	printf("exit scan (lost or reachable) of %llu MiB of live heap in %zu blocks: %.3f s "
	       "(median of 3), %.3f s per GiB\n",
	       (unsigned long long)mib, blocks, median(t, 3), median(t, 3) * 1024.0 / (double)mib);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int rounds = 5;
	ssize_t n;
	char *slash;

	if (argc == 4 && strcmp(argv[1], "ring") == 0)
		return ring_main(strtoull(argv[2], NULL, 10), atoi(argv[3]));
	if (argc == 3 && strcmp(argv[1], "heap") == 0)
		return heap_main(strtoull(argv[2], NULL, 10));
	if (argc > 1)
		rounds = atoi(argv[1]);
	if (rounds < 1 || rounds > 16)
		rounds = 5;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = 0;
	snprintf(preload, sizeof(preload), "%s", self);
	slash = strrchr(preload, '/');
	*slash = 0;
	slash = strrchr(preload, '/');
	snprintf(slash, sizeof(preload) - (size_t)(slash - preload), "/libpooltag-preload.so");
	if (access(preload, R_OK) != 0) {
		fprintf(stderr, "bench_run: no %s (make all)\n", preload);
		return 1;
	}

	printf("pooltag run against the bare program (median of %d alternated rounds):\n", rounds);
	printf("    %-14s %9s %8s %13s %12s %7s\n", "variant", "cpu", "ratio", "(low-high)",
	       "instructions", "peakRSS");
	char *r1[] = {self, "ring", "5000000", "1", NULL};
	char *r2[] = {self, "ring", "5000000", "2", NULL};
	compare("W1: ring, 5M steps, 1 thread (instructions per alloc+free)", r1, NULL, rounds, 0x1f,
		5000000);
	compare("W2: ring, 5M steps/thread, 2 threads (instructions per alloc+free)", r2, NULL, rounds,
		0x3, 10000000);
	char *sq[] = {"sqlite3", ":memory:", NULL};
	if (have("sqlite3")) {
		write_sql();
		if (sqlscript[0])
			compare("SQ: sqlite3, 200000 inserts, update, delete, selects", sq, sqlscript,
				rounds, 0xb, 0);
	} else {
		printf("  sqlite3: not installed, skipped\n");
	}
	const char *cc1 = cc1_path();
	if (cc1) {
		char *c1[] = {(char *)cc1, "-quiet", "-O2", cc1in, "-o", "/dev/null", NULL};
		compare("cc1 -O2 on src/registry.c, preprocessed", c1, NULL, rounds, 0x3, 0);
		unlink(cc1in);
	} else {
		printf("  cc1: not found, skipped\n");
	}
	if (have("git") && access(".git", F_OK) == 0) {
		char *g1[] = {"git", "log", "--stat", "-n", "100", NULL};
		char *g2[] = {"git", "--version", NULL};
		compare("git log --stat -n 100 (this repository)", g1, NULL, rounds, 0x3, 0);
		compare("git --version (the fixed cost of a process)", g2, NULL, rounds, 0x3, 0);
	}
	write_sort_input();
	if (sortin[0]) {
		char *so[] = {"sort", "-n", NULL};
		compare("sort -n of 400000 lines", so, sortin, rounds, 0x3, 0);
		unlink(sortin);
	}
	if (have("python3")) {
		char *py[] = {"python3", "-c", "d = {str(i): i for i in range(1500000)}", NULL};
		compare("python3 building a dict of 1.5 M strings", py, NULL, rounds, 0x3, 0);
	}

	if (have("valgrind"))
		ring_instructions("1");
	else
		printf("  instructions: valgrind not installed, skipped\n");

	scan_cost(1024);

	printf("other tools on the same workloads (one run each, ratio to bare):\n");
	char *small[] = {self, "ring", "1000000", "1", NULL};
	if (have("heaptrack")) {
		char *h1[] = {"heaptrack", "-o", "/tmp/pooltag-bench-heaptrack", self, "ring", "1000000",
			      "1", NULL};
		tool("heaptrack, ring 1M steps", h1, small, NULL);
		if (sqlscript[0]) {
			char *h2[] = {"heaptrack", "-o", "/tmp/pooltag-bench-heaptrack", "sqlite3",
				      ":memory:", NULL};
			tool("heaptrack, sqlite3", h2, sq, sqlscript);
		}
		(void)!system("rm -f /tmp/pooltag-bench-heaptrack*");
	} else {
		printf("    heaptrack: not installed, skipped\n");
	}
	if (have("valgrind")) {
		char *v1[] = {"valgrind", "-q", "--tool=memcheck", self, "ring", "1000000", "1", NULL};
		tool("valgrind memcheck, ring 1M steps", v1, small, NULL);
		if (sqlscript[0]) {
			char *v2[] = {"valgrind", "-q", "--tool=memcheck", "sqlite3", ":memory:", NULL};
			tool("valgrind memcheck, sqlite3", v2, sq, sqlscript);
		}
	} else {
		printf("    valgrind: not installed, skipped\n");
	}
	const char *cc = have("clang") ? "clang" : have("gcc") ? "gcc" : NULL;
	char asan[] = "/tmp/pooltag-bench-asan-XXXXXX", cmd[512];
	int afd = mkstemp(asan);
	if (cc && afd >= 0) {
		close(afd);
		snprintf(cmd, sizeof(cmd), "%s -O2 -fsanitize=address -pthread -o %s bench/bench_run.c 2>/dev/null",
			 cc, asan);
		if (system(cmd) == 0) {
			char *a1[] = {asan, "ring", "5000000", "1", NULL};
			tool("ASan build, ring 5M steps", a1, r1, NULL);
		} else {
			printf("    ASan build: %s cannot build it here, skipped\n", cc);
		}
		snprintf(cmd, sizeof(cmd), "%s -O2 -fsanitize=leak -pthread -o %s bench/bench_run.c 2>/dev/null",
			 cc, asan);
		if (system(cmd) == 0) {
			char *l1[] = {asan, "ring", "5000000", "1", NULL};
			tool("LSan build, ring 5M steps", l1, r1, NULL);
		} else {
			printf("    LSan build: %s cannot build it here, skipped\n", cc);
		}
		unlink(asan);
	}
	if (sqlscript[0])
		unlink(sqlscript);
	return 0;
}
