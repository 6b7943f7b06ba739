/*
 * report.c - what is still held, at a process's end (everything) and when
 * a shared object is unloaded (what its code acquired): blocks per module
 * and call site, from the counters (exact), open descriptors with the line
 * that opened them, and frees of what was not a live block.  With blocks
 * tracked and stacks on, each site shows the stack of one of its blocks.
 *
 * A finding is a site that still holds blocks, an open descriptor, or a
 * line that freed what malloc did not hand out (or freed twice).  Memory
 * still held by the C runtime itself (libc's stdio buffers, the dynamic
 * linker's tables, C++'s exception pool) is no finding: it is summed on
 * one line, listed with --all.  Groups covered by a suppression are no
 * finding either; their number is said.
 *
 * Every report ends with the verdict, one line per process and event:
 *
 *   pooltag: PROGRAM (pid N[, child of P]) EVENT: clean[, ...]
 *   pooltag: PROGRAM (pid N[, child of P]) EVENT: K findings
 *
 * EVENT is exit, _exit, "killed by SIGxxx", "exec FILE" or unloaded.  The
 * text is built in memory and handed whole to channel.c, so that it does
 * not depend on the state the program left stdio or its descriptors in.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "preload.h"
#include "reach.h"
#include "safestr.h"

static int unload_findings; /* findings reported at dlclose, for the exit status */

static struct {
	int child_of; /* the parent's pid, 0 in the process pooltag run started */
} base;

/* A fork child: its verdict names its parent; bad frees and findings at
 * dlclose were its parent's.  Its memory is classified by its own exit
 * scan: what the parent held and still reaches is reachable in the child
 * too. */
void pt_run_report_fork_child(void)
{
	base.child_of = getppid();
	unload_findings = 0;
	pt_run_mem_fork_child();
	pt_run_misfree_forget();
}

const char *pt_run_module_name(uint32_t id)
{
	const struct pt_run_module *m = pt_run_module_by_id(id);
	return m ? m->name : "?";
}

static const char *str(uint32_t off)
{
	return pt_seg.strings + off;
}

static struct pt_run_group *add(struct pt_run_findings *r)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		struct pt_run_group *g = realloc(r->g, cap * sizeof(*g));
		if (!g)
			return NULL;
		r->g = g;
		r->cap = cap;
	}
	memset(&r->g[r->n], 0, sizeof(r->g[0]));
	return &r->g[r->n++];
}

static void add_fd(int fd, uint32_t slot, void *arg)
{
	struct pt_run_findings *r = arg;
	struct pt_run_group *g;

	if (r->module != UINT32_MAX && pt_seg.slots[slot].module != r->module)
		return;
	if ((g = add(r))) {
		g->kind = PT_RUN_FD;
		g->slot = slot;
		g->module = pt_seg.slots[slot].module;
		g->count = 1;
		g->fd = fd;
	}
}

static int by_kind_module_bytes(const void *a, const void *b)
{
	const struct pt_run_group *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->module != y->module)
		return x->module < y->module ? -1 : 1;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->fd != y->fd)
		return x->fd < y->fd ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

void pt_run_collect(uint32_t module, struct pt_run_findings *r)
{
	r->module = module;
	/* Memory: lost or reachable, grouped by call path (group.c, from the
	 * scan of reach.c); at a dlclose, held per site.  Its groups join the
	 * others in pt_run_classify, once the memory's are classified. */
	r->mem = pt_run_mem_collect(module);
	r->scanned = pt_run_mem_scanned(r->mem);
	pt_run_fds_each(add_fd, r);
	if (module == UINT32_MAX) {
		const struct pt_run_misfree *m;
		uint64_t more;
		size_t n = pt_run_misfrees(&m, &more);
		for (size_t i = 0; i < n; i++) {
			struct pt_run_group *g = add(r);
			if (!g)
				break;
			g->kind = PT_RUN_BADFREE;
			g->pc = m[i].pc;
			g->first = m[i].first;
			g->slot = m[i].slot;
			g->size = m[i].size;
			g->count = m[i].count + (i + 1 == n ? more : 0);
		}
	}
	/* Misuse and special-pool reports were printed when found; at exit
	 * each counts as a finding too (the verdict, --error-exitcode). */
	r->nmisuse = module == UINT32_MAX ? pt_misuse_count() : 0;
}

/* The memory's groups, classified (which are the C runtime's is told by
 * their stacks, symbolised: so without the site lock), join the findings. */
