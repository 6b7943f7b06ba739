/*
 * config.c - the one option syntax of the library, the POOLTAG environment
 * variable and the CLI: "key=value,key=value,..." (a bare key means
 * key=1).  Keys:
 *
 *   verify=exit|abort|continue|report  what a finding does (report is continue)
 *   exit-check=0|1                     check the main program at exit
 *   track=none|blocks|stacks|all       records per block, stacks of acquisitions
 *   output=stderr|PATH                 where verifier reports go (appended)
 *                                      (these four parsed by verify.c)
 *   fail*                              fault injection, parsed by fault.c
 *   special*                           the special pool, parsed by specialopt.c
 *
 * Each module registers its group of keys (PT_OPTION_GROUP in internal.h);
 * config.c knows the syntax and the environment, not the keys.
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

/* The option groups, registered by the modules that own them before the
 * environment is read (PT_OPTION_GROUP); config.c calls none of them by
 * name. */
static struct pt_option_group *groups;

void pt_config_register(struct pt_option_group *g)
{
	g->next = groups;
	groups = g;
}

/* Applies one key=value: the group whose prefix starts the key parses it.
 * 0, or -1 with a message in err. */
static int apply(const char *key, const char *val, char *err, size_t errlen)
{
	for (struct pt_option_group *g = groups; g; g = g->next)
		if (!strncmp(key, g->prefix, strlen(g->prefix)))
			return g->apply(key, val, err, errlen);
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
		apply("exit-check", "1", err, sizeof(err));
	if ((v = getenv("POOLTAG_TRACK")) && *v) {
		int stacks = strstr(v, "stacks") || !strcmp(v, "all");
		int blocks = strstr(v, "blocks") || !strcmp(v, "all") || !strcmp(v, "1");
		apply("track", stacks && blocks ? "all" : stacks ? "stacks" : blocks ? "blocks" : "none",
		      err, sizeof(err));
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
 * would read them.  Runs after the groups registered (priority
 * PT_OPTION_PRIO) and before the constructors of default priority. */
__attribute__((constructor(PT_OPTION_PRIO + 1))) static void config_at_start(void)
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
