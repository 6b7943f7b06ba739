/*
 * segread.h - reading a process's export segment from outside, and finding
 * the segments that exist.
 *
 * The reader trusts nothing in the file: every offset and count is checked
 * against the file's size before use, the file is read with pread (never
 * mapped, so a writer that truncates it cannot fault us), and every string
 * must end inside the string area.  Errors are one line naming the process or
 * file and the problem.
 */
#ifndef PT_SEGREAD_H
#define PT_SEGREAD_H

#include <stddef.h>
#include <sys/types.h>

#include "view.h"

/* The directory holding segments: $POOLTAG_DIR, else /dev/shm. */
const char *pt_segdir(void);

/* Reads the segment open on fd into v (initialised by the caller).  name
 * labels the file in messages.  0, or -1 with a message in err. */
int pt_segread_fd(struct pt_view *v, int fd, const char *name, char *err, size_t errlen);

/* Reads the live counters of process pid into v.  Distinguishes: no such
 * process, a process of another user, a process without a segment, a stale
 * segment, a corrupt or wrong-version one.  0, or -1 with a message. */
int pt_segread_pid(struct pt_view *v, pid_t pid, char *err, size_t errlen);

struct pt_segent {
	pid_t pid;
	char path[512];
	int stale;       /* its process is gone or no longer maps it */
	int foreign;     /* owned by another user */
};

/* Lists the segment files in pt_segdir(), sorted by pid.  *out is malloc'd
 * (free it).  0, or -1 with a message. */
int pt_seglist(struct pt_segent **out, size_t *n, char *err, size_t errlen);

#endif /* PT_SEGREAD_H */
