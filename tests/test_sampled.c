/*
 * test_sampled.c - the sampled call paths of a view (cli/model/sampled.c):
 * the biggest estimates first, ties in the view's order, the pattern and
 * the top limit; each path named from its modules' files: frames of this
 * program symbolised from its own file, a missing file as "module+0xOFF",
 * the library's and the interposer's frames and the site's own left out
 * from the innermost end, nothing past main, six frames at most, control
 * bytes of untrusted strings shown as '?'; the text `pooltag used --sites`
 * prints; the byte units; every allocation failed in turn.
 */
#include <limits.h>
#include <link.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emit.h"
#include "pooltag.h"
#include "pt_oom.h"
#include "pt_test.h"
#include "sampled.h"
#include "stack.h"

#define GONE    "/nonexistent/pt-test/libgone.so"
#define PRELOAD "/nonexistent/pt-test/lib/pooltag/libpooltag-preload.so"

static char self[PATH_MAX]; /* this program's file */

int main(void); /* where paths stop */

/* Functions to point frames at; distinct bodies, so that no two are folded
 * into one. */
static volatile int sink;
__attribute__((noinline)) static void frame_site(void)
{
	sink = 1;
}
__attribute__((noinline)) static void frame_mid(void)
{
	sink = 2;
}
__attribute__((noinline)) static void frame_outer(void)
{
	sink = 3;
}
__attribute__((noinline)) static void frame_after_main(void)
{
	sink = 4;
}

struct where {
	uintptr_t addr, off;
};

static int find_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct where *w = arg;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && w->addr >= lo && w->addr < lo + ph->p_memsz) {
			w->off = w->addr - info->dlpi_addr;
			return 1;
		}
	}
	return 0;
}

/* The return address just past the first byte of the function at addr, as
 * an offset in this program's file: a lookup (at the address less one)
 * lands on the function. */
static uint64_t off_of(uintptr_t addr)
{
	struct where w = {.addr = addr};

	if (!dl_iterate_phdr(find_object, &w))
		abort();
	return w.off + 1;
}

/* What a frame at off in this program names: "file:line in func". */
static const char *named(uint64_t off, char *buf, size_t len)
{
	struct pt_frame fr;

	if (pt_sym_offline(self, off, 1, &fr) != 0 || !fr.file)
		snprintf(buf, len, "(unsymbolised 0x%llx)", (unsigned long long)off);
	else
		snprintf(buf, len, "%s:%u in %s", fr.file, fr.line, fr.func);
	return buf;
}

static unsigned line_of_frame(uint64_t off)
{
	struct pt_frame fr;

	return pt_sym_offline(self, off, 1, &fr) == 0 ? fr.line : 0;
}

/* A sample of tag at file:line in func, nlive blocks standing for est
 * bytes, with the frames given as (path, offset) pairs, innermost first. */
static void add_sample(struct pt_view *v, const char *tag, const char *file, unsigned line,
                       const char *func, uint64_t nlive, uint64_t est, unsigned depth, ...)
{
	struct pt_vsample s = {
	    .tag = (uint32_t)(unsigned char)tag[0] | (uint32_t)(unsigned char)tag[1] << 8 |
	           (uint32_t)(unsigned char)tag[2] << 16 | (uint32_t)(unsigned char)tag[3] << 24,
	    .pool = PT_PAGED,
	    .line = line,
	    .file = file,
	    .func = func,
	    .nlive = nlive,
	    .live_est = est,
	    .ntaken = nlive + 1,
	    .depth = depth};
	va_list ap;

	va_start(ap, depth);
	for (unsigned i = 0; i < depth; i++) {
		s.frames[i].path = va_arg(ap, const char *);
		s.frames[i].off = va_arg(ap, uint64_t);
		s.frames[i].pc = 0x7f0000000000ull + s.frames[i].off;
	}
	va_end(ap);
	if (pt_view_add_sample(v, &s) != 0)
		abort();
}

static void view(struct pt_view *v, uint64_t mean, uint64_t ndropped)
{
	pt_view_init(v);
	v->pid = 4242;
	snprintf(v->comm, sizeof(v->comm), "fixture");
	v->sample_mean = mean;
	v->sample_ndropped = ndropped;
}

/* ---------------------------------------------------------------------------
 * Order, pattern, limit
 */

/* Biggest estimate first, whatever the view's order; a path with no block
 * live is left out. */
