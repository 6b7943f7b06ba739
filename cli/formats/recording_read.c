/*
 * recording_read.c - reading recordings (docs/recording-format.md), and
 * replaying them sample by sample.
 *
 * One pass over one buffer.  Before parsing a sample it checks that all the
 * sample's lines are there; a block that runs into the end of the file is
 * the one sample a killed recorder can leave behind, so it is dropped with a
 * note instead of refused.  Everything else must follow the grammar
 * exactly, and every byte is looked at a bounded number of times.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textfields.h"
#include "prochdr.h"
#include "readfile.h"
#include "recording.h"

#define REC_MAX_FILE ((size_t)1 << 30)
#define REC_MAX_LINE ((size_t)1 << 20)
#define REC_HEAD     PT_REC_MAGIC " "
#define REC_HEAD_LEN (sizeof(REC_HEAD) - 1)

/* ---------------------------------------------------------------------------
 * Reading
 */

/* The header's keys (prochdr.h), and those a recording requires; one of
 * the kernel (allocinfo.h) names no process, so it needs no pid. */
#define REC_KEYS                                                                                   \
	(PT_PH_BIT(PT_PH_PID) | PT_PH_BIT(PT_PH_UID) | PT_PH_BIT(PT_PH_COMMAND) |                  \
	 PT_PH_BIT(PT_PH_CREATED) | PT_PH_BIT(PT_PH_START_TICKS) | PT_PH_BIT(PT_PH_INTERVAL_US) |  \
	 PT_PH_BIT(PT_PH_KERNEL))
#define REC_REQUIRED (PT_PH_BIT(PT_PH_PID) | PT_PH_BIT(PT_PH_UID) | PT_PH_BIT(PT_PH_COMMAND))

struct rec_parser {
	struct pt_tf_parser tp; /* where, for messages; decoded strings */
	struct pt_recording *r;
	struct pt_ph hdr; /* the header lines */
	uint64_t pending; /* lines left in the current sample */
	int insample;     /* a sample has been read: no header line comes now */
};

/* Four counters, which must be consistent: frees <= allocs. */
static int rec_counters(struct rec_parser *p, const struct pt_tf *f, uint64_t c[4])
{
	static const char *const what[4] = {"nallocs", "nfrees", "bytes_alloc", "bytes_freed"};

	for (int i = 0; i < 4; i++)
		if (pt_tf_num(&p->tp, f[i], what[i], 0, UINT64_MAX, &c[i]) < 0)
			return -1;
	if (c[1] > c[0])
		return pt_tf_fail(&p->tp, "inconsistent counters: nfrees %" PRIu64 " > nallocs %" PRIu64,
		                c[1], c[0]);
	if (c[3] > c[2])
		return pt_tf_fail(
		    &p->tp, "inconsistent counters: bytes_freed %" PRIu64 " > bytes_alloc %" PRIu64,
		    c[3], c[2]);
	return 0;
}

static int rec_change(struct rec_parser *p, uint32_t site, const uint64_t c[4])
{
	struct pt_recording *r = p->r;
	struct pt_row *row = &r->sites.rows[site];

	if (r->nchanges == r->changes_cap) {
		size_t cap = r->changes_cap ? r->changes_cap * 2 : 256;
		void *q = realloc(r->changes, cap * sizeof(*r->changes));

		if (!q)
			return pt_tf_fail(&p->tp, "out of memory");
		r->changes = q;
		r->changes_cap = cap;
	}
	r->changes[r->nchanges++] =
	    (struct pt_rec_change){(uint32_t)(r->nsamples - 1), site, c[0], c[1], c[2], c[3]};
	row->nallocs = c[0];
	row->nfrees = c[1];
	row->bytes_alloc = c[2];
	row->bytes_freed = c[3];
	return 0;
}

/* "site TAG POOL NALLOCS NFREES BYTES_ALLOC BYTES_FREED LINE FILE FUNC
 * MODULE": defines the next site, with its counters at this sample. */
