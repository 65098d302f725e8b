/* Held sockets (hold.h): a chained hash by name, and a list in put order. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "addr.h"
#include "consts.h"
#include "hold.h"
#include "util.h"

#define MIN_BUCKETS 64

int hold_table_init(struct hold_table *t, struct loop *loop, size_t max)
{
	memset(t, 0, sizeof(*t));
	t->loop = loop;
	t->max = max;
	t->nbuckets = MIN_BUCKETS;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	return t->buckets ? 0 : -ENOMEM;
}

static void held_free(struct held *h)
{
	safe_close(h->fd);
	free(h->name);
	free(h->exe);
	free(h->token);
	free(h);
}

void hold_table_free(struct hold_table *t)
{
	struct held *h = t->first, *next;

	for (; h; h = next) {
		next = h->next;
		if (t->loop)
			loop_timer_disarm(t->loop, &h->timer);
		held_free(h);
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

/* FNV-1a. */
static size_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

/* Whether s[0..len) is well-formed UTF-8 (no overlongs, surrogates, or
 * code points past U+10FFFF). */
static bool utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i], n, cp;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (unsigned k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

int hold_name_check(const char *name, size_t len, const char **why)
{
	const char *w = NULL;

	if (len == 0)
		w = "a held-socket name cannot be empty";
	else if (len > HOLD_NAME_MAX)
		w = "a held-socket name is at most 200 bytes";
	else if (memchr(name, '\0', len))
		w = "a held-socket name cannot contain NUL";
	else if (memchr(name, '/', len))
		w = "a held-socket name cannot contain '/'";
	else if (name[0] == '.')
		w = "a held-socket name cannot start with '.'";
	else if (!utf8_valid((const unsigned char *)name, len))
		w = "a held-socket name must be UTF-8";
	else
		for (size_t i = 0; i < len && !w; i++)
			if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
				w = "a held-socket name cannot contain control characters";
	if (why)
		*why = w;
	return w ? -EINVAL : 0;
}

struct held *hold_find(struct hold_table *t, const char *name)
{
	struct held *h = t->buckets[name_hash(name) & (t->nbuckets - 1)];

	while (h && strcmp(h->name, name))
		h = h->hash_next;
	return h;
}

/* Doubles the buckets when the table is fuller than one per bucket; a
 * failed allocation only keeps the chains longer. */
static void grow(struct hold_table *t)
{
	size_t nb = t->nbuckets * 2;
	struct held **b;

	if (t->n < t->nbuckets || !(b = calloc(nb, sizeof(*b))))
		return;
	for (struct held *h = t->first; h; h = h->next) {
		size_t i = name_hash(h->name) & (nb - 1);
		h->hash_next = b[i];
		b[i] = h;
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
}

static void unlink_held(struct held *h)
{
	struct hold_table *t = h->table;
	struct held **pp = &t->buckets[name_hash(h->name) & (t->nbuckets - 1)];

	if (t->on_change)
		t->on_change(t, h, false);
	while (*pp != h)
		pp = &(*pp)->hash_next;
	*pp = h->hash_next;
	if (h->prev)
		h->prev->next = h->next;
	else
		t->first = h->next;
	if (h->next)
		h->next->prev = h->prev;
	else
		t->last = h->prev;
	t->n--;
	if (t->loop)
		loop_timer_disarm(t->loop, &h->timer);
}

static void on_expiry(struct loop_timer *timer)
{
	struct held *h = (struct held *)((char *)timer - offsetof(struct held, timer));

	h->table->expired++;
	hold_remove(h);
}

static int read_back(struct held *h)
{
	socklen_t l = sizeof(int);
	struct stat st;

	if (fstat(h->fd, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	if (getsockopt(h->fd, SOL_SOCKET, SO_DOMAIN, &h->family, &l) < 0)
		return -errno;
	l = sizeof(int);
	if (getsockopt(h->fd, SOL_SOCKET, SO_TYPE, &h->type, &l) < 0)
		return -errno;
	l = sizeof(int);
	if (getsockopt(h->fd, SOL_SOCKET, SO_PROTOCOL, &h->proto, &l) < 0)
		return -errno;
	h->local_len = sizeof(h->local);
	if (getsockname(h->fd, (struct sockaddr *)&h->local, &h->local_len) < 0)
		h->local_len = 0;
	return 0;
}

int hold_put(struct hold_table *t, const char *name, int fd, const struct hold_owner *who, double expires_s,
             struct held **out)
{
	struct held *h;
	size_t i;
	int fl, rc;

	if (hold_name_check(name, strlen(name), NULL) < 0)
		rc = -EINVAL;
	else if (hold_find(t, name))
		rc = -EEXIST;
	else if (t->n >= t->max)
		rc = -EDQUOT;
	else
		rc = 0;
	if (rc) {
		safe_close(fd);
		return rc;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		safe_close(fd);
		return -ENOMEM;
	}
	h->fd = fd;
	h->table = t;
	if ((rc = read_back(h)) < 0) {
		held_free(h);
		return rc;
	}
	/* The loop never blocks on it; each retriever sets its own mode. */
	if ((fl = fcntl(fd, F_GETFL)) >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	h->name = strdup(name);
	h->exe = who->exe ? strdup(who->exe) : NULL;
	h->token = who->token ? strdup(who->token) : NULL;
	if (!h->name || (who->exe && !h->exe) || (who->token && !h->token)) {
		held_free(h);
		return -ENOMEM;
	}
	h->uid = who->uid;
	h->gid = who->gid;
	h->pid = who->pid;
	h->declared = who->declared;
	h->put_time = wall_now();
	if (expires_s > 0) {
		h->expires = h->put_time + expires_s;
		h->timer.cb = on_expiry;
		if (t->loop && loop_timer_arm(t->loop, &h->timer, loop_now() + (uint64_t)(expires_s * 1e9)) < 0) {
			held_free(h);
			return -ENOMEM;
		}
	}
	grow(t);
	i = name_hash(name) & (t->nbuckets - 1);
	h->hash_next = t->buckets[i];
	t->buckets[i] = h;
	h->prev = t->last;
	if (t->last)
		t->last->next = h;
	else
		t->first = h;
	t->last = h;
	t->n++;
	if (t->on_change)
		t->on_change(t, h, true);
	if (out)
		*out = h;
	return 0;
}

int hold_dup(struct held *h)
{
	int fd = fcntl(h->fd, F_DUPFD_CLOEXEC, 3);

	if (fd < 0)
		return -errno;
	h->retrievals++;
	return fd;
}

int hold_take(struct held *h)
{
	int fd = h->fd;

	unlink_held(h);
	h->fd = -1;
	held_free(h);
	return fd;
}

void hold_remove(struct held *h)
{
	unlink_held(h);
	held_free(h);
}

size_t hold_expire_due(struct hold_table *t, double now)
{
	struct held *h = t->first, *next;
	size_t n = 0;

	for (; h; h = next) {
		next = h->next;
		if (h->expires > 0 && h->expires <= now) {
			t->expired++;
			hold_remove(h);
			n++;
		}
	}
	return n;
}

json_object *hold_info(const struct held *h)
{
	json_object *o = json_object_new_object(), *owner = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(h->name));
	json_object_object_add(o, "family", sbc_to_json(SBC_AF, h->family));
	json_object_object_add(o, "type", sbc_to_json(SBC_SOCK, h->type));
	json_object_object_add(o, "proto", sbc_to_json(SBC_IPPROTO, h->proto));
	json_object_object_add(o, "local", h->local_len ? sbaddr_encode((const struct sockaddr *)&h->local, h->local_len)
	                                                : NULL);
	/* Taken back from systemd's store without its state: nobody knows. */
	json_object_object_add(owner, "uid", h->uid == (uid_t)-1 ? NULL : json_object_new_int64(h->uid));
	json_object_object_add(owner, "gid", h->gid == (gid_t)-1 ? NULL : json_object_new_int64(h->gid));
	json_object_object_add(owner, "pid", json_object_new_int64(h->pid));
	json_object_object_add(owner, "exe", json_string_or_null(h->exe));
	if (h->token)
		json_object_object_add(owner, "token", json_object_new_string(h->token));
	json_object_object_add(o, "owner", owner);
	json_object_object_add(o, "put", json_object_new_double(h->put_time));
	json_object_object_add(o, "retrievals", json_object_new_uint64(h->retrievals));
	json_object_object_add(o, "expires", h->expires > 0 ? json_object_new_double(h->expires) : NULL);
	json_object_object_add(o, "declared", json_object_new_boolean(h->declared));
	return o;
}
