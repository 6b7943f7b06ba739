/*
 * test_special.c - the verifier's special pool: selection by tag, module and
 * size; overruns and underruns fault on the guard page or are found in the
 * fill at free; a freed block faults while quarantined, and the report
 * names the allocating and freeing sites with their stacks; the quarantine
 * keeps its bounds; "continue" reports, counts and proceeds.
 *
 * The special pool's configuration is process-wide and stays on once set:
 * each test sets every key it depends on.  Faults whose action stops the
 * program run in a forked child whose standard error is read back.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pooltag.h>

#include "internal.h"
#include "pt_libtest.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

/* The fault handler symbolises stacks, which allocates: knowingly not
 * async-signal-safe (see special.c), so ThreadSanitizer is told not to
 * report it. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "report_signal_unsafe=0";
}

/* One option through the public entry, as POOLTAG would set it. */
static int opt(const char *key, const char *val)
{
	char spec[256];
	int rc;

	snprintf(spec, sizeof(spec), "%s=%s", key, val);
	rc = pt_config(spec);
	if (rc != 0)
		printf("# %s: %s\n", spec, pt_config_error());
	return rc;
}

/* Every key to a known state: special on tags matching pat, any module,
 * any size, guard after, the default quarantine. */
static void select_tags(const char *pat)
{
	opt("special", pat);
	opt("special.module", "*");
	opt("special.size", "-");
	opt("special.guard", "after");
	opt("special.quarantine", "1024:64M");
}

/* A volatile access the compiler keeps.  The barrier: the fault handler
 * (through the misuse hook) changes what the test reads next. */
static __attribute__((noinline)) void poke(volatile char *p, char v)
{
	*p = v;
	__asm__ volatile("" ::: "memory");
}
static __attribute__((noinline)) char peek(const volatile char *p)
{
	char c = *p;
	__asm__ volatile("" ::: "memory");
	return c;
}

/* Runs fn in a child with the verifier's action set to exit, standard error
 * into out; returns the child's wait status. */
static int in_child(void (*fn)(void), char *out, size_t len)
{
	int fds[2], status = 0;
	ssize_t n = 0, r;
	pid_t pid;

	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 2);
		pt_misuse_set_hook(NULL, NULL);
		pt_verify_set(PT_VERIFY_EXIT);
		fn();
		exit(0); /* not reached when the finding stops the child */
	}
	close(fds[1]);
	while ((r = read(fds[0], out + n, len - 1 - (size_t)n)) > 0)
		n += r;
	out[n] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	return status;
}

