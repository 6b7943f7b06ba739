/*
 * site.c - which counter slot an allocation is charged to: the module and
 * the line of the code that called the allocation function.
 *
 * The hot path is pt_run_site() (preload.h): a thread's direct-mapped cache
 * of return address -> info word, validated by one global generation that
 * changes only when a module is unloaded.  A miss reads the global table,
 * open addressing on the pc, read without a lock (an entry's info is stored
 * before its pc is published with release order; the table is replaced,
 * never rehashed in place, and old tables are kept so a reader holding one
 * stays safe).  A pc seen for the first time is registered under the site
 * lock: its module found with _dl_find_object, its function named from the
 * module's ELF symbol table (src/elfsym.c: read once per module, then a
 * bisection), its tag chosen, a struct pt_site made for it, and a counter
 * slot registered for it.  What comes from the dynamic linker and from
 * files (struct pc_facts) is learnt before the lock is taken: a constructor
 * inside dlopen, or a dl_iterate_phdr callback, may be allocating at a new
 * site of its own with the dynamic linker's lock held, waiting for the site
 * lock (lifecycle.c).  Nothing reads DWARF here: a site's file and line
 * are resolved with libdw (src/symbol.c) only when a report shows the site
 * (pt_run_site_locate), so a process that reports nothing never loads debug
 * information.  A site's function is named at registration, so a site of a
 * module unloaded later keeps its name; its line is then looked up before
 * the unload's report.
 *
 * Allocation wrappers (a site whose function the tag map says to skip):
 * the caller charged is found by walking the stack with src/unwind.c, a few
 * ns a frame, instead of backtrace()'s microseconds.
 *
 * Tags: a tag-map rule for the function, else one for the module, else the
 * module's default tag (pt_run_module_tag).
 *
 * Lock order: the site lock, then the library's (segment).  No call into
 * the dynamic linker or the symboliser (which calls it) is made under it.
 * Registration runs with pt_run_busy set, so what libdw or libc allocates
 * meanwhile is handed out uncounted and takes no lock.
 */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "preload.h"

#define MAX_RUN_MODULES 4096

__thread int pt_run_busy __attribute__((tls_model("initial-exec")));
__thread struct pt_run_tc pt_run_tc[PT_RUN_TC] __attribute__((tls_model("initial-exec")));
__thread uint32_t pt_run_tc_gen __attribute__((tls_model("initial-exec")));
uint32_t pt_run_gen = 1;
int pt_run_closing;

/* A pc's registration: its site descriptor (the registry's key for its
 * slots, memory and handles alike) and the module charged. */
struct run_site {
	struct pt_site site;
	uintptr_t pc;
	uint32_t module;
	uint32_t tag;
	uint64_t info;
	int looked;            /* file and line looked up (pt_run_site_locate): */
	struct pt_frame where; /* its result (interned strings); where.file NULL if none */
	struct run_site *next; /* hash chain */
};

struct pctab {
	uint32_t mask, n;
	struct pt_run_tc e[];
};

static struct {
	pthread_mutex_t lock;
	struct pctab *tab; /* published with release; read lock-free */
	struct run_site **sites; /* pc -> run_site, chained, under the lock */
	uint32_t sites_mask;
	struct pt_run_module mods[MAX_RUN_MODULES];
	uint32_t nmods;
	uintptr_t self_lo, self_hi; /* the interposer's own code */
	char *arena;                 /* bump allocation of run_sites and strings */
	size_t arena_left;
	struct run_site **by_slot;   /* a slot's registration, for pt_run_site_locate */
} st = {.lock = PTHREAD_MUTEX_INITIALIZER};

void pt_run_lock(void)
{
	pthread_mutex_lock(&st.lock);
}

void pt_run_unlock(void)
{
	pthread_mutex_unlock(&st.lock);
}

static void *map_zero(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Memory that lives as long as the process (lock held). */
static void *arena_alloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (n > st.arena_left) {
		size_t chunk = n > (1u << 20) ? n : (1u << 20);
		if (!(st.arena = map_zero(chunk)))
			return NULL;
		st.arena_left = chunk;
	}
	p = st.arena;
	st.arena += n;
	st.arena_left -= n;
	return p;
}

static const char *arena_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = arena_alloc(n);

	if (p)
		memcpy(p, s, n);
	return p ? p : "?";
}

static inline uint32_t pc_hash(uintptr_t pc)
{
	uint64_t x = pc * 0x9e3779b97f4a7c15ull;
	return (uint32_t)(x >> 32);
}

