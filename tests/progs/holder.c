/*
 * holder.c - a process that exports counters when told, and changes what
 * /proc says of it (tests/e2e/segment.bats).  Commands on standard input,
 * one per line; each answers one line:
 *   pid          "pid N"
 *   alloc        allocates 3 "Hold" blocks (the first allocation makes the
 *                segment): "path PATH", the segment's name or "none"
 *   nodump       prctl(PR_SET_DUMPABLE, 0): "ok"
 *   setuid UID   drops to UID (group too; needs root): "ok"
 *   zombie HOW   forks a child that allocates 2 "Zomb" blocks and then
 *                dies (HOW: "kill" by SIGKILL, its segment left behind;
 *                "exit" normally, its segment removed); waits for it to
 *                die without reaping it: "zombie PID"
 *   quit         exits (so does the end of the input)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pooltag.h>

static void *held[3];

static int zombie(const char *how)
{
	siginfo_t si;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		void *a = pt_alloc(PT_PAGED, 16, "Zomb"), *b = pt_alloc(PT_PAGED, 16, "Zomb");
		(void)a;
		(void)b;
		if (strcmp(how, "kill") == 0)
			raise(SIGKILL);
		exit(0);
	}
	/* Dead but not reaped: WNOWAIT leaves it a zombie. */
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) != 0)
		return -1;
	printf("zombie %d\n", (int)pid);
	return 0;
}

int main(void)
{
	char line[128];

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		unsigned uid;
		char how[16];

		if (strncmp(line, "quit", 4) == 0) {
			break;
		} else if (strncmp(line, "pid", 3) == 0) {
			printf("pid %d\n", (int)getpid());
		} else if (strncmp(line, "alloc", 5) == 0) {
			for (int i = 0; i < 3; i++)
				held[i] = pt_alloc(PT_PAGED, 32, "Hold");
			printf("path %s\n", pt_export_path() ? pt_export_path() : "none");
		} else if (strncmp(line, "nodump", 6) == 0) {
			printf("%s\n", prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 ? "ok" : "failed");
		} else if (sscanf(line, "setuid %u", &uid) == 1) {
			printf("%s\n", setresgid(uid, uid, uid) == 0 && setresuid(uid, uid, uid) == 0
					       ? "ok"
					       : "failed");
		} else if (sscanf(line, "zombie %15s", how) == 1) {
			if (zombie(how) != 0)
				printf("failed\n");
		} else {
			printf("unknown\n");
		}
	}
	for (int i = 0; i < 3; i++)
		pt_free(held[i], "Hold");
	return 0;
}
