/*
 * sey.c - the SEY driver (libsey.so): a process monitor, loaded into the
 * demo host as a plugin.  It is the driver of the seed's story.
 *
 * On every process creation it records an event, looks up the process's
 * image path (get_process_image_path, procpath.c), matches the path against
 * its rules, tracks the process until it exits, and reports both events to
 * a (simulated) user-mode service in a batch.  All of that allocates under
 * the driver's own tags, heavily and in balance; nothing in this file leaks.
 * The leak is in procpath.c, and no SEY tag shows it.
 *
 *	tag   pool      what
 *	SEY1  paged     event records, one per notification
 *	SEY2  nonpaged  work items, queued per event, run in batches
 *	SEY3  nonpaged  tracking entries of live processes, in a hash table
 *	SEY4  nonpaged  rule matchers (a skip table each), one per rule per creation
 *	SEY5  nonpaged  the 64-byte image path buffer
 *	SEY6  nonpaged  a timer per tracked process, cancelled at its exit
 *	SEY7  paged     the image path kept in a tracking entry
 *	SEY8  nonpaged  the hash table's bucket array, re-built as it grows
 *	SEY9  paged     statistics snapshots, every 256 events
 *	SEYA  nonpaged  message headers to the service
 *	SEYB  paged     report lines, one per event
 *	SEYC  nonpaged  message fragments (8 bytes of a report line each)
 *	SEYD  paged     the rule set, loaded at entry, freed at unload
 *
 * The tags are deliberately left out of every tag file: `pooltag used`
 * names their call sites instead, where the seed's debugger said "UNKNOWN".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "host_api.h"
#include "sey.h"

#define PATH_BUF    64  /* what the author thought a path would take */
#define BATCH       8   /* work items run together */
#define STATS_EVERY 256 /* events between statistics snapshots */
#define FRAG        8   /* bytes of a report line per message fragment */
#define TIMEOUT_NS  5000000000ull

struct event { /* SEY1 */
	uint64_t ppid, pid, time;
	int create, path_err;
	char image[PATH_BUF];
};

struct work_item { /* SEY2 */
	struct work_item *next;
	struct event *ev;
};

struct timer { /* SEY6 */
	uint64_t due, pid;
};

struct track { /* SEY3 */
	struct track *next;
	uint64_t pid;
	char *image;         /* SEY7 */
	struct timer *timer; /* SEY6 */
	unsigned rule_hits;
};

struct matcher { /* SEY4: Horspool's skip table for one rule */
	const char *pat;
	size_t len;
	size_t skip[256];
};

struct msg_frag { /* SEYC */
	struct msg_frag *next;
	char data[FRAG];
};

struct msg_hdr { /* SEYA */
	uint64_t seq;
	struct msg_frag *frags;
	unsigned nfrags;
};

static const char *const rule_text[] = {
	"/usr/sbin/", "/usr/libexec/", "/tmp/", "/dev/shm/", "worker-", "service-",
	"/bin/sh", "crond", "sshd", "/.cache/", "nc", "python", "curl", "wget",
	"miner", "/var/tmp/", "/run/user/", "inject", "ptrace", "ld.so",
};
#define NRULES (sizeof(rule_text) / sizeof(rule_text[0]))

static struct {
	char **rules;          /* SEYD: NRULES copies of rule_text */
	struct track **bucket; /* SEY8 */
	size_t nbuckets, ntracked;
	struct work_item *queue, **queue_tail;
	unsigned queued;
	uint64_t events, sent, path_ok, path_failed, seq;
	uint64_t checksum;   /* of everything delivered */
	unsigned max_chain;  /* the longest hash chain a snapshot saw */
} sey;

/* ---- the service channel: report lines in 8-byte fragments ---- */

