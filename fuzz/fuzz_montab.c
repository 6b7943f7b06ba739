/*
 * fuzz_montab.c - libFuzzer target for the monitor's table (cli/mon/montab.c),
 * which works on counters read from an untrusted segment.
 *
 * The input is cut into 16-byte records, each a row of one of two views
 * (the read before and the current one): a tag and a site from small sets,
 * so that rows pair up and repeat, any counter class, and counters that
 * may go backwards between the views.  The table is built from both views
 * and from the current one alone, ordered under every key, pool filter,
 * direction and a pattern cut from the input, and every row is expanded.
 * Besides sanitizer findings it aborts when an invariant breaks: an index
 * out of range, a row shown twice, a row shown that the filters exclude, a
 * table row of no pool, a sum that disagrees with the rows, or a formatted
 * cell wider than asked when the number could be scaled to fit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "montab.h"
#include "pooltag.h"
#include "tagdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const files[] = {"", "a.c", "b.c", "lib/c.c"};
static const char *const funcs[] = {"", "f", "g", "main"};
static const char *const mods[] = {"", "prog", "libx.so"};

static uint64_t u64_at(const uint8_t *p, int bits)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return bits >= 64 ? v : v & ((1ull << bits) - 1);
}

static void add_row(struct pt_view *v, const uint8_t *p)
{
	static const uint32_t tags[4] = {0x61616141, 0x62626242, 0x20202043, 0x2a2a2a2a};
	uint64_t a = u64_at(p + 4, p[0] & 0x80 ? 64 : 12), b = u64_at(p + 8, 12);
	struct pt_row r = {
		.tag = tags[p[0] & 3],
		.pool = (p[0] >> 2) & 3,
		.line = p[1] & 7,
		.file = files[p[2] & 3],
		.func = funcs[(p[2] >> 2) & 3],
		.module = mods[((p[2] >> 4) & 3) % 3],
	};

	/* The reader guarantees frees <= allocs; the counters can be anything
	 * else, huge ones included. */
	r.nallocs = a > b ? a : b;
	r.nfrees = a > b ? b : a;
	r.bytes_alloc = r.nallocs * (uint64_t)(p[3] + 1);
	r.bytes_freed = r.nfrees * (uint64_t)(p[3] + 1);
	if (pt_view_add_row(v, &r) != 0)
		abort();
}

static void check_table(const struct pt_montab *t, const char *pattern)
{
	size_t *idx = malloc((t->nrows + 1) * sizeof(*idx));
	size_t *sites = malloc((t->cur->nrows + 1) * sizeof(*sites));
	unsigned char *seen = malloc(t->nrows + 1);
	struct pt_sums total[2] = {{0}};

	if (!idx || !sites || !seen)
		abort();
	for (size_t i = 0; i < t->nrows; i++) {
		const struct pt_mon_row *r = &t->rows[i];
		if (r->pool != PT_PAGED && r->pool != PT_NONPAGED)
			abort();
		total[r->pool].nallocs += r->now.nallocs;
		total[r->pool].bytes_freed += r->now.bytes_freed;
		if (pt_montab_find(t, r->tag, r->pool) != (long)i)
			abort();
		size_t ns = pt_montab_sites(t, r->tag, r->pool, sites);
		for (size_t j = 0; j < ns; j++)
			if (sites[j] >= t->cur->nrows || t->cur->rows[sites[j]].tag != r->tag)
				abort();
	}
	for (int p = 0; p < 2; p++)
		if (total[p].nallocs != t->total[p].nallocs ||
		    total[p].bytes_freed != t->total[p].bytes_freed)
			abort();
	for (int k = 0; k < PT_MON_NSORT; k++)
		for (int pools = 0; pools < 3; pools++)
			for (int rev = 0; rev < 2; rev++) {
				struct pt_mon_opts o = {(enum pt_mon_sort)k, rev,
							(enum pt_mon_pools)pools, pattern};
				size_t n = pt_montab_order(t, &o, idx);
				memset(seen, 0, t->nrows + 1);
				if (n > t->nrows)
					abort();
				for (size_t i = 0; i < n; i++) {
					const struct pt_mon_row *r;
					if (idx[i] >= t->nrows || seen[idx[i]]++)
						abort();
					r = &t->rows[idx[i]];
					if ((pools == PT_MON_POOLS_PAGED && r->pool != PT_PAGED) ||
					    (pools == PT_MON_POOLS_NONPAGED && r->pool != PT_NONPAGED) ||
					    (pattern && !pt_tag_match(pattern, r->tag)))
						abort();
				}
			}
	free(idx);
	free(sites);
	free(seen);
}

static void check_formats(const uint8_t *p)
{
	char buf[64];
	uint64_t v = u64_at(p, 64);
	int width = 3 + (p[0] & 7);

	/* Three characters hold any 64-bit count scaled ("18E"); a change
	 * needs one more for its sign. */
	if (strlen(pt_mon_fmt_count(buf, sizeof(buf), v, width, p[1] & 1)) != (size_t)width)
		abort();
	if (strlen(pt_mon_fmt_change(buf, sizeof(buf), (int64_t)v, width + 1, p[1] & 1)) !=
	    (size_t)width + 1)
		abort();
	double d;
	memcpy(&d, p, sizeof(d));
	pt_mon_fmt_rate(buf, sizeof(buf), d, width + 1, p[1] & 1);
	if (strlen(buf) > sizeof(buf) - 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_view v[2];
	struct pt_montab t;
	char pattern[8] = "", err[128];
	const char *pat = NULL;

	pt_view_init(&v[0]);
	pt_view_init(&v[1]);
	if (size >= 6) {
		memcpy(pattern, data, 5);
		pattern[data[5] % 6] = 0;
		if (pt_tag_pattern_check(pattern, err, sizeof(err)) == 0)
			pat = pattern;
	}
	for (size_t off = 0; off + 16 <= size; off += 16) {
		add_row(&v[data[off + 3] >> 7], data + off);
		check_formats(data + off + 8);
	}
	v[0].taken_ns = 1000;
	v[1].taken_ns = size & 1 ? 500 : 2000000;
	if (pt_montab_build(&t, &v[0], &v[1]) != 0)
		abort();
	check_table(&t, pat);
	pt_montab_free(&t);
	if (pt_montab_build(&t, NULL, &v[0]) != 0)
		abort();
	check_table(&t, pat);
	pt_montab_free(&t);
	pt_view_free(&v[0]);
	pt_view_free(&v[1]);
	return 0;
}
