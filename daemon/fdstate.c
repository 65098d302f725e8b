/* Descriptor names and the state that travels with handed-on sockets
 * (fdstate.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "declared.h"
#include "fdstate.h"
#include "hold.h"
#include "log.h"
#include "server.h"
#include "util.h"

static bool fdname_plain(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '%' && c != ':';
}

int fdname_encode(const char *prefix, const char *name, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0, cap = outlen;

	for (const char *p = prefix; *p; p++) {
		if (o + 1 >= cap)
			return -ENAMETOOLONG;
		out[o++] = *p;
	}
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (fdname_plain(*p)) {
			if (o + 1 >= cap)
				return -ENAMETOOLONG;
			out[o++] = (char)*p;
			continue;
		}
		if (o + 3 >= cap)
			return -ENAMETOOLONG;
		out[o++] = '%';
		out[o++] = hex[*p >> 4];
		out[o++] = hex[*p & 15];
	}
	if (o >= cap)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return 0;
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int fdname_decode(const char *fdname, const char *prefix, char *out, size_t outlen)
{
	size_t pl = strlen(prefix), o = 0;

	if (strncmp(fdname, prefix, pl) != 0)
		return -EINVAL;
	for (const char *p = fdname + pl; *p; p++) {
		int c = (unsigned char)*p;

		if (c == '%') {
			int a = unhex(p[1]), b = a < 0 ? -1 : unhex(p[2]);
			if (b < 0)
				return -EINVAL;
			c = a * 16 + b;
			p += 2;
			if (c == 0)
				return -EINVAL;
		}
		if (o + 1 >= outlen)
			return -ENAMETOOLONG;
		out[o++] = (char)c;
	}
	if (o == 0)
		return -EINVAL;
	out[o] = '\0';
	return 0;
}

json_object *fdstate_held_entry(const struct held *h)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(h->name));
	json_object_object_add(o, "uid", json_object_new_int64(h->uid == (uid_t)-1 ? -1 : (int64_t)h->uid));
	json_object_object_add(o, "gid", json_object_new_int64(h->gid == (gid_t)-1 ? -1 : (int64_t)h->gid));
	json_object_object_add(o, "pid", json_object_new_int64(h->pid));
	json_object_object_add(o, "exe", h->exe ? json_object_new_string(h->exe) : NULL);
	json_object_object_add(o, "token", h->token ? json_object_new_string(h->token) : NULL);
	json_object_object_add(o, "put", json_object_new_double(h->put_time));
	json_object_object_add(o, "retrievals", json_object_new_uint64(h->retrievals));
	json_object_object_add(o, "expires", json_object_new_double(h->expires));
	return o;
}

json_object *fdstate_describe(struct server *s)
{
	json_object *st = json_object_new_object(), *held = json_object_new_object();
	json_object *decl = json_object_new_object();
	/* Any name's encoding: a restart hands over long ones too. */
	char fdname[FDNAME_LONG_MAX + 1];

	json_object_object_add(st, "version", json_object_new_int(1));
	json_object_object_add(st, "written", json_object_new_double(wall_now()));
	json_object_object_add(st, "pid", json_object_new_int64(getpid()));
	for (const struct held *h = s->holds.first; h; h = h->next)
		if (!h->declared && fdname_encode(FDNAME_HELD, h->name, fdname, sizeof(fdname)) == 0)
			json_object_object_add(held, fdname, fdstate_held_entry(h));
	for (size_t i = 0; i < s->declared.n; i++) {
		const struct declared_sock *d = &s->declared.v[i];
		json_object *e;
		char fp[33];

		if (d->fd < 0 || fdname_encode(FDNAME_DECLARED, d->spec.name, fdname, sizeof(fdname)) < 0)
			continue;
		declared_spec_fingerprint(&d->spec, fp);
		e = json_object_new_object();
		json_object_object_add(e, "name", json_object_new_string(d->spec.name));
		json_object_object_add(e, "fingerprint", json_object_new_string(fp));
		json_object_object_add(e, "dev", json_object_new_uint64(d->dev));
		json_object_object_add(e, "ino", json_object_new_uint64(d->ino));
		json_object_object_add(decl, fdname, e);
	}
	json_object_object_add(st, "held", held);
	json_object_object_add(st, "declared", decl);
	return st;
}

