/*
 * test_nonpaged.c - the non-paged back end: sizes, alignment, zero fill, wipe
 * on free, that memory is really locked (VmLck, mincore), the lock-bytes
 * gauge, absurd sizes, threads, fork, and the RLIMIT_MEMLOCK limit in a child
 * that has dropped CAP_IPC_LOCK.
 */
#include "pt_test.h"
#include "nonpaged.h"

#include <errno.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)

static size_t page;

/* Whether all n bytes at p equal v: the first does, and each equals the next. */
static int all_bytes(const void *p, size_t n, unsigned char v)
{
	const unsigned char *c = p;

	return n == 0 || (c[0] == v && memcmp(c, c + 1, n - 1) == 0);
}

static int aligned(const void *p, size_t align)
{
	return ((uintptr_t)p & (align - 1)) == 0;
}

static size_t page_round(size_t n)
{
	return (n + page - 1) / page * page;
}

/* This process's locked memory from /proc/self/status, in bytes; -1 if unreadable. */
static long long vmlck_bytes(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

/* Whether every page of [p, p + n) is resident. */
static int resident(void *p, size_t n)
{
	uintptr_t start = (uintptr_t)p / page * page;
	size_t npages = ((uintptr_t)p + n - start + page - 1) / page;
	unsigned char *vec = malloc(npages);
	int ok = vec && mincore((void *)start, npages * page, vec) == 0;

	for (size_t i = 0; ok && i < npages; i++)
		ok = vec[i] & 1;
	free(vec);
	return ok;
}

/* Waits for a forked child and checks it exited with status 0. */
static void check_child(pid_t pid)
{
	int st = 0;

	PT_CHECK(pid > 0);
	if (pid <= 0)
		return;
	PT_CHECK_EQ(waitpid(pid, &st, 0), pid);
	PT_CHECK(WIFEXITED(st));
	if (WIFSIGNALED(st))
		PT_FAIL_("child killed by signal %d", WTERMSIG(st));
	else
		PT_CHECK_EQ(WEXITSTATUS(st), 0);
}

PT_TEST(test_sizes)
{
	static const size_t sizes[] = {0, 1, 16, 17, 4095, 4096, 4097, MIB};
	void *z1, *z2;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i] ? sizes[i] : 1;
		unsigned char *p = pt_np_alloc(sizes[i], 16);

		PT_CHECK(p != NULL);
		if (!p)
			continue;
		PT_CHECK(aligned(p, 16));
		PT_CHECK(all_bytes(p, n, 0));
		memset(p, 0x5a, n);
		PT_CHECK(all_bytes(p, n, 0x5a));
		pt_np_free(p, sizes[i], 16);
	}
	z1 = pt_np_alloc(0, 16);
	z2 = pt_np_alloc(0, 16);
	PT_CHECK(z1 && z2 && z1 != z2);
	pt_np_free(z1, 0, 16);
	pt_np_free(z2, 0, 16);
}

/*
 * Two live blocks per (size, align), filled with different bytes: a block
 * smaller than asked for, or overlapping another, shows up as a wrong byte.
 */
static void check_pair(size_t size, size_t align)
{
	unsigned char *a = pt_np_alloc(size, align), *b = pt_np_alloc(size, align);
	size_t n = size ? size : 1;

	if (!a || !b) {
		PT_FAIL_("size %zu align %zu: allocation failed", size, align);
	} else if (!aligned(a, align) || !aligned(b, align)) {
		PT_FAIL_("size %zu align %zu: %p %p misaligned", size, align, (void *)a, (void *)b);
	} else if (a == b || !all_bytes(a, n, 0) || !all_bytes(b, n, 0)) {
		PT_FAIL_("size %zu align %zu: same block or not zero-filled", size, align);
	} else {
		memset(a, 0xaa, n);
		memset(b, 0x55, n);
		if (!all_bytes(a, n, 0xaa) || !all_bytes(b, n, 0x55))
			PT_FAIL_("size %zu align %zu: blocks overlap", size, align);
	}
	pt_np_free(a, size, align);
	pt_np_free(b, size, align);
}