static int rec_site(struct rec_parser *p, const struct pt_tf *f)
{
	struct pt_row row = {0};
	char q[PT_TF_QUOTE_SIZE];
	uint64_t c[4], line;
	size_t off = 0;

	if (pt_tf_tag(&p->tp, f[1], &row.tag) < 0)
		return -1;
	while (row.pool < 4 && (f[2].n != strlen(pt_pool_word[row.pool]) ||
	                        memcmp(f[2].s, pt_pool_word[row.pool], f[2].n)))
		row.pool++;
	if (row.pool == 4)
		return pt_tf_fail(&p->tp, "unknown pool '%s' (paged, nonpaged, refs or handles)",
		                pt_tf_quote(f[2].s, f[2].n, q));
	if (rec_counters(p, f + 3, c) < 0 || pt_tf_num(&p->tp, f[7], "line", 0, UINT32_MAX, &line) < 0)
		return -1;
	if (p->r->sites.nrows >= UINT32_MAX)
		return pt_tf_fail(&p->tp, "too many sites");
	row.line = (uint32_t)line;
	if (!(row.file = pt_tf_str(&p->tp, f[8], "file", &off)) ||
	    !(row.func = pt_tf_str(&p->tp, f[9], "func", &off)) ||
	    !(row.module = pt_tf_str(&p->tp, f[10], "module", &off)))
		return -1;
	if (pt_view_add_row(&p->r->sites, &row) != 0)
		return pt_tf_fail(&p->tp, "out of memory");
	return rec_change(p, (uint32_t)(p->r->sites.nrows - 1), c);
}

/* "count SITE NALLOCS NFREES BYTES_ALLOC BYTES_FREED": a known site's new
 * counters. */
static int rec_count(struct rec_parser *p, const struct pt_tf *f)
{
	uint64_t site, c[4];

	if (p->r->sites.nrows == 0)
		return pt_tf_fail(&p->tp, "count line before any site line");
	if (pt_tf_num(&p->tp, f[1], "site", 0, p->r->sites.nrows - 1, &site) < 0 ||
	    rec_counters(p, f + 2, c) < 0)
		return -1;
	return rec_change(p, (uint32_t)site, c);
}

/* "desc TAG BINARY DESCRIPTION". */
static int rec_desc(struct rec_parser *p, const struct pt_tf *f)
{
	const char *binary, *desc;
	uint32_t tag;
	size_t off = 0;

	if (pt_tf_tag(&p->tp, f[1], &tag) < 0 || !(binary = pt_tf_str(&p->tp, f[2], "binary", &off)) ||
	    !(desc = pt_tf_str(&p->tp, f[3], "description", &off)))
		return -1;
	if (pt_view_add_desc(&p->r->sites, tag, binary, desc) != 0)
		return pt_tf_fail(&p->tp, "out of memory");
	return 0;
}

/* A line inside a sample: desc, site or count. */
static int rec_data_line(struct rec_parser *p, const char *s, size_t n)
{
	static const struct {
		const char *type;
		size_t nfields;
		int (*parse)(struct rec_parser *p, const struct pt_tf *f);
	} types[] = {{"desc", 4, rec_desc}, {"site", 11, rec_site}, {"count", 6, rec_count}};
	struct pt_tf f[11];
	char q[PT_TF_QUOTE_SIZE];
	size_t k = 0, nf;

	while (k < n && s[k] != '\t' && s[k] != ' ')
		k++;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (k != strlen(types[i].type) || memcmp(s, types[i].type, k))
			continue;
		if (k < n && s[k] == ' ')
			return pt_tf_fail(&p->tp, "fields of %s lines must be separated by TABs",
			                types[i].type);
		nf = pt_tf_split(s, n, f, types[i].nfields);
		if (nf != types[i].nfields)
			return pt_tf_fail(&p->tp, "wrong field count for %s: %zu (expected %zu)",
			                types[i].type, nf, types[i].nfields);
		return types[i].parse(p, f);
	}
	if (k == 6 && !memcmp(s, "sample", 6))
		return pt_tf_fail(&p->tp, "sample line inside a sample (its line count is wrong)");
	return pt_tf_fail(&p->tp, "unknown line type '%s' in a sample", pt_tf_quote(s, k, q));
}

/* "sample TAKEN NLINES". */
static int rec_sample(struct rec_parser *p, const char *s, size_t n, uint64_t *nlines)
{
	struct pt_recording *r = p->r;
	struct pt_tf f[3];
	uint64_t taken;
	int64_t last = r->nsamples ? r->taken[r->nsamples - 1] : 0;

	if (n > 6 && s[6] == ' ')
		return pt_tf_fail(&p->tp, "fields of sample lines must be separated by TABs");
	if (pt_tf_split(s, n, f, 3) != 3)
		return pt_tf_fail(&p->tp, "wrong field count for sample: %zu (expected 3)",
		                pt_tf_split(s, n, f, 3));
	if (pt_tf_num(&p->tp, f[1], "sample time", (uint64_t)last, INT64_MAX, &taken) < 0 ||
	    pt_tf_num(&p->tp, f[2], "sample line count", 0, UINT64_MAX, nlines) < 0)
		return -1;
	if (r->nsamples >= UINT32_MAX)
		return pt_tf_fail(&p->tp, "too many samples");
	if (r->nsamples == r->taken_cap) {
		size_t cap = r->taken_cap ? r->taken_cap * 2 : 256;
		void *q = realloc(r->taken, cap * sizeof(*r->taken));

		if (!q)
			return pt_tf_fail(&p->tp, "out of memory");
		r->taken = q;
		r->taken_cap = cap;
	}
	r->taken[r->nsamples] = (int64_t)taken; /* counted once known complete */
	return 0;
}

