/*
 * report.c - what is still held, at exit (everything) and when a shared
 * object is unloaded (what its code acquired): blocks per module and call
 * site, from the counters (exact), and open descriptors with the line that
 * opened them.  With blocks tracked and stacks on, each site shows the
 * stack of one of its blocks.
 *
 * A finding is a site that still holds blocks, an open descriptor, or a
 * free of something malloc did not hand out.  Memory still held by the C
 * runtime itself (libc's stdio buffers, the dynamic linker's tables, C++'s
 * exception pool) is no finding: it is summed on one line, listed with
 * --all.
 *
 * The text is built in memory and written with one write(2), to standard
 * error or appended to the --output file, so that it does not depend on
 * the state the program left stdio in.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faultrun.h"
#include "preload.h"
#include "stack.h"

#define SHOW_SITES 32 /* sites listed per module, then a count of the rest */

uint64_t pt_run_foreign_frees(uintptr_t *first);

static int unload_findings; /* findings reported at dlclose, for the exit status */

struct group {
	uint32_t slot, module;
	uint64_t count, bytes;
};

struct fdrec {
	int fd;
	uint32_t slot;
};

struct fds {
	struct fdrec *v;
	size_t n, cap;
	uint32_t module; /* UINT32_MAX: all */
};

static void add_fd(int fd, uint32_t slot, void *arg)
{
	struct fds *l = arg;

	if (l->module != UINT32_MAX && pt_seg.slots[slot].module != l->module)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct fdrec *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct fdrec){fd, slot};
}

static int by_module_bytes(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->module != y->module)
		return x->module < y->module ? -1 : 1;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static const char *str(uint32_t off)
{
	return pt_seg.strings + off;
}

static const char *module_name(uint32_t id)
{
	const struct pt_run_module *m = pt_run_module_by_id(id);
	return m ? m->name : "?";
}

static int is_runtime(uint32_t id)
{
	const struct pt_run_module *m = pt_run_module_by_id(id);
	return m && m->runtime;
}

static void site_text(FILE *f, uint32_t slot)
{
	const struct pt_seg_slot *s = &pt_seg.slots[slot];

	pt_run_site_locate(slot); /* the line, looked up only for what is shown */
	if (s->line)
		fprintf(f, "%s:%u in %s", str(s->file), s->line, str(s->func));
	else
		fprintf(f, "%s", str(s->func));
}

static void write_out(const char *text, size_t len)
{
	int fd = 2;

	if (pt_run_cfg.output[0]) {
		fd = open(pt_run_cfg.output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0)
			fd = 2;
	}
	while (len > 0) {
		ssize_t w = write(fd, text, len);
		if (w <= 0)
			break;
		text += w;
		len -= (size_t)w;
	}
	if (fd != 2)
		close(fd);
}

/* "file:line in func" of a slot, for the driver of pooltag faults. */
static const char *slot_where(uint32_t slot, char *buf, size_t len)
{
	const struct pt_seg_slot *s = &pt_seg.slots[slot];
	const char *file, *base;

	pt_run_site_locate(slot);
	file = str(s->file);
	base = strrchr(file, '/');

	snprintf(buf, len, "%s:%u in %s", base ? base + 1 : file, s->line, str(s->func));
	return buf;
}

/* The findings of a run of pooltag faults, as its driver reads them
 * (src/faultrun.h): the sites still holding memory, the open descriptors. */
static void log_findings(const struct group *g, size_t ng, const struct fds *fl)
{
	char where[512], tag[5];
	int was = pt_run_busy;

	pt_run_busy = 1; /* libdw's own calls are not the program's */
	pt_fault_finding();
	pt_run_busy = was;
	for (size_t i = 0; i < ng; i++)
		if (!is_runtime(g[i].module))
			pt_fault_log("L\t%s\tblock\t%s\t\t%s\t%llu\t%llu", module_name(g[i].module),
				     pt_tag_str(pt_seg.slots[g[i].slot].tag, tag),
				     slot_where(g[i].slot, where, sizeof(where)),
				     (unsigned long long)g[i].count, (unsigned long long)g[i].bytes);
	for (size_t i = 0; i < fl->n; i++) {
		const struct pt_seg_slot *s = &pt_seg.slots[fl->v[i].slot];
		pt_fault_log("L\t%s\thandle\t%s\tdescriptor\t%s\t1\t0", module_name(s->module),
			     pt_tag_str(s->tag, tag), slot_where(fl->v[i].slot, where, sizeof(where)));
	}
}

