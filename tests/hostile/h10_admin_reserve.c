/* Hostile (issue 10, item 7): headroom for the administrator. With
 * --max-connections 20 filled by nobody, root was refused ("20 connections
 * in total") and could not even look. Now the last --admin-reserve (4 by
 * default) connections are kept for root, the daemon's own user and the
 * identities the policy lets use the admin methods: nobody's connections
 * stop at 16, root still connects and runs admin.stats, and the total stays
 * at 20. Children drop to other uids and report over a pipe; every wait is
 * on a reply, a pipe or EOF. Needs root. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/harness.h"

#define NOBODY 65534
#define MAXC 20
#define OPEN_TO_ALL 16   /* MAXC less the default reserve of 4 */

/* A child as uid: holds `hold` connections (each answers daemon.ping), then
 * makes one more and sends `extra` on it (NULL: none). Its report, one line:
 * "refused MAX" (a -32012 connections refusal, then EOF), "ok" (a result),
 * "error CODE", or "FAIL why". Then it keeps its connections until go
 * closes. */
struct child {
	pid_t pid;
	int report, go;
	char line[512];
};

static void child_main(const struct sbd *d, uid_t uid, int hold, const char *extra, int report, int go)
{
	struct tconn t[MAXC], x;
	json_object *j;
	char buf[512], c;
	int n = 0;

	if (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0)
		n = snprintf(buf, sizeof(buf), "FAIL cannot become uid %u: %s\n", (unsigned)uid, strerror(errno));
	for (int i = 0; !n && i < hold; i++) {
		if (tconn_open(&t[i], d->sock) < 0) {
			n = snprintf(buf, sizeof(buf), "FAIL connect %d: %s\n", i, strerror(errno));
			break;
		}
		j = tconn_call(&t[i], "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":1}", hx_timeout_ms);
		if (!j || reply_error_code(j) != 0)
			n = snprintf(buf, sizeof(buf), "FAIL connection %d of %d: %s\n", i + 1, hold,
			             j ? json_object_to_json_string(j) : "no reply");
		json_object_put(j);
	}
	if (!n && extra) {
		if (tconn_open(&x, d->sock) < 0) {
			n = snprintf(buf, sizeof(buf), "FAIL connect extra: %s\n", strerror(errno));
		} else {
			/* A refused client gets its line without asking; send anyway. */
			(void)tconn_send(&x, extra);
			j = tconn_recv_json(&x, hx_timeout_ms);
			if (!j)
				n = snprintf(buf, sizeof(buf), "FAIL no reply on the extra connection\n");
			else if (reply_error_code(j) == -32012 && jpath_str(j, "error.data.limit") &&
			         strcmp(jpath_str(j, "error.data.limit"), "connections") == 0)
				n = snprintf(buf, sizeof(buf), "refused %lld%s\n", jpath_int(j, "error.data.max", -1),
				             tconn_wait_eof(&x, hx_timeout_ms) ? "" : " (left open)");
			else if (reply_error_code(j) == 0)
				n = snprintf(buf, sizeof(buf), "ok\n");
			else
				n = snprintf(buf, sizeof(buf), "error %d %s\n", reply_error_code(j),
				             json_object_to_json_string(j));
			json_object_put(j);
		}
	}
	if (!n)
		n = snprintf(buf, sizeof(buf), "held\n");
	if (write(report, buf, (size_t)n) != n)
		_exit(2);
	while (read(go, &c, 1) > 0)
		;
	_exit(0);
}

