/* Integration: socket I/O through the real daemon (issue 3): echo over IPv4
 * by handles and by a passed listener, accept parking and replies out of
 * order, closes in one batch, a reset peer, AF_UNIX listeners and abstract
 * addresses, sendmsg to a path passing a descriptor, UDP, an AF_UNIX pair
 * passing descriptors, MSG_DONTWAIT. Every test ends with the daemon serving
 * and its descriptor count back at the baseline taken before the test's
 * sockets existed; waits are bounded round trips or waits on an event. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* ---- 1. echo server and client, IPv4, by handles ---- */

START_TEST(echo_ipv4_handles)
{
	int base = hx_fd_mark();
	json_object *r, *a, *b;
	long long hl, hc, hs, hs_list[16];
	int port, cport;
	size_t n;

	r = hx_ok(&hx_c, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0]}");
	hl = hx_geti(r, "handle");
	hx_expect_str(r, "local.host", "127.0.0.1");
	port = hx_result_local_port(r);
	ck_assert_int_gt(port, 0);
	ck_assert_msg(jpath(r, "fds") == NULL, "no descriptor without pass: %s", json_object_to_json_string(r));

	r = hx_ok(&hx_c, "socket.create", "{\"family\":\"AF_INET\",\"type\":\"SOCK_STREAM\"}");
	hc = hx_geti(r, "handle");
	hx_expect_str(r, "family", "AF_INET");
	hx_expect_str(r, "type", "SOCK_STREAM");
	ck_assert_msg(hc != hl, "handles must differ");

	r = hx_ok(&hx_c, "socket.connect", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d]}", hc, port);
	ck_assert_int_eq(json_object_object_length(r), 0);
	cport = hx_handle_port(&hx_c, hc);

	r = hx_ok(&hx_c, "socket.accept", "{\"handle\":%lld}", hl);
	hs = hx_geti(r, "handle");
	hx_expect_str(r, "peer.host", "127.0.0.1");
	ck_assert_int_eq(hx_geti(r, "peer.port"), cport);

	r = hx_ok(&hx_c, "socket.sendall", "{\"handle\":%lld,\"text\":\"hello\"}", hc);
	ck_assert_int_eq(hx_geti(r, "sent"), 5);
	r = hx_ok(&hx_c, "socket.recv", "{\"handle\":%lld,\"bufsize\":1024}", hs);
	hx_expect_str(r, "data", "aGVsbG8=");
	r = hx_ok(&hx_c, "socket.sendall", "{\"handle\":%lld,\"data\":\"aGVsbG8=\"}", hs);
	ck_assert_int_eq(hx_geti(r, "sent"), 5);
	r = hx_ok(&hx_c, "socket.recv", "{\"handle\":%lld,\"bufsize\":1024}", hc);
	hx_expect_str(r, "data", "aGVsbG8=");

	/* Names agree from both ends. */
	a = hx_ok(&hx_c, "socket.getsockname", "{\"handle\":%lld}", hc);
	b = hx_ok(&hx_c, "socket.getpeername", "{\"handle\":%lld}", hs);
	ck_assert_msg(json_object_equal(jpath(a, "address"), jpath(b, "address")), "client name %s, server's peer %s",
	              json_object_to_json_string(a), json_object_to_json_string(b));
	a = hx_ok(&hx_c, "socket.getpeername", "{\"handle\":%lld}", hc);
	b = hx_ok(&hx_c, "socket.getsockname", "{\"handle\":%lld}", hs);
	ck_assert_msg(json_object_equal(jpath(a, "address"), jpath(b, "address")), "client peer %s, server name %s",
	              json_object_to_json_string(a), json_object_to_json_string(b));
	ck_assert_int_eq(hx_geti(a, "address.port"), port);

	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", hc);
	ck_assert_int_eq(hx_geti(r, "handle"), hc);
	hx_expect_str(r, "family", "AF_INET");
	hx_expect_str(r, "type", "SOCK_STREAM");
	ck_assert_msg(jpath(r, "proto") != NULL, "info without proto");
	hx_expect_str(r, "local.host", "127.0.0.1");
	ck_assert_int_eq(hx_geti(r, "local.port"), cport);
	hx_expect_str(r, "peer.host", "127.0.0.1");
	ck_assert_int_eq(hx_geti(r, "peer.port"), port);
	ck_assert_int_eq(hx_geti(r, "bytes_out"), 5);
	ck_assert_int_eq(hx_geti(r, "bytes_in"), 5);
	ck_assert_int_eq(hx_geti(r, "pending"), 0);
	ck_assert_msg(json_object_object_get_ex(r, "timeout", &a) && a == NULL, "timeout not null: %s",
	              json_object_to_json_string(r));
	ck_assert(json_object_get_boolean(jpath(r, "blocking")));
	ck_assert_msg(hx_getd(r, "created") > 1e9, "created is not a wall-clock time");
	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", hl);
	ck_assert(json_object_get_boolean(jpath(r, "listening")));
	ck_assert_msg(jpath(r, "peer") == NULL, "a listener has no peer: %s", json_object_to_json_string(r));

	n = hx_list_handles(&hx_c, hs_list, 16);
	ck_assert_int_eq(n, 3);
	ck_assert(hx_has_handle(hs_list, n, hl) && hx_has_handle(hs_list, n, hc) && hx_has_handle(hs_list, n, hs));

	/* shutdown(SHUT_WR): the other end reads EOF (b""), and can still send. */
	hx_err(&hx_c, -32602, "socket.shutdown", "{\"handle\":%lld,\"how\":\"SHUT_BOGUS\"}", hc);
	hx_ok(&hx_c, "socket.shutdown", "{\"handle\":%lld,\"how\":\"SHUT_WR\"}", hc);
	r = hx_ok(&hx_c, "socket.recv", "{\"handle\":%lld,\"bufsize\":10}", hs);
	hx_expect_str(r, "data", "");
	hx_ok(&hx_c, "socket.sendall", "{\"handle\":%lld,\"text\":\"late\"}", hs);
	hx_recv_exact(&hx_c, hc, "late", 4);
	hx_os_err(&hx_c, "EPIPE", "socket.send", "{\"handle\":%lld,\"text\":\"x\"}", hc);

	hx_close_handle(&hx_c, hc);
	hx_close_handle(&hx_c, hs);
	hx_close_handle(&hx_c, hl);
	n = hx_list_handles(&hx_c, hs_list, 16);
	ck_assert_int_eq(n, 0);
	r = hx_err(&hx_c, -32011, "socket.info", "{\"handle\":%lld}", hc);
	ck_assert_int_eq(hx_geti(r, "data.handle"), hc);
	hx_err(&hx_c, -32011, "socket.recv", "{\"handle\":%lld,\"bufsize\":1}", hs);
	hx_err(&hx_c, -32011, "socket.close", "{\"handle\":%lld}", hl);
	hx_fd_back(base);
}
END_TEST

