/* The audit ring and its subscribers (audit-ring.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit-ring.h"

int audit_ring_init(struct audit_ring *r, size_t cap, size_t record_max)
{
	memset(r, 0, sizeof(*r));
	r->record_max = record_max ? record_max : AUDIT_RING_RECORD_MAX;
	if (cap) {
		r->v = calloc(cap, sizeof(*r->v));
		if (!r->v)
			return -ENOMEM;
	}
	r->cap = cap;
	return 0;
}

void audit_ring_free(struct audit_ring *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[(r->head + i) % r->cap].json);
	free(r->v);
	/* Subscribers belong to their owners; they are only unlinked. */
	memset(r, 0, sizeof(*r));
}

int audit_ring_wanted(const struct audit_ring *r)
{
	return r->cap > 0 || r->subs != NULL;
}

static int keep(struct audit_ring *r, uint64_t seq, const char *json, size_t len, const char *stub)
{
	struct audit_ring_rec *slot;
	char small[96];
	char *copy;

	if (len > r->record_max) {
		r->truncated++;
		if (stub && strlen(stub) <= r->record_max) {
			json = stub;
		} else {
			snprintf(small, sizeof(small), "{\"seq\":%llu,\"truncated\":true,\"bytes\":%zu}",
			         (unsigned long long)seq, len);
			json = small;
		}
		len = strlen(json);
	}
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, json, len);
	copy[len] = '\0';
	if (r->n == r->cap) {
		/* Full: the oldest makes room. */
		slot = &r->v[r->head];
		free(slot->json);
		r->head = (r->head + 1) % r->cap;
		r->n--;
	}
	slot = &r->v[(r->head + r->n) % r->cap];
	*slot = (struct audit_ring_rec){ seq, copy, len };
	r->n++;
	return 0;
}

int audit_ring_push(struct audit_ring *r, uint64_t seq, const char *json, size_t len, const char *stub)
{
	int ret = r->cap ? keep(r, seq, json, len, stub) : 0;

	/* iter_next lets a subscriber unsubscribe itself or the next one. */
	for (struct audit_sub *s = r->subs; s; s = r->iter_next) {
		r->iter_next = s->next;
		s->on_record(s, seq, json, len);
	}
	r->iter_next = NULL;
	return ret;
}

json_object *audit_ring_since(const struct audit_ring *r, uint64_t since, size_t max, uint64_t *first,
                              uint64_t *last)
{
	json_object *arr = json_object_new_array();
	size_t i = 0;

	*first = r->n ? r->v[r->head].seq : 0;
	*last = r->n ? r->v[(r->head + r->n - 1) % r->cap].seq : 0;
	if (!arr)
		return NULL;
	/* Seqs grow along the ring: skip to the first one after since. */
	if (r->n && since >= *first) {
		size_t lo = 0, hi = r->n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (r->v[(r->head + mid) % r->cap].seq <= since)
				lo = mid + 1;
			else
				hi = mid;
		}
		i = lo;
	}
	for (; i < r->n && json_object_array_length(arr) < max; i++) {
		const struct audit_ring_rec *rec = &r->v[(r->head + i) % r->cap];
		json_object *o = json_tokener_parse(rec->json);

		/* The ring holds only text the daemon made: parse failure is ENOMEM. */
		if (!o || json_object_array_add(arr, o) < 0) {
			json_object_put(o);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

void audit_ring_subscribe(struct audit_ring *r, struct audit_sub *s)
{
	s->prev = NULL;
	s->next = r->subs;
	if (r->subs)
		r->subs->prev = s;
	r->subs = s;
}

void audit_ring_unsubscribe(struct audit_ring *r, struct audit_sub *s)
{
	if (!s->prev && r->subs != s)
		return;
	if (r->iter_next == s)
		r->iter_next = s->next;
	if (s->prev)
		s->prev->next = s->next;
	else
		r->subs = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}
