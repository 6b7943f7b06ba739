/*
 * segread.c - the reader side of the export segment (see src/segfmt.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pooltag.h"
#include "procinfo.h"
#include "segfmt.h"
#include "seglock.h"
#include "segread.h"

#define MAX_SEGMENT_BYTES (1ull << 40)
/* The reader's limits (docs/segment-format.md, "Reading safely"): the most
 * bytes of tables and counters in use a read takes in, and the most it
 * takes in without the file's blocks backing them. */
#define PT_SEGREAD_MAX_BYTES (1ull << 30)
#define PT_SEGREAD_SPARSE_BYTES (16ull << 20)

const char *pt_segdir(void)
{
	const char *d = getenv("POOLTAG_DIR");
	return d && *d ? d : "/dev/shm";
}

/* pread exactly len bytes at off; -1 on error or short read. */
static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* Does [off, off + count * size) lie within [lo, hi)?  Overflow-safe. */
static int region_ok(uint64_t off, uint64_t count, uint64_t size, uint64_t lo, uint64_t hi)
{
	uint64_t bytes;

	if (__builtin_mul_overflow(count, size, &bytes) || off < lo || off > hi)
		return 0;
	return bytes <= hi - off;
}

/* Checks the header's geometry against the file size; NULL if sound, else
 * the reason. */
static const char *check_header(const struct pt_seg_header *h, uint64_t file_size)
{
	if (h->header_size != sizeof(*h))
		return "bad header size";
	if (h->size != file_size)
		return "size in header does not match the file (truncated?)";
	if (h->max_slots < 3 || h->max_slots > (1u << 24) || h->max_shards < 1 ||
	    h->max_shards > 65536 || h->max_descs > (1u << 20) || h->strings_size < 3 ||
	    h->strings_size > (1u << 28))
		return "implausible table sizes";
	/* The regions follow each other in this order, each ending before the
	 * next one starts. */
	if (h->max_modules > 4096 ||
	    !region_ok(h->slots_off, h->max_slots, sizeof(struct pt_seg_slot), sizeof(*h),
		       h->descs_off) ||
	    !region_ok(h->descs_off, h->max_descs, sizeof(struct pt_seg_desc), h->slots_off,
		       h->modules_off) ||
	    !region_ok(h->modules_off, h->max_modules, sizeof(struct pt_seg_module), h->descs_off,
		       h->strings_off) ||
	    !region_ok(h->strings_off, h->strings_size, 1, h->modules_off, h->shards_off) ||
	    h->shard_stride < (uint64_t)h->max_slots * sizeof(struct pt_seg_ctr) ||
	    !region_ok(h->shards_off, h->max_shards, h->shard_stride, h->strings_off, file_size))
		return "regions overlap or lie outside the file";
	if (h->nslots > h->max_slots || h->ndescs > h->max_descs || h->nshards > h->max_shards ||
	    h->strings_used > h->strings_size || h->nmodules > h->max_modules)
		return "counts exceed their tables";
	if (h->shards_off % 8 || h->shard_stride % 8)
		return "misaligned counters";
	/* The sample table is optional (0 from an older writer); when there,
	 * it lies between the string area's end and shard 0. */
	if (h->samples_off &&
	    (h->max_samples > 65536 || h->samples_off % 8 ||
	     !region_ok(h->samples_off, h->max_samples, sizeof(struct pt_seg_sample),
			h->strings_off + h->strings_size, h->shards_off)))
		return "bad sample table: outside its place between the strings and the counters";
	if (h->nsamples > (h->samples_off ? h->max_samples : 0))
		return "bad sample table: more entries than it holds";
	return NULL;
}

/* The bytes a header declares in use: what a reader reads and keeps. */
static uint64_t in_use(const struct pt_seg_header *h, uint32_t nshards)
{
	return (uint64_t)h->nslots * (sizeof(struct pt_seg_slot) + sizeof(struct pt_seg_ctr)) +
	       (uint64_t)h->ndescs * sizeof(struct pt_seg_desc) +
	       (uint64_t)h->nmodules * sizeof(struct pt_seg_module) + h->strings_used +
	       (uint64_t)h->nsamples * sizeof(struct pt_seg_sample) +
	       (uint64_t)nshards * h->nslots * sizeof(struct pt_seg_ctr);
}

