/* Integration: libsockbroker's typed helpers (sb_listen, sb_connect_tcp,
 * sb_socket) against the real daemon. Every descriptor they return is used for
 * real (accept, connect, send, recv), and the descriptor counts of this
 * process and of the daemon are back to their baseline after each test. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "sockbroker.h"

static struct sbd D;
static sb_client *C;
static int self_base, daemon_base;

/* A round trip: the daemon has finished with everything before it (accepted
 * the connection, closed its copies of descriptors it handed over). */
static void round_trip(void)
{
	sb_reply *r = NULL;

	ck_assert_int_eq(sb_call(C, "daemon.ping", NULL, NULL, 0, &r), 0);
	ck_assert(sb_reply_ok(r));
	sb_reply_free(r);
}

static void setup(void)
{
	ck_assert_int_eq(sbd_start(&D, NULL), 0);
	ck_assert_int_eq(sb_connect(D.sock, &C), 0);
	sb_set_timeout(C, 20000);
	round_trip();
	self_base = self_fd_count();
	daemon_base = sbd_fd_count(&D);
	ck_assert_int_ge(daemon_base, 0);
}

static void teardown(void)
{
	/* Everything the test got is closed, and the daemon keeps nothing for it
	 * (no handle left behind by a helper). */
	round_trip();
	ck_assert_int_eq(self_fd_count(), self_base);
	ck_assert_int_eq(sbd_fd_count(&D), daemon_base);
	sb_close(C);
	C = NULL;
	ck_assert_int_eq(sbd_stop(&D), 0);
}

static int sockopt_int(int fd, int level, int opt)
{
	int v = -1;
	socklen_t l = sizeof(v);

	ck_assert_int_eq(getsockopt(fd, level, opt, &v, &l), 0);
	return v;
}

/* A listener of our own on 127.0.0.1, port chosen by the kernel. */
static int own_listener(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	*port = hx_fd_port(fd);
	return fd;
}

/* A loopback port nobody listens on (bound, then closed). */
static int closed_port(void)
{
	int port, fd = own_listener(&port);

	close(fd);
	return port;
}

/* Connects a socket of our own to 127.0.0.1:port. */
static int own_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Sends "ping" one way and "pong" back over two connected stream sockets. */
static void exchange(int a, int b)
{
	char buf[8];

	ck_assert_int_eq(send(a, "ping", 4, MSG_NOSIGNAL), 4);
	ck_assert_int_eq(recv(b, buf, 4, MSG_WAITALL), 4);
	ck_assert(memcmp(buf, "ping", 4) == 0);
	ck_assert_int_eq(send(b, "pong", 4, MSG_NOSIGNAL), 4);
	ck_assert_int_eq(recv(a, buf, 4, MSG_WAITALL), 4);
	ck_assert(memcmp(buf, "pong", 4) == 0);
}

/* A descriptor as the helpers promise it: CLOEXEC, blocking. */
static void check_fd(int fd)
{
	ck_assert_int_ge(fd, 0);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ck_assert(!(fcntl(fd, F_GETFL) & O_NONBLOCK));
}

/* The error reply's data.name. */
static void check_err_name(sb_reply *err, int code, const char *name)
{
	json_object *d;

	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(sb_reply_error_code(err), code);
	ck_assert_ptr_nonnull(sb_reply_error_message(err));
	d = json_tokener_parse(sb_reply_error_data(err));
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(jpath_str(d, "name"), name);
	json_object_put(d);
}

