/*
 * special.c - the verifier's special pool: selected allocations of any pool
 * on pages of their own, fenced by an inaccessible guard page, and kept
 * inaccessible for a while after they are freed.
 *
 * A block is selected by its tag (patterns with * and ?), the module of its
 * call site and its size (special=, special.module=, special.size=; all the
 * given ones must match).  Once a selection is configured every allocation
 * takes the library's path (PT_SLOW_SPECIAL) and pool.c asks
 * pt_special_selected() for each one.  A selected block is one mapping:
 *
 *   guard after (the default: overruns fault):
 *   +-------------------------+-----+----------------+-------+--------------+
 *   | fill (pad)              | hdr | user data      | slack | guard page   |
 *   +-------------------------+-----+----------------+-------+--------------+
 *   ^ base                          ^ user, as close to the guard as its
 *                                     alignment (16, or more) allows
 *   guard before (underruns fault):
 *   +--------------+-----+----------------+-----------------------------------+
 *   | guard page   | hdr | user data      | slack (fill up to the page end)   |
 *   +--------------+-----+----------------+-----------------------------------+
 *
 * The header is the ordinary one (its alignment field says "special"), so
 * every header check applies.  Pad and slack are filled with a byte pattern
 * checked on free: an overrun too small to reach the guard page (the
 * slack, at most 15 bytes after the end with guard after) is reported then,
 * with its offset.  With the guard before, an underrun of up to 16 bytes
 * lands in the header and is caught on free by the header check; one further
 * down faults.
 *
 * A freed block is made inaccessible (PROT_NONE, the whole mapping) and
 * waits in a FIFO quarantine bounded by a count and bytes (mapping bytes);
 * the oldest ones are unmapped past either bound.  Any access to a guard
 * page or a quarantined block faults: the SIGSEGV/SIGBUS handler finds the
 * block, reports (access address, block, tag, size, offset, the acquiring
 * site and stack, for a use after free the freeing site and stack), then
 * applies the verifier's action.  Under "continue" it makes the page
 * accessible and returns, so the program proceeds; the finding is counted.
 * Faults on addresses that are not ours go to the handler installed before.
 *
 * Each block has a record, out of band, from a private slab (never malloc,
 * so nothing here waits for an allocator's lock): the mapping, the block,
 * the acquiring slot and stack, and once freed the freeing site and stack.
 * Records are in a hash by user pointer (free, queries) and in one list
 * (the fault handler scans it: a fault is rare, the scan need not be fast).
 * One spin lock guards records, hash, list, quarantine and configuration;
 * it is a leaf (nothing is called with it held but system calls), the
 * signal handler may take it (the program's own accesses, the only ones
 * that fault, never happen with it held), and it is held across fork.
 *
 * In the signal handler: finding the record, formatting and writing the
 * report are async-signal-safe (own formatting, one writev); the call
 * stacks are symbolised with libdw there too, which is not: it is done only
 * when the symboliser's mutex is free (so the faulting thread is not inside
 * it) and is otherwise replaced by the raw program counters.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#include "internal.h"
#include "stack.h"

#define MAX_PATTERNS 16
#define PATTERN_LEN 32
#define MODULE_LEN 256
#define NBUCKETS (1u << 16)
#define ALTSTACK_BYTES (1u << 20)
#define REC_CHUNK (64u << 10)

struct blk {
	struct blk *next, *prev; /* all records: live and quarantined */
	struct blk *hnext;       /* hash chain, by user pointer */
	struct blk *qnext;       /* quarantine FIFO */
	char *base;              /* the mapping */
	size_t len;              /* its length, guard included */
	char *data;              /* the accessible part before the free */
	size_t data_len;
	char *user;
	uint64_t size;
	struct pt__hdr hdr; /* the header as written, for reports of corruption */
	uint32_t slot, stack;
	uint32_t free_stack;
	unsigned pool, align_log2;
	int guard_before;
	int freed;
	int opened; /* made accessible again after a fault (continue) */
	char freed_at[120];
};

int pt_special_on;