/*
 * A reader's time and memory are bounded by what the file really holds:
 * the data a header declares in use must be backed by the file's blocks
 * (a sparse file declaring huge tables holds almost nothing), beyond a
 * small allowance for copies that lost their zero pages to holes; and never
 * more than PT_SEGREAD_MAX_BYTES however much is backed.  NULL, or why not.
 */
static const char *check_backed(const struct pt_seg_header *h, const struct stat *st)
{
	uint64_t need = in_use(h, h->nshards), held = (uint64_t)st->st_blocks * 512;

	if (need > PT_SEGREAD_MAX_BYTES)
		return "declares more than 1 GiB of tables and counters in use (the reader's limit)";
	if (need > PT_SEGREAD_SPARSE_BYTES && need > held)
		return "declares more tables and counters in use than the file holds";
	return NULL;
}

/* The most shards a read may sum: a live process adds shards while it is
 * read, but never past the reader's limit. */
static uint32_t max_shards_read(const struct pt_seg_header *h)
{
	uint64_t per = (uint64_t)h->nslots * sizeof(struct pt_seg_ctr), n;

	if (per == 0)
		return h->max_shards;
	n = (PT_SEGREAD_MAX_BYTES - in_use(h, 0)) / per;
	return n < h->max_shards ? (uint32_t)n : h->max_shards;
}

/* SIGBUS while counters are read through a mapping means the file was
 * truncated under us: jump back out and report it. */
static sigjmp_buf bus_jmp;
static volatile sig_atomic_t bus_armed;

static void on_sigbus(int sig)
{
	if (bus_armed)
		siglongjmp(bus_jmp, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Field f and the one after it (0: nallocs and bytes_alloc, 2: nfrees and
 * bytes_freed) of slot i, summed over shards [0, n). */
static void sum_field(const char *base, const struct pt_seg_header *h, uint32_t n, uint32_t i,
		      int f, uint64_t *v, uint64_t *bytes)
{
	*v = *bytes = 0;
	for (uint32_t sh = 0; sh < n; sh++) {
		const uint64_t *c = (const uint64_t *)(base + sh * h->shard_stride) + (uint64_t)i * 4;
		*v += __atomic_load_n(&c[f], __ATOMIC_RELAXED);
		*bytes += __atomic_load_n(&c[f + 1], __ATOMIC_RELAXED);
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
}

/* Tries before a slot's read settles for the bounded fallback. */
#define SUM_TRIES 256

/* The number of shards in use now, from the live header, within what the
 * header checked allows. */
static uint32_t shards_now(const struct pt_seg_header *live, uint32_t cap)
{
	uint32_t n = __atomic_load_n(&live->nshards, __ATOMIC_ACQUIRE);
	return n < cap ? n : cap;
}

/*
 * Sums every shard's counters into sum[0, nslots), each slot the count of
 * one instant during the read, so that a live read never shows more
 * outstanding than ever existed at once, nor fewer than zero
 * (docs/segment-format.md, "Reading safely").  Per slot: allocations (A),
 * frees (F), allocations again (A'), each over the shards in use as it
 * starts (a shard is in use before its first count).  Counters only grow,
 * so when A' == A no allocation was made while the frees were read, and
 * A - F is the outstanding count of an instant in that time.  Otherwise the
 * slot is read again; after SUM_TRIES the last A - F is taken, lowered to 0
 * if below (A read before F is still at most what was outstanding then).
 * Summing all frees first and all allocations after, as before, bounded the
 * count below only: blocks allocated and freed again while the frees were
 * read counted as outstanding (432 of at most 256).  The shards are mapped
 * and read with aligned 8-byte loads, which a concurrent writer cannot tear
 * (a read(2) copy gives no such promise).  0, or -1 if the file shrank
 * under us.
 */
static int sum_counters(int fd, const struct pt_seg_header *h, uint32_t cap_shards,
			struct pt_seg_ctr *sum)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t start = h->shards_off & ~(page - 1);
	uint32_t maxn = h->max_shards < cap_shards ? h->max_shards : cap_shards;
	uint64_t len = h->shards_off - start + (uint64_t)maxn * h->shard_stride;
	struct sigaction sa = {.sa_handler = on_sigbus}, old;
	const struct pt_seg_header *live;
	const char *base;
	void *map, *hmap;
	int rc = 0;

	if (h->nshards == 0 || h->nslots == 0 || maxn == 0)
		return 0;
	hmap = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	map = hmap == MAP_FAILED ? MAP_FAILED : mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)start);
	if (map == MAP_FAILED) {
		if (hmap != MAP_FAILED)
			munmap(hmap, page);
		return -1;
	}
	live = hmap;
	base = (const char *)map + (h->shards_off - start);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(bus_jmp, 1) == 0) {
		bus_armed = 1;
		for (uint32_t i = 0; i < h->nslots; i++) {
			uint64_t a, b, f, fb, a2, b2;
			for (int t = 0;; t++) {
				sum_field(base, h, shards_now(live, maxn), i, 0, &a, &b);
				sum_field(base, h, shards_now(live, maxn), i, 2, &f, &fb);
				sum_field(base, h, shards_now(live, maxn), i, 0, &a2, &b2);
				if ((a2 == a && b2 == b) || t + 1 == SUM_TRIES)
					break;
			}
			sum[i].nallocs = a;
			sum[i].bytes_alloc = b;
			sum[i].nfrees = f < a ? f : a;
			sum[i].bytes_freed = fb < b ? fb : b;
		}
	} else {
		rc = -1;
	}
	bus_armed = 0;
	sigaction(SIGBUS, &old, NULL);
	munmap(map, len);
	munmap(hmap, page);
	return rc;
}

