/* Unit tests of the held-socket table (daemon/hold.c): names (empty, too
 * long, NUL, '/', leading '.', bad UTF-8, control bytes; the longest
 * allowed), uniqueness, the limit exactly at max, a non-socket refused,
 * kind and local address read back from the kernel, duplicates that are the
 * same socket, take and remove, expiry by the loop's timer and by
 * hold_expire_due, and 800 names (each its own descriptor) found again after the hash grew;
 * on_change told of each socket in and out (its descriptor still open on the
 * way out), not of hold_table_free. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/hold.h"
#include "daemon/loop.h"
#include "util.h"
#include "unit.h"

static const struct hold_owner who = { 1000, 1000, 42, "/usr/bin/x", NULL };

static int udp(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	return fd;
}

static void ino_of(int fd, struct stat *st)
{
	ck_assert_int_eq(fstat(fd, st), 0);
}

START_TEST(names)
{
	char longest[HOLD_NAME_MAX + 2];
	const char *why;

	memset(longest, 'a', sizeof(longest));
	ck_assert_int_eq(hold_name_check(longest, HOLD_NAME_MAX, NULL), 0);
	ck_assert_int_eq(hold_name_check(longest, HOLD_NAME_MAX + 1, &why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "200"));
	ck_assert_int_eq(hold_name_check("", 0, &why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "empty"));
	ck_assert_int_eq(hold_name_check("a\0b", 3, &why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "NUL"));
	ck_assert_int_eq(hold_name_check("a/b", 3, &why), -EINVAL);
	ck_assert_int_eq(hold_name_check(".web", 4, &why), -EINVAL);
	ck_assert_int_eq(hold_name_check("w\xff", 2, &why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "UTF-8"));
	ck_assert_int_eq(hold_name_check("\xc0\xaf", 2, NULL), -EINVAL);       /* overlong '/' */
	ck_assert_int_eq(hold_name_check("\xed\xa0\x80", 3, NULL), -EINVAL);   /* a surrogate */
	ck_assert_int_eq(hold_name_check("w\n", 2, NULL), -EINVAL);
	ck_assert_int_eq(hold_name_check("web.v2-\xc3\xa9", 9, NULL), 0);
	ck_assert_int_eq(hold_name_check("w.", 2, NULL), 0);
}
END_TEST

START_TEST(put_find_and_kind)
{
	struct hold_table t;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct held *h;
	struct stat a, b;
	int fd = udp(), d;

	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ino_of(fd, &a);
	ck_assert_int_eq(hold_table_init(&t, NULL, 4), 0);
	ck_assert_int_eq(hold_put(&t, "dns", fd, &who, 0, &h), 0);
	ck_assert_ptr_eq(hold_find(&t, "dns"), h);
	ck_assert_ptr_null(hold_find(&t, "dn"));
	ck_assert_int_eq(h->family, AF_INET);
	ck_assert_int_eq(h->type, SOCK_DGRAM);
	ck_assert_int_eq(h->proto, IPPROTO_UDP);
	ck_assert_uint_eq(h->local_len, sizeof(sin));
	ck_assert_int_ne(((struct sockaddr_in *)&h->local)->sin_port, 0);
	ck_assert_int_eq(h->uid, 1000);
	ck_assert_str_eq(h->exe, "/usr/bin/x");
	d = hold_dup(h);
	ck_assert_int_ge(d, 0);
	ck_assert_int_ne(fcntl(d, F_GETFD) & FD_CLOEXEC, 0);
	ino_of(d, &b);
	ck_assert_uint_eq(a.st_ino, b.st_ino);
	ck_assert_uint_eq(h->retrievals, 1);
	close(d);
	/* A second put of the name, and a non-socket, are refused (and closed). */
	ck_assert_int_eq(hold_put(&t, "dns", udp(), &who, 0, NULL), -EEXIST);
	d = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(hold_put(&t, "null", d, &who, 0, NULL), -ENOTSOCK);
	ck_assert_int_eq(fcntl(d, F_GETFD), -1);
	ck_assert_int_eq(hold_put(&t, "a/b", udp(), &who, 0, NULL), -EINVAL);
	ck_assert_uint_eq(t.n, 1);
	json_object *o = hold_info(h);
	ck_assert_str_eq(json_object_to_json_string(json_object_object_get(o, "family")), "\"AF_INET\"");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(o, "retrievals")), 1);
	ck_assert_ptr_null(json_object_object_get(o, "expires"));
	json_object_put(o);
	hold_table_free(&t);
}
END_TEST

START_TEST(limit_take_remove)
{
	struct hold_table t;
	char name[16];
	struct held *h;
	struct stat a, b;
	int fd;

	ck_assert_int_eq(hold_table_init(&t, NULL, 3), 0);
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		ck_assert_int_eq(hold_put(&t, name, udp(), &who, 0, NULL), 0);
	}
	ck_assert_int_eq(hold_put(&t, "s3", udp(), &who, 0, NULL), -EDQUOT);
	h = hold_find(&t, "s1");
	ino_of(h->fd, &a);
	fd = hold_take(h);
	ino_of(fd, &b);
	ck_assert_uint_eq(a.st_ino, b.st_ino);
	close(fd);
	ck_assert_ptr_null(hold_find(&t, "s1"));
	ck_assert_uint_eq(t.n, 2);
	/* Room again: the limit counts what is held now. */
	ck_assert_int_eq(hold_put(&t, "s3", udp(), &who, 0, NULL), 0);
	hold_remove(hold_find(&t, "s0"));
	ck_assert_ptr_eq(t.first, hold_find(&t, "s2"));
	ck_assert_ptr_eq(t.last, hold_find(&t, "s3"));
	ck_assert_uint_eq(t.n, 2);
	hold_table_free(&t);
}
END_TEST

