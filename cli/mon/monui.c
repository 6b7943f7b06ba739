/*
 * monui.c - the full-screen monitor of `pooltag mon` (ncurses).
 *
 * The screen, top to bottom: the process and the time of the read, the
 * totals per pool, the sort, pools and filter in force, the column titles,
 * the table (one row per tag and pool, expanded rows followed by their
 * sites, references and handles), and a status line.  Cells whose value
 * changed since the read before are highlighted.  PoolMon's keys work (t a
 * f d b m sort, p pools, l highlighting, h or ? help, q or Esc quits), plus
 * c (sort by change), r (reverse), / (filter), arrows and e or Enter
 * (expand), space (pause), + and - (interval), s (rates per second),
 * Ctrl-L (read now) and w, which shows the sampled call paths of the
 * biggest live consumers in place of the table (sampled.h).
 *
 * The terminal is always given back: q, SIGINT, SIGTERM and SIGHUP all leave
 * through endwin() (a signal is re-raised after it, so the caller sees it),
 * and the process's exit ends the monitor with a message.  Input is polled
 * at least every POLL_MS so that a signal is acted on at once even with a
 * long interval.
 */
#include <curses.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kmod.h"
#include "mon.h"
#include "pooltag.h"
#include "safestr.h"
#include "sampled.h"
#include "segfmt.h"

#define POLL_MS 200

/* Columns of the table, each width counting its leading space: 79 in all,
 * so that the table fits 80 columns. */
enum col { C_TAG, C_POOL, C_ALLOCS, C_ACHG, C_FREES, C_FCHG, C_DIFF, C_BYTES, C_BCHG, C_PER, NCOL };
static const struct {
	const char *title;
	int width;
} cols[NCOL] = {{"Tag", 5},   {"Pool", 6},  {"Allocs", 9}, {"", 7},      {"Frees", 9},
		{"", 7},      {"Diff", 8},  {"Bytes", 10}, {"", 8},      {"Per-Alloc", 10}};
#define TABLE_WIDTH 79
#define HEAD_LINES  4 /* lines above the table */

/* Wider than this, a site's location follows its numbers on one line and
 * the description follows each row. */
#define WIDE (TABLE_WIDTH + 40)

static const double steps[] = {0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600};

/* A line of the table area: a row of the table, or one of an expanded
 * row's lines. */
enum line_kind { L_ROW, L_DESC, L_SITE, L_WHERE };
struct line {
	enum line_kind kind;
	size_t row;  /* index in tab.rows */
	size_t site; /* L_SITE, L_WHERE: index in cur.rows */
};

struct key {
	uint32_t tag, pool;
};

struct ui {
	struct pt_mon *m;
	int paused, rates, highlight, help, editing, quit, exited, color;
	char edit[64];
	char msg[1100];
	struct key sel;
	int have_sel;
	size_t top; /* first line of the table area shown */
	struct key *expanded;
	size_t nexpanded;
	size_t *order, *sites;
	struct line *lines;
	size_t nlines;
	/* w: the sampled call paths in place of the table, from the read of
	 * paths_read under the filter paths_pattern (symbolised once per read
	 * and filter, not per redraw), scrolled to paths_top. */
	int paths, paths_stale;
	struct pt_spaths sp;
	unsigned long paths_read;
	char paths_pattern[64];
	size_t paths_top;
};

static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
	g_signal = sig;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes s at (y, *x) with attributes a, clipped to the screen (and short
 * of the bottom-right corner, which would scroll); advances *x.  Bytes
 * outside printable ASCII (from untrusted names) show as '?', so that one
 * byte takes one column and a line never wraps. */
static void put(int y, int *x, const char *s, attr_t a)
{
	int room = COLS - *x - (y == LINES - 1 ? 1 : 0), n = 0;
	char buf[512];

	if (room <= 0 || y < 0 || y >= LINES)
		return;
	if (room > (int)sizeof(buf))
		room = (int)sizeof(buf);
	for (; s[n] && n < room; n++)
		buf[n] = s[n] >= 0x20 && s[n] < 0x7f ? s[n] : '?';
	attron(a);
	mvaddnstr(y, *x, buf, n);
	attroff(a);
	*x += n;
}

