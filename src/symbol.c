/*
 * symbol.c - program counters to module, function, source file and line,
 * and the one-line text of a stored stack.
 *
 * elfutils' libdwfl maps the live process: the modules listed in
 * /proc/self/maps, each ELF file opened when first needed, its debug
 * information found beside it or under /usr/lib/debug by build id.  Per pc:
 *  - the module and the pc's offset from its load bias (for addr2line);
 *  - the function from the symbol table (.symtab, else .dynsym);
 *  - with DWARF, the line from the line table and the chain of functions
 *    inlined at the pc: the DIE scopes holding the pc, walked outwards; every
 *    DW_TAG_inlined_subroutine is a frame whose caller's line is its
 *    DW_AT_call_file:DW_AT_call_line, up to the DW_TAG_subprogram the code
 *    belongs to.  Without this an inlined helper's line would be shown under
 *    its caller's name.
 * The dynamic linker counts its loads and unloads (dl_iterate_phdr's
 * dlpi_adds, dlpi_subs); when either changed since the module map was read,
 * the next lookup reads it again, so a module dlopen'ed since is found.
 * When libdwfl knows nothing of a pc, dladdr() gives what the dynamic linker
 * knows (module and exported symbol).
 *
 * If DEBUGINFOD_URLS is set in the environment, libdw may ask those servers
 * for debug information it cannot find locally, as gdb and eu-stack do.
 *
 * Invariants:
 *  - One mutex guards everything here: libdwfl is not thread-safe.
 *  - Every string handed out is interned and never freed, so a struct
 *    pt_frame stays valid for the life of the process, across resets.
 *  - The cache maps (pc, is_return_address) to its resolved frames.  It is
 *    emptied, and the module map marked stale, whenever a module may have
 *    come or gone (pt_sym_reset(), a changed dlopen/dlclose count): an
 *    address may then belong to another module.
 *
 * Cost: see pt_sym_lookup_inline().
 */
#include "elfsym.h"
#include "stack.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <link.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PT_SYM_MAX_INLINE 16 /* frames of one pc's inline chain that are kept */

/* One cached pc. */
struct pt_sym_entry {
	uintptr_t key;    /* pc * 2 + is_return_address */
	unsigned nframes; /* 0: libdwfl knows nothing of the pc */
	struct pt_frame frames[];
};

static struct {
	pthread_mutex_t mutex;
	pthread_once_t once;
	Dwfl *dwfl; /* NULL until the first lookup, or if dwfl_begin failed */
	int stale;  /* the module map must be read (again) before the next lookup */
	unsigned long long dl_adds, dl_subs; /* the dynamic linker's counts when last synced */
	struct pt_sym_entry **cache; /* open addressing on key; cache_cap is a power of two */
	size_t cache_cap, cache_n;
	char **strs; /* interned strings, open addressing; strs_cap is a power of two */
	size_t strs_cap, strs_n;
	const char *self;     /* basename of the shared object holding this code, or NULL */
	char *debuginfo_path; /* NULL: libdwfl's default search path */
} pt_sym = {
    .mutex = PTHREAD_MUTEX_INITIALIZER,
    .once = PTHREAD_ONCE_INIT,
    .stale = 1,
};

/*
 * Separate debug information: libdwfl's standard search, which ends with
 * the debuginfod servers, only when DEBUGINFOD_URLS names some.  Otherwise
 * only the local build-id tree is searched: the standard search would
 * load the debuginfod client (and with it an HTTP and TLS stack, whose
 * exit handlers take libc locks) into the program being examined.
 */
static int pt_sym_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
				 Dwarf_Addr base, const char *file_name,
				 const char *debuglink_file, GElf_Word debuglink_crc,
				 char **debuginfo_file_name)
{
	const char *urls = getenv("DEBUGINFOD_URLS");

	if (urls && *urls)
		return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name,
						    debuglink_file, debuglink_crc,
						    debuginfo_file_name);
	return dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name,
					    debuglink_file, debuglink_crc, debuginfo_file_name);
}

