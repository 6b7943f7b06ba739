/*
 * specialopt.c - the special pool's options (special=, special.module=,
 * special.size=, special.guard=, special.quarantine=, special.fill=, as
 * config.c hands them over) and the selection they make.  Matching is
 * done under the pool's spin lock: no allocation, no locale.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "special.h"

/* A glob with * and ? over s; no allocation, no locale (runs under the
 * spin lock). */
static int glob(const char *p, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*p == '*') {
			star = ++p;
			resume = s;
		} else if (*p == '?' || *p == *s) {
			p++;
			s++;
		} else if (star) {
			p = star;
			s = ++resume;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return !*p;
}

static int tag_matches(uint32_t tag)
{
	char t[5], trimmed[5];
	int n = 4;

	pt_tag_str(tag, t);
	memcpy(trimmed, t, 5);
	while (n > 0 && trimmed[n - 1] == ' ')
		trimmed[--n] = '\0';
	for (int i = 0; i < pt_sp.ntags; i++)
		if (glob(pt_sp.tags[i], t) || glob(pt_sp.tags[i], trimmed))
			return 1;
	return 0;
}

static int module_matches(uint32_t id)
{
	const char *name = pt_module_name(pt_module_by_id(id));

	return glob(pt_sp.module, name) || (id == 0 && glob(pt_sp.module, "main"));
}

/* "64", "4K", "1M", "2G": bytes; -1 for anything else. */
static int parse_bytes(const char *s, const char *end, uint64_t *out)
{
	uint64_t v = 0, mul = 1;

	if (s == end)
		return -1;
	if (end[-1] == 'K' || end[-1] == 'k')
		mul = 1024, end--;
	else if (end[-1] == 'M' || end[-1] == 'm')
		mul = 1024 * 1024, end--;
	else if (end[-1] == 'G' || end[-1] == 'g')
		mul = 1024 * 1024 * 1024, end--;
	if (s == end)
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

/* The message names the key and echoes the value, made printable and cut
 * short: it stays one line whatever the value holds. */
static int fail(char *err, size_t errlen, const char *key, const char *val, const char *why)
{
	char shown[68];
	size_t i;

	for (i = 0; val[i] && i < sizeof(shown) - 4; i++)
		shown[i] = val[i] >= 0x20 && val[i] <= 0x7e ? val[i] : '?';
	strcpy(shown + i, val[i] ? "..." : "");
	if (err && errlen)
		snprintf(err, errlen, "option '%s': %s (got '%s')", key, why, shown);
	errno = EINVAL;
	return -1;
}

int pt_special_option(const char *key, const char *val, char *err, size_t errlen)
{
	if (!key || !val)
		return fail(err, errlen, key ? key : "(null)", "", "missing key or value");
	if (!strcmp(key, "special")) {
		char pats[PT_SP_MAX_PATTERNS][PT_SP_PATTERN_LEN];
		int n = 0;
		const char *s = val;

		for (;;) {
			const char *e = strchr(s, '|');
			size_t len = e ? (size_t)(e - s) : strlen(s);
			if (len == 0 || len >= PT_SP_PATTERN_LEN)
				return fail(err, errlen, key, val,
					    "each pattern is 1 to 31 characters (tag, * and ?)");
			if (n == PT_SP_MAX_PATTERNS)
				return fail(err, errlen, key, val, "at most 16 patterns");
			for (size_t i = 0; i < len; i++)
				if (s[i] < 0x20 || s[i] > 0x7e || s[i] == ',')
					return fail(err, errlen, key, val,
						    "a pattern holds printable ASCII only");
			memcpy(pats[n], s, len);
			pats[n++][len] = '\0';
			if (!e)
				break;
			s = e + 1;
		}
		pt_sp_lock();
		memcpy(pt_sp.tags, pats, sizeof(pats));
		pt_sp.ntags = n;
		pt_sp_unlock();
		pt_sp_enable();
		return 0;
	}
	if (!strcmp(key, "special.module")) {
		if (!*val || strlen(val) >= PT_SP_MODULE_LEN)
			return fail(err, errlen, key, val, "a module name pattern of 1 to 255 characters");
		pt_sp_lock();
		snprintf(pt_sp.module, sizeof(pt_sp.module), "%s", val);
		pt_sp_unlock();
		pt_sp_enable();
		return 0;
	}
	if (!strcmp(key, "special.size")) {
		const char *dash = strchr(val, '-'), *end = val + strlen(val);
		uint64_t lo = 0, hi = UINT64_MAX;

		if (!dash || (dash > val && parse_bytes(val, dash, &lo) != 0) ||
		    (dash + 1 < end && parse_bytes(dash + 1, end, &hi) != 0))
			return fail(err, errlen, key, val,
				    "expected MIN-MAX in bytes (K, M, G suffixes; either side may be empty)");
		if (lo > hi)
			return fail(err, errlen, key, val, "MIN is larger than MAX");
		pt_sp_lock();
		pt_sp.min = lo;
		pt_sp.max = hi;
		pt_sp_unlock();
		pt_sp_enable();
		return 0;
	}
	if (!strcmp(key, "special.guard")) {
		int before;
		if (!strcmp(val, "after"))
			before = 0;
		else if (!strcmp(val, "before"))
			before = 1;
		else
			return fail(err, errlen, key, val, "expected after or before");
		pt_sp_lock();
		pt_sp.guard_before = before;
		pt_sp_unlock();
		return 0;
	}
	if (!strcmp(key, "special.quarantine")) {
		const char *colon = strchr(val, ':');
		uint64_t count, bytes;

		if (!colon || parse_bytes(val, colon, &count) != 0 ||
		    parse_bytes(colon + 1, val + strlen(val), &bytes) != 0)
			return fail(err, errlen, key, val,
				    "expected COUNT:BYTES (K, M, G suffixes), e.g. 1024:64M");
		pt_sp_lock();
		pt_sp.q_count = count;
		pt_sp.q_bytes = bytes;
		pt_sp_unlock();
		return 0;
	}
	if (!strcmp(key, "special.fill")) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(val, &end, 0);
		if (!*val || *end || errno || v > 0xff || val[0] == '-')
			return fail(err, errlen, key, val, "expected a byte, e.g. 0xa5");
		pt_sp_lock();
		pt_sp.fill = (unsigned char)v;
		pt_sp_unlock();
		return 0;
	}
	if (err && errlen)
		snprintf(err, errlen,
			 "unknown option '%s' (special, special.module, special.size, special.guard, "
			 "special.quarantine, special.fill)",
			 key);
	errno = EINVAL;
	return -1;
}

int pt_special_selected(uint32_t slot, uint32_t tag, size_t size)
{
	int sel;

	pt_sp_lock();
	sel = size >= pt_sp.min && size <= pt_sp.max && (!pt_sp.ntags || tag_matches(tag)) &&
	      (!pt_sp.module[0] || module_matches(pt_seg.slots[slot].module));
	pt_sp_unlock();
	return sel;
}

PT_OPTION_GROUP(special_opts, "special", pt_special_option)