static attr_t changed_attr(const struct ui *u, int changed)
{
	if (!changed || !u->highlight)
		return A_NORMAL;
	return A_BOLD | (u->color ? COLOR_PAIR(1) : A_NORMAL);
}

static int is_expanded(const struct ui *u, uint32_t tag, uint32_t pool)
{
	for (size_t i = 0; i < u->nexpanded; i++)
		if (u->expanded[i].tag == tag && u->expanded[i].pool == pool)
			return 1;
	return 0;
}

static void toggle_expanded(struct ui *u, struct key k)
{
	for (size_t i = 0; i < u->nexpanded; i++)
		if (u->expanded[i].tag == k.tag && u->expanded[i].pool == k.pool) {
			u->expanded[i] = u->expanded[--u->nexpanded];
			return;
		}
	struct key *e = realloc(u->expanded, (u->nexpanded + 1) * sizeof(*e));
	if (!e) {
		snprintf(u->msg, sizeof(u->msg), "out of memory");
		return;
	}
	u->expanded = e;
	u->expanded[u->nexpanded++] = k;
}

/* Lays out the table area: the rows in order, each expanded one followed
 * by its description (when no column shows it), then per site or holder
 * its numbers and, unless the screen is wide, its location below. */
static int layout(struct ui *u)
{
	const struct pt_montab *t = &u->m->tab;
	size_t nrows = t->cur->nrows, n, cap;
	struct line *l;

	free(u->order);
	free(u->sites);
	free(u->lines);
	u->lines = NULL;
	u->nlines = 0;
	u->order = malloc((t->nrows + 1) * sizeof(*u->order));
	u->sites = malloc((nrows + 1) * sizeof(*u->sites));
	if (!u->order || !u->sites)
		return -1;
	n = pt_montab_order(t, &u->m->opts, u->order);
	cap = n + 1;
	for (size_t i = 0; i < n; i++)
		if (is_expanded(u, t->rows[u->order[i]].tag, t->rows[u->order[i]].pool))
			cap += 1 + 2 * nrows;
	if (!(l = u->lines = malloc(cap * sizeof(*l))))
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct pt_mon_row *r = &t->rows[u->order[i]];
		l[u->nlines++] = (struct line){L_ROW, u->order[i], 0};
		if (!is_expanded(u, r->tag, r->pool))
			continue;
		if (COLS < WIDE)
			l[u->nlines++] = (struct line){L_DESC, u->order[i], 0};
		size_t ns = pt_montab_sites(t, r->tag, r->pool, u->sites);
		for (size_t j = 0; j < ns; j++) {
			l[u->nlines++] = (struct line){L_SITE, u->order[i], u->sites[j]};
			if (COLS < WIDE)
				l[u->nlines++] = (struct line){L_WHERE, u->order[i], u->sites[j]};
		}
	}
	return 0;
}

/* The line of the selected row, or -1 (nothing shown). */
static long selected_line(const struct ui *u)
{
	for (size_t i = 0; i < u->nlines; i++) {
		const struct pt_mon_row *r = &u->m->tab.rows[u->lines[i].row];
		if (u->lines[i].kind == L_ROW && u->have_sel && r->tag == u->sel.tag &&
		    r->pool == u->sel.pool)
			return (long)i;
	}
	return -1;
}

/* Moves the selection by delta rows (clamped); with nothing selected, to
 * the first row. */
static void move_sel(struct ui *u, long delta)
{
	long cur = selected_line(u), best = -1;
	long nrow = 0, at = 0, target;

	for (size_t i = 0; i < u->nlines; i++)
		if (u->lines[i].kind == L_ROW) {
			if ((long)i == cur)
				at = nrow;
			nrow++;
		}
	if (!nrow)
		return;
	target = cur < 0 ? 0 : at + delta;
	if (target < 0)
		target = 0;
	if (target >= nrow)
		target = nrow - 1;
	for (size_t i = 0, k = 0; i < u->nlines; i++)
		if (u->lines[i].kind == L_ROW && (long)k++ == target)
			best = (long)i;
	const struct pt_mon_row *r = &u->m->tab.rows[u->lines[best].row];
	u->sel = (struct key){r->tag, r->pool};
	u->have_sel = 1;
}

