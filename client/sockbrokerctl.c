#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/* sockbrokerctl: the administrator's command line client of sockbrokerd.
 * Every command is one entry of cmd_table; adding a command is adding an entry
 * (and, when its output deserves a layout, a field table for print_fields). */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "launch.h"
#include "sockbroker.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

/* Exit statuses (documented in --help and sockbrokerctl(1)). */
enum {
	EXIT_OK = 0,
	EXIT_REPLY_ERROR = 1,   /* the daemon answered with an error */
	EXIT_USAGE = 2,         /* bad command line */
	EXIT_CONNECTION = 3,    /* cannot connect, connection lost, protocol error, timeout */
};

#define JSON_COMPACT (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define JSON_PRETTY (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

static const char *prog = "sockbrokerctl";

struct ctl {
	const char *socket;     /* NULL: $SOCKBROKER_SOCKET or the default */
	bool json;              /* print results as compact JSON */
	int timeout_ms;         /* -1: no bound */
	sb_client *client;      /* connected on first use */
};

struct ctl_cmd {
	const char *name;       /* one or more words: "call", "policy check" */
	const char *args;       /* synopsis of the arguments after the name */
	const char *summary;
	int min_args, max_args; /* arguments after the name */
	int (*run)(struct ctl *ctl, int argc, char **argv);
	/* More of `CMD --help` after the synopsis and summary, or NULL. */
	void (*details)(FILE *f);
	/* The arguments end with a program and its own arguments: the command
	 * looks for --help itself, among its options only. */
	bool takes_program;
};

static const struct ctl_cmd cmd_table[];
static void print_actions(FILE *f);
static void print_action_list(FILE *f);

/* ---------------------------------------------------------------- messages */

/* Prints "sockbrokerctl: <fmt>" and a newline on stderr. */
static void __attribute__((format(printf, 1, 2))) errmsg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Prints a usage error with a hint and returns EXIT_USAGE. */
static int __attribute__((format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", prog);
	return EXIT_USAGE;
}

/* Writes the full help text: options, commands from the table, exit statuses. */
static void print_help(FILE *f)
{
	fprintf(f,
	        "Usage: %s [OPTIONS] COMMAND [ARGS...]\n"
	        "Talk to the sockbroker daemon (sockbrokerd) over its control socket.\n"
	        "\n"
	        "Options:\n"
	        "  -s, --socket PATH     control socket (default: $SOCKBROKER_SOCKET, else\n"
	        "                        %s)\n"
	        "  -j, --json            print results as compact one-line JSON\n"
	        "  -t, --timeout SECONDS give up waiting for a reply after SECONDS\n"
	        "                        (a decimal number; 0 = no limit, the default)\n"
	        "  -h, --help            show this help and exit\n"
	        "  -V, --version         show the version and exit\n"
	        "\n"
	        "Commands:\n", prog, SB_DEFAULT_SOCKET);
	for (const struct ctl_cmd *c = cmd_table; c->name; c++) {
		char head[64];

		snprintf(head, sizeof(head), "%s%s%s", c->name, *c->args ? " " : "", c->args);
		if (strlen(head) > 21)
			fprintf(f, "  %s\n  %-21s %s\n", head, "", c->summary);
		else
			fprintf(f, "  %-21s %s\n", head, c->summary);
	}
	fprintf(f,
	        "\n"
	        "SPEC, the address shorthand: tcp:HOST:PORT, udp:HOST:PORT (HOST an IPv4\n"
	        "address, a name, empty for any, or [IPv6]), unix:/PATH, unix:@ABSTRACT.\n"
	        "\n"
	        "policy check asks the daemon what it would decide for a caller:\n"
	        "  WHO     --uid N | --user NAME (default: our own uid), --gid N | --group NAME\n"
	        "          (default: the user's), --groups G1,G2 (default: the user's groups),\n"
	        "          --exe PATH, --unit UNIT, --cgroup PATH, --label LABEL, --token NAME\n");
	print_actions(f);
	fprintf(f,
	        "  listen and connect judge exactly the requests the listen and connect\n"
	        "  commands send, which ask for the descriptor (a hand-out: it needs an\n"
	        "  explicit create grant). '%s policy check --help' tells more.\n"
	        "\n"
	        "'%s COMMAND --help' or '%s help COMMAND' shows one command.\n"
	        "\n"
	        "Exit status:\n"
	        "  0  success (policy check: every request would be allowed)\n"
	        "  1  the daemon answered with an error (policy check: one would be denied)\n"
	        "  2  usage error (policy check: also a WHO or request the daemon finds\n"
	        "     invalid, such as an unknown user)\n"
	        "  3  cannot connect, connection lost, protocol error or timeout (policy\n"
	        "     check: also any other error reply, the check could not be made)\n"
	        "  run: 126 PROGRAM could not be executed, 127 not found; once it runs,\n"
	        "     the status is the program's\n",
	        prog, prog, prog);
}

/* Prints one command's synopsis, summary and details. */
static void print_cmd_usage(FILE *f, const struct ctl_cmd *c)
{
	fprintf(f, "Usage: %s [OPTIONS] %s%s%s\n%s\n", prog, c->name,
	        *c->args ? " " : "", c->args, c->summary);
	if (c->details) {
		fputc('\n', f);
		c->details(f);
	}
}

/* Whether word is the first word of a multi-word command name ("policy" of
 * "policy check"): a group of commands. */
static bool is_group(const char *word)
{
	size_t len = strlen(word);

	for (const struct ctl_cmd *c = cmd_table; c->name; c++)
		if (strncmp(c->name, word, len) == 0 && c->name[len] == ' ')
			return true;
	return false;
}

/* Prints the commands of a group ("policy"): each one's synopsis and summary. */
static void print_group_usage(FILE *f, const char *word)
{
	size_t len = strlen(word);

	fprintf(f, "Usage: %s [OPTIONS] %s SUBCOMMAND [ARGS...]\n\nSubcommands:\n", prog, word);
	for (const struct ctl_cmd *c = cmd_table; c->name; c++)
		if (strncmp(c->name, word, len) == 0 && c->name[len] == ' ')
			fprintf(f, "  %s%s%s\n      %s\n", c->name, *c->args ? " " : "", c->args, c->summary);
	fprintf(f, "\n'%s %s SUBCOMMAND --help' shows one of them.\n", prog, word);
}

/* ---------------------------------------------------------------- calling */

/* Connects on first use. 0 or EXIT_CONNECTION (message printed). */
static int ctl_connect(struct ctl *ctl)
{
	int r;

	if (ctl->client)
		return 0;
	r = sb_connect(ctl->socket, &ctl->client);
	if (r < 0) {
		errmsg("cannot connect to %s: %s", ctl->socket ? ctl->socket : sb_socket_path(),
		       sb_strerror(r));
		return EXIT_CONNECTION;
	}
	sb_set_timeout(ctl->client, ctl->timeout_ms);
	return 0;
}

/* Prints an error reply: "sockbrokerctl: <message> (code N)", then its data. */
static void print_reply_error(const sb_reply *reply)
{
	const char *data = sb_reply_error_data(reply);

	errmsg("%s (code %d)", sb_reply_error_message(reply), sb_reply_error_code(reply));
	if (data)
		errmsg("error data: %s", data);
}

/* Calls method with params_json and parses the result into *result.
 * Returns EXIT_OK, EXIT_REPLY_ERROR, EXIT_USAGE or EXIT_CONNECTION, having
 * printed what went wrong; except that with errp set, an error reply is handed
 * over in *errp (EXIT_REPLY_ERROR, nothing printed) for the caller to word,
 * with its descriptors. Otherwise descriptors in the reply are closed (they
 * are of no use to a process that is about to exit) and counted on stderr. */
static int ctl_call_ex(struct ctl *ctl, const char *method, const char *params_json,
                       json_object **result, sb_reply **errp)
{
	sb_reply *reply = NULL;
	size_t nfds;
	int r;

	*result = NULL;
	if (errp)
		*errp = NULL;
	r = ctl_connect(ctl);
	if (r)
		return r;
	r = sb_call(ctl->client, method, params_json, NULL, 0, &reply);
	if (r == -EINVAL)
		return usage_error("%s", sb_strerror(r));
	if (r < 0) {
		errmsg("%s: %s", method, sb_strerror(r));
		return EXIT_CONNECTION;
	}
	nfds = sb_reply_nfds(reply);
	if (nfds)
		errmsg("%zu descriptor%s received and closed", nfds, nfds == 1 ? "" : "s");
	if (!sb_reply_ok(reply)) {
		if (errp) {
			*errp = reply;
			return EXIT_REPLY_ERROR;
		}
		print_reply_error(reply);
		sb_reply_free(reply);
		return EXIT_REPLY_ERROR;
	}
	*result = json_tokener_parse(sb_reply_result(reply));
	if (!*result && strcmp(sb_reply_result(reply), "null") != 0) {
		errmsg("%s: cannot parse the result", method);
		sb_reply_free(reply);
		return EXIT_CONNECTION;
	}
	sb_reply_free(reply);
	return EXIT_OK;
}

/* ctl_call_ex printing every error itself. */
static int ctl_call(struct ctl *ctl, const char *method, const char *params_json,
                    json_object **result)
{
	return ctl_call_ex(ctl, method, params_json, result, NULL);
}

/* ---------------------------------------------------------------- output */

/* How one member of a result is shown in the human layout. */
struct field {
	const char *key;
	void (*print)(json_object *v);  /* NULL: the generic layout */
};

static void print_value(json_object *v, int indent);

/* Prints a scalar as a person reads it: strings bare, booleans yes/no. */
static void print_scalar(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		fputs("-", stdout);
		break;
	case json_type_boolean:
		fputs(json_object_get_boolean(v) ? "yes" : "no", stdout);
		break;
	case json_type_string:
		fputs(json_object_get_string(v), stdout);
		break;
	default:
		fputs(json_object_to_json_string_ext(v, JSON_COMPACT), stdout);
		break;
	}
}

/* Whether every element of array v is a scalar. */
static bool array_is_flat(json_object *v)
{
	size_t n = json_object_array_length(v);

	for (size_t i = 0; i < n; i++) {
		enum json_type t = json_object_get_type(json_object_array_get_idx(v, i));
		if (t == json_type_object || t == json_type_array)
			return false;
	}
	return true;
}

/* Prints "key:" and, unless the value continues on the next lines (a non-empty
 * object), the padding that aligns values at width. */
static void print_key(const char *key, size_t width, int indent, json_object *v)
{
	printf("%*s%s:", indent, "", key);
	if (!json_object_is_type(v, json_type_object) || json_object_object_length(v) == 0)
		printf("%*s ", (int)(width - strlen(key)), "");
}

/* Prints the members of object o as "key: value" lines, those named in fields
 * first and in that order, the rest after them in the object's order. */
static void print_fields(json_object *o, const struct field *fields, int indent)
{
	size_t width = 0;

	json_object_object_foreach(o, k0, v0) {
		(void)v0;
		if (strlen(k0) > width)
			width = strlen(k0);
	}
	for (const struct field *f = fields; f && f->key; f++) {
		json_object *v;

		if (!json_object_object_get_ex(o, f->key, &v))
			continue;
		if (f->print) {
			/* A printer of its own keeps to one line, even for an object. */
			printf("%*s%s:%*s ", indent, "", f->key, (int)(width - strlen(f->key)), "");
			f->print(v);
			putchar('\n');
		} else {
			print_key(f->key, width, indent, v);
			print_value(v, indent);
		}
	}
	json_object_object_foreach(o, key, val) {
		bool listed = false;

		for (const struct field *f = fields; f && f->key; f++)
			if (strcmp(f->key, key) == 0)
				listed = true;
		if (listed)
			continue;
		print_key(key, width, indent, val);
		print_value(val, indent);
	}
}

/* Prints the value after a "key: " and ends the line; nested objects continue
 * on the following lines, indented. */
static void print_value(json_object *v, int indent)
{
	switch (json_object_get_type(v)) {
	case json_type_object:
		if (json_object_object_length(v) == 0) {
			puts("-");
			break;
		}
		putchar('\n');
		print_fields(v, NULL, indent + 2);
		break;
	case json_type_array:
		if (json_object_array_length(v) == 0)
			puts("-");
		else if (!array_is_flat(v))
			puts(json_object_to_json_string_ext(v, JSON_COMPACT));
		else {
			for (size_t i = 0; i < json_object_array_length(v); i++) {
				if (i)
					fputs(", ", stdout);
				print_scalar(json_object_array_get_idx(v, i));
			}
			putchar('\n');
		}
		break;
	default:
		print_scalar(v);
		putchar('\n');
		break;
	}
}

/* Seconds as "2d 3h 4m 5s (183845 s)". */
static void print_duration(json_object *v)
{
	double s = json_object_get_double(v);
	long long t = (long long)s;

	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)) {
		print_scalar(v);
		return;
	}
	if (t >= 86400)
		printf("%lldd ", t / 86400);
	if (t >= 3600)
		printf("%lldh ", t / 3600 % 24);
	if (t >= 60)
		printf("%lldm ", t / 60 % 60);
	printf("%llds (%g s)", t % 60, s);
}

