/*
 * test_scrape.c - one exporter scrape over real segments (this process's
 * own): exact values per tag, pool, module and site; identical label sets
 * merged; a process that exits between listing and reading left out and
 * counted, an unreadable segment counted as an error; the limits on
 * processes and series, with what they leave out counted; stale and other
 * users' segments skipped.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pooltag.h>

#include "pt_libtest.h"
#include "scrape.h"

static struct pt_objtype *t_obj;
static char pidl[64]; /* pid="N",comm="test_scrape" */

/* The value of the sample whose name and labels are exactly series, or -1
 * (said why) if text has no such line or has it twice. */
static long long sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	long long v = -1;
	int found = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ') {
			v = strtoll(p + n + 1, NULL, 10);
			found++;
		}
	}
	if (found != 1) {
		printf("# %d lines for %s\n", found, series);
		return -1;
	}
	return v;
}

/* Every line of text is a comment or "name[{labels}] value"; each family
 * has one HELP and one TYPE, right before its samples, and no sample line
 * repeats.  1 if so. */
static int well_formed(const char *text)
{
	const char *p = text, *fam = NULL;
	size_t famlen = 0;

	if (*text && text[strlen(text) - 1] != '\n')
		return 0;
	while (*p) {
		const char *eol = strchr(p, '\n'), *sp;
		if (strncmp(p, "# HELP ", 7) == 0) {
			char type[256];
			fam = p + 7;
			famlen = strcspn(fam, " ");
			snprintf(type, sizeof(type), "# TYPE %.*s ", (int)famlen, fam);
			if (strncmp(eol + 1, type, strlen(type)) != 0)
				return 0;
			snprintf(type, sizeof(type), "\n# HELP %.*s ", (int)famlen, fam);
			if (strstr(text, type) && strstr(text, type) != p - 1)
				return 0; /* a second HELP */
			p = strchr(eol + 1, '\n') + 1;
			continue;
		}
		if (!fam || strncmp(p, fam, famlen) != 0 || (p[famlen] != '{' && p[famlen] != ' '))
			return 0;
		sp = memrchr(p, ' ', (size_t)(eol - p));
		if (!sp || sp + 1 == eol)
			return 0;
		/* The same line again later would be a repeated series. */
		char line[4096];
		snprintf(line, sizeof(line), "\n%.*s ", (int)(sp - p), p);
		if (strstr(eol, line))
			return 0;
		p = eol + 1;
	}
	return 1;
}

static struct pt_scrape_opts opts(int sites)
{
	return (struct pt_scrape_opts){.max_processes = 100, .max_series = 100000, .sites = sites};
}

/* This process's segment as a listing entry, under pid. */
static struct pt_segent self_ent(pid_t pid)
{
	struct pt_segent e = {.pid = pid};
	snprintf(e.path, sizeof(e.path), "%s/pooltag-%d", pt_segdir(), (int)getpid());
	return e;
}

