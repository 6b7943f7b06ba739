/*
 * scrape.c - one scrape for `pooltag exporter` (see scrape.h).
 *
 * Each process's rows become groups: a label set and the values of the
 * families that share it (a tag and pool has six: outstanding count and
 * bytes, allocations, frees and their bytes).  Groups are keyed by their
 * rendered labels, sorted and merged, so that series stay unique whatever
 * the segment holds: two call sites on one line of one file, or strings
 * that differ only in bytes the escaping replaces, add up instead of
 * repeating a series (which would make Prometheus reject the scrape).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "expo.h"
#include "kscrape.h"
#include "procinfo.h"
#include "safestr.h"
#include "sampled.h"
#include "scrape.h"
#include "segfmt.h"
#include "view.h"

enum fam {
	F_OUT_ALLOCS, F_OUT_BYTES, F_ALLOCS, F_FREES, F_ALLOC_BYTES, F_FREED_BYTES,
	F_REFS_HELD, F_REFS_ACQUIRED, F_REFS_RELEASED,
	F_HANDLES_HELD, F_HANDLES_OPENED, F_HANDLES_CLOSED,
	F_MISUSE, F_START,
	F_SITE_OUT_ALLOCS, F_SITE_OUT_BYTES, F_SITE_ALLOCS, F_SITE_FREES,
	F_SITE_REFS_HELD, F_SITE_HANDLES_HELD,
	F_SAMPLED_BYTES, F_SAMPLED_BLOCKS,
	F_PROCESSES, F_SERIES, F_SKIPPED_PROCESSES, F_SKIPPED_SERIES, F_STALE, F_ERRORS,
	F_EXITED, F_DURATION,
	NFAMS
};

static const struct {
	const char *name;
	enum pt_expo_type type;
	const char *help;
} fam_defs[NFAMS] = {
	{"pooltag_outstanding_allocations", PT_EXPO_GAUGE,
	 "Blocks allocated and not freed, per process, tag and pool."},
	{"pooltag_outstanding_bytes", PT_EXPO_GAUGE,
	 "Bytes allocated and not freed, per process, tag and pool."},
	{"pooltag_allocations_total", PT_EXPO_COUNTER, "Allocations, per process, tag and pool."},
	{"pooltag_frees_total", PT_EXPO_COUNTER, "Frees, per process, tag and pool."},
	{"pooltag_allocated_bytes_total", PT_EXPO_COUNTER,
	 "Bytes allocated, per process, tag and pool."},
	{"pooltag_freed_bytes_total", PT_EXPO_COUNTER, "Bytes freed, per process, tag and pool."},
	{"pooltag_references_held", PT_EXPO_GAUGE,
	 "References held to objects of the tag's type, by the module that took them."},
	{"pooltag_references_acquired_total", PT_EXPO_COUNTER,
	 "References taken to objects of the tag's type, by the module that took them."},
	{"pooltag_references_released_total", PT_EXPO_COUNTER,
	 "Of those references, the ones released."},
	{"pooltag_handles_held", PT_EXPO_GAUGE,
	 "Handles open to objects of the tag's type, by the module that opened them."},
	{"pooltag_handles_opened_total", PT_EXPO_COUNTER,
	 "Handles opened to objects of the tag's type, by the module that opened them."},
	{"pooltag_handles_closed_total", PT_EXPO_COUNTER, "Of those handles, the ones closed."},
	{"pooltag_misuse_reports_total", PT_EXPO_COUNTER,
	 "Misuse the process reported: bad frees, tag mismatches, double frees."},
	{"pooltag_process_start_time_seconds", PT_EXPO_GAUGE,
	 "Unix time at which the process started exporting counters."},
	{"pooltag_site_outstanding_allocations", PT_EXPO_GAUGE,
	 "Blocks allocated and not freed, per call site, tag and pool."},
	{"pooltag_site_outstanding_bytes", PT_EXPO_GAUGE,
	 "Bytes allocated and not freed, per call site, tag and pool."},
	{"pooltag_site_allocations_total", PT_EXPO_COUNTER,
	 "Allocations, per call site, tag and pool."},
	{"pooltag_site_frees_total", PT_EXPO_COUNTER,
	 "Frees of blocks allocated at the call site, per tag and pool."},
	{"pooltag_site_references_held", PT_EXPO_GAUGE,
	 "References held that were taken at the call site."},
	{"pooltag_site_handles_held", PT_EXPO_GAUGE, "Handles open that were opened at the call site."},
	{"pooltag_sampled_live_bytes", PT_EXPO_GAUGE,
	 "Estimated bytes live through a sampled call path (an estimate from sampled stacks, not a count)."},
	{"pooltag_sampled_live_blocks", PT_EXPO_GAUGE,
	 "Sampled blocks live through the call path, whose stacks the estimate rests on."},
	{"pooltag_scrape_processes", PT_EXPO_GAUGE, "Processes whose counters this scrape holds."},
	{"pooltag_scrape_series", PT_EXPO_GAUGE, "Per-process series in this scrape."},
	{"pooltag_scrape_skipped_processes", PT_EXPO_GAUGE,
	 "Processes left out of this scrape by --max-processes."},
	{"pooltag_scrape_skipped_series", PT_EXPO_GAUGE,
	 "Per-process series left out of this scrape by --max-series."},
	{"pooltag_scrape_stale_segments", PT_EXPO_GAUGE,
	 "Segments left by processes that exited ('pooltag ls --clean' removes them)."},
	{"pooltag_scrape_errors_total", PT_EXPO_COUNTER,
	 "Segments that could not be read, since the exporter started."},
	{"pooltag_scrape_exited_total", PT_EXPO_COUNTER,
	 "Processes that exited while a scrape read them, since the exporter started."},
	{"pooltag_scrape_duration_seconds", PT_EXPO_GAUGE, "How long this scrape took."},
};

/* What a group is: which families its values go to (consecutive ones). */
enum kind {
	K_PROC, K_POOL, K_REFS, K_HANDLES, K_SITE_POOL, K_SITE_REFS, K_SITE_HANDLES, K_SAMPLED
};