static void child_start(struct child *ch, const struct sbd *d, uid_t uid, int hold, const char *extra)
{
	int rep[2], go[2];
	ssize_t n;
	size_t len = 0;

	ck_assert_int_eq(pipe2(rep, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	ch->pid = fork();
	ck_assert_int_ge(ch->pid, 0);
	if (ch->pid == 0) {
		close(rep[0]);
		close(go[1]);
		child_main(d, uid, hold, extra, rep[1], go[0]);
	}
	close(rep[1]);
	close(go[0]);
	ch->report = rep[0];
	ch->go = go[1];
	/* Its report, up to the newline (EOF if it died). */
	while (len < sizeof(ch->line) - 1 && (n = read(ch->report, ch->line + len, sizeof(ch->line) - 1 - len)) > 0) {
		len += (size_t)n;
		if (ch->line[len - 1] == '\n')
			break;
	}
	ch->line[len] = '\0';
	ck_assert_msg(len && strncmp(ch->line, "FAIL", 4) != 0, "the uid %u child: %s", (unsigned)uid,
	              len ? ch->line : "(died)");
}

static void child_release(struct child *ch)
{
	int st;

	close(ch->go);
	ck_assert_int_eq(waitpid(ch->pid, &st, 0), ch->pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
	close(ch->report);
}

static const char stats_req[] = "{\"jsonrpc\":\"2.0\",\"method\":\"admin.stats\",\"id\":1}";

static char poldir[64];

static void start(struct sbd *d, const char *policy)
{
	const char *args[] = { "--max-connections", "20", "--policy", poldir, NULL };

	hx_private_dir(poldir, sizeof(poldir), "h10reserve", 0755);
	if (policy) {
		char path[128];
		FILE *f;
		snprintf(path, sizeof(path), "%s/admins.json", poldir);
		f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		fputs(policy, f);
		ck_assert_int_eq(fclose(f), 0);
		ck_assert_int_eq(chmod(path, 0644), 0);
	}
	hx_start(d, args);
}

static void finish(struct sbd *d)
{
	hx_stop(d);
	hx_remove_tree(poldir);
	ck_assert_msg(access(poldir, F_OK) < 0, "%s was not removed", poldir);
	hx_release_all();
}

/* nobody fills what is open to all; root takes the reserve and administers;
 * the total holds. */
START_TEST(root_has_headroom)
{
	struct sbd d;
	struct child nobody, again;
	struct tconn root[4];
	json_object *j;

	start(&d, NULL);
	child_start(&nobody, &d, NOBODY, OPEN_TO_ALL, stats_req);
	ck_assert_msg(strcmp(nobody.line, "refused 16\n") == 0, "nobody's 17th: %s", nobody.line);
	/* The reserve: root, four times, with admin.stats on each. */
	for (int i = 0; i < 4; i++) {
		hx_open_conn(&root[i], &d);
		j = hx_hold(hx_call(&root[i], stats_req));
		ck_assert_msg(reply_error_code(j) == 0, "root's connection %d: %s", i + 1,
		              json_object_to_json_string(j));
	}
	ck_assert_int_eq(jpath_int(j, "result.server.connections", -1), MAXC);
	j = hx_hold(hx_call(&root[0], "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":1}"));
	ck_assert_int_eq(jpath_int(j, "result.limits.admin_reserve", -1), 4);
	/* The total is the total, for root too. */
	hx_expect_refused(&d, "connections", MAXC);
	/* With a reserve slot free again, nobody still cannot have it. */
	tconn_close(&root[3]);
	hx_wait_connections(&root[0], MAXC - 1);
	child_start(&again, &d, NOBODY, 0, stats_req);
	ck_assert_msg(strcmp(again.line, "refused 16\n") == 0, "nobody in the reserve: %s", again.line);
	child_release(&again);
	ck_assert(sbd_log_contains(&d, "kept for administrators"));
	child_release(&nobody);
	for (int i = 0; i < 3; i++)
		tconn_close(&root[i]);
	finish(&d);
}
END_TEST

/* The policy's administrators share the reserve; others do not. uid 1 is
 * "daemon" and uid 2 "bin" on Debian; the rule names the uid. */
START_TEST(policy_admins_share_it)
{
	static const char policy[] =
	    "{ \"version\": 1, \"rules\": ["
	    " { \"name\": \"uid 1 administers\", \"match\": { \"uid\": 1 }, \"allow\": [ { \"action\": \"admin\" } ] },"
	    " { \"name\": \"uid 2 may create\", \"match\": { \"uid\": 2 },"
	    "   \"allow\": [ { \"action\": \"create\", \"family\": \"AF_INET\", \"type\": \"SOCK_DGRAM\" } ] } ] }";
	struct sbd d;
	struct child nobody, admin, other;

	start(&d, policy);
	child_start(&nobody, &d, NOBODY, OPEN_TO_ALL, stats_req);
	ck_assert_msg(strcmp(nobody.line, "refused 16\n") == 0, "nobody's 17th: %s", nobody.line);
	child_start(&admin, &d, 1, 0, stats_req);
	ck_assert_msg(strcmp(admin.line, "ok\n") == 0, "uid 1, an administrator, in the reserve: %s", admin.line);
	child_start(&other, &d, 2, 0, stats_req);
	ck_assert_msg(strcmp(other.line, "refused 16\n") == 0, "uid 2, no administrator, in the reserve: %s",
	              other.line);
	child_release(&other);
	child_release(&admin);
	child_release(&nobody);
	finish(&d);
}
END_TEST

/* --admin-reserve 0 gives the whole total to everyone (the old behaviour),
 * and the reserve never takes more than half. */
START_TEST(reserve_option)
{
	struct sbd d;
	struct tconn t;
	json_object *j;
	struct child nobody;
	const char *args0[] = { "--max-connections", "6", "--admin-reserve", "0", "--policy", NULL, NULL };
	const char *args9[] = { "--max-connections", "6", "--admin-reserve", "9", "--policy", NULL, NULL };

	hx_private_dir(poldir, sizeof(poldir), "h10reserve", 0755);
	args0[5] = args9[5] = poldir;
	hx_start(&d, args0);
	child_start(&nobody, &d, NOBODY, 6, stats_req);
	ck_assert_msg(strcmp(nobody.line, "refused 6\n") == 0, "no reserve: %s", nobody.line);
	child_release(&nobody);
	hx_stop(&d);
	hx_start(&d, args9);
	hx_open_conn(&t, &d);
	j = hx_hold(hx_call(&t, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":1}"));
	ck_assert_int_eq(jpath_int(j, "result.limits.admin_reserve", -1), 3);
	/* Root's connection counts against what is open to all: 2 more. */
	child_start(&nobody, &d, NOBODY, 2, stats_req);
	ck_assert_msg(strcmp(nobody.line, "refused 3\n") == 0, "half reserved: %s", nobody.line);
	child_release(&nobody);
	tconn_close(&t);
	finish(&d);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("h10_admin_reserve");
	TCase *t = tcase_create("reserve");

	tcase_add_test(t, root_has_headroom);
	tcase_add_test(t, policy_admins_share_it);
	tcase_add_test(t, reserve_option);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	harness_require_root("children as other users");
	return hx_main(suite());
}
