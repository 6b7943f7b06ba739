/*
 * test_block.c - the block layer (src/block.[ch]): header helpers, site
 * keys, counting, layers wrapping the chain, and blocks freed with their
 * pages: a second free of one is reported and counted, never read.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <pooltag.h>

#include "block.h"
#include "internal.h"
#include "pt_libtest.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#define BIG (1u << 20) /* served by glibc from a mapping of its own */

PT_TEST(test_header_helpers)
{
	_Alignas(64) char buf[256];
	struct pt__hdr *h;
	void *user;

	PT_CHECK_EQ(pt_block_room(0), 16);
	PT_CHECK_EQ(pt_block_room(PT_ALIGN_TRACKED), 48);
	PT_CHECK_EQ(pt_block_room(6), 64);
	PT_CHECK_EQ(pt_block_align(0), 16);
	PT_CHECK_EQ(pt_block_align(PT_ALIGN_SPECIAL), 16);
	PT_CHECK_EQ(pt_block_align(7), 128);

	user = pt_block_init(buf, PT_TAG("Hdr1"), 77, PT_NONPAGED, 6, 1000);
	PT_CHECK(user == buf + 64);
	h = (struct pt__hdr *)user - 1;
	PT_CHECK_EQ(h->tag, PT_TAG("Hdr1"));
	PT_CHECK_EQ(pt_meta_slot(h->meta), 77);
	PT_CHECK_EQ(pt_meta_pool(h->meta), PT_NONPAGED);
	PT_CHECK_EQ(pt_meta_align_log2(h->meta), 6);
	PT_CHECK_EQ(pt_hdr_size(h), 1000);
	PT_CHECK(pt_block_base(h) == buf);
	PT_CHECK(pt_block_live(user, PT_NPOOLS, 1, 78) == h);
	PT_CHECK(pt_block_live(user, 1, 1, 78) == NULL);  /* pool out of range */
	PT_CHECK(pt_block_live(user, PT_NPOOLS, 1, 77) == NULL); /* slot out of range */
	h->word = pt_hdr_freed(h->word);
	PT_CHECK(pt_block_live(user, PT_NPOOLS, 1, 78) == NULL);
	PT_CHECK_EQ(pt_hdr_size(h), 1000); /* the size survives the flip */
	h->word = pt_hdr_freed(h->word);
	PT_CHECK(pt_block_live(user, PT_NPOOLS, 1, 78) == h);
	h->tag ^= 1; /* the tag is not in the check: compared whole on free */
	PT_CHECK(pt_block_live(user, PT_NPOOLS, 1, 78) == h);
	h->meta ^= 1 << 3;
	PT_CHECK(pt_block_live(user, PT_NPOOLS, 1, 78) == NULL);
}

/* The key the inline path compares is the one the library caches. */
PT_TEST(test_site_key)
{
	struct pt_site *site = NULL;
	void *p;

	for (int i = 0; i < 2; i++) {
		struct pt_site *s = PT_SITE();
		p = pt__alloc_inline(s, PT_PAGED, 8, PT_TAG("Key1"));
		pt_free(p, "Key1");
		site = s;
	}
	PT_CHECK(pt__key_matches(site->key, PT_TAG("Key1"), PT_PAGED));
	PT_CHECK(!pt__key_matches(site->key, PT_TAG("Key2"), PT_PAGED));
	PT_CHECK(!pt__key_matches(site->key, PT_TAG("Key1"), PT_NONPAGED));
	PT_CHECK(!pt__key_matches(0, 0, PT_PAGED)); /* an unregistered site never matches */
	PT_CHECK(pt__key_slot(site->key) != 0);
	PT_CHECK_EQ(pt__key_slot(pt__site_key(PT_TAG("Key1"), 1, 0x123456)), 0x123456);
	PT_CHECK_EQ(pt_slot_of(site, PT_TAG("Key1"), PT_PAGED), pt__key_slot(site->key));
	PT_CHECK_EQ(count_of("Key1", PT_PAGED).nallocs, 2);
	PT_CHECK_EQ(count_of("Key1", PT_PAGED).curblocks, 0);
}

