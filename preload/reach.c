/*
 * reach.c - the exit-time scan of `pooltag run`: which live blocks the
 * program can still reach and which it lost (the words are defined in
 * reach.h).
 *
 * The registry of live blocks is track.c's: in pooltag run every counted
 * block carries a record (struct pt_trec) linked in a striped list, so at
 * exit every live block is known with its slot and its stack id.
 *
 * Other threads.  At exit() the other threads of the program may still
 * run and move pointers between registers, stacks and blocks, so a scan
 * must stop them first.  LeakSanitizer stops the world with ptrace from a
 * helper task; that needs a helper cloned into the address space and
 * ptrace permission (Yama's ptrace_scope may forbid it) and would not see
 * a debugger-attached program at all.  Here each thread gets a signal
 * (SIGPWR, as the Boehm collector uses on Linux) whose handler copies the
 * registers the kernel saved in its ucontext, records its stack pointer
 * and thread pointer, and parks on a futex until the scan is done: the
 * registers are exact and the stack above the interrupted stack pointer
 * (less the 128-byte red zone) is exactly the thread's live stack.  A
 * thread inside a track stripe's critical section defers (track.c) so the
 * registry is never walked half-linked.  A thread that holds the signal
 * blocked (pending, not taken), or does not park within STOP_WAIT_NS, is
 * not waited for further: it is scanned from the
 * stack pointer /proc/self/task/TID/syscall shows when it sleeps in a
 * system call, else every mapping that looks like a thread stack (a
 * writable anonymous mapping right above a guard mapping) is scanned
 * whole: more is called reachable, nothing is called lost wrongly.
 *
 * The exiting thread.  Its frames below the program's call of exit() are
 * exit's own and pooltag's: stale copies of dead pointers live there.  The
 * interposer's exit() records the caller's stack pointer and callee-saved
 * registers; when main returns instead, its frames are dead too, and
 * __libc_start_main is wrapped so that main's return marks the boundary.
 *
 * While the threads are parked nothing here allocates (a parked thread may
 * hold malloc's lock): the tables live in mappings of their own, the
 * module list was read before stopping, and before the report took the
 * site lock (pt_reach_prepare: dl_iterate_phdr takes the dynamic linker's
 * lock, see src/lifecycle.c), /proc is read with plain system calls.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "preload.h"
#include "reach.h"

#define STOP_SIG SIGPWR
#define MAX_THREADS 8192
#define MAX_ROOTS 4096
#define RED_ZONE 128
#define TCB_BYTES 4096 /* the thread descriptor above the thread pointer (glibc's struct pthread) */
/* How long to wait for a thread that can take the stop signal: it parks as
 * soon as it is scheduled, so this only bounds a thread that never runs
 * again (stopped, or stuck in the kernel).  A thread that blocks the
 * signal is not waited for at all (stop_blocked). */
#define STOP_WAIT_NS 30000000000L

/* ---- where the program's frames end on the exiting thread ---- */

/* Set by exit() (the asm stub below) and by main's return. */
uintptr_t pt_reach_exit_sp __attribute__((visibility("hidden")));
uintptr_t pt_reach_exit_regs[6] __attribute__((visibility("hidden")));
static pid_t exit_tid;
static uintptr_t main_sp;      /* main's caller's frame (the trampoline's) */
static volatile int main_done; /* main returned */

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

void pt_reach_exit_c(int status) __attribute__((visibility("hidden"), noreturn));
void pt_reach_exit_c(int status)
{
	static void (*real_exit)(int);

	exit_tid = gettid_();
	if (!real_exit)
		real_exit = (void (*)(int))dlsym(RTLD_NEXT, "exit");
	if (!real_exit)
		_exit(status);
	real_exit(status);
	__builtin_unreachable();
}

#if defined(__x86_64__)
/* exit(): the program's callee-saved registers and stack pointer at its
 * call, before any frame of exit's could overwrite them. */
