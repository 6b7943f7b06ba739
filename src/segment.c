/*
 * segment.c - the export segment: a file in /dev/shm (or $POOLTAG_DIR) that
 * holds the counters themselves, so `pooltag used PID` reads them without
 * stopping, signalling or slowing the process.  segfmt.h gives the layout,
 * docs/segment-format.md the prose.
 *
 * Making it: an unnamed file (O_TMPFILE) in the directory, mode 0600, is
 * locked (the liveness lock, seglock.h), sized, mapped and filled with its
 * header; only then is it linked under its name (linkat, which never
 * follows or replaces what is there).  A reader therefore never sees a
 * segment without a header, and a remover never sees a live segment
 * unlocked.  A name already taken (a leftover of ours no process holds is
 * removed; anything else: another user's file, a symlink, a FIFO, a
 * directory) makes the next fallback name be tried.
 *
 * No descriptor is kept.  The file is closed right after it is linked: a
 * program may close any descriptor (closefrom, close_range, a loop over
 * 3..1023) and reuse its number, and a descriptor pooltag kept would then
 * lead to the program's file.  The mapping itself keeps the file and its
 * lock.  Pages are backed before they are first written with
 * MADV_POPULATE_WRITE on the mapping (which fails cleanly when the file
 * system is full, where a write would raise SIGBUS), so registration fails
 * cleanly instead of faulting on the hot path; the name is unlinked at exit
 * only while it still leads to this file (same device and inode).
 *
 * A fork child gets its own file, a copy of the parent's counters as they
 * were at the instant of fork, mapped at the same address, so every pointer
 * into the segment stays valid in the child.  With POOLTAG_EXPORT=0, or
 * when no file can be made, the same layout lives in private anonymous
 * memory and nothing is exported (the second case says so on stderr).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "procinfo.h"
#include "seglock.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

struct pt_seg pt_seg;
uint32_t pt__fast_slots;
int pt_seg_pending;

/* 1 in the interposer's copy of the library (preload/owner.c defines it),
 * 0 in a program's own copy. */
__attribute__((weak)) int pt__seg_interposer;

/* Is this a program's own copy of the library, running under `pooltag
 * run`?  The interposer's copy owns the segment then (preload/owner.c).
 * 0 not asked yet, 1 no, 2 yes. */
static int interposer_seen;

/* Asks the dynamic linker, before start-up's once (lifecycle.c: no lock of
 * the library is held while calling into it).  Every thread that starts
 * the library may ask; all get the same answer. */
void pt_seg_probe(void)
{
	int seen = !pt__seg_interposer && dlsym(RTLD_DEFAULT, "pooltag_run_interposer") ? 2 : 1;

	__atomic_store_n(&interposer_seen, seen, __ATOMIC_RELEASE);
}

static int defer_to_interposer(void)
{
	return __atomic_load_n(&interposer_seen, __ATOMIC_ACQUIRE) == 2;
}

struct fork_share;

/* All of the module's state.  lock serialises registration, shard attach and
 * fork; the hot path never takes it. */
static struct {
	pthread_mutex_t lock;
	int exported;        /* the segment is a shared file mapping */
	dev_t dev;           /* the file's identity, for the unlink at exit */
	ino_t ino;
	size_t size;         /* bytes mapped */
	void *fork_copy;     /* the counters as they were at fork (prepare), or NULL */
	struct fork_share *fork_share; /* this fork's window is open: what the child gets */
	char path[256];      /* its name; "" once unlinked or when private */
} seg = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, NULL, NULL, ""};

/* Seconds a fork child waits for its parent's copy of the counters before
 * it copies them as they are (a parent stopped in its fork handlers, by a
 * debugger say: its copy may then hold later counts). */
#define FORK_WAIT_S 5

void pt_seg_lock(void)
{
	pthread_mutex_lock(&seg.lock);
}

void pt_seg_unlock(void)
{
	pthread_mutex_unlock(&seg.lock);
}

static uint64_t page_size(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t round_page(uint64_t n)
{
	return (n + page_size() - 1) & ~(page_size() - 1);
}

/* A positive integer from the environment, clamped to [lo, hi]. */
static uint32_t env_u32(const char *name, uint32_t def, uint32_t lo, uint32_t hi)
{
	const char *s = getenv(name);
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return def;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end)
		return def;
	return v < lo ? lo : v > hi ? hi : (uint32_t)v;
}

