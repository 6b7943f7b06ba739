/*
 * test_runsupp.c - the suppressions file of pooltag run (common/runsupp.c):
 * the grammar, its errors with file and line, LeakSanitizer's unanchored
 * matching and its anchors, kinds, depths, limits; fdplace.c's placement.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "pt_test.h"
#include "internal.h"
#include "runsupp.h"

static int parse(struct pt_supp *s, const char *text, char *err, size_t len)
{
	err[0] = 0;
	return pt_supp_parse(s, "supp", text, strlen(text), err, len);
}

static const struct pt_supp_frame stack[] = {
	{"xstrdup", "xmalloc.c", "libgnu.so"},
	{"make_name", "names.c", "prog"},
	{"main", "main.c", "prog"},
};

static const char *hit(struct pt_supp *s, unsigned kind)
{
	struct pt_supp_entry *e = pt_supp_match(s, kind, stack, 3);
	return e ? e->glob : NULL;
}

PT_TEST(test_grammar)
{
	struct pt_supp s;
	char err[256];

	PT_CHECK_EQ(parse(&s, "# c\n\n  leak:make_name  \r\nfd:^main$\nfree:x*y@2\nany:prog\n", err,
			  sizeof(err)),
		    0);
	PT_CHECK_EQ(s.n, 4);
	PT_CHECK_STR(s.e[0].glob, "*make_name*");
	PT_CHECK_EQ(s.e[0].kinds, PT_SUPP_LEAK);
	PT_CHECK_EQ(s.e[0].depth, -1);
	PT_CHECK_STR(s.e[1].glob, "main");
	PT_CHECK_STR(s.e[2].glob, "*x*y*");
	PT_CHECK_EQ(s.e[2].depth, 2);
	PT_CHECK_EQ(s.e[3].kinds, PT_SUPP_ANY);
	pt_supp_free(&s);
}

PT_TEST(test_errors_name_the_line)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
		{"leak:a\nleek:b\n", "supp:2: unknown kind (leak, fd, free or any)"},
		{"main\n", "supp:1: want KIND:PATTERN (leak, fd, free or any)"},
		{"leak:\n", "supp:1: empty pattern"},
		{"leak:^$\n", "supp:1: empty pattern"},
		{"leak:a b\n", "supp:1: a pattern holds no blanks"},
		{"# x\nleak:a@\n", "supp:2: @DEPTH wants a frame number 0 to 255"},
		{"leak:a@256\n", "supp:1: @DEPTH wants a frame number 0 to 255"},
		{"leak:a@-1\n", "supp:1: @DEPTH wants a frame number 0 to 255"},
	};
	struct pt_supp s;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		PT_CHECK_EQ(parse(&s, bad[i].text, err, sizeof(err)), -1);
		PT_CHECK_STR(err, bad[i].err);
		PT_CHECK(s.e == NULL && s.n == 0);
	}
	PT_CHECK_EQ(pt_supp_parse(&s, "supp", "leak:a\0b\n", 9, err, sizeof(err)), -1);
	PT_CHECK_STR(err, "supp:1: a NUL byte in the line");
}

PT_TEST(test_limits)
{
	size_t n = PT_SUPP_MAX + 1, len = n * 8 + 1;
	char *text = malloc(len), *w = text, err[256];
	struct pt_supp s;

	for (size_t i = 0; i < n; i++)
		w += sprintf(w, "leak:%02zu\n", i % 100);
	PT_CHECK_EQ(pt_supp_parse(&s, "supp", text, (size_t)(w - text), err, sizeof(err)), -1);
	PT_CHECK_STR(err, "supp:1025: more than 1024 suppressions");
	PT_CHECK_EQ(pt_supp_parse(&s, "supp", text, (size_t)(w - text) - 8, err, sizeof(err)), 0);
	PT_CHECK_EQ(s.n, PT_SUPP_MAX);
	pt_supp_free(&s);
	free(text);
}

PT_TEST(test_matching)
{
	struct pt_supp s;
	char err[256];

	/* Unanchored: a part of a name matches; anchors pin it. */
	PT_CHECK_EQ(parse(&s, "leak:strdup\n", err, sizeof(err)), 0);
	PT_CHECK_STR(hit(&s, PT_SUPP_LEAK), "*strdup*");
	PT_CHECK(hit(&s, PT_SUPP_FD) == NULL); /* another kind */
	pt_supp_free(&s);
	PT_CHECK_EQ(parse(&s, "leak:^strdup\nleak:^mai$\n", err, sizeof(err)), 0);
	PT_CHECK(hit(&s, PT_SUPP_LEAK) == NULL);
	pt_supp_free(&s);
	/* Source file and module match too; any covers every kind. */
	PT_CHECK_EQ(parse(&s, "fd:^names.c$\n", err, sizeof(err)), 0);
	PT_CHECK_STR(hit(&s, PT_SUPP_FD), "names.c");
	pt_supp_free(&s);
	PT_CHECK_EQ(parse(&s, "any:libgnu\n", err, sizeof(err)), 0);
	PT_CHECK(hit(&s, PT_SUPP_FREE) != NULL && hit(&s, PT_SUPP_LEAK) != NULL);
	pt_supp_free(&s);
	/* A depth tries that frame alone. */
	PT_CHECK_EQ(parse(&s, "leak:main@1\n", err, sizeof(err)), 0);
	PT_CHECK(hit(&s, PT_SUPP_LEAK) == NULL);
	pt_supp_free(&s);
	PT_CHECK_EQ(parse(&s, "leak:main@2\nleak:main@3\n", err, sizeof(err)), 0);
	PT_CHECK_STR(hit(&s, PT_SUPP_LEAK), "*main*");
	PT_CHECK(pt_supp_match(&s, PT_SUPP_LEAK, stack, 2) == NULL); /* deeper than the stack */
	pt_supp_free(&s);
	/* Frames with unknown fields. */
	struct pt_supp_frame none = {NULL, NULL, NULL};
	PT_CHECK_EQ(parse(&s, "any:*\n", err, sizeof(err)), 0);
	PT_CHECK(pt_supp_match(&s, PT_SUPP_LEAK, &none, 1) == NULL);
	pt_supp_free(&s);
}

