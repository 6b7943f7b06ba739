/*
 * fds.c - descriptors, the handles of Unix: every call that creates one
 * charges a handle to the module and line that called it (counter class
 * PT_SEG_CLASS_HANDLES, tag by kind: File, Sock, Pipe, ...), and every call
 * that releases one releases that charge.
 *
 * A table indexed by descriptor holds the slot of the site that opened it
 * (0: not opened by the program since start-up, e.g. inherited), so close
 * finds the charge; it is updated with atomic exchanges, so close from a
 * signal handler or racing threads never releases a charge twice.  The
 * table is private memory: a fork child inherits it with the descriptors.
 *
 * libc opens and closes descriptors inside fopen, fclose, opendir and
 * closedir through its own internal calls, which no interposer sees: those
 * functions are hooked themselves, charge the stream's descriptor to their
 * caller, and (pt_run_outer) the FILE or DIR they allocate too.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "preload.h"

#define RET() ((uintptr_t)__builtin_return_address(0))
#define MAX_FDS (1u << 20)

static uint32_t *fd_slot; /* descriptor -> slot of its opening site, 0 = untracked */
static uint32_t fd_cap;
static uint32_t fd_hi; /* every tracked descriptor is below this */

void pt_run_fds_init(void)
{
	struct rlimit rl;
	rlim_t n = MAX_FDS;
	void *p;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max < n)
		n = rl.rlim_max;
	p = mmap(NULL, (size_t)n * sizeof(uint32_t), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return; /* descriptors go untracked */
	fd_slot = p;
	fd_cap = (uint32_t)n;
}

static void release(int fd)
{
	uint32_t old;

	if (!fd_slot || fd < 0 || (uint32_t)fd >= fd_cap || pt_run_in_vfork_child())
		return; /* a vfork child's table is its parent's */
	old = __atomic_exchange_n(&fd_slot[fd], 0, __ATOMIC_ACQ_REL);
	if (old)
		pt_count_event(old, 0, 1);
}

