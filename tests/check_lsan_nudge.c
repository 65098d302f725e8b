/* Unit test of the leak-check watchdog (daemon/lsan-nudge.c): a thread that a
 * tracer has attached but that never entered its attach stop is sent the
 * SIGSTOP its tracer waits for. PTRACE_SEIZE stages exactly that state: it
 * attaches without a stop, as a lost PTRACE_ATTACH stop leaves things. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/lsan-nudge.h"
#include "unit.h"

/* The tracer's verdicts, as exit statuses. */
enum { TRACER_OK, TRACER_NO_SEIZE, TRACER_WRONG_STOP };

START_TEST(nudge_unsticks_a_lost_attach_stop)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	volatile int *stopped = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t tracer;
	int st;

	ck_assert_ptr_ne((void *)stopped, MAP_FAILED);
	/* Under Yama's ptrace_scope=1 a child may not trace its parent unasked. */
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	lsan_nudge_start();
	tracer = fork();
	ck_assert_int_ge(tracer, 0);
	if (tracer == 0) {
		/* Without the watchdog this wait never ends; the alarm ends it. */
		alarm(20);
		if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0)
			_exit(TRACER_NO_SEIZE);
		if (waitpid(tid, &st, __WALL) != tid || !WIFSTOPPED(st) || WSTOPSIG(st) != SIGSTOP)
			_exit(TRACER_WRONG_STOP);
		*stopped = 1;
		/* Detaching with no signal leaves the SIGSTOP consumed. */
		ptrace(PTRACE_DETACH, tid, NULL, NULL);
		_exit(TRACER_OK);
	}
	/* Spin as LeakSanitizer's main thread does while its tracer works. */
	while (!*stopped && waitpid(tracer, &st, WNOHANG) == 0)
		sched_yield();
	ck_assert_int_eq(waitpid(tracer, &st, 0), tracer);
	ck_assert_msg(WIFEXITED(st), "the tracer was killed by signal %d (its wait never ended)",
	              WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	ck_assert_int_eq(WEXITSTATUS(st), TRACER_OK);
	ck_assert_int_eq(*stopped, 1);
	munmap((void *)stopped, sizeof(int));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lsan-nudge");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, nudge_unsticks_a_lost_attach_stop);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