PT_TEST(test_load_file)
{
	char path[] = "/tmp/pt-supp-XXXXXX", err[512];
	struct pt_supp s;
	int fd = mkstemp(path);

	PT_CHECK(fd >= 0);
	PT_CHECK_EQ(write(fd, "leak:a\nfree:b@0\n", 16), 16);
	close(fd);
	PT_CHECK_EQ(pt_supp_load(&s, path, err, sizeof(err)), 0);
	PT_CHECK_EQ(s.n, 2);
	pt_supp_free(&s);
	unlink(path);
	PT_CHECK_EQ(pt_supp_load(&s, path, err, sizeof(err)), -1);
	PT_CHECK_HAS(err, "No such file or directory");
}

/* pooltag's own descriptors go up under the limit; the program's numbers
 * stay free. */
PT_TEST(test_fd_high)
{
	struct rlimit rl;
	int fd = open("/dev/null", O_RDONLY), low, hi;

	PT_CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	PT_CHECK(fd >= 0);
	low = fd;
	hi = pt_fd_high(fd);
	PT_CHECK(hi >= pt_fd_base());
	PT_CHECK(rl.rlim_cur == RLIM_INFINITY || (rlim_t)hi < rl.rlim_cur);
	PT_CHECK(fcntl(hi, F_GETFD) & FD_CLOEXEC);
	PT_CHECK(fcntl(low, F_GETFD) == -1); /* the original is closed */
	fd = open("/dev/null", O_RDONLY);
	PT_CHECK_EQ(fd, low); /* the program gets the number back */
	close(fd);
	close(hi);
	PT_CHECK_EQ(pt_fd_high(-1), -1);
}

int main(void)
{
	PT_RUN(test_grammar);
	PT_RUN(test_errors_name_the_line);
	PT_RUN(test_limits);
	PT_RUN(test_matching);
	PT_RUN(test_load_file);
	PT_RUN(test_fd_high);
	return pt_test_done();
}