PT_TEST(test_own_counters)
{
	struct pt_scrape_state st = {0};
	struct pt_scrape_opts o = opts(1);
	struct pt_htable *ht = pt_htable_create("scrape");
	void *a[3], *np[2], *d1, *d2, *obj;
	pt_handle h = 0;
	unsigned l_dup, l_a, l_obj, l_ref;
	char s[512], *text;
	size_t len;

	l_a = __LINE__ + 2;
	for (int i = 0; i < 3; i++)
		a[i] = pt_alloc(PT_PAGED, 100, "Scr1");
	for (int i = 0; i < 2; i++)
		np[i] = pt_alloc(PT_NONPAGED, 32, "Scr2");
	pt_free(np[1], "Scr2");
	/* Two call sites on one line: one series, their sum. */
	l_dup = __LINE__ + 1;
	d1 = pt_alloc(PT_PAGED, 10, "Dupl"), d2 = pt_alloc(PT_PAGED, 20, "Dupl");
	l_obj = __LINE__ + 1;
	obj = pt_obj_create(t_obj, 24, 0);
	l_ref = __LINE__ + 1;
	pt_obj_ref(obj), pt_obj_ref(obj);
	PT_CHECK(ht && obj && pt_handle_open(ht, obj, &h) == 0);

	text = pt_scrape(&o, &st, &len);
	PT_CHECK(text != NULL);
	if (!text)
		goto out;
	PT_CHECK_EQ(strlen(text), len);
	PT_CHECK(well_formed(text));
#define SERIES(...) (snprintf(s, sizeof(s), __VA_ARGS__), s)
	PT_CHECK_EQ(sample(text, SERIES("pooltag_outstanding_allocations{%s,tag=\"Scr1\",pool=\"paged\"}", pidl)), 3);
	PT_CHECK_EQ(sample(text, SERIES("pooltag_outstanding_bytes{%s,tag=\"Scr1\",pool=\"paged\"}", pidl)), 300);
	PT_CHECK_EQ(sample(text, SERIES("pooltag_allocations_total{%s,tag=\"Scr1\",pool=\"paged\"}", pidl)), 3);
	PT_CHECK_EQ(sample(text, SERIES("pooltag_frees_total{%s,tag=\"Scr1\",pool=\"paged\"}", pidl)), 0);
	PT_CHECK_EQ(sample(text, SERIES("pooltag_outstanding_allocations{%s,tag=\"Scr2\",pool=\"nonpaged\"}", pidl)), 1);
	PT_CHECK_EQ(sample(text, SERIES("pooltag_outstanding_bytes{%s,tag=\"Scr2\",pool=\"nonpaged\"}", pidl)), 32);
	PT_CHECK_EQ(sample(text, SERIES("pooltag_allocated_bytes_total{%s,tag=\"Scr2\",pool=\"nonpaged\"}", pidl)), 64);
	PT_CHECK_EQ(sample(text, SERIES("pooltag_freed_bytes_total{%s,tag=\"Scr2\",pool=\"nonpaged\"}", pidl)), 32);
	PT_CHECK_EQ(sample(text, SERIES("pooltag_frees_total{%s,tag=\"Scr2\",pool=\"nonpaged\"}", pidl)), 1);
	/* No series for a pool a tag never used. */
	PT_CHECK(!strstr(text, SERIES("tag=\"Scr1\",pool=\"nonpaged\"")));
	/* The object is a paged block of its type's tag; the references and
	 * handle are charged to this program, per tag. */
	PT_CHECK_EQ(sample(text, SERIES("pooltag_outstanding_allocations{%s,tag=\"SObj\",pool=\"paged\"}", pidl)), 1);
	PT_CHECK_EQ(sample(text, SERIES("pooltag_references_held{%s,tag=\"SObj\",module=\"test_scrape\"}", pidl)), 3);
	PT_CHECK_EQ(sample(text, SERIES("pooltag_references_acquired_total{%s,tag=\"SObj\",module=\"test_scrape\"}", pidl)), 3);
	PT_CHECK_EQ(sample(text, SERIES("pooltag_references_released_total{%s,tag=\"SObj\",module=\"test_scrape\"}", pidl)), 0);
	PT_CHECK_EQ(sample(text, SERIES("pooltag_handles_held{%s,tag=\"SObj\",module=\"test_scrape\"}", pidl)), 1);
	PT_CHECK_EQ(sample(text, SERIES("pooltag_handles_opened_total{%s,tag=\"SObj\",module=\"test_scrape\"}", pidl)), 1);
	PT_CHECK_EQ(sample(text, SERIES("pooltag_misuse_reports_total{%s}", pidl)), 0);
	PT_CHECK(sample(text, SERIES("pooltag_process_start_time_seconds{%s}", pidl)) > 1500000000);
	/* Sites. */
	PT_CHECK_EQ(sample(text, SERIES("pooltag_site_outstanding_allocations{%s,tag=\"Dupl\",pool=\"paged\",module=\"test_scrape\",file=\"tests/test_scrape.c\",line=\"%u\",function=\"test_own_counters\"}", pidl, l_dup)), 2);
	PT_CHECK_EQ(sample(text, SERIES("pooltag_site_outstanding_bytes{%s,tag=\"Dupl\",pool=\"paged\",module=\"test_scrape\",file=\"tests/test_scrape.c\",line=\"%u\",function=\"test_own_counters\"}", pidl, l_dup)), 30);
	PT_CHECK_EQ(sample(text, SERIES("pooltag_site_allocations_total{%s,tag=\"Scr1\",pool=\"paged\",module=\"test_scrape\",file=\"tests/test_scrape.c\",line=\"%u\",function=\"test_own_counters\"}", pidl, l_a)), 3);
	PT_CHECK_EQ(sample(text, SERIES("pooltag_site_references_held{%s,tag=\"SObj\",module=\"test_scrape\",file=\"tests/test_scrape.c\",line=\"%u\",function=\"test_own_counters\"}", pidl, l_obj)), 1);
	PT_CHECK_EQ(sample(text, SERIES("pooltag_site_references_held{%s,tag=\"SObj\",module=\"test_scrape\",file=\"tests/test_scrape.c\",line=\"%u\",function=\"test_own_counters\"}", pidl, l_ref)), 2);
	PT_CHECK_EQ(sample(text, "pooltag_scrape_processes"), 1);
	PT_CHECK_EQ(sample(text, "pooltag_scrape_errors_total"), 0);
	PT_CHECK_EQ(sample(text, "pooltag_scrape_skipped_series"), 0);
	free(text);

	/* Without --sites: no site families; a dropped reference shows. */
	pt_obj_deref(obj);
	o = opts(0);
	text = pt_scrape(&o, &st, &len);
	PT_CHECK(text && !strstr(text, "pooltag_site_"));
	if (text) {
		PT_CHECK(well_formed(text));
		PT_CHECK_EQ(sample(text, SERIES("pooltag_references_held{%s,tag=\"SObj\",module=\"test_scrape\"}", pidl)), 2);
		PT_CHECK_EQ(sample(text, SERIES("pooltag_references_released_total{%s,tag=\"SObj\",module=\"test_scrape\"}", pidl)), 1);
	}
	free(text);
out:
	for (int i = 0; i < 3; i++)
		pt_free(a[i], "Scr1");
	pt_free(np[0], "Scr2");
	pt_free(d1, "Dupl");
	pt_free(d2, "Dupl");
	pt_obj_deref(obj);
	pt_obj_deref(obj);
	PT_CHECK_EQ(pt_htable_destroy(ht), 1);
}