/* A uid with its local user name: "1000 (alice)". */
static void print_uid(json_object *v)
{
	struct passwd *pw = json_object_is_type(v, json_type_int)
	                    ? getpwuid((uid_t)json_object_get_int64(v)) : NULL;

	print_scalar(v);
	if (pw)
		printf(" (%s)", pw->pw_name);
}

/* A gid with its local group name: "1000 (staff)". */
static void print_gid(json_object *v)
{
	struct group *gr = json_object_is_type(v, json_type_int)
	                   ? getgrgid((gid_t)json_object_get_int64(v)) : NULL;

	print_scalar(v);
	if (gr)
		printf(" (%s)", gr->gr_name);
}

/* A list of gids with their names. */
static void print_gids(json_object *v)
{
	if (!json_object_is_type(v, json_type_array)) {
		print_scalar(v);
		return;
	}
	if (json_object_array_length(v) == 0)
		fputs("-", stdout);
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		if (i)
			fputs(", ", stdout);
		print_gid(json_object_array_get_idx(v, i));
	}
}

/* A list of names on one line, separated by spaces. */
static void print_words(json_object *v)
{
	if (!json_object_is_type(v, json_type_array)) {
		print_scalar(v);
		return;
	}
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		if (i)
			putchar(' ');
		print_scalar(json_object_array_get_idx(v, i));
	}
}

/* Prints a result: compact JSON with --json, else the fields layout (objects)
 * or pretty JSON (anything else, or when fields is NULL and pretty is set). */
static void print_result(struct ctl *ctl, json_object *result, const struct field *fields,
                         bool pretty)
{
	if (ctl->json)
		puts(result ? json_object_to_json_string_ext(result, JSON_COMPACT) : "null");
	else if (pretty || !json_object_is_type(result, json_type_object))
		puts(result ? json_object_to_json_string_ext(result, JSON_PRETTY) : "null");
	else
		print_fields(result, fields, 0);
}

/* ---------------------------------------------------------------- commands */

/* call METHOD [JSON-PARAMS] */
static int cmd_call(struct ctl *ctl, int argc, char **argv)
{
	const char *params = argc > 1 ? argv[1] : "{}";
	enum json_tokener_error jerr;
	json_object *p, *result;
	int r;

	p = json_tokener_parse_verbose(params, &jerr);
	if (!p && jerr != json_tokener_success)
		return usage_error("JSON-PARAMS is not valid JSON: %s", json_tokener_error_desc(jerr));
	if (!json_object_is_type(p, json_type_object)) {
		json_object_put(p);
		return usage_error("JSON-PARAMS must be a JSON object, such as '{}'");
	}
	json_object_put(p);
	r = ctl_call(ctl, argv[0], params, &result);
	if (r)
		return r;
	print_result(ctl, result, NULL, true);
	json_object_put(result);
	return EXIT_OK;
}

static const struct field info_fields[] = {
	{ "version", NULL },
	{ "protocol", NULL },
	{ "pid", NULL },
	{ "uptime", print_duration },
	{ "families", print_words },
	{ "has_ipv6", NULL },
	{ "limits", NULL },
	{ NULL, NULL },
};

/* info: daemon.info */
static int cmd_info(struct ctl *ctl, int argc, char **argv)
{
	json_object *result;
	int r = ctl_call(ctl, "daemon.info", NULL, &result);

	if (r)
		return r;
	print_result(ctl, result, info_fields, false);
	json_object_put(result);
	return EXIT_OK;
}

static const struct field whoami_fields[] = {
	{ "uid", print_uid },
	{ "gid", print_gid },
	{ "pid", NULL },
	{ "groups", print_gids },
	{ NULL, NULL },
};

/* For people: each part of an identity the daemon could not read (its
 * `unknown` member) shown in its own place as "unknown (why)", and `unknown`
 * itself dropped. */
static void show_unknown(json_object *o)
{
	json_object *u;

	if (!json_object_object_get_ex(o, "unknown", &u) || !json_object_is_type(u, json_type_object))
		return;
	json_object_object_foreach(u, part, why) {
		char text[1024];

		snprintf(text, sizeof(text), "unknown (%s)", json_object_get_string(why));
		json_object_object_add(o, part, json_object_new_string(text));
	}
	json_object_object_del(o, "unknown");
}

/* whoami: daemon.whoami */
static int cmd_whoami(struct ctl *ctl, int argc, char **argv)
{
	json_object *result;
	int r = ctl_call(ctl, "daemon.whoami", NULL, &result);

	if (r)
		return r;
	if (!ctl->json && json_object_is_type(result, json_type_object))
		show_unknown(result);
	print_result(ctl, result, whoami_fields, false);
	json_object_put(result);
	return EXIT_OK;
}

/* An address in the object form as the shorthand shows it: "127.0.0.1:80",
 * "[::1]:80", "/run/x.sock", "@name"; anything else as compact JSON. */
static void print_address(json_object *v)
{
	json_object *h, *port, *x;

	if (json_object_is_type(v, json_type_object) &&
	    json_object_object_get_ex(v, "host", &h) && json_object_object_get_ex(v, "port", &port)) {
		const char *host = json_object_get_string(h);
		printf(strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, json_object_get_string(port));
	} else if (json_object_is_type(v, json_type_object) && json_object_object_length(v) == 1 &&
	           json_object_object_get_ex(v, "path", &x))
		fputs(*json_object_get_string(x) ? json_object_get_string(x) : "(unnamed)", stdout);
	else if (json_object_is_type(v, json_type_object) && json_object_object_length(v) == 1 &&
	         json_object_object_get_ex(v, "abstract", &x))
		printf("@%s", json_object_get_string(x));
	else
		print_scalar(v);
}

/* resolve HOST [PORT]: net.getaddrinfo */
static int cmd_resolve(struct ctl *ctl, int argc, char **argv)
{
	json_object *p = json_object_new_object(), *result, *results;
	const char *port = argc > 1 ? argv[1] : NULL;
	bool numeric = port && *port;
	int r;

	for (const char *q = port; numeric && *q; q++)
		numeric = isdigit((unsigned char)*q);
	if (!*argv[0]) {
		json_object_put(p);
		return usage_error("HOST must not be empty");
	}
	json_object_object_add(p, "host", json_object_new_string(argv[0]));
	if (!port)
		json_object_object_add(p, "port", NULL);
	else if (numeric) {
		long n = strlen(port) > 5 ? 70000 : strtol(port, NULL, 10);
		if (n > 65535) {
			json_object_put(p);
			return usage_error("port %s is out of range 0-65535", port);
		}
		json_object_object_add(p, "port", json_object_new_int((int)n));
	} else
		json_object_object_add(p, "port", json_object_new_string(port));
	r = ctl_call(ctl, "net.getaddrinfo", json_object_to_json_string_ext(p, JSON_COMPACT), &result);
	json_object_put(p);
	if (r)
		return r;
	if (ctl->json || !json_object_object_get_ex(result, "results", &results) ||
	    !json_object_is_type(results, json_type_array)) {
		print_result(ctl, result, NULL, true);
		json_object_put(result);
		return EXIT_OK;
	}
	for (size_t i = 0; i < json_object_array_length(results); i++) {
		json_object *e = json_object_array_get_idx(results, i), *f = NULL, *t = NULL, *a = NULL;

		json_object_object_get_ex(e, "family", &f);
		json_object_object_get_ex(e, "type", &t);
		json_object_object_get_ex(e, "address", &a);
		printf("%-9s %-12s ", f ? json_object_get_string(f) : "-", t ? json_object_get_string(t) : "-");
		print_address(a);
		putchar('\n');
	}
	json_object_put(result);
	return EXIT_OK;
}

/* A member as text for a table cell ("-" when absent or null). */
static const char *cell(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return "-";
	return json_object_get_string(v);
}

/* Whether an identity's part (exe, unit, ...) is one the daemon could not read. */
static bool unknown_part(json_object *o, const char *part)
{
	json_object *u;

	return json_object_object_get_ex(o, "unknown", &u) && json_object_is_type(u, json_type_object) &&
	       json_object_object_get_ex(u, part, NULL);
}

/* sockets [--all]: socket.list (this connection's), or admin.sockets (every
 * client's, with the owner's connection and uid), as a table */
static int cmd_sockets(struct ctl *ctl, int argc, char **argv)
{
	json_object *result, *socks;
	bool all = false;
	int r;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0 || strcmp(argv[i], "-a") == 0)
			all = true;
		else
			return usage_error("sockets: unknown argument '%s' (only --all)", argv[i]);
	}
	r = ctl_call(ctl, all ? "admin.sockets" : "socket.list", NULL, &result);
	if (r)
		return r;
	if (ctl->json || !json_object_object_get_ex(result, "sockets", &socks) ||
	    !json_object_is_type(socks, json_type_array)) {
		print_result(ctl, result, NULL, true);
		json_object_put(result);
		return EXIT_OK;
	}
	if (all)
		printf("%-7s %-5s %-16s %-9s %-12s %-24s %s\n", "HANDLE", "CONN", "UID", "FAMILY", "TYPE", "LOCAL",
		       "PEER");
	else
		printf("%-7s %-9s %-12s %-24s %s\n", "HANDLE", "FAMILY", "TYPE", "LOCAL", "PEER");
	for (size_t i = 0; i < json_object_array_length(socks); i++) {
		json_object *e = json_object_array_get_idx(socks, i), *v;

		printf("%-7s ", cell(e, "handle"));
		if (all) {
			json_object *u = NULL;
			struct passwd *pw;
			char uid[64];

			json_object_object_get_ex(e, "uid", &u);
			pw = json_object_is_type(u, json_type_int) ? getpwuid((uid_t)json_object_get_int64(u)) : NULL;
			snprintf(uid, sizeof(uid), pw ? "%s (%s)" : "%s", cell(e, "uid"), pw ? pw->pw_name : "");
			printf("%-5s %-16s ", cell(e, "connection"), uid);
		}
		printf("%-9s ", cell(e, "family"));
		printf("%-12s ", cell(e, "type"));
		if (json_object_object_get_ex(e, "local", &v) && v)
			print_address(v);
		else
			putchar('-');
		putchar(' ');
		if (json_object_object_get_ex(e, "peer", &v) && v)
			print_address(v);
		else
			putchar('-');
		putchar('\n');
	}
	if (json_object_array_length(socks) == 0)
		puts(all ? "(no sockets)" : "(no sockets: handles belong to the connection, and this one is new)");
	json_object_put(result);
	return EXIT_OK;
}

static const struct field socket_info_fields[] = {
	{ "handle", NULL },
	{ "family", NULL },
	{ "type", NULL },
	{ "proto", NULL },
	{ "local", print_address },
	{ "peer", print_address },
	{ NULL, NULL },
};

/* A positive integer argument (a handle or a connection number). 0 or EXIT_USAGE. */
static int parse_positive(const char *what, const char *arg, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(arg, &end, 10);
	if (errno || end == arg || *end || *out < 1 || !isdigit((unsigned char)arg[0]))
		return usage_error("%s must be a positive integer, not '%s'", what, arg);
	return 0;
}

/* socket info HANDLE: socket.info */
static int cmd_socket_info(struct ctl *ctl, int argc, char **argv)
{
	char params[64];
	json_object *result;
	long long h;
	int r = parse_positive("HANDLE", argv[0], &h);

	if (r)
		return r;
	snprintf(params, sizeof(params), "{\"handle\":%lld}", h);
	r = ctl_call(ctl, "socket.info", params, &result);
	if (r)
		return r;
	print_result(ctl, result, socket_info_fields, false);
	json_object_put(result);
	return EXIT_OK;
}

/* The address a descriptor is bound to (getsockname, or getpeername when
 * peer), in the object form. NULL when there is none to show. */
static json_object *fd_address(int fd, bool peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	json_object *o;

	memset(&ss, 0, sizeof(ss));
	if ((peer ? getpeername(fd, (struct sockaddr *)&ss, &len)
	          : getsockname(fd, (struct sockaddr *)&ss, &len)) < 0)
		return NULL;
	o = json_object_new_object();
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		json_object_object_add(o, "host", json_object_new_string(host));
		json_object_object_add(o, "port", json_object_new_int(ntohs(sin->sin_port)));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		json_object_object_add(o, "host", json_object_new_string(host));
		json_object_object_add(o, "port", json_object_new_int(ntohs(sin6->sin6_port)));
		if (sin6->sin6_scope_id)
			json_object_object_add(o, "scope_id", json_object_new_int64(sin6->sin6_scope_id));
	} else if (ss.ss_family == AF_UNIX) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
		size_t n = len > offsetof(struct sockaddr_un, sun_path)
		           ? len - offsetof(struct sockaddr_un, sun_path) : 0;
		if (n > 0 && sun->sun_path[0] == '\0')
			json_object_object_add(o, "abstract", json_object_new_string_len(sun->sun_path + 1, (int)n - 1));
		else
			json_object_object_add(o, "path", json_object_new_string_len(sun->sun_path,
			                       (int)strnlen(sun->sun_path, n)));
	} else {
		json_object_object_add(o, "family", json_object_new_int(ss.ss_family));
	}
	return o;
}