/* A string of the area, or NULL if off does not start a NUL-terminated
 * string inside it. */
static const char *str_at(const char *strs, uint32_t used, uint32_t off)
{
	if (off >= used || !memchr(strs + off, 0, used - off))
		return NULL;
	return strs + off;
}

/*
 * The sampled stacks into v: each entry checked (slot, depth, every string)
 * before use.  0; or -1 with *why set (corrupt) or NULL (out of memory).
 * The live counters of an entry change while it is read; each is a value
 * of some instant, which is all an estimate needs.
 */
static int read_samples(struct pt_view *v, int fd, const struct pt_seg_header *h,
			const struct pt_seg_slot *slots, const char *strs, const char **why)
{
	struct pt_seg_sample *t;
	int rc = 0;

	*why = NULL;
	if (!h->samples_off)
		return 0;
	v->sample_mean = h->sample_mean;
	v->sample_ndropped = h->sample_ndropped;
	if (!h->nsamples)
		return 0;
	t = calloc(h->nsamples, sizeof(*t));
	if (!t)
		return -1;
	if (read_at(fd, t, (size_t)h->nsamples * sizeof(*t), h->samples_off) != 0) {
		*why = "cannot read the sample table (truncated?)";
		free(t);
		return -1;
	}
	for (uint32_t i = 0; i < h->nsamples && rc == 0; i++) {
		const struct pt_seg_sample *e = &t[i];
		struct pt_vsample s = {0};

		if (e->slot == 0 || e->slot >= h->nslots || e->depth > PT_SEG_SAMPLE_FRAMES) {
			*why = "bad sample table: an entry names a bad slot or depth";
			rc = -1;
			break;
		}
		s.tag = slots[e->slot].tag;
		s.pool = slots[e->slot].pool;
		s.line = slots[e->slot].line;
		s.file = str_at(strs, h->strings_used, slots[e->slot].file);
		s.func = str_at(strs, h->strings_used, slots[e->slot].func);
		s.nlive = e->nlive;
		s.live_est = e->live_est;
		s.ntaken = e->ntaken;
		s.depth = e->depth;
		for (unsigned f = 0; f < e->depth && s.file && s.func; f++) {
			s.frames[f].pc = e->frames[f].pc;
			s.frames[f].off = e->frames[f].off;
			s.frames[f].path = str_at(strs, h->strings_used, e->frames[f].path);
			if (!s.frames[f].path)
				s.file = NULL;
		}
		if (!s.file || !s.func || s.pool >= PT_SEG_CLASS_REFS) {
			*why = "bad sample table: an entry names a bad string or class";
			rc = -1;
			break;
		}
		/* A sample taken and not yet counted, or released and not yet
		 * subtracted, reads as a transient wrap: shown as nothing live. */
		if (s.nlive > s.ntaken || (int64_t)s.live_est < 0)
			s.nlive = s.live_est = 0;
		if (pt_view_add_sample(v, &s) != 0)
			rc = -1;
	}
	free(t);
	return rc;
}

/* Reads the header of the segment open on fd into h and checks it against
 * the file: 0, or -1 with a message in err. */