/* The line at buf[pos..): its length in *n; 1 if it ends in LF, 0 if the
 * buffer ends first; -1 if it is longer than REC_MAX_LINE. */
static int rec_next_line(const char *buf, size_t len, size_t pos, size_t *n)
{
	size_t rest = len - pos;
	const char *nl = memchr(buf + pos, '\n', rest < REC_MAX_LINE + 1 ? rest : REC_MAX_LINE + 1);

	if (nl) {
		*n = (size_t)(nl - (buf + pos));
		return 1;
	}
	if (rest > REC_MAX_LINE)
		return -1;
	*n = rest;
	return 0;
}

/* Does the sample starting at pos have its nlines lines, each ended by an
 * LF, before the buffer ends?  Looks at each byte once. */
static int rec_complete(const char *buf, size_t len, size_t pos, uint64_t nlines)
{
	for (; nlines; nlines--) {
		const char *nl = pos < len ? memchr(buf + pos, '\n', len - pos) : NULL;

		if (!nl)
			return 0;
		pos = (size_t)(nl - buf) + 1;
	}
	return 1;
}

/* One line's framing checks: length, NUL, CR, empty. */
static int rec_check_line(struct rec_parser *p, const char *s, size_t n)
{
	if (memchr(s, '\0', n))
		return pt_tf_fail(&p->tp, "NUL byte");
	if (n && s[n - 1] == '\r')
		return pt_tf_fail(&p->tp, "carriage return at end of line (line ends must be LF)");
	if (n == 0)
		return pt_tf_fail(&p->tp, "empty line");
	return 0;
}

/* The first line's version, after the magic: "pooltag-recording N". */
static int rec_version(struct rec_parser *p, const char *s, size_t n)
{
	struct pt_tf v = {s + REC_HEAD_LEN, n - REC_HEAD_LEN};
	uint64_t version;
	char q[PT_TF_QUOTE_SIZE];

	if (pt_tf_num(&p->tp, v, "version", 0, UINT64_MAX, &version) < 0)
		return pt_tf_fail(&p->tp, "bad recording version '%s'", pt_tf_quote(v.s, v.n, q));
	if (version != PT_REC_VERSION)
		return pt_tf_fail(&p->tp, "recording version %" PRIu64 ", this pooltag reads version %d",
		                  version, PT_REC_VERSION);
	return 0;
}

/* A line that is neither a header's nor in a sample, once samples began. */
static int rec_stray(struct rec_parser *p, const char *s, size_t n)
{
	char q[PT_TF_QUOTE_SIZE];
	size_t k = 0;

	while (k < n && s[k] != '\t' && s[k] != ' ')
		k++;
	return pt_tf_fail(&p->tp, "'%s' line outside a sample (a sample's line count is wrong)",
	                  pt_tf_quote(s, k, q));
}

/* One line s[0..n), its framing checked; buf[pos..len) follows it.  0; 1
 * if it starts a sample that runs into the end of the buffer; -1 with the
 * message in p. */
static int rec_line(struct rec_parser *p, const char *s, size_t n, const char *buf, size_t len,
                    size_t pos)
{
	struct pt_recording *r = p->r;

	if (p->tp.lineno == 1)
		return rec_version(p, s, n);
	if (p->pending) {
		if (rec_data_line(p, s, n) < 0)
			return -1;
		p->pending--;
		return 0;
	}
	if (n >= 6 && !memcmp(s, "sample", 6) && (n == 6 || s[6] == '\t' || s[6] == ' ')) {
		if (pt_ph_check(&p->hdr, &p->tp) < 0 || rec_sample(p, s, n, &p->pending) < 0)
			return -1;
		if (!rec_complete(buf, len, pos, p->pending))
			return 1;
		p->insample = 1;
		r->sites.taken_ns = r->taken[r->nsamples++];
		return 0;
	}
	if (p->insample)
		return rec_stray(p, s, n);
	return pt_ph_line(&p->hdr, &p->tp, s, n) < 0 ? -1 : 0;
}

/* The last sample, cut short by the end of the buffer, dropped with a
 * note: its rows and descriptions were not parsed, so the view's state is
 * that of the last complete sample.  0. */
