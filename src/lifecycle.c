/*
 * lifecycle.c - the library's life: the order its parts start in, and what
 * happens to them at fork and at exit.
 *
 * Start (pt_seg_init, called by every entry point before it counts): the
 * options first, since they decide the fast path; then the segment, which
 * every counter lives in; then the fast path, which needs both; then the
 * fork handlers, registered before any of the library's locks can be held;
 * last the removal of the segment's name at exit (which does nothing for a
 * process without a file).
 */
#include <pthread.h>
#include <stdlib.h>

#include "block.h"
#include "internal.h"
#include "nonpaged.h"
#include "stack.h"

/*
 * The library's fork handlers, one set for every module, so that the locks
 * are taken in one order, the order the library nests them in:
 *
 *   objects (references register slots and capture stacks under it)
 *     > segment (registration, shard attach)
 *       > symbols > stack depot > non-paged pool > tracked blocks > special pool
 *         > the block layer's tombstones
 *
 * A module never takes a lock to the left of one it holds.  Every lock is
 * held across fork, so the child inherits no lock held by a thread that is
 * not there; parent and child release them in the reverse order.  The
 * segment's own steps (the counters of the fork instant, segment.c) run
 * with all of them held, so no registration is half-made in the child.
 *
 * The dynamic linker's locks come before all of these: no pooltag lock
 * (those above, the modules' and the elfsym table's, pooltag run's site
 * lock) and no pthread_once of the library is ever held while calling into
 * the dynamic linker: dladdr, dladdr1, dlsym, dlopen, dlclose, dlinfo,
 * dl_iterate_phdr, or the symboliser (symbol.c), which calls them.  The
 * dynamic linker runs constructors and destructors, and dl_iterate_phdr
 * runs its callbacks, with its own lock held; code there may allocate at a
 * call site never seen, which takes pooltag's locks to register it, so the
 * other order would deadlock.  What a registration needs from the dynamic
 * linker is learnt before the lock is taken (the interposer's facts of a
 * pc, site.c; the interposer probe below) or through _dl_find_object,
 * which takes no lock (module.c, elfsym.c, unwind.c, fault.c's stack
 * hashes).  tests/test_lifecycle.c and tests/e2e/dlstorm.bats hold the
 * two orders against each other.
 */
static void atfork_prepare(void)
{
	pt_obj_fork_lock();
	pt_seg_lock();
	pt_sym_lock();
	pt_stack_lock();
	pt_np_prepare();
	pt_track_fork_prepare();
	pt_special_fork_prepare();
	pt_block_fork_prepare();
	pt_sample_fork_prepare();
	pt_seg_fork_prepare();
}

static void atfork_parent(void)
{
	pt_seg_fork_parent();
	pt_sample_fork_release();
	pt_block_fork_release();
	pt_special_fork_release();
	pt_track_fork_release();
	pt_np_parent();
	pt_stack_unlock();
	pt_sym_unlock();
	pt_seg_unlock();
	pt_obj_fork_unlock();
}

static void atfork_child(void)
{
	pt_seg_fork_child();
	pt_sample_fork_release();
	pt_block_fork_release();
	pt_special_fork_release();
	pt_track_fork_child();
	pt_np_child();
	pt_stack_unlock();
	pt_sym_atfork_child();
	pt_seg_unlock();
	pt_obj_fork_unlock();
}

static void fork_once(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* Registers the library's fork handlers, once, before any of its locks can
 * be held: called by every module's initialisation that has a lock. */
void pt_fork_handlers(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, fork_once);
}

static void init_once(void)
{
	pt_config_init();
	pt_seg_create();
	pt_block_fast_path();
	pt_fork_handlers();
	/* Always: a fork child of a process without a file may make one. */
	atexit(pt_seg_remove);
}

/* The first call of every entry point, before it takes any lock.  The
 * question start-up asks the dynamic linker (is pooltag run's interposer
 * here?) is asked before the once: a thread inside dlopen, holding the
 * linker's lock, may be waiting on the once from a constructor. */
void pt_seg_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	static int done;

	if (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
		pt_seg_probe();
		pthread_once(&once, init_once);
		__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	}
}
