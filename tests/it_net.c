/* Integration: the module functions (net.*) against the real daemon: real
 * answers from this machine's /etc/hosts, /etc/services, /etc/protocols and
 * interfaces; Python's error mapping (-32001 gaierror, -32002 herror, OS
 * errors); bad parameters; a look-up in flight does not stop the daemon from
 * answering; clients that leave with look-ups in flight leave nothing behind;
 * the resolver's queue limit. The machine has no network: names that are not
 * local fail fast. Where a look-up must really take time, the test (as root)
 * gives the daemon a private mount namespace whose /etc/resolv.conf points at
 * a local UDP socket that never answers. sethostname runs only in a private UTS
 * namespace; the machine's host name is never touched. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netdb.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define NOBODY 65534

/* Whether /etc/hosts maps name to addr on a line of its own. */
static bool hosts_has(const char *addr, const char *name)
{
	FILE *f = fopen("/etc/hosts", "re");
	char line[512];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *save = NULL, *tok = strtok_r(line, " \t\r\n", &save);
		if (!tok || tok[0] == '#' || strcmp(tok, addr) != 0)
			continue;
		while ((tok = strtok_r(NULL, " \t\r\n", &save)) && tok[0] != '#')
			if (strcmp(tok, name) == 0)
				found = true;
	}
	fclose(f);
	return found;
}

/* Whether /etc/services has service name for port/proto. */
static bool services_has(const char *name, const char *portproto)
{
	FILE *f = fopen("/etc/services", "re");
	char line[512];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char a[128], b[128];
		if (sscanf(line, "%127s %127s", a, b) == 2 && strcmp(a, name) == 0 && strcmp(b, portproto) == 0)
			found = true;
	}
	fclose(f);
	return found;
}

/* Whether results (of net.getaddrinfo) hold an entry of family with host and port. */
static bool has_result(json_object *results, const char *family, const char *host, int port)
{
	for (size_t i = 0; i < json_object_array_length(results); i++) {
		json_object *e = json_object_array_get_idx(results, i);
		const char *f = jpath_str(e, "family"), *h = jpath_str(e, "address.host");
		if (f && h && strcmp(f, family) == 0 && strcmp(h, host) == 0 &&
		    jpath_int(e, "address.port", -1) == port)
			return true;
	}
	return false;
}

static bool array_has_str(json_object *arr, const char *s)
{
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		if (json_object_is_type(e, json_type_string) && strcmp(json_object_get_string(e), s) == 0)
			return true;
	}
	return false;
}

/* A fresh client is served, and the daemon's descriptors come back to the
 * baseline (plus that client) within limit_ms: look-ups still running when
 * their client left hold a resolver socket until they end. */
static void check_recovered(const struct sbd *d, int baseline, long long limit_ms)
{
	struct tconn t;
	long long end = hx_mono_ms() + limit_ms;
	int cost, n;
	json_object *j;

	ck_assert_int_eq(tconn_open(&t, d->sock), 0);
	cost = hx_conn_cost(&t);
	for (;;) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		n = sbd_fd_count(d);
		if (n == baseline + cost || hx_mono_ms() > end)
			break;
		j = hx_request(&t, "daemon.ping", "{}");
		ck_assert_int_eq(reply_error_code(j), 0);
		json_object_put(j);
		nanosleep(&ts, NULL);
	}
	ck_assert_msg(n == baseline + cost, "daemon has %d descriptors, want %d", n, baseline + cost);
	tconn_close(&t);
}

/* ---- net.getaddrinfo ---- */

START_TEST(getaddrinfo_localhost)
{
	json_object *j, *r = hx_ok(&hx_c, "net.getaddrinfo", "{\"host\":\"localhost\",\"port\":80,\"type\":\"SOCK_STREAM\"}");
	json_object *res = jpath(r, "results");

	ck_assert(json_object_is_type(res, json_type_array));
	ck_assert_int_gt(json_object_array_length(res), 0);
	ck_assert_msg(has_result(res, "AF_INET", "127.0.0.1", 80), "%s", json_object_to_json_string(j));
	if (hosts_has("::1", "localhost"))
		ck_assert_msg(has_result(res, "AF_INET6", "::1", 80), "%s", json_object_to_json_string(j));
	else
		printf("it_net: /etc/hosts has no '::1 localhost' line: not expecting ::1\n");
	for (size_t i = 0; i < json_object_array_length(res); i++) {
		json_object *e = json_object_array_get_idx(res, i);
		ck_assert_str_eq(jpath_str(e, "type"), "SOCK_STREAM");
		ck_assert_str_eq(jpath_str(e, "proto"), "IPPROTO_TCP");
		ck_assert_str_eq(jpath_str(e, "canonname"), "");
	}

	/* The port as a string: a number, or a service name. */
	r = hx_ok(&hx_c, "net.getaddrinfo", "{\"host\":\"127.0.0.1\",\"port\":\"8080\",\"family\":\"AF_INET\","
	           "\"type\":\"SOCK_DGRAM\"}");
	ck_assert_int_eq(json_object_array_length(jpath(r, "results")), 1);
	ck_assert(has_result(jpath(r, "results"), "AF_INET", "127.0.0.1", 8080));
	ck_assert_str_eq(jpath_str(r, "results.0.proto"), "IPPROTO_UDP");
	if (services_has("ssh", "22/tcp")) {
		r = hx_ok(&hx_c, "net.getaddrinfo", "{\"host\":\"127.0.0.1\",\"port\":\"ssh\",\"type\":\"SOCK_STREAM\"}");
		ck_assert(has_result(jpath(r, "results"), "AF_INET", "127.0.0.1", 22));
	} else {
		printf("it_net: /etc/services has no ssh 22/tcp: skipping the service-name port\n");
	}
	/* AI_CANONNAME fills the first result's canonname. */
	r = hx_ok(&hx_c, "net.getaddrinfo", "{\"host\":\"localhost\",\"port\":null,\"family\":\"AF_INET\","
	           "\"type\":\"SOCK_STREAM\",\"flags\":[\"AI_CANONNAME\"]}");
	ck_assert_str_eq(jpath_str(r, "results.0.canonname"), "localhost");
	ck_assert_int_eq(jpath_int(r, "results.0.address.port", -1), 0);
}
END_TEST

