/*
 * exec.c - the exec family.  An exec ends the process's image: its verdict
 * is one line saying what it executed and whether pooltag run follows it
 * (-f), e.g. a shell script or version-manager shim that executes the real
 * program.  Memory held at exec is no finding (the kernel takes it back).
 *
 * Only an exec that can succeed says so: a file that exists and may be
 * executed (shells try each directory of PATH in turn; those misses are
 * silent).  Before it, the segment's name is unlinked, since exec runs no
 * exit handler; if the exec fails anyway the process goes on, with a new
 * segment file at its next count and its verdict still to come.
 *
 * glibc's execl, execvp and friends call execve internally, past any
 * interposer, so each is hooked here.  posix_spawn's child is not seen (it
 * runs no code of the program before its exec).
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "preload.h"

/* The file execvp would run for name: a path as is, else the first
 * executable regular file in PATH.  0, or -1. */
static int search(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH"), *p;

	if (!name || !*name)
		return -1;
	if (strchr(name, '/')) {
		snprintf(out, len, "%s", name);
		return access(out, X_OK) == 0 ? 0 : -1;
	}
	if (!path)
		path = "/bin:/usr/bin";
	for (p = path;; p++) {
		const char *c = strchr(p, ':');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		struct stat st;

		if ((size_t)snprintf(out, len, "%.*s/%s", (int)n, n ? p : ".", name) < len &&
		    stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return 0;
		if (!c)
			return -1;
		p = c;
	}
}

/* Before an exec of file (already resolved; NULL: it cannot succeed). */
static int before(const char *file)
{
	char event[PATH_MAX + 64];
	struct stat st;

	if (!file || stat(file, &st) != 0 || !S_ISREG(st.st_mode) || access(file, X_OK) != 0 ||
	    !__atomic_load_n(&pt_run_ready, __ATOMIC_ACQUIRE) || pt_run_in_vfork_child())
		return 0; /* a vfork child's segment and verdict are its parent's */
	snprintf(event, sizeof(event), "exec %s", file);
	pt_run_final(event);
	pt_seg_exec_prepare();
	return 1;
}

/* After an exec that returned (failed). */
static void after(int armed, const char *file, int e)
{
	char line[PATH_MAX + 128];
	int n;

	if (!armed)
		return;
	pt_seg_exec_failed();
	pt_run_final_undo();
	n = snprintf(line, sizeof(line), "pooltag: %s (pid %d) exec %s failed (%s): it goes on\n",
		     program_invocation_short_name, (int)getpid(), file, strerror(e));
	if (n > 0)
		pt_run_write_line(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	pt_run_status("exec-failed %d\n", (int)getpid());
}

#define REAL(name)                                                               \
	static __typeof__(name) *real_##name;                                    \
	if (!real_##name)                                                        \
		real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name);       \
	if (!real_##name) {                                                      \
		errno = ENOSYS;                                                  \
		return -1;                                                       \
	}

PT_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	int armed, r, e;
	REAL(execve);
	armed = before(path);
	r = real_execve(path, argv, envp);
	e = errno;
	after(armed, path, e);
	errno = e;
	return r;
}

PT_EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

int execvpe(const char *file, char *const argv[], char *const envp[]);
PT_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	char path[PATH_MAX];
	int armed, r, e;
	REAL(execvpe);
	armed = before(search(file, path, sizeof(path)) == 0 ? path : NULL);
	r = real_execvpe(file, argv, envp);
	e = errno;
	after(armed, path, e);
	errno = e;
	return r;
}

PT_EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

PT_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	char link[64], path[PATH_MAX];
	ssize_t n;
	int armed, r, e;
	REAL(fexecve);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = 0;
	armed = n > 0 ? before(path) : 0;
	r = real_fexecve(fd, argv, envp);
	e = errno;
	after(armed, path, e);
	errno = e;
	return r;
}

/* execl and friends: their arguments gathered into a vector. */
#define GATHER(arg0, last_ap_envp)                                               \
	va_list ap;                                                              \
	size_t argc = 1;                                                         \
	va_start(ap, arg0);                                                      \
	while (va_arg(ap, const char *))                                         \
		argc++;                                                          \
	va_end(ap);                                                              \
	char *argv[argc + 1];                                                    \
	argv[0] = (char *)(arg0);                                                \
	va_start(ap, arg0);                                                      \
	for (size_t i = 1; i <= argc; i++)                                       \
		argv[i] = va_arg(ap, char *);                                    \
	last_ap_envp;                                                            \
	va_end(ap)

PT_EXPORT int execl(const char *path, const char *arg, ...)
{
	GATHER(arg, (void)0);
	return execve(path, argv, environ);
}

PT_EXPORT int execlp(const char *file, const char *arg, ...)
{
	GATHER(arg, (void)0);
	return execvpe(file, argv, environ);
}

PT_EXPORT int execle(const char *path, const char *arg, ...)
{
	char *const *envp;
	GATHER(arg, envp = va_arg(ap, char *const *));
	return execve(path, argv, envp);
}
