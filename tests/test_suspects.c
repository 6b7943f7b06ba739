/*
 * test_suspects.c - `used --suspects`' judgement (cli/model/suspects.c) on
 * tallies of views built in the test: the seed's numbers, the thresholds at
 * their bounds and one past them, every counter class, the rank and its
 * ties, the top limit, what is held with the suspects shown (within 2%, the
 * closest, never a suspect itself), an empty view, every allocation failed
 * in turn.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pooltag.h"
#include "pt_oom.h"
#include "pt_test.h"
#include "segfmt.h"
#include "suspects.h"

/* A tag from its four bytes, any of them (a segment's tags are untrusted). */
static uint32_t tag_of(const char *t)
{
	return (uint32_t)(unsigned char)t[0] | (uint32_t)(unsigned char)t[1] << 8 |
	       (uint32_t)(unsigned char)t[2] << 16 | (uint32_t)(unsigned char)t[3] << 24;
}

static void add(struct pt_view *v, const char *tag, unsigned cls, uint64_t na, uint64_t nf)
{
	struct pt_row r = {.tag = tag_of(tag),
	                   .pool = cls,
	                   .line = (uint32_t)v->nrows + 1,
	                   .file = "s.c",
	                   .func = "f",
	                   .module = "prog",
	                   .nallocs = na,
	                   .nfrees = nf,
	                   .bytes_alloc = 16 * na,
	                   .bytes_freed = 16 * nf};

	if (pt_view_add_row(v, &r) != 0)
		abort();
}

/* The tallies of v and the suspects among them. */
struct judged {
	struct pt_tally *t;
	size_t nt;
	struct pt_suspects s;
};

static void judge(struct judged *j, const struct pt_view *v, uint64_t min_allocs,
                  unsigned max_freed, long top)
{
	struct pt_suspect_opts o = {.min_allocs = min_allocs, .max_freed = max_freed, .top = top};

	if (pt_tally_build(v, NULL, &j->t, &j->nt) != 0)
		abort();
	PT_CHECK_EQ(pt_suspects_find(j->t, j->nt, &o, &j->s), 0);
}

static void unjudge(struct judged *j)
{
	pt_suspects_free(&j->s);
	pt_tally_free(j->t, j->nt);
}

static int is(const struct pt_tally *t, unsigned cls, const char *tag, unsigned want_cls)
{
	return t->tag == tag_of(tag) && cls == want_cls;
}

/* The seed's leak (suspects.h): Proc allocated 12,980 process objects and
 * freed one; a start-up table kept its 100 blocks; SePa and SeTd freed
 * most of what they allocated, yet hold what the leaked objects hold. */
