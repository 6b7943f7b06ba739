/*
 * winimport.c - !poolused and PoolMon text read into a view (winimport.h).
 *
 * One pass over the lines.  A column header line opens a table and fixes
 * its layout: for !poolused the header's own words say which numbers a row
 * carries (Allocs Used, or Allocs Frees Diff Used, per pool group), so the
 * normal, verbose, single-pool and differently spaced layouts of the
 * debugger's versions are one case; for PoolMon the columns are fixed.  A
 * row is a tag, then exactly the numbers the header promises, then free
 * text.  Spacing is not trusted: a copy through a web page or a mail may
 * collapse the runs of spaces, so columns are found by tokens, and a tag
 * shorter than four characters ("Io  ") is recognised both as the fixed
 * four-character field and as a short token.  Pastes in blogs, chats and
 * bug trackers often carry a separator ('*' or '|') between the two pool
 * groups, in the header and in every row, with prose between the rows: a
 * header with one fixes it, and every row must have it there.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pooltag.h"
#include "winimport.h"

/* A piece of the input: s[0..n), not NUL-terminated. */
struct span {
	const char *s;
	size_t n;
};

enum col { C_ALLOCS, C_FREES, C_DIFF, C_USED };

/* One pool's columns in a !poolused row, in the order printed. */
struct group {
	int pool; /* PT_PAGED, PT_NONPAGED, or -1 until known */
	int ncols;
	enum col cols[4];
	unsigned have; /* 1 << col for each column present */
};

enum kind { K_NONE, K_POOLUSED, K_POOLMON };

struct layout {
	enum kind kind;
	int ngroups;
	struct group g[2];
	char sep; /* the separator between the groups ('*' or '|'), 0 if none */
};

struct parser {
	struct pt_view *v;
	struct pt_winimport *info;
	struct layout table;  /* the open table's layout; kind K_NONE when none is open */
	int title[2], ntitle; /* pools named by a "NonPaged Paged" title line, in order */
	int tag_titled;       /* the line before was "Tag  NonPaged  Paged": the column
	                       * words may follow on their own line */
	int outstanding_only; /* of the last table */
	enum kind last_kind;  /* of the last table */
};

static int is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static void skip_ws(struct span *c)
{
	while (c->n && is_ws(*c->s)) {
		c->s++;
		c->n--;
	}
}

/* The next run of non-blank characters (empty at the end). */
static struct span take_word(struct span *c)
{
	struct span w;

	skip_ws(c);
	w.s = c->s;
	w.n = 0;
	while (c->n && !is_ws(*c->s)) {
		c->s++;
		c->n--;
		w.n++;
	}
	return w;
}

/* A character pastes put between the two pool groups. */
static int is_sep(char c)
{
	return c == '*' || c == '|';
}

/* Takes the separator sep at c (after blanks): 1, or 0 if it is not there. */
static int take_sep(struct span *c, char sep)
{
	skip_ws(c);
	if (!c->n || *c->s != sep)
		return 0;
	c->s++;
	c->n--;
	return 1;
}

/* Strips the separators glued to either end of a word ("Used|"); how many
 * were in front in *lead, behind in *trail, and the character in *ch. */
static void strip_seps(struct span *w, int *lead, int *trail, char *ch)
{
	*lead = *trail = 0;
	while (w->n && is_sep(*w->s)) {
		*ch = *w->s;
		w->s++;
		w->n--;
		++*lead;
	}
	while (w->n && is_sep(w->s[w->n - 1])) {
		*ch = w->s[w->n - 1];
		w->n--;
		++*trail;
	}
}

