/*
 * test_pool.c - the allocation API and its accounting, one thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include <pooltag.h>

#include "pt_libtest.h"
#include "segread.h"

PT_TEST(test_tag_make)
{
	char s[5];

	PT_CHECK_EQ(PT_TAG("Proc"), 'P' | 'r' << 8 | 'o' << 16 | (uint32_t)'c' << 24);
	PT_CHECK_EQ(PT_TAG("Ab"), PT_TAG("Ab  "));
	PT_CHECK_EQ(pt_tag_make("Proc"), PT_TAG("Proc"));
	PT_CHECK_EQ(pt_tag_make("Ab"), PT_TAG("Ab  "));
	PT_CHECK_EQ(pt_tag_make("Toolong"), 0);
	PT_CHECK_EQ(pt_tag_make(""), 0);
	PT_CHECK_EQ(pt_tag_make(NULL), 0);
	PT_CHECK_EQ(pt_tag_make("A\001"), 0);
	PT_CHECK_STR(pt_tag_str(PT_TAG("SEY1"), s), "SEY1");
	PT_CHECK_STR(pt_tag_str(PT_TAG("Vad"), s), "Vad ");
}

PT_TEST(test_alloc_free_counts)
{
	struct pt_count before = count_of("TAf1", PT_PAGED), c;
	void *p[10];

	for (int i = 0; i < 10; i++) {
		p[i] = pt_alloc(PT_PAGED, 100 + i, "TAf1");
		PT_CHECK(p[i] != NULL);
		PT_CHECK(((uintptr_t)p[i] & 15) == 0);
		memset(p[i], 0xab, 100 + i);
	}
	c = count_of("TAf1", PT_PAGED);
	PT_CHECK_EQ(c.nallocs - before.nallocs, 10);
	PT_CHECK_EQ(c.curblocks, 10);
	PT_CHECK_EQ(c.curbytes, 10 * 100 + 45);
	PT_CHECK_EQ(pt_size(p[3]), 103);
	PT_CHECK_EQ(pt_tag_of(p[3]), PT_TAG("TAf1"));
	PT_CHECK_EQ(pt_pool_of(p[3]), PT_PAGED);
	for (int i = 0; i < 10; i++)
		pt_free(p[i], "TAf1");
	c = count_of("TAf1", PT_PAGED);
	PT_CHECK_EQ(c.nfrees, 10);
	PT_CHECK_EQ(c.curblocks, 0);
	PT_CHECK_EQ(c.curbytes, 0);
	PT_CHECK_EQ(count_of("TAf1", PT_NONPAGED).nallocs, 0);
}

PT_TEST(test_zero_and_calloc)
{
	unsigned char *p = pt_zalloc(PT_PAGED, 4000, "TZer");
	size_t big = (size_t)1 << 40;
	int zero = 1;

	PT_CHECK(p != NULL);
	for (int i = 0; p && i < 4000; i++)
		zero &= p[i] == 0;
	PT_CHECK(zero);
	pt_free(p, "TZer");
	p = pt_calloc(PT_PAGED, 10, 10, "TZer");
	PT_CHECK(p && pt_size(p) == 100 && p[99] == 0);
	pt_free(p, "TZer");
	errno = 0;
	PT_CHECK(pt_calloc(PT_PAGED, big, big, "TZer") == NULL);
	PT_CHECK_EQ(errno, ENOMEM);
	PT_CHECK_EQ(count_of("TZer", PT_PAGED).nallocs, 2);
	PT_CHECK_EQ(count_of("TZer", PT_PAGED).curblocks, 0);
}

PT_TEST(test_sizes_zero_and_absurd)
{
	void *a = pt_alloc(PT_PAGED, 0, "TSiz"), *b = pt_alloc(PT_PAGED, 0, "TSiz");

	PT_CHECK(a && b && a != b);
	PT_CHECK_EQ(pt_size(a), 0);
	pt_free(a, "TSiz");
	pt_free(b, "TSiz");
	errno = 0;
	PT_CHECK(pt_alloc(PT_PAGED, SIZE_MAX, "TSiz") == NULL);
	PT_CHECK_EQ(errno, ENOMEM);
	errno = 0;
	PT_CHECK(pt_alloc(PT_PAGED, SIZE_MAX - 8, "TSiz") == NULL);
	PT_CHECK_EQ(errno, ENOMEM);
	errno = 0;
	PT_CHECK(pt_alloc(PT_NONPAGED, SIZE_MAX / 2, "TSiz") == NULL);
	PT_CHECK_EQ(errno, ENOMEM);
	PT_CHECK_EQ(count_of("TSiz", PT_PAGED).nallocs, 2);
	PT_CHECK_EQ(count_of("TSiz", PT_PAGED).curblocks, 0);
	PT_CHECK_EQ(count_of("TSiz", PT_NONPAGED).nallocs, 0);
}

PT_TEST(test_aligned)
{
	static const size_t aligns[] = {1, 8, 16, 32, 64, 256, 4096, 65536, 1 << 20};

	for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		for (int pool = 0; pool < PT_NPOOLS; pool++) {
			char *p = pt_alloc_aligned(pool, aligns[i], 100, "TAln");
			PT_CHECK(p != NULL);
			if (!p)
				continue;
			PT_CHECK(((uintptr_t)p & (aligns[i] - 1)) == 0);
			PT_CHECK_EQ(pt_size(p), 100);
			PT_CHECK_EQ(pt_pool_of(p), pool);
			memset(p, 1, 100);
			pt_free(p, "TAln");
		}
	}
	errno = 0;
	PT_CHECK(pt_alloc_aligned(PT_PAGED, 24, 8, "TAln") == NULL && errno == EINVAL);
	errno = 0;
	PT_CHECK(pt_alloc_aligned(PT_PAGED, 0, 8, "TAln") == NULL && errno == EINVAL);
	PT_CHECK_EQ(count_of("TAln", PT_PAGED).nallocs, 9);
	PT_CHECK_EQ(count_of("TAln", PT_NONPAGED).nallocs, 9);
	PT_CHECK_EQ(count_of("TAln", PT_PAGED).curblocks + count_of("TAln", PT_NONPAGED).curblocks, 0);
}

PT_TEST(test_realloc)
{
	char *p = pt_realloc(NULL, 10, "TRea"), *q;

	PT_CHECK(p != NULL);
	memcpy(p, "123456789", 10);
	q = pt_realloc(p, 100000, "TRea");
	PT_CHECK(q && strcmp(q, "123456789") == 0);
	PT_CHECK_EQ(count_of("TRea", PT_PAGED).curbytes, 100000);
	PT_CHECK_EQ(count_of("TRea", PT_PAGED).curblocks, 1);
	p = pt_realloc(q, 4, "TRea");
	PT_CHECK(p && memcmp(p, "1234", 4) == 0);
	PT_CHECK_EQ(count_of("TRea", PT_PAGED).curbytes, 4);
	/* A failed resize leaves the block alone. */
	errno = 0;
	PT_CHECK(pt_realloc(p, SIZE_MAX, "TRea") == NULL && errno == ENOMEM);
	PT_CHECK(memcmp(p, "1234", 4) == 0);
	PT_CHECK_EQ(count_of("TRea", PT_PAGED).curbytes, 4);
	pt_free(p, "TRea");

	/* Non-paged and aligned blocks keep pool and alignment. */
	p = pt_alloc(PT_NONPAGED, 16, "TRea");
	PT_CHECK(p != NULL);
	memcpy(p, "secret", 7);
	q = pt_realloc(p, 5000, "TRea");
	PT_CHECK(q && pt_pool_of(q) == PT_NONPAGED && strcmp(q, "secret") == 0);
	pt_free(q, "TRea");
	p = pt_alloc_aligned(PT_PAGED, 4096, 10, "TRea");
	q = pt_realloc(p, 9000, "TRea");
	PT_CHECK(q && ((uintptr_t)q & 4095) == 0);
	pt_free(q, "TRea");
	PT_CHECK_EQ(count_of("TRea", PT_PAGED).curblocks, 0);
	PT_CHECK_EQ(count_of("TRea", PT_NONPAGED).curblocks, 0);
	PT_CHECK_EQ(count_of("TRea", PT_PAGED).curbytes, 0);
}