/* Prints what a descriptor is: family, type, local (and peer) address. */
static void print_descriptor(struct ctl *ctl, int fd, bool with_peer)
{
	static const struct field fields[] = {
		{ "family", NULL }, { "type", NULL }, { "local", print_address }, { "peer", print_address },
		{ NULL, NULL },
	};
	json_object *o = json_object_new_object(), *a;
	int v = 0;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) == 0)
		json_object_object_add(o, "family", json_object_new_string(
			v == AF_INET ? "AF_INET" : v == AF_INET6 ? "AF_INET6" : v == AF_UNIX ? "AF_UNIX" : "other"));
	l = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) == 0)
		json_object_object_add(o, "type", json_object_new_string(
			v == SOCK_STREAM ? "SOCK_STREAM" : v == SOCK_DGRAM ? "SOCK_DGRAM" : "other"));
	if ((a = fd_address(fd, false)))
		json_object_object_add(o, "local", a);
	if (with_peer && (a = fd_address(fd, true)))
		json_object_object_add(o, "peer", a);
	print_result(ctl, o, fields, false);
	json_object_put(o);
}

/* ---------------------------------------------------------------- held sockets */

/* One hold.* call with params (taken) and the descriptors fds: EXIT_* with
 * *result set on success; an error reply printed. Descriptors of the reply
 * are kept in *fd (-1: none) when fd is given, else closed. */
static int hold_call(struct ctl *ctl, const char *method, json_object *params, const int *fds, size_t nfds,
                     json_object **result, int *fd)
{
	sb_reply *reply = NULL;
	int r;

	*result = NULL;
	if (fd)
		*fd = -1;
	r = ctl_connect(ctl);
	if (r) {
		json_object_put(params);
		return r;
	}
	r = sb_call(ctl->client, method, json_object_to_json_string_ext(params, JSON_COMPACT), fds, nfds, &reply);
	json_object_put(params);
	if (r < 0) {
		errmsg("%s: %s", method, sb_strerror(r));
		return EXIT_CONNECTION;
	}
	if (!sb_reply_ok(reply)) {
		print_reply_error(reply);
		sb_reply_free(reply);
		return EXIT_REPLY_ERROR;
	}
	if (fd && sb_reply_nfds(reply) == 1)
		*fd = sb_reply_take_fd(reply, 0);
	*result = json_tokener_parse(sb_reply_result(reply));
	sb_reply_free(reply);
	return *result ? EXIT_OK : EXIT_CONNECTION;
}

static const struct field held_fields[] = {
	{ "name", NULL }, { "family", NULL }, { "type", NULL }, { "proto", NULL }, { "local", print_address },
	{ "retrievals", NULL }, { "expires", NULL }, { NULL, NULL },
};

static void hold_put_details(FILE *f)
{
	fprintf(f,
	        "Holds descriptor FD (one this command inherited, as in '3<>...' or from a\n"
	        "service manager) in the daemon under NAME, beyond this process; --expires:\n"
	        "the daemon closes it after SECONDS. See docs/held.md.\n");
}

/* hold put NAME --fd FD [--expires SECONDS] */
static int cmd_hold_put(struct ctl *ctl, int argc, char **argv)
{
	json_object *params = json_object_new_object(), *result;
	long fd = -1;
	double expires = 0;
	char *end;
	int r, fds[1];

	json_object_object_add(params, "name", json_object_new_string(argv[0]));
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--fd") == 0 && i + 1 < argc) {
			errno = 0;
			fd = strtol(argv[++i], &end, 10);
			if (errno || *end || end == argv[i] || fd < 0 || fd > INT32_MAX) {
				json_object_put(params);
				return usage_error("hold put: --fd takes a descriptor number, not '%s'", argv[i]);
			}
		} else if (strcmp(argv[i], "--expires") == 0 && i + 1 < argc) {
			expires = strtod(argv[++i], &end);
			if (*end || end == argv[i] || !(expires > 0)) {
				json_object_put(params);
				return usage_error("hold put: --expires takes seconds, not '%s'", argv[i]);
			}
			json_object_object_add(params, "expires", json_object_new_double(expires));
		} else {
			json_object_put(params);
			return usage_error("hold put: unknown argument '%s' (--fd FD, --expires SECONDS)", argv[i]);
		}
	}
	if (fd < 0) {
		json_object_put(params);
		return usage_error("hold put: which descriptor? (--fd FD)");
	}
	json_object_object_add(params, "fds", json_object_new_int(1));
	fds[0] = (int)fd;
	r = hold_call(ctl, "hold.put", params, fds, 1, &result, NULL);
	if (r)
		return r;
	print_result(ctl, result, held_fields, false);
	json_object_put(result);
	return EXIT_OK;
}

/* hold get|take NAME: the descriptor received, described and closed. */
static int hold_retrieve(struct ctl *ctl, const char *method, const char *name)
{
	json_object *params = json_object_new_object(), *result;
	int fd, r;

	json_object_object_add(params, "name", json_object_new_string(name));
	json_object_object_add(params, "pass", json_object_new_boolean(true));
	r = hold_call(ctl, method, params, NULL, 0, &result, &fd);
	if (r)
		return r;
	if (ctl->json)
		print_result(ctl, result, NULL, false);
	else if (fd >= 0)
		print_descriptor(ctl, fd, true);
	if (fd >= 0)
		close(fd);
	json_object_put(result);
	return EXIT_OK;
}

static int cmd_hold_get(struct ctl *ctl, int argc, char **argv)
{
	(void)argc;
	return hold_retrieve(ctl, "hold.get", argv[0]);
}

static int cmd_hold_take(struct ctl *ctl, int argc, char **argv)
{
	(void)argc;
	return hold_retrieve(ctl, "hold.take", argv[0]);
}

/* hold rm NAME */
static int cmd_hold_rm(struct ctl *ctl, int argc, char **argv)
{
	json_object *params = json_object_new_object(), *result;
	int r;

	(void)argc;
	json_object_object_add(params, "name", json_object_new_string(argv[0]));
	r = hold_call(ctl, "hold.remove", params, NULL, 0, &result, NULL);
	if (r)
		return r;
	if (ctl->json)
		print_result(ctl, result, NULL, false);
	else
		printf("removed: %s\n", argv[0]);
	json_object_put(result);
	return EXIT_OK;
}

/* One hold list row. */
static void print_held_row(json_object *e)
{
	json_object *v, *owner = NULL;

	printf("%-20s %-9s %-12s ", cell(e, "name"), cell(e, "family"), cell(e, "type"));
	if (json_object_object_get_ex(e, "local", &v) && v)
		print_address(v);
	else
		putchar('-');
	json_object_object_get_ex(e, "owner", &owner);
	printf(" uid=%s %s\n", owner ? cell(owner, "uid") : "-", cell(e, "retrievals"));
}

/* hold list: a table of what the daemon lets us see, every page of it
 * (hold.list answers at most 10000 at once; `next` leads on). --json
 * prints each page's result as one line. */
static int cmd_hold_list(struct ctl *ctl, int argc, char **argv)
{
	char *after = NULL;
	size_t shown = 0;
	int r = EXIT_OK;

	(void)argc;
	(void)argv;
	if (!ctl->json)
		printf("%-20s %-9s %-12s %-24s %-7s %s\n", "NAME", "FAMILY", "TYPE", "LOCAL", "OWNER", "RETRIEVALS");
	for (;;) {
		json_object *params = json_object_new_object(), *result, *held, *next;

		json_object_object_add(params, "max", json_object_new_int(10000));
		if (after)
			json_object_object_add(params, "after", json_object_new_string(after));
		free(after);
		after = NULL;
		r = hold_call(ctl, "hold.list", params, NULL, 0, &result, NULL);
		if (r)
			return r;
		if (ctl->json || !json_object_object_get_ex(result, "held", &held) ||
		    !json_object_is_type(held, json_type_array)) {
			print_result(ctl, result, NULL, true);
		} else {
			for (size_t i = 0; i < json_object_array_length(held); i++)
				print_held_row(json_object_array_get_idx(held, i));
			shown += json_object_array_length(held);
		}
		if (json_object_object_get_ex(result, "next", &next) && json_object_is_type(next, json_type_string))
			after = strdup(json_object_get_string(next));
		json_object_put(result);
		if (!after)
			break;
	}
	if (!ctl->json && shown == 0)
		puts("(no held sockets that we may see)");
	return r;
}

/* ---------------------------------------------------------------- administration */

/* clients: admin.clients, as a table; the caller's own connection is marked '*' */
static int cmd_clients(struct ctl *ctl, int argc, char **argv)
{
	json_object *result, *clients;
	int r = ctl_call(ctl, "admin.clients", NULL, &result);

	if (r)
		return r;
	if (ctl->json || !json_object_object_get_ex(result, "clients", &clients) ||
	    !json_object_is_type(clients, json_type_array)) {
		print_result(ctl, result, NULL, true);
		json_object_put(result);
		return EXIT_OK;
	}
	printf("%-6s %-16s %-8s %7s %7s %8s  %-28s %s\n", "CONN", "UID", "PID", "HANDLES", "PENDING", "REQUESTS",
	       "EXE", "RULES");
	for (size_t i = 0; i < json_object_array_length(clients); i++) {
		json_object *e = json_object_array_get_idx(clients, i), *v = NULL;
		char conn[32], uid[64];
		struct passwd *pw;

		snprintf(conn, sizeof(conn), "%s%s", cell(e, "connection"),
		         json_object_object_get_ex(e, "self", &v) && json_object_get_boolean(v) ? "*" : "");
		json_object_object_get_ex(e, "uid", &v);
		pw = json_object_is_type(v, json_type_int) ? getpwuid((uid_t)json_object_get_int64(v)) : NULL;
		snprintf(uid, sizeof(uid), pw ? "%s (%s)" : "%s", cell(e, "uid"), pw ? pw->pw_name : "");
		printf("%-6s %-16s %-8s %7s %7s %8s  %-28s ", conn, uid, cell(e, "pid"), cell(e, "handles"),
		       cell(e, "pending"), cell(e, "requests"), unknown_part(e, "exe") ? "?" : cell(e, "exe"));
		if (json_object_object_get_ex(e, "rules", &v) && json_object_is_type(v, json_type_array) &&
		    json_object_array_length(v)) {
			for (size_t k = 0; k < json_object_array_length(v); k++)
				printf("%s\"%s\"", k ? ", " : "", json_object_get_string(json_object_array_get_idx(v, k)));
			putchar('\n');
		} else {
			puts("(none: introspection only)");
		}
		if (json_object_object_get_ex(e, "unit", &v) && v)
			printf("%6s unit: %s\n", "", json_object_get_string(v));
		if (json_object_object_get_ex(e, "unknown", &v) && json_object_is_type(v, json_type_object)) {
			json_object_object_foreach(v, part, why)
				printf("%6s %s: unknown (%s)\n", "", part, json_object_get_string(why));
		}
		if (json_object_object_get_ex(e, "identity_error", &v) && v)
			printf("%6s identity incomplete: %s\n", "", json_object_get_string(v));
	}
	json_object_put(result);
	return EXIT_OK;
}

/* ARG (a positive number) as params {key: ARG} of method; prints "closed WHAT N". */
static int close_by_number(struct ctl *ctl, const char *arg, const char *what_arg, const char *method,
                           const char *key, const char *what)
{
	char params[64];
	json_object *result;
	long long n;
	int r = parse_positive(what_arg, arg, &n);

	if (r)
		return r;
	snprintf(params, sizeof(params), "{\"%s\":%lld}", key, n);
	r = ctl_call(ctl, method, params, &result);
	if (r)
		return r;
	if (ctl->json)
		print_result(ctl, result, NULL, false);
	else
		printf("closed %s %lld\n", what, n);
	json_object_put(result);
	return EXIT_OK;
}

/* close-client CONNECTION: admin.close_client */
static int cmd_close_client(struct ctl *ctl, int argc, char **argv)
{
	return close_by_number(ctl, argv[0], "CONNECTION", "admin.close_client", "connection", "connection");
}

/* close-socket HANDLE: admin.close_socket */
static int cmd_close_socket(struct ctl *ctl, int argc, char **argv)
{
	return close_by_number(ctl, argv[0], "HANDLE", "admin.close_socket", "handle", "socket");
}

/* reload: daemon.reload. A policy that does not load is reported with the
 * daemon's own "file:line:column: where: what" and exit status 1. */
static int cmd_reload(struct ctl *ctl, int argc, char **argv)
{
	json_object *result, *data, *v;
	sb_reply *err = NULL;
	int r = ctl_call_ex(ctl, "daemon.reload", NULL, &result, &err);

	if (err) {
		data = sb_reply_error_data(err) ? json_tokener_parse(sb_reply_error_data(err)) : NULL;
		if (sb_reply_error_code(err) == -32000 && json_object_object_get_ex(data, "reason", &v) &&
		    json_object_is_type(v, json_type_string))
			errmsg("reload failed, the old policy stays: %s", json_object_get_string(v));
		else
			print_reply_error(err);
		if (ctl->json && data)
			puts(json_object_to_json_string_ext(data, JSON_COMPACT));
		json_object_put(data);
		sb_reply_free(err);
		return EXIT_REPLY_ERROR;
	}
	if (r)
		return r;
	if (ctl->json)
		print_result(ctl, result, NULL, false);
	else
		printf("policy reloaded: %s rule%s from %s (generation %s)\n", cell(result, "rules"),
		       strcmp(cell(result, "rules"), "1") == 0 ? "" : "s", cell(result, "source"),
		       cell(result, "generation"));
	json_object_put(result);
	return EXIT_OK;
}

