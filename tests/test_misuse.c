/*
 * test_misuse.c - misuse is reported with both sites, counted, and
 * survived: the counters stay exact and nothing foreign is freed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pooltag.h>

#include "pt_libtest.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

PT_TEST(test_wrong_tag)
{
	uint64_t before = pt_misuse_count();
	char addr[32];
	char *p = pt_alloc(PT_PAGED, 40, "Proc"); unsigned alloc_line = __LINE__;

	pt_free(p, "Thrd"); unsigned free_line = __LINE__;
	PT_CHECK_EQ(nreports, 1);
	PT_CHECK_EQ(pt_misuse_count(), before + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_TAG_MISMATCH);
	PT_CHECK_EQ(last.tag, PT_TAG("Proc"));
	PT_CHECK_EQ(last.used_tag, PT_TAG("Thrd"));
	PT_CHECK(last.addr == p);
	PT_CHECK_STR(last.alloc_func, "test_wrong_tag");
	PT_CHECK_EQ(last.alloc_line, alloc_line);
	PT_CHECK(last.site && last.site->line == free_line);
	snprintf(addr, sizeof(addr), "%p", (void *)p);
	PT_CHECK_HAS(last.text, addr);
	PT_CHECK_HAS(last.text, "'Proc'");
	PT_CHECK_HAS(last.text, "'Thrd'");
	PT_CHECK_HAS(last.text, "test_misuse.c");
	/* Freed all the same, and charged to the tag it really had. */
	PT_CHECK_EQ(count_of("Proc", PT_PAGED).curblocks, 0);
	PT_CHECK_EQ(count_of("Proc", PT_PAGED).nfrees, 1);
	PT_CHECK_EQ(count_of("Thrd", PT_PAGED).nfrees, 0);
}

/* A pointer pooltag never allocated: reported, not freed, nothing counted. */
PT_TEST(test_foreign_pointer)
{
	uint64_t fake[8] = {0};
	char *heap = malloc(64);
	struct pt_count pool_before, pool_after;
	int n = nreports;

	pt_count_pool(PT_PAGED, &pool_before);
	pt_free(&fake[4], "Fake");
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_BAD_POINTER);
	PT_CHECK_HAS(last.text, "not a live pooltag block");
	memset(heap, 0x41, 64);
	pt_free(heap + 32, "AAAA"); /* tag matches the bytes, the check does not */
	PT_CHECK_EQ(nreports, n + 2);
	PT_CHECK_EQ(pt_size(&fake[4]), 0);
	PT_CHECK_EQ(nreports, n + 3);
	pt_count_pool(PT_PAGED, &pool_after);
	PT_CHECK_EQ(pool_after.nfrees, pool_before.nfrees);
	free(heap);
}

/* Aligned and non-paged blocks keep their header after a free, so a second
 * free is named as such, with the block's tag and allocation site. */
PT_TEST(test_double_free_named)
{
	char *p = pt_alloc_aligned(PT_NONPAGED, 64, 10, "DblA");
	int n = nreports;

	pt_free(p, "DblA");
	PT_CHECK_EQ(nreports, n);
	PT_CHECK_EQ(count_of("DblA", PT_NONPAGED).curblocks, 0);
	(void)p;
#ifndef UNDER_ASAN
	{
		char *q = pt_alloc_aligned(PT_PAGED, 4096, 10, "DblB");
		pt_free(q, "DblB");
		pt_free(q, "DblB");
		PT_CHECK_EQ(nreports, n + 1);
		PT_CHECK_EQ(last.kind, PT_MISUSE_BAD_POINTER);
		PT_CHECK_HAS(last.text, "freed block");
		PT_CHECK_HAS(last.text, "'DblB'");
		PT_CHECK_HAS(last.text, "test_double_free_named");
		PT_CHECK_EQ(count_of("DblB", PT_PAGED).nfrees, 1);
		PT_CHECK_EQ(count_of("DblB", PT_PAGED).curblocks, 0);
	}
#else
	PT_SKIP_BUILD("the aligned paged double free is ASan's own report here");
#endif
}

/* An ordinary paged block freed twice: malloc reuses its header at once,
 * so it reads as foreign; what matters is that nothing is counted twice. */
PT_TEST(test_double_free_paged)
{
#ifndef UNDER_ASAN
	char *p = pt_alloc(PT_PAGED, 24, "DblC");
	int n = nreports;

	pt_free(p, "DblC");
	pt_free(p, "DblC");
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_BAD_POINTER);
	PT_CHECK_EQ(count_of("DblC", PT_PAGED).nfrees, 1);
	PT_CHECK_EQ(count_of("DblC", PT_PAGED).curblocks, 0);
#else
	PT_SKIP_BUILD("a paged double free is ASan's own report here");
#endif
}

/* A header overwritten by an underrun of the block is caught on free, and
 * named with the site the header still names and the freeing one. */
