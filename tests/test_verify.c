/*
 * test_verify.c - the verifier's report of what a module holds
 * (src/verify.c): blocks, references and handles grouped by site with
 * their counts, bytes and a sample stack, the display limit, what a finding
 * does under verify=exit, abort and continue, the check at exit, and the
 * options verify=, exit-check=, track= and output= with their errors.
 *
 * The main program is the module checked (pt_module_check); what stops or
 * exits the program runs in a child.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pooltag.h>

#include "internal.h"
#include "pt_libtest.h"

static struct pt_objtype *t_ver;
static char tmpdir[64] = "/tmp/pt-test-verify.XXXXXX";

/* What pt_module_check(main) prints, in out; returns its result. */
static int check_main(char *out, size_t len)
{
	FILE *f = fmemopen(out, len, "w");
	int n;

	out[0] = 0;
	if (!f)
		return -2;
	setvbuf(f, NULL, _IONBF, 0);
	pt_verify_output(f);
	n = pt_module_check(pt_module_main());
	pt_verify_output(NULL);
	fclose(f);
	return n;
}

PT_TEST(test_clean)
{
	char out[1024];

	PT_CHECK_EQ(check_main(out, sizeof(out)), 0);
	PT_CHECK_STR(out, "pooltag: test_verify checked: clean, nothing held\n");
	errno = 0;
	PT_CHECK_EQ(pt_module_check(NULL), -1);
	PT_CHECK_EQ(errno, EINVAL);
}

/* Blocks of one site are one group: their number and bytes, the pool, the
 * tag and the line; one block is "block". */
PT_TEST(test_block_groups)
{
	char out[2048], want[256];
	void *ab[2], *c;
	unsigned l_ab = 0, l_c;

	for (int i = 0; i < 2; i++) {
		l_ab = __LINE__ + 1;
		ab[i] = pt_alloc(PT_PAGED, 16 + 16 * (size_t)i, "Vblk");
	}
	l_c = __LINE__ + 1;
	c = pt_alloc(PT_NONPAGED, 100, "Vnp");
	PT_CHECK_EQ(check_main(out, sizeof(out)), 2);
	PT_CHECK_HAS(out, "pooltag: verifier: test_verify checked holding what it acquired:\n");
	snprintf(want, sizeof(want),
	         "  test_verify holds 2 paged blocks of 'Vblk' (48 bytes): allocated at "
	         "test_verify.c:%u in test_block_groups\n",
	         l_ab);
	PT_CHECK_HAS(out, want);
	snprintf(want, sizeof(want),
	         "  test_verify holds 1 non-paged block of 'Vnp ' (100 bytes): allocated at "
	         "test_verify.c:%u in test_block_groups\n",
	         l_c);
	PT_CHECK_HAS(out, want);
	PT_CHECK(!strstr(out, "stack:")); /* nothing tracked */
	pt_free(ab[0], "Vblk");
	pt_free(ab[1], "Vblk");
	pt_free(c, "Vnp");
	PT_CHECK_EQ(check_main(out, sizeof(out)), 0);
}

/* References and handles: one group per site and kind, with the object
 * type's name. */