static struct {
	int lock;
	/* configuration */
	char tags[MAX_PATTERNS][PATTERN_LEN];
	int ntags;
	char module[MODULE_LEN];
	uint64_t min, max;
	int guard_before;
	uint64_t q_count, q_bytes;
	unsigned char fill;
	/* state */
	int ready;
	size_t page;
	struct blk **buckets;
	struct blk all;
	struct blk *qhead, *qtail;
	uint64_t qn, qbytes;
	struct blk *spare; /* free records */
	uint64_t nlive;
	struct sigaction old_segv, old_bus;
} sp = {
	.max = UINT64_MAX,
	.q_count = 1024,
	.q_bytes = 64u << 20,
	.fill = 0xa5,
};

static void lock(void)
{
	while (__atomic_exchange_n(&sp.lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&sp.lock, __ATOMIC_RELAXED))
			__builtin_ia32_pause();
}

static void unlock(void)
{
	__atomic_store_n(&sp.lock, 0, __ATOMIC_RELEASE);
}

void pt_special_fork_prepare(void)
{
	lock();
}

void pt_special_fork_release(void)
{
	unlock();
}

/* ---- configuration ---- */

/* A glob with * and ? over s; no allocation, no locale (runs under the
 * spin lock). */
static int glob(const char *p, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*p == '*') {
			star = ++p;
			resume = s;
		} else if (*p == '?' || *p == *s) {
			p++;
			s++;
		} else if (star) {
			p = star;
			s = ++resume;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return !*p;
}

static int tag_matches(uint32_t tag)
{
	char t[5], trimmed[5];
	int n = 4;

	pt_tag_str(tag, t);
	memcpy(trimmed, t, 5);
	while (n > 0 && trimmed[n - 1] == ' ')
		trimmed[--n] = '\0';
	for (int i = 0; i < sp.ntags; i++)
		if (glob(sp.tags[i], t) || glob(sp.tags[i], trimmed))
			return 1;
	return 0;
}

static int module_matches(uint32_t id)
{
	const char *name = pt_module_name(pt_module_by_id(id));

	return glob(sp.module, name) || (id == 0 && glob(sp.module, "main"));
}

