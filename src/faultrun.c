/*
 * faultrun.c - the driver's side of systematic fault injection: result
 * files, reading what a run reported, deduplicating findings, the report;
 * and pt_fault_each, which drives a function of the calling program.
 *
 * A finding is (failing site, what went wrong).  What went wrong is reduced
 * to a signature without counts or addresses, so the same leak reached by
 * failing the same site in many runs is listed once.  Findings of the run
 * that failed nothing (the baseline) are not blamed on any failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault.h"
#include "faultrun.h"
#include "internal.h"
#include "stack.h"

struct pt_fault_finding {
	char *fail;       /* "allocation of 'SEY3' at sey.c:40 in f", "" for the baseline */
	char *fail_stack; /* its stack, "" if unknown */
	char *sig;        /* what went wrong, as a signature */
	char *text;       /* what went wrong, for the report */
	uint64_t k;       /* the first run that found it */
	uint64_t runs;    /* how many runs found it */
};

int pt_fault_result_open(struct pt_fault_result *r)
{
	r->fd = memfd_create("pooltag-fault-result", MFD_CLOEXEC);
	if (r->fd < 0)
		return -1;
	if (ftruncate(r->fd, PT_FAULT_PAGE) < 0 || fcntl(r->fd, F_SETFL, O_APPEND) < 0)
		goto fail;
	r->page = mmap(NULL, PT_FAULT_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->page == MAP_FAILED)
		goto fail;
	return 0;
fail:
	close(r->fd);
	r->fd = -1;
	return -1;
}

void pt_fault_result_close(struct pt_fault_result *r)
{
	if (r->fd < 0)
		return;
	munmap(r->page, PT_FAULT_PAGE);
	close(r->fd);
	r->fd = -1;
}

int pt_fault_result_reset(struct pt_fault_result *r)
{
	memset(r->page, 0, sizeof(*r->page));
	return ftruncate(r->fd, PT_FAULT_PAGE);
}

/* The run's lines, NUL-terminated, or NULL. */
static char *read_lines(struct pt_fault_result *r, size_t *len)
{
	off_t end = lseek(r->fd, 0, SEEK_END);
	size_t n;
	char *buf;
	ssize_t got;

	if (end < PT_FAULT_PAGE)
		return NULL;
	n = (size_t)(end - PT_FAULT_PAGE);
	if (n > (64u << 20))
		n = 64u << 20; /* a run that logged more is cut */
	buf = malloc(n + 1);
	if (!buf)
		return NULL;
	got = pread(r->fd, buf, n, PT_FAULT_PAGE);
	if (got < 0)
		got = 0;
	buf[got] = 0;
	*len = (size_t)got;
	return buf;
}

/* Splits line into at most max tab-separated fields; returns how many. */
static int fields(char *line, char **f, int max)
{
	int n = 0;

	while (n < max) {
		f[n++] = line;
		line = strchr(line, '\t');
		if (!line)
			break;
		*line++ = 0;
	}
	return n;
}

/* Copies s with every "0x..." hex number replaced by "0x?": addresses
 * differ from run to run, the finding does not. */
static char *no_addresses(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	if (!out)
		return NULL;
	while (*s) {
		if (s[0] == '0' && s[1] == 'x') {
			*o++ = '0', *o++ = 'x', *o++ = '?';
			s += 2;
			while ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))
				s++;
		} else {
			*o++ = *s++;
		}
	}
	*o = 0;
	return out;
}

static int in_base(const struct pt_fault_tally *t, const char *sig)
{
	for (size_t i = 0; i < t->nbase; i++)
		if (!strcmp(t->base[i], sig))
			return 1;
	return 0;
}

