/*
 * procinfo.c - process start times and liveness from /proc.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procinfo.h"

/* Reads the state letter (field 3) and start time (field 22) of pid from
 * /proc/PID/stat.  0, or -1 if it cannot be read. */
static int proc_stat(pid_t pid, char *state, uint64_t *start_ticks)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* The command name (field 2) may hold spaces and parentheses: fields
	 * are counted from the last ')'. Field 3 follows it. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return -1;
	*state = p[2];
	p++;
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -1;
	}
	*start_ticks = strtoull(p + 1, NULL, 10);
	return 0;
}

uint64_t pt_proc_start_ticks(pid_t pid)
{
	uint64_t t;
	char state;

	return proc_stat(pid, &state, &t) == 0 ? t : 0;
}

int pt_proc_alive(pid_t pid, uint64_t start_ticks)
{
	uint64_t t;
	char state;

	if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
		return 0;
	if (proc_stat(pid, &state, &t) != 0)
		return start_ticks == 0; /* /proc hidden: the pid exists, nothing more is known */
	/* A zombie (exited, not reaped yet) or a dying task has exited. */
	if (state == 'Z' || state == 'X' || state == 'x')
		return 0;
	return start_ticks == 0 || t == start_ticks;
}
