/*
 * pt_test.h - a tiny test harness that prints TAP.
 *
 * Each test is a void function; PT_RUN(fn) runs it and prints "ok N - fn" or
 * "not ok N - fn" with the failed checks as "# file:line: ..." lines.
 * tests/run.sh counts those lines over every test program.
 *
 *	PT_TEST(test_something) { PT_CHECK_EQ(1 + 1, 2); }
 *	int main(void) { PT_RUN(test_something); return pt_test_done(); }
 */
#ifndef PT_TEST_H
#define PT_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int pt_test_n, pt_test_failed, pt_test_cur_failed;
static const char *pt_test_cur_skip;

#define PT_TEST(name) static void name(void)

#define PT_FAIL_(...)                                                      \
	do {                                                               \
		pt_test_cur_failed = 1;                                    \
		printf("# %s:%d: ", __FILE__, __LINE__);                   \
		printf(__VA_ARGS__);                                       \
		printf("\n");                                              \
		fflush(stdout);                                            \
	} while (0)

#define PT_CHECK(cond)                                       \
	do {                                                 \
		if (!(cond))                                 \
			PT_FAIL_("check failed: %s", #cond); \
	} while (0)

#define PT_CHECK_EQ(a, b)                                                                    \
	do {                                                                                 \
		intmax_t pt_a_ = (intmax_t)(a), pt_b_ = (intmax_t)(b);                       \
		if (pt_a_ != pt_b_)                                                          \
			PT_FAIL_("%s == %s: %jd != %jd", #a, #b, pt_a_, pt_b_);              \
	} while (0)

#define PT_CHECK_STR(a, b)                                                                   \
	do {                                                                                 \
		const char *pt_a_ = (a), *pt_b_ = (b);                                       \
		if (!pt_a_ || !pt_b_ || strcmp(pt_a_, pt_b_) != 0)                           \
			PT_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, pt_a_ ? pt_a_ : "(null)", \
				 pt_b_ ? pt_b_ : "(null)");                                  \
	} while (0)

/* a contains b */
#define PT_CHECK_HAS(a, b)                                                                   \
	do {                                                                                 \
		const char *pt_a_ = (a), *pt_b_ = (b);                                       \
		if (!pt_a_ || !pt_b_ || !strstr(pt_a_, pt_b_))                               \
			PT_FAIL_("%s contains %s: \"%s\" lacks \"%s\"", #a, #b,              \
				 pt_a_ ? pt_a_ : "(null)", pt_b_);                           \
	} while (0)

/* PT_SKIP_BUILD("why"); return;  - the test cannot run in this build (a
 * sanitizer's) and runs in the plain one.  It prints "ok N - fn # skip
 * build: why", which tests/run.sh counts as skipped, never as passed. */
#define PT_SKIP_BUILD(why) (pt_test_cur_skip = (why))

#define PT_RUN(fn)                                                                  \
	do {                                                                        \
		pt_test_cur_failed = 0;                                             \
		pt_test_cur_skip = NULL;                                            \
		fn();                                                               \
		pt_test_n++;                                                        \
		pt_test_failed += pt_test_cur_failed;                               \
		if (pt_test_cur_skip && !pt_test_cur_failed)                        \
			printf("ok %d - %s # skip build: %s\n", pt_test_n, #fn,    \
			       pt_test_cur_skip);                                   \
		else                                                                \
			printf("%sok %d - %s\n", pt_test_cur_failed ? "not " : "", \
			       pt_test_n, #fn);                                     \
		fflush(stdout);                                                     \
	} while (0)

static inline int pt_test_done(void)
{
	printf("1..%d\n", pt_test_n);
	return pt_test_failed ? 1 : 0;
}

#endif /* PT_TEST_H */