/* ---- the global table ---- */

static struct pctab *tab_new(uint32_t cap)
{
	struct pctab *t = map_zero(sizeof(*t) + cap * sizeof(t->e[0]));

	if (t)
		t->mask = cap - 1;
	return t;
}

static int tab_find(const struct pctab *t, uintptr_t pc, uint64_t *info)
{
	if (!t)
		return 0;
	for (uint32_t i = pc_hash(pc) & t->mask;; i = (i + 1) & t->mask) {
		uintptr_t k = __atomic_load_n(&t->e[i].pc, __ATOMIC_ACQUIRE);
		if (k == pc) {
			*info = __atomic_load_n(&t->e[i].info, __ATOMIC_RELAXED);
			return 1;
		}
		if (k == 0)
			return 0;
	}
}

static void tab_put(struct pctab *t, uintptr_t pc, uint64_t info)
{
	uint32_t i = pc_hash(pc) & t->mask;

	while (t->e[i].pc && t->e[i].pc != pc)
		i = (i + 1) & t->mask;
	__atomic_store_n(&t->e[i].info, info, __ATOMIC_RELAXED);
	if (!t->e[i].pc) {
		__atomic_store_n(&t->e[i].pc, pc, __ATOMIC_RELEASE);
		t->n++;
	}
}

static int pc_of_gone(uintptr_t pc, uint64_t info, const struct pt_run_module *gone);

/* A copy of the table with room to grow, leaving out the pcs of module gone
 * (NULL: none). */
static struct pctab *tab_copy(const struct pctab *old, uint32_t cap,
			      const struct pt_run_module *gone)
{
	struct pctab *t = tab_new(cap);

	if (t && old)
		for (uint32_t i = 0; i <= old->mask; i++)
			if (old->e[i].pc && !(gone && pc_of_gone(old->e[i].pc, old->e[i].info, gone)))
				tab_put(t, old->e[i].pc, old->e[i].info);
	return t;
}

/* Inserts (lock held), growing the table when it is half full. */
static void tab_insert(uintptr_t pc, uint64_t info)
{
	struct pctab *t = st.tab;

	if (!t || (t->n + 1) * 2 > t->mask + 1) {
		struct pctab *n = tab_copy(t, t ? (t->mask + 1) * 2 : 4096, NULL);
		if (!n)
			return; /* stays a miss: registered again next time, same slot */
		__atomic_store_n(&st.tab, n, __ATOMIC_RELEASE);
		t = n; /* the old table is kept: readers may still hold it */
	}
	tab_put(t, pc, info);
}

/* ---- modules ---- */

uint32_t pt_run_module_tag(const char *name, int is_program)
{
	char t[4] = {' ', ' ', ' ', ' '};
	const char *p = name;
	int n = 0;

	if (!is_program && strncmp(p, "lib", 3) == 0 && p[3] && p[3] != '.')
		p += 3;
	for (; *p && n < 4; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '.' && !is_program)
			break;
		if (c < 0x21 || c > 0x7e)
			c = '_';
		t[n++] = (char)(is_program ? c : tolower(c));
	}
	if (n == 0)
		t[n++] = '?';
	if (is_program)
		t[0] = (char)toupper((unsigned char)t[0]);
	return (uint32_t)(unsigned char)t[0] | (uint32_t)(unsigned char)t[1] << 8 |
	       (uint32_t)(unsigned char)t[2] << 16 | (uint32_t)(unsigned char)t[3] << 24;
}

static const char *const runtime_globs[] = {"libc.so*", "ld-linux*", "libstdc++.so*",
					    "libgcc_s.so*", "libpthread.so*", "libdl.so*",
					    "libm.so*", "librt.so*"};

static int is_runtime(const char *name)
{
	for (size_t i = 0; i < sizeof(runtime_globs) / sizeof(runtime_globs[0]); i++)
		if (fnmatch(runtime_globs[i], name, 0) == 0)
			return 1;
	return 0;
}