PT_TEST(test_nonpaged)
{
	unsigned char *p = pt_zalloc(PT_NONPAGED, 64, "TNpg");
	struct pt_count c;

	PT_CHECK(p != NULL);
	PT_CHECK(p && p[0] == 0 && p[63] == 0);
	PT_CHECK_EQ(pt_pool_of(p), PT_NONPAGED);
	c = count_of("TNpg", PT_NONPAGED);
	PT_CHECK_EQ(c.curblocks, 1);
	PT_CHECK_EQ(c.curbytes, 64);
	PT_CHECK_EQ(count_of("TNpg", PT_PAGED).nallocs, 0);
	pt_free(p, "TNpg");
	PT_CHECK_EQ(count_of("TNpg", PT_NONPAGED).curblocks, 0);
}

PT_TEST(test_bad_arguments)
{
	pt_misuse_fn old = pt_misuse_set_hook(catch_misuse, NULL);
	int n = nreports;

	errno = 0;
	PT_CHECK(pt_alloc_at(PT_SITE(), (enum pt_pool)7, 8, PT_TAG("TBad")) == NULL);
	PT_CHECK_EQ(errno, EINVAL);
	errno = 0;
	PT_CHECK(pt_alloc_at(PT_SITE(), PT_PAGED, 8, 0x01020304) == NULL);
	PT_CHECK_EQ(errno, EINVAL);
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_BAD_TAG);
	PT_CHECK_HAS(last.text, "invalid tag 0x01020304");
	PT_CHECK_HAS(last.text, "test_pool.c");
	pt_free(NULL, "TBad"); /* allowed, no report */
	PT_CHECK_EQ(nreports, n + 1);
	pt_misuse_set_hook(old, NULL);
}

