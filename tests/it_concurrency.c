/* Integration: many clients at once, requests that finish out of order on
 * one connection, batches that wait for their slowest element, and a stop
 * with requests in flight, against the real daemon. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"


static int write_str(struct tconn *t, const char *s)
{
	return tconn_write(t, s, strlen(s));
}

/* ---- many clients ---- */

enum { NCLIENTS = 1000, PER_CLIENT = 3 };

static const char *const many_args[] = { "--max-connections-per-uid", "2000", NULL };

START_TEST(thousand_clients)
{
	struct sbd d;
	struct tconn *cl = calloc(NCLIENTS, sizeof(*cl));
	struct pollfd *p = calloc(NCLIENTS, sizeof(*p));
	int *got = calloc(NCLIENTS, sizeof(int));
	unsigned char *seen = calloc(NCLIENTS * PER_CLIENT, 1);
	long long deadline;
	int done = 0, base;

	ck_assert(cl && p && got && seen);
	harness_raise_nofile(4096);
	hx_start(&d, many_args);
	base = hx_baseline_fds(&d);
	for (int i = 0; i < NCLIENTS; i++) {
		char buf[512];
		hx_open_conn(&cl[i], &d);
		/* Three requests in one write; ids say which client and which request. */
		snprintf(buf, sizeof(buf),
		         "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":%d}\n"
		         "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.whoami\",\"id\":%d}\n"
		         "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0},\"id\":%d}\n",
		         i * PER_CLIENT, i * PER_CLIENT + 1, i * PER_CLIENT + 2);
		ck_assert_int_eq(write_str(&cl[i], buf), 0);
	}
	/* Read everything as it comes, over all connections at once. */
	deadline = hx_mono_ms() + 30000;
	while (done < NCLIENTS && hx_mono_ms() < deadline) {
		int n = 0, r;
		int idx[NCLIENTS];
		for (int i = 0; i < NCLIENTS; i++) {
			if (got[i] < PER_CLIENT) {
				p[n] = (struct pollfd){ .fd = cl[i].fd, .events = POLLIN };
				idx[n++] = i;
			}
		}
		r = poll(p, (nfds_t)n, 1000);
		if (r < 0 && errno == EINTR)
			continue;
		ck_assert_int_ge(r, 0);
		for (int k = 0; k < n; k++) {
			int i = idx[k];
			char *line;
			if (!p[k].revents)
				continue;
			/* All complete lines now buffered; a timeout of 0 never waits. */
			while (got[i] < PER_CLIENT && (line = tconn_recv_line(&cl[i], 0))) {
				json_object *j = json_tokener_parse(line);
				long long id;
				ck_assert_msg(j != NULL, "client %d: bad JSON %s", i, line);
				id = jpath_int(j, "id", -1);
				ck_assert_msg(id >= (long long)i * PER_CLIENT && id < (long long)(i + 1) * PER_CLIENT,
				              "client %d got a reply for id %lld: %s", i, id, line);
				ck_assert_msg(!seen[id], "client %d: id %lld answered twice", i, id);
				seen[id] = 1;
				ck_assert_msg(reply_error_code(j) == 0, "client %d: %s", i, line);
				switch (id % PER_CLIENT) {
				case 0:
					ck_assert_int_eq(jpath_int(j, "result.protocol", 0), 1);
					ck_assert_int_eq(jpath_int(j, "result.pid", 0), d.pid);
					break;
				case 1:
					ck_assert_int_eq(jpath_int(j, "result.uid", -1), (long long)getuid());
					ck_assert_int_eq(jpath_int(j, "result.pid", -1), (long long)getpid());
					break;
				default:
					ck_assert(json_object_get_boolean(jpath(j, "result.pong")));
				}
				json_object_put(j);
				free(line);
				if (++got[i] == PER_CLIENT)
					done++;
			}
			ck_assert_msg(got[i] == PER_CLIENT || errno == ETIMEDOUT,
			              "client %d: connection lost after %d replies (errno %d)", i, got[i], errno);
		}
	}
	ck_assert_msg(done == NCLIENTS, "%d of %d clients got all their replies", done, NCLIENTS);
	{
		json_object *j = hx_call(&cl[0], "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":\"n\"}");
		ck_assert_int_eq(jpath_int(j, "result.connections", -1), NCLIENTS);
		json_object_put(j);
	}
	for (int i = 0; i < NCLIENTS; i++)
		tconn_close(&cl[i]);
	hx_check_recovered(&d, base);
	hx_stop(&d);
	free(cl);
	free(p);
	free(got);
	free(seen);
}
END_TEST

