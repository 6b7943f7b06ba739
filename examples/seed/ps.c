/*
 * ps.c - the demo host's process manager: process objects, their tokens and
 * audit image names, the kernel handle table, and the routines drivers call
 * (host_api.h).
 *
 * A process object ("Proc", non-paged) is a pooltag object: reference
 * counted, created with the host's reference, deleted by proc_delete() when
 * the last reference goes.  Two allocations hang off it and are freed only
 * there, as in the seed's kernel:
 *
 *	struct proc ("Proc", non-paged)
 *	  +-- token       "SeTd" non-paged  re-built on every adjustment
 *	  |   +-- privs   "SeTd" paged      its dynamic part, re-built with it
 *	  +-- image_name  "SePa" non-paged  the audit image name
 *
 * So a process object that cannot die keeps two "SeTd" blocks (one per pool)
 * and one "SePa" block alive with it, and all three tags grow together when somebody leaks
 * references to processes, although none of them is the leaker's tag.
 *
 * Single-threaded, like the rest of the demo.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <pooltag.h>

#include "ps.h"

/* Token adjustments a process makes while it runs (the seed's SeTd shows
 * about 28 allocations per process). */
#define TOKEN_ADJUSTS 28

/* The process with pid % QUERY_REFUSED_EVERY == 0 cannot be queried (a
 * protected process): the rarely taken QUERY_FAILED branch. */
#define QUERY_REFUSED_EVERY 97

/* A token: a fixed part in the non-paged pool, and its dynamic part (the
 * privileges) in the paged pool, both under "SeTd" as in the seed, whose
 * SeTd row shows the same counts in both pools.  Adjusting the privileges
 * re-builds both parts. */
struct token {
	uint64_t id;
	unsigned nprivs;
	uint64_t *privs; /* the dynamic part */
	uint64_t audit_id, logon_id, flags;
};
/* A captured policy structure, audited and freed at each adjustment. */
struct policy {
	uint64_t token_id;
	uint32_t mask, flags;
	uint64_t audit[4];
};

struct proc {
	uint64_t pid, ppid;
	int exiting;
	uint64_t create_time;
	struct token *token; /* "SeTd", freed only by proc_delete */
	char *image_name;    /* "SePa", freed only by proc_delete */
	char comm[16];
	uint64_t acct[16]; /* cpu time, faults, i/o: bookkeeping the demo does not use */
};

static struct {
	struct pt_objtype *proc_type;
	struct pt_htable *kernel; /* the kernel handle table */
	ps_notify_fn notify;
	long live;                /* process objects not yet deleted */
	uint64_t next_token_id;
} ps;