PT_TEST(test_seed)
{
	struct pt_view v;
	struct judged j;

	pt_view_init(&v);
	add(&v, "Proc", PT_NONPAGED, 12980, 1);
	add(&v, "Tabl", PT_PAGED, 100, 0);
	add(&v, "SePa", PT_PAGED, 955604, 942620); /* 12,984 held: 5 off */
	add(&v, "SeTd", PT_PAGED, 30000, 17021);   /* 12,979: none off */
	add(&v, "Busy", PT_PAGED, 1000000, 999000);
	add(&v, "Near", PT_PAGED, 1000, 898); /* 102: Tabl's 100 and 2% */
	add(&v, "Far ", PT_PAGED, 1000, 897); /* 103: one past it */
	add(&v, "Tiny", PT_PAGED, 99, 0);     /* under the 100 allocations judged; 99 held */
	judge(&j, &v, PT_SUSPECT_MIN_ALLOCS, PT_SUSPECT_MAX_FREED, -1);
	PT_CHECK_EQ(j.s.n, 2);
	PT_CHECK_EQ(j.s.shown, 2);
	if (j.s.n == 2) {
		PT_CHECK(is(j.s.s[0].t, j.s.s[0].cls, "Proc", PT_NONPAGED));
		PT_CHECK(j.s.s[0].score > 12977.9 && j.s.s[0].score < 12978.1);
		PT_CHECK(is(j.s.s[1].t, j.s.s[1].cls, "Tabl", PT_PAGED));
		PT_CHECK(j.s.s[1].score == 100);
	}
	/* Held: by tag, each with the suspect it is closest to. */
	PT_CHECK_EQ(j.s.nheld, 4);
	if (j.s.nheld == 4 && j.s.n == 2) {
		PT_CHECK(is(j.s.held[0].t, j.s.held[0].cls, "Near", PT_PAGED));
		PT_CHECK(j.s.held[0].like == &j.s.s[1]);
		PT_CHECK(is(j.s.held[1].t, j.s.held[1].cls, "SePa", PT_PAGED));
		PT_CHECK(j.s.held[1].like == &j.s.s[0]);
		PT_CHECK(is(j.s.held[2].t, j.s.held[2].cls, "SeTd", PT_PAGED));
		PT_CHECK(j.s.held[2].like == &j.s.s[0]);
		PT_CHECK(is(j.s.held[3].t, j.s.held[3].cls, "Tiny", PT_PAGED));
		PT_CHECK(j.s.held[3].like == &j.s.s[1]);
	}
	unjudge(&j);
	pt_view_free(&v);
}

/* At least min_allocs allocations, at most max_freed percent freed: each
 * bound, and one past it. */
PT_TEST(test_thresholds)
{
	struct pt_view v;
	struct judged j;

	pt_view_init(&v);
	add(&v, "A100", PT_PAGED, 100, 10);   /* 10% freed: in */
	add(&v, "A101", PT_PAGED, 100, 11);   /* 11%: out */
	add(&v, "B999", PT_PAGED, 1000, 100); /* exactly 10%: in */
	add(&v, "Bbad", PT_PAGED, 1000, 101); /* 10.1%: out */
	add(&v, "C049", PT_PAGED, 49, 0);     /* under min_allocs */
	add(&v, "C050", PT_PAGED, 50, 0);     /* at it */
	add(&v, "Zero", PT_PAGED, 0, 0);      /* nothing to judge */
	add(&v, "Huge", PT_PAGED, UINT64_MAX, 0);
	judge(&j, &v, 50, 10, -1);
	PT_CHECK_EQ(j.s.n, 4);
	if (j.s.n == 4) {
		PT_CHECK(is(j.s.s[0].t, j.s.s[0].cls, "Huge", PT_PAGED));
		PT_CHECK(is(j.s.s[1].t, j.s.s[1].cls, "B999", PT_PAGED)); /* 900^2 / 1000 */
		PT_CHECK(is(j.s.s[2].t, j.s.s[2].cls, "A100", PT_PAGED)); /* 90^2 / 100 */
		PT_CHECK(is(j.s.s[3].t, j.s.s[3].cls, "C050", PT_PAGED)); /* 50 */
	}
	unjudge(&j);
	/* No allocation is no suspect, even with no minimum. */
	judge(&j, &v, 0, 100, -1);
	PT_CHECK_EQ(j.s.n, 7);
	for (size_t i = 0; i < j.s.n; i++)
		PT_CHECK(j.s.s[i].t->tag != tag_of("Zero"));
	unjudge(&j);
	/* Nothing freed is allowed: only what kept everything. */
	judge(&j, &v, 0, 0, -1);
	PT_CHECK_EQ(j.s.n, 3);
	unjudge(&j);
	pt_view_free(&v);
}

