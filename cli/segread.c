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
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "pooltag.h"
#include "procinfo.h"
#include "segfmt.h"
#include "segread.h"

#define MAX_SEGMENT_BYTES (1ull << 40)

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
	return NULL;
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

/*
 * Sums every shard's counters into sum[0, nslots): all frees first, then all
 * allocations (see src/shard.c), so a live read never shows more frees than
 * allocations.  The shards are mapped and read with aligned 8-byte loads,
 * which a concurrent writer cannot tear (a read(2) copy gives no such
 * promise).  0, or -1 if the file shrank under us.
 */
static int sum_counters(int fd, const struct pt_seg_header *h, struct pt_seg_ctr *sum)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t start = h->shards_off & ~(page - 1);
	uint64_t len = h->shards_off - start + (uint64_t)h->nshards * h->shard_stride;
	struct sigaction sa = {.sa_handler = on_sigbus}, old;
	const char *base;
	void *map;
	int rc = 0;

	if (h->nshards == 0 || h->nslots == 0)
		return 0;
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)start);
	if (map == MAP_FAILED)
		return -1;
	base = (const char *)map + (h->shards_off - start);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(bus_jmp, 1) == 0) {
		bus_armed = 1;
		for (int pass = 0; pass < 2; pass++) {
			for (uint32_t sh = 0; sh < h->nshards; sh++) {
				const uint64_t *c = (const uint64_t *)(base + sh * h->shard_stride);
				for (uint32_t i = 0; i < h->nslots; i++, c += 4) {
					if (pass == 0) {
						sum[i].nfrees += __atomic_load_n(&c[2], __ATOMIC_RELAXED);
						sum[i].bytes_freed += __atomic_load_n(&c[3], __ATOMIC_RELAXED);
					} else {
						sum[i].nallocs += __atomic_load_n(&c[0], __ATOMIC_RELAXED);
						sum[i].bytes_alloc += __atomic_load_n(&c[1], __ATOMIC_RELAXED);
					}
				}
			}
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
		}
	} else {
		rc = -1;
	}
	bus_armed = 0;
	sigaction(SIGBUS, &old, NULL);
	munmap(map, len);
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

int pt_segread_fd(struct pt_view *v, int fd, const char *name, char *err, size_t errlen)
{
	struct pt_seg_header h;
	struct pt_seg_slot *slots = NULL;
	struct pt_seg_desc *descs = NULL;
	struct pt_seg_module *mods = NULL;
	struct pt_seg_ctr *sum = NULL;
	char *strs = NULL;
	const char *why = NULL;
	struct timespec ts;
	struct stat st;
	int rc = -1;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", name);
		return -1;
	}
	if ((uint64_t)st.st_size < sizeof(h) || read_at(fd, &h, sizeof(h), 0) != 0) {
		snprintf(err, errlen, "corrupt segment %s: shorter than its header", name);
		return -1;
	}
	if (memcmp(h.magic, PT_SEG_MAGIC, sizeof(h.magic)) != 0) {
		snprintf(err, errlen, "corrupt segment %s: not a pooltag segment (bad magic)", name);
		return -1;
	}
	if (h.version != PT_SEG_VERSION) {
		snprintf(err, errlen, "segment %s has format version %u; this pooltag reads version %d",
			 name, h.version, PT_SEG_VERSION);
		return -1;
	}
	if ((uint64_t)st.st_size > MAX_SEGMENT_BYTES)
		why = "file too large";
	else
		why = check_header(&h, (uint64_t)st.st_size);
	if (why)
		goto corrupt;

	strs = malloc(h.strings_used + 1);
	slots = calloc(h.nslots + 1, sizeof(*slots));
	descs = calloc(h.ndescs + 1, sizeof(*descs));
	sum = calloc(h.nslots + 1, sizeof(*sum));
	mods = calloc(h.nmodules + 1, sizeof(*mods));
	if (!strs || !slots || !descs || !sum || !mods) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto out;
	}
	why = "cannot read a published region (truncated?)";
	if (read_at(fd, strs, h.strings_used, h.strings_off) != 0 ||
	    read_at(fd, slots, (size_t)h.nslots * sizeof(*slots), h.slots_off) != 0 ||
	    read_at(fd, descs, (size_t)h.ndescs * sizeof(*descs), h.descs_off) != 0 ||
	    read_at(fd, mods, (size_t)h.nmodules * sizeof(*mods), h.modules_off) != 0)
		goto corrupt;
	strs[h.strings_used] = 0;

	if (sum_counters(fd, &h, sum) != 0) {
		why = "the file shrank while it was read";
		goto corrupt;
	}

	v->pid = h.pid;
	v->uid = h.uid;
	memcpy(v->comm, h.comm, sizeof(v->comm));
	v->comm[sizeof(v->comm) - 1] = 0;
	v->created_ns = h.created_ns;
	v->start_ticks = h.start_ticks;
	v->nmisuse = h.nmisuse;
	clock_gettime(CLOCK_REALTIME, &ts);
	v->taken_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;

	for (uint32_t i = 1; i < h.nslots; i++) {
		struct pt_row r = {0};
		if (sum[i].nallocs == 0 && sum[i].nfrees == 0)
			continue;
		r.tag = slots[i].tag;
		r.pool = slots[i].pool;
		r.line = slots[i].line;
		r.file = str_at(strs, h.strings_used, slots[i].file);
		r.func = str_at(strs, h.strings_used, slots[i].func);
		r.module = slots[i].module < h.nmodules
				   ? str_at(strs, h.strings_used, mods[slots[i].module].name)
				   : "";
		why = "a slot names a bad class, string or module";
		if (r.pool >= PT_SEG_NCLASSES || !r.file || !r.func || !r.module)
			goto corrupt;
		/* Clamp: on weakly ordered CPUs a free may become visible before the
		 * allocation it follows; that is transient, not corruption. */
		r.nallocs = sum[i].nallocs;
		r.nfrees = sum[i].nfrees < r.nallocs ? sum[i].nfrees : r.nallocs;
		r.bytes_alloc = sum[i].bytes_alloc;
		r.bytes_freed = sum[i].bytes_freed < r.bytes_alloc ? sum[i].bytes_freed : r.bytes_alloc;
		if (pt_view_add_row(v, &r) != 0) {
			snprintf(err, errlen, "%s: out of memory", name);
			goto out;
		}
	}
	for (uint32_t i = 0; i < h.ndescs; i++) {
		const char *d = str_at(strs, h.strings_used, descs[i].desc);
		const char *b = str_at(strs, h.strings_used, descs[i].binary);
		why = "a description names a bad string";
		if (!d || !b)
			goto corrupt;
		if (pt_view_add_desc(v, descs[i].tag, b, d) != 0) {
			snprintf(err, errlen, "%s: out of memory", name);
			goto out;
		}
	}
	rc = 0;
	goto out;
