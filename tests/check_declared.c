/* Unit tests of daemon/declared.c: the shorthand, a good file and a
 * directory of files in byte order, every load error with its
 * file:line:column, the bounds (names, options, the total), and the table
 * across applies (added, kept as the same socket, changed, removed, one that
 * cannot be made while the others are). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/declared.h"
#include "unit.h"

static char tmpdir[] = "/tmp/check_declared.XXXXXX";
static int serial;

/* Writes text to a new file (in dir when given, else tmpdir), returns its path (8 slots). */
static const char *write_in(const char *dir, const char *name, const char *text)
{
	static char paths[8][512];
	static int slot;
	char *p = paths[slot++ % 8];
	FILE *f;

	if (name)
		snprintf(p, 512, "%s/%s", dir, name);
	else
		snprintf(p, 512, "%s/t%d.json", tmpdir, serial++);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return p;
}

static const char *write_file(const char *text)
{
	return write_in(NULL, NULL, text);
}

START_TEST(shorthand)
{
	struct sbaddr a;
	const char *why = NULL;
	int family, type;
	const struct sockaddr_in *in = (const struct sockaddr_in *)&a.ss;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a.ss;

	ck_assert_int_eq(declared_parse_shorthand("tcp:127.0.0.1:8080", &family, &type, &a, &why), 0);
	ck_assert_int_eq(family, AF_INET);
	ck_assert_int_eq(type, SOCK_STREAM);
	ck_assert_uint_eq(ntohs(in->sin_port), 8080);
	ck_assert_uint_eq(ntohl(in->sin_addr.s_addr), 0x7f000001);
	ck_assert_int_eq(declared_parse_shorthand("udp:[::1]:53", &family, &type, &a, &why), 0);
	ck_assert_int_eq(family, AF_INET6);
	ck_assert_int_eq(type, SOCK_DGRAM);
	ck_assert_uint_eq(ntohs(in6->sin6_port), 53);
	ck_assert_int_eq(declared_parse_shorthand("unix:/run/x.sock", &family, &type, &a, &why), 0);
	ck_assert_int_eq(family, AF_UNIX);
	ck_assert_int_eq(type, SOCK_STREAM);

	static const char *const bad[] = {
		"tcp:127.0.0.1", "tcp:localhost:80", "tcp:127.0.0.1:65536", "tcp:127.0.0.1:-1", "tcp:127.0.0.1:",
		"udp:::1:53", "sctp:127.0.0.1:1", "unix:relative", "unix:", "tcp:[::1]:8x", "tcp:[zz]:1",
		"unix:/" "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890"
		"1234567890123456789012345",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		ck_assert_msg(declared_parse_shorthand(bad[i], &family, &type, &a, &why) == -EINVAL, "%s", bad[i]);
		ck_assert_ptr_nonnull(why);
	}
}
END_TEST

static const char good[] =
	"{\n"
	"  \"version\": 1,\n"
	"  \"sockets\": [\n"
	"    {\"name\": \"web\", \"address\": \"tcp:127.0.0.1:0\", \"backlog\": 16,\n"
	"     \"options\": {\"SO_REUSEADDR\": true, \"SO_RCVBUF\": 65536}},\n"
	"    {\"name\": \"dns\", \"family\": \"AF_INET6\", \"type\": \"SOCK_DGRAM\",\n"
	"     \"address\": {\"host\": \"::1\", \"port\": 0}, \"options\": {\"IPV6_V6ONLY\": true}},\n"
	"    {\"name\": \"app\", \"address\": \"unix:/run/app.sock\", \"mode\": \"0660\", \"owner\": 0,\n"
	"     \"group\": \"root\"}\n"
	"  ]\n"
	"}\n";

