/*
 * refpair.c - the commonest reference bug, written against the API
 * (tests/e2e/refpair.bats): process objects created at one line (one
 * reference each), looked up by id at another, the lookup's reference
 * forgotten on an error branch, the last release of each object made later
 * by the same module when the process ends.  The exit check must name the
 * lookup's line, the bug, not the creation's.
 *
 * usage: refpair N BAD [tagged]
 * Creates N processes, looks each up once; the lookups of the first BAD
 * processes take the error branch that forgets the release.  With "tagged"
 * the lookups take the reference tag 'Look', so the pairing is exact.
 * Prints "done"; run with POOLTAG=exit-check=1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pooltag.h>

struct proc {
	int pid;
	int state;
};

static struct pt_objtype *proc_type;
static struct proc *procs[1000];
static int tagged;

static __attribute__((noinline)) struct proc *proc_create(int pid)
{
	struct proc *p = pt_obj_create(proc_type, sizeof(*p), (uint64_t)pid); /* CREATE line */
	if (p)
		p->pid = pid;
	return p;
}

/* Looks the process up by id and updates it; on a bad state it returns
 * early and forgets the reference it took. */
static __attribute__((noinline)) int proc_touch(int pid, int bad)
{
	struct proc *p = tagged ? pt_obj_lookup_at(PT_SITE(), proc_type, (uint64_t)pid, PT_TAG("Look")) /* LOOKUP tagged line */
				: pt_obj_lookup(proc_type, (uint64_t)pid); /* LOOKUP line */
	if (!p)
		return -1;
	if (bad)
		return -1; /* the bug: the lookup's reference is never released */
	p->state++;
	if (tagged)
		pt_obj_deref_tag(p, "Look");
	else
		pt_obj_deref(p);
	return 0;
}

/* The end of a process: the creation's reference goes. */
static __attribute__((noinline)) void proc_end(struct proc *p)
{
	pt_obj_deref(p); /* END line */
}

int main(int argc, char **argv)
{
	int n, bad;

	if (argc < 3)
		return 2;
	n = atoi(argv[1]);
	bad = atoi(argv[2]);
	tagged = argc > 3 && strcmp(argv[3], "tagged") == 0;
	if (n < 0 || n > 1000)
		return 2;
	proc_type = pt_objtype_create("Process", PT_PAGED, "Proc", NULL, PT_OBJTYPE_BY_ID);
	for (int i = 0; i < n; i++)
		procs[i] = proc_create(100 + i);
	for (int i = 0; i < n; i++)
		proc_touch(100 + i, i < bad);
	for (int i = 0; i < n; i++)
		proc_end(procs[i]);
	printf("done\n");
	return 0;
}
