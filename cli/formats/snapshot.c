/*
 * snapshot.c - views saved to files and read back (docs/snapshot-format.md).
 *
 * The writer emits the canonical form: header keys in a fixed order, then
 * every description, then every row, then the end line.  The reader accepts
 * exactly the documented grammar and nothing else, because a snapshot is the
 * evidence a leak report rests on: a file that parses is a file that was
 * written whole by pooltag (or by hand, correctly).
 *
 * The reader works on one buffer in one pass: each line is found with
 * memchr, checked for NUL bytes, split at TABs and decoded; strings go
 * through one scratch buffer into the view.  Every byte is looked at a
 * bounded number of times, so any input costs time linear in its size.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "textfields.h"
#include "pooltag.h"
#include "prochdr.h"
#include "readfile.h"
#include "snapshot.h"

#define PT_SNAP_MAX_FILE ((size_t)256 << 20)
#define PT_SNAP_MAX_LINE ((size_t)1 << 20)
#define PT_SNAP_HEAD     PT_SNAP_MAGIC " "
#define PT_SNAP_HEAD_LEN (sizeof(PT_SNAP_HEAD) - 1)
#define PT_SNAP_TMP      ".pooltag-snap.XXXXXX"

/* The header's keys (prochdr.h), and those a snapshot requires. */
#define SNAP_KEYS                                                                                  \
	(PT_PH_BIT(PT_PH_PID) | PT_PH_BIT(PT_PH_UID) | PT_PH_BIT(PT_PH_COMMAND) |                  \
	 PT_PH_BIT(PT_PH_TAKEN) | PT_PH_BIT(PT_PH_CREATED) | PT_PH_BIT(PT_PH_START_TICKS) |        \
	 PT_PH_BIT(PT_PH_MISUSE))
#define SNAP_REQUIRED                                                                              \
	(PT_PH_BIT(PT_PH_PID) | PT_PH_BIT(PT_PH_UID) | PT_PH_BIT(PT_PH_COMMAND) |                  \
	 PT_PH_BIT(PT_PH_TAKEN))

/* Counter classes by name; version 1 knew the first two. */
#define SNAP_NCLASSES 4
static const char *const snap_pools[SNAP_NCLASSES] = {"paged", "nonpaged", "refs", "handles"};

struct snap_parser {
	struct pt_tf_parser tp; /* where, for messages; decoded strings */
	struct pt_view *v;
	struct pt_ph hdr;      /* the header lines */
	int data;              /* a desc, site or end line was seen: the header is over */
	int ended;             /* the end line was seen: nothing may follow */
	size_t nsites, ndescs; /* lines seen, for the end line's check */
	unsigned version;      /* of the file: 1 (no module field) or 2 */
};

/* The first line: the magic word, a space and the version.  The caller has
 * already checked the magic word and the space. */
static int snap_magic(struct snap_parser *p, const char *s, size_t n)
{
	struct pt_tf f = {s + PT_SNAP_HEAD_LEN, n - PT_SNAP_HEAD_LEN};
	char q[PT_TF_QUOTE_SIZE];
	uint64_t version;

	if (pt_tf_u64(f, &version) < 0)
		return pt_tf_fail(&p->tp, "bad snapshot version '%s'", pt_tf_quote(f.s, f.n, q));
	if (version < 1 || version > PT_SNAP_VERSION)
		return pt_tf_fail(&p->tp, "snapshot version %" PRIu64 ", this pooltag reads versions 1 to %d",
		                 version, PT_SNAP_VERSION);
	p->version = (unsigned)version;
	return 0;
}

/* "site TAG POOL NALLOCS NFREES BYTES_ALLOC BYTES_FREED LINE FILE FUNC",
 * and MODULE from version 2 on. */