START_TEST(load_good)
{
	struct declared_set set = { 0 };
	struct policy_error err;
	const char *p = write_file(good);

	ck_assert_int_eq(declared_load(p, false, &set, &err), 0);
	ck_assert_uint_eq(set.n, 3);
	ck_assert_str_eq(set.v[0].name, "web");
	ck_assert_str_eq(set.v[0].file, p);
	ck_assert_int_eq(set.v[0].family, AF_INET);
	ck_assert_int_eq(set.v[0].backlog, 16);
	ck_assert_uint_eq(set.v[0].nopts, 2);
	ck_assert_int_eq(set.v[0].opts[0].level, SOL_SOCKET);
	ck_assert_int_eq(set.v[0].opts[0].option, SO_REUSEADDR);
	ck_assert_int_eq(set.v[1].family, AF_INET6);
	ck_assert_int_eq(set.v[1].type, SOCK_DGRAM);
	ck_assert_int_eq(set.v[1].backlog, -1);
	ck_assert_int_eq(set.v[1].opts[0].level, IPPROTO_IPV6);
	ck_assert_str_eq(set.v[2].unix_path, "/run/app.sock");
	ck_assert_uint_eq(set.v[2].mode, 0660);
	ck_assert_uint_eq(set.v[2].owner, 0);
	ck_assert_uint_eq(set.v[2].group, 0);
	ck_assert(declared_spec_equal(&set.v[0], &set.v[0]));
	ck_assert(!declared_spec_equal(&set.v[0], &set.v[1]));
	declared_set_free(&set);
}
END_TEST