PT_TEST(test_options)
{
	char err[256];
	static const char *const bad[][2] = {
		{"special", ""},
		{"special", "Proc||SE*"},
		{"special", "0123456789012345678901234567890123"},
		{"special.size", "12"},
		{"special.size", "2K-1K"},
		{"special.size", "x-"},
		{"special.size", "1Q-"},
		{"special.guard", "left"},
		{"special.quarantine", "10"},
		{"special.quarantine", "10:x"},
		{"special.fill", "0x100"},
		{"special.fill", ""},
		{"special.colour", "red"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(err, sizeof(err), "%s=%s", bad[i][0], bad[i][1]);
		errno = 0;
		PT_CHECK_EQ(pt_config(err), -1);
		PT_CHECK_EQ(errno, EINVAL);
		snprintf(err, sizeof(err), "option '%s'", bad[i][0]);
		PT_CHECK_HAS(pt_config_error(), err);
		PT_CHECK(strchr(pt_config_error(), '\n') == NULL);
	}
	PT_CHECK_EQ(opt("special.size", "1K-2M"), 0);
	PT_CHECK_EQ(opt("special.size", "-64"), 0);
	PT_CHECK_EQ(opt("special.size", "64-"), 0);
	PT_CHECK_EQ(opt("special.quarantine", "0:0"), 0);
	PT_CHECK_EQ(opt("special.fill", "0xa5"), 0);
	PT_CHECK_EQ(opt("special", "Proc|SE*|?x?y"), 0);
}

PT_TEST(test_select_by_tag)
{
	char *a, *b, *c;

	select_tags("SpT*|Q?rk");
	a = pt_alloc(PT_PAGED, 40, "SpT1");
	b = pt_alloc(PT_PAGED, 40, "Othr");
	c = pt_alloc(PT_PAGED, 40, "Qwrk");
	PT_CHECK_EQ(pt_special_contains(a), 1);
	PT_CHECK_EQ(pt_special_contains(b), 0);
	PT_CHECK_EQ(pt_special_contains(c), 1);
	/* A special block is in the accounting like any other. */
	PT_CHECK_EQ(count_of("SpT1", PT_PAGED).curbytes, 40);
	PT_CHECK_EQ(pt_size(a), 40);
	PT_CHECK_EQ(pt_tag_of(a), PT_TAG("SpT1"));
	PT_CHECK(((uintptr_t)a & 15) == 0);
	memset(a, 1, 40);
	pt_free(a, "SpT1");
	pt_free(b, "Othr");
	pt_free(c, "Qwrk");
	PT_CHECK_EQ(pt_special_contains(a), 2); /* quarantined */
	PT_CHECK_EQ(count_of("SpT1", PT_PAGED).curblocks, 0);
	PT_CHECK_EQ(count_of("SpT1", PT_PAGED).nfrees, 1);
	/* Short tags are matched with or without their padding. */
	select_tags("Ab");
	a = pt_alloc(PT_PAGED, 8, "Ab");
	PT_CHECK_EQ(pt_special_contains(a), 1);
	pt_free(a, "Ab");
}

PT_TEST(test_select_by_size)
{
	char *s, *m, *l;

	select_tags("SpSz");
	opt("special.size", "100-1K");
	s = pt_alloc(PT_PAGED, 99, "SpSz");
	m = pt_zalloc(PT_PAGED, 100, "SpSz");
	l = pt_alloc(PT_PAGED, 1025, "SpSz");
	PT_CHECK_EQ(pt_special_contains(s), 0);
	PT_CHECK_EQ(pt_special_contains(m), 1);
	PT_CHECK_EQ(pt_special_contains(l), 0);
	PT_CHECK(m && m[0] == 0 && m[99] == 0);
	pt_free(s, "SpSz");
	pt_free(m, "SpSz");
	pt_free(l, "SpSz");
	/* Size alone selects every tag. */
	opt("special", "*");
	opt("special.size", "3000-3000");
	s = pt_alloc(PT_PAGED, 3000, "AnyT");
	PT_CHECK_EQ(pt_special_contains(s), 1);
	pt_free(s, "AnyT");
	opt("special.size", "-");
}

/* What modplug.so takes from this program (linked with -rdynamic, the
 * archive's members it does not use would be missing). */
__attribute__((used)) static void *const modplug_needs[] = {
	(void *)pt_handle_open_at, (void *)pt_handle_close_at, (void *)pt_handle_ref_at,
	(void *)pt_behalf_enter, (void *)pt_behalf_leave, (void *)pt_obj_ref_at,
	(void *)pt_obj_deref_at,
};

PT_TEST(test_select_by_module)
{
	struct pt_module *m;
	void *(*ctor_block)(void);
	char *mine;

	select_tags("MpCt");
	opt("special.module", "modplug.so");
	m = load_plugin_in(NULL, NULL, 1); /* its constructor allocates an MpCt */
	PT_CHECK(m != NULL);
	if (!m)
		return;
	*(void **)&ctor_block = pt_module_sym(m, "modplug_ctor_block");
	PT_CHECK_EQ(pt_special_contains(ctor_block()), 1);
	mine = pt_alloc(PT_PAGED, 24, "MpCt"); /* the main program's: not selected */
	PT_CHECK_EQ(pt_special_contains(mine), 0);
	pt_free(mine, "MpCt");
	opt("special.module", "main");
	mine = pt_alloc(PT_PAGED, 24, "MpCt");
	PT_CHECK_EQ(pt_special_contains(mine), 1);
	pt_free(mine, "MpCt");
	{
		void (*ctor_free)(void);
		*(void **)&ctor_free = pt_module_sym(m, "modplug_ctor_free");
		ctor_free();
	}
	PT_CHECK_EQ(pt_module_unload(m), 0);
	opt("special.module", "*");
}

/* ---- faults that stop the program, in a child ---- */

enum { overrun_line = __LINE__ + 3 };
static void overrun(void)
{
	char *p = pt_alloc(PT_PAGED, 40, "SpOv");

	poke(p + 48, 1); /* 40 rounds up to 48: the next byte is the guard page */
}

PT_TEST(test_overrun_faults)
{
	char out[16384], want[64];
	int st;

	select_tags("SpOv");
	st = in_child(overrun, out, sizeof(out));
	PT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == PT_BUGCHECK_EXIT);
	PT_CHECK_HAS(out, "pooltag: special pool: write at 0x");
	PT_CHECK_HAS(out, "an overrun of block");
	PT_CHECK_HAS(out, "(tag 'SpOv', 40 bytes): offset 48 (8 bytes past its end)");
	PT_CHECK_HAS(out, "accessed at poke (test_special.c:");
	snprintf(want, sizeof(want), "allocated at tests/test_special.c:%u (overrun)", overrun_line);
	PT_CHECK_HAS(out, want);
	PT_CHECK_HAS(out, "stack: overrun (test_special.c:");
	PT_CHECK_HAS(out, "<- in_child (test_special.c:");
	PT_CHECK_HAS(out, "stopping the program (exit status 86)");
}

