/*
 * test_emit.c - one table description written as text, JSON and CSV
 * (cli/formats/emit.c): the same calls give the three formats, each with
 * its own escaping, alignment and numbers; SKIP and NULL values, layouts,
 * groups, nested rows and empty tables.
 */
#include <math.h>
#include <stdlib.h>

#include "emit.h"
#include "pt_test.h"

/* A small table of files: the name left-aligned, a count right-aligned,
 * a change with its sign, a ratio with two decimals, a flag; the size and
 * the age each in a JSON object of its own; a note in text alone; the age
 * and the name's length in JSON and CSV alone, and a column of the wide
 * layout only. */
enum { V_NAME, V_COUNT, V_DELTA, V_RATIO, V_OK, V_SIZE, V_SEC, V_NOTE, V_LEN, V_WIDE, V_N };

#define TJC PT_IN_ALL
#define T PT_IN_TEXT
#define JC (PT_IN_JSON | PT_IN_CSV)
static const struct pt_emit_col cols[] = {
	{.in = TJC, .val = V_NAME, .key = "name", .title = "Name", .sep = " ", .width = -6},
	{.in = TJC, .val = V_COUNT, .key = "count", .title = "Count", .sep = " ", .width = 6},
	{.in = TJC, .val = V_DELTA, .key = "delta", .title = "+Cnt", .sep = " ", .width = 5},
	{.in = TJC, .val = V_RATIO, .key = "ratio", .title = "Ratio", .sep = " ", .width = 6,
	 .prec = 2},
	{.in = TJC, .val = V_OK, .key = "ok", .title = "OK", .sep = " ", .width = 3},
	{.in = TJC, .val = V_SIZE, .key = "bytes", .group = "size", .title = "Bytes", .sep = " ",
	 .width = 6},
	{.in = JC, .val = V_SEC, .key = "s", .group = "age"},
	{.in = TJC, .layout = 2, .val = V_WIDE, .key = "wide", .title = "Wide", .sep = " ",
	 .width = 5},
	{.in = T, .val = V_NOTE, .title = "", .sep = "   "},
	{.in = JC, .val = V_LEN, .key = "len"},
};
static const struct pt_emit_table table = PT_EMIT_TABLE(cols);

static char *g_buf;
static size_t g_len;

/* An emitter of fmt writing to a buffer; done() returns what it wrote. */
static FILE *start(struct pt_emit *e, enum pt_emit_fmt fmt)
{
	FILE *f = open_memstream(&g_buf, &g_len);

	pt_emit_init(e, f, fmt);
	e->layout = 1;
	return f;
}

static const char *done(FILE *f)
{
	static char out[4096];

	fclose(f);
	snprintf(out, sizeof(out), "%s", g_buf ? g_buf : "");
	free(g_buf);
	g_buf = NULL;
	return out;
}

/* The two rows every format writes, the first with a hostile name. */
static void rows(struct pt_emit *e)
{
	struct pt_val v[V_N] = {0};

	v[V_NAME] = pt_val_str("a\"b,\\\x01");
	v[V_COUNT] = pt_val_u64(UINT64_MAX);
	v[V_DELTA] = pt_val_delta(0);
	v[V_RATIO] = pt_val_dbl(0.125);
	v[V_OK] = pt_val_bool(1);
	v[V_SIZE] = pt_val_u64(4096);
	v[V_SEC] = pt_val_u64(60);
	v[V_WIDE] = pt_val_u64(9);
	v[V_NOTE] = pt_val_str("note");
	v[V_LEN] = pt_val_i64(-1);
	pt_emit_row(e, PT_IN_ALL, &table, v);
	/* Unknown count (NULL), size not part of the row (SKIP), no note. */
	v[V_NAME] = pt_val_str("x");
	v[V_COUNT] = pt_val_null();
	v[V_DELTA] = pt_val_delta(-5);
	v[V_RATIO] = pt_val_dbl(NAN);
	v[V_OK] = pt_val_bool(0);
	v[V_SIZE] = (struct pt_val){0};
	v[V_NOTE] = (struct pt_val){0};
	v[V_LEN] = pt_val_i64(INT64_MIN);
	pt_emit_row(e, PT_IN_ALL, &table, v);
}

