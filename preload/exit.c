/*
 * exit.c - every way a process ends gets its verdict, once:
 *
 *   exit, return from main   the destructor, after the program's exit handlers
 *   _exit, _Exit             hooked; also exit_group/exit made through syscall(3)
 *   a fatal signal           a handler on every signal whose default action
 *                            kills, installed only where the disposition is
 *                            SIG_DFL and hidden from the program (sigaction and
 *                            signal report and keep the program's own choice);
 *                            the handler reports, restores SIG_DFL and raises
 *                            the signal again, so the process dies of it
 *   exec                     exec.c: a line saying what it executed
 *
 * A vfork child (sharing its parent's memory until it executes or
 * leaves) reports nothing and changes nothing of pooltag's.
 * A fork child is a process of its own: it reports at its end, under its
 * own pid, what its own exit scan finds lost (its descriptor table starts
 * empty).  At exit(), reach.c's exit() records the caller's registers
 * first and calls libc's, whose exit handlers end in the destructor here:
 * one path, the registers recorded before the scan.  A raw exit system
 * call, SIGKILL, or a crash inside the report itself leaves no verdict:
 * pooltag run then says how the process ended.
 *
 * The report in a signal handler allocates (with pt_run_busy set, from
 * glibc directly): a crash inside glibc's malloc with its lock held, or a
 * signal while another thread holds the site lock, can hang it (a signal
 * that interrupts pooltag's own code on the same thread gets no report);
 * stack overflows get no report (no alternate stack is installed, as it
 * would be visible to the program).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload.h"

static int ended; /* this process has written its verdict */

/* The process this memory belongs to.  A vfork child shares its parent's
 * memory until it executes or leaves: it must change nothing of
 * pooltag's (descriptor table, verdict, segment), so the hooks that would
 * change them first compare getpid() with this (fork children update it;
 * vfork runs no fork handler).  vfork itself stays vfork: running it as
 * fork, as valgrind does, costs a copy of the counters per spawn. */
int pt_run_self;

static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE,  SIGILL,  SIGABRT, SIGSYS,
			    SIGTRAP, SIGINT, SIGTERM, SIGHUP,  SIGQUIT, SIGPIPE,
			    SIGALRM, SIGUSR1, SIGUSR2, SIGXCPU, SIGXFSZ};
#define NFATAL (sizeof(fatal) / sizeof(fatal[0]))

/* Per fatal signal: is pooltag's handler installed, and what the program
 * believes is installed (SIG_DFL until it says otherwise). */
static struct {
	int ours;
	struct sigaction prog;
} sigs[NFATAL];
static pthread_mutex_t sig_lock = PTHREAD_MUTEX_INITIALIZER;

static int fatal_index(int sig)
{
	for (size_t i = 0; i < NFATAL; i++)
		if (fatal[i] == sig)
			return (int)i;
	return -1;
}

void pt_run_final(const char *event)
{
	int findings;

	/* Busy: called from a signal handler that interrupted pooltag's own
	 * code on this thread, whose lock may be held: no verdict (pooltag
	 * run then says how the process ended). */
	if (!__atomic_load_n(&pt_run_ready, __ATOMIC_ACQUIRE) || pt_run_busy ||
	    pt_run_in_vfork_child() || __atomic_exchange_n(&ended, 1, __ATOMIC_ACQ_REL))
		return;
	pt_run_busy = 1;
	findings = pt_run_report(UINT32_MAX, event);
	pt_run_report_status(findings, strncmp(event, "exec ", 5) == 0);
	/* _exit and signals run no exit handler: the segment's name goes now
	 * (exec.c unlinks it itself, and takes it back if exec fails). */
	if (strncmp(event, "exec ", 5) != 0)
		pt_seg_remove();
	pt_run_busy = 0;
}

/* exec.c: an exec that failed gives the process its future back. */
void pt_run_final_undo(void)
{
	__atomic_store_n(&ended, 0, __ATOMIC_RELEASE);
}

/* Runs after the program's exit handlers and the destructors of the
 * objects loaded after this one. */
__attribute__((destructor)) static void pt_run_stop(void)
{
	pt_run_final("exit");
}

/* libc's sigaction, behind the hook below. */
static int real_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	static __typeof__(sigaction) *real;

	if (!real)
		real = (__typeof__(sigaction) *)dlsym(RTLD_NEXT, "sigaction");
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	return real(sig, act, old);
}