__asm__(".text\n"
	".globl exit\n"
	".type exit, @function\n"
	"exit:\n"
	"	mov %rbx, pt_reach_exit_regs(%rip)\n"
	"	mov %rbp, pt_reach_exit_regs+8(%rip)\n"
	"	mov %r12, pt_reach_exit_regs+16(%rip)\n"
	"	mov %r13, pt_reach_exit_regs+24(%rip)\n"
	"	mov %r14, pt_reach_exit_regs+32(%rip)\n"
	"	mov %r15, pt_reach_exit_regs+40(%rip)\n"
	"	lea 8(%rsp), %rax\n"
	"	mov %rax, pt_reach_exit_sp(%rip)\n"
	"	jmp pt_reach_exit_c\n"
	".size exit, .-exit\n");
#endif

typedef int (*pt_main_fn)(int, char **, char **);
static pt_main_fn real_main;

__attribute__((noinline)) static int main_trampoline(int argc, char **argv, char **envp)
{
	int r;

	main_sp = (uintptr_t)__builtin_frame_address(0);
	r = real_main(argc, argv, envp);
	main_done = 1;
	return r;
}

PT_EXPORT int __libc_start_main(pt_main_fn main, int argc, char **argv, void (*init)(void),
				void (*fini)(void), void (*rtld_fini)(void), void *stack_end);
PT_EXPORT int __libc_start_main(pt_main_fn main, int argc, char **argv, void (*init)(void),
				void (*fini)(void), void (*rtld_fini)(void), void *stack_end)
{
	int (*real)(pt_main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void),
		    void *);

	real = (__typeof__(real))dlsym(RTLD_NEXT, "__libc_start_main");
	if (!real)
		_exit(127);
	real_main = main;
	return real(main_trampoline, argc, argv, init, fini, rtld_fini, stack_end);
}

/* ---- memory of the scan's own ---- */

/* Large tables ask for huge pages: a page fault per 4 KiB of a table of
 * millions of blocks costs more than the scan itself (in a VM above all). */
static void *zmap(size_t bytes)
{
	void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (bytes >= (4u << 20))
		madvise(p, bytes, MADV_HUGEPAGE);
	return p;
}

static size_t page_round(size_t n)
{
	return (n + 4095) & ~(size_t)4095;
}

/* ---- roots ---- */

struct range {
	uintptr_t lo, hi;
};

static struct {
	struct range r[MAX_ROOTS];
	unsigned n;
} roots;

static void root_add(uintptr_t lo, uintptr_t hi)
{
	if (hi > lo && roots.n < MAX_ROOTS)
		roots.r[roots.n++] = (struct range){lo, hi};
}

struct self_range {
	uintptr_t self;
	uintptr_t tp;
	uintptr_t tls_lo; /* lowest static TLS block of the calling thread */
};

/* Writable segments of every object but the interposer; the calling
 * thread's static TLS (its lowest address tells how far below the thread
 * pointer static TLS reaches). */
static int module_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct self_range *q = arg;
	int self = 0;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && q->self >= a && q->self < a + ph->p_memsz)
			self = 1;
	}
	if (self)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W))
			root_add(a & ~(uintptr_t)7, a + ph->p_memsz);
		if (ph->p_type == PT_TLS && info->dlpi_tls_data) {
			uintptr_t t = (uintptr_t)info->dlpi_tls_data;
			if (t < q->tp && q->tp - t < (64u << 20) && (!q->tls_lo || t < q->tls_lo))
				q->tls_lo = t; /* static TLS lies below the thread pointer */
		}
	}
	return 0;
}

static uintptr_t thread_pointer(void)
{
#if defined(__x86_64__)
	uintptr_t tp;
	__asm__("mov %%fs:0, %0" : "=r"(tp));
	return tp;
#else
	return (uintptr_t)__builtin_thread_pointer();
#endif
}

/* ---- the process's mappings ---- */

struct map {
	uintptr_t lo, hi;
	char r, w, anon;
};

static struct {
	struct map *m;
	size_t n, cap;
	size_t bytes;
} maps;

static uintptr_t hex(const char **p)
{
	uintptr_t v = 0;

	for (;; (*p)++) {
		char c = **p;
		if (c >= '0' && c <= '9')
			v = v * 16 + (uintptr_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uintptr_t)(c - 'a' + 10);
		else
			return v;
	}
}

/* Reads a whole /proc file with system calls into a mapping of its own.
 * Returns the mapping (size *cap) or NULL. */