/* Case-insensitive comparison of a word with a lower-case literal. */
static int word_is(struct span w, const char *lit)
{
	size_t i;

	for (i = 0; i < w.n && lit[i]; i++) {
		char ch = w.s[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (ch != lit[i])
			return 0;
	}
	return i == w.n && !lit[i];
}

static int starts_with(struct span c, const char *lit)
{
	size_t n = strlen(lit);

	return c.n >= n && memcmp(c.s, lit, n) == 0;
}

/* Reads a decimal number at c: digits, or digits grouped by commas in
 * threes ("1,234,567"), after an optional '-' when neg_ok (a 32-bit counter
 * printed signed, so no lower than -2^31).  The number must end at a blank,
 * the end of the line or the separator sep (when not 0), or anywhere when
 * glued_ok (the last column, which a lost tab may glue to the description).
 * Values are kept below 2^62, far above any real counter, so differences
 * and sums cannot overflow. */
static int take_num_sep(struct span *c, int neg_ok, int glued_ok, char sep, int64_t *out)
{
	struct span t;
	int neg = 0;
	int64_t v = 0;
	size_t digits = 0, group = 0;

	skip_ws(c);
	t = *c;
	if (t.n && *t.s == '-' && neg_ok) {
		neg = 1;
		t.s++;
		t.n--;
	}
	while (t.n) {
		if (is_digit(*t.s)) {
			if (v > ((int64_t)1 << 62) / 10)
				return 0;
			v = v * 10 + (*t.s - '0');
			digits++;
			group++;
		} else if (*t.s == ',' && digits && (digits == group ? group <= 3 : group == 3) &&
		           t.n >= 4 && is_digit(t.s[1]) && is_digit(t.s[2]) && is_digit(t.s[3]) &&
		           (t.n == 4 || !is_digit(t.s[4]))) {
			group = 0;
		} else {
			break;
		}
		t.s++;
		t.n--;
	}
	if (!digits || (t.n && !is_ws(*t.s) && !(sep && *t.s == sep) && !glued_ok) ||
	    (neg && v > ((int64_t)1 << 31)))
		return 0;
	*c = t;
	*out = neg ? -v : v;
	return 1;
}

static int take_num(struct span *c, int neg_ok, int glued_ok, int64_t *out)
{
	return take_num_sep(c, neg_ok, glued_ok, 0, out);
}

/* Skips PoolMon's "(   3)" change column if it is there: 1, or 0 when a
 * '(' opens something else. */
static int skip_change(struct span *c)
{
	struct span t = *c;

	skip_ws(&t);
	if (!t.n || *t.s != '(')
		return 1;
	t.s++;
	t.n--;
	while (t.n && (is_ws(*t.s) || is_digit(*t.s) || *t.s == '-' || *t.s == ','))
		t.s++, t.n--;
	if (!t.n || *t.s != ')')
		return 0;
	c->s = t.s + 1;
	c->n = t.n - 1;
	return 1;
}

/* ---------------------------------------------------------------------------
 * Lines that are not rows
 */

/* "kd> ", "0: kd> ", "lkd> ", "0:000> ": a debugger prompt. */
static int is_prompt(struct span c)
{
	skip_ws(&c);
	if (c.n && is_digit(*c.s)) {
		struct span d = c;
		while (d.n && is_digit(*d.s))
			d.s++, d.n--;
		if (d.n && *d.s == ':') {
			d.s++, d.n--;
			if (d.n && is_digit(*d.s)) { /* user mode: 0:000> */
				while (d.n && is_digit(*d.s))
					d.s++, d.n--;
				return d.n && *d.s == '>';
			}
			c = d;
			skip_ws(&c);
		}
	}
	return starts_with(c, "kd>") || starts_with(c, "lkd>");
}

/* Known furniture around the tables, neither a row nor worth a note. */
static int is_furniture(struct span c)
{
	struct span w;
	size_t i;

	skip_ws(&c);
	for (i = 0; i < c.n && (c.s[i] == '.' || is_ws(c.s[i])); i++)
		;
	if (i == c.n) /* progress dots, or an ellipsis where rows were cut */
		return 1;
	static const char *const known[] = {"Sorting by ",
	                                    "Pool Used:",
	                                    "Memory:",
	                                    "Commit:",
	                                    "System pool information",
	                                    "All sessions pool information"};
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (starts_with(c, known[i]))
			return 1;
	w = take_word(&c);
	if (word_is(w, "session") && take_word(&c).n && word_is(take_word(&c), "pool"))
		return 1; /* " Session 3 pool information" */
	return 0;
}

/* A title line naming the pool groups: "   NonPaged      Paged", or
 * "Tag  NonPaged  Paged" above a line of column words; in a paste, maybe
 * "NonPaged | Paged". */
static int title_line(struct parser *p, struct span c)
{
	struct span first = c;
	int pools[2], n = 0, tag = word_is(take_word(&first), "tag"), seps = 0;

	if (tag)
		c = first;
	for (;;) {
		struct span w = take_word(&c);
		int lead, trail;
		char ch;

		strip_seps(&w, &lead, &trail, &ch);
		seps += lead + trail;
		/* One separator, between the two names: after the first one
		 * (in front of this word), or glued behind the first. */
		if (seps > 1 || (lead && n != 1) || (trail && n != 0))
			return 0;
		if (!w.n && (lead || trail))
			continue;
		if (!w.n)
			break;
		if (n == 2)
			return 0;
		if (word_is(w, "nonpaged"))
			pools[n++] = PT_NONPAGED;
		else if (word_is(w, "paged"))
			pools[n++] = PT_PAGED;
		else
			return 0;
	}
	if (!n || (n == 2 && pools[0] == pools[1]) || (seps && n != 2))
		return 0;
	memcpy(p->title, pools, sizeof(pools));
	p->ntitle = n;
	p->tag_titled = tag;
	return 1;
}

/* ---------------------------------------------------------------------------
 * Column headers
 */

/* A word of the header: a pool's name into *pool, or a column's into *col
 * (the other left -1); 0 if it is neither. */
static int header_word(struct span w, int *pool, int *col)
{
	static const struct {
		const char *word;
		enum col col;
	} words[] = {{"allocs", C_ALLOCS}, {"alloc", C_ALLOCS}, {"frees", C_FREES},
	             {"free", C_FREES},    {"diff", C_DIFF},    {"used", C_USED},
	             {"bytes", C_USED}};

	*pool = *col = -1;
	if (word_is(w, "nonpaged"))
		*pool = PT_NONPAGED;
	else if (word_is(w, "paged"))
		*pool = PT_PAGED;
	for (size_t i = 0; *pool < 0 && i < sizeof(words) / sizeof(words[0]); i++)
		if (word_is(w, words[i].word))
			*col = (int)words[i].col;
	return *pool >= 0 || *col >= 0;
}

/* The header's words after the tag's into groups of columns in l, at most
 * two, a separator ('*' or '|') between them and nowhere else: 1, or 0 if
 * the words are no header of !poolused. */
static int header_groups(struct span c, struct layout *l)
{
	struct group *g = NULL;
	int split = 0; /* a separator was read: the next word opens group 2 */

	for (;;) {
		struct span w = take_word(&c);
		int pool, col, lead, trail;
		char ch = 0;

		if (!w.n)
			break;
		strip_seps(&w, &lead, &trail, &ch);
		if (lead + trail > 1 || (lead && (split || !g || !g->ncols || l->sep)))
			return 0;
		if (lead) {
			split = 1;
			l->sep = ch;
		}
		if (!w.n)
			continue;
		if (!header_word(w, &pool, &col))
			return 0;
		/* A pool's name, or a column this group already has, opens a
		 * group (a name right before its columns names the open one). */
		if (!g || split || (pool >= 0 && (g->ncols || g->pool >= 0)) ||
		    (col >= 0 && (g->have & 1u << col))) {
			if (l->ngroups == 2 || (g && !g->ncols))
				return 0;
			g = &l->g[l->ngroups++];
			g->pool = -1;
			split = 0;
		}
		if (pool >= 0) {
			g->pool = pool;
		} else {
			g->cols[g->ncols++] = (enum col)col;
			g->have |= 1u << col;
		}
		if (trail) {
			if (l->sep || pool >= 0)
				return 0;
			split = 1;
			l->sep = ch;
		}
	}
	return l->ngroups && !split && (!l->sep || l->ngroups == 2);
}

/* Each group must have allocations and bytes; unnamed groups take the
 * title line's order, else WinDbg's: non-paged then paged; a single one is
 * the session pool, paged.  1, or 0 if the groups are no header. */
static int header_pools(const struct parser *p, struct layout *l)
{
	for (int i = 0; i < l->ngroups; i++) {
		struct group *g = &l->g[i];
		if (!(g->have & 1u << C_ALLOCS) || !(g->have & 1u << C_USED))
			return 0;
		if (g->pool >= 0)
			continue;
		if (p->ntitle == l->ngroups)
			g->pool = p->title[i];
		else if (l->ngroups == 2)
			g->pool = i ? PT_PAGED : PT_NONPAGED;
		else
			g->pool = PT_PAGED;
	}
	return !(l->ngroups == 2 && l->g[0].pool == l->g[1].pool);
}

/* Reads a !poolused column header: "Tag" then, per pool group, Allocs and
 * Used with Frees and Diff in the verbose layout; a group may be opened by
 * its pool's name, and two groups may be parted by a separator ('*' or
 * '|', alone or glued to a word).  Under a "Tag NonPaged Paged" title the
 * line starts with the column words.  1 and the layout in *l, or 0 if the
 * line is not one. */
static int poolused_header(const struct parser *p, struct span c, struct layout *l, int titled)
{
	memset(l, 0, sizeof(*l));
	if (!titled && !word_is(take_word(&c), "tag"))
		return 0;
	if (!header_groups(c, l) || !header_pools(p, l))
		return 0;
	l->kind = K_POOLUSED;
	return 1;
}

/* PoolMon's header: "Tag  Type  Allocs  Frees  Diff  Bytes  Per Alloc". */
static int poolmon_header(struct span c, struct layout *l)
{
	static const char *const words[] = {"tag", "type", "allocs", "frees", "diff", "bytes"};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!word_is(take_word(&c), words[i]))
			return 0;
	memset(l, 0, sizeof(*l));
	l->kind = K_POOLMON;
	return 1;
}