static uint32_t add_module(const char *name, const char *path, uintptr_t lo, uintptr_t hi,
			   uintptr_t bias, int is_program)
{
	struct pt_run_module *m;
	uint32_t id = is_program ? 0 : st.nmods;

	if (!is_program && (id >= MAX_RUN_MODULES || id >= pt_seg.hdr->max_modules))
		return 0; /* the table is full: the program takes the charge */
	m = &st.mods[id];
	memset(m, 0, sizeof(*m));
	m->lo = lo;
	m->hi = hi;
	m->bias = bias;
	m->path = arena_str(path);
	m->id = id;
	snprintf(m->name, sizeof(m->name), "%.255s", name);
	m->tag = pt_tagmap_match(&pt_run_cfg.map, PT_TAGMAP_MODULE, m->name);
	if (!m->tag)
		m->tag = pt_run_module_tag(m->name, is_program);
	m->runtime = !is_program && is_runtime(m->name);
	if (!is_program)
		st.nmods = id + 1;
	pt_seg_lock();
	if (!is_program)
		pt_registry_module(id, m->name, path, PT_SEG_MODULE_LOADED);
	if (!pt_registry_described(m->tag)) {
		char desc[320];
		snprintf(desc, sizeof(desc), "Allocated by %s%s", is_program ? "the program " : "",
			 m->name);
		pt_registry_describe(m->tag, desc, m->name);
	}
	pt_seg_unlock();
	return id;
}

/*
 * What registering pc needs from the dynamic linker and from the files of
 * its module, learnt before the site lock is taken (see the top).  The
 * object holding pc cannot go meanwhile: pc is a return address in the
 * calling thread's stack.
 */
struct pc_facts {
	int found;              /* the dynamic linker knows the object holding pc */
	int is_program;
	uintptr_t lo, hi, bias; /* its mapping and load bias */
	const char *path;       /* its file (the dynamic linker's string) */
	const char *func;       /* the function holding pc, NULL if no symbol does */
	int looked;             /* its line was looked up (a module with DWARF): */
	struct pt_frame where;  /* the result; where.file NULL if none */
};

/* The object part of the facts: no lock of the dynamic linker's taken. */
static void facts_object(uintptr_t pc, struct pc_facts *f)
{
	struct dl_find_object dlfo;
	const struct link_map *lm;

	memset(f, 0, sizeof(*f));
	if (_dl_find_object((void *)pc, &dlfo) == 0 && (lm = dlfo.dlfo_link_map)) {
		f->found = 1;
		f->lo = (uintptr_t)dlfo.dlfo_map_start;
		f->hi = (uintptr_t)dlfo.dlfo_map_end;
		f->bias = lm->l_addr;
		f->is_program = !lm->l_name || !*lm->l_name;
		f->path = f->is_program ? program_invocation_name : lm->l_name;
	}
}

static void facts_get(uintptr_t pc, struct pc_facts *f)
{
	facts_object(pc, f);
	/* A module with line information (a program built with -g) gets its
	 * line now, so the live segment shows it; one without (a distribution's
	 * binary) never loads libdw here: a report asks for the line later. */
	if (pt_elfsym_module(pc - 1) == PT_ELFSYM_DWARF) {
		f->looked = 1;
		if (pt_sym_lookup(pc, 1, &f->where) != 0)
			f->where.file = NULL;
	}
	f->func = f->looked && f->where.file && strcmp(f->where.func, "?")
			  ? f->where.func /* interned: stays valid */
			  : pt_elfsym_lookup(pc - 1, NULL); /* in the module's mapped table: stays */
}

/* Is module m (a plugin) the object the facts describe?  Not when m was
 * unloaded and another object loaded in its place before the dlclose hook
 * marked m gone (dl.c): both then cover the same addresses. */
static int same_object(const struct pt_run_module *m, const struct pc_facts *f)
{
	return !f->found || (m->bias == f->bias && m->path && !strcmp(m->path, f->path));
}

/* The module holding pc, registered if new (lock held). */
static uint32_t module_of(uintptr_t pc, const struct pc_facts *f)
{
	const char *base;

	for (uint32_t i = 0; i < st.nmods; i++)
		if (!st.mods[i].gone && pc >= st.mods[i].lo && pc < st.mods[i].hi &&
		    (i == 0 || same_object(&st.mods[i], f)))
			return i;
	if (!f->found)
		return 0; /* code the dynamic linker does not know (generated): the program's */
	if (f->is_program) {
		st.mods[0].lo = f->lo;
		st.mods[0].hi = f->hi;
		st.mods[0].bias = f->bias;
		return 0;
	}
	base = strrchr(f->path, '/');
	base = base ? base + 1 : f->path;
	return add_module(base, f->path, f->lo, f->hi, f->bias, 0);
}

const struct pt_run_module *pt_run_module_by_id(uint32_t id)
{
	return id < st.nmods ? &st.mods[id] : NULL;
}

void pt_run_modules(void (*fn)(const struct pt_run_module *m, void *arg), void *arg)
{
	for (uint32_t i = 0; i < st.nmods; i++)
		fn(&st.mods[i], arg);
}

