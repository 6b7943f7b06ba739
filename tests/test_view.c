/*
 * test_view.c - the in-memory view: strings are copies owned by the view,
 * arrays grow, string chunks hold small and big strings alike.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pooltag.h"
#include "pt_test.h"
#include "view.h"

PT_TEST(test_strings_are_copied)
{
	struct pt_view v;
	char file[16] = "a.c", func[16] = "main", bin[16] = "nt!ps", desc[16] = "Process";
	struct pt_row r = {.tag = PT_TAG("Proc"),
	                   .pool = PT_NONPAGED,
	                   .line = 7,
	                   .nallocs = 3,
	                   .nfrees = 1,
	                   .bytes_alloc = 30,
	                   .bytes_freed = 10};

	pt_view_init(&v);
	r.file = file;
	r.func = func;
	PT_CHECK_EQ(pt_view_add_row(&v, &r), 0);
	PT_CHECK_EQ(pt_view_add_desc(&v, PT_TAG("Proc"), bin, desc), 0);
	memset(file, 'x', sizeof(file) - 1);
	memset(func, 'x', sizeof(func) - 1);
	memset(bin, 'x', sizeof(bin) - 1);
	memset(desc, 'x', sizeof(desc) - 1);
	PT_CHECK_EQ(v.nrows, 1);
	PT_CHECK_EQ(v.ndescs, 1);
	PT_CHECK_STR(v.rows[0].file, "a.c");
	PT_CHECK_STR(v.rows[0].func, "main");
	PT_CHECK(v.rows[0].file != file && v.rows[0].func != func);
	PT_CHECK_EQ(v.rows[0].tag, PT_TAG("Proc"));
	PT_CHECK_EQ(v.rows[0].pool, PT_NONPAGED);
	PT_CHECK_EQ(v.rows[0].line, 7);
	PT_CHECK(v.rows[0].nallocs == 3 && v.rows[0].nfrees == 1);
	PT_CHECK(v.rows[0].bytes_alloc == 30 && v.rows[0].bytes_freed == 10);
	PT_CHECK_STR(v.descs[0].binary, "nt!ps");
	PT_CHECK_STR(v.descs[0].desc, "Process");
	PT_CHECK_EQ(v.descs[0].tag, PT_TAG("Proc"));
	pt_view_free(&v);
}

PT_TEST(test_null_strings_become_empty)
{
	struct pt_view v;
	struct pt_row r = {0};

	pt_view_init(&v);
	PT_CHECK_EQ(pt_view_add_row(&v, &r), 0);
	PT_CHECK_EQ(pt_view_add_desc(&v, PT_TAG("Ab"), NULL, NULL), 0);
	PT_CHECK_STR(v.rows[0].file, "");
	PT_CHECK_STR(v.rows[0].func, "");
	PT_CHECK_STR(v.descs[0].binary, "");
	PT_CHECK_STR(v.descs[0].desc, "");
	pt_view_free(&v);
}

/* pt_view_strdup copies exactly len bytes, embedded bytes included, and
 * strings of every size stay intact while more are added. */
PT_TEST(test_strdup)
{
	struct pt_view v;
	const char *s[300];
	size_t sizes[300], i, j;
	char *src = malloc(100000);
	int bad = 0;

	pt_view_init(&v);
	PT_CHECK_STR(pt_view_strdup(&v, "abcdef", 3), "abc");
	PT_CHECK_STR(pt_view_strdup(&v, NULL, 0), "");
	for (i = 0; i < 100000; i++)
		src[i] = (char)('a' + i % 26);
	for (i = 0; i < 300; i++) {
		/* Mostly small, some just around a quarter chunk, a few huge. */
		sizes[i] = i % 50 == 0 ? 20000 + i : i % 7 == 0 ? 4090 + i % 10 : i;
		s[i] = pt_view_strdup(&v, src + i % 26, sizes[i]);
		PT_CHECK(s[i] != NULL);
	}
	for (i = 0; i < 300; i++) {
		if (!s[i])
			continue;
		bad += strlen(s[i]) != sizes[i];
		for (j = 0; j < sizes[i]; j++)
			bad += s[i][j] != (char)('a' + (i % 26 + j) % 26);
	}
	PT_CHECK_EQ(bad, 0);
	free(src);
	pt_view_free(&v);
	/* Freed views are empty and can be freed again. */
	PT_CHECK(v.chunks == NULL && v.rows == NULL && v.nrows == 0);
	pt_view_free(&v);
}

PT_TEST(test_growth_to_100k_rows)
{
	struct pt_view v;
	struct pt_row r = {.tag = PT_TAG("Grow")};
	char file[32];
	size_t i;
	int bad = 0;

	pt_view_init(&v);
	for (i = 0; i < 100000; i++) {
		snprintf(file, sizeof(file), "f%zu.c", i);
		r.file = file;
		r.func = i % 2 ? "odd" : NULL;
		r.line = (uint32_t)i;
		r.nallocs = i;
		if (pt_view_add_row(&v, &r) < 0) {
			bad++;
			break;
		}
		if (i % 10 == 0 && pt_view_add_desc(&v, (uint32_t)i, file, "d") < 0)
			bad++;
	}
	PT_CHECK_EQ(bad, 0);
	PT_CHECK_EQ(v.nrows, 100000);
	PT_CHECK_EQ(v.ndescs, 10000);
	PT_CHECK(v.rows_cap >= v.nrows && v.descs_cap >= v.ndescs);
	for (i = 0; i < v.nrows; i++) {
		snprintf(file, sizeof(file), "f%zu.c", i);
		bad += strcmp(v.rows[i].file, file) != 0;
		bad += strcmp(v.rows[i].func, i % 2 ? "odd" : "") != 0;
		bad += v.rows[i].line != i || v.rows[i].nallocs != i;
	}
	for (i = 0; i < v.ndescs; i++) {
		snprintf(file, sizeof(file), "f%zu.c", i * 10);
		bad += strcmp(v.descs[i].binary, file) != 0 || v.descs[i].tag != i * 10;
	}
	PT_CHECK_EQ(bad, 0);
	pt_view_free(&v);
}

int main(void)
{
	PT_RUN(test_strings_are_copied);
	PT_RUN(test_null_strings_become_empty);
	PT_RUN(test_strdup);
	PT_RUN(test_growth_to_100k_rows);
	return pt_test_done();
}