/* Adds (fail, sig) unless known; takes ownership of sig and text. */
static int add(struct pt_fault_tally *t, int baseline, const char *fail, const char *fail_stack,
	       char *sig, char *text, uint64_t k)
{
	if (!sig || !text)
		goto oom;
	if (baseline) {
		char **nb = realloc(t->base, (t->nbase + 1) * sizeof(*nb));
		if (!nb)
			goto oom;
		t->base = nb;
		t->base[t->nbase++] = strdup(sig);
	} else if (in_base(t, sig)) {
		free(sig), free(text);
		return 0;
	}
	for (size_t i = 0; i < t->n; i++) {
		struct pt_fault_finding *f = &t->f[i];
		if (!strcmp(f->fail, fail) && !strcmp(f->sig, sig)) {
			f->runs++;
			free(sig), free(text);
			return 0;
		}
	}
	if (t->n == t->cap) {
		size_t ncap = t->cap ? 2 * t->cap : 16;
		struct pt_fault_finding *nf = realloc(t->f, ncap * sizeof(*nf));
		if (!nf)
			goto oom;
		t->f = nf;
		t->cap = ncap;
	}
	t->f[t->n++] = (struct pt_fault_finding){strdup(fail), strdup(fail_stack), sig, text, k, 1};
	t->nfound++;
	return 1;
oom:
	free(sig), free(text);
	return -1;
}