/* restart: daemon.restart. The answer comes once the new process serves;
 * a restart that fails leaves the old daemon serving, and says why. */
static int cmd_restart(struct ctl *ctl, int argc, char **argv)
{
	json_object *result;
	int r = ctl_call(ctl, "daemon.restart", NULL, &result);

	(void)argc;
	(void)argv;
	if (r)
		return r;
	if (ctl->json)
		print_result(ctl, result, NULL, false);
	else
		printf("restarted: pid %s serves now (was %s); %s held and %s declared socket%s handed over in %s s\n",
		       cell(result, "pid"), cell(result, "previous_pid"), cell(result, "held"), cell(result, "declared"),
		       strcmp(cell(result, "declared"), "1") == 0 ? "" : "s", cell(result, "seconds"));
	json_object_put(result);
	return EXIT_OK;
}

static const struct field stats_server_fields[] = {
	{ "uptime", print_duration },
	{ NULL, NULL },
};

/* stats: admin.stats; the per-rule counters as a table */
static int cmd_stats(struct ctl *ctl, int argc, char **argv)
{
	json_object *result, *v;
	int r = ctl_call(ctl, "admin.stats", NULL, &result);

	if (r)
		return r;
	if (ctl->json || !json_object_is_type(result, json_type_object)) {
		print_result(ctl, result, NULL, true);
		json_object_put(result);
		return EXIT_OK;
	}
	if (json_object_object_get_ex(result, "server", &v) && json_object_is_type(v, json_type_object)) {
		puts("server:");
		print_fields(v, stats_server_fields, 2);
	}
	if (json_object_object_get_ex(result, "policy", &v) && json_object_is_type(v, json_type_object)) {
		puts("policy:");
		print_fields(v, NULL, 2);
	}
	if (json_object_object_get_ex(result, "log", &v) && json_object_is_type(v, json_type_object)) {
		puts("log:");
		print_fields(v, NULL, 2);
	}
	printf("%-40s %10s %10s\n", "RULE", "ALLOWED", "DENIED");
	if (json_object_object_get_ex(result, "rules", &v) && json_object_is_type(v, json_type_array))
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			json_object *e = json_object_array_get_idx(v, i);
			char name[300];

			snprintf(name, sizeof(name), "\"%s\"", cell(e, "rule"));
			printf("%-40s %10s %10s\n", name, cell(e, "allowed"), cell(e, "denied"));
		}
	if (json_object_object_get_ex(result, "unmatched", &v))
		printf("%-40s %10s %10s\n", "(no rule)", cell(v, "allowed"), cell(v, "denied"));
	json_object_put(result);
	return EXIT_OK;
}

/* A number of an option of cmd ("--since" of "audit"): 0 or more when
 * zero_ok, else 1 or more. */
static int parse_count(const char *cmd, const char *opt, const char *arg, bool zero_ok, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(arg, &end, 10);
	if (errno || end == arg || *end || *out < (zero_ok ? 0 : 1) || !isdigit((unsigned char)arg[0]))
		return usage_error("%s: %s takes a %s integer, not '%s'", cmd, opt, zero_ok ? "non-negative" : "positive",
		                   arg);
	return 0;
}

/* audit [--since N] [--limit N] [--json]: admin.audit, one record a line */
static int cmd_audit(struct ctl *ctl, int argc, char **argv)
{
	json_object *result, *recs, *params = json_object_new_object();
	long long n;
	int r;

	for (int i = 0; i < argc; i++) {
		const char *opt = argv[i], *val = NULL;
		bool since = strncmp(opt, "--since", 7) == 0 && (opt[7] == '\0' || opt[7] == '=');
		bool limit = strncmp(opt, "--limit", 7) == 0 && (opt[7] == '\0' || opt[7] == '=');

		if (strcmp(opt, "--json") == 0 || strcmp(opt, "-j") == 0) {
			ctl->json = true;
			continue;
		}
		if (!since && !limit) {
			json_object_put(params);
			return usage_error("audit: unknown argument '%s' (--since N, --limit N, --json)", opt);
		}
		if (opt[7] == '=')
			val = opt + 8;
		else if (i + 1 < argc)
			val = argv[++i];
		if (!val) {
			json_object_put(params);
			return usage_error("audit: %.7s needs a number", opt);
		}
		r = parse_count("audit", since ? "--since" : "--limit", val, since, &n);
		if (r) {
			json_object_put(params);
			return r;
		}
		json_object_object_add(params, since ? "since" : "limit", json_object_new_int64(n));
	}
	r = ctl_call(ctl, "admin.audit", json_object_to_json_string_ext(params, JSON_COMPACT), &result);
	json_object_put(params);
	if (r)
		return r;
	if (ctl->json || !json_object_object_get_ex(result, "records", &recs) ||
	    !json_object_is_type(recs, json_type_array)) {
		print_result(ctl, result, NULL, false);
		json_object_put(result);
		return EXIT_OK;
	}
	printf("%-7s %-24s %-8s %-5s %-8s %-22s %s\n", "SEQ", "TIME", "DECISION", "CONN", "UID", "METHOD",
	       "RULE: REASON");
	for (size_t i = 0; i < json_object_array_length(recs); i++) {
		json_object *e = json_object_array_get_idx(recs, i), *v;
		char rule[300];

		printf("%-7s %-24s %-8s %-5s %-8s %-22s ", cell(e, "seq"), cell(e, "time"), cell(e, "decision"),
		       cell(e, "connection"), cell(e, "uid"), cell(e, "method"));
		if (json_object_object_get_ex(e, "rule", &v) && json_object_is_type(v, json_type_string))
			snprintf(rule, sizeof(rule), "\"%s\"", json_object_get_string(v));
		else
			snprintf(rule, sizeof(rule), "(no rule)");
		if (json_object_object_get_ex(e, "truncated", &v) && json_object_get_boolean(v))
			printf("%s: (a long record, %s bytes: whole in the audit log)\n", rule, cell(e, "bytes"));
		else
			printf("%s: %s\n", rule, cell(e, "reason"));
	}
	printf("(the daemon holds records %s to %s)\n", cell(result, "first"), cell(result, "last"));
	json_object_put(result);
	return EXIT_OK;
}

/* policy rules [--json]: policy.rules; each rule with its counts, where it
 * is written, and what it says */
static int cmd_policy_rules(struct ctl *ctl, int argc, char **argv)
{
	json_object *result, *rules, *v;
	int r;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0)
			ctl->json = true;
		else
			return usage_error("policy rules: unknown argument '%s' (only --json)", argv[i]);
	}
	r = ctl_call(ctl, "policy.rules", NULL, &result);
	if (r)
		return r;
	if (ctl->json || !json_object_object_get_ex(result, "rules", &rules) ||
	    !json_object_is_type(rules, json_type_array)) {
		print_result(ctl, result, NULL, false);
		json_object_put(result);
		return EXIT_OK;
	}
	printf("policy: %s (generation %s)\n", cell(result, "source"), cell(result, "generation"));
	printf("%-40s %10s %10s  %s\n", "RULE", "ALLOWED", "DENIED", "WHERE");
	for (size_t i = 0; i < json_object_array_length(rules); i++) {
		static const char *const parts[] = { "match", "allow", "deny", "limits" };
		json_object *e = json_object_array_get_idx(rules, i);
		char name[300];

		snprintf(name, sizeof(name), "\"%s\"", cell(e, "name"));
		printf("%-40s %10s %10s  ", name, cell(e, "allowed"), cell(e, "denied"));
		if (json_object_object_get_ex(e, "file", &v) && json_object_is_type(v, json_type_string))
			printf("%s:%s\n", json_object_get_string(v), cell(e, "line"));
		else
			puts("(embedded)");
		for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]); k++)
			if (json_object_object_get_ex(e, parts[k], &v) && v)
				printf("    %s: %s\n", parts[k], json_object_to_json_string_ext(v, JSON_COMPACT));
		if (json_object_object_get_ex(e, "warnings", &v) && json_object_is_type(v, json_type_array))
			for (size_t k = 0; k < json_object_array_length(v); k++)
				printf("    warning: %s\n", json_object_get_string(json_object_array_get_idx(v, k)));
	}
	if (json_object_object_get_ex(result, "unmatched", &v))
		printf("%-40s %10s %10s\n", "(no rule)", cell(v, "allowed"), cell(v, "denied"));
	json_object_put(result);
	return EXIT_OK;
}

/* ---------------------------------------------------------------- actions
 *
 * An action is what one word of `policy check` stands for, and `listen` and
 * `connect` are the same words done for real: both go through the one row of
 * actions[] for their word, so the requests `policy check` judges are the
 * requests the command sends, params and all. A row names its method and maps
 * each argument to a param; words whose arguments are not one param each (a
 * SPEC, a method name) have a build function instead. `listen` and `connect`
 * ask for the descriptor (a hand-out, "pass": true): a hand-out needs an
 * explicit create grant beyond bind or connect (docs/policy.md section 4). */

/* The most requests one action makes: udp listen is create, setsockopt,
 * bind, detach. */
#define PLAN_MAX 4

/* One request of an action, with params as policy.check takes them: for a
 * method on a socket (on_handle) the socket's family and type stand in for
 * the handle, which the request sent for real carries instead. */
struct plan_req {
	const char *method;
	json_object *params;
	bool on_handle;
};

/* The requests of one action, in the order they are sent. */
struct plan {
	struct plan_req req[PLAN_MAX];
	int n;
};

enum arg_conv {
	ARG_TEXT,               /* a JSON string */
	ARG_NAME_OR_NUMBER,     /* "7" a JSON integer, anything else a string */
};

struct action {
	const char *word;
	const char *args;               /* synopsis of the arguments after the word */
	int min_args, max_args;
	const char *method;             /* the method of the (first) request */
	const char *defaults;           /* params before the arguments (JSON), or NULL */
	const char *keys[4];            /* the param each argument fills, in order */
	enum arg_conv conv;
	/* The whole plan, for arguments that are not one param each; NULL: one
	 * request of method with defaults and keys. 0 or EXIT_USAGE (printed). */
	int (*build)(const struct ctl *ctl, const struct action *a, int argc, char **argv,
	             struct plan *pl);
	const char *help;               /* what it judges, for policy check --help */
};

static void plan_free(struct plan *pl)
{
	for (int i = 0; i < pl->n; i++)
		json_object_put(pl->req[i].params);
	pl->n = 0;
}

/* Appends a request of method with empty params; those params (the plan owns
 * them). Aborts past PLAN_MAX or without memory: both are bugs here. */
static json_object *plan_add(struct plan *pl, const char *method, bool on_handle)
{
	json_object *p = json_object_new_object();

	if (!p || pl->n == PLAN_MAX) {
		errmsg("internal error: cannot add %s to the plan", method);
		abort();
	}
	pl->req[pl->n++] = (struct plan_req){ method, p, on_handle };
	return p;
}

/* A number ("7") as a JSON integer, anything else as a string (a name). */
static json_object *name_or_number(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s && !errno && !*end && (isdigit((unsigned char)*s) || *s == '-'))
		return json_object_new_int64(v);
	return json_object_new_string(s);
}

/* A JSON array of item(each word of the comma-separated text); "" gives []. */
static json_object *comma_list(const char *text, json_object *(*item)(const char *))
{
	json_object *a = json_object_new_array();
	char *copy = strdup(text), *save = NULL;

	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
		json_object_array_add(a, item(t));
	free(copy);
	return a;
}

/* Parses a SPEC for word. 0 or EXIT_USAGE (printed). */
static int spec_parse(const char *word, const char *arg, struct sb_spec *sp)
{
	int r = sb_parse_spec(arg, sp);

	if (r == -ENAMETOOLONG)
		return usage_error("%s: '%s': the host or path is too long", word, arg);
	if (r < 0)
		return usage_error("%s: '%s' is not an address: use tcp:HOST:PORT, udp:HOST:PORT, "
		                   "tcp:[IPV6]:PORT, unix:/PATH or unix:@NAME (PORT 0-65535)", word, arg);
	return 0;
}

/* A SPEC's address as the methods take it: [host, port], {"path": P} or
 * {"abstract": N}. */
static json_object *spec_address(const struct sb_spec *sp)
{
	json_object *a;

	if (sp->family == AF_UNIX) {
		a = json_object_new_object();
		json_object_object_add(a, sp->abstract ? "abstract" : "path", json_object_new_string(sp->path));
		return a;
	}
	a = json_object_new_array();
	json_object_array_add(a, json_object_new_string(sp->host));
	json_object_array_add(a, json_object_new_int(sp->port));
	return a;
}

/* The family a SPEC's socket is made with: a host name as Python's default,
 * AF_INET. */