/* A pid that no longer exists: a child's, waited for. */
static pid_t dead_pid(void)
{
	pid_t p = fork();

	if (p == 0)
		_exit(0);
	waitpid(p, NULL, 0);
	return p;
}

PT_TEST(test_process_gone_between_listing_and_reading)
{
	struct pt_scrape_state st = {0};
	struct pt_scrape_opts o = opts(0);
	struct pt_segent e[2] = {self_ent(getpid()), {.pid = dead_pid()}};
	size_t len;
	char *text;

	/* The listing saw it live; by the time it is read its segment is gone. */
	snprintf(e[1].path, sizeof(e[1].path), "%s/pooltag-%d", pt_segdir(), (int)e[1].pid);
	text = pt_scrape_list(&o, &st, e, 2, &len);
	PT_CHECK(text && well_formed(text));
	if (text) {
		PT_CHECK_EQ(sample(text, "pooltag_scrape_processes"), 1);
		PT_CHECK_EQ(sample(text, "pooltag_scrape_exited_total"), 1);
		PT_CHECK_EQ(sample(text, "pooltag_scrape_errors_total"), 0);
		PT_CHECK(strstr(text, pidl) != NULL);
	}
	free(text);
	PT_CHECK_EQ(st.exited, 1);
	PT_CHECK_EQ(st.errors, 0);
}