START_TEST(getaddrinfo_numeric_and_passive)
{
	json_object *r;

	r = hx_ok(&hx_c, "net.getaddrinfo", "{\"host\":\"192.0.2.7\",\"port\":443,\"family\":\"AF_INET\","
	           "\"proto\":\"IPPROTO_TCP\",\"flags\":[\"AI_NUMERICHOST\"]}");
	ck_assert_int_eq(json_object_array_length(jpath(r, "results")), 1);
	ck_assert(has_result(jpath(r, "results"), "AF_INET", "192.0.2.7", 443));
	ck_assert_str_eq(jpath_str(r, "results.0.type"), "SOCK_STREAM");

	r = hx_ok(&hx_c, "net.getaddrinfo", "{\"host\":\"2001:db8::1\",\"port\":53,\"type\":\"SOCK_DGRAM\","
	           "\"flags\":\"AI_NUMERICHOST\"}");
	ck_assert(has_result(jpath(r, "results"), "AF_INET6", "2001:db8::1", 53));
	ck_assert_int_eq(jpath_int(r, "results.0.address.scope_id", -1), 0);

	/* A name with AI_NUMERICHOST: EAI_NONAME, without a look-up. */
	r = hx_err(&hx_c, -32001, "net.getaddrinfo", "{\"host\":\"localhost\",\"port\":80,\"flags\":[\"AI_NUMERICHOST\"]}");
	ck_assert_str_eq(jpath_str(r, "data.name"), "EAI_NONAME");
	ck_assert_int_lt(jpath_int(r, "data.gai", 0), 0);

	/* host null with AI_PASSIVE: the wildcard address. */
	r = hx_ok(&hx_c, "net.getaddrinfo", "{\"host\":null,\"port\":8080,\"family\":\"AF_INET\","
	           "\"type\":\"SOCK_STREAM\",\"flags\":[\"AI_PASSIVE\"]}");
	ck_assert(has_result(jpath(r, "results"), "AF_INET", "0.0.0.0", 8080));

	/* Flags as an integer, constants as integers. */
	r = hx_ok(&hx_c, "net.getaddrinfo", "{\"host\":\"10.0.0.1\",\"port\":1,\"family\":2,\"type\":1,\"flags\":4}");
	ck_assert(has_result(jpath(r, "results"), "AF_INET", "10.0.0.1", 1));

	/* Python passes "" to getaddrinfo as it is: glibc finds no such name. */
	hx_err(&hx_c, -32001, "net.getaddrinfo", "{\"host\":\"\",\"port\":80}");
	/* Both null: EAI_NONAME. */
	hx_err(&hx_c, -32001, "net.getaddrinfo", "{\"host\":null,\"port\":null}");
	/* A family getaddrinfo does not do. */
	r = hx_err(&hx_c, -32001, "net.getaddrinfo", "{\"host\":\"localhost\",\"port\":80,\"family\":\"AF_UNIX\"}");
	ck_assert_str_eq(jpath_str(r, "data.name"), "EAI_FAMILY");
}
END_TEST

START_TEST(getaddrinfo_unknown_host_while_serving)
{
	const char *lines =
	    "{\"jsonrpc\":\"2.0\",\"method\":\"net.getaddrinfo\",\"params\":{\"host\":\"no-such-host.invalid\",\"port\":80},\"id\":\"gai\"}\n"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":\"ping\"}\n";
	json_object *a, *b;
	const char *name;

	/* Both requests arrive in one read: the ping is answered while the
	 * look-up is parked on a worker, so its reply comes first. */
	ck_assert_int_eq(tconn_write(&hx_c, lines, strlen(lines)), 0);
	a = tconn_recv_json(&hx_c, hx_timeout_ms);
	b = tconn_recv_json(&hx_c, hx_timeout_ms);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(jpath_str(a, "id"), "ping");
	ck_assert_int_eq(reply_error_code(a), 0);
	ck_assert_str_eq(jpath_str(b, "id"), "gai");
	ck_assert_int_eq(reply_error_code(b), -32001);
	name = jpath_str(b, "error.data.name");
	ck_assert_msg(name && strncmp(name, "EAI_", 4) == 0, "%s", json_object_to_json_string(b));
	ck_assert_int_lt(jpath_int(b, "error.data.gai", 0), 0);
	json_object_put(a);
	json_object_put(b);
}
END_TEST

