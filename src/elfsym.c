/*
 * elfsym.c - function names from ELF symbol tables, read once per module.
 *
 * libdw's dwfl_module_addrinfo scans every symbol of a module on each
 * lookup: on a large program with many allocation sites that was most of
 * the interposer's cost.  Here a module's symbol and string tables are
 * read once, its function symbols copied to an array sorted by address, and
 * a lookup is a bisection.  Symbol names point into the string table's
 * copy, which is never freed: names stay valid for the life of the process.
 *
 * Invariants: one mutex guards the module list; a module, once read, is
 * never changed or freed (a module unloaded and another loaded at the same
 * place is told apart by its link map and load bias).
 */
#include "elfsym.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PT_ELFSYM_MAX_MODS 4096

struct esym {
	uintptr_t addr; /* run-time address */
	uint64_t size;
	const char *name;
};

struct emod {
	const void *map; /* the dynamic linker's link map: which module */
	uintptr_t bias;
	struct esym *syms; /* sorted by addr; NULL if unreadable */
	size_t n;
	int readable;  /* the file was read (it may still have no symbols) */
	int has_dwarf; /* it has a .debug_line section */
};

static struct {
	pthread_mutex_t lock;
	struct emod mods[PT_ELFSYM_MAX_MODS];
	size_t nmods;
} es = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void *map_anon(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Heapsort by address: in place, O(n log n), and no malloc (glibc's qsort
 * may allocate, and a malloc hook may be what called us).  The fallback of
 * sort_syms when no scratch memory can be mapped. */
static void sift(struct esym *v, size_t i, size_t n)
{
	for (;;) {
		size_t c = 2 * i + 1;
		struct esym t;

		if (c >= n)
			return;
		if (c + 1 < n && v[c + 1].addr > v[c].addr)
			c++;
		if (v[i].addr >= v[c].addr)
			return;
		t = v[i];
		v[i] = v[c];
		v[c] = t;
		i = c;
	}
}

static void heap_sort(struct esym *v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift(v, i, n);
	for (size_t k = n; k-- > 1;) {
		struct esym t = v[0];
		v[0] = v[k];
		v[k] = t;
		sift(v, 0, k);
	}
}

/* Sorts by address: a least-significant-digit radix sort over the bytes in
 * which the addresses differ (a module spans a few MiB: three or four
 * passes), each stable and linear.  A large program's tens of thousands of
 * symbols sort in a fraction of a millisecond, where the heapsort's cache
 * misses cost a few: this runs once per module, at a process's first
 * allocation from it. */
static void sort_syms(struct esym *v, size_t n)
{
	struct esym *tmp = n > 64 ? map_anon(n * sizeof(*v)) : NULL, *from = v, *to = tmp;
	uintptr_t differ = 0;

	if (!tmp) {
		heap_sort(v, n);
		return;
	}
	for (size_t i = 1; i < n; i++)
		differ |= v[i].addr ^ v[0].addr;
	for (unsigned shift = 0; shift < 8 * sizeof(uintptr_t); shift += 8) {
		size_t count[256] = {0}, at = 0;

		if (!((differ >> shift) & 0xff))
			continue; /* every address has this byte: the order stays */
		for (size_t i = 0; i < n; i++)
			count[(from[i].addr >> shift) & 0xff]++;
		for (unsigned d = 0; d < 256; d++) {
			size_t c = count[d];
			count[d] = at;
			at += c;
		}
		for (size_t i = 0; i < n; i++)
			to[count[(from[i].addr >> shift) & 0xff]++] = from[i];
		struct esym *t = from;
		from = to;
		to = t;
	}
	if (from != v)
		memcpy(v, from, n * sizeof(*v));
	munmap(tmp, n * sizeof(*v));
}

/* Is name a better name than best for one address?  Fewer leading
 * underscores (malloc, not __libc_malloc), then the shorter, then the first
 * in byte order: the choice does not depend on the symbol table's order. */
static int better_name(const char *name, const char *best)
{
	size_t un = strspn(name, "_"), ub = strspn(best, "_"), ln, lb;
	int c;

	if (un != ub)
		return un < ub;
	ln = strlen(name);
	lb = strlen(best);
	if (ln != lb)
		return ln < lb;
	c = strcmp(name, best);
	return c < 0;
}

/* Keeps one symbol per address of the sorted v[0, n), the best named, with
 * the largest size of the aliases; returns how many are left. */
static size_t drop_aliases(struct esym *v, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		if (out && v[out - 1].addr == v[i].addr) {
			struct esym *k = &v[out - 1];
			if (better_name(v[i].name, k->name))
				k->name = v[i].name;
			if (v[i].size > k->size)
				k->size = v[i].size;
			continue;
		}
		v[out++] = v[i];
	}
	return out;
}

/* len bytes of fd at off, read into a fresh anonymous mapping (a file
 * mapping would show in /proc/self/maps under the module's path, where
 * libdwfl would take it for part of the module: see read_symbols).  NULL if
 * the range is not inside the file's size or cannot be read. */
static void *read_at(int fd, size_t size, uint64_t off, uint64_t len)
{
	unsigned char *p;
	size_t done = 0;

	if (off > size || len > size - off)
		return NULL;
	p = map_anon(len ? len : 1);
	while (p && done < len) {
		ssize_t r = pread(fd, p + done, len - done, (off_t)(off + done));
		if (r <= 0) {
			munmap(p, len);
			return NULL;
		}
		done += (size_t)r;
	}
	return p;
}

