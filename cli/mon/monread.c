/*
 * monread.c - the monitor's reads: the process (or the kernel) read again
 * at each interval, the read before kept so that the table shows what
 * changed, and the description column of a tag (mon.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocinfo.h"
#include "kmod.h"
#include "mon.h"
#include "procinfo.h"
#include "segread.h"

static int cmp_tally_tag(const void *key, const void *elem)
{
	const struct pt_tally *t = elem;
	return memcmp(key, &t->tag, 4);
}

char *pt_mon_desc(const struct pt_mon *m, uint32_t tag, char *buf, size_t len)
{
	const struct pt_tally *t;

	/* The tally is sorted by the tag's bytes (pt_tally_build). */
	t = m->tally ? bsearch(&tag, m->tally, m->ntally, sizeof(*t), cmp_tally_tag) : NULL;
	if (!t) {
		if (len)
			buf[0] = 0;
		return buf;
	}
	if (m->kernel && len) { /* the tag column is narrow: the module in full first */
		char lab[300];
		size_t n = (size_t)snprintf(buf, len, "%s  ",
					    pt_view_tag_label(&m->cur, tag, lab, sizeof(lab)));
		if (n < len)
			pt_tally_describe(buf + n, len - n, &m->cur, m->db, t);
		return buf;
	}
	return pt_tally_describe(buf, len, &m->cur, m->db, t);
}

int pt_mon_read(struct pt_mon *m)
{
	struct pt_view v;
	int rc;

	pt_view_init(&v);
	if (m->kernel && pt_allocinfo_load(&v, m->err, sizeof(m->err)) != 0) {
		pt_view_free(&v);
		return -1; /* the kernel does not exit */
	}
	rc = m->kernel ? 0 : pt_segread_pid(&v, m->pid, m->err, sizeof(m->err));
	if (rc != 0) {
		pt_view_free(&v);
		/* A process that exported and exports no more is exiting: its
		 * segment's name goes at exit, a moment before the process. */
		if (rc != PT_SEGREAD_EXITED && m->nreads)
			rc = pt_proc_wait_exit(m->pid, m->start_ticks, 5000) ? PT_SEGREAD_EXITED : rc;
		return rc == PT_SEGREAD_EXITED ? 1 : -1;
	}
	if (m->nreads && m->start_ticks && v.start_ticks && v.start_ticks != m->start_ticks) {
		pt_view_free(&v);
		return 1;
	}
	if (!m->nreads)
		m->start_ticks = v.start_ticks;
	pt_montab_free(&m->tab);
	pt_tally_free(m->tally, m->ntally);
	m->tally = NULL;
	m->ntally = 0;
	pt_view_free(&m->prev);
	m->prev = m->cur;
	m->cur = v;
	m->nreads++;
	if (pt_montab_build(&m->tab, m->nreads > 1 ? &m->prev : NULL, &m->cur) != 0 ||
	    pt_tally_build(&m->cur, NULL, &m->tally, &m->ntally) != 0) {
		snprintf(m->err, sizeof(m->err), "out of memory");
		return -1;
	}
	return 0;
}
