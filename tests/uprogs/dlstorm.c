/*
 * dlstorm.c - threads loading and unloading plugins while others allocate
 * at call sites seen for the first time; knows nothing of pooltag
 * (tests/e2e/dlstorm.bats).
 *
 * usage: dlstorm PLUGIN THREADS LOADS KEEP [wait]
 * PLUGIN is libstorm.so (copied THREADS + 2 times into a directory of its
 * own, so that each thread's loads and unloads are real ones).  With
 * "wait" it prints "pid N" first and, at the end, waits for a line on
 * standard input before it exits.
 *
 * First, one case made to happen: a thread inside dl_iterate_phdr (the
 * dynamic linker's lock held) whose callback, in a plugin just loaded,
 * waits until the main thread sleeps in the kernel on a futex (as
 * /proc/self/task/TID/syscall shows) or has finished, then allocates at a
 * new site; the main thread meanwhile allocates for the first time in
 * another plugin, loaded without allocating in its constructor.  An
 * interposer that asks the dynamic linker while it holds the lock the
 * callback's allocation needs never finishes this.
 * Then the storm: THREADS threads each load their copy LOADS times (the
 * constructor allocates), call it, allocate in a dl_iterate_phdr callback
 * every third time, unload it; at the end each allocates KEEP blocks of 48
 * bytes at the KEEP line and leaves them.  Prints "done N" (N: the
 * plugins' allocations, all freed) and exits 0.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_THREADS 16

static char dir[4096];
static long loads, keep;
/* Copies from to to; 0 or -1. */
static int copy(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0700);
	ssize_t n = 0;

	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			n = -1;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return in < 0 || out < 0 || n < 0 ? -1 : 0;
}

static void copy_path(int i, char *out, size_t len)
{
	snprintf(out, len, "%s/libstorm%d.so", dir, i);
}

static void *load(int i, void **sym_work, void **sym_iterate)
{
	char path[4200];
	void *h;

	copy_path(i, path, sizeof(path));
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlstorm: %s\n", dlerror());
		exit(1);
	}
	*sym_work = dlsym(h, "storm_work");
	*sym_iterate = dlsym(h, "storm_iterate");
	if (!*sym_work || !*sym_iterate)
		exit(1);
	return h;
}

/* ---- the case made to happen ---- */

static struct {
	pid_t tid; /* the main thread */
	int in_cb; /* the callback waits */
	int done;  /* the main thread's allocations are made */
	int (*iterate)(void (*)(void));
} race;

/* Does thread tid sleep on a futex?  1, 0, or -1 when the kernel does
 * not tell. */
static int on_futex(pid_t tid)
{
	char path[64], buf[64];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return buf[0] >= '0' && buf[0] <= '9' && strtol(buf, NULL, 10) == SYS_futex;
}

/* In the callback: until the main thread sleeps on a futex, or is done. */
static void wait_main(void)
{
	__atomic_store_n(&race.in_cb, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&race.done, __ATOMIC_ACQUIRE) && on_futex(race.tid) == 0)
		sched_yield();
}

static void *iterate_thread(void *arg)
{
	(void)arg;
	return (void *)(long)race.iterate(wait_main);
}

static long race_case(void)
{
	int (*work)(int);
	void *h1, *h2, *w1, *r;
	pthread_t t;
	long n;

	race.tid = (pid_t)syscall(SYS_gettid);
	on_futex(race.tid); /* once before: its calls are no first ones in the callback */
	h1 = load(0, &w1, (void **)&race.iterate);
	setenv("LIBSTORM_QUIET", "1", 1);
	h2 = load(1, (void **)&work, &r);
	unsetenv("LIBSTORM_QUIET");
	if (pthread_create(&t, NULL, iterate_thread, NULL) != 0)
		exit(1);
	while (!__atomic_load_n(&race.in_cb, __ATOMIC_ACQUIRE))
		sched_yield();
	n = work(3); /* the first allocations of libstorm1.so's code */
	__atomic_store_n(&race.done, 1, __ATOMIC_RELEASE);
	pthread_join(t, &r);
	dlclose(h2);
	dlclose(h1);
	return n + (long)r + 2; /* and libstorm0.so's constructor */
}

/* ---- the storm ---- */

static void *storm(void *arg)
{
	int i = (int)(long)arg;
	long made = 0;

	for (long k = 0; k < loads; k++) {
		int (*work)(int), (*iterate)(void (*)(void));
		void *h = load(i, (void **)&work, (void **)&iterate);

		made += 2 + work(1 + (int)((k + i) % 8));
		if (k % 3 == i % 3)
			made += iterate(NULL);
		if (dlclose(h) != 0)
			exit(1);
	}
	for (long k = 0; k < keep; k++)
		if (!malloc(48)) /* KEEP line */
			abort();
	return (void *)made;
}

int main(int argc, char **argv)
{
	pthread_t t[MAX_THREADS];
	char path[4200];
	const char *tmp = getenv("TMPDIR");
	long made;
	int n;

	if (argc != 5 && !(argc == 6 && strcmp(argv[5], "wait") == 0))
		return 2;
	if (argc == 6) {
		printf("pid %d\n", (int)getpid());
		fflush(stdout);
	}
	n = atoi(argv[2]);
	loads = atol(argv[3]);
	keep = atol(argv[4]);
	if (n < 1 || n > MAX_THREADS)
		return 2;
	snprintf(dir, sizeof(dir), "%s/dlstorm.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return 1;
	for (int i = 0; i < n + 2; i++) {
		copy_path(i, path, sizeof(path));
		if (copy(argv[1], path) != 0)
			return 1;
	}
	made = race_case();
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, storm, (void *)(long)(i + 2)) != 0)
			return 1;
	for (int i = 0; i < n; i++) {
		void *r;
		pthread_join(t[i], &r);
		made += (long)r;
	}
	for (int i = 0; i < n + 2; i++) {
		copy_path(i, path, sizeof(path));
		unlink(path);
	}
	rmdir(dir);
	printf("done %ld\n", made);
	fflush(stdout);
	if (argc == 6 && !fgets(path, sizeof(path), stdin))
		return 1;
	return 0;
}