static const Dwfl_Callbacks pt_sym_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = pt_sym_find_debuginfo,
    .debuginfo_path = &pt_sym.debuginfo_path,
};

/* Does this thread hold the symboliser's mutex?  libdw allocates and opens
 * files under it: an interposer that would symbolise those calls' sites
 * must not (pt_sym_held), or the thread would wait for itself. */
static __thread int sym_held __attribute__((tls_model("initial-exec")));

static void sym_lock(void)
{
	pthread_mutex_lock(&pt_sym.mutex);
	sym_held = 1;
}

static void sym_unlock(void)
{
	sym_held = 0;
	pthread_mutex_unlock(&pt_sym.mutex);
}

int pt_sym_held(void)
{
	return sym_held;
}

void pt_sym_lock(void)
{
	sym_lock();
}

void pt_sym_unlock(void)
{
	sym_unlock();
}

int pt_sym_trylock(void)
{
	if (pthread_mutex_trylock(&pt_sym.mutex) != 0)
		return 0;
	sym_held = 1;
	return 1;
}

/* In a fork child the pid differs: libdwfl must read the child's maps. */
void pt_sym_atfork_child(void)
{
	pt_sym.stale = 1;
	sym_unlock();
}

static uint64_t pt_sym_strhash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ull;
	return h;
}

/* The interned copy of s (mutex held), or NULL when out of memory. */
static const char *pt_sym_intern(const char *s)
{
	size_t i;

	if (pt_sym.strs_n * 4 >= pt_sym.strs_cap * 3) {
		size_t cap = pt_sym.strs_cap ? pt_sym.strs_cap * 2 : 256;
		char **t = calloc(cap, sizeof(*t));

		if (!t)
			return NULL;
		for (size_t j = 0; j < pt_sym.strs_cap; j++) {
			char *o = pt_sym.strs[j];

			if (!o)
				continue;
			for (i = pt_sym_strhash(o) & (cap - 1); t[i]; i = (i + 1) & (cap - 1))
				;
			t[i] = o;
		}
		free(pt_sym.strs);
		pt_sym.strs = t;
		pt_sym.strs_cap = cap;
	}
	for (i = pt_sym_strhash(s) & (pt_sym.strs_cap - 1); pt_sym.strs[i];
	     i = (i + 1) & (pt_sym.strs_cap - 1))
		if (!strcmp(pt_sym.strs[i], s))
			return pt_sym.strs[i];
	pt_sym.strs[i] = strdup(s);
	if (!pt_sym.strs[i])
		return NULL;
	pt_sym.strs_n++;
	return pt_sym.strs[i];
}

/* The interned basename of path, or dflt if path is NULL or memory is out. */
static const char *pt_sym_intern_base(const char *path, const char *dflt)
{
	const char *slash, *s;

	if (!path || !*path)
		return dflt;
	slash = strrchr(path, '/');
	s = pt_sym_intern(slash && slash[1] ? slash + 1 : path);
	return s ? s : dflt;
}

/* The basename of the shared object holding this code, NULL when it is the
 * program itself (the library linked in).  Inside the once: _dl_find_object
 * takes no lock of the dynamic linker (lifecycle.c). */
static void pt_sym_init_once(void)
{
	struct dl_find_object dlfo;
	const char *self = NULL;

	if (_dl_find_object((void *)&pt_sym_init_once, &dlfo) == 0 && dlfo.dlfo_link_map &&
	    dlfo.dlfo_link_map->l_name && *dlfo.dlfo_link_map->l_name)
		self = dlfo.dlfo_link_map->l_name;
	sym_lock();
	pt_sym.self = pt_sym_intern_base(self, NULL);
	sym_unlock();
}

/*
 * Makes libdwfl's module map current (mutex held): a new session that reads
 * /proc/PID/maps.  A new one, not dwfl_report_begin() on the old: re-reporting
 * into a session whose modules have their ELF loaded gave the executable a
 * range reaching far past its mappings (elfutils 0.188, seen in ASan builds
 * with a plugin then found inside it).  The price is reading each module's
 * ELF and DWARF again, which only happens after a dlopen or dlclose.
 * Returns the session, or NULL if libdwfl cannot be used at all (then
 * dladdr() is all there is).
 */
