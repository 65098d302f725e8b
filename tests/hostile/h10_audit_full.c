/* Hostile (issue 10, item 5): the audit log on a full disk. The log lives on
 * a 64 KiB tmpfs (mounted in a private mount namespace) that the test fills.
 * Before the fix a record cut short by ENOSPC stayed in the file without its
 * newline and the next record was glued to it, requests went on without
 * records, and every failed record logged a warning. Now: every line in the
 * file is one whole record, a governed request whose record cannot be
 * written is refused with -32000 {audit: true} (--audit-failure=allow runs
 * it), warnings come at most once per 10 s with a count, and writing resumes
 * once there is room. Needs root (mount namespace, tmpfs). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/harness.h"

static char base[64], fsdir[128], audit_path[160], filler[160], poldir[128];

/* Every line of the audit file is one whole JSON object ending in '\n';
 * returns how many hold "method":"admin.stats". */
static int check_whole_records(void)
{
	FILE *f = fopen(audit_path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int stats = 0, lines = 0;

	ck_assert_ptr_nonnull(f);
	while ((n = getline(&line, &cap, f)) > 0) {
		json_object *j;
		lines++;
		ck_assert_msg(line[n - 1] == '\n', "record %d has no newline (cut short): %.300s", lines, line);
		line[n - 1] = '\0';
		j = json_tokener_parse(line);
		ck_assert_msg(json_object_is_type(j, json_type_object), "record %d is not one JSON object: %.300s",
		              lines, line);
		if (strcmp(jpath_str(j, "method") ? jpath_str(j, "method") : "", "admin.stats") == 0)
			stats++;
		json_object_put(j);
	}
	free(line);
	fclose(f);
	return stats;
}

/* Fills the tmpfs to the last byte with a file of its own. */
static void fill_fs(void)
{
	static char buf[4096];
	int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t w;

	ck_assert_int_ge(fd, 0);
	do
		w = write(fd, buf, sizeof(buf));
	while (w > 0);
	ck_assert_int_eq(errno, ENOSPC);
	do
		w = write(fd, buf, 1);
	while (w > 0);
	ck_assert_int_eq(errno, ENOSPC);
	close(fd);
}

static long count_log_lines(const struct sbd *d, const char *needle)
{
	FILE *f = fopen(d->log, "r");
	char line[4096];
	long n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

static void start(struct sbd *d, bool allow)
{
	/* Refusing is the default: no option for it. */
	const char *args[] = { "--policy", poldir, "--audit-log", audit_path, allow ? "--audit-failure" : NULL,
	                       "allow", NULL };

	unlink(audit_path);
	unlink(filler);
	hx_start(d, args);
}

static const char stats_req[] = "{\"jsonrpc\":\"2.0\",\"method\":\"admin.stats\",\"id\":1}";

/* Sends admin.stats until the first one whose record cannot be written
 * (bounded: a 4 KiB page holds a few dozen records): refused (*refused), or
 * run without its record. base: the records before. Returns how many ran. */
static int run_until_missing(struct tconn *t, int base_recs, bool *refused)
{
	int ran = 0;

	for (int i = 0; i < 200; i++) {
		json_object *j = hx_call(t, stats_req);
		if (reply_error_code(j) != 0) {
			hx_check_error(j, -32000, "1");
			ck_assert_msg(json_object_get_boolean(jpath(j, "error.data.audit")), "not an audit refusal: %s",
			              json_object_to_json_string(j));
			ck_assert_str_eq(jpath_str(j, "error.data.name"), "ENOSPC");
			json_object_put(j);
			*refused = true;
			return ran;
		}
		json_object_put(j);
		ran++;
		if (check_whole_records() < base_recs + ran) {
			*refused = false;
			return ran;
		}
	}
	ck_abort_msg("200 requests and the audit log never filled up");
	return ran;
}

START_TEST(refused_without_record)
{
	struct sbd d;
	struct tconn t;
	json_object *j;
	bool refused;
	int ran, recs;
	long warned;

	start(&d, false);
	hx_open_conn(&t, &d);
	hx_ok(&t, "admin.stats", NULL);
	ck_assert_int_eq(check_whole_records(), 1);
	fill_fs();
	ran = run_until_missing(&t, 1, &refused);
	ck_assert_msg(refused, "request %d ran without its audit record", ran);
	/* The record that did not fit left nothing behind: every request that
	 * ran has its whole record, and no other is there. */
	recs = check_whole_records();
	ck_assert_int_eq(recs, 1 + ran);
	/* Refused from now on, not one warning each. */
	for (int i = 0; i < 50; i++)
		hx_expect_error(&t, stats_req, -32000, "1");
	ck_assert_int_eq(check_whole_records(), recs);
	/* One warning per 10 s: one here, two on a very slow machine. */
	warned = count_log_lines(&d, "a record could not be written");
	ck_assert_msg(warned >= 1 && warned <= 2, "%ld warnings for 51 failed records", warned);
	/* Introspection is never audited: it still works. */
	hx_info_ok(&t);
	hx_ping(&t);
	/* Room again: records and requests resume, and the log says so. */
	ck_assert_int_eq(unlink(filler), 0);
	j = hx_ok(&t, "admin.stats", NULL);
	ck_assert_int_eq(jpath_int(j, "policy.audit_failures", -1), 51);
	ck_assert_int_eq(jpath_int(j, "policy.audit_refused", -1), 51);
	ck_assert_str_eq(jpath_str(j, "policy.audit_failure"), "refuse");
	ck_assert_int_eq(check_whole_records(), recs + 1);
	ck_assert(sbd_log_contains(&d, "records are written again (51 could not be"));
	tconn_close(&t);
	hx_release_all();
	hx_stop(&d);
}
END_TEST

START_TEST(allowed_without_record)
{
	struct sbd d;
	struct tconn t;
	json_object *j;
	bool refused;
	int ran;
	long warned;

	start(&d, true);
	hx_open_conn(&t, &d);
	hx_ok(&t, "admin.stats", NULL);
	fill_fs();
	ran = run_until_missing(&t, 1, &refused);
	ck_assert_msg(!refused, "refused under --audit-failure=allow");
	/* The last one ran without a record; the file holds whole records only. */
	ck_assert_int_eq(check_whole_records(), ran);
	for (int i = 0; i < 50; i++)
		hx_ok(&t, "admin.stats", NULL);
	ck_assert_int_eq(check_whole_records(), ran);
	warned = count_log_lines(&d, "a record could not be written");
	ck_assert_msg(warned >= 1 && warned <= 2, "%ld warnings for 51 failed records", warned);
	ck_assert(sbd_log_contains(&d, "run without records (--audit-failure=allow)"));
	j = hx_ok(&t, "admin.stats", NULL);
	ck_assert_int_eq(jpath_int(j, "policy.audit_refused", -1), 0);
	ck_assert_int_eq(jpath_int(j, "policy.audit_failures", -1), 52);
	tconn_close(&t);
	hx_release_all();
	hx_stop(&d);
}
END_TEST

/* A private mount namespace with a 64 KiB tmpfs for the audit log. */
static void setup_fs(void)
{
	const char *ci = getenv("CI");
	bool must = ci && strcmp(ci, "true") == 0;

	snprintf(base, sizeof(base), "/tmp/h10audit.XXXXXX");
	if (!mkdtemp(base) || chmod(base, 0755) < 0)
		goto cannot;
	snprintf(fsdir, sizeof(fsdir), "%s/fs", base);
	snprintf(poldir, sizeof(poldir), "%s/policy.d", base);
	snprintf(audit_path, sizeof(audit_path), "%s/audit.log", fsdir);
	snprintf(filler, sizeof(filler), "%s/filler", fsdir);
	if (mkdir(fsdir, 0755) < 0 || mkdir(poldir, 0755) < 0)
		goto cannot;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", fsdir, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755") < 0)
		goto cannot;
	return;
cannot:
	printf("%s: cannot set up a private 64 KiB tmpfs: %s\n", must ? "FAIL" : "SKIP", strerror(errno));
	exit(must ? 99 : 77);
}

static Suite *suite(void)
{
	Suite *s = suite_create("h10_audit_full");
	TCase *t = tcase_create("full");

	tcase_add_test(t, refused_without_record);
	tcase_add_test(t, allowed_without_record);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	int r;

	harness_require_root("a mount namespace and a tmpfs");
	setup_fs();
	r = hx_main(suite());
	umount2(fsdir, MNT_DETACH);
	rmdir(fsdir);
	rmdir(poldir);
	rmdir(base);
	return r;
}
