/*
 * group.c - what `pooltag run` reports of memory: the blocks still live,
 * classified by the exit scan (reach.c) and grouped by call path.
 *
 * A group is (kind, call stack): every lost block allocated by the same
 * stack is one group, and the blocks only it holds (indirectly lost) are
 * counted under it.  Without stacks (--no-stacks) the stack is replaced by
 * the allocating site: today's per-site mode.  The headline of a group is
 * the first frame of the program's own code: frames of the C runtime
 * (libc, the dynamic linker, libstdc++, libgcc), of the C++ standard
 * library inlined into the program (std::, __gnu_cxx::, operator new) and
 * of the allocation wrappers (the skip list of config.c and --skip) are
 * passed over; when every frame is one of those, the innermost is shown.
 *
 * Findings: each lost group not charged to the C runtime, and each site
 * holding blocks the scan could not see (aligned or special-pool blocks,
 * which carry no record).  Reachable memory is one summary line, listed by
 * group with --show-reachable.  At a dlclose (module != UINT32_MAX) there
 * is no scan: the program goes on and may still free what the object
 * allocated, so what its sites hold is listed per site.
 */
#include <dlfcn.h>
#include <fnmatch.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "preload.h"
#include "reach.h"
#include "safestr.h"

#define SHOW_GROUPS 32 /* lost groups listed, then a count of the rest */
#define SHOW_FRAMES 16

enum { KIND_HELD = 4 }; /* live, not scanned (beside PT_REACH_*) */

struct grp {
	uint32_t kind, stack, slot, module;
	int rt; /* charged to the C runtime, no frame of the program's own in its stack */
	int suppressed; /* covered by a suppression (suppress.c): no finding, not listed */
	uint64_t count, bytes;   /* the group's own blocks */
	uint64_t icount, ibytes; /* indirectly lost under them */
};

struct pt_run_mem {
	uint32_t module;
	int scanned;
	struct pt_reach scan;
	struct grp *g;
	size_t ng, cap;
	uint64_t lost_blocks, lost_bytes; /* findings: lost (with indirect) and held */
	uint64_t reach_blocks, reach_bytes;
	uint64_t rt_blocks, rt_bytes; /* lost or held by the C runtime: no finding */
	int findings;
};

static const char *str(uint32_t off)
{
	return pt_seg.strings + off;
}

static const struct pt_run_module *module(uint32_t id)
{
	return pt_run_module_by_id(id);
}

static const char *module_name(uint32_t id)
{
	const struct pt_run_module *m = module(id);
	return m ? m->name : "?";
}

static int is_runtime(uint32_t id)
{
	const struct pt_run_module *m = module(id);
	return m && m->runtime;
}

/* ---- names of frames of unloaded objects ---- */

struct kept {
	uintptr_t pc;
	struct pt_frame fr[4];
	int n;
};

static struct {
	struct kept *v;
	size_t n, cap;
	struct {
		uintptr_t lo, hi;
	} gone[256];
	unsigned ngone;
} keep;

struct obj_range {
	uintptr_t addr, lo, hi;
};

static int range_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct obj_range *q = arg;
	uintptr_t lo = 0, hi = 0;
	int in = 0;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a = info->dlpi_addr + ph->p_vaddr, b = a + ph->p_memsz;
		if (ph->p_type != PT_LOAD)
			continue;
		if (!lo || a < lo)
			lo = a;
		if (b > hi)
			hi = b;
		in |= q->addr >= a && q->addr < b;
	}
	if (in) {
		q->lo = lo;
		q->hi = hi;
	}
	return in;
}

struct ids {
	uint32_t *v;
	size_t n, cap;
};