START_TEST(getaddrinfo_bad_params)
{
	hx_bad_param(&hx_c, "family", "net.getaddrinfo", "{\"host\":\"localhost\",\"port\":80,\"family\":\"AF_BOGUS\"}");
	hx_bad_param(&hx_c, "type", "net.getaddrinfo", "{\"host\":\"localhost\",\"port\":80,\"type\":\"SOCK_BOGUS\"}");
	hx_bad_param(&hx_c, "port", "net.getaddrinfo", "{\"host\":\"localhost\",\"port\":70000}");
	hx_bad_param(&hx_c, "port", "net.getaddrinfo", "{\"host\":\"localhost\",\"port\":-1}");
	hx_bad_param(&hx_c, "port", "net.getaddrinfo", "{\"host\":\"localhost\",\"port\":true}");
	hx_bad_param(&hx_c, "port", "net.getaddrinfo", "{\"host\":\"localhost\",\"port\":1.5}");
	hx_bad_param(&hx_c, "flags", "net.getaddrinfo", "{\"host\":\"localhost\",\"port\":80,\"flags\":[\"AI_BOGUS\"]}");
	hx_bad_param(&hx_c, "flags", "net.getaddrinfo", "{\"host\":\"localhost\",\"port\":80,\"flags\":[\"NI_NUMERICHOST\"]}");
	hx_bad_param(&hx_c, "host", "net.getaddrinfo", "{\"host\":5,\"port\":80}");
	hx_bad_param(&hx_c, "host", "net.getaddrinfo", "{\"host\":[\"localhost\"],\"port\":80}");
	hx_bad_param(&hx_c, "host", "net.getaddrinfo", "{\"host\":\"local\\u0000host\",\"port\":80}");
	hx_bad_param(&hx_c, "host", "net.getaddrinfo", "{\"port\":80}");
	hx_bad_param(&hx_c, "port", "net.getaddrinfo", "{\"host\":\"localhost\"}");
	hx_bad_param(&hx_c, "bogus", "net.getaddrinfo", "{\"host\":\"localhost\",\"port\":80,\"bogus\":1}");
	{
		char params[1200];
		memset(params, 0, sizeof(params));
		strcpy(params, "{\"host\":\"");
		memset(params + strlen(params), 'a', 1025);
		strcat(params, "\",\"port\":80}");
		hx_bad_param(&hx_c, "host", "net.getaddrinfo", "%s", params);
	}
	/* Still serving. */
	{
		hx_ok(&hx_c, "daemon.ping", "{}");
	}
}
END_TEST

/* ---- net.getnameinfo ---- */

START_TEST(getnameinfo_numeric)
{
	json_object *r;

	r = hx_ok(&hx_c, "net.getnameinfo", "{\"address\":{\"host\":\"127.0.0.1\",\"port\":22},"
	           "\"flags\":[\"NI_NUMERICHOST\",\"NI_NUMERICSERV\"]}");
	ck_assert_str_eq(jpath_str(r, "host"), "127.0.0.1");
	ck_assert_str_eq(jpath_str(r, "service"), "22");
	/* Python's tuple form. */
	r = hx_ok(&hx_c, "net.getnameinfo", "{\"address\":[\"127.0.0.1\",22],"
	           "\"flags\":[\"NI_NUMERICHOST\",\"NI_NUMERICSERV\"]}");
	ck_assert_str_eq(jpath_str(r, "host"), "127.0.0.1");
	ck_assert_str_eq(jpath_str(r, "service"), "22");
	r = hx_ok(&hx_c, "net.getnameinfo", "{\"address\":[\"::1\",8080,0,0],"
	           "\"flags\":[\"NI_NUMERICHOST\",\"NI_NUMERICSERV\"]}");
	ck_assert_str_eq(jpath_str(r, "host"), "::1");
	ck_assert_str_eq(jpath_str(r, "service"), "8080");
	/* Names: the host from /etc/hosts, the service from /etc/services. */
	r = hx_ok(&hx_c, "net.getnameinfo", "{\"address\":{\"host\":\"127.0.0.1\",\"port\":22}}");
	ck_assert_ptr_nonnull(jpath_str(r, "host"));
	ck_assert_int_gt(strlen(jpath_str(r, "host")), 0);
	if (services_has("ssh", "22/tcp"))
		ck_assert_str_eq(jpath_str(r, "service"), "ssh");
	if (hosts_has("127.0.0.1", "localhost"))
		ck_assert_str_ne(jpath_str(r, "host"), "127.0.0.1");
	/* NI_NAMEREQD with an address nobody names. */
	r = hx_err(&hx_c, -32001, "net.getnameinfo", "{\"address\":[\"192.0.2.99\",1],\"flags\":[\"NI_NAMEREQD\"]}");
	ck_assert_ptr_nonnull(jpath_str(r, "data.name"));
}
END_TEST

START_TEST(getnameinfo_errors)
{
	json_object *r;

	/* Python resolves the host with AI_NUMERICHOST: a name is a gaierror. */
	r = hx_err(&hx_c, -32001, "net.getnameinfo", "{\"address\":{\"host\":\"localhost\",\"port\":22}}");
	ck_assert_str_eq(jpath_str(r, "data.name"), "EAI_NONAME");
	hx_bad_param(&hx_c, "address", "net.getnameinfo", "{\"address\":\"/run/x.sock\"}");
	hx_bad_param(&hx_c, "address", "net.getnameinfo", "{\"address\":{\"pid\":0,\"groups\":0}}");
	/* data.param is the member at fault inside the address. */
	hx_bad_param(&hx_c, "address.port", "net.getnameinfo", "{\"address\":{\"host\":\"127.0.0.1\",\"port\":70000}}");
	hx_bad_param(&hx_c, "address[3]", "net.getnameinfo", "{\"address\":[\"127.0.0.1\",22,0,\"x\"]}");
	hx_bad_param(&hx_c, "flags", "net.getnameinfo", "{\"address\":[\"127.0.0.1\",22],\"flags\":[\"NI_BOGUS\"]}");
	hx_bad_param(&hx_c, "address", "net.getnameinfo", "{\"flags\":0}");
	hx_bad_param(&hx_c, "address", "net.getnameinfo", "{\"address\":null}");
}
END_TEST

/* ---- net.gethostbyname, _ex, gethostbyaddr, getfqdn, gethostname ---- */

