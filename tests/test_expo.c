/*
 * test_expo.c - the Prometheus text writer: HELP and TYPE once per family,
 * samples grouped by family whatever order they came in, names checked,
 * label values escaped so that any bytes give valid UTF-8 text, tags as
 * label values.
 */
#include <stdlib.h>
#include <string.h>

#include "expo.h"
#include "pooltag.h"
#include "pt_test.h"

/* The labels l[0, n) rendered; a static buffer. */
static const char *render(const struct pt_expo_label *l, size_t n)
{
	static char out[4096];
	struct pt_strbuf b = {0};

	if (pt_expo_labels(&b, l, n) != 0) {
		pt_strbuf_free(&b);
		return NULL;
	}
	snprintf(out, sizeof(out), "%s", b.p ? b.p : "");
	pt_strbuf_free(&b);
	return out;
}

static const char *value(const char *v)
{
	struct pt_expo_label l = {"v", v};
	return render(&l, 1);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

PT_TEST(test_families_grouped_help_and_type_once)
{
	struct pt_expo e;
	size_t len = 0;
	char *text;
	int a, b, c;

	pt_expo_init(&e);
	a = pt_expo_family(&e, "x_bytes", PT_EXPO_GAUGE, "Bytes of x.");
	b = pt_expo_family(&e, "x_events_total", PT_EXPO_COUNTER, "Events \\ of x.");
	c = pt_expo_family(&e, "x_unused", PT_EXPO_GAUGE, "Never sampled.");
	PT_CHECK(a >= 0 && b >= 0 && c >= 0);
	/* Interleaved, as a scrape adds them process by process. */
	PT_CHECK_EQ(pt_expo_add(&e, b, "{p=\"1\"}", 5), 0);
	PT_CHECK_EQ(pt_expo_add(&e, a, "{p=\"1\"}", 10), 0);
	PT_CHECK_EQ(pt_expo_add(&e, b, "{p=\"2\"}", 18446744073709551615ull), 0);
	PT_CHECK_EQ(pt_expo_add(&e, a, "{p=\"2\"}", 0), 0);
	PT_CHECK_EQ(pt_expo_add_double(&e, a, "", 0.25), 0);
	PT_CHECK_EQ(pt_expo_add(&e, 7, "", 1), -1);
	PT_CHECK_EQ(pt_expo_add(&e, -1, "", 1), -1);
	PT_CHECK_EQ(e.nsamples, 5);
	text = pt_expo_text(&e, &len);
	PT_CHECK(text != NULL);
	if (text) {
		PT_CHECK_EQ(len, strlen(text));
		PT_CHECK_STR(text, "# HELP x_bytes Bytes of x.\n"
				   "# TYPE x_bytes gauge\n"
				   "x_bytes{p=\"1\"} 10\n"
				   "x_bytes{p=\"2\"} 0\n"
				   "x_bytes 0.25\n"
				   "# HELP x_events_total Events \\\\ of x.\n"
				   "# TYPE x_events_total counter\n"
				   "x_events_total{p=\"1\"} 5\n"
				   "x_events_total{p=\"2\"} 18446744073709551615\n");
		PT_CHECK_EQ(count(text, "# TYPE"), 2);
		PT_CHECK(!strstr(text, "x_unused"));
	}
	free(text);
	pt_expo_free(&e);
}

PT_TEST(test_nothing_sampled_is_empty_text)
{
	struct pt_expo e;
	size_t len = 99;
	char *text;

	pt_expo_init(&e);
	pt_expo_family(&e, "a", PT_EXPO_GAUGE, "A.");
	text = pt_expo_text(&e, &len);
	PT_CHECK(text != NULL);
	PT_CHECK_EQ(len, 0);
	PT_CHECK_STR(text, "");
	free(text);
	pt_expo_free(&e);
}

PT_TEST(test_family_names_checked)
{
	struct pt_expo e;

	pt_expo_init(&e);
	PT_CHECK(pt_expo_family(&e, "ok_name:sub", PT_EXPO_GAUGE, "h") >= 0);
	PT_CHECK_EQ(pt_expo_family(&e, "ok_name:sub", PT_EXPO_GAUGE, "h"), -1);    /* twice */
	PT_CHECK_EQ(pt_expo_family(&e, "ok_name:sub", PT_EXPO_COUNTER, "h"), -1);  /* twice */
	PT_CHECK_EQ(pt_expo_family(&e, "requests", PT_EXPO_COUNTER, "h"), -1);      /* no _total */
	PT_CHECK_EQ(pt_expo_family(&e, "total", PT_EXPO_COUNTER, "h"), -1);
	PT_CHECK_EQ(pt_expo_family(&e, "9lives", PT_EXPO_GAUGE, "h"), -1);
	PT_CHECK_EQ(pt_expo_family(&e, "a-b", PT_EXPO_GAUGE, "h"), -1);
	PT_CHECK_EQ(pt_expo_family(&e, "", PT_EXPO_GAUGE, "h"), -1);
	PT_CHECK_EQ(pt_expo_family(&e, "two_lines", PT_EXPO_GAUGE, "a\nb"), -1);
	PT_CHECK(pt_expo_family(&e, "_x_total", PT_EXPO_COUNTER, "h") >= 0);
	PT_CHECK_EQ(e.nfams, 2);
	pt_expo_free(&e);
}

PT_TEST(test_label_names_checked)
{
	struct pt_expo_label good[] = {{"pid", "1"}, {"_x9", "2"}};
	struct pt_expo_label dunder[] = {{"__name__", "x"}};
	struct pt_expo_label colon[] = {{"a:b", "x"}};
	struct pt_expo_label digit[] = {{"1a", "x"}};

	PT_CHECK_STR(render(good, 2), "{pid=\"1\",_x9=\"2\"}");
	PT_CHECK_STR(render(good, 0), "");
	PT_CHECK(render(dunder, 1) == NULL);
	PT_CHECK(render(colon, 1) == NULL);
	PT_CHECK(render(digit, 1) == NULL);
}

PT_TEST(test_values_escaped)
{
	PT_CHECK_STR(value("plain text"), "{v=\"plain text\"}");
	PT_CHECK_STR(value("a\\b\"c\nd"), "{v=\"a\\\\b\\\"c\\nd\"}");
	PT_CHECK_STR(value("tab\tcr\rdel\x7f" "bell\a"), "{v=\"tab?cr?del?bell?\"}");
	PT_CHECK_STR(value(""), "{v=\"\"}");
	/* Valid UTF-8 passes; broken sequences become one '?' per byte. */
	PT_CHECK_STR(value("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
		     "{v=\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}");
	PT_CHECK_STR(value("a\xff" "b"), "{v=\"a?b\"}");
	PT_CHECK_STR(value("\xc3"), "{v=\"?\"}");              /* cut short */
	PT_CHECK_STR(value("\xc3\x28"), "{v=\"?(\"}");         /* bad continuation */
	PT_CHECK_STR(value("\xc0\xaf"), "{v=\"??\"}");         /* overlong '/' */
	PT_CHECK_STR(value("\xed\xa0\x80"), "{v=\"???\"}");    /* a surrogate */
	PT_CHECK_STR(value("\xf4\x90\x80\x80"), "{v=\"????\"}"); /* above U+10FFFF */
	PT_CHECK_STR(value("\xe0\x80\xaf"), "{v=\"???\"}");    /* overlong, 3 bytes */
}

PT_TEST(test_long_values_cut_at_a_character)
{
	char *s = malloc(PT_EXPO_MAX_VALUE + 100);
	const char *out;

	if (!s)
		return;
	memset(s, 'a', PT_EXPO_MAX_VALUE + 99);
	s[PT_EXPO_MAX_VALUE + 99] = 0;
	out = value(s);
	PT_CHECK_EQ(strlen(out), PT_EXPO_MAX_VALUE + 6); /* {v="...."} */
	/* A two-byte character across the limit is dropped whole. */
	memcpy(s + PT_EXPO_MAX_VALUE - 1, "\xc3\xa9", 2);
	out = value(s);
	PT_CHECK_EQ(strlen(out), PT_EXPO_MAX_VALUE - 1 + 6);
	PT_CHECK(out[strlen(out) - 3] == 'a');
	free(s);
}

PT_TEST(test_tags_as_label_values)
{
	char out[11];

	PT_CHECK_STR(pt_expo_tag(PT_TAG("Proc"), out), "Proc");
	PT_CHECK_STR(pt_expo_tag(PT_TAG("Hdr "), out), "Hdr ");
	PT_CHECK_STR(pt_expo_tag(PT_TAG("Ab"), out), "Ab  ");
	PT_CHECK_STR(pt_expo_tag(PT_TAG("a\"\\~"), out), "a\"\\~");
	/* A byte outside printable ASCII: the whole tag in hex, first
	 * character first. */
	PT_CHECK_STR(pt_expo_tag(0x43 << 24 | 0x0a << 16 | 0x42 << 8 | 0x41, out), "0x41420a43");
	PT_CHECK_STR(pt_expo_tag(0, out), "0x00000000");
	PT_CHECK_STR(pt_expo_tag(0xffffffffu, out), "0xffffffff");
	PT_CHECK_STR(pt_expo_tag(0x7f414141, out), "0x4141417f");
	/* A printable tag still goes through the escaping of values. */
	struct pt_expo_label l = {"tag", pt_expo_tag(PT_TAG("a\"\\~"), out)};
	PT_CHECK_STR(render(&l, 1), "{tag=\"a\\\"\\\\~\"}");
}

PT_TEST(test_strbuf_grows)
{
	struct pt_strbuf b = {0};

	for (int i = 0; i < 1000; i++)
		pt_strbuf_printf(&b, "%04d,", i);
	pt_strbuf_printf(&b, "%s", "");
	PT_CHECK(!b.oom);
	PT_CHECK_EQ(b.len, 5000);
	PT_CHECK(strncmp(b.p, "0000,0001,", 10) == 0);
	PT_CHECK_STR(b.p + 4995, "0999,");
	/* Longer than printf's small buffer in one go. */
	char big[600];
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	pt_strbuf_printf(&b, "[%s]", big);
	PT_CHECK_EQ(b.len, 5000 + 601);
	PT_CHECK(b.p[b.len - 1] == ']' && b.p[5000] == '[');
	pt_strbuf_free(&b);
}

int main(void)
{
	PT_RUN(test_families_grouped_help_and_type_once);
	PT_RUN(test_nothing_sampled_is_empty_text);
	PT_RUN(test_family_names_checked);
	PT_RUN(test_label_names_checked);
	PT_RUN(test_values_escaped);
	PT_RUN(test_long_values_cut_at_a_character);
	PT_RUN(test_tags_as_label_values);
	PT_RUN(test_strbuf_grows);
	return pt_test_done();
}