static Dwfl *pt_sym_report(void)
{
	if (pt_sym.dwfl)
		dwfl_end(pt_sym.dwfl);
	pt_sym.dwfl = dwfl_begin(&pt_sym_callbacks);
	pt_sym.stale = 0;
	if (!pt_sym.dwfl)
		return NULL;
	dwfl_report_begin(pt_sym.dwfl);
	/* A failure leaves fewer (or no) modules: lookups then fall back. */
	dwfl_linux_proc_report(pt_sym.dwfl, getpid());
	dwfl_report_end(pt_sym.dwfl, NULL, NULL);
	return pt_sym.dwfl;
}

/* Empties the pc cache (mutex held). */
static void pt_sym_flush(void)
{
	for (size_t i = 0; i < pt_sym.cache_cap; i++) {
		free(pt_sym.cache[i]);
		pt_sym.cache[i] = NULL;
	}
	pt_sym.cache_n = 0;
	pt_sym.stale = 1;
}

/* dl_iterate_phdr callback: the dynamic linker's load and unload counts. */
static int pt_sym_dl_counts(struct dl_phdr_info *info, size_t size, void *arg)
{
	unsigned long long *c = arg;

	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
		c[0] = info->dlpi_adds;
		c[1] = info->dlpi_subs;
	}
	return 1;
}

/* The dynamic linker's load and unload counts, into c.  Called without the
 * mutex: dl_iterate_phdr takes a lock of the dynamic linker, and a
 * destructor that dlclose runs under it may symbolise. */
static void pt_sym_counts(unsigned long long c[2])
{
	c[0] = c[1] = 0;
	dl_iterate_phdr(pt_sym_dl_counts, c);
}

/*
 * Notices a dlopen or dlclose since the module map was read (mutex held):
 * the dynamic linker counts both, so a changed count empties the cache (an
 * address may now hold another module's code) and marks the map stale.  So
 * a pc in a module loaded since is found without pt_sym_reset(), and the map
 * is not read again for a pc that is in no module at all.  c holds the counts,
 * read by pt_sym_counts() before the mutex was taken.
 */
static void pt_sym_sync(const unsigned long long c[2])
{
	if (c[0] != pt_sym.dl_adds || c[1] != pt_sym.dl_subs) {
		pt_sym.dl_adds = c[0];
		pt_sym.dl_subs = c[1];
		pt_sym_flush();
	}
}

/* The source file (interned basename) of the inlined call described by die's
 * DW_AT_call_file, with its line; NULL if die carries none. */
static const char *pt_sym_call_site(Dwarf_Die *cu, Dwarf_Die *die, unsigned *line)
{
	Dwarf_Attribute a;
	Dwarf_Files *files;
	Dwarf_Word idx, l = 0;
	size_t nfiles;

	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &a), &idx) != 0 ||
	    dwarf_getsrcfiles(cu, &files, &nfiles) != 0 || idx >= nfiles)
		return NULL;
	dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &a), &l);
	*line = (unsigned)l;
	return pt_sym_intern_base(dwarf_filesrc(files, idx, NULL, NULL), NULL);
}

/*
 * The compilation unit DIE holding addr in mod (mutex held), with the DWARF
 * bias in *bias; NULL without DWARF there.  libdw looks the address up in
 * .debug_aranges, which clang does not emit: then each unit's own ranges are
 * tried in turn (linear in the number of units; once per pc, as results are
 * cached).
 */
static Dwarf_Die *pt_sym_cu(Dwfl_Module *mod, Dwarf_Addr addr, Dwarf_Addr *bias)
{
	Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, bias);

	if (cu)
		return cu;
	while ((cu = dwfl_module_nextcu(mod, cu, bias)))
		if (dwarf_haspc(cu, addr - *bias) > 0)
			return cu;
	return NULL;
}

