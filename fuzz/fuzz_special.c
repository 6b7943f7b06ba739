/*
 * fuzz_special.c - the special pool's option parser on arbitrary values,
 * then an allocation through the selection it configured.
 *
 * The first byte picks the key (special, special.module, special.size,
 * special.guard, special.quarantine, special.fill), the rest is the value,
 * as POOLTAG or pt_config would pass it.  A refused value must come with a
 * one-line message naming the key; an accepted one must leave a pool that
 * allocates and frees a block whose tag and size also come from the input
 * (the tag patterns and module glob are matched against it) without a
 * finding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const keys[] = {"special",       "special.module",     "special.size",
				   "special.guard", "special.quarantine", "special.fill"};

static int findings;

static void on_misuse(const struct pt_misuse *m, void *arg)
{
	(void)m;
	(void)arg;
	findings++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char val[512], err[256] = "";
	const char *key;
	size_t n;
	int rc;

	if (size < 1)
		return 0;
	if (!findings)
		pt_misuse_set_hook(on_misuse, NULL);
	key = keys[data[0] % 6];
	n = size - 1 < sizeof(val) - 1 ? size - 1 : sizeof(val) - 1;
	memcpy(val, data + 1, n);
	val[n] = '\0';
	rc = pt_special_option(key, val, err, sizeof(err));
	if (rc != 0 && (!err[0] || !strstr(err, key) || strchr(err, '\n')))
		abort();
	if (rc != 0 && rc != -1)
		abort();
	/* Keep the quarantine small whatever the input asked for: the fuzzer
	 * runs many thousands of allocations in one process. */
	if (pt_special_option("special.quarantine", "16:1M", err, sizeof(err)) != 0)
		abort();
	{
		char tag[5] = "Fz  ";
		size_t bytes = n ? (unsigned char)val[0] * 37u : 1;
		char *p;

		for (size_t i = 0; i < 4 && i < n; i++)
			if (val[i] >= 0x21 && val[i] <= 0x7e)
				tag[i] = val[i];
		p = pt_alloc_at(&(struct pt_site){"fuzz", "fuzz", 1, 0}, PT_PAGED, bytes,
				pt_tag_make(tag));
		if (p) {
			memset(p, 0x5a, bytes);
			pt_free_at(&(struct pt_site){"fuzz", "fuzz", 2, 0}, p, pt_tag_make(tag));
		}
	}
	if (findings)
		abort();
	return 0;
}