/* Each: a file, and the error's start (file name excluded): "line:column: where: what". */
static const struct {
	const char *text, *want;
} bad[] = {
	{ "[]", "1:1: a sockets file is a JSON object" },
	{ "{\"version\": 1, \"sockets\": [], \"x\": 1}", "1:31: x: unknown member \"x\"" },
	{ "{\"version\": 2, \"sockets\": []}", "1:2: version: unsupported version" },
	{ "{\"version\": 1}", "1:1: \"sockets\" is missing" },
	{ "{\"version\": 1, \"sockets\": [\n{\"address\": \"tcp:127.0.0.1:1\"}]}", "2:1: sockets[0]: \"name\" is missing" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"\", \"address\": \"tcp:127.0.0.1:1\"}]}",
	  "2:2: sockets[0].name: a name has 1 to 200 bytes" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a/b\", \"address\": \"tcp:127.0.0.1:1\"}]}",
	  "2:2: sockets[0].name: a name holds no '/'" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \".a\", \"address\": \"tcp:127.0.0.1:1\"}]}",
	  "2:2: sockets[0].name: a name does not start with '.'" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a\\u0001\", \"address\": \"tcp:127.0.0.1:1\"}]}",
	  "2:2: sockets[0].name: a name holds no control character" },
	{ "{\"version\": 1, \"sockets\": [{\"name\": \"a\", \"address\": \"tcp:127.0.0.1:1\"},\n"
	  "  {\"name\": \"a\", \"address\": \"tcp:127.0.0.1:2\"}]}",
	  "2:4: sockets[1].name: a second socket named \"a\"" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a\", \"address\": \"tcp:host:1\"}]}",
	  "2:15: sockets[0].address: \"tcp:host:1\": ADDR is an IPv4 literal" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a\", \"address\": 80}]}",
	  "2:15: sockets[0].address: without \"family\", the address is a string" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a\", \"adress\": \"tcp:127.0.0.1:1\"}]}",
	  "2:15: sockets[0].adress: unknown member \"adress\"" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a\", \"address\": \"tcp:127.0.0.1:1\", \"type\": \"SOCK_DGRAM\"}]}",
	  "2:1: sockets[0]: \"type\" and \"proto\" go with \"family\"" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a\", \"family\": \"AF_NETLINK\", \"type\": \"SOCK_RAW\", "
	  "\"address\": {}}]}", "2:1: sockets[0]: \"family\": declared sockets are AF_INET, AF_INET6 or AF_UNIX" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a\", \"family\": \"AF_INET\", \"address\": "
	  "{\"host\": \"127.0.0.1\", \"port\": 1}}]}", "2:1: sockets[0]: \"type\" is missing" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a\", \"family\": \"AF_INET\", \"type\": \"SOCK_STREAM\", "
	  "\"address\": {\"host\": \"127.0.0.1\", \"port\": 70000}}]}", "2:59: sockets[0].address: AF_INET address" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a\", \"family\": \"AF_INTE\", \"type\": \"SOCK_STREAM\", "
	  "\"address\": {}}]}", "2:15: sockets[0].family: unknown name \"AF_INTE\"" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a\", \"family\": \"AF_UNIX\", \"type\": \"SOCK_DGRAM\", "
	  "\"address\": \"/run/x\"}]}", "2:1: sockets[0]: an AF_UNIX declared socket is a SOCK_STREAM listener" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a\", \"address\": \"udp:127.0.0.1:1\", \"backlog\": 5}]}",
	  "2:45: sockets[0].backlog: a SOCK_DGRAM socket does not listen" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a\", \"family\": \"AF_INET\", \"type\": \"SOCK_RAW\", "
	  "\"proto\": \"IPPROTO_ICMP\", \"address\": [\"127.0.0.1\", 0], \"backlog\": 5}]}",
	  "2:110: sockets[0].backlog: a SOCK_RAW socket does not listen" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a\", \"address\": \"tcp:127.0.0.1:1\", \"backlog\": 0}]}",
	  "2:45: sockets[0].backlog: \"backlog\" is a number 1-65535" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a\", \"address\": \"tcp:127.0.0.1:1\", \"options\": "
	  "{\"SO_REUSEADDER\": 1}}]}", "2:57: sockets[0].options.SO_REUSEADDER: unknown option" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a\", \"address\": \"tcp:127.0.0.1:1\", \"options\": "
	  "{\"IPV6_V6ONLY\": true}}]}", "2:57: sockets[0].options.IPV6_V6ONLY: IPV6_V6ONLY does not apply" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a\", \"address\": \"tcp:127.0.0.1:1\", \"options\": "
	  "{\"SO_LINGER\": 5}}]}", "2:57: sockets[0].options.SO_LINGER: SO_LINGER takes" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a\", \"address\": \"tcp:127.0.0.1:1\", \"mode\": \"0600\"}]}",
	  "2:45: sockets[0].mode: \"mode\" is for a UNIX path" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a\", \"address\": \"unix:/run/a\", \"mode\": \"0800\"}]}",
	  "2:41: sockets[0].mode: \"0800\" is not an octal mode" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a\", \"address\": \"unix:/run/a\", \"mode\": 432}]}",
	  "2:41: sockets[0].mode: \"mode\" is an octal string" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a\", \"address\": \"unix:/run/a\", \"owner\": "
	  "\"no such user here\"}]}", "2:41: sockets[0].owner: no user named \"no such user here\"" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a\", \"address\": \"unix:/run/a\", \"group\": "
	  "\"no such group here\"}]}", "2:41: sockets[0].group: no group named \"no such group here\"" },
	{ "{\"version\": 1, \"sockets\": [\n{\"name\": \"a\", \"address\": \"tcp:127.0.0.1:1\",}]}", "2:44: invalid JSON" },
};

START_TEST(load_errors)
{
	struct declared_set set = { 0 };
	struct policy_error err;
	const char *p = write_file(bad[_i].text);
	char want[1024];

	ck_assert_int_lt(declared_load(p, false, &set, &err), 0);
	ck_assert_uint_eq(set.n, 0);
	snprintf(want, sizeof(want), "%s:%s", p, bad[_i].want);
	ck_assert_msg(strncmp(err.text, want, strlen(want)) == 0, "case %d: got '%s', want '%s...'", _i, err.text,
	              want);
}
END_TEST