static void stack_cb(struct pt_trec *r, void *arg)
{
	struct ids *l = arg;

	if (!r->stack)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		uint32_t *v = realloc(l->v, cap * sizeof(*v)); /* busy: an untracked block */
		if (!v)
			return;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = r->stack;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static const struct kept *kept_find(uintptr_t pc)
{
	for (size_t i = 0; i < keep.n; i++)
		if (keep.v[i].pc == pc)
			return &keep.v[i];
	return NULL;
}

void pt_run_names_keep(uintptr_t addr)
{
	struct obj_range q = {.addr = addr};
	struct ids ids = {0};
	int was = pt_run_busy;

	if (!(pt_track_flags() & PT_TRACK_STACKS) || !dl_iterate_phdr(range_cb, &q))
		return;
	pt_run_busy = 1; /* what is allocated here is the interposer's */
	pt_track_each(stack_cb, &ids);
	qsort(ids.v, ids.n, sizeof(*ids.v), cmp_u32);
	for (size_t i = 0; i < ids.n; i++) {
		uintptr_t pcs[PT_STACK_DEPTH];
		unsigned npc;
		if (i && ids.v[i] == ids.v[i - 1])
			continue;
		npc = pt_stack_pcs(ids.v[i], pcs, PT_STACK_DEPTH);
		for (unsigned k = 0; k < npc && k < PT_STACK_DEPTH; k++) {
			struct kept *e;
			if (pcs[k] < q.lo || pcs[k] >= q.hi || kept_find(pcs[k]))
				continue;
			if (keep.n == keep.cap) {
				size_t cap = keep.cap ? keep.cap * 2 : 64;
				struct kept *v = realloc(keep.v, cap * sizeof(*v));
				if (!v)
					break;
				keep.v = v;
				keep.cap = cap;
			}
			e = &keep.v[keep.n++];
			e->pc = pcs[k];
			e->n = pt_sym_lookup_inline(pcs[k], 1, e->fr, 4);
			if (e->n > 4)
				e->n = 4;
			if (e->n < 1)
				e->n = 1;
		}
	}
	free(ids.v);
	if (keep.ngone < sizeof(keep.gone) / sizeof(keep.gone[0])) {
		keep.gone[keep.ngone].lo = q.lo;
		keep.gone[keep.ngone].hi = q.hi;
		keep.ngone++;
	}
	pt_run_busy = was;
}

/* The frames (inline chain, innermost first) at return address pc. */
static int frames_at(uintptr_t pc, struct pt_frame *fr, int max)
{
	struct obj_range q = {.addr = pc};
	int n;

	for (unsigned i = 0; i < keep.ngone; i++)
		if (pc >= keep.gone[i].lo && pc < keep.gone[i].hi && !dl_iterate_phdr(range_cb, &q)) {
			const struct kept *e = kept_find(pc);
			if (e) {
				n = e->n < max ? e->n : max;
				memcpy(fr, e->fr, (size_t)n * sizeof(*fr));
				return n;
			}
		}
	n = pt_sym_lookup_inline(pc, 1, fr, (unsigned)max);
	if (n < 1) {
		fr[0] = (struct pt_frame){.pc = pc, .module = "?", .func = "?"};
		n = 1;
	}
	if (!fr[0].func || strcmp(fr[0].func, "?") == 0) {
		/* No symbol holds pc (a stripped binary): the nearest dynamic
		 * symbol below it, with the offset, rather than a bare address. */
		Dl_info di;
		char *name;
		if (dladdr((void *)(pc - 1), &di) && di.dli_sname && di.dli_saddr &&
		    asprintf(&name, "%s+0x%lx", di.dli_sname,
			     (unsigned long)(pc - 1 - (uintptr_t)di.dli_saddr)) >= 0)
			fr[0].func = name; /* kept: the report lives until exit */
	}
	return n > max ? max : n;
}

/* ---- the program's own code ---- */

static int prefix(const char *s, const char *p)
{
	return s && strncmp(s, p, strlen(p)) == 0;
}

static int runtime_module(const char *m)
{
	static const char *const globs[] = {"libc.so*",  "ld-linux*", "libstdc++.so*", "libgcc_s.so*",
					    "libpthread.so*", "libdl.so*", "libm.so*", "librt.so*",
					    "libpooltag*"};

	for (size_t i = 0; i < sizeof(globs) / sizeof(globs[0]); i++)
		if (m && fnmatch(globs[i], m, 0) == 0)
			return 1;
	return 0;
}

/* A source file of the C++ standard library, by its base name: headers
 * without an extension (vector, string), .tcc files, and the bits/ headers
 * allocations pass through. */
static int std_header(const char *file)
{
	static const char *const globs[] = {"*.tcc", "stl_*.h", "basic_string.h", "cow_string.h",
					    "new_allocator.h", "alloc_traits.h", "allocator.h",
					    "char_traits.h", "unique_ptr.h", "shared_ptr*.h",
					    "hashtable*.h", "move.h", "ptr_traits.h", "std_function.h",
					    "allocated_ptr.h", "invoke.h", "node_handle.h",
					    "stl_construct.h", "functional_hash.h", "ios_base.h",
					    "locale_facets*.h", "std_thread.h", "regex*.h", "string_view"};

	if (!file)
		return 0;
	if (!strchr(file, '.'))
		return 1;
	for (size_t i = 0; i < sizeof(globs) / sizeof(globs[0]); i++)
		if (fnmatch(globs[i], file, 0) == 0)
			return 1;
	return 0;
}

/* A frame that is not the program's own code: the runtime, the C++
 * standard library (inlined into the program too), a wrapper. */
static int not_own(const struct pt_frame *f)
{
	const char *fn = f->func;

	if (runtime_module(f->module) || std_header(f->file))
		return 1;
	if (prefix(fn, "std::") || prefix(fn, "__gnu_cxx::") || prefix(fn, "operator new") ||
	    prefix(fn, "_ZNSt") || prefix(fn, "_ZNKSt") || prefix(fn, "_ZSt") ||
	    prefix(fn, "_ZN9__gnu_cxx") || prefix(fn, "_ZNK9__gnu_cxx") || prefix(fn, "_Znw") ||
	    prefix(fn, "_Zna") || prefix(fn, "pt_"))
		return 1;
	return fn && pt_tagmap_match(&pt_run_cfg.map, PT_TAGMAP_SKIP, fn) != 0;
}

/* The modules a report showed frames of by offset alone (no symbol, no
 * line): named once under the report, with where names would come from. */
static struct {
	const char *module[8]; /* interned names (symbol.c): compared by pointer */
	unsigned n;
} bare;

static void frame_text(FILE *f, const struct pt_frame *fr)
{
	if (fr->file && fr->line) {
		pt_run_put_where(f, fr->file, fr->line, fr->func);
	} else if (strcmp(fr->func, "?") != 0) {
		pt_safe_put(f, fr->func);
		fputs(" (", f);
		pt_safe_put(f, fr->module);
		fprintf(f, "+0x%jx)", (uintmax_t)fr->offset);
	} else if (strcmp(fr->module, "?") != 0) {
		unsigned i = 0;
		pt_safe_put(f, fr->module);
		fprintf(f, "+0x%jx", (uintmax_t)fr->offset);
		while (i < bare.n && bare.module[i] != fr->module)
			i++;
		if (i == bare.n && bare.n < sizeof(bare.module) / sizeof(bare.module[0]))
			bare.module[bare.n++] = fr->module;
	} else
		fprintf(f, "%#jx", (uintmax_t)fr->pc);
}

static void site_text(FILE *f, uint32_t slot)
{
	const struct pt_seg_slot *s = &pt_seg.slots[slot];

	pt_run_put_where(f, s->line ? str(s->file) : NULL, s->line, str(s->func));
}

/* The frame at return address pc from the symbol tables alone (module
 * and function, no line, no inline chain): no debug information is read. */
static int frame_cheap(uintptr_t pc, struct pt_frame *fr)
{
	Dl_info di;
	const char *b;

	*fr = (struct pt_frame){.pc = pc, .module = "?", .func = "?"};
	if (dladdr((void *)(pc - 1), &di) && di.dli_fname) {
		b = strrchr(di.dli_fname, '/');
		fr->module = b ? b + 1 : di.dli_fname;
		if (!*fr->module)
			fr->module = pt_run_module_name(0);
		fr->offset = pc - (uintptr_t)di.dli_fbase;
		if (di.dli_sname)
			fr->func = di.dli_sname;
	}
	if ((b = pt_elfsym_lookup(pc - 1, NULL)))
		fr->func = b;
	return 1;
}

/* Is pc in the C library or the dynamic linker (asked of the dynamic
 * linker, no symbol read)? */
static int startup_pc(uintptr_t pc)
{
	Dl_info di;
	const char *b;

	if (!dladdr((void *)(pc - 1), &di) || !di.dli_fname)
		return 0;
	b = strrchr(di.dli_fname, '/');
	b = b ? b + 1 : di.dli_fname;
	return prefix(b, "libc.so") || prefix(b, "ld-linux");
}

/* A group's stack, symbolised: frames [lo, hi) are shown (the
 * interposer's and start-up's left out), head is the headline's (-1: no
 * frame of the program's own). */
struct gstack {
	struct pt_frame fr[PT_STACK_DEPTH * 2];
	int n, lo, hi, head;
};

/*
 * Symbolises g's stack into s.  Frames outside main (the C library's
 * start-up) are never shown, so the walk stops at main: loading the C
 * library's debug information (compressed, most of a short run's cost)
 * is left to reports that show one of its frames.  cheap: the symbol
 * tables only (frame_cheap), for a decision that needs no line.
 */
static void gstack_get(const struct grp *g, struct gstack *s, int cheap)
{
	uintptr_t pcs[PT_STACK_DEPTH];
	unsigned npc = g->stack ? pt_stack_pcs(g->stack, pcs, PT_STACK_DEPTH) : 0;

	if (npc > PT_STACK_DEPTH)
		npc = PT_STACK_DEPTH;
	/* The outermost frames in the C library or the dynamic linker are a
	 * thread's start-up, never shown (see below): not symbolised either. */
	while (!cheap && npc > 1 && startup_pc(pcs[npc - 1]))
		npc--;
	s->n = 0;
	for (unsigned i = 0; i < npc && s->n < PT_STACK_DEPTH * 2; i++) {
		struct pt_frame *fr = s->fr + s->n;
		int k = cheap ? frame_cheap(pcs[i], fr) : frames_at(pcs[i], fr, PT_STACK_DEPTH * 2 - s->n);
		if (prefix(fr->module, "libpooltag")) /* the interposer's hooks */
			continue;
		s->n += k;
		if (!fr[k - 1].inlined && fr[k - 1].func && strcmp(fr[k - 1].func, "main") == 0)
			break;
	}
	s->lo = 0;
	s->hi = s->n;
	for (int i = s->lo; i < s->n; i++) {
		if (!s->fr[i].inlined && s->fr[i].func && strcmp(s->fr[i].func, "main") == 0) {
			s->hi = i + 1;
			break;
		}
		if (i > s->lo && (prefix(s->fr[i].func, "__libc_start_call_main") ||
				  prefix(s->fr[i].func, "__libc_start_main"))) {
			s->hi = i; /* main without a name (a stripped program) was the frame before */
			break;
		}
	}
	while (s->hi > s->lo + 1 && (prefix(s->fr[s->hi - 1].module, "libc.so") ||
				     prefix(s->fr[s->hi - 1].module, "ld-linux")))
		s->hi--; /* thread start-up */
	s->head = -1;
	for (int i = s->lo; i < s->hi && s->head < 0; i++)
		if (!not_own(&s->fr[i]))
			s->head = i;
}

/* A group's headline and, below it, its stack (one frame a line). */
static void group_text(FILE *f, const struct grp *g, int with_stack)
{
	struct gstack s;

	gstack_get(g, &s, 0);
	if (s.lo >= s.hi) {
		site_text(f, g->slot); /* no stack: the site */
		fputc('\n', f);
		return;
	}
	frame_text(f, &s.fr[s.head >= 0 ? s.head : s.lo]);
	fputc('\n', f);
	if (!with_stack)
		return;
	for (int i = s.lo, shown = 0; i < s.hi; i++, shown++) {
		if (shown == SHOW_FRAMES) {
			fprintf(f, "        ...\n");
			break;
		}
		fprintf(f, "        #%d ", shown);
		frame_text(f, &s.fr[i]);
		if (s.fr[i].inlined)
			fprintf(f, " (inlined)");
		fputc('\n', f);
	}
}

/* Charged to the C runtime: by its site, unless its stack shows the
 * program's own code (a std::string's buffer the program leaked). */
static int group_rt(const struct grp *g)
{
	struct gstack s;

	if (!is_runtime(g->module))
		return 0;
	if (!g->stack)
		return 1;
	gstack_get(g, &s, 1);
	/* The C library's or the dynamic linker's own work on the program's
	 * behalf (a thread's DTV) stays theirs; the C++ library's is the
	 * program's. */
	for (int i = s.lo; i < s.head; i++)
		if (runtime_module(s.fr[i].module) && !prefix(s.fr[i].module, "libstdc++") &&
		    !(s.fr[i].func && pt_tagmap_match(&pt_run_cfg.map, PT_TAGMAP_SKIP, s.fr[i].func)))
			return 1;
	return s.head < 0;
}

/* ---- collecting ---- */

static struct grp *group_new(struct pt_run_mem *m, uint32_t kind, uint32_t stack, uint32_t slot)
{
	if (m->ng == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct grp *v = realloc(m->g, cap * sizeof(*v));
		if (!v)
			return NULL;
		m->g = v;
		m->cap = cap;
	}
	m->g[m->ng] = (struct grp){kind, stack, slot, pt_seg.slots[slot].module, 0, 0, 0, 0, 0, 0};
	return &m->g[m->ng++];
}

/* Groups keyed by (kind, stack, slot): a hash of the key to the group's
 * index, so that millions of blocks group in linear time. */
struct gmap {
	uint32_t *idx; /* index + 1, 0 empty */
	size_t mask;
};

static uint64_t gkey_hash(uint32_t kind, uint32_t stack, uint32_t slot)
{
	uint64_t x = ((uint64_t)stack << 32 | slot) * 0x9e3779b97f4a7c15ull ^ kind;
	return x ^ (x >> 29);
}

static struct grp *gmap_get(struct pt_run_mem *m, struct gmap *h, uint32_t kind, uint32_t stack,
			    uint32_t slot)
{
	size_t i = gkey_hash(kind, stack, slot) & h->mask;
	struct grp *g;

	for (; h->idx[i]; i = (i + 1) & h->mask) {
		g = &m->g[h->idx[i] - 1];
		if (g->kind == kind && g->stack == stack && g->slot == slot)
			return g;
	}
	if (m->ng * 2 >= h->mask) {
		size_t nm = (h->mask + 1) * 2 - 1;
		uint32_t *ni = calloc(nm + 1, sizeof(*ni));
		if (!ni)
			return NULL;
		for (size_t k = 0; k < m->ng; k++) {
			size_t j = gkey_hash(m->g[k].kind, m->g[k].stack, m->g[k].slot) & nm;
			while (ni[j])
				j = (j + 1) & nm;
			ni[j] = (uint32_t)k + 1;
		}
		free(h->idx);
		h->idx = ni;
		h->mask = nm;
		for (i = gkey_hash(kind, stack, slot) & h->mask; h->idx[i]; i = (i + 1) & h->mask)
			;
	}
	g = group_new(m, kind, stack, slot);
	if (g)
		h->idx[i] = (uint32_t)(g - m->g) + 1;
	return g;
}

/* Blocks of the scan into groups; per slot, what the scan saw. */
static void group_scan(struct pt_run_mem *m, uint64_t *seen, uint64_t *seen_bytes, uint32_t nslots)
{
	struct pt_reach *r = &m->scan;
	struct gmap h = {calloc(1024, sizeof(uint32_t)), 1023};
	uint32_t *gi = malloc((r->n ? r->n : 1) * sizeof(*gi));

	if (!h.idx || !gi)
		goto out;
	for (size_t i = 0; i < r->n; i++) {
		const struct pt_reach_block *b = &r->b[i];
		struct grp *g;
		if (b->slot >= nslots)
			continue;
		seen[b->slot]++;
		seen_bytes[b->slot] += b->end - b->beg;
		if (b->state != PT_REACH_REACHABLE && b->state != PT_REACH_LOST)
			continue;
		g = gmap_get(m, &h, b->state, b->stack, b->slot);
		if (!g)
			continue;
		g->count++;
		g->bytes += b->end - b->beg;
		gi[i] = (uint32_t)(g - m->g);
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct pt_reach_block *b = &r->b[i];
		if (b->state == PT_REACH_INDIRECT && b->slot < nslots &&
		    r->b[b->owner].state == PT_REACH_LOST && r->b[b->owner].slot < nslots) {
			struct grp *g = &m->g[gi[b->owner]];
			g->icount++;
			g->ibytes += b->end - b->beg;
		}
	}
out:
	free(h.idx);
	free(gi);
}

static int by_kind_bytes(const void *a, const void *b)
{
	const struct grp *x = a, *y = b;
	uint64_t bx = x->bytes + x->ibytes, by = y->bytes + y->ibytes;

	if ((x->kind == PT_REACH_REACHABLE) != (y->kind == PT_REACH_REACHABLE))
		return x->kind == PT_REACH_REACHABLE ? 1 : -1;
	if (x->rt != y->rt)
		return x->rt ? 1 : -1;
	if (bx != by)
		return bx > by ? -1 : 1;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* The live blocks and bytes of every paged slot, read while the scan has
 * the other threads stopped: compared with what the scan saw, a block a
 * running thread allocated or freed since would read as held. */
struct live_counts {
	uint32_t nslots;
	uint64_t *blocks, *bytes;
};

static void read_counts(void *arg)
{
	struct live_counts *lc = arg;

	for (uint32_t slot = 1 + PT_SEG_NCLASSES; slot < lc->nslots; slot++) {
		struct pt_count c;
		pt_slot_sum(slot, &c);
		lc->blocks[slot] = c.curblocks;
		lc->bytes[slot] = c.curbytes;
	}
}

/* A fork child's counts at the fork, per slot: without a scan (blocks not
 * tracked) its report holds what a site holds beyond them.  Mapped, not
 * allocated: taken in the child's fork handler. */
static struct live_counts at_fork;

void pt_run_mem_fork_child(void)
{
	uint32_t nslots = __atomic_load_n(&pt_seg.hdr->nslots, __ATOMIC_ACQUIRE);
	size_t bytes = (size_t)nslots * sizeof(uint64_t);
	uint64_t *p;

	if (at_fork.blocks) /* the parent was a fork child too */
		munmap(at_fork.blocks, 2 * (size_t)at_fork.nslots * sizeof(uint64_t));
	at_fork = (struct live_counts){0};
	if (pt_track_flags() & PT_TRACK_BLOCKS)
		return; /* records tell the inherited blocks (reach.c) */
	p = mmap(NULL, 2 * bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	at_fork = (struct live_counts){nslots, p, p + nslots};
	read_counts(&at_fork);
}

struct pt_run_mem *pt_run_mem_collect(uint32_t module)
{
	struct pt_run_mem *m = calloc(1, sizeof(*m));
	uint32_t nslots = __atomic_load_n(&pt_seg.hdr->nslots, __ATOMIC_ACQUIRE);
	uint64_t *seen, *seen_bytes;
	struct live_counts lc = {.nslots = nslots};

	if (!m)
		return NULL;
	m->module = module;
	seen = calloc(nslots, sizeof(*seen));
	seen_bytes = calloc(nslots, sizeof(*seen_bytes));
	lc.blocks = calloc(nslots, sizeof(*lc.blocks));
	lc.bytes = calloc(nslots, sizeof(*lc.bytes));
	if (!seen || !seen_bytes || !lc.blocks || !lc.bytes) {
		free(seen);
		free(seen_bytes);
		free(lc.blocks);
		free(lc.bytes);
		free(m);
		return NULL;
	}
	if (module == UINT32_MAX && pt_reach_scan(&m->scan, read_counts, &lc) == 0) {
		m->scanned = 1;
		group_scan(m, seen, seen_bytes, nslots);
	} else {
		read_counts(&lc);
	}
	/* What the counters say is live and the scan did not see. */
	for (uint32_t slot = 1 + PT_SEG_NCLASSES; slot < nslots; slot++) {
		const struct pt_seg_slot *s = &pt_seg.slots[slot];
		struct grp *g;

		if (s->pool != PT_SEG_CLASS_PAGED || (module != UINT32_MAX && s->module != module))
			continue;
		if (!m->scanned && slot < at_fork.nslots) {
			seen[slot] += at_fork.blocks[slot];
			seen_bytes[slot] += at_fork.bytes[slot];
		}
		if (lc.blocks[slot] <= seen[slot])
			continue;
		g = group_new(m, KIND_HELD, 0, slot);
		if (g) {
			g->count = lc.blocks[slot] - seen[slot];
			g->bytes = lc.bytes[slot] > seen_bytes[slot] ? lc.bytes[slot] - seen_bytes[slot] : 0;
		}
	}
	free(seen);
	free(seen_bytes);
	free(lc.blocks);
	free(lc.bytes);
	return m;
}

void pt_run_mem_classify(struct pt_run_mem *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->ng; i++) {
		struct grp *g = &m->g[i];
		if (g->kind == PT_REACH_REACHABLE) {
			m->reach_blocks += g->count;
			m->reach_bytes += g->bytes;
		} else if (m->module == UINT32_MAX && (g->rt = group_rt(g))) {
			m->rt_blocks += g->count + g->icount;
			m->rt_bytes += g->bytes + g->ibytes;
		} else {
			m->lost_blocks += g->count + g->icount;
			m->lost_bytes += g->bytes + g->ibytes;
			m->findings++;
		}
	}
	qsort(m->g, m->ng, sizeof(*m->g), by_kind_bytes);
}

int pt_run_mem_findings(const struct pt_run_mem *m)
{
	return m ? m->findings : 0;
}

void pt_run_mem_totals(const struct pt_run_mem *m, uint64_t *blocks, uint64_t *bytes, int *groups,
		       uint64_t *rt_blocks, uint64_t *rt_bytes)
{
	*blocks = m ? m->lost_blocks : 0;
	*bytes = m ? m->lost_bytes : 0;
	*groups = m ? m->findings : 0;
	*rt_blocks = m ? m->rt_blocks : 0;
	*rt_bytes = m ? m->rt_bytes : 0;
}

int pt_run_mem_scanned(const struct pt_run_mem *m)
{
	return m && m->scanned;
}

int pt_run_mem_reachable(const struct pt_run_mem *m, uint64_t *blocks, uint64_t *bytes)
{
	*blocks = m ? m->reach_blocks : 0;
	*bytes = m ? m->reach_bytes : 0;
	return *blocks != 0;
}

static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

static void group_line(FILE *f, const struct grp *g, int scanned)
{
	char tag[5];
	const struct pt_run_module *mod = module(g->module);
	static const char *const words[] = {"", "reachable", "lost", "", "held, not scanned"};
	const char *word = g->kind == KIND_HELD && !scanned ? "held" : words[g->kind];

	fprintf(f, "    %llu block%s, %llu bytes %s", (unsigned long long)g->count, plural(g->count),
		(unsigned long long)g->bytes, word);
	if (g->icount)
		fprintf(f, ", and %llu block%s, %llu bytes indirectly", (unsigned long long)g->icount,
			plural(g->icount), (unsigned long long)g->ibytes);
	fprintf(f, " [%s]", pt_tag_str(pt_seg.slots[g->slot].tag, tag));
	if (g->module && (g->rt || g->kind == KIND_HELD || !g->stack)) {
		fputs(" by ", f);
		pt_safe_put(f, module_name(g->module));
		fprintf(f, "%s%s", mod && mod->gone ? " (unloaded)" : "",
			mod && mod->runtime ? " (the C runtime)" : "");
	}
	fprintf(f, " at ");
	group_text(f, g, g->stack != 0);
}

static void print_groups(FILE *f, const struct pt_run_mem *m)
{
	size_t shown = 0, rest = 0;
	uint64_t reach_groups = 0;

	if (!m)
		return;
	if (m->scanned && pt_run_cfg.scan_stats)
		fprintf(f, "  scan: %zu blocks, %llu bytes of blocks and %llu of roots in %.6f s, %u threads (%u did not answer)\n",
			m->scan.n, (unsigned long long)m->scan.heap_bytes,
			(unsigned long long)m->scan.root_bytes, m->scan.seconds, m->scan.threads,
			m->scan.unstopped);
	for (size_t i = 0; i < m->ng; i++) {
		const struct grp *g = &m->g[i];
		int rt = g->rt;
		if (g->suppressed)
			continue;
		if (g->kind == PT_REACH_REACHABLE) {
			reach_groups++;
			continue;
		}
		if (rt && !pt_run_cfg.all)
			continue;
		if (shown == SHOW_GROUPS) {
			rest++;
			continue;
		}
		if (shown++ == 0)
			fprintf(f, m->scanned ? "  memory lost:\n" : "  memory held:\n");
		group_line(f, g, m->scanned);
	}
	if (rest)
		fprintf(f, "    ... and %zu more groups\n", rest);
	if (!m->scanned || !m->reach_blocks)
		return;
	if (!pt_run_cfg.reachable && !m->findings)
		return; /* the verdict line says it */
	if (!pt_run_cfg.reachable) {
		fprintf(f, "  still reachable: %llu blocks, %llu bytes in %llu groups (no finding; --show-reachable lists them)\n",
			(unsigned long long)m->reach_blocks, (unsigned long long)m->reach_bytes,
			(unsigned long long)reach_groups);
		return;
	}
	fprintf(f, "  still reachable: %llu blocks, %llu bytes (no finding):\n",
		(unsigned long long)m->reach_blocks, (unsigned long long)m->reach_bytes);
	for (size_t i = 0; i < m->ng; i++)
		if (m->g[i].kind == PT_REACH_REACHABLE && !m->g[i].suppressed)
			group_line(f, &m->g[i], m->scanned);
}

void pt_run_mem_print(FILE *f, const struct pt_run_mem *m)
{
	bare.n = 0;
	print_groups(f, m);
	for (unsigned i = 0; i < bare.n; i++)
		fprintf(f, "  %s+0x...: %s has no symbol table nor debug information here (stripped): "
			   "install its debug symbols (e.g. the distribution's -dbgsym or -debuginfo "
			   "package) or set DEBUGINFOD_URLS for names and lines\n",
			bare.module[i], bare.module[i]);
}

/* "file:line in func" of a slot, for the driver of pooltag faults. */
static const char *slot_where(uint32_t slot, char *buf, size_t len)
{
	const struct pt_seg_slot *s = &pt_seg.slots[slot];
	const char *file = str(s->file), *base = strrchr(file, '/');

	snprintf(buf, len, "%s:%u in %s", base ? base + 1 : file, s->line, str(s->func));
	return buf;
}

/* The lost memory per site, as the driver of pooltag faults reads it
 * (src/faultrun.h). */
void pt_run_mem_log(const struct pt_run_mem *m)
{
	char where[512], tag[5];

	if (!m)
		return;
	for (size_t i = 0; i < m->ng; i++) {
		const struct grp *g = &m->g[i];
		uint64_t count = 0, bytes = 0;
		int first = 1;
		if (g->kind == PT_REACH_REACHABLE || g->rt || g->suppressed)
			continue;
		for (size_t j = 0; j < m->ng && first; j++)
			if (j < i && m->g[j].slot == g->slot && m->g[j].kind != PT_REACH_REACHABLE)
				first = 0;
		if (!first)
			continue;
		for (size_t j = i; j < m->ng; j++)
			if (m->g[j].slot == g->slot && m->g[j].kind != PT_REACH_REACHABLE) {
				count += m->g[j].count + m->g[j].icount;
				bytes += m->g[j].bytes + m->g[j].ibytes;
			}
		pt_fault_log("L\t%s\tblock\t%s\t\t%s\t%llu\t%llu", module_name(g->module),
			     pt_tag_str(pt_seg.slots[g->slot].tag, tag),
			     slot_where(g->slot, where, sizeof(where)), (unsigned long long)count,
			     (unsigned long long)bytes);
	}
}

size_t pt_run_mem_ngroups(const struct pt_run_mem *m)
{
	return m ? m->ng : 0;
}

/* Group i as report.c's pipeline holds it (a BLOCKS group). */
void pt_run_mem_group(const struct pt_run_mem *m, size_t i, struct pt_run_group *out)
{
	const struct grp *g = &m->g[i];

	out->kind = PT_RUN_BLOCKS;
	out->slot = g->slot;
	out->module = g->module;
	out->count = g->count + g->icount;
	out->bytes = g->bytes + g->ibytes;
	out->stack = g->stack;
	out->runtime = g->rt;
	out->reach = g->kind == PT_REACH_REACHABLE ? PT_RUN_REACHABLE
		     : g->kind == KIND_HELD	 ? PT_RUN_HELD
						 : PT_RUN_LOST;
	out->mem = (uint32_t)i;
}

/* A suppression covers group i: it is no finding and is not listed. */
void pt_run_mem_suppress(struct pt_run_mem *m, size_t i)
{
	struct grp *g = &m->g[i];

	if (g->suppressed)
		return;
	g->suppressed = 1;
	if (g->kind == PT_REACH_REACHABLE) {
		m->reach_blocks -= g->count;
		m->reach_bytes -= g->bytes;
	} else if (g->rt) {
		m->rt_blocks -= g->count + g->icount;
		m->rt_bytes -= g->bytes + g->ibytes;
	} else {
		m->lost_blocks -= g->count + g->icount;
		m->lost_bytes -= g->bytes + g->ibytes;
		m->findings--;
	}
}

void pt_run_mem_free(struct pt_run_mem *m)
{
	if (!m)
		return;
	pt_reach_release(&m->scan);
	free(m->g);
	free(m);
}
