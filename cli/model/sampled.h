/*
 * sampled.h - the sampled call paths of a view (src/sample.h): the paths
 * of the biggest live consumers, each with its estimated live bytes,
 * symbolised from the modules' files, for `pooltag used --sites` (its text
 * and its JSON), the monitor and the exporter alike.
 */
#ifndef PT_SAMPLED_H
#define PT_SAMPLED_H

#include "emit.h"
#include "view.h"

/* The callers a path shows at most. */
#define PT_SPATH_FRAMES 6

/* A caller of a path, as its module's file names it.  The strings are as
 * read (a writer makes them safe for its format): module is the view's,
 * func and file the symboliser's, which keeps them while the process
 * lives. */
struct pt_sframe {
	const char *module; /* the module's file, as the segment names it; "" unknown */
	uint64_t off;       /* the return address's offset in it */
	const char *func;   /* "?" unknown */
	const char *file;   /* NULL: the module's file has no line for it */
	unsigned line;
};

/* One path, ready to show.  where, func and via are printable
 * (pt_safe_str): where the path was charged ("file:line", "?:0" when
 * unknown), its function, and how it was reached ("f.c:12 in g <- main.c:3
 * in main", "" when no frame was recorded).  frames are via's, innermost
 * first: the library's own frames and those outside main left out. */
struct pt_spath {
	const struct pt_vsample *s;
	char where[512];
	char func[256];
	char via[1024];
	struct pt_sframe frames[PT_SPATH_FRAMES];
	unsigned nframes;
};

/* A view's paths with sampled blocks live, biggest estimate first (equal
 * estimates in the view's order). */
struct pt_spaths {
	struct pt_spath *p;
	size_t n;
	uint64_t mean;     /* bytes between samples; 0: the view samples nothing */
	uint64_t ndropped; /* samples not recorded (table full, no stack) */
};

/* Fills *out with the top paths (all with top < 0) whose tag matches
 * pattern (NULL: all).  Each frame is symbolised once, from its module's
 * file only (pt_sym_offline): nothing of the process is trusted.  0, or -1
 * on out of memory (*out then empty).  Free with pt_sampled_free. */
int pt_sampled_top(struct pt_spaths *out, const struct pt_view *v, const char *pattern,
		   long top);
void pt_sampled_free(struct pt_spaths *sp);

/* sp's callers as via shows them ("f.c:12 in g <- main.c:3 in main"), each
 * name made safe for a terminal when safe, else as read (for a format that
 * escapes on its own: JSON, Prometheus labels). */
void pt_sampled_via(const struct pt_spath *sp, int safe, char *via, size_t len);

/* Writes the top paths as `pooltag used --sites` shows them: in text a
 * section under its table, in JSON a member "sampled" of the object open
 * (mean_bytes, not_recorded, paths: each with its site, estimates, path
 * and frames), nothing in CSV; nothing either when the view samples
 * nothing.  0, or -1 on out of memory (nothing written). */
int pt_sampled_emit(struct pt_emit *e, const struct pt_view *v, const char *pattern, long top);

/* n bytes for people: "512 B", "44.2 MiB".  Returns buf. */
const char *pt_sampled_human(uint64_t n, char *buf, size_t len);

#endif /* PT_SAMPLED_H */
