/* Unit tests of the audit ring (daemon/audit-ring.c): its bound in records
 * (N + k pushed, the last N kept, first and last right, and a ring of 0
 * keeping none), since/limit paging, a record over the byte cap kept as a
 * stand-in while subscribers get it whole, and subscriptions: records
 * handed over as they are made, unsubscribing (oneself or another) from
 * within the callback. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/audit-ring.h"
#include "unit.h"

static void push(struct audit_ring *r, uint64_t seq)
{
	char text[128];

	snprintf(text, sizeof(text), "{\"seq\":%llu,\"decision\":\"allow\"}", (unsigned long long)seq);
	ck_assert_int_eq(audit_ring_push(r, seq, text, strlen(text), NULL), 0);
}

static long long seq_at(json_object *arr, size_t i)
{
	json_object *v;

	ck_assert(json_object_object_get_ex(json_object_array_get_idx(arr, i), "seq", &v));
	return json_object_get_int64(v);
}

/* The seqs of arr are lo..hi in order. */
static void expect_run(json_object *arr, long long lo, long long hi)
{
	ck_assert_int_eq((long long)json_object_array_length(arr), hi - lo + 1);
	for (long long s = lo; s <= hi; s++)
		ck_assert_int_eq(seq_at(arr, (size_t)(s - lo)), s);
}

START_TEST(keeps_the_last_n)
{
	struct audit_ring r;
	uint64_t first, last;
	json_object *a;

	ck_assert_int_eq(audit_ring_init(&r, 5, 0), 0);
	a = audit_ring_since(&r, 0, 100, &first, &last);
	ck_assert_int_eq(json_object_array_length(a), 0);
	ck_assert_int_eq(first, 0);
	ck_assert_int_eq(last, 0);
	json_object_put(a);
	for (uint64_t s = 1; s <= 5 + 3; s++)
		push(&r, s);
	ck_assert_uint_eq(r.n, 5);
	a = audit_ring_since(&r, 0, 100, &first, &last);
	expect_run(a, 4, 8);
	ck_assert_int_eq(first, 4);
	ck_assert_int_eq(last, 8);
	json_object_put(a);
	/* Around the end of the array many times over. */
	for (uint64_t s = 9; s <= 1000; s++)
		push(&r, s);
	a = audit_ring_since(&r, 0, 100, &first, &last);
	expect_run(a, 996, 1000);
	ck_assert_int_eq(first, 996);
	json_object_put(a);
	audit_ring_free(&r);
}
END_TEST

START_TEST(since_and_limit)
{
	struct audit_ring r;
	uint64_t first, last;
	json_object *a;

	ck_assert_int_eq(audit_ring_init(&r, 10, 0), 0);
	for (uint64_t s = 1; s <= 25; s++)
		push(&r, s);
	/* Kept: 16..25. since before the oldest: from the oldest. */
	a = audit_ring_since(&r, 3, 4, &first, &last);
	expect_run(a, 16, 19);
	json_object_put(a);
	a = audit_ring_since(&r, 19, 4, &first, &last);
	expect_run(a, 20, 23);
	json_object_put(a);
	a = audit_ring_since(&r, 23, 4, &first, &last);
	expect_run(a, 24, 25);
	json_object_put(a);
	a = audit_ring_since(&r, 25, 4, &first, &last);
	ck_assert_int_eq(json_object_array_length(a), 0);
	json_object_put(a);
	a = audit_ring_since(&r, 1000, 4, &first, &last);
	ck_assert_int_eq(json_object_array_length(a), 0);
	ck_assert_int_eq(first, 16);
	ck_assert_int_eq(last, 25);
	json_object_put(a);
	a = audit_ring_since(&r, 15, 1, &first, &last);
	expect_run(a, 16, 16);
	json_object_put(a);
	audit_ring_free(&r);
}
END_TEST

struct rec_sub {
	struct audit_sub sub;
	struct audit_ring *ring;
	struct rec_sub *drop;       /* unsubscribe this one on the next record */
	uint64_t seqs[16];
	size_t n;
	size_t lens[16];
};

static void on_record(struct audit_sub *s, uint64_t seq, const char *json, size_t len)
{
	struct rec_sub *rs = (struct rec_sub *)s;

	ck_assert_uint_eq(strlen(json), len);
	ck_assert_uint_lt(rs->n, 16);
	rs->lens[rs->n] = len;
	rs->seqs[rs->n++] = seq;
	if (rs->drop) {
		audit_ring_unsubscribe(rs->ring, &rs->drop->sub);
		rs->drop = NULL;
	}
}

