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
#include <stdint.h>
#include <sys/types.h>

#include "view.h"

/* The directory holding segments: $POOLTAG_DIR, else /dev/shm. */
const char *pt_segdir(void);

/* Reads the segment open on fd into v (initialised by the caller).  name
 * labels the file in messages.  0, or -1 with a message in err. */
int pt_segread_fd(struct pt_view *v, int fd, const char *name, char *err, size_t errlen);

/* What a segment says of its process (pt_seg_state). */
enum pt_segstate {
	PT_SEGSTATE_LIVE,   /* its process holds it */
	PT_SEGSTATE_EXITED, /* its process has exited: gone, a zombie, or its pid reused */
	PT_SEGSTATE_EXECD,  /* its process runs on but exec'd: it exports no more */
};

/* The one liveness judgement every command makes of a segment: fd is open
 * on the file (read access), name_pid the pid its name gives. */
enum pt_segstate pt_seg_state(int fd, pid_t name_pid);
const char *pt_segstate_what(enum pt_segstate st); /* "is live", "has exited", "exec'd" */

/* pt_segread_pid's status when the process has exited (or is a zombie). */
#define PT_SEGREAD_EXITED (-2)

/* Waits at most timeout_ms for process pid (started at start_ticks, 0 for
 * any) to exit.  1 if it has, else 0. */
int pt_proc_wait_exit(pid_t pid, uint64_t start_ticks, int timeout_ms);

/* Reads the live counters of process pid into v.  Distinguishes: no such
 * process, a process of another user, a process without a segment, a stale
 * segment, a corrupt or wrong-version one.  0, or -1 with a message
 * (PT_SEGREAD_EXITED when the process has exited). */
int pt_segread_pid(struct pt_view *v, pid_t pid, char *err, size_t errlen);

struct pt_segent {
	pid_t pid;
	char path[512];
	int stale;       /* state is not PT_SEGSTATE_LIVE */
	int foreign;     /* owned by another user */
	uid_t uid;       /* its owner */
	enum pt_segstate state; /* judged for your own segments (all of them for root) */
};

/* Lists the segment files in pt_segdir(), sorted by pid.  *out is malloc'd
 * (free it).  0, or -1 with a message. */
int pt_seglist(struct pt_segent **out, size_t *n, char *err, size_t errlen);

#endif /* PT_SEGREAD_H */