/* ---------------------------------------------------------------------------
 * Rows
 */

/* The counts of one pool of a row, as the view keeps them. */
struct counts {
	uint64_t nallocs, nfrees, used;
};

#define WRAP32 ((int64_t)1 << 32)

/* Cumulative allocations and frees from what Windows printed.  The
 * counters are 32 bits on many versions and printed with %ld: past 2^31
 * they show negative, past 2^32 they wrap, and then frees can exceed
 * allocations while Diff, computed in the same 32 bits, is still right.
 * So: negative 32-bit values are read back as unsigned, and when Allocs
 * minus Frees disagrees with Diff except modulo 2^32, the allocation counter
 * is the one that wrapped once more.  0, or -1 when the three cannot be
 * reconciled. */
static int settle(int64_t a, int64_t f, int64_t d, struct counts *out)
{
	if (a < 0) /* take_num keeps them at -2^31 or above */
		a += WRAP32;
	if (f < 0)
		f += WRAP32;
	if (a < 0 || f < 0 || d < 0)
		return -1;
	if (a >= f && a - f == d) {
		out->nallocs = (uint64_t)a;
		out->nfrees = (uint64_t)f;
		return 0;
	}
	if (d < WRAP32 && ((uint64_t)(a - f) & 0xffffffffu) == (uint64_t)d) {
		out->nallocs = (uint64_t)f + (uint64_t)d;
		out->nfrees = (uint64_t)f;
		return 0;
	}
	return -1;
}

