/*
 * tagdb.c - the tag descriptions `pooltag used` prints, read from files in
 * the pooltag.txt format.
 *
 * Rows are kept in load order and never reordered or replaced, so "the first
 * row loaded wins" is simply "insert only if absent".  An open-addressing
 * hash table of row indexes, keyed by (tag, wildcard or not), finds exact
 * rows in O(1) and spots duplicates while loading; wildcard rows are also
 * listed in load order and tried one by one after an exact miss (a real file
 * has a few dozen of them).  Strings live in an append-only arena, so the
 * pointers lookup hands out stay valid until the database is freed.
 *
 * The parser reads each byte of a buffer a bounded number of times and
 * treats the buffer as bytes, never as a C string: NULs, control characters
 * and invalid UTF-8 are data.  Stored strings have control characters turned
 * into spaces, so a hostile file cannot send escape sequences to a terminal.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readfile.h"
#include "tagdb.h"

#define PT_TAGDB_BIN_MAX  255         /* bytes kept of a binary field */
#define PT_TAGDB_DESC_MAX 1023        /* bytes kept of a description */
#define PT_TAGDB_FILE_MAX (64u << 20) /* larger "tag files" are mistakes (/dev/zero) */
#define PT_TAGDB_CHUNK    65536       /* arena chunk size */

struct pt_tagrow {
	uint32_t key;       /* the tag; for wildcard rows the pattern's bytes, 0 past its end */
	char pat[5];        /* wildcard rows: the pattern as pt_tag_match takes it */
	unsigned char wild; /* the tag holds '?' or '*' */
	const char *binary; /* "" when the row names none */
	const char *desc;
};

struct pt_strchunk {
	struct pt_strchunk *next;
	size_t used, cap;
	char data[];
};

struct pt_tagdb {
	struct pt_tagrow *rows; /* load order */
	size_t nrows, rows_cap;
	uint32_t *slots; /* row index + 1, 0 when empty; at most half full */
	size_t nslots;   /* 0 or a power of two */
	uint32_t *wild;  /* indexes of the wildcard rows, load order */
	size_t nwild, wild_cap;
	struct pt_strchunk *chunks; /* newest first */
};

static int pt_is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Bytes a stored string may not hold: C0 controls (NUL included) and DEL. */
static int pt_is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static uint32_t pt_encode(const char *s, size_t n)
{
	uint32_t t = 0;

	for (size_t i = 0; i < 4 && i < n; i++)
		t |= (uint32_t)(unsigned char)s[i] << (8 * i);
	return t;
}

static void pt_decode(uint32_t tag, char out[4])
{
	for (int i = 0; i < 4; i++)
		out[i] = (char)(tag >> (8 * i));
}

/* murmur3's finaliser: tags are short ASCII runs, their low bits alone are poor. */
static size_t pt_hash(uint32_t key, unsigned char wild)
{
	uint32_t h = key ^ (wild ? 0x5bd1e995u : 0);

	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* The slot holding (key, wild), or the empty slot where it would go.  The
 * table is never full, so the probe ends. */
static size_t pt_slot_find(const struct pt_tagdb *db, uint32_t key, unsigned char wild)
{
	size_t mask = db->nslots - 1, i = pt_hash(key, wild) & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t s = db->slots[i];

		if (!s)
			return i;
		if (db->rows[s - 1].key == key && db->rows[s - 1].wild == wild)
			return i;
	}
}

/* Makes room for one more row in the hash table, doubling and rehashing
 * when it would pass half full.  -1 on out of memory, table unchanged. */
static int pt_slots_reserve(struct pt_tagdb *db)
{
	size_t n = db->nslots ? db->nslots * 2 : 256;
	uint32_t *old = db->slots;
	size_t oldn = db->nslots;

	if ((db->nrows + 1) * 2 <= db->nslots)
		return 0;
	db->slots = calloc(n, sizeof(*db->slots));
	if (!db->slots) {
		db->slots = old;
		return -1;
	}
	db->nslots = n;
	for (size_t i = 0; i < oldn; i++) {
		const struct pt_tagrow *r;

		if (!old[i])
			continue;
		r = &db->rows[old[i] - 1];
		db->slots[pt_slot_find(db, r->key, r->wild)] = old[i];
	}
	free(old);
	return 0;
}

