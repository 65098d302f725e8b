/* Helpers shared by the unit suites (check_*.c). Header only: those suites
 * link no test library of their own. */
#ifndef SB_UNIT_H
#define SB_UNIT_H

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

/* Open descriptors of this process (the directory's own one excluded). */
static inline int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

/* Removes dir (a temporary directory of the suite's own) and all it holds. */
static inline void rm_rf(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

/* Runs suite s (Check's default fork mode) and gives main's exit status. */
static inline int unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

/* Makes tmpdir (a mkdtemp template), runs suite s in one process (no fork:
 * ASan and LSan then see every test) and removes tmpdir; main's exit status. */
static inline int unit_run_nofork_in(Suite *s, char *tmpdir)
{
	SRunner *sr;
	int failed;

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	rm_rf(tmpdir);
	return failed ? 1 : 0;
}

#endif
