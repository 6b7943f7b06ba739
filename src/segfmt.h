/*
 * segfmt.h - layout of the export segment, shared by the library (writer) and
 * the CLI (reader).  docs/segment-format.md is the prose version; a change
 * here that a reader of the previous version would misread bumps
 * PT_SEG_VERSION.
 *
 *   offset 0            struct pt_seg_header
 *   slots_off           struct pt_seg_slot[max_slots]     (one per site, tag, class)
 *   descs_off           struct pt_seg_desc[max_descs]     (tag descriptions)
 *   modules_off         struct pt_seg_module[max_modules] (the program and its plugins)
 *   strings_off         char[strings_size]                (NUL-terminated strings)
 *   samples_off         struct pt_seg_sample[max_samples] (sampled stacks; optional:
 *                       0 from a writer older than them)
 *   shards_off          nshards shards of shard_stride bytes each; shard s holds
 *                       struct pt_seg_ctr[max_slots], indexed by slot.
 *
 * Shard 0 is shared by threads that have no shard of their own and is updated
 * with atomic read-modify-write; every other shard has a single writer at a
 * time (the thread that owns it) that updates it with plain stores.  A slot's
 * counters are the sum over all shards.  Slot 0 is never used, so a zero slot
 * number means "not registered".
 *
 * A slot counts one class of thing: blocks of the paged or non-paged pool
 * (class 0 and 1, enum pt_pool), references (2) or handles (3) to objects
 * whose type has the slot's tag.  For blocks, nallocs and nfrees count
 * allocations and frees and the bytes their sizes; for references and
 * handles, nallocs counts acquisitions made at the slot's site and nfrees
 * the releases of those acquisitions (wherever they were released), bytes
 * stay 0.
 *
 * Publication: the writer fills a slot, description, module or string, then
 * stores nslots / ndescs / nmodules / strings_used with release order.  A reader loads those
 * counts first and reads nothing beyond them.  Pages of a shard are allocated
 * (fallocate) before any slot in them is published, so writes never fault.
 *
 * Everything is little-endian, naturally aligned, and fixed-size.
 */
#ifndef PT_SEGFMT_H
#define PT_SEGFMT_H

#include <stdint.h>

#define PT_SEG_MAGIC "PTSEGMNT" /* 8 bytes, no NUL */
#define PT_SEG_VERSION 2
#define PT_SEG_PREFIX "pooltag-" /* shm name: /dev/shm/pooltag-PID */

struct pt_seg_header {
	char magic[8];        /* PT_SEG_MAGIC */
	uint32_t version;     /* PT_SEG_VERSION */
	uint32_t header_size; /* sizeof(struct pt_seg_header) */
	uint64_t size;        /* size of the segment file in bytes */
	int32_t pid;          /* the process that writes it */
	uint32_t uid;
	uint64_t start_ticks; /* the process's start time, field 22 of /proc/PID/stat */
	int64_t created_ns;   /* CLOCK_REALTIME when the segment was made */
	char comm[64];        /* program name, NUL-terminated */

	uint32_t max_slots;
	uint32_t max_descs;
	uint32_t max_shards; /* shard 0 included */
	uint32_t strings_size;
	uint64_t slots_off;
	uint64_t descs_off;
	uint64_t strings_off;
	uint64_t shards_off;
	uint64_t shard_stride; /* bytes between shards, a multiple of the page size */

	/* Published with release order by the writer; read with acquire. */
	uint32_t nslots;       /* slots [1, nslots) are valid */
	uint32_t ndescs;       /* descriptions [0, ndescs) are valid */
	uint32_t nshards;      /* shards [0, nshards) may hold counts */
	uint32_t strings_used; /* bytes [0, strings_used) of the string area are valid */
	uint64_t nmisuse;      /* misuse reports made */
	uint64_t modules_off;
	uint32_t max_modules;
	uint32_t nmodules; /* modules [0, nmodules) are valid; 0 is the main program */
	uint64_t flags;    /* PT_SEG_FLAG_*; 0 from a writer older than the flags */