static void underrun(void)
{
	char *p;

	opt("special.guard", "before");
	p = pt_alloc(PT_PAGED, 40, "SpUn");
	peek(p - 17); /* below the 16-byte header: the guard page */
}

PT_TEST(test_underrun_faults)
{
	char out[16384];
	int st;

	select_tags("SpUn");
	st = in_child(underrun, out, sizeof(out));
	PT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == PT_BUGCHECK_EXIT);
	PT_CHECK_HAS(out, "pooltag: special pool: read at 0x");
	PT_CHECK_HAS(out, "an underrun of block");
	PT_CHECK_HAS(out, "offset -17 (17 bytes before its start)");
	PT_CHECK_HAS(out, "accessed at peek (test_special.c:");
	PT_CHECK_HAS(out, "stack: underrun (test_special.c:");
}

enum { uaf_alloc_line = __LINE__ + 3, uaf_free_line = __LINE__ + 5 };
static void use_after_free(void)
{
	char *p = pt_alloc(PT_PAGED, 100, "SpUf");

	pt_free(p, "SpUf");
	peek(p + 10);
}

PT_TEST(test_use_after_free_faults)
{
	char out[16384], want[96];
	int st;

	select_tags("SpUf");
	st = in_child(use_after_free, out, sizeof(out));
	PT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == PT_BUGCHECK_EXIT);
	PT_CHECK_HAS(out, "a use after free of block");
	PT_CHECK_HAS(out, "(tag 'SpUf', 100 bytes): offset 10\n");
	snprintf(want, sizeof(want), "allocated at tests/test_special.c:%u (use_after_free)",
		 uaf_alloc_line);
	PT_CHECK_HAS(out, want);
	snprintf(want, sizeof(want), "freed at tests/test_special.c:%u (use_after_free)",
		 uaf_free_line);
	PT_CHECK_HAS(out, want);
	snprintf(want, sizeof(want), "stack: use_after_free (test_special.c:%u)", uaf_alloc_line);
	PT_CHECK_HAS(out, want);
	snprintf(want, sizeof(want), "stack: use_after_free (test_special.c:%u)", uaf_free_line);
	PT_CHECK_HAS(out, want);
}

