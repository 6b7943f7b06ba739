/*
 * kernel.c - the live kernel as a target: $POOLTAG_PROC/allocinfo found,
 * refused with the reason when the kernel does not offer it, read with the
 * list of loaded modules; kernel snapshots written (allocinfo.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "allocinfo.h"
#include "readfile.h"

/* The largest file read: a kernel has tens of thousands of sites, a few
 * MiB of text. */
#define PT_KMAX_FILE ((size_t)256 << 20)

const char *pt_allocinfo_procdir(void)
{
	const char *d = getenv("POOLTAG_PROC");

	return d && *d ? d : "/proc";
}

/* PROC/sys/vm/mem_profiling: 1 on, 0 off, -1 no such file (an older
 * kernel, or a directory standing for /proc without it: not judged). */
static int profiling_on(const char *dir)
{
	char path[PATH_MAX], *buf;
	size_t len;
	const char *why;
	int on;

	snprintf(path, sizeof(path), "%s/sys/vm/mem_profiling", dir);
	if (pt_read_file(path, 64, &buf, &len, &why) != 0)
		return -1;
	on = !(len >= 1 && buf[0] == '0' && (len == 1 || buf[1] == '\n'));
	free(buf);
	return on;
}

/* The names of PROC/modules (first field of each line) as "a\nb\n", into
 * v; left NULL (unknown) when the file cannot be read. */
static int load_modules(struct pt_view *v, const char *dir)
{
	char path[PATH_MAX], *buf, *out;
	const char *why;
	size_t len, o = 0;

	snprintf(path, sizeof(path), "%s/modules", dir);
	if (pt_read_file(path, PT_KMAX_FILE, &buf, &len, &why) != 0)
		return 0;
	out = malloc(len + 1);
	if (!out) {
		free(buf);
		return -1;
	}
	for (size_t i = 0; i < len;) {
		size_t e = i, w;
		while (e < len && buf[e] != '\n')
			e++;
		for (w = i; w < e && buf[w] != ' '; w++)
			;
		if (pt_kmod_name_ok(buf + i, w - i)) {
			memcpy(out + o, buf + i, w - i);
			o += w - i;
			out[o++] = '\n';
		}
		i = e + 1;
	}
	v->kernel_modules = pt_view_strdup(v, out, o);
	free(out);
	free(buf);
	return v->kernel_modules ? 0 : -1;
}

int pt_allocinfo_load(struct pt_view *v, char *err, size_t errlen)
{
	const char *dir = pt_allocinfo_procdir(), *why;
	char path[PATH_MAX], *buf;
	struct timespec ts;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "%s/allocinfo", dir);
	if (access(path, F_OK) != 0) {
		snprintf(err, errlen,
			 "kernel: %s does not exist: this kernel does not offer memory allocation "
			 "profiling (it needs Linux 6.10 or later built with "
			 "CONFIG_MEM_ALLOC_PROFILING, not booted with sysctl.vm.mem_profiling=never)",
			 path);
		return -1;
	}
	if (profiling_on(dir) == 0) {
		snprintf(err, errlen,
			 "kernel: memory allocation profiling is switched off (%s/sys/vm/mem_profiling "
			 "is 0), so %s holds no current counts: enable it with 'sysctl "
			 "vm.mem_profiling=1' as root, or boot with sysctl.vm.mem_profiling=1; it "
			 "counts allocations made from then on",
			 dir, path);
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	if (pt_read_file(path, PT_KMAX_FILE, &buf, &len, &why) != 0) {
		int e = errno;
		if (!why && (e == EACCES || e == EPERM))
			snprintf(err, errlen,
				 "kernel: cannot read %s: %s: the kernel lets only root read it "
				 "(run pooltag as root, for example with sudo)",
				 path, strerror(e));
		else
			snprintf(err, errlen, "kernel: cannot read %s: %s", path,
				 why ? (why[0] == 't' ? "larger than 256 MiB" : why) : strerror(e));
		return -1;
	}
	rc = pt_allocinfo_parse(v, buf, len, path, NULL, err, errlen);
	free(buf);
	if (rc != 0)
		return -1;
	v->taken_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (load_modules(v, dir) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int pt_allocinfo_check(char *err, size_t errlen)
{
	struct pt_view v;
	int rc;

	pt_view_init(&v);
	rc = pt_allocinfo_load(&v, err, errlen);
	pt_view_free(&v);
	return rc;
}

/* ---------------------------------------------------------------------------
 * Writing a kernel snapshot
 */

static void emit(FILE *f, const struct pt_view *v)
{
	size_t nmods = 0;
	const char *m = v->kernel_modules;

	for (const char *c = m; c && *c; c++)
		nmods += *c == '\n';
	fprintf(f, "%s %d\ntaken %" PRId64 "\nsource ", PT_KSNAP_MAGIC, PT_KSNAP_VERSION,
		v->taken_ns);
	for (const char *c = v->kernel_source; *c; c++)
		fputc((unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c, f);
	fprintf(f, "\nformat %s\n", v->kernel_format);
	if (m) {
		fprintf(f, "modules %zu\n", nmods);
		for (const char *c = m; *c;) {
			const char *e = strchr(c, '\n');
			fprintf(f, "module %.*s\n", (int)(e - c), c);
			c = e + 1;
		}
	}
	/* The body in the 2.0 layout, which can say "accurate:no". */
	fputs("allocinfo - version: 2.0\n#     <size>  <calls> <tag info>\n", f);
	for (size_t i = 0; i < v->nrows; i++) {
		const struct pt_row *r = &v->rows[i];
		fprintf(f, "%12" PRIu64 " %8" PRIu64 " %s:%" PRIu32 " ", r->bytes_alloc, r->nallocs,
			r->file, r->line);
		if (*r->module)
			fprintf(f, "[%s] ", r->module);
		fprintf(f, "func:%s%s \n", r->func, r->flags & PT_ROW_INEXACT ? " accurate:no" : "");
	}
}

int pt_allocinfo_write(const struct pt_view *v, const char *path, char *err, size_t errlen)
{
	static const char tmpl[] = ".pooltag-ksnap.XXXXXX";
	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
	char *tmp = malloc(dlen + sizeof(tmpl));
	FILE *f = NULL;
	int fd = -1, e = 0;

	if (!v->kernel_format) {
		snprintf(err, errlen, "cannot write %s: not a view of the kernel", path);
		free(tmp);
		return -1;
	}
	if (!tmp) {
		e = ENOMEM;
		goto fail;
	}
	memcpy(tmp, path, dlen);
	memcpy(tmp + dlen, tmpl, sizeof(tmpl));
	if ((fd = mkstemp(tmp)) < 0) {
		e = errno;
		free(tmp);
		tmp = NULL;
		goto fail;
	}
	if (!(f = fdopen(fd, "w"))) {
		e = errno;
		close(fd);
		goto fail;
	}
	errno = 0;
	emit(f, v);
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0) {
		e = errno ? errno : EIO;
		goto fail;
	}
	e = fclose(f) != 0 ? errno : 0;
	f = NULL;
	if (e || rename(tmp, path) != 0) {
		e = e ? e : errno;
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	if (f)
		fclose(f);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	snprintf(err, errlen, "cannot write snapshot %s: %s", path, strerror(e));
	return -1;
}