static int rec_cut(struct rec_parser *p)
{
	snprintf(p->r->note, sizeof(p->r->note),
	         "%s:%zu: last sample incomplete, ignored (%zu complete)", p->tp.name,
	         p->tp.lineno, p->r->nsamples);
	return 0;
}

/* Every line of buf[0..len), its magic checked: 0, or -1 with the message
 * in p. */
static int rec_lines(struct rec_parser *p, const char *buf, size_t len)
{
	size_t pos = 0, n;
	int rc;

	p->tp.lineno = 0;
	while (pos < len) {
		const char *s = buf + pos;
		int has_nl = rec_next_line(buf, len, pos, &n);

		p->tp.lineno++;
		if (has_nl < 0)
			return pt_tf_fail(&p->tp, "line longer than 1 MiB");
		if (!has_nl && pt_ph_complete(&p->hdr))
			return rec_cut(p); /* the last line, cut short */
		if (!has_nl)
			return pt_tf_fail(&p->tp, "truncated (the header is incomplete)");
		if (rec_check_line(p, s, n) < 0)
			return -1;
		pos += n + 1;
		if ((rc = rec_line(p, s, n, buf, len, pos)) != 0)
			return rc < 0 ? -1 : rec_cut(p);
	}
	return 0;
}

int pt_rec_parse(struct pt_recording *r, const char *buf, size_t len, const char *name, char *err,
                 size_t errlen)
{
	struct rec_parser p = {
	    .tp = {.name = name ? name : "(buffer)", .err = err},
	    .r = r,
	    .hdr = {.keys = REC_KEYS,
	            .required = REC_REQUIRED,
	            .v = &r->sites,
	            .interval_us = &r->interval_us},
	};
	int ret;

	p.tp.errlen = err ? errlen : 0;
	if (p.tp.errlen)
		err[0] = '\0';
	r->note[0] = '\0';
	p.tp.lineno = 1;
	if (len > REC_MAX_FILE)
		return pt_tf_fail(&p.tp, "recording larger than 1 GiB");
	if (len < REC_HEAD_LEN || memcmp(buf, REC_HEAD, REC_HEAD_LEN))
		return pt_tf_fail(&p.tp, len ? "not a pooltag recording"
		                        : "not a pooltag recording (empty file)");
	if (!(p.tp.scratch = malloc((len < REC_MAX_LINE ? len : REC_MAX_LINE) + 3)))
		return pt_tf_fail(&p.tp, "out of memory");
	ret = rec_lines(&p, buf, len);
	free(p.tp.scratch);
	return ret;
}

int pt_rec_read(struct pt_recording *r, const char *path, char *err, size_t errlen)
{
	const char *why;
	char *buf;
	size_t len;
	int ret;

	if (pt_read_file(path, REC_MAX_FILE, &buf, &len, &why) < 0) {
		if (why && why[0] == 't')
			why = "larger than 1 GiB";
		snprintf(err, errlen, "cannot read recording %s: %s", path,
		         why ? why : strerror(errno));
		return -1;
	}
	ret = pt_rec_parse(r, buf, len, path, err, errlen);
	free(buf);
	return ret;
}

void pt_rec_init(struct pt_recording *r)
{
	memset(r, 0, sizeof(*r));
	pt_view_init(&r->sites);
}

void pt_rec_free(struct pt_recording *r)
{
	pt_view_free(&r->sites);
	free(r->taken);
	free(r->changes);
	pt_rec_init(r);
}

int pt_rec_replay(const struct pt_recording *r, pt_rec_fn fn, void *ctx)
{
	struct pt_row *rows = malloc((r->sites.nrows + 1) * sizeof(*rows));
	size_t c = 0;
	int ret = 0;

	if (!rows)
		return -1;
	for (size_t i = 0; i < r->sites.nrows; i++) {
		rows[i] = r->sites.rows[i];
		rows[i].nallocs = rows[i].nfrees = rows[i].bytes_alloc = rows[i].bytes_freed = 0;
	}
	/* Sites are defined in order, each by its first change, so the sites
	 * of a sample are those up to the highest one changed so far. */
	for (size_t s = 0, nrows = 0; s < r->nsamples && !ret; s++) {
		for (; c < r->nchanges && r->changes[c].sample == s; c++) {
			const struct pt_rec_change *ch = &r->changes[c];
			struct pt_row *row = &rows[ch->site];

			row->nallocs = ch->nallocs;
			row->nfrees = ch->nfrees;
			row->bytes_alloc = ch->bytes_alloc;
			row->bytes_freed = ch->bytes_freed;
			if (ch->site >= nrows)
				nrows = ch->site + 1;
		}
		ret = fn(ctx, s, r->taken[s], rows, nrows);
	}
	free(rows);
	return ret;
}