/* ---- registration ---- */

/* The registration of pc (lock held), the newest first; with f, only one
 * made for the object the facts describe (a plugin unloaded whose dlclose
 * is not through yet may have left one of its own, see pt_run_closing). */
static struct run_site *site_lookup(uintptr_t pc, const struct pc_facts *f)
{
	struct run_site *s;

	if (!st.sites)
		return NULL;
	for (s = st.sites[pc_hash(pc) & st.sites_mask]; s; s = s->next)
		if (s->pc == pc && (!f || s->module == 0 || same_object(&st.mods[s->module], f)))
			return s;
	return NULL;
}

/* Remembers which registration slot belongs to (lock held). */
static void by_slot_set(uint32_t slot, struct run_site *s)
{
	if (!st.by_slot)
		st.by_slot = map_zero(pt_seg.hdr->max_slots * sizeof(*st.by_slot));
	if (st.by_slot && slot && slot < pt_seg.hdr->max_slots)
		st.by_slot[slot] = s;
}

/* Registers pc from its facts (lock held, busy set), unless another thread
 * did meanwhile; NULL when out of memory. */
static struct run_site *site_make(uintptr_t pc, const struct pc_facts *f)
{
	struct run_site *s = site_lookup(pc, f);
	const struct pt_run_module *m;
	uint32_t tag, slot, h;
	char buf[64];

	if (s)
		return s;
	if (!st.sites) {
		st.sites_mask = (1u << 16) - 1;
		st.sites = map_zero((st.sites_mask + 1) * sizeof(*st.sites));
		if (!st.sites)
			return NULL;
	}
	s = arena_alloc(sizeof(*s));
	if (!s)
		return NULL;
	s->pc = pc;
	s->module = module_of(pc, f);
	m = &st.mods[s->module];
	s->looked = f->looked;
	s->where = f->where;
	if (f->func) {
		s->site.func = f->func;
	} else {
		snprintf(buf, sizeof(buf), "%s+0x%lx", m->name, (unsigned long)(pc - 1 - m->lo));
		s->site.func = arena_str(buf);
	}
	if (s->looked && s->where.file) {
		s->site.file = s->where.file;
		s->site.line = s->where.line;
	} else {
		s->site.file = arena_str(m->name);
		s->site.line = 0; /* looked up when a report shows the site */
	}
	tag = pt_tagmap_match(&pt_run_cfg.map, PT_TAGMAP_FUNC, s->site.func);
	s->tag = tag ? tag : m->tag;
	pt_seg_lock();
	slot = pt_registry_slot_in(&s->site, s->tag, PT_SEG_CLASS_PAGED, s->module);
	pt_seg_unlock();
	by_slot_set(slot, s);
	s->info = slot | (uint64_t)s->tag << 32;
	if (pt_tagmap_match(&pt_run_cfg.map, PT_TAGMAP_SKIP, s->site.func))
		s->info |= PT_RUN_WRAP;
	h = pc_hash(pc) & st.sites_mask;
	s->next = st.sites[h];
	st.sites[h] = s;
	return s;
}

/* The registration of pc, made if new (busy set, the lock not held);
 * returns with the site lock held.  NULL for the interposer's own code or
 * when out of memory.  A new pc's facts are learnt between two holds of
 * the lock, so two threads may both learn them: the first to register wins. */
static struct run_site *site_locked(uintptr_t pc)
{
	int check = __atomic_load_n(&pt_run_closing, __ATOMIC_ACQUIRE) != 0;
	struct run_site *s;
	struct pc_facts f;

	if (check)
		facts_object(pc, &f);
	pthread_mutex_lock(&st.lock);
	s = site_lookup(pc, check ? &f : NULL);
	if (s || (pc >= st.self_lo && pc < st.self_hi))
		return s;
	pthread_mutex_unlock(&st.lock);
	facts_get(pc, &f);
	pthread_mutex_lock(&st.lock);
	return site_make(pc, &f);
}

static void tc_flush(void)
{
	memset(pt_run_tc, 0, sizeof(pt_run_tc));
	pt_run_tc_gen = __atomic_load_n(&pt_run_gen, __ATOMIC_ACQUIRE);
}