static const struct {
	enum fam first;
	int nfams;
} kinds[] = {
	[K_PROC] = {F_MISUSE, 2},	  [K_POOL] = {F_OUT_ALLOCS, 6},
	[K_REFS] = {F_REFS_HELD, 3},	  [K_HANDLES] = {F_HANDLES_HELD, 3},
	[K_SITE_POOL] = {F_SITE_OUT_ALLOCS, 4}, [K_SITE_REFS] = {F_SITE_REFS_HELD, 1},
	[K_SITE_HANDLES] = {F_SITE_HANDLES_HELD, 1}, [K_SAMPLED] = {F_SAMPLED_BYTES, 2},
};

struct group {
	enum kind kind;
	char *labels;
	uint64_t v[6];
};

struct groups {
	struct group *g;
	size_t n, cap;
	int oom;
};

/* Adds a group with labels l[0, nl) and values v[0, kinds[k].nfams). */
static void group_add(struct groups *gs, enum kind k, const struct pt_expo_label *l, size_t nl,
		      const uint64_t *v)
{
	struct pt_strbuf b = {0};
	struct group *g;

	if (gs->oom)
		return;
	if (gs->n == gs->cap) {
		size_t cap = gs->cap ? 2 * gs->cap : 64;
		g = realloc(gs->g, cap * sizeof(*g));
		if (!g) {
			gs->oom = 1;
			return;
		}
		gs->g = g;
		gs->cap = cap;
	}
	if (pt_expo_labels(&b, l, nl) != 0 || b.oom || !b.p) {
		pt_strbuf_free(&b);
		gs->oom = 1;
		return;
	}
	g = &gs->g[gs->n++];
	*g = (struct group){.kind = k, .labels = b.p};
	memcpy(g->v, v, (size_t)kinds[k].nfams * sizeof(*v));
}

static void groups_free(struct groups *gs)
{
	for (size_t i = 0; i < gs->n; i++)
		free(gs->g[i].labels);
	free(gs->g);
	*gs = (struct groups){0};
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return strcmp(x->labels, y->labels);
}