/* "(chg)" or "(/s)" cell: a change or a rate in parentheses. */
static const char *chg_cell(const struct ui *u, char *buf, size_t len, int64_t chg, int width,
			    int bytes)
{
	char v[32];

	if (u->rates)
		pt_mon_fmt_rate(v, sizeof(v), pt_montab_rate(&u->m->tab, chg), width - 3, bytes);
	else
		pt_mon_fmt_change(v, sizeof(v), chg, width - 3, bytes);
	snprintf(buf, len, " (%s)", v);
	return buf;
}

static const char *num_cell(char *buf, size_t len, uint64_t v, enum col c, int bytes)
{
	char s[32];

	pt_mon_fmt_count(s, sizeof(s), v, cols[c].width - 1, bytes);
	snprintf(buf, len, " %s", s);
	return buf;
}

/* The numeric cells of a set of counters and its change. */
static void draw_counts(const struct ui *u, int y, int *x, const struct pt_sums *s,
			const struct pt_mon_delta *d, attr_t base)
{
	char b[64];
	uint64_t was_diff = pt_sums_diff(s) - (uint64_t)d->diff;
	uint64_t was_bytes = pt_sums_used(s) - (uint64_t)d->bytes;
	uint64_t per = pt_mon_peralloc(s), was_per = was_diff ? was_bytes / was_diff : 0;

	put(y, x, num_cell(b, sizeof(b), s->nallocs, C_ALLOCS, 0), base | changed_attr(u, d->nallocs != 0));
	put(y, x, chg_cell(u, b, sizeof(b), d->nallocs, cols[C_ACHG].width, 0),
	    base | changed_attr(u, d->nallocs != 0));
	put(y, x, num_cell(b, sizeof(b), s->nfrees, C_FREES, 0), base | changed_attr(u, d->nfrees != 0));
	put(y, x, chg_cell(u, b, sizeof(b), d->nfrees, cols[C_FCHG].width, 0),
	    base | changed_attr(u, d->nfrees != 0));
	put(y, x, num_cell(b, sizeof(b), pt_sums_diff(s), C_DIFF, 0), base | changed_attr(u, d->diff != 0));
	put(y, x, num_cell(b, sizeof(b), pt_sums_used(s), C_BYTES, 1), base | changed_attr(u, d->bytes != 0));
	put(y, x, chg_cell(u, b, sizeof(b), d->bytes, cols[C_BCHG].width, 1),
	    base | changed_attr(u, d->bytes != 0));
	put(y, x, num_cell(b, sizeof(b), per, C_PER, 1), base | changed_attr(u, per != was_per));
}

static void site_where(const struct pt_row *r, char *buf, size_t len)
{
	char f[256], fn[256], mod[256];

	if (!*r->file && r->pool < PT_SEG_CLASS_REFS) {
		snprintf(buf, len, "sites beyond the table, counted by tag");
		return;
	}
	snprintf(buf, len, "at %s:%u in %s%s%s%s", pt_safe_str(*r->file ? r->file : "?", f, sizeof(f)),
		 r->line, pt_safe_str(*r->func ? r->func : "?", fn, sizeof(fn)),
		 *r->module ? " (" : "", pt_safe_str(r->module, mod, sizeof(mod)),
		 *r->module ? ")" : "");
}