PT_TEST(test_order_by_estimate)
{
	struct pt_spaths sp;
	struct pt_view v;

	view(&v, 1024, 0);
	add_sample(&v, "Smal", "s.c", 1, "s", 1, 100, 0);
	add_sample(&v, "Bigg", "b.c", 2, "b", 3, 9000, 0);
	add_sample(&v, "Free", "f.c", 3, "f", 0, 0, 0);
	add_sample(&v, "Midl", "m.c", 5, "m", 2, 700, 0);
	PT_CHECK_EQ(pt_sampled_top(&sp, &v, NULL, -1), 0);
	PT_CHECK_EQ(sp.n, 3);
	PT_CHECK_EQ(sp.mean, 1024);
	PT_CHECK_EQ(sp.ndropped, 0);
	if (sp.n == 3) {
		PT_CHECK_STR(sp.p[0].where, "b.c:2");
		PT_CHECK_STR(sp.p[1].where, "m.c:5");
		PT_CHECK_STR(sp.p[2].where, "s.c:1");
		PT_CHECK(sp.p[0].s == &v.samples[1]);
		PT_CHECK_STR(sp.p[0].func, "b");
		PT_CHECK_STR(sp.p[0].via, ""); /* no frame recorded */
	}
	pt_sampled_free(&sp);
	PT_CHECK(sp.p == NULL && sp.n == 0);
	pt_view_free(&v);
}

/* Equal estimates keep the view's order, whatever qsort does with ties:
 * the output of one view is always the same. */
PT_TEST(test_ties_keep_view_order)
{
	char where[16];
	struct pt_spaths sp;
	struct pt_view v;
	size_t k = 0;

	view(&v, 1024, 0);
	for (unsigned i = 0; i < 64; i++)
		add_sample(&v, i % 3 ? "Tie " : "Big ", "t.c", i, "f", 1 + i % 2, i % 3 ? 500 : 900,
		           0);
	PT_CHECK_EQ(pt_sampled_top(&sp, &v, NULL, -1), 0);
	PT_CHECK_EQ(sp.n, 64);
	/* The big ones (lines 0, 3, ... 63), then the others, each in order. */
	for (int big = 1; big >= 0; big--)
		for (unsigned line = 0; line < 64; line++)
			if ((line % 3 == 0) == big && k < sp.n) {
				snprintf(where, sizeof(where), "t.c:%u", line);
				PT_CHECK_STR(sp.p[k++].where, where);
			}
	pt_sampled_free(&sp);
	pt_view_free(&v);
}

PT_TEST(test_pattern_and_top)
{
	struct pt_spaths sp;
	struct pt_view v;

	view(&v, 4096, 2);
	add_sample(&v, "Req ", "a.c", 1, "a", 1, 10, 0);
	add_sample(&v, "Rsp ", "a.c", 2, "a", 1, 30, 0);
	add_sample(&v, "Hdr ", "a.c", 3, "a", 1, 20, 0);
	add_sample(&v, "Req ", "a.c", 4, "a", 1, 40, 0);
	PT_CHECK_EQ(pt_sampled_top(&sp, &v, "R*", -1), 0);
	PT_CHECK_EQ(sp.n, 3);
	if (sp.n == 3) {
		PT_CHECK_STR(sp.p[0].where, "a.c:4");
		PT_CHECK_STR(sp.p[1].where, "a.c:2");
		PT_CHECK_STR(sp.p[2].where, "a.c:1");
	}
	PT_CHECK_EQ(sp.ndropped, 2);
	pt_sampled_free(&sp);
	/* The limit applies after the pattern: the two biggest of its three. */
	PT_CHECK_EQ(pt_sampled_top(&sp, &v, "R*", 2), 0);
	PT_CHECK_EQ(sp.n, 2);
	if (sp.n == 2)
		PT_CHECK_STR(sp.p[1].where, "a.c:2");
	pt_sampled_free(&sp);
	/* At its bound, one past it, none. */
	PT_CHECK_EQ(pt_sampled_top(&sp, &v, NULL, 4), 0);
	PT_CHECK_EQ(sp.n, 4);
	pt_sampled_free(&sp);
	PT_CHECK_EQ(pt_sampled_top(&sp, &v, NULL, 5), 0);
	PT_CHECK_EQ(sp.n, 4);
	pt_sampled_free(&sp);
	PT_CHECK_EQ(pt_sampled_top(&sp, &v, NULL, 0), 0);
	PT_CHECK_EQ(sp.n, 0);
	PT_CHECK_EQ(sp.mean, 4096);
	pt_sampled_free(&sp);
	PT_CHECK_EQ(pt_sampled_top(&sp, &v, "Q*", -1), 0);
	PT_CHECK_EQ(sp.n, 0);
	pt_sampled_free(&sp);
	pt_view_free(&v);
}

