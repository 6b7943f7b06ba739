/*
 * winimport.h - pool counters saved on Windows, read into a view: the text
 * of WinDbg's !poolused (any flags, any amount of debugger output around
 * it) and PoolMon's snapshot files (poolmon /n, or its screen copied).
 *
 * A file holds one or more tables, each opened by its column header line
 * (" Tag    Allocs     Used ..." or " Tag  Type     Allocs ...").  The last
 * table is the one read: poolmon /n appends a snapshot per run, and a
 * debugger log often holds !poolused 2 then !poolused 4.  Lines that are
 * neither part of a table nor known furniture (prompts, "Sorting by ...",
 * TOTAL, progress dots) are skipped and counted, never an error: a dump is
 * evidence pasted from a debugger session, with whatever came with it.
 *
 * The view gets one row per tag and pool (no call sites: file, function and
 * module are ""), pid 0, and the description !poolused printed for each tag
 * unless it was "UNKNOWN pooltag ...".  Counts follow view.h's rules:
 *  - with Allocs and Frees (!poolused 1, PoolMon), nallocs and nfrees are
 *    the cumulative counts; 32-bit counters that wrapped or were printed
 *    signed are put back together from Diff, which is right modulo 2^32;
 *  - with outstanding counts only (!poolused without flag 1), nallocs holds
 *    the outstanding count, nfrees 0, and the view says outstanding_only:
 *    commands must not present those as allocations and frees;
 *  - bytes_alloc holds the bytes in use (Used, Bytes), bytes_freed 0: the
 *    dumps carry no cumulative byte counts.
 *
 * Nothing in the input is trusted: any bytes parse without crashing, in
 * time linear in their size.  UTF-16 text with a byte order mark (what
 * Windows PowerShell writes by default) and a UTF-8 byte order mark are
 * accepted; CRLF and LF line ends both work.
 */
#ifndef PT_WINIMPORT_H
#define PT_WINIMPORT_H

#include <stddef.h>

#include "view.h"

/* What pt_winimport_parse found, for the notes the CLI prints. */
struct pt_winimport {
	const char *format; /* "!poolused" or "poolmon": the table read */
	size_t nrows;       /* tag lines read in that table */
	size_t nskipped;    /* non-blank lines not understood, in the whole file */
	size_t ntables;     /* tables in the file; the last one is read */
	size_t line;        /* the line of its column header */
};

/* Reads buf[0..len) into v (initialised by the caller, who frees it either
 * way).  name becomes v->import_file.  Returns 1 when a table was read, 0
 * when the text holds no !poolused or PoolMon table (v left empty), -1 on
 * out of memory (message in err). */
int pt_winimport_parse(struct pt_view *v, const char *buf, size_t len, const char *name,
                       struct pt_winimport *info, char *err, size_t errlen);

#endif /* PT_WINIMPORT_H */
