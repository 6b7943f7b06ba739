/*
 * report.c - what is still held, at exit (everything) and when a shared
 * object is unloaded (what its code acquired): memory lost or still
 * reachable, grouped by call path (group.c, from the scan of reach.c), and
 * open descriptors with the line that opened them.
 *
 * A finding is a group of lost memory, an open descriptor, or a free of
 * something malloc did not hand out.  Memory the C runtime itself lost
 * (the dynamic linker's tables, C++'s exception pool) is no finding: it is
 * summed on one line, listed with --all.
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
#include "reach.h"
#include "stack.h"

uint64_t pt_run_foreign_frees(uintptr_t *first);

static int unload_findings; /* findings reported at dlclose, for the exit status */

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

static const char *str(uint32_t off)
{
	return pt_seg.strings + off;
}

static const char *module_name(uint32_t id)
{
	const struct pt_run_module *m = pt_run_module_by_id(id);
	return m ? m->name : "?";
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
static void log_findings(const struct pt_run_mem *mem, const struct fds *fl)
{
	char where[512], tag[5];
	int was = pt_run_busy;

	pt_run_busy = 1; /* libdw's own calls are not the program's */
	pt_fault_finding();
	pt_run_busy = was;
	pt_run_mem_log(mem);
	for (size_t i = 0; i < fl->n; i++) {
		const struct pt_seg_slot *s = &pt_seg.slots[fl->v[i].slot];
		pt_fault_log("L\t%s\thandle\t%s\tdescriptor\t%s\t1\t0", module_name(s->module),
			     pt_tag_str(s->tag, tag), slot_where(fl->v[i].slot, where, sizeof(where)));
	}
}

int pt_run_report(uint32_t module, const char *event)
{
	struct fds fl = {.module = module};
	struct pt_run_mem *mem;
	size_t textlen = 0;
	uint64_t blocks, bytes, rt_blocks, rt_bytes, foreign;
	uintptr_t foreign_at = 0;
	uint64_t misuse;
	int findings = 0, ngroups;
	char *text = NULL;
	FILE *f;

	pt_run_lock();
	/* Memory: lost or reachable, grouped by call path (group.c). */
	mem = pt_run_mem_collect(module);
	pt_run_mem_totals(mem, &blocks, &bytes, &ngroups, &rt_blocks, &rt_bytes);
	pt_run_fds_each(add_fd, &fl);
	foreign = module == UINT32_MAX ? pt_run_foreign_frees(&foreign_at) : 0;
	/* Misuse and special-pool reports were printed when found; at exit
	 * each counts as a finding too (the verdict, --error-exitcode). */
	misuse = module == UINT32_MAX ? pt_misuse_count() : 0;
	findings = ngroups + (int)fl.n + (foreign ? 1 : 0) + (int)misuse;

	f = open_memstream(&text, &textlen);
	if (!f) {
		pt_run_unlock();
		pt_run_mem_free(mem);
		free(fl.v);
		return findings;
	}
	const char *who = module == UINT32_MAX ? module_name(0) : module_name(module);
	if (findings == 0 && !pt_run_cfg.quiet) {
		uint64_t rb, rn;
		fprintf(f, "pooltag: %s (pid %d) %s: clean, nothing %s", who, (int)getpid(), event,
			pt_run_mem_scanned(mem) ? "lost" : "held");
		if (pt_run_mem_reachable(mem, &rn, &rb))
			fprintf(f, "; still reachable: %llu blocks, %llu bytes", (unsigned long long)rn,
				(unsigned long long)rb);
		if (rt_blocks)
			fprintf(f, " (the C runtime lost %llu blocks, %llu bytes)",
				(unsigned long long)rt_blocks, (unsigned long long)rt_bytes);
		fputc('\n', f);
	}
	if (findings && pt_run_mem_scanned(mem))
		fprintf(f, "pooltag: %s (pid %d) %s: lost %llu blocks (%llu bytes) in %d groups, %zu descriptors open, %llu misuse reports\n",
			who, (int)getpid(), event, (unsigned long long)blocks,
			(unsigned long long)bytes, ngroups, fl.n, (unsigned long long)misuse);
	else if (findings)
		fprintf(f, "pooltag: %s (pid %d) %s holding: %llu blocks (%llu bytes) at %d sites, %zu descriptors\n",
			who, (int)getpid(), event, (unsigned long long)blocks,
			(unsigned long long)bytes, ngroups, fl.n);
	if (findings || (pt_run_cfg.all && rt_blocks) || pt_run_cfg.reachable || pt_run_cfg.scan_stats) {
		pt_run_mem_print(f, mem);
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
		if (misuse)
			fprintf(f, "  %llu misuse report%s above (the special pool's, bad frees)\n",
				(unsigned long long)misuse, misuse == 1 ? "" : "s");
		if (rt_blocks && !pt_run_cfg.all && findings)
			fprintf(f, "  the C runtime %s %llu blocks, %llu bytes more (no finding; --all lists them)\n",
				pt_run_mem_scanned(mem) ? "lost" : "holds", (unsigned long long)rt_blocks, (unsigned long long)rt_bytes);
	}
	fclose(f);
	pt_run_unlock();
	/* Unlocked: symbolising the failure's stack allocates, and a new site
	 * takes the lock. */
	if (findings && pt_fault_logging())
		log_findings(mem, &fl);
	if (text && textlen)
		write_out(text, textlen);
	free(text);
	pt_run_mem_free(mem);
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