/* One !poolused group's numbers into *out; the last may end at sep.  0,
 * or -1 if they do not read or do not agree. */
static int poolused_group(struct span *c, const struct group *g, int last, char sep,
			  struct counts *out)
{
	int64_t v[4] = {0, 0, 0, 0};

	for (int i = 0; i < g->ncols; i++) {
		int neg = g->cols[i] == C_ALLOCS || g->cols[i] == C_FREES;
		if (!take_num_sep(c, neg, last && i == g->ncols - 1, sep, &v[g->cols[i]]))
			return -1;
	}
	if (v[C_USED] < 0)
		return -1;
	out->used = (uint64_t)v[C_USED];
	if (g->have & 1u << C_FREES) {
		if (!(g->have & 1u << C_DIFF))
			v[C_DIFF] = v[C_ALLOCS] - v[C_FREES];
		return settle(v[C_ALLOCS], v[C_FREES], v[C_DIFF], out);
	}
	if (g->have & 1u << C_DIFF) {
		if (v[C_ALLOCS] < v[C_DIFF] || v[C_DIFF] < 0)
			return -1;
		out->nallocs = (uint64_t)v[C_ALLOCS];
		out->nfrees = (uint64_t)(v[C_ALLOCS] - v[C_DIFF]);
		return 0;
	}
	if (v[C_ALLOCS] < 0) /* outstanding only: Allocs is the outstanding count */
		return -1;
	out->nallocs = (uint64_t)v[C_ALLOCS];
	out->nfrees = 0;
	return 0;
}

static int add_counts(struct pt_view *v, uint32_t tag, int pool, const struct counts *k)
{
	struct pt_row r = {.tag = tag, .pool = (uint32_t)pool};

	if (!k->nallocs && !k->nfrees && !k->used)
		return 0;
	r.nallocs = k->nallocs;
	r.nfrees = k->nfrees;
	r.bytes_alloc = k->used;
	return pt_view_add_row(v, &r);
}

/* The description column: "text , Binary: name", or just text.  WinDbg's
 * "UNKNOWN pooltag 'XXXX', please update pooltag.txt" is no description:
 * the tag database may know better. */
