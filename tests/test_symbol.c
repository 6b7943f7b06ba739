/*
 * test_symbol.c - program counters to names (src/symbol.c), without the
 * stack depot: a function's own address and a return address into it, the
 * module offset, an inline chain longer than the room given, strings that
 * stay the same across a reset, a module's file read offline, pcs nothing
 * is known of, and the symboliser's lock as other threads see it.
 * test_stack.c proves the symbols of captured stacks and their text.
 *
 * The functions below are noinline and end with an empty asm after their
 * call, so each keeps a frame of its own and the line of each call is known
 * exactly.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pt_test.h"

#include "stack.h"

static int line_call, line_inl, line_outer;

__attribute__((noinline)) static uintptr_t return_address(void)
{
	uintptr_t ra = (uintptr_t)__builtin_return_address(0);

	__asm__ volatile("");
	return ra;
}

__attribute__((noinline)) static uintptr_t caller(void)
{
	uintptr_t ra;

	line_call = __LINE__ + 1;
	ra = return_address();
	__asm__ volatile("");
	return ra;
}

/* Always inlined into outer: its frame exists only in the debug info. */
static inline __attribute__((always_inline)) uintptr_t inl(void)
{
	uintptr_t ra;

	line_inl = __LINE__ + 1;
	ra = return_address();
	__asm__ volatile("");
	return ra;
}

__attribute__((noinline)) static uintptr_t outer(void)
{
	uintptr_t ra;

	line_outer = __LINE__ + 1;
	ra = inl();
	__asm__ volatile("");
	return ra;
}

/* The load bias of the module holding pc (what addr2line's offsets are
 * relative to). */
