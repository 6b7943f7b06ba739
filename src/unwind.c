/*
 * unwind.c - a stack walker over .eh_frame with a cache of unwind rules.
 *
 * Why this design.  glibc's backtrace() goes through libgcc's unwinder,
 * which for every frame finds the FDE (_Unwind_Find_FDE), interprets its
 * CFI program and fills a context of every register: about 0.2 us a frame
 * and 1.2 us of set-up, with nothing kept between calls.  libunwind keeps
 * caches, but it is not installed by default on Debian (libunwind-dev), its
 * local unwinding takes locks and may allocate on a miss, and its fast path
 * still models every register.  Frame pointers alone are the fastest walk
 * but wrong in code built without them, which is most of a Debian system.
 * What an allocation profiler needs is narrower: on x86-64 the caller's
 * frame is found from three registers (rsp, rbp, rip), and at a given pc
 * the CFI always says the same thing about them: CFA = rsp or rbp plus an
 * offset, the return address at CFA - 8, rbp saved at CFA + n or not
 * saved.  That fits in 8 bytes per pc; once cached, a frame costs a hash
 * probe, a bounds check and two or three loads (a few ns), and the rare
 * miss does the full work once.  This is how the fast unwinders of
 * sampling profilers work.
 *
 * Rules (struct pt_uw_rule), one per address looked up (a return address
 * less one, or the exact pc of the first frame and of a signal's
 * interrupted code):
 *	CFA_SP    CFA = rsp + off
 *	CFA_BP    CFA = rbp + off
 *	CFA_DEREF CFA = *(rbp + off)  (gcc's frame of a function that realigns
 *	          its stack: DW_OP_breg6 off; DW_OP_deref)
 *	SIGNAL    the sigreturn trampoline (its CIE has the 'S' augmentation):
 *	          rsp points at the ucontext_t holding the interrupted registers
 *	STOP      the outermost frame (_start, clone: return address undefined)
 *	FP        no usable CFI: the frame-pointer rule (CFA = rbp + 16, return
 *	          address at rbp + 8, caller's rbp at rbp)
 * and for the CFA kinds: return address at CFA + ra_off, caller's rbp at
 * CFA + 8 * bp_slot (0: rbp not saved, the caller's is the current one;
 * for CFA_DEREF at rbp + 8 * bp_slot, gcc's DW_OP_breg6 expression).
 *
 * The cache: PT_UW_CACHE direct-mapped entries {address ^ rule, rule}, shared
 * by all threads, written without a lock.  An entry whose two words come
 * from different writers fails the check (address ^ rule must give back
 * the address) except by a coincidence of bits; even then the walk reads
 * nothing outside the stack, it would only report a wrong frame.
 *
 * Safety invariants of the walk:
 *  - every word read from the stack lies in [sp0, top - 8], sp0 the stack
 *    pointer when the walk began and top the end of the mapping holding it
 *    (found once per thread in /proc/self/maps, with read(2) only);
 *  - each frame's CFA lies above the previous stack pointer, so the walk
 *    ends; it stops at PT_UW_MAX_FRAMES, a zero pc, or a pc outside every
 *    loaded module whose frame pointer is not plausible;
 *  - .eh_frame is read only through _dl_find_object(), which is lock-free
 *    and async-signal-safe, for a pc inside a module that is loaded.
 */
#include "unwind.h"

#if defined(__x86_64__) && defined(__linux__)

#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/ucontext.h>
#include <unistd.h>

#define PT_UW_CACHE_BITS 16
#define PT_UW_CACHE      (1u << PT_UW_CACHE_BITS) /* rule cache entries (1 MiB) */
#define PT_UW_MAX_FRAMES 256        /* frames walked at most, skipped ones included */
#define PT_UW_STATES     8          /* DW_CFA_remember_state depth kept */
#define PT_UW_MAIN_STACK ((uintptr_t)1 << 30) /* the main thread's stack may grow this far */

extern void *__libc_stack_end; /* the dynamic linker's: the main thread's stack top */

enum { PT_UW_NONE, PT_UW_CFA_SP, PT_UW_CFA_BP, PT_UW_CFA_DEREF, PT_UW_SIGNAL, PT_UW_STOP, PT_UW_FP };