/* ---- 2. accept parks; replies out of order ---- */

START_TEST(accept_parks)
{
	int base = hx_fd_mark();
	json_object *r, *acc, *con;
	long long hl, hc;
	int port;

	r = hx_ok(&hx_c, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0]}");
	hl = hx_geti(r, "handle");
	port = hx_result_local_port(r);
	hx_send(&hx_c, "acc", "socket.accept", hx_fmt("{\"handle\":%lld}", hl));
	/* Answered while the accept waits: the accept is parked, not blocking. */
	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", hl);
	ck_assert_int_eq(hx_geti(r, "pending"), 1);
	hc = hx_new_handle(&hx_c, "{}");
	hx_send(&hx_c, "con", "socket.connect",
	         hx_fmt("{\"handle\":%lld,\"address\":{\"host\":\"127.0.0.1\",\"port\":%d}}", hc, port));
	con = hx_expect_ok(hx_await(&hx_c, "con"), "connect");
	ck_assert_int_eq(json_object_object_length(con), 0);
	acc = hx_expect_ok(hx_await(&hx_c, "acc"), "parked accept");
	hx_expect_str(acc, "peer.host", "127.0.0.1");
	ck_assert_int_eq(hx_geti(acc, "peer.port"), hx_handle_port(&hx_c, hc));
	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", hl);
	ck_assert_int_eq(hx_geti(r, "pending"), 0);
	r = hx_ok(&hx_c, "socket.sendall", "{\"handle\":%lld,\"text\":\"x\"}", hx_geti(acc, "handle"));
	hx_recv_exact(&hx_c, hc, "x", 1);
	hx_close_handle(&hx_c, hx_geti(acc, "handle"));
	hx_close_handle(&hx_c, hc);
	hx_close_handle(&hx_c, hl);
	hx_fd_back(base);
}
END_TEST