/* ---- one connection, many requests ---- */

START_TEST(out_of_order)
{
	struct sbd d;
	struct tconn c;
	json_object *j;
	int base;

	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	ck_assert_int_eq(write_str(&c,
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.3},\"id\":1}\n"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":2}\n"), 0);
	j = hx_recv_json(&c);
	ck_assert_msg(jpath_int(j, "id", -1) == 2, "the fast request waited for the slow one: %s",
	              json_object_to_json_string(j));
	ck_assert_int_eq(jpath_int(j, "result.protocol", 0), 1);
	json_object_put(j);
	/* More fast ones while the first is still parked. */
	for (int i = 3; i < 6; i++) {
		char buf[96];
		snprintf(buf, sizeof(buf), "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.whoami\",\"id\":%d}", i);
		j = hx_call(&c, buf);
		ck_assert_int_eq(jpath_int(j, "id", -1), i);
		json_object_put(j);
	}
	j = hx_recv_json(&c);
	ck_assert_int_eq(jpath_int(j, "id", -1), 1);
	ck_assert(json_object_get_boolean(jpath(j, "result.pong")));
	json_object_put(j);
	/* Parked ones finish in deadline order, not request order. */
	ck_assert_int_eq(write_str(&c,
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.4},\"id\":\"slow\"}\n"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.1},\"id\":\"quick\"}\n"), 0);
	j = hx_recv_json(&c);
	ck_assert_str_eq(jpath_str(j, "id"), "quick");
	json_object_put(j);
	j = hx_recv_json(&c);
	ck_assert_str_eq(jpath_str(j, "id"), "slow");
	json_object_put(j);
	tconn_close(&c);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

START_TEST(batch_waits_for_slowest)
{
	struct sbd d;
	struct tconn c;
	json_object *j;
	bool seen[4] = { false };
	long long t0;
	int base;

	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	t0 = hx_mono_ms();
	ck_assert_int_eq(write_str(&c,
	    "[{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.3},\"id\":1},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":2},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\"},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.whoami\",\"id\":3}]\n"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":4}\n"), 0);
	/* The request after the batch is not held up by it. */
	j = hx_recv_json(&c);
	ck_assert_msg(json_object_is_type(j, json_type_object) && jpath_int(j, "id", -1) == 4,
	              "want the reply to id 4 first: %s", json_object_to_json_string(j));
	json_object_put(j);
	/* The batch comes back whole, once, after its slowest element. */
	j = hx_recv_json(&c);
	ck_assert_int_ge(hx_mono_ms() - t0, 250);
	ck_assert_msg(json_object_is_type(j, json_type_array) && json_object_array_length(j) == 3,
	              "want an array of three: %s", json_object_to_json_string(j));
	for (size_t i = 0; i < 3; i++) {
		json_object *e = json_object_array_get_idx(j, i);
		long long id = jpath_int(e, "id", -1);
		ck_assert(id >= 1 && id <= 3 && !seen[id]);
		seen[id] = true;
		ck_assert_int_eq(reply_error_code(e), 0);
	}
	json_object_put(j);
	/* Nothing else follows: the next line is the marker's. */
	j = hx_call(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":\"marker\"}");
	ck_assert_str_eq(jpath_str(j, "id"), "marker");
	json_object_put(j);
	tconn_close(&c);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