PT_TEST(test_reference_groups)
{
	struct pt_htable *t = pt_htable_create("verify");
	char out[4096], want[256];
	unsigned l_create, l_ref = 0, l_open;
	pt_handle h = 0;
	void *o;

	l_create = __LINE__ + 1;
	o = pt_obj_create(t_ver, 8, 0);
	for (int i = 0; i < 3; i++) {
		l_ref = __LINE__ + 1;
		pt_obj_ref(o);
	}
	l_open = __LINE__ + 1;
	PT_CHECK_EQ(pt_handle_open(t, o, &h), 0);
	/* The object's block, its creation reference, the three, the handle. */
	PT_CHECK_EQ(check_main(out, sizeof(out)), 4);
	snprintf(want, sizeof(want),
	         "  test_verify holds 3 references to 'Vobj' objects (Verified): 3 acquired at "
	         "test_verify.c:%u in test_reference_groups\n",
	         l_ref);
	PT_CHECK_HAS(out, want);
	snprintf(want, sizeof(want),
	         "  test_verify holds 1 reference to 'Vobj' objects (Verified): 1 acquired at "
	         "test_verify.c:%u in test_reference_groups\n",
	         l_create);
	PT_CHECK_HAS(out, want);
	snprintf(want, sizeof(want),
	         "  test_verify holds 1 handle to 'Vobj' objects (Verified): 1 opened at "
	         "test_verify.c:%u in test_reference_groups\n",
	         l_open);
	PT_CHECK_HAS(out, want);
	snprintf(want, sizeof(want), "1 paged block of 'Vobj' (%llu bytes): allocated at "
	                             "test_verify.c:%u in test_reference_groups\n",
	         (unsigned long long)count_of("Vobj", PT_PAGED).curbytes, l_create);
	PT_CHECK_HAS(out, want);
	PT_CHECK_EQ(pt_handle_close(t, h), 0);
	for (int i = 0; i < 4; i++)
		PT_CHECK_EQ(pt_obj_deref(o), 0);
	PT_CHECK_EQ(pt_htable_destroy(t), 0);
	PT_CHECK_EQ(check_main(out, sizeof(out)), 0);
}

/* A report lists 32 groups, then what the others hold. */
PT_TEST(test_display_limit)
{
	static struct pt_site site = {"gen.c", "gen", 1, 0};
	char out[16384], tag[5];
	void *p[35];
	int lines = 0;

	for (int i = 0; i < 35; i++) {
		snprintf(tag, sizeof(tag), "V%03d", i);
		p[i] = pt_alloc_at(&site, PT_PAGED, 8, pt_tag_make(tag));
	}
	PT_CHECK_EQ(check_main(out, sizeof(out)), 35);
	for (const char *s = out; (s = strstr(s, " holds 1 paged block of 'V")) != NULL; s++)
		lines++;
	PT_CHECK_EQ(lines, 32);
	PT_CHECK_HAS(out, "  ... and 3 more groups holding 3 more\n");
	for (int i = 0; i < 35; i++) {
		snprintf(tag, sizeof(tag), "V%03d", i);
		pt_free_at(&site, p[i], pt_tag_make(tag));
	}
	PT_CHECK_EQ(check_main(out, sizeof(out)), 0);
}

/* With stacks tracked, each group shows one; with blocks tracked too, a
 * block group gets its own. */
PT_TEST(test_sample_stacks)
{
	char out[4096];
	void *o, *b;

	PT_CHECK_EQ(pt_config("track=all"), 0);
	o = pt_obj_create(t_ver, 8, 0);
	b = pt_alloc(PT_PAGED, 8, "Vstk");
	PT_CHECK_EQ(check_main(out, sizeof(out)), 3);
	PT_CHECK_HAS(out, "'Vstk' (8 bytes): allocated at test_verify.c:");
	PT_CHECK_HAS(out, "\n    stack: test_sample_stacks (test_verify.c:");
	{
		int n = 0;
		for (const char *s = out; (s = strstr(s, "\n    stack: ")) != NULL; s++)
			n++;
		PT_CHECK_EQ(n, 3);
	}
	pt_free(b, "Vstk");
	PT_CHECK_EQ(pt_obj_deref(o), 0);
	PT_CHECK_EQ(pt_config("track=none"), 0);
}

/* ---- options ---- */

