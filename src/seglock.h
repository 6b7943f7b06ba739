/*
 * seglock.h - the segment's liveness lock, shared by the library (which
 * holds it) and the CLI (which tests it and removes dead segments).
 *
 * A live process holds an open-file-description lock (F_OFD_SETLK) for
 * reading on byte 0 of its own segment.  The lock belongs to the open file
 * description, and the segment's mapping holds a reference to that
 * description, so the lock lasts exactly as long as the mapping: the
 * library closes its descriptor right after mapping, and the kernel drops
 * the lock when the process exits, is killed or calls exec.  Nothing a
 * program does to its descriptors, its dumpable flag or its credentials
 * changes it, and a recycled pid holds no lock on another process's file.
 *
 * A remover takes a write lock on the same byte: it fails while the process
 * lives, and while the remover holds it no other remover (another `ls
 * --clean`, a process replacing a leftover at its name) can take it, so the
 * file it checked is the file it unlinks.  The file is linked into the
 * directory only once it is locked (O_TMPFILE, then linkat), so no remover
 * ever sees a live process's segment unlocked.
 */
#ifndef PT_SEGLOCK_H
#define PT_SEGLOCK_H

#include <sys/types.h>

enum pt_seglock {
	PT_SEGLOCK_FREE,     /* no process holds it: its writer is gone or exec'd */
	PT_SEGLOCK_LIVE,     /* the writer holds it */
	PT_SEGLOCK_REMOVING, /* a remover holds it: the file is about to go */
	PT_SEGLOCK_UNKNOWN,  /* the test itself failed (errno) */
};

/* The writer's side: holds the liveness lock on fd's description.  0 or -1. */
int pt_seglock_hold(int fd);

/* Who holds the lock of the file open on fd (any access mode). */
enum pt_seglock pt_seglock_test(int fd);

/* Removes the segment at path when it is a regular file owned by uid that
 * no live process holds, under the remover's lock (see above).  1 removed,
 * 0 left alone (live, another remover's, not a regular file of uid, gone
 * already), -1 on error with errno set. */
int pt_seglock_remove_dead(const char *path, uid_t uid);

#endif /* PT_SEGLOCK_H */
