/* Declared sockets: loading the files, making the sockets, keeping the table
 * in step with the files across reloads. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <json-c/json.h>

#include "consts.h"
#include "declared.h"
#include "log.h"
#include "server.h"
#include "util.h"

#define DECLARED_MAX_FILES 1024

void declared_spec_clear(struct declared_spec *s)
{
	free(s->name);
	free(s->file);
	free(s->unix_path);
	free(s->opts);
	memset(s, 0, sizeof(*s));
}

void declared_set_free(struct declared_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		declared_spec_clear(&s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

bool declared_spec_equal(const struct declared_spec *a, const struct declared_spec *b)
{
	if (a->family != b->family || a->type != b->type || a->proto != b->proto || a->backlog != b->backlog ||
	    a->mode != b->mode || a->owner != b->owner || a->group != b->group || a->nopts != b->nopts ||
	    a->addr.len != b->addr.len || memcmp(&a->addr.ss, &b->addr.ss, a->addr.len))
		return false;
	for (size_t i = 0; i < a->nopts; i++)
		if (a->opts[i].level != b->opts[i].level || a->opts[i].option != b->opts[i].option ||
		    a->opts[i].len != b->opts[i].len || memcmp(a->opts[i].val, b->opts[i].val, a->opts[i].len))
			return false;
	return true;
}

int declared_spec_copy(struct declared_spec *dst, const struct declared_spec *src)
{
	*dst = *src;
	dst->name = strdup(src->name);
	dst->file = src->file ? strdup(src->file) : NULL;
	dst->unix_path = src->unix_path ? strdup(src->unix_path) : NULL;
	dst->opts = src->nopts ? malloc(src->nopts * sizeof(*dst->opts)) : NULL;
	if (dst->opts)
		memcpy(dst->opts, src->opts, src->nopts * sizeof(*dst->opts));
	if (!dst->name || (src->file && !dst->file) || (src->unix_path && !dst->unix_path) ||
	    (src->nopts && !dst->opts)) {
		declared_spec_clear(dst);
		return -ENOMEM;
	}
	return 0;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

void declared_spec_fingerprint(const struct declared_spec *s, char out[33])
{
	int head[] = { s->family, s->type, s->proto, s->backlog, (int)s->mode, (int)s->owner, (int)s->group,
	               (int)s->nopts, (int)s->addr.len };
	/* Two FNV-1a hashes from different bases: 128 bits, no collision to fear. */
	uint64_t h[2] = { 1469598103934665603ull, 0x84222325cbf29ce4ull };

	for (int k = 0; k < 2; k++) {
		h[k] = fnv(h[k], head, sizeof(head));
		h[k] = fnv(h[k], &s->addr.ss, s->addr.len);
		for (size_t i = 0; i < s->nopts; i++) {
			int o[] = { s->opts[i].level, s->opts[i].option, (int)s->opts[i].len };
			h[k] = fnv(h[k], o, sizeof(o));
			h[k] = fnv(h[k], s->opts[i].val, s->opts[i].len);
		}
	}
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)h[0], (unsigned long long)h[1]);
}

/* ---- the shorthand ---- */

static int parse_port(const char *s, in_port_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 65535)
		return -EINVAL;
	*port = htons((uint16_t)v);
	return 0;
}

int declared_parse_shorthand(const char *s, int *family, int *type, struct sbaddr *addr, const char **why)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&addr->ss;
	char host[INET6_ADDRSTRLEN + 2];
	const char *rest, *colon;
	size_t hl;

	memset(addr, 0, sizeof(*addr));
	if (!strncmp(s, "unix:", 5)) {
		rest = s + 5;
		if (rest[0] != '/') {
			*why = "the path of unix:PATH is absolute";
			return -EINVAL;
		}
		if (strlen(rest) >= sizeof(un->sun_path)) {
			*why = "the path of unix:PATH has at most 107 bytes";
			return -EINVAL;
		}
		*family = AF_UNIX;
		*type = SOCK_STREAM;
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, rest, strlen(rest));
		addr->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(rest) + 1);
		return 0;
	}
	if (!strncmp(s, "tcp:", 4))
		*type = SOCK_STREAM;
	else if (!strncmp(s, "udp:", 4))
		*type = SOCK_DGRAM;
	else {
		*why = "the shorthand is tcp:ADDR:PORT, udp:ADDR:PORT or unix:PATH";
		return -EINVAL;
	}
	rest = s + 4;
	colon = strrchr(rest, ':');
	if (!colon) {
		*why = "tcp: and udp: take ADDR:PORT";
		return -EINVAL;
	}
	hl = (size_t)(colon - rest);
	if (hl >= 2 && rest[0] == '[' && rest[hl - 1] == ']') {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&addr->ss;
		if (hl - 2 >= sizeof(host))
			goto bad_host;
		memcpy(host, rest + 1, hl - 2);
		host[hl - 2] = '\0';
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			goto bad_host;
		if (parse_port(colon + 1, &in6->sin6_port) < 0)
			goto bad_port;
		in6->sin6_family = AF_INET6;
		*family = AF_INET6;
		addr->len = sizeof(*in6);
		return 0;
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&addr->ss;
		if (hl >= sizeof(host))
			goto bad_host;
		memcpy(host, rest, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			goto bad_host;
		if (parse_port(colon + 1, &in->sin_port) < 0)
			goto bad_port;
		in->sin_family = AF_INET;
		*family = AF_INET;
		addr->len = sizeof(*in);
		return 0;
	}
bad_host:
	memset(addr, 0, sizeof(*addr));
	*why = "ADDR is an IPv4 literal (0.0.0.0 for every address) or an IPv6 one in brackets ([::1]); "
	       "no host names";
	return -EINVAL;
bad_port:
	memset(addr, 0, sizeof(*addr));
	*why = "PORT is a number 0-65535";
	return -EINVAL;
}

