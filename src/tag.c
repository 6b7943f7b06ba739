/*
 * tag.c - tags: four printable ASCII characters packed in a uint32_t,
 * first character in the lowest byte.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

int pt_tag_valid(uint32_t tag)
{
	for (int i = 0; i < 4; i++) {
		unsigned c = (tag >> (8 * i)) & 0xff;
		if (c < 0x20 || c > 0x7e)
			return 0;
	}
	return 1;
}

uint32_t pt_tag_make(const char *s)
{
	uint32_t tag = 0;
	size_t n;

	if (!s || (n = strnlen(s, 5)) == 0 || n > 4)
		return 0;
	for (size_t i = 0; i < 4; i++)
		tag |= (uint32_t)(i < n ? (unsigned char)s[i] : ' ') << (8 * i);
	return pt_tag_valid(tag) ? tag : 0;
}

char *pt_tag_str(uint32_t tag, char out[5])
{
	for (int i = 0; i < 4; i++)
		out[i] = (char)((tag >> (8 * i)) & 0xff);
	out[4] = 0;
	return out;
}

int pt_tag_describe(const char *tag, const char *description, const char *binary)
{
	uint32_t t = pt_tag_make(tag);
	int rc;

	if (!t || !description) {
		errno = EINVAL;
		return -1;
	}
	pt_seg_init();
	if (__atomic_load_n(&pt_seg_pending, __ATOMIC_ACQUIRE))
		pt_seg_export_child();
	pt_seg_lock();
	rc = pt_registry_describe(t, description, binary);
	pt_seg_unlock();
	if (rc != 0)
		errno = ENOSPC;
	return rc;
}