/*
 * Reads the function symbols of the file at path (loaded with m->bias) into
 * m; m->syms stays NULL when there are none or the file is malformed.
 * Every offset read from the file is checked against its size.
 *
 * Only the section headers, the section names and the symbol and string
 * tables are read, each into anonymous memory; the string table stays (the
 * names point into it), the rest is unmapped.  The file itself is never
 * mapped: /proc/self/maps would list that mapping under the module's path,
 * and libdwfl, reading the maps, merges it with the module's own when the
 * two are adjacent, which moves the module's start and so every offset and
 * line it gives for the module.
 */
static void read_symbols(struct emod *m, const char *path)
{
	Elf64_Ehdr eh;
	Elf64_Shdr *sh = NULL;
	const Elf64_Shdr *tab = NULL, *str;
	const Elf64_Sym *syms = NULL;
	char *names = NULL, *strs = NULL;
	size_t size, shbytes = 0, nsym, n = 0;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(eh) ||
	    pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_shoff == 0 || eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0)
		goto out;
	size = (size_t)st.st_size;
	shbytes = (size_t)eh.e_shnum * sizeof(Elf64_Shdr);
	sh = read_at(fd, size, eh.e_shoff, shbytes);
	if (!sh)
		goto out;
	m->readable = 1;
	if (eh.e_shstrndx < eh.e_shnum &&
	    (names = read_at(fd, size, sh[eh.e_shstrndx].sh_offset, sh[eh.e_shstrndx].sh_size))) {
		uint64_t nbytes = sh[eh.e_shstrndx].sh_size;
		for (unsigned i = 0; i < eh.e_shnum; i++)
			if (sh[i].sh_name < nbytes && nbytes - sh[i].sh_name >= sizeof(".debug_line") &&
			    !memcmp(names + sh[i].sh_name, ".debug_line", sizeof(".debug_line")))
				m->has_dwarf = 1;
		munmap(names, nbytes ? nbytes : 1);
	}
	for (unsigned i = 0; i < eh.e_shnum; i++)
		if (sh[i].sh_type == SHT_SYMTAB || (sh[i].sh_type == SHT_DYNSYM && !tab))
			tab = &sh[i];
	if (!tab || tab->sh_link >= eh.e_shnum || tab->sh_entsize != sizeof(Elf64_Sym))
		goto out;
	str = &sh[tab->sh_link];
	nsym = tab->sh_size / sizeof(Elf64_Sym);
	if (!str->sh_size || !(syms = read_at(fd, size, tab->sh_offset, tab->sh_size)))
		goto out;
	if (!(strs = read_at(fd, size, str->sh_offset, str->sh_size)) ||
	    !(m->syms = map_anon((nsym ? nsym : 1) * sizeof(*m->syms))))
		goto out;
	for (size_t i = 0; i < nsym; i++) {
		const Elf64_Sym *s = &syms[i];
		unsigned type = ELF64_ST_TYPE(s->st_info);

		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s->st_shndx == SHN_UNDEF ||
		    !s->st_value || s->st_name >= str->sh_size)
			continue;
		/* The name must end inside the string table. */
		if (!memchr(strs + s->st_name, 0, str->sh_size - s->st_name))
			continue;
		m->syms[n].addr = s->st_value + m->bias;
		m->syms[n].size = s->st_size;
		m->syms[n].name = strs + s->st_name;
		n++;
	}
	sort_syms(m->syms, n);
	n = drop_aliases(m->syms, n);
	m->n = n;
out:
	/* strs stays mapped when a name points into it. */
	if (strs && !n)
		munmap(strs, str->sh_size);
	if (syms)
		munmap((void *)syms, tab->sh_size ? tab->sh_size : 1);
	if (sh)
		munmap(sh, shbytes);
	close(fd);
}

/* The module of link map lm (bias, path), read if new (lock held). */
static const struct emod *module(const struct link_map *lm)
{
	struct emod *m;
	const char *path = lm->l_name;

	for (size_t i = 0; i < es.nmods; i++)
		if (es.mods[i].map == lm && es.mods[i].bias == lm->l_addr)
			return &es.mods[i];
	if (es.nmods == PT_ELFSYM_MAX_MODS)
		return NULL;
	m = &es.mods[es.nmods++];
	m->map = lm;
	m->bias = lm->l_addr;
	if (!path || !*path)
		path = "/proc/self/exe"; /* the program */
	read_symbols(m, path);
	return m;
}

int pt_elfsym_module(uintptr_t pc)
{
	struct dl_find_object dlfo;
	const struct emod *m;
	int r = -1;

	if (_dl_find_object((void *)pc, &dlfo) != 0 || !dlfo.dlfo_link_map)
		return -1;
	pthread_mutex_lock(&es.lock);
	m = module(dlfo.dlfo_link_map);
	if (m && m->readable)
		r = m->has_dwarf ? PT_ELFSYM_DWARF : 0;
	pthread_mutex_unlock(&es.lock);
	return r;
}

const char *pt_elfsym_lookup(uintptr_t pc, uintptr_t *start)
{
	struct dl_find_object dlfo;
	const struct emod *m;
	const char *name = NULL;

	if (_dl_find_object((void *)pc, &dlfo) != 0 || !dlfo.dlfo_link_map)
		return NULL;
	pthread_mutex_lock(&es.lock);
	m = module(dlfo.dlfo_link_map);
	if (m && m->n) {
		size_t lo = 0, hi = m->n;
		/* The last symbol starting at or before pc. */
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;
			if (m->syms[mid].addr <= pc)
				lo = mid;
			else
				hi = mid;
		}
		if (m->syms[lo].addr <= pc && (!m->syms[lo].size || pc - m->syms[lo].addr < m->syms[lo].size)) {
			name = m->syms[lo].name;
			if (start)
				*start = m->syms[lo].addr;
		}
	}
	pthread_mutex_unlock(&es.lock);
	return name;
}