PT_TEST(test_empty_view)
{
	struct pt_spaths sp;
	struct pt_view v;

	view(&v, 0, 0);
	PT_CHECK_EQ(pt_sampled_top(&sp, &v, NULL, -1), 0);
	PT_CHECK_EQ(sp.n, 0);
	PT_CHECK_EQ(sp.mean, 0);
	pt_sampled_free(&sp);
	pt_view_free(&v);
}

/* ---------------------------------------------------------------------------
 * Paths named
 */

/* Innermost first: a library frame, the interposer's, the site itself
 * (left out), then the program's and a module whose file is gone, up to
 * main; what lies past main is not shown. */
PT_TEST(test_path_named)
{
	char want[2048], a[512], b[512], c[512];
	uint64_t site = off_of((uintptr_t)frame_site), mid = off_of((uintptr_t)frame_mid);
	uint64_t outer = off_of((uintptr_t)frame_outer), in_main = off_of((uintptr_t)main);
	struct pt_spaths sp;
	struct pt_view v;
	struct pt_frame fr;

	/* The frames this program's file names, as the module looks them up. */
	PT_CHECK_EQ(pt_sym_offline(self, mid, 1, &fr), 0);
	PT_CHECK_STR(fr.func, "frame_mid");
	PT_CHECK_STR(fr.file, "test_sampled.c");
	PT_CHECK_EQ(pt_sym_offline(self, in_main, 1, &fr), 0);
	PT_CHECK_STR(fr.func, "main");
	PT_CHECK_EQ(pt_sym_offline(self, off_of((uintptr_t)pt_sampled_free), 1, &fr), 0);
	PT_CHECK_STR(fr.func, "pt_sampled_free");

	view(&v, 512 * 1024, 0);
	add_sample(&v, "Samp", "tests/test_sampled.c", line_of_frame(site), "frame_site", 3,
	           3 << 20, 8, self, off_of((uintptr_t)pt_sampled_free), PRELOAD, (uint64_t)0x4a0,
	           self, site, self, mid, GONE, (uint64_t)0x1234, self, outer, self, in_main, self,
	           off_of((uintptr_t)frame_after_main));
	PT_CHECK_EQ(pt_sampled_top(&sp, &v, NULL, -1), 0);
	PT_CHECK_EQ(sp.n, 1);
	if (sp.n == 1) {
		snprintf(want, sizeof(want), "tests/test_sampled.c:%u", line_of_frame(site));
		PT_CHECK_STR(sp.p[0].where, want);
		PT_CHECK_STR(sp.p[0].func, "frame_site");
		snprintf(want, sizeof(want), "%s <- libgone.so+0x1234 <- %s <- %s",
		         named(mid, a, sizeof(a)), named(outer, b, sizeof(b)),
		         named(in_main, c, sizeof(c)));
		PT_CHECK_STR(sp.p[0].via, want);
		PT_CHECK(strstr(sp.p[0].via, "frame_after_main") == NULL);
	}
	pt_sampled_free(&sp);
	pt_view_free(&v);
}

/* Left out from the innermost end only: once the program's own frame is
 * seen, a library frame, the interposer's or the site's function again
 * (recursion) is shown.  The site is recognised by its function and line
 * both. */