START_TEST(echo_passed_listener)
{
	int base = hx_fd_mark();
	json_object *r;
	int lfd, sfd, port, fl, e;
	long long hc;
	struct sockaddr_in peer;
	socklen_t pl = sizeof(peer), l = sizeof(e);
	char buf[16];

	r = hx_ok(&hx_c, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0],\"pass\":true}");
	ck_assert_int_eq(hx_geti(r, "fds"), 1);
	ck_assert_msg(jpath(r, "handle") == NULL, "pass gives no handle: %s", json_object_to_json_string(r));
	port = hx_result_local_port(r);
	lfd = hx_take_fd(&hx_c);
	fl = fcntl(lfd, F_GETFL);
	ck_assert_msg(fl >= 0 && !(fl & O_NONBLOCK), "a passed socket is in blocking mode");
	ck_assert_int_eq(getsockopt(lfd, SOL_SOCKET, SO_ACCEPTCONN, &e, &l), 0);
	ck_assert_int_eq(e, 1);
	/* The daemon keeps no copy. */
	ck_assert_int_eq(hx_list_handles(&hx_c, (long long[4]){ 0 }, 4), 0);
	hx_fd_back(base);

	r = hx_ok(&hx_c, "socket.connect_to", "{\"address\":[\"127.0.0.1\",%d]}", port);
	hc = hx_geti(r, "handle");
	hx_expect_str(r, "peer.host", "127.0.0.1");
	ck_assert_int_eq(hx_geti(r, "peer.port"), port);
	hx_expect_str(r, "local.host", "127.0.0.1");
	hx_wait_fd(lfd, POLLIN);
	sfd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
	ck_assert_int_ge(sfd, 0);
	ck_assert_int_eq(ntohs(peer.sin_port), hx_geti(r, "local.port"));

	r = hx_ok(&hx_c, "socket.sendall", "{\"handle\":%lld,\"text\":\"ping\"}", hc);
	ck_assert_int_eq(hx_geti(r, "sent"), 4);
	{
		size_t have = 0;
		for (int i = 0; i < 10 && have < 4; i++) {
			ssize_t k;
			hx_wait_fd(sfd, POLLIN);
			k = recv(sfd, buf + have, 4 - have, 0);
			ck_assert_int_gt(k, 0);
			have += (size_t)k;
		}
		ck_assert_int_eq(have, 4);
		ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
	}
	ck_assert_int_eq(send(sfd, "pong", 4, MSG_NOSIGNAL), 4);
	hx_recv_exact(&hx_c, hc, "pong", 4);
	close(sfd);
	close(lfd);
	/* The peer closed: recv gives b"" (EOF). */
	r = hx_ok(&hx_c, "socket.recv", "{\"handle\":%lld,\"bufsize\":10}", hc);
	hx_expect_str(r, "data", "");
	hx_close_handle(&hx_c, hc);
	hx_fd_back(base);

	/* connect_to and accept with pass, against a daemon-owned listener. */
	{
		long long hl;
		int cfd, afd;
		r = hx_ok(&hx_c, "socket.listen_on", "{\"address\":{\"host\":\"127.0.0.1\",\"port\":0},\"backlog\":5}");
		hl = hx_geti(r, "handle");
		port = hx_result_local_port(r);
		r = hx_ok(&hx_c, "socket.connect_to", "{\"address\":[\"127.0.0.1\",%d],\"pass\":true,\"timeout\":5}", port);
		ck_assert_int_eq(hx_geti(r, "fds"), 1);
		ck_assert_msg(jpath(r, "handle") == NULL, "pass gives no handle: %s", json_object_to_json_string(r));
		ck_assert_int_eq(hx_geti(r, "peer.port"), port);
		cfd = hx_take_fd(&hx_c);
		fl = fcntl(cfd, F_GETFL);
		ck_assert_msg(fl >= 0 && !(fl & O_NONBLOCK), "a passed connection is in blocking mode");
		r = hx_ok(&hx_c, "socket.accept", "{\"handle\":%lld,\"pass\":true}", hl);
		ck_assert_int_eq(hx_geti(r, "fds"), 1);
		ck_assert_msg(jpath(r, "handle") == NULL, "pass gives no handle: %s", json_object_to_json_string(r));
		afd = hx_take_fd(&hx_c);
		ck_assert_int_eq(send(cfd, "abc", 3, MSG_NOSIGNAL), 3);
		ck_assert_int_eq(recv(afd, buf, 3, MSG_WAITALL), 3);
		ck_assert_int_eq(memcmp(buf, "abc", 3), 0);
		close(cfd);
		close(afd);
		/* Only the listener is a handle. */
		ck_assert_int_eq(hx_list_handles(&hx_c, (long long[4]){ 0 }, 4), 1);

		/* connect_ex: 0 on success; the errno, not an error, when refused. */
		hc = hx_new_handle(&hx_c, "{}");
		r = hx_ok(&hx_c, "socket.connect_ex", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d]}", hc, port);
		ck_assert_int_eq(hx_geti(r, "errno"), 0);
		hx_close_handle(&hx_c, hc);
		r = hx_ok(&hx_c, "socket.accept", "{\"handle\":%lld}", hl);
		hx_close_handle(&hx_c, hx_geti(r, "handle"));
		hx_close_handle(&hx_c, hl);
		/* The port is free now (nothing listens): refused. */
		hc = hx_new_handle(&hx_c, "{}");
		r = hx_ok(&hx_c, "socket.connect_ex", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d]}", hc, port);
		ck_assert_int_eq(hx_geti(r, "errno"), ECONNREFUSED);
		hx_expect_str(r, "name", "ECONNREFUSED");
		hx_close_handle(&hx_c, hc);
		hc = hx_new_handle(&hx_c, "{}");
		hx_os_err(&hx_c, "ECONNREFUSED", "socket.connect", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d]}", hc, port);
		hx_close_handle(&hx_c, hc);
		hx_os_err(&hx_c, "ECONNREFUSED", "socket.connect_to", "{\"address\":[\"127.0.0.1\",%d]}", port);
		ck_assert_int_eq(hx_list_handles(&hx_c, (long long[4]){ 0 }, 4), 0);
		hx_fd_back(base);
	}
}
END_TEST