/* Grows *arr (elements of size sz) to hold at least need; -1 on out of memory. */
static int pt_grow(void **arr, size_t *cap, size_t need, size_t sz)
{
	size_t n = *cap ? *cap : 64;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*arr, n * sz);
	if (!p)
		return -1;
	*arr = p;
	*cap = n;
	return 0;
}

/* Copies s[0..n) into the arena: surrounding whitespace and controls
 * dropped, cut to at most max bytes (not inside a UTF-8 sequence), controls
 * inside turned into spaces.  "" for nothing; NULL on out of memory. */
static const char *pt_store(struct pt_tagdb *db, const char *s, size_t n, size_t max)
{
	struct pt_strchunk *c = db->chunks;
	char *out;

	while (n && (pt_is_ctl(*s) || *s == ' ')) {
		s++;
		n--;
	}
	if (n > max) {
		n = max;
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	while (n && (pt_is_ctl(s[n - 1]) || s[n - 1] == ' '))
		n--;
	if (!n)
		return "";
	if (!c || c->cap - c->used < n + 1) {
		size_t cap = n + 1 > PT_TAGDB_CHUNK ? n + 1 : PT_TAGDB_CHUNK;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = db->chunks;
		db->chunks = c;
	}
	out = c->data + c->used;
	for (size_t i = 0; i < n; i++)
		out[i] = pt_is_ctl(s[i]) ? ' ' : s[i];
	out[n] = '\0';
	c->used += n + 1;
	return out;
}

/* Adds a row unless one with the same key is already held.  pat is the tag
 * (or pattern) text, 1 to 4 printable characters.  Returns 1 if added, 0 for
 * a duplicate, -1 on out of memory (nothing added). */
static int pt_insert(struct pt_tagdb *db, const char *pat, size_t patlen, const char *bin,
		     size_t binlen, const char *desc, size_t desclen)
{
	unsigned char wild = memchr(pat, '?', patlen) || memchr(pat, '*', patlen);
	char p[5] = "    ";
	struct pt_tagrow *r;
	uint32_t key;
	size_t slot;

	/* A pattern with '*' keeps its length; every other one is padded like a tag. */
	memcpy(p, pat, patlen);
	if (memchr(pat, '*', patlen))
		p[patlen] = '\0';
	key = pt_encode(p, strlen(p));

	if (db->nrows >= UINT32_MAX - 1 || pt_slots_reserve(db))
		return -1;
	slot = pt_slot_find(db, key, wild);
	if (db->slots[slot])
		return 0;
	if (pt_grow((void **)&db->rows, &db->rows_cap, db->nrows + 1, sizeof(*db->rows)))
		return -1;
	if (wild && pt_grow((void **)&db->wild, &db->wild_cap, db->nwild + 1, sizeof(*db->wild)))
		return -1;

	r = &db->rows[db->nrows];
	r->binary = pt_store(db, bin, binlen, PT_TAGDB_BIN_MAX);
	r->desc = pt_store(db, desc, desclen, PT_TAGDB_DESC_MAX);
	if (!r->binary || !r->desc)
		return -1;
	r->key = key;
	r->wild = wild;
	memcpy(r->pat, p, sizeof(p));
	if (wild)
		db->wild[db->nwild++] = (uint32_t)db->nrows;
	db->slots[slot] = (uint32_t)++db->nrows;
	return 1;
}

struct pt_tagdb *pt_tagdb_new(void)
{
	return calloc(1, sizeof(struct pt_tagdb));
}

void pt_tagdb_free(struct pt_tagdb *db)
{
	struct pt_strchunk *c, *next;

	if (!db)
		return;
	for (c = db->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(db->rows);
	free(db->slots);
	free(db->wild);
	free(db);
}

/* Trims whitespace off both ends of [*s, *e). */
static void pt_trim(const char **s, const char **e)
{
	while (*s < *e && pt_is_ws(**s))
		(*s)++;
	while (*e > *s && pt_is_ws((*e)[-1]))
		(*e)--;
}

/* The first field separator in [p, e): a '-' with whitespace (or the end of
 * the line) after it and, when both is set, before it too; the first
 * separator settles for one side so "Tag -bin" and "Tag- bin" still split.
 * p[-1] must be readable.  NULL if there is none. */
static const char *pt_find_sep(const char *p, const char *e, int both)
{
	for (; (p = memchr(p, '-', (size_t)(e - p))) != NULL; p++) {
		int before = pt_is_ws(p[-1]);
		int after = p + 1 == e || pt_is_ws(p[1]);

		if (both ? before && after : before || after)
			return p;
	}
	return NULL;
}

/* Parses one line (no '\n') and adds its row.  Lines that are not rows are
 * skipped: 1 added, 0 skipped or duplicate, -1 on out of memory. */
static int pt_parse_line(struct pt_tagdb *db, const char *s, const char *e)
{
	const char *sep1, *sep2, *tag, *tage, *bin = "", *bine, *desc, *desce;

	pt_trim(&s, &e);
	if (e - s >= 2 && s[0] == '/' && s[1] == '/')
		return 0;
	if (e - s >= 3 && (!memcmp(s, "rem", 3) || !memcmp(s, "REM", 3)) &&
	    (e - s == 3 || pt_is_ws(s[3])))
		return 0;
	/* Start past the first byte: a tag is never empty, and "-Ab - x" is tag -Ab. */
	if (e - s < 2 || !(sep1 = pt_find_sep(s + 1, e, 0)))
		return 0;

	tag = s;
	tage = sep1;
	pt_trim(&tag, &tage);
	if (tage - tag < 1 || tage - tag > 4)
		return 0;
	for (const char *q = tag; q < tage; q++)
		if (*q <= ' ' || *q > '~')
			return 0;

	/* The middle field is a binary only if it is one word ("nt!ps",
	 * "<unknown>"); otherwise the line is "Tag - description" whose
	 * description happens to hold " - ". */
	bine = bin;
	desc = sep1 + 1;
	desce = e;
	sep2 = pt_find_sep(desc, e, 1);
	if (sep2) {
		const char *m = desc, *me = sep2, *q;

		pt_trim(&m, &me);
		for (q = m; q < me && (unsigned char)*q > ' ' && *q != 0x7f; q++)
			;
		if (q == me) {
			bin = m;
			bine = me;
			desc = sep2 + 1;
		}
	}
	pt_trim(&desc, &desce);
	if (bin == bine && desc == desce)
		return 0;
	return pt_insert(db, tag, (size_t)(tage - tag), bin, (size_t)(bine - bin), desc,
			 (size_t)(desce - desc));
}

long pt_tagdb_load_buf(struct pt_tagdb *db, const char *buf, size_t len, const char *name)
{
	const char *p = buf, *end = buf + len;
	long added = 0;

	(void)name; /* only out of memory can fail, and it has nothing to say per file */
	if (!db)
		return -1;
	if (!len)
		return 0;
	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3; /* a UTF-8 byte-order mark, as Windows editors write */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		int r = pt_parse_line(db, p, e);

		if (r < 0)
			return -1;
		added += r;
		p = nl ? nl + 1 : end;
	}
	return added;
}

int pt_tagdb_load_file(struct pt_tagdb *db, const char *path, char *err, size_t errlen)
{
	const char *why;
	char *buf;
	size_t len;
	long n;

	if (!db || !path) {
		if (err && errlen)
			snprintf(err, errlen, "cannot read tag file %s: invalid argument",
				 path ? path : "(null)");
		return -1;
	}
	if (pt_read_file(path, PT_TAGDB_FILE_MAX, &buf, &len, &why)) {
		if (err && errlen)
			snprintf(err, errlen, "cannot read tag file %s: %s", path,
				 why ? why : strerror(errno));
		return -1;
	}
	n = pt_tagdb_load_buf(db, buf, len, path);
	free(buf);
	if (n < 0) {
		if (err && errlen)
			snprintf(err, errlen, "cannot read tag file %s: out of memory", path);
		return -1;
	}
	return 0;
}

/* A tag a program describes at run time: printable, not starting with a
 * space.  -1 with errno EINVAL for any other tag, ENOMEM on out of memory. */
int pt_tagdb_add(struct pt_tagdb *db, uint32_t tag, const char *binary, const char *desc)
{
	char t[4];
	size_t n = 4;

	pt_decode(tag, t);
	if (!db || t[0] == ' ') {
		errno = EINVAL;
		return -1;
	}
	for (int i = 0; i < 4; i++) {
		if (t[i] < ' ' || t[i] > '~') {
			errno = EINVAL;
			return -1;
		}
	}
	if (memchr(t, '*', 4))
		while (t[n - 1] == ' ')
			n--;
	binary = binary ? binary : "";
	desc = desc ? desc : "";
	if (pt_insert(db, t, n, binary, strlen(binary), desc, strlen(desc)) < 0) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int pt_tagdb_lookup(const struct pt_tagdb *db, uint32_t tag, const char **binary, const char **desc)
{
	const struct pt_tagrow *r = NULL;
	uint32_t s;

	if (!db || !db->nrows)
		return 0;
	s = db->slots[pt_slot_find(db, tag, 0)];
	if (s)
		r = &db->rows[s - 1];
	for (size_t i = 0; !r && i < db->nwild; i++)
		if (pt_tag_match(db->rows[db->wild[i]].pat, tag))
			r = &db->rows[db->wild[i]];
	if (!r)
		return 0;
	if (binary)
		*binary = r->binary;
	if (desc)
		*desc = r->desc;
	return 1;
}

size_t pt_tagdb_count(const struct pt_tagdb *db)
{
	return db ? db->nrows : 0;
}

/* Glob match of p[0..pn) against s[0..sn): '?' one byte, '*' any run.  Keeps
 * only the last '*' to backtrack to, which is enough for globs and bounds
 * the work by pn * sn. */
static int pt_glob(const char *p, size_t pn, const char *s, size_t sn)
{
	size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;

	while (si < sn) {
		if (pi < pn && p[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < pn && (p[pi] == '?' || p[pi] == s[si])) {
			pi++;
			si++;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			si = ++mark;
		} else {
			return 0;
		}
	}
	while (pi < pn && p[pi] == '*')
		pi++;
	return pi == pn;
}

/* A '*' pattern is also tried against the tag without its padding, so "*c"
 * matches the three-character tag "Abc " as a user would expect. */
int pt_tag_match(const char *pattern, uint32_t tag)
{
	size_t n, tn = 4;
	char t[4];

	if (!pattern)
		return 0;
	pt_decode(tag, t);
	n = strlen(pattern);
	if (!memchr(pattern, '*', n)) {
		if (n < 1 || n > 4)
			return 0;
		for (size_t i = 0; i < 4; i++) {
			char c = i < n ? pattern[i] : ' ';

			if (c != '?' && c != t[i])
				return 0;
		}
		return 1;
	}
	if (pt_glob(pattern, n, t, 4))
		return 1;
	while (tn && t[tn - 1] == ' ')
		tn--;
	return tn < 4 && pt_glob(pattern, n, t, tn);
}

/* Besides what the header lists, a '*' pattern with more than four other
 * characters is refused: it can match no tag, which is surely a typo. */
int pt_tag_pattern_check(const char *pattern, char *err, size_t errlen)
{
	const char *why = NULL;
	size_t n, stars = 0;

	n = pattern ? strlen(pattern) : 0;
	for (size_t i = 0; i < n; i++) {
		if (pattern[i] < ' ' || pattern[i] > '~') {
			if (err && errlen)
				snprintf(err, errlen, "tag pattern has a non-printable character");
			return -1;
		}
		stars += pattern[i] == '*';
	}
	if (!n)
		why = "is empty";
	else if (!stars && n > 4)
		why = "is longer than 4 characters";
	else if (n - stars > 4)
		why = "has more than 4 characters besides '*'";
	if (!why)
		return 0;
	if (err && errlen)
		snprintf(err, errlen, "tag pattern '%.40s%s' %s", pattern ? pattern : "",
			 n > 40 ? "..." : "", why);
	return -1;
}