START_TEST(gethostbyname_family)
{
	json_object *j, *r;
	const char *name;

	r = hx_ok(&hx_c, "net.gethostbyname", "{\"hostname\":\"localhost\"}");
	ck_assert_str_eq(jpath_str(r, "address"), "127.0.0.1");
	/* Python's special cases: "" the wildcard, "<broadcast>", literals as they are. */
	r = hx_ok(&hx_c, "net.gethostbyname", "{\"hostname\":\"\"}");
	ck_assert_str_eq(jpath_str(r, "address"), "0.0.0.0");
	r = hx_ok(&hx_c, "net.gethostbyname", "{\"hostname\":\"<broadcast>\"}");
	ck_assert_str_eq(jpath_str(r, "address"), "255.255.255.255");
	r = hx_ok(&hx_c, "net.gethostbyname", "{\"hostname\":\"10.1.2.3\"}");
	ck_assert_str_eq(jpath_str(r, "address"), "10.1.2.3");
	/* Python's gethostbyname goes through getaddrinfo: a gaierror. */
	r = hx_err(&hx_c, -32001, "net.gethostbyname", "{\"hostname\":\"no-such-host.invalid\"}");
	name = jpath_str(r, "data.name");
	ck_assert_msg(name && strncmp(name, "EAI_", 4) == 0, "%s", json_object_to_json_string(r));
	/* IPv4 only: an IPv6 literal is no IPv4 address. */
	hx_err(&hx_c, -32001, "net.gethostbyname", "{\"hostname\":\"::1\"}");
	hx_bad_param(&hx_c, "hostname", "net.gethostbyname", "{}");
	hx_bad_param(&hx_c, "hostname", "net.gethostbyname", "{\"hostname\":7}");

	r = hx_ok(&hx_c, "net.gethostbyname_ex", "{\"hostname\":\"localhost\"}");
	ck_assert_ptr_nonnull(jpath_str(r, "hostname"));
	ck_assert(json_object_is_type(jpath(r, "aliases"), json_type_array));
	ck_assert_msg(array_has_str(jpath(r, "addresses"), "127.0.0.1"), "%s", json_object_to_json_string(j));
	hx_err(&hx_c, -32001, "net.gethostbyname_ex", "{\"hostname\":\"no-such-host.invalid\"}");

	r = hx_ok(&hx_c, "net.gethostbyaddr", "{\"address\":\"127.0.0.1\"}");
	ck_assert_ptr_nonnull(jpath_str(r, "hostname"));
	ck_assert_int_gt(strlen(jpath_str(r, "hostname")), 0);
	ck_assert(json_object_is_type(jpath(r, "aliases"), json_type_array));
	ck_assert_msg(array_has_str(jpath(r, "addresses"), "127.0.0.1"), "%s", json_object_to_json_string(j));
	if (hosts_has("127.0.0.1", "localhost"))
		ck_assert_str_eq(jpath_str(r, "hostname"), "localhost");
	/* A name is looked up first (its first address, of either family, as
	 * Python's setipaddr takes it), then reversed: ::1 where /etc/hosts
	 * lists "::1 localhost", as Debian's does, 127.0.0.1 elsewhere. */
	{
		struct addrinfo hints = { .ai_family = AF_UNSPEC }, *ai;
		char first[INET6_ADDRSTRLEN];

		ck_assert_int_eq(getaddrinfo("localhost", NULL, &hints, &ai), 0);
		ck_assert_int_eq(getnameinfo(ai->ai_addr, ai->ai_addrlen, first, sizeof(first), NULL, 0, NI_NUMERICHOST),
		                 0);
		freeaddrinfo(ai);
		r = hx_ok(&hx_c, "net.gethostbyaddr", "{\"address\":\"localhost\"}");
		ck_assert_msg(array_has_str(jpath(r, "addresses"), first), "%s lacks %s", json_object_to_json_string(r),
		              first);
	}
	/* No name for this address: herror. */
	r = hx_err(&hx_c, -32002, "net.gethostbyaddr", "{\"address\":\"192.0.2.1\"}");
	ck_assert_int_gt(jpath_int(r, "data.h_errno", 0), 0);
	ck_assert_ptr_nonnull(jpath_str(r, "data.name"));
	/* A name that does not resolve: gaierror from the forward step. */
	hx_err(&hx_c, -32001, "net.gethostbyaddr", "{\"address\":\"no-such-host.invalid\"}");
}
END_TEST

START_TEST(getfqdn_and_gethostname)
{
	char self[HOST_NAME_MAX + 1] = "";
	json_object *r;

	ck_assert_int_eq(gethostname(self, sizeof(self)), 0);
	r = hx_ok(&hx_c, "net.gethostname", "{}");
	ck_assert_str_eq(jpath_str(r, "name"), self);

	/* Without a name: this host, qualified if the look-up says how. */
	r = hx_ok(&hx_c, "net.getfqdn", "{}");
	ck_assert_int_gt(strlen(jpath_str(r, "name")), 0);
	/* Nothing better known: the name unchanged (stripped, as Python does). */
	r = hx_ok(&hx_c, "net.getfqdn", "{\"name\":\"  no-such-host.invalid \"}");
	ck_assert_str_eq(jpath_str(r, "name"), "no-such-host.invalid");
	if (hosts_has("127.0.0.1", "localhost")) {
		r = hx_ok(&hx_c, "net.getfqdn", "{\"name\":\"127.0.0.1\"}");
		ck_assert_str_eq(jpath_str(r, "name"), "localhost");
	}
	hx_bad_param(&hx_c, "name", "net.getfqdn", "{\"name\":1}");
}
END_TEST

/* ---- local tables and interfaces ---- */