/* Fills in the header's geometry: the regions follow each other, each
 * starting on a page. */
static void layout(struct pt_seg_header *h)
{
	h->max_slots = env_u32("POOLTAG_MAX_SITES", 16384, 256, PT_MAX_SLOTS_LIMIT);
	h->max_shards = env_u32("POOLTAG_MAX_SHARDS", 256, 2, 4096);
	h->max_descs = 4096;
	h->max_modules = 4096;
	h->strings_size = 1u << 20;
	h->slots_off = round_page(sizeof(*h));
	h->descs_off = h->slots_off + round_page((uint64_t)h->max_slots * sizeof(struct pt_seg_slot));
	h->modules_off = h->descs_off + round_page((uint64_t)h->max_descs * sizeof(struct pt_seg_desc));
	h->strings_off =
		h->modules_off + round_page((uint64_t)h->max_modules * sizeof(struct pt_seg_module));
	h->max_samples = PT_SAMPLE_TABLE;
	h->samples_off = h->strings_off + round_page(h->strings_size);
	h->shards_off =
		h->samples_off + round_page((uint64_t)h->max_samples * sizeof(struct pt_seg_sample));
	h->shard_stride = round_page((uint64_t)h->max_slots * sizeof(struct pt_seg_ctr));
	h->size = h->shards_off + h->shard_stride * h->max_shards;
}

/* Backs [off, off + len) of a file mapping at base with pages, through the
 * mapping (no descriptor).  0, or -1 when the file system is full. */
static int populate(void *base, uint64_t off, uint64_t len)
{
	uint64_t start = off & ~(page_size() - 1), end = round_page(off + len);

	if (len == 0)
		return 0;
	while (madvise((char *)base + start, end - start, MADV_POPULATE_WRITE) != 0) {
		if (errno == EINTR)
			continue;
		/* A kernel before 5.14: nothing can be reserved ahead; writes
		 * allocate (and a full file system raises SIGBUS there). */
		return errno == EINVAL ? 0 : -1;
	}
	return 0;
}

/* Makes [off, off + len) of the segment backed by memory.  0, or -1 when
 * the file system is full (the caller degrades; nothing has been written). */
int pt_seg_commit(uint64_t off, uint64_t len)
{
	if (!seg.exported)
		return 0; /* private memory: pages come on first touch */
	return populate(pt_seg.hdr, off, len);
}