static const char *table_in(enum pt_emit_fmt fmt, int spaced)
{
	struct pt_emit e;
	FILE *f = start(&e, fmt);

	e.spaced = spaced;
	pt_emit_text(&e, " Files:\n");
	pt_emit_obj(&e, NULL);
	pt_emit_kv(&e, "format", pt_val_str("test"));
	pt_emit_kv(&e, "skipped", (struct pt_val){0});
	pt_emit_head(&e, &table);
	pt_emit_arr(&e, "files");
	rows(&e);
	pt_emit_end(&e);
	pt_emit_end(&e);
	return done(f);
}

PT_TEST(test_text)
{
	PT_CHECK_STR(table_in(PT_EMIT_TEXT, 0),
		     " Files:\n"
		     " Name    Count  +Cnt  Ratio  OK  Bytes\n"
		     " a\"b,\\? 18446744073709551615    +0   0.12 yes   4096   note\n"
		     " x           -    -5    nan  no\n");
}

PT_TEST(test_json)
{
	PT_CHECK_STR(table_in(PT_EMIT_JSON, 0),
		     "{\"format\":\"test\",\"files\":["
		     "{\"name\":\"a\\\"b,\\\\\\u0001\",\"count\":18446744073709551615,\"delta\":0,"
		     "\"ratio\":0.125,\"ok\":true,\"size\":{\"bytes\":4096},\"age\":{\"s\":60},"
		     "\"len\":-1},"
		     "{\"name\":\"x\",\"count\":null,\"delta\":-5,\"ratio\":0,\"ok\":false,"
		     "\"age\":{\"s\":60},\"len\":-9223372036854775808}]}\n");
}

PT_TEST(test_json_spaced)
{
	PT_CHECK_STR(table_in(PT_EMIT_JSON, 1),
		     "{\"format\": \"test\",\n"
		     " \"files\": [\n"
		     "  {\"name\": \"a\\\"b,\\\\\\u0001\", \"count\": 18446744073709551615, \"delta\": 0, "
		     "\"ratio\": 0.125, \"ok\": true, \"size\": {\"bytes\": 4096}, \"age\": {\"s\": 60}, \"len\": -1},\n"
		     "  {\"name\": \"x\", \"count\": null, \"delta\": -5, \"ratio\": 0, \"ok\": false, "
		     "\"age\": {\"s\": 60}, \"len\": -9223372036854775808}\n"
		     " ]}\n");
}

PT_TEST(test_csv)
{
	PT_CHECK_STR(table_in(PT_EMIT_CSV, 0),
		     "name,count,delta,ratio,ok,bytes,s,len\n"
		     "\"a\"\"b,\\?\",18446744073709551615,0,0.125,yes,4096,60,-1\n"
		     "\"x\",,-5,nan,no,,60,-9223372036854775808\n");
}

/* The wide layout adds its column, in every format. */
PT_TEST(test_layout)
{
	struct pt_emit e;
	struct pt_val v[V_N] = {[V_NAME] = pt_val_str("w"), [V_WIDE] = pt_val_u64(7)};
	FILE *f = start(&e, PT_EMIT_TEXT);

	e.layout = 2;
	pt_emit_head(&e, &table);
	pt_emit_row(&e, PT_IN_ALL, &table, v);
	PT_CHECK_STR(done(f), " Name    Count  +Cnt  Ratio  OK  Bytes  Wide\n w          7\n");
	f = start(&e, PT_EMIT_CSV);
	e.layout = 2;
	pt_emit_head(&e, &table);
	pt_emit_row(&e, PT_IN_ALL, &table, v);
	PT_CHECK_STR(done(f), "name,count,delta,ratio,ok,bytes,s,wide,len\n\"w\",,,,,,,7,\n");
}