static char *slurp(const char *path, size_t *len, size_t *cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t c = 1 << 20, n = 0;
	char *buf;

	if (fd < 0)
		return NULL;
	buf = zmap(c);
	while (buf) {
		ssize_t r = read(fd, buf + n, c - n - 1);
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n + 1 == c) {
			char *nb = mremap(buf, c, c * 2, MREMAP_MAYMOVE);
			if (nb == MAP_FAILED) {
				break;
			}
			buf = nb;
			c *= 2;
		}
	}
	close(fd);
	if (buf)
		buf[n] = 0;
	*len = n;
	*cap = c;
	return buf;
}

static void maps_read(void)
{
	size_t len, cap, lines = 1;
	char *buf = slurp("/proc/self/maps", &len, &cap);
	const char *p;

	maps.n = 0;
	if (!buf)
		return;
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	maps.bytes = page_round(lines * sizeof(struct map));
	maps.m = zmap(maps.bytes);
	for (p = buf; maps.m && *p;) {
		struct map m = {0};
		const char *eol = strchr(p, '\n');
		int field = 0;
		m.lo = hex(&p);
		p++;
		m.hi = hex(&p);
		p++;
		m.r = p[0] == 'r';
		m.w = p[1] == 'w';
		/* inode is the fifth field: 0 for anonymous memory */
		for (const char *q = p; q < (eol ? eol : p + strlen(p)); q++)
			if (*q == ' ' && q[1] != ' ' && ++field == 4)
				m.anon = q[1] == '0' && q[2] == ' ';
		maps.m[maps.n++] = m;
		if (!eol)
			break;
		p = eol + 1;
	}
	munmap(buf, cap);
}

static const struct map *map_of(uintptr_t a)
{
	size_t lo = 0, hi = maps.n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (a < maps.m[mid].lo)
			hi = mid;
		else if (a >= maps.m[mid].hi)
			lo = mid + 1;
		else
			return &maps.m[mid];
	}
	return NULL;
}

/* [lo, end of the readable mapping holding a) as a root; lo clipped. */
static void root_stack(uintptr_t lo, uintptr_t a)
{
	const struct map *m = map_of(a);

	if (!m || !m->r)
		return;
	if (lo < m->lo)
		lo = m->lo;
	root_add(lo & ~(uintptr_t)7, m->hi);
}

/* The objects' roots were read before the site lock was taken and the
 * threads stopped (pt_reach_prepare): an object unloaded since is mapped
 * no more.  Keeps the parts of the roots that readable mappings hold (all
 * of them when the maps could not be read). */
static void roots_keep_mapped(void)
{
	static struct range was[MAX_ROOTS];
	unsigned n = roots.n;

	if (!maps.m)
		return;
	memcpy(was, roots.r, n * sizeof(was[0]));
	roots.n = 0;
	for (unsigned i = 0; i < n; i++)
		for (size_t j = 0; j < maps.n; j++) {
			const struct map *m = &maps.m[j];
			if (m->r && m->hi > was[i].lo && m->lo < was[i].hi)
				root_add(m->lo > was[i].lo ? m->lo : was[i].lo,
					 m->hi < was[i].hi ? m->hi : was[i].hi);
		}
}

/* [tp - below, tp + TCB_BYTES), clipped to the mapping holding tp. */
static void root_tls(uintptr_t tp, uintptr_t below)
{
	const struct map *m = map_of(tp);
	uintptr_t lo = tp - below, hi = tp + TCB_BYTES;

	if (!m || !m->r)
		return;
	if (lo < m->lo || lo > tp)
		lo = m->lo;
	if (hi > m->hi)
		hi = m->hi;
	root_add(lo & ~(uintptr_t)7, hi);
}

/* ---- stopping the other threads ---- */

struct thr {
	pid_t tid;
	int state; /* 0 signalled, 1 parked, 2 gone, 3 did not answer */
	uintptr_t sp, tp;
	mcontext_t regs;
};

static struct {
	struct thr *t;
	unsigned n;
	int release;
	struct sigaction old;
	int installed;
} stw;

static long futex(int *w, int op, int val)
{
	return syscall(SYS_futex, w, op, val, NULL, NULL, 0);
}

