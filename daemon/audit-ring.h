/* The last audit records, kept in memory for admin.audit, and the
 * subscribers that are handed each record as it is made (the HTTP face's
 * live stream). A pure module: the loop thread only, no I/O.
 *
 * Bounded twice: at most `cap` records (the oldest goes when a new one
 * comes), each at most AUDIT_RING_RECORD_MAX bytes of JSON. A longer record
 * is kept as a short stand-in that says so ("truncated": true, "bytes": its
 * size); the audit log and the subscribers get it whole. */
#ifndef SBD_AUDIT_RING_H
#define SBD_AUDIT_RING_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* Bytes of one record's JSON kept in the ring. Records are a few hundred
 * bytes; a long host name, path or reason can take one to several KB. */
#define AUDIT_RING_RECORD_MAX 2048

/* A subscriber: on_record is called synchronously as each record is made,
 * with one line of JSON (no newline; json[len] is '\0'), the text the JSON
 * audit log gets. The
 * subscriber copies what it needs; it may unsubscribe itself or any other
 * subscriber from within on_record. prev/next belong to the list. */
struct audit_sub {
	void (*on_record)(struct audit_sub *s, uint64_t seq, const char *json, size_t len);
	struct audit_sub *prev, *next;
};

struct audit_ring_rec {
	uint64_t seq;
	char *json;                 /* malloc'd, NUL-terminated */
	size_t len;
};

struct audit_ring {
	struct audit_ring_rec *v;   /* cap slots; NULL when cap is 0 */
	size_t cap, n, head;        /* head: the oldest record's slot */
	size_t record_max;          /* AUDIT_RING_RECORD_MAX, lower in tests */
	uint64_t truncated;         /* records kept as a stand-in */
	struct audit_sub *subs;
	struct audit_sub *iter_next;   /* the next subscriber a running push calls */
};

/* cap records of at most record_max bytes each (0: AUDIT_RING_RECORD_MAX).
 * cap 0 keeps none (subscribers still work). 0 or -ENOMEM. */
int audit_ring_init(struct audit_ring *r, size_t cap, size_t record_max);
void audit_ring_free(struct audit_ring *r);

/* Whether anyone wants records: a ring that keeps some, or a subscriber. */
int audit_ring_wanted(const struct audit_ring *r);

/* Keeps a copy of record seq (json, len bytes; seqs only grow), dropping
 * the oldest when full, then hands it whole to every subscriber. A record
 * over record_max is kept as `stub` when that fits (a shorter record the
 * caller made of it), else as {"seq":N,"truncated":true,"bytes":LEN}.
 * 0, or -ENOMEM when the copy could not be made (subscribers are still
 * called). */
int audit_ring_push(struct audit_ring *r, uint64_t seq, const char *json, size_t len, const char *stub);

/* The kept records with seq > since, oldest first, at most max of them, as
 * a JSON array of the records' objects; *first and *last: the oldest and
 * newest seq still kept (0 when none). NULL on ENOMEM. */
json_object *audit_ring_since(const struct audit_ring *r, uint64_t since, size_t max, uint64_t *first,
                              uint64_t *last);

void audit_ring_subscribe(struct audit_ring *r, struct audit_sub *s);
/* Safe for a subscriber that is not subscribed (prev and next NULL, not the head). */
void audit_ring_unsubscribe(struct audit_ring *r, struct audit_sub *s);

#endif