PT_TEST(test_count)
{
	uint32_t slot = pt_slot_of(PT_SITE(), PT_TAG("Cnt1"), PT_PAGED);

	PT_CHECK(slot != 0);
	pt_block_count(slot, 100, 0);
	pt_block_count(slot, 28, 0);
	PT_CHECK_EQ(count_of("Cnt1", PT_PAGED).nallocs, 2);
	PT_CHECK_EQ(count_of("Cnt1", PT_PAGED).curbytes, 128);
	pt_block_count(slot, 100, 1);
	pt_block_count(slot, 28, 1);
	PT_CHECK_EQ(count_of("Cnt1", PT_PAGED).curblocks, 0);
	PT_CHECK_EQ(count_of("Cnt1", PT_PAGED).curbytes, 0);
	PT_CHECK_EQ(count_of("Cnt1", PT_PAGED).nfrees, 2);
}

/* ---- layers ---- */

static char order[16];
static int norder;
static int fail_next;

static void *outer_alloc(struct pt_block_layer *self, struct pt_block_req *r)
{
	order[norder++] = 'O';
	if (fail_next) {
		fail_next = 0;
		errno = ENOMEM;
		return NULL;
	}
	return pt_block_next_alloc(self, r);
}

static void *inner_alloc(struct pt_block_layer *self, struct pt_block_req *r)
{
	order[norder++] = 'I';
	return pt_block_next_alloc(self, r);
}

static void *inner_resize(struct pt_block_layer *self, struct pt__hdr *h, struct pt_block_req *r)
{
	order[norder++] = 'R';
	return pt_block_next_resize(self, h, r);
}

static struct pt_block_layer outer = {.name = "outer", .rank = 25, .alloc = outer_alloc};
static struct pt_block_layer inner = {
	.name = "inner", .rank = 5, .alloc = inner_alloc, .resize = inner_resize};

/* Layers wrap the chain in rank order, whatever order they are installed
 * in; while one is installed the inline paths stay away; a layer's failure
 * is the caller's, and nothing is counted for it. */
PT_TEST(test_layers_wrap_in_rank_order)
{
	char *p, *q;

	PT_CHECK(!pt_block_layered());
	PT_CHECK(__atomic_load_n(&pt__fast_slots, __ATOMIC_RELAXED) > 0);
	pt_block_install(&inner, 1);
	pt_block_install(&outer, 1);
	PT_CHECK(pt_block_layered());
	PT_CHECK_EQ(__atomic_load_n(&pt__fast_slots, __ATOMIC_RELAXED), 0);

	norder = 0;
	p = pt_alloc(PT_PAGED, 40, "Lay1");
	PT_CHECK(p != NULL);
	PT_CHECK_EQ(norder, 2);
	PT_CHECK(order[0] == 'O' && order[1] == 'I');
	norder = 0;
	q = pt_realloc(p, 400, "Lay1"); /* in place: only resize methods see it */
	PT_CHECK(q != NULL);
	PT_CHECK_EQ(norder, 1);
	PT_CHECK(order[0] == 'R');
	PT_CHECK_EQ(count_of("Lay1", PT_PAGED).curbytes, 400);
	pt_free(q, "Lay1");

	fail_next = 1;
	errno = 0;
	PT_CHECK(pt_alloc(PT_PAGED, 40, "Lay2") == NULL);
	PT_CHECK_EQ(errno, ENOMEM);
	PT_CHECK_EQ(count_of("Lay2", PT_PAGED).nallocs, 0);

	pt_block_install(&outer, 0);
	pt_block_install(&inner, 0);
	PT_CHECK(!pt_block_layered());
	PT_CHECK(__atomic_load_n(&pt__fast_slots, __ATOMIC_RELAXED) > 0);
	norder = 0;
	pt_free(pt_alloc(PT_PAGED, 40, "Lay1"), "Lay1");
	PT_CHECK_EQ(norder, 0);
	PT_CHECK_EQ(count_of("Lay1", PT_PAGED).curblocks, 0);
}

/* A tracked block outlives tracking: the tracking layer, removed from the
 * chain, still releases it (its record leaves the lists). */