/* No row: the header alone in text and CSV, an empty array in JSON. */
PT_TEST(test_empty)
{
	const char *empty = NULL;
	struct pt_emit e;
	FILE *f;

	for (int fmt = PT_EMIT_TEXT; fmt <= PT_EMIT_CSV; fmt++) {
		for (int spaced = 0; spaced < 2; spaced++) {
			f = start(&e, (enum pt_emit_fmt)fmt);
			e.spaced = spaced;
			pt_emit_obj(&e, NULL);
			pt_emit_head(&e, &table);
			pt_emit_arr(&e, "files");
			pt_emit_end(&e);
			pt_emit_end(&e);
			empty = done(f);
			if (fmt == PT_EMIT_TEXT)
				PT_CHECK_STR(empty, " Name    Count  +Cnt  Ratio  OK  Bytes\n");
			else if (fmt == PT_EMIT_CSV)
				PT_CHECK_STR(empty, "name,count,delta,ratio,ok,bytes,s,len\n");
			else
				PT_CHECK_STR(empty, spaced ? "{\n \"files\": [\n ]}\n" : "{\"files\":[]}\n");
		}
	}
}

/* A row left open takes an array of sub-rows in JSON; text and CSV write
 * the lines one after the other.  A row written in some formats only is
 * not in the others. */
PT_TEST(test_nested_and_restricted)
{
	static const struct pt_emit_col sub_cols[] = {
		{.in = PT_IN_ALL, .val = 0, .key = "at", .sep = "   at ", .title = NULL},
	};
	static const struct pt_emit_table sub = PT_EMIT_TABLE(sub_cols);
	struct pt_val v[V_N] = {[V_NAME] = pt_val_str("p"), [V_COUNT] = pt_val_u64(2)};
	struct pt_val s[1] = {pt_val_str("f.c:1")};
	static const char *const want[] = {
		" p           2\n   at f.c:1\n   at only text\n",
		"[{\"name\":\"p\",\"count\":2,\"subs\":[{\"at\":\"f.c:1\"}]}]\n",
		"\"p\",2,,,,,,\n\"f.c:1\"\n\"csv\"\n",
	};

	for (int fmt = PT_EMIT_TEXT; fmt <= PT_EMIT_CSV; fmt++) {
		struct pt_emit e;
		FILE *f = start(&e, (enum pt_emit_fmt)fmt);

		pt_emit_arr(&e, NULL);
		pt_emit_row_open(&e, PT_IN_ALL, &table, v);
		pt_emit_arr(&e, "subs");
		pt_emit_row(&e, PT_IN_ALL, &sub, s);
		pt_emit_end(&e);
		pt_emit_end(&e);
		s[0] = pt_val_str("only text");
		pt_emit_row(&e, PT_IN_TEXT, &sub, s);
		s[0] = pt_val_str("csv");
		pt_emit_row(&e, PT_IN_CSV, &sub, s);
		s[0] = pt_val_str("f.c:1");
		pt_emit_end(&e);
		PT_CHECK_STR(done(f), want[fmt]);
	}
}

/* A table with no title writes no header line; a row whose cells are all
 * SKIP writes no line. */
PT_TEST(test_untitled_and_skipped)
{
	static const struct pt_emit_col c[] = {
		{.in = PT_IN_TEXT, .val = 0, .sep = " ", .width = 4},
		{.in = PT_IN_TEXT, .val = 1, .sep = "\t"},
	};
	static const struct pt_emit_table t = PT_EMIT_TABLE(c);
	struct pt_val v[2] = {pt_val_str("ab")};
	struct pt_emit e;
	FILE *f = start(&e, PT_EMIT_TEXT);

	pt_emit_head(&e, &t);
	pt_emit_row(&e, PT_IN_ALL, &t, v);
	v[0] = (struct pt_val){0};
	pt_emit_row(&e, PT_IN_ALL, &t, v);
	PT_CHECK_STR(done(f), "   ab\n");
}