/* ---- 3. the echo with a passed listener ---- */

/* A daemon TCP socket (its handle) connected by socket.connect_to to a
 * listener of ours (*lfd), whose accepted end is *sfd. */
static long long connected_handle(int *lfd, int *sfd)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	long long h;

	*lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(*lfd, 0);
	ck_assert_int_eq(bind(*lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(*lfd, 1), 0);
	h = hx_geti(hx_ok(&hx_c, "socket.connect_to", "{\"address\":[\"127.0.0.1\",%d]}", hx_fd_port(*lfd)), "handle");
	*sfd = accept4(*lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(*sfd, 0);
	return h;
}

/* A socket closed by a request while data for its parked recv arrives:
 * SIGSTOP holds the daemon so that both wait for one epoll batch. The close
 * wins (it came first), the recv fails EBADF, and the daemon goes on; the
 * socket's memory is freed only after the batch (the ASan build checks). */
START_TEST(close_in_same_batch)
{
	int base = hx_fd_mark();
	int lfd, sfd, st;
	long long hc = connected_handle(&lfd, &sfd);

	/* A parked recv puts the socket in the daemon's epoll set; the ping's
	 * answer says the recv was read first. */
	hx_send(&hx_c, "parked", "socket.recv", hx_fmt("{\"handle\":%lld,\"bufsize\":4}", hc));
	hx_ping(&hx_c);
	ck_assert_int_eq(kill(hx_d.pid, SIGSTOP), 0);
	ck_assert_int_eq(waitpid(hx_d.pid, &st, WUNTRACED), hx_d.pid);
	ck_assert(WIFSTOPPED(st));
	hx_send(&hx_c, "close", "socket.close", hx_fmt("{\"handle\":%lld}", hc));
	ck_assert_int_eq(send(sfd, "data", 4, MSG_NOSIGNAL), 4);
	ck_assert_int_eq(kill(hx_d.pid, SIGCONT), 0);
	hx_expect_ok(hx_await(&hx_c, "close"), "socket.close");
	hx_expect_os(hx_await(&hx_c, "parked"), "EBADF", "the parked recv of a closed socket");
	hx_ping(&hx_c);
	close(sfd);
	close(lfd);
	hx_fd_back(base);
}
END_TEST

/* A socket reset by its peer while nobody waits on it must not keep the
 * loop busy: EPOLLERR/EPOLLHUP come whatever the interest, so an idle socket
 * leaves the epoll set. Counted through admin.stats' loop_events across a
 * parked 0.2 s ping (a spinning loop delivers thousands). */
START_TEST(reset_socket_stays_quiet)
{
	int base = hx_fd_mark();
	struct linger lg = { 1, 0 };
	long long before, after;
	json_object *r;
	int lfd, sfd;
	/* connect_to waits for EPOLLOUT, so the socket has been in the epoll set. */
	long long hc = connected_handle(&lfd, &sfd);

	ck_assert_int_eq(setsockopt(sfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(sfd);
	/* The reset has arrived once a recv reports it. */
	hx_os_err(&hx_c, "ECONNRESET", "socket.recv", "{\"handle\":%lld,\"bufsize\":4}", hc);
	before = hx_geti(hx_ok(&hx_c, "admin.stats", "{}"), "server.loop_events");
	r = hx_ok(&hx_c, "daemon.ping", "{\"delay\":0.2}");
	ck_assert(json_object_get_boolean(jpath(r, "pong")));
	after = hx_geti(hx_ok(&hx_c, "admin.stats", "{}"), "server.loop_events");
	ck_assert_msg(after - before < 50, "%lld descriptor events in a quiet 0.2 s: the loop spins", after - before);
	hx_close_handle(&hx_c, hc);
	close(lfd);
	hx_fd_back(base);
}
END_TEST

/* ---- AF_UNIX listeners and addresses ---- */

START_TEST(unix_listener_and_abstract)
{
	int base = hx_fd_mark();
	json_object *r;
	long long hl, hc, hs, hx;
	const char *path = hx_fmt("%s/echo.sock", hx_d.dir);
	const char *abs = hx_fmt("sbtest-%d-%lld", (int)getpid(), hx_mono_ms());

	r = hx_ok(&hx_c, "socket.listen_on", "{\"family\":\"AF_UNIX\",\"address\":\"%s\"}", path);
	hl = hx_geti(r, "handle");
	hx_expect_str(r, "local.path", path);
	r = hx_ok(&hx_c, "socket.create", "{\"family\":\"AF_UNIX\"}");
	hc = hx_geti(r, "handle");
	hx_ok(&hx_c, "socket.connect", "{\"handle\":%lld,\"address\":{\"path\":\"%s\"}}", hc, path);
	r = hx_ok(&hx_c, "socket.accept", "{\"handle\":%lld}", hl);
	hs = hx_geti(r, "handle");
	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", hs);
	hx_expect_str(r, "family", "AF_UNIX");
	hx_expect_str(r, "local.path", path);
	r = hx_ok(&hx_c, "socket.getpeername", "{\"handle\":%lld}", hc);
	hx_expect_str(r, "address.path", path);
	hx_ok(&hx_c, "socket.sendall", "{\"handle\":%lld,\"text\":\"unix\"}", hc);
	hx_recv_exact(&hx_c, hs, "unix", 4);
	hx_close_handle(&hx_c, hs);
	hx_close_handle(&hx_c, hc);
	hx_close_handle(&hx_c, hl);
	unlink(path);

	/* An abstract name, both ways. */
	hx = hx_new_handle(&hx_c, "{\"family\":\"AF_UNIX\",\"type\":\"SOCK_DGRAM\"}");
	hx_ok(&hx_c, "socket.bind", "{\"handle\":%lld,\"address\":{\"abstract\":\"%s\"}}", hx, abs);
	r = hx_ok(&hx_c, "socket.getsockname", "{\"handle\":%lld}", hx);
	hx_expect_str(r, "address.abstract", abs);
	hc = hx_new_handle(&hx_c, "{\"family\":\"AF_UNIX\",\"type\":\"SOCK_DGRAM\"}");
	r = hx_ok(&hx_c, "socket.sendto", "{\"handle\":%lld,\"text\":\"abs\",\"address\":{\"abstract\":\"%s\"}}", hc, abs);
	ck_assert_int_eq(hx_geti(r, "sent"), 3);
	r = hx_ok(&hx_c, "socket.recv", "{\"handle\":%lld,\"bufsize\":10}", hx);
	hx_expect_str(r, "data", "YWJz");
	/* Binding the same abstract name again: EADDRINUSE. */
	hx_os_err(&hx_c, "EADDRINUSE", "socket.bind", "{\"handle\":%lld,\"address\":{\"abstract\":\"%s\"}}", hc, abs);
	hx_close_handle(&hx_c, hc);
	hx_close_handle(&hx_c, hx);
	hx_fd_back(base);
}
END_TEST

/* A datagram with a descriptor to a UNIX path: sent as the caller, off the
 * loop, with the daemon's own duplicate of the descriptor, which it closes
 * once the message is out (the pipe reaches EOF when ours and the receiver's
 * copies close). */
START_TEST(unix_sendmsg_to_path_passes_fd)
{
	int base = hx_fd_mark();
	json_object *r;
	long long hr, hs;
	int p[2], got;
	char c = 0;
	const char *path = hx_fmt("%s/dgram.sock", hx_d.dir);

	hr = hx_new_handle(&hx_c, "{\"family\":\"AF_UNIX\",\"type\":\"SOCK_DGRAM\"}");
	hx_ok(&hx_c, "socket.bind", "{\"handle\":%lld,\"address\":{\"path\":\"%s\"}}", hr, path);
	hs = hx_new_handle(&hx_c, "{\"family\":\"AF_UNIX\",\"type\":\"SOCK_DGRAM\"}");
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	hx_send_fds(&hx_c, "smp", "socket.sendmsg",
	             hx_fmt("{\"handle\":%lld,\"buffers\":[\"eA==\"],\"address\":{\"path\":\"%s\"},\"fds\":1}", hs, path),
	             &p[1], 1);
	r = hx_expect_ok(hx_await(&hx_c, "smp"), "sendmsg to a path with a descriptor");
	ck_assert_int_eq(hx_geti(r, "sent"), 1);
	close(p[1]);
	r = hx_ok(&hx_c, "socket.recvmsg", "{\"handle\":%lld,\"bufsize\":16,\"ancbufsize\":64}", hr);
	hx_expect_str(r, "data", "eA==");
	ck_assert_int_eq(hx_geti(r, "fds"), 1);
	got = hx_take_fd(&hx_c);
	ck_assert_int_eq(write(got, "Z", 1), 1);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	ck_assert_int_eq(c, 'Z');
	close(got);
	/* No copy left in the daemon. */
	hx_wait_fd(p[0], POLLIN);
	ck_assert_int_eq(read(p[0], &c, 1), 0);
	close(p[0]);
	/* Relative and non-canonical paths are refused before anything is sent. */
	hx_err(&hx_c, -32602, "socket.sendto", "{\"handle\":%lld,\"text\":\"x\",\"address\":{\"path\":\"%s/../dgram.sock\"}}",
	    hs, hx_d.dir);
	hx_err(&hx_c, -32602, "socket.connect", "{\"handle\":%lld,\"address\":{\"path\":\"dgram.sock\"}}", hs);
	hx_close_handle(&hx_c, hs);
	hx_close_handle(&hx_c, hr);
	unlink(path);
	hx_fd_back(base);
}
END_TEST

/* ---- 4. UDP sendto / recvfrom ---- */

START_TEST(udp_sendto_recvfrom)
{
	int base = hx_fd_mark();
	json_object *r;
	long long ha, hb;
	int pa, pb;

	ha = hx_new_handle(&hx_c, "{\"family\":\"AF_INET\",\"type\":\"SOCK_DGRAM\"}");
	hb = hx_new_handle(&hx_c, "{\"family\":\"AF_INET\",\"type\":\"SOCK_DGRAM\"}");
	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", ha);
	hx_expect_str(r, "type", "SOCK_DGRAM");
	hx_ok(&hx_c, "socket.bind", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",0]}", ha);
	hx_ok(&hx_c, "socket.bind", "{\"handle\":%lld,\"address\":{\"host\":\"127.0.0.1\",\"port\":0}}", hb);
	pa = hx_handle_port(&hx_c, ha);
	pb = hx_handle_port(&hx_c, hb);
	r = hx_ok(&hx_c, "socket.sendto", "{\"handle\":%lld,\"data\":\"dWRwIQ==\",\"address\":[\"127.0.0.1\",%d]}", ha, pb);
	ck_assert_int_eq(hx_geti(r, "sent"), 4);
	r = hx_ok(&hx_c, "socket.recvfrom", "{\"handle\":%lld,\"bufsize\":100}", hb);
	hx_expect_str(r, "data", "dWRwIQ==");
	hx_expect_str(r, "address.host", "127.0.0.1");
	ck_assert_int_eq(hx_geti(r, "address.port"), pa);
	/* And back, with text. */
	r = hx_ok(&hx_c, "socket.sendto", "{\"handle\":%lld,\"text\":\"back\",\"address\":{\"host\":\"127.0.0.1\",\"port\":%d}}",
	       hb, pa);
	ck_assert_int_eq(hx_geti(r, "sent"), 4);
	r = hx_ok(&hx_c, "socket.recvfrom", "{\"handle\":%lld,\"bufsize\":100}", ha);
	hx_expect_str(r, "data", "YmFjaw==");
	ck_assert_int_eq(hx_geti(r, "address.port"), pb);
	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", ha);
	ck_assert_int_eq(hx_geti(r, "bytes_out"), 4);
	ck_assert_int_eq(hx_geti(r, "bytes_in"), 4);
	hx_close_handle(&hx_c, ha);
	hx_close_handle(&hx_c, hb);
	hx_fd_back(base);
}
END_TEST

/* ---- 5. AF_UNIX pair passing a descriptor with sendmsg / recvmsg ---- */

START_TEST(unix_pair_passes_fd)
{
	int base = hx_fd_mark();
	json_object *r;
	long long a, b;
	int p[2], got;
	char c = 0;
	struct pollfd pf;

	r = hx_ok(&hx_c, "socket.pair", "{}");
	a = hx_geti(r, "handles.0");
	b = hx_geti(r, "handles.1");
	hx_expect_str(r, "family", "AF_UNIX");
	ck_assert(a != b);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	hx_send_fds(&hx_c, "sm", "socket.sendmsg", hx_fmt("{\"handle\":%lld,\"buffers\":[\"eA==\"],\"fds\":1}", a), &p[1], 1);
	r = hx_expect_ok(hx_await(&hx_c, "sm"), "sendmsg with a descriptor");
	ck_assert_int_eq(hx_geti(r, "sent"), 1);
	close(p[1]);

	r = hx_ok(&hx_c, "socket.recvmsg", "{\"handle\":%lld,\"bufsize\":16,\"ancbufsize\":64}", b);
	hx_expect_str(r, "data", "eA==");
	ck_assert_int_eq(hx_geti(r, "fds"), 1);
	ck_assert_msg(json_object_is_type(jpath(r, "ancdata"), json_type_array), "ancdata: %s",
	              json_object_to_json_string(r));
	got = hx_take_fd(&hx_c);
	ck_assert_int_eq(write(got, "Z", 1), 1);
	hx_wait_fd(p[0], POLLIN);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	ck_assert_int_eq(c, 'Z');
	close(got);
	/* Every write end is gone: the daemon kept no copy of the pipe. */
	hx_wait_fd(p[0], POLLIN);
	pf.fd = p[0];
	pf.events = POLLIN;
	ck_assert_int_eq(poll(&pf, 1, 0), 1);
	ck_assert_int_eq(read(p[0], &c, 1), 0);
	close(p[0]);

	/* Both ways: a descriptor sent from b arrives on a too. */
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	hx_send_fds(&hx_c, "sm2", "socket.sendmsg", hx_fmt("{\"handle\":%lld,\"buffers\":[\"eQ==\",\"eg==\"],\"fds\":1}", b),
	             &p[0], 1);
	r = hx_expect_ok(hx_await(&hx_c, "sm2"), "sendmsg with two buffers");
	ck_assert_int_eq(hx_geti(r, "sent"), 2);
	close(p[0]);
	r = hx_ok(&hx_c, "socket.recvmsg", "{\"handle\":%lld,\"bufsize\":16,\"ancbufsize\":%zu}", a,
	          (size_t)CMSG_SPACE(sizeof(int)));
	hx_expect_str(r, "data", "eXo=");
	ck_assert_int_eq(hx_geti(r, "fds"), 1);
	got = hx_take_fd(&hx_c);
	ck_assert_int_eq(write(p[1], "Q", 1), 1);
	ck_assert_int_eq(read(got, &c, 1), 1);
	ck_assert_int_eq(c, 'Q');
	close(got);
	close(p[1]);

	/* Sixteen descriptors in one message (the default per-message limit),
	 * each arriving as its own descriptor. */
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	{
		int many[16];
		for (int i = 0; i < 16; i++)
			many[i] = p[1];
		hx_send_fds(&hx_c, "sm16", "socket.sendmsg", hx_fmt("{\"handle\":%lld,\"buffers\":[\"MTY=\"],\"fds\":16}", a),
		             many, 16);
	}
	hx_expect_ok(hx_await(&hx_c, "sm16"), "sendmsg with 16 descriptors");
	close(p[1]);
	r = hx_ok(&hx_c, "socket.recvmsg", "{\"handle\":%lld,\"bufsize\":16,\"ancbufsize\":%zu}", b,
	          (size_t)CMSG_SPACE(16 * sizeof(int)));
	hx_expect_str(r, "data", "MTY=");
	ck_assert_int_eq(hx_geti(r, "fds"), 16);
	ck_assert_int_eq(hx_c.nfds, 16);
	/* Python's flags: none (the daemon's own MSG_CMSG_CLOEXEC is not one). */
	ck_assert_msg(json_object_is_type(jpath(r, "msg_flags"), json_type_array) &&
	              json_object_array_length(jpath(r, "msg_flags")) == 0,
	              "msg_flags: %s", json_object_to_json_string(r));
	for (size_t i = 0; i < hx_c.nfds; i++)
		close(hx_c.fds[i]);
	hx_c.nfds = 0;
	hx_wait_fd(p[0], POLLIN);
	ck_assert_int_eq(read(p[0], &c, 1), 0);
	close(p[0]);

	/* Descriptors travel only as the request's own: an SCM_RIGHTS entry in
	 * ancdata is refused, and so is SCM_CREDENTIALS. */
	hx_err(&hx_c, -32602, "socket.sendmsg",
	    "{\"handle\":%lld,\"buffers\":[\"eA==\"],\"ancdata\":[{\"level\":\"SOL_SOCKET\",\"type\":\"SCM_RIGHTS\",\"data\":\"AAAAAA==\"}]}", a);
	hx_err(&hx_c, -32602, "socket.sendmsg",
	    "{\"handle\":%lld,\"buffers\":[\"eA==\"],\"ancdata\":[{\"level\":\"SOL_SOCKET\",\"type\":\"SCM_CREDENTIALS\",\"data\":\"AAAAAAAAAAAAAAAA\"}]}", a);
	/* Nothing went out. */
	hx_ok(&hx_c, "socket.settimeout", "{\"handle\":%lld,\"timeout\":0}", b);
	hx_os_err(&hx_c, "EAGAIN", "socket.recvmsg", "{\"handle\":%lld,\"bufsize\":16}", b);

	hx_close_handle(&hx_c, a);
	hx_close_handle(&hx_c, b);
	hx_fd_back(base);
}
END_TEST

/* MSG_DONTWAIT means "do not wait" whatever the socket's timeout (null here). */
START_TEST(msg_dontwait_never_parks)
{
	int base = hx_fd_mark();
	json_object *r = hx_ok(&hx_c, "socket.pair", "{}");
	long long a = hx_geti(r, "handles.0"), b = hx_geti(r, "handles.1");

	hx_os_err(&hx_c, "EAGAIN", "socket.recv", "{\"handle\":%lld,\"bufsize\":8,\"flags\":[\"MSG_DONTWAIT\"]}", b);
	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", b);
	ck_assert_int_eq(hx_geti(r, "pending"), 0);
	r = hx_ok(&hx_c, "socket.send", "{\"handle\":%lld,\"text\":\"now\",\"flags\":[\"MSG_DONTWAIT\"]}", a);
	ck_assert_int_eq(hx_geti(r, "sent"), 3);
	r = hx_ok(&hx_c, "socket.recv", "{\"handle\":%lld,\"bufsize\":8,\"flags\":[\"MSG_DONTWAIT\"]}", b);
	hx_expect_str(r, "data", "bm93");
	hx_close_handle(&hx_c, a);
	hx_close_handle(&hx_c, b);
	hx_fd_back(base);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("it_socket_io");
	TCase *tc = hx_tcase(s, "io", hx_setup, hx_teardown);

	tcase_add_test(tc, echo_ipv4_handles);
	tcase_add_test(tc, accept_parks);
	tcase_add_test(tc, echo_passed_listener);
	tcase_add_test(tc, close_in_same_batch);
	tcase_add_test(tc, reset_socket_stays_quiet);
	tcase_add_test(tc, unix_listener_and_abstract);
	tcase_add_test(tc, unix_sendmsg_to_path_passes_fd);
	tcase_add_test(tc, udp_sendto_recvfrom);
	tcase_add_test(tc, unix_pair_passes_fd);
	tcase_add_test(tc, msg_dontwait_never_parks);
	return s;
}

int main(void)
{
	return hx_main(suite());
}
