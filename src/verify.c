/*
 * verify.c - what a module still holds when it is unloaded (or the program
 * when it exits), reported down to the line that acquired it.
 *
 * Three kinds of holdings, each grouped by (kind, tag or object type,
 * acquiring site) with a count and one sample stack:
 *  - blocks: the counter slots of the module's allocation sites that still
 *    have blocks outstanding (exact, from the counters alone);
 *  - references and handles charged to the module: acquisitions whose site
 *    is in its code, or made on its behalf by a provider (PT_ON_BEHALF);
 *  - references and handles acquired anywhere whose recorded stack passes
 *    through the module's code: a provider that did not say whom it acted
 *    for still leaves the module's frames in the stack.
 *
 * The report is symbolised before the module is unloaded, while its code
 * and debug information are still mapped.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "stack.h"

#define SHOW_GROUPS 32 /* a report prints this many groups, then a count of the rest */

static struct {
	enum pt_verify_action action;
	int action_set; /* by pt_verify_set or POOLTAG_VERIFY */
	int at_exit;
	int exit_registered;
	unsigned track;
	FILE *out;
} ver;

static void exit_check(void);

/* ---- options: verify=, exit-check=, track=, output= ---- */

static void pt_verify_cfg_action(enum pt_verify_action action)
{
	__atomic_store_n(&ver.action, action, __ATOMIC_RELEASE);
	__atomic_store_n(&ver.action_set, 1, __ATOMIC_RELEASE);
}

static void pt_verify_cfg_exit(int on)
{
	if (on && !__atomic_exchange_n(&ver.exit_registered, 1, __ATOMIC_ACQ_REL))
		atexit(exit_check);
	ver.at_exit = on;
}

static unsigned pt_verify_cfg_track(unsigned flags)
{
	unsigned old = __atomic_exchange_n(&ver.track, flags, __ATOMIC_ACQ_REL);

	if (flags & PT_TRACK_STACKS)
		pt_stack_init();
	/* The tracking layer keeps every allocation off the inline paths. */
	pt_track_install((flags & PT_TRACK_BLOCKS) != 0);
	return old;
}

static int bad(char *err, size_t errlen, const char *key, const char *what)
{
	snprintf(err, errlen, "option '%s': %s", key, what);
	errno = EINVAL;
	return -1;
}

