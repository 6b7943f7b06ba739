/*
 * hostile.c - a process whose names are terminal escape sequences, for the
 * views that must not pass them on (tests/e2e/hostile.bats): the file and
 * function of its call sites, a tag's description and binary, the
 * references and handles taken on its objects.  Its command and module
 * names are the name it is run under.  A segment is written by a program
 * the reader does not trust, so the sites are built by hand here, with
 * names no compiler gives.  Commands on standard input, one per line; each
 * answers one line:
 *   pid    "pid N"
 *   alloc  allocates 64 "Evil" blocks of 64 KiB at the hostile site (4 MiB:
 *          a few sampled stacks), takes a reference and opens a handle to
 *          an "Evob" object there: "ok"
 *   more   64 more blocks: "ok"
 *   quit   frees everything and exits (so does the end of the input)
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <pooltag.h>

#define BLOCK (64 << 10)
#define NMAX  256

/* ESC sequences (colour, window title ended by BEL), a carriage return, a
 * DEL, CSI as the C1 control U+009B and as a lone byte. */
static struct pt_site evil = {"\033[31mevil\r\177.c", "\033]0;pwned\007fn\302\2331m\2332m", 7, 0};

static void *blocks[NMAX];
static int nblocks;
static struct pt_objtype *type; /* types live until exit */

static int grab(int n)
{
	for (int i = 0; i < n && nblocks < NMAX; i++)
		if (!(blocks[nblocks++] = pt_alloc_at(&evil, PT_PAGED, BLOCK, PT_TAG("Evil"))))
			return -1;
	return 0;
}

int main(void)
{
	struct pt_htable *table = NULL;
	void *obj = NULL;
	pt_handle h = 0;
	char line[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "quit", 4)) {
			break;
		} else if (!strncmp(line, "pid", 3)) {
			printf("pid %d\n", (int)getpid());
		} else if (!strncmp(line, "alloc", 5) && !obj) {
			int ok =
			    pt_tag_describe("Evil", "\033[2Jwiped\033[1m", "\033[5mbin\177") == 0 &&
			    grab(64) == 0 &&
			    (type = pt_objtype_create("\033[7mtype", PT_PAGED, "Evob", NULL, 0)) &&
			    (obj = pt_obj_create_at(&evil, type, 32, 1)) &&
			    pt_obj_ref_at(&evil, obj, 0) == 0 &&
			    (table = pt_htable_create("\033[8mtable")) &&
			    pt_handle_open_at(&evil, table, obj, &h) == 0;
			printf("%s\n", ok ? "ok" : "failed");
		} else if (!strncmp(line, "more", 4)) {
			printf("%s\n", grab(64) == 0 ? "ok" : "failed");
		} else {
			printf("unknown\n");
		}
	}
	if (table)
		pt_htable_destroy(table);
	if (obj) {
		pt_obj_deref_at(&evil, obj, 0);
		pt_obj_deref_at(&evil, obj, 0);
	}
	for (int i = 0; i < nblocks; i++)
		pt_free(blocks[i], "Evil");
	return 0;
}