uint64_t pt_run_site_miss(uintptr_t pc)
{
	struct pt_run_tc *e = &pt_run_tc[(pc ^ (pc >> 10)) & (PT_RUN_TC - 1)];
	uint64_t info = 0;
	int known;

	if (pt_run_tc_gen != __atomic_load_n(&pt_run_gen, __ATOMIC_ACQUIRE))
		tc_flush();
	known = tab_find(__atomic_load_n(&st.tab, __ATOMIC_ACQUIRE), pc, &info);
	/* While a dlclose is under way the table may hold an unmapped object's
	 * pc: the registration checks it against the object there now. */
	if (!known || __atomic_load_n(&pt_run_closing, __ATOMIC_ACQUIRE)) {
		struct run_site *s;

		if (pt_run_busy || pt_sym_held() || !__atomic_load_n(&pt_run_ready, __ATOMIC_ACQUIRE))
			return known ? info : 0; /* nested in a hook's slow work, or before start-up */
		pt_run_busy = 1;
		s = site_locked(pc);
		known = tab_find(st.tab, pc, &info);
		if (!known || (s && info != s->info)) {
			info = s ? s->info : 0;
			tab_insert(pc, info);
		}
		pthread_mutex_unlock(&st.lock);
		pt_run_busy = 0;
	}
	e->pc = pc;
	e->info = info;
	return info;
}

/* The walk of pt_run_unwrap: frames up to the wrapper's site are passed
 * over; above it, the first frame outside the wrappers gives the site. */
struct unwrap {
	uintptr_t pc;  /* the wrapper's site */
	uint64_t info; /* the answer so far */
	int above;     /* the wrapper's site was met */
	unsigned left; /* frames still allowed: to meet it, then above it */
};

static int unwrap_frame(uintptr_t pc, void *arg)
{
	struct unwrap *u = arg;
	uint64_t up;

	if (!u->above) {
		if (pc != u->pc)
			return --u->left == 0; /* not within 32 frames: given up */
		u->above = 1;
		u->left = 32;
		return 0;
	}
	up = pt_run_site(pc);
	if (!PT_RUN_INFO_SLOT(up))
		return 1; /* the interposer's own code, or busy: the wrapper's own site */
	if (!(up & PT_RUN_WRAP)) {
		u->info = up;
		return 1;
	}
	return --u->left == 0;
}

/* The first caller outside the wrappers, found by unwinding frame by frame
 * as far as needed: usually the hook's frames, the wrapper's and its
 * caller's, whose rules stay cached (an allocation's callers are many, and
 * stepping through them would miss the rule cache on each).  pc is the
 * wrapper's site, a return address in the stack; at most 32 wrappers deep. */
uint64_t pt_run_unwrap(uintptr_t pc, uint64_t info)
{
	struct unwrap u = {pc, info & ~PT_RUN_WRAP, 0, 32};

	if (!pt_run_busy)
		pt_unwind_each(1, unwrap_frame, &u);
	return u.info;
}

void pt_run_site_locate(uint32_t slot)
{
	struct run_site *s;
	int was = pt_run_busy;

	pt_run_busy = 1;
	pthread_mutex_lock(&st.lock);
	s = st.by_slot && slot < pt_seg.hdr->max_slots ? st.by_slot[slot] : NULL;
	if (s && !s->looked) {
		const struct pt_run_module *m = &st.mods[s->module];
		const char *path = m->path;
		uintptr_t pc = s->pc, bias = m->bias;
		int gone = m->gone, r;
		struct pt_frame where;

		/* libdw and the dynamic linker, without the lock (lifecycle.c). */
		pthread_mutex_unlock(&st.lock);
		if (gone) /* unloaded: its file tells */
			r = path ? pt_sym_offline(path, pc - bias, 1, &where) : -1;
		else
			r = pt_sym_lookup(pc, 1, &where);
		pthread_mutex_lock(&st.lock);
		/* Unloaded meanwhile: what the live lookup found may be another
		 * module's; the next call reads the file. */
		if (!s->looked && gone == m->gone) {
			s->looked = 1;
			s->where = where;
			if (r != 0)
				s->where.file = NULL;
		}
	}
	/* A site has a slot per kind (memory, descriptors): each gets it. */
	if (s && s->looked && s->where.file && !pt_seg.slots[slot].line) {
		pt_seg_lock();
		pt_registry_locate(slot, strcmp(s->where.func, "?") ? s->where.func : s->site.func,
				   s->where.file, s->where.line);
		pt_seg_unlock();
	}
	pthread_mutex_unlock(&st.lock);
	pt_run_busy = was;
}

