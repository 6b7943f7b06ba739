/*
 * host_api.h - what the demo host (the "kernel", host.c and ps.c) exports to
 * its drivers, the way ntoskrnl exports Ps*, Ob* and Zw* routines.
 *
 * The host is linked with -rdynamic, so a driver loaded with pt_module_load
 * resolves these functions (and its copy of libpooltag) to the host's.
 *
 * Acquiring and releasing routines are macros around PT_ON_BEHALF: a
 * reference or a handle the host takes for a driver is charged to the
 * driver's module and to the line of the driver that called, not to the
 * line inside the host that did the work.  That is what lets the unload
 * report name the driver's line.  Routines that only borrow a reference for
 * the duration of the call (zw_query_image_name) are plain functions.
 */
#ifndef SEED_HOST_API_H
#define SEED_HOST_API_H

#include <stddef.h>
#include <stdint.h>

#include <pooltag.h>

/* A process object ("Proc", non-paged).  Opaque to drivers. */
struct proc;

/* What zw_query_image_name returns. */
enum query_status {
	QUERY_OK = 0,
	QUERY_BUFFER_TOO_SMALL, /* *needed says how many bytes it takes */
	QUERY_FAILED,           /* the process is exiting, or the query was refused */
};

/*
 * The process with this id, with a reference taken for the caller
 * (PsLookupProcessByProcessId).  The caller must release it with
 * ob_dereference.  NULL if there is no such process object.
 */
struct proc *ps_lookup_process_impl(uint64_t pid);
#define ps_lookup_process(pid) PT_ON_BEHALF(ps_lookup_process_impl(pid))

/*
 * Opens a handle to proc in the kernel handle table (ObOpenObjectByPointer);
 * the handle holds a reference of its own until zw_close.  0 with *h set, or
 * -1 with errno set.
 */
int ob_open_process_impl(struct proc *proc, pt_handle *h);
#define ob_open_process(proc, h) PT_ON_BEHALF(ob_open_process_impl((proc), (h)))

/* Closes a handle opened by ob_open_process (ZwClose).  0, or -1 with EBADF. */
int zw_close_impl(pt_handle h);
#define zw_close(h) PT_ON_BEHALF(zw_close_impl(h))

/* Releases a reference taken by ps_lookup_process (ObDereferenceObject). */
void ob_dereference_impl(struct proc *proc);
#define ob_dereference(proc) PT_ON_BEHALF_VOID(ob_dereference_impl(proc))

/*
 * Copies the image path of the process behind handle h, with its NUL, to
 * buf (ZwQueryInformationProcess with ProcessImageFileName).  *needed gets
 * the size the path takes.  QUERY_BUFFER_TOO_SMALL when len < *needed (buf
 * is untouched), QUERY_FAILED for a bad handle, a process that is exiting,
 * or one the host refuses to describe.
 */
enum query_status zw_query_image_name(pt_handle h, char *buf, size_t len, size_t *needed);

/*
 * The process-creation callback (PsSetCreateProcessNotifyRoutine): called
 * with create = 1 after a process is created, create = 0 when it exits
 * (its object may live on while references to it are held).  One callback
 * at a time; NULL removes it.  0, or -1 with EBUSY if another is set.
 */
typedef void (*ps_notify_fn)(uint64_t ppid, uint64_t pid, int create);
int ps_set_create_notify(ps_notify_fn fn);

/* Monotonic time in nanoseconds (KeQueryInterruptTime), for drivers' timers. */
uint64_t ke_query_time(void);

/* What a driver exports: its entry (0 on success) and unload routines. */
#define DRIVER_ENTRY_SYMBOL  "sey_driver_entry"
#define DRIVER_UNLOAD_SYMBOL "sey_driver_unload"
typedef int (*driver_entry_fn)(void);
typedef void (*driver_unload_fn)(void);

#endif /* SEED_HOST_API_H */
