/*
 * allocinfo.c - /proc/allocinfo and pooltag's kernel snapshots read into a
 * view (the live file is found in kernel.c, module names shown in kmod.c).
 *
 * The grammar (docs/allocinfo-format.md), one line at a time:
 *
 *	allocinfo - version: 1.0 | 2.0
 *	#     <size>  <calls> <tag info>
 *	BYTES CALLS FILE:LINE [MODULE] func:FUNCTION [KEY:VALUE ...]
 *
 * BYTES is signed (the kernel prints an s64), CALLS unsigned; "[MODULE]" is
 * there only for sites in loadable modules; KEY:VALUE pairs exist from
 * version 2.0 on ("accurate:no").  Fields are separated by runs of spaces.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocinfo.h"
#include "pooltag.h"

/* Longer module names are refused (the kernel's limit is 55 bytes). */
#define PT_KMAX_MODNAME 255
#define PT_KFORMATS "1.0 and 2.0"

static const char version_prefix[] = "allocinfo - version: ";

/* ---------------------------------------------------------------------------
 * Module ids
 */

/* Names to ids, and the ids taken, in two open-addressing tables of a
 * power-of-two size kept at most half full.  Names point into the view. */
struct kmods {
	const char **name;
	uint32_t *id;     /* id[i] of name[i] */
	uint32_t *taken;  /* ids in use; slot empty when used[i] is 0 */
	unsigned char *used;
	size_t cap, n;
};

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void kmods_free(struct kmods *m)
{
	free(m->name);
	free(m->id);
	free(m->taken);
	free(m->used);
	memset(m, 0, sizeof(*m));
}

static int kmods_grow(struct kmods *m)
{
	struct kmods b = {0};
	size_t cap = m->cap ? m->cap * 2 : 64;

	b.cap = cap;
	b.name = calloc(cap, sizeof(*b.name));
	b.id = calloc(cap, sizeof(*b.id));
	b.taken = calloc(cap, sizeof(*b.taken));
	b.used = calloc(cap, 1);
	if (!b.name || !b.id || !b.taken || !b.used) {
		kmods_free(&b);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (m->name[i]) {
			size_t j = fnv1a(m->name[i]) & (cap - 1);
			while (b.name[j])
				j = (j + 1) & (cap - 1);
			b.name[j] = m->name[i];
			b.id[j] = m->id[i];
		}
		if (m->used[i]) {
			size_t j = m->taken[i] & (cap - 1);
			while (b.used[j])
				j = (j + 1) & (cap - 1);
			b.used[j] = 1;
			b.taken[j] = m->taken[i];
		}
	}
	b.n = m->n;
	kmods_free(m);
	*m = b;
	return 0;
}

static int id_taken(const struct kmods *m, uint32_t id)
{
	for (size_t j = id & (m->cap - 1); m->used[j]; j = (j + 1) & (m->cap - 1))
		if (m->taken[j] == id)
			return 1;
	return 0;
}

/* The id of module name (a string the view owns): its hash, or the next
 * free value when another name has it.  0, or -1 on out of memory. */
static int kmods_id(struct kmods *m, const char *name, uint32_t *out)
{
	uint32_t id;
	size_t j;

	if ((m->n + 1) * 2 > m->cap && kmods_grow(m) != 0)
		return -1;
	for (j = fnv1a(name) & (m->cap - 1); m->name[j]; j = (j + 1) & (m->cap - 1))
		if (strcmp(m->name[j], name) == 0) {
			*out = m->id[j];
			return 0;
		}
	for (id = fnv1a(name); id_taken(m, id); id++)
		;
	m->name[j] = name;
	m->id[j] = id;
	{
		size_t k = id & (m->cap - 1);
		while (m->used[k])
			k = (k + 1) & (m->cap - 1);
		m->used[k] = 1;
		m->taken[k] = id;
	}
	m->n++;
	*out = id;
	return 0;
}

/* ---------------------------------------------------------------------------
 * Parsing
 */

struct kparser {
	struct pt_view *v;
	struct pt_allocinfo *info;
	struct kmods mods;
	const char *name;
	size_t line;
	int v2; /* format 2.0: key:value pairs may follow */
	char *err;
	size_t errlen;
};

static int kfail(struct kparser *p, const char *fmt, const char *arg)
{
	char why[256];

	snprintf(why, sizeof(why), fmt, arg);
	snprintf(p->err, p->errlen, "%s:%zu: %s", p->name, p->line, why);
	return -1;
}