PT_TEST(test_underrun_detected)
{
	char *p = pt_alloc(PT_PAGED, 32, "Undr"); unsigned alloc_line = __LINE__;
	int n = nreports;
	unsigned free_line;
	char want[128];

	p[-1] ^= 0x5a; /* the top byte of the header's check word */
	pt_free(p, "Undr"); free_line = __LINE__;
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_CORRUPTED);
	PT_CHECK_EQ(last.alloc_line, alloc_line);
	PT_CHECK(last.site && last.site->line == free_line);
	PT_CHECK_HAS(last.text, "its header is overwritten");
	snprintf(want, sizeof(want), "allocated at tests/test_misuse.c:%u (test_underrun_detected)",
		 alloc_line);
	PT_CHECK_HAS(last.text, want);
	snprintf(want, sizeof(want), "free of block %p at tests/test_misuse.c:%u", (void *)p,
		 free_line);
	PT_CHECK_HAS(last.text, want);
	PT_CHECK_EQ(count_of("Undr", PT_PAGED).nfrees, 0);
	p[-1] ^= 0x5a; /* repair, then free for real */
	pt_free(p, "Undr");
	PT_CHECK_EQ(count_of("Undr", PT_PAGED).curblocks, 0);
}

/* pt_free_pool: a block freed as one of another pool is reported with both
 * sites and both pools, and still freed into its own. */
PT_TEST(test_wrong_pool)
{
	char *np = pt_alloc(PT_NONPAGED, 48, "WPol"); unsigned alloc_line = __LINE__;
	char *pg = pt_alloc(PT_PAGED, 16, "WPol");
	int n = nreports;
	unsigned free_line;
	char want[160];

	pt_free_pool(pg, PT_PAGED, "WPol");
	PT_CHECK_EQ(nreports, n);
	pt_free_pool(np, PT_PAGED, "WPol"); free_line = __LINE__;
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_WRONG_POOL);
	PT_CHECK(last.addr == np);
	PT_CHECK_EQ(last.tag, PT_TAG("WPol"));
	PT_CHECK_EQ(last.alloc_line, alloc_line);
	PT_CHECK(last.site && last.site->line == free_line);
	snprintf(want, sizeof(want),
		 "is non-paged, allocated at tests/test_misuse.c:%u (test_wrong_pool); freed as "
		 "paged at tests/test_misuse.c:%u (test_wrong_pool)",
		 alloc_line, free_line);
	PT_CHECK_HAS(last.text, want);
	PT_CHECK_EQ(count_of("WPol", PT_NONPAGED).curblocks, 0);
	PT_CHECK_EQ(count_of("WPol", PT_NONPAGED).nfrees, 1);
	PT_CHECK_EQ(count_of("WPol", PT_PAGED).curblocks, 0);
	/* Wrong pool and wrong tag: two findings, one free. */
	np = pt_alloc(PT_NONPAGED, 8, "WPol");
	pt_free_pool(np, PT_PAGED, "XPol");
	PT_CHECK_EQ(nreports, n + 3);
	PT_CHECK_EQ(count_of("WPol", PT_NONPAGED).curblocks, 0);
}

/* A finding stops the program when the verifier's action says so. */
PT_TEST(test_finding_stops_when_verifying)
{
	int st = 0;
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 2);
		pt_misuse_set_hook(NULL, NULL);
		pt_config("verify=exit");
		pt_free(pt_alloc(PT_PAGED, 1, "StpA"), "StpB");
		exit(0);
	}
	waitpid(pid, &st, 0);
	PT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == PT_BUGCHECK_EXIT);
}

PT_TEST(test_realloc_wrong_tag)
{
	char *p = pt_alloc(PT_PAGED, 8, "RlcA");
	int n = nreports;

	p = pt_realloc(p, 800, "RlcB");
	PT_CHECK(p != NULL);
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_TAG_MISMATCH);
	PT_CHECK_EQ(pt_tag_of(p), PT_TAG("RlcA")); /* keeps its own tag */
	PT_CHECK_EQ(count_of("RlcA", PT_PAGED).curbytes, 800);
	PT_CHECK_EQ(count_of("RlcB", PT_PAGED).nallocs, 0);
	pt_free(p, "RlcA");
}

/* Without a hook, a report is exactly one line on standard error. */
PT_TEST(test_default_hook_one_line)
{
	int fds[2];
	char buf[2048] = "";
	pid_t pid;
	ssize_t n = 0, r;

	PT_CHECK(pipe(fds) == 0);
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 2);
		pt_misuse_set_hook(NULL, NULL);
		pt_free(pt_alloc(PT_PAGED, 1, "OneL"), "TwoL");
		exit(0); /* exit, not _exit: the child's segment is removed */
	}
	close(fds[1]);
	while ((r = read(fds[0], buf + n, sizeof(buf) - 1 - (size_t)n)) > 0)
		n += r;
	buf[n] = 0;
	close(fds[0]);
	waitpid(pid, NULL, 0);
	PT_CHECK(n > 0 && buf[n - 1] == '\n');
	PT_CHECK(strchr(buf, '\n') == buf + n - 1);
	PT_CHECK_HAS(buf, "pooltag: free with wrong tag");
	PT_CHECK_HAS(buf, "'OneL'");
	PT_CHECK_HAS(buf, "'TwoL'");
}

int main(void)
{
	pt_misuse_set_hook(catch_misuse, NULL);
	PT_RUN(test_wrong_tag);
	PT_RUN(test_foreign_pointer);
	PT_RUN(test_double_free_named);
	PT_RUN(test_double_free_paged);
	PT_RUN(test_underrun_detected);
	PT_RUN(test_wrong_pool);
	PT_RUN(test_finding_stops_when_verifying);
	PT_RUN(test_realloc_wrong_tag);
	PT_RUN(test_default_hook_one_line);
	PT_RUN(test_nothing_outstanding);
	return pt_test_done();
}
