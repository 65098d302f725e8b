/* Integration: descriptors through the real daemon: pass, fd, detach,
 * adopt, dup. The test ends with the daemon serving and its descriptor count
 * back at its baseline. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* ---- 14. pass, fd, detach, adopt, dup ---- */

START_TEST(pass_fd_detach_adopt_dup)
{
	int base = hx_fd_mark();
	json_object *r;
	long long h, h2;
	int fd, v, sv[2], p[2], fl;
	socklen_t l = sizeof(v);
	char buf[8];

	/* socket.fd: a duplicate; the handle stays. */
	h = hx_new_handle(&hx_c, "{}");
	r = hx_ok(&hx_c, "socket.fd", "{\"handle\":%lld}", h);
	ck_assert_int_eq(hx_geti(r, "fds"), 1);
	fd = hx_take_fd(&hx_c);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l), 0);
	ck_assert_int_eq(v, AF_INET);
	close(fd);
	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", h);
	hx_expect_str(r, "family", "AF_INET");

	/* socket.detach: the descriptor, in blocking mode; the handle is gone. */
	r = hx_ok(&hx_c, "socket.detach", "{\"handle\":%lld}", h);
	ck_assert_int_eq(hx_geti(r, "fds"), 1);
	fd = hx_take_fd(&hx_c);
	fl = fcntl(fd, F_GETFL);
	ck_assert_msg(fl >= 0 && !(fl & O_NONBLOCK), "a detached socket is in blocking mode");
	l = sizeof(v);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l), 0);
	ck_assert_int_eq(v, SOCK_STREAM);
	close(fd);
	hx_err(&hx_c, -32011, "socket.info", "{\"handle\":%lld}", h);
	hx_err(&hx_c, -32011, "socket.detach", "{\"handle\":%lld}", h);
	hx_fd_back(base);

	/* pass on create and pair. */
	r = hx_ok(&hx_c, "socket.create", "{\"type\":\"SOCK_DGRAM\",\"pass\":true}");
	ck_assert_int_eq(hx_geti(r, "fds"), 1);
	ck_assert_msg(jpath(r, "handle") == NULL, "pass gives no handle");
	hx_expect_str(r, "type", "SOCK_DGRAM");
	fd = hx_take_fd(&hx_c);
	l = sizeof(v);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l), 0);
	ck_assert_int_eq(v, SOCK_DGRAM);
	close(fd);
	r = hx_ok(&hx_c, "socket.pair", "{\"pass\":true}");
	ck_assert_int_eq(hx_geti(r, "fds"), 2);
	ck_assert_int_eq(hx_c.nfds, 2);
	ck_assert_int_eq(write(hx_c.fds[0], "ab", 2), 2);
	ck_assert_int_eq(read(hx_c.fds[1], buf, 2), 2);
	ck_assert_int_eq(memcmp(buf, "ab", 2), 0);
	close(hx_c.fds[0]);
	close(hx_c.fds[1]);
	hx_c.nfds = 0;
	ck_assert_int_eq(hx_list_handles(&hx_c, (long long[4]){ 0 }, 4), 0);
	hx_fd_back(base);

	/* adopt: family, type and proto read from the descriptor. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	hx_send_fds(&hx_c, "ad", "socket.adopt", "{\"fds\":1}", &sv[0], 1);
	r = hx_expect_ok(hx_await(&hx_c, "ad"), "adopt");
	h = hx_geti(r, "handle");
	hx_expect_str(r, "family", "AF_UNIX");
	hx_expect_str(r, "type", "SOCK_DGRAM");
	close(sv[0]);
	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", h);
	hx_expect_str(r, "family", "AF_UNIX");
	r = hx_ok(&hx_c, "socket.send", "{\"handle\":%lld,\"text\":\"hi\"}", h);
	ck_assert_int_eq(hx_geti(r, "sent"), 2);
	ck_assert_int_eq(recv(sv[1], buf, sizeof(buf), 0), 2);
	ck_assert_int_eq(memcmp(buf, "hi", 2), 0);
	ck_assert_int_eq(send(sv[1], "yo", 2, 0), 2);
	r = hx_ok(&hx_c, "socket.recv", "{\"handle\":%lld,\"bufsize\":8}", h);
	hx_expect_str(r, "data", "eW8=");

	/* dup: a second handle for the same socket. */
	r = hx_ok(&hx_c, "socket.dup", "{\"handle\":%lld}", h);
	h2 = hx_geti(r, "handle");
	ck_assert(h2 != h);
	hx_close_handle(&hx_c, h);
	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", h2);
	hx_expect_str(r, "family", "AF_UNIX");
	hx_expect_str(r, "type", "SOCK_DGRAM");
	r = hx_ok(&hx_c, "socket.send", "{\"handle\":%lld,\"text\":\"d\"}", h2);
	ck_assert_int_eq(recv(sv[1], buf, sizeof(buf), 0), 1);
	hx_close_handle(&hx_c, h2);
	close(sv[1]);
	hx_fd_back(base);

	/* A pipe is not a socket: refused, and the daemon keeps no copy. */
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	hx_send_fds(&hx_c, "ap", "socket.adopt", "{\"fds\":1}", &p[1], 1);
	hx_expect_os(hx_await(&hx_c, "ap"), "ENOTSOCK", "adopt of a pipe");
	close(p[1]);
	hx_wait_fd(p[0], POLLIN);
	ck_assert_int_eq(read(p[0], buf, 1), 0);
	close(p[0]);
	ck_assert_int_eq(hx_list_handles(&hx_c, (long long[4]){ 0 }, 4), 0);
	/* adopt without a descriptor. */
	hx_err(&hx_c, -32602, "socket.adopt", "{}");
	hx_fd_back(base);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("it_socket_fds");
	TCase *tc = hx_tcase(s, "descriptors", hx_setup, hx_teardown);

	tcase_add_test(tc, pass_fd_detach_adopt_dup);
	return s;
}

int main(void)
{
	return hx_main(suite());
}