corrupt:
	snprintf(err, errlen, "corrupt segment %s: %s", name, why);
out:
	free(strs);
	free(slots);
	free(descs);
	free(mods);
	free(sum);
	return rc;
}

/* Does process pid map the file with this device and inode?  (The
 * definitive liveness test: an exited or exec'd process maps nothing.) */
static int maps_file(pid_t pid, dev_t dev, ino_t ino)
{
	char path[64], line[1024];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		unsigned long long inode;
		if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &inode) == 3)
			found = inode == (unsigned long long)ino && makedev(maj, min) == dev;
		while (!strchr(line, '\n') && fgets(line, sizeof(line), f))
			; /* rest of an overlong line */
	}
	fclose(f);
	return found;
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

/* Is the segment at path live: does process pid exist and map this very
 * file (device and inode)?  Nothing inside the file decides it, so a live
 * process's segment counts as live even when its content is corrupt. */
static int seg_live(pid_t pid, const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && pt_proc_alive(pid, 0) && maps_file(pid, st.st_dev, st.st_ino);
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
		e->pid = pid;
		snprintf(e->path, sizeof(e->path), "%s/%s", dir, d->d_name);
		if (lstat(e->path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		e->foreign = st.st_uid != getuid();
		e->stale = !seg_live(pid, e->path);
		cnt++;
	}
	closedir(dp);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_ent);
	*out = v;
	*n = cnt;
	return 0;
}

int pt_segread_pid(struct pt_view *v, pid_t pid, char *err, size_t errlen)
{
	struct pt_segent *ents;
	char proc[64], stale[512] = "";
	struct stat st;
	size_t n;
	int rc = -1, found = 0, exists;

	snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
	exists = pid > 0 && stat(proc, &st) == 0;
	if (exists && st.st_uid != getuid() && getuid() != 0) {
		snprintf(err, errlen,
			 "process %d belongs to uid %u, not to you: pooltag reads only your own "
			 "processes",
			 (int)pid, (unsigned)st.st_uid);
		return -1;
	}
	if (pt_seglist(&ents, &n, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < n && !found; i++) {
		int fd;
		if (ents[i].pid != pid || ents[i].foreign)
			continue;
		if (ents[i].stale) {
			snprintf(stale, sizeof(stale), "%s", ents[i].path);
			continue;
		}
		found = 1;
		fd = open(ents[i].path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			snprintf(err, errlen, "cannot open %s: %s", ents[i].path, strerror(errno));
			break;
		}
		rc = pt_segread_fd(v, fd, ents[i].path, err, errlen);
		close(fd);
	}
	free(ents);
	if (found)
		return rc;
	if (stale[0])
		snprintf(err, errlen,
			 "stale segment %s: process %d %s; 'pooltag used %s' reads what it left, "
			 "'pooltag ls --clean' removes it",
			 stale, (int)pid, exists ? "no longer exports it (it exec'd)" : "has exited",
			 stale);
	else if (!exists)
		snprintf(err, errlen, "no such process: %d", (int)pid);
	else
		snprintf(err, errlen,
			 "process %d does not export pooltag counters (not linked with libpooltag, "
			 "no allocation yet, or POOLTAG_EXPORT=0)",
			 (int)pid);
	return -1;
}