int pt_run_report(uint32_t module, const char *event)
{
	struct group *g = NULL;
	struct fds fl = {.module = module};
	size_t ng = 0, cap = 0, textlen = 0;
	uint64_t blocks = 0, bytes = 0, rt_blocks = 0, rt_bytes = 0, foreign;
	uintptr_t foreign_at = 0;
	uint32_t nslots;
	int findings = 0, nsites = 0;
	char *text = NULL;
	FILE *f;

	pt_run_lock();
	nslots = __atomic_load_n(&pt_seg.hdr->nslots, __ATOMIC_ACQUIRE);
	for (uint32_t slot = 1 + PT_SEG_NCLASSES; slot < nslots; slot++) {
		const struct pt_seg_slot *s = &pt_seg.slots[slot];
		struct pt_count c;

		if (s->pool != PT_SEG_CLASS_PAGED || (module != UINT32_MAX && s->module != module))
			continue;
		pt_slot_sum(slot, &c);
		if (!c.curblocks)
			continue;
		if (module == UINT32_MAX && is_runtime(s->module)) {
			rt_blocks += c.curblocks;
			rt_bytes += c.curbytes;
			if (!pt_run_cfg.all)
				continue;
		} else {
			blocks += c.curblocks;
			bytes += c.curbytes;
			nsites++;
		}
		if (ng == cap) {
			size_t nc = cap ? cap * 2 : 256;
			struct group *ngp = realloc(g, nc * sizeof(*g));
			if (!ngp)
				break;
			g = ngp;
			cap = nc;
		}
		g[ng++] = (struct group){slot, s->module, c.curblocks, c.curbytes};
	}
	qsort(g, ng, sizeof(*g), by_module_bytes);
	pt_run_fds_each(add_fd, &fl);
	foreign = module == UINT32_MAX ? pt_run_foreign_frees(&foreign_at) : 0;
	findings = nsites + (int)fl.n + (foreign ? 1 : 0);

	f = open_memstream(&text, &textlen);
	if (!f) {
		pt_run_unlock();
		free(g);
		free(fl.v);
		return findings;
	}
	const char *who = module == UINT32_MAX ? module_name(0) : module_name(module);
	if (findings == 0 && rt_blocks == 0 && !pt_run_cfg.quiet)
		fprintf(f, "pooltag: %s (pid %d) %s: clean, nothing held\n", who, (int)getpid(), event);
	else if (findings == 0 && !pt_run_cfg.quiet)
		fprintf(f, "pooltag: %s (pid %d) %s: no leaks (the C runtime holds %llu blocks, %llu bytes)\n",
			who, (int)getpid(), event, (unsigned long long)rt_blocks,
			(unsigned long long)rt_bytes);
	if (findings || (pt_run_cfg.all && ng)) {
		if (findings)
			fprintf(f, "pooltag: %s (pid %d) %s holding: %llu blocks (%llu bytes) at %d sites, %zu descriptors\n",
				who, (int)getpid(), event, (unsigned long long)blocks,
				(unsigned long long)bytes, nsites, fl.n);
		for (size_t i = 0, shown = 0; i < ng; i++) {
			const struct pt_seg_slot *s = &pt_seg.slots[g[i].slot];
			char tag[5];
			if (i == 0 || g[i].module != g[i - 1].module) {
				uint64_t mb = 0, mn = 0;
				for (size_t j = i; j < ng && g[j].module == g[i].module; j++)
					mb += g[j].bytes, mn += g[j].count;
				const struct pt_run_module *m = pt_run_module_by_id(g[i].module);
				fprintf(f, "  memory held by %s%s%s: %llu blocks, %llu bytes\n",
					module_name(g[i].module), m && m->gone ? " (unloaded)" : "",
					m && m->runtime ? " (the C runtime)" : "",
					(unsigned long long)mn, (unsigned long long)mb);
				shown = 0;
			}
			if (shown++ == SHOW_SITES) {
				size_t rest = 0;
				while (i + rest < ng && g[i + rest].module == g[i].module)
					rest++;
				fprintf(f, "    ... and %zu more sites\n", rest);
				i += rest - 1;
				continue;
			}
			fprintf(f, "    %llu block%s, %llu bytes [%s] at ", (unsigned long long)g[i].count,
				g[i].count == 1 ? "" : "s", (unsigned long long)g[i].bytes,
				pt_tag_str(s->tag, tag));
			site_text(f, g[i].slot);
			fputc('\n', f);
			if (pt_run_cfg.track & PT_TRACK_STACKS) {
				char stack[2048];
				uint32_t id = pt_track_block_sample(g[i].slot);
				if (id) {
					pt_stack_format(id, stack, sizeof(stack), 12);
					fprintf(f, "      stack: %s\n", stack);
				}
			}
		}
		if (fl.n)
			fprintf(f, "  descriptors open:\n");
		for (size_t i = 0; i < fl.n; i++) {
			const struct pt_seg_slot *s = &pt_seg.slots[fl.v[i].slot];
			char link[64], target[512], tag[5];
			ssize_t n;
			snprintf(link, sizeof(link), "/proc/self/fd/%d", fl.v[i].fd);
			n = readlink(link, target, sizeof(target) - 1);
			target[n > 0 ? n : 0] = 0;
			fprintf(f, "    fd %d [%s] %s opened by %s at ", fl.v[i].fd,
				pt_tag_str(s->tag, tag), target, module_name(s->module));
			site_text(f, fl.v[i].slot);
			fputc('\n', f);
		}
		if (foreign)
			fprintf(f, "  %llu frees of pointers malloc did not return, or freed twice (first %#lx)\n",
				(unsigned long long)foreign, (unsigned long)foreign_at);
		if (rt_blocks && !pt_run_cfg.all)
			fprintf(f, "  the C runtime holds %llu blocks, %llu bytes more (no finding; --all lists them)\n",
				(unsigned long long)rt_blocks, (unsigned long long)rt_bytes);
	}
	fclose(f);
	pt_run_unlock();
	/* Unlocked: symbolising the failure's stack allocates, and a new site
	 * takes the lock. */
	if (findings && pt_fault_logging())
		log_findings(g, ng, &fl);
	if (text && textlen)
		write_out(text, textlen);
	free(text);
	free(g);
	free(fl.v);
	if (module != UINT32_MAX)
		unload_findings += findings;
	return findings;
}

void pt_run_report_status(int findings)
{
	char line[64];
	int fd, n;

	if (!pt_run_cfg.status[0])
		return;
	fd = open(pt_run_cfg.status, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "findings %d pid %d\n", findings + unload_findings,
		     (int)getpid());
	(void)!write(fd, line, (size_t)n);
	close(fd);
}
