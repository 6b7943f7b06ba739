/*
 * ps.h - the demo host's process manager, as host.c drives it.  Drivers see
 * only host_api.h.
 */
#ifndef SEED_PS_H
#define SEED_PS_H

#include <stdint.h>

#include "host_api.h"

/* Creates the "Process" object type, the kernel handle table and the tag
 * descriptions.  0, or -1 with errno set. */
int ps_init(void);

/* A new process object holding one reference (the host's) with a token and
 * an audit image name; the driver's callback is told.  NULL with errno set. */
struct proc *ps_create_process(uint64_t ppid, uint64_t pid, const char *image);

/* Lets the process run: it adjusts its token a few times, each time
 * capturing and auditing a policy structure. */
void ps_run(struct proc *proc);

/* The process exits: the callback is told, then the host drops its own
 * reference.  The object is deleted only if nobody else holds one. */
void ps_exit_process(struct proc *proc);

/* Process objects created and not yet deleted. */
long ps_live_objects(void);

/* At shutdown: closes every handle left in the kernel table, then releases
 * whatever references are still held on process objects with ids in
 * [first, last] (step apart), so every object is deleted.  Returns the number
 * of objects reclaimed that way; *handles gets the number of handles closed. */
long ps_reclaim(uint64_t first, uint64_t last, uint64_t step, long *handles);

#endif /* SEED_PS_H */
