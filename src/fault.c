/*
 * fault.c - fault injection: make acquisitions fail on purpose, so that the
 * error paths behind them run.
 *
 * An acquisition is an allocation (any pool, realloc that grows included), a
 * reference (pt_obj_ref, pt_obj_lookup, pt_handle_ref) or a handle open.
 * Each one that passes the filters (fail.kinds, fail.tag, fail.module,
 * fail.site, fail.size) is a candidate and gets the next number, from 1.
 * Which candidates fail:
 *   fail=P          random: each with probability P (0.01 or 1%), from a
 *                   seed (fail.seed=N, else a fresh one printed with the
 *                   first failure), at most fail.times of them;
 *   fail.nth=K      systematic: the K-th only;
 *   fail.stack=H    systematic by call stack: the first whose stack hashes to H.
 * An injected failure looks like running out of memory: NULL or -1 with
 * ENOMEM, and nothing is counted.
 *
 * `pooltag faults` and pt_fault_each (faultrun.c) drive systematic runs.
 * They pass fail.result=FD, a file whose first page (struct pt_fault_page)
 * this process maps shared, so the driver reads how many candidates a run
 * saw and which one failed even if the run crashed; report lines follow
 * the page (faultrun.h lists them).  fail.server=FD makes the first
 * candidate start a fork server (see serve()).
 */
#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "fault.h"
#include "faultrun.h"
#include "internal.h"
#include "stack.h"

#define PATTERN_MAX 256

int pt_fault_active; /* some fault option is set: every candidate comes here */

static struct {
	unsigned kinds;   /* PT_FAULT_* bits that are candidates */
	double prob;      /* random mode when > 0 */
	uint64_t seed;
	int seed_set, seed_told;
	uint64_t times;   /* random: at most this many failures (0: no limit) */
	uint64_t nth;     /* systematic: the candidate to fail (0: none) */
	uint64_t stack;   /* systematic by stack: the hash to fail (0: none) */
	int stacks;       /* count distinct stacks (log them) */
	char tag[PATTERN_MAX], module[PATTERN_MAX], site[PATTERN_MAX];
	size_t size_min, size_max;
	int result_fd, server_fd; /* -1 when not driven */
	struct pt_fault_page *page; /* the result file's first page, or NULL */
	uint64_t ncand;             /* candidates met, when there is no page */
	uint64_t nfailed;           /* failures injected */
	int failed_stack_told;
	uint32_t failed_stack;      /* stack id of the injected failure (for reports) */
	struct { uint64_t *h; size_t n, cap; } seen; /* stack hashes met (fail.stacks) */
} flt = {.kinds = PT_FAULT_ALL, .size_max = SIZE_MAX, .result_fd = -1, .server_fd = -1};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* flt.seen */

/* ---- the fault layer ---- */

/*
 * Installed in the block layer (block.h) once any fault option is set, so
 * that every allocation is a candidate: the library's (by call site) and
 * the interposer's counted ones (by slot; never its own, slot 0).  A
 * resize in place is a candidate when it grows.
 */
static int pt_fault_alloc_fails(const struct pt_block_req *r)
{
	pt_fault_point_slow();
	if (r->site)
		return pt_fault_check_slow(PT_FAULT_ALLOC, r->site, r->tag, r->size);
	return pt_fault_check_slot(PT_FAULT_ALLOC, r->slot, r->tag, r->size);
}

static void *pt_fault_layer_alloc(struct pt_block_layer *self, struct pt_block_req *r)
{
	if ((r->site || r->slot) && pt_fault_alloc_fails(r))
		return NULL; /* errno ENOMEM */
	return pt_block_next_alloc(self, r);
}

static void *pt_fault_layer_resize(struct pt_block_layer *self, struct pt__hdr *h, struct pt_block_req *r)
{
	if ((r->site || r->slot) && r->size > pt_hdr_size(h) && pt_fault_alloc_fails(r))
		return NULL;
	return pt_block_next_resize(self, h, r);
}

static struct pt_block_layer fault_layer = {
	.name = "fault",
	.rank = 30,
	.alloc = pt_fault_layer_alloc,
	.resize = pt_fault_layer_resize,
};

