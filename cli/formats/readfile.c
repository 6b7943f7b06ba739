/*
 * readfile.c - reading a whole input file, safely.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readfile.h"

int pt_read_file(const char *path, size_t max, char **out, size_t *outlen, const char **why)
{
	struct stat st;
	size_t cap, len = 0;
	char *buf = NULL;
	int fd, e;

	*why = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0)
		goto fail;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		goto fail;
	}
	if ((uint64_t)st.st_size > max) {
		*why = "too large";
		goto fail;
	}
	/* st_size is a hint (a file may grow, /proc files say 0): read to EOF,
	 * but never more than the limit plus one byte to detect overflow. */
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	if (!buf)
		goto fail;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			size_t ncap = cap > max / 2 ? max + 1 : cap * 2;
			char *nbuf;

			if (len > max) {
				*why = "too large";
				goto fail;
			}
			nbuf = realloc(buf, ncap);
			if (!nbuf)
				goto fail;
			buf = nbuf;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*out = buf;
	*outlen = len;
	return 0;
fail:
	e = errno;
	free(buf);
	close(fd);
	errno = e;
	return -1;
}

