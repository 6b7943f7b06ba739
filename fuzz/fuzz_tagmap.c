/*
 * fuzz_tagmap.c - libFuzzer target for the tag-map parser of pooltag run
 * (common/tagmap.c).
 *
 * The input is parsed as a tag map; the start of it also as a wrapper
 * list.  Besides sanitizer findings it aborts when an invariant breaks: a
 * rule with an empty pattern or one holding a blank, a module or func rule
 * whose tag is not printable, a skip rule with a tag, an error without a
 * "NAME:LINE: " prefix, more rules than the limit.  Every rule is then
 * matched against a fixed name and against itself.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tagmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct pt_tagmap *m)
{
	if (m->n > PT_TAGMAP_MAX_RULES)
		abort();
	for (size_t i = 0; i < m->n; i++) {
		const struct pt_tagmap_rule *r = &m->rules[i];
		size_t len = strlen(r->glob);
		if (len == 0 || len > PT_TAGMAP_GLOB_MAX || strpbrk(r->glob, " \t\r\n"))
			abort();
		if (r->kind == PT_TAGMAP_SKIP ? r->tag != 0 : r->tag == 0)
			abort();
		for (int b = 0; r->kind != PT_TAGMAP_SKIP && b < 4; b++) {
			unsigned c = (r->tag >> (8 * b)) & 0xff;
			if (c < 0x20 || c > 0x7e)
				abort();
		}
		(void)pt_tagmap_match(m, r->kind, "libsqlite3.so.0");
		(void)pt_tagmap_match(m, r->kind, r->glob);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_tagmap m = {0};
	char err[512], list[300];
	size_t n;

	err[0] = 0;
	if (pt_tagmap_parse(&m, (const char *)data, size, "fuzz", err, sizeof(err)) != 0 &&
	    strncmp(err, "fuzz:", 5) != 0)
		abort();
	check(&m);
	n = size < sizeof(list) - 1 ? size : sizeof(list) - 1;
	memcpy(list, data, n);
	list[n] = 0;
	(void)pt_tagmap_add_skips(&m, list, err, sizeof(err));
	check(&m);
	pt_tagmap_free(&m);
	return 0;
}
