/* Integration: every limit the daemon has on connections and requests is
 * reached through the real daemon, and after each the daemon still serves a
 * fresh client with its descriptors back where they were. */
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* ---- requests in flight ---- */

static const char *const pending4_args[] = { "--max-pending", "4", NULL };

START_TEST(pending_limit)
{
	static const char burst[] =
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.5},\"id\":1}\n"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.5},\"id\":2}\n"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.5},\"id\":3}\n"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.5},\"id\":4}\n"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":5}\n";
	struct sbd d;
	struct tconn c, other;
	json_object *j;
	bool seen[5] = { false };
	int base;

	hx_start(&d, pending4_args);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	ck_assert_int_eq(tconn_write(&c, burst, sizeof(burst) - 1), 0);
	/* The fifth is refused at once, while four are parked. */
	j = hx_recv_json(&c);
	hx_check_error(j, -32012, "5");
	ck_assert_str_eq(jpath_str(j, "error.data.limit"), "pending");
	ck_assert_int_eq(jpath_int(j, "error.data.max", -1), 4);
	json_object_put(j);
	/* Still full: another request is refused too. */
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":6}", -32012, "6");
	/* The limit is per connection: another one is served meanwhile. */
	hx_open_conn(&other, &d);
	hx_info_ok(&other);
	tconn_close(&other);
	/* The parked ones finish... */
	for (int i = 0; i < 4; i++) {
		long long id;
		j = hx_recv_json(&c);
		id = jpath_int(j, "id", -1);
		ck_assert_msg(id >= 1 && id <= 4 && !seen[id], "unexpected reply %s",
		              json_object_to_json_string(j));
		seen[id] = true;
		ck_assert(json_object_get_boolean(jpath(j, "result.pong")));
		json_object_put(j);
	}
	/* ...and the connection is served again, up to the limit. */
	hx_info_ok(&c);
	ck_assert_int_eq(tconn_send(&c, burst), 0);
	j = hx_recv_json(&c);
	hx_check_error(j, -32012, "5");
	json_object_put(j);
	for (int i = 0; i < 4; i++) {
		j = hx_recv_json(&c);
		ck_assert_int_eq(reply_error_code(j), 0);
		json_object_put(j);
	}
	hx_info_ok(&c);
	tconn_close(&c);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

/* ---- connections ---- */

static void connection_limit(const char *opt, const char *limit, int max)
{
	char maxs[16];
	const char *args[] = { opt, maxs, NULL };
	struct sbd d;
	struct tconn c[16], extra;
	int base;

	ck_assert_int_le(max, 15);
	snprintf(maxs, sizeof(maxs), "%d", max);
	hx_start(&d, args);
	base = hx_baseline_fds(&d);
	for (int i = 0; i < max; i++) {
		hx_open_conn(&c[i], &d);
		hx_info_ok(&c[i]);
	}
	hx_expect_refused(&d, limit, max);
	hx_expect_refused(&d, limit, max);
	/* The ones inside the limit are unaffected. */
	for (int i = 0; i < max; i++)
		hx_info_ok(&c[i]);
	/* One goes: room for exactly one more. */
	tconn_close(&c[0]);
	hx_wait_connections(&c[1], max - 1);
	hx_open_conn(&extra, &d);
	hx_info_ok(&extra);
	hx_expect_refused(&d, limit, max);
	tconn_close(&extra);
	for (int i = 2; i < max; i++)
		tconn_close(&c[i]);
	hx_wait_connections(&c[1], 1);
	tconn_close(&c[1]);
	hx_check_recovered(&d, base);
	ck_assert(sbd_log_contains(&d, "refusing uid"));
	hx_stop(&d);
}

START_TEST(max_connections)
{
	connection_limit("--max-connections", "connections", 8);
}
END_TEST

START_TEST(max_connections_per_uid)
{
	connection_limit("--max-connections-per-uid", "connections_per_uid", 3);
}
END_TEST

/* ---- idleness ---- */

static const char *const idle1_args[] = { "--idle-timeout", "1", NULL };