/* A word of the program's own is bare in CSV, a string in JSON. */
PT_TEST(test_word)
{
	static const struct pt_emit_col c[] = {
		{.in = PT_IN_ALL, .val = 0, .key = "pool", .title = "Pool", .sep = " ", .width = -8},
		{.in = PT_IN_ALL, .val = 1, .key = "name", .title = "Name", .sep = " "},
	};
	static const struct pt_emit_table t = PT_EMIT_TABLE(c);
	static const char *const want[] = {
		" Pool     Name\n paged    paged\n",
		"{\"pool\":\"paged\",\"name\":\"paged\"}\n",
		"pool,name\npaged,\"paged\"\n",
	};
	struct pt_val v[2] = {pt_val_word("paged"), pt_val_str("paged")};

	for (int fmt = PT_EMIT_TEXT; fmt <= PT_EMIT_CSV; fmt++) {
		struct pt_emit e;
		FILE *f = start(&e, (enum pt_emit_fmt)fmt);

		pt_emit_head(&e, &t);
		pt_emit_row(&e, PT_IN_ALL, &t, v);
		PT_CHECK_STR(done(f), want[fmt]);
	}
}

/* An untrusted string reaches a text cell with its control bytes and DEL
 * as '?', one for one, so that it is padded as its raw length says; bytes
 * from 0x80 up (UTF-8) pass. */
PT_TEST(test_unsafe_text)
{
	static const struct pt_emit_col c[] = {
		{.in = PT_IN_TEXT, .val = 0, .sep = " ", .width = -8},
		{.in = PT_IN_TEXT, .val = 1, .sep = "|", .width = 8},
		{.in = PT_IN_TEXT, .val = 2, .sep = "|"},
	};
	static const struct pt_emit_table t = PT_EMIT_TABLE(c);
	struct pt_val v[3] = {pt_val_str("\033[2J"), pt_val_str("a\r\x7f\xc3\xa9"),
			      pt_val_str("\033]0;x\a\n")};
	struct pt_emit e;
	FILE *f = start(&e, PT_EMIT_TEXT);

	pt_emit_row(&e, PT_IN_ALL, &t, v);
	PT_CHECK_STR(done(f), " ?[2J    |   a??\xc3\xa9|?]0;x??\n");
}

/* CSV writes an untrusted string's unsafe bytes as text does: control
 * bytes and DEL alike. */
PT_TEST(test_unsafe_csv)
{
	static const struct pt_emit_col c[] = {
		{.in = PT_IN_ALL, .val = 0, .key = "name", .sep = " "},
	};
	static const struct pt_emit_table t = PT_EMIT_TABLE(c);
	static const char *const want[] = {
		" ?[2Ja??\xc3\xa9?\n",
		"{\"name\":\"\\u001b[2Ja\\u000d\\u007f\xc3\xa9\\u0007\"}\n",
		"name\n\"?[2Ja??\xc3\xa9?\"\n",
	};
	struct pt_val v[1] = {pt_val_str("\033[2Ja\r\x7f\xc3\xa9\a")};

	for (int fmt = PT_EMIT_TEXT; fmt <= PT_EMIT_CSV; fmt++) {
		struct pt_emit e;
		FILE *f = start(&e, (enum pt_emit_fmt)fmt);

		pt_emit_head(&e, &t);
		pt_emit_row(&e, PT_IN_ALL, &t, v);
		PT_CHECK_STR(done(f), want[fmt]);
	}
}

int main(void)
{
	PT_RUN(test_text);
	PT_RUN(test_json);
	PT_RUN(test_json_spaced);
	PT_RUN(test_csv);
	PT_RUN(test_layout);
	PT_RUN(test_empty);
	PT_RUN(test_nested_and_restricted);
	PT_RUN(test_untitled_and_skipped);
	PT_RUN(test_word);
	PT_RUN(test_unsafe_text);
	PT_RUN(test_unsafe_csv);
	return pt_test_done();
}