/* Each counter class is judged apart: pools, references, handles. */
PT_TEST(test_classes)
{
	struct pt_view v;
	struct judged j;

	pt_view_init(&v);
	add(&v, "Obj ", PT_SEG_CLASS_REFS, 200, 5);
	add(&v, "Obj ", PT_SEG_CLASS_HANDLES, 200, 200);
	add(&v, "Obj ", PT_PAGED, 150, 0);
	add(&v, "Obj ", PT_NONPAGED, 10000, 9805); /* 195, as many as the references */
	judge(&j, &v, 100, 10, -1);
	PT_CHECK_EQ(j.s.n, 2);
	if (j.s.n == 2) {
		PT_CHECK(is(j.s.s[0].t, j.s.s[0].cls, "Obj ", PT_SEG_CLASS_REFS));
		PT_CHECK(is(j.s.s[1].t, j.s.s[1].cls, "Obj ", PT_PAGED));
	}
	/* Another class of a suspect's tag can be held with it. */
	PT_CHECK_EQ(j.s.nheld, 1);
	if (j.s.nheld == 1 && j.s.n == 2) {
		PT_CHECK(is(j.s.held[0].t, j.s.held[0].cls, "Obj ", PT_NONPAGED));
		PT_CHECK(j.s.held[0].like == &j.s.s[0]);
	}
	unjudge(&j);
	pt_view_free(&v);
}

/* Equal scores: more outstanding first, then the tag's bytes, then the
 * class. */
PT_TEST(test_rank_ties)
{
	static const struct {
		const char *tag;
		unsigned cls;
	} want[] = {{"Bbbb", PT_PAGED}, {"\001ab ", PT_PAGED}, {"Aaaa", PT_PAGED},
	            {"Cccc", PT_PAGED}, {"Cccc", PT_NONPAGED}, {"\377zz ", PT_PAGED}};
	struct pt_view v;
	struct judged j;

	pt_view_init(&v);
	add(&v, "\377zz ", PT_PAGED, 100, 90);
	add(&v, "Cccc", PT_NONPAGED, 100, 90);
	add(&v, "Cccc", PT_PAGED, 100, 90);
	add(&v, "Aaaa", PT_PAGED, 100, 90);  /* 10 held, score 1 */
	add(&v, "Bbbb", PT_PAGED, 400, 380); /* 20 held, score 1 too */
	add(&v, "\001ab ", PT_PAGED, 100, 90);
	judge(&j, &v, 100, 100, -1);
	PT_CHECK_EQ(j.s.n, 6);
	for (size_t i = 0; i < j.s.n && i < 6; i++) {
		PT_CHECK(j.s.s[i].score == 1);
		PT_CHECK(is(j.s.s[i].t, j.s.s[i].cls, want[i].tag, want[i].cls));
	}
	unjudge(&j);
	pt_view_free(&v);
}

/* The top limit: the first N shown; what is held is held with those only,
 * and an unshown suspect is never held. */
PT_TEST(test_top)
{
	struct pt_view v;
	struct judged j;

	pt_view_init(&v);
	add(&v, "S101", PT_PAGED, 1010, 0); /* score 1010 */
	add(&v, "S100", PT_PAGED, 1000, 0); /* 1000, within 2% of S101 */
	add(&v, "H990", PT_PAGED, 100000, 99010);
	for (long top = -1; top <= 3; top++) {
		judge(&j, &v, 100, 10, top);
		PT_CHECK_EQ(j.s.n, 2);
		PT_CHECK_EQ(j.s.shown, top < 0 || top > 2 ? 2 : top);
		/* H990 is within 2% of either, closer to S100: held with the
		 * closest shown, with none when none is.  S100 is as close to
		 * S101, but a suspect, shown or not. */
		PT_CHECK_EQ(j.s.nheld, top == 0 ? 0 : 1);
		if (j.s.nheld == 1) {
			PT_CHECK(is(j.s.held[0].t, j.s.held[0].cls, "H990", PT_PAGED));
			PT_CHECK(j.s.held[0].like == &j.s.s[top == 1 ? 0 : 1]);
		}
		unjudge(&j);
	}
	pt_view_free(&v);
}

/* Within 2% of a suspect's outstanding count, one of at least 50; the
 * closest suspect named, the better ranked of two as close. */
