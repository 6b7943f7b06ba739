/*
 * test_conntab.c - the exporter's connection table on a clock of the
 * test's own: which connection is given up when the table is full, the
 * deadlines of each state, and keys that go stale when a slot is reused.
 * tests/e2e/exporter.bats and exporter_soak.bats drive the real server.
 */
#include <stdint.h>
#include <stdlib.h>

#include "conntab.h"
#include "pt_test.h"

static const struct pt_conn_limits lim = {
	.max_conns = 4, .read_ms = 100, .write_ms = 1000, .linger_ms = 10};

/* Idle readers go oldest first, whatever arrives later. */
PT_TEST(test_oldest_idle_goes_first)
{
	struct pt_conntab t;
	struct pt_conn *c[4], *v;

	PT_CHECK_EQ(pt_conntab_init(&t, &lim), 0);
	PT_CHECK(pt_conntab_victim(&t) == NULL);
	for (int i = 0; i < 4; i++) {
		PT_CHECK(!pt_conntab_full(&t));
		c[i] = pt_conntab_add(&t, 10 + i, i);
		PT_CHECK(c[i] != NULL);
	}
	PT_CHECK(pt_conntab_full(&t));
	PT_CHECK(pt_conntab_add(&t, 99, 5) == NULL);
	/* Twenty more connections, each taking the oldest one's place. */
	for (int i = 0; i < 20; i++) {
		v = pt_conntab_victim(&t);
		PT_CHECK(v != NULL);
		if (!v)
			break;
		PT_CHECK_EQ(v->fd, 10 + i);
		pt_conntab_remove(&t, v);
		PT_CHECK(pt_conntab_add(&t, 14 + i, 10 + i) != NULL);
	}
	PT_CHECK_EQ(t.n, 4);
	pt_conntab_free(&t);
}

/* A lingering connection goes before any reader; a writer only when
 * nothing else is left, the one with the oldest progress first. */
PT_TEST(test_victim_order)
{
	struct pt_conntab t;
	struct pt_conn *c[4];

	PT_CHECK_EQ(pt_conntab_init(&t, &lim), 0);
	for (int i = 0; i < 4; i++)
		c[i] = pt_conntab_add(&t, i, 0);
	pt_conntab_set(&t, c[0], PT_CONN_WRITE, 1);
	pt_conntab_set(&t, c[1], PT_CONN_WRITE, 2);
	pt_conntab_set(&t, c[3], PT_CONN_LINGER, 3);
	PT_CHECK(pt_conntab_victim(&t) == c[3]);
	pt_conntab_remove(&t, c[3]);
	PT_CHECK(pt_conntab_victim(&t) == c[2]); /* the reader */
	pt_conntab_remove(&t, c[2]);
	PT_CHECK(pt_conntab_victim(&t) == c[0]);
	PT_CHECK(pt_conntab_oldest_writer(&t) == c[0]);
	pt_conntab_set(&t, c[0], PT_CONN_WRITE, 4); /* c[0] made progress */
	PT_CHECK(pt_conntab_victim(&t) == c[1]);
	PT_CHECK(pt_conntab_oldest_writer(&t) == c[1]);
	pt_conntab_remove(&t, c[1]);
	pt_conntab_remove(&t, c[0]);
	PT_CHECK(pt_conntab_victim(&t) == NULL);
	PT_CHECK_EQ(t.n, 0);
	pt_conntab_free(&t);
}

/* Each state's deadline; a reader's is never extended. */
PT_TEST(test_deadlines)
{
	struct pt_conntab t;
	struct pt_conn *a, *b, *c;

	PT_CHECK_EQ(pt_conntab_init(&t, &lim), 0);
	PT_CHECK_EQ(pt_conntab_next_deadline(&t), INT64_MAX);
	PT_CHECK(pt_conntab_expired(&t, 1000000) == NULL);
	a = pt_conntab_add(&t, 1, 0);	 /* read: due at 100 */
	b = pt_conntab_add(&t, 2, 50);	 /* read: due at 150 */
	c = pt_conntab_add(&t, 3, 60);
	pt_conntab_set(&t, c, PT_CONN_LINGER, 60); /* due at 70 */
	PT_CHECK_EQ(pt_conntab_next_deadline(&t), 70);
	PT_CHECK(pt_conntab_expired(&t, 69) == NULL);
	PT_CHECK(pt_conntab_expired(&t, 70) == c);
	pt_conntab_remove(&t, c);
	PT_CHECK_EQ(pt_conntab_next_deadline(&t), 100);
	PT_CHECK(pt_conntab_expired(&t, 100) == a);
	pt_conntab_set(&t, a, PT_CONN_WRITE, 100); /* write: due at 1100 */
	PT_CHECK_EQ(pt_conntab_next_deadline(&t), 150);
	PT_CHECK(pt_conntab_expired(&t, 200) == b);
	pt_conntab_remove(&t, b);
	PT_CHECK(pt_conntab_expired(&t, 1099) == NULL);
	pt_conntab_set(&t, a, PT_CONN_WRITE, 1000); /* progress: due at 2000 */
	PT_CHECK(pt_conntab_expired(&t, 1999) == NULL);
	PT_CHECK(pt_conntab_expired(&t, 2000) == a);
	pt_conntab_free(&t);
}

/* A key names its connection until the slot is freed, never the next
 * connection in that slot. */
PT_TEST(test_keys)
{
	struct pt_conntab t;
	struct pt_conn *a, *b;
	uint64_t ka;

	PT_CHECK_EQ(pt_conntab_init(&t, &lim), 0);
	a = pt_conntab_add(&t, 1, 0);
	ka = pt_conntab_key(&t, a);
	PT_CHECK(pt_conntab_get(&t, ka) == a);
	a->in = malloc(16); /* freed with the slot */
	pt_conntab_remove(&t, a);
	PT_CHECK(pt_conntab_get(&t, ka) == NULL);
	b = pt_conntab_add(&t, 2, 0);
	PT_CHECK(b == a); /* the same slot */
	PT_CHECK(pt_conntab_get(&t, ka) == NULL);
	PT_CHECK(pt_conntab_get(&t, pt_conntab_key(&t, b)) == b);
	PT_CHECK(pt_conntab_get(&t, UINT64_MAX) == NULL);
	PT_CHECK(pt_conntab_get(&t, 77) == NULL);
	b->out = malloc(16); /* freed with the table */
	pt_conntab_free(&t);
}

int main(void)
{
	PT_RUN(test_oldest_idle_goes_first);
	PT_RUN(test_victim_order);
	PT_RUN(test_deadlines);
	PT_RUN(test_keys);
	return pt_test_done();
}
