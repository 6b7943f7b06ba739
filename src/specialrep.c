/*
 * specialrep.c - the special pool's reports, and the SIGSEGV/SIGBUS
 * handler that turns an access to a guard page or a quarantined block into
 * one (see special.c for the design and what is async-signal-safe here).
 *
 * Texts are built with a small formatter of its own (no stdio, no
 * allocation) so that the handler can use it: the first line says what
 * happened to which block; the next ones where it was allocated (and
 * freed), each with its call stack.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "special.h"
#include "stack.h"

#define ALTSTACK_BYTES (1u << 20)

static void on_fault(int sig, siginfo_t *si, void *ctx);

/* ---- the handler's set-up ---- */

static pthread_key_t altstack_key;
static __thread int altstack_done;

/* At thread exit: ours is released only if it is still the thread's (a
 * sanitizer's thread exit may have released it already). */
static void altstack_free(void *mem)
{
	stack_t cur, ss = {.ss_flags = SS_DISABLE};

	if (sigaltstack(NULL, &cur) != 0 || (cur.ss_flags & SS_DISABLE) || cur.ss_sp != mem)
		return;
	sigaltstack(&ss, NULL);
	munmap(mem, ALTSTACK_BYTES);
}

/* The handler runs on an alternate stack, so that a fault with the stack
 * exhausted is still reported; each thread that allocates from the special
 * pool gets one, unless it has one at least as large already.  Large:
 * symbolising with libdw in the handler needs far more than SIGSTKSZ (a
 * sanitizer's own alternate stack is replaced for that reason). */
void pt_sp_altstack_ensure(void)
{
	stack_t old, ss;
	void *mem;

	if (altstack_done)
		return;
	altstack_done = 1;
	if (sigaltstack(NULL, &old) != 0 || (old.ss_flags & SS_ONSTACK) ||
	    (!(old.ss_flags & SS_DISABLE) && old.ss_size >= ALTSTACK_BYTES))
		return;
	mem = mmap(NULL, ALTSTACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return;
	ss = (stack_t){.ss_sp = mem, .ss_size = ALTSTACK_BYTES, .ss_flags = 0};
	if (sigaltstack(&ss, NULL) != 0) {
		munmap(mem, ALTSTACK_BYTES);
		return;
	}
	pthread_setspecific(altstack_key, mem);
}

/* Installs the handler (once: pt_sp_enable's set-up). */
void pt_sp_install_handler(void)
{
	struct sigaction sa;

	pthread_key_create(&altstack_key, altstack_free);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &pt_sp.old_segv);
	sigaction(SIGBUS, &sa, &pt_sp.old_bus);
}

/* ---- reports ---- */

/* A bounded text buffer written without stdio (usable in the handler). */
struct out {
	char *buf;
	size_t cap, n;
};

static void put(struct out *o, const char *s)
{
	while (s && *s && o->n + 1 < o->cap)
		o->buf[o->n++] = *s++;
	o->buf[o->n] = '\0';
}

static void put_u(struct out *o, uint64_t v)
{
	char t[24];
	int i = (int)sizeof(t) - 1;

	t[i] = '\0';
	do
		t[--i] = (char)('0' + v % 10);
	while ((v /= 10) && i > 0);
	put(o, t + i);
}

static void put_x(struct out *o, uintptr_t v)
{
	char t[24];
	int i = (int)sizeof(t) - 1;

	t[i] = '\0';
	do
		t[--i] = "0123456789abcdef"[v & 15];
	while ((v >>= 4) && i > 2);
	t[--i] = 'x';
	t[--i] = '0';
	put(o, t + i);
}

static void put_tag(struct out *o, uint32_t tag)
{
	char t[5];

	put(o, "'");
	put(o, pt_tag_str(tag, t));
	put(o, "'");
}

/* "file:line (func)" of a counter slot. */
static void put_slot(struct out *o, uint32_t slot)
{
	const struct pt_seg_slot *s = &pt_seg.slots[slot];

	put(o, pt_seg.strings + s->file);
	put(o, ":");
	put_u(o, s->line);
	put(o, " (");
	put(o, pt_seg.strings + s->func);
	put(o, ")");
}