static void fill_identity(struct pt_seg_header *h)
{
	struct timespec ts;

	h->pid = (int32_t)getpid();
	h->uid = (uint32_t)geteuid();
	h->start_ticks = pt_proc_start_ticks(getpid());
	clock_gettime(CLOCK_REALTIME, &ts);
	h->created_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char *seg_dir(void)
{
	const char *dir = getenv("POOLTAG_DIR");

	return dir && *dir ? dir : "/dev/shm";
}

/* The i-th name this process may use: pooltag-PID, then pooltag-PID.i
 * (another user's process of the same pid in another pid namespace, or an
 * object planted there).  0, or -1 if it does not fit. */
static int seg_name(char *path, size_t len, int i)
{
	int n = i == 0 ? snprintf(path, len, "%s/" PT_SEG_PREFIX "%d", seg_dir(), (int)getpid())
		       : snprintf(path, len, "%s/" PT_SEG_PREFIX "%d.%d", seg_dir(), (int)getpid(), i);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* An unnamed file in the segment directory (O_TMPFILE), or, where the file
 * system has none, a file under a name no reader lists (pooltag-PID.new,
 * written into tmp).  -1 with errno on failure. */
static int new_file(char *tmp, size_t tmplen)
{
	int fd = open(seg_dir(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	tmp[0] = 0;
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	if (snprintf(tmp, tmplen, "%s/" PT_SEG_PREFIX "%d.new", seg_dir(), (int)getpid()) >=
	    (int)tmplen)
		return -1;
	for (int tries = 0; tries < 2; tries++) {
		fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
		/* A leftover of an earlier process of this pid, if it is ours and
		 * a regular file; anything else stays and export is off. */
		if (pt_seglock_remove_dead(tmp, geteuid()) != 1)
			break;
	}
	if (fd < 0)
		tmp[0] = 0;
	return fd;
}

/* Gives the file open on fd (unnamed, or named tmp) its segment name, the
 * first free one; a leftover of ours at a name is removed first.  0 with
 * the name in seg.path, or -1. */
static int link_name(int fd, const char *tmp)
{
	char src[64];

	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	for (int i = 0; i < 8; i++) {
		if (seg_name(seg.path, sizeof(seg.path), i) != 0)
			break;
		for (int tries = 0; tries < 2; tries++) {
			int rc = tmp[0] ? link(tmp, seg.path)
					: linkat(AT_FDCWD, src, AT_FDCWD, seg.path, AT_SYMLINK_FOLLOW);
			if (rc == 0) {
				if (tmp[0])
					unlink(tmp);
				return 0;
			}
			if (errno != EEXIST)
				goto fail;
			/* Taken.  Removed only if it is a segment of ours that no
			 * process holds; never followed, never written. */
			if (pt_seglock_remove_dead(seg.path, geteuid()) != 1)
				break;
		}
	}
fail:
	if (tmp[0])
		unlink(tmp);
	seg.path[0] = 0;
	return -1;
}

/* The mapping of an unnamed file shows in /proc/PID/maps as "/dev/shm/#N
 * (deleted)"; mapped again through its name it shows the name, as people
 * and tools looking for a process's segment expect.  The new description
 * takes the liveness lock before the old one (and its lock) goes with the
 * mapping it replaces, so the file is never unlocked.  Only when the name
 * still leads to this very file; else the first mapping stays. */
static void remap_by_name(void *map, const struct stat *want)
{
	struct stat st;
	int fd = open(seg.path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && st.st_dev == want->st_dev && st.st_ino == want->st_ino &&
	    pt_seglock_hold(fd) == 0)
		(void)mmap(map, seg.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	close(fd);
}

/* Makes the segment file: locked, sized, mapped, filled by fill(map, ctx)
 * (which backs what it writes with populate), then named.  The descriptor
 * lives only inside this call.  The mapping, or NULL (nothing left behind). */
static void *make_file(int (*fill)(void *map, void *ctx), void *ctx)
{
	char tmp[256];
	struct stat st;
	void *map = MAP_FAILED;
	int fd = new_file(tmp, sizeof(tmp)), e;

	if (fd < 0)
		return NULL;
	if (fchmod(fd, 0600) != 0 || pt_seglock_hold(fd) != 0 || ftruncate(fd, (off_t)seg.size) != 0 ||
	    fstat(fd, &st) != 0)
		goto fail;
	map = mmap(NULL, seg.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED || fill(map, ctx) != 0 || link_name(fd, tmp) != 0)
		goto fail;
	close(fd); /* the mapping keeps the file and its lock */
	seg.dev = st.st_dev;
	seg.ino = st.st_ino;
	seg.exported = 1;
	remap_by_name(map, &st);
	return map;
fail:
	e = errno; /* the reason, for say() */
	if (map != MAP_FAILED)
		munmap(map, seg.size);
	if (tmp[0])
		unlink(tmp);
	close(fd);
	seg.path[0] = 0;
	errno = e;
	return NULL;
}

/* Says why this process exports no counters of its own (once: the
 * segment is made once): a user who asked for counters and finds none must
 * hear why.  "pooltag: PROG (pid N)" what [where: errno]. */
static void say(const char *what, const char *where)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "pooltag: %s (pid %d)%s%s%s%s\n",
			 program_invocation_short_name, (int)getpid(), what, where ? where : "",
			 where ? ": " : "", where ? strerror(errno) : "");

	if (n > 0 && write(STDERR_FILENO, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1) < 0) {
		/* nowhere to say it */
	}
}

static void set_pointers(void *base)
{
	struct pt_seg_header *h = base;

	pt_seg.hdr = h;
	pt_seg.slots = (struct pt_seg_slot *)((char *)base + h->slots_off);
	pt_seg.descs = (struct pt_seg_desc *)((char *)base + h->descs_off);
	pt_seg.modules = (struct pt_seg_module *)((char *)base + h->modules_off);
	pt_seg.strings = (char *)base + h->strings_off;
	pt_seg.samples = (struct pt_seg_sample *)((char *)base + h->samples_off);
	pt_seg.shards = (char *)base + h->shards_off;
}

/* Unlinks the segment's name while it still leads to this process's file. */
void pt_seg_remove(void)
{
	struct stat st;

	if (seg.exported && seg.path[0] && lstat(seg.path, &st) == 0 && st.st_dev == seg.dev &&
	    st.st_ino == seg.ino)
		unlink(seg.path);
}

/* The parts of the segment whose header is h that hold data: the header,
 * the published slots, descriptions and strings, and each used shard's
 * counters.  Calls put(off, len) for each; stops at the first non-zero
 * return. */
static int for_used_ranges(const struct pt_seg_header *h,
			   int (*put)(void *ctx, uint64_t off, uint64_t len), void *ctx)
{
	uint64_t ctr_bytes = (uint64_t)pt_registry_committed() * sizeof(struct pt_seg_ctr);
	int rc = put(ctx, 0, sizeof(*h));

	rc = rc ? rc : put(ctx, h->slots_off, (uint64_t)h->nslots * sizeof(struct pt_seg_slot));
	rc = rc ? rc : put(ctx, h->descs_off, (uint64_t)h->ndescs * sizeof(struct pt_seg_desc));
	rc = rc ? rc : put(ctx, h->modules_off, (uint64_t)h->nmodules * sizeof(struct pt_seg_module));
	rc = rc ? rc : put(ctx, h->strings_off, h->strings_used);
	rc = rc ? rc : put(ctx, h->samples_off, (uint64_t)h->nsamples * sizeof(struct pt_seg_sample));
	for (uint32_t s = 0; !rc && s < h->nshards; s++)
		rc = put(ctx, h->shards_off + s * h->shard_stride, ctr_bytes);
	return rc;
}

/* Copies a used range into a new file mapping (backing it first). */
static int put_file(void *map, uint64_t off, uint64_t len)
{
	if (populate(map, off, len) != 0)
		return -1;
	memcpy((char *)map + off, (const char *)pt_seg.hdr + off, len);
	return 0;
}

/* A copy of the used ranges of the segment image at from (its own header
 * tells them) in private memory; NULL if none can be mapped. */
struct span {
	const char *from;
	char *to;
};

/* Word by word with relaxed loads: a count in flight when the fork window
 * opened may land in a shard meanwhile (a word then holds its old value or
 * its new one, as a reader's load does). */
static int put_span(void *ctx, uint64_t off, uint64_t len)
{
	struct span *sp = ctx;
	const uint64_t *from = (const uint64_t *)(sp->from + off);
	uint64_t *to = (uint64_t *)(sp->to + off), words = off % 8 ? 0 : len / 8;

	for (uint64_t i = 0; i < words; i++)
		to[i] = __atomic_load_n(&from[i], __ATOMIC_RELAXED);
	memcpy(sp->to + off + words * 8, sp->from + off + words * 8, len - words * 8);
	return 0;
}

static void *copy_of(const void *from)
{
	struct span sp = {from, mmap(NULL, seg.size, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)};

	if (sp.to == MAP_FAILED)
		return NULL;
	for_used_ranges(from, put_span, &sp);
	return sp.to;
}

/* ---- fork ---- */

/* What a fork's parent shares with its child (made before fork): a
 * semaphore it posts once it has copied the counters, then the copy, laid
 * out as the segment is. */
struct fork_share {
	sem_t copied;
};
#define FORK_IMAGE(share) ((char *)(share) + page_size())

/* The child: has the parent made the copy?  Waits at most FORK_WAIT_S
 * seconds (a parent stopped in its fork handlers by a debugger, or gone). */
static int fork_copied(struct fork_share *share)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += FORK_WAIT_S;
	while (sem_clockwait(&share->copied, CLOCK_MONOTONIC, &until) != 0)
		if (errno != EINTR)
			return 0;
	return 1;
}

/*
 * Fork, in three steps the lifecycle module (lifecycle.c) calls with every
 * library lock held.  The child's memory is the parent's at the instant of
 * fork; its counters must be too.  A private mapping is copied by fork
 * itself.  A shared one is not, and counting takes no lock: the prepare
 * step opens shard.c's fork window, so that from then on every count goes
 * to private memory, which fork copies at its instant, and no shard
 * changes.  Right after fork the parent copies the counters into memory
 * it shares with the child (made before fork), tells the child, and only
 * then adds its window to its shards; the child copies that copy into
 * memory of its own and adds its window.  A count in flight when the
 * window opened lands in a shard before the instant (the copy holds it) or
 * after (its thread was inside that call in the child's memory): the
 * child's counts are exactly what its memory holds.  The parent waits for
 * nothing; the child waits for the parent's copy.  tests/test_lifecycle.c
 * forks while threads count and checks it.
 *
 * Without the window (no memory or descriptor for it), the copy is taken
 * here, before fork: the child then misses what other threads counted
 * between it and the instant of fork.
 */
void pt_seg_fork_prepare(void)
{
	struct fork_share *share;

	seg.fork_copy = NULL;
	seg.fork_share = NULL;
	if (!seg.exported)
		return; /* private memory: fork itself copies it */
	share = mmap(NULL, page_size() + seg.size, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (share != MAP_FAILED) {
		if (sem_init(&share->copied, 1, 0) == 0 && pt_shard_window_open()) {
			seg.fork_share = share;
			return;
		}
		munmap(share, page_size() + seg.size);
	}
	seg.fork_copy = copy_of(pt_seg.hdr); /* NULL: the child copies the shared mapping itself */
}

void pt_seg_fork_parent(void)
{
	struct fork_share *share = seg.fork_share;

	if (share) {
		/* The shards stand still while the window is open. */
		struct span sp = {(const char *)pt_seg.hdr, FORK_IMAGE(share)};

		for_used_ranges(pt_seg.hdr, put_span, &sp);
		sem_post(&share->copied);
		munmap(share, page_size() + seg.size);
		seg.fork_share = NULL;
		pt_shard_window_close();
	}
	if (seg.fork_copy)
		munmap(seg.fork_copy, seg.size);
	seg.fork_copy = NULL;
}

/*
 * In a fork child the mapping is still the parent's file: the child's counts
 * would land in its parent's counters.  The child takes its copy (from the
 * parent's, or the one made before fork without a window), adds its window
 * and puts the copy at the same address, so every pointer into the segment
 * stays valid; that also drops the child's reference to the parent's file
 * (and so to its liveness lock).  It exports a file of its own only when it
 * next counts (pt_seg_export_child): a child that just calls exec never
 * leaves a file behind, since exec runs no exit handler to remove it.  Until
 * then the forking thread (the child's only one) has no pt__tls_ctr, so
 * every count takes the library's slow path, which calls
 * pt_seg_export_child first; threads started later have none either.
 */
void pt_seg_fork_child(void)
{
	void *base = pt_seg.hdr, *copy = seg.fork_copy;

	seg.fork_copy = NULL;
	pt_shard_atfork_child();
	if (!seg.exported)
		return; /* private memory: already the child's own copy */
	seg.exported = 0;
	seg.path[0] = 0;
	if (seg.fork_share) {
		struct fork_share *share = seg.fork_share;
		struct pt_seg_header *h;

		/* A parent that did not copy in time: its counters as they are. */
		copy = copy_of(fork_copied(share) ? FORK_IMAGE(share) : base);
		munmap(share, page_size() + seg.size);
		seg.fork_share = NULL;
		if (!copy)
			abort(); /* the child would corrupt its parent's counters */
		h = copy;
		pt_shard_window_child((struct pt__ctr *)((char *)copy + h->shards_off), h->nslots);
	} else if (!copy && !(copy = copy_of(base))) {
		abort(); /* the child would corrupt its parent's counters */
	}
	if (mremap(copy, seg.size, seg.size, MREMAP_MAYMOVE | MREMAP_FIXED, base) == MAP_FAILED)
		abort(); /* the child would corrupt its parent's counters */
	fill_identity(pt_seg.hdr);
	__atomic_store_n(&pt__tls_ctr, NULL, __ATOMIC_RELAXED);
	__atomic_store_n(&pt_seg_pending, 1, __ATOMIC_RELEASE);
}

static int fill_child(void *map, void *ctx)
{
	(void)ctx;
	return for_used_ranges(pt_seg.hdr, put_file, map);
}

/* A fork child's first count: copy the private counters into a file of its
 * own and map it over them.  Every counting path calls this while
 * pt_seg_pending is set and counts only after it returns, so no count is
 * made while the copy is taken.  Without a file the child keeps counting
 * privately. */
void pt_seg_export_child(void)
{
	void *base = pt_seg.hdr, *map;

	pt_seg_lock();
	if (__atomic_load_n(&pt_seg_pending, __ATOMIC_ACQUIRE)) {
		map = make_file(fill_child, NULL);
		if (map && mremap(map, seg.size, seg.size, MREMAP_MAYMOVE | MREMAP_FIXED, base) ==
				   MAP_FAILED) {
			pt_seg_remove();
			munmap(map, seg.size);
			seg.exported = 0;
			seg.path[0] = 0;
		}
		__atomic_store_n(&pt_seg_pending, 0, __ATOMIC_RELEASE);
	}
	pt_seg_unlock();
}

/* exec runs no exit handler: the name goes before, or it would stay
 * behind the new program.  The mapping (and with it the file and its
 * liveness lock) stays until exec succeeds (the kernel drops it) or fails
 * (pt_seg_exec_failed). */
void pt_seg_exec_prepare(void)
{
	pt_seg_lock();
	pt_seg_remove();
	pt_seg_unlock();
}

/* The exec failed: the process goes on with an unnamed file.  Its next
 * count exports a new one, as a fork child's first count does (the
 * mapping's contents are copied into it, and the new file is mapped over
 * the old one, which goes with that mapping). */
void pt_seg_exec_failed(void)
{
	pt_seg_lock();
	if (seg.exported && seg.path[0]) {
		seg.exported = 0;
		seg.path[0] = 0;
		__atomic_store_n(&pt__tls_ctr, NULL, __ATOMIC_RELAXED);
		__atomic_store_n(&pt_seg_pending, 1, __ATOMIC_RELEASE);
	}
	pt_seg_unlock();
}

/* A fork child that will not live long enough to be read (a fault
 * injection run) keeps its counters private: no file to remove later. */
void pt_seg_keep_private(void)
{
	pt_seg_lock();
	__atomic_store_n(&pt_seg_pending, 0, __ATOMIC_RELEASE);
	pt_seg_unlock();
}

/* The header as a new process writes it, into base. */
static void write_header(void *base, const struct pt_seg_header *geo, int locked)
{
	struct pt_seg_header *h = base;

	memcpy(base, geo, sizeof(*geo));
	memcpy(h->magic, PT_SEG_MAGIC, sizeof(h->magic));
	h->version = PT_SEG_VERSION;
	h->header_size = sizeof(*h);
	h->flags = locked ? PT_SEG_FLAG_LIVELOCK : 0;
	fill_identity(h);
	snprintf(h->comm, sizeof(h->comm), "%s", program_invocation_short_name);
	h->nslots = 1; /* slot 0 means "unregistered" */
}

/* Backs the first page of every region and writes the header, before the
 * file has a name: the last-resort slots and shard 0 must never fault, so
 * a file system too full for them means no export at all, never a SIGBUS
 * later. */
static int fill_new(void *map, void *ctx)
{
	const struct pt_seg_header *geo = ctx;

	if (populate(map, 0, sizeof(*geo)) != 0 ||
	    populate(map, geo->slots_off, PT_FIRST_COMMIT * sizeof(struct pt_seg_slot)) != 0 ||
	    populate(map, geo->descs_off, sizeof(struct pt_seg_desc)) != 0 ||
	    populate(map, geo->modules_off, 256 * sizeof(struct pt_seg_module)) != 0 ||
	    populate(map, geo->strings_off, 3) != 0 ||
	    populate(map, geo->shards_off, PT_FIRST_COMMIT * sizeof(struct pt_seg_ctr)) != 0)
		return -1;
	write_header(map, geo, 1);
	return 0;
}

/* Makes the process's segment: a file, else private memory.  Called once,
 * by the lifecycle module's initialisation (after the options are read). */
void pt_seg_create(void)
{
	struct pt_seg_header geo = {0};
	const char *exp = getenv("POOLTAG_EXPORT");
	void *base = NULL;
	int deferred = 0;

	layout(&geo);
	seg.size = geo.size;
	if (exp && strcmp(exp, "0") == 0)
		; /* asked for no export */
	else if ((deferred = defer_to_interposer()))
		say(" links libpooltag and runs under pooltag run: pooltag run's counters are "
		    "exported, the program's own stay private", NULL);
	else if (!(base = make_file(fill_new, &geo)))
		say(": exports no counters: cannot make a segment in ", seg_dir());
	if (!base) {
		base = mmap(NULL, seg.size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (base == MAP_FAILED)
			abort(); /* no address space for counters at all: nothing sane to do */
		write_header(base, &geo, 0);
	}
	set_pointers(base);
	pt_sample_setup(deferred || pt__seg_interposer);
}

const char *pt_export_path(void)
{
	pt_seg_init();
	return seg.exported && seg.path[0] ? seg.path : NULL;
}