/* ---- options ---- */

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}


static int bad(char *err, size_t errlen, const char *key, const char *what)
{
	snprintf(err, errlen, "option '%s': %s", key, what);
	errno = EINVAL;
	return -1;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || *end ? -1 : 0;
}

/* "12", "4K", "1M": bytes. */
static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	else if (*end == 'G' || *end == 'g')
		v <<= 30, end++;
	*out = (size_t)v;
	return *end ? -1 : 0;
}

static int parse_kinds(const char *v, unsigned *out)
{
	unsigned k = 0;

	while (*v) {
		size_t n = strcspn(v, "+|");
		if (n == 5 && !strncmp(v, "alloc", 5))
			k |= PT_FAULT_ALLOC;
		else if (n == 3 && !strncmp(v, "ref", 3))
			k |= PT_FAULT_REF;
		else if (n == 6 && !strncmp(v, "handle", 6))
			k |= PT_FAULT_HANDLE;
		else if (n == 3 && !strncmp(v, "all", 3))
			k |= PT_FAULT_ALL;
		else
			return -1;
		v += n + (v[n] != 0);
	}
	*out = k;
	return k ? 0 : -1;
}

static int map_result(int fd, char *err, size_t errlen)
{
	void *p = mmap(NULL, PT_FAULT_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED) {
		snprintf(err, errlen, "option 'fail.result': cannot map descriptor %d: %s", fd,
			 strerror(errno));
		return -1;
	}
	/* Lines go after the page, whole, whoever else writes the file. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_APPEND);
	flt.page = p;
	flt.result_fd = fd;
	return 0;
}

int pt_fault_option(const char *key, const char *val, char *err, size_t errlen)
{
	uint64_t u;

	if (!strcmp(key, "fail")) {
		char *end;
		double p;
		errno = 0;
		p = strtod(val, &end);
		if (end != val && *end == '%')
			p /= 100, end++;
		if (errno || end == val || *end || !(p >= 0 && p <= 1))
			return bad(err, errlen, key, "expected a probability (0.01 or 1%)");
		if (!flt.seed_set) { /* a fresh seed, told with the first failure */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			flt.seed = mix((uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 32) >> 16;
		}
		flt.prob = p;
	} else if (!strcmp(key, "fail.seed")) {
		if (parse_u64(val, &flt.seed))
			return bad(err, errlen, key, "expected a number");
		flt.seed_set = 1;
	} else if (!strcmp(key, "fail.times")) {
		if (parse_u64(val, &flt.times))
			return bad(err, errlen, key, "expected a number");
	} else if (!strcmp(key, "fail.nth")) {
		if (parse_u64(val, &flt.nth))
			return bad(err, errlen, key, "expected a number");
	} else if (!strcmp(key, "fail.stack")) {
		if (parse_u64(val, &flt.stack))
			return bad(err, errlen, key, "expected a stack hash");
	} else if (!strcmp(key, "fail.stacks")) {
		flt.stacks = strcmp(val, "0") != 0;
	} else if (!strcmp(key, "fail.kinds")) {
		if (parse_kinds(val, &flt.kinds))
			return bad(err, errlen, key, "expected alloc, ref, handle or all, joined by +");
	} else if (!strcmp(key, "fail.tag") || !strcmp(key, "fail.module") ||
		   !strcmp(key, "fail.site")) {
		char *dst = key[5] == 't' ? flt.tag : key[5] == 'm' ? flt.module : flt.site;
		if (strlen(val) >= PATTERN_MAX)
			return bad(err, errlen, key, "pattern too long");
		strcpy(dst, val);
	} else if (!strcmp(key, "fail.size")) {
		char lo[64], *dash = strchr(val, '-');
		size_t n = dash ? (size_t)(dash - val) : strlen(val), min = 0, max = SIZE_MAX;
		if (!dash || n >= sizeof(lo))
			return bad(err, errlen, key, "expected MIN-MAX (bytes; K, M suffixes)");
		memcpy(lo, val, n);
		lo[n] = 0;
		if ((*lo && parse_size(lo, &min)) || (dash[1] && parse_size(dash + 1, &max)) ||
		    min > max)
			return bad(err, errlen, key, "expected MIN-MAX (bytes; K, M suffixes)");
		flt.size_min = min, flt.size_max = max;
	} else if (!strcmp(key, "fail.result") || !strcmp(key, "fail.server")) {
		if (parse_u64(val, &u) || u > 65535 || fcntl((int)u, F_GETFD) < 0)
			return bad(err, errlen, key, "expected an open file descriptor");
		if (key[5] == 'r') {
			if (map_result((int)u, err, errlen))
				return -1;
		} else {
			flt.server_fd = (int)u;
		}
	} else {
		snprintf(err, errlen, "unknown option '%s'", key);
		errno = EINVAL;
		return -1;
	}
	__atomic_store_n(&pt_fault_active, 1, __ATOMIC_RELEASE);
	pt_block_install(&fault_layer, 1);
	return 0;
}