PT_TEST(test_only_innermost_left_out)
{
	char want[2048], a[512], b[512], c[512];
	uint64_t site = off_of((uintptr_t)frame_site), mid = off_of((uintptr_t)frame_mid);
	uint64_t lib = off_of((uintptr_t)pt_sampled_free);
	struct pt_spaths sp;
	struct pt_view v;

	view(&v, 1, 0);
	add_sample(&v, "Samp", "x.c", line_of_frame(site), "frame_site", 1, 10, 4, self, mid, self,
	           lib, PRELOAD, (uint64_t)0x10, self, site);
	/* The same function at another line: not the site. */
	add_sample(&v, "Samp", "x.c", line_of_frame(site) + 1, "frame_site", 1, 5, 2, self, site,
	           self, mid);
	PT_CHECK_EQ(pt_sampled_top(&sp, &v, NULL, -1), 0);
	PT_CHECK_EQ(sp.n, 2);
	if (sp.n == 2) {
		snprintf(want, sizeof(want), "%s <- %s <- libpooltag-preload.so+0x10 <- %s",
		         named(mid, a, sizeof(a)), named(lib, b, sizeof(b)),
		         named(site, c, sizeof(c)));
		PT_CHECK_STR(sp.p[0].via, want);
		snprintf(want, sizeof(want), "%s <- %s", named(site, a, sizeof(a)),
		         named(mid, b, sizeof(b)));
		PT_CHECK_STR(sp.p[1].via, want);
	}
	pt_sampled_free(&sp);
	pt_view_free(&v);
}

/* Nothing but the library's frames: no frame to show. */
PT_TEST(test_only_library_frames)
{
	struct pt_spaths sp;
	struct pt_view v;

	view(&v, 1, 0);
	add_sample(&v, "Samp", "x.c", 1, "f", 1, 10, 2, self, off_of((uintptr_t)pt_sampled_free),
	           PRELOAD, (uint64_t)0x10);
	PT_CHECK_EQ(pt_sampled_top(&sp, &v, NULL, -1), 0);
	PT_CHECK(sp.n == 1 && strcmp(sp.p[0].via, "") == 0);
	pt_sampled_free(&sp);
	pt_view_free(&v);
}

/* Six frames at most; a module with no file named, and a path and strings
 * with control bytes (a segment's strings are untrusted). */
PT_TEST(test_six_frames_and_untrusted_strings)
{
	struct pt_spaths sp;
	struct pt_view v;

	view(&v, 1, 0);
	add_sample(&v, "Six ", "x.c", 1, "f", 1, 60, 6, "/a/m1.so", (uint64_t)1, "/a/m2.so",
	           (uint64_t)2, "/a/m3.so", (uint64_t)3, "/a/m4.so", (uint64_t)4, "/a/m5.so",
	           (uint64_t)5, "/a/m6.so", (uint64_t)6);
	add_sample(&v, "Sevn", "x.c", 2, "f", 1, 50, 7, "/a/m1.so", (uint64_t)1, "/a/m2.so",
	           (uint64_t)2, "/a/m3.so", (uint64_t)3, "/a/m4.so", (uint64_t)4, "/a/m5.so",
	           (uint64_t)5, "/a/m6.so", (uint64_t)6, "/a/m7.so", (uint64_t)7);
	add_sample(&v, "Ctrl", "a\tb\x1b[2J.c", 3, "f\nn\x7f", 1, 40, 3, "/a/lib\x01x.so",
	           (uint64_t)0xabc, "", (uint64_t)0x5, "/dir/", (uint64_t)0x6);
	add_sample(&v, "Unkn", "", 0, "", 1, 30, 0);
	PT_CHECK_EQ(pt_sampled_top(&sp, &v, NULL, -1), 0);
	PT_CHECK_EQ(sp.n, 4);
	if (sp.n == 4) {
		PT_CHECK_STR(sp.p[0].via, "m1.so+0x1 <- m2.so+0x2 <- m3.so+0x3 <- m4.so+0x4 <- "
		                          "m5.so+0x5 <- m6.so+0x6");
		PT_CHECK_STR(sp.p[1].via, sp.p[0].via);
		PT_CHECK_STR(sp.p[2].where, "a?b?[2J.c:3");
		PT_CHECK_STR(sp.p[2].func, "f?n?");
		PT_CHECK_STR(sp.p[2].via, "lib?x.so+0xabc <- ?+0x5 <- ?+0x6");
		PT_CHECK_STR(sp.p[3].where, "?:0");
		PT_CHECK_STR(sp.p[3].func, "?");
	}
	pt_sampled_free(&sp);
	pt_view_free(&v);
}

/* Module names as long as a segment's strings may be: cut to the room,
 * never past it. */
