/*
 * elfsym.h - a function's name from its module's ELF symbol table, cheaply:
 * the table is read once per module (.symtab, else .dynsym), sorted, and
 * searched by bisection.  No DWARF, no libdw: for the interposer's
 * registration of a call site, where only the function matters and file
 * and line can wait for a report (symbol.c).  Nothing here is public API.
 */
#ifndef PT_ELFSYM_H
#define PT_ELFSYM_H

#include <stdint.h>

/*
 * The function holding pc, a code address of a module loaded in this
 * process (the dynamic linker's view, _dl_find_object).  Returns its name,
 * valid for the life of the process, and its start in *start; NULL when
 * the module is unknown, its file cannot be read, or no symbol covers pc
 * (a stripped static function).  The first lookup in a module maps its
 * file and sorts its symbols (about 1 ms per 10,000); later ones cost a
 * bisection.  Takes a mutex; does not call malloc (mmap only), so a
 * malloc hook may call it.
 */
const char *pt_elfsym_lookup(uintptr_t pc, uintptr_t *start);

/*
 * What is known of the module holding pc: -1 when it is not a loaded
 * module or its file cannot be read (pt_elfsym_lookup then knows nothing
 * of it), else PT_ELFSYM_DWARF if the file has line information
 * (.debug_line), 0 if not.  Reads the module as pt_elfsym_lookup does.
 */
#define PT_ELFSYM_DWARF 1
int pt_elfsym_module(uintptr_t pc);

#endif /* PT_ELFSYM_H */
