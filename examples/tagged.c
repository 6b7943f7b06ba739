/*
 * tagged.c - a small program that allocates under a few tags, for trying
 * the CLI on (`make demo-small` drives it).
 *
 * It plays a tiny server: each request allocates a connection ("Conn"),
 * a request buffer ("Req "), a session key in locked memory ("Key ", the
 * non-paged pool), and puts a parsed header in a cache ("Hdr "). Everything
 * is freed when the request ends, except that the cache never evicts: "Hdr "
 * grows with every request, a leak that `pooltag diff` points at.
 *
 * Commands on standard input, one per line; each is answered "ok":
 *   work N    serve N requests
 *   until F   serve requests until file F exists (looked for every 100
 *             requests), then print "served N", N the requests of this run
 *   pid       print the process id
 *   quit      free everything and exit
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pooltag.h>

struct conn {
	char *req;
	unsigned char *key;
};

struct hdr {
	struct hdr *next;
	char name[48];
};

static struct hdr *cache;

static void serve(unsigned i)
{
	struct conn *c = pt_zalloc(PT_PAGED, sizeof(*c), "Conn");
	size_t len = 256 + (i % 7) * 100;
	struct hdr *h;

	if (!c)
		return;
	c->req = pt_alloc(PT_PAGED, len, "Req ");
	c->key = pt_alloc(PT_NONPAGED, 32, "Key ");
	if (c->req && c->key) {
		snprintf(c->req, len, "GET /item/%u HTTP/1.1", i);
		memset(c->key, (int)i, 32);
		h = pt_alloc(PT_PAGED, sizeof(*h), "Hdr ");
		if (h) { /* the cache that never evicts */
			snprintf(h->name, sizeof(h->name), "item-%u", i);
			h->next = cache;
			cache = h;
		}
	}
	pt_free(c->key, "Key ");
	pt_free(c->req, "Req ");
	pt_free(c, "Conn");
}

int main(void)
{
	char line[128];
	unsigned served = 0;

	pt_tag_describe("Conn", "Connection state", "tagged");
	pt_tag_describe("Req ", "Request buffers", "tagged");
	/* "Key " and "Hdr " are left undescribed: the CLI names their sites. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		unsigned n;

		if (sscanf(line, "work %u", &n) == 1) {
			while (n--)
				serve(served++);
		} else if (strncmp(line, "until ", 6) == 0) {
			line[strcspn(line, "\n")] = 0;
			for (n = 0; n % 100 != 0 || access(line + 6, F_OK) != 0; n++)
				serve(served++);
			printf("served %u\n", n);
		} else if (strncmp(line, "pid", 3) == 0) {
			printf("%d\n", (int)getpid());
		} else if (strncmp(line, "quit", 4) == 0) {
			break;
		}
		printf("ok\n");
	}
	while (cache) {
		struct hdr *h = cache;
		cache = h->next;
		pt_free(h, "Hdr ");
	}
	return 0;
}