START_TEST(bounds)
{
	struct declared_set set = { 0 };
	struct policy_error err;
	char name[DECLARED_NAME_MAX + 2];
	char *text;
	size_t cap = (DECLARED_MAX + 2) * 64, n;

	/* A name of 200 bytes is fine, 201 is not. */
	memset(name, 'n', sizeof(name));
	name[DECLARED_NAME_MAX] = '\0';
	text = malloc(cap);
	ck_assert_ptr_nonnull(text);
	snprintf(text, cap, "{\"version\":1,\"sockets\":[{\"name\":\"%s\",\"address\":\"tcp:127.0.0.1:1\"}]}", name);
	ck_assert_int_eq(declared_load(write_file(text), false, &set, &err), 0);
	name[DECLARED_NAME_MAX] = 'n';
	name[DECLARED_NAME_MAX + 1] = '\0';
	snprintf(text, cap, "{\"version\":1,\"sockets\":[{\"name\":\"%s\",\"address\":\"tcp:127.0.0.1:1\"}]}", name);
	ck_assert_int_eq(declared_load(write_file(text), false, &set, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "1 to 200 bytes"));
	/* The previous set stays after a failed load. */
	ck_assert_uint_eq(set.n, 1);

	/* DECLARED_MAX sockets load; one more is an error. */
	for (int extra = 0; extra <= 1; extra++) {
		n = (size_t)snprintf(text, cap, "{\"version\":1,\"sockets\":[");
		for (int i = 0; i < DECLARED_MAX + extra; i++)
			n += (size_t)snprintf(text + n, cap - n, "%s{\"name\":\"s%d\",\"address\":\"tcp:127.0.0.1:1\"}",
			                      i ? "," : "", i);
		snprintf(text + n, cap - n, "]}");
		if (!extra) {
			ck_assert_int_eq(declared_load(write_file(text), false, &set, &err), 0);
			ck_assert_uint_eq(set.n, DECLARED_MAX);
		} else {
			ck_assert_int_eq(declared_load(write_file(text), false, &set, &err), -E2BIG);
			ck_assert_ptr_nonnull(strstr(err.text, "more than 1024 declared sockets"));
		}
	}

	/* DECLARED_MAX_OPTIONS options; one more is an error. */
	for (int extra = 0; extra <= 1; extra++) {
		static const char *const opts[] = { "SO_REUSEADDR", "SO_KEEPALIVE", "SO_RCVBUF", "SO_SNDBUF",
		                                    "SO_PRIORITY", "SO_MARK", "SO_BROADCAST", "SO_OOBINLINE",
		                                    "SO_RCVLOWAT", "SO_DEBUG", "SO_DONTROUTE", "SO_REUSEPORT",
		                                    "SO_TIMESTAMP", "SO_PASSCRED", "SO_BUSY_POLL", "SO_INCOMING_CPU",
		                                    "TCP_NODELAY", "TCP_MAXSEG", "TCP_CORK", "TCP_KEEPIDLE",
		                                    "TCP_KEEPINTVL", "TCP_KEEPCNT", "TCP_SYNCNT", "TCP_LINGER2",
		                                    "TCP_DEFER_ACCEPT", "TCP_WINDOW_CLAMP", "TCP_QUICKACK",
		                                    "TCP_USER_TIMEOUT", "TCP_FASTOPEN", "TCP_NOTSENT_LOWAT",
		                                    "IP_TOS", "IP_TTL", "IP_FREEBIND" };
		n = (size_t)snprintf(text, cap, "{\"version\":1,\"sockets\":[{\"name\":\"o\",\"address\":"
		                     "\"tcp:127.0.0.1:1\",\"options\":{");
		for (int i = 0; i < DECLARED_MAX_OPTIONS + extra; i++)
			n += (size_t)snprintf(text + n, cap - n, "%s\"%s\":1", i ? "," : "", opts[i]);
		snprintf(text + n, cap - n, "}}]}");
		if (!extra) {
			ck_assert_msg(declared_load(write_file(text), false, &set, &err) == 0, "%s", err.text);
		} else {
			ck_assert_int_eq(declared_load(write_file(text), false, &set, &err), -E2BIG);
			ck_assert_ptr_nonnull(strstr(err.text, "more than 32 options"));
		}
	}
	free(text);
	declared_set_free(&set);
}
END_TEST