static const char *spec_family(const struct sb_spec *sp)
{
	return sp->family == AF_UNIX ? "AF_UNIX" : sp->family == AF_INET6 ? "AF_INET6" : "AF_INET";
}

/* Adds the family and type of SPEC's socket to params. */
static void add_kind(json_object *params, const struct sb_spec *sp)
{
	json_object_object_add(params, "family", json_object_new_string(spec_family(sp)));
	json_object_object_add(params, "type", json_object_new_string(sp->type == SOCK_DGRAM ? "SOCK_DGRAM"
	                                                                                     : "SOCK_STREAM"));
}

/* A socket made, given its address by method (socket.bind or socket.connect)
 * and handed out: socket.create, (IPV6_V6ONLY for IPv6, as sb_listen sets on
 * a datagram socket,) method, socket.detach. */
static void plan_create_then(struct plan *pl, const struct sb_spec *sp, const char *method, bool v6only)
{
	json_object *p;

	add_kind(plan_add(pl, "socket.create", false), sp);
	if (v6only && sp->family == AF_INET6) {
		p = plan_add(pl, "socket.setsockopt", true);
		add_kind(p, sp);
		json_object_object_add(p, "level", json_object_new_string("IPPROTO_IPV6"));
		json_object_object_add(p, "option", json_object_new_string("IPV6_V6ONLY"));
		json_object_object_add(p, "value", json_object_new_int(1));
	}
	p = plan_add(pl, method, true);
	add_kind(p, sp);
	json_object_object_add(p, "address", spec_address(sp));
	add_kind(plan_add(pl, "socket.detach", true), sp);
}

/* bind SPEC: socket.bind of a socket of SPEC's family and type (a handle's). */
static int build_bind(const struct ctl *ctl, const struct action *a, int argc, char **argv,
                      struct plan *pl)
{
	struct sb_spec sp;
	json_object *p;
	int r = spec_parse(a->word, argv[0], &sp);

	(void)ctl;
	(void)argc;
	if (r)
		return r;
	p = plan_add(pl, a->method, true);
	add_kind(p, &sp);
	json_object_object_add(p, "address", spec_address(&sp));
	return 0;
}

/* connect SPEC | connect HOST PORT (tcp:HOST:PORT): tcp is socket.connect_to
 * with pass (a name: each address in turn, as create_connection), with the -t
 * timeout for each attempt; udp and unix make the socket, connect it and
 * detach it. */
static int build_connect(const struct ctl *ctl, const struct action *a, int argc, char **argv,
                         struct plan *pl)
{
	const char *arg = argv[0];
	char spec[300];
	struct sb_spec sp;
	json_object *p;
	int r;

	if (argc == 2) {
		char *end;
		long port;

		errno = 0;
		port = strtol(argv[1], &end, 10);
		if (errno || end == argv[1] || *end || port < 0 || port > 65535 || !isdigit((unsigned char)*argv[1]))
			return usage_error("%s: PORT must be a number 0-65535, not '%s'", a->word, argv[1]);
		if (!*argv[0])
			return usage_error("%s: HOST must not be empty", a->word);
		/* An IPv6 literal is bracketed in a SPEC (unless it came so). */
		if (snprintf(spec, sizeof(spec), strchr(argv[0], ':') && argv[0][0] != '[' ? "tcp:[%s]:%ld"
		             : "tcp:%s:%ld", argv[0], port) >= (int)sizeof(spec))
			return usage_error("%s: '%s': the host is too long", a->word, argv[0]);
		arg = spec;
	}
	r = spec_parse(a->word, arg, &sp);
	if (r)
		return r;
	if (sp.family == AF_UNIX || sp.type == SOCK_DGRAM) {
		plan_create_then(pl, &sp, "socket.connect", false);
		return 0;
	}
	p = plan_add(pl, a->method, false);
	json_object_object_add(p, "address", spec_address(&sp));
	if (ctl->timeout_ms > 0)
		json_object_object_add(p, "timeout", json_object_new_double(ctl->timeout_ms / 1000.0));
	json_object_object_add(p, "pass", json_object_new_boolean(1));
	return 0;
}

/* listen SPEC [BACKLOG]: tcp and unix are socket.listen_on with pass (a name:
 * resolved by the daemon, each address in turn); udp makes a bound datagram
 * socket (create, bind, detach), where BACKLOG means nothing. */
static int build_listen(const struct ctl *ctl, const struct action *a, int argc, char **argv,
                        struct plan *pl)
{
	struct sb_spec sp;
	json_object *p;
	long backlog = -1;
	int r = spec_parse(a->word, argv[0], &sp);

	(void)ctl;
	if (r)
		return r;
	if (argc > 1) {
		char *end;
		errno = 0;
		backlog = strtol(argv[1], &end, 10);
		if (errno || end == argv[1] || *end || backlog < 0 || backlog > 65535)
			return usage_error("%s: BACKLOG must be 0-65535, not '%s'", a->word, argv[1]);
	}
	if (sp.type == SOCK_DGRAM) {
		plan_create_then(pl, &sp, "socket.bind", true);
		return 0;
	}
	p = plan_add(pl, a->method, false);
	json_object_object_add(p, "address", spec_address(&sp));
	/* A name's family is left to the daemon: each address has its own. */
	if (sp.family != AF_UNSPEC)
		json_object_object_add(p, "family", json_object_new_string(spec_family(&sp)));
	if (backlog >= 0)
		json_object_object_add(p, "backlog", json_object_new_int((int)backlog));
	json_object_object_add(p, "pass", json_object_new_boolean(1));
	return 0;
}

/* call METHOD [JSON-PARAMS]: any request as written. */
static int build_call(const struct ctl *ctl, const struct action *a, int argc, char **argv,
                      struct plan *pl)
{
	enum json_tokener_error jerr;
	json_object *p = NULL;

	(void)ctl;
	if (argc > 1) {
		p = json_tokener_parse_verbose(argv[1], &jerr);
		if (!json_object_is_type(p, json_type_object)) {
			json_object_put(p);
			return usage_error("%s: JSON-PARAMS must be a JSON object, such as '{}'", a->word);
		}
	}
	plan_add(pl, argv[0], false);
	if (p) {
		json_object_put(pl->req[pl->n - 1].params);
		pl->req[pl->n - 1].params = p;
	}
	return 0;
}

static const struct action actions[] = {
	{ "bind", "SPEC", 1, 1, "socket.bind", .build = build_bind,
	  .help = "socket.bind of a socket of SPEC's family and type to its address" },
	{ "connect", "SPEC | HOST PORT", 1, 2, "socket.connect_to", .build = build_connect,
	  .help = "what the connect command sends: tcp: socket.connect_to with pass\n"
	          "(a name is resolved by the daemon; allowed when one address is) and\n"
	          "a create for the descriptor; udp:, unix: create, connect, detach" },
	{ "listen", "SPEC [BACKLOG]", 1, 2, "socket.listen_on", .build = build_listen,
	  .help = "what the listen command sends: tcp:, unix: socket.listen_on with\n"
	          "pass (bind, listen, create); udp: create, (IPV6_V6ONLY,) bind, detach" },
	{ "create", "FAMILY [TYPE [PROTO]]", 1, 3, "socket.create", NULL,
	  { "family", "type", "proto" }, ARG_NAME_OR_NUMBER,
	  .help = "socket.create, names or numbers: create AF_INET SOCK_RAW IPPROTO_ICMP" },
	{ "resolve", "[NAME]", 0, 1, "net.getaddrinfo", "{\"host\": null, \"port\": null}",
	  { "host" }, ARG_TEXT, .help = "net.getaddrinfo of NAME (or of no name)" },
	{ "sethostname", "NAME", 1, 1, "net.sethostname", NULL, { "name" }, ARG_TEXT,
	  .help = "net.sethostname" },
	{ "setsockopt", "LEVEL OPTION [FAMILY [TYPE]]", 2, 4, "socket.setsockopt", NULL,
	  { "level", "option", "family", "type" }, ARG_NAME_OR_NUMBER,
	  .help = "socket.setsockopt of an option (name or number) on a socket of\n"
	          "FAMILY and TYPE (default AF_INET SOCK_STREAM); options the kernel\n"
	          "does not reserve to privilege are not governed" },
	{ "admin", "", 0, 0, "admin.stats", .help = "the administration methods (admin.*, reload)" },
	{ "call", "METHOD [JSON-PARAMS]", 1, 2, NULL, .build = build_call,
	  .help = "any request; for a method on a handle, JSON-PARAMS gives the\n"
	          "socket's family, type and proto instead of the handle" },
};

/* Prints the ACTION lines of the help, from actions[]. */
static void print_actions(FILE *f)
{
	size_t col = 0;

	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		const struct action *a = &actions[i];
		size_t len = strlen(a->word) + (*a->args ? 1 + strlen(a->args) : 0);

		if (col == 0 || col + 3 + len > 78) {
			fprintf(f, "%s%s", col ? " |\n" : "", col ? "          " : "  ACTION  ");
			col = 10;
		} else {
			fputs(" | ", f);
			col += 3;
		}
		fprintf(f, "%s%s%s", a->word, *a->args ? " " : "", a->args);
		col += len;
	}
	fputc('\n', f);
}

/* Prints each ACTION with what it judges, from actions[]: the word and its
 * arguments, then the help text's lines, indented. */
static void print_action_list(FILE *f)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		const struct action *a = &actions[i];
		const char *h = a->help;

		fprintf(f, "  %s%s%s\n", a->word, *a->args ? " " : "", a->args);
		while (*h) {
			size_t n = strcspn(h, "\n");
			fprintf(f, "      %.*s\n", (int)n, h);
			h += n + (h[n] == '\n');
		}
	}
}

/* The plan of word with its arguments (after the word). 0 or EXIT_USAGE
 * (printed); on failure the plan is empty. */
static int plan_of(const struct ctl *ctl, const char *word, int argc, char **argv, struct plan *pl)
{
	const struct action *a = NULL;
	json_object *p;
	int r;

	pl->n = 0;
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(actions[i].word, word) == 0)
			a = &actions[i];
	if (!a) {
		char words[128] = "";
		for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
			snprintf(words + strlen(words), sizeof(words) - strlen(words), "%s%s", i ? ", " : "",
			         actions[i].word);
		return usage_error("policy check: unknown action '%s' (%s)", word, words);
	}
	if (argc < a->min_args || argc > a->max_args)
		return usage_error("%s: usage: %s%s%s", a->word, a->word, *a->args ? " " : "", a->args);
	if (a->build) {
		r = a->build(ctl, a, argc, argv, pl);
		if (r)
			plan_free(pl);
		return r;
	}
	p = plan_add(pl, a->method, false);
	if (a->defaults) {
		json_object *d = json_tokener_parse(a->defaults);
		json_object_object_foreach(d, k, v)
			json_object_object_add(p, k, json_object_get(v));
		json_object_put(d);
	}
	for (int i = 0; i < argc; i++)
		json_object_object_add(p, a->keys[i], a->conv == ARG_TEXT ? json_object_new_string(argv[i])
		                                                          : name_or_number(argv[i]));
	return 0;
}

/* Sends one request of a plan as it is, except that a method on a socket
 * gets handle in place of the socket's family and type. The reply in *out
 * (a result, or an error: see sb_reply_ok), or -errno for the exchange. */
static int send_req(struct ctl *ctl, const struct plan_req *rq, long long handle, sb_reply **out)
{
	json_object *p = NULL;
	int r;

	if (json_object_deep_copy(rq->params, &p, NULL) < 0)
		return -ENOMEM;
	if (rq->on_handle) {
		json_object_object_del(p, "family");
		json_object_object_del(p, "type");
		json_object_object_del(p, "proto");
		json_object_object_add(p, "handle", json_object_new_int64(handle));
	}
	r = sb_call(ctl->client, rq->method, json_object_to_json_string_ext(p, JSON_COMPACT), NULL, 0, out);
	json_object_put(p);
	return r;
}

/* Does the plan: each request in turn, the first one's handle given to the
 * rest; the last hands out exactly one descriptor, which is returned (>= 0).
 * On failure, an error reply in *err (exit 1) or -errno (exit 3), and the
 * handle, if one was made, is closed. */
static int plan_run(struct ctl *ctl, const struct plan *pl, sb_reply **err)
{
	long long handle = 0;
	sb_reply *r = NULL;
	int fd = -1, rc = 0;

	*err = NULL;
	for (int i = 0; i < pl->n && rc == 0; i++) {
		json_object *res = NULL, *jh;

		rc = send_req(ctl, &pl->req[i], handle, &r);
		if (rc < 0)
			break;
		if (!sb_reply_ok(r)) {
			*err = r;
			r = NULL;
			rc = -EPERM;       /* stands for the error reply in *err */
			break;
		}
		if (i == 0 && pl->n > 1) {
			res = json_tokener_parse(sb_reply_result(r));
			if (json_object_object_get_ex(res, "handle", &jh) && json_object_is_type(jh, json_type_int))
				handle = json_object_get_int64(jh);
			json_object_put(res);
			if (handle <= 0)
				rc = -EPROTO;
		}
		if (i == pl->n - 1) {
			if (sb_reply_nfds(r) == 1)
				fd = sb_reply_take_fd(r, 0);
			else
				rc = -EPROTO;
		}
		sb_reply_free(r);
		r = NULL;
	}
	if (rc < 0 && handle > 0) {
		/* Best effort: the handle would live as long as the connection anyway. */
		char params[64];
		snprintf(params, sizeof(params), "{\"handle\":%lld}", handle);
		if (sb_call(ctl->client, "socket.close", params, NULL, 0, &r) == 0)
			sb_reply_free(r);
	}
	return rc < 0 ? rc : fd;
}