static void send_line(const char *line)
{
	struct msg_hdr *m = pt_zalloc(PT_NONPAGED, sizeof(*m), "SEYA");
	struct msg_frag **tail, *f;
	size_t len = strlen(line);
	uint64_t sum = 0;

	if (!m)
		return;
	m->seq = ++sey.seq;
	tail = &m->frags;
	for (size_t off = 0; off < len; off += FRAG) {
		f = pt_alloc(PT_NONPAGED, sizeof(*f), "SEYC");
		if (!f)
			break;
		memset(f->data, 0, FRAG);
		memcpy(f->data, line + off, len - off < FRAG ? len - off : FRAG);
		f->next = NULL;
		*tail = f;
		tail = &f->next;
		m->nfrags++;
	}
	/* "Delivery": the service checksums the fragments and hands them back. */
	while ((f = m->frags)) {
		for (int i = 0; i < FRAG; i++)
			sum = sum * 31 + (unsigned char)f->data[i];
		m->frags = f->next;
		pt_free(f, "SEYC");
	}
	sey.checksum ^= sum;
	sey.sent++;
	pt_free(m, "SEYA");
}

/* Runs the queued work items: one report line per event. */
static void run_queue(void)
{
	struct work_item *w;

	while ((w = sey.queue)) {
		struct event *ev = w->ev;
		char *line = pt_alloc(PT_PAGED, 160, "SEYB");

		if (line) {
			snprintf(line, 160, "%s pid=%llu ppid=%llu image=%s%s",
				 ev->create ? "create" : "exit", (unsigned long long)ev->pid,
				 (unsigned long long)ev->ppid, ev->image,
				 ev->path_err ? " (path unavailable)" : "");
			send_line(line);
			pt_free(line, "SEYB");
		}
		sey.queue = w->next;
		pt_free(ev, "SEY1");
		pt_free(w, "SEY2");
	}
	sey.queue_tail = &sey.queue;
	sey.queued = 0;
}

static void queue_event(struct event *ev)
{
	struct work_item *w = pt_alloc(PT_NONPAGED, sizeof(*w), "SEY2");

	if (!w) {
		pt_free(ev, "SEY1");
		return;
	}
	w->ev = ev;
	w->next = NULL;
	*sey.queue_tail = w;
	sey.queue_tail = &w->next;
	if (++sey.queued >= BATCH)
		run_queue();
}

/* ---- rules ---- */

/* How many rules match path.  Each rule builds its skip table afresh, as the
 * driver's author did not think to cache them. */
static unsigned match_rules(const char *path)
{
	size_t n = strlen(path);
	unsigned hits = 0;

	for (size_t r = 0; r < NRULES; r++) {
		struct matcher *m = pt_alloc(PT_NONPAGED, sizeof(*m), "SEY4");

		if (!m)
			continue;
		m->pat = sey.rules[r];
		m->len = strlen(m->pat);
		for (int c = 0; c < 256; c++)
			m->skip[c] = m->len;
		for (size_t i = 0; i + 1 < m->len; i++)
			m->skip[(unsigned char)m->pat[i]] = m->len - 1 - i;
		for (size_t i = 0; i + m->len <= n;) {
			if (memcmp(path + i, m->pat, m->len) == 0) {
				hits++;
				break;
			}
			i += m->skip[(unsigned char)path[i + m->len - 1]];
		}
		pt_free(m, "SEY4");
	}
	return hits;
}

/* ---- tracking ---- */

/* Doubles the bucket array when the table is fuller than two per bucket. */
static void grow_table(void)
{
	size_t n = sey.nbuckets ? sey.nbuckets * 2 : 16;
	struct track **b = pt_calloc(PT_NONPAGED, n, sizeof(*b), "SEY8"), *t;

	if (!b)
		return; /* keep the old array, fuller */
	for (size_t i = 0; i < sey.nbuckets; i++) {
		while ((t = sey.bucket[i])) {
			sey.bucket[i] = t->next;
			t->next = b[t->pid % n];
			b[t->pid % n] = t;
		}
	}
	pt_free(sey.bucket, "SEY8");
	sey.bucket = b;
	sey.nbuckets = n;
}

static void track_free(struct track *t)
{
	pt_free(t->timer, "SEY6");
	pt_free(t->image, "SEY7");
	pt_free(t, "SEY3");
	sey.ntracked--;
}

static void track(uint64_t pid, const char *image, unsigned hits)
{
	struct track *t;
	size_t i;

	if (sey.ntracked >= 2 * sey.nbuckets)
		grow_table();
	t = pt_zalloc(PT_NONPAGED, sizeof(*t), "SEY3");
	if (!t)
		return;
	sey.ntracked++;
	t->pid = pid;
	t->rule_hits = hits;
	t->image = pt_alloc(PT_PAGED, strlen(image) + 1, "SEY7");
	t->timer = pt_alloc(PT_NONPAGED, sizeof(*t->timer), "SEY6");
	if (!t->image || !t->timer) {
		track_free(t);
		return;
	}
	strcpy(t->image, image);
	t->timer->pid = pid;
	t->timer->due = ke_query_time() + TIMEOUT_NS;
	i = pid % sey.nbuckets;
	t->next = sey.bucket[i];
	sey.bucket[i] = t;
}

