/* Unit tests of what travels with handed-on sockets (daemon/fdstate.c):
 * descriptor names (plain, escaped, the longest, too long, bad escapes,
 * a NUL, another prefix), the state memfd (sealed, read back, a broken or
 * oversize one refused), and adoption: held sockets back in the table with
 * their owner, put time, retrievals and expiry (an expired one closed), one
 * without its state entry kept with an unknown owner, declared ones kept
 * for the declared table, names nobody knows left to the caller. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/fdstate.h"
#include "daemon/hold.h"
#include "daemon/server.h"
#include "util.h"
#include "unit.h"

START_TEST(names)
{
	char out[FDNAME_MAX + 1], back[HOLD_NAME_MAX + 1], big[3 * HOLD_NAME_MAX + 16];
	char longest[HOLD_NAME_MAX + 1];

	ck_assert_int_eq(fdname_encode(FDNAME_HELD, "web", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "held.web");
	ck_assert_int_eq(fdname_encode(FDNAME_HELD, "a:b %c\xc3\xa9", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "held.a%3Ab%20%25c%C3%A9");
	ck_assert_int_eq(fdname_decode(out, FDNAME_HELD, back, sizeof(back)), 0);
	ck_assert_str_eq(back, "a:b %c\xc3\xa9");
	/* 200 plain bytes fit systemd's 255; 200 escaped ones do not, but fit a restart's buffer. */
	memset(longest, 'x', HOLD_NAME_MAX);
	longest[HOLD_NAME_MAX] = '\0';
	ck_assert_int_eq(fdname_encode(FDNAME_HELD, longest, out, sizeof(out)), 0);
	memset(longest, ':', HOLD_NAME_MAX);
	ck_assert_int_eq(fdname_encode(FDNAME_HELD, longest, out, sizeof(out)), -ENAMETOOLONG);
	ck_assert_int_eq(fdname_encode(FDNAME_HELD, longest, big, sizeof(big)), 0);
	ck_assert_int_eq(fdname_decode(big, FDNAME_HELD, back, sizeof(back)), 0);
	ck_assert_str_eq(back, longest);
	/* Bad ones. */
	ck_assert_int_eq(fdname_decode("decl.web", FDNAME_HELD, back, sizeof(back)), -EINVAL);
	ck_assert_int_eq(fdname_decode("held.%4", FDNAME_HELD, back, sizeof(back)), -EINVAL);
	ck_assert_int_eq(fdname_decode("held.%zz", FDNAME_HELD, back, sizeof(back)), -EINVAL);
	ck_assert_int_eq(fdname_decode("held.%00x", FDNAME_HELD, back, sizeof(back)), -EINVAL);
	ck_assert_int_eq(fdname_decode("held.", FDNAME_HELD, back, sizeof(back)), -EINVAL);
	ck_assert_int_eq(fdname_decode("held.abcdef", FDNAME_HELD, back, 4), -ENAMETOOLONG);
}
END_TEST

START_TEST(memfd)
{
	json_object *st = json_object_new_object(), *back = NULL;
	int fd, bad;

	json_object_object_add(st, "version", json_object_new_int(1));
	fd = fdstate_memfd(st);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GET_SEALS) & F_SEAL_WRITE, F_SEAL_WRITE);
	ck_assert_int_lt(write(fd, "x", 1), 0);
	ck_assert_int_eq(fdstate_read(fd, &back), 0);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(back, "version")), 1);
	json_object_put(back);
	close(fd);
	json_object_put(st);
	/* Not JSON, empty, not an object, a socket. */
	bad = memfd_create("t", MFD_CLOEXEC);
	ck_assert_int_eq(write(bad, "{ nope", 6), 6);
	ck_assert_int_eq(fdstate_read(bad, &back), -EINVAL);
	ck_assert_ptr_null(back);
	ck_assert_int_eq(ftruncate(bad, 0), 0);
	ck_assert_int_eq(fdstate_read(bad, &back), -EINVAL);
	ck_assert_int_eq(pwrite(bad, "[1]", 3, 0), 3);
	ck_assert_int_eq(fdstate_read(bad, &back), -EINVAL);
	/* Past FDSTATE_MAX_BYTES (sparse: nothing written). */
	ck_assert_int_eq(ftruncate(bad, (off_t)FDSTATE_MAX_BYTES + 1), 0);
	ck_assert_int_eq(fdstate_read(bad, &back), -EINVAL);
	close(bad);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(fdstate_read(fd, &back), -EINVAL);
	close(fd);
}
END_TEST

static int udp(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	return fd;
}

static void inode(int fd, struct stat *st)
{
	ck_assert_int_eq(fstat(fd, st), 0);
}

