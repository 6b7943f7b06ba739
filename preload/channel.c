/*
 * channel.c - where the interposer's text goes, and where its own
 * descriptors live.
 *
 * Reports never go through the program's descriptors: a program may close
 * standard error at exit (gnulib's close_stdout does), point it at its
 * data, or leave it a pipe whose reader is gone.  They are appended, one
 * write(2) each, to a file opened by path at the moment of writing:
 *
 *   --output FILE                  the user's file (POOLTAG_RUN_OUTPUT)
 *   else pooltag run's spool file  (POOLTAG_RUN_SPOOL), which pooltag run,
 *                                  alive and owning its standard error,
 *                                  copies there when the program ends
 *   else (pooltag run is gone: a process that outlived it) the copy of
 *                                  standard error taken at start-up, the
 *                                  one pooltag run handed the program
 *
 * The status file (POOLTAG_RUN_STATUS) gets one machine line per event, so
 * pooltag run knows which processes ended with a verdict and their
 * findings: "end PID findings N", "exec PID".
 *
 * pooltag's own descriptors (the copy of standard error, the files above
 * while written) live above the program's range (src/fdplace.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "preload.h"
#include "safestr.h"

static int err_fd = -1; /* standard error as the program got it at start-up */

int pt_run_own_err_fd(void)
{
	return err_fd;
}

int pt_run_fd_own(int fd)
{
	return fd >= 0 && fd == err_fd;
}

void pt_run_channel_init(void)
{
	if (fcntl(2, F_GETFD) != -1)
		err_fd = fcntl(2, F_DUPFD_CLOEXEC, pt_fd_base());
}

/* A file opened by path for appending, moved up; -1 if it cannot be. */
static int open_append(const char *path, int create)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY | (create ? O_CREAT : 0), 0644);
	return pt_fd_high(fd);
}

static void write_all(int fd, const char *text, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, text, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		text += w;
		len -= (size_t)w;
	}
}

/* Writes to a descriptor that may be a pipe without a reader: SIGPIPE is
 * blocked meanwhile and one it raised is taken back, so the program never
 * dies of pooltag's report. */
static void write_nopipe(int fd, const char *text, size_t len)
{
	sigset_t pipe, old, pending;
	struct timespec zero = {0, 0};

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	sigpending(&pending);
	int was_pending = sigismember(&pending, SIGPIPE);
	write_all(fd, text, len);
	if (!was_pending)
		while (sigtimedwait(&pipe, NULL, &zero) == SIGPIPE)
			;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void pt_run_write(const char *text, size_t len)
{
	int e = errno, fd = -1;

	if (pt_run_cfg.output[0])
		fd = open_append(pt_run_cfg.output, 1);
	else if (pt_run_cfg.spool[0])
		fd = open_append(pt_run_cfg.spool, 0);
	if (fd >= 0) {
		write_all(fd, text, len);
		close(fd);
	} else if (err_fd >= 0) {
		write_nopipe(err_fd, text, len);
	}
	errno = e;
}

void pt_run_write_line(char *line, size_t len)
{
	pt_safe_mem(line, len && line[len - 1] == '\n' ? len - 1 : len);
	pt_run_write(line, len);
}

void pt_run_status(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int fd, n, e = errno;

	if (!pt_run_cfg.status[0])
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n <= 0 || (size_t)n >= sizeof(line))
		return;
	fd = open_append(pt_run_cfg.status, 0);
	if (fd >= 0) {
		write_all(fd, line, (size_t)n);
		close(fd);
	}
	errno = e;
}
