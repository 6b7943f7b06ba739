/*
 * stack.h - call stacks: capture, a depot that stores each distinct stack
 * once, and symbolisation (module, function, source file and line).
 *
 * A tracked reference, handle or allocation keeps a 32-bit stack id instead
 * of its stack, so the stack that acquired it costs 4 bytes per object and
 * is printed only when a report asks for it.  Ids are stable for the life of
 * the process (stacks are never removed) and 0 means "no stack recorded".
 *
 * stack.c captures and stores; symbol.c maps program counters to names with
 * elfutils' libdw (link with -ldw).  Nothing here is part of the public API.
 */
#ifndef PT_STACK_H
#define PT_STACK_H

#include <stddef.h>
#include <stdint.h>

/* Frames kept per stack, innermost first; deeper stacks are cut off. */
#define PT_STACK_DEPTH 24

/* ---- stack.c: capture and depot ---- */

/*
 * Maps the depot and learns the calling thread's stack bounds, so that the
 * first capture in a sensitive context (a malloc hook) does not allocate.
 * Optional: pt_stack_capture() calls it.  The depot holds
 * POOLTAG_STACK_DEPOT_KB KiB (default 4096) of stacks; if it cannot be
 * mapped every capture returns 0.  Thread-safe, idempotent.
 */
void pt_stack_init(void);

/*
 * Captures the calling thread's stack and stores it in the depot; identical
 * stacks share one id.  The first frame kept is the caller of
 * pt_stack_capture() after skipping `skip` more frames (the library's own
 * wrappers); every kept pc is a return address (a signal handler's
 * interrupted pc excepted).  Returns the id, or 0 when the stack could not
 * be stored (depot full or unmapped, empty stack).
 * Thread-safe and lock-free; does not allocate after pt_stack_init();
 * never faults on a corrupt stack (see unwind.h).  Cost: the unwind (a few
 * ns a frame whose pc was seen before, unwind.c) plus a hash of the pcs
 * and one probe of the depot's table: about 100 ns for 16 frames, measured
 * by bench/bench_stack.c.
 */
uint32_t pt_stack_capture(unsigned skip);

/* Copies up to max program counters of stack id, innermost first, to pcs.
 * Returns the stack's depth (may exceed max), 0 for id 0 or a bad id. */
unsigned pt_stack_pcs(uint32_t id, uintptr_t *pcs, unsigned max);

/* Depot usage, for reports and tests. */
struct pt_stack_stats {
	uint64_t nstacks;  /* distinct stacks stored */
	uint64_t ndropped; /* captures that returned 0 because the depot was full */
	size_t curbytes;   /* arena bytes used by stored stacks */
	size_t capbytes;   /* arena capacity (0 if the depot could not be mapped) */
};
void pt_stack_stats(struct pt_stack_stats *out);

/*
 * Formats stack id as "func (file:line) <- func (file:line) <- ...", frames
 * without line information as "func (module+0xoff)", innermost first, at
 * most max_frames frames (0: no limit) followed by " <- ..." when some were
 * cut.  A function inlined into its caller appears as a frame of its own.
 * Frames inside libpooltag (a module named libpooltag* or the shared object
 * holding this code) and start-up (everything outside main, and the
 * trailing thread-start frames of libc or a sanitizer) are left out.  Writes at most
 * len bytes including the NUL, like snprintf, and returns the length the full
 * text needs; an unknown id formats as "?".  Thread-safe; takes the
 * symboliser's mutex and may read debug information (see symbol.c).  Asks
 * the dynamic linker (as pt_sym_lookup): call it holding no lock of
 * pooltag's (lifecycle.c).
 */
size_t pt_stack_format(uint32_t id, char *buf, size_t len, unsigned max_frames);

/* ---- symbol.c: program counters to names ---- */

/* One frame, symbolised.  The strings are interned: they stay valid until
 * the process exits. */
struct pt_frame {
	uintptr_t pc;       /* the pc looked up, as passed */
	uintptr_t offset;   /* pc relative to its module's load bias (for addr2line -e module) */
	const char *module; /* basename of the shared object or executable, "?" if unknown */
	const char *func;   /* function name, "?" if unknown */
	const char *file;   /* source file basename, NULL without line information */
	unsigned line;      /* 0 if unknown */
	unsigned inlined;   /* 1 if func was inlined into the next (outer) frame of the same pc */
};

/*
 * Symbolises pc.  For a return address (is_return_address != 0: every pc a
 * capture stores) the lookup uses pc - 1, so the line is the call's and not
 * the next statement's; pass 0 for a pc that is itself the instruction (a
 * signal context).  Fills *out with the innermost function at pc: if code
 * was inlined there, that is the inlined function, with its line.  Returns
 * 0, or -1 when nothing is known of pc (out then holds "?" names).
 * Thread-safe (one mutex); results are cached per pc.  Every lookup asks
 * the dynamic linker (dl_iterate_phdr for its load counts, dladdr for a pc
 * libdw does not know), whose locks may be held by a thread inside dlopen
 * or a dl_iterate_phdr callback that is allocating: call it holding no lock
 * of pooltag's (lifecycle.c).
 */
int pt_sym_lookup(uintptr_t pc, int is_return_address, struct pt_frame *out);

/*
 * As pt_sym_lookup, but fills out[0..max) (max >= 1) with the inline chain
 * at pc, innermost first: out[i].inlined is 1 for every frame but the last,
 * the function the code physically belongs to; the line of out[i] (i > 0)
 * is that of its call into out[i - 1].  Returns the number of frames in the
 * chain (may exceed max; at least 1), or -1 when nothing is known of pc
 * (out[0] holds "?").  No lock of pooltag's may be held (as pt_sym_lookup).
 */
int pt_sym_lookup_inline(uintptr_t pc, int is_return_address, struct pt_frame *out, unsigned max);

/*
 * Symbolises a pc of another, possibly dead, process from the file of its
 * module (path): vaddr is the link-time address (the pc less the module's
 * load bias).  Fills *out as pt_sym_lookup does (module is path's base
 * name).  0, or -1 when nothing is known (out holds "?").  Reads only the
 * file.  Thread-safe.
 */
int pt_sym_offline(const char *path, uintptr_t vaddr, int is_return_address,
		   struct pt_frame *out);

/*
 * Forgets the cached pc results and makes the next lookup re-read the
 * process's module map, so a module loaded or unloaded since is seen.
 * Lookups already do this by themselves after a dlopen or dlclose (the
 * dynamic linker counts them), so calling it after those is harmless but
 * not needed; it is for code mapped some other way.  A pc in a module about
 * to be unloaded must be symbolised before dlclose.  Strings already
 * returned stay valid.  Thread-safe.
 */
void pt_sym_reset(void);

/* Does the calling thread hold the symboliser's mutex (it is symbolising)? */
int pt_sym_held(void);

/* Fork handlers, called by the library's own (segment.c) in its lock order:
 * the depot's and the symboliser's mutexes are held across fork. */
void pt_stack_lock(void);
void pt_stack_unlock(void);
void pt_sym_lock(void);
void pt_sym_unlock(void);
int pt_sym_trylock(void); /* 1 if taken (the special pool's fault handler: see special.c) */
void pt_sym_atfork_child(void);

#endif /* PT_STACK_H */
