/*
 * bench_run.c - pooltag run against the bare program, in the same run.
 *
 * Workloads, each an unmodified program:
 *  - ring: bench_pool.c's workload with plain malloc and free (a ring of
 *    4096 live blocks, each step frees one and allocates another of 8-512
 *    bytes, 1% of 4-64 KiB, and writes its first byte), this very binary
 *    run as "bench_run ring STEPS THREADS";
 *  - sqlite3 (when installed) running an insert-heavy script: 50000
 *    INSERTs into an indexed table in one transaction, in memory.
 * Variants, alternated round by round so that drift hits all alike: the
 * bare program; under the interposer counting only (accounting per module
 * and site, POOLTAG_RUN_TRACK=none); with the registry of live blocks the
 * exit scan needs (a record per block, POOLTAG_RUN_TRACK=blocks, stacks
 * off; the default adds a stack per block, measured by the stacks' own
 * benchmark).
 *
 * Then the exit scan (lost or still reachable): a program holding 1 GiB of
 * live blocks of 32-1024 bytes, linked in a list from a global, under
 * POOLTAG_RUN_TRACK=blocks; the interposer reports the scan's own time
 * (POOLTAG_RUN_SCAN_STATS), median of 3 runs.
 * Printed: the median CPU time (user and system) of each, and the median
 * of the per-round ratios to the bare run of the same round.
 *
 * Then, when installed, heaptrack, valgrind's memcheck and an ASan build
 * (clang or gcc with -fsanitize=address) on the same workloads, fewer
 * steps, one round each, as ratios to a bare run of the same size.
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
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define RING 4096
#define MAXV 3

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

static char self[PATH_MAX], preload[PATH_MAX], sqlscript[64] = "";

/* Runs argv (stdin from in, if set; output discarded) with the variant's
 * environment; the CPU seconds (user and system) it used, or -1 if it
 * failed.  CPU time, not wall time: on a shared, loaded machine wall time
 * mostly measures the run queue. */
static double timed(char *const argv[], int variant, const char *in)
{
	struct rusage ru;
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int nul = open("/dev/null", O_WRONLY);
		if (in) {
			int fd = open(in, O_RDONLY);
			if (fd < 0 || dup2(fd, 0) < 0)
				_exit(126);
		}
		if (nul < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0)
			_exit(126);
		unsetenv("LD_PRELOAD");
		if (variant >= 1) {
			setenv("LD_PRELOAD", preload, 1);
			setenv("POOLTAG_RUN_QUIET", "1", 1);
		}
		if (variant == 1)
			setenv("POOLTAG_RUN_TRACK", "none", 1);
		if (variant == 2)
			setenv("POOLTAG_RUN_TRACK", "blocks", 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void compare(const char *name, char *const argv[], const char *in, int rounds)
{
	double t[MAXV][16], ratio[MAXV][16];

	for (int r = 0; r < rounds; r++)
		for (int v = 0; v < MAXV; v++) {
			t[v][r] = timed(argv, v, in);
			if (t[v][r] < 0) {
				printf("  %-34s failed (variant %d)\n", name, v);
				return;
			}
		}
	for (int r = 0; r < rounds; r++)
		for (int v = 0; v < MAXV; v++)
			ratio[v][r] = t[v][r] / t[0][r];
	printf("  %-34s %7.3fs %7.3fs %6.2fx %7.3fs %6.2fx\n", name, median(t[0], rounds),
	       median(t[1], rounds), median(ratio[1], rounds), median(t[2], rounds),
	       median(ratio[2], rounds));
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
	double bare = timed(argv, 0, in), t = timed(tool_argv, 0, in);

	if (bare <= 0 || t < 0)
		printf("    %-30s failed\n", label);
	else
		printf("    %-30s %7.3fs %6.1fx\n", label, t, t / bare);
	fflush(stdout);
}

static void write_sql(void)
{
	int fd;
	FILE *f;

	strcpy(sqlscript, "/tmp/pooltag-bench-XXXXXX");
	fd = mkstemp(sqlscript);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		sqlscript[0] = 0;
		return;
	}
	fprintf(f, "create table t(a integer primary key, b text, c real);\n"
		   "create index tb on t(b);\nbegin;\n");
	for (int i = 0; i < 20000; i++)
		fprintf(f, "insert into t(b, c) values('key-%08x-%d', %d.5);\n",
			(unsigned)(i * 2654435761u), i % 977, i);
	fprintf(f, "commit;\nselect count(*), sum(c) from t;\n");
	fclose(f);
}

/* The exit scan of heap MIB, as the interposer times it; seconds, or -1. */
static double scan_once(uint64_t mib, size_t *blocks)
{
	char out[] = "/tmp/pooltag-bench-scan-XXXXXX", arg[32], line[512];
	char *argv[] = {self, "heap", arg, NULL};
	double secs = -1;
	int fd = mkstemp(out);
	FILE *f;

	if (fd < 0)
		return -1;
	close(fd);
	snprintf(arg, sizeof(arg), "%llu", (unsigned long long)mib);
	setenv("POOLTAG_RUN_OUTPUT", out, 1);
	setenv("POOLTAG_RUN_SCAN_STATS", "1", 1);
	unsetenv("POOLTAG_RUN_QUIET");
	if (timed(argv, 2, NULL) >= 0 && (f = fopen(out, "r"))) {
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
	printf("  %-34s %8s %8s %7s %8s %7s\n", "workload", "bare", "counting", "ratio", "registry",
	       "ratio");
	char *r1[] = {self, "ring", "5000000", "1", NULL};
	char *r2[] = {self, "ring", "5000000", "2", NULL};
	compare("ring, 5M steps, 1 thread", r1, NULL, rounds);
	compare("ring, 5M steps/thread, 2 threads", r2, NULL, rounds);
	char *sq[] = {"sqlite3", ":memory:", NULL};
	if (have("sqlite3")) {
		write_sql();
		if (sqlscript[0])
			compare("sqlite3, 20000 inserts", sq, sqlscript, rounds);
	} else {
		printf("  sqlite3: not installed, skipped\n");
	}

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
		unlink(asan);
	}
	if (sqlscript[0])
		unlink(sqlscript);
	return 0;
}