START_TEST(idle_timeout)
{
	struct sbd d;
	struct tconn silent, parked;
	json_object *j;
	long long t0, t_eof, t_pong;
	int base;

	hx_start(&d, idle1_args);
	base = hx_baseline_fds(&d);
	t0 = hx_mono_ms();
	hx_open_conn(&silent, &d);
	hx_open_conn(&parked, &d);
	ck_assert_int_eq(tconn_send(&parked, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":2},\"id\":1}"), 0);
	/* The silent one is closed after about a second. */
	ck_assert_msg(tconn_wait_eof(&silent, 5000), "an idle connection was not closed");
	t_eof = hx_mono_ms() - t0;
	ck_assert_msg(t_eof >= 900, "closed after %lld ms, before the idle timeout", t_eof);
	/* Waiting for the daemon is not idleness: the parked ping is answered. */
	j = tconn_recv_json(&parked, 5000);
	ck_assert_msg(j != NULL, "a connection with a parked request was closed (errno %d)", errno);
	t_pong = hx_mono_ms() - t0;
	ck_assert_int_eq(jpath_int(j, "id", -1), 1);
	ck_assert(json_object_get_boolean(jpath(j, "result.pong")));
	ck_assert_int_ge(t_pong, 1900);
	json_object_put(j);
	/* Once answered, it goes idle and is closed in its turn. */
	ck_assert_msg(tconn_wait_eof(&parked, 5000), "the answered connection was never closed");
	ck_assert(sbd_log_contains(&d, "idle for 1 s"));
	tconn_close(&silent);
	tconn_close(&parked);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

/* ---- out of descriptors ---- */

/* The daemon's descriptors numbered below lim, and the highest of them. */
static int daemon_fds_below(const struct sbd *d, int lim, int *highest)
{
	char p[64];
	DIR *dp;
	struct dirent *e;
	int n = 0;

	*highest = -1;
	snprintf(p, sizeof(p), "/proc/%d/fd", (int)d->pid);
	dp = opendir(p);
	ck_assert_ptr_nonnull(dp);
	while ((e = readdir(dp))) {
		int fd;
		if (e->d_name[0] == '.')
			continue;
		fd = atoi(e->d_name);
		if (fd < lim) {
			n++;
			if (fd > *highest)
				*highest = fd;
		}
	}
	closedir(dp);
	return n;
}

/* The daemon's CPU time so far, in clock ticks. */
static long long cpu_ticks(pid_t pid)
{
	char p[64], buf[1024], *s;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	f = fopen(p, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	s = strrchr(buf, ')');
	ck_assert_ptr_nonnull(s);
	/* After the command: state (3), then fields 4..13, utime (14), stime (15). */
	ck_assert_int_eq(sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st), 2);
	return (long long)(ut + st);
}

enum { EM_CLIENTS = 30, EM_FIT = 10 };

struct em_client {
	struct tconn t;
	bool open, answered;
};

/* Reads whatever replies are ready (waiting at most ms); fails on a client
 * that was dropped without an answer. Returns how many are answered. */
static int em_collect(struct em_client *cl, int ms)
{
	struct pollfd p[EM_CLIENTS];
	int idx[EM_CLIENTS], n = 0, answered = 0;

	for (int i = 0; i < EM_CLIENTS; i++) {
		if (cl[i].open && !cl[i].answered) {
			p[n] = (struct pollfd){ .fd = cl[i].t.fd, .events = POLLIN };
			idx[n++] = i;
		}
	}
	if (n && poll(p, (nfds_t)n, ms) > 0) {
		for (int k = 0; k < n; k++) {
			struct em_client *c = &cl[idx[k]];
			json_object *j;
			if (!p[k].revents)
				continue;
			j = tconn_recv_json(&c->t, 1000);
			ck_assert_msg(j != NULL,
			              "client %d was dropped without an answer while the daemon was out of "
			              "descriptors (errno %d %s)", idx[k], errno, strerror(errno));
			ck_assert_msg(reply_error_code(j) == 0 && jpath_int(j, "id", -1) == idx[k],
			              "client %d: %s", idx[k], json_object_to_json_string(j));
			json_object_put(j);
			c->answered = true;
		}
	}
	for (int i = 0; i < EM_CLIENTS; i++)
		answered += cl[i].answered;
	return answered;
}

/* Collects until `want` clients are answered (5 s at most). */
static void em_wait_answered(struct em_client *cl, int want)
{
	long long deadline = hx_mono_ms() + 5000;
	int got = 0;

	while (hx_mono_ms() < deadline && (got = em_collect(cl, 100)) < want)
		;
	ck_assert_msg(got == want, "%d clients answered, want %d", got, want);
}

/* With room for EM_FIT clients (plus `spare` descriptors, fewer than one
 * client costs), the rest wait in the backlog and are served as others go. */
static void emfile(int spare)
{
	struct sbd d;
	struct em_client cl[EM_CLIENTS];
	struct rlimit rl;
	struct tconn probe;
	long long ticks;
	int base, cost, low, highest, lim, closed = 0;

	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	/* The probe stays connected throughout: round trips on it settle the
	 * daemon's count before the limit is computed. */
	hx_open_conn(&probe, &d);
	cost = hx_conn_cost(&probe);
	for (int i = 0; i < 200 && sbd_fd_count(&d) != base + cost; i++)
		hx_info_ok(&probe);
	ck_assert_int_eq(sbd_fd_count(&d), base + cost);
	/* RLIMIT_NOFILE bounds descriptor numbers: count the daemon's own low
	 * ones (inherited high ones do not take a slot). */
	low = daemon_fds_below(&d, 64, &highest);
	lim = low + EM_FIT * cost + spare;
	ck_assert_int_lt(highest, lim);
	rl.rlim_cur = rl.rlim_max = (rlim_t)lim;
	ck_assert_int_eq(prlimit(d.pid, RLIMIT_NOFILE, &rl, NULL), 0);

	memset(cl, 0, sizeof(cl));
	for (int i = 0; i < EM_CLIENTS; i++) {
		char req[96];
		hx_open_conn(&cl[i].t, &d);
		cl[i].open = true;
		snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":%d}", i);
		ck_assert_int_eq(tconn_send(&cl[i].t, req), 0);
	}
	/* The first EM_FIT are served; the others wait, neither answered nor
	 * dropped. */
	/* With a spare slot, the daemon's reserve descriptor admits exactly one
	 * more client (its pidfd is read with the reserve), and no client is dropped. */
	em_wait_answered(cl, EM_FIT + spare);
	for (int i = 0; i < 100 && !sbd_log_contains(&d, "pausing accepts"); i++)
		em_collect(cl, 20);
	ck_assert(sbd_log_contains(&d, "pausing accepts"));
	/* Paused, not spinning: over a quiet 300 ms the daemon uses little CPU
	 * (a 100 Hz tick; a busy loop would show about 30). */
	ticks = cpu_ticks(d.pid);
	ck_assert_int_eq(em_collect(cl, 300), EM_FIT + spare);
	ticks = cpu_ticks(d.pid) - ticks;
	ck_assert_msg(ticks < 10, "the daemon used %lld ticks in 300 ms while paused", ticks);

	/* Ten served clients go: ten waiting ones are served. */
	for (int i = 0; i < EM_CLIENTS && closed < 10; i++) {
		if (cl[i].open && cl[i].answered) {
			tconn_close(&cl[i].t);
			cl[i].open = false;
			closed++;
		}
	}
	/* Ten go, ten come in (and the reserve, reopened, admits its one again). */
	em_wait_answered(cl, EM_FIT + spare + 10);
	/* Then everyone, as the served keep leaving. */
	for (int round = 0; round < EM_CLIENTS; round++) {
		int got;
		for (int i = 0; i < EM_CLIENTS; i++) {
			if (cl[i].open && cl[i].answered) {
				tconn_close(&cl[i].t);
				cl[i].open = false;
			}
		}
		got = em_collect(cl, 1000);
		if (got == EM_CLIENTS)
			break;
	}
	ck_assert_int_eq(em_collect(cl, 0), EM_CLIENTS);
	for (int i = 0; i < EM_CLIENTS; i++)
		if (cl[i].open)
			tconn_close(&cl[i].t);
	hx_info_ok(&probe);
	tconn_close(&probe);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}

START_TEST(emfile_pauses_accepts)
{
	emfile(0);
}
END_TEST

/* One descriptor short of a whole client: accept() works, but the peer's
 * pidfd cannot be had. The client must wait like the others, not be dropped. */
START_TEST(emfile_one_spare_descriptor)
{
	emfile(1);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("it_limits");
	TCase *req = tcase_create("requests");
	TCase *conns = tcase_create("connections");
	TCase *fds = tcase_create("descriptors");

	tcase_set_timeout(req, 60);
	tcase_add_test(req, pending_limit);
	suite_add_tcase(s, req);

	tcase_set_timeout(conns, 60);
	tcase_add_test(conns, max_connections);
	tcase_add_test(conns, max_connections_per_uid);
	tcase_add_test(conns, idle_timeout);
	suite_add_tcase(s, conns);

	tcase_set_timeout(fds, 60);
	tcase_add_test(fds, emfile_pauses_accepts);
	tcase_add_test(fds, emfile_one_spare_descriptor);
	suite_add_tcase(s, fds);
	return s;
}

int main(void)
{
	return hx_main(suite());
}