/* ---- loading ---- */

struct dld {
	const char *file;
	const char *buf;
	size_t len;
	struct policy_error *err;
};

#define DFAIL(l, r, where, ...) policy_error_at((l)->err, (l)->file, (l)->buf, (l)->len, r, where, __VA_ARGS__)

static const char *jtype(json_object *j)
{
	return json_type_to_name(json_object_get_type(j));
}

static const char *const members[] = { "name", "address", "family", "type", "proto", "backlog", "options",
	                               "mode", "owner", "group" };

/* The level of an option name: SOL_SOCKET, IPPROTO_IP, IPPROTO_IPV6 or
 * IPPROTO_TCP by its table. */
static int option_by_name(const char *name, int *level, int *option)
{
	static const struct { enum sbc_kind kind; int level; } kinds[] = {
		{ SBC_SO, SOL_SOCKET }, { SBC_IP, IPPROTO_IP }, { SBC_IPV6, IPPROTO_IPV6 }, { SBC_TCP, IPPROTO_TCP },
	};
	long v;

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (sbc_value(kinds[i].kind, name, &v) == 0) {
			*level = kinds[i].level;
			*option = (int)v;
			return 0;
		}
	return -ENOENT;
}

static int parse_options(struct dld *l, json_object *o, const char *where, struct declared_spec *s)
{
	char w[400];
	size_t n;

	if (!json_object_is_type(o, json_type_object))
		return DFAIL(l, -EINVAL, where, "\"options\" is an object of option names and values, not %s", jtype(o));
	n = (size_t)json_object_object_length(o);
	if (n > DECLARED_MAX_OPTIONS)
		return DFAIL(l, -E2BIG, where, "more than %d options", DECLARED_MAX_OPTIONS);
	s->opts = calloc(n ? n : 1, sizeof(*s->opts));
	if (!s->opts)
		return DFAIL(l, -ENOMEM, where, "out of memory");
	json_object_object_foreach(o, key, val) {
		struct declared_opt *d = &s->opts[s->nopts];
		struct decode_error e = { { 0 }, { 0 } };

		snprintf(w, sizeof(w), "%s.%s", where, key);
		if (option_by_name(key, &d->level, &d->option) < 0)
			return DFAIL(l, -EINVAL, w, "unknown option \"%.100s\" (an SO_, IP_, IPV6_ or TCP_ name)", key);
		if ((d->level == IPPROTO_IP && s->family != AF_INET) ||
		    (d->level == IPPROTO_IPV6 && s->family != AF_INET6) ||
		    (d->level == IPPROTO_TCP && (s->type != SOCK_STREAM || s->family == AF_UNIX)))
			return DFAIL(l, -EINVAL, w, "%s does not apply to this socket", key);
		if (sockopt_encode_value(d->level, d->option, val, d->val, &d->len, &e) < 0)
			return DFAIL(l, -EINVAL, w, "%s", e.msg);
		s->nopts++;
	}
	return 0;
}

static int get_const(struct dld *l, json_object *o, const char *key, const char *where, enum sbc_kind kind,
                     int *out)
{
	char w[300];
	json_object *v;
	long n;
	int r;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	snprintf(w, sizeof(w), "%s.%s", where, key);
	r = sbc_from_json(kind, v, &n);
	if (r == -ENOENT)
		return DFAIL(l, -EINVAL, w, "unknown name \"%.100s\"", json_object_get_string(v));
	if (r < 0 || n < 0)
		return DFAIL(l, -EINVAL, w, "\"%s\" is a name or a number >= 0, not %s", key, jtype(v));
	*out = (int)n;
	return 1;
}

