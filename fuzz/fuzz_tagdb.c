/*
 * fuzz_tagdb.c - libFuzzer target for the pooltag.txt reader and the tag
 * patterns.
 *
 * The input is loaded as a tag file, then looked up with fixed tags, tags
 * cut from the input and a tag added at run time; the start of the input is
 * also used as a pattern.  Besides sanitizer findings it aborts when an
 * invariant breaks: a stored string holding a control character, a row
 * count that disagrees with what loading reported, a tag added and then not
 * found, a pattern that pt_tag_pattern_check accepts not matching itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tagdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t tag_at(const uint8_t *p, size_t n)
{
	uint32_t t = 0;

	for (size_t i = 0; i < 4; i++)
		t |= (uint32_t)(i < n ? p[i] : ' ') << (8 * i);
	return t;
}

static void check_str(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

static void lookup(const struct pt_tagdb *db, uint32_t tag)
{
	const char *bin = NULL, *desc = NULL;

	if (!pt_tagdb_lookup(db, tag, &bin, &desc))
		return;
	if (!bin || !desc)
		abort();
	check_str(bin);
	check_str(desc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fixed[] = {"Proc", "SeTd", "Vad ", "Afd1", "AmlH", "    "};
	struct pt_tagdb *db = pt_tagdb_new();
	char pat[17], err[128];
	size_t n = size < 16 ? size : 16;
	long added;

	if (!db)
		return 0;
	added = pt_tagdb_load_buf(db, (const char *)data, size, "fuzz");
	if (added < 0 || (size_t)added != pt_tagdb_count(db))
		abort();

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		lookup(db, tag_at((const uint8_t *)fixed[i], 4));
	/* Tags cut from the input: where its lines start and at a few offsets. */
	for (size_t i = 0, k = 0; i < size && k < 64; i++) {
		if (i == 0 || data[i - 1] == '\n') {
			size_t j = i;

			while (j < size && (data[j] == ' ' || data[j] == '\t'))
				j++;
			lookup(db, tag_at(data + j, size - j < 4 ? size - j : 4));
			k++;
		}
	}
	for (size_t i = 0; i < size; i += 1 + size / 8)
		lookup(db, tag_at(data + i, size - i < 4 ? size - i : 4));

	/* A tag added now is found afterwards (perhaps under an earlier row). */
	if (size >= 4 && data[0] != ' ' && memchr(data, '?', 4) == NULL &&
	    memchr(data, '*', 4) == NULL) {
		int ok = 1;

		for (size_t i = 0; i < 4; i++)
			ok &= data[i] >= 0x20 && data[i] <= 0x7e;
		if (ok && pt_tagdb_add(db, tag_at(data, 4), "fuzz", "added") == 0 &&
		    !pt_tagdb_lookup(db, tag_at(data, 4), NULL, NULL))
			abort();
	}

	/* Patterns: the input's first 16 bytes (up to a NUL), then all of it. */
	memcpy(pat, data, n);
	pat[n] = '\0';
	if (pt_tag_pattern_check(pat, err, sizeof(err)) == 0) {
		size_t pn = strlen(pat);

		/* A usable pattern without '*' matches the tag it spells, with '?'
		 * standing for itself. */
		if (!strchr(pat, '*') && !pt_tag_match(pat, tag_at((const uint8_t *)pat, pn)))
			abort();
	} else if (!memchr(err, '\0', sizeof(err))) {
		abort();
	}
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		pt_tag_match(pat, tag_at((const uint8_t *)fixed[i], 4));
	if (size >= 4)
		pt_tag_match(pat, tag_at(data + size - 4, 4));
	if (size < 4096) {
		char *all = malloc(size + 1);

		if (all) {
			memcpy(all, data, size);
			all[size] = '\0';
			pt_tag_pattern_check(all, err, sizeof(err));
			pt_tag_match(all, tag_at(data, n < 4 ? n : 4));
			free(all);
		}
	}

	pt_tagdb_free(db);
	return 0;
}