static void draw_line(struct ui *u, int y, const struct line *l, int selected)
{
	const struct pt_montab *t = &u->m->tab;
	const struct pt_mon_row *r = &t->rows[l->row];
	attr_t base = selected ? A_REVERSE : A_NORMAL;
	char b[1024], tag[300];
	int x = 0;

	if (selected) { /* the selection bar spans the whole line */
		attron(A_REVERSE);
		mvhline(y, 0, ' ', COLS);
		attroff(A_REVERSE);
	}
	switch (l->kind) {
	case L_ROW:
		/* A kernel module's label is cut to the column; the description
		 * column starts with it in full (pt_mon_desc). */
		snprintf(b, sizeof(b), "%s%-4.4s", is_expanded(u, r->tag, r->pool) ? "-" : " ",
			 pt_view_tag_label(&u->m->cur, r->tag, tag, sizeof(tag)));
		put(y, &x, b, base);
		snprintf(b, sizeof(b), " %-5s", r->pool == PT_PAGED ? "Paged" : "Nonp");
		put(y, &x, b, base);
		draw_counts(u, y, &x, &r->now, &r->chg, base);
		if (COLS >= WIDE) {
			put(y, &x, "  ", base);
			put(y, &x, pt_mon_desc(u->m, r->tag, b, sizeof(b)), base);
		}
		break;
	case L_DESC:
		put(y, &x, "     ", base);
		put(y, &x, pt_mon_desc(u->m, r->tag, b, sizeof(b)), base);
		break;
	case L_SITE: {
		const struct pt_row *s = &t->cur->rows[l->site];
		const struct pt_mon_delta *d = &t->rowchg[l->site];
		if (s->pool < PT_SEG_CLASS_REFS) {
			struct pt_sums sums = {s->nallocs, s->nfrees, s->bytes_alloc, s->bytes_freed};
			put(y, &x, "   site    ", base);
			draw_counts(u, y, &x, &sums, d, base);
		} else {
			char c[32];
			snprintf(b, sizeof(b), "   %-10s held ", s->pool == PT_SEG_CLASS_REFS ? "references" : "handles");
			put(y, &x, b, base);
			pt_mon_fmt_count(c, sizeof(c), s->nallocs - s->nfrees, 0, 0);
			put(y, &x, c, base | changed_attr(u, d->diff != 0));
			put(y, &x, chg_cell(u, c, sizeof(c), d->diff, 3, 0), base | changed_attr(u, d->diff != 0));
			snprintf(b, sizeof(b), ", taken %llu, released %llu",
				 (unsigned long long)s->nallocs, (unsigned long long)s->nfrees);
			put(y, &x, b, base);
		}
		if (COLS >= WIDE) {
			site_where(s, b, sizeof(b));
			put(y, &x, "  ", base);
			put(y, &x, b, base);
		}
		break;
	}
	case L_WHERE:
		put(y, &x, "        ", base);
		site_where(&t->cur->rows[l->site], b, sizeof(b));
		put(y, &x, b, base);
		break;
	}
}

static void draw_header(struct ui *u)
{
	struct pt_mon *m = u->m;
	const struct pt_montab *t = &m->tab;
	static const char *const pools[] = {"both", "paged", "nonpaged"};
	char b[512], comm[128], when[32], c1[32], c2[32];
	time_t secs = (time_t)(m->cur.taken_ns / 1000000000);
	struct tm tm;
	int x = 0;

	localtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	snprintf(b, sizeof(b), " pooltag mon  pid %d (%s)  %s  every %gs", (int)m->pid,
		 pt_safe_str(m->cur.comm, comm, sizeof(comm)), when, m->interval);
	put(0, &x, b, A_BOLD);
	if (u->paused)
		put(0, &x, "  PAUSED", A_BOLD | A_REVERSE);
	x = 0;
	snprintf(b, sizeof(b), " Nonp: %llu allocs, %llu bytes (%s)   Paged: %llu allocs, %llu bytes (%s)",
		 (unsigned long long)pt_sums_diff(&t->total[PT_NONPAGED]),
		 (unsigned long long)pt_sums_used(&t->total[PT_NONPAGED]),
		 pt_mon_fmt_change(c1, sizeof(c1), t->total_chg[PT_NONPAGED].bytes, 0, 1),
		 (unsigned long long)pt_sums_diff(&t->total[PT_PAGED]),
		 (unsigned long long)pt_sums_used(&t->total[PT_PAGED]),
		 pt_mon_fmt_change(c2, sizeof(c2), t->total_chg[PT_PAGED].bytes, 0, 1));
	put(1, &x, b, A_NORMAL);
	x = 0;
	snprintf(b, sizeof(b), " Sort: %s%s  Pools: %s  Filter: %s  Changes: %s%s",
		 pt_mon_sort_name(m->opts.sort), m->opts.reverse ? " (reversed)" : "",
		 pools[m->opts.pools], m->opts.pattern ? m->opts.pattern : "none",
		 u->rates ? "per second" : "since last read", u->highlight ? "" : "  (no highlight)");
	put(2, &x, b, A_NORMAL);
	/* Column titles, in reverse video across the line. */
	attron(A_REVERSE);
	mvhline(3, 0, ' ', COLS);
	attroff(A_REVERSE);
	x = 0;
	for (int c = 0; c < NCOL; c++) {
		const char *title = cols[c].title;
		if (!*title)
			title = u->rates ? "(/s)" : "(chg)";
		if (c <= C_POOL)
			snprintf(b, sizeof(b), " %-*s", cols[c].width - 1, title);
		else
			snprintf(b, sizeof(b), "%*s", cols[c].width, title);
		put(3, &x, b, A_REVERSE);
	}
	if (COLS >= WIDE)
		put(3, &x, "  Description", A_REVERSE);
}

