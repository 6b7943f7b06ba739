/*
 * kmod.h - the kernel's modules in tables: a view read from /proc/allocinfo
 * (allocinfo.h) carries, in each row's tag, an id of the module charged;
 * these name it, match it against a pattern and tell whether it is still
 * loaded.  For every other view the tag is itself, named and matched as
 * !poolused does (tagdb.h).
 */
#ifndef PT_KMOD_H
#define PT_KMOD_H

#include <stddef.h>
#include <stdint.h>

#include "view.h"

/* A module's label as tables show it: "[foo]", or "(kernel)" for the
 * kernel's own sites.  Control characters become '?'.  Returns buf. */
const char *pt_kmod_label(const char *module, char *buf, size_t len);

/* What tables call tag in view v: in a kernel view the label of the module
 * whose id it is ("[foo]", "(kernel)"), else the tag's four characters
 * (pt_tag_print).  len must be at least 5.  Returns buf. */
const char *pt_view_tag_label(const struct pt_view *v, uint32_t tag, char *buf, size_t len);

/* Does a module match a pattern ('*' any run, '?' one character, matched
 * against the name without brackets; "(kernel)" stands for the kernel
 * itself)?  NULL matches everything. */
int pt_kmod_match(const char *pattern, const char *module);

/* Does the tag of view v match pattern: in a kernel view the module whose
 * id the tag is, by pt_kmod_match; else the tag, by pt_tag_match. */
int pt_view_tag_match(const struct pt_view *v, const char *pattern, uint32_t tag);

/* Is module among v's loaded modules?  1 yes, 0 no, -1 unknown (the view
 * does not list them: a saved copy of allocinfo). */
int pt_kmod_loaded(const struct pt_view *v, const char *module);

#endif /* PT_KMOD_H */