/* fd was just created by the code at return address pc; kind is its tag. */
static void opened(int fd, uintptr_t pc, uint32_t kind)
{
	uint32_t slot, old, hi;
	int e = errno;

	if (!fd_slot || fd < 0 || (uint32_t)fd >= fd_cap || pt_run_in_vfork_child())
		return;
	slot = pt_run_handle_slot(pc, kind);
	old = __atomic_exchange_n(&fd_slot[fd], slot, __ATOMIC_ACQ_REL);
	if (old) /* closed behind our back (libc's own close): its charge ends */
		pt_count_event(old, 0, 1);
	if (slot)
		pt_count_event(slot, 0, 0);
	while ((hi = __atomic_load_n(&fd_hi, __ATOMIC_RELAXED)) <= (uint32_t)fd &&
	       !__atomic_compare_exchange_n(&fd_hi, &hi, (uint32_t)fd + 1, 0, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
	errno = e;
}

/* The kind of a tracked descriptor (for dup), File when unknown. */
static uint32_t kind_of(int fd)
{
	uint32_t slot = fd_slot && fd >= 0 && (uint32_t)fd < fd_cap ? fd_slot[fd] : 0;
	return slot ? pt_seg.slots[slot].tag : PT_TAG("File");
}

/* A fork child's table starts empty: what it inherited is its parent's. */
void pt_run_fds_forget(void)
{
	uint32_t hi = __atomic_load_n(&fd_hi, __ATOMIC_RELAXED);

	if (fd_slot && hi)
		memset(fd_slot, 0, hi * sizeof(*fd_slot));
}

void pt_run_fds_each(void (*fn)(int fd, uint32_t slot, void *arg), void *arg)
{
	uint32_t hi = __atomic_load_n(&fd_hi, __ATOMIC_RELAXED);

	for (uint32_t fd = 0; fd_slot && fd < hi; fd++) {
		uint32_t s = __atomic_load_n(&fd_slot[fd], __ATOMIC_RELAXED);
		if (s && fcntl((int)fd, F_GETFD) != -1)
			fn((int)fd, s, arg);
	}
}

/* The next definition of a hooked function. */
#define REAL(name)                                                               \
	static __typeof__(name) *real_##name;                                    \
	if (pt_unlikely(!real_##name))                                           \
		real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name);       \
	if (pt_unlikely(!real_##name)) {                                         \
		errno = ENOSYS;                                                  \
		return -1;                                                       \
	}
#define REALP(name)                                                              \
	static __typeof__(name) *real_##name;                                    \
	if (pt_unlikely(!real_##name))                                           \
		real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name);       \
	if (pt_unlikely(!real_##name)) {                                         \
		errno = ENOSYS;                                                  \
		return NULL;                                                     \
	}

/*
 * The segment keeps no descriptor (src/segment.c), but the interposer has
 * others: the copy of standard error the reports fall back to
 * (channel.c).  A program closing it, or putting another file on its
 * number, would have pooltag write into that other file.  Like valgrind,
 * the interposer says it is not open (EBADF) and keeps it.
 */
static int is_ours(int fd)
{
	return pt_run_fd_own(fd);
}

static int refuse(void)
{
	errno = EBADF;
	return -1;
}

static int wants_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

#define OPEN_HOOK(name)                                                      \
	PT_EXPORT int name(const char *path, int flags, ...)                 \
	{                                                                    \
		mode_t mode = 0;                                             \
		int fd;                                                      \
		REAL(name);                                                  \
		if (wants_mode(flags)) {                                     \
			va_list ap;                                          \
			va_start(ap, flags);                                 \
			mode = (mode_t)va_arg(ap, int);                      \
			va_end(ap);                                          \
		}                                                            \
		fd = real_##name(path, flags, mode);                         \
		if (pt_run_busy)                                             \
			return pt_fd_high(fd); /* pooltag's own */           \
		opened(fd, RET(), PT_TAG("File"));                           \
		return fd;                                                   \
	}
OPEN_HOOK(open)
OPEN_HOOK(open64)

#define OPENAT_HOOK(name)                                                    \
	PT_EXPORT int name(int dir, const char *path, int flags, ...)        \
	{                                                                    \
		mode_t mode = 0;                                             \
		int fd;                                                      \
		REAL(name);                                                  \
		if (wants_mode(flags)) {                                     \
			va_list ap;                                          \
			va_start(ap, flags);                                 \
			mode = (mode_t)va_arg(ap, int);                      \
			va_end(ap);                                          \
		}                                                            \
		fd = real_##name(dir, path, flags, mode);                    \
		if (pt_run_busy)                                             \
			return pt_fd_high(fd); /* pooltag's own */           \
		opened(fd, RET(), PT_TAG("File"));                           \
		return fd;                                                   \
	}
OPENAT_HOOK(openat)
OPENAT_HOOK(openat64)

/* The fortified entry points (_FORTIFY_SOURCE) of open without a mode. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dir, const char *path, int flags);
int __openat64_2(int dir, const char *path, int flags);
/* A call that returns a new file descriptor, hooked as it is. */
#define FILE_HOOK(name, params, args)                                        \
	PT_EXPORT int name params                                            \
	{                                                                    \
		int fd;                                                      \
		REAL(name);                                                  \
		fd = real_##name args;                                       \
		opened(fd, RET(), PT_TAG("File"));                           \
		return fd;                                                   \
	}
FILE_HOOK(__open_2, (const char *path, int flags), (path, flags))
FILE_HOOK(__open64_2, (const char *path, int flags), (path, flags))
FILE_HOOK(__openat_2, (int dir, const char *path, int flags), (dir, path, flags))
FILE_HOOK(__openat64_2, (int dir, const char *path, int flags), (dir, path, flags))
FILE_HOOK(creat, (const char *path, mode_t mode), (path, mode))
FILE_HOOK(creat64, (const char *path, mode_t mode), (path, mode))

PT_EXPORT int socket(int domain, int type, int proto)
{
	int fd;
	REAL(socket);
	fd = real_socket(domain, type, proto);
	opened(fd, RET(), PT_TAG("Sock"));
	return fd;
}

PT_EXPORT int socketpair(int domain, int type, int proto, int sv[2])
{
	int r;
	REAL(socketpair);
	r = real_socketpair(domain, type, proto, sv);
	if (r == 0) {
		opened(sv[0], RET(), PT_TAG("Sock"));
		opened(sv[1], RET(), PT_TAG("Sock"));
	}
	return r;
}

PT_EXPORT int accept(int s, struct sockaddr *addr, socklen_t *len)
{
	int fd;
	REAL(accept);
	fd = real_accept(s, addr, len);
	opened(fd, RET(), PT_TAG("Sock"));
	return fd;
}

PT_EXPORT int accept4(int s, struct sockaddr *addr, socklen_t *len, int flags)
{
	int fd;
	REAL(accept4);
	fd = real_accept4(s, addr, len, flags);
	opened(fd, RET(), PT_TAG("Sock"));
	return fd;
}

PT_EXPORT int pipe(int fds[2])
{
	int r;
	REAL(pipe);
	r = real_pipe(fds);
	if (r == 0) {
		opened(fds[0], RET(), PT_TAG("Pipe"));
		opened(fds[1], RET(), PT_TAG("Pipe"));
	}
	return r;
}

PT_EXPORT int pipe2(int fds[2], int flags)
{
	int r;
	REAL(pipe2);
	r = real_pipe2(fds, flags);
	if (r == 0) {
		opened(fds[0], RET(), PT_TAG("Pipe"));
		opened(fds[1], RET(), PT_TAG("Pipe"));
	}
	return r;
}

PT_EXPORT int dup(int old)
{
	int fd;
	REAL(dup);
	fd = real_dup(old);
	if (fd >= 0)
		opened(fd, RET(), kind_of(old));
	return fd;
}

PT_EXPORT int dup2(int old, int new)
{
	int fd;
	uint32_t kind = kind_of(old);
	REAL(dup2);
	if (is_ours(new) && old != new)
		return refuse();
	fd = real_dup2(old, new);
	if (fd >= 0 && old != new) {
		release(fd); /* dup2 closed what new was */
		opened(fd, RET(), kind);
	}
	return fd;
}

PT_EXPORT int dup3(int old, int new, int flags)
{
	int fd;
	uint32_t kind = kind_of(old);
	REAL(dup3);
	if (is_ours(new))
		return refuse();
	fd = real_dup3(old, new, flags);
	if (fd >= 0) {
		release(fd);
		opened(fd, RET(), kind);
	}
	return fd;
}

#define FCNTL_HOOK(name)                                                     \
	PT_EXPORT int name(int fd, int cmd, ...)                             \
	{                                                                    \
		va_list ap;                                                  \
		void *arg;                                                   \
		int r;                                                       \
		REAL(name);                                                  \
		va_start(ap, cmd);                                           \
		arg = va_arg(ap, void *);                                    \
		va_end(ap);                                                  \
		r = real_##name(fd, cmd, arg);                               \
		if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))    \
			opened(r, RET(), kind_of(fd));                       \
		return r;                                                    \
	}
int fcntl64(int fd, int cmd, ...);
FCNTL_HOOK(fcntl)
FCNTL_HOOK(fcntl64)

PT_EXPORT int eventfd(unsigned int init, int flags)
{
	int fd;
	REAL(eventfd);
	fd = real_eventfd(init, flags);
	opened(fd, RET(), PT_TAG("Evnt"));
	return fd;
}

PT_EXPORT int timerfd_create(int clock, int flags)
{
	int fd;
	REAL(timerfd_create);
	fd = real_timerfd_create(clock, flags);
	opened(fd, RET(), PT_TAG("Timr"));
	return fd;
}

PT_EXPORT int signalfd(int fd, const sigset_t *mask, int flags)
{
	int r;
	REAL(signalfd);
	r = real_signalfd(fd, mask, flags);
	if (fd == -1) /* a new descriptor; otherwise fd's mask changed */
		opened(r, RET(), PT_TAG("Sigf"));
	return r;
}

PT_EXPORT int epoll_create(int size)
{
	int fd;
	REAL(epoll_create);
	fd = real_epoll_create(size);
	opened(fd, RET(), PT_TAG("Epol"));
	return fd;
}

PT_EXPORT int epoll_create1(int flags)
{
	int fd;
	REAL(epoll_create1);
	fd = real_epoll_create1(flags);
	opened(fd, RET(), PT_TAG("Epol"));
	return fd;
}

PT_EXPORT int inotify_init(void)
{
	int fd;
	REAL(inotify_init);
	fd = real_inotify_init();
	opened(fd, RET(), PT_TAG("Inot"));
	return fd;
}

PT_EXPORT int inotify_init1(int flags)
{
	int fd;
	REAL(inotify_init1);
	fd = real_inotify_init1(flags);
	opened(fd, RET(), PT_TAG("Inot"));
	return fd;
}

PT_EXPORT int memfd_create(const char *name, unsigned int flags)
{
	int fd;
	REAL(memfd_create);
	fd = real_memfd_create(name, flags);
	opened(fd, RET(), PT_TAG("Memf"));
	return fd;
}

int mkstemp64(char *t);
int mkostemp64(char *t, int flags);
FILE_HOOK(mkstemp, (char *t), (t))
FILE_HOOK(mkstemp64, (char *t), (t))
FILE_HOOK(mkostemp, (char *t, int flags), (t, flags))
FILE_HOOK(mkostemp64, (char *t, int flags), (t, flags))

PT_EXPORT int close(int fd)
{
	int r, e;
	REAL(close);
	if (is_ours(fd))
		return refuse();
	r = real_close(fd);
	e = errno;
	if (r == 0 || e != EBADF) /* Linux frees the number even on EINTR */
		release(fd);
	errno = e;
	return r;
}

int close_range(unsigned int first, unsigned int last, int flags);
PT_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	int own[2] = {-1, pt_run_own_err_fd()}, r = 0, left = 1;
	unsigned lo = first;
	uint32_t hi;
	REAL(close_range);
	if (own[0] > own[1]) { /* in order */
		int t = own[0];
		own[0] = own[1];
		own[1] = t;
	}
	/* Around pooltag's own descriptors (see close). */
	for (int i = 0; i < 2 && r == 0 && left; i++) {
		unsigned o = (unsigned)own[i];
		if (own[i] < 0 || o < lo || o > last)
			continue;
		if (o > lo)
			r = real_close_range(lo, o - 1, flags);
		if (o == last)
			left = 0;
		else
			lo = o + 1;
	}
	if (r == 0 && left)
		r = real_close_range(lo, last, flags);
	if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC)) {
		hi = __atomic_load_n(&fd_hi, __ATOMIC_RELAXED);
		for (uint64_t fd = first; fd <= last && fd < hi; fd++)
			release((int)fd);
	}
	return r;
}

/* ---- streams and directories ---- */

/* Runs a libc call that allocates for its caller with allocations charged
 * to the caller (pc). */
#define AS_CALLER(pc, expr)                                                  \
	__extension__({                                                      \
		uintptr_t pt__o = pt_run_outer;                              \
		pt_run_outer = pt__o ? pt__o : (pc);                         \
		__typeof__(expr) pt__r = (expr);                             \
		pt_run_outer = pt__o;                                        \
		pt__r;                                                       \
	})

#define FOPEN_HOOK(name)                                                     \
	PT_EXPORT FILE *name(const char *path, const char *mode)             \
	{                                                                    \
		uintptr_t pc = RET();                                        \
		FILE *f;                                                     \
		REALP(name);                                                 \
		f = AS_CALLER(pc, real_##name(path, mode));                  \
		if (f)                                                       \
			opened(fileno(f), pc, PT_TAG("File"));               \
		return f;                                                    \
	}
FOPEN_HOOK(fopen)
FOPEN_HOOK(fopen64)

#define FREOPEN_HOOK(name)                                                   \
	PT_EXPORT FILE *name(const char *path, const char *mode, FILE *old)  \
	{                                                                    \
		uintptr_t pc = RET();                                        \
		int ofd = old ? fileno(old) : -1;                            \
		FILE *f;                                                     \
		REALP(name);                                                 \
		f = AS_CALLER(pc, real_##name(path, mode, old));             \
		if (ofd >= 0 && (!f || fileno(f) != ofd || path))            \
			release(ofd);                                        \
		if (f && path)                                               \
			opened(fileno(f), pc, PT_TAG("File"));               \
		return f;                                                    \
	}
FREOPEN_HOOK(freopen)
FREOPEN_HOOK(freopen64)

PT_EXPORT FILE *fdopen(int fd, const char *mode)
{
	uintptr_t pc = RET();
	REALP(fdopen);
	return AS_CALLER(pc, real_fdopen(fd, mode));
}

PT_EXPORT FILE *tmpfile(void)
{
	uintptr_t pc = RET();
	FILE *f;
	REALP(tmpfile);
	f = AS_CALLER(pc, real_tmpfile());
	if (f)
		opened(fileno(f), pc, PT_TAG("File"));
	return f;
}

PT_EXPORT int fclose(FILE *f)
{
	int fd = f ? fileno(f) : -1, r, e;
	REAL(fclose);
	r = real_fclose(f);
	e = errno;
	release(fd); /* closed even when fclose reports an error */
	errno = e;
	return r;
}

PT_EXPORT DIR *opendir(const char *path)
{
	uintptr_t pc = RET();
	DIR *d;
	REALP(opendir);
	d = AS_CALLER(pc, real_opendir(path));
	if (d)
		opened(dirfd(d), pc, PT_TAG("Dir"));
	return d;
}

PT_EXPORT DIR *fdopendir(int fd)
{
	uintptr_t pc = RET();
	REALP(fdopendir);
	return AS_CALLER(pc, real_fdopendir(fd));
}

PT_EXPORT int closedir(DIR *d)
{
	int fd = dirfd(d), r, e;
	REAL(closedir);
	r = real_closedir(d);
	e = errno;
	if (r == 0)
		release(fd);
	errno = e;
	return r;
}