/* A stack, symbolised when that is safe here (see the top of the file),
 * else its raw program counters. */
static void put_stack(struct out *o, uint32_t id, int in_handler)
{
	char buf[2048];

	if (!id)
		return;
	put(o, "\n    stack: ");
	if (!in_handler || pt_sym_trylock()) {
		if (in_handler)
			pt_sym_unlock();
		pt_stack_format(id, buf, sizeof(buf), 12);
		put(o, buf);
	} else {
		uintptr_t pcs[PT_STACK_DEPTH];
		unsigned n = pt_stack_pcs(id, pcs, PT_STACK_DEPTH);
		for (unsigned i = 0; i < n && i < PT_STACK_DEPTH; i++) {
			put(o, i ? " <- " : "");
			put_x(o, pcs[i]);
		}
	}
}

/* The acquiring (and freeing) site and stack of a record copy. */
static void put_sites(struct out *o, const struct pt_sp_blk *r, int in_handler)
{
	put(o, "\n  allocated at ");
	put_slot(o, r->slot);
	put_stack(o, r->stack, in_handler);
	if (r->freed) {
		put(o, "\n  freed at ");
		put(o, r->freed_at);
		put_stack(o, r->free_stack, in_handler);
	}
}

static void deliver(enum pt_misuse_kind kind, const struct pt_sp_blk *r, const void *access,
		    uint32_t used_tag, const struct pt_site *site, const char *text)
{
	const struct pt_seg_slot *s = &pt_seg.slots[r->slot];
	struct pt_misuse m = {kind, r->user, r->hdr.tag, used_tag, pt_seg.strings + s->file,
			      pt_seg.strings + s->func, s->line, site, text, access,
			      r->freed ? r->freed_at : NULL};

	pt_misuse_deliver(&m);
}

/* ---- findings at free and on queries ---- */

void pt_sp_report_fill(const struct pt_sp_blk *cp, int over, const char *first,
		       const char *last, const struct pt_site *site)
{
	char text[4096];
	struct out o = {text, sizeof(text), 0};

	if (over) {
		put(&o, "pooltag: special pool: overrun of block ");
		put_x(&o, (uintptr_t)cp->user);
		put(&o, " (tag ");
		put_tag(&o, cp->hdr.tag);
		put(&o, ", ");
		put_u(&o, cp->size);
		put(&o, " bytes) found at free: the fill after its end is overwritten at offsets ");
		put_u(&o, (uint64_t)(first - cp->user));
		put(&o, "-");
		put_u(&o, (uint64_t)(last - cp->user));
		put(&o, " (");
		put_u(&o, (uint64_t)(first - cp->user) - cp->size);
		put(&o, " to ");
		put_u(&o, (uint64_t)(last - cp->user) - cp->size);
		put(&o, " bytes past the end)");
	} else {
		put(&o, "pooltag: special pool: underrun of block ");
		put_x(&o, (uintptr_t)cp->user);
		put(&o, " (tag ");
		put_tag(&o, cp->hdr.tag);
		put(&o, ", ");
		put_u(&o, cp->size);
		put(&o, " bytes) found at free: the fill before its header is overwritten ");
		put_u(&o, (uint64_t)(cp->user - last));
		put(&o, " to ");
		put_u(&o, (uint64_t)(cp->user - first));
		put(&o, " bytes before its start");
	}
	put_sites(&o, cp, 0);
	deliver(PT_MISUSE_CORRUPTED, cp, first, cp->hdr.tag, site, text);
}

void pt_sp_report_check(const struct pt_sp_blk *cp, const char *op, uint32_t used_tag,
			const struct pt_site *site, const char *at)
{
	char text[4096];
	struct out o = {text, sizeof(text), 0};

	put(&o, "pooltag: ");
	put(&o, op);
	put(&o, cp->freed ? " of freed block " : " of block ");
	put_x(&o, (uintptr_t)cp->user);
	put(&o, " (tag ");
	put_tag(&o, cp->hdr.tag);
	put(&o, ", ");
	put_u(&o, cp->size);
	put(&o, " bytes, special pool) at ");
	put(&o, at);
	if (!cp->freed)
		put(&o, ": its header is overwritten (an underrun)");
	put_sites(&o, cp, 0);
	deliver(cp->freed ? PT_MISUSE_BAD_POINTER : PT_MISUSE_CORRUPTED, cp, NULL, used_tag, site,
		text);
}

