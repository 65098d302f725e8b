/* Unit tests of the descriptor names and the state memfd (daemon/fdstate.c):
 * the %XX encoding of every byte systemd does not take in an FDNAME (':',
 * '%', space and below, DEL and above), the 255-character bound exactly,
 * decoding (the other prefix, a bad %XX, %00, no name, a short buffer), and a memfd
 * that holds the JSON and is sealed against writes, growth and shrinking. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "daemon/fdstate.h"
#include "util.h"
#include "unit.h"

START_TEST(encode)
{
	char out[FDNAME_MAX + 1], back[256], name[256];

	ck_assert_int_eq(fdname_encode("held.", "web", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "held.web");
	ck_assert_int_eq(fdname_encode("held.", "a b:c%\x7f\x01\xc3\xa9~!", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "held.a%20b%3Ac%25%7F%01%C3%A9~!");
	ck_assert_int_eq(fdname_decode(out, "held.", back, sizeof(back)), 0);
	ck_assert_str_eq(back, "a b:c%\x7f\x01\xc3\xa9~!");
	/* 250 + "held." is 255 characters: the longest; one more is too long. */
	memset(name, 'n', 250);
	name[250] = '\0';
	ck_assert_int_eq(fdname_encode("held.", name, out, sizeof(out)), 0);
	ck_assert_uint_eq(strlen(out), 255);
	name[250] = 'n';
	name[251] = '\0';
	ck_assert_int_eq(fdname_encode("held.", name, out, sizeof(out)), -ENAMETOOLONG);
	/* An escape that would end past the bound. */
	memset(name, 'n', 248);
	strcpy(name + 248, ":");
	ck_assert_int_eq(fdname_encode("held.", name, out, sizeof(out)), -ENAMETOOLONG);
	ck_assert_int_eq(fdname_encode("held.", "web", out, 8), -ENAMETOOLONG);
	ck_assert_int_eq(fdname_encode("held.", "web", out, 9), 0);
}
END_TEST

START_TEST(decode)
{
	char out[16];

	ck_assert_int_eq(fdname_decode("decl.web", "held.", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(fdname_decode("held.a%2", "held.", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(fdname_decode("held.a%zz", "held.", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(fdname_decode("held.a%2f", "held.", out, sizeof(out)), 0);          /* either case */
	ck_assert_str_eq(out, "a/");
	ck_assert_int_eq(fdname_decode("held.", "held.", out, sizeof(out)), -EINVAL);         /* no name */
	ck_assert_int_eq(fdname_decode("held.a%00", "held.", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(fdname_decode("held.0123456789abcdef", "held.", out, sizeof(out)), -ENAMETOOLONG);
	ck_assert_int_eq(fdname_decode("held.0123456789abcde", "held.", out, sizeof(out)), 0);
	ck_assert_int_eq(fdname_decode("decl.%2F", "decl.", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/");
}
END_TEST

START_TEST(memfd)
{
	json_object *o = json_object_new_object();
	char buf[64] = "";
	int fd, seals, before = count_fds();

	json_object_object_add(o, "version", json_object_new_int(1));
	fd = fdstate_memfd(o);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	seals = fcntl(fd, F_GET_SEALS);
	ck_assert_int_eq(seals & (F_SEAL_SEAL | F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK),
	                 F_SEAL_SEAL | F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK);
	ck_assert_int_gt(pread(fd, buf, sizeof(buf) - 1, 0), 0);
	ck_assert_str_eq(buf, "{\"version\":1}");
	ck_assert_int_lt(pwrite(fd, "x", 1, 0), 0);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_lt(ftruncate(fd, 0), 0);
	close(fd);
	json_object_put(o);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fdstate");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, encode);
	tcase_add_test(tc, decode);
	tcase_add_test(tc, memfd);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