START_TEST(protocols_and_services)
{
	json_object *r;

	r = hx_ok(&hx_c, "net.getprotobyname", "{\"name\":\"tcp\"}");
	ck_assert_int_eq(jpath_int(r, "proto", -1), IPPROTO_TCP);
	r = hx_ok(&hx_c, "net.getprotobyname", "{\"name\":\"udp\"}");
	ck_assert_int_eq(jpath_int(r, "proto", -1), IPPROTO_UDP);
	hx_os_err(&hx_c, "ENOENT", "net.getprotobyname", "{\"name\":\"no-such-proto\"}");
	hx_bad_param(&hx_c, "name", "net.getprotobyname", "{}");

	if (services_has("ssh", "22/tcp")) {
		r = hx_ok(&hx_c, "net.getservbyname", "{\"name\":\"ssh\",\"proto\":\"tcp\"}");
		ck_assert_int_eq(jpath_int(r, "port", -1), 22);
		r = hx_ok(&hx_c, "net.getservbyname", "{\"name\":\"ssh\"}");
		ck_assert_int_eq(jpath_int(r, "port", -1), 22);
		r = hx_ok(&hx_c, "net.getservbyport", "{\"port\":22,\"proto\":\"tcp\"}");
		ck_assert_str_eq(jpath_str(r, "name"), "ssh");
	} else {
		printf("it_net: /etc/services has no ssh 22/tcp: skipping getservbyname/getservbyport answers\n");
	}
	hx_os_err(&hx_c, "ENOENT", "net.getservbyname", "{\"name\":\"no-such-service\",\"proto\":\"tcp\"}");
	hx_os_err(&hx_c, "ENOENT", "net.getservbyport", "{\"port\":1,\"proto\":\"no-such-proto\"}");
	hx_bad_param(&hx_c, "port", "net.getservbyport", "{\"port\":70000}");
	hx_bad_param(&hx_c, "port", "net.getservbyport", "{\"port\":-1}");
	hx_bad_param(&hx_c, "proto", "net.getservbyname", "{\"name\":\"ssh\",\"proto\":6}");
}
END_TEST

START_TEST(interfaces)
{
	struct if_nameindex *mine = if_nameindex();
	json_object *j, *r, *arr;
	bool lo = false;
	size_t n = 0;

	ck_assert_ptr_nonnull(mine);
	r = hx_ok(&hx_c, "net.if_nameindex", "{}");
	arr = jpath(r, "interfaces");
	ck_assert(json_object_is_type(arr, json_type_array));
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		if (jpath_int(e, "index", 0) == 1 && strcmp(jpath_str(e, "name"), "lo") == 0)
			lo = true;
	}
	/* The same list the test sees (same network namespace). */
	for (struct if_nameindex *p = mine; p->if_index; p++, n++) {
		ck_assert_int_eq(jpath_int(json_object_array_get_idx(arr, n), "index", 0), p->if_index);
		ck_assert_str_eq(jpath_str(json_object_array_get_idx(arr, n), "name"), p->if_name);
	}
	ck_assert_uint_eq(n, json_object_array_length(arr));
	if_freenameindex(mine);
	ck_assert_msg(lo, "no {1, lo}: %s", json_object_to_json_string(j));

	r = hx_ok(&hx_c, "net.if_nametoindex", "{\"name\":\"lo\"}");
	ck_assert_int_eq(jpath_int(r, "index", 0), 1);
	r = hx_ok(&hx_c, "net.if_indextoname", "{\"index\":1}");
	ck_assert_str_eq(jpath_str(r, "name"), "lo");
	hx_os_err(&hx_c, "ENODEV|ENXIO", "net.if_nametoindex", "{\"name\":\"nosuchif0\"}");
	hx_os_err(&hx_c, "ENODEV|ENXIO", "net.if_nametoindex", "{\"name\":\"a-name-longer-than-ifnamsiz\"}");
	hx_os_err(&hx_c, "ENXIO|ENODEV", "net.if_indextoname", "{\"index\":999999}");
	hx_os_err(&hx_c, "ENXIO|ENODEV", "net.if_indextoname", "{\"index\":0}");
	hx_bad_param(&hx_c, "index", "net.if_indextoname", "{\"index\":-1}");
	hx_bad_param(&hx_c, "index", "net.if_indextoname", "{\"index\":\"lo\"}");
	hx_bad_param(&hx_c, "name", "net.if_nametoindex", "{\"name\":1}");
}
END_TEST

/* ---- the per-connection default timeout ---- */

START_TEST(default_timeout_round_trip)
{
	struct tconn other;
	json_object *r;

	r = hx_ok(&hx_c, "net.getdefaulttimeout", "{}");
	ck_assert(json_object_object_get_ex(r, "timeout", NULL));
	ck_assert_ptr_null(jpath(r, "timeout"));

	hx_ok(&hx_c, "net.setdefaulttimeout", "{\"timeout\":2.5}");
	r = hx_ok(&hx_c, "net.getdefaulttimeout", "{}");
	ck_assert(json_object_is_type(jpath(r, "timeout"), json_type_double));
	ck_assert_double_eq(json_object_get_double(jpath(r, "timeout")), 2.5);

	/* Per connection: another client still has the initial null. */
	ck_assert_int_eq(tconn_open(&other, hx_d.sock), 0);
	r = hx_ok(&other, "net.getdefaulttimeout", "{}");
	ck_assert(json_object_object_get_ex(r, "timeout", NULL));
	ck_assert_ptr_null(jpath(r, "timeout"));
	tconn_close(&other);

	hx_ok(&hx_c, "net.setdefaulttimeout", "{\"timeout\":0}");
	r = hx_ok(&hx_c, "net.getdefaulttimeout", "{}");
	ck_assert_double_eq(json_object_get_double(jpath(r, "timeout")), 0);
	ck_assert_ptr_nonnull(jpath(r, "timeout"));

	hx_ok(&hx_c, "net.setdefaulttimeout", "{\"timeout\":null}");
	r = hx_ok(&hx_c, "net.getdefaulttimeout", "{}");
	ck_assert(json_object_object_get_ex(r, "timeout", NULL));
	ck_assert_ptr_null(jpath(r, "timeout"));

	hx_bad_param(&hx_c, "timeout", "net.setdefaulttimeout", "{\"timeout\":-1}");
	hx_bad_param(&hx_c, "timeout", "net.setdefaulttimeout", "{\"timeout\":\"2\"}");
	hx_bad_param(&hx_c, "timeout", "net.setdefaulttimeout", "{}");
}
END_TEST

/* ---- clients that leave with look-ups in flight ---- */