static int flag_value(const char *v, int *out)
{
	if (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on"))
		*out = 1;
	else if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off"))
		*out = 0;
	else
		return -1;
	return 0;
}

static int pt_verify_option(const char *key, const char *val, char *err, size_t errlen)
{
	int on;

	if (!strcmp(key, "verify")) {
		if (!strcmp(val, "exit") || !strcmp(val, "1"))
			pt_verify_cfg_action(PT_VERIFY_EXIT);
		else if (!strcmp(val, "abort"))
			pt_verify_cfg_action(PT_VERIFY_ABORT);
		else if (!strcmp(val, "continue") || !strcmp(val, "report") || !strcmp(val, "0"))
			pt_verify_cfg_action(PT_VERIFY_CONTINUE);
		else
			return bad(err, errlen, key, "expected exit, abort, continue or report");
		return 0;
	}
	if (!strcmp(key, "exit-check")) {
		if (flag_value(val, &on))
			return bad(err, errlen, key, "expected 0 or 1");
		pt_verify_cfg_exit(on);
		return 0;
	}
	if (!strcmp(key, "track")) {
		unsigned f;
		if (!strcmp(val, "none") || !strcmp(val, "0"))
			f = 0;
		else if (!strcmp(val, "blocks") || !strcmp(val, "1"))
			f = PT_TRACK_BLOCKS;
		else if (!strcmp(val, "stacks"))
			f = PT_TRACK_STACKS;
		else if (!strcmp(val, "all") || !strcmp(val, "blocks+stacks"))
			f = PT_TRACK_BLOCKS | PT_TRACK_STACKS;
		else
			return bad(err, errlen, key, "expected none, blocks, stacks or all");
		pt_verify_cfg_track(f);
		return 0;
	}
	if (!strcmp(key, "output")) {
		FILE *f = stderr;
		if (strcmp(val, "stderr") != 0) {
			f = fopen(val, "ae");
			if (!f) {
				snprintf(err, errlen, "option 'output': cannot open %s: %s", val,
					 strerror(errno));
				return -1;
			}
			setvbuf(f, NULL, _IOLBF, 0);
		}
		pt_verify_output(f);
		return 0;
	}
	snprintf(err, errlen, "unknown option '%s'", key);
	errno = EINVAL;
	return -1;
}
PT_OPTION_GROUP(verify_opts, "verify", pt_verify_option)
PT_OPTION_GROUP(exit_check_opts, "exit-check", pt_verify_option)
PT_OPTION_GROUP(track_opts, "track", pt_verify_option)
PT_OPTION_GROUP(output_opts, "output", pt_verify_option)

/* Stops the program as a module unload's finding does; no stdio (a signal
 * handler may call this).  The options were read before the first
 * allocation, so before any finding. */
void pt_verify_finding(void)
{
	static const char msg_exit[] = "pooltag: verifier: stopping the program (exit status 86)\n";
	static const char msg_abort[] = "pooltag: verifier: stopping the program (abort)\n";
	enum pt_verify_action a = __atomic_load_n(&ver.action, __ATOMIC_ACQUIRE);
	int fd;

	if (!__atomic_load_n(&ver.action_set, __ATOMIC_ACQUIRE) || a == PT_VERIFY_CONTINUE)
		return;
	fd = ver.out ? fileno(ver.out) : STDERR_FILENO;
	if (write(fd, a == PT_VERIFY_ABORT ? msg_abort : msg_exit,
		  a == PT_VERIFY_ABORT ? sizeof(msg_abort) - 1 : sizeof(msg_exit) - 1) < 0) {
		/* nowhere to say it */
	}
	pt_seg_remove();
	if (a == PT_VERIFY_ABORT) {
		signal(SIGABRT, SIG_DFL);
		abort();
	}
	_exit(PT_BUGCHECK_EXIT);
}

void pt_verify_set(enum pt_verify_action action)
{
	pt_verify_cfg_action(action);
}

void pt_verify_output(FILE *f)
{
	ver.out = f;
}

unsigned pt_track_set(unsigned flags)
{
	pt_seg_init();
	return pt_verify_cfg_track(flags);
}

unsigned pt_track_flags(void)
{
	return __atomic_load_n(&ver.track, __ATOMIC_ACQUIRE);
}

uint32_t pt_track_stack(void)
{
	/* Skip pt_track_stack and the library frame that called it; leading
	 * library frames that remain are dropped when the stack is printed. */
	return pt_track_flags() & PT_TRACK_STACKS ? pt_stack_capture(1) : 0;
}

struct group {
	int kind; /* 0 blocks, 1 references, 2 handles */
	uint32_t slot;
	const struct pt_objtype *type;
	uint64_t count, bytes;
	uint32_t stack; /* a sample */
	int via_stack;  /* charged through a stack frame, not the site */
	uint32_t alt;   /* references: pairing was not certain, alt's line is the other candidate */
};

struct scan {
	struct pt_module *m;
	struct group *g;
	int n, cap;
	int oom; /* groups lost to out of memory */
};

/* Does stack id have a frame in module m's code? */
static int stack_in(uint32_t id, const struct pt_module *m)
{
	uintptr_t pcs[PT_STACK_DEPTH];
	unsigned n = pt_stack_pcs(id, pcs, PT_STACK_DEPTH);

	for (unsigned i = 0; i < n && i < PT_STACK_DEPTH; i++)
		if (pt_module_contains(m, pcs[i] - 1))
			return 1;
	return 0;
}

static void add(struct scan *sc, int kind, uint32_t slot, const struct pt_objtype *type,
		uint64_t count, uint64_t bytes, uint32_t stack, int via_stack, uint32_t alt)
{
	for (int i = 0; i < sc->n; i++) {
		struct group *g = &sc->g[i];
		if (g->kind == kind && g->slot == slot && g->type == type && g->alt == alt) {
			g->count += count;
			if (!g->stack)
				g->stack = stack;
			return;
		}
	}
	if (sc->n == sc->cap) {
		int ncap = sc->cap ? 2 * sc->cap : 16;
		struct group *ng = realloc(sc->g, (size_t)ncap * sizeof(*ng));
		if (!ng) {
			sc->oom = 1;
			return;
		}
		sc->g = ng;
		sc->cap = ncap;
	}
	sc->g[sc->n++] = (struct group){kind, slot, type, count, bytes, stack, via_stack, alt};
}

static void each_acq(const struct pt_objtype *type, uint32_t slot, uint32_t stack,
		     uint32_t epoch, int is_handle, uint32_t alt, void *arg)
{
	struct scan *sc = arg;
	uint32_t id = pt_module_id(sc->m);

	if (pt_seg.slots[slot].module == id)
		add(sc, is_handle ? 2 : 1, slot, type, 1, 0, stack, 0, alt);
	else if (stack && id != 0 && epoch >= pt_module_loaded_at(sc->m) && stack_in(stack, sc->m))
		add(sc, is_handle ? 2 : 1, slot, type, 1, 0, stack, 1, alt);
}

/* "file:line in func" of a slot. */
static void site_of(uint32_t slot, char *buf, size_t len)
{
	const struct pt_seg_slot *s = &pt_seg.slots[slot];
	const char *file = pt_seg.strings + s->file, *func = pt_seg.strings + s->func;
	const char *base = strrchr(file, '/');

	if (!*file)
		snprintf(buf, len, "an unrecorded site");
	else
		snprintf(buf, len, "%s:%u in %s", base ? base + 1 : file, s->line, func);
}

/* verb: what happened to the module ("unloaded", "exited", "checked"). */
static void print(FILE *f, const struct scan *sc, const char *modname, const char *verb)
{
	char site[512], stack[2048], tag[5];

	if (sc->n == 0) {
		fprintf(f, "pooltag: %s %s: clean, nothing held\n", modname, verb);
		return;
	}
	fprintf(f, "pooltag: verifier: %s %s holding what it acquired:\n", modname, verb);
	for (int i = 0; i < sc->n && i < SHOW_GROUPS; i++) {
		const struct group *g = &sc->g[i];
		const struct pt_seg_slot *s = &pt_seg.slots[g->slot];
		pt_tag_str(s->tag, tag);
		site_of(g->slot, site, sizeof(site));
		const char *s1 = g->count == 1 ? "" : "s";
		if (g->kind == 0)
			fprintf(f, "  %s holds %llu %s block%s of '%s' (%llu bytes): allocated at %s\n",
				modname, (unsigned long long)g->count,
				s->pool == PT_NONPAGED ? "non-paged" : "paged", s1, tag,
				(unsigned long long)g->bytes, site);
		else
			fprintf(f, "  %s holds %llu %s%s to '%s' objects (%s): %llu %s at %s%s\n",
				modname, (unsigned long long)g->count,
				g->kind == 1 ? "reference" : "handle", s1, tag,
				pt_objtype_name(g->type), (unsigned long long)g->count,
				g->kind == 1 ? "acquired" : "opened", site,
				g->via_stack ? " (through this module's code, see the stack)" : "");
		if (g->alt) {
			char other[512];
			site_of(g->alt, other, sizeof(other));
			fprintf(f, "    pairing not certain: a release made outside both functions was paired with the\n"
				   "    older reference; candidates: %s (%llu), %s (%llu)\n",
				site, (unsigned long long)g->count, other, (unsigned long long)g->count);
		}
		if (g->stack) {
			pt_stack_format(g->stack, stack, sizeof(stack), 12);
			fprintf(f, "    stack: %s\n", stack);
		}
	}
	if (sc->n > SHOW_GROUPS) {
		uint64_t rest = 0;
		for (int i = SHOW_GROUPS; i < sc->n; i++)
			rest += sc->g[i].count;
		fprintf(f, "  ... and %d more groups holding %llu more\n", sc->n - SHOW_GROUPS,
			(unsigned long long)rest);
	}
	if (sc->oom)
		fprintf(f, "  ... and more that could not be listed (out of memory)\n");
}

/* The same groups for the driver of a fault-injection run (faultrun.h). */
static void log_groups(const struct scan *sc, const char *modname)
{
	char site[512], tag[5];

	if (!sc->n || !pt_fault_logging())
		return;
	pt_fault_finding();
	for (int i = 0; i < sc->n; i++) {
		const struct group *g = &sc->g[i];
		pt_tag_str(pt_seg.slots[g->slot].tag, tag);
		site_of(g->slot, site, sizeof(site));
		pt_fault_log("L\t%s\t%s\t%s\t%s\t%s\t%llu\t%llu", modname,
			     g->kind == 0 ? "block" : g->kind == 1 ? "reference" : "handle", tag,
			     g->type ? pt_objtype_name(g->type) : "", site,
			     (unsigned long long)g->count, (unsigned long long)g->bytes);
	}
}

int pt_verify_module(struct pt_module *m, int apply_action)
{
	struct scan *sc = calloc(1, sizeof(*sc));
	FILE *f;
	int n;

	pt_seg_init();
	if (!sc)
		return -1;
	sc->m = m;
	for (uint32_t slot = 1; slot < __atomic_load_n(&pt_seg.hdr->nslots, __ATOMIC_ACQUIRE);
	     slot++) {
		const struct pt_seg_slot *s = &pt_seg.slots[slot];
		struct pt_count c;
		if (s->module != pt_module_id(m) || s->pool >= PT_NPOOLS)
			continue;
		pt_slot_sum(slot, &c);
		if (c.curblocks) {
			uint32_t stack = pt_track_block_sample(slot);
			if (!stack)
				stack = pt_special_sample(slot);
			add(sc, 0, slot, NULL, c.curblocks, c.curbytes, stack, 0, 0);
		}
	}
	pt_obj_each_acq(each_acq, sc);
	f = ver.out ? ver.out : stderr;
	print(f, sc, pt_module_name(m),
	      !apply_action ? "checked" : pt_module_id(m) ? "unloaded" : "exited");
	fflush(f);
	log_groups(sc, pt_module_name(m));
	n = sc->n + sc->oom;
	free(sc->g);
	free(sc);
	if (n && apply_action && ver.action_set && ver.action != PT_VERIFY_CONTINUE) {
		/* The bugcheck: stop here, leaving no segment behind (a stopped
		 * program is no live process to read). */
		fprintf(f, "pooltag: verifier: stopping the program (%s)\n",
			ver.action == PT_VERIFY_EXIT ? "exit status 86" : "abort");
		fflush(NULL);
		pt_seg_remove();
		if (ver.action == PT_VERIFY_ABORT)
			abort();
		_exit(PT_BUGCHECK_EXIT);
	}
	return n;
}

static void exit_check(void)
{
	if (ver.at_exit)
		pt_verify_module(pt_module_main(), 1);
}

void pt_verify_at_exit(int on)
{
	pt_verify_cfg_exit(on);
}
