/*
 * sample.h - always-on sampled stacks: about one allocation in every
 * sample= bytes (512 KiB by default) records its call stack in the export
 * segment's sample table (struct pt_seg_sample, segfmt.h), so a reader can
 * show the call paths of the biggest live consumers with no tracking on.
 *
 * The sampler is a Poisson process over allocated bytes, as jemalloc's and
 * tcmalloc's are: every byte is a sample point with probability 1/mean, and
 * an allocation is sampled when it contains a point.  Each thread keeps the
 * bytes left to the next point in pt__tls_sample (pooltag.h), which the
 * allocation paths decrement; the inline path sends an allocation that would
 * cross zero to the library, whose pt_block_alloc decrements it and calls
 * pt_sample_hit on the crossing.  The next distance is drawn from an
 * exponential distribution of the given mean, so the points do not line up
 * with any periodic pattern of the program's allocations.
 *
 * A block of size s is sampled with probability 1 - exp(-s/mean), so it
 * stands for s / (1 - exp(-s/mean)) bytes (pt_sample_weight): about mean
 * for small blocks, about s for blocks much larger than mean.  Summing the
 * weights of the live sampled blocks of a path gives an unbiased estimate of
 * its live bytes; its spread is about sqrt(n) * mean for n samples.
 *
 * A sampled block carries PT_META_SAMPLED in its header (the high bit of
 * the pool field, which holds two pools in two bits), so the inline free
 * sends it to the library (its meta is above pt__fast_slots) and only the
 * library's release, one predictable branch, looks at the bit; an
 * unsampled free costs nothing more.  The library then finds the block's
 * sample in a side table keyed by address and takes its weight off the
 * path's live figures.
 *
 * Under `pooltag run`, the interposer's copy of the library samples when
 * it tracks nothing (--track none: its hooks count down and release as the
 * library does); with blocks tracked every block has a record, and the
 * sampler is off.  A program's own copy under `pooltag run` defers to the
 * interposer's and never samples.
 */
#ifndef PT_SAMPLE_H
#define PT_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "pooltag.h"

#define PT_SAMPLE_MEAN_DEFAULT (512u << 10)
#define PT_SAMPLE_TABLE 1024u      /* distinct (stack, slot) entries in the segment */
#define PT_SAMPLE_LIVE (1u << 16) /* sampled blocks live at once, at most */

/* pt_sample_hit, pt_sample_drop and pt_sample_setup: runlib.h (the
 * interposer's hooks call them too). */

/* Fork: the sampler's lock, held across fork (lifecycle.c). */
void pt_sample_fork_prepare(void);
void pt_sample_fork_release(void);

/* ---- the statistics, exposed for tests ---- */

/* An exponentially distributed distance of the given mean (>= 1), from
 * the xorshift state *rng (not 0). */
uint64_t pt_sample_draw(uint64_t *rng, uint64_t mean);

/* The bytes a sampled block of size bytes stands for (see above). */
uint64_t pt_sample_weight(uint64_t size, uint64_t mean);

/* sample= and sample.seed= (config.c's option table). */
int pt_sample_option(const char *key, const char *val, char *err, size_t errlen);

#endif /* PT_SAMPLE_H */