/* "64", "4K", "1M", "2G": bytes; -1 for anything else. */
static int parse_bytes(const char *s, const char *end, uint64_t *out)
{
	uint64_t v = 0, mul = 1;

	if (s == end)
		return -1;
	if (end[-1] == 'K' || end[-1] == 'k')
		mul = 1024, end--;
	else if (end[-1] == 'M' || end[-1] == 'm')
		mul = 1024 * 1024, end--;
	else if (end[-1] == 'G' || end[-1] == 'g')
		mul = 1024 * 1024 * 1024, end--;
	if (s == end)
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

/* The message names the key and echoes the value, made printable and cut
 * short: it stays one line whatever the value holds. */
static int fail(char *err, size_t errlen, const char *key, const char *val, const char *why)
{
	char shown[68];
	size_t i;

	for (i = 0; val[i] && i < sizeof(shown) - 4; i++)
		shown[i] = val[i] >= 0x20 && val[i] <= 0x7e ? val[i] : '?';
	strcpy(shown + i, val[i] ? "..." : "");
	if (err && errlen)
		snprintf(err, errlen, "option '%s': %s (got '%s')", key, why, shown);
	errno = EINVAL;
	return -1;
}

static void enable(void);

int pt_special_option(const char *key, const char *val, char *err, size_t errlen)
{
	if (!key || !val)
		return fail(err, errlen, key ? key : "(null)", "", "missing key or value");
	if (!strcmp(key, "special")) {
		char pats[MAX_PATTERNS][PATTERN_LEN];
		int n = 0;
		const char *s = val;

		for (;;) {
			const char *e = strchr(s, '|');
			size_t len = e ? (size_t)(e - s) : strlen(s);
			if (len == 0 || len >= PATTERN_LEN)
				return fail(err, errlen, key, val,
					    "each pattern is 1 to 31 characters (tag, * and ?)");
			if (n == MAX_PATTERNS)
				return fail(err, errlen, key, val, "at most 16 patterns");
			for (size_t i = 0; i < len; i++)
				if (s[i] < 0x20 || s[i] > 0x7e || s[i] == ',')
					return fail(err, errlen, key, val,
						    "a pattern holds printable ASCII only");
			memcpy(pats[n], s, len);
			pats[n++][len] = '\0';
			if (!e)
				break;
			s = e + 1;
		}
		lock();
		memcpy(sp.tags, pats, sizeof(pats));
		sp.ntags = n;
		unlock();
		enable();
		return 0;
	}
	if (!strcmp(key, "special.module")) {
		if (!*val || strlen(val) >= MODULE_LEN)
			return fail(err, errlen, key, val, "a module name pattern of 1 to 255 characters");
		lock();
		snprintf(sp.module, sizeof(sp.module), "%s", val);
		unlock();
		enable();
		return 0;
	}
	if (!strcmp(key, "special.size")) {
		const char *dash = strchr(val, '-'), *end = val + strlen(val);
		uint64_t lo = 0, hi = UINT64_MAX;

		if (!dash || (dash > val && parse_bytes(val, dash, &lo) != 0) ||
		    (dash + 1 < end && parse_bytes(dash + 1, end, &hi) != 0))
			return fail(err, errlen, key, val,
				    "expected MIN-MAX in bytes (K, M, G suffixes; either side may be empty)");
		if (lo > hi)
			return fail(err, errlen, key, val, "MIN is larger than MAX");
		lock();
		sp.min = lo;
		sp.max = hi;
		unlock();
		enable();
		return 0;
	}
	if (!strcmp(key, "special.guard")) {
		int before;
		if (!strcmp(val, "after"))
			before = 0;
		else if (!strcmp(val, "before"))
			before = 1;
		else
			return fail(err, errlen, key, val, "expected after or before");
		lock();
		sp.guard_before = before;
		unlock();
		return 0;
	}
	if (!strcmp(key, "special.quarantine")) {
		const char *colon = strchr(val, ':');
		uint64_t count, bytes;

		if (!colon || parse_bytes(val, colon, &count) != 0 ||
		    parse_bytes(colon + 1, val + strlen(val), &bytes) != 0)
			return fail(err, errlen, key, val,
				    "expected COUNT:BYTES (K, M, G suffixes), e.g. 1024:64M");
		lock();
		sp.q_count = count;
		sp.q_bytes = bytes;
		unlock();
		return 0;
	}
	if (!strcmp(key, "special.fill")) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(val, &end, 0);
		if (!*val || *end || errno || v > 0xff || val[0] == '-')
			return fail(err, errlen, key, val, "expected a byte, e.g. 0xa5");
		lock();
		sp.fill = (unsigned char)v;
		unlock();
		return 0;
	}
	if (err && errlen)
		snprintf(err, errlen,
			 "unknown option '%s' (special, special.module, special.size, special.guard, "
			 "special.quarantine, special.fill)",
			 key);
	errno = EINVAL;
	return -1;
}

/* ---- the fault handler's set-up ---- */

static void on_fault(int sig, siginfo_t *si, void *ctx);

static pthread_key_t altstack_key;
static __thread int altstack_done;

/* At thread exit: ours is released only if it is still the thread's (a
 * sanitizer's thread exit may have released it already). */
static void altstack_free(void *mem)
{
	stack_t cur, ss = {.ss_flags = SS_DISABLE};

	if (sigaltstack(NULL, &cur) != 0 || (cur.ss_flags & SS_DISABLE) || cur.ss_sp != mem)
		return;
	sigaltstack(&ss, NULL);
	munmap(mem, ALTSTACK_BYTES);
}

/* The handler runs on an alternate stack, so that a fault with the stack
 * exhausted is still reported; each thread that allocates from the special
 * pool gets one, unless it has one at least as large already.  Large:
 * symbolising with libdw in the handler needs far more than SIGSTKSZ (a
 * sanitizer's own alternate stack is replaced for that reason). */