START_TEST(adopt)
{
	struct server *s = calloc(1, sizeof(*s)), *s2 = calloc(1, sizeof(*s2));
	const struct hold_owner who = { 1000, 100, 42, "/usr/bin/x", NULL };
	struct held *h;
	struct fdstate_fd v[6];
	json_object *state;
	struct stat a, b;
	size_t n = 0;
	int base = count_fds(), fd;

	ck_assert_int_eq(hold_table_init(&s->holds, NULL, 100), 0);
	ck_assert_int_eq(hold_table_init(&s2->holds, NULL, 100), 0);
	ck_assert_int_eq(hold_put(&s->holds, "web:1", udp(), &who, 0, &h), 0);
	h->retrievals = 3;
	ck_assert_int_eq(hold_put(&s->holds, "soon", udp(), &who, 3600, NULL), 0);
	state = fdstate_describe(s);
	ck_assert_ptr_nonnull(json_object_object_get(json_object_object_get(state, "held"), "held.web%3A1"));
	/* An entry whose expiry passed while it travelled. */
	json_object_object_add(json_object_object_get(json_object_object_get(state, "held"), "held.soon"), "expires",
	                       json_object_new_double(1.0));

	inode(h->fd, &a);
	v[n++] = (struct fdstate_fd){ fcntl(h->fd, F_DUPFD_CLOEXEC, 3), strdup("held.web%3A1"), NULL };
	v[n++] = (struct fdstate_fd){ fcntl(hold_find(&s->holds, "soon")->fd, F_DUPFD_CLOEXEC, 3), strdup("held.soon"), NULL };
	v[n++] = (struct fdstate_fd){ udp(), strdup("held.nostate"), NULL };
	v[n++] = (struct fdstate_fd){ udp(), strdup("held.%zz"), NULL };
	v[n++] = (struct fdstate_fd){ udp(), strdup("control"), NULL };
	v[n++] = (struct fdstate_fd){ udp(), NULL, NULL };
	ck_assert_int_eq(fdstate_adopt(s2, v, &n, state), 0);
	/* control and the unnamed one are left, in order. */
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(v[0].name, "control");
	ck_assert_ptr_null(v[1].name);
	h = hold_find(&s2->holds, "web:1");
	ck_assert_ptr_nonnull(h);
	inode(h->fd, &b);
	ck_assert(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	ck_assert_uint_eq(h->uid, 1000);
	ck_assert_uint_eq(h->gid, 100);
	ck_assert_int_eq(h->pid, 42);
	ck_assert_str_eq(h->exe, "/usr/bin/x");
	ck_assert_uint_eq(h->retrievals, 3);
	ck_assert(h->put_time == hold_find(&s->holds, "web:1")->put_time);
	ck_assert_ptr_null(hold_find(&s2->holds, "soon"));
	h = hold_find(&s2->holds, "nostate");
	ck_assert_ptr_nonnull(h);
	ck_assert_uint_eq(h->uid, (uid_t)-1);
	ck_assert_ptr_null(h->exe);
	ck_assert_uint_eq(s2->holds.n, 2);
	for (size_t i = 0; i < n; i++) {
		close(v[i].fd);
		free(v[i].name);
	}
	json_object_put(state);
	hold_table_free(&s->holds);
	hold_table_free(&s2->holds);
	free(s);
	free(s2);
	ck_assert_int_eq(count_fds(), base);
	(void)fd;
}
END_TEST

START_TEST(adopt_state_fd_and_declared)
{
	struct server *s = calloc(1, sizeof(*s));
	struct fdstate_fd v[3];
	json_object *st = json_object_new_object(), *decl = json_object_new_object(), *e = json_object_new_object();
	size_t n = 0;
	int base = count_fds();

	ck_assert_int_eq(hold_table_init(&s->holds, NULL, 100), 0);
	json_object_object_add(e, "fingerprint", json_object_new_string("00"));
	json_object_object_add(decl, "decl.dweb", e);
	json_object_object_add(st, "declared", decl);
	/* The state as a descriptor among the others (systemd's store). */
	v[n++] = (struct fdstate_fd){ udp(), strdup("decl.dweb"), NULL };
	v[n++] = (struct fdstate_fd){ fdstate_memfd(st), strdup(FDNAME_STATE), NULL };
	v[n++] = (struct fdstate_fd){ udp(), strdup("http"), NULL };
	ck_assert_int_eq(fdstate_adopt(s, v, &n, NULL), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0].name, "http");
	ck_assert_uint_eq(s->declared.ninh, 1);
	ck_assert_str_eq(s->declared.inh[0].name, "dweb");
	ck_assert_str_eq(s->declared.inh[0].fingerprint, "00");
	close(v[0].fd);
	free(v[0].name);
	declared_table_free(&s->declared);
	hold_table_free(&s->holds);
	json_object_put(st);
	free(s);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fdstate");
	TCase *tc = tcase_create("fdstate");

	tcase_add_test(tc, names);
	tcase_add_test(tc, memfd);
	tcase_add_test(tc, adopt);
	tcase_add_test(tc, adopt_state_fd_and_declared);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