START_TEST(a_long_record_is_cut_in_the_ring_only)
{
	struct audit_ring r;
	struct rec_sub sub = { .sub.on_record = on_record, .ring = &r };
	uint64_t first, last;
	char big[300];
	json_object *a, *v;

	ck_assert_int_eq(audit_ring_init(&r, 4, 100), 0);
	audit_ring_subscribe(&r, &sub.sub);
	snprintf(big, sizeof(big), "{\"seq\":1,\"host\":\"%0200d\"}", 7);
	ck_assert_int_eq(audit_ring_push(&r, 1, big, strlen(big), NULL), 0);
	/* With a stand-in that fits, and one that does not. */
	snprintf(big, sizeof(big), "{\"seq\":2,\"host\":\"%0200d\"}", 8);
	ck_assert_int_eq(audit_ring_push(&r, 2, big, strlen(big), "{\"seq\":2,\"truncated\":true,\"method\":\"m\"}"), 0);
	snprintf(big, sizeof(big), "{\"seq\":3,\"host\":\"%0200d\"}", 9);
	ck_assert_int_eq(audit_ring_push(&r, 3, big, strlen(big), big), 0);
	/* Exactly at the cap is kept whole. */
	snprintf(big, sizeof(big), "{\"seq\":4,\"x\":\"%0*d\"}", 100 - 16, 0);
	ck_assert_uint_eq(strlen(big), 100);
	ck_assert_int_eq(audit_ring_push(&r, 4, big, strlen(big), NULL), 0);
	ck_assert_uint_eq(r.truncated, 3);

	a = audit_ring_since(&r, 0, 10, &first, &last);
	expect_run(a, 1, 4);
	for (size_t i = 0; i < 3; i++) {
		ck_assert(json_object_object_get_ex(json_object_array_get_idx(a, i), "truncated", &v));
		ck_assert(json_object_get_boolean(v));
		ck_assert(!json_object_object_get_ex(json_object_array_get_idx(a, i), "host", &v));
	}
	ck_assert(json_object_object_get_ex(json_object_array_get_idx(a, 0), "bytes", &v));
	ck_assert_int_eq(json_object_get_int64(v), 219);
	ck_assert(json_object_object_get_ex(json_object_array_get_idx(a, 1), "method", &v));
	ck_assert(json_object_object_get_ex(json_object_array_get_idx(a, 3), "x", &v));
	json_object_put(a);
	/* The subscriber got each whole. */
	ck_assert_uint_eq(sub.n, 4);
	ck_assert_uint_eq(sub.lens[0], 219);
	ck_assert_uint_eq(sub.lens[3], 100);
	audit_ring_unsubscribe(&r, &sub.sub);
	audit_ring_free(&r);
}
END_TEST

START_TEST(subscribe_and_unsubscribe)
{
	struct audit_ring r;
	struct rec_sub a = { .sub.on_record = on_record }, b = { .sub.on_record = on_record },
	               c = { .sub.on_record = on_record };
	uint64_t first, last;
	json_object *arr;

	/* A ring of 0 keeps nothing, but subscribers still get every record. */
	ck_assert_int_eq(audit_ring_init(&r, 0, 0), 0);
	ck_assert(!audit_ring_wanted(&r));
	a.ring = b.ring = c.ring = &r;
	push(&r, 1);
	audit_ring_subscribe(&r, &a.sub);
	ck_assert(audit_ring_wanted(&r));
	push(&r, 2);
	audit_ring_subscribe(&r, &b.sub);
	audit_ring_subscribe(&r, &c.sub);
	/* The list is c, b, a: c drops b, which is next, before b is called. */
	c.drop = &b;
	push(&r, 3);
	/* a drops itself. */
	a.drop = &a;
	push(&r, 4);
	push(&r, 5);
	/* Unsubscribing twice, or one never subscribed, is harmless. */
	audit_ring_unsubscribe(&r, &b.sub);
	audit_ring_unsubscribe(&r, &c.sub);
	audit_ring_unsubscribe(&r, &c.sub);
	push(&r, 6);
	ck_assert(!audit_ring_wanted(&r));

	ck_assert_uint_eq(a.n, 3);
	ck_assert_uint_eq(a.seqs[0], 2);
	ck_assert_uint_eq(a.seqs[2], 4);
	ck_assert_uint_eq(b.n, 0);
	ck_assert_uint_eq(c.n, 3);
	ck_assert_uint_eq(c.seqs[0], 3);
	ck_assert_uint_eq(c.seqs[2], 5);
	arr = audit_ring_since(&r, 0, 10, &first, &last);
	ck_assert_int_eq(json_object_array_length(arr), 0);
	ck_assert_int_eq(first, 0);
	ck_assert_int_eq(last, 0);
	json_object_put(arr);
	audit_ring_free(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("audit_ring");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, keeps_the_last_n);
	tcase_add_test(tc, since_and_limit);
	tcase_add_test(tc, a_long_record_is_cut_in_the_ring_only);
	tcase_add_test(tc, subscribe_and_unsubscribe);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