static void abort_action(void)
{
	char *p = pt_alloc(PT_PAGED, 16, "SpAb");

	pt_verify_set(PT_VERIFY_ABORT);
	poke(p + 16, 1);
}

PT_TEST(test_abort_action)
{
	char out[16384];
	int st;

	select_tags("SpAb");
	st = in_child(abort_action, out, sizeof(out));
	PT_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	PT_CHECK_HAS(out, "an overrun of block");
	PT_CHECK_HAS(out, "stopping the program (abort)");
}

/* A fault that is not the special pool's goes to the handler before it:
 * here the default one, so the child dies of SIGSEGV. */
static void foreign_fault(void)
{
	poke((char *)(uintptr_t)16, 1); /* counts nothing: the child exports no segment */
}

PT_TEST(test_foreign_fault_chained)
{
	char out[4096];
	int st;

	select_tags("SpFf");
	st = in_child(foreign_fault, out, sizeof(out));
#ifdef UNDER_SANITIZER
	/* The handler before ours is the sanitizer's: it reports and exits. */
	PT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	PT_CHECK_HAS(out, "Sanitizer: SEGV");
#else
	PT_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
#endif
	PT_CHECK(strstr(out, "special pool") == NULL);
}

/* ---- in process: continue ---- */

PT_TEST(test_continue_counts_and_proceeds)
{
	uint64_t m0 = pt_misuse_count();
	int n = nreports;
	char *p, *q;

	select_tags("SpCo");
	p = pt_alloc(PT_PAGED, 32, "SpCo");
	poke(p + 32, 7); /* into the guard page: reported, then done */
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(pt_misuse_count(), m0 + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_FAULT);
	PT_CHECK(last.addr == p);
	PT_CHECK(last.access == p + 32);
	PT_CHECK_EQ(last.tag, PT_TAG("SpCo"));
	PT_CHECK_STR(last.alloc_func, "test_continue_counts_and_proceeds");
	PT_CHECK_HAS(last.text, "offset 32 (0 bytes past its end)");
	PT_CHECK_EQ(peek(p + 32), 7);
	PT_CHECK_EQ(nreports, n + 1); /* the page stays open: one report */
	pt_free(p, "SpCo");
	PT_CHECK_EQ(count_of("SpCo", PT_PAGED).curblocks, 0);

	q = pt_alloc(PT_PAGED, 64, "SpCo");
	q[3] = 9;
	pt_free(q, "SpCo");
	PT_CHECK_EQ(peek(q + 3), 9); /* read after free: reported, then allowed */
	PT_CHECK_EQ(nreports, n + 2);
	PT_CHECK_EQ(last.kind, PT_MISUSE_FAULT);
	PT_CHECK_HAS(last.text, "a use after free");
	PT_CHECK_HAS(last.text, "freed at tests/test_special.c:");
	PT_CHECK(last.freed_at != NULL);
	PT_CHECK_EQ(pt_misuse_count(), m0 + 2);
}

