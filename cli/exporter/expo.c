/*
 * expo.c - the Prometheus text exposition format, written (see expo.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expo.h"

struct pt_expo_family {
	char *name, *help;
	enum pt_expo_type type;
	struct pt_strbuf body; /* its sample lines */
};

/* ---------------------------------------------------------------------------
 * Byte strings */

void pt_strbuf_free(struct pt_strbuf *b)
{
	free(b->p);
	*b = (struct pt_strbuf){0};
}

/* Room for n more bytes and a NUL; 0, or -1 (oom set). */
static int reserve(struct pt_strbuf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return -1;
	if (b->len + n + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n + 1) {
		if (cap > SIZE_MAX / 2) {
			b->oom = 1;
			return -1;
		}
		cap *= 2;
	}
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void pt_strbuf_add(struct pt_strbuf *b, const char *s, size_t n)
{
	if (reserve(b, n) != 0)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

void pt_strbuf_puts(struct pt_strbuf *b, const char *s)
{
	pt_strbuf_add(b, s, strlen(s));
}

void pt_strbuf_printf(struct pt_strbuf *b, const char *fmt, ...)
{
	va_list ap;
	char small[128];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = 1;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		pt_strbuf_add(b, small, (size_t)n);
		return;
	}
	if (reserve(b, (size_t)n) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* ---------------------------------------------------------------------------
 * Names and values */

static int name_ok(const char *s, int colons)
{
	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return 0;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || (colons && c == ':')))
			return 0;
	}
	return 1;
}

/* Length of the valid UTF-8 sequence starting at s (at most n bytes), or 0:
 * overlong forms, surrogates and code points above U+10FFFF are not valid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static void put_value(struct pt_strbuf *b, const char *value)
{
	const unsigned char *s = (const unsigned char *)value;
	size_t full = strlen(value), i = 0;
	size_t n = full < PT_EXPO_MAX_VALUE ? full : PT_EXPO_MAX_VALUE;

	while (i < n) {
		size_t k = utf8_len(s + i, full - i);

		if (k > 1) {
			if (i + k > n)
				break; /* a character the length limit cuts through */
			pt_strbuf_add(b, (const char *)s + i, k);
			i += k;
			continue;
		}
		if (s[i] == '\\')
			pt_strbuf_add(b, "\\\\", 2);
		else if (s[i] == '"')
			pt_strbuf_add(b, "\\\"", 2);
		else if (s[i] == '\n')
			pt_strbuf_add(b, "\\n", 2);
		else if (k == 0 || s[i] < 0x20 || s[i] == 0x7f)
			pt_strbuf_add(b, "?", 1);
		else
			pt_strbuf_add(b, (const char *)s + i, 1);
		i++;
	}
}

int pt_expo_labels(struct pt_strbuf *b, const struct pt_expo_label *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!name_ok(l[i].name, 0) || strncmp(l[i].name, "__", 2) == 0)
			return -1;
	if (n == 0)
		return 0;
	pt_strbuf_add(b, "{", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			pt_strbuf_add(b, ",", 1);
		pt_strbuf_puts(b, l[i].name);
		pt_strbuf_add(b, "=\"", 2);
		put_value(b, l[i].value ? l[i].value : "");
		pt_strbuf_add(b, "\"", 1);
	}
	pt_strbuf_add(b, "}", 1);
	return 0;
}

char *pt_expo_tag(uint32_t tag, char out[11])
{
	unsigned char c[4];
	int printable = 1;

	for (int i = 0; i < 4; i++) {
		c[i] = (unsigned char)(tag >> (8 * i));
		printable &= c[i] >= 0x20 && c[i] <= 0x7e;
	}
	if (printable)
		snprintf(out, 11, "%c%c%c%c", c[0], c[1], c[2], c[3]);
	else
		snprintf(out, 11, "0x%02x%02x%02x%02x", c[0], c[1], c[2], c[3]);
	return out;
}