/* Reports a failed plan_run: the daemon's error (exit 1) or the exchange's
 * (exit 3). Frees err. */
static int run_failed(const char *what, int rc, sb_reply *err)
{
	if (err) {
		print_reply_error(err);
		sb_reply_free(err);
		return EXIT_REPLY_ERROR;
	}
	errmsg("%s: %s", what, sb_strerror(rc));
	return EXIT_CONNECTION;
}

/* Runs the action word for real and describes the descriptor it hands out. */
static int run_action(struct ctl *ctl, const char *word, int argc, char **argv, bool with_peer)
{
	struct plan pl = { .n = 0 };
	sb_reply *err = NULL;
	int fd, r = plan_of(ctl, word, argc, argv, &pl);

	if (r)
		return r;
	r = ctl_connect(ctl);
	if (r == 0) {
		fd = plan_run(ctl, &pl, &err);
		if (fd < 0)
			r = run_failed(word, fd, err);
		else {
			print_descriptor(ctl, fd, with_peer);
			close(fd);
		}
	}
	plan_free(&pl);
	return r;
}

/* listen SPEC [BACKLOG]: the listen action for real, described and closed */
static int cmd_listen(struct ctl *ctl, int argc, char **argv)
{
	return run_action(ctl, "listen", argc, argv, false);
}

/* connect SPEC | connect HOST PORT: the connect action for real, described
 * and closed */
static int cmd_connect(struct ctl *ctl, int argc, char **argv)
{
	return run_action(ctl, "connect", argc, argv, true);
}

/* ---------------------------------------------------------------- run
 *
 * run [--listen NAME=SPEC]... [--held NAME]... [--connect NAME=ADDR]...
 *     [--stdio ADDR] [--] PROGRAM [ARGS...]
 * The launcher of docs/launcher.md: every socket is asked of the daemon as
 * ourselves, in the order given, before anything else happens; then they
 * are placed at 3, 4, ... (and 0, 1 for --stdio), the environment says so
 * as sd_listen_fds(3) reads it, every other descriptor we hold is marked
 * close-on-exec, and PROGRAM replaces us (same pid, so LISTEN_PID holds). */

/* At most this many sockets at 3, 4, ...: a bound on what one command line
 * asks of the daemon. */
#define RUN_MAX_SOCKETS 64

/* Exit statuses of run beyond the common ones: as a shell's. */
enum {
	EXIT_NOEXEC = 126,      /* PROGRAM found but could not be executed */
	EXIT_NOTFOUND = 127,    /* PROGRAM not found */
};

enum run_kind { RUN_LISTEN, RUN_HELD, RUN_CONNECT, RUN_STDIO };

struct run_sock {
	enum run_kind kind;
	const char *opt;        /* "--listen", ... as the messages name it */
	const char *arg;        /* the option's argument as given */
	const char *name;       /* its LISTEN_FDNAMES entry (a part of arg); NULL for --stdio */
	size_t name_len;
	char addr[300];         /* --listen, --connect, --stdio: the SPEC sent */
	int fd;                 /* ours once received (CLOEXEC), else -1 */
};

/* An address of --connect or --stdio as a SPEC: tcp:, udp: and unix: ones
 * as they are, anything else (HOST:PORT, [IPV6]:PORT) as tcp:. */
static int run_addr(struct run_sock *s, const char *value)
{
	bool scheme = strncmp(value, "tcp:", 4) == 0 || strncmp(value, "udp:", 4) == 0 ||
	              strncmp(value, "unix:", 5) == 0;

	if (snprintf(s->addr, sizeof(s->addr), "%s%s", scheme ? "" : "tcp:", value) >= (int)sizeof(s->addr))
		return usage_error("run: %s %s: the address is too long", s->opt, s->arg);
	return 0;
}

/* Parses one socket option's argument into *s. 0 or EXIT_USAGE (printed). */
static int run_parse_sock(struct run_sock *s, enum run_kind kind, const char *opt, const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct sb_spec sp;
	int r;

	*s = (struct run_sock){ .kind = kind, .opt = opt, .arg = arg, .fd = -1 };
	if (kind == RUN_HELD) {
		s->name = arg;
		s->name_len = strlen(arg);
	} else if (kind != RUN_STDIO) {
		if (!eq)
			return usage_error("run: %s %s: give NAME=%s", opt, arg,
			                   kind == RUN_LISTEN ? "SPEC" : "HOST:PORT");
		s->name = arg;
		s->name_len = (size_t)(eq - arg);
	}
	if (s->name && !launch_fdname_ok(s->name, s->name_len))
		return usage_error("run: %s %s: '%.*s' cannot be a name in LISTEN_FDNAMES (1-255 printable "
		                   "ASCII characters, no ':')", opt, arg, (int)s->name_len, s->name);
	switch (kind) {
	case RUN_LISTEN:
		if (snprintf(s->addr, sizeof(s->addr), "%s", eq + 1) >= (int)sizeof(s->addr))
			return usage_error("run: %s %s: the address is too long", opt, arg);
		break;
	case RUN_CONNECT:
		r = run_addr(s, eq + 1);
		if (r)
			return r;
		break;
	case RUN_STDIO:
		r = run_addr(s, arg);
		if (r)
			return r;
		break;
	case RUN_HELD:
		return 0;
	}
	/* A bad SPEC is a usage error before anything is asked of the daemon. */
	r = sb_parse_spec(s->addr, &sp);
	if (r == -ENAMETOOLONG)
		return usage_error("run: %s %s: the host or path is too long", opt, arg);
	if (r < 0)
		return usage_error("run: %s %s: not an address: use %stcp:HOST:PORT, udp:HOST:PORT, tcp:[IPV6]:PORT, "
		                   "unix:/PATH or unix:@NAME (PORT 0-65535)", opt, arg,
		                   kind == RUN_LISTEN ? "" : "HOST:PORT, ");
	return 0;
}

/* Names a socket in messages: "--listen http=tcp:127.0.0.1:80". */
static void run_what(const struct run_sock *s, char *buf, size_t size)
{
	snprintf(buf, size, "%s %s", s->opt, s->arg);
}

/* Reports that socket s could not be had: the daemon's error (its message,
 * the policy's reason or the errno's name, and the data), or -errno of the
 * exchange. With --json, one JSON object on stderr instead. Frees err.
 * Returns the exit status: 1 for an error reply, else 3. */
static int run_sock_failed(const struct ctl *ctl, const struct run_sock *s, int rc, sb_reply *err)
{
	json_object *data = NULL, *v;
	const char *why = NULL;
	char what[400];
	int status = err ? EXIT_REPLY_ERROR : EXIT_CONNECTION;

	run_what(s, what, sizeof(what));
	if (err && sb_reply_error_data(err))
		data = json_tokener_parse(sb_reply_error_data(err));
	if (json_object_object_get_ex(data, "reason", &v) && json_object_is_type(v, json_type_string))
		why = json_object_get_string(v);
	else if (json_object_object_get_ex(data, "name", &v) && json_object_is_type(v, json_type_string))
		why = json_object_get_string(v);
	if (ctl->json) {
		json_object *o = json_object_new_object(), *e = json_object_new_object();

		json_object_object_add(o, "option", json_object_new_string(s->opt));
		json_object_object_add(o, "argument", json_object_new_string(s->arg));
		if (s->name)
			json_object_object_add(o, "name", json_object_new_string_len(s->name, (int)s->name_len));
		if (err) {
			json_object_object_add(e, "code", json_object_new_int(sb_reply_error_code(err)));
			json_object_object_add(e, "message", json_object_new_string(sb_reply_error_message(err)));
			if (data)
				json_object_object_add(e, "data", json_object_get(data));
		} else {
			json_object_object_add(e, "errno", json_object_new_int(-rc));
			json_object_object_add(e, "message", json_object_new_string(sb_strerror(rc)));
		}
		json_object_object_add(o, "error", e);
		fprintf(stderr, "%s\n", json_object_to_json_string_ext(o, JSON_COMPACT));
		json_object_put(o);
	} else if (err) {
		/* The policy's denials carry their reason in the message already. */
		if (why && strstr(sb_reply_error_message(err), why))
			why = NULL;
		errmsg("run: %s: %s%s%s (code %d)", what, sb_reply_error_message(err), why ? ": " : "",
		       why ? why : "", sb_reply_error_code(err));
		if (sb_reply_error_data(err))
			errmsg("run: error data: %s", sb_reply_error_data(err));
	} else {
		errmsg("run: %s: %s", what, sb_strerror(rc));
	}
	if (!ctl->json)
		errmsg("run: nothing was run");
	json_object_put(data);
	sb_reply_free(err);
	return status;
}

/* Gets socket s from the daemon: the plan of the listen or connect action
 * (the same requests `listen` and `connect` send), or hold.get with pass.
 * 0 with s->fd set, or the exit status (reported). */
static int run_get(struct ctl *ctl, struct run_sock *s)
{
	struct plan pl = { .n = 0 };
	sb_reply *err = NULL;
	char *argv1[1] = { s->addr };
	int fd, r;

	if (s->kind == RUN_HELD) {
		json_object *p = json_object_new_object();

		json_object_object_add(p, "name", json_object_new_string(s->name));
		json_object_object_add(p, "pass", json_object_new_boolean(1));
		r = sb_call(ctl->client, "hold.get", json_object_to_json_string_ext(p, JSON_COMPACT), NULL, 0, &err);
		json_object_put(p);
		if (r < 0)
			return run_sock_failed(ctl, s, r, NULL);
		if (!sb_reply_ok(err))
			return run_sock_failed(ctl, s, 0, err);
		fd = sb_reply_nfds(err) == 1 ? sb_reply_take_fd(err, 0) : -1;
		sb_reply_free(err);
		if (fd < 0)
			return run_sock_failed(ctl, s, -EPROTO, NULL);
		s->fd = fd;
		/* Blocking mode, as systemd hands sockets out (NonBlocking=no) and
		 * as the other kinds come: a socket the daemon made and holds is
		 * O_NONBLOCK, and a program that accepts without setting the mode
		 * itself (Python's socket(fileno=3), say) would fail at once. The
		 * flag belongs to the open file, which the daemon's copy shares; the
		 * daemon does no I/O on a held socket. */
		r = fcntl(fd, F_GETFL);
		if (r < 0 || ((r & O_NONBLOCK) && fcntl(fd, F_SETFL, r & ~O_NONBLOCK) < 0)) {
			/* s->fd is closed by the caller with the others. */
			errmsg("run: %s %s: cannot put it in blocking mode: %s", s->opt, s->arg, strerror(errno));
			return EXIT_REPLY_ERROR;
		}
		return 0;
	}
	r = plan_of(ctl, s->kind == RUN_LISTEN ? "listen" : "connect", 1, argv1, &pl);
	if (r)
		return r;
	fd = plan_run(ctl, &pl, &err);
	plan_free(&pl);
	if (fd < 0)
		return run_sock_failed(ctl, s, fd, err);
	s->fd = fd;
	return 0;
}

static const struct ctl_cmd *cmd_by_name(const char *name);

static void run_details(FILE *f)
{
	fprintf(f,
	        "SOCKET-OPTIONS: --listen NAME=SPEC, --held NAME, --connect NAME=ADDR (each\n"
	        "as often as needed), --stdio ADDR (once).\n"
	        "\n"
	        "Gets each socket from the daemon as this user, under the policy, in the\n"
	        "order given, then runs PROGRAM with them at descriptors 3, 4, ... and\n"
	        "LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES set as sd_listen_fds(3) reads them\n"
	        "(the NAMEs, in order), so that a socket-activated program takes them.\n"
	        "\n"
	        "  --listen NAME=SPEC    a listener (as the listen command): tcp:HOST:PORT,\n"
	        "                        udp:HOST:PORT (bound), unix:/PATH, unix:@NAME\n"
	        "  --held NAME           the held socket NAME (hold.get with pass); NAME\n"
	        "                        is its name in LISTEN_FDNAMES too\n"
	        "  --connect NAME=ADDR   a connection (as the connect command): HOST:PORT,\n"
	        "                        [IPV6]:PORT, or a SPEC (tcp:, udp:, unix:)\n"
	        "  --stdio ADDR          a connection as standard input and output (0 and 1,\n"
	        "                        inetd style, for a program that talks to a server\n"
	        "                        through them); not counted in LISTEN_FDS\n"
	        "  --preload             load the preload shim into PROGRAM (LD_PRELOAD, with\n"
	        "                        SOCKBROKER_SOCKET set): a bind() the kernel refuses\n"
	        "                        is asked of the daemon; SOCKBROKER_PRELOAD names\n"
	        "                        another copy of the shim\n"
	        "  --connect-through     --preload, and every AF_INET/AF_INET6 connect() and\n"
	        "                        getaddrinfo() of PROGRAM goes through the daemon\n"
	        "                        (SOCKBROKER_CONNECT=1)\n"
	        "  --inherit             --preload, and the programs PROGRAM executes keep the\n"
	        "                        shim (SOCKBROKER_PRELOAD_INHERIT=1); without it only\n"
	        "                        PROGRAM has it\n"
	        "  --                    ends the options; PROGRAM's own follow it\n"
	        "\n"
	        "NAME: 1-255 printable ASCII characters without ':'. At most %d sockets\n"
	        "at 3 and up. Every other descriptor is closed at exec (0-2 are kept;\n"
	        "closed ones are opened on /dev/null first). --timeout bounds each\n"
	        "connection attempt; --json reports a failure as one JSON line on stderr.\n"
	        "\n"
	        "Exit status (nothing is run unless every socket was had):\n"
	        "  1    the daemon refused a socket (the policy's reason is printed) or could\n"
	        "       not make it, or it could not be placed\n"
	        "  2    usage error\n"
	        "  3    cannot connect to the daemon, connection lost, protocol error, timeout\n"
	        "  126  PROGRAM could not be executed;  127  PROGRAM not found\n"
	        "  else PROGRAM's own\n", RUN_MAX_SOCKETS);
}

