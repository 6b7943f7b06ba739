/*
 * module.c - the main program and the plugins it loads, and which of them
 * an address belongs to.
 *
 * Charging works by address: a call site is a static descriptor in the data
 * of the module whose code contains the call, so the module that owns the
 * descriptor's address is the module that acquired.  A plugin's address
 * range is the span of its PT_LOAD segments, read with dl_iterate_phdr when
 * it is loaded; every address outside all plugins belongs to the main
 * program (with the libraries it was linked with).
 *
 * Module 0 is the main program; plugins take the next free entry.  Entries
 * are never reused, so a module id in a counter slot or a record keeps
 * naming what it named (an unloaded plugin stays in the table, marked so).
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define MAX_MODULES 4096 /* entries are never reused: plugins loaded over a life */

struct pt_module {
	uint32_t id;
	int loaded;
	void *dl;
	uintptr_t lo, hi; /* [lo, hi): the plugin's segments; 0, 0 for the main program */
	uint32_t epoch;   /* pt_module_epoch() once it was loaded */
	char name[64];
	char path[PATH_MAX];
};

static struct {
	pthread_mutex_t lock; /* loading and unloading; lookups read published entries */
	struct pt_module mods[MAX_MODULES];
	uint32_t n; /* entries [0, n) are valid, published with release */
	uint32_t epoch; /* plugins loaded so far */
	char err[512];
} mod = {.lock = PTHREAD_MUTEX_INITIALIZER};

static pthread_once_t main_once = PTHREAD_ONCE_INIT;

static void main_init(void)
{
	struct pt_module *m = &mod.mods[0];

	m->id = 0;
	m->loaded = 1;
	snprintf(m->name, sizeof(m->name), "%s", program_invocation_short_name);
	snprintf(m->path, sizeof(m->path), "%s", program_invocation_name);
	__atomic_store_n(&mod.n, 1, __ATOMIC_RELEASE);
}

struct pt_module *pt_module_main(void)
{
	pthread_once(&main_once, main_init);
	return &mod.mods[0];
}

const char *pt_module_name(const struct pt_module *m)
{
	return m ? m->name : "?";
}

const char *pt_module_error(void)
{
	return mod.err;
}

uint32_t pt_module_id(const struct pt_module *m)
{
	return m->id;
}

struct pt_module *pt_module_by_id(uint32_t id)
{
	pthread_once(&main_once, main_init);
	return id < __atomic_load_n(&mod.n, __ATOMIC_ACQUIRE) ? &mod.mods[id] : NULL;
}

/* The plugin this thread is loading: its constructors run inside dlopen,
 * before its address range is known, and what they acquire is its own. */
static __thread struct {
	uint32_t id;
	const char *path;
} loading;

/* Called with the segment's or the objects' lock held (registration,
 * fault injection): the plugin being loaded is recognised with
 * _dl_find_object, which takes no lock of the dynamic linker (lifecycle.c). */
uint32_t pt_module_of(const void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	struct dl_find_object dlfo;
	uint32_t n;

	pthread_once(&main_once, main_init);
	n = __atomic_load_n(&mod.n, __ATOMIC_ACQUIRE);
	for (uint32_t i = 1; i < n; i++) {
		const struct pt_module *m = &mod.mods[i];
		if (__atomic_load_n(&m->loaded, __ATOMIC_ACQUIRE) && a >= m->lo && a < m->hi)
			return i;
	}
	if (loading.id && _dl_find_object((void *)addr, &dlfo) == 0 && dlfo.dlfo_link_map &&
	    dlfo.dlfo_link_map->l_name && !strcmp(dlfo.dlfo_link_map->l_name, loading.path))
		return loading.id;
	return 0;
}

uint32_t pt_module_epoch(void)
{
	return __atomic_load_n(&mod.epoch, __ATOMIC_ACQUIRE);
}

uint32_t pt_module_loaded_at(const struct pt_module *m)
{
	return m->epoch;
}

int pt_module_contains(const struct pt_module *m, uintptr_t a)
{
	return m->id != 0 && a >= m->lo && a < m->hi;
}

struct range_query {
	const char *name;
	uintptr_t base;
	uintptr_t lo, hi;
};

/* dl_iterate_phdr callback: the span of the PT_LOAD segments of the object
 * loaded at q->base. */