static int read_header(int fd, const char *name, struct pt_seg_header *h, char *err,
		       size_t errlen)
{
	const char *why;
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", name);
		return -1;
	}
	if ((uint64_t)st.st_size < sizeof(*h) || read_at(fd, h, sizeof(*h), 0) != 0) {
		snprintf(err, errlen, "corrupt segment %s: shorter than its header", name);
		return -1;
	}
	if (memcmp(h->magic, PT_SEG_MAGIC, sizeof(h->magic)) != 0) {
		snprintf(err, errlen, "corrupt segment %s: not a pooltag segment (bad magic)", name);
		return -1;
	}
	if (h->version != PT_SEG_VERSION) {
		snprintf(err, errlen, "segment %s has format version %u; this pooltag reads version %d",
			 name, h->version, PT_SEG_VERSION);
		return -1;
	}
	if ((uint64_t)st.st_size > MAX_SEGMENT_BYTES)
		why = "file too large";
	else
		why = check_header(h, (uint64_t)st.st_size);
	/* The header was read before this fstat, so every page it declares in
	 * use was already backed (a writer backs pages before it publishes). */
	if (!why && fstat(fd, &st) == 0)
		why = check_backed(h, &st);
	if (why) {
		snprintf(err, errlen, "corrupt segment %s: %s", name, why);
		return -1;
	}
	return 0;
}

/* A segment's tables and summed counters, copied out of it. */
struct segcopy {
	struct pt_seg_header h; /* checked */
	char *strs;             /* strings_used bytes and a NUL */
	struct pt_seg_slot *slots;
	struct pt_seg_desc *descs;
	struct pt_seg_module *mods;
	struct pt_seg_ctr *sum; /* per slot, over the shards */
};

/* The tables and counters the header declares in use, copied into c.  0;
 * or -1 with *why set (corrupt) or NULL (out of memory). */
static int copy_tables(int fd, struct segcopy *c, const char **why)
{
	const struct pt_seg_header *h = &c->h;

	*why = NULL;
	c->strs = malloc(h->strings_used + 1);
	c->slots = calloc(h->nslots + 1, sizeof(*c->slots));
	c->descs = calloc(h->ndescs + 1, sizeof(*c->descs));
	c->sum = calloc(h->nslots + 1, sizeof(*c->sum));
	c->mods = calloc(h->nmodules + 1, sizeof(*c->mods));
	if (!c->strs || !c->slots || !c->descs || !c->sum || !c->mods)
		return -1;
	*why = "cannot read a published region (truncated?)";
	if (read_at(fd, c->strs, h->strings_used, h->strings_off) != 0 ||
	    read_at(fd, c->slots, (size_t)h->nslots * sizeof(*c->slots), h->slots_off) != 0 ||
	    read_at(fd, c->descs, (size_t)h->ndescs * sizeof(*c->descs), h->descs_off) != 0 ||
	    read_at(fd, c->mods, (size_t)h->nmodules * sizeof(*c->mods), h->modules_off) != 0)
		return -1;
	c->strs[h->strings_used] = 0;
	if (sum_counters(fd, h, max_shards_read(h), c->sum) != 0) {
		*why = "the file shrank while it was read";
		return -1;
	}
	*why = NULL;
	return 0;
}

