/*
 * allocinfo.h - the Linux kernel as a target: /proc/allocinfo, the kernel's
 * memory allocation profiling (CONFIG_MEM_ALLOC_PROFILING, Linux 6.10 and
 * later), read into a view the way a !poolused dump is.
 *
 * The file gives, per allocation call site of the kernel and its modules,
 * the bytes and the number of allocations outstanding (docs/allocinfo-
 * format.md).  The view gets one row per line:
 *  - pool PT_NONPAGED (Linux kernel memory is never paged out);
 *  - nallocs = the outstanding count, nfrees 0, bytes_alloc = the bytes
 *    outstanding, bytes_freed 0, and v->outstanding_only set: the kernel
 *    counts what is live, not allocations and frees;
 *  - file, line and function from "FILE:LINE ... func:FUNCTION"; module =
 *    the name inside "[...]", "" for the kernel itself;
 *  - tag = an id of the module, unique within the view and the same in
 *    every view for the same name (a hash, probed on collision), so the
 *    module plays the part the tag plays for pool tagging;
 *  - flags PT_ROW_INEXACT when the kernel marked the line "accurate:no" or
 *    printed a negative count (per-CPU counters summed while they moved).
 * v->kernel_format names the format version read ("1.0", "2.0"); NULL means
 * the view is not the kernel's.
 *
 * Two inputs parse: the kernel's text as it is (a saved copy, or the live
 * file), and pooltag's kernel snapshot, the same text behind a short
 * preamble that adds when it was read and which modules were loaded:
 *
 *	pooltag-kernel-snapshot 1
 *	taken 1764790000000000000
 *	source /proc/allocinfo
 *	modules 2
 *	module foo
 *	module bar
 *	allocinfo - version: 1.0
 *	...
 *
 * Nothing in the input is trusted: any bytes parse or are refused with
 * "NAME:LINE: reason", in time linear in their size; a version this reader
 * does not know is refused rather than misread.
 */
#ifndef PT_ALLOCINFO_H
#define PT_ALLOCINFO_H

#include <stddef.h>
#include <stdint.h>

#include "view.h"

#define PT_KSNAP_MAGIC "pooltag-kernel-snapshot"
#define PT_KSNAP_VERSION 1

/* What the parser counted, for notes. */
struct pt_allocinfo {
	size_t nsites;    /* site lines read */
	size_t ninexact;  /* of them marked inexact */
	size_t nunknown;  /* key:value pairs of a key this reader does not know */
	size_t nmodules;  /* distinct modules among the sites (the kernel counts as one) */
};

/* 1 if buf starts like a saved /proc/allocinfo or a kernel snapshot. */
int pt_allocinfo_sniff(const char *buf, size_t len);

/* Parses buf[0..len) into v (initialised by the caller, who frees it either
 * way).  name stands for the file in messages and becomes
 * v->kernel_source unless a snapshot preamble names the source.  0, or -1
 * with "NAME:LINE: reason" (or "out of memory") in err. */
int pt_allocinfo_parse(struct pt_view *v, const char *buf, size_t len, const char *name,
                       struct pt_allocinfo *info, char *err, size_t errlen);

/* The directory standing for /proc: $POOLTAG_PROC when set and not empty,
 * else "/proc". */
const char *pt_allocinfo_procdir(void);

/* Reads the live kernel: PROC/allocinfo, with PROC/modules for the loaded
 * modules.  Refuses, with a message saying why and what to do, a kernel
 * without the file (not built with allocation profiling), with profiling
 * switched off (PROC/sys/vm/mem_profiling is 0) and a file the caller may
 * not read.  0, or -1 with the message in err (v then holds nothing to
 * present). */
int pt_allocinfo_load(struct pt_view *v, char *err, size_t errlen);

/* Whether the live kernel can be read now: pt_allocinfo_load's answer,
 * the view discarded.  0, or -1 with the message in err. */
int pt_allocinfo_check(char *err, size_t errlen);

/* Writes v (a kernel view) to path as a kernel snapshot, atomically (a
 * temporary file beside it, fsync, rename).  0, or -1 with a message. */
int pt_allocinfo_write(const struct pt_view *v, const char *path, char *err, size_t errlen);

/* Is s[0..n) a module name this reader accepts: 1 to 255 printable bytes
 * other than space and brackets (the kernel's are at most 55)? */
int pt_kmod_name_ok(const char *s, size_t n);

#endif /* PT_ALLOCINFO_H */
