/*
 * pt_runtest.h - what the interposer's unit tests share (test_fds.c,
 * test_report.c): the plugin that does their counted work from a module of
 * its own (tests/plugins/runplug.c), and the charge of a descriptor.
 */
#ifndef PT_RUNTEST_H
#define PT_RUNTEST_H

#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "preload.h"
#include "pt_test.h"

static struct {
	void *h;
	int (*open)(const char *path);
	void *(*alloc_a)(size_t n);
	void *(*alloc_b)(size_t n);
	int *open_line, *a_line, *b_line;
} plug;

/* Loads build/tests/plugins/runplug.so, beside this program; 0, or -1
 * with a diagnostic line. */
static inline int plug_load(void)
{
	char self[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return -1;
	self[n] = '\0';
	snprintf(path, sizeof(path), "%s/plugins/runplug.so", dirname(self));
	plug.h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!plug.h) {
		printf("# dlopen %s: %s\n", path, dlerror());
		return -1;
	}
	*(void **)&plug.open = dlsym(plug.h, "runplug_open");
	*(void **)&plug.alloc_a = dlsym(plug.h, "runplug_alloc_a");
	*(void **)&plug.alloc_b = dlsym(plug.h, "runplug_alloc_b");
	plug.open_line = dlsym(plug.h, "runplug_open_line");
	plug.a_line = dlsym(plug.h, "runplug_a_line");
	plug.b_line = dlsym(plug.h, "runplug_b_line");
	if (!plug.open || !plug.alloc_a || !plug.alloc_b || !plug.open_line || !plug.a_line ||
	    !plug.b_line) {
		printf("# %s lacks a function\n", path);
		return -1;
	}
	return 0;
}

struct fd_find {
	int fd;
	uint32_t slot;
};

static inline void fd_find_cb(int fd, uint32_t slot, void *arg)
{
	struct fd_find *f = arg;

	if (fd == f->fd)
		f->slot = slot;
}

/* The slot charged with open descriptor fd, 0 if none is. */
static inline uint32_t slot_of_fd(int fd)
{
	struct fd_find f = {fd, 0};

	pt_run_fds_each(fd_find_cb, &f);
	return f.slot;
}

static inline struct pt_count count_of_slot(uint32_t slot)
{
	struct pt_count c = {0, 0, 0, 0};

	if (slot)
		pt_slot_sum(slot, &c);
	return c;
}

#endif /* PT_RUNTEST_H */