PT_TEST(test_held_closest)
{
	struct pt_view v;
	struct judged j;

	pt_view_init(&v);
	add(&v, "S101", PT_PAGED, 1010, 0);
	add(&v, "S100", PT_PAGED, 1000, 0);
	add(&v, "S050", PT_PAGED, 50, 0);
	add(&v, "S030", PT_PAGED, 30, 0);
	add(&v, "Hmid", PT_PAGED, 100000, 98995);  /* 1005: 5 from either */
	add(&v, "Hone", PT_PAGED, 100000, 98999);  /* 1001: 1 from S100 */
	add(&v, "H051", PT_PAGED, 100000, 99949);  /* 51: 1 from S050 */
	add(&v, "H052", PT_PAGED, 100000, 99948);  /* 52: 2, past 50 / 50 */
	add(&v, "H030", PT_PAGED, 100000, 99970);  /* S030's count, under 50 */
	add(&v, "Gone", PT_PAGED, 100000, 100000); /* holds nothing */
	judge(&j, &v, 1, 10, -1);
	PT_CHECK_EQ(j.s.n, 4);
	PT_CHECK_EQ(j.s.nheld, 3);
	if (j.s.n == 4 && j.s.nheld == 3) {
		PT_CHECK(is(j.s.s[2].t, j.s.s[2].cls, "S050", PT_PAGED));
		PT_CHECK(is(j.s.held[0].t, j.s.held[0].cls, "H051", PT_PAGED));
		PT_CHECK(j.s.held[0].like == &j.s.s[2]);
		PT_CHECK(is(j.s.held[1].t, j.s.held[1].cls, "Hmid", PT_PAGED));
		PT_CHECK(j.s.held[1].like == &j.s.s[0]);
		PT_CHECK(is(j.s.held[2].t, j.s.held[2].cls, "Hone", PT_PAGED));
		PT_CHECK(j.s.held[2].like == &j.s.s[1]);
	}
	unjudge(&j);
	pt_view_free(&v);
}

PT_TEST(test_empty)
{
	struct pt_view v;
	struct judged j;

	pt_view_init(&v);
	judge(&j, &v, 0, 100, -1);
	PT_CHECK(j.s.n == 0 && j.s.shown == 0 && j.s.nheld == 0);
	unjudge(&j);
	PT_CHECK(j.s.s == NULL && j.s.held == NULL);
	pt_view_free(&v);
}

/* Each allocation failed in turn: -1, and pt_suspects_free frees what was
 * made. */
PT_TEST(test_out_of_memory)
{
	struct pt_suspect_opts o = {.min_allocs = 100, .max_freed = 10, .top = -1};
	struct pt_suspects s;
	struct pt_tally *t;
	struct pt_view v;
	size_t nt;
	long n;
	int rc;

	pt_view_init(&v);
	add(&v, "Proc", PT_NONPAGED, 12980, 1);
	add(&v, "SeTd", PT_PAGED, 30000, 17021);
	if (pt_tally_build(&v, NULL, &t, &nt) != 0)
		abort();
	for (n = 0;; n++) {
		oom_arm(n);
		rc = pt_suspects_find(t, nt, &o, &s);
		if (!oom_disarm())
			break;
		PT_CHECK_EQ(rc, -1);
		pt_suspects_free(&s);
	}
	PT_CHECK(n > 0);
	PT_CHECK(rc == 0 && s.n == 1 && s.nheld == 1);
	pt_suspects_free(&s);
	pt_tally_free(t, nt);
	pt_view_free(&v);
}

int main(void)
{
	PT_RUN(test_seed);
	PT_RUN(test_thresholds);
	PT_RUN(test_classes);
	PT_RUN(test_rank_ties);
	PT_RUN(test_top);
	PT_RUN(test_held_closest);
	PT_RUN(test_empty);
	PT_RUN(test_out_of_memory);
	return pt_test_done();
}