/* ---------------------------------------------------------------------------
 * Families and samples */

void pt_expo_init(struct pt_expo *e)
{
	*e = (struct pt_expo){0};
}

void pt_expo_free(struct pt_expo *e)
{
	for (size_t i = 0; i < e->nfams; i++) {
		free(e->fams[i].name);
		free(e->fams[i].help);
		pt_strbuf_free(&e->fams[i].body);
	}
	free(e->fams);
	*e = (struct pt_expo){0};
}

int pt_expo_family(struct pt_expo *e, const char *name, enum pt_expo_type type, const char *help)
{
	struct pt_expo_family *f;
	size_t n;

	if (!name_ok(name, 1) || !help || strchr(help, '\n'))
		return -1;
	n = strlen(name);
	if (type == PT_EXPO_COUNTER && (n < 6 || strcmp(name + n - 6, "_total") != 0))
		return -1;
	for (size_t i = 0; i < e->nfams; i++)
		if (strcmp(e->fams[i].name, name) == 0)
			return -1;
	if (e->nfams == e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 16;
		f = realloc(e->fams, cap * sizeof(*f));
		if (!f) {
			e->oom = 1;
			return -1;
		}
		e->fams = f;
		e->cap = cap;
	}
	f = &e->fams[e->nfams];
	*f = (struct pt_expo_family){.name = strdup(name), .help = strdup(help), .type = type};
	if (!f->name || !f->help) {
		free(f->name);
		free(f->help);
		e->oom = 1;
		return -1;
	}
	return (int)e->nfams++;
}

static struct pt_expo_family *sample_start(struct pt_expo *e, int fam, const char *labels)
{
	struct pt_expo_family *f;

	if (fam < 0 || (size_t)fam >= e->nfams)
		return NULL;
	f = &e->fams[fam];
	pt_strbuf_puts(&f->body, f->name);
	pt_strbuf_puts(&f->body, labels ? labels : "");
	e->nsamples++;
	return f;
}

int pt_expo_add(struct pt_expo *e, int fam, const char *labels, uint64_t value)
{
	struct pt_expo_family *f = sample_start(e, fam, labels);

	if (!f)
		return -1;
	pt_strbuf_printf(&f->body, " %llu\n", (unsigned long long)value);
	return f->body.oom ? -1 : 0;
}

int pt_expo_add_double(struct pt_expo *e, int fam, const char *labels, double value)
{
	struct pt_expo_family *f = sample_start(e, fam, labels);

	if (!f)
		return -1;
	pt_strbuf_printf(&f->body, " %.15g\n", value);
	return f->body.oom ? -1 : 0;
}

/* HELP text escapes only backslash and line feed (and has no line feed:
 * pt_expo_family refuses one). */
static void put_help(struct pt_strbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			pt_strbuf_add(b, "\\\\", 2);
		else
			pt_strbuf_add(b, s, 1);
	}
}

char *pt_expo_text(const struct pt_expo *e, size_t *len)
{
	struct pt_strbuf b = {0};

	if (e->oom)
		return NULL;
	for (size_t i = 0; i < e->nfams; i++) {
		const struct pt_expo_family *f = &e->fams[i];
		if (f->body.oom) {
			b.oom = 1;
			break;
		}
		if (!f->body.len)
			continue;
		pt_strbuf_printf(&b, "# HELP %s ", f->name);
		put_help(&b, f->help);
		pt_strbuf_printf(&b, "\n# TYPE %s %s\n", f->name,
				 f->type == PT_EXPO_COUNTER ? "counter" : "gauge");
		pt_strbuf_add(&b, f->body.p, f->body.len);
	}
	if (!b.oom && !b.p)
		pt_strbuf_add(&b, "", 0);
	if (b.oom) {
		pt_strbuf_free(&b);
		return NULL;
	}
	*len = b.len;
	return b.p;
}