PT_TEST(test_long_names_cut)
{
	char path[2048], fn[1024];
	struct pt_spaths sp;
	struct pt_view v;

	path[0] = '/';
	memset(path + 1, 'm', sizeof(path) - 2);
	path[sizeof(path) - 1] = 0;
	memset(fn, 'f', sizeof(fn) - 1);
	fn[sizeof(fn) - 1] = 0;
	view(&v, 1, 0);
	add_sample(&v, "Long", fn, 1, fn, 1, 1, 4, path, (uint64_t)1, path, (uint64_t)2, path,
	           (uint64_t)3, path, (uint64_t)4);
	PT_CHECK_EQ(pt_sampled_top(&sp, &v, NULL, -1), 0);
	PT_CHECK_EQ(sp.n, 1);
	if (sp.n == 1) {
		PT_CHECK_EQ(strlen(sp.p[0].where), sizeof(sp.p[0].where) - 1);
		PT_CHECK_EQ(strlen(sp.p[0].func), sizeof(sp.p[0].func) - 1);
		PT_CHECK_EQ(strlen(sp.p[0].via), sizeof(sp.p[0].via) - 1);
		PT_CHECK_EQ(strspn(sp.p[0].via, "m"), 511);
	}
	pt_sampled_free(&sp);
	pt_view_free(&v);
}

/* Many paths sharing their outer frames: each distinct frame is looked up
 * once, and the table of those looked up never fills. */
PT_TEST(test_many_paths)
{
	char path[64];
	struct pt_spaths sp;
	struct pt_view v;

	view(&v, 1, 0);
	for (unsigned i = 0; i < 300; i++) {
		struct pt_vsample s = {.tag = pt_tag_make("Many"),
		                       .line = i,
		                       .file = "m.c",
		                       .func = "f",
		                       .nlive = 1,
		                       .live_est = 1000 + i,
		                       .depth = PT_VSAMPLE_FRAMES};
		snprintf(path, sizeof(path), "/gone/p%u.so", i);
		for (unsigned f = 0; f < PT_VSAMPLE_FRAMES; f++) {
			s.frames[f].path = f < 2 ? path : "/gone/shared.so";
			s.frames[f].off = f < 2 ? f : 100 + f;
		}
		if (pt_view_add_sample(&v, &s) != 0)
			abort();
	}
	PT_CHECK_EQ(pt_sampled_top(&sp, &v, NULL, -1), 0);
	PT_CHECK_EQ(sp.n, 300);
	if (sp.n == 300) {
		PT_CHECK_STR(sp.p[0].where, "m.c:299");
		PT_CHECK_STR(sp.p[0].via, "p299.so+0x0 <- p299.so+0x1 <- shared.so+0x66 <- "
		                          "shared.so+0x67 <- shared.so+0x68 <- shared.so+0x69");
		PT_CHECK_STR(sp.p[299].where, "m.c:0");
	}
	pt_sampled_free(&sp);
	pt_view_free(&v);
}

/* ---------------------------------------------------------------------------
 * The text and the units
 */

/* What f printed, in out. */
static int print_to(char *out, size_t len, const struct pt_view *v, const char *pattern, long top)
{
	FILE *f = tmpfile();
	size_t n;
	int rc;

	struct pt_emit e;

	if (!f)
		abort();
	pt_emit_init(&e, f, PT_EMIT_TEXT);
	rc = pt_sampled_emit(&e, v, pattern, top);
	rewind(f);
	n = fread(out, 1, len - 1, f);
	out[n] = 0;
	fclose(f);
	return rc;
}

PT_TEST(test_print)
{
	char out[4096];
	struct pt_view v;

	view(&v, 512 * 1024, 3);
	add_sample(&v, "Big ", "b.c", 7, "grab", 96, 50331648, 1, GONE, (uint64_t)0x10);
	add_sample(&v,
	           "On\x01"
	           "e",
	           "o.c", 8, "one", 1, 1000, 0);
	PT_CHECK_EQ(print_to(out, sizeof(out), &v, NULL, -1), 0);
	PT_CHECK_STR(out, "\n Sampled call paths (one allocation in about 512.0 KiB has its stack "
	                  "recorded;\n"
	                  " '~' marks estimates of the live bytes, see pooltag(1)):\n"
	                  " Big  sampled: ~48.0 MiB live (96 samples) at b.c:7 in grab\n"
	                  "       via libgone.so+0x10\n"
	                  " On.e sampled: ~1000 B live (1 sample) at o.c:8 in one\n"
	                  "       via (no frames recorded)\n"
	                  "  (3 samples not recorded: table full or no stack)\n");
	/* Sampling on, nothing live: said so. */
	PT_CHECK_EQ(print_to(out, sizeof(out), &v, "Q*", -1), 0);
	PT_CHECK_STR(out, "\n Sampled call paths (one allocation in about 512.0 KiB has its stack "
	                  "recorded;\n"
	                  " '~' marks estimates of the live bytes, see pooltag(1)):\n"
	                  "  (no sampled block is live)\n"
	                  "  (3 samples not recorded: table full or no stack)\n");
	pt_view_free(&v);
	/* Sampling off: nothing at all. */
	view(&v, 0, 0);
	PT_CHECK_EQ(print_to(out, sizeof(out), &v, NULL, -1), 0);
	PT_CHECK_STR(out, "");
	pt_view_free(&v);
}