static int parse_address(struct dld *l, json_object *j, const char *where, struct declared_spec *s)
{
	char w[300];
	json_object *a;
	bool explicit = json_object_object_get_ex(j, "family", NULL);
	int r;

	snprintf(w, sizeof(w), "%s.address", where);
	if (!json_object_object_get_ex(j, "address", &a))
		return DFAIL(l, -EINVAL, where, "\"address\" is missing");
	if (!explicit) {
		const char *why = NULL;

		if (json_object_object_get_ex(j, "type", NULL) || json_object_object_get_ex(j, "proto", NULL))
			return DFAIL(l, -EINVAL, where, "\"type\" and \"proto\" go with \"family\"; without it the "
			             "address is a shorthand (tcp:ADDR:PORT, udp:ADDR:PORT, unix:PATH)");
		if (!json_object_is_type(a, json_type_string))
			return DFAIL(l, -EINVAL, w, "without \"family\", the address is a string (tcp:ADDR:PORT, "
			             "udp:ADDR:PORT, unix:PATH), not %s", jtype(a));
		if (declared_parse_shorthand(json_object_get_string(a), &s->family, &s->type, &s->addr, &why) < 0)
			return DFAIL(l, -EINVAL, w, "\"%.200s\": %s", json_object_get_string(a), why);
	} else {
		struct decode_error e = { { 0 }, { 0 } };

		s->type = -1;
		if ((r = get_const(l, j, "family", where, SBC_AF, &s->family)) < 0 ||
		    (r = get_const(l, j, "type", where, SBC_SOCK, &s->type)) < 0 ||
		    (r = get_const(l, j, "proto", where, SBC_IPPROTO, &s->proto)) < 0)
			return r;
		if (s->type < 0)
			return DFAIL(l, -EINVAL, where, "\"type\" is missing (SOCK_STREAM, SOCK_DGRAM, ...)");
		if (s->family != AF_INET && s->family != AF_INET6 && s->family != AF_UNIX)
			return DFAIL(l, -EINVAL, where, "\"family\": declared sockets are AF_INET, AF_INET6 or AF_UNIX");
		r = sbaddr_decode(s->family, a, &s->addr, NULL, &e);
		if (r < 0)
			return DFAIL(l, -EINVAL, w, "%s", e.msg[0] ? e.msg : strerror(-r));
	}
	if (s->family == AF_UNIX) {
		struct sockaddr_un *un = (struct sockaddr_un *)&s->addr.ss;

		if (s->type != SOCK_STREAM)
			return DFAIL(l, -EINVAL, where, "an AF_UNIX declared socket is a SOCK_STREAM listener");
		if (s->addr.len <= offsetof(struct sockaddr_un, sun_path) || un->sun_path[0] != '/')
			return DFAIL(l, -EINVAL, w, "an AF_UNIX declared socket has an absolute path");
		s->unix_path = strndup(un->sun_path, sizeof(un->sun_path));
		if (!s->unix_path)
			return DFAIL(l, -ENOMEM, w, "out of memory");
	}
	return 0;
}