/*
 * Fills fr[0..max) with the functions at addr (a DWARF address, bias
 * removed) in compilation unit cu, innermost first (mutex held); frames after
 * the first get the file and line of their call into the frame before.
 * Returns the number of frames, 0 when no DWARF scope holds addr (the caller
 * then uses the symbol table).
 */
static unsigned pt_sym_dwarf(Dwarf_Die *cu, Dwarf_Addr addr, struct pt_frame *fr, unsigned max)
{
	Dwarf_Die *scopes = NULL, *chain = NULL;
	int nscopes, nchain = 0, prev = -1;
	unsigned n = 0;

	/* dwarf_getscopes leaves the concrete tree at an inlined instance (it
	 * continues in the abstract origin), so take only the innermost scope
	 * from it and walk that DIE's real parents. */
	nscopes = dwarf_getscopes(cu, addr, &scopes);
	if (nscopes > 0)
		nchain = dwarf_getscopes_die(&scopes[0], &chain);
	for (int i = 0; i < nchain && n < max; i++) {
		int tag = dwarf_tag(&chain[i]);
		const char *name;

		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
			continue;
		name = dwarf_diename(&chain[i]); /* follows DW_AT_abstract_origin */
		fr[n].func = name ? pt_sym_intern(name) : NULL;
		fr[n].inlined = tag == DW_TAG_inlined_subroutine;
		/* The call into the inner frame happened on this frame's line. */
		if (prev >= 0)
			fr[n].file = pt_sym_call_site(cu, &chain[prev], &fr[n].line);
		prev = i;
		n++;
		if (tag == DW_TAG_subprogram)
			break;
	}
	free(scopes);
	free(chain);
	return n;
}

/* Resolves addr (the pc, less one for a return address) of module mod into
 * fr[0..max) (mutex held).  Returns the number of frames; 0 if mod is NULL. */
static unsigned pt_sym_resolve_in(Dwfl_Module *mod, uintptr_t pc, uintptr_t addr,
				  struct pt_frame *fr, unsigned max, int live)
{
	const char *module, *sym = NULL, *src = NULL;
	Dwarf_Addr bias = 0, dwbias = 0;
	GElf_Off symoff;
	GElf_Sym gsym;
	Dwarf_Line *line = NULL;
	Dwarf_Die *cu;
	unsigned n = 0;
	int lineno = 0;

	if (!mod)
		return 0;
	module = pt_sym_intern_base(dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	                            "?");
	if (!dwfl_module_getelf(mod, &bias))
		dwfl_module_info(mod, NULL, &bias, NULL, NULL, NULL, NULL, NULL);
	/* A live module's symbols from elfsym.c (a bisection); libdwfl's
	 * addrinfo scans every symbol on each call, which on a large program
	 * cost more than everything else the interposer does. */
	if (live && pt_elfsym_module(addr) >= 0)
		sym = pt_elfsym_lookup(addr, NULL);
	else
		sym = dwfl_module_addrinfo(mod, addr, &symoff, &gsym, NULL, NULL, NULL);
	cu = pt_sym_cu(mod, addr, &dwbias);
	if (cu)
		line = dwarf_getsrc_die(cu, addr - dwbias);
	if (line && (src = dwarf_linesrc(line, NULL, NULL)))
		dwarf_lineno(line, &lineno);
	n = cu ? pt_sym_dwarf(cu, addr - dwbias, fr, max) : 0;
	if (!n) {
		fr[0].func = NULL;
		fr[0].inlined = 0;
		n = 1;
	}
	/* The innermost frame's line is the line table's: exact to the instruction. */
	fr[0].file = src ? pt_sym_intern_base(src, NULL) : NULL;
	fr[0].line = src && lineno > 0 ? (unsigned)lineno : 0;
	if (!fr[n - 1].func && sym)
		fr[n - 1].func = pt_sym_intern(sym);
	for (unsigned i = 0; i < n; i++) {
		fr[i].module = module;
		fr[i].offset = pc - (uintptr_t)bias;
		if (!fr[i].func)
			fr[i].func = "?";
		if (!fr[i].file)
			fr[i].line = 0;
	}
	return n;
}