START_TEST(disconnect_with_lookups_in_flight)
{
	struct tconn t;
	char *buf = malloc(64 * 200);
	size_t len = 0;
	int base = hx_baseline_fds(&hx_d);

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(tconn_open(&t, hx_d.sock), 0);
	for (int i = 0; i < 40; i++)
		len += (size_t)sprintf(buf + len,
		    "{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"params\":{%s},\"id\":%d}\n",
		    i % 4 == 0 ? "net.getaddrinfo" : i % 4 == 1 ? "net.gethostbyaddr" :
		    i % 4 == 2 ? "net.getfqdn" : "net.gethostbyname_ex",
		    i % 4 == 0 ? "\"host\":\"no-such-host.invalid\",\"port\":80" :
		    i % 4 == 1 ? "\"address\":\"127.0.0.1\"" :
		    i % 4 == 2 ? "" : "\"hostname\":\"localhost\"", i);
	ck_assert_int_eq(tconn_write(&t, buf, len), 0);
	tconn_close(&t);
	free(buf);
	check_recovered(&hx_d, base, 10000);
	/* And hx_c, opened before, is still served. */
	{
		hx_ok(&hx_c, "net.gethostname", "{}");
	}
}
END_TEST

/* ---- as root: another user, a private UTS namespace, a silent DNS ---- */

START_TEST(sethostname_denied_to_others)
{
	pid_t pid;
	int st;

	if (!hx_need_root("sethostname denied to another user (switching user)"))
		return;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct tconn t;
		json_object *j;
		if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
			_exit(2);
		if (tconn_open(&t, hx_d.sock) < 0)
			_exit(3);
		j = tconn_call(&t, "{\"jsonrpc\":\"2.0\",\"method\":\"net.sethostname\","
		                   "\"params\":{\"name\":\"sbtest-denied\"},\"id\":1}", hx_timeout_ms);
		if (!j || reply_error_code(j) != -32010)
			_exit(4);
		json_object_put(j);
		/* Look-ups are not introspection either (until the policy lands). */
		j = tconn_call(&t, "{\"jsonrpc\":\"2.0\",\"method\":\"net.getaddrinfo\","
		                   "\"params\":{\"host\":\"localhost\",\"port\":80},\"id\":2}", hx_timeout_ms);
		if (!j || reply_error_code(j) != -32010)
			_exit(5);
		json_object_put(j);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
}
END_TEST

/* The inode of a namespace of pid ("self" or a number). */
static unsigned long ns_ino(const char *pid, const char *ns)
{
	char p[64];
	struct stat st;

	snprintf(p, sizeof(p), "/proc/%s/ns/%s", pid, ns);
	if (stat(p, &st) < 0)
		return 0;
	return (unsigned long)st.st_ino;
}

START_TEST(sethostname_in_private_uts)
{
	char mine[HOST_NAME_MAX + 1], pidbuf[16], params[200];
	unsigned long before = ns_ino("self", "uts");
	struct sbd d;
	struct tconn t;
	json_object *r;

	if (!hx_need_root("net.sethostname in a private UTS namespace"))
		return;
	/* This (forked) test process and the daemon it starts get their own UTS
	 * namespace; the machine's host name is never touched. */
	if (unshare(CLONE_NEWUTS) < 0) {
		printf("it_net: SKIP net.sethostname: unshare(CLONE_NEWUTS): %s\n", strerror(errno));
		return;
	}
	ck_assert_uint_ne(ns_ino("self", "uts"), 0);
	ck_assert_uint_ne(ns_ino("self", "uts"), before);
	hx_start(&d, NULL);
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)d.pid);
	/* Refuse to go on unless the daemon is certainly in the private namespace. */
	if (ns_ino(pidbuf, "uts") != ns_ino("self", "uts")) {
		sbd_stop(&d);
		ck_abort_msg("the daemon is not in the private UTS namespace");
	}
	ck_assert_int_eq(tconn_open(&t, d.sock), 0);
	snprintf(params, sizeof(params), "{\"name\":\"sbtest-%d\"}", (int)getpid());
	r = hx_ok(&t, "net.sethostname", "%s", params);
	ck_assert(json_object_is_type(r, json_type_object));
	ck_assert_int_eq(gethostname(mine, sizeof(mine)), 0);
	snprintf(params, sizeof(params), "sbtest-%d", (int)getpid());
	ck_assert_str_eq(mine, params);
	r = hx_ok(&t, "net.gethostname", "{}");
	ck_assert_str_eq(jpath_str(r, "name"), params);
	/* Longer than HOST_NAME_MAX: the kernel's EINVAL. */
	hx_os_err(&t, "EINVAL", "net.sethostname", "{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}");
	hx_bad_param(&t, "name", "net.sethostname", "{}");
	tconn_close(&t);
	ck_assert_int_eq(sbd_stop(&d), 0);
}
END_TEST

/* Gives this (forked) test process a private mount namespace whose
 * /etc/resolv.conf names a local UDP socket that never answers, with a
 * 2-second timeout and one attempt: every DNS look-up of the daemon started
 * afterwards takes about 2 s and fails with EAI_AGAIN. Returns the socket, or
 * -1 (reason printed) when that cannot be arranged. */
static int silent_dns(const char *why)
{
	char ns[32], conf[] = "/tmp/sbtest-resolv.XXXXXX", text[128];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	int fd, cfd, n;

	if (!hx_need_root(why))
		return -1;
	if (unshare(CLONE_NEWNS) < 0) {
		printf("it_net: SKIP %s: unshare(CLONE_NEWNS): %s\n", why, strerror(errno));
		return -1;
	}
	/* Private first, so the bind mount below cannot propagate anywhere. */
	ck_assert_msg(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0, "MS_PRIVATE: %s", strerror(errno));
	/* A loopback address of our own (all of 127/8 is local on Linux). */
	snprintf(ns, sizeof(ns), "127.53.%d.%d", (getpid() >> 8) & 0xff, (getpid() & 0xfe) | 1);
	ck_assert_int_eq(inet_pton(AF_INET, ns, &sa.sin_addr), 1);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		printf("it_net: SKIP %s: bind %s:53: %s\n", why, ns, strerror(errno));
		close(fd);
		return -1;
	}
	cfd = mkstemp(conf);
	ck_assert_int_ge(cfd, 0);
	n = snprintf(text, sizeof(text), "nameserver %s\noptions timeout:2 attempts:1\n", ns);
	ck_assert_int_eq(write(cfd, text, (size_t)n), n);
	close(cfd);
	chmod(conf, 0644);
	ck_assert_msg(mount(conf, "/etc/resolv.conf", NULL, MS_BIND, NULL) == 0, "bind /etc/resolv.conf: %s",
	              strerror(errno));
	unlink(conf);
	return fd;
}