static void altstack_ensure(void)
{
	stack_t old, ss;
	void *mem;

	if (altstack_done)
		return;
	altstack_done = 1;
	if (sigaltstack(NULL, &old) != 0 || (old.ss_flags & SS_ONSTACK) ||
	    (!(old.ss_flags & SS_DISABLE) && old.ss_size >= ALTSTACK_BYTES))
		return;
	mem = mmap(NULL, ALTSTACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return;
	ss = (stack_t){.ss_sp = mem, .ss_size = ALTSTACK_BYTES, .ss_flags = 0};
	if (sigaltstack(&ss, NULL) != 0) {
		munmap(mem, ALTSTACK_BYTES);
		return;
	}
	pthread_setspecific(altstack_key, mem);
}

static void setup_once(void)
{
	struct sigaction sa;
	long pg = sysconf(_SC_PAGESIZE);

	sp.page = pg > 0 ? (size_t)pg : 4096;
	sp.buckets = mmap(NULL, NBUCKETS * sizeof(*sp.buckets), PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sp.buckets == MAP_FAILED) {
		sp.buckets = NULL;
		return; /* no special pool: every allocation stays ordinary */
	}
	sp.all.next = sp.all.prev = &sp.all;
	pthread_key_create(&altstack_key, altstack_free);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &sp.old_segv);
	sigaction(SIGBUS, &sa, &sp.old_bus);
	pt_stack_init();
	__atomic_store_n(&sp.ready, 1, __ATOMIC_RELEASE);
}

/* A selection was configured: send every allocation through the library
 * and install the handler.  Called while the options are read, which may be
 * inside the segment's initialisation: nothing here may need either. */
static void enable(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, setup_once);
	if (!__atomic_load_n(&sp.ready, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&pt_special_on, 1, __ATOMIC_RELEASE);
	pt_config_slow(PT_SLOW_SPECIAL, 1);
	altstack_ensure();
}

/* ---- records ---- */

static size_t bucket_of(const void *user)
{
	return (size_t)(((uintptr_t)user >> 4) * 0x9e3779b97f4a7c15ull >> 48) & (NBUCKETS - 1);
}

/* A free record, with the lock held; NULL when no memory can be mapped. */
static struct blk *rec_get(void)
{
	struct blk *r = sp.spare;

	if (!r) {
		char *chunk = mmap(NULL, REC_CHUNK, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (chunk == MAP_FAILED)
			return NULL;
		for (size_t off = 0; off + sizeof(*r) <= REC_CHUNK; off += sizeof(*r)) {
			struct blk *b = (struct blk *)(chunk + off);
			b->hnext = sp.spare;
			sp.spare = b;
		}
		r = sp.spare;
	}
	sp.spare = r->hnext;
	memset(r, 0, sizeof(*r));
	return r;
}

static struct blk *find(const void *user)
{
	struct blk *r;