static int parse_unix_perms(struct dld *l, json_object *j, const char *where, struct declared_spec *s)
{
	json_object *v;
	char w[300];

	s->mode = 0666;
	s->owner = (uid_t)-1;
	s->group = (gid_t)-1;
	if (s->family != AF_UNIX) {
		for (size_t i = 0; i < 3; i++) {
			const char *k = (const char *[]){ "mode", "owner", "group" }[i];
			if (json_object_object_get_ex(j, k, NULL)) {
				snprintf(w, sizeof(w), "%s.%s", where, k);
				return DFAIL(l, -EINVAL, w, "\"%s\" is for a UNIX path", k);
			}
		}
		return 0;
	}
	if (json_object_object_get_ex(j, "mode", &v)) {
		const char *m = json_object_get_string(v);
		char *end;
		unsigned long mode;

		snprintf(w, sizeof(w), "%s.mode", where);
		if (!json_object_is_type(v, json_type_string))
			return DFAIL(l, -EINVAL, w, "\"mode\" is an octal string (\"0660\"), not %s", jtype(v));
		errno = 0;
		mode = strtoul(m, &end, 8);
		if (!*m || *end || errno || mode > 0777)
			return DFAIL(l, -EINVAL, w, "\"%.20s\" is not an octal mode of at most 0777", m);
		s->mode = (mode_t)mode;
	}
	if (json_object_object_get_ex(j, "owner", &v)) {
		struct passwd pw;
		_cleanup_free_ char *pwbuf = NULL;
		int r;

		snprintf(w, sizeof(w), "%s.owner", where);
		if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0 &&
		    json_object_get_int64(v) < (int64_t)UINT32_MAX) {
			s->owner = (uid_t)json_object_get_int64(v);
		} else if (json_object_is_type(v, json_type_string)) {
			r = policy_lookup_user(json_object_get_string(v), 0, &pw, &pwbuf);
			if (r < 0)
				return DFAIL(l, -EINVAL, w, "no user named \"%.200s\" (%s)", json_object_get_string(v),
				             strerror(-r));
			s->owner = pw.pw_uid;
		} else {
			return DFAIL(l, -EINVAL, w, "\"owner\" is a user name or uid, not %s", jtype(v));
		}
	}
	if (json_object_object_get_ex(j, "group", &v)) {
		int r;

		snprintf(w, sizeof(w), "%s.group", where);
		if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0 &&
		    json_object_get_int64(v) < (int64_t)UINT32_MAX) {
			s->group = (gid_t)json_object_get_int64(v);
		} else if (json_object_is_type(v, json_type_string)) {
			r = policy_lookup_group(json_object_get_string(v), &s->group);
			if (r < 0)
				return DFAIL(l, -EINVAL, w, "no group named \"%.200s\" (%s)", json_object_get_string(v),
				             strerror(-r));
		} else {
			return DFAIL(l, -EINVAL, w, "\"group\" is a group name or gid, not %s", jtype(v));
		}
	}
	return 0;
}

/* A held socket's name: 1..200 bytes of UTF-8 (the parser checked that), no
 * '/', not starting with '.', no control character. */
static const char *name_problem(const char *n, size_t len)
{
	if (len < 1 || len > DECLARED_NAME_MAX)
		return "a name has 1 to 200 bytes";
	if (n[0] == '.')
		return "a name does not start with '.'";
	for (const char *p = n; *p; p++) {
		if (*p == '/')
			return "a name holds no '/'";
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "a name holds no control character";
	}
	return NULL;
}

