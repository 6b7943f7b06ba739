/*
 * reach.c - memory still reachable at exit from each kind of root, and
 * memory lost in the shapes a leak checker must tell apart
 * (tests/e2e/reach.bats).  Knows nothing of pooltag.
 *
 * usage: reach MODE
 *   global    a block only a global points to                 (reachable)
 *   stack     a block only main's stack points to, exit() from a nested call (reachable)
 *   tls       a block only the main thread's TLS points to     (reachable)
 *   thread    blocks only another thread's stack and TLS point to, that
 *             thread blocked in read() at exit                   (reachable)
 *   register  a block only a register of another, spinning, thread holds (reachable)
 *   tree      a tree of 1 + 3 + 9 nodes whose root pointer is dropped
 *             (1 lost, 12 indirectly lost)
 *   cycle     two blocks pointing at each other, dropped        (lost)
 *   returned  a block main's local points to when main returns  (lost: main's frame is dead)
 *   busy      two threads allocating and freeing without pause while main exits:
 *             the scan stops them wherever they are (nothing more lost)
 * Every mode also leaks one 77-byte block at the LEAK line, so a report
 * always has one lost group to compare against.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *volatile global_p;
static __thread void *volatile tls_p;
static int ready;
static unsigned long churned;
static int pfd[2];

struct node {
	struct node *kid[3];
	char pad[40];
};

__attribute__((noinline)) static struct node *tree(int depth)
{
	struct node *n = calloc(1, sizeof(*n)); /* TREE line */
	for (int i = 0; depth > 0 && i < 3; i++)
		n->kid[i] = tree(depth - 1);
	return n;
}

__attribute__((noinline)) static void leak_one(void)
{
	char *p = malloc(77); /* LEAK line */
	memset(p, 1, 77);
	printf("leak %p\n", (void *)p);
}

__attribute__((noinline)) static void nested_exit(void)
{
	fflush(stdout);
	exit(0);
}

static void *blocked(void *arg)
{
	char *volatile on_stack = malloc(33); /* THREAD stack line */
	char c;

	(void)arg;
	tls_p = malloc(44); /* THREAD tls line */
	__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
	if (read(pfd[0], &c, 1) < 0)
		perror("read");
	free(on_stack);
	return NULL;
}

/* Stack memory below the caller's frame: zeroed, so no stale copy of a
 * pointer survives under the stack pointer. */
__attribute__((noinline)) static void scrub(void)
{
	volatile char buf[8192];
	memset((char *)buf, 0, sizeof(buf));
}

#define KEY ((uintptr_t)0x5a5a5a5a5a5a5a5aull)

static void *spinning(void *arg)
{
	/* The pointer is kept xored (no copy of it in memory) until it is
	 * loaded into the register the loop spins with. */
	uintptr_t x = (uintptr_t)malloc(55) ^ KEY; /* REGISTER line */

	(void)arg;
	scrub();
	__asm__ volatile("" : "+r"(x));
	__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
	__asm__ volatile("xor %1, %0\n1:\tpause\n\tjmp 1b" : "+r"(x) : "r"(KEY));
	return NULL;
}

static void *churn(void *arg)
{
	void *ring[64] = {0};

	(void)arg;
	__atomic_add_fetch(&ready, 1, __ATOMIC_RELEASE);
	for (unsigned long i = 0;; i++) {
		free(ring[i % 64]);
		ring[i % 64] = malloc(16 + i % 200);
		__atomic_add_fetch(&churned, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void start(void *(*fn)(void *))
{
	pthread_t t;

	if (pipe(pfd) != 0 || pthread_create(&t, NULL, fn, NULL) != 0)
		exit(3);
	while (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
		usleep(1000);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	leak_one();
	if (strcmp(mode, "global") == 0) {
		global_p = malloc(11); /* GLOBAL line */
	} else if (strcmp(mode, "stack") == 0) {
		char *volatile local = malloc(22); /* STACK line */
		nested_exit();
		free(local);
	} else if (strcmp(mode, "tls") == 0) {
		tls_p = malloc(66); /* TLS line */
	} else if (strcmp(mode, "thread") == 0) {
		start(blocked);
	} else if (strcmp(mode, "register") == 0) {
		start(spinning);
	} else if (strcmp(mode, "tree") == 0) {
		struct node *volatile root = tree(2);
		printf("tree %p\n", (void *)root);
		root = NULL;
	} else if (strcmp(mode, "cycle") == 0) {
		struct node *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b)); /* CYCLE line */
		a->kid[0] = b;
		b->kid[0] = a;
		printf("cycle %p\n", (void *)a);
	} else if (strcmp(mode, "busy") == 0) {
		pthread_t t[2];
		for (int i = 0; i < 2; i++)
			if (pthread_create(&t[i], NULL, churn, NULL) != 0)
				return 3;
		while (__atomic_load_n(&ready, __ATOMIC_ACQUIRE) < 2)
			usleep(1000);
		while (__atomic_load_n(&churned, __ATOMIC_RELAXED) < 100000)
			usleep(1000); /* both churn by now */
	} else if (strcmp(mode, "returned") == 0) {
		char *volatile local = malloc(88); /* RETURNED line */
		printf("local %p\n", (void *)local);
	} else {
		fprintf(stderr, "usage: reach MODE\n");
		return 2;
	}
	fflush(stdout);
	if (strcmp(mode, "register") == 0 || strcmp(mode, "thread") == 0 || strcmp(mode, "busy") == 0)
		exit(0); /* the other thread still runs */
	return 0;
}
