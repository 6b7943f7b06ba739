/*
 * dl.c - dlclose: when a shared object really goes (its last reference
 * dropped), what its code still holds is reported, its pcs are forgotten
 * (another object may be mapped there next) and it is marked unloaded in
 * the segment.  Its sites keep their names: they were resolved when they
 * were registered, while the object was mapped.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

#include "preload.h"
#include "reach.h"

/* Is the object that held addr, named name, still loaded?  By name too:
 * another thread's dlopen may have put another object at that address
 * between the dlclose and this look. */
struct still {
	uintptr_t addr;
	char name[PATH_MAX];
	int found;
};

static int still_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct still *q = arg;

	(void)size;
	if (!info->dlpi_name || strcmp(info->dlpi_name, q->name) != 0)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && q->addr >= a && q->addr < a + ph->p_memsz) {
			q->found = 1;
			return 1;
		}
	}
	return 0;
}

PT_EXPORT int dlclose(void *handle)
{
	static __typeof__(dlclose) *real_dlclose;
	struct link_map *lm = NULL;
	struct still q = {0};
	uint32_t id = 0;
	int r, e;

	if (!real_dlclose)
		real_dlclose = (__typeof__(dlclose) *)dlsym(RTLD_NEXT, "dlclose");
	if (!real_dlclose)
		return -1;
	void *volatile hv = handle; /* dlclose(NULL) is an error, not a crash */

	if (hv && dlinfo(hv, RTLD_DI_LINKMAP, &lm) == 0 && lm) {
		q.addr = (uintptr_t)lm->l_ld; /* an address inside the object */
		snprintf(q.name, sizeof(q.name), "%s", lm->l_name ? lm->l_name : "");
	}
	if (q.addr && !pt_run_busy && __atomic_load_n(&pt_run_ready, __ATOMIC_ACQUIRE))
		pt_run_names_keep(q.addr); /* the object may go: name its frames first */
	/* From the unmapping to pt_run_module_gone, its pcs are still known:
	 * registration checks them against the dynamic linker meanwhile. */
	if (q.addr)
		__atomic_add_fetch(&pt_run_closing, 1, __ATOMIC_ACQ_REL);
	r = real_dlclose(handle);
	e = errno;
	if (r == 0 && q.addr && !pt_run_busy && __atomic_load_n(&pt_run_ready, __ATOMIC_ACQUIRE)) {
		dl_iterate_phdr(still_cb, &q);
		if (!q.found) {
			pt_run_busy = 1;
			pt_run_lock();
			id = pt_run_module_gone(q.addr, q.name);
			pt_run_unlock();
			pt_run_busy = 0;
		}
	}
	if (q.addr)
		__atomic_sub_fetch(&pt_run_closing, 1, __ATOMIC_ACQ_REL);
	if (id) {
		pt_run_busy = 1;
		pt_run_report(id, "unloaded");
		pt_run_busy = 0;
	}
	errno = e;
	return r;
}