PT_TEST(test_tracked_block_outlives_tracking)
{
	char *p;

	pt_track_set(PT_TRACK_BLOCKS);
	p = pt_alloc(PT_PAGED, 24, "Trk1");
	PT_CHECK_EQ(pt_meta_align_log2(((struct pt__hdr *)p - 1)->meta), PT_ALIGN_TRACKED);
	pt_track_set(0);
	PT_CHECK(!pt_block_layered());
	p = pt_realloc(p, 48, "Trk1"); /* moves by copy: its base is not its header */
	PT_CHECK(p != NULL);
	PT_CHECK_EQ(pt_meta_align_log2(((struct pt__hdr *)p - 1)->meta), 0);
	pt_free(p, "Trk1");
	PT_CHECK_EQ(count_of("Trk1", PT_PAGED).curblocks, 0);
	PT_CHECK_EQ(count_of("Trk1", PT_PAGED).nallocs, 2);
}

/* ---- blocks freed with their pages (issue: double frees could fault) ---- */

PT_TEST(test_double_free_large_paged)
{
#ifndef UNDER_ASAN
	char *p = pt_alloc(PT_PAGED, BIG, "DblL"); unsigned line = __LINE__;
	int n = nreports;
	char addr[32];

	PT_CHECK(p != NULL);
	memset(p, 1, BIG);
	pt_free(p, "DblL");
	PT_CHECK(!pt_block_readable(p - 16, 16)); /* glibc unmapped it: the case at hand */
	pt_free(p, "DblL");
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_BAD_POINTER);
	PT_CHECK(last.addr == p);
	PT_CHECK_EQ(last.tag, PT_TAG("DblL"));
	PT_CHECK_EQ(last.alloc_line, line);
	PT_CHECK_HAS(last.text, "freed block");
	snprintf(addr, sizeof(addr), "%p", (void *)p);
	PT_CHECK_HAS(last.text, addr);
	/* The queries are misuse of the same kind, and survive too. */
	PT_CHECK_EQ(pt_size(p), 0);
	PT_CHECK_EQ(nreports, n + 2);
	PT_CHECK(pt_realloc(p, 10, "DblL") == NULL);
	PT_CHECK_EQ(errno, EINVAL);
	PT_CHECK_EQ(nreports, n + 3);
	PT_CHECK_EQ(count_of("DblL", PT_PAGED).nfrees, 1);
	PT_CHECK_EQ(count_of("DblL", PT_PAGED).curblocks, 0);
#endif
}

PT_TEST(test_double_free_large_nonpaged)
{
	char *p = pt_alloc(PT_NONPAGED, 64 << 10, "DblN");
	int n = nreports;

	if (!p) {
		printf("# skipped: no non-paged memory (RLIMIT_MEMLOCK)\n");
		return;
	}
	pt_free(p, "DblN");
	pt_free(p, "DblN");
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_BAD_POINTER);
	PT_CHECK_EQ(last.tag, PT_TAG("DblN"));
	PT_CHECK_HAS(last.text, "freed block");
	PT_CHECK_EQ(count_of("DblN", PT_NONPAGED).nfrees, 1);
}

/* A heap block malloc merges whole into the top of the heap keeps its
 * header as it was: the release marks it freed, so a second free is told. */
PT_TEST(test_double_free_merged_into_top)
{
#ifndef UNDER_ASAN
	char *p = pt_alloc(PT_PAGED, 100000, "DblM");
	int n = nreports;

	pt_free(p, "DblM");
	pt_free(p, "DblM");
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_BAD_POINTER);
	PT_CHECK_EQ(count_of("DblM", PT_PAGED).nfrees, 1);
#endif
}

/* A tombstone whose address is mapped again (a new block of ours, or
 * anything else) is not a finding: the free reads the header as usual. */
PT_TEST(test_tombstone_address_reused)
{
#ifndef UNDER_ASAN
	int n = nreports;
	char *p, *q;
	void *m;

	for (int i = 0; i < 4; i++) { /* glibc maps the same size at the same place */
		p = pt_alloc(PT_PAGED, BIG, "Reu1");
		PT_CHECK(p != NULL);
		pt_free(p, "Reu1");
	}
	PT_CHECK_EQ(nreports, n);
	PT_CHECK_EQ(count_of("Reu1", PT_PAGED).curblocks, 0);

	/* Something else mapped where a freed block was: not ours, reported as
	 * a foreign pointer, and left alone. */
	q = pt_alloc(PT_PAGED, BIG, "Reu2");
	pt_free(q, "Reu2");
	m = mmap((void *)((uintptr_t)q & ~(uintptr_t)4095), 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (m == MAP_FAILED) {
		printf("# skipped the foreign mapping: %s\n", strerror(errno));
		return;
	}
	pt_free(q, "Reu2");
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_BAD_POINTER);
	PT_CHECK_EQ(last.tag, 0);
	PT_CHECK_HAS(last.text, "not a live pooltag block");
	munmap(m, 4096);
#endif
}