static char *printf_dup(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *printf_dup(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* "func (file:line)" of a frame of a crashed run, from its module's file;
 * "func (module+0xoff)" without line information. */
static void offline_frame(const char *path, uint64_t off, int ret, char *out, size_t len)
{
	struct pt_frame fr;

	pt_sym_offline(path, (uintptr_t)off, ret, &fr);
	if (fr.file)
		snprintf(out, len, "%s (%s:%u)", fr.func, fr.file, fr.line);
	else
		snprintf(out, len, "%s (%s+0x%llx)", fr.func, fr.module, (unsigned long long)off);
}

int pt_fault_collect(struct pt_fault_tally *t, struct pt_fault_result *r, uint64_t k,
		     int status, int baseline)
{
	size_t len = 0;
	char *buf = read_lines(r, &len), *line, *next;
	char fail[512] = "", fail_stack[1024] = "", crash_at[1024] = "";
	char crash_stack[1536] = "";
	const char *crash_sig = NULL;
	int added = 0, crashed = 0, crash_frames = 0;

	t->runs++;
	if (baseline && r->page->ncand > t->ncand)
		t->ncand = r->page->ncand;
	for (line = buf; line && *line; line = next) {
		char *f[8];
		int n;
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		n = fields(line, f, 8);
		if (!strcmp(f[0], "F") && n == 4 && !fail[0]) {
			snprintf(fail, sizeof(fail), "%s of '%s' at %s", f[1], f[2], f[3]);
		} else if (!strcmp(f[0], "f") && n == 2) {
			snprintf(fail_stack, sizeof(fail_stack), "%s", f[1]);
		} else if (!strcmp(f[0], "S") && n == 2 && baseline) {
			uint64_t h = strtoull(f[1], NULL, 10);
			if (t->nstacks == t->stacks_cap) {
				size_t nc = t->stacks_cap ? 2 * t->stacks_cap : 64;
				uint64_t *ns = realloc(t->stacks, nc * sizeof(*ns));
				if (!ns)
					continue;
				t->stacks = ns, t->stacks_cap = nc;
			}
			t->stacks[t->nstacks++] = h;
		} else if (!strcmp(f[0], "L") && n == 8) {
			/* module kind tag type site count bytes */
			const char *type = *f[4] ? f[4] : NULL;
			int blocks = !strcmp(f[2], "block");
			unsigned long long cnt = strtoull(f[6], NULL, 10);
			char *text = blocks
				? printf_dup("%s holds %llu block%s of '%s' (%s bytes) allocated at %s",
					     f[1], cnt, cnt == 1 ? "" : "s", f[3], f[7], f[5])
				: printf_dup("%s holds %llu %s%s to '%s'%s%s%s %s at %s", f[1], cnt,
					     f[2], cnt == 1 ? "" : "s", f[3], type ? " (" : "",
					     type ? type : "", type ? ")" : "",
					     !strcmp(f[2], "handle") ? "opened" : "acquired", f[5]);
			int a = add(t, baseline, fail, fail_stack,
				    printf_dup("L|%s|%s|%s|%s", f[1], f[2], f[3], f[5]), text, k);
			if (a < 0)
				break;
			added += a;
		} else if (!strcmp(f[0], "M") && n == 2) {
			int a = add(t, baseline, fail, fail_stack, no_addresses(f[1]),
				    printf_dup("misuse: %s", f[1]), k);
			if (a < 0)
				break;
			added += a;
		} else if (!strcmp(f[0], "C") && n == 3) {
			crash_sig = f[1];
			crashed = 1;
			/* the raw frames follow, the faulting one first */
			for (long i = strtol(f[2], NULL, 10); i > 0 && next && *next; i--) {
				char *e = strchr(next, '\n');
				if (e)
					*e = 0;
				if (!crash_at[0])
					snprintf(crash_at, sizeof(crash_at), "%s", next);
				next = e ? e + 1 : NULL;
			}
		} else if (!strcmp(f[0], "c") && n == 4 && crash_frames < 12) {
			char fr[256];
			size_t used = strlen(crash_stack);
			offline_frame(f[1], strtoull(f[2], NULL, 16), f[3][0] == '1', fr, sizeof(fr));
			snprintf(crash_stack + used, sizeof(crash_stack) - used, "%s%s",
				 crash_frames++ ? " <- " : "", fr);
			if (!strncmp(fr, "main ", 5))
				crash_frames = 12; /* start-up frames say nothing */
		}
	}
	if (crashed || (status != -1 && WIFSIGNALED(status)) || status == -1) {
		char sigbuf[32];
		const char *sig = crash_sig;
		if (!sig && status != -1) {
			const char *a = sigabbrev_np(WTERMSIG(status));
			snprintf(sigbuf, sizeof(sigbuf), "%s", a ? a : "?");
			sig = sigbuf;
		}
		if (crash_stack[0])
			snprintf(crash_at, sizeof(crash_at), "%s", crash_stack);
		char *text = status == -1 ? printf_dup("hangs (killed after the time limit)")
					  : printf_dup("crashes with SIG%s%s%s", sig,
						       crash_at[0] ? " at " : "", crash_at);
		char *s = status == -1 ? strdup("T") : printf_dup("C|%s|%.200s", sig, crash_at);
		int a = add(t, baseline, fail, fail_stack, s, text, k);
		if (a > 0)
			added += a;
	}
	free(buf);
	return added;
}

void pt_fault_print(FILE *out, const struct pt_fault_tally *t, int stack_mode)
{
	uint8_t *done = calloc(t->n ? t->n : 1, 1);

	for (size_t i = 0; i < t->n; i++) {
		const struct pt_fault_finding *f = &t->f[i];
		if (!done || done[i])
			continue;
		if (!f->fail[0])
			fprintf(out, "without any injected failure:\n");
		else
			fprintf(out, "failing the %s:\n", f->fail);
		if (f->fail_stack[0])
			fprintf(out, "    failed at: %s\n", f->fail_stack);
		for (size_t j = i; j < t->n; j++) {
			const struct pt_fault_finding *g = &t->f[j];
			if (done[j] || strcmp(g->fail, f->fail))
				continue;
			done[j] = 1;
			fprintf(out, "  %s", g->text);
			if (g->fail[0])
				fprintf(out, " (%llu run%s; repeat: POOLTAG=%s=%llu)",
					(unsigned long long)g->runs, g->runs == 1 ? "" : "s",
					stack_mode ? "fail.stack" : "fail.nth",
					(unsigned long long)(stack_mode && g->k <= t->nstacks
								     ? t->stacks[g->k - 1]
								     : g->k));
			fputc('\n', out);
		}
	}
	free(done);
}

void pt_fault_tally_free(struct pt_fault_tally *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->f[i].fail), free(t->f[i].fail_stack);
		free(t->f[i].sig), free(t->f[i].text);
	}
	for (size_t i = 0; i < t->nbase; i++)
		free(t->base[i]);
	free(t->f), free(t->base), free(t->stacks);
	memset(t, 0, sizeof(*t));
}