static int koom(struct kparser *p)
{
	snprintf(p->err, p->errlen, "out of memory");
	return -1;
}

/* A field: the next run of non-blanks of s[*pos..n), as (*f, *fl). */
static int next_field(const char *s, size_t n, size_t *pos, const char **f, size_t *fl)
{
	size_t i = *pos;

	while (i < n && s[i] == ' ')
		i++;
	if (i == n)
		return 0;
	*f = s + i;
	while (i < n && s[i] != ' ')
		i++;
	*fl = (size_t)(s + i - *f);
	*pos = i;
	return 1;
}

/* Decimal digits only, no sign; 0 on overflow or anything else. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 1;
}

/* The text of a field for a message: at most 40 bytes, control bytes as '?'. */
static const char *shown(const char *s, size_t n, char *buf)
{
	size_t i;

	for (i = 0; i < n && i < 40; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = 0;
	return buf;
}

/* A site line being cut into fields: the parser's copy (fields are cut in
 * place), its length, where the next field starts. */
struct kline {
	char *s;
	size_t n, pos;
};

/* BYTES (the first field, f[0..fl)) and CALLS into r.  A sum of per-CPU
 * counters read while they moved can come out below zero: shown as 0,
 * marked inexact.  CALLS is printed unsigned, so its negative values
 * arrive above 2^63. */
static int site_counts(struct kparser *p, struct kline *l, const char *f, size_t fl,
		       struct pt_row *r)
{
	uint64_t bytes, calls;
	char b[48];
	int neg = 0;

	if (fl > 1 && f[0] == '-')
		neg = 1;
	if (!parse_u64(f + neg, fl - (size_t)neg, &bytes) || bytes > INT64_MAX)
		return kfail(p, "size '%s' is not a number of bytes", shown(f, fl, b));
	if (!next_field(l->s, l->n, &l->pos, &f, &fl))
		return kfail(p, "%sline cut short after the size", "");
	if (!parse_u64(f, fl, &calls))
		return kfail(p, "call count '%s' is not a number", shown(f, fl, b));
	if ((neg && bytes) || calls > INT64_MAX) {
		r->flags |= PT_ROW_INEXACT;
		bytes = neg ? 0 : bytes;
		calls = calls > INT64_MAX ? 0 : calls;
	}
	r->nallocs = calls;
	r->bytes_alloc = bytes;
	return 0;
}

/* FILE:LINE, [MODULE] if there, func:FUNCTION into r; l->pos past them. */
static int site_where(struct kparser *p, struct kline *l, struct pt_row *r)
{
	const char *f, *colon = NULL;
	size_t fl;
	uint64_t line;
	char b[48];

	if (!next_field(l->s, l->n, &l->pos, &f, &fl))
		return kfail(p, "%sline cut short after the call count", "");
	for (size_t i = fl; i-- > 0;)
		if (f[i] == ':') {
			colon = f + i;
			break;
		}
	if (!colon || colon == f || !parse_u64(colon + 1, (size_t)(f + fl - colon - 1), &line) ||
	    line > UINT32_MAX)
		return kfail(p, "'%s' is not FILE:LINE", shown(f, fl, b));
	r->line = (uint32_t)line;
	l->s[colon - l->s] = 0;
	r->file = f;
	if (!next_field(l->s, l->n, &l->pos, &f, &fl))
		return kfail(p, "%sline cut short after FILE:LINE", "");
	if (f[0] == '[') {
		if (fl < 3 || f[fl - 1] != ']' || fl - 2 > PT_KMAX_MODNAME ||
		    memchr(f + 1, '[', fl - 2) || memchr(f + 1, ']', fl - 2))
			return kfail(p, "'%s' is not a module name in brackets", shown(f, fl, b));
		l->s[f + fl - 1 - l->s] = 0;
		r->module = f + 1;
		if (!next_field(l->s, l->n, &l->pos, &f, &fl))
			return kfail(p, "%sline cut short after the module", "");
	}
	if (fl < 6 || memcmp(f, "func:", 5) != 0)
		return kfail(p, "'%s' is not func:FUNCTION", shown(f, fl, b));
	r->func = f + 5;
	l->pos = (size_t)(f + fl - l->s);
	l->s[l->pos] = 0; /* the blank after it, or the end of the copy */
	if (l->pos < l->n)
		l->pos++;
	return 0;
}

/* The KEY:VALUE pairs after the function (format 2.0): accurate:no marks
 * r inexact, keys this reader does not know are counted. */
static int site_pairs(struct kparser *p, struct kline *l, struct pt_row *r)
{
	const char *f;
	size_t fl;
	char b[48];

	while (next_field(l->s, l->n, &l->pos, &f, &fl)) {
		const char *c = memchr(f, ':', fl);
		if (!p->v2)
			return kfail(p, "'%s' after the function: format 1.0 has nothing there",
				     shown(f, fl, b));
		if (!c || c == f || c == f + fl - 1)
			return kfail(p, "'%s' is not a KEY:VALUE pair", shown(f, fl, b));
		if (fl == 11 && memcmp(f, "accurate:no", 11) == 0)
			r->flags |= PT_ROW_INEXACT;
		else if (!(fl == 12 && memcmp(f, "accurate:yes", 12) == 0))
			p->info->nunknown++;
	}
	return 0;
}

/* One site line: "BYTES CALLS FILE:LINE [MODULE] func:FUNCTION [K:V ...]".
 * s is the parser's own copy of the line: fields are cut in place. */
static int site_line(struct kparser *p, char *s, size_t n)
{
	struct pt_row r = {.pool = PT_NONPAGED, .module = ""};
	struct kline l = {s, n, 0};
	const char *f;
	size_t fl;

	if (!next_field(s, n, &l.pos, &f, &fl))
		return 0; /* a blank line */
	if (site_counts(p, &l, f, fl, &r) < 0 || site_where(p, &l, &r) < 0 ||
	    site_pairs(p, &l, &r) < 0)
		return -1;
	if (pt_view_add_row(p->v, &r) != 0)
		return koom(p);
	/* The id table keys on the view's copy of the name, which lives as
	 * long as the view. */
	struct pt_row *added = &p->v->rows[p->v->nrows - 1];
	if (kmods_id(&p->mods, added->module, &added->tag) != 0)
		return koom(p);
	p->info->nsites++;
	if (r.flags & PT_ROW_INEXACT)
		p->info->ninexact++;
	return 0;
}

/* The version line: 1 read (p->v2 set), or -1 refused. */
static int version_line(struct kparser *p, const char *s, size_t n)
{
	size_t pl = sizeof(version_prefix) - 1;
	char b[48];

	while (n && s[n - 1] == ' ')
		n--;
	if (n < pl || memcmp(s, version_prefix, pl) != 0)
		return kfail(p, "'%s' is not the allocinfo version line "
				"(\"allocinfo - version: 1.0\")", shown(s, n, b));
	s += pl;
	n -= pl;
	if (n == 3 && (memcmp(s, "1.0", 3) == 0 || memcmp(s, "2.0", 3) == 0)) {
		p->v2 = s[0] == '2';
		p->v->kernel_format = p->v2 ? "2.0" : "1.0";
		return 1;
	}
	return kfail(p, "allocinfo format version '%s': this pooltag reads " PT_KFORMATS,
		     shown(s, n, b));
}

/* The header line: "#", "<size>", "<calls>", "<tag info>" with any spacing. */
static int header_line(struct kparser *p, const char *s, size_t n)
{
	static const char *const want[] = {"#", "<size>", "<calls>", "<tag", "info>"};
	const char *f;
	size_t fl, pos = 0, k = 0;
	char b[48];

	while (next_field(s, n, &pos, &f, &fl)) {
		if (k == 5 || strlen(want[k]) != fl || memcmp(want[k], f, fl) != 0)
			return kfail(p, "'%s' is not the header \"#     <size>  <calls> <tag info>\"",
				     shown(s, n, b));
		k++;
	}
	if (k != 5)
		return kfail(p, "'%s' is not the header \"#     <size>  <calls> <tag info>\"",
			     shown(s, n, b));
	return 0;
}

int pt_kmod_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > PT_KMAX_MODNAME)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f || s[i] == '[' || s[i] == ']')
			return 0;
	return 1;
}

