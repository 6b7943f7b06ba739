/*
 * owner.c - which copy of the library owns the process's segment under
 * `pooltag run`.
 *
 * A program that links libpooltag itself carries a second copy of the
 * library; two copies would make two segments for one pid, each with half
 * of the story.  The interposer's copy wins: the user asked for `pooltag
 * run`.  pooltag_run_interposer, exported, tells the program's copy that
 * an interposer is here (src/segment.c then keeps its counters private and
 * says so); pt__seg_interposer, hidden, tells the interposer's own copy that
 * it is the interposer's, so it does not defer to itself.
 */
#include "preload.h"

PT_EXPORT const int pooltag_run_interposer = 1;
int pt__seg_interposer = 1;
