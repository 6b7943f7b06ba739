/*
 * prochdr.c - the process header of snapshots and recordings (see
 * prochdr.h): one line at a time, each checked before anything of it is
 * kept.
 */
#include <string.h>

#include "prochdr.h"

const char *const pt_ph_names[PT_PH_NKEYS] = {
    "pid", "uid", "command", "taken", "created", "start_ticks", "misuse", "interval_us", "kernel",
};

/* The keys h requires: a header of the kernel names no process. */
static unsigned ph_required(const struct pt_ph *h)
{
	if (h->seen & PT_PH_BIT(PT_PH_KERNEL))
		return h->required & ~PT_PH_BIT(PT_PH_PID);
	return h->required;
}

/* The length of s[0..n)'s first word. */
static size_t ph_word(const char *s, size_t n)
{
	size_t k = 0;

	while (k < n && s[k] != ' ' && s[k] != '\t')
		k++;
	return k;
}

int pt_ph_key(const struct pt_ph *h, const char *s, size_t n)
{
	size_t k = ph_word(s, n);

	for (int key = 0; key < PT_PH_NKEYS; key++)
		if ((h->keys & PT_PH_BIT(key)) && k == strlen(pt_ph_names[key]) &&
		    !memcmp(s, pt_ph_names[key], k))
			return key;
	return -1;
}

/* "command VALUE": an escaped string that fits the view's comm.  On error
 * comm is left empty. */
static int ph_command(struct pt_view *v, struct pt_tf_parser *tp, struct pt_tf val)
{
	size_t len;

	memset(v->comm, 0, sizeof(v->comm));
	if (pt_tf_unescape(tp, val, "command", 0, v->comm, sizeof(v->comm) - 1, &len) < 0)
		return -1;
	if (len > sizeof(v->comm) - 1) {
		v->comm[0] = '\0';
		return pt_tf_fail(tp, "command longer than %zu bytes", sizeof(v->comm) - 1);
	}
	return 0;
}

/* "kernel FORMAT SOURCE": the kernel's allocinfo (allocinfo.h), read from
 * SOURCE; its counts are outstanding ones. */
static int ph_kernel(struct pt_ph *h, struct pt_tf_parser *tp, struct pt_tf val)
{
	struct pt_view *v = h->v;

	if (val.n < 5 || (memcmp(val.s, "1.0 ", 4) && memcmp(val.s, "2.0 ", 4)))
		return pt_tf_fail(tp, "kernel wants 'FORMAT SOURCE', FORMAT 1.0 or 2.0");
	if (h->seen & PT_PH_BIT(PT_PH_PID))
		return pt_tf_fail(tp, "a recording of the kernel has no pid");
	v->kernel_format = pt_view_strdup(v, val.s, 3);
	v->kernel_source = pt_view_strdup(v, val.s + 4, val.n - 4);
	v->outstanding_only = 1;
	if (!v->kernel_format || !v->kernel_source)
		return pt_tf_fail(tp, "out of memory");
	return 0;
}

int pt_ph_line(struct pt_ph *h, struct pt_tf_parser *tp, const char *s, size_t n)
{
	struct pt_view *v = h->v;
	char q[PT_TF_QUOTE_SIZE];
	size_t k = ph_word(s, n);
	int key = pt_ph_key(h, s, n);
	struct pt_tf val;
	uint64_t x;

	if (key < 0)
		return pt_tf_fail(tp, "unknown line type '%s'", pt_tf_quote(s, k, q));
	if (h->seen & PT_PH_BIT(key))
		return pt_tf_fail(tp, "duplicated key '%s'", pt_ph_names[key]);
	if (k == n || s[k] != ' ')
		return pt_tf_fail(tp, "wrong field count: expected '%s VALUE'", pt_ph_names[key]);
	h->seen |= PT_PH_BIT(key);
	val = (struct pt_tf){s + k + 1, n - k - 1};
	switch (key) {
	case PT_PH_PID:
		if (h->seen & PT_PH_BIT(PT_PH_KERNEL))
			return pt_tf_fail(tp, "a recording of the kernel has no pid");
		if (pt_tf_num(tp, val, "pid", 1, INT32_MAX, &x) < 0)
			return -1;
		v->pid = (int32_t)x;
		return 0;
	case PT_PH_UID:
		if (pt_tf_num(tp, val, "uid", 0, UINT32_MAX, &x) < 0)
			return -1;
		v->uid = (uint32_t)x;
		return 0;
	case PT_PH_COMMAND:
		return ph_command(v, tp, val);
	case PT_PH_TAKEN:
	case PT_PH_CREATED:
		if (pt_tf_num(tp, val, pt_ph_names[key], 0, INT64_MAX, &x) < 0)
			return -1;
		*(key == PT_PH_TAKEN ? &v->taken_ns : &v->created_ns) = (int64_t)x;
		return 0;
	case PT_PH_START_TICKS:
		return pt_tf_num(tp, val, "start_ticks", 0, UINT64_MAX, &v->start_ticks);
	case PT_PH_MISUSE:
		return pt_tf_num(tp, val, "misuse", 0, UINT64_MAX, &v->nmisuse);
	case PT_PH_INTERVAL_US:
		if (pt_tf_num(tp, val, "interval_us", 0, INT64_MAX, &x) < 0)
			return -1;
		*h->interval_us = (int64_t)x;
		return 0;
	default:
		return ph_kernel(h, tp, val);
	}
}

int pt_ph_complete(const struct pt_ph *h)
{
	return !(ph_required(h) & ~h->seen);
}

int pt_ph_check(const struct pt_ph *h, struct pt_tf_parser *tp)
{
	unsigned missing = ph_required(h) & ~h->seen;

	for (int key = 0; key < PT_PH_NKEYS; key++)
		if (missing & PT_PH_BIT(key))
			return pt_tf_fail(tp, "missing required key '%s'", pt_ph_names[key]);
	return 0;
}
