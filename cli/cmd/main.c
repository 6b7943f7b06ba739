/*
 * main.c - the pooltag command: dispatch to a subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

#ifndef PT_VERSION
#define PT_VERSION "0.1.0"
#endif

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} cmds[] = {
	{"ls", pt_cmd_ls, "processes that export counters (--clean removes stale segments)"},
	{"used", pt_cmd_used, "the !poolused table of a process, snapshot or Windows dump"},
	{"snap", pt_cmd_snap, "save a process's counters: snap PID -o FILE"},
	{"diff", pt_cmd_diff, "which tags grew between two reads, snapshots or dumps"},
	{"refs", pt_cmd_refs, "references and handles held, by module, type and line"},
	{"faults", pt_cmd_faults, "fail each acquisition of a program in turn, report leaks"},
	{"exporter", pt_cmd_exporter, "serve every process's counters to Prometheus"},
	{"mon", pt_cmd_mon, "live full-screen view of a process's tags (PoolMon)"},
	{"record", pt_cmd_record, "sample a process's counters into a file: record PID -o FILE"},
	{"trend", pt_cmd_trend, "which tags of a recording grow steadily: the leaks, with rates"},
	{"plot", pt_cmd_plot, "chart a recording's growing tags: plot FILE -o OUT.svg|OUT.html"},
	{"run", pt_cmd_run, "run an unmodified program with its memory and descriptors counted"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: pooltag COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\n'pooltag COMMAND --help' for a command's options; man pooltag for all.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("pooltag %s\n", PT_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "pooltag: unknown command '%s' (see 'pooltag --help')\n", argv[1]);
	return 2;
}
