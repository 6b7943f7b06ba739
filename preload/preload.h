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
 *   channel.c  where reports go (never the program's descriptors)
 *   exit.c     every way a process ends gets its verdict (exit, _exit,
 *              fatal signals, fork children)
 *   exec.c     the exec family: what was executed, no stale segment
 *
 * Every block handed out carries the library's 16-byte header (block.h),
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

#include "pooltag.h"
#include "runlib.h" /* all the interposer reaches of the library */
#include "tagmap.h" /* common/: the tag map it applies */

#define PT_EXPORT __attribute__((visibility("default")))

/* ---- config.c ---- */
struct pt_run_config {
	char output[4096];  /* report file ("" = standard error) */
	char status[4096];  /* file that receives "end PID findings N" lines for pooltag run */
	char spool[4096];   /* pooltag run's file for the reports it prints ("" = none) */
	int quiet;          /* no line for a clean run */
	int follow_exec;    /* keep LD_PRELOAD for programs this one executes */
	int all;            /* also list memory held by the C runtime */
	int reachable;      /* list still reachable memory by group, not one line */
	int scan_stats;     /* a line of the exit scan's figures (bench/bench_run.c) */
	int gen_supp;       /* print suppression entries for the findings */
	char json[4096];    /* --json FILE ("" = none) */
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
/* A module just unloaded by dlclose (addr: an address it had, path: its
 * file as the dynamic linker named it): forgets its pcs; returns its id,
 * or 0 if none of ours was there. */
uint32_t pt_run_module_gone(uintptr_t addr, const char *path);
/* dlclose calls under way: an object they unmap keeps its pcs known until
 * pt_run_module_gone, so registration then checks a pc's module against
 * the object the dynamic linker has there (site.c). */
extern int pt_run_closing;
void pt_run_site_init(void); /* at start-up, from the constructor */
void pt_run_lock(void);
void pt_run_unlock(void);
uint32_t pt_run_module_tag(const char *name, int is_program);

/* ---- fds.c ---- */
void pt_run_fds_init(void);
/* Calls fn for every open descriptor the program opened, with its slot. */
void pt_run_fds_forget(void); /* a fork child: forget the inherited table */
void pt_run_fds_each(void (*fn)(int fd, uint32_t slot, void *arg), void *arg);

/* ---- hooks.c ---- */
extern int pt_run_ready; /* set by the constructor: before it, nothing is counted */
extern int pt_run_pid;   /* the process the exit report belongs to */
/* The return address allocations are charged to instead of the caller's
 * while a hook runs a libc function that allocates for its caller (fopen). */
extern __thread uintptr_t pt_run_outer __attribute__((tls_model("initial-exec")));

/* ---- misfree.c ---- */
struct pt_run_misfree {
	uintptr_t pc;    /* return address of the free (or realloc) call */
	uint64_t count;  /* frees made there of pointers that were not live blocks */
	uintptr_t first; /* the first such pointer */
	uint32_t slot;   /* the site that allocated it, when its header told (0: unknown) */
	uint64_t size;   /* its size then */
};
void pt_run_misfree(void *p, uintptr_t pc, uint32_t slot, uint64_t size);
size_t pt_run_misfrees(const struct pt_run_misfree **out, uint64_t *more);
void pt_run_misfree_forget(void);

/* ---- report.c ---- */
/*
 * A report is made in three steps, so that each can be replaced alone:
 * pt_run_collect gathers the finding groups of a process (or of a module
 * being unloaded) as data; suppress.c marks the groups the user's
 * suppressions cover; the emitters write the text (report.c) and the JSON
 * (json.c) from the same data.  A group is one kind at one place: a call
 * site still holding blocks, an open descriptor, a line that freed what
 * was not a live block.  pt_run_group_frames gives a group's stack.
 */
enum pt_run_kind { PT_RUN_BLOCKS, PT_RUN_FD, PT_RUN_BADFREE };
/* What the exit scan (reach.c) found of a BLOCKS group: lost (with what
 * only it holds, indirectly lost), still reachable, or held without a scan
 * (at a dlclose, or blocks the scan cannot see). */
enum pt_run_reach { PT_RUN_LOST, PT_RUN_REACHABLE, PT_RUN_HELD };
struct pt_run_group {
	enum pt_run_kind kind;
	uint32_t slot;     /* the site's counter slot (BLOCKS, FD; BADFREE: where the
			    * first pointer was allocated, 0 if unknown) */
	uint32_t module;   /* the module charged */
	uint64_t count;    /* blocks held, or bad frees made there */
	uint64_t bytes;    /* bytes held (BLOCKS) */
	int fd;            /* the descriptor (FD) */
	uintptr_t pc;      /* the freeing call (BADFREE) */
	uintptr_t first;   /* its first pointer (BADFREE) */
	uint64_t size;     /* BADFREE: the first pointer's block size, when slot names its site */
	uint32_t stack;    /* a sample stack of the group, 0 if none */
	int runtime;       /* held by the C runtime: no finding */
	int suppressed;    /* covered by a suppression */
	enum pt_run_reach reach; /* BLOCKS: lost, reachable or held */
	uint32_t mem;      /* BLOCKS: the group's index in group.c's list */
};
struct pt_run_findings {
	uint32_t module;   /* UINT32_MAX: the whole process */
	const char *event; /* "exit", "_exit", "killed by SIGSEGV", "unloaded" */
	struct pt_run_group *g;
	size_t n, cap;
	uint64_t blocks, bytes;       /* held by the program's sites (not suppressed) */
	uint64_t rt_blocks, rt_bytes; /* held by the C runtime */
	uint64_t reach_blocks, reach_bytes; /* still reachable: no finding */
	uint64_t nmisuse;             /* misuse and special-pool reports made while running */
	int nsites, nfds, nbad;       /* groups of each kind that are findings */
	int suppressed;               /* groups a suppression covered */
	int findings;                 /* nsites + nfds + nbad + nmisuse */
	int scanned;                  /* the memory was classified by the exit scan */
	struct pt_run_mem *mem;       /* group.c's groups, the BLOCKS groups' source */
};
/* Gathers the groups (site lock held; the memory's are added once
 * classified, after it); a fork child's leave out what it inherited. */
void pt_run_collect(uint32_t module, struct pt_run_findings *r);
void pt_run_findings_free(struct pt_run_findings *r);
/* Up to max frames of a group's stack, innermost first, pooltag's own left out. */
unsigned pt_run_group_frames(const struct pt_run_group *g, struct pt_frame *out, unsigned max);
const char *pt_run_module_name(uint32_t id);

/* Reports what module id (or everything, for UINT32_MAX at exit) still
 * holds; returns the number of findings. */
int pt_run_report(uint32_t module, const char *event);
/* The status line of this process's end (exec: its image's). */
void pt_run_report_status(int findings, int exec);
/* "file:line in func", or func alone when file is NULL, for the text
 * report: the names are the program's, each made safe for a terminal
 * (safestr.h), its line ends included. */
void pt_run_put_where(FILE *f, const char *file, unsigned line, const char *func);
/* A fork child: what the process holds now is its parent's; its report
 * counts what it holds beyond that. */
void pt_run_report_fork_child(void);

/* ---- suppress.c ---- */
int pt_run_suppress_load(const char *path, char *err, size_t errlen); /* 0 or -1 */
void pt_run_suppress(struct pt_run_findings *r); /* marks groups, recounts */
/* Writes a suppression entry per unsuppressed finding group. */
void pt_run_suppress_entries(FILE *f, const struct pt_run_findings *r);

/* ---- json.c ---- */
void pt_run_json(const struct pt_run_findings *r); /* one line appended to --json's file */

/* ---- channel.c ---- */
void pt_run_channel_init(void);
void pt_run_write(const char *text, size_t len); /* one report, appended whole */
/* One line made of the program's names (it ends in its own line end, if it
 * is whole): written as pt_run_write does, the names made safe for a
 * terminal (safestr.h), a line end among them included. */
void pt_run_write_line(char *line, size_t len);
void pt_run_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int pt_run_fd_own(int fd); /* a descriptor of pooltag's the program may not touch */
int pt_run_own_err_fd(void); /* the copy of standard error, -1 if none */

/* ---- exit.c ---- */
void pt_run_exit_init(void);
/* This process's final verdict (event: "exit", "_exit", "killed by SIGSEGV",
 * "exec /bin/ls"), written once. */
void pt_run_final(const char *event);
void pt_run_final_undo(void); /* a failed exec: the process goes on */
/* Is this a vfork child, sharing its parent's memory?  Then pooltag's state
 * is the parent's: no hook may change it. */
int pt_run_in_vfork_child(void);

#endif /* PT_PRELOAD_H */
