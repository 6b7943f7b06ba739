/*
 * pt_oom.h - failing one allocation at a time, for the programs that prove
 * a module's out-of-memory paths (SQLite's fault simulation, the kernel's
 * fail-the-Nth mode).
 *
 * The program is linked with --wrap for malloc, calloc and realloc (the
 * Makefile's OOM_TESTS), so their calls from the program and from the
 * objects linked into it (the CLI's, the library's) come here; those made
 * inside shared libraries (libc's strdup, libdw) do not.  Disarmed, the
 * wrappers only pass the call on.  Leaks on the failure paths are the
 * sanitizer build's to find (make check-asan).
 *
 *	for (long n = 0;; n++) {
 *		oom_arm(n);                  fail the allocation after n more
 *		rc = f();
 *		if (!oom_disarm())
 *			break;               none was failed: the whole path ran
 *		PT_CHECK_EQ(rc, -1);
 *	}
 */
#ifndef PT_OOM_H
#define PT_OOM_H

#include <stddef.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static long oom_left = -1; /* allocations to let through before failing one; -1 none */
static int oom_failed;     /* one was failed since oom_arm */

/* Fails the allocation after n more (0: the next), and that one only. */
static inline void oom_arm(long n)
{
	oom_left = n;
	oom_failed = 0;
}

/* Disarms; 1 if an allocation was failed since oom_arm. */
static inline int oom_disarm(void)
{
	oom_left = -1;
	return oom_failed;
}

static inline int oom_fail_now(void)
{
	if (oom_left < 0 || oom_left-- > 0)
		return 0;
	oom_failed = 1;
	return 1;
}

void *__wrap_malloc(size_t n)
{
	return oom_fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return oom_fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return oom_fail_now() ? NULL : __real_realloc(p, n);
}

#endif /* PT_OOM_H */