/* As pt_sym_resolve_in, in this process's module map. */
static unsigned pt_sym_resolve(uintptr_t pc, uintptr_t addr, struct pt_frame *fr, unsigned max)
{
	Dwfl *dwfl = pt_sym.stale ? pt_sym_report() : pt_sym.dwfl;

	return pt_sym_resolve_in(dwfl ? dwfl_addrmodule(dwfl, addr) : NULL, pc, addr, fr, max, 1);
}

int pt_sym_offline(const char *path, uintptr_t vaddr, int is_return_address,
		   struct pt_frame *out)
{
	static const Dwfl_Callbacks offline = {
		.find_elf = dwfl_build_id_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.section_address = dwfl_offline_section_address,
	};
	struct pt_frame tmp[PT_SYM_MAX_INLINE];
	Dwfl *d = dwfl_begin(&offline);
	Dwfl_Module *mod = d ? dwfl_report_offline(d, path, path, -1) : NULL;
	Dwarf_Addr bias = 0;
	unsigned n = 0;

	if (mod && dwfl_report_end(d, NULL, NULL) == 0 && dwfl_module_getelf(mod, &bias)) {
		uintptr_t pc = (uintptr_t)bias + vaddr;
		sym_lock(); /* the interned strings */
		n = pt_sym_resolve_in(mod, pc, is_return_address ? pc - 1 : pc, tmp,
				      PT_SYM_MAX_INLINE, 0);
		sym_unlock();
	}
	if (d)
		dwfl_end(d);
	if (!n) {
		*out = (struct pt_frame){vaddr, vaddr, "?", "?", NULL, 0, 0};
		return -1;
	}
	*out = tmp[0];
	out->pc = out->offset = vaddr;
	return 0;
}

/* The first slot to probe for key in a cache of cap (a power of two) slots. */
static size_t pt_sym_slot(uintptr_t key, size_t cap)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

/* Inserts e into the cache (mutex held); on allocation failure the entry is
 * simply not cached.  Returns 0, or -1 if e was not kept. */
static int pt_sym_cache_put(struct pt_sym_entry *e)
{
	size_t i;

	if (pt_sym.cache_n * 4 >= pt_sym.cache_cap * 3) {
		size_t cap = pt_sym.cache_cap ? pt_sym.cache_cap * 2 : 512;
		struct pt_sym_entry **t = calloc(cap, sizeof(*t));

		if (!t)
			return -1;
		for (size_t j = 0; j < pt_sym.cache_cap; j++) {
			struct pt_sym_entry *o = pt_sym.cache[j];

			if (!o)
				continue;
			for (i = pt_sym_slot(o->key, cap); t[i]; i = (i + 1) & (cap - 1))
				;
			t[i] = o;
		}
		free(pt_sym.cache);
		pt_sym.cache = t;
		pt_sym.cache_cap = cap;
	}
	for (i = pt_sym_slot(e->key, pt_sym.cache_cap); pt_sym.cache[i];
	     i = (i + 1) & (pt_sym.cache_cap - 1))
		;
	pt_sym.cache[i] = e;
	pt_sym.cache_n++;
	return 0;
}

static struct pt_sym_entry *pt_sym_cache_get(uintptr_t key)
{
	size_t i;

	if (!pt_sym.cache_cap)
		return NULL;
	for (i = pt_sym_slot(key, pt_sym.cache_cap); pt_sym.cache[i];
	     i = (i + 1) & (pt_sym.cache_cap - 1))
		if (pt_sym.cache[i]->key == key)
			return pt_sym.cache[i];
	return NULL;
}

/*
 * The frames of pc (mutex held), from the cache or resolved and cached.
 * Writes the chain to fr[0..max) and returns its length, or 0 if nothing is
 * known of pc.  Out of memory only costs the caching.
 */