static int snap_site(struct snap_parser *p, const struct pt_tf *f)
{
	struct pt_row r = {0};
	char q[PT_TF_QUOTE_SIZE];
	uint64_t line;
	size_t off = 0;

	if (pt_tf_tag(&p->tp, f[1], &r.tag) < 0)
		return -1;
	for (r.pool = 0; r.pool < SNAP_NCLASSES; r.pool++)
		if (f[2].n == strlen(snap_pools[r.pool]) &&
		    !memcmp(f[2].s, snap_pools[r.pool], f[2].n))
			break;
	if (r.pool == SNAP_NCLASSES)
		return pt_tf_fail(&p->tp, "unknown pool '%s' (paged, nonpaged, refs or handles)",
		                 pt_tf_quote(f[2].s, f[2].n, q));
	if (pt_tf_num(&p->tp, f[3], "nallocs", 0, UINT64_MAX, &r.nallocs) < 0 ||
	    pt_tf_num(&p->tp, f[4], "nfrees", 0, UINT64_MAX, &r.nfrees) < 0 ||
	    pt_tf_num(&p->tp, f[5], "bytes_alloc", 0, UINT64_MAX, &r.bytes_alloc) < 0 ||
	    pt_tf_num(&p->tp, f[6], "bytes_freed", 0, UINT64_MAX, &r.bytes_freed) < 0 ||
	    pt_tf_num(&p->tp, f[7], "line", 0, UINT32_MAX, &line) < 0)
		return -1;
	r.line = (uint32_t)line;
	if (r.nfrees > r.nallocs)
		return pt_tf_fail(&p->tp, "inconsistent counters: nfrees %" PRIu64 " > nallocs %" PRIu64,
		                 r.nfrees, r.nallocs);
	if (r.bytes_freed > r.bytes_alloc)
		return pt_tf_fail(
		    &p->tp, "inconsistent counters: bytes_freed %" PRIu64 " > bytes_alloc %" PRIu64,
		    r.bytes_freed, r.bytes_alloc);
	r.file = pt_tf_str(&p->tp, f[8], "file", &off);
	r.func = r.file ? pt_tf_str(&p->tp, f[9], "func", &off) : NULL;
	if (!r.func)
		return -1;
	r.module = p->version >= 2 ? pt_tf_str(&p->tp, f[10], "module", &off) : "";
	if (!r.module)
		return -1;
	if (pt_view_add_row(p->v, &r) < 0)
		return pt_tf_fail(&p->tp, "out of memory");
	p->nsites++;
	return 0;
}

/* "desc TAG BINARY DESCRIPTION". */
static int snap_desc(struct snap_parser *p, const struct pt_tf *f)
{
	const char *binary, *desc;
	uint32_t tag;
	size_t off = 0;

	if (pt_tf_tag(&p->tp, f[1], &tag) < 0)
		return -1;
	binary = pt_tf_str(&p->tp, f[2], "binary", &off);
	desc = binary ? pt_tf_str(&p->tp, f[3], "description", &off) : NULL;
	if (!desc)
		return -1;
	if (pt_view_add_desc(p->v, tag, binary, desc) < 0)
		return pt_tf_fail(&p->tp, "out of memory");
	p->ndescs++;
	return 0;
}

/* "end NSITES NDESCS": the counts must match the lines seen. */
static int snap_end(struct snap_parser *p, const struct pt_tf *f)
{
	uint64_t nsites, ndescs;

	if (pt_tf_num(&p->tp, f[1], "end site count", 0, UINT64_MAX, &nsites) < 0 ||
	    pt_tf_num(&p->tp, f[2], "end desc count", 0, UINT64_MAX, &ndescs) < 0)
		return -1;
	if (nsites != p->nsites || ndescs != p->ndescs)
		return pt_tf_fail(&p->tp,
		                 "end line counts %" PRIu64 " sites and %" PRIu64
		                 " descs, the file has %zu and %zu",
		                 nsites, ndescs, p->nsites, p->ndescs);
	p->ended = 1;
	return 0;
}

