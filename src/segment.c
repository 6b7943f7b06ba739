/*
 * segment.c - the export segment: a file in /dev/shm (or $POOLTAG_DIR) that
 * holds the counters themselves, so `pooltag used PID` reads them without
 * stopping, signalling or slowing the process.  segfmt.h gives the layout.
 *
 * The file is created at the first allocation, mode 0600, with O_EXCL and
 * O_NOFOLLOW so nobody else's file is ever written.  It is sparse: pages are
 * allocated (fallocate) before they are first written, so a full tmpfs makes
 * a registration fail cleanly instead of raising SIGBUS on the hot path.  At
 * normal exit its name is unlinked; the mapping stays, so counting goes on in
 * later exit handlers.  A fork child gets its own file, a copy of the parent's
 * counters mapped at the same address, so every pointer into the segment
 * stays valid in the child.
 *
 * With POOLTAG_EXPORT=0, or when no file can be made, the same layout lives in
 * private anonymous memory and nothing is exported.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "nonpaged.h"
#include "procinfo.h"
#include "stack.h"

struct pt_seg pt_seg;
uint32_t pt__fast_slots;
int pt_seg_pending;

/* All of the module's state.  lock serialises registration, shard attach and
 * fork; the hot path never takes it. */
static struct {
	pthread_once_t once;
	pthread_mutex_t lock;
	int fd;      /* -1 when the segment is private memory */
	size_t size; /* bytes mapped */
	char path[256];
} seg = {PTHREAD_ONCE_INIT, PTHREAD_MUTEX_INITIALIZER, -1, 0, ""};

void pt_seg_lock(void)
{
	pthread_mutex_lock(&seg.lock);
}

void pt_seg_unlock(void)
{
	pthread_mutex_unlock(&seg.lock);
}

static uint64_t round_page(uint64_t n)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	return (n + page - 1) & ~(page - 1);
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
	h->shards_off = h->strings_off + round_page(h->strings_size);
	h->shard_stride = round_page((uint64_t)h->max_slots * sizeof(struct pt_seg_ctr));
	h->size = h->shards_off + h->shard_stride * h->max_shards;
}

/* Makes [off, off + len) of the segment backed by memory.  0, or -1 when
 * the file system is full (the caller degrades; nothing has been written). */
int pt_seg_commit(uint64_t off, uint64_t len)
{
	if (seg.fd < 0 || len == 0)
		return 0;
	while (fallocate(seg.fd, 0, (off_t)off, (off_t)len) != 0) {
		if (errno == EINTR)
			continue;
		if (errno == EOPNOTSUPP)
			return 0; /* cannot reserve ahead here; writes will allocate */
		return -1;
	}
	return 0;
}

/* Is the existing file at path a leftover of ours: our uid, and not the
 * segment of a live process (no valid header, its process gone, or this
 * very process before an exec)? */
static int leftover(const char *path)
{
	struct pt_seg_header h;
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	int stale = 0;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid())
		stale = pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
			memcmp(h.magic, PT_SEG_MAGIC, sizeof(h.magic)) != 0 || h.pid == getpid() ||
			!pt_proc_alive(h.pid, h.start_ticks);
	close(fd);
	return stale;
}

/* Creates the segment file for this process and returns its descriptor, or
 * -1.  The name is pooltag-PID; when that is taken by a live process of
 * another user (pid namespaces), pooltag-PID.N. */