static unsigned pt_sym_get(uintptr_t pc, int is_ret, struct pt_frame *fr, unsigned max)
{
	uintptr_t key = pc * 2 + !!is_ret;
	struct pt_frame tmp[PT_SYM_MAX_INLINE];
	struct pt_sym_entry *e = pt_sym_cache_get(key);
	unsigned n;

	if (!e) {
		memset(tmp, 0, sizeof(tmp));
		n = pc ? pt_sym_resolve(pc, is_ret ? pc - 1 : pc, tmp, PT_SYM_MAX_INLINE) : 0;
		e = malloc(sizeof(*e) + (n ? n : 1) * sizeof(e->frames[0]));
		if (e) {
			e->key = key;
			e->nframes = n;
			memcpy(e->frames, tmp, n * sizeof(tmp[0]));
			if (pt_sym_cache_put(e)) {
				free(e);
				e = NULL;
			}
		}
	} else {
		n = e->nframes;
	}
	for (unsigned i = 0; i < n && i < max; i++) {
		fr[i] = e ? e->frames[i] : tmp[i];
		fr[i].pc = pc;
	}
	return n;
}

static void pt_sym_unknown(uintptr_t pc, struct pt_frame *out)
{
	memset(out, 0, sizeof(*out));
	out->pc = pc;
	out->module = "?";
	out->func = "?";
}

/*
 * What the dynamic linker knows of a pc that libdwfl does not: its module
 * and the exported symbol below it, into *f.  Called without the mutex
 * (dladdr takes the dynamic linker's lock); the strings are interned under
 * it.  Returns 1, or 0 (and f unknown) if the pc is in no loaded object.
 */
static unsigned pt_sym_dladdr(uintptr_t pc, int is_ret, struct pt_frame *f)
{
	uintptr_t addr = is_ret && pc ? pc - 1 : pc;
	Dl_info di;

	pt_sym_unknown(pc, f);
	if (!pc || !dladdr((void *)addr, &di) || !di.dli_fname)
		return 0;
	f->offset = pc - (uintptr_t)di.dli_fbase;
	sym_lock();
	f->module = pt_sym_intern_base(di.dli_fname, "?");
	f->func = di.dli_sname ? pt_sym_intern(di.dli_sname) : NULL;
	sym_unlock();
	if (!f->func)
		f->func = "?";
	return 1;
}

/*
 * Cost, measured by tests/test_stack.c (gcc -O2, 2-core machine): the first
 * lookup in a process reads the module map and the module's ELF and DWARF,
 * about 0.8 ms for the test program (more for large debug information); the
 * first after a dlopen, dlclose or reset reads them again, about 0.5 ms; a
 * new pc in a module already read costs 10 to 150 us (the walk over its
 * compilation unit's DIEs); a cached pc about 35 ns, most of it asking the
 * dynamic linker for its load counts.
 */
int pt_sym_lookup_inline(uintptr_t pc, int is_return_address, struct pt_frame *out, unsigned max)
{
	unsigned long long c[2];
	unsigned n;

	if (!max)
		return -1;
	pthread_once(&pt_sym.once, pt_sym_init_once);
	pt_sym_counts(c);
	sym_lock();
	pt_sym_sync(c);
	n = pt_sym_get(pc, is_return_address, out, max);
	sym_unlock();
	if (!n)
		n = pt_sym_dladdr(pc, is_return_address, out);
	return n ? (int)n : -1;
}

int pt_sym_lookup(uintptr_t pc, int is_return_address, struct pt_frame *out)
{
	return pt_sym_lookup_inline(pc, is_return_address, out, 1) < 0 ? -1 : 0;
}

void pt_sym_reset(void)
{
	pthread_once(&pt_sym.once, pt_sym_init_once);
	sym_lock();
	pt_sym_flush();
	sym_unlock();
}

/* ---- formatting a stored stack ---- */

/* snprintf into a bounded buffer that keeps counting past its end. */
struct pt_sym_out {
	char *buf;
	size_t len, pos;
};

