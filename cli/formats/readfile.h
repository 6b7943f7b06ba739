/*
 * readfile.h - reading a whole input file (snapshot, tag file) that nothing
 * vouches for.
 */
#ifndef PT_READFILE_H
#define PT_READFILE_H

#include <stddef.h>

/* Reads a regular file of at most max bytes into a malloc'd buffer (*out,
 * *outlen bytes).  O_NONBLOCK makes opening a FIFO return at once instead of
 * waiting for a writer; anything but a regular file is then refused, so no
 * input can make the CLI hang.  0, or -1 with *why set to a static reason
 * ("not a regular file", "too large") or NULL for strerror(errno). */
int pt_read_file(const char *path, size_t max, char **out, size_t *outlen, const char **why);

#endif /* PT_READFILE_H */