static int create_file(char *path, size_t pathlen)
{
	const char *dir = getenv("POOLTAG_DIR");

	if (!dir || !*dir)
		dir = "/dev/shm";
	for (int i = 0; i < 8; i++) {
		int fd, n;

		if (i == 0)
			n = snprintf(path, pathlen, "%s/" PT_SEG_PREFIX "%d", dir, (int)getpid());
		else
			n = snprintf(path, pathlen, "%s/" PT_SEG_PREFIX "%d.%d", dir, (int)getpid(), i);
		if (n < 0 || (size_t)n >= pathlen)
			return -1;
		for (int tries = 0; tries < 2; tries++) {
			fd = pt_fd_high(open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
			if (fd >= 0) {
				(void)fchmod(fd, 0600);
				return fd;
			}
			if (errno != EEXIST || !leftover(path) || unlink(path) != 0)
				break;
		}
		if (errno != EEXIST)
			return -1;
	}
	return -1;
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

static void set_pointers(void *base)
{
	struct pt_seg_header *h = base;

	pt_seg.hdr = h;
	pt_seg.slots = (struct pt_seg_slot *)((char *)base + h->slots_off);
	pt_seg.descs = (struct pt_seg_desc *)((char *)base + h->descs_off);
	pt_seg.modules = (struct pt_seg_module *)((char *)base + h->modules_off);
	pt_seg.strings = (char *)base + h->strings_off;
	pt_seg.shards = (char *)base + h->shards_off;
}

static void unlink_at_exit(void)
{
	if (seg.fd >= 0 && seg.path[0])
		unlink(seg.path);
}

void pt_seg_remove(void)
{
	unlink_at_exit();
}

/* Sizes the new file, backs its header page and maps it; NULL on failure. */
static void *map_file(int fd, size_t size)
{
	void *p;

	if (ftruncate(fd, (off_t)size) != 0 || pt_seg_commit(0, sizeof(struct pt_seg_header)) != 0)
		return NULL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

/*
 * The library's fork handlers, one set for every module, so that the locks
 * are taken in one order, the order the library nests them in: the
 * objects' lock (references register slots and capture stacks under it),
 * then the segment's, then the leaves (symbols, stack depot, non-paged pool,
 * tracked-block lists, the special pool, then the block layer's tombstones).  Every lock is held across fork, so the child
 * inherits no lock held by a thread that is not there; the child releases
 * them in its handler.
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
}

static void atfork_parent(void)
{
	pt_block_fork_release();
	pt_special_fork_release();
	pt_track_fork_release();
	pt_np_parent();
	pt_stack_unlock();
	pt_sym_unlock();
	pt_seg_unlock();
	pt_obj_fork_unlock();
}

/* The parts of the segment that hold data: the header, the published
 * slots, descriptions and strings, and each used shard's counters.  Calls
 * put(off, len) for each; stops at the first non-zero return. */
static int for_used_ranges(int (*put)(void *ctx, uint64_t off, uint64_t len), void *ctx)
{
	const struct pt_seg_header *h = pt_seg.hdr;
	uint64_t ctr_bytes = (uint64_t)pt_registry_committed() * sizeof(struct pt_seg_ctr);
	int rc = put(ctx, 0, sizeof(*h));

	rc = rc ? rc : put(ctx, h->slots_off, (uint64_t)h->nslots * sizeof(struct pt_seg_slot));
	rc = rc ? rc : put(ctx, h->descs_off, (uint64_t)h->ndescs * sizeof(struct pt_seg_desc));
	rc = rc ? rc : put(ctx, h->modules_off, (uint64_t)h->nmodules * sizeof(struct pt_seg_module));
	rc = rc ? rc : put(ctx, h->strings_off, h->strings_used);
	for (uint32_t s = 0; !rc && s < h->nshards; s++)
		rc = put(ctx, h->shards_off + s * h->shard_stride, ctr_bytes);
	return rc;
}

static int put_file(void *ctx, uint64_t off, uint64_t len)
{
	const char *src = (const char *)pt_seg.hdr + off;

	(void)ctx;
	if (pt_seg_commit(off, len) != 0)
		return -1;
	return pwrite(seg.fd, src, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

static int put_mem(void *ctx, uint64_t off, uint64_t len)
{
	memcpy((char *)ctx + off, (const char *)pt_seg.hdr + off, len);
	return 0;
}

/*
 * In a fork child the mapping is still the parent's file: the child's counts
 * would land in its parent's counters.  The child first takes a private copy
 * of what was written, mapped at the same address so every pointer into the
 * segment stays valid.  It exports a file of its own only when it next
 * counts (pt_seg_export_child): a child that just calls exec never leaves a
 * file behind, since exec runs no exit handler to remove it.  Until then
 * the forking thread (the child's only one) has no pt__tls_ctr, so every
 * count takes the library's slow path, which calls pt_seg_export_child
 * first; threads started later have none either.
 */
static void seg_child(void)
{
	void *base = pt_seg.hdr, *copy;

	pt_shard_atfork_child();
	if (seg.fd < 0)
		return; /* private memory: already the child's own copy */
	close(seg.fd);
	seg.fd = -1;
	seg.path[0] = 0;
	copy = mmap(NULL, seg.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		    -1, 0);
	if (copy == MAP_FAILED || for_used_ranges(put_mem, copy) != 0 ||
	    mremap(copy, seg.size, seg.size, MREMAP_MAYMOVE | MREMAP_FIXED, base) == MAP_FAILED)
		abort(); /* the child would corrupt its parent's counters */
	fill_identity(pt_seg.hdr);
	pt__tls_ctr = NULL;
	__atomic_store_n(&pt_seg_pending, 1, __ATOMIC_RELEASE);
}

static void atfork_child(void)
{
	seg_child();
	pt_block_fork_release();
	pt_special_fork_release();
	pt_track_fork_release();
	pt_np_child();
	pt_stack_unlock();
	pt_sym_atfork_child();
	pt_seg_unlock();
	pt_obj_fork_unlock();
}

/* A fork child's first count: copy the private counters into a file of its
 * own and map it over them.  Every counting path calls this while
 * pt_seg_pending is set and counts only after it returns, so no count is
 * made while the copy is taken.  Without a file the child keeps counting
 * privately. */
void pt_seg_export_child(void)
{
	void *base = pt_seg.hdr;

	pt_seg_lock();
	if (__atomic_load_n(&pt_seg_pending, __ATOMIC_ACQUIRE)) {
		seg.fd = create_file(seg.path, sizeof(seg.path));
		if (seg.fd >= 0 && (ftruncate(seg.fd, (off_t)seg.size) != 0 ||
				    for_used_ranges(put_file, NULL) != 0 ||
				    mmap(base, seg.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
					 seg.fd, 0) == MAP_FAILED)) {
			unlink(seg.path);
			close(seg.fd);
			seg.fd = -1;
			seg.path[0] = 0;
		}
		__atomic_store_n(&pt_seg_pending, 0, __ATOMIC_RELEASE);
	}
	pt_seg_unlock();
}

/* exec runs no exit handler: the name goes before, or it would stay
 * behind the new program.  The mapping and descriptor stay until exec
 * succeeds (the kernel drops them) or fails (pt_seg_exec_failed). */
void pt_seg_exec_prepare(void)
{
	pt_seg_lock();
	if (seg.fd >= 0 && seg.path[0])
		unlink(seg.path);
	pt_seg_unlock();
}

/* The exec failed: the process goes on with an unlinked file.  Its next
 * count exports a new one, as a fork child's first count does (the old
 * mapping's contents are copied into it). */
void pt_seg_exec_failed(void)
{
	pt_seg_lock();
	if (seg.fd >= 0) {
		close(seg.fd);
		seg.fd = -1;
		seg.path[0] = 0;
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

static void init_once(void)
{
	struct pt_seg_header geo = {0};
	const char *exp = getenv("POOLTAG_EXPORT");
	void *base = NULL;

	pt_config_init(); /* options first: they decide the fast path */

	layout(&geo);
	seg.size = geo.size;
	if (!(exp && strcmp(exp, "0") == 0)) {
		seg.fd = create_file(seg.path, sizeof(seg.path));
		/* Back the first page of every region now: the last-resort slots
		 * and shard 0 must never fault, so a file system too full for
		 * them means no export at all, never a SIGBUS later. */
		if (seg.fd >= 0 &&
		    (!(base = map_file(seg.fd, seg.size)) ||
		     pt_seg_commit(geo.slots_off, PT_FIRST_COMMIT * sizeof(struct pt_seg_slot)) != 0 ||
		     pt_seg_commit(geo.descs_off, sizeof(struct pt_seg_desc)) != 0 ||
		     pt_seg_commit(geo.modules_off, 256 * sizeof(struct pt_seg_module)) != 0 ||
		     pt_seg_commit(geo.strings_off, 3) != 0 ||
		     pt_seg_commit(geo.shards_off, PT_FIRST_COMMIT * sizeof(struct pt_seg_ctr)) != 0)) {
			if (base)
				munmap(base, seg.size);
			base = NULL;
			unlink(seg.path);
			close(seg.fd);
			seg.fd = -1;
		}
	}
	if (!base) {
		seg.path[0] = 0;
		base = mmap(NULL, seg.size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (base == MAP_FAILED)
			abort(); /* no address space for counters at all: nothing sane to do */
	}
	memcpy(base, &geo, sizeof(geo));
	struct pt_seg_header *h = base;
	uint64_t magic;
	h->version = PT_SEG_VERSION;
	h->header_size = sizeof(*h);
	fill_identity(h);
	snprintf(h->comm, sizeof(h->comm), "%s", program_invocation_short_name);
	h->nslots = 1; /* slot 0 means "unregistered" */
	/* The magic last, in one store after the rest of the header: a reader
	 * that sees it whole sees a complete header; before, it sees zeros
	 * (or, copying byte by byte, some of the magic's bytes and zeros). */
	memcpy(&magic, PT_SEG_MAGIC, sizeof(magic));
	__atomic_store_n((uint64_t *)(void *)h->magic, magic, __ATOMIC_RELEASE);
	set_pointers(base);
	pt_block_fast_path();
	pt_fork_handlers();
	if (seg.fd >= 0)
		atexit(unlink_at_exit);
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

void pt_seg_init(void)
{
	pthread_once(&seg.once, init_once);
}

int pt_seg_fd(void)
{
	return seg.fd;
}

const char *pt_export_path(void)
{
	pt_seg_init();
	return seg.fd >= 0 ? seg.path : NULL;
}
