/*
 * elfsym.c - function names from ELF symbol tables, read once per module.
 *
 * libdw's dwfl_module_addrinfo scans every symbol of a module on each
 * lookup: on a large program with many allocation sites that was most of
 * the interposer's cost.  Here a module's file is mapped once, its
 * function symbols copied to an array sorted by address, and a lookup is a
 * bisection.  Symbol names point into the mapped file, which stays mapped:
 * names stay valid for the life of the process.
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
 * may allocate, and a malloc hook may be what called us). */
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

static void sort_syms(struct esym *v, size_t n)
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

/* The ELF file at path, mapped; its size in *size.  NULL if unreadable or
 * not a 64-bit ELF file of this machine. */
static const unsigned char *map_file(const char *path, size_t *size)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	if (memcmp(p, ELFMAG, SELFMAG) != 0 || ((const unsigned char *)p)[EI_CLASS] != ELFCLASS64) {
		munmap(p, (size_t)st.st_size);
		return NULL;
	}
	*size = (size_t)st.st_size;
	return p;
}

/* Reads the function symbols of the file at path (loaded with bias) into
 * m; m->syms stays NULL when there are none or the file is malformed.
 * Every offset read from the file is checked against its size. */
static void read_symbols(struct emod *m, const char *path)
{
	size_t size = 0, nsym, n = 0;
	const unsigned char *f = map_file(path, &size);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
	const Elf64_Shdr *sh, *tab = NULL, *str;

	if (!f)
		return;
	if (eh->e_shoff == 0 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    eh->e_shoff > size || (size - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum)
		return;
	sh = (const Elf64_Shdr *)(f + eh->e_shoff);
	m->readable = 1;
	if (eh->e_shstrndx < eh->e_shnum) {
		const Elf64_Shdr *names = &sh[eh->e_shstrndx];
		for (unsigned i = 0; i < eh->e_shnum && names->sh_offset <= size; i++)
			if (sh[i].sh_name < names->sh_size && names->sh_size <= size - names->sh_offset &&
			    names->sh_size - sh[i].sh_name > sizeof(".debug_line") &&
			    !memcmp(f + names->sh_offset + sh[i].sh_name, ".debug_line",
				    sizeof(".debug_line")))
				m->has_dwarf = 1;
	}
	for (unsigned i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type == SHT_SYMTAB || (sh[i].sh_type == SHT_DYNSYM && !tab))
			tab = &sh[i];
	if (!tab || tab->sh_link >= eh->e_shnum || tab->sh_entsize != sizeof(Elf64_Sym) ||
	    tab->sh_offset > size || tab->sh_size > size - tab->sh_offset)
		return;
	str = &sh[tab->sh_link];
	if (str->sh_offset > size || str->sh_size > size - str->sh_offset || !str->sh_size)
		return;
	nsym = tab->sh_size / sizeof(Elf64_Sym);
	m->syms = map_anon((nsym ? nsym : 1) * sizeof(*m->syms));
	if (!m->syms)
		return;
	for (size_t i = 0; i < nsym; i++) {
		const Elf64_Sym *s = (const Elf64_Sym *)(f + tab->sh_offset) + i;
		unsigned type = ELF64_ST_TYPE(s->st_info);

		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s->st_shndx == SHN_UNDEF ||
		    !s->st_value || s->st_name >= str->sh_size)
			continue;
		/* The name must end inside the string table. */
		if (!memchr(f + str->sh_offset + s->st_name, 0, str->sh_size - s->st_name))
			continue;
		m->syms[n].addr = s->st_value + m->bias;
		m->syms[n].size = s->st_size;
		m->syms[n].name = (const char *)f + str->sh_offset + s->st_name;
		n++;
	}
	sort_syms(m->syms, n);
	m->n = n;
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