/* Sorts the groups and sums those with the same kind and labels. */
static void groups_merge(struct groups *gs)
{
	size_t out = 0;

	if (gs->n)
		qsort(gs->g, gs->n, sizeof(*gs->g), cmp_group);
	for (size_t i = 0; i < gs->n; i++) {
		struct group *g = &gs->g[i];
		if (out && cmp_group(&gs->g[out - 1], g) == 0) {
			for (int j = 0; j < kinds[g->kind].nfams; j++)
				gs->g[out - 1].v[j] += g->v[j];
			free(g->labels);
			continue;
		}
		gs->g[out++] = *g;
	}
	gs->n = out;
}

/* The groups of the view's biggest sampled call paths (at most paths of
 * them), after the process's labels l[0, 2). */
static void add_sampled(struct groups *gs, const struct pt_view *v, struct pt_expo_label *l,
			size_t paths)
{
	struct pt_spaths sp;
	char tag[11], site[600], via[1024];

	if (pt_sampled_top(&sp, v, NULL, (long)paths) != 0) {
		gs->oom = 1;
		return;
	}
	for (size_t i = 0; i < sp.n; i++) {
		const struct pt_spath *p = &sp.p[i];
		uint64_t val[2] = {p->s->live_est, p->s->nlive};

		pt_expo_tag(p->s->tag, tag);
		l[2] = (struct pt_expo_label){"tag", tag};
		l[3] = (struct pt_expo_label){"pool", pt_pool_word[p->s->pool & 1]};
		/* As read, as the site series' labels are: the exposition
		 * escapes them (expo.c), so that joins on function work. */
		snprintf(site, sizeof(site), "%s:%u", *p->s->file ? p->s->file : "?", p->s->line);
		pt_sampled_via(p, 0, via, sizeof(via));
		l[4] = (struct pt_expo_label){"site", site};
		l[5] = (struct pt_expo_label){"function", *p->s->func ? p->s->func : "?"};
		l[6] = (struct pt_expo_label){"path", via};
		group_add(gs, K_SAMPLED, l, 7, val);
	}
	pt_sampled_free(&sp);
}

/* The groups of one process's view. */
static void build_groups(struct groups *gs, const struct pt_view *v, const char *pid, int sites,
			 size_t paths)
{
	struct pt_expo_label l[8] = {{"pid", pid}, {"comm", v->comm}};
	uint64_t val[6] = {v->nmisuse, v->created_ns > 0 ? (uint64_t)v->created_ns : 0};
	char tag[11], line[16];

	group_add(gs, K_PROC, l, 2, val);
	for (size_t i = 0; i < v->nrows; i++) {
		const struct pt_row *r = &v->rows[i];
		uint64_t held = r->nallocs - r->nfrees;

		pt_expo_tag(r->tag, tag);
		snprintf(line, sizeof(line), "%u", r->line);
		if (r->pool < PT_SEG_CLASS_REFS) {
			uint64_t used = r->bytes_alloc - r->bytes_freed;
			uint64_t p[6] = {held, used, r->nallocs, r->nfrees, r->bytes_alloc, r->bytes_freed};

			l[2] = (struct pt_expo_label){"tag", tag};
			l[3] = (struct pt_expo_label){"pool", pt_pool_word[r->pool]};
			group_add(gs, K_POOL, l, 4, p);
			if (!sites)
				continue;
			l[4] = (struct pt_expo_label){"module", r->module};
			l[5] = (struct pt_expo_label){"file", r->file};
			l[6] = (struct pt_expo_label){"line", line};
			l[7] = (struct pt_expo_label){"function", r->func};
			group_add(gs, K_SITE_POOL, l, 8, p);
		} else {
			int refs = r->pool == PT_SEG_CLASS_REFS;
			uint64_t p[3] = {held, r->nallocs, r->nfrees};

			l[2] = (struct pt_expo_label){"tag", tag};
			l[3] = (struct pt_expo_label){"module", r->module};
			group_add(gs, refs ? K_REFS : K_HANDLES, l, 4, p);
			if (!sites)
				continue;
			l[4] = (struct pt_expo_label){"file", r->file};
			l[5] = (struct pt_expo_label){"line", line};
			l[6] = (struct pt_expo_label){"function", r->func};
			group_add(gs, refs ? K_SITE_REFS : K_SITE_HANDLES, l, 7, p);
		}
	}
	if (sites && paths)
		add_sampled(gs, v, l, paths);
	groups_merge(gs);
}

