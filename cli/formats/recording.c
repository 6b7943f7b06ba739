/*
 * recording.c - writing recordings (docs/recording-format.md); reading them
 * is recording_read.c.
 *
 * The sites seen so far live in a view (their keys and the counters last
 * written) with a hash index on the key, so a sample costs one pass over
 * the new view's rows.  Each sample is formatted into memory and appended
 * with one write, then fdatasync'd: after a crash the file is a run of
 * complete samples, plus at most one cut short at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recording.h"

/* ---------------------------------------------------------------------------
 * Writing
 */

struct pt_rec_writer {
	int fd;
	char *path;
	struct pt_view known; /* sites (rows, last counters written) and descs written */
	uint32_t *index;      /* hash of site keys: row index + 1, 0 = empty */
	size_t index_cap;     /* a power of two, more than twice known.nrows */
	uint64_t (*cur)[4];   /* per site, the sums of the sample being built */
	size_t cur_cap;
	int64_t last_taken;
	size_t nsamples;
};

static uint64_t rec_hash_str(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return (h ^ 0xff) * 0x100000001b3ull;
}

static uint64_t rec_hash(const struct pt_row *r)
{
	uint64_t h = 0xcbf29ce484222325ull;

	h = (h ^ r->tag) * 0x100000001b3ull;
	h = (h ^ r->pool) * 0x100000001b3ull;
	h = (h ^ r->line) * 0x100000001b3ull;
	return rec_hash_str(rec_hash_str(rec_hash_str(h, r->file), r->func), r->module);
}

/* Equal strings, NULL standing for "" as it does in a view. */
static int rec_streq(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

/* Two rows count the same site: tag, pool, line, file, function, module. */
static int rec_same(const struct pt_row *a, const struct pt_row *b)
{
	return a->tag == b->tag && a->pool == b->pool && a->line == b->line &&
	       rec_streq(a->file, b->file) && rec_streq(a->func, b->func) &&
	       rec_streq(a->module, b->module);
}

/* The slot of r's key in the index: the one holding it or the empty one
 * where it goes. */
static uint32_t *rec_slot(struct pt_rec_writer *w, const struct pt_row *r)
{
	size_t mask = w->index_cap - 1, i = (size_t)rec_hash(r) & mask;

	while (w->index[i] && !rec_same(&w->known.rows[w->index[i] - 1], r))
		i = (i + 1) & mask;
	return &w->index[i];
}

/* Keeps the index under half full and cur as long as the site list. */
static int rec_reserve(struct pt_rec_writer *w, size_t nsites)
{
	if (nsites * 2 >= w->index_cap) {
		size_t cap = w->index_cap ? w->index_cap : 64;
		uint32_t *old = w->index;
		size_t oldcap = w->index_cap;

		while (nsites * 2 >= cap)
			cap *= 2;
		if (!(w->index = calloc(cap, sizeof(*w->index)))) {
			w->index = old;
			return -1;
		}
		w->index_cap = cap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i])
				*rec_slot(w, &w->known.rows[old[i] - 1]) = old[i];
		free(old);
	}
	if (nsites > w->cur_cap) {
		size_t cap = nsites * 2;
		void *p = realloc(w->cur, cap * sizeof(*w->cur));

		if (!p)
			return -1;
		w->cur = p;
		w->cur_cap = cap;
	}
	return 0;
}

/* s percent-escaped: '%', control bytes and DEL as %XX. */
static void rec_put(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '%')
			fprintf(f, "%%%02X", c);
		else
			fputc(c, f);
	}
}

static void rec_put_str(FILE *f, const char *s)
{
	rec_put(f, s ? s : "", s ? strlen(s) : 0);
}

static void rec_put_tag(FILE *f, uint32_t tag)
{
	char b[4] = {(char)(tag & 0xff), (char)(tag >> 8 & 0xff), (char)(tag >> 16 & 0xff),
	             (char)(tag >> 24)};

	rec_put(f, b, 4);
}

/* Writes buf[0..len) with as few writes as the kernel allows, then syncs. */
static int rec_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return fdatasync(fd);
}