/* Preamble lines of a kernel snapshot, up to the version line.  Returns 1
 * when s is the version line (not consumed), 0 when read, -1 on error. */
struct preamble {
	int got_taken, got_source, got_format;
	uint64_t nmods, seen;
	int got_mods;
	char *mods; /* "a\nb\n" */
	size_t modlen;
};

static int preamble_line(struct kparser *p, struct preamble *pr, const char *s, size_t n)
{
	const char *sp = memchr(s, ' ', n);
	size_t kl = sp ? (size_t)(sp - s) : n;
	const char *val = sp ? sp + 1 : s + n;
	size_t vl = sp ? n - kl - 1 : 0;
	uint64_t x;
	char b[48];

	if (n >= sizeof(version_prefix) - 1 && memcmp(s, version_prefix, sizeof(version_prefix) - 1) == 0) {
		if (!pr->got_taken || pr->seen != pr->nmods || !pr->got_format)
			return kfail(p, "%sthe snapshot's preamble is incomplete (taken, format "
					"and each module line come first)", "");
		return 1;
	}
	if (kl == 5 && memcmp(s, "taken", 5) == 0 && !pr->got_taken) {
		if (!parse_u64(val, vl, &x) || x > INT64_MAX)
			return kfail(p, "'%s' is not a time in nanoseconds", shown(val, vl, b));
		p->v->taken_ns = (int64_t)x;
		pr->got_taken = 1;
	} else if (kl == 6 && memcmp(s, "source", 6) == 0 && !pr->got_source) {
		for (size_t i = 0; i < vl; i++)
			if ((unsigned char)val[i] < 0x20 || val[i] == 0x7f)
				return kfail(p, "%scontrol byte in the source", "");
		if (vl == 0 || !(p->v->kernel_source = pt_view_strdup(p->v, val, vl)))
			return vl ? koom(p) : kfail(p, "%sempty source", "");
		pr->got_source = 1;
	} else if (kl == 6 && memcmp(s, "format", 6) == 0 && !pr->got_format) {
		if (vl != 3 || (memcmp(val, "1.0", 3) && memcmp(val, "2.0", 3)))
			return kfail(p, "snapshot of allocinfo format '%s': this pooltag reads "
					PT_KFORMATS, shown(val, vl, b));
		pr->got_format = val[0];
	} else if (kl == 7 && memcmp(s, "modules", 7) == 0 && !pr->got_mods) {
		if (!parse_u64(val, vl, &pr->nmods) || pr->nmods > 1000000)
			return kfail(p, "'%s' is not a module count", shown(val, vl, b));
		pr->got_mods = 1;
	} else if (kl == 6 && memcmp(s, "module", 6) == 0 && pr->got_mods && pr->seen < pr->nmods) {
		char *m;
		if (!pt_kmod_name_ok(val, vl))
			return kfail(p, "'%s' is not a module name", shown(val, vl, b));
		m = realloc(pr->mods, pr->modlen + vl + 2);
		if (!m)
			return koom(p);
		pr->mods = m;
		memcpy(m + pr->modlen, val, vl);
		m[pr->modlen + vl] = '\n';
		pr->modlen += vl + 1;
		m[pr->modlen] = 0;
		pr->seen++;
	} else {
		return kfail(p, "'%s' is not a line of a kernel snapshot's preamble", shown(s, n, b));
	}
	return 0;
}