struct pt_uw_rule {
	int32_t cfa_off;
	int16_t ra_off;
	int8_t bp_slot; /* caller's rbp at CFA + 8 * bp_slot; 0 = not saved */
	uint8_t kind;   /* never PT_UW_NONE in a cached rule */
};
_Static_assert(sizeof(struct pt_uw_rule) == 8, "a rule is one word");

struct pt_uw_entry {
	uint64_t key; /* address ^ rule */
	uint64_t rule;
};

static struct pt_uw_entry pt_uw_cache[PT_UW_CACHE];
static uint64_t pt_uw_nmisses, pt_uw_nfallback;

/* The calling thread's stack mapping [lo, hi); hi == 0 until known. */
static __thread uintptr_t pt_uw_lo __attribute__((tls_model("initial-exec")));
static __thread uintptr_t pt_uw_hi __attribute__((tls_model("initial-exec")));

static inline uint64_t rule_bits(struct pt_uw_rule r)
{
	uint64_t b;

	memcpy(&b, &r, sizeof(b));
	return b;
}

static inline struct pt_uw_rule bits_rule(uint64_t b)
{
	struct pt_uw_rule r;

	memcpy(&r, &b, sizeof(r));
	return r;
}

/* Fibonacci hashing: the top bits of the product depend on all of addr's. */
static inline struct pt_uw_entry *cache_slot(uintptr_t addr)
{
	return &pt_uw_cache[(addr * 0x9e3779b97f4a7c15ull) >> (64 - PT_UW_CACHE_BITS)];
}

/* ---- the thread's stack bounds ---- */

/*
 * The mapping of /proc/self/maps holding sp, parsed a byte at a time (so a
 * line may straddle two reads) without allocating.  0, or -1 when the file
 * cannot be read or no mapping holds sp.
 */
static int stack_bounds(uintptr_t sp, uintptr_t *lo, uintptr_t *hi)
{
	char buf[1024];
	uintptr_t a = 0, b = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC), field = 0, found = -1;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (found < 0 && (n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			char c = buf[i];
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

			if (c == '\n') {
				field = 0;
				a = b = 0;
			} else if (field == 0 && d >= 0) {
				a = a << 4 | (uintptr_t)d;
			} else if (field == 0 && c == '-') {
				field = 1;
			} else if (field == 1 && d >= 0) {
				b = b << 4 | (uintptr_t)d;
			} else if (field == 1) {
				field = 2;
				if (sp >= a && sp < b) {
					*lo = a;
					*hi = b;
					found = 0;
					break;
				}
			}
		}
	}
	close(fd);
	return found;
}

/* ---- reading .eh_frame ---- */

#define DW_EH_PE_omit    0xff
#define DW_EH_PE_indirect 0x80

static uint64_t uleb(const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;
	unsigned shift = 0;

	while (*p < end) {
		uint8_t b = *(*p)++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			break;
	}
	return v;
}

static int64_t sleb(const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t b = 0;

	while (*p < end) {
		b = *(*p)++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			break;
	}
	if (shift < 64 && (b & 0x40))
		v |= ~(uint64_t)0 << shift;
	return (int64_t)v;
}

/* Reads a pointer encoded as enc at *p (datarel relative to dbase).  0, or
 * -1 for an encoding this reader does not know. */