int fdstate_memfd(json_object *state)
{
	_cleanup_close_ int fd = -1;
	const char *text = json_object_to_json_string_ext(state, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(text), off = 0;

	fd = memfd_create("sockbroker-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)w;
	}
	/* Whoever reads it knows it is what was written, whole. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		return -errno;
	return TAKE_FD(fd);
}

int fdstate_read(int fd, json_object **out)
{
	struct stat st;
	char *buf;
	size_t off = 0;
	json_tokener *tok;
	int r = 0;

	*out = NULL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > FDSTATE_MAX_BYTES)
		return -EINVAL;
	buf = malloc((size_t)st.st_size);
	if (!buf)
		return -ENOMEM;
	while (off < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + off, (size_t)st.st_size - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EINVAL;
			break;
		}
		off += (size_t)n;
	}
	if (r == 0) {
		tok = json_tokener_new_ex(64);
		*out = tok ? json_tokener_parse_ex(tok, buf, (int)off) : NULL;
		if (!*out || json_tokener_get_error(tok) != json_tokener_success || !json_object_is_type(*out, json_type_object)) {
			json_object_put(*out);
			*out = NULL;
			r = -EINVAL;
		}
		json_tokener_free(tok);
	}
	free(buf);
	return r;
}

static int64_t get_int(json_object *o, const char *key, int64_t dflt)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int) ? json_object_get_int64(v)
	                                                                                   : dflt;
}

static double get_double(json_object *o, const char *key, double dflt)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return dflt;
	if (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int))
		return json_object_get_double(v);
	return dflt;
}

static const char *get_string(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ? json_object_get_string(v)
	                                                                                      : NULL;
}

/* The entry of fdname in state's section, or NULL. */
static json_object *entry(json_object *state, const char *section, const char *fdname)
{
	json_object *sec, *e;

	if (!state || !json_object_object_get_ex(state, section, &sec) ||
	    !json_object_object_get_ex(sec, fdname, &e) || !json_object_is_type(e, json_type_object))
		return NULL;
	return e;
}

static void adopt_held(struct server *s, int fd, const char *fdname, json_object *state)
{
	char name[HOLD_NAME_MAX + 1];
	json_object *e = entry(state, "held", fdname);
	struct hold_owner who = { .uid = (uid_t)-1, .gid = (gid_t)-1 };
	double now = wall_now(), expires = 0, left = 0;
	struct held *h = NULL;
	int r;

	if (fdname_decode(fdname, FDNAME_HELD, name, sizeof(name)) < 0 ||
	    hold_name_check(name, strlen(name), NULL) < 0) {
		log_warning("a socket handed over as \"%s\": not a held-socket name; closed", fdname);
		safe_close(fd);
		return;
	}
	if (e) {
		int64_t uid = get_int(e, "uid", -1), gid = get_int(e, "gid", -1);

		who.uid = uid < 0 ? (uid_t)-1 : (uid_t)uid;
		who.gid = gid < 0 ? (gid_t)-1 : (gid_t)gid;
		who.pid = (pid_t)get_int(e, "pid", 0);
		who.exe = get_string(e, "exe");
		who.token = get_string(e, "token");
		expires = get_double(e, "expires", 0);
		if (expires > 0) {
			left = expires - now;
			if (left <= 0) {
				log_info("held socket \"%s\": expired while handed over; closed", name);
				safe_close(fd);
				return;
			}
		}
	}
	r = hold_put(&s->holds, name, fd, &who, left, &h);
	if (r < 0) {
		log_warning("held socket \"%s\": cannot be taken back: %s", name, strerror(-r));
		return;
	}
	if (e) {
		int64_t n = get_int(e, "retrievals", 0);

		h->put_time = get_double(e, "put", h->put_time);
		h->retrievals = n > 0 ? (uint64_t)n : 0;
		if (expires > 0)
			h->expires = expires;
	}
}

static void adopt_declared(struct server *s, int fd, const char *fdname, json_object *state)
{
	char name[DECLARED_NAME_MAX + 1];
	json_object *e = entry(state, "declared", fdname);
	int r;

	if (fdname_decode(fdname, FDNAME_DECLARED, name, sizeof(name)) < 0) {
		log_warning("a socket handed over as \"%s\": not a declared-socket name; closed", fdname);
		safe_close(fd);
		return;
	}
	r = declared_inherit(&s->declared, name, fd, e ? get_string(e, "fingerprint") : NULL,
	                     e ? (dev_t)get_int(e, "dev", 0) : 0, e ? (ino_t)get_int(e, "ino", 0) : 0);
	if (r < 0)
		log_warning("declared socket \"%s\": cannot be taken back: %s", name, strerror(-r));
}

int fdstate_adopt(struct server *s, struct fdstate_fd *v, size_t *n, json_object *state)
{
	_cleanup_json_ json_object *own = NULL;
	size_t keep = 0, held = 0, decl = 0;

	/* The state first, wherever it is among them: the rest needs it. */
	for (size_t i = 0; i < *n && !state; i++) {
		if (!v[i].name || strcmp(v[i].name, FDNAME_STATE))
			continue;
		if (fdstate_read(v[i].fd, &own) < 0)
			log_warning("the state handed over with the sockets cannot be read; owners are unknown");
		state = own;
	}
	for (size_t i = 0; i < *n; i++) {
		const char *nm = v[i].name;

		if (nm && !strcmp(nm, FDNAME_STATE)) {
			safe_close(v[i].fd);
		} else if (nm && !strncmp(nm, FDNAME_HELD, strlen(FDNAME_HELD))) {
			adopt_held(s, v[i].fd, nm, state);
			held++;
		} else if (nm && !strncmp(nm, FDNAME_DECLARED, strlen(FDNAME_DECLARED))) {
			adopt_declared(s, v[i].fd, nm, state);
			decl++;
		} else {
			v[keep++] = v[i];
			continue;
		}
		free(v[i].name);
	}
	*n = keep;
	if (held || decl)
		log_info("taken back: %zu held and %zu declared socket%s", held, decl, held + decl == 1 ? "" : "s");
	return 0;
}