static void park(const ucontext_t *uc)
{
	pid_t tid = gettid_();
	struct thr *t = NULL;

	for (unsigned i = 0; i < stw.n; i++)
		if (stw.t[i].tid == tid)
			t = &stw.t[i];
	if (!t || __atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != 0)
		return;
	memcpy(&t->regs, &uc->uc_mcontext, sizeof(t->regs));
#if defined(__x86_64__)
	t->sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
	t->sp = (uintptr_t)uc->uc_mcontext.sp;
#else
	t->sp = (uintptr_t)__builtin_frame_address(0);
#endif
	t->tp = thread_pointer();
	__atomic_store_n(&t->state, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&stw.release, __ATOMIC_ACQUIRE))
		futex(&stw.release, FUTEX_WAIT_PRIVATE, 0);
}

static void on_stop(int sig, siginfo_t *si, void *ctx)
{
	int e = errno;

	(void)sig;
	if (si->si_code == SI_TKILL && si->si_pid == getpid() && stw.installed) {
		if (pt_track_cs)
			pt_track_cs_pending = 1; /* parks when it leaves (track.c) */
		else
			park(ctx);
	}
	errno = e;
}

/* Called by track.c when a thread leaves the critical section it was
 * signalled in: the signal again, now that the registry is consistent. */
