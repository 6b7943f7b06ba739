/*
 * special.h - what the special pool's files share (special.c: records,
 * allocation, free and quarantine; specialopt.c: options and selection;
 * specialrep.c: reports and the fault handler).  See special.c for the
 * design.  Nothing here is part of the public API.
 */
#ifndef PT_SPECIAL_H
#define PT_SPECIAL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define PT_SP_MAX_PATTERNS 16
#define PT_SP_PATTERN_LEN 32
#define PT_SP_MODULE_LEN 256

/* A special block's record, out of band (see special.c). */
struct pt_sp_blk {
	struct pt_sp_blk *next, *prev; /* all records: live and quarantined */
	struct pt_sp_blk *hnext;       /* hash chain, by user pointer */
	struct pt_sp_blk *qnext;       /* quarantine FIFO */
	char *base;                    /* the mapping */
	size_t len;                    /* its length, guard included */
	char *data;                    /* the accessible part before the free */
	size_t data_len;
	char *user;
	uint64_t size;
	struct pt__hdr hdr; /* the header as written, for reports */
	uint32_t slot, stack;
	uint32_t free_stack;
	unsigned pool, align_log2;
	int guard_before;
	unsigned char fill; /* the pattern it was filled with */
	int freed;
	int opened; /* made accessible again after a fault (continue) */
	char freed_at[120];
};

/* Configuration and state, under lock (a spin lock: see special.c). */
struct pt_sp {
	int lock;
	/* configuration */
	char tags[PT_SP_MAX_PATTERNS][PT_SP_PATTERN_LEN];
	int ntags;
	char module[PT_SP_MODULE_LEN];
	uint64_t min, max;
	int guard_before;
	uint64_t q_count, q_bytes;
	unsigned char fill;
	/* state */
	int ready; /* set up: the handler installed, the hash mapped */
	size_t page;
	struct pt_sp_blk **buckets;
	struct pt_sp_blk all;
	struct pt_sp_blk *qhead, *qtail;
	uint64_t qn, qbytes;
	struct pt_sp_blk *spare; /* free records */
	uint64_t nlive;
	struct sigaction old_segv, old_bus;
};
extern struct pt_sp pt_sp;

static inline void pt_sp_lock(void)
{
	while (__atomic_exchange_n(&pt_sp.lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&pt_sp.lock, __ATOMIC_RELAXED))
			__builtin_ia32_pause();
}

static inline void pt_sp_unlock(void)
{
	__atomic_store_n(&pt_sp.lock, 0, __ATOMIC_RELEASE);
}

/* special.c */
void pt_sp_enable(void); /* a selection was configured */

/* specialrep.c */
void pt_sp_install_handler(void);  /* once, from pt_sp_enable */
void pt_sp_altstack_ensure(void);  /* this thread's alternate signal stack */
/* Reports an overrun (over) or underrun of a block being freed at site,
 * found in its fill: [first, last] overwritten. */
void pt_sp_report_fill(const struct pt_sp_blk *copy, int over, const char *first,
		       const char *last, const struct pt_site *site);
/* Reports op on a quarantined block, or on a live one whose header fails
 * its check. */
void pt_sp_report_check(const struct pt_sp_blk *copy, const char *op, uint32_t used_tag,
			const struct pt_site *site, const char *at);

#endif /* PT_SPECIAL_H */
