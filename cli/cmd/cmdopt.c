/*
 * cmdopt.c - the options several commands share (cmd.h): --tags FILE,
 * --json and --csv, and getopt's start.
 */
#include <getopt.h>
#include <stdlib.h>

#include "cmd.h"

int pt_cmdopt_init(struct pt_cmdopt *c, int argc)
{
	c->ntagfiles = 0;
	c->fmt = PT_EMIT_TEXT;
	c->tagfiles = calloc((size_t)argc + 1, sizeof(char *));
	optind = 1;
	opterr = 0;
	return c->tagfiles ? 0 : -1;
}

int pt_cmdopt_take(struct pt_cmdopt *c, int opt, char *arg)
{
	switch (opt) {
	case PT_OPT_TAGS:
		c->tagfiles[c->ntagfiles++] = arg;
		return 1;
	case PT_OPT_JSON:
		c->fmt = PT_EMIT_JSON;
		return 1;
	case PT_OPT_CSV:
		c->fmt = PT_EMIT_CSV;
		return 1;
	default:
		return 0;
	}
}

struct pt_tagdb *pt_cmdopt_tagdb(const struct pt_cmdopt *c, char *err, size_t errlen)
{
	return pt_tagdb_for(c->tagfiles, c->ntagfiles, err, errlen);
}

void pt_cmdopt_free(struct pt_cmdopt *c)
{
	free(c->tagfiles);
	c->tagfiles = NULL;
}