static void untrack(uint64_t pid)
{
	struct track **pp, *t;

	if (!sey.nbuckets)
		return;
	for (pp = &sey.bucket[pid % sey.nbuckets]; (t = *pp); pp = &t->next) {
		if (t->pid == pid) {
			*pp = t->next;
			track_free(t);
			return;
		}
	}
}

/* Records the longest chain, from a snapshot of the chain lengths. */
static void take_stats(void)
{
	unsigned *len = pt_calloc(PT_PAGED, sey.nbuckets, sizeof(*len), "SEY9");

	if (!len)
		return;
	for (size_t i = 0; i < sey.nbuckets; i++) {
		for (struct track *t = sey.bucket[i]; t; t = t->next)
			len[i]++;
		if (len[i] > sey.max_chain)
			sey.max_chain = len[i];
	}
	pt_free(len, "SEY9");
}

/* ---- the process-creation callback ---- */

static void sey_process_notify(uint64_t ppid, uint64_t pid, int create)
{
	struct event *ev = pt_zalloc(PT_PAGED, sizeof(*ev), "SEY1");
	char *path;

	if (!ev)
		return;
	ev->ppid = ppid;
	ev->pid = pid;
	ev->create = create;
	ev->time = ke_query_time();
	if (create) {
		path = pt_alloc(PT_NONPAGED, PATH_BUF, "SEY5");
		if (path && get_process_image_path(pid, path, PATH_BUF) == 0) {
			memcpy(ev->image, path, PATH_BUF);
			sey.path_ok++;
		} else {
			strcpy(ev->image, "?"); /* not worth more than a note */
			ev->path_err = 1;
			sey.path_failed++;
		}
		pt_free(path, "SEY5");
		track(pid, ev->image, match_rules(ev->image));
	} else {
		untrack(pid);
	}
	queue_event(ev);
	if (++sey.events % STATS_EVERY == 0)
		take_stats();
}

/* ---- entry and unload ---- */

int sey_driver_entry(void)
{
	sey.queue_tail = &sey.queue;
	sey.rules = pt_calloc(PT_PAGED, NRULES, sizeof(*sey.rules), "SEYD");
	if (!sey.rules)
		return -ENOMEM;
	for (size_t r = 0; r < NRULES; r++) {
		sey.rules[r] = pt_alloc(PT_PAGED, strlen(rule_text[r]) + 1, "SEYD");
		if (!sey.rules[r]) {
			sey_driver_unload();
			return -ENOMEM;
		}
		strcpy(sey.rules[r], rule_text[r]);
	}
	grow_table();
	if (!sey.bucket || ps_set_create_notify(sey_process_notify) != 0) {
		sey_driver_unload();
		return -EBUSY;
	}
	printf("sey: driver loaded: %zu rules, watching process creation\n", NRULES);
	return 0;
}

/* Stops the callback and frees everything the driver allocated. */
void sey_driver_unload(void)
{
	ps_set_create_notify(NULL);
	run_queue();
	for (size_t i = 0; i < sey.nbuckets; i++)
		while (sey.bucket[i]) {
			struct track *t = sey.bucket[i];

			sey.bucket[i] = t->next;
			track_free(t);
		}
	pt_free(sey.bucket, "SEY8");
	sey.bucket = NULL;
	sey.nbuckets = 0;
	for (size_t r = 0; sey.rules && r < NRULES; r++)
		pt_free(sey.rules[r], "SEYD");
	pt_free(sey.rules, "SEYD");
	sey.rules = NULL;
	if (sey.events)
		printf("sey: driver unloading: %llu events, %llu image paths read, "
		       "%llu unavailable (logged as \"?\"), %llu messages sent\n",
		       (unsigned long long)sey.events, (unsigned long long)sey.path_ok,
		       (unsigned long long)sey.path_failed, (unsigned long long)sey.sent);
}