static int rec_werr(struct pt_rec_writer *w, const char *path, int e, char *err, size_t errlen)
{
	snprintf(err, errlen, "cannot write recording %s: %s", w ? w->path : path, strerror(e));
	return -1;
}

/* Formats with open_memstream and appends the result in one write.  The
 * caller's emit fills the stream. */
static int rec_emit(struct pt_rec_writer *w, void (*emit)(FILE *, void *), void *arg, char *err,
                    size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int e = 0;

	if (!f)
		return rec_werr(w, NULL, errno, err, errlen);
	emit(f, arg);
	if (ferror(f))
		e = ENOMEM;
	if (fclose(f) != 0 && !e)
		e = errno ? errno : ENOMEM;
	if (!e && rec_write_all(w->fd, buf, len) != 0)
		e = errno ? errno : EIO;
	free(buf);
	return e ? rec_werr(w, NULL, e, err, errlen) : 0;
}

struct rec_head {
	const struct pt_view *v;
	int64_t interval_us;
};

static void rec_emit_head(FILE *f, void *arg)
{
	const struct rec_head *h = arg;

	if (h->v->kernel_format) { /* the kernel (allocinfo.h): no process */
		fprintf(f, "%s %d\nkernel %s ", PT_REC_MAGIC, PT_REC_VERSION, h->v->kernel_format);
		for (const char *c = h->v->kernel_source; *c; c++)
			fputc((unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c, f);
		fprintf(f, "\nuid %" PRIu32 "\ncommand ", h->v->uid);
	} else {
		fprintf(f, "%s %d\npid %" PRId32 "\nuid %" PRIu32 "\ncommand ", PT_REC_MAGIC,
		        PT_REC_VERSION, h->v->pid, h->v->uid);
	}
	rec_put(f, h->v->comm, strnlen(h->v->comm, sizeof(h->v->comm) - 1));
	fprintf(f, "\ncreated %" PRId64 "\nstart_ticks %" PRIu64 "\ninterval_us %" PRId64 "\n",
	        h->v->created_ns < 0 ? 0 : h->v->created_ns, h->v->start_ticks, h->interval_us);
}

struct pt_rec_writer *pt_rec_create(const char *path, const struct pt_view *v, int64_t interval_us,
                                    char *err, size_t errlen)
{
	struct pt_rec_writer *w = calloc(1, sizeof(*w));
	struct rec_head h = {v, interval_us < 0 ? 0 : interval_us};

	if (!w || !(w->path = strdup(path))) {
		free(w);
		rec_werr(NULL, path, ENOMEM, err, errlen);
		return NULL;
	}
	if (v->pid <= 0 && !v->kernel_format) {
		snprintf(err, errlen, "cannot write recording %s: pid is not positive", path);
		goto fail;
	}
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
	if (w->fd < 0) {
		rec_werr(w, NULL, errno, err, errlen);
		goto fail;
	}
	pt_view_init(&w->known);
	if (rec_emit(w, rec_emit_head, &h, err, errlen) == 0)
		return w;
	close(w->fd);
fail:
	free(w->path);
	free(w);
	return NULL;
}

struct rec_sample {
	struct pt_rec_writer *w;
	const struct pt_view *v;
	size_t nsites_before; /* sites defined by earlier samples */
	const struct pt_vdesc **newdescs;
	size_t nnewdescs, nlines;
};

/* One sample: the sample line, new descriptions, new sites with their
 * counters, then counters that changed on known sites. */
static void rec_emit_sample(FILE *f, void *arg)
{
	struct rec_sample *s = arg;
	struct pt_rec_writer *w = s->w;

	fprintf(f, "sample\t%" PRId64 "\t%zu\n", w->last_taken, s->nlines);
	for (size_t i = 0; i < s->nnewdescs; i++) {
		fputs("desc\t", f);
		rec_put_tag(f, s->newdescs[i]->tag);
		fputc('\t', f);
		rec_put_str(f, s->newdescs[i]->binary);
		fputc('\t', f);
		rec_put_str(f, s->newdescs[i]->desc);
		fputc('\n', f);
	}
	for (size_t i = 0; i < w->known.nrows; i++) {
		const struct pt_row *r = &w->known.rows[i];
		const uint64_t *c = w->cur[i];

		if (i >= s->nsites_before) {
			fputs("site\t", f);
			rec_put_tag(f, r->tag);
			fprintf(f,
			        "\t%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu32
			        "\t",
			        pt_pool_word[r->pool], c[0], c[1], c[2], c[3], r->line);
			rec_put_str(f, r->file);
			fputc('\t', f);
			rec_put_str(f, r->func);
			fputc('\t', f);
			rec_put_str(f, r->module);
			fputc('\n', f);
		} else if (c[0] != r->nallocs || c[1] != r->nfrees || c[2] != r->bytes_alloc ||
		           c[3] != r->bytes_freed) {
			fprintf(f,
			        "count\t%zu\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\n",
			        i, c[0], c[1], c[2], c[3]);
		}
	}
}

static int rec_desc_known(const struct pt_view *k, const struct pt_vdesc *d)
{
	for (size_t i = 0; i < k->ndescs; i++)
		if (k->descs[i].tag == d->tag && rec_streq(k->descs[i].binary, d->binary) &&
		    rec_streq(k->descs[i].desc, d->desc))
			return 1;
	return 0;
}

/* Every row must name a known pool and have frees <= allocations: 0, or -1
 * with the message in err. */
static int rec_check_rows(const struct pt_rec_writer *w, const struct pt_view *v, char *err,
                          size_t errlen)
{
	for (size_t i = 0; i < v->nrows; i++)
		if (v->rows[i].pool > 3 || v->rows[i].nfrees > v->rows[i].nallocs ||
		    v->rows[i].bytes_freed > v->rows[i].bytes_alloc) {
			snprintf(err, errlen, "cannot write recording %s: a row has %s", w->path,
			         v->rows[i].pool > 3 ? "an unknown pool" : "inconsistent counters");
			return -1;
		}
	return 0;
}

/* v's rows summed per site into w->cur, new sites added to w->known with
 * counters of 0 until written: 0, or -1 with the message in err. */
static int rec_sum_rows(struct pt_rec_writer *w, const struct pt_view *v, char *err,
                        size_t errlen)
{
	/* No site known yet (every sample so far empty): cur is still NULL,
	 * and memset(NULL, 0, 0) is undefined. */
	if (w->known.nrows)
		memset(w->cur, 0, w->known.nrows * sizeof(*w->cur));
	for (size_t i = 0; i < v->nrows; i++) {
		const struct pt_row *r = &v->rows[i];
		uint32_t *slot = rec_slot(w, r);
		uint64_t *c;

		if (!*slot) { /* a new site: its counters start at 0 until written */
			struct pt_row z = *r;

			z.nallocs = z.nfrees = z.bytes_alloc = z.bytes_freed = 0;
			if (pt_view_add_row(&w->known, &z) != 0)
				return rec_werr(w, NULL, ENOMEM, err, errlen);
			*slot = (uint32_t)w->known.nrows;
			memset(w->cur[*slot - 1], 0, sizeof(w->cur[0]));
		}
		c = w->cur[*slot - 1];
		/* Rows that share a site are summed.  A sum that does not fit
		 * could leave frees above allocations: refused, never written. */
		if (c[0] + r->nallocs < c[0] || c[2] + r->bytes_alloc < c[2]) {
			snprintf(err, errlen,
			         "cannot write recording %s: the counters of a site overflow",
			         w->path);
			return -1;
		}
		c[0] += r->nallocs;
		c[1] += r->nfrees;
		c[2] += r->bytes_alloc;
		c[3] += r->bytes_freed;
	}
	return 0;
}

/* The descriptions of s->v not written yet, added to w->known and listed
 * in s->newdescs: 0, or -1 out of memory. */
static int rec_new_descs(struct rec_sample *s, size_t ndescs_before)
{
	struct pt_rec_writer *w = s->w;
	const struct pt_view *v = s->v;

	for (size_t i = 0; i < v->ndescs; i++)
		if (!rec_desc_known(&w->known, &v->descs[i])) {
			if (pt_view_add_desc(&w->known, v->descs[i].tag, v->descs[i].binary,
			                     v->descs[i].desc) != 0)
				return -1;
			s->newdescs[s->nnewdescs++] = &w->known.descs[w->known.ndescs - 1];
		}
	/* newdescs point into known.descs, which may have moved while growing. */
	for (size_t i = 0; i < s->nnewdescs; i++)
		s->newdescs[i] = &w->known.descs[ndescs_before + i];
	return 0;
}

/* The sample's lines after its own: new descriptions, new sites, and
 * known sites whose counters changed. */
static size_t rec_count_lines(const struct rec_sample *s)
{
	const struct pt_rec_writer *w = s->w;
	size_t n = s->nnewdescs;

	for (size_t i = 0; i < w->known.nrows; i++) {
		const struct pt_row *r = &w->known.rows[i];
		const uint64_t *c = w->cur[i];

		n += i >= s->nsites_before || c[0] != r->nallocs || c[1] != r->nfrees ||
		     c[2] != r->bytes_alloc || c[3] != r->bytes_freed;
	}
	return n;
}

/* The sample as it will be written, in s and w->cur: 0, or -1 with the
 * message in err. */
static int rec_build(struct rec_sample *s, size_t ndescs_before, char *err, size_t errlen)
{
	struct pt_rec_writer *w = s->w;

	if (!(s->newdescs = calloc(s->v->ndescs + 1, sizeof(*s->newdescs))) ||
	    rec_reserve(w, w->known.nrows + s->v->nrows) != 0)
		return rec_werr(w, NULL, ENOMEM, err, errlen);
	if (rec_sum_rows(w, s->v, err, errlen) != 0)
		return -1;
	if (rec_new_descs(s, ndescs_before) != 0)
		return rec_werr(w, NULL, ENOMEM, err, errlen);
	s->nlines = rec_count_lines(s);
	return 0;
}

/* A sample not written: what it defined is forgotten. */
static void rec_forget(struct pt_rec_writer *w, size_t nsites_before, size_t ndescs_before)
{
	w->known.nrows = nsites_before;
	w->known.ndescs = ndescs_before;
	/* Rebuilt rather than patched: a probe chain must have no holes. */
	memset(w->index, 0, w->index_cap * sizeof(*w->index));
	for (size_t i = 0; i < w->known.nrows; i++)
		*rec_slot(w, &w->known.rows[i]) = (uint32_t)(i + 1);
}

int pt_rec_append(struct pt_rec_writer *w, const struct pt_view *v, char *err, size_t errlen)
{
	struct rec_sample s = {.w = w, .v = v, .nsites_before = w->known.nrows};
	size_t ndescs_before = w->known.ndescs;
	int ret;

	if (rec_check_rows(w, v, err, errlen) != 0)
		return -1;
	if ((ret = rec_build(&s, ndescs_before, err, errlen)) == 0) {
		if (v->taken_ns > w->last_taken)
			w->last_taken = v->taken_ns;
		ret = rec_emit(w, rec_emit_sample, &s, err, errlen);
	}
	if (ret == 0) { /* written: the counters last written are the sample's */
		for (size_t i = 0; i < w->known.nrows; i++) {
			struct pt_row *r = &w->known.rows[i];

			r->nallocs = w->cur[i][0];
			r->nfrees = w->cur[i][1];
			r->bytes_alloc = w->cur[i][2];
			r->bytes_freed = w->cur[i][3];
		}
		w->nsamples++;
	} else if (w->index) {
		rec_forget(w, s.nsites_before, ndescs_before);
	}
	free(s.newdescs);
	return ret;
}

size_t pt_rec_nsamples(const struct pt_rec_writer *w)
{
	return w->nsamples;
}

int pt_rec_close(struct pt_rec_writer *w, char *err, size_t errlen)
{
	int ret = 0;

	if (!w)
		return 0;
	if (close(w->fd) != 0)
		ret = rec_werr(w, NULL, errno, err, errlen);
	pt_view_free(&w->known);
	free(w->index);
	free(w->cur);
	free(w->path);
	free(w);
	return ret;
}
