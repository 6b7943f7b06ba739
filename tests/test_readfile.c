/*
 * test_readfile.c - reading a whole untrusted input file
 * (cli/formats/readfile.c): a file of exactly the limit is read and one
 * byte more is refused; a file whose size says 0 (/proc) is read to its
 * end; a FIFO with no writer, a directory and a missing file are refused
 * at once, each with its reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pt_test.h"
#include "readfile.h"

static char dir[64] = "/tmp/pt-test-readfile.XXXXXX";
static char path[128];

static int write_file(size_t n)
{
	FILE *f = fopen(path, "w");
	size_t w = 0;

	if (!f)
		return -1;
	for (size_t i = 0; i < n; i++)
		w += fputc('a' + (int)(i % 26), f) != EOF;
	return fclose(f) == 0 && w == n ? 0 : -1;
}

PT_TEST(test_limit)
{
	char *buf = NULL;
	size_t len = 0;
	const char *why = "unset";

	PT_CHECK_EQ(write_file(1000), 0);
	PT_CHECK_EQ(pt_read_file(path, 1000, &buf, &len, &why), 0);
	PT_CHECK_EQ(len, 1000);
	PT_CHECK(why == NULL);
	PT_CHECK(buf && buf[0] == 'a' && buf[999] == 'a' + 999 % 26);
	free(buf);
	buf = NULL;
	PT_CHECK_EQ(pt_read_file(path, 999, &buf, &len, &why), -1);
	PT_CHECK_STR(why, "too large");
	PT_CHECK(buf == NULL);
	PT_CHECK_EQ(write_file(0), 0);
	PT_CHECK_EQ(pt_read_file(path, 0, &buf, &len, &why), 0);
	PT_CHECK_EQ(len, 0);
	free(buf);
	unlink(path);
}

/* /proc files say size 0: read to the end, and the limit still holds. */
PT_TEST(test_size_zero_files)
{
	char *buf = NULL, *again = NULL;
	size_t len = 0, len2 = 0;
	const char *why = NULL;
	struct stat st;

	PT_CHECK_EQ(stat("/proc/self/maps", &st), 0);
	PT_CHECK_EQ(st.st_size, 0);
	PT_CHECK_EQ(pt_read_file("/proc/self/maps", 1 << 20, &buf, &len, &why), 0);
	PT_CHECK(len > 100);
	PT_CHECK(buf && memchr(buf, '\n', len) != NULL && buf[len - 1] == '\n');
	/* A limit below what is there: too large, found while reading. */
	PT_CHECK_EQ(pt_read_file("/proc/self/cmdline", 3, &again, &len2, &why), -1);
	PT_CHECK_STR(why, "too large");
	free(buf);
}

PT_TEST(test_refused)
{
	char fifo[160];
	char *buf = NULL;
	size_t len = 0;
	const char *why = NULL;

	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	PT_CHECK_EQ(mkfifo(fifo, 0600), 0);
	PT_CHECK_EQ(pt_read_file(fifo, 100, &buf, &len, &why), -1); /* never waits */
	PT_CHECK_STR(why, "not a regular file");
	unlink(fifo);
	PT_CHECK_EQ(pt_read_file("/dev/null", 100, &buf, &len, &why), -1);
	PT_CHECK_STR(why, "not a regular file");
	why = "unset";
	errno = 0;
	PT_CHECK_EQ(pt_read_file(dir, 100, &buf, &len, &why), -1);
	PT_CHECK(why == NULL);
	PT_CHECK_EQ(errno, EISDIR);
	why = "unset";
	errno = 0;
	PT_CHECK_EQ(pt_read_file("/nonexistent/file", 100, &buf, &len, &why), -1);
	PT_CHECK(why == NULL);
	PT_CHECK_EQ(errno, ENOENT);
	PT_CHECK(buf == NULL);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/input", dir);
	PT_RUN(test_limit);
	PT_RUN(test_size_zero_files);
	PT_RUN(test_refused);
	rmdir(dir);
	return pt_test_done();
}
