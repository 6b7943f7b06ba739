/*
 * config.c - the one option syntax of the library, the POOLTAG environment
 * variable and the CLI: "key=value,key=value,..." (a bare key means
 * key=1).  Keys:
 *
 *   verify=exit|abort|continue|report  what a finding does (report is continue)
 *   exit-check=0|1                     check the main program at exit
 *   track=none|blocks|stacks|all       records per block, stacks of acquisitions
 *   output=stderr|PATH                 where verifier reports go (appended)
 *   fail*                              fault injection, parsed by fault.c
 *   special*                           the special pool, parsed by special.c
 *
 * POOLTAG_VERIFY, POOLTAG_TRACK and POOLTAG_CHECK_EXIT, read first, are
 * older spellings of verify=, track= and exit-check=.  The environment is
 * read once, before the first count, allocation or report; a bad option in
 * it is reported on stderr (one line naming it) and skipped, since a library
 * must not stop its program over a typo.  pt_config() applies a string
 * later, all or nothing: an error leaves the configuration untouched only
 * for the options before the bad one, so callers check its result.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static struct {
	pthread_once_t once;
	char err[256];
} cfg = {.once = PTHREAD_ONCE_INIT};

static int bad(char *err, size_t errlen, const char *key, const char *what)
{
	snprintf(err, errlen, "option '%s': %s", key, what);
	errno = EINVAL;
	return -1;
}

static int flag_value(const char *v, int *out)
{
	if (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on"))
		*out = 1;
	else if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off"))
		*out = 0;
	else
		return -1;
	return 0;
}

/* Applies one key=value.  0, or -1 with a message in err. */
static int apply(const char *key, const char *val, char *err, size_t errlen)
{
	int on;

	if (!strcmp(key, "verify")) {
		if (!strcmp(val, "exit") || !strcmp(val, "1"))
			pt_verify_cfg_action(PT_VERIFY_EXIT);
		else if (!strcmp(val, "abort"))
			pt_verify_cfg_action(PT_VERIFY_ABORT);
		else if (!strcmp(val, "continue") || !strcmp(val, "report") || !strcmp(val, "0"))
			pt_verify_cfg_action(PT_VERIFY_CONTINUE);
		else
			return bad(err, errlen, key, "expected exit, abort, continue or report");
		return 0;
	}
	if (!strcmp(key, "exit-check")) {
		if (flag_value(val, &on))
			return bad(err, errlen, key, "expected 0 or 1");
		pt_verify_cfg_exit(on);
		return 0;
	}
	if (!strcmp(key, "track")) {
		unsigned f;
		if (!strcmp(val, "none") || !strcmp(val, "0"))
			f = 0;
		else if (!strcmp(val, "blocks") || !strcmp(val, "1"))
			f = PT_TRACK_BLOCKS;
		else if (!strcmp(val, "stacks"))
			f = PT_TRACK_STACKS;
		else if (!strcmp(val, "all") || !strcmp(val, "blocks+stacks"))
			f = PT_TRACK_BLOCKS | PT_TRACK_STACKS;
		else
			return bad(err, errlen, key, "expected none, blocks, stacks or all");
		pt_verify_cfg_track(f);
		return 0;
	}
	if (!strcmp(key, "output")) {
		FILE *f = stderr;
		if (strcmp(val, "stderr") != 0) {
			f = fopen(val, "ae");
			if (!f) {
				snprintf(err, errlen, "option 'output': cannot open %s: %s", val,
					 strerror(errno));
				return -1;
			}
			setvbuf(f, NULL, _IOLBF, 0);
		}
		pt_verify_output(f);
		return 0;
	}
	if (!strncmp(key, "fail", 4))
		return pt_fault_option(key, val, err, errlen);
	if (!strncmp(key, "special", 7))
		return pt_special_option(key, val, err, errlen);
	snprintf(err, errlen, "unknown option '%s'", key);
	errno = EINVAL;
	return -1;
}

/* Parses spec; stops at the first bad option unless keep_going, in which
 * case each bad one is reported on stderr as coming from `source`. */
static int parse(const char *spec, const char *source, int keep_going, char *err, size_t errlen)
{
	char item[1024];
	int rc = 0;

	while (*spec) {
		size_t n = strcspn(spec, ",");
		char *eq;
		if (n >= sizeof(item)) {
			snprintf(err, errlen, "option too long: '%.32s...'", spec);
			errno = EINVAL;
			return -1;
		}
		memcpy(item, spec, n);
		item[n] = 0;
		spec += n + (spec[n] == ',');
		if (!item[0])
			continue;
		eq = strchr(item, '=');
		if (eq)
			*eq++ = 0;
		if (apply(item, eq ? eq : "1", err, errlen) == 0)
			continue;
		if (!keep_going)
			return -1;
		fprintf(stderr, "pooltag: %s: %s (ignored)\n", source, err);
		rc = -1;
	}
	return rc;
}

static void read_env(void)
{
	const char *v;
	char err[256];

	if ((v = getenv("POOLTAG_VERIFY")) && *v &&
	    apply("verify", strcmp(v, "1") ? v : "exit", err, sizeof(err)))
		fprintf(stderr, "pooltag: POOLTAG_VERIFY: %s (ignored)\n", err);
	if ((v = getenv("POOLTAG_CHECK_EXIT")) && !strcmp(v, "1"))
		pt_verify_cfg_exit(1);
	if ((v = getenv("POOLTAG_TRACK")) && *v) {
		unsigned f = 0;
		if (strstr(v, "stacks") || !strcmp(v, "all"))
			f |= PT_TRACK_STACKS;
		if (strstr(v, "blocks") || !strcmp(v, "all") || !strcmp(v, "1"))
			f |= PT_TRACK_BLOCKS;
		pt_verify_cfg_track(f);
	}
	if ((v = getenv("POOLTAG")) && *v)
		parse(v, "POOLTAG", 1, err, sizeof(err));
}

void pt_config_init(void)
{
	pthread_once(&cfg.once, read_env);
}

/* Options apply from the program's first allocation on: fault injection
 * must see the very first acquisition, which comes before anything else
 * would read them. */
__attribute__((constructor)) static void config_at_start(void)
{
	pt_config_init();
}

int pt_config(const char *spec)
{
	if (!spec) {
		errno = EINVAL;
		snprintf(cfg.err, sizeof(cfg.err), "no options");
		return -1;
	}
	pt_config_init();
	return parse(spec, "pt_config", 0, cfg.err, sizeof(cfg.err));
}

const char *pt_config_error(void)
{
	return cfg.err;
}