PT_TEST(test_small_overrun_in_slack)
{
	char *p;
	int n = nreports;
	unsigned alloc_line, free_line;

	select_tags("SpSl");
	p = pt_alloc(PT_PAGED, 20, "SpSl"); alloc_line = __LINE__;
	p[20] = 'x';
	p[23] = 'y'; /* 3 bytes past the end: short of the guard, in the slack */
	PT_CHECK_EQ(nreports, n);
	pt_free(p, "SpSl"); free_line = __LINE__;
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_CORRUPTED);
	PT_CHECK_HAS(last.text, "overrun of block");
	PT_CHECK_HAS(last.text, "overwritten at offsets 20-23 (0 to 3 bytes past the end)");
	PT_CHECK_EQ(last.alloc_line, alloc_line);
	PT_CHECK(last.site && last.site->line == free_line);
	PT_CHECK_HAS(last.text, "stack: test_small_overrun_in_slack (test_special.c:");
	PT_CHECK_EQ(count_of("SpSl", PT_PAGED).curblocks, 0); /* freed all the same */

	/* A block keeps the pattern it was filled with: a new special.fill
	 * applies to later blocks and finds nothing in earlier ones. */
	n = nreports;
	p = pt_alloc(PT_PAGED, 20, "SpSl");
	opt("special.fill", "0x3c");
	pt_free(p, "SpSl");
	PT_CHECK_EQ(nreports, n);
	p = pt_alloc(PT_PAGED, 20, "SpSl");
	p[21] = 0x3c; /* the pattern itself: nothing to see */
	p[22] = 0x00;
	pt_free(p, "SpSl");
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_HAS(last.text, "overwritten at offsets 22-22");
	opt("special.fill", "0xa5");
}

/* Guard after: the fill before the header is checked at free; guard
 * before: the fill after the block up to the page's end. */
PT_TEST(test_fill_on_either_side)
{
	char *p;
	int n = nreports;

	select_tags("SpFb");
	p = pt_alloc(PT_PAGED, 40, "SpFb");
	p[-17] = 'x'; /* the byte below the 16-byte header: in the fill */
	PT_CHECK_EQ(nreports, n);
	pt_free(p, "SpFb");
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_CORRUPTED);
	PT_CHECK_HAS(last.text, "underrun of block");
	PT_CHECK_HAS(last.text,
		     "the fill before its header is overwritten 17 to 17 bytes before its start");
	PT_CHECK_EQ(count_of("SpFb", PT_PAGED).curblocks, 0);

	opt("special.guard", "before");
	p = pt_alloc(PT_PAGED, 40, "SpFb");
	p[40] = 'x';
	p[100] = 'y';
	pt_free(p, "SpFb");
	PT_CHECK_EQ(nreports, n + 2);
	PT_CHECK_EQ(last.kind, PT_MISUSE_CORRUPTED);
	PT_CHECK_HAS(last.text, "overwritten at offsets 40-100 (0 to 60 bytes past the end)");
	opt("special.guard", "after");
}

PT_TEST(test_double_free_names_three_sites)
{
	char *p;
	int n = nreports;
	char want[96];
	unsigned alloc_line, free1, free2;

	select_tags("SpDf");
	p = pt_alloc(PT_PAGED, 10, "SpDf"); alloc_line = __LINE__;
	pt_free(p, "SpDf"); free1 = __LINE__;
	pt_free(p, "SpDf"); free2 = __LINE__;
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_BAD_POINTER);
	PT_CHECK_EQ(last.alloc_line, alloc_line);
	PT_CHECK(last.site && last.site->line == free2);
	snprintf(want, sizeof(want), "free of freed block");
	PT_CHECK_HAS(last.text, want);
	snprintf(want, sizeof(want), "freed at tests/test_special.c:%u", free1);
	PT_CHECK_HAS(last.text, want);
	snprintf(want, sizeof(want), "stack: test_double_free_names_three_sites (test_special.c:%u)",
		 free1);
	PT_CHECK_HAS(last.text, want);
	PT_CHECK_EQ(count_of("SpDf", PT_PAGED).nfrees, 1);
	/* The other queries see a freed block too, without touching it. */
	PT_CHECK_EQ(pt_size(p), 0);
	PT_CHECK_EQ(nreports, n + 2);
}