/* A batch whose client leaves before the slow element is done. */
START_TEST(batch_client_leaves)
{
	struct sbd d;
	struct tconn c, clock;
	json_object *j;
	int base;

	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	ck_assert_int_eq(write_str(&c,
	    "[{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.2},\"id\":1},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":30},\"id\":2},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":3}]\n"), 0);
	hx_info_ok(&c);
	tconn_close(&c);
	/* Outlast the short element's timer. */
	hx_open_conn(&clock, &d);
	j = hx_call(&clock, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.4},\"id\":1}");
	ck_assert_int_eq(reply_error_code(j), 0);
	json_object_put(j);
	tconn_close(&clock);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

/* ---- stopping ---- */

START_TEST(sigterm_in_flight)
{
	static const char *const ids[2][3] = { { "a1", "a2", "a3" }, { "b1", "b2", NULL } };
	struct sbd d;
	struct tconn c[2];
	char sock[sizeof(d.sock)];
	siginfo_t si;

	hx_start(&d, NULL);
	memcpy(sock, d.sock, sizeof(sock));
	for (int k = 0; k < 2; k++) {
		hx_open_conn(&c[k], &d);
		for (int i = 0; i < 3 && ids[k][i]; i++) {
			char buf[128];
			snprintf(buf, sizeof(buf),
			         "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":30},\"id\":\"%s\"}",
			         ids[k][i]);
			ck_assert_int_eq(tconn_send(&c[k], buf), 0);
		}
		/* Answered after the pings were read: they are parked. */
		hx_info_ok(&c[k]);
	}
	ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
	for (int k = 0; k < 2; k++) {
		bool seen[3] = { false };
		int n = k == 0 ? 3 : 2;
		for (int i = 0; i < n; i++) {
			json_object *j = hx_recv_json(&c[k]);
			const char *id = jpath_str(j, "id");
			int which = -1;
			for (int m = 0; m < n; m++)
				if (id && strcmp(id, ids[k][m]) == 0)
					which = m;
			ck_assert_msg(which >= 0 && !seen[which], "unexpected reply %s",
			              json_object_to_json_string(j));
			seen[which] = true;
			{
				char want[16];
				snprintf(want, sizeof(want), "\"%s\"", id);
				hx_check_error(j, -32000, want);
			}
			ck_assert_str_eq(jpath_str(j, "error.data.name"), "ECANCELED");
			ck_assert_int_eq(jpath_int(j, "error.data.errno", -1), ECANCELED);
			json_object_put(j);
		}
		ck_assert_msg(tconn_wait_eof(&c[k], hx_timeout_ms), "connection %d not closed by the stopping daemon", k);
	}
	ck_assert_int_eq(sbd_wait_notify(&d, "STOPPING=1", hx_timeout_ms), 0);
	/* Wait for the exit without reaping it: the socket must be gone by then. */
	memset(&si, 0, sizeof(si));
	ck_assert_int_eq(waitid(P_PID, (id_t)d.pid, &si, WEXITED | WNOWAIT), 0);
	ck_assert_int_eq(si.si_code, CLD_EXITED);
	ck_assert_int_eq(si.si_status, 0);
	{
		struct stat st;
		ck_assert_msg(lstat(sock, &st) < 0 && errno == ENOENT, "the socket file outlived the daemon");
	}
	for (int k = 0; k < 2; k++)
		tconn_close(&c[k]);
	ck_assert_int_eq(sbd_stop(&d), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("it_concurrency");
	TCase *many = tcase_create("many");
	TCase *order = tcase_create("order");
	TCase *life = tcase_create("stop");

	tcase_set_timeout(many, 120);
	tcase_add_test(many, thousand_clients);
	suite_add_tcase(s, many);

	tcase_set_timeout(order, 60);
	tcase_add_test(order, out_of_order);
	tcase_add_test(order, batch_waits_for_slowest);
	tcase_add_test(order, batch_client_leaves);
	suite_add_tcase(s, order);

	tcase_set_timeout(life, 60);
	tcase_add_test(life, sigterm_in_flight);
	suite_add_tcase(s, life);
	return s;
}

int main(void)
{
	return hx_main(suite());
}