PT_TEST(test_alignment)
{
	for (size_t align = 16; align <= 4096; align *= 2)
		for (size_t size = 1; size <= 4096 + 64; size++)
			check_pair(size, align);
	for (size_t align = 8192; align <= 65536; align *= 2) {
		static const size_t sizes[] = {0, 1, 100, 4096, 4097};

		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			check_pair(sizes[i], align);
		check_pair(align, align);
		check_pair(align + 1, align);
		check_pair(3 * align, align);
	}
}

/* A freed small block stays mapped in its slab, so its bytes can be read right after the free. */
PT_TEST(test_wipe)
{
	static const size_t sizes[] = {1, 16, 17, 48, 200, 1000, 4000, 4096};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i], link = sizeof(void *);
		unsigned char *p = pt_np_alloc(n, 16), *q;

		PT_CHECK(p != NULL);
		if (!p)
			continue;
		memset(p, 0xa5, n);
		pt_np_free(p, n, 16);
		/* The first word links the free list; all the caller wrote after it is gone. */
		if (n > link)
			PT_CHECK(all_bytes(p + link, n - link, 0));
		q = pt_np_alloc(n, 16);
		PT_CHECK(q == p);
		PT_CHECK(q && all_bytes(q, n, 0));
		pt_np_free(q, n, 16);
	}
}

PT_TEST(test_locked)
{
	size_t base = pt_np_locked_bytes(), grown;
	unsigned char *p;
	void *small[100];

	PT_CHECK_EQ(vmlck_bytes(), base);
	p = pt_np_alloc(MIB, 16);
	PT_CHECK(p != NULL);
	if (p) {
		PT_CHECK(resident(p, MIB));
		PT_CHECK_EQ(pt_np_locked_bytes(), base + MIB);
		PT_CHECK_EQ(vmlck_bytes(), base + MIB);
		pt_np_free(p, MIB, 16);
	}
	PT_CHECK_EQ(pt_np_locked_bytes(), base);
	PT_CHECK_EQ(vmlck_bytes(), base);

	/* 100 blocks of 3500 bytes need new slabs (earlier tests left at most one of
	 * their class); freeing the blocks keeps the slabs locked. */
	for (int i = 0; i < 100; i++) {
		small[i] = pt_np_alloc(3500, 16);
		PT_CHECK(small[i] && resident(small[i], 3500));
	}
	grown = pt_np_locked_bytes() - base;
	PT_CHECK(grown >= 90 * 3500 && grown % page == 0);
	PT_CHECK_EQ(vmlck_bytes(), base + grown);
	for (int i = 0; i < 100; i++)
		pt_np_free(small[i], 3500, 16);
	PT_CHECK_EQ(pt_np_locked_bytes(), base + grown);
	PT_CHECK_EQ(vmlck_bytes(), base + grown);
}

/* A large block locks its size rounded to pages, whatever its alignment. */
PT_TEST(test_accounting)
{
	static const struct {
		size_t size, align;
	} cases[] = {{4097, 16}, {MIB + 1, 64}, {1, 65536}, {65537, 65536}, {10000, 1 << 20}};
	size_t base = pt_np_locked_bytes(), sum = 0;
	void *p[sizeof(cases) / sizeof(cases[0])];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p[i] = pt_np_alloc(cases[i].size, cases[i].align);
		PT_CHECK(p[i] != NULL);
		sum += p[i] ? page_round(cases[i].size) : 0;
		PT_CHECK_EQ(pt_np_locked_bytes(), base + sum);
	}
	PT_CHECK_EQ(vmlck_bytes(), base + sum);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		pt_np_free(p[i], cases[i].size, cases[i].align);
	PT_CHECK_EQ(pt_np_locked_bytes(), base);
	PT_CHECK_EQ(vmlck_bytes(), base);
}