PT_TEST(test_header_underrun_guard_before)
{
	char *p;
	int n = nreports;

	select_tags("SpHd");
	opt("special.guard", "before");
	p = pt_alloc(PT_PAGED, 40, "SpHd");
	p[-1] ^= 0x5a; /* in the header: short of the guard page */
	pt_free(p, "SpHd");
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_CORRUPTED);
	PT_CHECK_HAS(last.text, "its header is overwritten");
	PT_CHECK_HAS(last.text, "allocated at tests/test_special.c:");
	PT_CHECK_EQ(count_of("SpHd", PT_PAGED).nfrees, 0);
	p[-1] ^= 0x5a; /* repaired: freed for real */
	pt_free(p, "SpHd");
	PT_CHECK_EQ(count_of("SpHd", PT_PAGED).curblocks, 0);
	opt("special.guard", "after");
}

PT_TEST(test_quarantine_bounds)
{
	struct pt_special_stats st;
	char *p[10];
	long pg = sysconf(_SC_PAGESIZE);

	select_tags("SpQu");
	opt("special.quarantine", "0:0");
	pt_free(pt_alloc(PT_PAGED, 8, "SpQu"), "SpQu"); /* empties the quarantine */
	opt("special.quarantine", "3:1G");
	for (int i = 0; i < 10; i++)
		p[i] = pt_alloc(PT_PAGED, 100, "SpQu");
	for (int i = 0; i < 10; i++)
		pt_free(p[i], "SpQu");
	pt_special_stats(&st);
	PT_CHECK_EQ(st.quarantined, 3);
	for (int i = 0; i < 7; i++)
		PT_CHECK_EQ(pt_special_contains(p[i]), 0); /* evicted: unmapped */
	for (int i = 7; i < 10; i++)
		PT_CHECK_EQ(pt_special_contains(p[i]), 2);
	/* By bytes: a 100-byte block is one data page and one guard page. */
	opt("special.quarantine", "100:0");
	pt_free(pt_alloc(PT_PAGED, 8, "SpQu"), "SpQu");
	opt("special.quarantine", "100:5");
	for (int i = 0; i < 10; i++)
		p[i] = pt_alloc(PT_PAGED, 100, "SpQu");
	for (int i = 0; i < 10; i++)
		pt_free(p[i], "SpQu");
	pt_special_stats(&st);
	PT_CHECK_EQ(st.quarantined_bytes, 0);
	opt("special.quarantine", "100:" "20K");
	for (int i = 0; i < 10; i++)
		p[i] = pt_alloc(PT_PAGED, 100, "SpQu");
	for (int i = 0; i < 10; i++)
		pt_free(p[i], "SpQu");
	pt_special_stats(&st);
	PT_CHECK(st.quarantined_bytes <= 20 * 1024);
	PT_CHECK_EQ(st.quarantined, (20 * 1024) / (2 * pg));
	PT_CHECK_EQ(pt_special_contains(p[9]), 2);
	PT_CHECK_EQ(count_of("SpQu", PT_PAGED).curblocks, 0);
	opt("special.quarantine", "1024:64M");
}

PT_TEST(test_pools_alignment_realloc)
{
	char *a, *np, *r;
	int n = nreports;

	select_tags("SpPa");
	a = pt_alloc_aligned(PT_PAGED, 256, 100, "SpPa");
	PT_CHECK_EQ(pt_special_contains(a), 1);
	PT_CHECK(((uintptr_t)a & 255) == 0);
	memset(a, 3, 100);
	np = pt_alloc(PT_NONPAGED, 50, "SpPa");
	PT_CHECK_EQ(pt_special_contains(np), 1);
	PT_CHECK_EQ(pt_pool_of(np), PT_NONPAGED);
	memset(np, 4, 50);
	PT_CHECK_EQ(count_of("SpPa", PT_NONPAGED).curbytes, 50);
	r = pt_realloc(a, 5000, "SpPa");
	PT_CHECK(r != NULL && r != a);
	PT_CHECK_EQ(pt_special_contains(r), 1);
	PT_CHECK(((uintptr_t)r & 255) == 0); /* keeps its alignment */
	PT_CHECK(r[0] == 3 && r[99] == 3);
	PT_CHECK_EQ(pt_special_contains(a), 2);
	PT_CHECK_EQ(pt_size(r), 5000);
	pt_free(r, "SpPa");
	pt_free(np, "SpPa");
	PT_CHECK_EQ(nreports, n);
	PT_CHECK_EQ(count_of("SpPa", PT_NONPAGED).curblocks, 0);
	PT_CHECK_EQ(count_of("SpPa", PT_PAGED).curblocks, 0);
	/* Zero bytes: a unique block, right at the guard page. */
	a = pt_alloc(PT_PAGED, 0, "SpPa");
	r = pt_alloc(PT_PAGED, 0, "SpPa");
	PT_CHECK(a && r && a != r);
	pt_free(a, "SpPa");
	pt_free(r, "SpPa");
	PT_CHECK_EQ(nreports, n);
}