/* The same site called with different tags keeps them apart. */
PT_TEST(test_dynamic_tags_at_one_site)
{
	static const char *const tags[] = {"Dyn1", "Dyn2", "Dyn3"};
	void *p[30];

	for (int i = 0; i < 30; i++)
		p[i] = pt_alloc_at(PT_SITE(), PT_PAGED, 10, pt_tag_make(tags[i % 3]));
	PT_CHECK_EQ(count_of("Dyn1", PT_PAGED).curblocks, 10);
	PT_CHECK_EQ(count_of("Dyn2", PT_PAGED).curblocks, 10);
	PT_CHECK_EQ(count_of("Dyn3", PT_PAGED).curbytes, 100);
	for (int i = 0; i < 30; i++)
		pt_free_at(PT_SITE(), p[i], pt_tag_make(tags[i % 3]));
	PT_CHECK_EQ(count_of("Dyn1", PT_PAGED).curblocks + count_of("Dyn2", PT_PAGED).curblocks +
			    count_of("Dyn3", PT_PAGED).curblocks,
		    0);
}

/* Counters per call site, read back from this process's own segment the
 * way the CLI reads them. */
PT_TEST(test_sites_in_segment)
{
	void *a = pt_alloc(PT_PAGED, 11, "TSit"); /* site 1 */
	void *b = pt_alloc(PT_PAGED, 22, "TSit"); /* site 2 */
	const char *path = pt_export_path();
	struct pt_view v;
	char err[256];
	int fd, nsites = 0, lines_ok = 0;

	PT_CHECK(pt_tag_describe("TSit", "Site test blocks", "test_pool") == 0);
	PT_CHECK(path != NULL);
	pt_view_init(&v);
	fd = path ? open(path, O_RDONLY) : -1;
	PT_CHECK(fd >= 0 && pt_segread_fd(&v, fd, path, err, sizeof(err)) == 0);
	for (size_t i = 0; i < v.nrows; i++) {
		const struct pt_row *r = &v.rows[i];
		if (r->tag != PT_TAG("TSit"))
			continue;
		nsites++;
		PT_CHECK_STR(r->func, "test_sites_in_segment");
		PT_CHECK_HAS(r->file, "test_pool.c");
		lines_ok += r->nallocs == 1 && r->bytes_alloc - r->bytes_freed == (nsites == 1 ? 11u : 22u);
	}
	PT_CHECK_EQ(nsites, 2);
	PT_CHECK_EQ(lines_ok, 2);
	PT_CHECK(v.ndescs >= 1 && strcmp(v.descs[v.ndescs - 1].desc, "Site test blocks") == 0);
	if (fd >= 0)
		close(fd);
	pt_view_free(&v);
	pt_free(a, "TSit");
	pt_free(b, "TSit");
}