/* The area under the header in w mode: two lines per path, biggest first,
 * the filter applied; the titles line says how figures are to be read. */
static void draw_paths(struct ui *u, int area)
{
	struct pt_mon *m = u->m;
	char b[1200], tag[5], est[64];
	int x = 0;

	const char *pattern = m->opts.pattern ? m->opts.pattern : "";

	if (u->paths_stale || m->nreads != u->paths_read || strcmp(pattern, u->paths_pattern)) {
		pt_sampled_free(&u->sp);
		if (pt_sampled_top(&u->sp, &m->cur, m->opts.pattern, -1) != 0)
			snprintf(u->msg, sizeof(u->msg), "out of memory");
		u->paths_stale = 0;
		u->paths_read = m->nreads;
		snprintf(u->paths_pattern, sizeof(u->paths_pattern), "%s", pattern);
	}
	attron(A_REVERSE);
	mvhline(3, 0, ' ', COLS);
	attroff(A_REVERSE);
	snprintf(b, sizeof(b), " Sampled call paths: one allocation in about %s; '~' marks estimates",
		 pt_sampled_human(u->sp.mean, est, sizeof(est)));
	put(3, &x, u->sp.mean ? b : " Sampled call paths", A_REVERSE);
	if (!u->sp.n) {
		x = 0;
		put(HEAD_LINES, &x,
		    m->kernel ? " the kernel's counters have no sampled stacks"
		    : !u->sp.mean ? " the process samples no stacks (POOLTAG=sample=0, or an older library)"
				  : " no sampled block is live",
		    A_NORMAL);
		return;
	}
	if (u->paths_top + (size_t)area / 2 > u->sp.n)
		u->paths_top = u->sp.n > (size_t)area / 2 ? u->sp.n - (size_t)area / 2 : 0;
	for (int y = 0; y + 1 < area && u->paths_top + (size_t)y / 2 < u->sp.n; y += 2) {
		const struct pt_spath *p = &u->sp.p[u->paths_top + (size_t)y / 2];
		x = 0;
		snprintf(b, sizeof(b), " %-4s ~%s live (%llu sample%s) at %s in %s",
			 pt_tag_print(p->s->tag, tag), pt_sampled_human(p->s->live_est, est, sizeof(est)),
			 (unsigned long long)p->s->nlive, p->s->nlive == 1 ? "" : "s", p->where, p->func);
		put(HEAD_LINES + y, &x, b, A_BOLD);
		x = 0;
		snprintf(b, sizeof(b), "       via %s", *p->via ? p->via : "(no frames recorded)");
		put(HEAD_LINES + y + 1, &x, b, A_NORMAL);
	}
}

static const char *const help_text[] = {
	"pooltag mon: keys",
	"",
	"  t a f d b m   sort by tag, allocs, frees, diff, bytes, per-alloc",
	"  c             sort by change since the last read (bytes, then allocs)",
	"  r             reverse the order (or press the sort key again)",
	"  p             pools: both, paged, nonpaged",
	"  /             filter by tag pattern ('?' one character, '*' any)",
	"  Up Down PgUp PgDn Home End (or j k)   select a row",
	"  e, Enter      expand the row: sites, references and handles",
	"  w             sampled call paths of the live memory, or the table",
	"  s             changes since the last read, or per second",
	"  l             highlighting of changed cells on and off",
	"  space         pause and resume",
	"  + -           longer or shorter interval",
	"  Ctrl-L        read now and redraw",
	"  h ?           this help",
	"  q Esc         quit",
	"",
	"Press any key to go back.",
};