static int read_enc(const uint8_t **p, const uint8_t *end, uint8_t enc, uintptr_t dbase,
		    uintptr_t *out)
{
	const uint8_t *start = *p;
	uintptr_t v;

	if (enc == DW_EH_PE_omit)
		return -1;
	switch (enc & 0x0f) {
	case 0x00: /* absptr */
	case 0x04: /* udata8 */
	case 0x0c: /* sdata8 */
		if (end - *p < 8)
			return -1;
		memcpy(&v, *p, 8);
		*p += 8;
		break;
	case 0x01:
		v = (uintptr_t)uleb(p, end);
		break;
	case 0x09:
		v = (uintptr_t)sleb(p, end);
		break;
	case 0x02: {
		uint16_t x;
		if (end - *p < 2)
			return -1;
		memcpy(&x, *p, 2);
		*p += 2;
		v = x;
		break;
	}
	case 0x0a: {
		int16_t x;
		if (end - *p < 2)
			return -1;
		memcpy(&x, *p, 2);
		*p += 2;
		v = (uintptr_t)(intptr_t)x;
		break;
	}
	case 0x03: {
		uint32_t x;
		if (end - *p < 4)
			return -1;
		memcpy(&x, *p, 4);
		*p += 4;
		v = x;
		break;
	}
	case 0x0b: {
		int32_t x;
		if (end - *p < 4)
			return -1;
		memcpy(&x, *p, 4);
		*p += 4;
		v = (uintptr_t)(intptr_t)x;
		break;
	}
	default:
		return -1;
	}
	switch (enc & 0x70) {
	case 0x00:
		break;
	case 0x10: /* pcrel */
		v += (uintptr_t)start;
		break;
	case 0x30: /* datarel */
		v += dbase;
		break;
	default:
		return -1;
	}
	if (enc & DW_EH_PE_indirect)
		memcpy(&v, (const void *)v, sizeof(v));
	*out = v;
	return 0;
}

/*
 * The FDE covering addr, through the sorted table of .eh_frame_hdr (hdr).
 * NULL when addr has none or the table's encoding is not the linker's usual
 * datarel|sdata4.
 */