/*
 * A free whose size does not match a large block, or whose pointer is not
 * one, must leave memory alone: unmapping a slab would strand its free list.
 */
PT_TEST(test_bad_free)
{
	size_t base = pt_np_locked_bytes();
	unsigned char *big = pt_np_alloc(0, 65536), *small = pt_np_alloc(4096, 4096);

	PT_CHECK(big && resident(big, 1));
	PT_CHECK(small != NULL);
	if (!big || !small)
		return;
	PT_CHECK_EQ(pt_np_locked_bytes() - base >= page, 1);
	base = pt_np_locked_bytes();
	pt_np_free(big, 3 * page, 65536);
	pt_np_free(small, 100000, 16);
	pt_np_free(small + 16, 100000, 16);
	PT_CHECK_EQ(pt_np_locked_bytes(), base);
	PT_CHECK(resident(big, 1) && resident(small, 4096));
	memset(big, 1, 16);
	memset(small, 1, 4096);
	pt_np_free(big, 0, 65536);
	pt_np_free(small, 4096, 4096);
	PT_CHECK_EQ(pt_np_locked_bytes(), base - page);
	PT_CHECK_EQ(vmlck_bytes(), pt_np_locked_bytes());
}

PT_TEST(test_absurd)
{
	static const struct {
		size_t size, align;
	} cases[] = {
	    {SIZE_MAX, 16},        {SIZE_MAX - 4095, 16},           {SIZE_MAX / 2 + 1, 16},
	    {(size_t)1 << 62, 16}, {SIZE_MAX - 10, 65536},          {1, (size_t)1 << 62},
	    {1, SIZE_MAX / 2 + 1}, {SIZE_MAX / 2, (size_t)1 << 40},
	};
	size_t base = pt_np_locked_bytes();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		errno = 0;
		PT_CHECK(pt_np_alloc(cases[i].size, cases[i].align) == NULL);
		PT_CHECK_EQ(errno, ENOMEM);
	}
	errno = 0;
	PT_CHECK(pt_np_alloc(64, 48) == NULL);
	PT_CHECK_EQ(errno, EINVAL);
	PT_CHECK_EQ(pt_np_locked_bytes(), base);
	PT_CHECK_EQ(vmlck_bytes(), base);
}

#define STRESS_THREADS 4
#define STRESS_OPS     20000
#define STRESS_LIVE    64

struct stress {
	unsigned id;
	int failures;
};

/* Random alloc/free with a per-block byte pattern, checked before each free. */
static void *stress_thread(void *arg)
{
	struct stress *st = arg;
	struct {
		unsigned char *p;
		size_t size, align;
		unsigned char v;
	} live[STRESS_LIVE] = {{0}};
	uint32_t x = 2463534242u ^ (st->id * 2654435761u);

	for (int i = 0; i < STRESS_OPS + STRESS_LIVE; i++) {
		unsigned s = (unsigned)i % STRESS_LIVE;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		if (i < STRESS_OPS)
			s = x % STRESS_LIVE;
		if (live[s].p) {
			st->failures += !all_bytes(live[s].p, live[s].size, live[s].v);
			pt_np_free(live[s].p, live[s].size, live[s].align);
			live[s].p = NULL;
		} else if (i < STRESS_OPS) {
			live[s].size =
			    (x >> 8) % 64 == 0 ? 4096 + (x >> 14) % 60000 : (x >> 8) % 1500;
			live[s].align = (size_t)16 << ((x >> 24) % 5);
			live[s].v = (unsigned char)(st->id * 64 + s + 1);
			live[s].p = pt_np_alloc(live[s].size, live[s].align);
			if (!live[s].p || !aligned(live[s].p, live[s].align) ||
			    !all_bytes(live[s].p, live[s].size, 0)) {
				st->failures++;
				pt_np_free(live[s].p, live[s].size, live[s].align);
				live[s].p = NULL;
				continue;
			}
			memset(live[s].p, live[s].v, live[s].size);
		}
	}
	return NULL;
}