/* ---- the fault handler ---- */

static void chain(int sig, siginfo_t *si, void *ctx)
{
	struct sigaction *old = sig == SIGBUS ? &pt_sp.old_bus : &pt_sp.old_segv;

	if (old->sa_flags & SA_SIGINFO) {
		if (old->sa_sigaction) {
			old->sa_sigaction(sig, si, ctx);
			return;
		}
	} else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
		old->sa_handler(sig);
		return;
	}
	/* The default: restore it and return; the access faults again and the
	 * process dies of it as if we had not been here (with a core). */
	sigaction(sig, old, NULL);
}

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
	int saved = errno, found = 0, is_write = -1;
	char *a = si->si_addr;
	struct pt_sp_blk copy;
	char text[8192];
	struct out o = {text, sizeof(text), 0};
	uintptr_t pc = 0;

	pt_sp_lock();
	for (struct pt_sp_blk *r = pt_sp.all.next; pt_sp.ready && r != &pt_sp.all; r = r->next)
		if (a >= r->base && a < r->base + r->len) {
			copy = *r;
			found = 1;
			break;
		}
	pt_sp_unlock();
	if (!found) {
		chain(sig, si, ctx);
		errno = saved;
		return;
	}
#if defined(__x86_64__)
	{
		ucontext_t *uc = ctx;
		is_write = (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;
		pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	}
#endif
	put(&o, "pooltag: special pool: ");
	put(&o, is_write < 0 ? "access" : is_write ? "write" : "read");
	put(&o, " at ");
	put_x(&o, (uintptr_t)a);
	if (copy.freed)
		put(&o, ", a use after free of block ");
	else if (a >= copy.user)
		put(&o, ", an overrun of block ");
	else
		put(&o, ", an underrun of block ");
	put_x(&o, (uintptr_t)copy.user);
	put(&o, " (tag ");
	put_tag(&o, copy.hdr.tag);
	put(&o, ", ");
	put_u(&o, copy.size);
	put(&o, " bytes): offset ");
	if (a < copy.user) {
		put(&o, "-");
		put_u(&o, (uint64_t)(copy.user - a));
		put(&o, " (");
		put_u(&o, (uint64_t)(copy.user - a));
		put(&o, " bytes before its start)");
	} else {
		put_u(&o, (uint64_t)(a - copy.user));
		if ((uint64_t)(a - copy.user) >= copy.size) {
			put(&o, " (");
			put_u(&o, (uint64_t)(a - copy.user) - copy.size);
			put(&o, " bytes past its end)");
		}
	}
	if (pc) {
		struct pt_frame f;
		put(&o, "\n  accessed at ");
		if (pt_sym_trylock()) {
			pt_sym_unlock();
			pt_sym_lookup(pc, 0, &f);
			put(&o, f.func);
			if (f.file) {
				put(&o, " (");
				put(&o, f.file);
				put(&o, ":");
				put_u(&o, f.line);
				put(&o, ")");
			} else {
				put(&o, " (");
				put(&o, f.module);
				put(&o, "+");
				put_x(&o, f.offset);
				put(&o, ")");
			}
		} else {
			put_x(&o, pc);
		}
	}
	put_sites(&o, &copy, 1);
	deliver(PT_MISUSE_FAULT, &copy, a, 0, NULL, text);
	/* Still here: the action is to continue.  Open what faulted and let the
	 * access happen; the block stays what it was (live, or quarantined). */
	pt_sp_lock();
	for (struct pt_sp_blk *r = pt_sp.all.next; r != &pt_sp.all; r = r->next)
		if (r->base == copy.base && r->user == copy.user) {
			char *guard = r->guard_before ? r->base : r->base + r->data_len;
			r->opened = 1;
			if (a >= guard && a < guard + pt_sp.page)
				mprotect(guard, pt_sp.page, PROT_READ | PROT_WRITE);
			else
				mprotect(r->data, r->data_len, PROT_READ | PROT_WRITE);
			break;
		}
	pt_sp_unlock();
	errno = saved;
}