/* Any line after the first.  Data lines (desc, site, end) are TAB
 * separated; header lines are "KEY VALUE" (prochdr.h).  The first data line
 * closes the header, so the required keys are checked there. */
static int snap_line(struct snap_parser *p, const char *s, size_t n)
{
	static const struct {
		const char *type;
		size_t nfields;
		int (*parse)(struct snap_parser *p, const struct pt_tf *f);
	} types[] = {{"desc", 4, snap_desc}, {"site", 10, snap_site}, {"end", 3, snap_end}};
	struct pt_tf f[11];
	size_t k = 0, i, nf, want;
	int key;

	if (n == 0)
		return pt_tf_fail(&p->tp, "empty line");
	while (k < n && s[k] != '\t' && s[k] != ' ')
		k++;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (k != strlen(types[i].type) || memcmp(s, types[i].type, k))
			continue;
		if (k < n && s[k] == ' ')
			return pt_tf_fail(&p->tp, "fields of %s lines must be separated by TABs",
			                 types[i].type);
		if (!p->data) {
			if (pt_ph_check(&p->hdr, &p->tp) < 0)
				return -1;
			p->data = 1;
		}
		want = types[i].nfields + (types[i].parse == snap_site && p->version >= 2);
		nf = pt_tf_split(s, n, f, want);
		if (nf != want)
			return pt_tf_fail(&p->tp, "wrong field count for %s: %zu (expected %zu)",
			                 types[i].type, nf, want);
		return types[i].parse(p, f);
	}
	if (p->data && (key = pt_ph_key(&p->hdr, s, n)) >= 0)
		return pt_tf_fail(&p->tp, "header key '%s' after the desc/site lines",
		                  pt_ph_names[key]);
	return pt_ph_line(&p->hdr, &p->tp, s, n);
}

/* Parses buf[0..len) into v.  Errors (with the line they were found on):
 * everything docs/snapshot-format.md rejects, and out of memory. */
int pt_snap_parse(struct pt_view *v, const char *buf, size_t len, const char *name, char *err,
                  size_t errlen)
{
	struct snap_parser p = {
	    .tp = {.name = name ? name : "(buffer)", .err = err},
	    .v = v,
	    .hdr = {.keys = SNAP_KEYS, .required = SNAP_REQUIRED, .v = v},
	};
	size_t pos = 0;
	int ret = -1;

	p.tp.errlen = err ? errlen : 0;
	if (p.tp.errlen)
		err[0] = '\0';
	p.tp.lineno = 1;
	if (len > PT_SNAP_MAX_FILE)
		return pt_tf_fail(&p.tp, "snapshot larger than 256 MiB");
	if (!pt_snap_sniff(buf, len)) {
		if (len == 0)
			return pt_tf_fail(&p.tp, "not a pooltag snapshot (empty file)");
		if (len < PT_SNAP_HEAD_LEN && !memcmp(buf, PT_SNAP_HEAD, len))
			return pt_tf_fail(&p.tp, "truncated (no end line)");
		return pt_tf_fail(&p.tp, "not a pooltag snapshot");
	}
	p.tp.scratch = malloc((len < PT_SNAP_MAX_LINE ? len : PT_SNAP_MAX_LINE) + 3);
	if (!p.tp.scratch)
		return pt_tf_fail(&p.tp, "out of memory");
	p.tp.lineno = 0;
	while (pos < len) {
		const char *s = buf + pos, *nl;
		size_t rest = len - pos, n;
		int has_nl = 1;

		p.tp.lineno++;
		if (p.ended) {
			pt_tf_fail(&p.tp, "data after the end line");
			goto out;
		}
		nl = memchr(s, '\n', rest < PT_SNAP_MAX_LINE + 1 ? rest : PT_SNAP_MAX_LINE + 1);
		if (nl) {
			n = (size_t)(nl - s);
		} else if (rest > PT_SNAP_MAX_LINE) {
			pt_tf_fail(&p.tp, "line longer than 1 MiB");
			goto out;
		} else {
			n = rest;
			has_nl = 0;
		}
		pos += n + (size_t)has_nl;
		if (memchr(s, '\0', n)) {
			pt_tf_fail(&p.tp, "NUL byte");
			goto out;
		}
		/* Only the end line may lack its newline; any other line
		 * without one was cut short. */
		if (!has_nl && (n < 4 || memcmp(s, "end\t", 4))) {
			pt_tf_fail(&p.tp, "truncated (no end line)");
			goto out;
		}
		if (n && s[n - 1] == '\r') {
			pt_tf_fail(&p.tp, "carriage return at end of line (line ends must be LF)");
			goto out;
		}
		if ((p.tp.lineno == 1 ? snap_magic(&p, s, n) : snap_line(&p, s, n)) < 0)
			goto out;
	}
	if (!p.ended) {
		p.tp.lineno++;
		pt_tf_fail(&p.tp, "truncated (no end line)");
		goto out;
	}
	ret = 0;
out:
	free(p.tp.scratch);
	return ret;
}