static int parse_socket(struct dld *l, json_object *j, const char *where, struct declared_set *set)
{
	struct declared_spec *s = &set->v[set->n];
	json_object *v;
	const char *why;
	char w[300];
	int r;

	if (!json_object_is_type(j, json_type_object))
		return DFAIL(l, -EINVAL, where, "a socket is an object, not %s", jtype(j));
	json_object_object_foreach(j, key, val) {
		bool known = false;
		(void)val;
		for (size_t i = 0; i < ARRAY_SIZE(members); i++)
			known = known || !strcmp(key, members[i]);
		if (!known) {
			snprintf(w, sizeof(w), "%s.%s", where, key);
			return DFAIL(l, -EINVAL, w, "unknown member \"%.100s\" (a socket has name, address, family, "
			             "type, proto, backlog, options, mode, owner, group)", key);
		}
	}
	set->n++;   /* from here on, freed with the set */
	s->file = strdup(l->file);
	if (!s->file)
		return DFAIL(l, -ENOMEM, where, "out of memory");
	snprintf(w, sizeof(w), "%s.name", where);
	if (!json_object_object_get_ex(j, "name", &v))
		return DFAIL(l, -EINVAL, where, "\"name\" is missing");
	if (!json_object_is_type(v, json_type_string))
		return DFAIL(l, -EINVAL, w, "\"name\" is a string, not %s", jtype(v));
	if ((why = name_problem(json_object_get_string(v), (size_t)json_object_get_string_len(v))))
		return DFAIL(l, -EINVAL, w, "%s", why);
	for (size_t i = 0; i + 1 < set->n; i++)
		if (!strcmp(set->v[i].name, json_object_get_string(v)))
			return DFAIL(l, -EINVAL, w, "a second socket named \"%s\" (%s declares one)",
			             json_object_get_string(v), set->v[i].file);
	s->name = strdup(json_object_get_string(v));
	if (!s->name)
		return DFAIL(l, -ENOMEM, where, "out of memory");
	if ((r = parse_address(l, j, where, s)) < 0 || (r = parse_unix_perms(l, j, where, s)) < 0)
		return r;
	/* Only the connection-oriented types listen. */
	s->backlog = s->type == SOCK_STREAM || s->type == SOCK_SEQPACKET ? SOMAXCONN : -1;
	if (json_object_object_get_ex(j, "backlog", &v)) {
		snprintf(w, sizeof(w), "%s.backlog", where);
		if (s->backlog < 0)
			return DFAIL(l, -EINVAL, w, "a %s socket does not listen: no backlog",
			             sbc_name(SBC_SOCK, s->type) ? sbc_name(SBC_SOCK, s->type) : "connectionless");
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
		    json_object_get_int64(v) > 65535)
			return DFAIL(l, -EINVAL, w, "\"backlog\" is a number 1-65535");
		s->backlog = (int)json_object_get_int64(v);
	}
	if (json_object_object_get_ex(j, "options", &v)) {
		snprintf(w, sizeof(w), "%s.options", where);
		r = parse_options(l, v, w, s);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_file(struct dld *l, json_object *top, struct declared_set *set)
{
	json_object *v, *list = NULL;
	char w[64];
	size_t n;
	int r;

	if (!json_object_is_type(top, json_type_object))
		return DFAIL(l, -EINVAL, "", "a sockets file is a JSON object, not %s", jtype(top));
	json_object_object_foreach(top, key, val) {
		(void)val;
		if (strcmp(key, "version") && strcmp(key, "sockets"))
			return DFAIL(l, -EINVAL, key, "unknown member \"%.100s\" (the file has version, sockets)", key);
	}
	if (!json_object_object_get_ex(top, "version", &v))
		return DFAIL(l, -EINVAL, "", "\"version\" is missing");
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) != 1)
		return DFAIL(l, -EINVAL, "version", "unsupported version (this daemon reads version 1)");
	if (!json_object_object_get_ex(top, "sockets", &list))
		return DFAIL(l, -EINVAL, "", "\"sockets\" is missing");
	if (!json_object_is_type(list, json_type_array))
		return DFAIL(l, -EINVAL, "sockets", "\"sockets\" is a list, not %s", jtype(list));
	n = json_object_array_length(list);
	if (n > DECLARED_MAX - set->n)
		return DFAIL(l, -E2BIG, "sockets", "more than %d declared sockets in all", DECLARED_MAX);
	if (n) {
		struct declared_spec *nv = realloc(set->v, (set->n + n) * sizeof(*nv));
		if (!nv)
			return DFAIL(l, -ENOMEM, "sockets", "out of memory");
		set->v = nv;
		memset(set->v + set->n, 0, n * sizeof(*nv));
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(w, sizeof(w), "sockets[%zu]", i);
		r = parse_socket(l, json_object_array_get_idx(list, i), w, set);
		if (r < 0)
			return r;
	}
	return 0;
}