	if (!sp.buckets)
		return NULL;
	for (r = sp.buckets[bucket_of(user)]; r; r = r->hnext)
		if (r->user == user)
			return r;
	return NULL;
}

static void unhash(struct blk *r)
{
	struct blk **pp = &sp.buckets[bucket_of(r->user)];

	while (*pp != r)
		pp = &(*pp)->hnext;
	*pp = r->hnext;
}

/* Unmaps the oldest quarantined blocks while either bound is exceeded.
 * Lock held. */
static void evict(void)
{
	while (sp.qhead && (sp.qn > sp.q_count || sp.qbytes > sp.q_bytes)) {
		struct blk *r = sp.qhead;
		sp.qhead = r->qnext;
		if (!sp.qhead)
			sp.qtail = NULL;
		sp.qn--;
		sp.qbytes -= r->len;
		unhash(r);
		r->prev->next = r->next;
		r->next->prev = r->prev;
		munmap(r->base, r->len);
		r->hnext = sp.spare;
		sp.spare = r;
	}
}

int pt_special_selected(uint32_t slot, uint32_t tag, size_t size)
{
	int sel;

	lock();
	sel = size >= sp.min && size <= sp.max && (!sp.ntags || tag_matches(tag)) &&
	      (!sp.module[0] || module_matches(pt_seg.slots[slot].module));
	unlock();
	return sel;
}

static size_t round_up(size_t n, size_t a)
{
	return (n + a - 1) & ~(a - 1);
}

void *pt_special_alloc(uint32_t slot, unsigned pool, unsigned align_log2, size_t size,
		       uint32_t tag)
{
	size_t pg = sp.page, a = align_log2 ? (size_t)1 << align_log2 : 16;
	size_t room = a > 16 ? a : 16, body = round_up(size, 16), data_len, len;
	uint32_t stack;
	int before;
	char *base, *data, *user;
	struct pt__hdr *h;
	struct blk *r;

	if (a > pg || size > ((size_t)1 << 40))
		return NULL;
	altstack_ensure();
	stack = pt_stack_capture(0);
	lock();
	before = sp.guard_before;
	unlock();
	data_len = round_up(before ? room + size : body + room, pg);
	len = data_len + pg;
	base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	data = before ? base + pg : base;
	if (mprotect(before ? base : base + data_len, pg, PROT_NONE) != 0 ||
	    (pool == PT_NONPAGED && mlock(data, data_len) != 0)) {
		munmap(base, len);
		return NULL;
	}
	user = before ? data + room : (char *)(((uintptr_t)(data + data_len - body)) & ~(a - 1));
	h = (struct pt__hdr *)user - 1;
	h->tag = tag;
	h->meta = pt_hdr_meta(slot, pool, PT_ALIGN_SPECIAL);
	h->word = pt__hdr_word(h->meta, size);
	memset(data, sp.fill, (size_t)((char *)h - data));
	memset(user + size, sp.fill, (size_t)(data + data_len - (user + size)));
	lock();
	r = rec_get();
	if (!r) {
		unlock();
		munmap(base, len);
		return NULL;
	}
	*r = (struct blk){.base = base, .len = len, .data = data, .data_len = data_len,
			  .user = user, .size = size, .hdr = *h, .slot = slot, .stack = stack,
			  .pool = pool, .align_log2 = align_log2, .guard_before = before};
	r->hnext = sp.buckets[bucket_of(user)];
	sp.buckets[bucket_of(user)] = r;
	r->next = sp.all.next;
	r->prev = &sp.all;
	r->next->prev = r;
	sp.all.next = r;
	sp.nlive++;
	unlock();
	return user;
}

unsigned pt_special_align_log2(const void *user)
{
	struct blk *r;
	unsigned lg = 0;

	lock();
	r = find(user);
	if (r)
		lg = r->align_log2;
	unlock();
	return lg;
}

/* ---- reports ---- */

/* A bounded text buffer written without stdio (usable in the handler). */
struct out {
	char *buf;
	size_t cap, n;
};

static void put(struct out *o, const char *s)
{
	while (s && *s && o->n + 1 < o->cap)
		o->buf[o->n++] = *s++;
	o->buf[o->n] = '\0';
}

static void put_u(struct out *o, uint64_t v)
{
	char t[24];
	int i = (int)sizeof(t) - 1;

	t[i] = '\0';
	do
		t[--i] = (char)('0' + v % 10);
	while ((v /= 10) && i > 0);
	put(o, t + i);
}

static void put_x(struct out *o, uintptr_t v)
{
	char t[24];
	int i = (int)sizeof(t) - 1;

	t[i] = '\0';
	do
		t[--i] = "0123456789abcdef"[v & 15];
	while ((v >>= 4) && i > 2);
	t[--i] = 'x';
	t[--i] = '0';
	put(o, t + i);
}

static void put_tag(struct out *o, uint32_t tag)
{
	char t[5];

	put(o, "'");
	put(o, pt_tag_str(tag, t));
	put(o, "'");
}

/* "file:line (func)" of a counter slot. */
static void put_slot(struct out *o, uint32_t slot)
{
	const struct pt_seg_slot *s = &pt_seg.slots[slot];

	put(o, pt_seg.strings + s->file);
	put(o, ":");
	put_u(o, s->line);
	put(o, " (");
	put(o, pt_seg.strings + s->func);
	put(o, ")");
}

/* A stack, symbolised when that is safe here (see the top of the file),
 * else its raw program counters. */
static void put_stack(struct out *o, uint32_t id, int in_handler)
{
	char buf[2048];

	if (!id)
		return;
	put(o, "\n    stack: ");
	if (!in_handler || pt_sym_trylock()) {
		if (in_handler)
			pt_sym_unlock();
		pt_stack_format(id, buf, sizeof(buf), 12);
		put(o, buf);
	} else {
		uintptr_t pcs[PT_STACK_DEPTH];
		unsigned n = pt_stack_pcs(id, pcs, PT_STACK_DEPTH);
		for (unsigned i = 0; i < n && i < PT_STACK_DEPTH; i++) {
			put(o, i ? " <- " : "");
			put_x(o, pcs[i]);
		}
	}
}

/* The acquiring (and freeing) site and stack of a record copy. */
static void put_sites(struct out *o, const struct blk *r, int in_handler)
{
	put(o, "\n  allocated at ");
	put_slot(o, r->slot);
	put_stack(o, r->stack, in_handler);
	if (r->freed) {
		put(o, "\n  freed at ");
		put(o, r->freed_at);
		put_stack(o, r->free_stack, in_handler);
	}
}

static void deliver(enum pt_misuse_kind kind, const struct blk *r, const void *access,
		    uint32_t used_tag, const struct pt_site *site, const char *text)
{
	const struct pt_seg_slot *s = &pt_seg.slots[r->slot];
	struct pt_misuse m = {kind, r->user, r->hdr.tag, used_tag, pt_seg.strings + s->file,
			      pt_seg.strings + s->func, s->line, site, text, access,
			      r->freed ? r->freed_at : NULL};

	pt_misuse_deliver(&m);
}

/* ---- free ---- */

/* The first and last byte of [from, to) that lost the fill; 0 if none. */
static int fill_broken(const char *from, const char *to, const char **first, const char **last)
{
	const char *p;

	for (p = from; p < to && (unsigned char)*p == sp.fill; p++)
		;
	if (p == to)
		return 0;
	*first = p;
	for (p = to; p > *first && (unsigned char)p[-1] == sp.fill; p--)
		;
	*last = p - 1;
	return 1;
}

static void site_text(char *buf, size_t len, const struct pt_site *site)
{
	if (site && site->file)
		snprintf(buf, len, "%s:%u (%s)", site->file, site->line, site->func ? site->func : "?");
	else
		snprintf(buf, len, "an unknown site");
}

/* Checks the fill around a live special block being freed, makes it
 * inaccessible and quarantines it.  The header was checked and flipped,
 * the free counted, by pool.c. */
void pt_special_free(void *user, const struct pt_site *site)
{
	struct blk *r, copy;
	int over = 0, under = 0;
	char text[4096];
	struct out o = {text, sizeof(text), 0};
	uint32_t fstack = pt_stack_capture(0);
	char at[120];

	site_text(at, sizeof(at), site);
	lock();
	r = find(user);
	if (!r || r->freed) {
		unlock();
		return; /* pool.c only calls with a live special block */
	}
	unlock();
	/* The block is the caller's: no other thread may touch it now. */
	char *hdr_start = r->user - sizeof(struct pt__hdr);
	const char *ofirst = NULL, *olast = NULL, *ufirst = NULL, *ulast = NULL;
	over = fill_broken(r->user + r->size, r->data + r->data_len, &ofirst, &olast);
	under = fill_broken(r->data, hdr_start, &ufirst, &ulast);
	if (r->pool == PT_NONPAGED)
		explicit_bzero(r->data, r->data_len);
	mprotect(r->base, r->len, PROT_NONE);
	lock(); /* reports of other threads may copy the record from now on */
	r->free_stack = fstack;
	memcpy(r->freed_at, at, sizeof(r->freed_at));
	r->freed = 1;
	copy = *r;
	sp.nlive--;
	if (sp.qtail)
		sp.qtail->qnext = r;
	else
		sp.qhead = r;
	sp.qtail = r;
	sp.qn++;
	sp.qbytes += r->len;
	evict();
	unlock();
	if (over) {
		put(&o, "pooltag: special pool: overrun of block ");
		put_x(&o, (uintptr_t)copy.user);
		put(&o, " (tag ");
		put_tag(&o, copy.hdr.tag);
		put(&o, ", ");
		put_u(&o, copy.size);
		put(&o, " bytes) found at free: the fill after its end is overwritten at offsets ");
		put_u(&o, (uint64_t)(ofirst - copy.user));
		put(&o, "-");
		put_u(&o, (uint64_t)(olast - copy.user));
		put(&o, " (");
		put_u(&o, (uint64_t)(ofirst - copy.user) - copy.size);
		put(&o, " to ");
		put_u(&o, (uint64_t)(olast - copy.user) - copy.size);
		put(&o, " bytes past the end)");
		put_sites(&o, &copy, 0);
		deliver(PT_MISUSE_CORRUPTED, &copy, ofirst, copy.hdr.tag, site, text);
	}
	if (under) {
		o.n = 0;
		put(&o, "pooltag: special pool: underrun of block ");
		put_x(&o, (uintptr_t)copy.user);
		put(&o, " (tag ");
		put_tag(&o, copy.hdr.tag);
		put(&o, ", ");
		put_u(&o, copy.size);
		put(&o, " bytes) found at free: the fill before its header is overwritten ");
		put_u(&o, (uint64_t)(copy.user - ulast));
		put(&o, " to ");
		put_u(&o, (uint64_t)(copy.user - ufirst));
		put(&o, " bytes before its start");
		put_sites(&o, &copy, 0);
		deliver(PT_MISUSE_CORRUPTED, &copy, ufirst, copy.hdr.tag, site, text);
	}
}

/* For pool.c before it reads a header: if user is a special block in
 * quarantine, reports op on a freed block (with the acquiring and freeing
 * sites and stacks) and returns 1; its header is not readable.  If user is
 * a live special block whose header fails the check, reports the
 * corruption and returns 2.  0 otherwise. */
int pt_special_check(const void *user, const char *op, uint32_t used_tag,
		     const struct pt_site *site, int header_bad)
{
	struct blk *r, copy;
	char text[4096], at[120];
	struct out o = {text, sizeof(text), 0};

	lock();
	r = find(user);
	if (r)
		copy = *r;
	unlock();
	if (!r || (!copy.freed && !header_bad))
		return 0;
	site_text(at, sizeof(at), site);
	if (copy.freed) {
		put(&o, "pooltag: ");
		put(&o, op);
		put(&o, " of freed block ");
		put_x(&o, (uintptr_t)copy.user);
		put(&o, " (tag ");
		put_tag(&o, copy.hdr.tag);
		put(&o, ", ");
		put_u(&o, copy.size);
		put(&o, " bytes, special pool) at ");
		put(&o, at);
		put_sites(&o, &copy, 0);
		deliver(PT_MISUSE_BAD_POINTER, &copy, NULL, used_tag, site, text);
		return 1;
	}
	put(&o, "pooltag: ");
	put(&o, op);
	put(&o, " of block ");
	put_x(&o, (uintptr_t)copy.user);
	put(&o, " (tag ");
	put_tag(&o, copy.hdr.tag);
	put(&o, ", ");
	put_u(&o, copy.size);
	put(&o, " bytes, special pool) at ");
	put(&o, at);
	put(&o, ": its header is overwritten (an underrun)");
	put_sites(&o, &copy, 0);
	deliver(PT_MISUSE_CORRUPTED, &copy, NULL, used_tag, site, text);
	return 2;
}

/* ---- the fault handler ---- */

static void chain(int sig, siginfo_t *si, void *ctx)
{
	struct sigaction *old = sig == SIGBUS ? &sp.old_bus : &sp.old_segv;

	if (old->sa_flags & SA_SIGINFO) {
		if (old->sa_sigaction) {
			old->sa_sigaction(sig, si, ctx);
			return;
		}
	} else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
		old->sa_handler(sig);
		return;
	}
	/* The default: restore it and return; the access faults again and the
	 * process dies of it as if we had not been here (with a core). */
	sigaction(sig, old, NULL);
}

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
	int saved = errno, found = 0, is_write = -1;
	char *a = si->si_addr;
	struct blk copy;
	char text[8192];
	struct out o = {text, sizeof(text), 0};
	uintptr_t pc = 0;

	lock();
	for (struct blk *r = sp.all.next; sp.ready && r != &sp.all; r = r->next)
		if (a >= r->base && a < r->base + r->len) {
			copy = *r;
			found = 1;
			break;
		}
	unlock();
	if (!found) {
		chain(sig, si, ctx);
		errno = saved;
		return;
	}