/* --preload: the shim (SOCKBROKER_PRELOAD, else the installed one) first in
 * LD_PRELOAD, and SOCKBROKER_SOCKET the control socket this command uses,
 * absolute, since the program may change its directory before it binds. */
static int run_preload_env(const struct ctl *ctl, bool connect_through, bool inherit)
{
	const char *lib = getenv("SOCKBROKER_PRELOAD"), *old = getenv("LD_PRELOAD");
	const char *sockpath = ctl->socket ? ctl->socket : sb_socket_path();
	char cwd[PATH_MAX], *v = NULL;
	int ok;

	if (!lib || !*lib)
		lib = SB_PRELOAD_PATH;
	if (lib[0] != '/' || access(lib, R_OK) < 0) {
		errmsg("run: --preload: the shim %s cannot be used: %s", lib,
		       lib[0] != '/' ? "not an absolute path" : strerror(errno));
		return EXIT_REPLY_ERROR;
	}
	if (sockpath[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd)) || asprintf(&v, "%s/%s", cwd, sockpath) < 0) {
			errmsg("run: --preload: cannot make the socket path %s absolute", sockpath);
			return EXIT_REPLY_ERROR;
		}
		ok = setenv("SOCKBROKER_SOCKET", v, 1) == 0;
		free(v);
	} else {
		ok = setenv("SOCKBROKER_SOCKET", sockpath, 1) == 0;
	}
	v = NULL;
	if (old && *old) {
		if (asprintf(&v, "%s:%s", lib, old) < 0)
			ok = 0;
	}
	ok = ok && setenv("LD_PRELOAD", v ? v : lib, 1) == 0;
	free(v);
	if (connect_through)
		ok = ok && setenv("SOCKBROKER_CONNECT", "1", 1) == 0;
	if (inherit)
		ok = ok && setenv("SOCKBROKER_PRELOAD_INHERIT", "1", 1) == 0;
	if (!ok) {
		errmsg("run: --preload: cannot set the environment: %s", strerror(errno));
		return EXIT_REPLY_ERROR;
	}
	return EXIT_OK;
}

/* run [--listen NAME=SPEC]... [--held NAME]... [--connect NAME=ADDR]...
 *     [--stdio ADDR] [--preload] [--connect-through] [--inherit] [--] PROGRAM [ARGS...] */
static int cmd_run(struct ctl *ctl, int argc, char **argv)
{
	static const struct {
		const char *opt;
		enum run_kind kind;
	} opts[] = {
		{ "--listen", RUN_LISTEN }, { "--held", RUN_HELD }, { "--connect", RUN_CONNECT },
		{ "--stdio", RUN_STDIO },
	};
	struct run_sock socks[RUN_MAX_SOCKETS], stdio, *stdio_p = NULL;
	const char *names[RUN_MAX_SOCKETS];
	size_t lens[RUN_MAX_SOCKETS];
	int fds[RUN_MAX_SOCKETS];
	int n = 0, i, r = EXIT_OK, stdio_at = 0;   /* --stdio came after stdio_at sockets */
	bool preload = false, connect_through = false, inherit = false;

	for (i = 0; i < argc; i++) {
		const char *arg = argv[i], *val = NULL, *eq;
		size_t len, k;
		struct run_sock *s;

		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			print_cmd_usage(stdout, cmd_by_name("run"));
			return EXIT_OK;
		}
		if (arg[0] != '-')
			break;          /* PROGRAM */
		if (strcmp(arg, "--preload") == 0 || strcmp(arg, "--connect-through") == 0 ||
		    strcmp(arg, "--inherit") == 0) {
			preload = true;
			connect_through |= strcmp(arg, "--connect-through") == 0;
			inherit |= strcmp(arg, "--inherit") == 0;
			continue;
		}
		eq = strchr(arg, '=');
		len = eq ? (size_t)(eq - arg) : strlen(arg);
		for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
			if (strlen(opts[k].opt) == len && strncmp(opts[k].opt, arg, len) == 0)
				break;
		if (k == sizeof(opts) / sizeof(opts[0]))
			return usage_error("run: unknown option '%s' (--listen, --held, --connect, --stdio, --preload, "
			                   "--connect-through, --inherit; "
			                   "'--' before a PROGRAM that starts with '-')", arg);
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			return usage_error("run: %s needs a value", opts[k].opt);
		if (opts[k].kind == RUN_STDIO) {
			if (stdio_p)
				return usage_error("run: --stdio may be given once");
			s = stdio_p = &stdio;
			stdio_at = n;
		} else {
			if (n == RUN_MAX_SOCKETS)
				return usage_error("run: at most %d sockets besides --stdio", RUN_MAX_SOCKETS);
			s = &socks[n++];
		}
		r = run_parse_sock(s, opts[k].kind, opts[k].opt, val);
		if (r)
			return r;
	}
	if (i >= argc)
		return usage_error("run: no PROGRAM given (run [OPTIONS] -- PROGRAM [ARGS...])");
	argv += i;
	if (preload) {
		r = run_preload_env(ctl, connect_through, inherit);
		if (r)
			return r;
	}

	/* Every socket first: a refusal ends the command before anything runs. */
	r = launch_fill_stdio();
	if (r < 0) {
		errmsg("run: cannot open /dev/null for a closed standard descriptor: %s", strerror(-r));
		return EXIT_CONNECTION;
	}
	r = ctl_connect(ctl);
	for (int k = 0; r == EXIT_OK && k <= n; k++) {
		if (stdio_p && k == stdio_at)
			r = run_get(ctl, stdio_p);
		if (r == EXIT_OK && k < n)
			r = run_get(ctl, &socks[k]);
	}
	/* The control connection is not the program's: closed before anything
	 * is placed, since dup2() onto its number would close it under the
	 * library. */
	sb_close(ctl->client);
	ctl->client = NULL;
	for (int k = 0; k < n; k++) {
		fds[k] = socks[k].fd;
		names[k] = socks[k].name;
		lens[k] = socks[k].name_len;
	}
	if (r == EXIT_OK) {
		r = launch_environment(names, lens, n);
		if (r == 0)
			r = launch_place(fds, n, stdio_p ? &stdio_p->fd : NULL);
		if (r < 0) {
			errmsg("run: cannot put the sockets in place: %s", strerror(-r));
			r = EXIT_REPLY_ERROR;
		}
	}
	if (r != EXIT_OK) {
		for (int k = 0; k < n; k++)
			if (fds[k] >= 0)
				close(fds[k]);
		if (stdio_p && stdio_p->fd >= 0)
			close(stdio_p->fd);
		return r;
	}
	fflush(stdout);
	execvp(argv[0], argv);
	r = errno;
	errmsg("run: cannot run %s: %s", argv[0], strerror(r));
	return r == ENOENT || r == ENOTDIR ? EXIT_NOTFOUND : EXIT_NOEXEC;
}

/* ---------------------------------------------------------------- policy check */

/* Prints one check of a policy.check result: "  allow  bind  <reason>". */
static void print_check(json_object *c)
{
	json_object *v;
	bool ok = json_object_object_get_ex(c, "allowed", &v) && json_object_get_boolean(v);

	printf("  %-5s  %-11s %s\n", ok ? "allow" : "deny", cell(c, "action"), cell(c, "reason"));
}

/* Prints a policy.check decision after prefix: "allowed: REASON" or "denied:
 * REASON", the deciding rule after it only when the reason does not already
 * name it (the daemon's reasons mostly do: 'rule "X" allows ...'); then one
 * line per check when there are several. */
static void print_decision(const char *prefix, json_object *result, bool allowed)
{
	json_object *rule = NULL, *checks = NULL;
	const char *reason = cell(result, "reason");
	char named[320] = "";

	fputs(prefix, stdout);
	json_object_object_get_ex(result, "rule", &rule);
	if (rule)
		snprintf(named, sizeof(named), "rule \"%s\"", json_object_get_string(rule));
	printf("%s: %s", allowed ? "allowed" : "denied", reason);
	if (rule && !strstr(reason, named))
		printf(" (%s)", named);
	putchar('\n');
	/* Several checks (bind then listen, each address of a name): each one. */
	if (json_object_object_get_ex(result, "checks", &checks) && json_object_is_type(checks, json_type_array) &&
	    json_object_array_length(checks) > 1)
		for (size_t k = 0; k < json_object_array_length(checks); k++)
			print_check(json_object_array_get_idx(checks, k));
}

/* Judges each request of a plan for as with policy.check and prints the
 * decisions: one request as before; several, each as "METHOD: decision", and
 * with --json an array of the results. EXIT_OK when every one is allowed. */
static int judge_plan(struct ctl *ctl, json_object *as, const struct plan *pl)
{
	json_object *all = json_object_new_array();
	bool allowed_all = true;
	sb_reply *err = NULL;
	int r = EXIT_OK;

	for (int i = 0; i < pl->n; i++) {
		json_object *p = json_object_new_object(), *req = json_object_new_object(), *result = NULL, *v;
		bool allowed;
		char prefix[96] = "";

		json_object_object_add(req, "method", json_object_new_string(pl->req[i].method));
		json_object_object_add(req, "params", json_object_get(pl->req[i].params));
		json_object_object_add(p, "as", json_object_get(as));
		json_object_object_add(p, "request", req);
		r = ctl_call_ex(ctl, "policy.check", json_object_to_json_string_ext(p, JSON_COMPACT), &result,
		                &err);
		json_object_put(p);
		if (err) {
			/* An error reply is never "denied": invalid params (an unknown
			 * user, params the method would refuse) are the command line's
			 * fault; anything else means no check was made. */
			print_reply_error(err);
			r = sb_reply_error_code(err) == -32602 ? EXIT_USAGE : EXIT_CONNECTION;
			sb_reply_free(err);
			break;
		}
		if (r)
			break;
		allowed = json_object_object_get_ex(result, "allowed", &v) && json_object_get_boolean(v);
		allowed_all = allowed_all && allowed;
		if (pl->n > 1)
			snprintf(prefix, sizeof(prefix), "%s: ", pl->req[i].method);
		if (!ctl->json)
			print_decision(prefix, result, allowed);
		json_object_array_add(all, result);
	}
	if (r == EXIT_OK && ctl->json)
		print_result(ctl, pl->n == 1 ? json_object_array_get_idx(all, 0) : all, NULL, false);
	json_object_put(all);
	if (r)
		return r;
	return allowed_all ? EXIT_OK : EXIT_REPLY_ERROR;
}

/* The address shorthand, as policy check, listen and connect take it. */
static void print_spec(FILE *f)
{
	fputs("SPEC: tcp:HOST:PORT or udp:HOST:PORT, HOST an IPv4 address, a host name\n"
	      "(resolved by the daemon), empty for any IPv4 address, or [IPv6] with an\n"
	      "optional %SCOPE inside the brackets; PORT 0-65535; unix:/PATH, unix:@NAME.\n", f);
}