START_TEST(ping_answered_during_slow_lookup)
{
	int dns = silent_dns("a look-up that takes seconds");
	struct sbd d;
	struct tconn t;
	json_object *a, *b;
	long long t0;

	if (dns < 0)
		return;
	hx_start(&d, NULL);
	ck_assert_int_eq(tconn_open(&t, d.sock), 0);
	t0 = hx_mono_ms();
	ck_assert_int_eq(tconn_send(&t, "{\"jsonrpc\":\"2.0\",\"method\":\"net.getaddrinfo\","
	                                "\"params\":{\"host\":\"slow.example\",\"port\":80},\"id\":\"gai\"}"), 0);
	/* Sent separately, after the look-up is parked. */
	a = tconn_call(&t, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":\"ping\"}", hx_timeout_ms);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(jpath_str(a, "id"), "ping");
	ck_assert_msg(hx_mono_ms() - t0 < 1000, "the ping waited for the look-up");
	json_object_put(a);
	/* Other requests too, from another client. */
	{
		struct tconn u;
		ck_assert_int_eq(tconn_open(&u, d.sock), 0);
		hx_ok(&u, "net.gethostbyname", "{\"hostname\":\"localhost\"}");
		tconn_close(&u);
	}
	b = tconn_recv_json(&t, hx_timeout_ms);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(jpath_str(b, "id"), "gai");
	ck_assert_int_eq(reply_error_code(b), -32001);
	ck_assert_str_eq(jpath_str(b, "error.data.name"), "EAI_AGAIN");
	ck_assert_int_ge(hx_mono_ms() - t0, 1500);
	json_object_put(b);
	tconn_close(&t);
	ck_assert_int_eq(sbd_stop(&d), 0);
	close(dns);
}
END_TEST

START_TEST(leave_with_running_lookups)
{
	static const char *const args[] = { "--resolver-threads", "2", "--max-resolver-queue", "8",
		                             "--max-resolver-share", "8", NULL };
	int dns = silent_dns("clients leaving while look-ups run");
	struct sbd d;
	struct tconn t;
	int base;
	long long t0;

	if (dns < 0)
		return;
	hx_start(&d, args);
	base = hx_baseline_fds(&d);
	ck_assert_int_eq(tconn_open(&t, d.sock), 0);
	/* One running (one user runs on at most half the workers), five waiting. */
	for (int i = 0; i < 6; i++) {
		char line[200];
		snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"method\":\"net.getaddrinfo\","
		         "\"params\":{\"host\":\"slow%d.example\",\"port\":80},\"id\":%d}", i, 100 + i);
		ck_assert_int_eq(tconn_send(&t, line), 0);
	}
	{
		json_object *j = hx_request(&t, "daemon.ping", "{}");
		ck_assert_int_eq(reply_error_code(j), 0);
		json_object_put(j);
	}
	t0 = hx_mono_ms();
	tconn_close(&t);
	/* The daemon answers at once, and the waiting jobs were dropped: six new
	 * look-ups fit beside the cancelled one still running (limit 8). */
	ck_assert_int_eq(tconn_open(&t, d.sock), 0);
	{
		json_object *j = hx_request(&t, "net.gethostname", "{}");
		ck_assert_int_eq(reply_error_code(j), 0);
		json_object_put(j);
	}
	ck_assert_msg(hx_mono_ms() - t0 < 1000, "the daemon waited for the look-ups");
	for (int i = 0; i < 6; i++) {
		char line[200];
		snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"method\":\"net.gethostbyname_ex\","
		         "\"params\":{\"hostname\":\"again%d.example\"},\"id\":%d}", i, 100 + i);
		ck_assert_int_eq(tconn_send(&t, line), 0);
	}
	{
		/* Refusals would come before the ping's reply. */
		json_object *j = hx_request(&t, "daemon.ping", "{}");
		ck_assert_msg(reply_error_code(j) == 0 && jpath(j, "result.pong"),
		              "%s", json_object_to_json_string(j));
		json_object_put(j);
	}
	tconn_close(&t);
	check_recovered(&d, base, 10000);
	ck_assert_int_eq(sbd_stop(&d), 0);
	close(dns);
}
END_TEST

/* Sends a ping and counts the replies that come before its answer, each of
 * which must be -32012 with that limit and max. */
static int limited_before_ping(struct tconn *t, const char *limit, int max)
{
	int limited = 0;

	ck_assert_int_eq(tconn_send(t, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":\"ping\"}"), 0);
	for (;;) {
		json_object *j = tconn_recv_json(t, hx_timeout_ms);
		ck_assert_ptr_nonnull(j);
		if (jpath_str(j, "id") && strcmp(jpath_str(j, "id"), "ping") == 0) {
			json_object_put(j);
			return limited;
		}
		ck_assert_msg(reply_error_code(j) == -32012, "%s", json_object_to_json_string(j));
		ck_assert_str_eq(jpath_str(j, "error.data.limit"), limit);
		ck_assert_int_eq(jpath_int(j, "error.data.max", 0), max);
		limited++;
		json_object_put(j);
	}
}

