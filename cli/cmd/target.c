/*
 * target.c - what the CLI's commands share: loading targets, tag files and
 * recordings.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allocinfo.h"
#include "cmd.h"
#include "readfile.h"
#include "recording.h"
#include "safestr.h"
#include "segfmt.h"
#include "segread.h"
#include "snapshot.h"
#include "winimport.h"

/* The largest file read as a snapshot or a dump. */
#define PT_TARGET_MAX_FILE ((size_t)256 << 20)

#ifndef PT_TAGS_DEFAULT
#define PT_TAGS_DEFAULT "/usr/local/share/pooltag/pooltag.txt"
#endif

void pt_err(const char *fmt, ...)
{
	va_list ap;

	fputs("pooltag: ", stderr);
	va_start(ap, fmt);
	pt_safe_vprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int pt_usage_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pooltag: %s: ", cmd);
	va_start(ap, fmt);
	pt_safe_vprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'pooltag %s --help')\n", cmd);
	return 2;
}

int pt_getopt_err(const char *cmd, char **argv)
{
	if (optopt)
		return pt_usage_err(cmd, "option -%c is unknown or wants a value", optopt);
	return pt_usage_err(cmd, "option '%s' is unknown or wants a value", argv[optind - 1]);
}

int pt_flush_stdout(void)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return 0;
	pt_err("cannot write output: %s", strerror(errno ? errno : EIO));
	return 1;
}

long pt_parse_count(const char *cmd, const char *opt, const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0) {
		pt_usage_err(cmd, "%s wants a non-negative number, not '%s'", opt, s);
		return -1;
	}
	return v;
}

/* Does path start with a segment's magic?  (A segment file given by name:
 * the counters a crashed process left behind.) */
static int is_segment(const char *path)
{
	char magic[sizeof(PT_SEG_MAGIC) - 1];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	int yes = fd >= 0 && read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
		  memcmp(magic, PT_SEG_MAGIC, sizeof(magic)) == 0;

	if (fd >= 0)
		close(fd);
	return yes;
}

static int read_segment_file(const char *path, struct pt_view *v, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	int rc;

	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	rc = pt_segread_fd(v, fd, path, err, errlen);
	close(fd);
	return rc;
}

/* A text file: a snapshot when it starts like one (even cut short, so a
 * truncated snapshot is reported as such), else a Windows dump.  What the
 * importer skipped is a note on stderr, not an error. */
static int read_text_file(const char *path, struct pt_view *v, char *err, size_t errlen)
{
	static const char head[] = PT_SNAP_MAGIC " ";
	struct pt_winimport info;
	const char *why;
	char *buf;
	size_t len;
	int rc;

	if (pt_read_file(path, PT_TARGET_MAX_FILE, &buf, &len, &why) < 0) {
		if (why && why[0] == 't') /* "too large" */
			why = "larger than 256 MiB";
		snprintf(err, errlen, "cannot read %s: %s", path, why ? why : strerror(errno));
		return -1;
	}
	if (pt_allocinfo_sniff(buf, len)) { /* the kernel's /proc/allocinfo, saved */
		rc = pt_allocinfo_parse(v, buf, len, path, NULL, err, errlen);
		free(buf);
		return rc;
	}
	if (len && !memcmp(buf, head, len < sizeof(head) - 1 ? len : sizeof(head) - 1)) {
		rc = pt_snap_parse(v, buf, len, path, err, errlen);
		free(buf);
		return rc;
	}
	rc = pt_winimport_parse(v, buf, len, path, &info, err, errlen);
	free(buf);
	if (rc == 0)
		snprintf(err, errlen, "%s: not a snapshot, segment, !poolused or poolmon dump", path);
	if (rc <= 0)
		return -1;
	if (info.ntables > 1)
		pt_err("note: %s: %zu tables, the last one (line %zu) is read", path, info.ntables,
		       info.line);
	if (info.nskipped)
		pt_err("note: %s: %zu line%s not understood, skipped", path, info.nskipped,
		       info.nskipped == 1 ? "" : "s");
	return 0;
}

int pt_target_load(const char *arg, struct pt_view *v, char *err, size_t errlen)
{
	char proc[32];

	if (strcmp(arg, "kernel") == 0) /* "./kernel" names a file */
		return pt_allocinfo_load(v, err, errlen);
	/* Digits name a process, unless no such process exists and a file of
	 * that name does ("./1234" always means the file). */
	snprintf(proc, sizeof(proc), "/proc/%.20s", arg);
	if (*arg && strspn(arg, "0123456789") == strlen(arg) &&
	    (access(proc, F_OK) == 0 || access(arg, F_OK) != 0)) {
		long pid = strtol(arg, NULL, 10);
		if (strlen(arg) > 9 || pid <= 0) {
			snprintf(err, errlen, "no such process: %s", arg);
			return -1;
		}
		return pt_segread_pid(v, (pid_t)pid, err, errlen);
	}
	if (access(arg, F_OK) != 0) {
		snprintf(err, errlen, "%s: no such process or file", arg);
		return -1;
	}
	return is_segment(arg) ? read_segment_file(arg, v, err, errlen)
			       : read_text_file(arg, v, err, errlen);
}

/* The installed pooltag.txt: beside the executable, in ../share/pooltag/
 * (an installed or unpacked tree), or ../../share/pooltag/ (a build
 * variant such as build/asan/ in the source tree); else the configured
 * path. */
static const char *default_tags(char *buf, size_t len)
{
	static const char *const rel[] = {"/../share/pooltag/pooltag.txt",
					  "/../../share/pooltag/pooltag.txt"};
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (n > 0) {
		buf[n] = 0;
		slash = strrchr(buf, '/');
		for (size_t i = 0; slash && i < 2; i++) {
			if ((size_t)(slash - buf) + strlen(rel[i]) + 1 > len)
				break;
			strcpy(slash, rel[i]);
			if (access(buf, R_OK) == 0)
				return buf;
		}
	}
	return PT_TAGS_DEFAULT;
}

struct pt_tagdb *pt_tagdb_for(char **files, size_t nfiles, char *err, size_t errlen)
{
	struct pt_tagdb *db = pt_tagdb_new();
	const char *env = getenv("POOLTAG_TAGS");
	char path[PATH_MAX];

	if (!db) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < nfiles; i++)
		if (pt_tagdb_load_file(db, files[i], err, errlen) != 0)
			goto fail;
	if (env && *env && pt_tagdb_load_file(db, env, err, errlen) != 0)
		goto fail;
	const char *def = default_tags(path, sizeof(path));
	if (access(def, F_OK) == 0 && pt_tagdb_load_file(db, def, err, errlen) != 0)
		goto fail;
	return db;
fail:
	pt_tagdb_free(db);
	return NULL;
}

int pt_recording_load(const char *file, struct pt_recording *r)
{
	char err[1024];

	if (pt_rec_read(r, file, err, sizeof(err)) != 0) {
		pt_err("%s", err);
		return 1;
	}
	if (r->note[0])
		pt_err("note: %s", r->note);
	if (r->nsamples == 0) {
		pt_err("%s: no complete sample", file);
		return 1;
	}
	return 0;
}
