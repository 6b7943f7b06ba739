/*
 * test_recording.c - recordings: the writer and reader agreeing sample by
 * sample, a cut at every byte read as the complete samples before it, and
 * every rejected input with its message.  What is computed from them is in
 * test_trend.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pooltag.h"
#include "pt_rectest.h"
#include "pt_test.h"
#include "recording.h"

static char tmpdir[64] = "/tmp/pt-test-rec.XXXXXX";
static char path[128];
static char errbuf[1024];

/* ---------------------------------------------------------------------------
 * Writing and reading
 */

/* The counters of site i at each sample, as the replay gives them. */
struct states {
	uint64_t nallocs[16][8];
	size_t nrows[16];
};

static int collect(void *ctx, size_t s, int64_t taken, const struct pt_row *rows, size_t nrows)
{
	struct states *st = ctx;

	st->nrows[s] = nrows;
	for (size_t i = 0; i < nrows && i < 8; i++)
		st->nallocs[s][i] = rows[i].nallocs;
	return 0;
}

static size_t file_size(void)
{
	struct stat st;

	return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

/* Three samples: two sites and a description; then the same counters (an
 * empty sample), a changed site, a new site, a duplicated row and a time
 * that went backwards. */
static size_t write_three(size_t *ends)
{
	struct pt_rec_writer *w;
	struct pt_view v;
	size_t n = 0;

	head(&v, 1000);
	row(&v, "Leak", PT_PAGED, 1, 10, 0, 100);
	row(&v, "Ok  ", PT_NONPAGED, 2, 5, 5, 32);
	PT_CHECK_EQ(pt_view_add_desc(&v, PT_TAG("Leak"), "prog", "Leaky\tthings%"), 0);
	w = pt_rec_create(path, &v, 250000, errbuf, sizeof(errbuf));
	PT_CHECK(w != NULL);
	if (!w) {
		pt_view_free(&v);
		return 0;
	}
	ends[n++] = file_size();
	PT_CHECK_EQ(pt_rec_append(w, &v, errbuf, sizeof(errbuf)), 0);
	v.taken_ns = 2000;
	PT_CHECK_EQ(pt_rec_append(w, &v, errbuf, sizeof(errbuf)), 0);
	pt_view_free(&v);
	head(&v, 1500); /* the clock stepped back: written as 2000 */
	row(&v, "Leak", PT_PAGED, 1, 20, 0, 100);
	row(&v, "Ok  ", PT_NONPAGED, 2, 5, 5, 32);
	row(&v, "New ", PT_PAGED, 3, 1, 0, 8);
	row(&v, "New ", PT_PAGED, 3, 2, 1, 8); /* the same site again: summed */
	PT_CHECK_EQ(pt_view_add_desc(&v, PT_TAG("Leak"), "prog", "Leaky\tthings%"), 0);
	PT_CHECK_EQ(pt_rec_append(w, &v, errbuf, sizeof(errbuf)), 0);
	PT_CHECK_EQ(pt_rec_nsamples(w), 3);
	PT_CHECK_EQ(pt_rec_close(w, errbuf, sizeof(errbuf)), 0);
	pt_view_free(&v);
	return n;
}

static char *slurp(size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(1 << 16);

	*len = f ? fread(buf, 1, 1 << 16, f) : 0;
	if (f)
		fclose(f);
	return buf;
}

PT_TEST(test_round_trip)
{
	struct pt_recording r;
	struct states st = {0};
	size_t ends[4], len;
	char *text;

	write_three(ends);
	text = slurp(&len);
	/* Only what moved is written: the second sample has no line. */
	PT_CHECK(memmem(text, len, "sample\t1000\t3\n", 14) != NULL);
	PT_CHECK(memmem(text, len, "sample\t2000\t0\nsample\t2000\t2\n", 28) != NULL);
	PT_CHECK(memmem(text, len, "command odd%09name%25%01\xff\n", 26) != NULL);
	PT_CHECK(memmem(text, len, "desc\tLeak\tprog\tLeaky%09things%25\n", 33) != NULL);
	PT_CHECK(memmem(text, len, "site\tNew \tpaged\t3\t1\t24\t8\t3\ta.c\tf\tprog\n", 38) !=
	         NULL);
	pt_rec_init(&r);
	PT_CHECK_EQ(pt_rec_parse(&r, text, len, "t.rec", errbuf, sizeof(errbuf)), 0);
	PT_CHECK_STR(r.note, "");
	PT_CHECK_EQ(r.nsamples, 3);
	PT_CHECK_EQ(r.sites.pid, 4242);
	PT_CHECK_EQ(r.sites.uid, 7);
	PT_CHECK_STR(r.sites.comm, "odd\tname%\x01\xff");
	PT_CHECK_EQ(r.sites.start_ticks, 99);
	PT_CHECK_EQ(r.sites.created_ns, 5);
	PT_CHECK_EQ(r.interval_us, 250000);
	PT_CHECK_EQ(r.sites.nrows, 3);
	PT_CHECK_EQ(r.sites.ndescs, 1);
	PT_CHECK_EQ(r.nchanges, 4); /* 2 sites, then Leak changed and New defined */
	PT_CHECK(r.taken[0] == 1000 && r.taken[1] == 2000 && r.taken[2] == 2000);
	PT_CHECK_EQ(r.sites.taken_ns, 2000);
	if (r.sites.nrows == 3) { /* the last sample's state */
		PT_CHECK_EQ(r.sites.rows[0].nallocs, 20);
		PT_CHECK_EQ(r.sites.rows[0].bytes_alloc, 2000);
		PT_CHECK_EQ(r.sites.rows[2].nallocs, 3);
		PT_CHECK_EQ(r.sites.rows[2].nfrees, 1);
		PT_CHECK_STR(r.sites.rows[2].module, "prog");
		PT_CHECK_STR(r.sites.descs[0].desc, "Leaky\tthings%");
	}
	PT_CHECK_EQ(pt_rec_replay(&r, collect, &st), 0);
	PT_CHECK(st.nrows[0] == 2 && st.nrows[1] == 2 && st.nrows[2] == 3);
	PT_CHECK(st.nallocs[0][0] == 10 && st.nallocs[1][0] == 10 && st.nallocs[2][0] == 20);
	PT_CHECK(st.nallocs[0][1] == 5 && st.nallocs[2][1] == 5 && st.nallocs[2][2] == 3);
	pt_rec_free(&r);
	free(text);
}

/* Outstanding counts per sample, as the replay gives them. */
static int collect_outstanding(void *ctx, size_t s, int64_t taken, const struct pt_row *rows,
                               size_t nrows)
{
	struct states *st = ctx;

	st->nrows[s] = nrows;
	for (size_t i = 0; i < nrows && i < 8; i++)
		st->nallocs[s][i] = rows[i].nallocs - rows[i].nfrees;
	return 0;
}

/* A site whose frees alone move (what it held being given back): each
 * such sample is a count line, and the reader's state follows it. */
PT_TEST(test_frees_alone)
{
	struct pt_rec_writer *w;
	struct pt_recording r;
	struct states st = {0};
	struct pt_view v;
	size_t len;
	char *text;

	head(&v, 1000);
	row(&v, "Kept", PT_PAGED, 1, 10, 0, 100);
	w = pt_rec_create(path, &v, 1000000, errbuf, sizeof(errbuf));
	PT_CHECK(w != NULL);
	if (!w) {
		pt_view_free(&v);
		return;
	}
	PT_CHECK_EQ(pt_rec_append(w, &v, errbuf, sizeof(errbuf)), 0);
	for (int k = 1; k <= 2; k++) {
		pt_view_free(&v);
		head(&v, 1000 + 1000 * k);
		row(&v, "Kept", PT_PAGED, 1, 10, k == 1 ? 4 : 10, 100);
		PT_CHECK_EQ(pt_rec_append(w, &v, errbuf, sizeof(errbuf)), 0);
	}
	PT_CHECK_EQ(pt_rec_close(w, errbuf, sizeof(errbuf)), 0);
	pt_view_free(&v);
	text = slurp(&len);
	PT_CHECK(memmem(text, len, "sample\t2000\t1\ncount\t0\t10\t4\t1000\t400\n", 36) != NULL);
	PT_CHECK(memmem(text, len, "sample\t3000\t1\ncount\t0\t10\t10\t1000\t1000\n", 38) != NULL);
	pt_rec_init(&r);
	PT_CHECK_EQ(pt_rec_parse(&r, text, len, "t.rec", errbuf, sizeof(errbuf)), 0);
	PT_CHECK_STR(r.note, "");
	PT_CHECK_EQ(r.nsamples, 3);
	PT_CHECK_EQ(r.sites.nrows, 1);
	if (r.sites.nrows == 1) {
		PT_CHECK_EQ(r.sites.rows[0].nfrees, 10);
		PT_CHECK_EQ(r.sites.rows[0].bytes_freed, 1000);
	}
	PT_CHECK_EQ(pt_rec_replay(&r, collect_outstanding, &st), 0);
	PT_CHECK(st.nallocs[0][0] == 10 && st.nallocs[1][0] == 6 && st.nallocs[2][0] == 0);
	pt_rec_free(&r);
	free(text);
}

/* A process with no site yet: its first sample is empty (nothing for the
 * writer to keep, so no counter table exists), and a later one is not.
 * Under UBSan this once failed in the writer. */
PT_TEST(test_empty_first_sample)
{
	struct pt_rec_writer *w;
	struct pt_recording r;
	struct pt_view v;

	head(&v, 1000);
	w = pt_rec_create(path, &v, 1000000, errbuf, sizeof(errbuf));
	PT_CHECK(w != NULL);
	if (!w) {
		pt_view_free(&v);
		return;
	}
	PT_CHECK_EQ(pt_rec_append(w, &v, errbuf, sizeof(errbuf)), 0);
	v.taken_ns = 2000;
	PT_CHECK_EQ(pt_rec_append(w, &v, errbuf, sizeof(errbuf)), 0);
	pt_view_free(&v);
	head(&v, 3000);
	row(&v, "Late", PT_PAGED, 1, 4, 1, 16);
	PT_CHECK_EQ(pt_rec_append(w, &v, errbuf, sizeof(errbuf)), 0);
	PT_CHECK_EQ(pt_rec_close(w, errbuf, sizeof(errbuf)), 0);
	pt_view_free(&v);
	pt_rec_init(&r);
	PT_CHECK_EQ(pt_rec_read(&r, path, errbuf, sizeof(errbuf)), 0);
	PT_CHECK_EQ(r.nsamples, 3);
	PT_CHECK_EQ(r.sites.nrows, 1);
	if (r.sites.nrows == 1)
		PT_CHECK_EQ(r.sites.rows[0].nallocs - r.sites.rows[0].nfrees, 3);
	pt_rec_free(&r);
}

/* Cut anywhere past the header, a file reads as its complete samples; a
 * note says so unless the cut fell between two samples. */
PT_TEST(test_cut_at_every_byte)
{
	size_t ends[4], len, head_len, bad = 0;
	char *text;

	write_three(ends);
	text = slurp(&len);
	head_len = ends[0];
	for (size_t cut = head_len; cut <= len; cut++) {
		struct pt_recording r;
		char *copy = malloc(cut + 1);
		size_t complete = 0, pos = head_len, nl;

		memcpy(copy, text, cut);
		/* Count the samples wholly inside the cut. */
		while (pos < cut) {
			/* "sample\tTAKEN\tN": N is after the second TAB. */
			const char *tab = memchr(text + pos + 7, '\t', len - pos - 7);
			unsigned long n = strtoul(tab + 1, NULL, 10);

			nl = pos;
			for (unsigned long k = 0; k <= n; k++)
				nl = (size_t)((const char *)memchr(text + nl, '\n', len - nl) -
				              text) +
				     1;
			if (nl > cut)
				break;
			complete++;
			pos = nl;
		}
		pt_rec_init(&r);
		if (pt_rec_parse(&r, copy, cut, "t.rec", errbuf, sizeof(errbuf)) != 0 ||
		    r.nsamples != complete || (pos == cut) != (r.note[0] == '\0')) {
			if (!bad++)
				PT_FAIL_(
				    "cut at %zu of %zu: %s, %zu samples (%zu expected), note '%s'",
				    cut, len, errbuf, r.nsamples, complete, r.note);
		}
		pt_rec_free(&r);
		free(copy);
	}
	PT_CHECK_EQ(bad, 0);
	free(text);
}

static const char *parse_err(const char *text)
{
	struct pt_recording r;
	size_t len = strlen(text);
	char *copy = malloc(len + 1);

	memcpy(copy, text, len);
	pt_rec_init(&r);
	if (pt_rec_parse(&r, copy, len, "t.rec", errbuf, sizeof(errbuf)) == 0)
		strcpy(errbuf, r.note[0] ? r.note : "(parsed)");
	else if (strchr(errbuf, '\n'))
		strcpy(errbuf, "(message is not one line)");
	pt_rec_free(&r);
	free(copy);
	return errbuf;
}

#define H    "pooltag-recording 1\npid 9\nuid 0\ncommand c\n"
#define SITE "site\tAbcd\tpaged\t2\t1\t20\t10\t7\tf.c\tfn\tm\n"

PT_TEST(test_rejects)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
	    {"", "t.rec:1: not a pooltag recording (empty file)"},
	    {"pooltag-snapshot 2\n", "t.rec:1: not a pooltag recording"},
	    {"pooltag-recording 2\n", "t.rec:1: recording version 2, this pooltag reads version 1"},
	    {"pooltag-recording x\n", "t.rec:1: bad recording version 'x'"},
	    {"pooltag-recording 1\npid 9\nuid 0\ncomm",
	     "t.rec:4: truncated (the header is incomplete)"},
	    {"pooltag-recording 1\npid 9\nuid 0\nsample\t1\t0\n",
	     "t.rec:4: missing required key 'command'"},
	    {H "pid 9\n", "t.rec:5: duplicated key 'pid'"},
	    {H "nope 1\n", "t.rec:5: unknown line type 'nope'"},
	    {H "created\n", "t.rec:5: wrong field count: expected 'created VALUE'"},
	    {"pooltag-recording 1\npid 0\n", "t.rec:2: bad number for pid: '0' is out of range"},
	    {H "sample\t01\t0\n", "t.rec:5: bad number for sample time: '01'"},
	    {H "sample 1 0\n", "t.rec:5: fields of sample lines must be separated by TABs"},
	    {H "sample\t1\n", "t.rec:5: wrong field count for sample: 2 (expected 3)"},
	    {H "sample\t5\t0\nsample\t4\t0\n",
	     "t.rec:6: bad number for sample time: '4' is out of range (5 to"},
	    {H "sample\t1\t1\ncount\t0\t1\t0\t0\t0\n", "t.rec:6: count line before any site line"},
	    {H "sample\t1\t2\n" SITE "count\t1\t1\t0\t0\t0\n",
	     "t.rec:7: bad number for site: '1' is out of range (0 to 0)"},
	    {H "sample\t1\t1\nsite\tAbcd\tpaged\t1\t2\t0\t0\t7\tf\tg\tm\n",
	     "t.rec:6: inconsistent counters: nfrees 2 > nallocs 1"},
	    {H "sample\t1\t1\nsite\tAbcd\tpaged\t1\t1\t0\t5\t7\tf\tg\tm\n",
	     "t.rec:6: inconsistent counters: bytes_freed 5 > bytes_alloc 0"},
	    {H "sample\t1\t1\nsite\tAbc\tpaged\t1\t1\t0\t0\t7\tf\tg\tm\n",
	     "t.rec:6: tag 'Abc' is not 4 bytes"},
	    {H "sample\t1\t1\nsite\tAbcd\tswap\t1\t1\t0\t0\t7\tf\tg\tm\n",
	     "t.rec:6: unknown pool 'swap'"},
	    {H "sample\t1\t1\nsite\tAbcd\tpaged\t1\t1\t0\t0\t7\tf\tg\n",
	     "t.rec:6: wrong field count for site: 10 (expected 11)"},
	    {H "sample\t1\t1\nsite\tAbcd\tpaged\t1\t1\t0\t0\t7\tf%0\tg\tm\n",
	     "t.rec:6: bad escape in file: '%250'"},
	    {H "sample\t1\t1\ndesc\tAbcd\t\tx%00\n",
	     "t.rec:6: bad escape in description: %00 (a NUL) in a string"},
	    {H "sample\t1\t1\ndesc\tAbcd\t\tx\x7f\n",
	     "t.rec:6: unescaped control byte 0x7F in description"},
	    {H "sample\t1\t1\nwhat\n", "t.rec:6: unknown line type 'what' in a sample"},
	    {H "sample\t1\t1\nsample\t2\t0\n", "t.rec:6: sample line inside a sample"},
	    {H "sample\t1\t0\n" SITE, "t.rec:6: 'site' line outside a sample"},
	    {H "sample\t1\t0\n\n", "t.rec:6: empty line"},
	    {H "sample\t1\t0\r\n", "t.rec:5: carriage return at end of line"},
	    /* What a killed recorder leaves: dropped, with a note. */
	    {H "sample\t1\t0\nsample\t2\t1\nsite\tAb",
	     "t.rec:6: last sample incomplete, ignored (1 complete)"},
	    {H "sample\t1\t0\nsamp", "t.rec:6: last sample incomplete, ignored (1 complete)"},
	    {H "sample\t1\t3\n" SITE "count\t0\t2\t2\t20\t20\n",
	     "t.rec:5: last sample incomplete, ignored (0 complete)"},
	    {H "sample\t1\t1\n" SITE, "(parsed)"},
	    {H "created 1\nstart_ticks 18446744073709551615\ninterval_us 0\n", "(parsed)"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		PT_CHECK_HAS(parse_err(cases[i].text), cases[i].msg);
	/* NUL inside: strlen would stop there, so parse the exact bytes. */
	{
		static const char nul[] = H "sample\t1\t0\nsam\0ple\n";
		struct pt_recording r;

		pt_rec_init(&r);
		PT_CHECK_EQ(pt_rec_parse(&r, nul, sizeof(nul) - 1, "t.rec", errbuf, sizeof(errbuf)),
		            -1);
		PT_CHECK_STR(errbuf, "t.rec:6: NUL byte");
		pt_rec_free(&r);
	}
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/t.rec", tmpdir);
	PT_RUN(test_round_trip);
	PT_RUN(test_frees_alone);
	PT_RUN(test_empty_first_sample);
	PT_RUN(test_cut_at_every_byte);
	PT_RUN(test_rejects);
	unlink(path);
	rmdir(tmpdir);
	return pt_test_done();
}