static void draw(struct ui *u)
{
	int area = LINES - HEAD_LINES - 1, x = 0;
	long sel;

	erase();
	if (LINES < HEAD_LINES + 3 || COLS < 20) {
		put(0, &x, "pooltag mon: the terminal is too small", A_NORMAL);
		refresh();
		return;
	}
	if (u->help) {
		for (size_t i = 0; i < sizeof(help_text) / sizeof(help_text[0]); i++) {
			x = 0;
			put((int)i, &x, help_text[i], i == 0 ? A_BOLD : A_NORMAL);
		}
		refresh();
		return;
	}
	if (layout(u) != 0)
		snprintf(u->msg, sizeof(u->msg), "out of memory");
	if ((sel = selected_line(u)) < 0 && u->nlines) {
		move_sel(u, 0);
		sel = selected_line(u);
	}
	/* Scroll so that the selected row shows. */
	if (sel >= 0 && (size_t)sel < u->top)
		u->top = (size_t)sel;
	if (sel >= 0 && (size_t)sel >= u->top + (size_t)area)
		u->top = (size_t)sel - (size_t)area + 1;
	if (u->top + (size_t)area > u->nlines)
		u->top = u->nlines > (size_t)area ? u->nlines - (size_t)area : 0;
	draw_header(u);
	if (u->paths) {
		draw_paths(u, area);
		goto status;
	}
	for (int i = 0; i < area && u->top + (size_t)i < u->nlines; i++)
		draw_line(u, HEAD_LINES + i, &u->lines[u->top + (size_t)i],
			  (long)(u->top + (size_t)i) == sel);
	if (!u->nlines) {
		x = 0;
		put(HEAD_LINES, &x, u->m->opts.pattern ? " no tag matches the filter" : " no tags yet",
		    A_NORMAL);
	}
status:
	x = 0;
	if (u->editing) {
		char b[128];
		snprintf(b, sizeof(b), " Filter (tag pattern, empty for all): %s", u->edit);
		put(LINES - 1, &x, b, A_BOLD);
		curs_set(1);
		move(LINES - 1, x < COLS ? x : COLS - 1);
	} else {
		curs_set(0);
		put(LINES - 1, &x,
		    *u->msg	 ? u->msg
		    : u->paths ? " w table  q quit  h help  / filter  arrows scroll"
			       : " q quit  h help  t a f d b m c sort  r reverse  p pools  / filter  e expand",
		    *u->msg ? A_BOLD : A_NORMAL);
	}
	refresh();
}

/* A key while the filter is edited: Enter applies it (a bad pattern is
 * named on the status line and the filter kept), Esc cancels. */
static void edit_key(struct ui *u, int ch)
{
	size_t n = strlen(u->edit);
	char err[256];

	if (ch == 27) {
		u->editing = 0;
	} else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		u->editing = 0;
		if (!*u->edit) {
			u->m->opts.pattern = NULL;
		} else if (!u->m->kernel && pt_tag_pattern_check(u->edit, err, sizeof(err)) != 0) {
			snprintf(u->msg, sizeof(u->msg), " bad tag pattern '%s': %s", u->edit, err);
		} else {
			snprintf(u->m->pattern, sizeof(u->m->pattern), "%s", u->edit);
			u->m->opts.pattern = u->m->pattern;
			u->top = 0;
		}
	} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		if (n)
			u->edit[n - 1] = 0;
	} else if (ch >= 0x20 && ch < 0x7f && n + 1 < sizeof(u->edit)) {
		u->edit[n] = (char)ch;
		u->edit[n + 1] = 0;
	}
}

/* How a moving key moves: the selection in the table, the paths in w mode. */
enum move { ROW_UP, ROW_DOWN, PAGE_UP, PAGE_DOWN, FIRST, LAST };

