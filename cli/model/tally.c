/*
 * tally.c - per-tag sums of a view.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "safestr.h"
#include "tagdb.h"
#include "tally.h"

static int cmp_row_tag(const void *a, const void *b)
{
	const struct pt_row *x = *(const struct pt_row *const *)a, *y = *(const struct pt_row *const *)b;
	uint64_t ux = x->bytes_alloc - x->bytes_freed, uy = y->bytes_alloc - y->bytes_freed;

	if (x->tag != y->tag)
		return memcmp(&x->tag, &y->tag, 4);
	if (ux != uy)
		return ux > uy ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

int pt_tally_build(const struct pt_view *v, const char *pattern, struct pt_tally **out, size_t *n)
{
	const struct pt_row **rows = malloc((v->nrows + 1) * sizeof(*rows));
	struct pt_tally *t = NULL;
	size_t nr = 0, nt = 0;

	*out = NULL;
	*n = 0;
	if (!rows)
		return -1;
	for (size_t i = 0; i < v->nrows; i++)
		if (!pattern || pt_tag_match(pattern, v->rows[i].tag))
			rows[nr++] = &v->rows[i];
	/* Sorting by the tag's bytes (memcmp) gives the alphabetical order of tags. */
	qsort(rows, nr, sizeof(*rows), cmp_row_tag);
	t = calloc(nr + 1, sizeof(*t));
	if (!t) {
		free(rows);
		return -1;
	}
	for (size_t i = 0; i < nr;) {
		size_t j = i;
		struct pt_tally *e = &t[nt++];

		e->tag = rows[i]->tag;
		while (j < nr && rows[j]->tag == e->tag) {
			struct pt_sums *s = &e->pool[rows[j]->pool & 3];
			s->nallocs += rows[j]->nallocs;
			s->nfrees += rows[j]->nfrees;
			s->bytes_alloc += rows[j]->bytes_alloc;
			s->bytes_freed += rows[j]->bytes_freed;
			j++;
		}
		e->nsites = j - i;
		e->sites = malloc(e->nsites * sizeof(*e->sites));
		if (!e->sites) {
			pt_tally_free(t, nt);
			free(rows);
			return -1;
		}
		memcpy(e->sites, rows + i, e->nsites * sizeof(*e->sites));
		i = j;
	}
	free(rows);
	*out = t;
	*n = nt;
	return 0;
}

void pt_tally_free(struct pt_tally *t, size_t n)
{
	for (size_t i = 0; t && i < n; i++)
		free(t[i].sites);
	free(t);
}

const struct pt_vdesc *pt_view_desc(const struct pt_view *v, uint32_t tag)
{
	for (size_t i = v->ndescs; i-- > 0;)
		if (v->descs[i].tag == tag)
			return &v->descs[i];
	return NULL;
}

const char *pt_view_name(const struct pt_view *v, char *buf, size_t len)
{
	char raw[1024];

	if (v->kernel_format)
		snprintf(raw, sizeof(raw), "kernel %s (allocinfo %s)", v->kernel_source,
			 v->kernel_format);
	else if (v->import_format)
		snprintf(raw, sizeof(raw), "dump %s (%s)", v->import_file, v->import_format);
	else
		snprintf(raw, sizeof(raw), "pid %d (%s)", (int)v->pid, v->comm);
	return pt_safe_str(raw, buf, len);
}

char *pt_tag_print(uint32_t tag, char out[5])
{
	for (int i = 0; i < 4; i++) {
		unsigned c = (tag >> (8 * i)) & 0xff;
		out[i] = c >= 0x20 && c < 0x7f ? (char)c : '.';
	}
	out[4] = 0;
	return out;
}

/* Writes "<desc> , Binary: <binary>", or just desc when there is no binary. */
static void put_desc(char *buf, size_t len, const char *desc, const char *binary)
{
	if (binary && *binary)
		snprintf(buf, len, "%s , Binary: %s", desc, binary);
	else
		snprintf(buf, len, "%s", desc);
}

char *pt_tally_describe(char *buf, size_t len, const struct pt_view *v,
			const struct pt_tagdb *db, const struct pt_tally *t)
{
	const struct pt_vdesc *d = pt_view_desc(v, t->tag);
	const char *binary, *desc;
	char tag[5];

	if (len == 0)
		return buf;
	if (d) {
		/* An imported dump's descriptions name their binary or none;
		 * the program's own fall back on its command name. */
		put_desc(buf, len, d->desc, *d->binary || v->import_format ? d->binary : v->comm);
	} else if (db && pt_tagdb_lookup(db, t->tag, &binary, &desc)) {
		put_desc(buf, len, desc, binary);
	} else {
		/* Name the owner from the sites: distinct "func (file)" pairs. */
		size_t pos = 0, shown = 0, more = 0;
		buf[0] = 0;
		for (size_t i = 0; i < t->nsites; i++) {
			const struct pt_row *r = t->sites[i];
			int dup = 0;
			if (!*r->file)
				continue;
			for (size_t j = 0; j < i && !dup; j++)
				dup = strcmp(t->sites[j]->file, r->file) == 0 &&
				      strcmp(t->sites[j]->func, r->func) == 0;
			if (dup)
				continue;
			if (shown == 3) {
				more++;
				continue;
			}
			pos += (size_t)snprintf(buf + pos, pos < len ? len - pos : 0, "%s%s (%s)",
						shown ? ", " : "Allocated in ", *r->func ? r->func : "?",
						r->file);
			shown++;
		}
		if (shown && more && pos < len)
			pos += (size_t)snprintf(buf + pos, len - pos, " and %zu more", more);
		/* The binary: the module charged, when all the sites agree. */
		const char *bin = t->nsites ? t->sites[0]->module : "";
		for (size_t i = 1; i < t->nsites && *bin; i++)
			if (strcmp(t->sites[i]->module, bin) != 0)
				bin = "";
		if (shown && pos < len)
			snprintf(buf + pos, len - pos, " , Binary: %s", *bin ? bin : v->comm);
		if (!shown)
			snprintf(buf, len, "UNKNOWN pooltag '%s', please update pooltag.txt",
				 pt_tag_print(t->tag, tag));
	}
	pt_safe_inplace(buf);
	return buf;
}
