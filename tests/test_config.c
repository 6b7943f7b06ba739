/*
 * test_config.c - the option syntax (src/config.c): "key=value,..." with
 * bare keys and empty items, keys handed to the group whose prefix starts
 * them, pt_config's errors and its stop at the first bad option, the
 * length limit, and the environment: POOLTAG read once at start, where a
 * bad option is named on stderr and skipped, and the older POOLTAG_VERIFY,
 * POOLTAG_TRACK and POOLTAG_CHECK_EXIT.
 *
 * The environment is read before main, so its tests run this program
 * again (argv[1] "env") with the variables set, and read what it printed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pooltag.h>

#include "internal.h"
#include "pt_libtest.h"

/* The keys starting with "zz" land here: what the group was given, in
 * order, as "key=value;" (a value "bad" is refused). */
static char applied[4096];

static int zz_apply(const char *key, const char *val, char *err, size_t errlen)
{
	if (!strcmp(val, "bad")) {
		snprintf(err, errlen, "option '%s': bad value", key);
		errno = EINVAL;
		return -1;
	}
	snprintf(applied + strlen(applied), sizeof(applied) - strlen(applied), "%s=%s;", key, val);
	return 0;
}
PT_OPTION_GROUP(zz_opts, "zz", zz_apply)

static int config(const char *spec)
{
	applied[0] = 0;
	errno = 0;
	return pt_config(spec);
}

PT_TEST(test_syntax)
{
	PT_CHECK_EQ(config("zzone,,zztwo=x,zzthree=a=b,"), 0);
	PT_CHECK_STR(applied, "zzone=1;zztwo=x;zzthree=a=b;");
	PT_CHECK_EQ(config(""), 0);
	PT_CHECK_STR(applied, "");
	PT_CHECK_EQ(config(",,,"), 0);
	PT_CHECK_STR(applied, "");
	PT_CHECK_EQ(config("zz="), 0); /* an empty value is the group's to judge */
	PT_CHECK_STR(applied, "zz=;");
}

PT_TEST(test_errors)
{
	PT_CHECK_EQ(config(NULL), -1);
	PT_CHECK_EQ(errno, EINVAL);
	PT_CHECK_STR(pt_config_error(), "no options");
	PT_CHECK_EQ(config("nosuch=1"), -1);
	PT_CHECK_EQ(errno, EINVAL);
	PT_CHECK_STR(pt_config_error(), "unknown option 'nosuch'");
	/* A key must start with a group's whole prefix. */
	PT_CHECK_EQ(config("z=1"), -1);
	PT_CHECK_STR(pt_config_error(), "unknown option 'z'");
	PT_CHECK_EQ(config("=1"), -1);
	PT_CHECK_STR(pt_config_error(), "unknown option ''");
	PT_CHECK_EQ(config("zzlonger=1"), 0);
	PT_CHECK_STR(applied, "zzlonger=1;");
	/* The group's own message. */
	PT_CHECK_EQ(config("zzk=bad"), -1);
	PT_CHECK_EQ(errno, EINVAL);
	PT_CHECK_STR(pt_config_error(), "option 'zzk': bad value");
}

/* Options before the bad one are applied, none after it. */
PT_TEST(test_stops_at_first_bad)
{
	PT_CHECK_EQ(config("zza=1,zzb=bad,zzc=1"), -1);
	PT_CHECK_STR(applied, "zza=1;");
	PT_CHECK_STR(pt_config_error(), "option 'zzb': bad value");
	PT_CHECK_EQ(config("zza=1,nosuch,zzc=1"), -1);
	PT_CHECK_STR(applied, "zza=1;");
	PT_CHECK_STR(pt_config_error(), "unknown option 'nosuch'");
}

/* An option of 1023 bytes is the longest. */
PT_TEST(test_length_limit)
{
	char spec[1100], want[64];

	memset(spec, 'y', sizeof(spec));
	memcpy(spec, "zzk=", 4);
	spec[1023] = 0;
	PT_CHECK_EQ(config(spec), 0);
	PT_CHECK_EQ(strlen(applied), 1024); /* "zzk=" 1019 bytes ";" */
	spec[1023] = ',';
	memcpy(spec + 1024, "zzn", 4);
	PT_CHECK_EQ(config(spec), 0);
	PT_CHECK_HAS(applied, ";zzn=1;");
	spec[1023] = 'y';
	spec[1024] = 0;
	PT_CHECK_EQ(config(spec), -1);
	PT_CHECK_EQ(errno, EINVAL);
	snprintf(want, sizeof(want), "option too long: '%.32s...'", spec);
	PT_CHECK_STR(pt_config_error(), want);
	PT_CHECK_STR(applied, "");
}

