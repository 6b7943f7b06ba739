/*
 * progfile.c - what pooltag run and pooltag faults need to know of a
 * program's file before they start it: where PATH finds it, whether it is
 * statically linked (LD_PRELOAD cannot reach it), and whether it carries
 * libpooltag itself (then pooltag faults drives it directly, else through
 * pooltag run's interposer).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"

int pt_find_program(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH"), *p;
	int e = ENOENT;

	if (strchr(name, '/')) {
		struct stat st;
		snprintf(out, len, "%s", name);
		if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) {
			errno = EISDIR;
			return -1;
		}
		return access(out, X_OK) == 0 ? 0 : -1;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path;; p++) {
		const char *c = strchr(p, ':');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		struct stat st;

		if ((size_t)snprintf(out, len, "%.*s%s%s", (int)n, n ? p : ".", "/", name) < len &&
		    stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(out, X_OK) == 0)
				return 0;
			e = EACCES;
		}
		if (!c)
			break;
		p = c;
	}
	errno = e;
	return -1;
}

/* Reads n bytes at off; 0 or -1. */
static int rd(int fd, void *buf, size_t n, uint64_t off)
{
	return pread(fd, buf, n, (off_t)off) == (ssize_t)n ? 0 : -1;
}

int pt_is_static_elf(const char *file)
{
	Elf64_Ehdr eh;
	int fd = open(file, O_RDONLY | O_CLOEXEC), interp = 0, ok;

	if (fd < 0)
		return 0;
	ok = rd(fd, &eh, sizeof(eh), 0) == 0 && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
	     eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) &&
	     eh.e_phnum < 256;
	for (int i = 0; ok && i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (rd(fd, &ph, sizeof(ph), eh.e_phoff + (uint64_t)i * sizeof(ph)) != 0) {
			ok = 0;
			break;
		}
		if (ph.p_type == PT_INTERP)
			interp = 1;
	}
	close(fd);
	return ok && !interp;
}

/* Does section sh (a symbol table) name a symbol starting "pt_fault_"?
 * Its string table is section sh->sh_link. */
static int has_fault_symbol(int fd, const Elf64_Ehdr *eh, const Elf64_Shdr *sh)
{
	Elf64_Shdr strh;
	char *names;
	int found = 0;

	if (sh->sh_link >= eh->e_shnum ||
	    rd(fd, &strh, sizeof(strh), eh->e_shoff + (uint64_t)sh->sh_link * sizeof(strh)) != 0 ||
	    strh.sh_size > (64u << 20) || sh->sh_entsize != sizeof(Elf64_Sym))
		return 0;
	names = malloc(strh.sh_size + 1);
	if (!names || rd(fd, names, strh.sh_size, strh.sh_offset) != 0) {
		free(names);
		return 0;
	}
	names[strh.sh_size] = 0;
	for (uint64_t i = 0; !found && i < sh->sh_size / sizeof(Elf64_Sym) && i < (1u << 22); i++) {
		Elf64_Sym sym;
		if (rd(fd, &sym, sizeof(sym), sh->sh_offset + i * sizeof(sym)) != 0)
			break;
		found = sym.st_name < strh.sh_size && sym.st_shndx != SHN_UNDEF &&
			strncmp(names + sym.st_name, "pt_fault_", 9) == 0;
	}
	free(names);
	return found;
}

/* A dynamic section's DT_NEEDED entries: is one libpooltag.so*? */
static int needs_pooltag(int fd, const Elf64_Ehdr *eh, const Elf64_Shdr *sh)
{
	Elf64_Shdr strh;
	int found = 0;

	if (sh->sh_link >= eh->e_shnum ||
	    rd(fd, &strh, sizeof(strh), eh->e_shoff + (uint64_t)sh->sh_link * sizeof(strh)) != 0)
		return 0;
	for (uint64_t i = 0; !found && i < sh->sh_size / sizeof(Elf64_Dyn) && i < 4096; i++) {
		Elf64_Dyn d;
		char name[32];
		if (rd(fd, &d, sizeof(d), sh->sh_offset + i * sizeof(d)) != 0 || d.d_tag == DT_NULL)
			break;
		if (d.d_tag == DT_NEEDED && d.d_un.d_val < strh.sh_size &&
		    pread(fd, name, sizeof(name) - 1, (off_t)(strh.sh_offset + d.d_un.d_val)) > 0) {
			name[sizeof(name) - 1] = 0;
			found = strncmp(name, "libpooltag.so", 13) == 0;
		}
	}
	return found;
}

int pt_links_pooltag(const char *file)
{
	Elf64_Ehdr eh;
	int fd = open(file, O_RDONLY | O_CLOEXEC), found = 0;

	if (fd < 0)
		return 0;
	if (rd(fd, &eh, sizeof(eh), 0) == 0 && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
	    eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_shentsize == sizeof(Elf64_Shdr) &&
	    eh.e_shnum < 4096) {
		for (int i = 0; !found && i < eh.e_shnum; i++) {
			Elf64_Shdr sh;
			if (rd(fd, &sh, sizeof(sh), eh.e_shoff + (uint64_t)i * sizeof(sh)) != 0)
				break;
			if (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM)
				found = has_fault_symbol(fd, &eh, &sh);
			else if (sh.sh_type == SHT_DYNAMIC)
				found = needs_pooltag(fd, &eh, &sh);
		}
	}
	close(fd);
	return found;
}