/* Scrolls the paths shown in w mode (clamped when drawn). */
static void scroll_paths(struct ui *u, enum move how, int area)
{
	size_t page = area > 3 ? (size_t)area / 2 - 1 : 1;

	switch (how) {
	case ROW_UP:
		u->paths_top -= u->paths_top > 0;
		break;
	case ROW_DOWN:
		u->paths_top++;
		break;
	case PAGE_UP:
		u->paths_top = u->paths_top > page ? u->paths_top - page : 0;
		break;
	case PAGE_DOWN:
		u->paths_top += page;
		break;
	case FIRST:
		u->paths_top = 0;
		break;
	case LAST:
		u->paths_top = u->sp.n;
		break;
	}
}

/* The keys' actions: each takes the argument its key gives, and returns 1
 * to read now. */
static int key_move(struct ui *u, int how)
{
	int area = LINES - HEAD_LINES - 1;
	long page = area > 1 ? area - 1 : 1;
	const long delta[] = {[ROW_UP] = -1,    [ROW_DOWN] = 1,          [PAGE_UP] = -page,
			      [PAGE_DOWN] = page, [FIRST] = -(long)u->nlines, [LAST] = (long)u->nlines};

	if (u->paths)
		scroll_paths(u, (enum move)how, area);
	else
		move_sel(u, delta[how]);
	return 0;
}

static int key_sort(struct ui *u, int s)
{
	if (u->m->opts.sort == (enum pt_mon_sort)s)
		u->m->opts.reverse = !u->m->opts.reverse;
	else
		u->m->opts.reverse = 0;
	u->m->opts.sort = (enum pt_mon_sort)s;
	return 0;
}

static int key_quit(struct ui *u, int unused)
{
	u->quit = 1;
	return 0;
}

static int key_reverse(struct ui *u, int unused)
{
	u->m->opts.reverse = !u->m->opts.reverse;
	return 0;
}

static int key_pools(struct ui *u, int unused)
{
	u->m->opts.pools = (enum pt_mon_pools)((u->m->opts.pools + 1) % 3);
	return 0;
}

static int key_highlight(struct ui *u, int unused)
{
	u->highlight = !u->highlight;
	return 0;
}

static int key_rates(struct ui *u, int unused)
{
	u->rates = !u->rates;
	return 0;
}

static int key_pause(struct ui *u, int unused)
{
	u->paused = !u->paused;
	return 0;
}

static int key_help(struct ui *u, int unused)
{
	u->help = 1;
	return 0;
}

static int key_filter(struct ui *u, int unused)
{
	u->editing = 1;
	snprintf(u->edit, sizeof(u->edit), "%s", u->m->opts.pattern ? u->m->opts.pattern : "");
	return 0;
}

/* The next step of the interval up (dir 1) or down (-1). */
static int key_interval(struct ui *u, int dir)
{
	const size_t n = sizeof(steps) / sizeof(steps[0]);

	for (size_t k = 0; k < n; k++) {
		size_t i = dir > 0 ? k : n - 1 - k;
		if (dir > 0 ? steps[i] > u->m->interval + 1e-9 : steps[i] < u->m->interval - 1e-9) {
			u->m->interval = steps[i];
			break;
		}
	}
	return 0;
}

static int key_expand(struct ui *u, int unused)
{
	if (selected_line(u) >= 0)
		toggle_expanded(u, u->sel);
	return 0;
}

static int key_paths(struct ui *u, int unused)
{
	u->paths = !u->paths;
	u->paths_top = 0;
	u->paths_stale = 1;
	return 0;
}

static int key_redraw(struct ui *u, int unused)
{
	clearok(curscr, TRUE);
	return !u->paused;
}