	/* The sampled-stack table (struct pt_seg_sample), between the string
	 * area and shard 0.  All 0 from a writer older than the table, which
	 * wrote these bytes as reserved zeros: a reader then shows no samples.
	 * Not a version bump: a reader of version 2 that ignores them misreads
	 * nothing. */
	uint64_t samples_off;
	uint32_t max_samples;
	uint32_t nsamples;        /* published: entries [0, nsamples) are valid */
	uint64_t sample_mean;     /* mean bytes between samples; 0: sampling off */
	uint64_t sample_ndropped; /* samples not recorded: table full, or no stack */
	uint64_t reserved[1];
};

/* The writer holds the liveness lock (src/seglock.h) for as long as it
 * lives; without this flag (an older writer) liveness is judged from the
 * process's pid and start time alone. */
#define PT_SEG_FLAG_LIVELOCK 1u

/* Counter classes (struct pt_seg_slot.pool). */
#define PT_SEG_CLASS_PAGED 0
#define PT_SEG_CLASS_NONPAGED 1
#define PT_SEG_CLASS_REFS 2
#define PT_SEG_CLASS_HANDLES 3
#define PT_SEG_NCLASSES 4

struct pt_seg_slot {
	uint32_t tag;
	uint32_t pool; /* the counter class, PT_SEG_CLASS_* */
	uint32_t line;
	uint32_t file;   /* string offset; 0 is the empty string */
	uint32_t func;   /* string offset */
	uint32_t module; /* the module charged: index in the module table */
	uint32_t reserved[2];
};

struct pt_seg_module {
	uint32_t name;  /* string offset: the file name */
	uint32_t path;  /* string offset */
	uint32_t state; /* PT_SEG_MODULE_LOADED or _UNLOADED */
	uint32_t reserved;
};
#define PT_SEG_MODULE_LOADED 1
#define PT_SEG_MODULE_UNLOADED 2

struct pt_seg_desc {
	uint32_t tag;
	uint32_t desc;   /* string offset */
	uint32_t binary; /* string offset; 0 (empty) if none */
	uint32_t reserved;
};

struct pt_seg_ctr {
	uint64_t nallocs;
	uint64_t bytes_alloc; /* requested bytes of all allocations */
	uint64_t nfrees;
	uint64_t bytes_freed; /* requested bytes of all frees */
};

/*
 * One sampled stack: the live allocations that were sampled with this call
 * stack at this counter slot.  Each sampled block stands for the bytes the
 * sampler skipped to reach it, its weight (size / (1 - exp(-size / mean)),
 * src/sample.h), so live_est estimates the bytes live through this path.
 * The writer fills slot, depth and frames once and then publishes the entry
 * (nsamples, release order); the three counters change afterwards with
 * relaxed atomic adds and subtracts and are read as a snapshot of some
 * instant each, not of one instant together.
 *
 * Frames, innermost first, are return addresses (pc) and, for a reader in
 * another process, the same addresses as offsets in the module's file
 * (off: pc minus the module's load bias, the address pooltag resolves in
 * the file) and the file's path (a string offset; 0 when unknown).
 */
#define PT_SEG_SAMPLE_FRAMES 16
struct pt_seg_frame {
	uint64_t pc;
	uint64_t off;
	uint32_t path; /* string offset */
	uint32_t reserved;
};
struct pt_seg_sample {
	uint32_t slot;     /* the counter slot charged; 1 <= slot < nslots */
	uint32_t depth;    /* frames [0, depth) are valid; <= PT_SEG_SAMPLE_FRAMES */
	uint64_t nlive;    /* sampled blocks live */
	uint64_t live_est; /* their weights summed: estimated live bytes */
	uint64_t ntaken;   /* samples ever taken here */
	struct pt_seg_frame frames[PT_SEG_SAMPLE_FRAMES];
};

_Static_assert(sizeof(struct pt_seg_header) == 256, "segment header is 256 bytes");
_Static_assert(sizeof(struct pt_seg_slot) == 32, "slot is 32 bytes");
_Static_assert(sizeof(struct pt_seg_desc) == 16, "description is 16 bytes");
_Static_assert(sizeof(struct pt_seg_ctr) == 32, "counter block is 32 bytes");
_Static_assert(sizeof(struct pt_seg_module) == 16, "module is 16 bytes");
_Static_assert(sizeof(struct pt_seg_sample) == 32 + 24 * PT_SEG_SAMPLE_FRAMES,
	       "sampled stack is 416 bytes");

#endif /* PT_SEGFMT_H */