PT_TEST(test_unreadable_segment_is_an_error_not_a_failure)
{
	char bad[512], logbuf[1024] = "";
	struct pt_scrape_state st = {.errors = 5};
	struct pt_scrape_opts o = opts(0);
	struct pt_segent e[2] = {{.pid = 1}, self_ent(getpid())};
	FILE *f, *log = tmpfile();
	size_t len;
	char *text;

	/* pid 1 is alive and its "segment" is there, but it is garbage. */
	snprintf(bad, sizeof(bad), "%s/garbage", pt_segdir());
	f = fopen(bad, "w");
	PT_CHECK(f && log);
	if (!f || !log)
		return;
	fputs("not a segment at all", f);
	fclose(f);
	snprintf(e[0].path, sizeof(e[0].path), "%s", bad);
	o.log = log;
	text = pt_scrape_list(&o, &st, e, 2, &len);
	PT_CHECK(text && well_formed(text));
	if (text) {
		PT_CHECK_EQ(sample(text, "pooltag_scrape_processes"), 1);
		PT_CHECK_EQ(sample(text, "pooltag_scrape_errors_total"), 6); /* cumulative */
		PT_CHECK(strstr(text, pidl) != NULL);
	}
	free(text);
	rewind(log);
	PT_CHECK(fgets(logbuf, sizeof(logbuf), log) != NULL);
	PT_CHECK_HAS(logbuf, "pooltag: exporter: corrupt segment ");
	PT_CHECK_HAS(logbuf, "/garbage: shorter than its header");
	PT_CHECK(fgets(logbuf, sizeof(logbuf), log) == NULL); /* one line */
	fclose(log);
	unlink(bad);
}

PT_TEST(test_segment_not_yet_written)
{
	struct pt_scrape_state st = {0};
	struct pt_scrape_opts o = opts(0);
	struct pt_segent e[2] = {{.pid = 1}, self_ent(getpid())};
	char path[512], zeros[256] = {0};
	FILE *f;
	size_t len;
	char *text;

	/* Created and sized, header not written yet; its magic read while
	 * being stored (some bytes of it, the others still zero, either
	 * way round); then not even sized. */
	snprintf(path, sizeof(path), "%s/unborn", pt_segdir());
	snprintf(e[0].path, sizeof(e[0].path), "%s", path);
	for (int step = 0; step < 4; step++) {
		f = fopen(path, "w");
		PT_CHECK(f != NULL);
		if (!f)
			return;
		memset(zeros, 0, 8);
		if (step == 1)
			memcpy(zeros, "PTSE", 4);
		if (step == 2)
			memcpy(zeros + 5, "MNT", 3);
		if (step < 3)
			fwrite(zeros, 1, sizeof(zeros), f);
		fclose(f);
		text = pt_scrape_list(&o, &st, e, 2, &len);
		PT_CHECK(text && well_formed(text));
		if (text) {
			PT_CHECK_EQ(sample(text, "pooltag_scrape_processes"), 1);
			PT_CHECK_EQ(sample(text, "pooltag_scrape_errors_total"), 0);
			PT_CHECK_EQ(sample(text, "pooltag_scrape_exited_total"), 0);
		}
		free(text);
	}
	unlink(path);
}

