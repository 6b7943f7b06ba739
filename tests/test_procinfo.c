/*
 * test_procinfo.c - process start times and liveness from /proc
 * (src/procinfo.c): a start time read past a command name that holds
 * spaces and parentheses, a recycled pid told apart by its start time, and
 * a zombie and pids that cannot exist counted as gone.
 */
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procinfo.h"
#include "pt_test.h"

PT_TEST(test_self)
{
	uint64_t t = pt_proc_start_ticks(getpid());

	PT_CHECK(t > 0);
	PT_CHECK_EQ(pt_proc_start_ticks(getpid()), t);
	PT_CHECK_EQ(pt_proc_alive(getpid(), t), 1);
	PT_CHECK_EQ(pt_proc_alive(getpid(), 0), 1);
	/* The same pid with another start time: a recycled pid. */
	PT_CHECK_EQ(pt_proc_alive(getpid(), t + 1), 0);
	PT_CHECK_EQ(pt_proc_alive(getpid(), t - 1), 0);
}

PT_TEST(test_no_such_pid)
{
	PT_CHECK_EQ(pt_proc_alive(0, 0), 0);
	PT_CHECK_EQ(pt_proc_alive(-1, 0), 0);
	PT_CHECK_EQ(pt_proc_start_ticks(0), 0);
	PT_CHECK_EQ(pt_proc_start_ticks(-5), 0);
	PT_CHECK_EQ(pt_proc_start_ticks(0x7fffffff), 0);
	PT_CHECK_EQ(pt_proc_alive(0x7fffffff, 0), 0);
}

/* A child names itself with what a naive parse of /proc/PID/stat trips
 * on; its start time reads the same, and it is after its parent's. */
PT_TEST(test_odd_command_name)
{
	int fds[2], st = -1;
	uint64_t child_saw[2] = {0, 0};
	pid_t pid;

	PT_CHECK_EQ(pipe(fds), 0);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		uint64_t t[2];

		t[0] = pt_proc_start_ticks(getpid());
		prctl(PR_SET_NAME, "a) b ) 1 2 3 (");
		t[1] = pt_proc_start_ticks(getpid());
		_exit(write(fds[1], t, sizeof(t)) == sizeof(t) ? 0 : 1);
	}
	close(fds[1]);
	PT_CHECK_EQ(read(fds[0], child_saw, sizeof(child_saw)), sizeof(child_saw));
	close(fds[0]);
	waitpid(pid, &st, 0);
	PT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	PT_CHECK(child_saw[0] > 0);
	PT_CHECK_EQ(child_saw[1], child_saw[0]);
	PT_CHECK(child_saw[0] >= pt_proc_start_ticks(getpid()));
}

/* Exited but not reaped yet: gone, whatever its start time.  (Once reaped
 * its pid may be anyone's: pids that cannot exist are tested above.) */
PT_TEST(test_zombie_and_reaped)
{
	int fds[2], st = -1;
	uint64_t t;
	char c;
	pid_t pid;

	PT_CHECK_EQ(pipe(fds), 0);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		pause(); /* until killed */
		_exit(0);
	}
	close(fds[1]);
	t = pt_proc_start_ticks(pid);
	PT_CHECK(t > 0);
	PT_CHECK_EQ(pt_proc_alive(pid, t), 1);
	kill(pid, SIGKILL);
	/* The write end closes when the child is gone: a zombie now. */
	PT_CHECK_EQ(read(fds[0], &c, 1), 0);
	close(fds[0]);
	PT_CHECK_EQ(waitid(P_PID, (id_t)pid, NULL, WEXITED | WNOWAIT), 0);
	PT_CHECK_EQ(pt_proc_alive(pid, t), 0);
	PT_CHECK_EQ(pt_proc_alive(pid, 0), 0);
	waitpid(pid, &st, 0);
}

int main(void)
{
	PT_RUN(test_self);
	PT_RUN(test_no_such_pid);
	PT_RUN(test_odd_command_name);
	PT_RUN(test_zombie_and_reaped);
	return pt_test_done();
}
