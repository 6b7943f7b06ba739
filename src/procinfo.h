/*
 * procinfo.h - facts about processes from /proc, shared by the library and
 * the CLI.  Nothing read from /proc is trusted beyond its parse.
 */
#ifndef PT_PROCINFO_H
#define PT_PROCINFO_H

#include <stdint.h>
#include <sys/types.h>

/* The start time of pid in clock ticks since boot (field 22 of
 * /proc/PID/stat), or 0 if it cannot be read. */
uint64_t pt_proc_start_ticks(pid_t pid);

/* 1 if pid exists, has not exited (a zombie, exited but not reaped yet,
 * has) and, when start_ticks is non-zero, started at that time (so a
 * recycled pid does not count). */
int pt_proc_alive(pid_t pid, uint64_t start_ticks);

#endif /* PT_PROCINFO_H */