START_TEST(directory)
{
	struct declared_set set = { 0 };
	struct policy_error err;
	char dir[600];

	snprintf(dir, sizeof(dir), "%s/d%d", tmpdir, serial++);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	write_in(dir, "b.json", "{\"version\":1,\"sockets\":[{\"name\":\"b\",\"address\":\"tcp:127.0.0.1:2\"}]}");
	write_in(dir, "a.json", "{\"version\":1,\"sockets\":[{\"name\":\"a\",\"address\":\"tcp:127.0.0.1:1\"}]}");
	write_in(dir, "c.txt", "not read");
	write_in(dir, ".d.json", "not read");
	ck_assert_int_eq(declared_load(dir, false, &set, &err), 0);
	ck_assert_uint_eq(set.n, 2);
	ck_assert_str_eq(set.v[0].name, "a");
	ck_assert_str_eq(set.v[1].name, "b");
	/* A name declared twice across files: the second file is the one at fault. */
	write_in(dir, "c.json", "{\"version\":1,\"sockets\":[\n{\"name\":\"a\",\"address\":\"tcp:127.0.0.1:3\"}]}");
	ck_assert_int_eq(declared_load(dir, false, &set, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "/c.json:2:2: sockets[0].name: a second socket named \"a\""));
	ck_assert_ptr_nonnull(strstr(err.text, "/a.json declares one"));
	/* A missing path given is an error; the default directory may be missing. */
	ck_assert_int_eq(declared_load("/nonexistent/sockets.d", false, &set, &err), -ENOENT);
	declared_set_free(&set);
}
END_TEST

static in_port_t port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	return ntohs(a.sin_port);
}

static int load_text(const char *text, struct declared_set *set)
{
	struct policy_error err;
	int r = declared_load(write_file(text), false, set, &err);

	ck_assert_msg(r == 0, "%s", err.text);
	return r;
}