PT_TEST(test_limits_count_what_they_leave_out)
{
	struct pt_scrape_state st = {0};
	struct pt_scrape_opts o = opts(1);
	/* The same segment listed under two pids: two "processes". */
	struct pt_segent e[2] = {self_ent(1), self_ent(getpid())};
	void *p = pt_alloc(PT_PAGED, 8, "Lim1");
	long long all;
	size_t len;
	char *text;

	text = pt_scrape_list(&o, &st, e, 2, &len);
	PT_CHECK(text && well_formed(text));
	all = text ? sample(text, "pooltag_scrape_series") : -1;
	PT_CHECK(all > 20);
	if (text) {
		PT_CHECK_EQ(sample(text, "pooltag_scrape_processes"), 2);
		PT_CHECK(strstr(text, "{pid=\"1\",comm=\"test_scrape\"") != NULL);
	}
	free(text);

	o.max_processes = 1;
	text = pt_scrape_list(&o, &st, e, 2, &len);
	PT_CHECK(text && well_formed(text));
	if (text) {
		PT_CHECK_EQ(sample(text, "pooltag_scrape_processes"), 1);
		PT_CHECK_EQ(sample(text, "pooltag_scrape_skipped_processes"), 1);
		PT_CHECK_EQ(sample(text, "pooltag_scrape_series"), all / 2);
		PT_CHECK(strstr(text, "{pid=\"1\",") && !strstr(text, pidl));
	}
	free(text);

	o.max_processes = 100;
	o.max_series = 9;
	text = pt_scrape_list(&o, &st, e, 2, &len);
	PT_CHECK(text && well_formed(text));
	if (text) {
		long long series = sample(text, "pooltag_scrape_series");
		PT_CHECK(series > 0 && series <= 9);
		PT_CHECK_EQ(series + sample(text, "pooltag_scrape_skipped_series"), all);
		PT_CHECK_EQ(sample(text, "pooltag_scrape_processes"), 2);
		PT_CHECK(!strstr(text, pidl)); /* the second process is cut entirely */
	}
	free(text);

	o.max_series = 0;
	text = pt_scrape_list(&o, &st, e, 2, &len);
	PT_CHECK(text && well_formed(text) && !strstr(text, "pid="));
	if (text)
		PT_CHECK_EQ(sample(text, "pooltag_scrape_skipped_series"), all);
	free(text);
	pt_free(p, "Lim1");
}

PT_TEST(test_stale_foreign_and_repeated_pids)
{
	struct pt_scrape_state st = {0};
	struct pt_scrape_opts o = opts(0);
	struct pt_segent e[4] = {self_ent(1), self_ent(2), self_ent(getpid()), self_ent(getpid())};
	size_t len;
	char *text;

	e[0].stale = 1;
	e[1].foreign = 1;
	text = pt_scrape_list(&o, &st, e, 4, &len);
	PT_CHECK(text && well_formed(text));
	if (text) {
		PT_CHECK_EQ(sample(text, "pooltag_scrape_processes"), 1);
		PT_CHECK_EQ(sample(text, "pooltag_scrape_stale_segments"), 1);
		/* A second live segment of one pid would repeat its series. */
		PT_CHECK_EQ(sample(text, "pooltag_scrape_errors_total"), 1);
		PT_CHECK(!strstr(text, "pid=\"1\"") && !strstr(text, "pid=\"2\""));
	}
	free(text);
}

PT_TEST(test_unlistable_directory)
{
	struct pt_scrape_state st = {0};
	struct pt_scrape_opts o = opts(0);
	char *dir = strdup(pt_segdir()), *text;
	size_t len;

	setenv("POOLTAG_DIR", "/nonexistent/pooltag", 1);
	text = pt_scrape(&o, &st, &len);
	setenv("POOLTAG_DIR", dir, 1);
	PT_CHECK(text && well_formed(text));
	if (text) {
		PT_CHECK_EQ(sample(text, "pooltag_scrape_errors_total"), 1);
		PT_CHECK_EQ(sample(text, "pooltag_scrape_processes"), 0);
	}
	free(text);
	free(dir);
}

int main(void)
{
	void *p;

	/* The segment exists once something is allocated. */
	p = pt_alloc(PT_PAGED, 1, "Init");
	pt_free(p, "Init");
	t_obj = pt_objtype_create("ScrapeObject", PT_PAGED, "SObj", NULL, 0);
	snprintf(pidl, sizeof(pidl), "pid=\"%d\",comm=\"test_scrape\"", (int)getpid());
	PT_RUN(test_own_counters);
	PT_RUN(test_process_gone_between_listing_and_reading);
	PT_RUN(test_unreadable_segment_is_an_error_not_a_failure);
	PT_RUN(test_segment_not_yet_written);
	PT_RUN(test_limits_count_what_they_leave_out);
	PT_RUN(test_stale_foreign_and_repeated_pids);
	PT_RUN(test_unlistable_directory);
	PT_RUN(test_nothing_outstanding);
	return pt_test_done();
}
