/*
 * runsupp.c - the suppressions file of pooltag run (runsupp.h): parsing
 * and matching.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runsupp.h"

static const struct {
	const char *name;
	unsigned kinds;
} kinds[] = {{"leak", PT_SUPP_LEAK}, {"fd", PT_SUPP_FD}, {"free", PT_SUPP_FREE}, {"any", PT_SUPP_ANY}};

/* One line (NUL-terminated, blanks trimmed, not empty) into e; NULL, or why not. */
static const char *parse_line(char *line, struct pt_supp_entry *e)
{
	char *colon = strchr(line, ':'), *pat, *at;
	size_t len;

	if (!colon)
		return "want KIND:PATTERN (leak, fd, free or any)";
	*colon = 0;
	e->kinds = 0;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(line, kinds[i].name) == 0)
			e->kinds = kinds[i].kinds;
	if (!e->kinds)
		return "unknown kind (leak, fd, free or any)";
	pat = colon + 1;
	e->depth = -1;
	at = strrchr(pat, '@');
	if (at) {
		char *end;
		long d;
		errno = 0;
		d = strtol(at + 1, &end, 10);
		if (at[1] < '0' || at[1] > '9' || *end || errno || d > 255)
			return "@DEPTH wants a frame number 0 to 255";
		e->depth = (int)d;
		*at = 0;
	}
	len = strlen(pat);
	if (len == 0)
		return "empty pattern";
	if (len >= PT_SUPP_PATTERN)
		return "pattern longer than 255 bytes";
	if (strpbrk(pat, " \t"))
		return "a pattern holds no blanks";
	{
		char *w = e->glob;
		int head = pat[0] == '^', tail = len > (size_t)head && pat[len - 1] == '$';
		if (!head)
			*w++ = '*';
		memcpy(w, pat + head, len - (size_t)head - (size_t)tail);
		w += len - (size_t)head - (size_t)tail;
		if (!tail)
			*w++ = '*';
		*w = 0;
		if (strcmp(e->glob, "") == 0)
			return "empty pattern";
	}
	e->hits = 0;
	return NULL;
}

int pt_supp_parse(struct pt_supp *s, const char *name, const char *text, size_t len, char *err,
		  size_t errlen)
{
	size_t pos = 0, lineno = 0, cap = 0;

	s->e = NULL;
	s->n = 0;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len, a = pos, b = end;
		char line[PT_SUPP_PATTERN + 64];
		const char *why;

		lineno++;
		pos = end + 1;
		while (a < b && (text[a] == ' ' || text[a] == '\t'))
			a++;
		while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\r'))
			b--;
		if (a == b || text[a] == '#')
			continue;
		if (memchr(text + a, 0, b - a)) {
			why = "a NUL byte in the line";
		} else if (b - a >= sizeof(line)) {
			why = "line too long";
		} else if (s->n == PT_SUPP_MAX) {
			why = "more than 1024 suppressions";
		} else {
			struct pt_supp_entry *ne;
			memcpy(line, text + a, b - a);
			line[b - a] = 0;
			if (s->n == cap) {
				size_t nc = cap ? cap * 2 : 16;
				struct pt_supp_entry *ne2 = realloc(s->e, nc * sizeof(*s->e));
				if (ne2) {
					s->e = ne2;
					cap = nc;
				}
			}
			if (s->n == cap) {
				why = "out of memory";
			} else {
				ne = &s->e[s->n];
				why = parse_line(line, ne);
				if (!why)
					s->n++;
			}
		}
		if (why) {
			snprintf(err, errlen, "%s:%zu: %s", name, lineno, why);
			pt_supp_free(s);
			return -1;
		}
	}
	return 0;
}

int pt_supp_load(struct pt_supp *s, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, got;
	int r;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			char *nb;
			cap = cap ? cap * 2 : 4096;
			if (cap > (1u << 24) || !(nb = realloc(buf, cap))) {
				snprintf(err, errlen, "%s: too large", path);
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nb;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	r = ferror(f);
	fclose(f);
	if (r) {
		snprintf(err, errlen, "%s: read error", path);
		free(buf);
		return -1;
	}
	r = pt_supp_parse(s, path, buf ? buf : "", len, err, errlen);
	free(buf);
	return r;
}

void pt_supp_free(struct pt_supp *s)
{
	free(s->e);
	s->e = NULL;
	s->n = 0;
}

static int frame_matches(const char *glob, const struct pt_supp_frame *f)
{
	return (f->func && fnmatch(glob, f->func, 0) == 0) ||
	       (f->file && fnmatch(glob, f->file, 0) == 0) ||
	       (f->module && fnmatch(glob, f->module, 0) == 0);
}

struct pt_supp_entry *pt_supp_match(struct pt_supp *s, unsigned kind,
				    const struct pt_supp_frame *f, size_t n)
{
	for (size_t i = 0; i < s->n; i++) {
		struct pt_supp_entry *e = &s->e[i];
		if (!(e->kinds & kind))
			continue;
		if (e->depth >= 0) {
			if ((size_t)e->depth < n && frame_matches(e->glob, &f[e->depth]))
				return e;
			continue;
		}
		for (size_t j = 0; j < n; j++)
			if (frame_matches(e->glob, &f[j]))
				return e;
	}
	return NULL;
}