uint32_t pt_run_handle_slot(uintptr_t pc, uint32_t tag)
{
	struct run_site *s;
	uint32_t slot = 0;

	if (pt_run_busy || pt_sym_held() || !__atomic_load_n(&pt_run_ready, __ATOMIC_ACQUIRE))
		return 0;
	pt_run_busy = 1;
	s = site_locked(pc);
	if (s) {
		pt_seg_lock();
		slot = pt_registry_slot_in(&s->site, tag, PT_SEG_CLASS_HANDLES, s->module);
		pt_seg_unlock();
		by_slot_set(slot, s);
	}
	pthread_mutex_unlock(&st.lock);
	pt_run_busy = 0;
	return slot;
}

/* Was pc registered for module gone?  A pc in its range registered for
 * another module belongs to the object loaded in its place since. */
static int pc_of_gone(uintptr_t pc, uint64_t info, const struct pt_run_module *gone)
{
	uint32_t slot = PT_RUN_INFO_SLOT(info);
	const struct run_site *s;

	if (pc < gone->lo || pc >= gone->hi)
		return 0;
	if (slot && pt_seg.slots[slot].module == gone->id)
		return 1;
	s = site_lookup(pc, NULL);
	return !s || s->module == gone->id;
}

uint32_t pt_run_module_gone(uintptr_t addr, const char *path)
{
	uint32_t id = 0;
	struct pctab *t;

	for (uint32_t i = 1; i < st.nmods; i++) {
		struct pt_run_module *m = &st.mods[i];
		if (m->gone || addr < m->lo || addr >= m->hi || !m->path || strcmp(m->path, path))
			continue;
		m->gone = 1;
		id = i;
		/* Its pcs may be reused by the next module mapped there. */
		t = tab_copy(st.tab, st.tab ? st.tab->mask + 1 : 4096, m);
		if (t)
			__atomic_store_n(&st.tab, t, __ATOMIC_RELEASE);
		for (uint32_t h = 0; st.sites && h <= st.sites_mask; h++)
			for (struct run_site **p = &st.sites[h]; *p;)
				if ((*p)->module == id)
					*p = (*p)->next;
				else
					p = &(*p)->next;
		__atomic_add_fetch(&pt_run_gen, 1, __ATOMIC_RELEASE);
		pt_seg_lock();
		pt_registry_forget_module(id);
		pt_registry_module(id, m->name, m->name, PT_SEG_MODULE_UNLOADED);
		pt_seg_unlock();
		break;
	}
	return id;
}

/* The tags of descriptors (fds.c), described for pooltag used and refs. */
static const char *const handle_kinds[][2] = {
	{"File", "Descriptors of files (open, creat, fopen, mkstemp, dup of a file)"},
	{"Sock", "Descriptors of sockets (socket, socketpair, accept)"},
	{"Pipe", "Descriptors of pipes (pipe, pipe2)"},
	{"Dir ", "Descriptors of directory streams (opendir)"},
	{"Evnt", "Descriptors of event counters (eventfd)"},
	{"Timr", "Descriptors of timers (timerfd_create)"},
	{"Sigf", "Descriptors of signal queues (signalfd)"},
	{"Epol", "Descriptors of epoll instances (epoll_create)"},
	{"Inot", "Descriptors of inotify instances (inotify_init)"},
	{"Memf", "Descriptors of memory files (memfd_create)"},
};

void pt_run_site_init(void)
{
	struct dl_find_object self;

	if (_dl_find_object((void *)&pt_run_site_init, &self) == 0) {
		st.self_lo = (uintptr_t)self.dlfo_map_start;
		st.self_hi = (uintptr_t)self.dlfo_map_end;
	}
	st.nmods = 1;
	snprintf(st.mods[0].name, sizeof(st.mods[0].name), "%s", program_invocation_short_name);
	st.mods[0].tag = pt_tagmap_match(&pt_run_cfg.map, PT_TAGMAP_MODULE, st.mods[0].name);
	if (!st.mods[0].tag)
		st.mods[0].tag = pt_run_module_tag(st.mods[0].name, 1);
	pt_seg_lock();
	if (!pt_registry_described(st.mods[0].tag)) {
		char desc[320];
		snprintf(desc, sizeof(desc), "Allocated by the program %s", st.mods[0].name);
		pt_registry_describe(st.mods[0].tag, desc, st.mods[0].name);
	}
	for (size_t i = 0; i < sizeof(handle_kinds) / sizeof(handle_kinds[0]); i++)
		pt_registry_describe(pt_tag_make(handle_kinds[i][0]), handle_kinds[i][1],
				     "pooltag run");
	pt_seg_unlock();
}
