/*
 * fuzz_runsupp.c - libFuzzer target for the suppressions parser of pooltag
 * run (common/runsupp.c).
 *
 * The input is parsed as a suppressions file.  Besides sanitizer findings it
 * aborts when an invariant breaks: an error without a "fuzz:LINE: " prefix,
 * more entries than the limit, an entry with no kind, a depth out of range,
 * a pattern that is empty or holds a blank.  Every entry is then matched
 * against fixed frames and against a frame named by its own pattern.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runsupp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_supp s;
	char err[512];
	struct pt_supp_frame f[3] = {{"main", "leaky.c", "leaky"},
				     {"xstrdup", NULL, "libc.so.6"},
				     {NULL, NULL, NULL}};

	err[0] = 0;
	if (pt_supp_parse(&s, "fuzz", (const char *)data, size, err, sizeof(err)) != 0) {
		if (strncmp(err, "fuzz:", 5) != 0 || s.n != 0 || s.e)
			abort();
		return 0;
	}
	if (s.n > PT_SUPP_MAX)
		abort();
	for (size_t i = 0; i < s.n; i++) {
		const struct pt_supp_entry *e = &s.e[i];
		struct pt_supp_frame self = {e->glob, e->glob, e->glob};
		if (!e->kinds || (e->kinds & ~(unsigned)PT_SUPP_ANY) || e->depth < -1 || e->depth > 255 ||
		    !e->glob[0] || strpbrk(e->glob, " \t"))
			abort();
		(void)pt_supp_match(&s, PT_SUPP_LEAK, f, 3);
		(void)pt_supp_match(&s, PT_SUPP_FREE, &self, 1);
	}
	pt_supp_free(&s);
	return 0;
}