/* The keys of the monitor (the help text lists them). */
static const struct {
	int key;
	int (*act)(struct ui *u, int arg);
	int arg;
} keys[] = {
	{'q', key_quit, 0},
	{'Q', key_quit, 0},
	{27, key_quit, 0}, /* Esc */
	{'t', key_sort, PT_MON_SORT_TAG},
	{'a', key_sort, PT_MON_SORT_ALLOCS},
	{'f', key_sort, PT_MON_SORT_FREES},
	{'d', key_sort, PT_MON_SORT_DIFF},
	{'b', key_sort, PT_MON_SORT_BYTES},
	{'m', key_sort, PT_MON_SORT_PERALLOC},
	{'c', key_sort, PT_MON_SORT_CHANGE},
	{'r', key_reverse, 0},
	{'p', key_pools, 0},
	{'l', key_highlight, 0},
	{'s', key_rates, 0},
	{' ', key_pause, 0},
	{'h', key_help, 0},
	{'?', key_help, 0},
	{'/', key_filter, 0},
	{'+', key_interval, 1},
	{'=', key_interval, 1},
	{'-', key_interval, -1},
	{KEY_UP, key_move, ROW_UP},
	{'k', key_move, ROW_UP},
	{KEY_DOWN, key_move, ROW_DOWN},
	{'j', key_move, ROW_DOWN},
	{KEY_PPAGE, key_move, PAGE_UP},
	{KEY_NPAGE, key_move, PAGE_DOWN},
	{KEY_HOME, key_move, FIRST},
	{KEY_END, key_move, LAST},
	{'e', key_expand, 0},
	{'\n', key_expand, 0},
	{'\r', key_expand, 0},
	{KEY_ENTER, key_expand, 0},
	{'w', key_paths, 0},
	{12, key_redraw, 0}, /* Ctrl-L */
};

/* Acts on a key; returns 1 to read now. */
static int on_key(struct ui *u, int ch)
{
	if (u->editing) {
		edit_key(u, ch);
		return 0;
	}
	if (u->help) {
		if (ch != KEY_RESIZE)
			u->help = 0;
		return 0;
	}
	if (ch != KEY_RESIZE)
		u->msg[0] = 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].key == ch)
			return keys[i].act(u, keys[i].arg);
	return 0;
}

/* Reads again; on the process's exit, ends the monitor. */
static void reread(struct ui *u)
{
	int rc = pt_mon_read(u->m);

	if (rc == 1)
		u->exited = 1;
	else if (rc < 0)
		snprintf(u->msg, sizeof(u->msg), " cannot read: %s", u->m->err);
}

int pt_mon_ui(struct pt_mon *m)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa = {.sa_handler = on_signal}, old[3];
	struct ui u = {.m = m, .highlight = 1};
	SCREEN *scr;
	double next;
	char comm[128];
	int sig;

	/* Installed before ncurses starts, so that it keeps ours (no
	 * SA_RESTART: a signal ends the wait for a key). */
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	if (!(scr = newterm(NULL, stdout, stdin))) {
		for (int i = 0; i < 3; i++)
			sigaction(sigs[i], &old[i], NULL);
		snprintf(m->err, sizeof(m->err),
			 "mon: cannot use the terminal (TERM=%s); redirect the output for plain tables",
			 getenv("TERM") ? getenv("TERM") : "");
		return 1;
	}
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(50);
	curs_set(0);
	if (has_colors() && start_color() == OK) {
		use_default_colors();
		u.color = init_pair(1, COLOR_YELLOW, -1) == OK;
	}
	next = now_s() + m->interval;
	draw(&u);
	while (!g_signal && !u.quit && !u.exited) {
		double left = next - now_s();
		int ms = left <= 0 ? 0 : left * 1000 > POLL_MS ? POLL_MS : (int)(left * 1000);
		int ch, read_now = 0, dirty = 0;

		timeout(ms);
		ch = getch();
		if (ch != ERR) {
			read_now = on_key(&u, ch);
			dirty = 1;
		}
		if (read_now || (!u.paused && now_s() >= next)) {
			reread(&u);
			next = now_s() + m->interval;
			dirty = 1;
		} else if (u.paused) {
			next = now_s() + m->interval;
		}
		if (dirty && !u.quit && !u.exited && !g_signal)
			draw(&u);
	}
	endwin();
	delscreen(scr);
	free(u.expanded);
	free(u.order);
	free(u.sites);
	free(u.lines);
	pt_sampled_free(&u.sp);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	m->err[0] = 0; /* what a failed read left there was shown on the status line */
	if ((sig = g_signal)) {
		fflush(stdout);
		raise(sig);
		return 128 + sig;
	}
	if (u.exited)
		snprintf(m->err, sizeof(m->err), "process %d (%s) has exited", (int)m->pid,
			 pt_safe_str(m->cur.comm, comm, sizeof(comm)));
	return 0;
}