/* The process the header names, read now. */
static void view_process(struct pt_view *v, const struct pt_seg_header *h)
{
	struct timespec ts;

	v->pid = h->pid;
	v->uid = h->uid;
	memcpy(v->comm, h->comm, sizeof(v->comm));
	v->comm[sizeof(v->comm) - 1] = 0;
	v->created_ns = h->created_ns;
	v->start_ticks = h->start_ticks;
	v->nmisuse = h->nmisuse;
	clock_gettime(CLOCK_REALTIME, &ts);
	v->taken_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A row per slot that saw traffic, each checked.  0; or -1 with *why set
 * (corrupt) or NULL (out of memory). */
static int add_rows(struct pt_view *v, const struct segcopy *c, const char **why)
{
	const struct pt_seg_header *h = &c->h;

	*why = NULL;
	for (uint32_t i = 1; i < h->nslots; i++) {
		const struct pt_seg_slot *sl = &c->slots[i];
		const struct pt_seg_ctr *sum = &c->sum[i];
		struct pt_row r = {0};

		if (sum->nallocs == 0 && sum->nfrees == 0)
			continue;
		r.tag = sl->tag;
		r.pool = sl->pool;
		r.line = sl->line;
		r.file = str_at(c->strs, h->strings_used, sl->file);
		r.func = str_at(c->strs, h->strings_used, sl->func);
		r.module = sl->module < h->nmodules
				   ? str_at(c->strs, h->strings_used, c->mods[sl->module].name)
				   : "";
		if (r.pool >= PT_SEG_NCLASSES || !r.file || !r.func || !r.module) {
			*why = "a slot names a bad class, string or module";
			return -1;
		}
		/* Clamp: on weakly ordered CPUs a free may become visible before the
		 * allocation it follows; that is transient, not corruption. */
		r.nallocs = sum->nallocs;
		r.nfrees = sum->nfrees < r.nallocs ? sum->nfrees : r.nallocs;
		r.bytes_alloc = sum->bytes_alloc;
		r.bytes_freed = sum->bytes_freed < r.bytes_alloc ? sum->bytes_freed : r.bytes_alloc;
		if (pt_view_add_row(v, &r) != 0)
			return -1;
	}
	return 0;
}

/* The tag descriptions, each checked.  0; or -1 with *why set (corrupt)
 * or NULL (out of memory). */
static int add_descs(struct pt_view *v, const struct segcopy *c, const char **why)
{
	*why = NULL;
	for (uint32_t i = 0; i < c->h.ndescs; i++) {
		const char *d = str_at(c->strs, c->h.strings_used, c->descs[i].desc);
		const char *b = str_at(c->strs, c->h.strings_used, c->descs[i].binary);
		if (!d || !b) {
			*why = "a description names a bad string";
			return -1;
		}
		if (pt_view_add_desc(v, c->descs[i].tag, b, d) != 0)
			return -1;
	}
	return 0;
}

int pt_segread_fd(struct pt_view *v, int fd, const char *name, char *err, size_t errlen)
{
	struct segcopy c = {.strs = NULL};
	const char *why = NULL;
	int rc;

	if (read_header(fd, name, &c.h, err, errlen) != 0)
		return -1;
	if ((rc = copy_tables(fd, &c, &why)) == 0) {
		view_process(v, &c.h);
		if ((rc = add_rows(v, &c, &why)) == 0 && (rc = add_descs(v, &c, &why)) == 0)
			rc = read_samples(v, fd, &c.h, c.slots, c.strs, &why);
	}
	if (rc != 0 && why)
		snprintf(err, errlen, "corrupt segment %s: %s", name, why);
	else if (rc != 0)
		snprintf(err, errlen, "%s: out of memory", name);
	free(c.strs);
	free(c.slots);
	free(c.descs);
	free(c.mods);
	free(c.sum);
	return rc;
}

/* Parses "pooltag-PID" or "pooltag-PID.N"; 0 if name is neither. */
static pid_t name_pid(const char *name)
{
	const char *p = name + strlen(PT_SEG_PREFIX);
	char *end;
	long pid;

	if (strncmp(name, PT_SEG_PREFIX, strlen(PT_SEG_PREFIX)) != 0 || *p < '1' || *p > '9')
		return 0;
	errno = 0;
	pid = strtol(p, &end, 10);
	if (errno || pid <= 0 || pid > INT_MAX || (*end && *end != '.'))
		return 0;
	if (*end == '.' && (end[1] < '1' || end[1] > '9' || strspn(end + 1, "0123456789") != strlen(end + 1)))
		return 0;
	return (pid_t)pid;
}

/*
 * The one judgement of a segment's liveness, which every command uses: its
 * process holds the liveness lock (src/seglock.h), or it does not and then
 * the header's pid and start time say whether that process has exited (gone,
 * a zombie, or its pid now another process's) or runs on after an exec.
 * Nothing in /proc/PID/maps, the process's dumpable flag or its credentials
 * takes part.  A segment of a writer older than the lock (no
 * PT_SEG_FLAG_LIVELOCK) is judged by pid and start time alone.
 */
enum pt_segstate pt_seg_state(int fd, pid_t name_pid)
{
	enum pt_seglock lk = pt_seglock_test(fd);
	struct pt_seg_header h;
	int valid;

	if (lk == PT_SEGLOCK_LIVE)
		return PT_SEGSTATE_LIVE;
	if (lk == PT_SEGLOCK_REMOVING)
		return PT_SEGSTATE_EXITED;
	valid = read_at(fd, &h, sizeof(h), 0) == 0 && memcmp(h.magic, PT_SEG_MAGIC, sizeof(h.magic)) == 0;
	if (!valid) /* nobody holds it and it names nobody */
		return lk == PT_SEGLOCK_UNKNOWN && pt_proc_alive(name_pid, 0) ? PT_SEGSTATE_LIVE
									  : PT_SEGSTATE_EXITED;
	if (!(h.flags & PT_SEG_FLAG_LIVELOCK) || lk == PT_SEGLOCK_UNKNOWN)
		return pt_proc_alive(h.pid, h.start_ticks) ? PT_SEGSTATE_LIVE : PT_SEGSTATE_EXITED;
	/* Unheld: the process it names runs on only if it exec'd (a copy of
	 * another process's segment under this name is no process's). */
	return h.pid == name_pid && pt_proc_alive(h.pid, h.start_ticks) ? PT_SEGSTATE_EXECD
									: PT_SEGSTATE_EXITED;
}

const char *pt_segstate_what(enum pt_segstate st)
{
	return st == PT_SEGSTATE_LIVE ? "is live" : st == PT_SEGSTATE_EXECD ? "exec'd" : "has exited";
}

/* Opens the segment file at path for reading (never following a link)
 * and checks it is the regular file lstat found; -1 if not. */
static int open_seg(const char *path, const struct stat *st)
{
	struct stat fst;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		return -1;
	if (fstat(fd, &fst) != 0 || fst.st_dev != st->st_dev || fst.st_ino != st->st_ino ||
	    !S_ISREG(fst.st_mode)) {
		close(fd);
		errno = ENOENT;
		return -1;
	}
	return fd;
}

static int cmp_ent(const void *a, const void *b)
{
	const struct pt_segent *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return strcmp(x->path, y->path);
}

int pt_seglist(struct pt_segent **out, size_t *n, char *err, size_t errlen)
{
	const char *dir = pt_segdir();
	struct pt_segent *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *d;
	DIR *dp = opendir(dir);

	*out = NULL;
	*n = 0;
	if (!dp) {
		snprintf(err, errlen, "cannot list %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((d = readdir(dp))) {
		pid_t pid = name_pid(d->d_name);
		struct stat st;
		struct pt_segent *e;

		if (!pid)
			continue;
		if (cnt == cap) {
			struct pt_segent *nv = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(dp);
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			v = nv;
		}
		e = &v[cnt];
		memset(e, 0, sizeof(*e));
		e->pid = pid;
		snprintf(e->path, sizeof(e->path), "%s/%s", dir, d->d_name);
		if (lstat(e->path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		e->uid = st.st_uid;
		e->foreign = st.st_uid != getuid();
		e->state = PT_SEGSTATE_LIVE;
		if (!e->foreign || getuid() == 0) {
			int fd = open_seg(e->path, &st);
			if (fd < 0)
				continue; /* gone since readdir */
			e->state = pt_seg_state(fd, pid);
			close(fd);
		}
		e->stale = e->state != PT_SEGSTATE_LIVE;
		cnt++;
	}
	closedir(dp);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_ent);
	*out = v;
	*n = cnt;
	return 0;
}

/* "uid 1000 (alice)" */
static const char *who(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw && pw->pw_name)
		snprintf(buf, len, "uid %u (%s)", (unsigned)uid, pw->pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
	return buf;
}

/* The real uid of process pid (the Uid line of /proc/PID/status), else
 * fallback. */
static uid_t proc_uid(pid_t pid, uid_t fallback)
{
	char path[64], line[256];
	unsigned uid;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "re")))
		return fallback;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Uid: %u", &uid) == 1) {
			fclose(f);
			return (uid_t)uid;
		}
	}
	fclose(f);
	return fallback;
}