/* policy check --help: WHO and ACTION in full. */
static void policy_check_details(FILE *f)
{
	fprintf(f,
	        "Asks the daemon (policy.check) what its policy would decide if the caller\n"
	        "described by WHO sent the requests ACTION stands for. Nothing is done,\n"
	        "audited or counted. The caller needs the admin action.\n"
	        "\n"
	        "WHO, options before ACTION, each at most once (--opt VALUE or --opt=VALUE):\n"
	        "  --uid N                  the user by number (default: the user running\n"
	        "  --user NAME              %s), or by name: one of the two\n"
	        "  --gid N                  the primary group by number (default: the user's,\n"
	        "  --group NAME             from the daemon's user database), or by name\n"
	        "  --groups G1,G2,...       supplementary groups, numbers or names (default:\n"
	        "                           the user's groups; --groups= for none)\n"
	        "  --exe PATH               the executable a rule's match may name\n"
	        "  --unit UNIT              the systemd unit\n"
	        "  --cgroup PATH            the cgroup\n"
	        "  --label LABEL            the LSM label\n"
	        "  --unknown PART,...       parts (exe, unit, cgroup, label) the daemon could\n"
	        "                           not read: an allow naming one does not apply, a\n"
	        "                           deny naming one does\n"
	        "  --token NAME             an HTTP caller presenting that bearer token (as\n"
	        "                           --user, the token's user): no program, so exe,\n"
	        "                           unit, cgroup and label are unknown\n"
	        "  (--exe, --unit, --cgroup, --label default to none, which matches no rule\n"
	        "  that names them.) Names are looked up by the daemon: an unknown user or\n"
	        "  group is a usage error.\n"
	        "\n"
	        "ACTION, one of:\n", prog);
	print_action_list(f);
	fputc('\n', f);
	print_spec(f);
	fprintf(f,
	        "\n"
	        "Output: one line per request, \"allowed: REASON\" or \"denied: REASON\"\n"
	        "(after \"METHOD: \" when the action is several requests), then one line per\n"
	        "check when a request meets the policy at several points; --json: the\n"
	        "results as JSON.\n"
	        "\n"
	        "Examples:\n"
	        "  %s policy check --user www-data listen tcp:0.0.0.0:80\n"
	        "  %s policy check --uid 65534 --groups= connect localhost 5432\n"
	        "  %s policy check --user nobody create AF_INET SOCK_RAW IPPROTO_ICMP\n"
	        "\n"
	        "Exit status: 0 every request would be allowed; 1 one would be denied;\n"
	        "2 usage error, also an invalid WHO or request (unknown user or group,\n"
	        "params the method refuses: code -32602); 3 no decision: cannot connect,\n"
	        "connection lost, protocol error, timeout, or any other error reply (such\n"
	        "as -32010, the caller may not use admin).\n", prog, prog, prog);
}

/* SPEC, for the commands that take one. */
static void spec_details(FILE *f)
{
	print_spec(f);
	fprintf(f,
	        "connect HOST PORT is connect tcp:HOST:PORT. The descriptor is handed out\n"
	        "(it needs a create grant beside bind or connect), described, and closed.\n"
	        "'%s policy check listen|connect ...' judges the same requests.\n", prog);
}

/* policy check [--uid N|--user U] [--gid N|--group G] [--groups G1,G2] [--exe P]
 * [--unit U] [--cgroup C] [--label L] [--unknown PART,...] [--token NAME] ACTION ARGS:
 * policy.check of each request the action makes. Exit 0 when allowed, 1 when
 * denied, 2 for a usage error (also -32602: an unknown user, bad params), 3
 * when no decision came. */
static int cmd_policy_check(struct ctl *ctl, int argc, char **argv)
{
	static const struct {
		const char *opt, *key;
		bool number;        /* --uid/--gid: a number */
	} opts[] = {
		{ "--uid", "uid", true }, { "--user", "user", false }, { "--gid", "gid", true },
		{ "--group", "group", false }, { "--groups", "groups", false }, { "--exe", "exe", false },
		{ "--unit", "unit", false }, { "--cgroup", "cgroup", false }, { "--label", "label", false },
		{ "--unknown", "unknown", false }, { "--token", "token", false },
	};
	json_object *as = json_object_new_object();
	struct plan pl = { .n = 0 };
	int i, r = EXIT_OK;

	for (i = 0; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *arg = argv[i], *val = NULL, *eq = strchr(arg, '=');
		size_t len = eq ? (size_t)(eq - arg) : strlen(arg), k;

		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		}
		for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
			if (strlen(opts[k].opt) == len && strncmp(opts[k].opt, arg, len) == 0)
				break;
		if (k == sizeof(opts) / sizeof(opts[0])) {
			r = usage_error("policy check: unknown option '%s'", arg);
			goto out;
		}
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else {
			r = usage_error("policy check: %s needs a value", opts[k].opt);
			goto out;
		}
		if (opts[k].number) {
			char *end;
			long long n;
			errno = 0;
			n = strtoll(val, &end, 10);
			if (errno || end == val || *end || n < 0 || n > 4294967294LL || !isdigit((unsigned char)*val)) {
				r = usage_error("policy check: %s takes a number, not '%s'", opts[k].opt, val);
				goto out;
			}
			json_object_object_add(as, opts[k].key, json_object_new_int64(n));
		} else if (strcmp(opts[k].key, "groups") == 0) {
			json_object_object_add(as, "groups", comma_list(val, name_or_number));
		} else if (strcmp(opts[k].key, "unknown") == 0) {
			/* Parts judged as the daemon judges what it could not read. */
			json_object_object_add(as, "unknown", comma_list(val, json_object_new_string));
		} else {
			json_object_object_add(as, opts[k].key, json_object_new_string(val));
		}
	}
	if (i >= argc) {
		r = usage_error("policy check: no ACTION given");
		goto out;
	}
	/* Without --uid or --user: as ourselves. */
	if (!json_object_object_get_ex(as, "uid", NULL) && !json_object_object_get_ex(as, "user", NULL))
		json_object_object_add(as, "uid", json_object_new_int64(getuid()));
	r = plan_of(ctl, argv[i], argc - i - 1, argv + i + 1, &pl);
	if (r == 0)
		r = judge_plan(ctl, as, &pl);
out:
	plan_free(&pl);
	json_object_put(as);
	return r;
}

static const struct ctl_cmd *cmd_find(int argc, char **argv, int *nwords);

static void audit_details(FILE *f)
{
	fprintf(f,
	        "--since N: the records after seq N, oldest first (page on with the last seq\n"
	        "shown); without it the newest. --limit N: at most N records (1-1000, default\n"
	        "100). The daemon keeps the last --audit-ring records (sockbrokerd(8)).\n");
}

/* help [COMMAND] */
static int cmd_help(struct ctl *ctl, int argc, char **argv)
{
	const struct ctl_cmd *c;
	int nwords;

	if (argc == 0) {
		print_help(stdout);
		return EXIT_OK;
	}
	c = cmd_find(argc, argv, &nwords);
	if (!c && argc == 1 && is_group(argv[0])) {
		print_group_usage(stdout, argv[0]);
		return EXIT_OK;
	}
	if (!c || nwords != argc)
		return usage_error("unknown command '%s%s%s'", argv[0], argc > 1 ? " " : "",
		                   argc > 1 ? argv[1] : "");
	print_cmd_usage(stdout, c);
	return EXIT_OK;
}

static const struct ctl_cmd cmd_table[] = {
	{ "call", "METHOD [JSON-PARAMS]", "call METHOD; JSON-PARAMS is an object (default {})",
	  1, 2, cmd_call },
	{ "info", "", "show the daemon's version, pid, uptime and limits",
	  0, 0, cmd_info },
	{ "whoami", "", "show the credentials the daemon sees for us",
	  0, 0, cmd_whoami },
	{ "resolve", "HOST [PORT]", "look HOST up (net.getaddrinfo): family, type, address",
	  1, 2, cmd_resolve },
	{ "sockets", "[--all]", "list this connection's sockets; --all: every client's", 0, 1, cmd_sockets },
	{ "socket info", "HANDLE", "show a socket's state (socket.info)", 1, 1, cmd_socket_info },
	{ "listen", "SPEC [BACKLOG]", "get a listener on SPEC (handed out) and show its address",
	  1, 2, cmd_listen, spec_details },
	{ "connect", "SPEC | HOST PORT", "connect to SPEC (HOST PORT: over TCP), show both ends",
	  1, 2, cmd_connect, spec_details },
	{ "hold put", "NAME --fd FD [--expires SECONDS]", "hold descriptor FD in the daemon under NAME",
	  1, 5, cmd_hold_put, hold_put_details },
	{ "hold get", "NAME", "retrieve the held socket NAME and describe it", 1, 1, cmd_hold_get },
	{ "hold take", "NAME", "retrieve NAME and hold it no longer", 1, 1, cmd_hold_take },
	{ "hold list", "", "list the held sockets we may see", 0, 0, cmd_hold_list },
	{ "hold rm", "NAME", "close the held socket NAME", 1, 1, cmd_hold_rm },
	{ "clients", "", "list every client: identity, handles, rules (admin)",
	  0, 0, cmd_clients },
	{ "close-client", "CONNECTION", "disconnect another client (admin)",
	  1, 1, cmd_close_client },
	{ "close-socket", "HANDLE", "close any client's socket (admin)", 1, 1, cmd_close_socket },
	{ "stats", "", "show counters and each rule's decisions (admin)", 0, 0, cmd_stats },
	{ "reload", "", "load the policy again; a bad one is reported (admin)",
	  0, 0, cmd_reload },
	{ "restart", "", "run the daemon's binary again, handing it every held and declared socket (admin)",
	  0, 0, cmd_restart },
	{ "audit", "[--since N] [--limit N] [--json]",
	  "show the last audit records the daemon keeps (admin)", 0, 5, cmd_audit, audit_details },
	{ "policy rules", "[--json]", "show every rule as written, where, and its counts (admin)",
	  0, 1, cmd_policy_rules },
	{ "policy check", "[WHO...] ACTION [ARGS...]",
	  "what the policy decides for WHO; exit 1: denied (admin)", 1, 64, cmd_policy_check,
	  policy_check_details },
	{ "run", "[SOCKET-OPTIONS...] [--preload] [--connect-through] [--inherit] [--] PROGRAM [ARGS...]",
	  "run PROGRAM with sockets from the daemon at 3, 4, ...", 1, INT_MAX, cmd_run, run_details,
	  true },
	{ "help", "[COMMAND]", "show this help, or one command's", 0, 2, cmd_help },
	{ NULL, NULL, NULL, 0, 0, NULL, NULL },
};

/* The command named name exactly. */
static const struct ctl_cmd *cmd_by_name(const char *name)
{
	for (const struct ctl_cmd *c = cmd_table; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* The command whose name words start argv, longest name first; *nwords gets
 * how many words it took. NULL when none matches. */
static const struct ctl_cmd *cmd_find(int argc, char **argv, int *nwords)
{
	const struct ctl_cmd *best = NULL;
	int bestn = 0;

	for (const struct ctl_cmd *c = cmd_table; c->name; c++) {
		const char *p = c->name;
		int n = 0;

		while (*p && n < argc) {
			size_t len = strlen(argv[n]);

			if (strncmp(p, argv[n], len) != 0 || (p[len] != ' ' && p[len] != '\0'))
				break;
			p += len;
			n++;
			if (*p == ' ')
				p++;
		}
		if (*p == '\0' && n > bestn) {
			best = c;
			bestn = n;
		}
	}
	*nwords = bestn;
	return best;
}

/* ---------------------------------------------------------------- main */

/* Parses --timeout SECONDS into milliseconds (0 -> -1, no limit). 0 or -1. */
static int parse_timeout(const char *s, int *ms)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(d) || d < 0 || d > 2000000.0)
		return -1;
	*ms = d == 0 ? -1 : (int)(d * 1000.0 + 0.999); /* round up: never 0 */
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl = { .timeout_ms = -1 };
	const struct ctl_cmd *cmd;
	int opt, nwords, nargs, r;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+s:jt:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (!*optarg)
				return usage_error("--socket needs a path");
			ctl.socket = optarg;
			break;
		case 'j':
			ctl.json = true;
			break;
		case 't':
			if (parse_timeout(optarg, &ctl.timeout_ms) < 0)
				return usage_error("--timeout takes a number of seconds, not '%s'", optarg);
			break;
		case 'h':
			print_help(stdout);
			return EXIT_OK;
		case 'V':
			printf("%s %s\n", prog, PACKAGE_VERSION);
			return EXIT_OK;
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			if (optopt)
				return usage_error("unknown option '-%c'", optopt);
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("no command given");
	cmd = cmd_find(argc - optind, argv + optind, &nwords);
	if (!cmd && is_group(argv[optind])) {
		/* "policy --help", "socket -h": the group's commands. */
		if (optind + 1 < argc && (strcmp(argv[optind + 1], "--help") == 0 ||
		                          strcmp(argv[optind + 1], "-h") == 0)) {
			print_group_usage(stdout, argv[optind]);
			return EXIT_OK;
		}
		if (optind + 1 >= argc) {
			fprintf(stderr, "%s: '%s' needs a subcommand\n", prog, argv[optind]);
			print_group_usage(stderr, argv[optind]);
			return EXIT_USAGE;
		}
		return usage_error("unknown command '%s %s'", argv[optind], argv[optind + 1]);
	}
	if (!cmd)
		return usage_error("unknown command '%s'", argv[optind]);
	argv += optind + nwords;
	nargs = argc - optind - nwords;
	for (int i = 0; i < nargs && !cmd->takes_program; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			print_cmd_usage(stdout, cmd);
			return EXIT_OK;
		}
	if (nargs < cmd->min_args || nargs > cmd->max_args) {
		fprintf(stderr, "%s: wrong number of arguments for '%s'\n", prog, cmd->name);
		print_cmd_usage(stderr, cmd);
		return EXIT_USAGE;
	}
	r = cmd->run(&ctl, nargs, argv);
	sb_close(ctl.client);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		errmsg("cannot write the output: %s", strerror(errno));
		if (r == EXIT_OK)
			r = EXIT_CONNECTION;
	}
	return r;
}