/* ---- the environment ---- */

/* Runs this program again as "env" with the variables of vars set (and
 * POOLTAG_VERIFY, POOLTAG_TRACK, POOLTAG_CHECK_EXIT, POOLTAG unset
 * otherwise); what it printed on stdout and stderr into out.  Its exit
 * status, or -1. */
static int run_env(const char *const *vars, char *out, size_t len)
{
	static const char *const legacy[] = {"POOLTAG_VERIFY", "POOLTAG_TRACK",
	                                     "POOLTAG_CHECK_EXIT", "POOLTAG"};
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
		char *argv[] = {"test_config", "env", NULL};

		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		for (size_t i = 0; i < sizeof(legacy) / sizeof(legacy[0]); i++)
			unsetenv(legacy[i]);
		for (size_t i = 0; vars[i]; i += 2)
			setenv(vars[i], vars[i + 1], 1);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(fds[1]);
	while (pid > 0 && got + 1 < len && (r = read(fds[0], out + got, len - 1 - got)) > 0)
		got += (size_t)r;
	out[got] = 0;
	close(fds[0]);
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* What the "env" run prints: the "zz" options it was given at start, and
 * the tracking flags. */
static int env_main(void)
{
	pt_config_init(); /* read once: a second call applies nothing again */
	printf("applied: %s\ntrack: %u\n", applied, pt_track_flags());
	return 0;
}

PT_TEST(test_env_pooltag)
{
	static const char *const vars[] = {"POOLTAG", "zzfirst,bogus,zzk=bad,,zzlast=2", NULL};
	char out[4096];

	PT_CHECK_EQ(run_env(vars, out, sizeof(out)), 0);
	PT_CHECK_HAS(out, "applied: zzfirst=1;zzlast=2;\n");
	PT_CHECK_HAS(out, "pooltag: POOLTAG: unknown option 'bogus' (ignored)\n");
	PT_CHECK_HAS(out, "pooltag: POOLTAG: option 'zzk': bad value (ignored)\n");
	PT_CHECK_HAS(out, "track: 0\n");
}

PT_TEST(test_env_older_names)
{
	static const char *const track[] = {"POOLTAG_TRACK", "blocks,stacks", NULL};
	static const char *const track_all[] = {"POOLTAG_TRACK", "all", NULL};
	static const char *const track_one[] = {"POOLTAG_TRACK", "1", NULL};
	static const char *const track_stacks[] = {"POOLTAG_TRACK", "stacks", NULL};
	static const char *const track_odd[] = {"POOLTAG_TRACK", "odd", NULL};
	static const char *const verify[] = {"POOLTAG_VERIFY", "maybe", NULL};
	static const char *const later[] = {"POOLTAG_TRACK", "all", "POOLTAG", "track=none", NULL};
	static const char *const check[] = {"POOLTAG_CHECK_EXIT", "1", NULL};
	char out[4096];

	PT_CHECK_EQ(run_env(track, out, sizeof(out)), 0);
	PT_CHECK_HAS(out, "track: 3\n");
	PT_CHECK_EQ(run_env(track_all, out, sizeof(out)), 0);
	PT_CHECK_HAS(out, "track: 3\n");
	PT_CHECK_EQ(run_env(track_one, out, sizeof(out)), 0);
	PT_CHECK_HAS(out, "track: 1\n");
	PT_CHECK_EQ(run_env(track_stacks, out, sizeof(out)), 0);
	PT_CHECK_HAS(out, "track: 2\n");
	PT_CHECK_EQ(run_env(track_odd, out, sizeof(out)), 0);
	PT_CHECK_HAS(out, "track: 0\n");
	PT_CHECK_EQ(run_env(verify, out, sizeof(out)), 0);
	PT_CHECK_HAS(out, "pooltag: POOLTAG_VERIFY: option 'verify': expected exit, abort, "
	                  "continue or report (ignored)\n");
	/* POOLTAG is read after the older names: it has the last word. */
	PT_CHECK_EQ(run_env(later, out, sizeof(out)), 0);
	PT_CHECK_HAS(out, "track: 0\n");
	/* The check at exit: the run holds nothing. */
	PT_CHECK_EQ(run_env(check, out, sizeof(out)), 0);
	PT_CHECK_HAS(out, "pooltag: test_config exited: clean, nothing held\n");
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "env"))
		return env_main();
	PT_RUN(test_syntax);
	PT_RUN(test_errors);
	PT_RUN(test_stops_at_first_bad);
	PT_RUN(test_length_limit);
	PT_RUN(test_env_pooltag);
	PT_RUN(test_env_older_names);
	PT_RUN(test_nothing_outstanding);
	return pt_test_done();
}
