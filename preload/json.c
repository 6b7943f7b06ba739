/*
 * json.c - the machine-readable report (--json FILE, docs/run-json-format.md):
 * one JSON object per report, on one line appended whole to FILE (JSON
 * Lines), from the same groups the text report shows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include "jsonstr.h"
#include "preload.h"

#define PT_RUN_JSON_VERSION 1
#define FRAMES 64

/* An untrusted string (a function, file or module name, a descriptor's
 * target) as a JSON string: valid UTF-8 whatever the bytes (jsonstr.h). */
static void jstr(FILE *f, const char *s)
{
	pt_json_str(f, s ? s : "");
}

static void group(FILE *f, const struct pt_run_group *g)
{
	static const char *const kind[] = {"blocks", "descriptor", "bad-free"};
	static const char *const memory[] = {"lost", "reachable", "held"};
	struct pt_frame fr[FRAMES];
	unsigned n = pt_run_group_frames(g, fr, FRAMES);
	int reachable = g->kind == PT_RUN_BLOCKS && g->reach == PT_RUN_REACHABLE;
	char tag[5];

	fprintf(f, "{\"kind\":\"%s\",\"finding\":%s,\"suppressed\":%s,\"module\":", kind[g->kind],
		g->runtime || g->suppressed || reachable ? "false" : "true",
		g->suppressed ? "true" : "false");
	jstr(f, g->kind == PT_RUN_BADFREE ? (n ? fr[0].module : "?") : pt_run_module_name(g->module));
	if (g->kind != PT_RUN_BADFREE) {
		fprintf(f, ",\"tag\":");
		jstr(f, pt_tag_str(pt_seg.slots[g->slot].tag, tag));
	}
	if (g->kind == PT_RUN_BLOCKS)
		fprintf(f, ",\"memory\":\"%s\",\"blocks\":%llu,\"bytes\":%llu", memory[g->reach],
			(unsigned long long)g->count, (unsigned long long)g->bytes);
	else if (g->kind == PT_RUN_FD) {
		char link[64], target[512];
		ssize_t len;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", g->fd);
		len = readlink(link, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = 0;
		fprintf(f, ",\"fd\":%d,\"target\":", g->fd);
		jstr(f, target);
	} else {
		fprintf(f, ",\"frees\":%llu,\"first\":\"%#lx\"", (unsigned long long)g->count,
			(unsigned long)g->first);
		if (g->slot) {
			const struct pt_seg_slot *s = &pt_seg.slots[g->slot];
			const char *file, *b;
			pt_run_site_locate(g->slot);
			file = pt_seg.strings + s->file;
			b = strrchr(file, '/');
			fprintf(f, ",\"allocated\":{\"bytes\":%llu,\"function\":", (unsigned long long)g->size);
			jstr(f, pt_seg.strings + s->func);
			fprintf(f, ",\"file\":");
			jstr(f, b ? b + 1 : file);
			fprintf(f, ",\"line\":%u}", s->line);
		}
	}
	fprintf(f, ",\"stack\":[");
	for (unsigned i = 0; i < n; i++) {
		fprintf(f, "%s{\"function\":", i ? "," : "");
		jstr(f, fr[i].func);
		if (fr[i].file) {
			fprintf(f, ",\"file\":");
			jstr(f, fr[i].file);
			fprintf(f, ",\"line\":%u", fr[i].line);
		}
		fprintf(f, ",\"module\":");
		jstr(f, fr[i].module);
		fputc('}', f);
	}
	fprintf(f, "]}");
}

void pt_run_json(const struct pt_run_findings *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int fd, first = 1;

	if (!f)
		return;
	fprintf(f, "{\"pooltag_run\":%d,\"pid\":%d,\"program\":", PT_RUN_JSON_VERSION, (int)getpid());
	jstr(f, pt_run_module_name(0));
	if (r->module != UINT32_MAX) {
		fprintf(f, ",\"unloaded\":");
		jstr(f, pt_run_module_name(r->module));
	}
	fprintf(f, ",\"event\":");
	jstr(f, r->event);
	fprintf(f, ",\"findings\":%d,\"blocks\":%llu,\"bytes\":%llu,\"descriptors\":%d,\"bad_frees\":%d,"
		   "\"misuse\":%llu,\"suppressed\":%d,\"reachable_blocks\":%llu,\"reachable_bytes\":%llu,"
		   "\"runtime_blocks\":%llu,\"runtime_bytes\":%llu,\"scanned\":%s,\"groups\":[",
		r->findings, (unsigned long long)r->blocks, (unsigned long long)r->bytes, r->nfds, r->nbad,
		(unsigned long long)r->nmisuse, r->suppressed, (unsigned long long)r->reach_blocks,
		(unsigned long long)r->reach_bytes, (unsigned long long)r->rt_blocks,
		(unsigned long long)r->rt_bytes, r->scanned ? "true" : "false");
	for (size_t i = 0; i < r->n; i++) {
		const struct pt_run_group *g = &r->g[i];
		if ((g->runtime && !pt_run_cfg.all) ||
		    (g->kind == PT_RUN_BLOCKS && g->reach == PT_RUN_REACHABLE && !pt_run_cfg.reachable))
			continue;
		if (!first)
			fputc(',', f);
		first = 0;
		group(f, &r->g[i]);
	}
	fprintf(f, "]}\n");
	fclose(f);
	fd = pt_fd_high(open(pt_run_cfg.json, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
	if (fd >= 0 && buf) {
		const char *p = buf;
		while (len > 0) {
			ssize_t w = write(fd, p, len);
			if (w <= 0)
				break;
			p += w;
			len -= (size_t)w;
		}
	}
	if (fd >= 0)
		close(fd);
	free(buf);
}