static int load_file(const char *path, bool strict_owner, struct declared_set *set, struct policy_error *err)
{
	_cleanup_free_ char *buf = NULL;
	json_object *top = NULL;
	size_t len;
	int r;

	r = policy_file_read(path, strict_owner ? POLICY_FILE_STRICT_OWNER : 0, &buf, &len, err);
	if (r == 0)
		r = policy_json_parse(path, buf, len, &top, err);
	if (r == 0) {
		struct dld l = { path, buf, len, err };
		r = parse_file(&l, top, set);
	}
	json_object_put(top);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.json of dir, in byte order. */
static int load_dir(const char *dir, bool strict_owner, struct declared_set *set, struct policy_error *err)
{
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);
	int r = 0;

	if (!d)
		return policy_error_at(err, dir, NULL, 0, -errno, NULL, "cannot read the directory: %s",
		                       strerror(errno));
	while ((errno = 0, de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char **nn;

		if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json"))
			continue;
		if (n >= DECLARED_MAX_FILES) {
			r = policy_error_at(err, dir, NULL, 0, -E2BIG, NULL, "more than %d files", DECLARED_MAX_FILES);
			goto out;
		}
		nn = realloc(names, (n + 1) * sizeof(*names));
		if (!nn || !(nn[n] = strdup(de->d_name))) {
			names = nn ? nn : names;
			r = policy_error_at(err, dir, NULL, 0, -ENOMEM, NULL, "out of memory");
			goto out;
		}
		names = nn;
		n++;
	}
	if (errno) {
		r = policy_error_at(err, dir, NULL, 0, -errno, NULL, "cannot read the directory: %s", strerror(errno));
		goto out;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n && r == 0; i++) {
		char path[PATH_MAX + 256];

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		r = load_file(path, strict_owner, set, err);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return r;
}

int declared_load(const char *path, bool strict_owner, struct declared_set *out, struct policy_error *err)
{
	struct declared_set set = { 0 };
	const char *p = path ? path : DECLARED_DEFAULT_DIR;
	struct stat st;
	int r;

	if (err)
		memset(err, 0, sizeof(*err));
	if (stat(p, &st) < 0) {
		r = -errno;
		if (!path && r == -ENOENT)
			goto done;
		return policy_error_at(err, p, NULL, 0, r, NULL, "cannot read: %s", strerror(-r));
	}
	r = S_ISDIR(st.st_mode) ? load_dir(p, strict_owner, &set, err) : load_file(p, strict_owner, &set, err);
	if (r < 0) {
		declared_set_free(&set);
		return r;
	}
done:
	declared_set_free(out);
	*out = set;
	return 0;
}

/* ---- making ---- */

static int apply_options(const struct declared_spec *s, int fd, char *err, size_t errlen)
{
	for (size_t i = 0; i < s->nopts; i++) {
		const struct declared_opt *o = &s->opts[i];
		const char *name = sbc_name(sbc_option_kind(o->level), o->option);

		if (setsockopt(fd, o->level, o->option, o->val, o->len) < 0) {
			int r = -errno;
			snprintf(err, errlen, "setsockopt %s: %s", name ? name : "?", strerror(-r));
			return r;
		}
	}
	return 0;
}

int declared_make(const struct declared_spec *s, int *out, dev_t *dev, ino_t *ino, char *err, size_t errlen)
{
	_cleanup_close_ int fd = -1;
	int r;

	*dev = 0;
	*ino = 0;
	if (s->family == AF_UNIX) {
		/* The control socket's way: checked location, mode from birth, a
		 * stale socket replaced, a live one refused. */
		r = server_bind_unix(s->unix_path, s->mode, &fd, dev, ino);
		if (r < 0) {
			snprintf(err, errlen, "cannot bind %s: %s", s->unix_path, strerror(-r));
			return r;
		}
		if ((s->owner != (uid_t)-1 || s->group != (gid_t)-1) &&
		    fchownat(AT_FDCWD, s->unix_path, s->owner, s->group, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			snprintf(err, errlen, "cannot change the owner of %s: %s", s->unix_path, strerror(-r));
			server_unlink_unix(s->unix_path, *dev, *ino);
			return r;
		}
		r = apply_options(s, fd, err, errlen);
		/* listen again: the backlog is the declared one, not server_bind_unix's. */
		if (r == 0 && listen(fd, s->backlog) < 0) {
			r = -errno;
			snprintf(err, errlen, "listen: %s", strerror(-r));
		}
		if (r < 0) {
			server_unlink_unix(s->unix_path, *dev, *ino);
			return r;
		}
		*out = TAKE_FD(fd);
		return 0;
	}
	fd = socket(s->family, s->type | SOCK_CLOEXEC | SOCK_NONBLOCK, s->proto);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "socket: %s", strerror(-r));
		return r;
	}
	/* Before bind: SO_REUSEADDR, SO_REUSEPORT, IPV6_V6ONLY, IP_FREEBIND,
	 * IP_TRANSPARENT and SO_BINDTODEVICE act there. */
	r = apply_options(s, fd, err, errlen);
	if (r < 0)
		return r;
	if (bind(fd, (const struct sockaddr *)&s->addr.ss, s->addr.len) < 0) {
		r = -errno;
		snprintf(err, errlen, "bind: %s", strerror(-r));
		return r;
	}
	if (s->backlog >= 0 && listen(fd, s->backlog) < 0) {
		r = -errno;
		snprintf(err, errlen, "listen: %s", strerror(-r));
		return r;
	}
	*out = TAKE_FD(fd);
	return 0;
}

/* A readable form of where a socket is, for logs: "tcp:127.0.0.1:8080". */
static void describe(const struct declared_spec *s, int fd, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	const char *kind = s->type == SOCK_STREAM ? "tcp" : s->type == SOCK_DGRAM ? "udp" : "inet";

	if (s->family == AF_UNIX) {
		snprintf(out, outlen, "unix:%s", s->unix_path);
		return;
	}
	/* The bound address: port 0 declared is the kernel's choice. */
	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &l) < 0)
		memcpy(&ss, &s->addr.ss, sizeof(ss));
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(out, outlen, "%s:[%s]:%u", kind, host, (unsigned)ntohs(a->sin6_port));
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(out, outlen, "%s:%s:%u", kind, host, (unsigned)ntohs(a->sin_port));
	}
}

static void declared_sock_close(struct declared_sock *d)
{
	if (d->fd >= 0 && d->spec.family == AF_UNIX)
		server_unlink_unix(d->spec.unix_path, d->dev, d->ino);
	d->fd = safe_close(d->fd);
}