PT_TEST(test_threads)
{
	pthread_t t[STRESS_THREADS];
	struct stress st[STRESS_THREADS];
	size_t base = pt_np_locked_bytes();

	for (unsigned i = 0; i < STRESS_THREADS; i++) {
		st[i] = (struct stress){i, 0};
		PT_CHECK_EQ(pthread_create(&t[i], NULL, stress_thread, &st[i]), 0);
	}
	for (unsigned i = 0; i < STRESS_THREADS; i++) {
		PT_CHECK_EQ(pthread_join(t[i], NULL), 0);
		PT_CHECK_EQ(st[i].failures, 0);
	}
	/* Only slabs may have grown: every large block was freed. */
	PT_CHECK(pt_np_locked_bytes() >= base);
	PT_CHECK_EQ(vmlck_bytes(), pt_np_locked_bytes());
}

static atomic_int hammer_stop;

static void *hammer(void *arg)
{
	(void)arg;
	while (!atomic_load(&hammer_stop)) {
		void *a = pt_np_alloc(64, 16), *b = pt_np_alloc(20000, 16);

		pt_np_free(a, 64, 16);
		pt_np_free(b, 20000, 16);
	}
	return NULL;
}

/*
 * Forks while another thread allocates: the child must find the mutex free
 * (alarm turns a deadlock into a failure) and its regions locked again, since
 * fork does not inherit memory locks.
 */
PT_TEST(test_fork)
{
	pthread_t t;

	atomic_store(&hammer_stop, 0);
	PT_CHECK_EQ(pthread_create(&t, NULL, hammer, NULL), 0);
	for (int i = 0; i < 20; i++) {
		pid_t pid;

		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			unsigned char *a, *b;

			alarm(10);
			PT_CHECK(pt_np_locked_bytes() > 0);
			PT_CHECK_EQ(vmlck_bytes(), pt_np_locked_bytes());
			a = pt_np_alloc(100, 16);
			b = pt_np_alloc(100000, 16);
			PT_CHECK(a && all_bytes(a, 100, 0));
			PT_CHECK(b && all_bytes(b, 100000, 0));
			PT_CHECK_EQ(vmlck_bytes(), pt_np_locked_bytes());
			pt_np_free(a, 100, 16);
			pt_np_free(b, 100000, 16);
			fflush(stdout);
			_exit(pt_test_cur_failed);
		}
		check_child(pid);
	}
	atomic_store(&hammer_stop, 1);
	PT_CHECK_EQ(pthread_join(t, NULL), 0);
}

/* Clears CAP_IPC_LOCK, which lets root ignore RLIMIT_MEMLOCK; 0 or -1. */
static int drop_ipc_lock(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	unsigned i = CAP_TO_INDEX(CAP_IPC_LOCK), bit = CAP_TO_MASK(CAP_IPC_LOCK);

	if (syscall(SYS_capget, &h, d) != 0)
		return -1;
	d[i].effective &= ~bit;
	d[i].permitted &= ~bit;
	d[i].inheritable &= ~bit;
	if (syscall(SYS_capset, &h, d) != 0 || syscall(SYS_capget, &h, d) != 0)
		return -1;
	return d[i].effective & bit ? -1 : 0;
}

#define LIMIT_HEADROOM (256 * 1024)
#define LIMIT_MAX      4096

