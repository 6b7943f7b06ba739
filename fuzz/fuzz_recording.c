/*
 * fuzz_recording.c - libFuzzer target for the recording reader, and the
 * trend analysis over whatever it accepts.
 *
 * Any bytes must parse or fail with one "NAME:LINE: reason" line.  What
 * parses must keep recording.h's promises (times never decrease, every
 * change names a sample and a defined site, counters consistent); the
 * trend of it must be computable; and replaying it through the writer and
 * reading that back must give the same totals at every sample.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recording.h"
#include "trend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct pt_recording *r)
{
	size_t defined = 0;

	for (size_t i = 1; i < r->nsamples; i++)
		if (r->taken[i] < r->taken[i - 1])
			abort();
	for (size_t i = 0; i < r->nchanges; i++) {
		const struct pt_rec_change *c = &r->changes[i];

		if (c->sample >= r->nsamples || (i && c->sample < r->changes[i - 1].sample) ||
		    c->site > defined || c->nfrees > c->nallocs || c->bytes_freed > c->bytes_alloc)
			abort();
		if (c->site == defined)
			defined++;
	}
	if (defined != r->sites.nrows)
		abort();
	for (size_t i = 0; i < r->sites.nrows; i++)
		if (!r->sites.rows[i].file || !r->sites.rows[i].func || !r->sites.rows[i].module ||
		    r->sites.rows[i].pool > 3)
			abort();
}

/* Per sample: the sums of every counter over all sites. */
struct totals {
	uint64_t (*t)[4];
	size_t n;
	struct pt_rec_writer *w; /* when re-writing */
	int overflow;
	const struct pt_recording *r;
};

static int sum(void *ctx, size_t s, int64_t taken, const struct pt_row *rows, size_t nrows)
{
	struct totals *t = ctx;
	uint64_t *u = t->t[s];
	char err[512];

	for (size_t i = 0; i < nrows; i++) {
		u[0] += rows[i].nallocs;
		u[1] += rows[i].nfrees;
		u[2] += rows[i].bytes_alloc;
		u[3] += rows[i].bytes_freed;
	}
	t->n = s + 1;
	if (t->w) {
		struct pt_view v = t->r->sites;

		v.rows = (struct pt_row *)rows;
		v.nrows = nrows;
		v.taken_ns = taken;
		if (pt_rec_append(t->w, &v, err, sizeof(err)) != 0) {
			/* Only sums of duplicated sites too large for a counter
			 * may be refused. */
			if (!strstr(err, "the counters of a site overflow"))
				abort();
			t->overflow = 1;
			return 1;
		}
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct pt_recording r, back;
	struct pt_trend *t;
	size_t nt;
	char err[512];

	if (!path[0])
		snprintf(path, sizeof(path), "%s/fuzz_recording.%d",
		         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
	pt_rec_init(&r);
	if (pt_rec_parse(&r, (const char *)data, size, "fuzz", err, sizeof(err)) != 0) {
		if (strncmp(err, "fuzz:", 5) || strchr(err, '\n'))
			abort();
		pt_rec_free(&r);
		return 0;
	}
	if (r.note[0] && (strncmp(r.note, "fuzz:", 5) || strchr(r.note, '\n')))
		abort();
	check(&r);
	if (pt_trend_compute(&r, 0, &t, &nt) != 0)
		abort();
	free(t);
	if (pt_trend_compute(&r, 1, &t, &nt) != 0 || nt != r.sites.nrows)
		abort();
	free(t);
	if (r.nsamples && r.nsamples <= 4096) {
		struct totals a = {calloc(r.nsamples, sizeof(*a.t)), 0, NULL, 0, &r};
		struct totals b = {calloc(r.nsamples, sizeof(*b.t)), 0, NULL, 0, &r};
		struct pt_rec_writer *w =
		    pt_rec_create(path, &r.sites, r.interval_us, err, sizeof(err));

		if (!w || !a.t || !b.t)
			abort();
		a.w = w;
		pt_rec_replay(&r, sum, &a);
		if (pt_rec_close(w, err, sizeof(err)) != 0)
			abort();
		pt_rec_init(&back);
		if (a.overflow)
			goto done;
		if (pt_rec_read(&back, path, err, sizeof(err)) != 0 || back.note[0] ||
		    back.nsamples != r.nsamples) {
			fprintf(stderr, "read back: %s\n", err);
			abort();
		}
		b.r = &back;
		pt_rec_replay(&back, sum, &b);
		if (a.n != b.n || memcmp(a.t, b.t, r.nsamples * sizeof(*a.t)) ||
		    memcmp(r.taken, back.taken, r.nsamples * sizeof(*r.taken)))
			abort();
	done:
		pt_rec_free(&back);
		free(a.t);
		free(b.t);
		unlink(path);
	}
	pt_rec_free(&r);
	return 0;
}
