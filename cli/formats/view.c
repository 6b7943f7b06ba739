/*
 * view.c - the in-memory view: rows, tag descriptions and the strings they
 * point to.
 *
 * Rows and descriptions are plain arrays that double when full.  Strings live
 * in chunks: a singly linked list of malloc'd blocks, the newest first, each
 * filled from the front.  A view holds tens of thousands of short strings
 * (file and function names), so one allocation per string would cost more in
 * malloc headers than the strings themselves, and freeing the view would take
 * one free per string.  A string too big for a quarter of a chunk gets a chunk
 * of its own, linked behind the head so the head's free space stays usable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "view.h"

#define PT_VIEW_CHUNK_SIZE (16 * 1024)

/* Invariant: used <= cap; data[0..used) holds NUL-terminated strings. */
struct pt_view_chunk {
	struct pt_view_chunk *next;
	size_t used, cap;
	char data[];
};

const char *const pt_pool_word[4] = {"paged", "nonpaged", "refs", "handles"};
const char *const pt_pool_title[4] = {"Paged", "NonPaged", "Refs", "Handles"};

void pt_view_init(struct pt_view *v)
{
	memset(v, 0, sizeof(*v));
}

/* Frees everything the view owns and leaves it empty, as after pt_view_init,
 * so freeing twice is harmless. */
void pt_view_free(struct pt_view *v)
{
	struct pt_view_chunk *c = v->chunks;

	while (c) {
		struct pt_view_chunk *next = c->next;

		free(c);
		c = next;
	}
	free(v->rows);
	free(v->descs);
	free(v->samples);
	pt_view_init(v);
}

/* A new chunk able to hold cap bytes; NULL on out of memory. */
static struct pt_view_chunk *pt_view_chunk_new(size_t cap)
{
	struct pt_view_chunk *c;

	if (cap > SIZE_MAX - sizeof(*c))
		return NULL;
	c = malloc(sizeof(*c) + cap);
	if (!c)
		return NULL;
	c->next = NULL;
	c->used = 0;
	c->cap = cap;
	return c;
}

/* Copies s[0..len) and a NUL into the view's string storage.  s may be NULL
 * when len is 0.  NULL on out of memory (or a len no allocation can hold). */
const char *pt_view_strdup(struct pt_view *v, const char *s, size_t len)
{
	struct pt_view_chunk *c = v->chunks;
	char *out;

	if (len == SIZE_MAX)
		return NULL;
	if (!c || c->cap - c->used < len + 1) {
		if (len + 1 > PT_VIEW_CHUNK_SIZE / 4) {
			/* A big string: its own chunk, exactly full.  Behind the
			 * head, so the head keeps serving small strings. */
			c = pt_view_chunk_new(len + 1);
			if (!c)
				return NULL;
			if (v->chunks) {
				c->next = v->chunks->next;
				v->chunks->next = c;
			} else {
				v->chunks = c;
			}
		} else {
			c = pt_view_chunk_new(PT_VIEW_CHUNK_SIZE);
			if (!c)
				return NULL;
			c->next = v->chunks;
			v->chunks = c;
		}
	}
	out = c->data + c->used;
	if (len)
		memcpy(out, s, len);
	out[len] = '\0';
	c->used += len + 1;
	return out;
}

/* pt_view_strdup of a C string; NULL stands for "". */
static const char *pt_view_strdup0(struct pt_view *v, const char *s)
{
	return pt_view_strdup(v, s ? s : "", s ? strlen(s) : 0);
}

/* Makes room for one more element after the n of array arr, which has room
 * for *cap elements of size elem, by doubling it.  Returns the (possibly
 * moved) array, or NULL on out of memory with arr and *cap unchanged. */
static void *pt_view_grow(void *arr, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 64;
	if (ncap < *cap || ncap > SIZE_MAX / elem)
		return NULL;
	p = realloc(arr, ncap * elem);
	if (!p)
		return NULL;
	*cap = ncap;
	return p;
}

/* Appends a copy of *r whose file and func are copies owned by the view
 * (NULL becomes "").  0, or -1 on out of memory with the rows unchanged. */
int pt_view_add_row(struct pt_view *v, const struct pt_row *r)
{
	struct pt_row row = *r;
	struct pt_row *rows = pt_view_grow(v->rows, &v->rows_cap, v->nrows, sizeof(*rows));

	if (!rows)
		return -1;
	v->rows = rows;
	row.file = pt_view_strdup0(v, r->file);
	row.func = pt_view_strdup0(v, r->func);
	row.module = pt_view_strdup0(v, r->module);
	if (!row.file || !row.func || !row.module)
		return -1;
	v->rows[v->nrows++] = row;
	return 0;
}

/* Appends a description of tag, copying binary and desc (NULL becomes "").
 * 0, or -1 on out of memory with the descriptions unchanged. */
int pt_view_add_desc(struct pt_view *v, uint32_t tag, const char *binary, const char *desc)
{
	struct pt_vdesc d;
	struct pt_vdesc *descs = pt_view_grow(v->descs, &v->descs_cap, v->ndescs, sizeof(*descs));

	if (!descs)
		return -1;
	v->descs = descs;
	d.tag = tag;
	d.binary = pt_view_strdup0(v, binary);
	d.desc = pt_view_strdup0(v, desc);
	if (!d.binary || !d.desc)
		return -1;
	v->descs[v->ndescs++] = d;
	return 0;
}

/* Appends a sampled path, copying its strings.  0, or -1 on out of memory. */
int pt_view_add_sample(struct pt_view *v, const struct pt_vsample *s)
{
	struct pt_vsample c = *s;
	struct pt_vsample *a = pt_view_grow(v->samples, &v->samples_cap, v->nsamples, sizeof(*a));

	if (!a)
		return -1;
	v->samples = a;
	c.file = pt_view_strdup0(v, s->file);
	c.func = pt_view_strdup0(v, s->func);
	if (!c.file || !c.func)
		return -1;
	for (unsigned i = 0; i < c.depth; i++)
		if (!(c.frames[i].path = pt_view_strdup0(v, s->frames[i].path)))
			return -1;
	v->samples[v->nsamples++] = c;
	return 0;
}