PT_OPTION_GROUP(fault_opts, "fail", pt_fault_option)

/* Back to no injection, keeping a result file and server (a run of
 * pt_fault_each starts from its own options). */
void pt_fault_defaults(void)
{
	flt.prob = 0;
	flt.seed_set = flt.seed_told = 0;
	flt.times = flt.nth = flt.stack = 0;
	flt.stacks = 0;
	flt.kinds = PT_FAULT_ALL;
	flt.tag[0] = flt.module[0] = flt.site[0] = 0;
	flt.size_min = 0, flt.size_max = SIZE_MAX;
	flt.nfailed = 0;
	flt.failed_stack = 0;
	flt.failed_stack_told = 0;
}

/* ---- report lines ---- */

/* Appends one line to the result file (O_APPEND: whole lines, in order).
 * Safe from any thread; not from a signal handler (crash() writes raw). */
void pt_fault_log(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int n;

	if (flt.result_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	for (int i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';
	buf[n++] = '\n';
	if (write(flt.result_fd, buf, (size_t)n) < 0)
		return; /* the driver went away: nothing to tell it */
}

int pt_fault_logging(void)
{
	return flt.result_fd >= 0;
}

/* Before the first finding of a run is logged, the stack of the failure
 * that led to it: symbolising costs milliseconds, so only runs with a
 * finding pay for it. */
void pt_fault_finding(void)
{
	char stack[1024];

	if (flt.result_fd < 0 || !flt.failed_stack || flt.failed_stack_told)
		return;
	flt.failed_stack_told = 1;
	pt_stack_format(flt.failed_stack, stack, sizeof(stack), 8);
	pt_fault_log("f\t%s", stack);
}

/* ---- crashes in a driven run ---- */

static void put(const char *s)
{
	if (write(flt.result_fd, s, strlen(s)) < 0)
		return;
}

static struct sigaction displaced[NSIG]; /* what crash() replaced, per signal */

/* The faulting instruction of a signal context, or 0. */
static uintptr_t context_pc(void *uc)
{
	const ucontext_t *u = uc;
#if defined(__x86_64__)
	return (uintptr_t)u->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	return (uintptr_t)u->uc_mcontext.pc;
#else
	(void)u;
	return 0;
#endif
}

/* A fatal signal in a driven run: the signal and the raw frames first
 * (async-signal-safe), then a symbolised stack if that works within a
 * second (it takes locks a crash may hold: the alarm ends the attempt). */
static void crash(int sig, siginfo_t *si, void *uc)
{
	void *pcs[32];
	char num[16], *q = num + sizeof(num);
	int n = backtrace(pcs, 32), first = 0;
	uintptr_t pc = context_pc(uc);

	/* Frames up to the signal trampoline are this handler's. */
	if (pc) {
		for (int i = 0; i < n; i++)
			if ((uintptr_t)pcs[i] == pc || (uintptr_t)pcs[i] == pc + 1)
				first = i;
		if (!first && n > 2)
			first = 2;
		pcs[first] = (void *)pc;
	}
	*--q = 0;
	for (int v = n - first; v || q == num + sizeof(num) - 1; v /= 10)
		*--q = (char)('0' + v % 10);
	put("C\t");
	put(sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
	put("\t");
	put(q);
	put("\n");
	backtrace_symbols_fd(pcs + first, n - first, flt.result_fd);
	/* Then each frame as its module's file and link-time address, for the
	 * driver to symbolise from the files: libdw in a crashed process is
	 * not safe.  dladdr1 takes the loader's lock, which the crash may hold:
	 * the alarm ends the attempt. */
	signal(SIGALRM, SIG_DFL);
	alarm(1);
	for (int i = first; i < n; i++) {
		Dl_info info;
		struct link_map *lm = NULL;
		if (dladdr1(pcs[i], &info, (void **)&lm, RTLD_DL_LINKMAP) && lm && info.dli_fname)
			pt_fault_log("c\t%s\t%lx\t%d", info.dli_fname[0] ? info.dli_fname
									 : program_invocation_name,
				     (unsigned long)((uintptr_t)pcs[i] - lm->l_addr), i > first);
	}
	/* Let the handler this one displaced (a sanitizer's), or the default,
	 * end the process: a fault repeats when the handler returns. */
	sigaction(sig, &displaced[sig], NULL);
	if (si->si_code <= 0 || sig == SIGABRT)
		raise(sig);
}

/* ASan and UBSan install their handlers before any constructor of ours
 * runs; this runtime symbol tells they are there. */
extern void __asan_init(void) __attribute__((weak));
extern void __ubsan_handle_builtin_unreachable(void *) __attribute__((weak));

static int sanitizer_handler(const struct sigaction *sa)
{
	Dl_info info;
	void *fn = sa->sa_flags & SA_SIGINFO ? (void *)sa->sa_sigaction : (void *)sa->sa_handler;

	if (__asan_init || __ubsan_handle_builtin_unreachable)
		return 1;
	return dladdr(fn, &info) && info.dli_fname &&
	       (strstr(info.dli_fname, "libasan") || strstr(info.dli_fname, "libubsan"));
}

void pt_fault_catch_crashes(void)
{
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
	static char altstack[64 * 1024];
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
	struct sigaction sa;

	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = crash;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction *old = &displaced[sigs[i]];
		if (sigaction(sigs[i], NULL, old) != 0)
			continue;
		/* A handler of the program or the special pool stays: it knows
		 * better (the special pool may even let the program go on).  A
		 * sanitizer's is displaced and called after the report. */
		if (old->sa_handler != SIG_DFL && !sanitizer_handler(old))
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

/* ---- the fork server ---- */

static int nthreads(void)
{
	char buf[4096];
	FILE *f = fopen("/proc/self/status", "re");
	int n = -1;

	if (!f)
		return -1;
	while (fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

static int full_io(int fd, void *buf, size_t len, int wr)
{
	char *p = buf;

	while (len) {
		ssize_t n = wr ? write(fd, p, len) : read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n, len -= (size_t)n;
	}
	return 0;
}

/*
 * The fork server, started by the first candidate: this process has done
 * its start-up and stops here; for every command from the driver it forks a
 * child that goes on from this point with the command's settings, and
 * reports the child's pid and then its wait status.  So a run costs a fork,
 * not an exec and the program's start-up.  A program with threads cannot be
 * forked safely: the server says so and the driver execs each run instead.
 * The protocol is in faultrun.h.
 */
static void serve(void)
{
	int fd = flt.server_fd;
	struct pt_fault_cmd cmd;
	struct pt_fault_reply rep = {0};

	flt.server_fd = -1;
	if (nthreads() != 1) {
		rep.kind = PT_FAULT_REPLY_NOSERVER;
		full_io(fd, &rep, sizeof(rep), 1);
		close(fd);
		return; /* this run is then an ordinary counting run */
	}
	if (flt.stacks)
		pt_stack_init(); /* once here, not in every run */
	rep.kind = PT_FAULT_REPLY_READY;
	if (full_io(fd, &rep, sizeof(rep), 1))
		_exit(0);
	for (;;) {
		pid_t pid;
		int st;
		if (full_io(fd, &cmd, sizeof(cmd), 0))
			_exit(0); /* the driver is done */
		pid = fork();
		if (pid == 0) {
			close(fd);
			flt.nth = cmd.nth;
			flt.stack = cmd.stack;
			flt.stacks = (int)cmd.stacks;
			return; /* the run goes on from the candidate that started the server */
		}
		rep.kind = PT_FAULT_REPLY_PID;
		rep.value = pid < 0 ? -errno : pid;
		if (full_io(fd, &rep, sizeof(rep), 1))
			_exit(0);
		if (pid < 0)
			continue;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		rep.kind = PT_FAULT_REPLY_STATUS;
		rep.value = st;
		if (full_io(fd, &rep, sizeof(rep), 1))
			_exit(0);
	}
}

/* ---- the decision ---- */

static int tag_matches(uint32_t tag)
{
	char t[5], pat[PATTERN_MAX];
	char *save, *p;

	if (!flt.tag[0])
		return 1;
	pt_tag_str(tag, t);
	strcpy(pat, flt.tag);
	for (p = strtok_r(pat, "|", &save); p; p = strtok_r(NULL, "|", &save))
		if (fnmatch(p, t, 0) == 0)
			return 1;
	return 0;
}

/* Where a candidate was acquired: its site's file, line and function, and
 * the module charged (0: the program). */
struct where {
	const char *file, *func;
	unsigned line;
	uint32_t module;
};

/* The module's name as the segment records it, "main" for the program. */
static const char *module_name(uint32_t id)
{
	if (id == 0 || !pt_seg.hdr || id >= __atomic_load_n(&pt_seg.hdr->nmodules, __ATOMIC_ACQUIRE))
		return "main";
	return pt_seg.strings + pt_seg.modules[id].name;
}

static int site_matches(const struct where *w)
{
	char buf[512];
	const char *base;

	/* The program matches "main" and its own name. */
	if (flt.module[0] && fnmatch(flt.module, module_name(w->module), 0) != 0 &&
	    (w->module != 0 || fnmatch(flt.module, program_invocation_short_name, 0) != 0))
		return 0;
	if (flt.site[0]) {
		if (!w->file || !*w->file)
			return 0;
		base = strrchr(w->file, '/');
		snprintf(buf, sizeof(buf), "%s:%u", base ? base + 1 : w->file, w->line);
		if (fnmatch(flt.site, buf, 0) != 0 && fnmatch(flt.site, w->file, 0) != 0)
			return 0;
	}
	return 1;
}

/* A hash of the stack that is the same in every run, fork server or exec:
 * each pc as its module's name and its offset there (addresses move with
 * ASLR and with what else was loaded).  Acquisitions are decided under the
 * objects' lock: the module comes from _dl_find_object, which takes no lock
 * of the dynamic linker (lifecycle.c). */
static uint64_t stack_hash(uint32_t id)
{
	uintptr_t pcs[PT_STACK_DEPTH];
	unsigned n = pt_stack_pcs(id, pcs, PT_STACK_DEPTH);
	uint64_t h = 0x9e3779b97f4a7c15ull;

	for (unsigned i = 0; i < n && i < PT_STACK_DEPTH; i++) {
		struct dl_find_object dlfo;
		uintptr_t off = pcs[i];
		if (_dl_find_object((void *)pcs[i], &dlfo) == 0 && dlfo.dlfo_link_map) {
			const char *path = dlfo.dlfo_link_map->l_name ? dlfo.dlfo_link_map->l_name : "";
			const char *name = strrchr(path, '/');
			off -= (uintptr_t)dlfo.dlfo_map_start;
			for (name = name ? name + 1 : path; *name; name++)
				h = mix(h ^ (unsigned char)*name);
		}
		h = mix(h ^ off);
	}
	return h ? h : 1;
}

/* Logs a stack hash the first time it is met (counting run of the stack
 * mode).  Under lock; the set grows with mmap, never malloc, so an
 * allocation hook can call it. */
static void note_stack(uint64_t h)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < flt.seen.n; i++)
		if (flt.seen.h[i] == h)
			goto out;
	if (flt.seen.n == flt.seen.cap) {
		size_t ncap = flt.seen.cap ? 2 * flt.seen.cap : 512;
		uint64_t *nh = mmap(NULL, ncap * 8, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (nh == MAP_FAILED)
			goto out;
		if (flt.seen.h) {
			memcpy(nh, flt.seen.h, flt.seen.n * 8);
			munmap(flt.seen.h, flt.seen.cap * 8);
		}
		flt.seen.h = nh;
		flt.seen.cap = ncap;
	}
	flt.seen.h[flt.seen.n++] = h;
	pt_fault_log("S\t%llu", (unsigned long long)h);
out:
	pthread_mutex_unlock(&lock);
}

static const char *kind_name(unsigned kind)
{
	return kind == PT_FAULT_ALLOC ? "allocation" : kind == PT_FAULT_REF ? "reference" : "handle open";
}

void pt_fault_point_slow(void)
{
	static int started;

	if (__atomic_exchange_n(&started, 1, __ATOMIC_ACQ_REL))
		return;
	if (flt.server_fd >= 0 && flt.page)
		serve(); /* returns in each run's child (or when it cannot serve) */
	if (flt.page)
		pt_fault_catch_crashes();
}

static int pt_fault_decide(unsigned kind, const struct where *w, uint32_t tag, size_t size)
{
	uint64_t k;
	uint32_t id = 0;
	int fail = 0;

	if (!(flt.kinds & kind) || !tag_matches(tag) || !site_matches(w) ||
	    (kind == PT_FAULT_ALLOC && (size < flt.size_min || size > flt.size_max)))
		return 0;
	k = __atomic_add_fetch(flt.page ? &flt.page->ncand : &flt.ncand, 1, __ATOMIC_RELAXED);
	if (flt.stacks || flt.stack) {
		uint64_t h;
		pt_stack_init();
		id = pt_stack_capture(2);
		h = stack_hash(id);
		if (flt.stacks)
			note_stack(h);
		if (flt.stack == h)
			fail = 1;
	}
	if (flt.nth == k)
		fail = 1;
	if (flt.prob > 0 && !fail &&
	    (double)(mix(flt.seed ^ mix(k)) >> 11) * 0x1p-53 < flt.prob &&
	    (!flt.times || __atomic_load_n(&flt.nfailed, __ATOMIC_RELAXED) < flt.times))
		fail = 1;
	/* The stack mode fails its stack once. */
	if (!fail || (flt.stack && __atomic_load_n(&flt.nfailed, __ATOMIC_RELAXED)))
		return 0;
	__atomic_add_fetch(&flt.nfailed, 1, __ATOMIC_RELAXED);
	if (flt.prob > 0 && !__atomic_exchange_n(&flt.seed_told, 1, __ATOMIC_ACQ_REL)) {
		fprintf(stderr,
			"pooltag: fault injection: failing %g%% of acquisitions, seed %llu "
			"(POOLTAG=fail.seed=%llu repeats this)\n",
			flt.prob * 100, (unsigned long long)flt.seed, (unsigned long long)flt.seed);
	}
	if (flt.page) {
		char t[5];
		const char *base = w->file ? strrchr(w->file, '/') : NULL;
		if (!flt.page->failed_at)
			flt.page->failed_at = k;
		if (!id) {
			pt_stack_init();
			id = pt_stack_capture(2);
		}
		flt.failed_stack = id;
		pt_tag_str(tag, t);
		pt_fault_log("F\t%s\t%s\t%s:%u in %s", kind_name(kind), t,
			     w->file && *w->file ? (base ? base + 1 : w->file) : "?", w->line,
			     w->func && *w->func ? w->func : "?");
	}
	errno = ENOMEM;
	return 1;
}

int pt_fault_check_slow(unsigned kind, const struct pt_site *site, uint32_t tag, size_t size)
{
	struct where w = {NULL, NULL, 0, 0};

	if (site)
		w = (struct where){site->file, site->func, site->line, pt_module_of(site)};
	return pt_fault_decide(kind, &w, tag, size);
}

int pt_fault_check_slot(unsigned kind, uint32_t slot, uint32_t tag, size_t size)
{
	const struct pt_seg_slot *s = &pt_seg.slots[slot];
	struct where w = {pt_seg.strings + s->file, pt_seg.strings + s->func, s->line, s->module};

	return pt_fault_decide(kind, &w, tag, size);
}