static int emit_group(struct pt_expo *e, const int *fam, const struct group *g)
{
	int rc = 0;

	for (int j = 0; j < kinds[g->kind].nfams; j++) {
		enum fam f = (enum fam)(kinds[g->kind].first + j);
		if (f == F_START)
			rc |= pt_expo_add_double(e, fam[f], g->labels, (double)g->v[j] / 1e9);
		else
			rc |= pt_expo_add(e, fam[f], g->labels, g->v[j]);
	}
	return rc;
}

struct tally {
	size_t processes, series, skipped_processes, skipped_series, stale;
	int full; /* the series budget ran out: everything after is skipped */
};

/* A line of the log, "pooltag: exporter: <message>", made safe for a
 * terminal: the message names segments of a shared directory. */
static void log_err(FILE *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_err(FILE *log, const char *fmt, ...)
{
	va_list ap;

	fputs("pooltag: exporter: ", log);
	va_start(ap, fmt);
	pt_safe_vprintf(log, fmt, ap);
	va_end(ap);
	fputc('\n', log);
}

enum birth { BORN, UNBORN, UNKNOWN };

/* Is the segment at path too new to read?  A process maps its segment and
 * writes the header's magic last, in one store; until then the magic reads
 * as zeros, or as some of its bytes and zeros (a copy byte by byte racing
 * the store).  BORN: the magic is whole now; UNKNOWN: neither (corrupt,
 * or not readable). */
static enum birth birth(const char *path)
{
	unsigned char magic[8] = {0};
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	ssize_t n = fd >= 0 ? pread(fd, magic, sizeof(magic), 0) : -1;
	size_t whole = 0;

	if (fd >= 0)
		close(fd);
	if (n < 0)
		return UNKNOWN;
	if (n < (ssize_t)sizeof(magic))
		return UNBORN;
	for (size_t i = 0; i < sizeof(magic); i++) {
		if (magic[i] == (unsigned char)PT_SEG_MAGIC[i])
			whole++;
		else if (magic[i] != 0)
			return UNKNOWN;
	}
	return whole == sizeof(magic) ? BORN : UNBORN;
}

/* Reads one segment into v.  0; 1 if the process went away meanwhile, 2
 * if it has not written its segment yet (both left out, no error); -1
 * (logged) if the segment cannot be read.  A read that failed while the
 * segment was being born (its magic whole now) is tried once more. */
/* Is the segment gone, or no longer held by a live process? */
static int seg_gone(const struct pt_segent *ent)
{
	int fd = open(ent->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK), gone;

	if (fd < 0)
		return errno == ENOENT;
	gone = pt_seg_state(fd, ent->pid) != PT_SEGSTATE_LIVE;
	close(fd);
	return gone;
}

static int read_one(const struct pt_scrape_opts *o, const struct pt_segent *ent,
		    struct pt_view *v)
{
	char err[1024];
	int rc;

	for (int tries = 0;; tries++) {
		int fd = open(ent->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

		if (fd < 0) {
			if (errno == ENOENT)
				return 1;
			snprintf(err, sizeof(err), "cannot open %s: %s", ent->path,
				 strerror(errno));
			rc = -1;
		} else {
			rc = pt_segread_fd(v, fd, ent->path, err, sizeof(err));
			close(fd);
		}
		if (rc == 0)
			return 0;
		/* A process that exits lets its segment go; what failed to
		 * read it then is no finding (the one liveness judgement,
		 * segread.c). */
		if (seg_gone(ent))
			return 1;
		switch (birth(ent->path)) {
		case UNBORN:
			return 2;
		case BORN:
			if (tries == 0) {
				pt_view_free(v);
				pt_view_init(v);
				continue;
			}
			break;
		case UNKNOWN:
			break;
		}
		if (o->log)
			log_err(o->log, "%s", err);
		return -1;
	}
}

static int scrape_one(const struct pt_scrape_opts *o, struct pt_scrape_state *st,
		      const struct pt_segent *ent, struct pt_expo *e, const int *fam,
		      struct tally *t)
{
	struct groups gs = {0};
	struct pt_view v;
	char pid[16];
	int rc;

	pt_view_init(&v);
	rc = read_one(o, ent, &v);
	if (rc != 0) {
		if (rc == 1)
			st->exited++;
		else if (rc < 0)
			st->errors++;
		pt_view_free(&v);
		return 0;
	}
	snprintf(pid, sizeof(pid), "%d", (int)ent->pid);
	build_groups(&gs, &v, pid, o->sites, o->paths);
	rc = gs.oom ? -1 : 0;
	t->processes++;
	for (size_t i = 0; rc == 0 && i < gs.n; i++) {
		size_t cost = (size_t)kinds[gs.g[i].kind].nfams;
		if (t->full || t->series + cost > o->max_series) {
			t->full = 1;
			t->skipped_series += cost;
			continue;
		}
		t->series += cost;
		rc = emit_group(e, fam, &gs.g[i]);
	}
	groups_free(&gs);
	pt_view_free(&v);
	return rc;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *pt_scrape_list(const struct pt_scrape_opts *o, struct pt_scrape_state *st,
		     const struct pt_segent *ents, size_t n, size_t *len)
{
	double start = now_s();
	struct tally t = {0};
	struct pt_expo e;
	int fam[NFAMS], rc = 0;
	size_t tried = 0;
	pid_t last = 0;
	char *text = NULL;

	pt_expo_init(&e);
	for (int i = 0; i < NFAMS && rc == 0; i++)
		rc = (fam[i] = pt_expo_family(&e, fam_defs[i].name, fam_defs[i].type,
					      fam_defs[i].help)) < 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (ents[i].foreign)
			continue; /* another user's: not ours to read */
		if (ents[i].stale) {
			t.stale++;
			continue;
		}
		if (ents[i].pid == last) {
			/* A second live segment of one pid would repeat its series. */
			if (o->log)
				log_err(o->log, "%s: a second segment of process %d, left out",
					ents[i].path, (int)ents[i].pid);
			st->errors++;
			continue;
		}
		if (tried == o->max_processes) {
			t.skipped_processes++;
			continue;
		}
		tried++;
		last = ents[i].pid;
		rc = scrape_one(o, st, &ents[i], &e, fam, &t);
	}
	if (rc == 0 && o->kernel) {
		/* The kernel: counted with the series, an unreadable read is an error. */
		char kerr[1024];
		if (pt_kscrape_add(&e, o->sites, o->max_series, &t.series, &t.skipped_series, kerr,
				   sizeof(kerr)) != 0) {
			st->errors++;
			if (o->log)
				log_err(o->log, "%s", kerr);
		}
	}
	if (rc == 0) {
		pt_expo_add(&e, fam[F_PROCESSES], "", t.processes);
		pt_expo_add(&e, fam[F_SERIES], "", t.series);
		pt_expo_add(&e, fam[F_SKIPPED_PROCESSES], "", t.skipped_processes);
		pt_expo_add(&e, fam[F_SKIPPED_SERIES], "", t.skipped_series);
		pt_expo_add(&e, fam[F_STALE], "", t.stale);
		pt_expo_add(&e, fam[F_ERRORS], "", st->errors);
		pt_expo_add(&e, fam[F_EXITED], "", st->exited);
		/* Microseconds are plenty, and keep the number short. */
		pt_expo_add_double(&e, fam[F_DURATION], "", (double)(long long)((now_s() - start) * 1e6) / 1e6);
		text = pt_expo_text(&e, len);
	}
	pt_expo_free(&e);
	return text;
}

char *pt_scrape(const struct pt_scrape_opts *o, struct pt_scrape_state *st, size_t *len)
{
	struct pt_segent *ents = NULL;
	size_t n = 0;
	char err[1024], *text;

	if (pt_seglist(&ents, &n, err, sizeof(err)) != 0) {
		st->errors++;
		if (o->log)
			log_err(o->log, "%s", err);
	}
	text = pt_scrape_list(o, st, ents, n, len);
	free(ents);
	return text;
}
