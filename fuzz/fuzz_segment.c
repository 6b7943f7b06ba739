/*
 * fuzz_segment.c - the export-segment reader on arbitrary bytes.
 *
 * The input becomes the content of a memfd that pt_segread_fd reads, as the
 * CLI reads a segment file another process could have written anything
 * into.  A successful read must yield a view whose invariants hold.
 *
 * A header that declares a file larger than the input (up to 1 TiB) has
 * the file extended to that size, sparse: the reader must then refuse or
 * read it in time and memory bounded by what the file holds (the fuzzer's
 * time and memory limits catch a reader that trusts the declared sizes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "segread.h"
#include "view.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct pt_view v;
	char err[512];

	if (fd < 0)
		fd = memfd_create("fuzz_segment", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	if (size >= 24) {
		uint64_t declared;
		memcpy(&declared, data + 16, sizeof(declared)); /* the header's size */
		if (declared > size && declared <= (1ull << 40) && ftruncate(fd, (off_t)declared) != 0)
			abort();
	}
	pt_view_init(&v);
	if (pt_segread_fd(&v, fd, "input", err, sizeof(err)) == 0) {
		for (size_t i = 0; i < v.nrows; i++) {
			const struct pt_row *r = &v.rows[i];
			if (r->nfrees > r->nallocs || r->bytes_freed > r->bytes_alloc || r->pool > 3 ||
			    !r->module || !r->file || !r->func)
				abort();
		}
		for (size_t i = 0; i < v.nsamples; i++) {
			const struct pt_vsample *sm = &v.samples[i];
			if (sm->depth > PT_VSAMPLE_FRAMES || sm->nlive > sm->ntaken || sm->pool > 1 ||
			    !sm->file || !sm->func)
				abort();
			for (unsigned f = 0; f < sm->depth; f++)
				if (!sm->frames[f].path)
					abort();
		}
	}
	pt_view_free(&v);
	return 0;
}