static void classify(struct pt_run_findings *r)
{
	pt_run_mem_classify(r->mem);
	for (size_t i = 0; i < pt_run_mem_ngroups(r->mem); i++) {
		struct pt_run_group *g = add(r);
		if (!g)
			break;
		pt_run_mem_group(r->mem, i, g);
	}
	qsort(r->g, r->n, sizeof(*r->g), by_kind_module_bytes);
}

void pt_run_findings_free(struct pt_run_findings *r)
{
	free(r->g);
	r->g = NULL;
	r->n = r->cap = 0;
	pt_run_mem_free(r->mem);
	r->mem = NULL;
}

/* Sums what the groups mean, after suppression. */
static void tally(struct pt_run_findings *r)
{
	r->blocks = r->bytes = r->rt_blocks = r->rt_bytes = 0;
	r->reach_blocks = r->reach_bytes = 0;
	r->nsites = r->nfds = r->nbad = r->suppressed = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct pt_run_group *g = &r->g[i];
		if (g->kind == PT_RUN_BLOCKS && g->suppressed)
			pt_run_mem_suppress(r->mem, g->mem);
		if (g->kind == PT_RUN_BLOCKS && g->reach == PT_RUN_REACHABLE) {
			if (!g->suppressed) {
				r->reach_blocks += g->count;
				r->reach_bytes += g->bytes;
			}
		} else if (g->runtime) {
			r->rt_blocks += g->count;
			r->rt_bytes += g->bytes;
		} else if (g->suppressed) {
			r->suppressed++;
		} else if (g->kind == PT_RUN_BLOCKS) {
			r->blocks += g->count;
			r->bytes += g->bytes;
			r->nsites++;
		} else if (g->kind == PT_RUN_FD) {
			r->nfds++;
		} else {
			r->nbad++;
		}
	}
	r->findings = r->nsites + r->nfds + r->nbad + (int)r->nmisuse;
}

static int own_frame(const struct pt_frame *f)
{
	return strncmp(f->module, "libpooltag", 10) == 0;
}

unsigned pt_run_group_frames(const struct pt_run_group *g, struct pt_frame *out, unsigned max)
{
	unsigned n = 0;

	if (g->stack) {
		uintptr_t pcs[64];
		unsigned np = pt_stack_pcs(g->stack, pcs, 64);
		for (unsigned i = 0; i < np && n < max; i++) {
			struct pt_frame f;
			pt_sym_lookup(pcs[i], 1, &f);
			if (!own_frame(&f))
				out[n++] = f;
		}
		if (n)
			return n;
	}
	if (max == 0)
		return 0;
	if (g->kind == PT_RUN_BADFREE) {
		pt_sym_lookup(g->pc, 1, &out[0]);
		return 1;
	}
	const struct pt_seg_slot *s = &pt_seg.slots[g->slot];
	const char *file, *b;

	pt_run_site_locate(g->slot); /* the line, looked up only for what is shown */
	file = str(s->file);
	b = strrchr(file, '/');
	out[0] = (struct pt_frame){.module = pt_run_module_name(g->module),
				   .func = str(s->func),
				   .file = s->line ? (b ? b + 1 : file) : NULL,
				   .line = s->line};
	return 1;
}

static void site_text(FILE *f, uint32_t slot)
{
	const struct pt_seg_slot *s = &pt_seg.slots[slot];

	pt_run_site_locate(slot); /* the line, looked up only for what is shown */
	pt_run_put_where(f, s->line ? str(s->file) : NULL, s->line, str(s->func));
}

void pt_run_put_where(FILE *f, const char *file, unsigned line, const char *func)
{
	if (file) {
		pt_safe_put(f, file);
		fprintf(f, ":%u in ", line);
	}
	pt_safe_put(f, func);
}

/* "file:line in func" of a slot, for the driver of pooltag faults. */
static const char *slot_where(uint32_t slot, char *buf, size_t len)
{
	const struct pt_seg_slot *s = &pt_seg.slots[slot];
	const char *file, *b;

	pt_run_site_locate(slot);
	file = str(s->file);
	b = strrchr(file, '/');

	snprintf(buf, len, "%s:%u in %s", b ? b + 1 : file, s->line, str(s->func));
	return buf;
}

/* The findings of a run of pooltag faults, as its driver reads them
 * (src/faultrun.h): the sites still holding memory, the open descriptors. */
