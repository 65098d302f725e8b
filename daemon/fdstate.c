/* Descriptor names and the state memfd (fdstate.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fdstate.h"
#include "server.h"
#include "util.h"

int fdname_encode(const char *prefix, const char *name, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = strlen(prefix), cap = SB_MIN(outlen, (size_t)FDNAME_MAX + 1);

	if (o >= cap)
		return -ENAMETOOLONG;
	memcpy(out, prefix, o);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		bool esc = *p == '%' || *p == ':' || *p < 0x21 || *p >= 0x7f;

		if (o + (esc ? 3 : 1) >= cap)
			return -ENAMETOOLONG;
		if (esc) {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = '\0';
	return 0;
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int fdname_decode(const char *fdname, const char *prefix, char *out, size_t outlen)
{
	size_t pl = strlen(prefix), o = 0;

	if (strncmp(fdname, prefix, pl) != 0)
		return -EINVAL;
	for (const char *p = fdname + pl; *p; p++) {
		int c = (unsigned char)*p;

		if (*p == '%') {
			int hi = unhex(p[1]), lo = hi < 0 ? -1 : unhex(p[2]);
			if (lo < 0)
				return -EINVAL;
			c = hi << 4 | lo;
			p += 2;
			if (c == 0)
				return -EINVAL;
		}
		if (o + 1 >= outlen)
			return -EINVAL;
		out[o++] = (char)c;
	}
	if (!outlen)
		return -EINVAL;
	out[o] = '\0';
	return 0;
}

char *fdstate_fingerprint(const struct declared_spec *sp)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return NULL;
	fprintf(f, "%d/%d/%d backlog=%d mode=%o owner=%ld group=%ld addr=", sp->family, sp->type, sp->proto,
	        sp->backlog, (unsigned)sp->mode, (long)(int)sp->owner, (long)(int)sp->group);
	for (size_t i = 0; i < sp->addr.len; i++)
		fprintf(f, "%02x", ((const unsigned char *)&sp->addr.ss)[i]);
	for (size_t i = 0; i < sp->nopts; i++) {
		fprintf(f, " %d.%d=", sp->opts[i].level, sp->opts[i].option);
		for (socklen_t k = 0; k < sp->opts[i].len; k++)
			fprintf(f, "%02x", sp->opts[i].val[k]);
	}
	if (fclose(f) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

json_object *fdstate_describe(struct server *s)
{
	json_object *o = json_object_new_object(), *held = json_object_new_object();
	json_object *decl = json_object_new_object();
	char fdname[FDNAME_MAX + 1];

	if (!o || !held || !decl) {
		json_object_put(o);
		json_object_put(held);
		json_object_put(decl);
		return NULL;
	}
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "written", json_object_new_double(wall_now()));
	json_object_object_add(o, "pid", json_object_new_int64(getpid()));
	for (const struct held *h = s->holds.first; h; h = h->next) {
		json_object *e;

		if (h->declared || fdname_encode(FDSTATE_HELD, h->name, fdname, sizeof(fdname)) < 0)
			continue;
		e = json_object_new_object();
		json_object_object_add(e, "name", json_object_new_string(h->name));
		json_object_object_add(e, "uid", json_object_new_int64(h->uid));
		json_object_object_add(e, "gid", json_object_new_int64(h->gid));
		json_object_object_add(e, "pid", json_object_new_int64(h->pid));
		json_object_object_add(e, "exe", json_string_or_null(h->exe));
		json_object_object_add(e, "token", json_string_or_null(h->token));
		json_object_object_add(e, "put", json_object_new_double(h->put_time));
		json_object_object_add(e, "retrievals", json_object_new_uint64(h->retrievals));
		json_object_object_add(e, "expires", json_object_new_double(h->expires));
		json_object_object_add(held, fdname, e);
	}
	for (size_t i = 0; i < s->declared.n; i++) {
		const struct declared_sock *d = &s->declared.v[i];
		json_object *e;
		char *fp;

		if (d->fd < 0 || fdname_encode(FDSTATE_DECL, d->spec.name, fdname, sizeof(fdname)) < 0)
			continue;
		fp = fdstate_fingerprint(&d->spec);
		e = json_object_new_object();
		json_object_object_add(e, "name", json_object_new_string(d->spec.name));
		json_object_object_add(e, "fingerprint", json_string_or_null(fp));
		free(fp);
		json_object_object_add(decl, fdname, e);
	}
	json_object_object_add(o, "held", held);
	json_object_object_add(o, "declared", decl);
	return o;
}

int fdstate_memfd(json_object *state)
{
	const char *text = json_object_to_json_string_ext(state, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(text), off = 0;
	_cleanup_close_ int fd = memfd_create("sockbroker-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)n;
	}
	/* Whoever reads it later reads what was written, and nothing else can
	 * write it meanwhile. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		return -errno;
	return TAKE_FD(fd);
}