int pt_allocinfo_sniff(const char *buf, size_t len)
{
	static const char snap[] = PT_KSNAP_MAGIC " ";
	size_t vl = sizeof(version_prefix) - 1;

	return (len >= vl && memcmp(buf, version_prefix, vl) == 0) ||
	       (len >= sizeof(snap) - 1 && memcmp(buf, snap, sizeof(snap) - 1) == 0);
}

/* What the next line must be. */
enum kstate { MAGIC, PREAMBLE, HEADER, SITES };

/* The first line: the allocinfo version line, or a kernel snapshot's. */
static int magic_line(struct kparser *p, const char *s, size_t n, enum kstate *st)
{
	if (n >= sizeof(version_prefix) - 1 &&
	    memcmp(s, version_prefix, sizeof(version_prefix) - 1) == 0) {
		*st = HEADER;
		return version_line(p, s, n);
	}
	if (n == sizeof(PT_KSNAP_MAGIC) + 1 && memcmp(s, PT_KSNAP_MAGIC " 1", n) == 0) {
		*st = PREAMBLE;
		return 0;
	}
	if (n > sizeof(PT_KSNAP_MAGIC) && memcmp(s, PT_KSNAP_MAGIC " ", sizeof(PT_KSNAP_MAGIC)) == 0)
		return kfail(p, "kernel snapshot version '%s': this pooltag reads 1",
			     s + sizeof(PT_KSNAP_MAGIC));
	return kfail(p, "%snot /proc/allocinfo or a kernel snapshot "
		        "(\"allocinfo - version: 1.0\" first)", "");
}