static void declared_sock_make(struct declared_sock *d)
{
	char err[512] = "", where[PATH_MAX + 16];

	d->error = declared_make(&d->spec, &d->fd, &d->dev, &d->ino, err, sizeof(err));
	if (d->error < 0) {
		d->fd = -1;
		log_err("declared socket %s (%s): cannot be made: %s", d->spec.name, d->spec.file, err);
		return;
	}
	describe(&d->spec, d->fd, where, sizeof(where));
	log_info("declared socket %s: %s on %s", d->spec.name, d->spec.backlog >= 0 ? "listening" : "bound", where);
}

const struct declared_sock *declared_find(const struct declared_table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].spec.name, name))
			return &t->v[i];
	return NULL;
}

int declared_fd_peek(const struct declared_table *t, const char *name)
{
	const struct declared_sock *d = declared_find(t, name);

	if (!d)
		return -ENOENT;
	return d->fd >= 0 ? d->fd : d->error;
}

int declared_inherit(struct declared_table *t, const char *name, int fd, const char *fingerprint, dev_t dev,
                     ino_t ino)
{
	struct declared_inherited *v = realloc(t->inh, (t->ninh + 1) * sizeof(*v));
	struct declared_inherited *e;

	if (!v) {
		safe_close(fd);
		return -ENOMEM;
	}
	t->inh = v;
	e = &v[t->ninh];
	*e = (struct declared_inherited){ .fd = fd, .dev = dev, .ino = ino };
	e->name = strdup(name);
	e->fingerprint = fingerprint ? strdup(fingerprint) : NULL;
	if (!e->name || (fingerprint && !e->fingerprint)) {
		free(e->name);
		free(e->fingerprint);
		safe_close(fd);
		return -ENOMEM;
	}
	t->ninh++;
	return 0;
}

/* Without a fingerprint: the socket is what s makes if the kernel says so. */
static bool socket_is(int fd, const struct declared_spec *s)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(int), al = sizeof(ss);
	int family, type, proto;

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &l) < 0 || family != s->family)
		return false;
	l = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0 || type != s->type)
		return false;
	l = sizeof(int);
	if (s->proto && (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) < 0 || proto != s->proto))
		return false;
	if (getsockname(fd, (struct sockaddr *)&ss, &al) < 0)
		return false;
	if (s->family == AF_UNIX)
		return al > offsetof(struct sockaddr_un, sun_path) &&
		       strncmp(((struct sockaddr_un *)&ss)->sun_path, s->unix_path, sizeof(((struct sockaddr_un *)0)->sun_path)) == 0;
	/* Port 0 declared: any port the kernel chose. */
	if (s->family == AF_INET) {
		const struct sockaddr_in *a = (const void *)&ss, *b = (const void *)&s->addr.ss;
		return a->sin_addr.s_addr == b->sin_addr.s_addr && (!b->sin_port || a->sin_port == b->sin_port);
	}
	if (s->family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)&ss, *b = (const void *)&s->addr.ss;
		return !memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) &&
		       (!b->sin6_port || a->sin6_port == b->sin6_port);
	}
	return al == s->addr.len && !memcmp(&ss, &s->addr.ss, al);
}

static void inherited_free(struct declared_inherited *e, bool unlink_path)
{
	struct sockaddr_un un;
	socklen_t l = sizeof(un);

	if (e->fd >= 0 && unlink_path && e->dev &&
	    getsockname(e->fd, (struct sockaddr *)&un, &l) == 0 && un.sun_family == AF_UNIX && un.sun_path[0])
		server_unlink_unix(un.sun_path, e->dev, e->ino);
	safe_close(e->fd);
	free(e->name);
	free(e->fingerprint);
}

/* The inherited sockets the files still declare as they were made become
 * t's own (the same socket, not a new one); the others are closed first,
 * freeing their addresses for what the files declare now. */