/* A large block realloc moved (glibc's mremap) leaves its old address
 * behind: freeing the old pointer is a double free. */
PT_TEST(test_realloc_moved_large)
{
#ifndef UNDER_ASAN
	char *p = pt_alloc(PT_PAGED, BIG, "Mov1"), *q;
	void *fence;
	int n = nreports;

	/* A mapping right after p's keeps it from growing in place. */
	fence = mmap(p - 32 + ((BIG + 32 + 4095) & ~(size_t)4095), 4096, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	q = pt_realloc(p, 4 * BIG, "Mov1");
	PT_CHECK(q != NULL);
	if (q == p) {
		printf("# skipped: the block grew in place\n");
	} else {
		pt_free(p, "Mov1");
		PT_CHECK_EQ(nreports, n + 1);
		PT_CHECK_EQ(last.kind, PT_MISUSE_BAD_POINTER);
		PT_CHECK_EQ(last.tag, PT_TAG("Mov1"));
	}
	pt_free(q, "Mov1");
	PT_CHECK_EQ(count_of("Mov1", PT_PAGED).curblocks, 0);
	if (fence != MAP_FAILED)
		munmap(fence, 4096);
#endif
}

/* A special block evicted from the quarantine is unmapped: freeing it
 * again is reported with its tag and allocation site, not a fault.  Runs
 * last: the special pool stays configured. */
PT_TEST(test_double_free_evicted_special)
{
	char *a, *b;
	unsigned line;
	int n;

	PT_CHECK_EQ(pt_config("special=SpEv,special.quarantine=1:1G"), 0);
	a = pt_alloc(PT_PAGED, 100, "SpEv"); line = __LINE__;
	b = pt_alloc(PT_PAGED, 100, "SpEv");
	PT_CHECK(a && b);
	n = nreports;
	pt_free(a, "SpEv");
	pt_free(b, "SpEv"); /* the quarantine holds one: a is unmapped */
	PT_CHECK_EQ(nreports, n);
	pt_free(a, "SpEv");
	PT_CHECK_EQ(nreports, n + 1);
	PT_CHECK_EQ(last.kind, PT_MISUSE_BAD_POINTER);
	PT_CHECK(last.addr == a);
	PT_CHECK_EQ(last.tag, PT_TAG("SpEv"));
	PT_CHECK_EQ(last.alloc_line, line);
	PT_CHECK_HAS(last.text, "freed block");
	pt_free(b, "SpEv"); /* still in quarantine: named by the special pool */
	PT_CHECK_EQ(nreports, n + 2);
	PT_CHECK_EQ(count_of("SpEv", PT_PAGED).nfrees, 2);
	PT_CHECK_EQ(count_of("SpEv", PT_PAGED).curblocks, 0);
}

int main(void)
{
	/* A fixed threshold: glibc would otherwise raise it past BIG after the
	 * first such block is freed, and serve the next ones from the heap. */
	mallopt(M_MMAP_THRESHOLD, 128 << 10);
	pt_misuse_set_hook(catch_misuse, NULL);
	pt_free(pt_alloc(PT_PAGED, 1, "Init"), "Init"); /* the segment and this thread's shard */
	PT_RUN(test_header_helpers);
	PT_RUN(test_site_key);
	PT_RUN(test_count);
	PT_RUN(test_layers_wrap_in_rank_order);
	PT_RUN(test_tracked_block_outlives_tracking);
	PT_RUN(test_double_free_large_paged);
	PT_RUN(test_double_free_large_nonpaged);
	PT_RUN(test_double_free_merged_into_top);
	PT_RUN(test_tombstone_address_reused);
	PT_RUN(test_realloc_moved_large);
	PT_RUN(test_double_free_evicted_special);
	PT_RUN(test_nothing_outstanding);
	return pt_test_done();
}