int pt_snap_sniff(const char *buf, size_t len)
{
	return len >= PT_SNAP_HEAD_LEN && !memcmp(buf, PT_SNAP_HEAD, PT_SNAP_HEAD_LEN);
}

/* ---------------------------------------------------------------------------
 * Writing
 */

/* Writes s[0..n) percent-escaped: '%', control bytes and DEL as %XX, every
 * other byte as is.  Errors surface through ferror(f). */
static void snap_put(FILE *f, const char *s, size_t n)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != 0x7f && c != '%')
			continue;
		fwrite(s + run, 1, i - run, f);
		fprintf(f, "%%%02X", c);
		run = i + 1;
	}
	fwrite(s + run, 1, n - run, f);
}

static void snap_put_str(FILE *f, const char *s)
{
	if (s)
		snap_put(f, s, strlen(s));
}

/* A tag's four bytes, first character first. */
static void snap_put_tag(FILE *f, uint32_t tag)
{
	char b[4] = {(char)(tag & 0xff), (char)(tag >> 8 & 0xff), (char)(tag >> 16 & 0xff),
	             (char)(tag >> 24)};

	snap_put(f, b, sizeof(b));
}

/* Why v cannot be written so that it reads back identically, or NULL. */
static const char *snap_check_view(const struct pt_view *v)
{
	size_t i;

	if (v->pid <= 0)
		return "pid is not positive";
	if (v->taken_ns < 0 || v->created_ns < 0)
		return "negative time stamp";
	for (i = 0; i < v->nrows; i++) {
		const struct pt_row *r = &v->rows[i];

		if (r->pool >= SNAP_NCLASSES)
			return "a row has an unknown pool";
		if (r->nfrees > r->nallocs || r->bytes_freed > r->bytes_alloc)
			return "a row has inconsistent counters";
	}
	return NULL;
}

/* The canonical text of v. */
static void snap_emit(FILE *f, const struct pt_view *v)
{
	size_t i;

	fprintf(f, "%s %d\npid %" PRId32 "\nuid %" PRIu32 "\ncommand ", PT_SNAP_MAGIC,
	        PT_SNAP_VERSION, v->pid, v->uid);
	snap_put(f, v->comm, strnlen(v->comm, sizeof(v->comm) - 1));
	fprintf(f,
	        "\ntaken %" PRId64 "\ncreated %" PRId64 "\nstart_ticks %" PRIu64 "\nmisuse %" PRIu64
	        "\n",
	        v->taken_ns, v->created_ns, v->start_ticks, v->nmisuse);
	for (i = 0; i < v->ndescs; i++) {
		fputs("desc\t", f);
		snap_put_tag(f, v->descs[i].tag);
		fputc('\t', f);
		snap_put_str(f, v->descs[i].binary);
		fputc('\t', f);
		snap_put_str(f, v->descs[i].desc);
		fputc('\n', f);
	}
	for (i = 0; i < v->nrows; i++) {
		const struct pt_row *r = &v->rows[i];

		fputs("site\t", f);
		snap_put_tag(f, r->tag);
		fprintf(f,
		        "\t%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu32 "\t",
		        snap_pools[r->pool], r->nallocs, r->nfrees, r->bytes_alloc, r->bytes_freed,
		        r->line);
		snap_put_str(f, r->file);
		fputc('\t', f);
		snap_put_str(f, r->func);
		fputc('\t', f);
		snap_put_str(f, r->module);
		fputc('\n', f);
	}
	fprintf(f, "end\t%zu\t%zu\n", v->nrows, v->ndescs);
}