/* In a forked child: runs into RLIMIT_MEMLOCK and checks the pool survives it. */
static void lock_limit_child(void)
{
	static void *big[LIMIT_MAX], *small[LIMIT_MAX];
	size_t nbig = 0, nsmall = 0, nfresh = 0, base, before = 0;
	struct rlimit rl;
	void *p = NULL;

	PT_CHECK_EQ(drop_ipc_lock(), 0);
	base = pt_np_locked_bytes();
	PT_CHECK_EQ(vmlck_bytes(), base);
	rl.rlim_cur = rl.rlim_max = base + LIMIT_HEADROOM;
	PT_CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &rl), 0);

	/* Large blocks fill the headroom exactly; the next one fails and changes nothing. */
	while (nbig < LIMIT_MAX) {
		before = pt_np_locked_bytes();
		errno = 0;
		p = pt_np_alloc(16384, 16);
		if (!p)
			break;
		big[nbig++] = p;
	}
	PT_CHECK(p == NULL);
	PT_CHECK_EQ(errno, ENOMEM);
	PT_CHECK_EQ(nbig, LIMIT_HEADROOM / 16384);
	PT_CHECK_EQ(pt_np_locked_bytes(), before);
	PT_CHECK_EQ(pt_np_locked_bytes(), base + LIMIT_HEADROOM);

	/* Small blocks: whatever the free list holds, then a new slab cannot be locked. */
	while (nsmall < LIMIT_MAX && (p = pt_np_alloc(1000, 16)))
		small[nsmall++] = p;
	PT_CHECK(p == NULL);
	PT_CHECK_EQ(errno, ENOMEM);
	PT_CHECK_EQ(pt_np_locked_bytes(), base + LIMIT_HEADROOM);

	/* A freed small block is handed out again without locking anything. */
	if (nsmall > 0) {
		memset(small[nsmall - 1], 0x77, 1000);
		pt_np_free(small[nsmall - 1], 1000, 16);
		p = pt_np_alloc(1000, 16);
		PT_CHECK(p == small[nsmall - 1]);
		PT_CHECK(p && all_bytes(p, 1000, 0));
	}

	/* Freeing a large block returns its share of the limit: new slabs fit in it. */
	if (nbig > 0) {
		pt_np_free(big[--nbig], 16384, 16);
		PT_CHECK_EQ(pt_np_locked_bytes(), base + LIMIT_HEADROOM - 16384);
		while (nsmall < LIMIT_MAX && (p = pt_np_alloc(1000, 16))) {
			PT_CHECK(all_bytes(p, 1000, 0));
			small[nsmall++] = p;
			nfresh++;
		}
		PT_CHECK_EQ(errno, ENOMEM);
		PT_CHECK(nfresh >= 8);
		if (page == 4096)
			PT_CHECK_EQ(nfresh, 16384 / 1024);
	}
	PT_CHECK(pt_np_alloc(4097, 16) == NULL);
	PT_CHECK_EQ(errno, ENOMEM);

	while (nbig > 0)
		pt_np_free(big[--nbig], 16384, 16);
	while (nsmall > 0)
		pt_np_free(small[--nsmall], 1000, 16);
	/* The slabs stay, the large blocks are gone, and the kernel agrees. */
	PT_CHECK(pt_np_locked_bytes() <= base + 16384);
	PT_CHECK_EQ(vmlck_bytes(), pt_np_locked_bytes());
	p = pt_np_alloc(100000, 16);
	PT_CHECK(p != NULL);
	pt_np_free(p, 100000, 16);
}

PT_TEST(test_lock_limit)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		alarm(30);
		lock_limit_child();
		fflush(stdout);
		_exit(pt_test_cur_failed);
	}
	check_child(pid);
}

int main(void)
{
	page = (size_t)sysconf(_SC_PAGESIZE);
	PT_RUN(test_sizes);
	PT_RUN(test_alignment);
	PT_RUN(test_wipe);
	PT_RUN(test_locked);
	PT_RUN(test_accounting);
	PT_RUN(test_bad_free);
	PT_RUN(test_absurd);
	PT_RUN(test_threads);
	PT_RUN(test_fork);
	PT_RUN(test_lock_limit);
	return pt_test_done();
}
