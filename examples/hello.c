/*
 * hello.c - the README's example: allocate under tags, then wait so that
 * `pooltag used PID` can read the process.
 */
#include <stdio.h>
#include <unistd.h>
#include <string.h>

#include <pooltag.h>

struct session {
	char user[32];
	unsigned char *key; /* secret: in the non-paged (locked) pool */
};

int main(void)
{
	struct session *s[3];

	pt_tag_describe("Sess", "Client sessions", "hello");
	for (int i = 0; i < 3; i++) {
		s[i] = pt_zalloc(PT_PAGED, sizeof(*s[i]), "Sess");
		s[i]->key = pt_alloc(PT_NONPAGED, 32, "SKey");
		memset(s[i]->key, 0x5a, 32);
	}
	char *log = pt_alloc(PT_PAGED, 4096, "Log ");

	printf("pid %d: try 'pooltag used %d', then press Enter\n", (int)getpid(), (int)getpid());
	getchar();
	pt_free(log, "Log ");
	for (int i = 0; i < 3; i++) {
		pt_free(s[i]->key, "SKey");
		pt_free(s[i], "Sess");
	}
	return 0;
}
