/*
 * preload.h - what the parts of the interposer share (`pooltag run`, built
 * as libpooltag-preload.so and put in LD_PRELOAD).
 *
 *   config.c   the options pooltag run passes in the environment
 *   site.c     a caller's program counter to its counter slot; modules and tags
 *   hooks.c    the malloc family
 *   fds.c      calls that create and release descriptors
 *   dl.c       dlopen and dlclose
 *   report.c   what is still held, at exit and at each dlclose
 *
 * Every block handed out carries the library's 16-byte header (internal.h),
 * allocated from glibc's own entry points (__libc_malloc and friends), so
 * the interposer never needs dlsym to find the allocator: there is no
 * start-up window in which malloc is unknown, and nothing to bootstrap.
 * A block whose slot is 0 is counted nowhere: memory the interposer itself
 * (or libdw inside it) asked for, or asked for while a hook was busy.
 */
#ifndef PT_PRELOAD_H
#define PT_PRELOAD_H

#include <stdint.h>
#include <stdio.h>

#include "internal.h"
#include "tagmap.h"

#define PT_EXPORT __attribute__((visibility("default")))

/* ---- config.c ---- */
struct pt_run_config {
	char output[4096];  /* report file ("" = standard error) */
	char status[4096];  /* file that receives "findings N" lines for pooltag run */
	int quiet;          /* no line for a clean run */
	int follow_exec;    /* keep LD_PRELOAD for programs this one executes */
	int all;            /* also list memory held by the C runtime */
	int reachable;      /* list still reachable memory by group, not one line */
	int scan_stats;     /* a line of the exit scan's figures (bench/bench_run.c) */
	unsigned track;     /* PT_TRACK_BLOCKS, PT_TRACK_STACKS */
	struct pt_tagmap map; /* module/func tags and wrappers, defaults last */
};
extern struct pt_run_config pt_run_cfg;
void pt_run_config_load(void); /* once, from the environment; never fails */

/* ---- site.c ---- */
/*
 * A site's info word: slot (24 bits) | flags (8) | tag (32).  Slot 0 means
 * "count nowhere".
 */
#define PT_RUN_WRAP (1ull << 24) /* the pc is in a wrapper: charge its caller */
#define PT_RUN_INFO_SLOT(i) ((uint32_t)(i) & 0xffffff)
#define PT_RUN_INFO_TAG(i) ((uint32_t)((i) >> 32))

/* Set while a hook does its slow work (registration, reports): a nested
 * allocation then gets an uncounted block and takes no lock. */
extern __thread int pt_run_busy __attribute__((tls_model("initial-exec")));

#define PT_RUN_TC 256 /* entries of a thread's pc cache, a power of two */
struct pt_run_tc {
	uintptr_t pc;
	uint64_t info;
};
extern __thread struct pt_run_tc pt_run_tc[PT_RUN_TC] __attribute__((tls_model("initial-exec")));
extern __thread uint32_t pt_run_tc_gen __attribute__((tls_model("initial-exec")));
extern uint32_t pt_run_gen; /* bumped when a module goes: thread caches are then stale */

uint64_t pt_run_site_miss(uintptr_t pc);
uint64_t pt_run_unwrap(uintptr_t pc, uint64_t info);

/* The info of the allocation site whose return address is pc. */
static inline uint64_t pt_run_site(uintptr_t pc)
{
	struct pt_run_tc *e = &pt_run_tc[(pc ^ (pc >> 10)) & (PT_RUN_TC - 1)];

	if (pt_likely(e->pc == pc && pt_run_tc_gen == __atomic_load_n(&pt_run_gen, __ATOMIC_RELAXED)))
		return e->info;
	return pt_run_site_miss(pc);
}

/* Looks up the file and line of slot's site with libdw, once, and stores
 * them in the segment: for a report about to show the site (registration
 * names only the function).  Takes the site lock; sets busy meanwhile. */
void pt_run_site_locate(uint32_t slot);

/* The slot of handles of kind tag opened by the code at return address pc;
 * 0 when they are not counted (the interposer's own, or busy). */
uint32_t pt_run_handle_slot(uintptr_t pc, uint32_t tag);

/* Modules: the program (id 0) and each shared object seen calling. */
struct pt_run_module {
	uintptr_t lo, hi;
	uintptr_t bias;   /* load bias: a pc less it is the address in the file */
	const char *path; /* the file, for lines looked up after an unload */
	uint32_t id;
	uint32_t tag;
	int runtime; /* the C runtime: what it holds at exit is no finding */
	int gone;    /* unloaded */
	char name[256];
};
/* Calls fn for every module seen so far (under the site lock). */
void pt_run_modules(void (*fn)(const struct pt_run_module *m, void *arg), void *arg);
const struct pt_run_module *pt_run_module_by_id(uint32_t id);
/* A module just unloaded by dlclose (lo: an address it had): forgets its
 * pcs; returns its id, or 0 if none of ours was there. */
uint32_t pt_run_module_gone(uintptr_t lo);
void pt_run_site_init(void); /* at start-up, from the constructor */
void pt_run_lock(void);
void pt_run_unlock(void);
uint32_t pt_run_module_tag(const char *name, int is_program);

/* ---- fds.c ---- */
void pt_run_fds_init(void);
/* Calls fn for every open descriptor the program opened, with its slot. */
void pt_run_fds_each(void (*fn)(int fd, uint32_t slot, void *arg), void *arg);

/* ---- hooks.c ---- */
extern int pt_run_ready; /* set by the constructor: before it, nothing is counted */
extern int pt_run_pid;   /* the process the exit report belongs to */
/* The return address allocations are charged to instead of the caller's
 * while a hook runs a libc function that allocates for its caller (fopen). */
extern __thread uintptr_t pt_run_outer __attribute__((tls_model("initial-exec")));

/* ---- report.c ---- */
/* Reports what module id (or everything, for UINT32_MAX at exit) still
 * holds; returns the number of findings. */
int pt_run_report(uint32_t module, const char *event);
void pt_run_report_status(int findings);

#endif /* PT_PRELOAD_H */
