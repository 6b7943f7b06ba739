/*
 * fault.h - fault injection inside the program (fault.c, a block layer):
 * the kinds of acquisition, and what a module that acquires asks before it
 * does.  The driver's side, and the protocol between a driven run and its
 * driver, are faultrun.h.  Not part of the public API.
 */
#ifndef PT_FAULT_H
#define PT_FAULT_H

#include <stddef.h>
#include <stdint.h>

#include "pooltag.h"

/* The kinds of acquisition: the bits of fail.kinds. */
#define PT_FAULT_ALLOC 1u
#define PT_FAULT_REF 2u
#define PT_FAULT_HANDLE 4u
#define PT_FAULT_ALL 7u

extern int pt_fault_active;
void pt_fault_point_slow(void);
int pt_fault_check_slow(unsigned kind, const struct pt_site *site, uint32_t tag, size_t size);
/* As pt_fault_check, for an acquisition known by its counter slot (the
 * interposer's sites); call only while pt_fault_active. */
int pt_fault_check_slot(unsigned kind, uint32_t slot, uint32_t tag, size_t size);
/* At the start of every acquisition, before any lock: a driven program's
 * first one starts the fork server there. */
static inline void pt_fault_point(void)
{
	if (__builtin_expect(__atomic_load_n(&pt_fault_active, __ATOMIC_RELAXED), 0))
		pt_fault_point_slow();
}
/* Should this acquisition fail?  1 with errno ENOMEM when it should. */
static inline int pt_fault_check(unsigned kind, const struct pt_site *site, uint32_t tag,
				 size_t size)
{
	if (__builtin_expect(__atomic_load_n(&pt_fault_active, __ATOMIC_RELAXED), 0))
		return pt_fault_check_slow(kind, site, tag, size);
	return 0;
}
void pt_fault_defaults(void); /* no failures, no filters */
/* pt_fault_logging, pt_fault_log, pt_fault_finding: runlib.h (the
 * interposer logs its findings to a driven run too). */
void pt_fault_catch_crashes(void); /* report fatal signals of a driven run */

#endif /* PT_FAULT_H */