/* Drops CAP_IPC_LOCK (root ignores RLIMIT_MEMLOCK with it) and lowers the
 * limit, so the non-paged pool meets the limit. */
static int limit_memlock(rlim_t bytes)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	struct rlimit rl = {bytes, bytes};

	if (syscall(SYS_capget, &hdr, data) != 0)
		return -1;
	data[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
	data[CAP_IPC_LOCK / 32].permitted &= ~(1u << (CAP_IPC_LOCK % 32));
	if (syscall(SYS_capset, &hdr, data) != 0)
		return -1;
	return setrlimit(RLIMIT_MEMLOCK, &rl);
}

PT_TEST(test_memlock_limit)
{
	pid_t pid = fork();
	int st = -1;

	if (pid == 0) {
		void *p[4096];
		int n = 0, rc = 0;
		struct pt_count c;
		if (limit_memlock(1 << 20) != 0)
			_exit(10);
		while (n < 4096 && (p[n] = pt_alloc(PT_NONPAGED, 4096, "TLck")) != NULL)
			n++;
		if (n == 0 || n == 4096 || errno != ENOMEM)
			rc = 11;
		pt_count_tag(PT_TAG("TLck"), PT_NONPAGED, &c);
		if (c.nallocs != (uint64_t)n || c.curbytes != (uint64_t)n * 4096)
			rc = 12;
		/* The paged pool is unaffected; freeing makes room again. */
		void *q = pt_alloc(PT_PAGED, 100, "TLck");
		if (!q)
			rc = 13;
		pt_free(q, "TLck");
		pt_free(p[--n], "TLck");
		if (!(p[n] = pt_alloc(PT_NONPAGED, 4096, "TLck")))
			rc = 14;
		n++;
		while (n)
			pt_free(p[--n], "TLck");
		pt_count_tag(PT_TAG("TLck"), PT_NONPAGED, &c);
		if (c.curblocks != 0 || c.curbytes != 0)
			rc = 15;
		exit(rc); /* exit, not _exit: the child's segment is removed */
	}
	waitpid(pid, &st, 0);
	PT_CHECK(WIFEXITED(st));
	PT_CHECK_EQ(WEXITSTATUS(st), 0);
}

int main(void)
{
	PT_RUN(test_tag_make);
	PT_RUN(test_alloc_free_counts);
	PT_RUN(test_zero_and_calloc);
	PT_RUN(test_sizes_zero_and_absurd);
	PT_RUN(test_aligned);
	PT_RUN(test_realloc);
	PT_RUN(test_nonpaged);
	PT_RUN(test_bad_arguments);
	PT_RUN(test_dynamic_tags_at_one_site);
	PT_RUN(test_sites_in_segment);
	PT_RUN(test_memlock_limit);
	PT_RUN(test_nothing_outstanding);
	return pt_test_done();
}