static void take_inherited(struct declared_table *t, const struct declared_set *set)
{
	struct declared_sock *nv;
	size_t kept = 0;

	if (!t->ninh)
		return;
	nv = realloc(t->v, (t->n + t->ninh) * sizeof(*nv));
	if (nv)
		t->v = nv;
	for (size_t i = 0; i < t->ninh; i++) {
		struct declared_inherited *e = &t->inh[i];
		const struct declared_spec *now = NULL;
		char fp[33];

		for (size_t k = 0; k < set->n && !now; k++)
			if (!strcmp(e->name, set->v[k].name))
				now = &set->v[k];
		if (now) {
			declared_spec_fingerprint(now, fp);
			if (e->fingerprint ? strcmp(fp, e->fingerprint) != 0 : !socket_is(e->fd, now))
				now = NULL;
		}
		if (!now || !nv || declared_find(t, e->name)) {
			log_info("declared socket %s: the one handed over is closed (%s)", e->name,
			         now ? "out of memory" : "changed or no longer declared");
			inherited_free(e, !now);
			continue;
		}
		/* As if made by an earlier apply: the spec compares equal, so kept. */
		t->v[t->n] = (struct declared_sock){ .fd = TAKE_FD(e->fd), .dev = e->dev, .ino = e->ino };
		if (declared_spec_copy(&t->v[t->n].spec, now) < 0) {
			inherited_free(e, false);
			t->v[t->n].fd = safe_close(t->v[t->n].fd);
			declared_spec_clear(&t->v[t->n].spec);
			continue;
		}
		t->n++;
		kept++;
		inherited_free(e, false);
	}
	free(t->inh);
	t->inh = NULL;
	t->ninh = 0;
	if (kept)
		log_info("declared sockets: %zu handed over and kept", kept);
}

size_t declared_apply(struct declared_table *t, struct declared_set *set)
{
	struct declared_sock *nv;
	size_t failed = 0;

	take_inherited(t, set);
	nv = calloc(set->n ? set->n : 1, sizeof(*nv));
	if (!nv) {
		size_t n = set->n;

		log_err("declared sockets: out of memory; the sockets stay as they were");
		declared_set_free(set);
		return n;
	}
	/* Closed first: a changed socket's address comes free for its new self. */
	for (size_t i = 0; i < t->n; i++) {
		struct declared_sock *old = &t->v[i];
		const struct declared_spec *now = NULL;

		for (size_t k = 0; k < set->n && !now; k++)
			if (!strcmp(old->spec.name, set->v[k].name))
				now = &set->v[k];
		if (now && old->fd >= 0 && declared_spec_equal(&old->spec, now))
			continue;
		if (old->fd >= 0)
			log_info("declared socket %s: closed (%s)", old->spec.name, now ? "changed" : "no longer declared");
		declared_sock_close(old);
	}
	for (size_t k = 0; k < set->n; k++) {
		struct declared_sock *d = &nv[k];
		struct declared_sock *old = NULL;

		for (size_t i = 0; i < t->n && !old; i++)
			if (t->v[i].fd >= 0 && !strcmp(t->v[i].spec.name, set->v[k].name))
				old = &t->v[i];
		d->spec = set->v[k];
		memset(&set->v[k], 0, sizeof(set->v[k]));
		d->fd = -1;
		if (old) {
			/* Unchanged and made: kept as it is, the same socket. */
			d->fd = TAKE_FD(old->fd);
			d->dev = old->dev;
			d->ino = old->ino;
			continue;
		}
		declared_sock_make(d);
		failed += d->fd < 0;
	}
	declared_table_free(t);
	t->v = nv;
	t->n = set->n;
	declared_set_free(set);
	return failed;
}

void declared_table_free(struct declared_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		declared_sock_close(&t->v[i]);
		declared_spec_clear(&t->v[i].spec);
	}
	for (size_t i = 0; i < t->ninh; i++)
		inherited_free(&t->inh[i], false);
	free(t->inh);
	free(t->v);
	t->v = NULL;
	t->n = 0;
	t->inh = NULL;
	t->ninh = 0;
}

void declared_table_forget_paths(struct declared_table *t)
{
	/* No path is at (0, 0): server_unlink_unix leaves it. */
	for (size_t i = 0; i < t->n; i++) {
		t->v[i].dev = 0;
		t->v[i].ino = 0;
	}
	for (size_t i = 0; i < t->ninh; i++)
		t->inh[i].dev = 0;
}

int declared_check_cli(const char *path, bool strict_owner)
{
	struct declared_set set = { 0 };
	struct policy_error *err = calloc(1, sizeof(*err));

	if (!err) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	if (declared_load(path, strict_owner, &set, err) < 0) {
		fprintf(stderr, "%s\n", err->text);
		free(err);
		return 1;
	}
	free(err);
	printf("%s: %zu declared socket%s, valid\n", path ? path : DECLARED_DEFAULT_DIR, set.n,
	       set.n == 1 ? "" : "s");
	for (size_t i = 0; i < set.n; i++) {
		char where[PATH_MAX + 16];

		describe(&set.v[i], -1, where, sizeof(where));
		printf("  %s: %s%s\n", set.v[i].name, where, set.v[i].backlog >= 0 ? " (listening)" : "");
	}
	fflush(stdout);
	declared_set_free(&set);
	return 0;
}