/* Objects of a selected type: using one after its last reference faults,
 * and the report names where it was created and where it was released. */
PT_TEST(test_object_after_last_reference)
{
	static struct pt_objtype *t; /* types live until exit */
	char *o;
	int n = nreports;
	unsigned create_line, deref_line;
	char want[96];

	select_tags("SpOb");
	t = pt_objtype_create("SpecialObj", PT_PAGED, "SpOb", NULL, 0);
	o = pt_obj_create(t, 32, 0); create_line = __LINE__;
	PT_CHECK_EQ(pt_obj_deref(o), 0); deref_line = __LINE__;
	peek(o + 4);
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_FAULT);
	PT_CHECK_HAS(last.text, "a use after free");
	PT_CHECK_EQ(last.alloc_line, create_line);
	snprintf(want, sizeof(want), "freed at tests/test_special.c:%u", deref_line);
	PT_CHECK_HAS(last.text, want);
}

/* With its memory quarantined, a deleted object is known as such: a
 * dereference (its count would go below zero), a reference or a handle
 * opened on it names where it was created and where it was released. */
PT_TEST(test_deleted_object_named)
{
	static struct pt_objtype *t;
	struct pt_htable *ht = pt_htable_create("graves");
	char *o, want[160];
	int n = nreports;
	pt_handle h = 0;
	unsigned create_line, deref_line, again_line;

	select_tags("SpOd");
	pt_config("track=stacks");
	t = pt_objtype_create("Grave", PT_PAGED, "SpOd", NULL, 0);
	o = pt_obj_create(t, 24, 0); create_line = __LINE__;
	PT_CHECK_EQ(pt_obj_deref(o), 0); deref_line = __LINE__;
	errno = 0;
	PT_CHECK_EQ(pt_obj_deref(o), -1); again_line = __LINE__;
	PT_CHECK_EQ(errno, EINVAL);
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_OBJECT_FREED);
	PT_CHECK(last.addr == o);
	PT_CHECK_EQ(last.tag, PT_TAG("SpOd"));
	PT_CHECK_EQ(last.alloc_line, create_line);
	PT_CHECK(last.site && last.site->line == again_line);
	PT_CHECK_HAS(last.text, "('SpOd', Grave)");
	PT_CHECK_HAS(last.text, "its reference count would go below zero");
	snprintf(want, sizeof(want), "released at tests/test_special.c:%u (test_deleted_object_named)",
		 deref_line);
	PT_CHECK_HAS(last.text, want);
	snprintf(want, sizeof(want), "created at tests/test_special.c:%u (test_deleted_object_named)",
		 create_line);
	PT_CHECK_HAS(last.text, want);
	snprintf(want, sizeof(want), "stack: test_deleted_object_named (test_special.c:%u)",
		 create_line);
	PT_CHECK_HAS(last.text, want);
	snprintf(want, sizeof(want), "stack: test_deleted_object_named (test_special.c:%u)",
		 deref_line);
	PT_CHECK_HAS(last.text, want);

	PT_CHECK_EQ(pt_obj_ref(o), -1);
	PT_CHECK_EQ(nreports, n + 2);
	PT_CHECK_EQ(last.kind, PT_MISUSE_OBJECT_FREED);
	PT_CHECK_HAS(last.text, "used after its last reference");
	PT_CHECK_EQ(pt_handle_open(ht, o, &h), -1);
	PT_CHECK_EQ(nreports, n + 3);
	PT_CHECK_EQ(last.kind, PT_MISUSE_OBJECT_FREED);
	PT_CHECK_HAS(last.text, "pooltag: handle open of object");
	PT_CHECK_EQ(pt_htable_destroy(ht), 0);
	pt_config("track=none");
}

