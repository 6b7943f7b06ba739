/*
 * misuse.c - reports of API misuse: one line naming every site involved,
 * counted in the segment, delivered to a replaceable hook.
 *
 * The report is built on the stack and written with one writev(2), so it
 * needs no allocation and lines from different threads do not interleave.
 * Delivery is async-signal-safe (the special pool's fault handler uses it);
 * after it, the verifier's action applies (pt_verify_finding).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"

static struct {
	pt_misuse_fn fn; /* NULL: write to stderr */
	void *arg;
} hook;

pt_misuse_fn pt_misuse_set_hook(pt_misuse_fn fn, void *arg)
{
	pt_misuse_fn old = __atomic_exchange_n(&hook.fn, NULL, __ATOMIC_ACQ_REL);

	__atomic_store_n(&hook.arg, arg, __ATOMIC_RELEASE);
	__atomic_store_n(&hook.fn, fn, __ATOMIC_RELEASE);
	return old;
}

uint64_t pt_misuse_count(void)
{
	pt_seg_init();
	return __atomic_load_n(&pt_seg.hdr->nmisuse, __ATOMIC_RELAXED);
}

/* "file:line (func)" of a site, or "an unknown site". */
static void site_str(char *buf, size_t len, const char *file, unsigned line, const char *func)
{
	if (file && *file)
		snprintf(buf, len, "%s:%u (%s)", file, line, func && *func ? func : "?");
	else
		snprintf(buf, len, "an unknown site");
}

void pt_slot_text(uint32_t slot, char *buf, size_t len)
{
	const struct pt_seg_slot *s = &pt_seg.slots[slot];

	if (slot)
		site_str(buf, len, pt_seg.strings + s->file, s->line, pt_seg.strings + s->func);
	else
		site_str(buf, len, NULL, 0, NULL);
}

void pt_site_text(const struct pt_site *site, char *buf, size_t len)
{
	site_str(buf, len, site ? site->file : NULL, site ? site->line : 0, site ? site->func : NULL);
}

void pt_misuse_deliver(const struct pt_misuse *m)
{
	pt_misuse_fn fn;

	if (pt_fault_logging()) { /* a run of pooltag faults: tell the driver (first line) */
		const char *t = m->text, *nl = strchr(t, '\n');
		if (!strncmp(t, "pooltag: ", 9))
			t += 9;
		pt_fault_finding();
		pt_fault_log("M\t%.*s", (int)(nl ? nl - t : (ptrdiff_t)strlen(t)), t);
	}
	__atomic_fetch_add(&pt_seg.hdr->nmisuse, 1, __ATOMIC_RELAXED);
	fn = __atomic_load_n(&hook.fn, __ATOMIC_ACQUIRE);
	if (fn) {
		fn(m, __atomic_load_n(&hook.arg, __ATOMIC_ACQUIRE));
	} else {
		/* One writev, so reports of different threads do not interleave. */
		struct iovec iov[2] = {{(void *)m->text, strlen(m->text)}, {(void *)"\n", 1}};
		if (writev(STDERR_FILENO, iov, 2) < 0) {
			/* nowhere left to report to */
		}
	}
	pt_verify_finding();
}

/* Builds, counts and delivers a report.  slot, when non-zero, is the
 * block's slot and names where it was allocated; site is where op was
 * called. */
void pt_misuse_report(enum pt_misuse_kind kind, const char *op, const void *addr, uint32_t tag,
		      uint32_t used_tag, uint32_t slot, const struct pt_site *site)
{
	struct pt_misuse m = {kind, addr, tag, used_tag, NULL, NULL, 0, site, NULL, NULL, NULL};
	char text[768], at[256], alloc_at[256] = "", t1[5], t2[5];

	pt_seg_init();
	if (slot) {
		const struct pt_seg_slot *s = &pt_seg.slots[slot];
		m.alloc_file = pt_seg.strings + s->file;
		m.alloc_func = pt_seg.strings + s->func;
		m.alloc_line = s->line;
		site_str(alloc_at, sizeof(alloc_at), m.alloc_file, m.alloc_line, m.alloc_func);
	}
	site_str(at, sizeof(at), site ? site->file : NULL, site ? site->line : 0,
		 site ? site->func : NULL);
	pt_tag_str(tag, t1);
	pt_tag_str(used_tag, t2);
	switch (kind) {
	case PT_MISUSE_TAG_MISMATCH:
		snprintf(text, sizeof(text),
			 "pooltag: %s with wrong tag: block %p has tag '%s' (allocated at %s), "
			 "%s as '%s' at %s",
			 op, addr, t1, alloc_at, op, t2, at);
		break;
	case PT_MISUSE_BAD_POINTER:
		if (slot)
			snprintf(text, sizeof(text),
				 "pooltag: %s of freed block %p (tag '%s', allocated at %s) at %s", op,
				 addr, t1, alloc_at, at);
		else
			snprintf(text, sizeof(text),
				 "pooltag: %s of %p at %s: not a live pooltag block (not allocated by "
				 "pooltag, already freed, or its header was overwritten)",
				 op, addr, at);
		break;
	case PT_MISUSE_CORRUPTED:
		snprintf(text, sizeof(text),
			 "pooltag: %s of block %p at %s: its header is overwritten (an underrun of "
			 "the block, or an overrun of the one below it); tag '%s', allocated at %s; "
			 "the block is left alone",
			 op, addr, at, t1, alloc_at);
		break;
	case PT_MISUSE_BAD_OBJECT:
		snprintf(text, sizeof(text),
			 "pooltag: %s of %p at %s: not a live object (deleted already, or never "
			 "created by pooltag)",
			 op, addr, at);
		break;
	case PT_MISUSE_DEREF_ZERO:
		snprintf(text, sizeof(text),
			 "pooltag: %s of object %p ('%s') at %s: no reference%s%s%s left to release "
			 "(a reference count below zero); the object was created at %s",
			 op, addr, t1, at, used_tag ? " tagged '" : "", used_tag ? t2 : "",
			 used_tag ? "'" : "", slot ? alloc_at : "an unknown site");
		break;
	case PT_MISUSE_BAD_TAG:
	default:
		snprintf(text, sizeof(text),
			 "pooltag: %s with invalid tag 0x%08x at %s: a tag is 1 to 4 printable ASCII "
			 "characters",
			 op, (unsigned)used_tag, at);
		break;
	}
	m.text = text;
	pt_misuse_deliver(&m);
}