static void log_findings(const struct pt_run_findings *r)
{
	char where[512], tag[5];
	int was = pt_run_busy;

	pt_run_busy = 1; /* libdw's own calls are not the program's */
	pt_fault_finding();
	pt_run_busy = was;
	pt_run_mem_log(r->mem);
	for (size_t i = 0; i < r->n; i++) {
		const struct pt_run_group *g = &r->g[i];
		const struct pt_seg_slot *s = &pt_seg.slots[g->slot];
		if (g->runtime || g->suppressed)
			continue;
		if (g->kind == PT_RUN_FD)
			pt_fault_log("L\t%s\thandle\t%s\tdescriptor\t%s\t1\t0", pt_run_module_name(s->module),
				     pt_tag_str(s->tag, tag), slot_where(g->slot, where, sizeof(where)));
	}
}

static void frame_text(FILE *f, const struct pt_frame *fr)
{
	if (fr->file && fr->line) {
		pt_run_put_where(f, fr->file, fr->line, fr->func);
	} else {
		pt_safe_put(f, fr->func);
		fputs(" (", f);
		pt_safe_put(f, fr->module);
		fprintf(f, "+%#lx)", (unsigned long)fr->offset);
	}
}

static void text_fd(FILE *f, const struct pt_run_group *g, int first)
{
	const struct pt_seg_slot *s = &pt_seg.slots[g->slot];
	char link[64], target[512], tag[5];
	ssize_t n;

	if (first)
		fprintf(f, "  descriptors open:\n");
	snprintf(link, sizeof(link), "/proc/self/fd/%d", g->fd);
	n = readlink(link, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = 0;
	fprintf(f, "    fd %d [%s] ", g->fd, pt_tag_str(s->tag, tag));
	pt_safe_put(f, target); /* a file name may hold anything but '/' and NUL */
	fputs(" opened by ", f);
	pt_safe_put(f, pt_run_module_name(s->module));
	fputs(" at ", f);
	site_text(f, g->slot);
	fputc('\n', f);
}

static void text_badfree(FILE *f, const struct pt_run_group *g, int first)
{
	struct pt_frame fr;

	if (first)
		fprintf(f, "  frees of pointers that were not live blocks (freed twice, or not from malloc):\n");
	pt_sym_lookup(g->pc, 1, &fr);
	fprintf(f, "    %llu at ", (unsigned long long)g->count);
	frame_text(f, &fr);
	fprintf(f, " (first %#lx", (unsigned long)g->first);
	if (g->slot) {
		if (g->size)
			fprintf(f, ", freed twice: a block of %llu bytes allocated at ",
				(unsigned long long)g->size);
		else
			fprintf(f, ", freed twice: a block allocated at ");
		site_text(f, g->slot);
	}
	fprintf(f, ")\n");
}

/* The process or module, as the verdict names it. */
static void who(FILE *f, const struct pt_run_findings *r)
{
	fputs("pooltag: ", f);
	pt_safe_put(f, pt_run_module_name(r->module == UINT32_MAX ? 0 : r->module));
	fprintf(f, " (pid %d", (int)getpid());
	if (base.child_of)
		fprintf(f, ", child of %d", base.child_of);
	fputs(") ", f);
	pt_safe_put(f, r->event);
}

/* What is still reachable, if anything is. */
static void reachable(FILE *f, const struct pt_run_findings *r)
{
	if (r->reach_blocks)
		fprintf(f, "; still reachable: %llu blocks, %llu bytes", (unsigned long long)r->reach_blocks,
			(unsigned long long)r->reach_bytes);
}

/* The figures of the verdict: what was lost (or, without a scan, held),
 * and what is still reachable. */
static void figures(FILE *f, const struct pt_run_findings *r)
{
	fprintf(f, "%s %llu blocks (%llu bytes) in %d groups, %d descriptors open, %d bad frees, "
		   "%llu misuse reports",
		r->scanned ? "lost" : "held", (unsigned long long)r->blocks,
		(unsigned long long)r->bytes, r->nsites, r->nfds, r->nbad,
		(unsigned long long)r->nmisuse);
	reachable(f, r);
}

/* What the verdict sums, listed: memory's groups, descriptors, bad frees,
 * then notes on what is no finding. */
static void text_groups(FILE *f, const struct pt_run_findings *r)
{
	int first_fd = 1, first_bad = 1;

	pt_run_mem_print(f, r->mem);
	for (size_t i = 0; i < r->n; i++) {
		const struct pt_run_group *g = &r->g[i];
		if (g->suppressed || g->kind == PT_RUN_BLOCKS)
			continue;
		if (g->kind == PT_RUN_FD)
			text_fd(f, g, first_fd), first_fd = 0;
		else
			text_badfree(f, g, first_bad), first_bad = 0;
	}
	if (r->nmisuse)
		fprintf(f, "  %llu misuse report%s above (the special pool's, bad frees)\n",
			(unsigned long long)r->nmisuse, r->nmisuse == 1 ? "" : "s");
	if (r->rt_blocks && !pt_run_cfg.all && r->findings)
		fprintf(f, "  the C runtime %s %llu blocks, %llu bytes more (no finding; --all lists them)\n",
			r->scanned ? "lost" : "holds", (unsigned long long)r->rt_blocks,
			(unsigned long long)r->rt_bytes);
	if (r->suppressed)
		fprintf(f, "  %d finding groups suppressed\n", r->suppressed);
	if (pt_run_cfg.gen_supp && r->findings) {
		fprintf(f, "  suppression entries for these findings:\n");
		pt_run_suppress_entries(f, r);
	}
}

/* The report: the groups when there is something to list, then the
 * verdict (none for a clean run with -q). */
static void text(FILE *f, const struct pt_run_findings *r)
{
	if (r->findings || (pt_run_cfg.all && r->rt_blocks) || pt_run_cfg.reachable ||
	    pt_run_cfg.scan_stats)
		text_groups(f, r);
	if (r->findings) {
		who(f, r);
		fprintf(f, ": %d finding%s: ", r->findings, r->findings == 1 ? "" : "s");
		figures(f, r);
		fputc('\n', f);
		return;
	}
	if (pt_run_cfg.quiet)
		return;
	who(f, r);
	fprintf(f, ": clean, nothing %s", r->scanned ? "lost" : "held");
	reachable(f, r);
	if (r->rt_blocks)
		fprintf(f, " (the C runtime %s %llu blocks, %llu bytes%s", r->scanned ? "lost" : "holds",
			(unsigned long long)r->rt_blocks, (unsigned long long)r->rt_bytes,
			r->suppressed ? "; " : ")");
	if (r->suppressed)
		fprintf(f, "%s%d suppressed)", r->rt_blocks ? "" : " (", r->suppressed);
	fputc('\n', f);
}

/* An exec: the image ends, nothing it holds is a finding. */
static int report_exec(const char *event)
{
	char line[4600], child_of[32] = "";
	int n;

	if (pt_run_cfg.quiet)
		return 0;
	if (base.child_of)
		snprintf(child_of, sizeof(child_of), ", child of %d", base.child_of);
	n = snprintf(line, sizeof(line), "pooltag: %s (pid %d%s) %s: %s\n", pt_run_module_name(0),
		     (int)getpid(), child_of, event,
		     pt_run_cfg.follow_exec ? "followed"
					    : "not followed (pooltag run -f follows it)");
	if (n > 0)
		pt_run_write_line(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	return 0;
}

int pt_run_report(uint32_t module, const char *event)
{
	struct pt_run_findings r = {.event = event};
	size_t textlen = 0;
	char *buf = NULL;
	FILE *f;

	if (module == UINT32_MAX && strncmp(event, "exec ", 5) == 0)
		return report_exec(event);
	/* Nothing that asks the dynamic linker runs under the site lock
	 * (src/lifecycle.c): the scan's roots are read before it, the stacks
	 * symbolised after it. */
	if (module == UINT32_MAX)
		pt_reach_prepare();
	pt_run_lock();
	pt_run_collect(module, &r);
	pt_run_unlock();
	classify(&r);
	pt_run_suppress(&r);
	tally(&r);
	f = open_memstream(&buf, &textlen);
	if (f) {
		text(f, &r);
		fclose(f);
	}
	if (r.findings && pt_fault_logging())
		log_findings(&r);
	if (buf && textlen) {
		/* The names are the program's (its symbols, its files, what
		 * its descriptors point at): an escape sequence among them
		 * reaches no terminal (safestr.h). */
		pt_safe_lines(buf, textlen);
		pt_run_write(buf, textlen);
	}
	free(buf);
	if (pt_run_cfg.json[0])
		pt_run_json(&r);
	pt_run_findings_free(&r);
	if (module != UINT32_MAX)
		unload_findings += r.findings;
	return r.findings;
}

void pt_run_report_status(int findings, int exec)
{
	pt_run_status("%s %d findings %d\n", exec ? "exec" : "end", (int)getpid(),
		      findings + unload_findings);
}