static uintptr_t bias_of(uintptr_t pc)
{
	Dl_info di;
	struct link_map *lm = NULL;

	if (!dladdr1((void *)pc, &di, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
		return 0;
	return (uintptr_t)lm->l_addr;
}

/* A return address is looked up at the call: the caller's line. */
PT_TEST(test_return_address)
{
	uintptr_t ra = caller();
	struct pt_frame f, g;

	PT_CHECK_EQ(pt_sym_lookup(ra, 1, &f), 0);
	PT_CHECK_STR(f.func, "caller");
	PT_CHECK_STR(f.file, "test_symbol.c");
	PT_CHECK_EQ(f.line, line_call);
	PT_CHECK_EQ(f.inlined, 0);
	PT_CHECK(f.pc == ra);
	PT_CHECK(f.offset == ra - bias_of(ra));
	PT_CHECK_STR(f.module, program_invocation_short_name);
	/* The same pc again: the same frame (from the cache). */
	PT_CHECK_EQ(pt_sym_lookup(ra, 1, &g), 0);
	PT_CHECK(memcmp(&f, &g, sizeof(f)) == 0);
}

/* A function's own first instruction is not a return address: it belongs
 * to that function (as a return address it would be the byte before). */
PT_TEST(test_function_address)
{
	uintptr_t pc = (uintptr_t)&caller;
	struct pt_frame f;

	PT_CHECK_EQ(pt_sym_lookup(pc, 0, &f), 0);
	PT_CHECK_STR(f.func, "caller");
	PT_CHECK_STR(f.file, "test_symbol.c");
	PT_CHECK(f.line > 0 && f.line < (unsigned)line_call);
	PT_CHECK(pt_sym_lookup(pc, 1, &f) != 0 || strcmp(f.func, "caller") != 0);
}

/* The chain at a pc inside inlined code: innermost first; with room for
 * one frame, its length is still told and only the room is written. */
PT_TEST(test_inline_chain)
{
	uintptr_t ra = outer();
	struct pt_frame chain[3], f;

	memset(chain, 0, sizeof(chain));
	PT_CHECK_EQ(pt_sym_lookup_inline(ra, 1, chain, 3), 2);
	PT_CHECK_STR(chain[0].func, "inl");
	PT_CHECK_EQ(chain[0].line, line_inl);
	PT_CHECK_EQ(chain[0].inlined, 1);
	PT_CHECK_STR(chain[1].func, "outer");
	PT_CHECK_EQ(chain[1].line, line_outer);
	PT_CHECK_EQ(chain[1].inlined, 0);
	PT_CHECK(chain[2].func == NULL);
	memset(chain, 0, sizeof(chain));
	PT_CHECK_EQ(pt_sym_lookup_inline(ra, 1, chain, 1), 2);
	PT_CHECK_STR(chain[0].func, "inl");
	PT_CHECK(chain[1].func == NULL);
	PT_CHECK_EQ(pt_sym_lookup_inline(ra, 1, chain, 0), -1); /* no room at all */
	PT_CHECK_EQ(pt_sym_lookup(ra, 1, &f), 0);
	PT_CHECK_STR(f.func, "inl");
}

/* Strings handed out stay valid and the same across a reset: they are
 * interned, never freed. */
PT_TEST(test_reset_keeps_strings)
{
	uintptr_t ra = caller();
	struct pt_frame f, g;

	PT_CHECK_EQ(pt_sym_lookup(ra, 1, &f), 0);
	pt_sym_reset();
	PT_CHECK_EQ(pt_sym_lookup(ra, 1, &g), 0);
	PT_CHECK(f.func == g.func);
	PT_CHECK(f.file == g.file);
	PT_CHECK(f.module == g.module);
	PT_CHECK_STR(f.func, "caller");
	PT_CHECK_EQ(g.line, line_call);
}

/* The program's file read offline gives what the live lookup gives; a
 * file that is missing or not ELF gives "?"; an address of the file in no
 * function gives its module alone. */
PT_TEST(test_offline)
{
	uintptr_t ra = caller();
	struct pt_frame live, off;
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	PT_CHECK(n > 0);
	if (n <= 0)
		return;
	self[n] = 0;
	PT_CHECK_EQ(pt_sym_lookup(ra, 1, &live), 0);
	PT_CHECK_EQ(pt_sym_offline(self, live.offset, 1, &off), 0);
	PT_CHECK_STR(off.func, "caller");
	PT_CHECK_STR(off.file, "test_symbol.c");
	PT_CHECK_EQ(off.line, line_call);
	PT_CHECK_STR(off.module, live.module);
	PT_CHECK(off.pc == live.offset && off.offset == live.offset);

	PT_CHECK_EQ(pt_sym_offline("/nonexistent/prog", live.offset, 1, &off), -1);
	PT_CHECK_STR(off.func, "?");
	PT_CHECK_STR(off.module, "?");
	PT_CHECK(off.file == NULL && off.line == 0 && off.pc == live.offset);
	PT_CHECK_EQ(pt_sym_offline("/proc/self/status", live.offset, 1, &off), -1);
	PT_CHECK_STR(off.func, "?");
	PT_CHECK_EQ(pt_sym_offline(self, 0, 0, &off), 0);
	PT_CHECK_STR(off.module, live.module);
	PT_CHECK_STR(off.func, "?");
	PT_CHECK(off.file == NULL && off.line == 0);
}

/* The null page: "?", and -1. */
PT_TEST(test_unknown)
{
	struct pt_frame f;

	PT_CHECK_EQ(pt_sym_lookup(16, 0, &f), -1);
	PT_CHECK_STR(f.func, "?");
	PT_CHECK_STR(f.module, "?");
	PT_CHECK(f.file == NULL && f.line == 0 && f.pc == 16);
	PT_CHECK_EQ(pt_sym_lookup(0, 1, &f), -1);
	PT_CHECK_STR(f.func, "?");
	PT_CHECK(f.pc == 0);
}

/* ---- the lock ---- */

static void *try_from_another_thread(void *arg)
{
	int got = pt_sym_trylock();
	intptr_t r = got ? (pt_sym_held() ? 2 : 3) : (pt_sym_held() ? 4 : 1);

	(void)arg;
	if (got)
		pt_sym_unlock();
	return (void *)r;
}

static intptr_t try_in_thread(void)
{
	pthread_t th;
	void *r = NULL;

	if (pthread_create(&th, NULL, try_from_another_thread, NULL) != 0)
		return -1;
	pthread_join(th, &r);
	return (intptr_t)r;
}

/* Held is per thread: the holder says so, another thread cannot take it
 * (1) until it is released, then takes it and says so (2). */
PT_TEST(test_lock_held)
{
	PT_CHECK_EQ(pt_sym_held(), 0);
	pt_sym_lock();
	PT_CHECK_EQ(pt_sym_held(), 1);
	PT_CHECK_EQ(try_in_thread(), 1);
	pt_sym_unlock();
	PT_CHECK_EQ(pt_sym_held(), 0);
	PT_CHECK_EQ(try_in_thread(), 2);
	PT_CHECK_EQ(pt_sym_trylock(), 1);
	PT_CHECK_EQ(pt_sym_held(), 1);
	PT_CHECK_EQ(try_in_thread(), 1);
	pt_sym_unlock();
	PT_CHECK_EQ(pt_sym_held(), 0);
}

int main(void)
{
	PT_RUN(test_return_address);
	PT_RUN(test_function_address);
	PT_RUN(test_inline_chain);
	PT_RUN(test_reset_keeps_strings);
	PT_RUN(test_offline);
	PT_RUN(test_unknown);
	PT_RUN(test_lock_held);
	return pt_test_done();
}