static int find_range(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct range_query *q = arg;

	(void)size;
	if (info->dlpi_addr != q->base || strcmp(info->dlpi_name, q->name) != 0)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (ph->p_type != PT_LOAD)
			continue;
		if (!q->lo || lo < q->lo)
			q->lo = lo;
		if (hi > q->hi)
			q->hi = hi;
	}
	return 1;
}

struct pt_module *pt_module_load(const char *path)
{
	struct link_map *lm = NULL;
	struct range_query q = {0};
	struct pt_module *m;
	const char *base;
	void *dl;

	pt_seg_init();
	pthread_once(&main_once, main_init);
	if (!path) {
		errno = EINVAL;
		snprintf(mod.err, sizeof(mod.err), "no path");
		return NULL;
	}
	/* Take the entry first, so that the plugin's constructors are charged
	 * to it; entries are not reused, so a failed load just leaves a gap. */
	pthread_mutex_lock(&mod.lock);
	if (mod.n >= MAX_MODULES) {
		pthread_mutex_unlock(&mod.lock);
		snprintf(mod.err, sizeof(mod.err), "cannot load %s: %d modules loaded already", path,
			 MAX_MODULES - 1);
		errno = EMFILE;
		return NULL;
	}
	m = &mod.mods[mod.n];
	memset(m, 0, sizeof(*m));
	m->id = mod.n;
	base = strrchr(path, '/');
	snprintf(m->name, sizeof(m->name), "%s", base ? base + 1 : path);
	snprintf(m->path, sizeof(m->path), "%s", path);
	__atomic_store_n(&mod.n, mod.n + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&mod.lock);
	pt_seg_lock();
	pt_registry_module(m->id, m->name, m->path, PT_SEG_MODULE_LOADED);
	pt_seg_unlock();

	loading.id = m->id;
	loading.path = path;
	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	loading.id = 0;
	if (!dl) {
		/* dlopen sets no errno: a missing file is ENOENT, the rest ENOEXEC. */
		int e = strchr(path, '/') && access(path, F_OK) != 0 ? ENOENT : ENOEXEC;
		snprintf(mod.err, sizeof(mod.err), "cannot load %s: %s", path, dlerror());
		pt_seg_lock();
		pt_registry_module(m->id, m->name, m->path, PT_SEG_MODULE_UNLOADED);
		pt_seg_unlock();
		errno = e;
		return NULL;
	}
	if (dlinfo(dl, RTLD_DI_LINKMAP, &lm) == 0 && lm) {
		q.name = lm->l_name;
		q.base = lm->l_addr;
		dl_iterate_phdr(find_range, &q);
		snprintf(m->path, sizeof(m->path), "%s", lm->l_name);
	}
	m->dl = dl;
	m->lo = q.lo;
	m->hi = q.hi;
	/* A stack taken before this load that passes through these addresses
	 * passed through whatever was mapped there before, not through m. */
	m->epoch = __atomic_add_fetch(&mod.epoch, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&m->loaded, 1, __ATOMIC_RELEASE);
	return m;
}

void *pt_module_sym(struct pt_module *m, const char *symbol)
{
	if (!m || !m->dl || !m->loaded)
		return NULL;
	return dlsym(m->dl, symbol);
}

int pt_module_unload(struct pt_module *m)
{
	int findings;

	if (!m || m->id == 0 || !m->loaded) {
		errno = EINVAL;
		return -1;
	}
	findings = pt_verify_module(m, 1);
	pthread_mutex_lock(&mod.lock);
	__atomic_store_n(&m->loaded, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&mod.lock);
	pt_seg_lock();
	pt_registry_forget_module(m->id);
	pt_registry_module(m->id, m->name, m->path, PT_SEG_MODULE_UNLOADED);
	pt_seg_unlock();
	dlclose(m->dl);
	m->dl = NULL;
	return findings;
}

int pt_module_check(struct pt_module *m)
{
	if (!m) {
		errno = EINVAL;
		return -1;
	}
	return pt_verify_module(m, 0);
}

/* The caller a provider acts for (PT_ON_BEHALF): the outermost one wins, so
 * a provider calling another provider does not take the charge. */
static __thread const struct pt_site *behalf;

const struct pt_site *pt_behalf_enter(const struct pt_site *caller)
{
	const struct pt_site *prev = behalf;

	if (!prev)
		behalf = caller;
	return prev;
}

void pt_behalf_leave(const struct pt_site *prev)
{
	behalf = prev;
}

struct pt_site *pt_behalf_site(struct pt_site *own)
{
	return behalf ? (struct pt_site *)behalf : own;
}
