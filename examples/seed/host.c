/*
 * host.c - the "kernel" of the seed's story (make demo): loads a driver,
 * runs a process stress test under it, unloads it, then waits so that the
 * pooltag CLI can look at what is left, as the seed's developer did with
 * !poolused in a kernel debugger.
 *
 *	host DRIVER.so [COUNT]
 *
 * The driver is loaded with pt_module_load; its entry routine registers a
 * process-creation callback (ps_set_create_notify).  The stress creates
 * COUNT processes (default 13000), lets each run, and exits it; at most
 * WINDOW are alive at once.  After the stress the driver's unload routine
 * runs and pt_module_unload checks what the driver still holds: that report
 * goes to standard error.  Then the host prints
 *
 *	host: driver unloaded; pid N waiting (press Enter to exit)
 *
 * and waits for a line (or end of file) on standard input; then it closes
 * the handles and releases the references the driver left behind, so that
 * every process object is deleted, and exits 0.  POOLTAG_VERIFY=1 in the
 * environment makes a finding at unload end the program with status 86;
 * POOLTAG_TRACK=stacks adds a call stack to each group of the report.
 *
 * Process objects, tokens and image names are non-paged, that is locked in
 * memory: 13000 leaked processes lock about 5 MiB, within the default
 * RLIMIT_MEMLOCK of 8 MiB, which the host raises to the hard limit.
 *
 * Exit status: 0; 1 when the driver cannot be loaded or started, a process
 * cannot be created, or objects are left at exit; 2 for a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <pooltag.h>

#include "ps.h"

#define DEFAULT_COUNT 13000
#define MAX_COUNT     1000000
#define WINDOW        16   /* processes alive at once during the stress */
#define PARENT_PID    4    /* "System" */
#define PID_FIRST     1000
#define PID_STEP      4    /* process ids are multiples of 4, as on Windows */
#define SHORT_EVERY   128  /* one process in 128 has a short image path */

/* Most image paths take 65 bytes with their NUL: one more than the 64-byte
 * buffer the driver queries them into. */
static const char *image_of(long i, char *buf, size_t len)
{
	if (i % SHORT_EVERY == 0)
		return "/usr/sbin/crond";
	snprintf(buf, len, "/usr/libexec/demo/services/worker-%05ld/bin/service-worker-%05ld",
		 i % 100000, i % 100000);
	return buf;
}

static double seconds_since(uint64_t t0)
{
	return (double)(ke_query_time() - t0) / 1e9;
}

/* Creates, runs and exits count processes.  Returns 0, or -1 when a process
 * cannot be created (the ones alive are exited anyway). */
static int stress(long count)
{
	struct proc *window[WINDOW] = {0};
	char buf[96];
	int rc = 0;

	for (long i = 0; i < count; i++) {
		uint64_t pid = PID_FIRST + PID_STEP * (uint64_t)i;
		struct proc *p = ps_create_process(PARENT_PID, pid, image_of(i, buf, sizeof(buf)));

		if (!p) {
			fprintf(stderr, "host: cannot create process %llu: %s%s\n",
				(unsigned long long)pid, strerror(errno),
				errno == ENOMEM ? " (ulimit -l is too low: give a smaller COUNT)" : "");
			rc = -1;
			break;
		}
		ps_run(p);
		if (window[i % WINDOW])
			ps_exit_process(window[i % WINDOW]);
		window[i % WINDOW] = p;
	}
	for (int i = 0; i < WINDOW; i++)
		if (window[i])
			ps_exit_process(window[i]);
	return rc;
}

/* Raises the soft memory-lock limit to the hard one: the non-paged pool
 * counts against it. */
static void raise_memlock(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_MEMLOCK, &rl);
	}
}

/* Waits for a line or end of file on standard input. */
static void wait_for_enter(void)
{
	int c;

	do
		c = getchar();
	while (c != EOF && c != '\n');
}

int main(int argc, char **argv)
{
	long count = DEFAULT_COUNT, handles, reclaimed;
	struct pt_module *drv;
	driver_entry_fn entry;
	driver_unload_fn unload;
	char name[256], *end;
	uint64_t t0;
	int findings;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: host DRIVER.so [COUNT]\n");
		return 2;
	}
	if (argc == 3) {
		errno = 0;
		count = strtol(argv[2], &end, 10);
		if (errno || *end || count < 1 || count > MAX_COUNT) {
			fprintf(stderr, "host: COUNT must be 1 to %d, not '%s'\n", MAX_COUNT,
				argv[2]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0); /* a pipe reads each line as it is made */
	raise_memlock();
	if (ps_init() != 0) {
		fprintf(stderr, "host: cannot set up the process manager: %s\n", strerror(errno));
		return 1;
	}

	drv = pt_module_load(argv[1]);
	if (!drv) {
		fprintf(stderr, "host: cannot load %s: %s\n", argv[1], pt_module_error());
		return 1;
	}
	snprintf(name, sizeof(name), "%s", pt_module_name(drv));
	entry = (driver_entry_fn)pt_module_sym(drv, DRIVER_ENTRY_SYMBOL);
	unload = (driver_unload_fn)pt_module_sym(drv, DRIVER_UNLOAD_SYMBOL);
	if (!entry || !unload || entry() != 0) {
		fprintf(stderr, "host: %s: no %s/%s, or the entry routine failed\n", name,
			DRIVER_ENTRY_SYMBOL, DRIVER_UNLOAD_SYMBOL);
		return 1;
	}
	printf("host: pid %d loaded %s; stress: %ld processes, each run and exited\n",
	       (int)getpid(), name, count);

	t0 = ke_query_time();
	if (stress(count) != 0)
		return 1;
	printf("host: %ld processes created and exited in %.2f s; ", count, seconds_since(t0));
	printf("%ld process objects not deleted\n", ps_live_objects());

	/* The driver stops, then pooltag checks what it still holds. */
	unload();
	fflush(stdout);
	findings = pt_module_unload(drv);
	fflush(stderr);
	printf("host: unloaded %s: %d finding%s\n", name, findings, findings == 1 ? "" : "s");
	printf("host: driver unloaded; pid %d waiting (press Enter to exit)\n", (int)getpid());
	wait_for_enter();

	reclaimed = ps_reclaim(PID_FIRST, PID_FIRST + PID_STEP * (uint64_t)(count - 1), PID_STEP,
			       &handles);
	printf("host: closed %ld leaked handle%s, ", handles, handles == 1 ? "" : "s");
	printf("released the references held on %ld process object%s\n", reclaimed,
	       reclaimed == 1 ? "" : "s");
	if (ps_live_objects() != 0) {
		fprintf(stderr, "host: %ld process objects left at exit\n", ps_live_objects());
		return 1;
	}
	printf("host: all process objects deleted; exiting\n");
	return 0;
}
