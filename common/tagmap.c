/*
 * tagmap.c - the tag-map file of `pooltag run` (docs/tagmap-format.md).
 *
 * One rule per line, fields separated by blanks:
 *	module GLOB TAG    allocations made by code of a module whose file name matches
 *	func GLOB TAG      allocations made in a function whose name matches
 *	skip GLOB          a function that wraps malloc: its caller is charged
 * '#' starts a comment; blank lines are ignored.  Everything is checked: a
 * bad line is an error naming the file and the line, never skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tagmap.h"

#define MAX_FILE (1u << 20)

static int add(struct pt_tagmap *m, enum pt_tagmap_kind kind, const char *glob, size_t glen,
	       uint32_t tag)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct pt_tagmap_rule *r = realloc(m->rules, cap * sizeof(*r));
		if (!r)
			return -1;
		m->rules = r;
		m->cap = cap;
	}
	m->rules[m->n].kind = kind;
	m->rules[m->n].tag = tag;
	memcpy(m->rules[m->n].glob, glob, glen);
	m->rules[m->n].glob[glen] = 0;
	m->n++;
	return 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Splits line [p, end) into at most 4 fields; returns how many there are
 * (4 means "too many"). */
static int fields(const char *p, const char *end, const char *f[4], size_t flen[4])
{
	int n = 0;

	while (p < end) {
		while (p < end && is_blank(*p))
			p++;
		if (p == end || *p == '#')
			break;
		if (n == 4)
			return 4;
		f[n] = p;
		while (p < end && !is_blank(*p))
			p++;
		flen[n] = (size_t)(p - f[n]);
		n++;
	}
	return n;
}

static int field_is(const char *f, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(f, word, len) == 0;
}

/* The tag of a field of 1 to 4 printable characters, space padded; 0 if
 * it is not one. */
static uint32_t field_tag(const char *f, size_t len)
{
	uint32_t tag = 0;

	if (len < 1 || len > 4)
		return 0;
	for (size_t i = 0; i < 4; i++) {
		unsigned char c = i < len ? (unsigned char)f[i] : ' ';
		if (c < 0x21 && i < len)
			return 0;
		if (c > 0x7e)
			return 0;
		tag |= (uint32_t)c << (8 * i);
	}
	return tag;
}

static int line_err(char *err, size_t errlen, const char *name, unsigned line, const char *what)
{
	snprintf(err, errlen, "%s:%u: %s", name, line, what);
	return -1;
}

int pt_tagmap_parse(struct pt_tagmap *m, const char *text, size_t len, const char *name,
		    char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	unsigned line = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *f[4];
		size_t flen[4];
		int n;
		enum pt_tagmap_kind kind;
		uint32_t tag = 0;

		if (!eol)
			eol = end;
		line++;
		if (memchr(p, 0, (size_t)(eol - p)))
			return line_err(err, errlen, name, line, "a NUL byte in the line");
		n = fields(p, eol, f, flen);
		p = eol + 1;
		if (n == 0)
			continue;
		if (field_is(f[0], flen[0], "module"))
			kind = PT_TAGMAP_MODULE;
		else if (field_is(f[0], flen[0], "func"))
			kind = PT_TAGMAP_FUNC;
		else if (field_is(f[0], flen[0], "skip"))
			kind = PT_TAGMAP_SKIP;
		else
			return line_err(err, errlen, name, line,
					"expected 'module GLOB TAG', 'func GLOB TAG' or 'skip GLOB'");
		if (n != (kind == PT_TAGMAP_SKIP ? 2 : 3))
			return line_err(err, errlen, name, line,
					kind == PT_TAGMAP_SKIP ? "'skip' takes one pattern"
							       : "expected a pattern and a tag");
		if (flen[1] > PT_TAGMAP_GLOB_MAX)
			return line_err(err, errlen, name, line, "pattern longer than 255 characters");
		if (kind != PT_TAGMAP_SKIP && !(tag = field_tag(f[2], flen[2])))
			return line_err(err, errlen, name, line,
					"a tag is 1 to 4 printable ASCII characters");
		if (m->n >= PT_TAGMAP_MAX_RULES)
			return line_err(err, errlen, name, line, "more than 4096 rules");
		if (add(m, kind, f[1], flen[1], tag) != 0)
			return line_err(err, errlen, name, line, "out of memory");
	}
	return 0;
}

int pt_tagmap_load(struct pt_tagmap *m, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf;
	size_t len = 0;
	ssize_t r;
	int rc;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(MAX_FILE + 1);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	while ((r = read(fd, buf + len, MAX_FILE + 1 - len)) > 0 && len + (size_t)r <= MAX_FILE)
		len += (size_t)r;
	if (r != 0) {
		int e = r < 0 ? errno : EFBIG;
		free(buf);
		close(fd);
		snprintf(err, errlen, "%s: %s", path, e == EFBIG ? "larger than 1 MiB" : strerror(e));
		return -1;
	}
	close(fd);
	rc = pt_tagmap_parse(m, buf, len, path, err, errlen);
	free(buf);
	return rc;
}

int pt_tagmap_add_skips(struct pt_tagmap *m, const char *list, char *err, size_t errlen)
{
	const char *p = list;

	while (*p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);

		int printable = 1;

		for (size_t i = 0; i < n; i++)
			printable &= (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f;
		if (n == 0 || n > PT_TAGMAP_GLOB_MAX || !printable) {
			snprintf(err, errlen, "a wrapper pattern is 1 to 255 printable characters without blanks");
			return -1;
		}
		if (m->n >= PT_TAGMAP_MAX_RULES || add(m, PT_TAGMAP_SKIP, p, n, 0) != 0) {
			snprintf(err, errlen, "too many wrapper patterns");
			return -1;
		}
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

uint32_t pt_tagmap_match(const struct pt_tagmap *m, enum pt_tagmap_kind kind, const char *s)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->rules[i].kind == kind && fnmatch(m->rules[i].glob, s, 0) == 0)
			return kind == PT_TAGMAP_SKIP ? 1 : m->rules[i].tag;
	return 0;
}

void pt_tagmap_free(struct pt_tagmap *m)
{
	free(m->rules);
	*m = (struct pt_tagmap){0};
}