START_TEST(apply)
{
	struct declared_table t = { 0 };
	struct declared_set set = { 0 };
	char text[1024];
	int fds = count_fds(), web, other, v;
	socklen_t l = sizeof(v);
	in_port_t taken;
	struct stat st;
	char upath[600];

	snprintf(upath, sizeof(upath), "%s/u.sock", tmpdir);
	snprintf(text, sizeof(text),
	         "{\"version\":1,\"sockets\":[{\"name\":\"web\",\"address\":\"tcp:127.0.0.1:0\",\"backlog\":4,"
	         "\"options\":{\"SO_REUSEPORT\":true,\"SO_BINDTODEVICE\":\"lo\",\"SO_RCVBUF\":65536}},"
	         "{\"name\":\"u\",\"address\":\"unix:%s\",\"mode\":\"0600\",\"options\":{\"SO_SNDBUF\":32768}}]}",
	         upath);
	load_text(text, &set);
	ck_assert_uint_eq(declared_apply(&t, &set), 0);
	ck_assert_uint_eq(set.n, 0);
	ck_assert_uint_eq(t.n, 2);
	web = declared_fd_peek(&t, "web");
	ck_assert_int_ge(web, 0);
	ck_assert_int_eq(getsockopt(web, SOL_SOCKET, SO_ACCEPTCONN, &v, &l), 0);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(fcntl(web, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	/* The options were set: the kernel says so. */
	{
		char dev[IFNAMSIZ] = "";
		socklen_t dl = sizeof(dev);

		l = sizeof(v);
		ck_assert_int_eq(getsockopt(web, SOL_SOCKET, SO_REUSEPORT, &v, &l), 0);
		ck_assert_int_eq(v, 1);
		ck_assert_int_eq(getsockopt(web, SOL_SOCKET, SO_BINDTODEVICE, dev, &dl), 0);
		ck_assert_str_eq(dev, "lo");
		l = sizeof(v);
		ck_assert_int_eq(getsockopt(web, SOL_SOCKET, SO_RCVBUF, &v, &l), 0);
		ck_assert_int_eq(v, 2 * 65536);   /* the kernel doubles what it is given */
		l = sizeof(v);
		ck_assert_int_eq(getsockopt(declared_fd_peek(&t, "u"), SOL_SOCKET, SO_SNDBUF, &v, &l), 0);
		ck_assert_int_eq(v, 2 * 32768);
	}
	ck_assert_int_eq(stat(upath, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(declared_fd_peek(&t, "nope"), -ENOENT);

	/* The same declarations again: the same sockets, untouched. */
	load_text(text, &set);
	ck_assert_uint_eq(declared_apply(&t, &set), 0);
	ck_assert_int_eq(declared_fd_peek(&t, "web"), web);

	/* web changed (its backlog), u removed, a new one whose port another
	 * socket has (taken): web is made again, u's path removed, the taken one
	 * fails alone. */
	other = declared_fd_peek(&t, "web");
	taken = port_of(other);
	snprintf(text, sizeof(text),
	         "{\"version\":1,\"sockets\":[{\"name\":\"web\",\"address\":\"tcp:127.0.0.1:0\",\"backlog\":8},"
	         "{\"name\":\"busy\",\"address\":\"tcp:127.0.0.1:%u\"}]}", (unsigned)taken);
	/* Hold web's port with a socket of our own while it is replaced. */
	{
		int hold = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(taken),
		                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		const struct declared_sock *busy;

		load_text(text, &set);
		ck_assert_uint_eq(declared_apply(&t, &set), 0);   /* busy has web's old port: closed first, so free */
		ck_assert_int_eq(stat(upath, &st), -1);
		ck_assert_ptr_null(declared_find(&t, "u"));
		ck_assert_int_ge(declared_fd_peek(&t, "busy"), 0);
		ck_assert_uint_eq(port_of(declared_fd_peek(&t, "busy")), taken);
		/* Now take a port for real, and declare a socket on it. */
		ck_assert_int_ge(hold, 0);
		a.sin_port = 0;
		ck_assert_int_eq(bind(hold, (struct sockaddr *)&a, sizeof(a)), 0);
		ck_assert_int_eq(listen(hold, 1), 0);
		taken = port_of(hold);
		snprintf(text, sizeof(text),
		         "{\"version\":1,\"sockets\":[{\"name\":\"web\",\"address\":\"tcp:127.0.0.1:0\",\"backlog\":8},"
		         "{\"name\":\"busy\",\"address\":\"tcp:127.0.0.1:%u\"}]}", (unsigned)taken);
		web = declared_fd_peek(&t, "web");
		load_text(text, &set);
		ck_assert_uint_eq(declared_apply(&t, &set), 1);
		ck_assert_int_eq(declared_fd_peek(&t, "web"), web);
		busy = declared_find(&t, "busy");
		ck_assert_ptr_nonnull(busy);
		ck_assert_int_eq(busy->fd, -1);
		ck_assert_int_eq(busy->error, -EADDRINUSE);
		ck_assert_int_eq(declared_fd_peek(&t, "busy"), -EADDRINUSE);
		/* Freed, it is made at the next apply though nothing changed. */
		close(hold);
		load_text(text, &set);
		ck_assert_uint_eq(declared_apply(&t, &set), 0);
		ck_assert_uint_eq(port_of(declared_fd_peek(&t, "busy")), taken);
	}
	/* Nothing declared: everything closed, no descriptor left. */
	load_text("{\"version\":1,\"sockets\":[]}", &set);
	ck_assert_uint_eq(declared_apply(&t, &set), 0);
	ck_assert_uint_eq(t.n, 0);
	declared_table_free(&t);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

static Suite *declared_suite(void)
{
	Suite *s = suite_create("declared");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, shorthand);
	tcase_add_test(tc, load_good);
	tcase_add_loop_test(tc, load_errors, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, bounds);
	tcase_add_test(tc, directory);
	tcase_add_test(tc, apply);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run_nofork_in(declared_suite(), tmpdir);
}