/* A leak report shows a sample stack of a special block, as of a tracked
 * one. */
PT_TEST(test_leak_sample_stack)
{
	FILE *f = tmpfile();
	char buf[8192] = "", want[96];
	char *p;
	unsigned line;
	size_t n;

	PT_CHECK(f != NULL);
	if (!f)
		return;
	select_tags("SpLk");
	p = pt_alloc(PT_PAGED, 77, "SpLk"); line = __LINE__;
	pt_verify_output(f);
	PT_CHECK(pt_module_check(pt_module_main()) >= 1);
	pt_verify_output(NULL);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	PT_CHECK_HAS(buf, "1 paged block of 'SpLk' (77 bytes)");
	snprintf(want, sizeof(want), "stack: test_leak_sample_stack (test_special.c:%u)", line);
	PT_CHECK_HAS(buf, want);
	pt_free(p, "SpLk");
}

static void *churn(void *arg)
{
	(void)arg;
	for (int i = 0; i < 300; i++) {
		char *p = pt_alloc(PT_PAGED, (size_t)(i % 200), "SpTh");
		memset(p, i, (size_t)(i % 200));
		pt_free(p, "SpTh");
	}
	return NULL;
}

PT_TEST(test_threads)
{
	pthread_t th[4];
	int n = nreports;

	select_tags("SpTh");
	opt("special.quarantine", "64:1M");
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, churn, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	PT_CHECK_EQ(count_of("SpTh", PT_PAGED).nallocs, 1200);
	PT_CHECK_EQ(count_of("SpTh", PT_PAGED).curblocks, 0);
	PT_CHECK_EQ(nreports, n);
	opt("special.quarantine", "1024:64M");
}

/* A fork child allocates and frees special blocks of its own. */
PT_TEST(test_fork)
{
	int st = 0;
	pid_t pid;

	select_tags("SpFk");
	pid = fork();
	if (pid == 0) {
		char *p = pt_alloc(PT_PAGED, 30, "SpFk");
		int ok = pt_special_contains(p) == 1;
		pt_free(p, "SpFk");
		exit(ok && pt_special_contains(p) == 2 ? 0 : 3);
	}
	waitpid(pid, &st, 0);
	PT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void)
{
	pt_misuse_set_hook(catch_misuse, NULL);
	PT_RUN(test_options);
	PT_RUN(test_select_by_tag);
	PT_RUN(test_select_by_size);
	PT_RUN(test_select_by_module);
	PT_RUN(test_overrun_faults);
	PT_RUN(test_underrun_faults);
	PT_RUN(test_use_after_free_faults);
	PT_RUN(test_abort_action);
	PT_RUN(test_foreign_fault_chained);
	PT_RUN(test_continue_counts_and_proceeds);
	PT_RUN(test_small_overrun_in_slack);
	PT_RUN(test_fill_on_either_side);
	PT_RUN(test_double_free_names_three_sites);
	PT_RUN(test_header_underrun_guard_before);
	PT_RUN(test_quarantine_bounds);
	PT_RUN(test_pools_alignment_realloc);
	PT_RUN(test_object_after_last_reference);
	PT_RUN(test_deleted_object_named);
	PT_RUN(test_leak_sample_stack);
	PT_RUN(test_threads);
	PT_RUN(test_fork);
	PT_RUN(test_nothing_outstanding);
	return pt_test_done();
}