static void park_later(void)
{
	if (__atomic_load_n(&stw.installed, __ATOMIC_ACQUIRE))
		syscall(SYS_tgkill, getpid(), gettid_(), STOP_SIG);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of the calling thread: what the scan costs, whatever else the
 * machine runs meanwhile. */
static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Signals the threads of /proc/self/task not yet signalled; returns how
 * many were new. */
static unsigned signal_new_threads(pid_t self)
{
	char buf[4096];
	unsigned added = 0;
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (long off = 0; off < n;) {
			struct {
				uint64_t ino;
				int64_t off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *d = (void *)(buf + off);
			pid_t tid = 0;
			int known = 0;
			off += d->reclen;
			for (const char *c = d->name; *c >= '0' && *c <= '9'; c++)
				tid = tid * 10 + (*c - '0');
			if (tid <= 0 || tid == self)
				continue;
			for (unsigned i = 0; i < stw.n && !known; i++)
				known = stw.t[i].tid == tid;
			if (known || stw.n >= MAX_THREADS)
				continue;
			stw.t[stw.n].tid = tid;
			stw.t[stw.n].state = 0;
			__atomic_store_n(&stw.n, stw.n + 1, __ATOMIC_RELEASE);
			if (syscall(SYS_tgkill, getpid(), tid, STOP_SIG) != 0)
				stw.t[stw.n - 1].state = 2;
			added++;
		}
	}
	close(fd);
	return added;
}

/* The mask of field name ("SigBlk:", "SigPnd:") in a status file's text. */
static uint64_t status_mask(const char *buf, const char *name)
{
	const char *p = strstr(buf, name);
	uint64_t mask = 0;

	if (!p)
		return 0;
	for (p += strlen(name); *p == ' ' || *p == '\t'; p++)
		;
	for (; (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'); p++)
		mask = mask << 4 | (uint64_t)(*p <= '9' ? *p - '0' : *p - 'a' + 10);
	return mask;
}

/* Whether thread tid holds the stop signal pending and blocked (its
 * /proc/self/task/TID/status): such a thread parks only when it unblocks
 * the signal, perhaps never.  A thread running the stop handler has the
 * signal blocked too, but no longer pending: it is about to park. */
static int stop_blocked(pid_t tid)
{
	char path[64], buf[2048];
	uint64_t bit = 1ull << (STOP_SIG - 1);
	int fd, n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = (int)read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return (status_mask(buf, "\nSigBlk:") & bit) && (status_mask(buf, "\nSigPnd:") & bit);
}

/* Waits until every signalled thread parked, is gone, or blocks the stop
 * signal (left running: state 3, scanned from what /proc tells), or the
 * time is up.  No short deadline: on a loaded machine a thread may wait
 * long for a processor, and scanning it while it runs would misclassify. */
static void wait_parked(double deadline)
{
	for (;;) {
		unsigned pending = 0;
		for (unsigned i = 0; i < stw.n; i++) {
			struct thr *t = &stw.t[i];
			if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != 0)
				continue;
			if (syscall(SYS_tgkill, getpid(), t->tid, 0) != 0)
				t->state = 2; /* gone */
			else if (!stop_blocked(t->tid))
				pending++;
			else {
				int zero = 0; /* unless it parked meanwhile */
				__atomic_compare_exchange_n(&t->state, &zero, 3, 0, __ATOMIC_ACQ_REL,
							    __ATOMIC_ACQUIRE);
			}
		}
		if (!pending || now() > deadline)
			return;
		sched_yield();
	}
}

static int stop_world(void)
{
	struct sigaction sa;
	pid_t self = gettid_();
	double deadline = now() + (double)STOP_WAIT_NS * 1e-9;

	stw.t = zmap(page_round(MAX_THREADS * sizeof(struct thr)));
	if (!stw.t)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_stop;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	stw.release = 0;
	stw.n = 0;
	pt_track_cs_park = park_later;
	stw.installed = 1;
	if (sigaction(STOP_SIG, &sa, &stw.old) != 0) {
		stw.installed = 0;
		return -1;
	}
	/* New threads may be made by threads not yet stopped: again until a
	 * pass finds none. */
	while (signal_new_threads(self))
		wait_parked(deadline);
	for (unsigned i = 0; i < stw.n; i++)
		if (stw.t[i].state == 0)
			stw.t[i].state = 3;
	return 0;
}

static void start_world(void)
{
	int installed = stw.installed;

	/* A thread that deferred its park and has not parked yet (it did not
	 * answer in time) must not send itself the signal once the program's
	 * own disposition (by default: terminate) is back. */
	__atomic_store_n(&pt_track_cs_park, NULL, __ATOMIC_RELEASE);
	__atomic_store_n(&stw.installed, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&stw.release, 1, __ATOMIC_RELEASE);
	futex(&stw.release, FUTEX_WAKE_PRIVATE, INT_MAX);
	if (installed)
		sigaction(STOP_SIG, &stw.old, NULL); /* a late stop signal finds release set */
	if (stw.t)
		munmap(stw.t, page_round(MAX_THREADS * sizeof(struct thr)));
	stw.t = NULL;
}

/* A thread that did not answer: the stack pointer of its system call. */
static uintptr_t syscall_sp(pid_t tid)
{
	char path[64], *buf;
	size_t len, cap;
	uintptr_t sp = 0;
	const char *p, *last = NULL, *prev = NULL;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	buf = slurp(path, &len, &cap);
	if (!buf)
		return 0;
	/* "nr a1 .. a6 sp pc" while in a system call; "running" or "-1 sp pc" otherwise */
	for (p = buf; *p; p++)
		if (*p == ' ') {
			prev = last;
			last = p + 1;
		}
	if (prev && buf[0] != 'r' && buf[0] != '-' && prev[0] == '0' && prev[1] == 'x') {
		p = prev + 2;
		sp = hex(&p);
	}
	munmap(buf, cap);
	return sp;
}

/* Every writable anonymous mapping right above an unreadable one: what
 * thread stacks look like (glibc's guard page below each). */
static void root_stack_like(void)
{
	for (size_t i = 1; i < maps.n; i++)
		if (maps.m[i].anon && maps.m[i].w && maps.m[i].r && !maps.m[i - 1].r &&
		    maps.m[i - 1].hi == maps.m[i].lo)
			root_add(maps.m[i].lo, maps.m[i].hi);
}

/* ---- the block table ---- */

static struct pt_reach *cur;

static void fill_cb(struct pt_trec *r, void *arg)
{
	size_t *i = arg;
	const struct pt__hdr *h = (const struct pt__hdr *)(r + 1);
	uint64_t size = h->word & PT__SIZE_MASK;
	struct pt_reach_block *b;

	if (*i >= cur->n || pt_meta_align_log2(h->meta) != PT_ALIGN_TRACKED)
		return;
	b = &cur->b[(*i)++];
	b->beg = (uintptr_t)(h + 1);
	b->end = b->beg + (size ? size : 1);
	b->slot = r->slot;
	b->stack = r->stack;
	b->owner = 0;
	b->state = r->gen != pt_track_gen ? PT_REACH_INHERITED : 0;
}

/* The table's order by address: (beg, index) pairs, sorted; the table
 * itself stays in the registry's order, so sorting moves 16 bytes a block,
 * not the 32 of an entry. */
struct ord {
	uintptr_t beg;
	uint64_t idx;
};

/* LSD radix sort by beg (16-byte aligned), 11 bits a pass, passes whose
 * digit is the same for every block skipped.  Returns v or tmp. */
static struct ord *sort_ord(struct ord *v, struct ord *tmp, size_t n)
{
	static size_t hist[2048];
	struct ord *src = v, *dst = tmp;

	for (unsigned shift = 4; shift < 64; shift += 11) {
		size_t sum = 0;
		int one = 0;
		memset(hist, 0, sizeof(hist));
		for (size_t i = 0; i < n; i++)
			hist[(src[i].beg >> shift) & 2047]++;
		for (size_t d = 0; d < 2048; d++) {
			size_t c = hist[d];
			one |= c == n;
			hist[d] = sum;
			sum += c;
		}
		if (one)
			continue;
		for (size_t i = 0; i < n; i++)
			dst[hist[(src[i].beg >> shift) & 2047]++] = src[i];
		struct ord *t = src;
		src = dst;
		dst = t;
	}
	return src;
}

/* ---- marking ---- */

#define POINTED 0x100u /* in the lost phase: another lost block points here */

static struct {
	uint32_t *stack;
	size_t n;
	uintptr_t lo, hi; /* every block lies in [lo, hi) */
	const struct ord *ord; /* the blocks by address */
} mk;

/*
 * The block holding p, or NULL.  One interior address is not taken: a
 * 16-aligned one in the block's last 8 bytes.  glibc lets a block use the
 * first word of the next chunk's header (its prev_size), so a pointer of
 * malloc's own free lists to that next chunk (in libc's data, a root)
 * would otherwise keep the block reachable.
 */
static inline struct pt_reach_block *find(uintptr_t p)
{
	const struct ord *o = mk.ord;
	size_t lo = 0, hi = cur->n;
	struct pt_reach_block *b;

	if (p < mk.lo || p >= mk.hi)
		return NULL;
	while (hi - lo > 1) { /* o[lo].beg <= p < o[hi].beg */
		size_t mid = (lo + hi) / 2;
		if (p < o[mid].beg)
			hi = mid;
		else
			lo = mid;
	}
	b = &cur->b[o[lo].idx];
	if (p >= b->end)
		return NULL;
	if ((p & 15) == 0 && p + 8 >= b->end && p != b->beg)
		return NULL; /* glibc's next chunk header (see above) */
	return b;
}

/* Marks the unvisited blocks [lo, hi)'s words point to as state under
 * owner and queues them. */
static void scan_words(uintptr_t lo, uintptr_t hi, uint32_t state, uint32_t owner)
{
	for (const uintptr_t *w = (const uintptr_t *)((lo + 7) & ~(uintptr_t)7);
	     (uintptr_t)(w + 1) <= hi; w++) {
		struct pt_reach_block *b = find(*w);
		if (b && (b->state & 0xff) == 0) {
			b->state = state;
			b->owner = owner;
			mk.stack[mk.n++] = (uint32_t)(b - cur->b);
		}
	}
}

static void flood(uint32_t state, uint32_t owner)
{
	while (mk.n) {
		struct pt_reach_block *b = &cur->b[mk.stack[--mk.n]];
		cur->heap_bytes += b->end - b->beg;
		scan_words(b->beg, b->end, state, owner);
	}
}

/* The lost blocks another lost block points to (not itself). */
static void mark_pointed(void)
{
	for (size_t i = 0; i < cur->n; i++) {
		struct pt_reach_block *b = &cur->b[i];
		if ((b->state & 0xff) != 0)
			continue;
		cur->heap_bytes += b->end - b->beg;
		for (const uintptr_t *w = (const uintptr_t *)b->beg; (uintptr_t)(w + 1) <= b->end; w++) {
			struct pt_reach_block *t = find(*w);
			if (t && t != b && (t->state & 0xff) == 0)
				t->state |= POINTED;
		}
	}
}

/* The dynamic linker's blocks (each thread's DTV and dynamic TLS) are
 * referenced from places no scan sees (the descriptors of exited threads
 * in glibc's stack cache): treated as reachable, as LeakSanitizer does. */
static void mark_linker(void)
{
	uint32_t linker = UINT32_MAX;

	for (uint32_t id = 1; pt_run_module_by_id(id); id++) {
		const char *name = pt_run_module_by_id(id)->name;
		if (strncmp(name, "ld-linux", 8) == 0 || strncmp(name, "ld.so", 5) == 0 ||
		    strncmp(name, "ld64.so", 7) == 0)
			linker = id;
	}
	if (linker == UINT32_MAX)
		return;
	for (size_t i = 0; i < cur->n; i++) {
		struct pt_reach_block *b = &cur->b[i];
		if (b->state == 0 && pt_seg.slots[b->slot].module == linker) {
			b->state = PT_REACH_REACHABLE;
			mk.stack[mk.n++] = (uint32_t)i;
		}
	}
	flood(PT_REACH_REACHABLE, 0);
}

/* A fork child's inherited blocks are roots: what they point to is reachable. */
static void mark_inherited(void)
{
	for (size_t i = 0; i < cur->n; i++)
		if (cur->b[i].state == PT_REACH_INHERITED)
			mk.stack[mk.n++] = (uint32_t)i;
	flood(PT_REACH_REACHABLE, 0);
}

static void classify(void)
{
	mark_linker();
	mark_inherited();
	for (unsigned i = 0; i < roots.n; i++) {
		cur->root_bytes += roots.r[i].hi - roots.r[i].lo;
		scan_words(roots.r[i].lo, roots.r[i].hi, PT_REACH_REACHABLE, 0);
		flood(PT_REACH_REACHABLE, 0);
	}
	mark_pointed();
	/* Directly lost first, then the cycles nothing else points into. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < cur->n; i++) {
			struct pt_reach_block *b = &cur->b[i];
			if ((b->state & 0xff) != 0 || (pass == 0 && (b->state & POINTED)))
				continue;
			b->state = PT_REACH_LOST;
			b->owner = (uint32_t)i;
			mk.stack[mk.n++] = (uint32_t)i;
			flood(PT_REACH_INDIRECT, (uint32_t)i);
		}
	for (size_t i = 0; i < cur->n; i++)
		cur->b[i].state &= 0xff;
}

/* ---- the scan ---- */

/* The exiting thread: its stack from where the program's frames end, the
 * registers it had there, its static TLS and descriptor. */
static void root_self(const struct self_range *q, const uintptr_t *regs, size_t nregs)
{
	uintptr_t lo;

	if (exit_tid == gettid_() && pt_reach_exit_sp)
		lo = pt_reach_exit_sp;
	else if (main_done && main_sp && exit_tid != gettid_())
		lo = main_sp;
	else
		lo = (uintptr_t)__builtin_frame_address(0);
	root_stack(lo, lo);
	root_add((uintptr_t)regs, (uintptr_t)(regs + nregs));
	root_tls(q->tp, q->tls_lo ? q->tp - q->tls_lo : 0);
}

/* The loaded objects' roots, read by pt_reach_prepare for the scan of the
 * same thread (q.tp tells which). */
static struct {
	struct self_range q;
	int ready;
} prep;

void pt_reach_prepare(void)
{
	prep.q = (struct self_range){.self = (uintptr_t)&pt_reach_scan, .tp = thread_pointer()};
	prep.ready = 0;
	if (!(pt_track_flags() & PT_TRACK_BLOCKS))
		return;
	roots.n = 0;
	dl_iterate_phdr(module_cb, &prep.q);
	prep.ready = 1;
}

/* The scan's tables for n blocks, each in a mapping of its own (nothing
 * may allocate while the threads are parked): the blocks in r->b, their
 * order by address and its scratch, the marking stack.  0, or -1 with
 * what was mapped left for tables_unmap. */
static int tables_map(struct pt_reach *r, size_t n, struct ord **ord, struct ord **otmp)
{
	size_t obytes = page_round(n * sizeof(struct ord));

	r->b = zmap(page_round(n * sizeof(struct pt_reach_block)));
	*ord = zmap(obytes);
	*otmp = zmap(obytes);
	mk.stack = zmap(page_round(n * sizeof(uint32_t)));
	return r->b && *ord && *otmp && mk.stack ? 0 : -1;
}

/* What tables_map mapped for n blocks, unmapped after it failed. */
static void tables_unmap(struct pt_reach *r, size_t n, struct ord *ord, struct ord *otmp)
{
	size_t obytes = page_round(n * sizeof(struct ord));

	if (r->b)
		munmap(r->b, page_round(n * sizeof(struct pt_reach_block)));
	if (ord)
		munmap(ord, obytes);
	if (otmp)
		munmap(otmp, obytes);
	if (mk.stack)
		munmap(mk.stack, page_round(n * sizeof(uint32_t)));
	r->b = NULL;
}

/* The live blocks into r->b (at most r->n of them), then their order by
 * address and the range they span, for find(). */
static void index_blocks(struct pt_reach *r, struct ord *ord, struct ord *otmp)
{
	size_t i = 0;

	pt_track_each(fill_cb, &i);
	r->n = i;
	mk.lo = UINTPTR_MAX;
	mk.hi = 0;
	for (size_t k = 0; k < r->n; k++) {
		ord[k] = (struct ord){r->b[k].beg, k};
		if (r->b[k].beg < mk.lo)
			mk.lo = r->b[k].beg;
		if (r->b[k].end > mk.hi)
			mk.hi = r->b[k].end;
	}
	mk.ord = sort_ord(ord, otmp, r->n);
	mk.n = 0;
}

/* The other threads' roots: a parked thread's registers, live stack and
 * TLS; a thread that did not park, its stack from the pointer its system
 * call shows, else every mapping that looks like a stack. */
static void root_threads(struct pt_reach *r, const struct self_range *q)
{
	for (unsigned k = 0; k < stw.n; k++) {
		struct thr *t = &stw.t[k];
		if (t->state == 1) {
			root_add((uintptr_t)&t->regs, (uintptr_t)(&t->regs + 1));
			root_stack(t->sp - RED_ZONE, t->sp);
			root_tls(t->tp, q->tls_lo ? q->tp - q->tls_lo : 0);
			r->threads++;
		} else if (t->state == 3) {
			uintptr_t sp = syscall_sp(t->tid);
			r->unstopped++;
			if (sp)
				root_stack(sp - RED_ZONE, sp);
			else
				root_stack_like();
		}
	}
}

int pt_reach_scan(struct pt_reach *r, void (*stopped)(void *arg), void *arg)
{
	static uintptr_t own_regs[8]; /* this thread's registers, spilled */
	struct self_range q = prep.q;
	struct ord *ord, *otmp;
	double t0 = cpu_now();
	size_t n;

	memset(r, 0, sizeof(*r));
	if (!(pt_track_flags() & PT_TRACK_BLOCKS) || !prep.ready || q.tp != thread_pointer())
		return -1;
	prep.ready = 0;
	cur = r;
	if (exit_tid == gettid_() && pt_reach_exit_sp)
		memcpy(own_regs, pt_reach_exit_regs, sizeof(pt_reach_exit_regs));
#if defined(__x86_64__)
	else
		__asm__ volatile("mov %%rbx, 0(%0)\n\tmov %%rbp, 8(%0)\n\tmov %%r12, 16(%0)\n\t"
				 "mov %%r13, 24(%0)\n\tmov %%r14, 32(%0)\n\tmov %%r15, 40(%0)"
				 :
				 : "r"(own_regs)
				 : "memory");
#endif
	if (stop_world() != 0) {
		start_world();
		return -1;
	}
	maps_read();
	roots_keep_mapped();
	n = pt_track_count();
	if (tables_map(r, n, &ord, &otmp) != 0) {
		start_world();
		tables_unmap(r, n, ord, otmp);
		return -1;
	}
	r->n = n;
	r->mapped = page_round(n * sizeof(struct pt_reach_block));
	index_blocks(r, ord, otmp);
	root_self(&q, own_regs, 6);
	r->threads = 1;
	root_threads(r, &q);
	classify();
	if (stopped)
		stopped(arg);
	start_world();
	munmap(mk.stack, page_round(n * sizeof(uint32_t)));
	if (maps.m)
		munmap(maps.m, maps.bytes);
	maps.m = NULL;
	r->seconds = cpu_now() - t0;
	return 0;
}

void pt_reach_release(struct pt_reach *r)
{
	if (r->b)
		munmap(r->b, r->mapped);
	r->b = NULL;
	r->n = 0;
}