/* fsync of the directory holding path, so the rename itself survives a
 * crash.  Best effort: the snapshot is already complete either way. */
static void snap_sync_dir(const char *tmp, size_t dlen)
{
	char *dir = strndup(tmp, dlen ? dlen : 1);
	int fd;

	if (!dir)
		return;
	if (!dlen)
		dir[0] = '.';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

/* Writes v to path atomically: a temporary file beside it (mkstemp, so mode
 * 0600), fflush, fsync, rename.  On any failure the temporary file is
 * removed, path is untouched, and err says "cannot write snapshot PATH: why". */
int pt_snap_write(const struct pt_view *v, const char *path, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
	const char *why = snap_check_view(v);
	char *tmp = NULL;
	FILE *f = NULL;
	int fd, e;

	if (why) {
		snprintf(err, errlen, "cannot write snapshot %s: invalid view: %s", path, why);
		return -1;
	}
	tmp = malloc(dlen + sizeof(PT_SNAP_TMP));
	if (!tmp) {
		e = ENOMEM;
		goto fail;
	}
	memcpy(tmp, path, dlen);
	memcpy(tmp + dlen, PT_SNAP_TMP, sizeof(PT_SNAP_TMP));
	fd = mkstemp(tmp);
	if (fd < 0) {
		e = errno;
		free(tmp);
		tmp = NULL;
		goto fail;
	}
	f = fdopen(fd, "w");
	if (!f) {
		e = errno;
		close(fd);
		goto fail;
	}
	errno = 0;
	snap_emit(f, v);
	if (fflush(f) != 0 || ferror(f)) {
		e = errno ? errno : EIO;
		goto fail;
	}
	if (fsync(fileno(f)) != 0) {
		e = errno;
		goto fail;
	}
	e = fclose(f) != 0 ? errno : 0;
	f = NULL;
	if (e || rename(tmp, path) != 0) {
		e = e ? e : errno;
		goto fail;
	}
	snap_sync_dir(tmp, dlen);
	free(tmp);
	return 0;
fail:
	if (f)
		fclose(f);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	snprintf(err, errlen, "cannot write snapshot %s: %s", path, strerror(e));
	return -1;
}

/* ---------------------------------------------------------------------------
 * Reading a file
 */

/* Reads path and parses it into v.  Errors: "cannot read snapshot PATH: why"
 * for a file that cannot be read, else pt_snap_parse's "PATH:LINE: why". */
int pt_snap_read(struct pt_view *v, const char *path, char *err, size_t errlen)
{
	const char *why;
	char *buf;
	size_t len;
	int ret;

	if (pt_read_file(path, PT_SNAP_MAX_FILE, &buf, &len, &why) < 0) {
		if (why && why[0] == 't') /* "too large" */
			why = "larger than 256 MiB";
		snprintf(err, errlen, "cannot read snapshot %s: %s", path,
		         why ? why : strerror(errno));
		return -1;
	}
	ret = pt_snap_parse(v, buf, len, path, err, errlen);
	free(buf);
	return ret;
}