#if defined(__x86_64__)
	{
		ucontext_t *uc = ctx;
		is_write = (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;
		pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	}
#endif
	put(&o, "pooltag: special pool: ");
	put(&o, is_write < 0 ? "access" : is_write ? "write" : "read");
	put(&o, " at ");
	put_x(&o, (uintptr_t)a);
	if (copy.freed)
		put(&o, ", a use after free of block ");
	else if (a >= copy.user)
		put(&o, ", an overrun of block ");
	else
		put(&o, ", an underrun of block ");
	put_x(&o, (uintptr_t)copy.user);
	put(&o, " (tag ");
	put_tag(&o, copy.hdr.tag);
	put(&o, ", ");
	put_u(&o, copy.size);
	put(&o, " bytes): offset ");
	if (a < copy.user) {
		put(&o, "-");
		put_u(&o, (uint64_t)(copy.user - a));
		put(&o, " (");
		put_u(&o, (uint64_t)(copy.user - a));
		put(&o, " bytes before its start)");
	} else {
		put_u(&o, (uint64_t)(a - copy.user));
		if ((uint64_t)(a - copy.user) >= copy.size) {
			put(&o, " (");
			put_u(&o, (uint64_t)(a - copy.user) - copy.size);
			put(&o, " bytes past its end)");
		}
	}
	if (pc) {
		struct pt_frame f;
		put(&o, "\n  accessed at ");
		if (pt_sym_trylock()) {
			pt_sym_unlock();
			pt_sym_lookup(pc, 0, &f);
			put(&o, f.func);
			if (f.file) {
				put(&o, " (");
				put(&o, f.file);
				put(&o, ":");
				put_u(&o, f.line);
				put(&o, ")");
			} else {
				put(&o, " (");
				put(&o, f.module);
				put(&o, "+");
				put_x(&o, f.offset);
				put(&o, ")");
			}
		} else {
			put_x(&o, pc);
		}
	}
	put_sites(&o, &copy, 1);
	deliver(PT_MISUSE_FAULT, &copy, a, 0, NULL, text);
	/* Still here: the action is to continue.  Open what faulted and let the
	 * access happen; the block stays what it was (live, or quarantined). */
	lock();
	for (struct blk *r = sp.all.next; r != &sp.all; r = r->next)
		if (r->base == copy.base && r->user == copy.user) {
			char *guard = r->guard_before ? r->base : r->base + r->data_len;
			r->opened = 1;
			if (a >= guard && a < guard + sp.page)
				mprotect(guard, sp.page, PROT_READ | PROT_WRITE);
			else
				mprotect(r->data, r->data_len, PROT_READ | PROT_WRITE);
			break;
		}
	unlock();
	errno = saved;
}

/* A stack of a live special block of slot, or 0: the sample a leak report
 * shows (special blocks are not in track.c's records). */
uint32_t pt_special_sample(uint32_t slot)
{
	uint32_t stack = 0;

	if (!__atomic_load_n(&sp.ready, __ATOMIC_ACQUIRE))
		return 0;
	lock();
	for (struct blk *r = sp.all.next; r != &sp.all && !stack; r = r->next)
		if (!r->freed && r->slot == slot)
			stack = r->stack;
	unlock();
	return stack;
}

/* ---- numbers, for tests ---- */

void pt_special_stats(struct pt_special_stats *out)
{
	lock();
	out->live = sp.nlive;
	out->quarantined = sp.qn;
	out->quarantined_bytes = sp.qbytes;
	unlock();
}

int pt_special_contains(const void *user)
{
	struct blk *r;
	int state;

	lock();
	r = find(user);
	state = !r ? 0 : r->freed ? 2 : 1;
	unlock();
	return state;
}