PT_TEST(test_human)
{
	char b[64];

	PT_CHECK_STR(pt_sampled_human(0, b, sizeof(b)), "0 B");
	PT_CHECK_STR(pt_sampled_human(1023, b, sizeof(b)), "1023 B");
	PT_CHECK_STR(pt_sampled_human(1024, b, sizeof(b)), "1.0 KiB");
	PT_CHECK_STR(pt_sampled_human(1536, b, sizeof(b)), "1.5 KiB");
	PT_CHECK_STR(pt_sampled_human(1024 * 1024, b, sizeof(b)), "1.0 MiB");
	PT_CHECK_STR(pt_sampled_human(46347059, b, sizeof(b)), "44.2 MiB");
	PT_CHECK_STR(pt_sampled_human(1ull << 30, b, sizeof(b)), "1.0 GiB");
	PT_CHECK_STR(pt_sampled_human(1ull << 40, b, sizeof(b)), "1.0 TiB");
	/* TiB is the largest unit. */
	PT_CHECK_STR(pt_sampled_human(1ull << 50, b, sizeof(b)), "1024.0 TiB");
	PT_CHECK_STR(pt_sampled_human(UINT64_MAX, b, sizeof(b)), "16777216.0 TiB");
	/* Cut to the room given. */
	PT_CHECK_STR(pt_sampled_human(123456, b, 5), "120.");
	PT_CHECK(pt_sampled_human(5, b, sizeof(b)) == b);
}

/* ---------------------------------------------------------------------------
 * Out of memory
 */

/* Each allocation failed in turn: -1 and nothing kept, or the whole answer;
 * the text printed only when the paths were found. */
PT_TEST(test_out_of_memory)
{
	struct pt_spaths sp;
	struct pt_view v;
	char out[4096];
	long n;
	int rc;

	view(&v, 1024, 0);
	add_sample(&v, "Oom1", "a.c", 1, "f", 1, 20, 2, GONE, (uint64_t)1, "/gone/b.so",
	           (uint64_t)2);
	add_sample(&v, "Oom2", "a.c", 2, "g", 1, 10, 1, GONE, (uint64_t)1);
	for (n = 0;; n++) {
		oom_arm(n);
		rc = pt_sampled_top(&sp, &v, NULL, -1);
		if (!oom_disarm())
			break;
		PT_CHECK_EQ(rc, -1);
		PT_CHECK(sp.n == 0 && sp.p == NULL);
		pt_sampled_free(&sp);
	}
	PT_CHECK(n > 0);
	PT_CHECK(rc == 0 && sp.n == 2 && strcmp(sp.p[1].via, "libgone.so+0x1") == 0);
	pt_sampled_free(&sp);
	for (n = 0;; n++) {
		oom_arm(n);
		rc = print_to(out, sizeof(out), &v, NULL, -1);
		if (!oom_disarm())
			break;
		PT_CHECK_EQ(rc, -1);
		PT_CHECK_STR(out, "");
	}
	PT_CHECK_EQ(rc, 0);
	PT_CHECK_HAS(out, "via libgone.so+0x1 <- b.so+0x2\n");
	pt_view_free(&v);
}

int main(void)
{
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return 1;
	self[n] = 0;
	PT_RUN(test_order_by_estimate);
	PT_RUN(test_ties_keep_view_order);
	PT_RUN(test_pattern_and_top);
	PT_RUN(test_empty_view);
	PT_RUN(test_path_named);
	PT_RUN(test_only_innermost_left_out);
	PT_RUN(test_only_library_frames);
	PT_RUN(test_six_frames_and_untrusted_strings);
	PT_RUN(test_long_names_cut);
	PT_RUN(test_many_paths);
	PT_RUN(test_print);
	PT_RUN(test_human);
	PT_RUN(test_out_of_memory);
	return pt_test_done();
}