static void on_fatal(int sig, siginfo_t *si, void *uc)
{
	char event[64];
	struct sigaction dfl;
	int e = errno;

	(void)si;
	(void)uc;
	snprintf(event, sizeof(event), "killed by SIG%s", sigabbrev_np(sig));
	pt_run_final(event);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	real_sigaction(sig, &dfl, NULL);
	raise(sig); /* delivered with the default action once the handler returns */
	errno = e;
}

/* Installs the handler on every fatal signal left at SIG_DFL. */
static void install(void)
{
	struct sigaction sa, cur;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fatal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < NFATAL; i++) {
		sigs[i].prog.sa_handler = SIG_DFL;
		if (real_sigaction(fatal[i], NULL, &cur) == 0 && !(cur.sa_flags & SA_SIGINFO) &&
		    cur.sa_handler == SIG_DFL && real_sigaction(fatal[i], &sa, NULL) == 0)
			sigs[i].ours = 1;
		else
			sigs[i].prog = cur;
	}
}

/*
 * sigaction as the program sees it: where pooltag's handler stands in for
 * SIG_DFL, the program reads SIG_DFL (or what it set last); setting a
 * handler of its own replaces pooltag's; setting SIG_DFL again puts
 * pooltag's back.
 */
PT_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	__typeof__(sigaction) *real = real_sigaction;
	struct sigaction sa;
	int i = fatal_index(sig), r;

	if (i < 0 || !__atomic_load_n(&pt_run_ready, __ATOMIC_ACQUIRE))
		return real(sig, act, old);
	pthread_mutex_lock(&sig_lock);
	if (act && !(act->sa_flags & SA_SIGINFO) && act->sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_fatal;
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
		sigfillset(&sa.sa_mask);
		r = real(sig, &sa, old);
		if (r == 0) {
			if (old && sigs[i].ours)
				*old = sigs[i].prog;
			sigs[i].ours = 1;
			sigs[i].prog = *act;
		}
	} else {
		r = real(sig, act, old);
		if (r == 0 && old && sigs[i].ours)
			*old = sigs[i].prog;
		if (r == 0 && act) {
			sigs[i].ours = 0;
			sigs[i].prog = *act;
		}
	}
	pthread_mutex_unlock(&sig_lock);
	return r;
}

/* glibc's signal is BSD's: SA_RESTART, the handler stays. */
PT_EXPORT __sighandler_t signal(int sig, __sighandler_t handler)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, sig);
	if (sig <= 0 || sig >= _NSIG || sigaction(sig, &sa, &old) != 0) {
		errno = EINVAL;
		return SIG_ERR;
	}
	return old.sa_handler;
}

__sighandler_t bsd_signal(int sig, __sighandler_t handler);
PT_EXPORT __sighandler_t bsd_signal(int sig, __sighandler_t handler)
{
	return signal(sig, handler);
}

/* ---- _exit ---- */

static __attribute__((noreturn)) void leave(int status)
{
	for (;;)
		syscall(SYS_exit_group, status);
}

PT_EXPORT __attribute__((noreturn)) void _exit(int status)
{
	pt_run_final("_exit");
	leave(status);
}

PT_EXPORT __attribute__((noreturn)) void _Exit(int status)
{
	pt_run_final("_exit");
	leave(status);
}

/* syscall(3): exit_group ends the process; everything else passes through
 * (a raw exit ends only the calling thread). */
PT_EXPORT long syscall(long n, ...)
{
	static __typeof__(syscall) *real;
	long a[6];
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!real)
		real = (__typeof__(syscall) *)dlsym(RTLD_NEXT, "syscall");
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	if (n == SYS_exit_group)
		pt_run_final("_exit");
	return real(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* ---- fork ---- */

static void fork_child(void)
{
	__atomic_store_n(&pt_run_self, getpid(), __ATOMIC_RELAXED);
	__atomic_store_n(&ended, 0, __ATOMIC_RELEASE);
	if (!pt_fault_logging())
		pt_run_report_fork_child();
	pt_run_fds_forget();
}

int pt_run_in_vfork_child(void)
{
	return getpid() != __atomic_load_n(&pt_run_self, __ATOMIC_RELAXED);
}

void pt_run_exit_init(void)
{
	pt_run_self = getpid();
	pt_run_channel_init();
	install();
	pthread_atfork(NULL, NULL, fork_child);
}