static int add_desc(struct pt_view *v, uint32_t tag, struct span c)
{
	static const char sep[] = ", Binary: ";
	const char *bin = NULL;
	char *desc;
	size_t dn, bn = 0;
	int rc;

	skip_ws(&c);
	while (c.n && is_ws(c.s[c.n - 1]))
		c.n--;
	if (!c.n || starts_with(c, "UNKNOWN pooltag"))
		return 0;
	for (size_t i = c.n; i-- > 0;)
		if (c.n - i >= sizeof(sep) - 1 && memcmp(c.s + i, sep, sizeof(sep) - 1) == 0) {
			bin = c.s + i + sizeof(sep) - 1;
			bn = c.n - i - (sizeof(sep) - 1);
			c.n = i;
			break;
		}
	while (c.n && is_ws(c.s[c.n - 1]))
		c.n--;
	dn = c.n;
	/* Both strings into one buffer, NUL-terminated, for pt_view_add_desc. */
	desc = malloc(dn + bn + 2);
	if (!desc)
		return -1;
	memcpy(desc, c.s, dn);
	desc[dn] = 0;
	if (bin)
		memcpy(desc + dn + 1, bin, bn);
	desc[dn + 1 + bn] = 0;
	rc = pt_view_add_desc(v, tag, desc + dn + 1, desc);
	free(desc);
	return rc;
}

/* The tag at the start of a row.  The canonical form is WinDbg's fixed
 * four-character field followed by a blank; a collapsed copy leaves a short
 * tag as a token of one to three characters.  Fills up to two (tag, rest)
 * readings to try in order; returns how many. */
static int row_tags(struct span c, uint32_t tags[2], struct span rest[2])
{
	int n = 0;
	size_t i;

	skip_ws(&c);
	if (c.n >= 4 && (c.n == 4 || is_ws(c.s[4]))) {
		for (i = 0; i < 4 && c.s[i] >= 0x20 && c.s[i] < 0x7f; i++)
			;
		if (i == 4) {
			memcpy(&tags[n], c.s, 4);
			rest[n].s = c.s + 4;
			rest[n++].n = c.n - 4;
		}
	}
	for (i = 0; i < c.n && !is_ws(c.s[i]); i++)
		if (c.s[i] < 0x20 || c.s[i] >= 0x7f)
			return n;
	if (i >= 1 && i <= 3) {
		char t[4] = {' ', ' ', ' ', ' '};
		memcpy(t, c.s, i);
		memcpy(&tags[n], t, 4);
		rest[n].s = c.s + i;
		rest[n++].n = c.n - i;
	}
	return n;
}

/* A !poolused row under layout l: 1 (rows and description added), 0 (not
 * a row), -1 (out of memory). */
static int poolused_row(struct parser *p, struct span line)
{
	const struct layout *l = &p->table;
	uint32_t tags[2];
	struct span rests[2];
	int n = row_tags(line, tags, rests);

	for (int k = 0; k < n; k++) {
		struct span c = rests[k];
		struct counts cnt[2];
		int ok = 1;

		for (int i = 0; i < l->ngroups && ok; i++)
			ok = (i == 0 || !l->sep || take_sep(&c, l->sep)) &&
			     poolused_group(&c, &l->g[i], i == l->ngroups - 1,
					    i == 0 ? l->sep : 0, &cnt[i]) == 0;
		if (!ok)
			continue;
		for (int i = 0; i < l->ngroups; i++) {
			/* A header mixing a verbose group with a short one: the
			 * view says outstanding only, so every group does. */
			if (p->outstanding_only) {
				cnt[i].nallocs -= cnt[i].nfrees;
				cnt[i].nfrees = 0;
			}
			if (add_counts(p->v, tags[k], l->g[i].pool, &cnt[i]) != 0)
				return -1;
		}
		return add_desc(p->v, tags[k], c) == 0 ? 1 : -1;
	}
	return 0;
}

/* A PoolMon row: tag, Nonp or Paged, Allocs (change), Frees (change),
 * Diff, Bytes (change), then Per Alloc and the mapped driver, not needed. */
static int poolmon_row(struct parser *p, struct span line)
{
	uint32_t tags[2];
	struct span rests[2];
	int n = row_tags(line, tags, rests);

	for (int k = 0; k < n; k++) {
		struct span c = rests[k], type = take_word(&c);
		int64_t a, f, d, b;
		struct counts cnt;
		int pool;

		if (word_is(type, "nonp") || word_is(type, "nonpaged"))
			pool = PT_NONPAGED;
		else if (word_is(type, "paged"))
			pool = PT_PAGED;
		else
			continue;
		if (!take_num(&c, 1, 0, &a) || !skip_change(&c) || !take_num(&c, 1, 0, &f) ||
		    !skip_change(&c) || !take_num(&c, 1, 0, &d) || !take_num(&c, 0, 1, &b) ||
		    !skip_change(&c) || settle(a, f, d, &cnt) != 0)
			continue;
		cnt.used = (uint64_t)b;
		return add_counts(p->v, tags[k], pool, &cnt) == 0 ? 1 : -1;
	}
	return 0;
}