START_TEST(listen_tcp_accepts)
{
	sb_reply *err = (sb_reply *)1;
	int fd = sb_listen(C, "tcp:127.0.0.1:0", 16, &err), cl, sv, port;

	ck_assert_msg(fd >= 0, "sb_listen: %s", sb_strerror(fd));
	ck_assert_ptr_null(err);
	check_fd(fd);
	ck_assert_int_eq(sockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
	ck_assert_int_eq(sockopt_int(fd, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
	ck_assert_int_eq(sockopt_int(fd, SOL_SOCKET, SO_REUSEADDR), 1);
	port = hx_fd_port(fd);
	ck_assert_int_gt(port, 0);
	cl = own_connect(port);
	sv = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(sv, 0);
	exchange(cl, sv);
	close(sv);
	close(cl);
	close(fd);
}
END_TEST

START_TEST(listen_tcp_name)
{
	/* A host name goes through net.getaddrinfo (AI_PASSIVE). */
	int fd = sb_listen(C, "tcp:localhost:0", -1, NULL);

	ck_assert_msg(fd >= 0, "sb_listen: %s", sb_strerror(fd));
	ck_assert_int_eq(sockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
	close(fd);
}
END_TEST

START_TEST(listen_tcp_ipv6)
{
	sb_reply *err = NULL;
	int fd = sb_listen(C, "tcp:[::1]:0", -1, &err);

	if (fd == -EADDRNOTAVAIL || fd == -EAFNOSUPPORT) {
		printf("SKIP listen_tcp_ipv6: no IPv6 loopback (%s)\n", sb_strerror(fd));
		sb_reply_free(err);
		return;
	}
	ck_assert_msg(fd >= 0, "sb_listen: %s", sb_strerror(fd));
	ck_assert_int_eq(sockopt_int(fd, SOL_SOCKET, SO_DOMAIN), AF_INET6);
	ck_assert_int_eq(sockopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY), 1);
	ck_assert_int_eq(sockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
	close(fd);
}
END_TEST

START_TEST(listen_tcp_in_use)
{
	sb_reply *err = NULL;
	int port, own = own_listener(&port), fd;
	char spec[64];

	snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%d", port);
	fd = sb_listen(C, spec, -1, &err);
	ck_assert_int_eq(fd, -EADDRINUSE);
	check_err_name(err, SB_OS_ERROR, "EADDRINUSE");
	ck_assert_int_eq(sb_reply_errno(err), -EADDRINUSE);
	sb_reply_free(err);
	/* Without err the failure is the same, and nothing leaks. */
	ck_assert_int_eq(sb_listen(C, spec, -1, NULL), -EADDRINUSE);
	close(own);
}
END_TEST

START_TEST(listen_udp_bound)
{
	sb_reply *err = (sb_reply *)1;
	int fd = sb_listen(C, "udp:127.0.0.1:0", -1, &err), port, cl;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char buf[16];

	ck_assert_msg(fd >= 0, "sb_listen: %s", sb_strerror(fd));
	ck_assert_ptr_null(err);
	check_fd(fd);
	ck_assert_int_eq(sockopt_int(fd, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
	port = hx_fd_port(fd);
	ck_assert_int_gt(port, 0);
	cl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(cl, 0);
	sa.sin_port = htons((uint16_t)port);
	ck_assert_int_eq(sendto(cl, "datagram", 8, 0, (struct sockaddr *)&sa, sizeof(sa)), 8);
	ck_assert_int_eq(recv(fd, buf, sizeof(buf), 0), 8);
	ck_assert(memcmp(buf, "datagram", 8) == 0);
	close(cl);
	close(fd);
}
END_TEST

START_TEST(listen_udp_in_use)
{
	/* The bind fails after socket.create: the handle is closed again (the
	 * teardown checks the daemon's descriptors) and the error is bind's. */
	sb_reply *err = NULL;
	int fd = sb_listen(C, "udp:127.0.0.1:0", -1, NULL), fd2;
	char spec[64];

	ck_assert_int_ge(fd, 0);
	snprintf(spec, sizeof(spec), "udp:127.0.0.1:%d", hx_fd_port(fd));
	fd2 = sb_listen(C, spec, -1, &err);
	ck_assert_int_eq(fd2, -EADDRINUSE);
	check_err_name(err, SB_OS_ERROR, "EADDRINUSE");
	sb_reply_free(err);
	close(fd);
}
END_TEST

START_TEST(listen_unix_path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char spec[400];
	int fd, cl, sv;

	char path[300];

	snprintf(path, sizeof(path), "%s/x.sock", D.dir);
	ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	snprintf(spec, sizeof(spec), "unix:%s", path);
	fd = sb_listen(C, spec, 4, NULL);
	ck_assert_msg(fd >= 0, "sb_listen(%s): %s", spec, sb_strerror(fd));
	check_fd(fd);
	ck_assert_int_eq(sockopt_int(fd, SOL_SOCKET, SO_DOMAIN), AF_UNIX);
	ck_assert_int_eq(sockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
	cl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(connect(cl, (struct sockaddr *)&sa, sizeof(sa)), 0);
	sv = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(sv, 0);
	exchange(cl, sv);
	close(sv);
	close(cl);
	close(fd);
	/* The path exists now: EADDRINUSE, nothing unlinked. */
	ck_assert_int_eq(sb_listen(C, spec, 4, NULL), -EADDRINUSE);
	unlink(path);
}
END_TEST

START_TEST(listen_unix_abstract)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char spec[128], name[64];
	socklen_t len;
	int fd, cl;

	snprintf(name, sizeof(name), "sockbroker-it-client-%d", (int)getpid());
	snprintf(spec, sizeof(spec), "unix:@%s", name);
	fd = sb_listen(C, spec, -1, NULL);
	ck_assert_msg(fd >= 0, "sb_listen(%s): %s", spec, sb_strerror(fd));
	memcpy(sa.sun_path + 1, name, strlen(name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	cl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(connect(cl, (struct sockaddr *)&sa, len), 0);
	close(cl);
	close(fd);
}
END_TEST

START_TEST(listen_bad_spec)
{
	sb_reply *err = (sb_reply *)1;

	ck_assert_int_eq(sb_listen(C, "sctp:1.2.3.4:5", -1, &err), -EINVAL);
	ck_assert_ptr_null(err);
	ck_assert_int_eq(sb_listen(C, "tcp:127.0.0.1", -1, &err), -EINVAL);
	ck_assert_ptr_null(err);
	ck_assert_int_eq(sb_listen(NULL, "tcp:127.0.0.1:0", -1, &err), -EINVAL);
}
END_TEST

START_TEST(connect_tcp_exchanges)
{
	sb_reply *err = (sb_reply *)1;
	int port, l = own_listener(&port), fd, sv;

	fd = sb_connect_tcp(C, "127.0.0.1", port, 5.0, &err);
	ck_assert_msg(fd >= 0, "sb_connect_tcp: %s", sb_strerror(fd));
	ck_assert_ptr_null(err);
	check_fd(fd);
	sv = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(sv, 0);
	exchange(fd, sv);
	close(sv);
	close(fd);
	/* No timeout: the connection's default. */
	fd = sb_connect_tcp(C, "127.0.0.1", port, 0, NULL);
	ck_assert_int_ge(fd, 0);
	sv = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	exchange(sv, fd);
	close(sv);
	close(fd);
	close(l);
}
END_TEST

START_TEST(connect_tcp_name_tries_addresses)
{
	/* localhost may resolve to ::1 first; the listener is on 127.0.0.1 only:
	 * the helper goes on to the next address, as create_connection does. */
	int port, l = own_listener(&port), fd, sv;
	sb_reply *err = (sb_reply *)1;

	fd = sb_connect_tcp(C, "localhost", port, 5.0, &err);
	ck_assert_msg(fd >= 0, "sb_connect_tcp(localhost): %s", sb_strerror(fd));
	ck_assert_ptr_null(err);
	sv = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(sv, 0);
	exchange(fd, sv);
	close(sv);
	close(fd);
	close(l);
}
END_TEST

START_TEST(connect_tcp_refused)
{
	sb_reply *err = NULL;
	int port = closed_port();

	ck_assert_int_eq(sb_connect_tcp(C, "127.0.0.1", port, 5.0, &err), -ECONNREFUSED);
	check_err_name(err, SB_OS_ERROR, "ECONNREFUSED");
	sb_reply_free(err);
	/* Through a name every address is refused: the last error is reported. */
	err = NULL;
	ck_assert_int_eq(sb_connect_tcp(C, "localhost", port, 5.0, &err), -ECONNREFUSED);
	check_err_name(err, SB_OS_ERROR, "ECONNREFUSED");
	sb_reply_free(err);
	ck_assert_int_eq(sb_connect_tcp(C, "127.0.0.1", port, 5.0, NULL), -ECONNREFUSED);
}
END_TEST

START_TEST(connect_tcp_bad_args)
{
	sb_reply *err = (sb_reply *)1;

	ck_assert_int_eq(sb_connect_tcp(C, "127.0.0.1", 70000, 1, &err), -EINVAL);
	ck_assert_ptr_null(err);
	ck_assert_int_eq(sb_connect_tcp(C, "", 80, 1, &err), -EINVAL);
	ck_assert_int_eq(sb_connect_tcp(C, NULL, 80, 1, &err), -EINVAL);
	ck_assert_int_eq(sb_connect_tcp(NULL, "127.0.0.1", 80, 1, &err), -EINVAL);
}
END_TEST

START_TEST(socket_dgram)
{
	sb_reply *err = (sb_reply *)1;
	int fd = sb_socket(C, AF_INET, SOCK_DGRAM, 0, &err);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	ck_assert_msg(fd >= 0, "sb_socket: %s", sb_strerror(fd));
	ck_assert_ptr_null(err);
	check_fd(fd);
	ck_assert_int_eq(sockopt_int(fd, SOL_SOCKET, SO_DOMAIN), AF_INET);
	ck_assert_int_eq(sockopt_int(fd, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
	ck_assert_int_eq(sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL), IPPROTO_UDP);
	/* A real socket: it binds and talks to itself. */
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	sa.sin_port = htons((uint16_t)hx_fd_port(fd));
	ck_assert_int_eq(sendto(fd, "self", 4, 0, (struct sockaddr *)&sa, sizeof(sa)), 4);
	{
		char buf[8];
		ck_assert_int_eq(recv(fd, buf, sizeof(buf), 0), 4);
	}
	close(fd);
}
END_TEST

START_TEST(socket_raw_icmp)
{
	sb_reply *err = NULL;
	int fd;

	if (!hx_need_root("socket_raw_icmp: a raw socket from the daemon"))
		return;
	fd = sb_socket(C, AF_INET, SOCK_RAW, IPPROTO_ICMP, &err);
	ck_assert_msg(fd >= 0, "sb_socket(raw): %s", sb_strerror(fd));
	ck_assert_ptr_null(err);
	check_fd(fd);
	ck_assert_int_eq(sockopt_int(fd, SOL_SOCKET, SO_TYPE), SOCK_RAW);
	ck_assert_int_eq(sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL), IPPROTO_ICMP);
	close(fd);
}
END_TEST

START_TEST(socket_errors)
{
	sb_reply *err = NULL;
	int fd = sb_socket(C, AF_INET, SOCK_STREAM, IPPROTO_UDP, &err);

	/* The kernel refuses the combination: an OS error with its name. */
	ck_assert_int_lt(fd, 0);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(sb_reply_errno(err), fd);
	sb_reply_free(err);
	err = NULL;
	fd = sb_socket(C, 12345, SOCK_STREAM, 0, &err);
	ck_assert_int_lt(fd, 0);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(sb_reply_errno(err), fd);
	sb_reply_free(err);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("it_client");
	TCase *tl = tcase_create("listen");
	TCase *tc = tcase_create("connect");
	TCase *ts = tcase_create("socket");

	tcase_add_checked_fixture(tl, setup, teardown);
	tcase_add_test(tl, listen_tcp_accepts);
	tcase_add_test(tl, listen_tcp_name);
	tcase_add_test(tl, listen_tcp_ipv6);
	tcase_add_test(tl, listen_tcp_in_use);
	tcase_add_test(tl, listen_udp_bound);
	tcase_add_test(tl, listen_udp_in_use);
	tcase_add_test(tl, listen_unix_path);
	tcase_add_test(tl, listen_unix_abstract);
	tcase_add_test(tl, listen_bad_spec);
	suite_add_tcase(s, tl);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, connect_tcp_exchanges);
	tcase_add_test(tc, connect_tcp_name_tries_addresses);
	tcase_add_test(tc, connect_tcp_refused);
	tcase_add_test(tc, connect_tcp_bad_args);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(ts, setup, teardown);
	tcase_add_test(ts, socket_dgram);
	tcase_add_test(ts, socket_raw_icmp);
	tcase_add_test(ts, socket_errors);
	suite_add_tcase(s, ts);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