/* The line s[0..n), the parser's copy, as what *st says comes next. */
static int one_line(struct kparser *p, struct preamble *pr, enum kstate *st, char *s, size_t n)
{
	int rc;

	switch (*st) {
	case MAGIC:
		return magic_line(p, s, n, st);
	case PREAMBLE:
		if ((rc = preamble_line(p, pr, s, n)) == 1) {
			rc = version_line(p, s, n);
			*st = HEADER;
		}
		return rc;
	case HEADER:
		*st = SITES;
		return header_line(p, s, n);
	case SITES:
		return site_line(p, s, n);
	}
	return 0;
}

/* A control byte (a tab is none) refused: 0, or -1 at the first. */
static int control_bytes(struct kparser *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f) {
			char hex[3];
			snprintf(hex, sizeof(hex), "%02x", (unsigned char)s[i]);
			return kfail(p, "control byte 0x%s in the line", hex);
		}
	return 0;
}

/* The parser's copy of a line, NUL-terminated, for fields to be cut in
 * place; tabs count as spaces (the kernel writes spaces, an editor may
 * not).  NULL out of memory. */
static char *line_copy(const char *s, size_t n)
{
	char *line = malloc(n + 1);

	if (!line)
		return NULL;
	for (size_t i = 0; i < n; i++)
		line[i] = s[i] == '\t' ? ' ' : s[i];
	line[n] = 0;
	return line;
}

/* After the last line, as rc left it: the file must have reached the
 * sites; a snapshot's preamble goes into the view. */
static int parse_end(struct kparser *p, const struct preamble *pr, enum kstate st, int rc)
{
	if (rc >= 0 && st != SITES) {
		p->line++;
		rc = kfail(p, "%s", st == HEADER ? "the file ends before the header line"
						 : "the file ends before the allocinfo version line");
	}
	if (rc >= 0 && pr->got_mods) {
		p->v->kernel_modules = pt_view_strdup(p->v, pr->mods ? pr->mods : "", pr->modlen);
		if (!p->v->kernel_modules)
			rc = koom(p);
	}
	if (rc >= 0 && pr->got_format)
		p->v->kernel_format = pr->got_format == '2' ? "2.0" : "1.0";
	return rc;
}

static int parse_lines(struct kparser *p, const char *buf, size_t len)
{
	struct preamble pr = {0};
	enum kstate st = MAGIC;
	size_t pos = 0;
	int rc = 0;

	while (pos < len && rc >= 0) {
		const char *s = buf + pos, *nl = memchr(s, '\n', len - pos);
		size_t n;
		char *line;

		p->line++;
		if (!nl) {
			rc = kfail(p, "%sthe file ends inside a line: cut short?", "");
			break;
		}
		n = (size_t)(nl - s);
		pos += n + 1;
		if (n && s[n - 1] == '\r')
			n--;
		if ((rc = control_bytes(p, s, n)) < 0)
			break;
		if (!(line = line_copy(s, n))) {
			rc = koom(p);
			break;
		}
		rc = one_line(p, &pr, &st, line, n);
		free(line);
	}
	rc = parse_end(p, &pr, st, rc);
	free(pr.mods);
	return rc < 0 ? -1 : 0;
}

int pt_allocinfo_parse(struct pt_view *v, const char *buf, size_t len, const char *name,
                       struct pt_allocinfo *info, char *err, size_t errlen)
{
	struct pt_allocinfo dummy;
	struct kparser p = {.v = v, .info = info ? info : &dummy, .name = name, .err = err,
	                    .errlen = errlen};
	int rc;

	memset(p.info, 0, sizeof(*p.info));
	v->outstanding_only = 1;
	snprintf(v->comm, sizeof(v->comm), "kernel");
	rc = parse_lines(&p, buf, len);
	if (rc == 0 && !v->kernel_source && !(v->kernel_source = pt_view_strdup(v, name, strlen(name))))
		rc = koom(&p);
	if (rc == 0) {
		/* The format strings are static until here; the view owns its strings. */
		v->kernel_format = pt_view_strdup(v, v->kernel_format, 3);
		if (!v->kernel_format)
			rc = koom(&p);
	}
	p.info->nmodules = p.mods.n;
	kmods_free(&p.mods);
	if (rc != 0)
		v->kernel_format = NULL;
	return rc;
}