START_TEST(resolver_queue_limit)
{
	static const char *const args[] = { "--resolver-threads", "1", "--max-resolver-queue", "4",
		                             "--max-resolver-share", "4", NULL };
	int dns = silent_dns("the resolver queue limit");
	struct sbd d;
	struct tconn t;
	int base;

	if (dns < 0)
		return;
	hx_start(&d, args);
	base = hx_baseline_fds(&d);
	ck_assert_int_eq(tconn_open(&t, d.sock), 0);
	for (int i = 0; i < 7; i++) {
		char line[200];
		snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"params\":{\"%s\":\"slow%d.example\"%s},\"id\":%d}",
		         i % 2 ? "net.gethostbyname" : "net.getaddrinfo", i % 2 ? "hostname" : "host", i,
		         i % 2 ? "" : ",\"port\":80", i);
		ck_assert_int_eq(tconn_send(&t, line), 0);
	}
	/* The refusals are immediate: every reply before the ping's is one. */
	ck_assert_int_eq(limited_before_ping(&t, "resolver_queue", 4), 3);
	tconn_close(&t);
	check_recovered(&d, base, 10000);
	ck_assert_int_eq(sbd_stop(&d), 0);
	close(dns);
}
END_TEST

/* One user's share of the queue: past it, -32012 "resolver_share" at once,
 * while the queue as a whole still has room. */
START_TEST(resolver_share_limit)
{
	static const char *const args[] = { "--resolver-threads", "1", "--max-resolver-queue", "8",
		                             "--max-resolver-share", "2", NULL };
	int dns = silent_dns("one user's share of the resolver queue");
	struct sbd d;
	struct tconn t;
	int base;

	if (dns < 0)
		return;
	hx_start(&d, args);
	base = hx_baseline_fds(&d);
	ck_assert_int_eq(tconn_open(&t, d.sock), 0);
	for (int i = 0; i < 5; i++) {
		char line[200];
		snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"method\":\"net.getaddrinfo\","
		         "\"params\":{\"host\":\"share%d.example\",\"port\":80},\"id\":%d}", i, i);
		ck_assert_int_eq(tconn_send(&t, line), 0);
	}
	ck_assert_int_eq(limited_before_ping(&t, "resolver_share", 2), 3);
	tconn_close(&t);
	check_recovered(&d, base, 10000);
	ck_assert_int_eq(sbd_stop(&d), 0);
	close(dns);
}
END_TEST

START_TEST(stop_with_lookups_in_flight)
{
	static const char *const args[] = { "--resolver-threads", "1", "--max-resolver-queue", "8",
		                             "--max-resolver-share", "8", NULL };
	int dns = silent_dns("stopping the daemon while a look-up runs");
	struct sbd d;
	struct tconn t;
	json_object *j;
	int cancelled = 0;

	if (dns < 0)
		return;
	hx_start(&d, args);
	ck_assert_int_eq(tconn_open(&t, d.sock), 0);
	/* One running, two waiting. */
	for (int i = 0; i < 3; i++) {
		char line[200];
		snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"method\":\"net.getaddrinfo\","
		         "\"params\":{\"host\":\"stop%d.example\",\"port\":80},\"id\":%d}", i, 100 + i);
		ck_assert_int_eq(tconn_send(&t, line), 0);
	}
	j = hx_request(&t, "daemon.ping", "{}");
	ck_assert_int_eq(reply_error_code(j), 0);
	json_object_put(j);
	/* A clean exit (0; under ASan also no leak) once the running look-up
	 * returns; each parked request is answered ECANCELED. */
	ck_assert_int_eq(sbd_stop(&d), 0);
	while ((j = tconn_recv_json(&t, hx_timeout_ms))) {
		ck_assert_msg(reply_error_code(j) == -32000 && jpath_str(j, "error.data.name") &&
		              strcmp(jpath_str(j, "error.data.name"), "ECANCELED") == 0,
		              "%s", json_object_to_json_string(j));
		cancelled++;
		json_object_put(j);
	}
	ck_assert_int_eq(cancelled, 3);
	tconn_close(&t);
	close(dns);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("it_net");
	TCase *lookups = hx_tcase(s, "lookups", hx_setup, hx_teardown);
	TCase *local = hx_tcase(s, "local", hx_setup, hx_teardown);
	/* These start their own daemon after changing namespaces. */
	TCase *root = hx_tcase(s, "root", NULL, hx_release_all);

	tcase_add_test(lookups, getaddrinfo_localhost);
	tcase_add_test(lookups, getaddrinfo_numeric_and_passive);
	tcase_add_test(lookups, getaddrinfo_unknown_host_while_serving);
	tcase_add_test(lookups, getaddrinfo_bad_params);
	tcase_add_test(lookups, getnameinfo_numeric);
	tcase_add_test(lookups, getnameinfo_errors);
	tcase_add_test(lookups, gethostbyname_family);
	tcase_add_test(lookups, getfqdn_and_gethostname);
	tcase_add_test(lookups, disconnect_with_lookups_in_flight);

	tcase_add_test(local, protocols_and_services);
	tcase_add_test(local, interfaces);
	tcase_add_test(local, default_timeout_round_trip);
	tcase_add_test(local, sethostname_denied_to_others);

	tcase_add_test(root, sethostname_in_private_uts);
	tcase_add_test(root, ping_answered_during_slow_lookup);
	tcase_add_test(root, leave_with_running_lookups);
	tcase_add_test(root, resolver_queue_limit);
	tcase_add_test(root, resolver_share_limit);
	tcase_add_test(root, stop_with_lookups_in_flight);
	return s;
}

int main(void)
{
	/* The namespace tests must not leak into the next test. */
	if (getenv("CK_FORK") && strcmp(getenv("CK_FORK"), "no") == 0)
		fprintf(stderr, "it_net: CK_FORK=no: namespace tests change this process's namespaces\n");
	return hx_main(suite());
}