PT_TEST(test_option_errors)
{
	static const struct {
		const char *spec, *err;
	} bad[] = {
	    {"verify=maybe", "option 'verify': expected exit, abort, continue or report"},
	    {"verify=", "option 'verify': expected exit, abort, continue or report"},
	    {"exit-check=2", "option 'exit-check': expected 0 or 1"},
	    {"exit-check=true", "option 'exit-check': expected 0 or 1"},
	    {"track=some", "option 'track': expected none, blocks, stacks or all"},
	    {"track=stacks+blocks", "option 'track': expected none, blocks, stacks or all"},
	    {"verify-all=1", "unknown option 'verify-all'"},
	    {"tracking=1", "unknown option 'tracking'"},
	    {"output=/nonexistent/dir/log",
	     "option 'output': cannot open /nonexistent/dir/log: No such file or directory"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		PT_CHECK_EQ(pt_config(bad[i].spec), -1);
		if (strcmp(pt_config_error(), bad[i].err) != 0)
			PT_FAIL_("%s: \"%s\", expected \"%s\"", bad[i].spec, pt_config_error(),
			         bad[i].err);
	}
	PT_CHECK_EQ(pt_track_flags(), 0);
}

PT_TEST(test_track_values)
{
	static const struct {
		const char *spec;
		unsigned flags;
	} ok[] = {
	    {"track=blocks", PT_TRACK_BLOCKS},
	    {"track=0", 0},
	    {"track=stacks", PT_TRACK_STACKS},
	    {"track=none", 0},
	    {"track=all", PT_TRACK_BLOCKS | PT_TRACK_STACKS},
	    {"track=1", PT_TRACK_BLOCKS},
	    {"track=blocks+stacks", PT_TRACK_BLOCKS | PT_TRACK_STACKS},
	    {"track", PT_TRACK_BLOCKS}, /* a bare key is 1 */
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		PT_CHECK_EQ(pt_config(ok[i].spec), 0);
		if (pt_track_flags() != ok[i].flags)
			PT_FAIL_("%s: flags %u, expected %u", ok[i].spec, pt_track_flags(),
			         ok[i].flags);
	}
	PT_CHECK_EQ(pt_track_set(0), PT_TRACK_BLOCKS); /* returns the old flags */
	PT_CHECK_EQ(pt_track_flags(), 0);
}

/* ---- what a finding does, in a child ---- */

static void *held;

static void free_held(void)
{
	if (held)
		pt_free(held, "Vext");
	held = NULL;
}

/* A child that sets options, holds a block (unless spec says "none"), and
 * exits; its status (128 + signal when killed), and what it printed in
 * out. */
static int child_exit(const char *spec, int hold, char *out, size_t len)
{
	int fds[2], st = -1;
	size_t got = 0;
	ssize_t r;
	pid_t pid;

	out[0] = 0;
	fflush(stdout);
	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		/* Registered before the check at exit, so run after it: the
		 * program frees its block only once the check has seen it. */
		atexit(free_held);
		held = pt_alloc(PT_PAGED, 24, "Vext");
		if (!hold)
			free_held();
		if (pt_config(spec) != 0)
			_exit(100);
		exit(0);
	}
	close(fds[1]);
	while (pid > 0 && got + 1 < len && (r = read(fds[0], out + got, len - 1 - got)) > 0)
		got += (size_t)r;
	out[got] = 0;
	close(fds[0]);
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

PT_TEST(test_exit_check_actions)
{
	char out[4096];

	/* Stop with status 86. */
	PT_CHECK_EQ(child_exit("exit-check=1,verify=exit", 1, out, sizeof(out)), PT_BUGCHECK_EXIT);
	PT_CHECK_HAS(out, "pooltag: verifier: test_verify exited holding what it acquired:\n");
	PT_CHECK_HAS(out, "  test_verify holds 1 paged block of 'Vext' (24 bytes): allocated at "
	                  "test_verify.c:");
	PT_CHECK_HAS(out, "pooltag: verifier: stopping the program (exit status 86)\n");
	/* "1" is exit too. */
	PT_CHECK_EQ(child_exit("exit-check=yes,verify=1", 1, out, sizeof(out)), PT_BUGCHECK_EXIT);
	/* Abort. */
	PT_CHECK_EQ(child_exit("exit-check=on,verify=abort", 1, out, sizeof(out)), 128 + SIGABRT);
	PT_CHECK_HAS(out, "pooltag: verifier: stopping the program (abort)\n");
	/* Report and go on. */
	PT_CHECK_EQ(child_exit("exit-check=1,verify=continue", 1, out, sizeof(out)), 0);
	PT_CHECK_HAS(out, "test_verify exited holding what it acquired:\n");
	PT_CHECK(!strstr(out, "stopping"));
	PT_CHECK_EQ(child_exit("exit-check=1,verify=report", 1, out, sizeof(out)), 0);
	PT_CHECK(!strstr(out, "stopping"));
	/* No verify= at all: a report, no stop. */
	PT_CHECK_EQ(child_exit("exit-check=1", 1, out, sizeof(out)), 0);
	PT_CHECK_HAS(out, "exited holding");
	/* Nothing held: clean, whatever the action. */
	PT_CHECK_EQ(child_exit("exit-check=1,verify=exit", 0, out, sizeof(out)), 0);
	PT_CHECK_STR(out, "pooltag: test_verify exited: clean, nothing held\n");
	/* The check turned off again, and never on. */
	PT_CHECK_EQ(child_exit("exit-check=1,verify=exit,exit-check=off", 1, out, sizeof(out)), 0);
	PT_CHECK_STR(out, "");
	PT_CHECK_EQ(child_exit("verify=exit", 1, out, sizeof(out)), 0);
	PT_CHECK_STR(out, "");
}

/* output=PATH: reports appended to the file, line by line. */
PT_TEST(test_output_file)
{
	char path[128], spec[160], text[2048] = "";
	char out[256];
	FILE *f;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/report.log", tmpdir);
	f = fopen(path, "w");
	PT_CHECK(f != NULL);
	if (!f)
		return;
	fputs("before\n", f);
	fclose(f);
	snprintf(spec, sizeof(spec), "exit-check=1,verify=exit,output=%s", path);
	PT_CHECK_EQ(child_exit(spec, 1, out, sizeof(out)), PT_BUGCHECK_EXIT);
	PT_CHECK_STR(out, ""); /* nothing on stderr */
	f = fopen(path, "r");
	if (f) {
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
	}
	text[n] = 0;
	PT_CHECK(!strncmp(text, "before\npooltag: verifier: test_verify exited holding", 52));
	PT_CHECK_HAS(text, "'Vext' (24 bytes)");
	PT_CHECK_HAS(text, "pooltag: verifier: stopping the program (exit status 86)\n");
	unlink(path);
}

/* pt_verify_finding, as a fault handler calls it: nothing unless an action
 * that stops was chosen. */
static int finding_child(enum pt_verify_action a, int set)
{
	int st = -1;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);
		if (set)
			pt_verify_set(a);
		pt_verify_finding();
		if (pt_export_path())
			unlink(pt_export_path());
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

PT_TEST(test_finding)
{
	PT_CHECK_EQ(finding_child(PT_VERIFY_EXIT, 0), 0);
	PT_CHECK_EQ(finding_child(PT_VERIFY_CONTINUE, 1), 0);
	PT_CHECK_EQ(finding_child(PT_VERIFY_EXIT, 1), PT_BUGCHECK_EXIT);
	PT_CHECK_EQ(finding_child(PT_VERIFY_ABORT, 1), 128 + SIGABRT);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	t_ver = pt_objtype_create("Verified", PT_PAGED, "Vobj", NULL, 0);
	PT_RUN(test_clean);
	PT_RUN(test_block_groups);
	PT_RUN(test_reference_groups);
	PT_RUN(test_display_limit);
	PT_RUN(test_sample_stacks);
	PT_RUN(test_option_errors);
	PT_RUN(test_track_values);
	PT_RUN(test_exit_check_actions);
	PT_RUN(test_output_file);
	PT_RUN(test_finding);
	PT_RUN(test_nothing_outstanding);
	rmdir(tmpdir);
	return pt_test_done();
}