static void pt_sym_put(struct pt_sym_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void pt_sym_put(struct pt_sym_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->pos < o->len ? o->buf + o->pos : NULL,
	              o->pos < o->len ? o->len - o->pos : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->pos += (size_t)n;
}

static int pt_sym_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* A frame of libpooltag itself: its shared object, or, when the library is
 * linked into the program, its functions (all named pt_...).  Only the
 * innermost run of such frames is trimmed. */
static int pt_sym_is_self(const struct pt_frame *f)
{
	return pt_sym_prefix(f->module, "libpooltag") || (pt_sym.self && f->module == pt_sym.self) ||
	       pt_sym_prefix(f->func, "pt_");
}

/* A frame of program or thread start-up: the C library's, _start, or a
 * sanitizer's thread start. */
static int pt_sym_is_startup(const struct pt_frame *f)
{
	return pt_sym_prefix(f->module, "libc.so") || pt_sym_prefix(f->module, "ld-linux") ||
	       !strcmp(f->func, "_start") || pt_sym_prefix(f->func, "__libc_start") ||
	       pt_sym_prefix(f->func, "__tsan_thread_start") ||
	       pt_sym_prefix(f->func, "asan_thread_start");
}

/*
 * Symbolises every pc of the stack under one hold of the mutex (dladdr for
 * the unknown ones after it), trims the frames that say nothing of the
 * caller (stack.h lists them) and prints the rest.  Never fails: what is not
 * known prints as "?".
 */
size_t pt_stack_format(uint32_t id, char *buf, size_t len, unsigned max_frames)
{
	struct pt_frame fr[PT_STACK_DEPTH * 2];
	uintptr_t pcs[PT_STACK_DEPTH];
	struct pt_sym_out o = {buf, len, 0};
	unsigned long long c[2];
	unsigned npc = pt_stack_pcs(id, pcs, PT_STACK_DEPTH), n = 0, lo = 0, hi, shown = 0;

	if (len)
		buf[0] = '\0';
	if (npc > PT_STACK_DEPTH)
		npc = PT_STACK_DEPTH;
	pthread_once(&pt_sym.once, pt_sym_init_once);
	pt_sym_counts(c);
	sym_lock();
	pt_sym_sync(c);
	for (unsigned i = 0; i < npc && n < PT_STACK_DEPTH * 2; i++) {
		unsigned k = pt_sym_get(pcs[i], 1, fr + n, PT_STACK_DEPTH * 2 - n);

		if (!k) {
			pt_sym_unknown(pcs[i], &fr[n]);
			k = 1;
		}
		n += k < PT_STACK_DEPTH * 2 - n ? k : PT_STACK_DEPTH * 2 - n;
	}
	sym_unlock();
	for (unsigned i = 0; i < n; i++)
		if (fr[i].module[0] == '?' && !fr[i].module[1])
			pt_sym_dladdr(fr[i].pc, 1, &fr[i]);

	/* Leave out the library's own innermost frames, everything outside
	 * main, and the trailing thread start-up frames. */
	while (lo < n && pt_sym_is_self(&fr[lo]))
		lo++;
	hi = n;
	for (unsigned i = lo; i < n; i++)
		if (!fr[i].inlined && !strcmp(fr[i].func, "main"))
			hi = i + 1;
	while (hi > lo && pt_sym_is_startup(&fr[hi - 1]))
		hi--;
	if (lo == hi) {
		pt_sym_put(&o, "?");
		return o.pos;
	}
	for (unsigned i = lo; i < hi; i++) {
		const struct pt_frame *f = &fr[i];

		if (max_frames && shown == max_frames) {
			pt_sym_put(&o, " <- ...");
			break;
		}
		pt_sym_put(&o, "%s%s", shown ? " <- " : "", f->func);
		if (f->file && f->line)
			pt_sym_put(&o, " (%s:%u)", f->file, f->line);
		else if (f->file)
			pt_sym_put(&o, " (%s)", f->file);
		else if (strcmp(f->module, "?"))
			pt_sym_put(&o, " (%s+0x%jx)", f->module, (uintmax_t)f->offset);
		else
			pt_sym_put(&o, " (0x%jx)", (uintmax_t)f->pc);
		shown++;
	}
	return o.pos;
}
