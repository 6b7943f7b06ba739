/*
 * test_elfsym.c - function names from ELF symbol tables (src/elfsym.c):
 * any pc inside a function gives its name and start, in the program and in
 * a shared library, up to its last byte and not past it; a module with
 * line information says so; a pc in no module gives nothing.
 */
#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "elfsym.h"
#include "pt_test.h"

int main(void);

/* Static, so found in .symtab only; long enough that start + 16 is still
 * inside. */
__attribute__((noinline)) static int elfsym_target(int x)
{
	int s = 0;

	for (int i = 0; i < x; i++)
		s += i * x + (s >> 3);
	__asm__ volatile("" : "+r"(s));
	return s;
}

PT_TEST(test_program_function)
{
	uintptr_t fn = (uintptr_t)&elfsym_target, start = 0;
	const char *name = pt_elfsym_lookup(fn, &start);

	PT_CHECK_STR(name, "elfsym_target");
	PT_CHECK(start == fn);
	start = 0;
	PT_CHECK(pt_elfsym_lookup(fn + 16, &start) == name); /* the same string */
	PT_CHECK(start == fn);
	PT_CHECK_STR(pt_elfsym_lookup((uintptr_t)&main, &start), "main");
	PT_CHECK(start == (uintptr_t)&main);
	/* Built with -g: line information is there. */
	PT_CHECK_EQ(pt_elfsym_module(fn), PT_ELFSYM_DWARF);
	/* Called (not checked: any result will do), so that it stays. */
	volatile int sink = elfsym_target(3);
	(void)sink;
}

PT_TEST(test_library_function)
{
	uintptr_t fn = (uintptr_t)dlsym(RTLD_DEFAULT, "strtoull"), start = 0;
	const char *name;

	PT_CHECK(fn != 0);
	if (!fn)
		return;
	name = pt_elfsym_lookup(fn + 1, &start);
	PT_CHECK(name != NULL);
	PT_CHECK(start == fn);
	PT_CHECK_HAS(name, "strtoul"); /* an alias may be the name kept */
	PT_CHECK(pt_elfsym_module(fn) >= 0);
}

/* A function's last byte is its own, the byte after it is not (the next
 * function's, or padding that is no one's).  Sizes from the dynamic
 * symbol table: the program is linked with -rdynamic. */
static void check_end(const char *sym)
{
	void *fn = dlsym(RTLD_DEFAULT, sym);
	const ElfW(Sym) *es = NULL;
	uintptr_t start = 0, end;
	Dl_info di;

	if (!fn || !dladdr1(fn, &di, (void **)&es, RTLD_DL_SYMENT) || !es || !es->st_size) {
		PT_FAIL_("%s: no size in the dynamic symbol table", sym);
		return;
	}
	end = (uintptr_t)fn + es->st_size;
	PT_CHECK(pt_elfsym_lookup(end - 1, &start) != NULL && start == (uintptr_t)fn);
	start = 0;
	if (pt_elfsym_lookup(end, &start) != NULL && start == (uintptr_t)fn)
		PT_FAIL_("%s: the byte after its end is found in it", sym);
}

PT_TEST(test_function_ends)
{
	check_end("main");
	check_end("strtoull");
	check_end("qsort");
	check_end("malloc");
}

PT_TEST(test_no_module)
{
	uintptr_t start = 7;
	int on_stack = 0;
	void *heap = malloc(64);

	PT_CHECK(pt_elfsym_lookup(0, &start) == NULL);
	PT_CHECK(pt_elfsym_lookup(16, &start) == NULL);
	PT_CHECK(pt_elfsym_lookup((uintptr_t)&on_stack, &start) == NULL);
	PT_CHECK(pt_elfsym_lookup((uintptr_t)heap, &start) == NULL);
	PT_CHECK_EQ(pt_elfsym_module(16), -1);
	PT_CHECK_EQ(pt_elfsym_module((uintptr_t)&on_stack), -1);
	free(heap);
}

int main(void)
{
	PT_RUN(test_program_function);
	PT_RUN(test_library_function);
	PT_RUN(test_function_ends);
	PT_RUN(test_no_module);
	return pt_test_done();
}