START_TEST(expiry)
{
	struct hold_table t;
	struct loop *l;
	struct held *h;
	uint64_t start;

	ck_assert_int_eq(loop_new(&l), 0);
	ck_assert_int_eq(hold_table_init(&t, l, 10), 0);
	ck_assert_int_eq(hold_put(&t, "soon", udp(), &who, 0.05, &h), 0);
	ck_assert(h->expires > h->put_time);
	ck_assert_int_eq(hold_put(&t, "never", udp(), &who, 0, NULL), 0);
	ck_assert_int_eq(hold_put(&t, "later", udp(), &who, 3600, NULL), 0);
	ck_assert_uint_eq(loop_timer_count(l), 2);
	start = loop_now();
	while (hold_find(&t, "soon") && loop_now() - start < 5000000000ull)
		ck_assert_int_ge(loop_run_once(l, 1000), 0);
	ck_assert_ptr_null(hold_find(&t, "soon"));
	ck_assert_uint_eq(t.expired, 1);
	ck_assert_uint_eq(loop_timer_count(l), 1);
	/* By the clock without the loop, as well. */
	ck_assert_uint_eq(hold_expire_due(&t, wall_now() + 7200), 1);
	ck_assert_ptr_null(hold_find(&t, "later"));
	ck_assert_ptr_nonnull(hold_find(&t, "never"));
	hold_table_free(&t);
	ck_assert_uint_eq(loop_timer_count(l), 0);
	loop_free(l);
}
END_TEST

START_TEST(many_names)
{
	struct hold_table t;
	char name[32];
	int fd = udp();

	ck_assert_int_eq(hold_table_init(&t, NULL, 800), 0);
	for (int i = 0; i < 800; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		ck_assert_int_eq(hold_put(&t, name, fcntl(fd, F_DUPFD_CLOEXEC, 3), &who, 0, NULL), 0);
	}
	ck_assert_uint_ge(t.nbuckets, 512);
	for (int i = 0; i < 800; i += 7) {
		snprintf(name, sizeof(name), "n%d", i);
		ck_assert_ptr_nonnull(hold_find(&t, name));
	}
	ck_assert_int_eq(hold_put(&t, "one-more", fcntl(fd, F_DUPFD_CLOEXEC, 3), &who, 0, NULL), -EDQUOT);
	hold_table_free(&t);
	close(fd);
}
END_TEST

struct changes {
	int added, gone;
	bool fd_open;               /* every socket on its way out still had its descriptor */
	bool declared_seen;
};

static void on_change(struct hold_table *t, struct held *h, bool added)
{
	struct changes *c = t->userdata;
	struct stat st;

	ck_assert_ptr_eq(h->table, t);
	if (added) {
		c->added++;
		ck_assert_ptr_eq(hold_find(t, h->name), h);
		c->declared_seen |= h->declared;
	} else {
		c->gone++;
		c->fd_open &= fstat(h->fd, &st) == 0;
	}
}

START_TEST(change_callback)
{
	struct hold_owner admin = who;
	struct changes c = { .fd_open = true };
	struct hold_table t;
	struct held *h;
	int fd;

	ck_assert_int_eq(hold_table_init(&t, NULL, 10), 0);
	t.on_change = on_change;
	t.userdata = &c;
	ck_assert_int_eq(hold_put(&t, "a", udp(), &who, 0, NULL), 0);
	ck_assert_int_eq(hold_put(&t, "a", udp(), &who, 0, NULL), -EEXIST);   /* refused: not told */
	ck_assert_int_eq(c.added, 1);
	ck_assert(!c.declared_seen);
	admin.declared = true;
	ck_assert_int_eq(hold_put(&t, "d", udp(), &admin, 0, &h), 0);
	ck_assert(h->declared && c.declared_seen);
	ck_assert_int_eq(hold_put(&t, "e", udp(), &who, 60, NULL), 0);
	ck_assert_int_eq(hold_put(&t, "f", udp(), &who, 0, NULL), 0);
	fd = hold_take(hold_find(&t, "a"));
	ck_assert_int_ge(fd, 0);
	close(fd);
	hold_remove(hold_find(&t, "d"));
	ck_assert_uint_eq(hold_expire_due(&t, wall_now() + 120), 1);
	ck_assert_int_eq(c.added, 4);
	ck_assert_int_eq(c.gone, 3);
	ck_assert(c.fd_open);
	hold_table_free(&t);        /* the daemon stopping: nothing leaves a store */
	ck_assert_int_eq(c.gone, 3);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hold");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, names);
	tcase_add_test(tc, put_find_and_kind);
	tcase_add_test(tc, limit_take_remove);
	tcase_add_test(tc, expiry);
	tcase_add_test(tc, many_names);
	tcase_add_test(tc, change_callback);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
