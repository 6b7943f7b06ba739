/*
 * config.c - the options `pooltag run` hands to the interposer, read once
 * from the environment, all here so that moving them into the library's
 * POOLTAG option string later touches this file only.
 *
 *   POOLTAG_RUN_OUTPUT=FILE       reports to FILE (appended), not standard error
 *   POOLTAG_RUN_STATUS=FILE       "end PID findings N" lines for pooltag run's exit status
 *   POOLTAG_RUN_SPOOL=FILE        reports for pooltag run to print (channel.c)
 *   POOLTAG_RUN_JSON=FILE         a JSON line per report appended to FILE (json.c)
 *   POOLTAG_RUN_SUPPRESS=FILE     suppressions (common/runsupp.h)
 *   POOLTAG_RUN_GEN_SUPP=1        print suppression entries for the findings
 *   POOLTAG_RUN_QUIET=1           no line for a clean run
 *   POOLTAG_RUN_ALL=1             also list memory the C runtime holds at exit
 *   POOLTAG_RUN_FOLLOW_EXEC=1     programs this one executes are interposed too
 *   POOLTAG_RUN_TRACK=none|blocks|stacks   a record per block (with its call
 *                                 stack: the default); none counts only, and
 *                                 the exit report cannot tell lost from reachable
 *   POOLTAG_RUN_REACHABLE=1       list still reachable memory by group
 *   POOLTAG_RUN_SCAN_STATS=1      a line of the exit scan's figures (for the benchmark)
 *   POOLTAG_RUN_TAGS_MAP=FILE     the tag map (docs/tagmap-format.md)
 *   POOLTAG_RUN_SKIP=GLOB,...     more allocation wrappers
 *
 * A bad tag map was already reported by pooltag run; if the file changed
 * since, the interposer says so once on standard error and goes on with the
 * rules it could read.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload.h"

struct pt_run_config pt_run_cfg;

/*
 * Functions that allocate on their caller's behalf: the caller is charged.
 * libc's (strdup and the like), C++'s operator new, and the wrappers of
 * common programs and libraries (gnulib's xmalloc family, GLib's g_malloc).
 */
static const char *const default_skips =
	"strdup,__strdup,strndup,__strndup,wcsdup,asprintf,__asprintf,vasprintf,__vasprintf,"
	"getline,getdelim,__getdelim,realpath,canonicalize_file_name,open_memstream,"
	"open_wmemstream,scandir,scandir64,scandirat,backtrace_symbols,tempnam,reallocarray,"
	"_Znwm,_Znam,_ZnwmRKSt9nothrow_t,_ZnamRKSt9nothrow_t,_ZnwmSt11align_val_t,"
	"_ZnamSt11align_val_t,_ZnwmSt11align_val_tRKSt9nothrow_t,"
	"_ZnamSt11align_val_tRKSt9nothrow_t,"
	"xmalloc,xzalloc,xcalloc,xrealloc,xnmalloc,xnrealloc,xcharalloc,xstrdup,xstrndup,"
	"xmemdup,ximalloc,xizalloc,xicalloc,xirealloc,xpalloc,"
	"g_malloc,g_malloc0,g_realloc,g_try_malloc,g_try_malloc0,g_try_realloc,g_malloc_n,"
	"g_malloc0_n,g_realloc_n,g_strdup,g_strndup,g_memdup,g_memdup2,g_strdup_printf";

static void env_path(char *dst, size_t len, const char *name)
{
	const char *v = getenv(name);

	if (v && strlen(v) < len)
		strcpy(dst, v);
}

static int env_flag(const char *name)
{
	const char *v = getenv(name);
	return v && strcmp(v, "1") == 0;
}

static void complain(const char *msg)
{
	static const char pre[] = "pooltag: run: ";

	(void)!write(2, pre, sizeof(pre) - 1);
	(void)!write(2, msg, strlen(msg));
	(void)!write(2, "\n", 1);
}

void pt_run_config_load(void)
{
	struct pt_run_config *c = &pt_run_cfg;
	const char *v;
	char err[512];

	env_path(c->output, sizeof(c->output), "POOLTAG_RUN_OUTPUT");
	env_path(c->status, sizeof(c->status), "POOLTAG_RUN_STATUS");
	env_path(c->spool, sizeof(c->spool), "POOLTAG_RUN_SPOOL");
	env_path(c->json, sizeof(c->json), "POOLTAG_RUN_JSON");
	c->quiet = env_flag("POOLTAG_RUN_QUIET");
	c->gen_supp = env_flag("POOLTAG_RUN_GEN_SUPP");
	v = getenv("POOLTAG_RUN_SUPPRESS");
	if (v && *v && pt_run_suppress_load(v, err, sizeof(err)) != 0)
		complain(err);
	c->all = env_flag("POOLTAG_RUN_ALL");
	c->follow_exec = env_flag("POOLTAG_RUN_FOLLOW_EXEC");
	c->reachable = env_flag("POOLTAG_RUN_REACHABLE");
	c->scan_stats = env_flag("POOLTAG_RUN_SCAN_STATS");
	v = getenv("POOLTAG_RUN_TRACK");
	if (v && strcmp(v, "none") == 0)
		c->track = 0;
	else if (v && strcmp(v, "blocks") == 0)
		c->track = PT_TRACK_BLOCKS;
	else
		c->track = PT_TRACK_BLOCKS | PT_TRACK_STACKS;
	v = getenv("POOLTAG_RUN_TAGS_MAP");
	if (v && *v && pt_tagmap_load(&c->map, v, err, sizeof(err)) != 0)
		complain(err);
	v = getenv("POOLTAG_RUN_SKIP");
	if (v && *v && pt_tagmap_add_skips(&c->map, v, err, sizeof(err)) != 0)
		complain(err);
	if (pt_tagmap_add_skips(&c->map, default_skips, err, sizeof(err)) != 0)
		complain(err);
}