/* ---------------------------------------------------------------------------
 * The pass over the lines
 */

/* Opens a table: the rows of an earlier one are dropped, the last wins. */
static void open_table(struct parser *p, const struct layout *l, size_t lineno)
{
	if (p->info->ntables++) {
		pt_view_free(p->v);
		pt_view_init(p->v);
		p->info->nrows = 0;
	}
	p->table = *l;
	p->last_kind = l->kind;
	p->outstanding_only = 0;
	for (int i = 0; l->kind == K_POOLUSED && i < l->ngroups; i++)
		if (!(l->g[i].have & (1u << C_FREES | 1u << C_DIFF)))
			p->outstanding_only = 1;
	p->info->line = lineno;
	p->ntitle = 0;
}

/* One line without its end.  0, or -1 on out of memory. */
static int parse_line(struct parser *p, struct span line, size_t lineno)
{
	struct layout l;
	struct span c = line;
	int r = 0, titled = p->tag_titled;

	skip_ws(&c);
	if (!c.n)
		return 0;
	p->tag_titled = 0;
	if (memchr(line.s, '\0', line.n)) {
		p->info->nskipped++;
		return 0;
	}
	if (poolused_header(p, line, &l, titled) || poolmon_header(line, &l)) {
		open_table(p, &l, lineno);
		return 0;
	}
	if (is_prompt(line) || starts_with(c, "TOTAL")) {
		p->table.kind = K_NONE; /* the table is over */
		return 0;
	}
	if (p->table.kind == K_POOLUSED)
		r = poolused_row(p, line);
	else if (p->table.kind == K_POOLMON)
		r = poolmon_row(p, line);
	if (r < 0)
		return -1;
	if (r > 0) {
		p->info->nrows++;
		return 0;
	}
	if (!title_line(p, line) && !is_furniture(line))
		p->info->nskipped++;
	return 0;
}

/* UTF-16LE text (after its byte order mark) as bytes: ASCII stays, anything
 * else becomes '?'.  NULL on out of memory. */
static char *from_utf16(const unsigned char *b, size_t len, size_t *outlen)
{
	char *out = malloc(len / 2 + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i + 1 < len; i += 2)
		out[i / 2] = b[i + 1] == 0 && b[i] < 0x80 ? (char)b[i] : '?';
	*outlen = len / 2;
	return out;
}

int pt_winimport_parse(struct pt_view *v, const char *buf, size_t len, const char *name,
                       struct pt_winimport *info, char *err, size_t errlen)
{
	const unsigned char *u = (const unsigned char *)buf;
	struct parser p = {.v = v, .info = info};
	char *wide = NULL;
	size_t pos = 0, lineno = 0;
	int rc = -1;

	memset(info, 0, sizeof(*info));
	if (len >= 2 && u[0] == 0xff && u[1] == 0xfe) {
		if (!(wide = from_utf16(u + 2, len - 2, &len)))
			goto oom;
		buf = wide;
	} else if (len >= 3 && u[0] == 0xef && u[1] == 0xbb && u[2] == 0xbf) {
		buf += 3;
		len -= 3;
	}
	while (pos < len) {
		const char *s = buf + pos, *nl = memchr(s, '\n', len - pos);
		struct span line = {s, nl ? (size_t)(nl - s) : len - pos};

		pos += line.n + 1;
		lineno++;
		if (line.n && line.s[line.n - 1] == '\r')
			line.n--;
		if (parse_line(&p, line, lineno) != 0)
			goto oom;
	}
	if (!info->ntables) {
		rc = 0;
		goto out;
	}
	info->format = p.last_kind == K_POOLMON ? "poolmon" : "!poolused";
	v->pid = 0;
	snprintf(v->comm, sizeof(v->comm), "%s", info->format);
	v->outstanding_only = p.outstanding_only;
	v->import_format = pt_view_strdup(v, info->format, strlen(info->format));
	v->import_file = pt_view_strdup(v, name ? name : "", name ? strlen(name) : 0);
	if (!v->import_format || !v->import_file)
		goto oom;
	rc = 1;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	free(wide);
	return rc;
}