/* Whether process pid exists (*exists), and if it does, that it is the
 * caller's: its real uid, not the owner of /proc/PID (root's once a
 * process makes itself non-dumpable, its segment still yours).  0, or -1
 * with a message in err. */
static int check_owner(pid_t pid, int *exists, char *err, size_t errlen)
{
	char proc[64];
	struct stat st;
	uid_t owner;

	snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
	*exists = pid > 0 && stat(proc, &st) == 0;
	owner = *exists ? proc_uid(pid, st.st_uid) : 0;
	if (*exists && owner != getuid() && getuid() != 0) {
		snprintf(err, errlen,
			 "process %d belongs to uid %u, not to you: pooltag reads only your own "
			 "processes",
			 (int)pid, (unsigned)owner);
		return -1;
	}
	return 0;
}

/* What the list holds for a pid besides a live segment of the caller's. */
struct seg_others {
	char stale[512]; /* a stale segment of ours, or "" */
	enum pt_segstate stale_state;
	char foreign[512]; /* another user's segment (a live one first), or "" */
	uid_t foreign_uid;
};

/* Reads pid's live segment of the caller's among ents[0..n) into v, noting
 * the others in o: 1 with *rc pt_segread_fd's (or -1 with a message in err
 * if it cannot be opened) if there is one, else 0. */
