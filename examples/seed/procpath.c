/*
 * procpath.c - get_process_image_path(), the routine of the seed's story.
 *
 * The driver's author copied it years ago from a well-regarded forum and
 * adjusted it a little.  It takes a reference on the process and opens a
 * handle to it, queries the image path through the handle, and releases
 * both, but only on the success path: the two error branches (buffer too
 * small, query failed) return without closing the handle and without
 * dereferencing the process.  Normal runs rarely take them.  Here the
 * driver's 64-byte buffer is one byte short for most image paths, so they
 * are taken for nearly every process.
 *
 * Built with -DSEY_FIXED (libsey_fixed.so) the error branches release too.
 * The acquiring lines are the same in both builds; the unload report names
 * them.
 */
#include <errno.h>

#include "host_api.h"
#include "sey.h"

int get_process_image_path(uint64_t pid, char *buf, size_t len)
{
	struct proc *proc;
	pt_handle h;
	size_t needed;
	enum query_status st;

	proc = ps_lookup_process(pid); /* takes a reference */
	if (!proc)
		return -ENOENT;
	if (ob_open_process(proc, &h) != 0) { /* opens a handle */
		ob_dereference(proc);
		return -EACCES;
	}

	st = zw_query_image_name(h, buf, len, &needed);
	if (st == QUERY_BUFFER_TOO_SMALL) {
#ifdef SEY_FIXED
		zw_close(h);
		ob_dereference(proc);
#endif
		return -ENAMETOOLONG; /* unless SEY_FIXED: h and proc still held */
	}
	if (st != QUERY_OK) {
#ifdef SEY_FIXED
		zw_close(h);
		ob_dereference(proc);
#endif
		return -EIO; /* the same */
	}

	zw_close(h);
	ob_dereference(proc);
	return 0;
}
