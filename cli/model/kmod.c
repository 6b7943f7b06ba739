/*
 * kmod.c - the kernel's modules in tables: labels, patterns, the list of
 * loaded modules, and a view's tag named or matched as its module
 * (kmod.h).
 */
#include <stdio.h>
#include <string.h>

#include "kmod.h"
#include "safestr.h"
#include "tagdb.h"
#include "tally.h"

const char *pt_kmod_label(const char *module, char *buf, size_t len)
{
	if (!*module) {
		snprintf(buf, len, "(kernel)");
		return buf;
	}
	snprintf(buf, len, "[%s]", module);
	pt_safe_inplace(buf); /* the module's name is the file's (safestr.h) */
	return buf;
}

const char *pt_view_tag_label(const struct pt_view *v, uint32_t tag, char *buf, size_t len)
{
	char t[5];

	if (v->kernel_format)
		for (size_t i = 0; i < v->nrows; i++)
			if (v->rows[i].tag == tag)
				return pt_kmod_label(v->rows[i].module, buf, len);
	snprintf(buf, len, "%s", pt_tag_print(tag, t));
	return buf;
}

/* '*' and '?' glob of p against s, iterative with one backtrack point:
 * linear in practice, never exponential. */
static int glob(const char *p, const char *s)
{
	const char *star = NULL, *mark = NULL;

	while (*s) {
		if (*p == '*') {
			star = p++;
			mark = s;
		} else if (*p == '?' || *p == *s) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++mark;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return !*p;
}

int pt_kmod_match(const char *pattern, const char *module)
{
	return !pattern || glob(pattern, *module ? module : "(kernel)");
}

int pt_view_tag_match(const struct pt_view *v, const char *pattern, uint32_t tag)
{
	if (!pattern)
		return 1;
	if (!v->kernel_format)
		return pt_tag_match(pattern, tag);
	for (size_t i = 0; i < v->nrows; i++)
		if (v->rows[i].tag == tag)
			return pt_kmod_match(pattern, v->rows[i].module);
	return 0;
}

int pt_kmod_loaded(const struct pt_view *v, const char *module)
{
	size_t n = strlen(module);

	if (!*module)
		return 1; /* the kernel itself */
	if (!v->kernel_modules)
		return -1;
	for (const char *c = v->kernel_modules; *c;) {
		const char *e = strchr(c, '\n');
		if ((size_t)(e - c) == n && memcmp(c, module, n) == 0)
			return 1;
		c = e + 1;
	}
	return 0;
}