static int read_listed(struct pt_view *v, pid_t pid, const struct pt_segent *ents, size_t n,
		       struct seg_others *o, int *rc, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const struct pt_segent *e = &ents[i];
		int fd;
		if (e->pid != pid)
			continue;
		if (e->foreign) {
			if (!e->stale || !o->foreign[0]) {
				snprintf(o->foreign, sizeof(o->foreign), "%s", e->path);
				o->foreign_uid = e->uid;
			}
			continue;
		}
		if (e->stale) {
			snprintf(o->stale, sizeof(o->stale), "%s", e->path);
			o->stale_state = e->state;
			continue;
		}
		fd = open(e->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			snprintf(err, errlen, "cannot open %s: %s", e->path, strerror(errno));
			*rc = -1;
			return 1;
		}
		*rc = pt_segread_fd(v, fd, e->path, err, errlen);
		close(fd);
		return 1;
	}
	return 0;
}

/* Why process pid has no live segment of the caller's to read, in err:
 * pt_segread_pid's status. */
static int why_none(pid_t pid, int exists, const struct seg_others *o, char *err, size_t errlen)
{
	char wb[128];

	if (o->stale[0]) {
		snprintf(err, errlen,
			 "stale segment %s: process %d %s; 'pooltag used %s' reads what it left, "
			 "'pooltag ls --clean' removes it",
			 o->stale, (int)pid,
			 o->stale_state == PT_SEGSTATE_EXECD ? "no longer exports it (it exec'd)"
							     : "has exited",
			 o->stale);
		return o->stale_state == PT_SEGSTATE_EXECD ? -1 : PT_SEGREAD_EXITED;
	}
	if (o->foreign[0]) {
		snprintf(err, errlen,
			 "process %d exports its counters in %s, which belongs to %s: pooltag reads "
			 "a user's segments as that user",
			 (int)pid, o->foreign, who(o->foreign_uid, wb, sizeof(wb)));
		return -1;
	}
	if (!exists) {
		snprintf(err, errlen, "no such process: %d", (int)pid);
		return -1;
	}
	if (!pt_proc_alive(pid, 0)) {
		snprintf(err, errlen, "process %d has exited", (int)pid);
		return PT_SEGREAD_EXITED;
	}
	snprintf(err, errlen,
		 "process %d does not export pooltag counters (not linked with libpooltag, "
		 "no allocation yet, or POOLTAG_EXPORT=0)",
		 (int)pid);
	return -1;
}

int pt_segread_pid(struct pt_view *v, pid_t pid, char *err, size_t errlen)
{
	struct seg_others o = {.stale_state = PT_SEGSTATE_EXITED};
	struct pt_segent *ents;
	size_t n;
	int exists, found, rc = -1;

	if (check_owner(pid, &exists, err, errlen) != 0 || pt_seglist(&ents, &n, err, errlen) != 0)
		return -1;
	found = read_listed(v, pid, ents, n, &o, &rc, err, errlen);
	free(ents);
	return found ? rc : why_none(pid, exists, &o, err, errlen);
}

/* Waits for process pid to exit, at most timeout_ms (a pidfd becomes
 * readable when it does).  1 if it has exited, else 0. */
int pt_proc_wait_exit(pid_t pid, uint64_t start_ticks, int timeout_ms)
{
	struct pollfd p = {.events = POLLIN};
	int fd;

	if (!pt_proc_alive(pid, start_ticks))
		return 1;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return !pt_proc_alive(pid, start_ticks);
	/* Opened after the check: the pid may be another process's now. */
	if (!pt_proc_alive(pid, start_ticks)) {
		close(fd);
		return 1;
	}
	p.fd = fd;
	while (poll(&p, 1, timeout_ms) < 0 && errno == EINTR)
		;
	close(fd);
	return !pt_proc_alive(pid, start_ticks);
}