/* ---- pt_fault_each: runs of a function of this program ---- */

/* What fn acquired and still holds: per slot, the growth of its
 * outstanding count since `before` (indexed by slot; slots registered
 * during fn started at 0). */
static void log_held(const uint64_t *before, uint32_t nbefore)
{
	uint32_t n = __atomic_load_n(&pt_seg.hdr->nslots, __ATOMIC_ACQUIRE);

	for (uint32_t slot = 1; slot < n; slot++) {
		const struct pt_seg_slot *s = &pt_seg.slots[slot];
		const char *file = pt_seg.strings + s->file, *base = strrchr(file, '/');
		struct pt_count c;
		uint64_t was = slot < nbefore ? before[slot] : 0;
		char tag[5];
		pt_slot_sum(slot, &c);
		if (c.curblocks <= was)
			continue;
		pt_tag_str(s->tag, tag);
		pt_fault_finding();
		pt_fault_log("L\t%s\t%s\t%s\t\t%s:%u in %s\t%llu\t%llu",
			     pt_module_name(s->module ? pt_module_by_id(s->module) : pt_module_main()),
			     s->pool < PT_NPOOLS ? "block"
			     : s->pool == PT_SEG_CLASS_REFS ? "reference" : "handle",
			     tag, base ? base + 1 : file, s->line, pt_seg.strings + s->func,
			     (unsigned long long)(c.curblocks - was), (unsigned long long)c.curbytes);
	}
}

static void __attribute__((noreturn)) each_child(void (*fn)(void *), void *arg,
						 const char *options, int fd, uint64_t k)
{
	char opts[2048];
	uint64_t *before;
	uint32_t n;

	snprintf(opts, sizeof(opts), "fail.result=%d,fail.nth=%llu%s%s", fd,
		 (unsigned long long)k, options && *options ? "," : "", options ? options : "");
	pt_seg_keep_private();
	pt_fault_defaults();
	if (pt_config(opts) != 0) {
		pt_fault_log("M\tbad fault options: %s", pt_config_error());
		_exit(125);
	}
	pt_fault_catch_crashes();
	pt_seg_init();
	n = __atomic_load_n(&pt_seg.hdr->nslots, __ATOMIC_ACQUIRE);
	before = mmap(NULL, (size_t)n * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		      0);
	if (before == MAP_FAILED)
		_exit(125);
	for (uint32_t slot = 1; slot < n; slot++) {
		struct pt_count c;
		pt_slot_sum(slot, &c);
		before[slot] = c.curblocks;
	}
	fn(arg);
	log_held(before, n);
	_exit(0);
}

int pt_fault_each(void (*fn)(void *arg), void *arg, const char *options, FILE *report)
{
	struct pt_fault_result r;
	struct pt_fault_tally t = {0};
	uint64_t total = 0;
	int found;

	if (!fn) {
		errno = EINVAL;
		return -1;
	}
	if (pt_fault_result_open(&r))
		return -1;
	for (uint64_t k = 0; k == 0 || k <= total; k++) {
		pid_t pid;
		int st;
		if (pt_fault_result_reset(&r))
			break;
		fflush(NULL);
		pid = fork();
		if (pid < 0)
			break;
		if (pid == 0)
			each_child(fn, arg, options, r.fd, k);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 125) {
			pt_fault_tally_free(&t);
			pt_fault_result_close(&r);
			errno = EINVAL;
			return -1;
		}
		if (pt_fault_collect(&t, &r, k, st, k == 0) < 0)
			break;
		if (k == 0)
			total = r.page->ncand;
	}
	pt_fault_print(report ? report : stderr, &t, 0);
	found = (int)t.nfound;
	pt_fault_tally_free(&t);
	pt_fault_result_close(&r);
	return found;
}