uint64_t ke_query_time(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- tokens ---- */

static void token_free(struct token *t)
{
	if (t)
		pt_free(t->privs, "SeTd");
	pt_free(t, "SeTd");
}

/* Re-builds the token with another privilege count, as adjusting a token
 * does: a new token, the old one freed.  On failure the old one stays. */
static void token_adjust(struct proc *p, unsigned nprivs)
{
	struct token *old = p->token, *t = pt_zalloc(PT_NONPAGED, sizeof(*t), "SeTd");
	struct policy *pol, *audit;

	if (!t)
		return;
	t->privs = pt_alloc(PT_PAGED, nprivs * sizeof(uint64_t), "SeTd");
	if (!t->privs) {
		pt_free(t, "SeTd");
		return;
	}
	t->id = old ? old->id : ++ps.next_token_id;
	t->nprivs = nprivs;
	for (unsigned i = 0; i < nprivs; i++)
		t->privs[i] = old && i < old->nprivs ? old->privs[i] : (uint64_t)i << 32 | nprivs;
	p->token = t;
	token_free(old);

	/* Capture the policy the adjustment was checked against, and audit it. */
	pol = pt_zalloc(PT_NONPAGED, sizeof(*pol), "SePa");
	audit = pt_alloc(PT_NONPAGED, sizeof(*audit), "SePa");
	if (pol && audit) {
		pol->token_id = t->id;
		pol->mask = (uint32_t)(1u << (nprivs % 32));
		*audit = *pol;
	}
	pt_free(audit, "SePa");
	pt_free(pol, "SePa");
}

/* ---- process objects ---- */

/* The delete routine: runs when the last reference is released. */
static void proc_delete(void *obj)
{
	struct proc *p = obj;

	token_free(p->token);
	pt_free(p->image_name, "SePa");
	ps.live--;
}

int ps_init(void)
{
	ps.proc_type = pt_objtype_create("Process", PT_NONPAGED, "Proc", proc_delete,
					 PT_OBJTYPE_BY_ID);
	ps.kernel = pt_htable_create("kernel");
	if (!ps.proc_type || !ps.kernel)
		return -1;
	/* As the seed's pooltag.txt describes them; the drivers' tags are left
	 * undescribed, so `pooltag used` names their call sites instead. */
	pt_tag_describe("Proc", "Process objects", "host!ps");
	pt_tag_describe("SeTd", "Security Token dynamic part", "host!se");
	pt_tag_describe("SePa", "Process audit image names and captured policy structures",
			"host!se");
	return 0;
}

struct proc *ps_create_process(uint64_t ppid, uint64_t pid, const char *image)
{
	struct proc *p = pt_obj_create(ps.proc_type, sizeof(*p), pid);
	size_t len = strlen(image) + 1;
	const char *base = strrchr(image, '/');

	if (!p)
		return NULL;
	ps.live++;
	p->pid = pid;
	p->ppid = ppid;
	p->create_time = ke_query_time();
	snprintf(p->comm, sizeof(p->comm), "%s", base ? base + 1 : image);
	p->image_name = pt_alloc(PT_NONPAGED, len, "SePa");
	token_adjust(p, 4);
	if (!p->image_name || !p->token) {
		pt_obj_deref(p); /* proc_delete frees what was made */
		errno = ENOMEM;
		return NULL;
	}
	memcpy(p->image_name, image, len);
	if (ps.notify)
		ps.notify(ppid, pid, 1);
	return p;
}

void ps_run(struct proc *p)
{
	for (unsigned i = 1; i <= TOKEN_ADJUSTS; i++)
		token_adjust(p, 4 + (unsigned)(p->pid + i * 7) % 12);
}

void ps_exit_process(struct proc *p)
{
	p->exiting = 1;
	if (ps.notify)
		ps.notify(p->ppid, p->pid, 0);
	pt_obj_deref(p); /* the host's reference, taken at creation */
}

long ps_live_objects(void)
{
	return ps.live;
}

long ps_reclaim(uint64_t first, uint64_t last, uint64_t step, long *handles)
{
	long n = 0;

	*handles = pt_htable_destroy(ps.kernel);
	ps.kernel = NULL;
	for (uint64_t id = first; id <= last; id += step) {
		void *obj = pt_obj_lookup(ps.proc_type, id);
		long refs;

		if (!obj)
			continue;
		/* Ours from the lookup, and the ones nobody will ever release. */
		for (refs = pt_obj_refs(obj); refs > 0; refs--)
			pt_obj_deref(obj);
		n++;
	}
	return n;
}

/* ---- the routines drivers call (host_api.h) ---- */

struct proc *ps_lookup_process_impl(uint64_t pid)
{
	return pt_obj_lookup(ps.proc_type, pid);
}

int ob_open_process_impl(struct proc *proc, pt_handle *h)
{
	return pt_handle_open(ps.kernel, proc, h);
}

int zw_close_impl(pt_handle h)
{
	return pt_handle_close(ps.kernel, h);
}

void ob_dereference_impl(struct proc *proc)
{
	pt_obj_deref(proc);
}

enum query_status zw_query_image_name(pt_handle h, char *buf, size_t len, size_t *needed)
{
	enum query_status st = QUERY_OK;
	struct proc *p;
	void *obj;

	*needed = 0;
	if (pt_handle_ref(ps.kernel, h, ps.proc_type, &obj) != 0)
		return QUERY_FAILED;
	p = obj;
	if (p->exiting || p->pid % QUERY_REFUSED_EVERY == 0 || !p->image_name) {
		st = QUERY_FAILED;
	} else {
		*needed = strlen(p->image_name) + 1;
		if (len < *needed)
			st = QUERY_BUFFER_TOO_SMALL;
		else
			memcpy(buf, p->image_name, *needed);
	}
	pt_obj_deref(p); /* the reference pt_handle_ref took */
	return st;
}

int ps_set_create_notify(ps_notify_fn fn)
{
	if (fn && ps.notify && ps.notify != fn) {
		errno = EBUSY;
		return -1;
	}
	ps.notify = fn;
	return 0;
}
