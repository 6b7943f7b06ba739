/* chain.h - the call chains of tests/unwind/chain.c, with and without frame
 * pointers: chain(depth) calls itself depth times, then three functions
 * (an over-aligned frame, an alloca frame, a leaf) and the leaf calls fn. */
#ifndef UW_CHAIN_H
#define UW_CHAIN_H

typedef int (*uw_fn)(void *arg);

int fp_chain(int depth, uw_fn fn, void *arg);
int nofp_chain(int depth, uw_fn fn, void *arg);

#endif