static const uint8_t *find_fde(const uint8_t *hdr, uintptr_t addr)
{
	const uint8_t *p = hdr + 4, *end = hdr + 4 + 64;
	uintptr_t frame, count;
	const int32_t *tab;
	size_t lo = 0, hi;

	if (hdr[0] != 1 || hdr[3] != 0x3b)
		return NULL;
	if (read_enc(&p, end, hdr[1], (uintptr_t)hdr, &frame) < 0 ||
	    read_enc(&p, end, hdr[2], (uintptr_t)hdr, &count) < 0 || !count)
		return NULL;
	tab = (const int32_t *)p;
	hi = count;
	/* The last entry whose initial location is <= addr. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if ((uintptr_t)hdr + (intptr_t)tab[2 * mid] <= addr)
			lo = mid;
		else
			hi = mid;
	}
	if ((uintptr_t)hdr + (intptr_t)tab[2 * lo] > addr)
		return NULL;
	return hdr + (intptr_t)tab[2 * lo + 1];
}

/* What the CFI program says of the three registers that matter. */
struct cfi_state {
	int cfa_reg;     /* 7 rsp, 6 rbp; -1 anything else */
	int64_t cfa_off;
	int cfa_deref;   /* CFA = *(reg + off) */
	int ra_how;      /* 0 undefined, 1 at CFA + ra_off, -1 something else */
	int64_t ra_off;
	int bp_how;      /* 0 same value, 1 at CFA + bp_off, 2 at rbp + bp_off, -1 other */
	int64_t bp_off;
};

struct cie_info {
	const uint8_t *insns, *end;
	uint64_t code_align;
	int64_t data_align;
	uint64_t ra_reg;
	uint8_t fde_enc;
	int has_z, signal;
};

/* Parses the CIE at p.  0, or -1 when malformed or of an unknown kind. */
static int parse_cie(const uint8_t *p, struct cie_info *c)
{
	uint32_t len;
	const uint8_t *end, *aug, *augend = NULL;
	uint8_t version;

	memcpy(&len, p, 4);
	if (len == 0xffffffffu || len < 8)
		return -1;
	end = p + 4 + len;
	p += 8; /* length, CIE id */
	version = *p++;
	if (version != 1 && version != 3)
		return -1;
	aug = p;
	while (p < end && *p)
		p++;
	if (p >= end)
		return -1;
	p++;
	c->has_z = aug[0] == 'z';
	c->signal = 0;
	c->fde_enc = 0;
	c->code_align = uleb(&p, end);
	c->data_align = sleb(&p, end);
	c->ra_reg = version == 1 ? *p++ : uleb(&p, end);
	if (c->has_z) {
		uint64_t n = uleb(&p, end);
		augend = p + n;
		if (augend > end)
			return -1;
	}
	for (const uint8_t *a = aug + (c->has_z ? 1 : 0); *a; a++) {
		uintptr_t ignored;
		switch (*a) {
		case 'R':
			c->fde_enc = *p++;
			break;
		case 'L':
			p++;
			break;
		case 'P': {
			uint8_t enc = *p++;
			if (read_enc(&p, end, enc & 0x7f, 0, &ignored) < 0)
				return -1;
			break;
		}
		case 'S':
			c->signal = 1;
			break;
		case 'B':
			break;
		default:
			if (!augend)
				return -1;
			p = augend; /* an unknown letter: 'z' says where its data ends */
			a += strlen((const char *)a) - 1;
		}
	}
	c->insns = augend ? augend : p;
	c->end = end;
	return 0;
}

/* Runs the CFI program [p, end) until the location passes addr (loc starts
 * at *loc).  0, or -1 on an instruction this reader does not know. */
static int run_cfi(const uint8_t *p, const uint8_t *end, const struct cie_info *c, uintptr_t *loc,
		   uintptr_t addr, struct cfi_state *s, const struct cfi_state *initial)
{
	struct cfi_state saved[PT_UW_STATES];
	int nsaved = 0;

	while (p < end) {
		uint8_t op = *p++, low = op & 0x3f;
		uint64_t reg, delta = 0;
		int64_t off;

		switch (op >> 6) {
		case 1: /* advance_loc */
			delta = low;
			goto advance;
		case 2: /* offset */
			reg = low;
			off = (int64_t)uleb(&p, end) * c->data_align;
			goto set_offset;
		case 3: /* restore */
			reg = low;
			goto restore;
		}
		switch (op) {
		case 0x00: /* nop */
			continue;
		case 0x01: { /* set_loc */
			uintptr_t l;
			if (read_enc(&p, end, c->fde_enc, 0, &l) < 0)
				return -1;
			if (l > addr)
				return 0;
			*loc = l;
			continue;
		}
		case 0x02:
			delta = *p++;
			goto advance;
		case 0x03: {
			uint16_t d;
			memcpy(&d, p, 2);
			p += 2;
			delta = d;
			goto advance;
		}
		case 0x04: {
			uint32_t d;
			memcpy(&d, p, 4);
			p += 4;
			delta = d;
			goto advance;
		}
		case 0x05: /* offset_extended */
			reg = uleb(&p, end);
			off = (int64_t)uleb(&p, end) * c->data_align;
			goto set_offset;
		case 0x06: /* restore_extended */
			reg = uleb(&p, end);
			goto restore;
		case 0x07: /* undefined */
		case 0x08: /* same_value */
			reg = uleb(&p, end);
			if (reg == 6)
				s->bp_how = 0;
			else if (reg == c->ra_reg)
				s->ra_how = op == 0x07 ? 0 : -1;
			continue;
		case 0x09: /* register */
			reg = uleb(&p, end);
			(void)uleb(&p, end);
			if (reg == 6)
				s->bp_how = -1;
			else if (reg == c->ra_reg)
				s->ra_how = -1;
			continue;
		case 0x0a: /* remember_state */
			if (nsaved == PT_UW_STATES)
				return -1;
			saved[nsaved++] = *s;
			continue;
		case 0x0b: /* restore_state */
			if (!nsaved)
				return -1;
			*s = saved[--nsaved];
			continue;
		case 0x0c: /* def_cfa */
			reg = uleb(&p, end);
			s->cfa_reg = reg == 6 || reg == 7 ? (int)reg : -1;
			s->cfa_off = (int64_t)uleb(&p, end);
			s->cfa_deref = 0;
			continue;
		case 0x0d: /* def_cfa_register */
			reg = uleb(&p, end);
			s->cfa_reg = reg == 6 || reg == 7 ? (int)reg : -1;
			s->cfa_deref = 0;
			continue;
		case 0x0e: /* def_cfa_offset */
			s->cfa_off = (int64_t)uleb(&p, end);
			continue;
		case 0x0f: { /* def_cfa_expression */
			uint64_t n = uleb(&p, end);
			const uint8_t *e = p, *eend = p + n;
			p = eend;
			/* Only gcc's realigned frame: DW_OP_breg6 off; DW_OP_deref. */
			if (n >= 2 && e[0] == 0x76) {
				e++;
				s->cfa_off = sleb(&e, eend);
				if (e + 1 == eend && *e == 0x06) {
					s->cfa_reg = 6;
					s->cfa_deref = 1;
					continue;
				}
			}
			s->cfa_reg = -1;
			continue;
		}
		case 0x10: /* expression */
		case 0x16: { /* val_expression */
			uint64_t n;
			const uint8_t *e;
			reg = uleb(&p, end);
			n = uleb(&p, end);
			e = p;
			p += n;
			/* gcc's realigned frame saves rbp at rbp + off: DW_OP_breg6 off. */
			if (reg == 6 && op == 0x10 && n >= 2 && e[0] == 0x76) {
				e++;
				s->bp_off = sleb(&e, p);
				s->bp_how = e == p ? 2 : -1;
			} else if (reg == 6)
				s->bp_how = -1;
			else if (reg == c->ra_reg)
				s->ra_how = -1;
			continue;
		}
		case 0x11: /* offset_extended_sf */
			reg = uleb(&p, end);
			off = sleb(&p, end) * c->data_align;
			goto set_offset;
		case 0x12: /* def_cfa_sf */
			reg = uleb(&p, end);
			s->cfa_reg = reg == 6 || reg == 7 ? (int)reg : -1;
			s->cfa_off = sleb(&p, end) * c->data_align;
			s->cfa_deref = 0;
			continue;
		case 0x13: /* def_cfa_offset_sf */
			s->cfa_off = sleb(&p, end) * c->data_align;
			continue;
		case 0x14: /* val_offset */
		case 0x15: /* val_offset_sf */
			reg = uleb(&p, end);
			if (op == 0x14)
				(void)uleb(&p, end);
			else
				(void)sleb(&p, end);
			if (reg == 6)
				s->bp_how = -1;
			else if (reg == c->ra_reg)
				s->ra_how = -1;
			continue;
		case 0x2e: /* GNU_args_size */
			(void)uleb(&p, end);
			continue;
		case 0x2f: /* GNU_negative_offset_extended */
			reg = uleb(&p, end);
			off = -(int64_t)uleb(&p, end) * c->data_align;
			goto set_offset;
		default:
			return -1;
		}
	advance:
		if (*loc + delta * c->code_align > addr)
			return 0;
		*loc += delta * c->code_align;
		continue;
	set_offset:
		if (reg == 6) {
			s->bp_how = 1;
			s->bp_off = off;
		} else if (reg == c->ra_reg) {
			s->ra_how = 1;
			s->ra_off = off;
		}
		continue;
	restore:
		if (!initial)
			return -1; /* restore inside the CIE's own program */
		if (reg == 6) {
			s->bp_how = initial->bp_how;
			s->bp_off = initial->bp_off;
		} else if (reg == c->ra_reg) {
			s->ra_how = initial->ra_how;
			s->ra_off = initial->ra_off;
		}
		continue;
	}
	return 0;
}

/* The rule at addr, computed from its module's CFI. */
static struct pt_uw_rule compute_rule(uintptr_t addr)
{
	struct pt_uw_rule r = {.kind = PT_UW_FP};
	struct dl_find_object dlfo;
	struct cie_info c;
	struct cfi_state s = {.cfa_reg = -1, .ra_how = 0, .bp_how = 0}, init;
	const uint8_t *fde, *p, *end;
	uintptr_t begin, range, loc;
	uint32_t len, cie_off;

	if (_dl_find_object((void *)addr, &dlfo) != 0 || !dlfo.dlfo_eh_frame)
		return r;
	fde = find_fde(dlfo.dlfo_eh_frame, addr);
	if (!fde)
		return r;
	memcpy(&len, fde, 4);
	memcpy(&cie_off, fde + 4, 4);
	if (len == 0xffffffffu || len < 8 || !cie_off)
		return r;
	end = fde + 4 + len;
	if (parse_cie(fde + 4 - cie_off, &c) < 0)
		return r;
	p = fde + 8;
	if (read_enc(&p, end, c.fde_enc, 0, &begin) < 0 ||
	    read_enc(&p, end, c.fde_enc & 0x0f, 0, &range) < 0)
		return r;
	if (addr < begin || addr - begin >= range)
		return r;
	if (c.has_z)
		p += uleb(&p, end);
	if (c.signal) {
		r.kind = PT_UW_SIGNAL;
		return r;
	}
	loc = begin;
	if (run_cfi(c.insns, c.end, &c, &loc, UINTPTR_MAX, &s, NULL) < 0)
		return r;
	init = s;
	loc = begin;
	if (run_cfi(p, end, &c, &loc, addr, &s, &init) < 0)
		return r;
	if (s.ra_how == 0) {
		r.kind = PT_UW_STOP;
		return r;
	}
	/* Save slots below the CFA (as every compiler puts them): step() then
	 * checks one bound only. */
	if (s.cfa_reg < 0 || s.ra_how != 1 || s.bp_how < 0 || s.cfa_off < INT32_MIN ||
	    s.cfa_off > INT32_MAX || s.ra_off < INT16_MIN || s.ra_off > -8 ||
	    (s.bp_how == 1 && s.bp_off > -8))
		return r;
	if (s.bp_how == 2 && !s.cfa_deref)
		return r;
	if (s.bp_how && (s.bp_off % 8 || s.bp_off / 8 < INT8_MIN || s.bp_off / 8 > INT8_MAX ||
			      (s.bp_how == 1 && !s.bp_off)))
		return r;
	r.cfa_off = (int32_t)s.cfa_off;
	r.ra_off = (int16_t)s.ra_off;
	r.bp_slot = s.bp_how ? (int8_t)(s.bp_off / 8) : 0;
	if (s.cfa_deref && s.bp_how != 2)
		return r; /* a realigned frame describes rbp by an expression */
	r.kind = s.cfa_deref ? PT_UW_CFA_DEREF : s.cfa_reg == 7 ? PT_UW_CFA_SP : PT_UW_CFA_BP;
	return r;
}

/* The rule at addr, computed and cached (a miss of step()). */
static __attribute__((noinline)) uint64_t rule_miss(uintptr_t addr)
{
	struct pt_uw_entry *e = cache_slot(addr);
	uint64_t bits = rule_bits(compute_rule(addr));

	__atomic_store_n(&e->rule, bits, __ATOMIC_RELAXED);
	__atomic_store_n(&e->key, addr ^ bits, __ATOMIC_RELAXED);
	__atomic_fetch_add(&pt_uw_nmisses, 1, __ATOMIC_RELAXED);
	return bits;
}

/* ---- the walk ---- */

struct regs {
	uintptr_t pc, sp, bp;
	uintptr_t adj; /* 1: pc is a return address (its rule is at pc - 1); 0: the instruction */
};

/* The stack word at a (memcpy: a garbage frame may be misaligned; on
 * x86-64 this is one load).  An unwinder reads other frames' words, which
 * AddressSanitizer would take for overflows of their locals. */
__attribute__((no_sanitize_address)) static inline uintptr_t load(uintptr_t a)
{
	uintptr_t v;

	memcpy(&v, (const void *)a, sizeof(v));
	return v;
}

/* A stack word at a, if it lies in [lo, hi - 8]. */
#define IN_STACK(a, lo, hi) ((a) >= (lo) && (a) <= (hi) - 8)

/* One frame up by a rule other than CFA_SP and CFA_BP (or after reading
 * the CFA for CFA_DEREF).  0, or -1 when the walk ends here. */
static __attribute__((noinline)) int step_slow(struct regs *r, struct pt_uw_rule u, uintptr_t lo,
					       uintptr_t hi)
{
	uintptr_t cfa, ra, bp = r->bp, a;

	switch (u.kind) {
	case PT_UW_CFA_DEREF:
		if (!IN_STACK(r->bp + (intptr_t)u.cfa_off, lo, hi))
			return -1;
		cfa = load(r->bp + (intptr_t)u.cfa_off);
		a = r->bp + 8 * (intptr_t)u.bp_slot;
		break;
	case PT_UW_SIGNAL: {
		const ucontext_t *uc = (const ucontext_t *)r->sp;
		if (!IN_STACK(r->sp, lo, hi) || r->sp + sizeof(*uc) > hi || (r->sp & 7))
			return -1; /* the kernel's frame is aligned; a garbage one may not be */
		r->pc = load((uintptr_t)&uc->uc_mcontext.gregs[REG_RIP]);
		r->bp = load((uintptr_t)&uc->uc_mcontext.gregs[REG_RBP]);
		cfa = load((uintptr_t)&uc->uc_mcontext.gregs[REG_RSP]);
		if (cfa <= r->sp || cfa > hi)
			return -1;
		r->sp = cfa;
		r->adj = 0;
		return r->pc ? 0 : -1;
	}
	case PT_UW_FP:
		__atomic_fetch_add(&pt_uw_nfallback, 1, __ATOMIC_RELAXED);
		cfa = r->bp + 16;
		u.ra_off = -8;
		a = r->bp;
		break;
	default:
		return -1;
	}
	if (cfa <= r->sp || cfa > hi || !IN_STACK(cfa + (intptr_t)u.ra_off, lo, hi) ||
	    !IN_STACK(a, lo, hi))
		return -1;
	ra = load(cfa + (intptr_t)u.ra_off);
	bp = load(a);
	if (!ra)
		return -1;
	r->pc = ra;
	r->sp = cfa;
	r->bp = bp;
	r->adj = 1;
	return 0;
}

/*
 * One frame up.  0, or -1 when the walk ends here.  The common rules
 * (CFA = rsp or rbp plus an offset) are handled inline: a hash probe, a
 * bounds check and two or three loads.
 */
static inline int step(struct regs *r, uintptr_t lo, uintptr_t hi)
{
	uintptr_t addr = r->pc - r->adj, cfa, ra, bp = r->bp;
	const struct pt_uw_entry *e = cache_slot(addr);
	uint64_t key = __atomic_load_n(&e->key, __ATOMIC_RELAXED);
	uint64_t bits = __atomic_load_n(&e->rule, __ATOMIC_RELAXED);
	struct pt_uw_rule u;

	if (__builtin_expect(!bits || (key ^ bits) != addr, 0))
		bits = rule_miss(addr);
	u = bits_rule(bits);
	if (__builtin_expect(u.kind > PT_UW_CFA_BP, 0)) {
		/* A copy: r itself then never escapes, and stays in registers. */
		struct regs t = *r;
		int rc = step_slow(&t, u, lo, hi);
		*r = t;
		return rc;
	}
	cfa = (u.kind == PT_UW_CFA_SP ? r->sp : r->bp) + (intptr_t)u.cfa_off;
	/* ra_off and bp_slot are negative (compute_rule), so the words read
	 * lie below cfa <= hi: only their lower bound needs a check. */
	if (cfa <= r->sp || cfa > hi || cfa + (intptr_t)u.ra_off < lo)
		return -1;
	ra = load(cfa + (intptr_t)u.ra_off);
	if (u.bp_slot) {
		if (cfa + 8 * (intptr_t)u.bp_slot < lo)
			return -1;
		bp = load(cfa + 8 * (intptr_t)u.bp_slot);
	}
	if (!ra)
		return -1;
	r->pc = ra;
	r->sp = cfa;
	r->bp = bp;
	r->adj = 1;
	return 0;
}

/* The top of the calling thread's stack, read once per thread (and again
 * after a switch of stacks); 0 if unknown.  sp: the current stack pointer. */
static inline uintptr_t stack_top(uintptr_t sp)
{
	uintptr_t lo, hi;

	if (__builtin_expect(sp < pt_uw_lo || sp >= pt_uw_hi, 0)) {
		/* First walk of this thread, or on another stack (sigaltstack,
		 * a coroutine): find the mapping; kept per thread. */
		if (stack_bounds(sp, &lo, &hi) < 0)
			return 0;
		/* The main thread's mapping grows down as the stack deepens:
		 * count the whole of its possible extent as this stack. */
		if ((uintptr_t)__libc_stack_end >= lo && (uintptr_t)__libc_stack_end < hi)
			lo = hi > PT_UW_MAIN_STACK ? hi - PT_UW_MAIN_STACK : 0;
		pt_uw_lo = lo;
		pt_uw_hi = hi;
	}
	return pt_uw_hi;
}

/* The walk from r, the lowest stack word readable lo. */
/* Steps over skip frames: 0, or -1 when the walk ended among them. */
static inline int skip_frames(struct regs *r, uintptr_t lo, uintptr_t hi, unsigned skip)
{
	for (unsigned i = 0; i < skip && i < PT_UW_MAX_FRAMES; i++)
		if (step(r, lo, hi) < 0)
			return -1;
	return 0;
}

static inline unsigned walk(struct regs r, uintptr_t lo, uintptr_t hi, uintptr_t *pcs,
			    unsigned max, unsigned skip)
{
	unsigned n = 0;

	if (skip_frames(&r, lo, hi, skip) < 0)
		return 0;
	while (n < max && n < PT_UW_MAX_FRAMES && step(&r, lo, hi) == 0)
		pcs[n++] = r.pc;
	return n;
}

/* The registers of the function it is written in, where the walk starts
 * (pc: this instruction, not a return address). */
#define HERE(r)                                                                    \
	do {                                                                       \
		__asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2" \
				 : "=r"((r).pc), "=r"((r).sp), "=r"((r).bp));      \
		(r).adj = 0;                                                       \
	} while (0)

__attribute__((noinline)) unsigned pt_unwind(uintptr_t *pcs, unsigned max, unsigned skip)
{
	struct regs r;
	uintptr_t hi;
	unsigned n;

	HERE(r);
	hi = stack_top(r.sp);
	if (!hi)
		return 0;
	n = walk(r, r.sp, hi, pcs, max, skip);
	__asm__ volatile("" ::: "memory"); /* no tail call: this frame is walked */
	return n;
}

__attribute__((noinline)) unsigned pt_unwind_each(unsigned skip,
						   int (*fn)(uintptr_t pc, void *arg), void *arg)
{
	struct regs r;
	uintptr_t lo, hi;
	unsigned n = 0;

	HERE(r);
	lo = r.sp;
	hi = stack_top(r.sp);
	if (!hi || skip_frames(&r, lo, hi, skip) < 0)
		return 0;
	while (n < PT_UW_MAX_FRAMES && step(&r, lo, hi) == 0) {
		n++;
		if (fn(r.pc, arg))
			break;
	}
	__asm__ volatile("" ::: "memory"); /* no tail call: this frame is walked */
	return n;
}

__attribute__((noinline)) unsigned pt_unwind_regs(uintptr_t pc, uintptr_t sp, uintptr_t bp,
						   uintptr_t *pcs, unsigned max)
{
	struct regs r = {.pc = pc, .sp = sp, .bp = bp, .adj = 0};
	uintptr_t here, hi;

	__asm__ volatile("mov %%rsp, %0" : "=r"(here));
	hi = stack_top(here);
	if (!hi || sp < here || sp >= hi)
		return 0;
	return walk(r, here, hi, pcs, max, 0);
}

void pt_unwind_stats(struct pt_unwind_stats *out)
{
	out->nmisses = __atomic_load_n(&pt_uw_nmisses, __ATOMIC_RELAXED);
	out->nfallback = __atomic_load_n(&pt_uw_nfallback, __ATOMIC_RELAXED);
}

#else /* not x86-64 Linux: backtrace(), through libgcc's unwinder */

#include <execinfo.h>

__attribute__((noinline)) unsigned pt_unwind(uintptr_t *pcs, unsigned max, unsigned skip)
{
	void *buf[256];
	int n = backtrace(buf, (int)(max + skip + 1 < 256 ? max + skip + 1 : 256));
	unsigned k = 0;

	for (int i = 1 + (int)skip; i < n && k < max; i++)
		pcs[k++] = (uintptr_t)buf[i];
	__asm__ volatile("" ::: "memory");
	return k;
}

__attribute__((noinline)) unsigned pt_unwind_each(unsigned skip,
						   int (*fn)(uintptr_t pc, void *arg), void *arg)
{
	void *buf[256];
	int n = backtrace(buf, 256);
	unsigned k = 0;

	for (int i = 1 + (int)skip; i < n; i++) {
		k++;
		if (fn((uintptr_t)buf[i], arg))
			break;
	}
	__asm__ volatile("" ::: "memory");
	return k;
}

unsigned pt_unwind_regs(uintptr_t pc, uintptr_t sp, uintptr_t bp, uintptr_t *pcs, unsigned max)
{
	(void)pc;
	(void)sp;
	(void)bp;
	(void)pcs;
	(void)max;
	return 0;
}

void pt_unwind_stats(struct pt_unwind_stats *out)
{
	out->nmisses = 0;
	out->nfallback = 0;
}

#endif
