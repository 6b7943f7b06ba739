/*
 * cmd.h - the CLI's subcommands and what they share: loading a target (a
 * live process or a snapshot) and the tag database.
 *
 * Each command returns the process exit status: 0 on success, 1 when it
 * could not do its job (the message is already printed, one line on stderr,
 * prefixed "pooltag: "), 2 for a usage error.
 */
#ifndef PT_CMD_H
#define PT_CMD_H

#include <stddef.h>

#include "emit.h"
#include "tagdb.h"
#include "view.h"

int pt_cmd_ls(int argc, char **argv);
int pt_cmd_used(int argc, char **argv);
int pt_cmd_snap(int argc, char **argv);
int pt_cmd_diff(int argc, char **argv);
int pt_cmd_refs(int argc, char **argv);
int pt_cmd_faults(int argc, char **argv);
int pt_cmd_exporter(int argc, char **argv);
int pt_cmd_mon(int argc, char **argv);
int pt_cmd_record(int argc, char **argv);
int pt_cmd_trend(int argc, char **argv);
int pt_cmd_plot(int argc, char **argv);
int pt_cmd_run(int argc, char **argv);

/* What a command's parse step returns to go on; anything else is the exit
 * status (0 after --help, 2 after a usage error), the message printed. */
#define PT_PARSED (-1)

/* The options several commands share: --tags FILE (repeatable), and for
 * those printing tables --json and --csv.  A command lists the long
 * options it takes with these values, and hands each option getopt_long
 * returns to pt_cmdopt_take first. */
enum { PT_OPT_TAGS = 0x100, PT_OPT_JSON, PT_OPT_CSV };

struct pt_cmdopt {
	char **tagfiles; /* the --tags files, pointers into argv */
	size_t ntagfiles;
	enum pt_emit_fmt fmt; /* PT_EMIT_TEXT unless --json or --csv */
};

/* Readies c for argc arguments and restarts getopt, quiet (the command
 * words its errors, pt_getopt_err): 0, or -1 out of memory.  Freed with
 * pt_cmdopt_free, whatever it returned. */
int pt_cmdopt_init(struct pt_cmdopt *c, int argc);

/* Takes option opt with argument arg if it is a shared one: 1, else 0. */
int pt_cmdopt_take(struct pt_cmdopt *c, int opt, char *arg);

/* The tag database of the --tags files (pt_tagdb_for). */
struct pt_tagdb *pt_cmdopt_tagdb(const struct pt_cmdopt *c, char *err, size_t errlen);

void pt_cmdopt_free(struct pt_cmdopt *c);

/* Prints "pooltag: <message>" on stderr, the message's control bytes as
 * '?' (safestr.h): it may name a path or quote what was read. */
void pt_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A usage error of command cmd, as one line: "pooltag: CMD: <message>
 * (see 'pooltag CMD --help')", the message made safe as pt_err's.
 * Returns 2, the usage exit status. */
int pt_usage_err(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The message for getopt's '?' (unknown option or missing value). */
int pt_getopt_err(const char *cmd, char **argv);

/* Loads arg into v: "kernel", the Linux kernel's /proc/allocinfo
 * (allocinfo.h); a PID (all digits) read live; else a file: a kernel
 * snapshot or saved allocinfo, a segment
 * (the counters a dead process left), a snapshot, or a Windows dump
 * (WinDbg's !poolused text, a PoolMon snapshot), whose skipped lines are
 * noted on stderr.  0, or -1 with a message in err. */
int pt_target_load(const char *arg, struct pt_view *v, char *err, size_t errlen);

/* The tag database for a command: the --tags files (in order), then
 * $POOLTAG_TAGS, then the installed pooltag.txt; earlier sources win.  An
 * unreadable --tags or $POOLTAG_TAGS file is an error; a missing installed
 * file is not.  NULL with a message in err. */
struct pt_tagdb *pt_tagdb_for(char **files, size_t nfiles, char *err, size_t errlen);

/* Reads the recording file into r for a command that reads one (trend,
 * plot), noting on stderr what the reader noted (a cut last sample): 0, or
 * 1 with the message printed if it cannot be read or holds no complete
 * sample. */
struct pt_recording;
int pt_recording_load(const char *file, struct pt_recording *r);

/* progfile.c: a program's file.  pt_find_program searches PATH as execvp
 * does: 0, or -1 with errno (ENOENT, EACCES, EISDIR).  pt_is_static_elf:
 * an ELF executable without an interpreter.  pt_links_pooltag: the file
 * carries libpooltag (a pt_fault_ symbol, or libpooltag.so needed). */
int pt_find_program(const char *name, char *out, size_t len);
int pt_is_static_elf(const char *file);
int pt_links_pooltag(const char *file);

/* Flushes standard output: 0, or 1 with "cannot write output: reason"
 * printed (a full disk or a closed pipe must not pass for success). */
int pt_flush_stdout(void);

/* Parses a non-negative decimal count for option opt of command cmd; -1
 * (usage error printed) if s is not one. */
long pt_parse_count(const char *cmd, const char *opt, const char *s);

#endif /* PT_CMD_H */
