/* syncd's sender (tx.c) and applier (rx.c) on two real shm tables, with
 * every message going through the codec in between: snapshot, adds,
 * deletes, counters (interval and threshold), message IDs, monotonic
 * refusal, unknown SAs, and the sweep of stale SAs after a snapshot. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../syncd/syncd.h"
#include "log.h"
#include "mwin.h"

static struct sa_table A, B;
static struct conf_sync cfg = { .interval_ms = 100, .packet_threshold = 1000, .m_window = 16 };
static struct sync_tx tx;
static struct sync_rx rx;
static char name_a[64], name_b[64];
static int bulk_ended;

/* The wire, minus the socket: encode, decode, apply as link.c does. */
static int wire(void *arg, const struct sync_msg *m)
{
	static uint8_t buf[SYNC_MSG_MAX];
	struct sync_msg d;
	int n = sync_encode(m, buf, sizeof(buf));

	assert_true(n > 0);
	assert_int_equal(sync_decode(buf, (size_t)n, &d), 0);
	if (d.type == SYNC_BULK_BEGIN)
		sync_rx_bulk_begin(&rx, d.u.bulk.id);
	else if (d.type == SYNC_BULK_END) {
		sync_rx_bulk_end(&rx, d.u.bulk.id);
		bulk_ended++;
	} else
		sync_rx_apply(&rx, &d);
	return 0;
}

static int room(void *arg) { return 1; }

static int add_child(struct sa_table *t, uint32_t spi, uint8_t key)
{
	int i;

	sa_table_lock(t);
	i = sa_table_alloc_child(t);
	assert_true(i >= 0);
	struct child_sa_rec *r = &t->child[i];
	sa_rec_write_begin(&r->seq);
	snprintf(r->name, sizeof(r->name), "sa%x", spi);
	r->spi_in = spi;
	r->spi_out = spi + 0x10000;
	r->alg = SA_ALG_AES_GCM_16_256;
	memset(&r->key_in, key, sizeof(r->key_in));
	memset(&r->key_out, key + 1, sizeof(r->key_out));
	r->ts_local = (struct sa_ts){ .addr = 0x0a020000, .plen = 16 };
	r->ts_remote = (struct sa_ts){ .addr = 0x0a010000, .plen = 16 };
	r->peer_addr = 0xc0a80001;
	r->peer_port = 4500;
	r->created_ms = wall_ms();
	sa_rec_write_end(&r->seq);
	sa_table_publish_child(t, (uint32_t)i);
	sa_table_unlock(t);
	return i;
}

static struct child_sa_rec *find(struct sa_table *t, uint32_t spi)
{
	int i = sa_table_find_child_by_spi(t, spi);

	return i < 0 ? NULL : &t->child[i];
}

static int setup(void **state)
{
	snprintf(name_a, sizeof(name_a), "/hagw-test-sync-a-%d", (int)getpid());
	snprintf(name_b, sizeof(name_b), "/hagw-test-sync-b-%d", (int)getpid());
	sa_table_unlink(name_a);
	sa_table_unlink(name_b);
	if (sa_table_create(&A, name_a, 1, 64, 8) < 0 || sa_table_create(&B, name_b, 2, 64, 8) < 0)
		return -1;
	if (sync_tx_init(&tx, &A, &cfg, wire, room, NULL) < 0 || sync_rx_init(&rx, &B, &cfg) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	sync_tx_free(&tx);
	sync_rx_free(&rx);
	sa_table_detach(&A);
	sa_table_detach(&B);
	sa_table_unlink(name_a);
	sa_table_unlink(name_b);
	return 0;
}

static void test_snapshot_and_changes(void **state)
{
	struct child_sa_rec *a, *b;
	uint64_t before;
	int ik;

	add_child(&A, 0x1001, 0x10);
	add_child(&A, 0x1002, 0x20);
	/* an IKE SA and a child that belongs to it */
	sa_table_lock(&A);
	ik = sa_table_alloc_ike(&A);
	A.ike[ik].spi_i = 0xaaaa;
	A.ike[ik].spi_r = 0xbbbb;
	atomic_store(&A.ike[ik].msgid_out, 3);
	sa_table_publish_ike(&A, (uint32_t)ik);
	sa_table_unlock(&A);
	int c3 = add_child(&A, 0x1003, 0x30);
	A.child[c3].ike_idx = (uint32_t)ik + 1;
	atomic_fetch_add(&A.child[c3].seq, 2); /* rewritten: seq moved */
	atomic_store(&A.child[0].out_seq, 77);

	/* a stale SA on the standby that the active does not have */
	add_child(&B, 0x9999, 0x99);

	assert_int_equal(sync_tx_start(&tx, 1), 0);
	assert_int_equal(sync_tx_pump(&tx, 0), 0);
	assert_int_equal(bulk_ended, 1);
	assert_true(sync_tx_bulk_done(&tx));
	assert_int_equal(atomic_load(&B.hdr->child_count), 3);
	assert_null(find(&B, 0x9999));
	a = find(&A, 0x1002);
	b = find(&B, 0x1002);
	assert_non_null(b);
	assert_memory_equal(&a->key_in, &b->key_in, sizeof(a->key_in));
	assert_memory_equal(&a->key_out, &b->key_out, sizeof(a->key_out));
	assert_int_equal(b->spi_out, 0x11002);
	assert_int_equal(atomic_load(&find(&B, 0x1001)->out_seq), 77);
	assert_int_equal(find(&B, 0x1001)->s0, 77);
	b = find(&B, 0x1003);
	assert_int_not_equal(b->ike_idx, 0);
	assert_int_equal(B.ike[b->ike_idx - 1].spi_i, 0xaaaa);
	assert_int_equal(atomic_load(&B.ike[b->ike_idx - 1].msgid_out), 3);

	/* counters: below the threshold wait for the interval's flush */
	atomic_store(&A.child[0].out_seq, 177);
	sync_tx_pump(&tx, 0);
	assert_int_equal(atomic_load(&find(&B, 0x1001)->out_seq), 77);
	sync_tx_pump(&tx, 1);
	assert_int_equal(atomic_load(&find(&B, 0x1001)->out_seq), 177);
	assert_int_equal(mwin_peak(find(&B, 0x1001), 16), 100);
	/* past the threshold they go at once */
	atomic_store(&A.child[0].out_seq, 1177);
	A.child[0].replay.top = 50;
	sync_tx_pump(&tx, 0);
	assert_int_equal(atomic_load(&find(&B, 0x1001)->out_seq), 1177);
	assert_int_equal(find(&B, 0x1001)->replay.top, 50);
	assert_int_equal(find(&B, 0x1001)->in_s0, 50);

	/* message IDs on every exchange */
	atomic_store(&A.ike[ik].msgid_in, 9);
	sync_tx_pump(&tx, 0);
	assert_int_equal(atomic_load(&B.ike[find(&B, 0x1003)->ike_idx - 1].msgid_in), 9);

	/* a delete and an add */
	sa_table_lock(&A);
	sa_table_free_child(&A, (uint32_t)sa_table_find_child_by_spi(&A, 0x1002));
	sa_table_unlock(&A);
	add_child(&A, 0x1004, 0x40);
	sync_tx_pump(&tx, 0);
	assert_null(find(&B, 0x1002));
	assert_non_null(find(&B, 0x1004));
	assert_int_equal(atomic_load(&B.hdr->child_count), 3);

	/* a counter going back is refused and counted; the value stays */
	before = sa_ctr_get(&B, CTR_sync_drop_backwards);
	{
		uint8_t raw[SYNC_CTR_ENTRY];
		struct sync_ctr_entry e = { 0x1001, 5, 50 };
		struct sync_msg m = { .version = 1, .type = SYNC_COUNTERS };

		sync_ctr_put(raw, 0, &e);
		m.u.ctr.raw = raw;
		m.u.ctr.n = 1;
		assert_int_equal(sync_rx_apply(&rx, &m), RX_BACKWARDS);
	}
	assert_int_equal(sa_ctr_get(&B, CTR_sync_drop_backwards), before + 1);
	assert_int_equal(atomic_load(&find(&B, 0x1001)->out_seq), 1177);

	/* a delete for an SA we do not hold */
	before = sa_ctr_get(&B, CTR_sync_drop_unknown_sa);
	{
		struct sync_msg m = { .version = 1, .type = SYNC_CHILD_DEL };

		m.u.child_del.spi_in = 0x4242;
		m.u.child_del.spi_out = 0x4343;
		assert_int_equal(sync_rx_apply(&rx, &m), RX_UNKNOWN_SA);
	}
	assert_int_equal(sa_ctr_get(&B, CTR_sync_drop_unknown_sa), before + 1);
	assert_int_equal(atomic_load(&B.hdr->child_count), 3);

	/* a second session: a new snapshot merges, nothing goes back */
	atomic_store(&find(&B, 0x1001)->out_seq, 5000); /* the standby is ahead */
	assert_int_equal(sync_tx_start(&tx, 2), 0);
	sync_tx_pump(&tx, 0);
	assert_int_equal(bulk_ended, 2);
	assert_int_equal(atomic_load(&find(&B, 0x1001)->out_seq), 5000);
	assert_int_equal(atomic_load(&B.hdr->child_count), 3);
}

/* One counters entry, with or without the active's slot. */
static int apply_ctr(uint32_t spi, uint64_t out, uint64_t in, long slot)
{
	uint8_t raw[SYNC_CTR_ENTRY], sl[SYNC_CTR_SLOT];
	struct sync_ctr_entry e = { spi, out, in };
	struct sync_msg m = { .version = 1, .type = SYNC_COUNTERS };

	sync_ctr_put(raw, 0, &e);
	m.u.ctr.raw = raw;
	m.u.ctr.n = 1;
	m.u.ctr.tick = tx.tick + 100;
	if (slot >= 0) {
		sync_ctr_put_slot(sl, 0, (uint32_t)slot);
		m.u.ctr.slots = sl;
	}
	return sync_rx_apply(&rx, &m);
}

/* Counters find their SA by the active's slot, and never apply to another
 * SA when the slot map is stale or wrong. */
static void test_counters_by_slot(void **state)
{
	int sa = sa_table_find_child_by_spi(&A, 0x1004);
	struct child_sa_rec *b = find(&B, 0x1004);
	uint64_t unknown = sa_ctr_get(&B, CTR_sync_drop_unknown_sa);
	uint64_t o = atomic_load(&b->out_seq);
	int bi = (int)(b - B.child);

	assert_true(sa >= 0);
	/* by the slot the active's add named */
	assert_int_equal(apply_ctr(0x1004, o + 10, 0, sa), RX_OK);
	assert_int_equal(atomic_load(&b->out_seq), o + 10);
	/* no slot (an earlier sender): by SPI */
	assert_int_equal(apply_ctr(0x1004, o + 20, 0, -1), RX_OK);
	assert_int_equal(atomic_load(&b->out_seq), o + 20);
	/* a slot the map does not know: by SPI */
	assert_int_equal(apply_ctr(0x1004, o + 30, 0, 60), RX_OK);
	assert_int_equal(atomic_load(&b->out_seq), o + 30);
	/* the slot of another SA with this SA's SPI: the SPI wins */
	assert_int_equal(apply_ctr(0x1004, o + 40, 0, sa_table_find_child_by_spi(&A, 0x1001)), RX_OK);
	assert_int_equal(atomic_load(&b->out_seq), o + 40);
	assert_int_equal(sa_ctr_get(&B, CTR_sync_drop_unknown_sa), unknown);
	/* our slot freed and reused by another SA behind the map's back (a
	 * new generation): the entry finds nothing, the new SA keeps its
	 * counters */
	sa_table_lock(&B);
	sa_table_free_child(&B, (uint32_t)bi);
	sa_table_unlock(&B);
	for (uint32_t spi = 0x7777; add_child(&B, spi, 0x77) != bi; spi++)
		; /* lower free slots fill first */
	assert_int_equal(apply_ctr(0x1004, o + 50, 0, sa), RX_UNKNOWN_SA);
	assert_int_equal(atomic_load(&B.child[bi].out_seq), 0);
	assert_int_equal(sa_ctr_get(&B, CTR_sync_drop_unknown_sa), unknown + 1);
}

/* A session with a peer that reads compact counters: the same state gets
 * across, threshold and interval alike. */
static void test_compact_session(void **state)
{
	int a = sa_table_find_child_by_spi(&A, 0x1001);
	struct child_sa_rec *b = find(&B, 0x1001);
	uint64_t o = atomic_load(&b->out_seq); /* the standby was ahead */

	atomic_store(&A.child[a].out_seq, o); /* A catches up: a new snapshot sends it */
	tx.peer_caps = SYNC_CAP_CTR_COMPACT;
	assert_int_equal(sync_tx_start(&tx, 3), 0);
	sync_tx_pump(&tx, 0);
	assert_int_equal(bulk_ended, 3);
	assert_true(tx.compact);
	/* below the threshold: at the flush */
	atomic_store(&A.child[a].out_seq, o + 5);
	A.child[a].replay.top = 70;
	sync_tx_pump(&tx, 0);
	assert_int_equal(atomic_load(&b->out_seq), o);
	sync_tx_pump(&tx, 1);
	assert_int_equal(atomic_load(&b->out_seq), o + 5);
	assert_int_equal(b->replay.top, 70);
	/* past it: at once */
	atomic_store(&A.child[a].out_seq, o + 5 + 3000);
	sync_tx_pump(&tx, 0);
	assert_int_equal(atomic_load(&b->out_seq), o + 5 + 3000);
	tx.peer_caps = 0;
}

/* The data plane moves slot a's outbound counter to v, marking it. */
static void dp_move(int a, uint64_t v, int mark)
{
	uint64_t o = atomic_load(&A.child[a].out_seq);

	atomic_store(&A.child[a].out_seq, v);
	if (mark)
		sa_moved_note(&A, (uint32_t)a, o, v);
}

/* With the data plane's marks, the threshold scans look only at marked
 * SAs, and still send every SA that moved packet_threshold at once. */
static void test_threshold_by_marks(void **state)
{
	int a = sa_table_find_child_by_spi(&A, 0x1001);
	struct child_sa_rec *b = find(&B, 0x1001);
	uint64_t base = (atomic_load(&b->out_seq) | 511) + 1 + 512;

	sa_moved_start(&A, cfg.packet_threshold); /* 1000: marks every 512 */
	assert_int_equal(A.moved->shift, 10);
	dp_move(a, base, 1);
	sync_tx_pump(&tx, 1);
	assert_int_equal(atomic_load(&b->out_seq), base);
	/* 600 (a mark crossed): below the threshold, now watched */
	dp_move(a, base + 600, 1);
	sync_tx_pump(&tx, 0);
	assert_int_equal(atomic_load(&b->out_seq), base);
	assert_int_equal(tx.n_watch, 1);
	/* 1020 without a new mark: the watch sends it */
	dp_move(a, base + 1020, 1);
	assert_int_equal(A.moved->mark[a], (uint16_t)(tx.mark_seen[a]));
	sync_tx_pump(&tx, 0);
	assert_int_equal(atomic_load(&b->out_seq), base + 1020);
	assert_int_equal(tx.n_watch, 0);
	/* a move nobody marked is not looked for before the interval ends:
	 * the scans really do not read every SA */
	dp_move(a, base + 5000, 0);
	sync_tx_pump(&tx, 0);
	assert_int_equal(atomic_load(&b->out_seq), base + 1020);
	sync_tx_pump(&tx, 1);
	assert_int_equal(atomic_load(&b->out_seq), base + 5000);
	/* a marked move of the threshold goes at the next scan */
	dp_move(a, base + 6500, 1);
	sync_tx_pump(&tx, 0);
	assert_int_equal(atomic_load(&b->out_seq), base + 6500);
	/* two SAs watched at once: one is sent, the other stays watched and
	 * goes once it reaches the threshold, without a further mark */
	{
		int a2 = sa_table_find_child_by_spi(&A, 0x1003);
		struct child_sa_rec *b2 = find(&B, 0x1003);
		uint64_t base2 = (atomic_load(&b2->out_seq) | 511) + 1 + 512;

		dp_move(a2, base2, 1);
		sync_tx_pump(&tx, 1);
		assert_int_equal(atomic_load(&b2->out_seq), base2);
		dp_move(a, base + 6500 + 600, 1); /* both cross a mark, below 1000 */
		dp_move(a2, base2 + 600, 1);
		sync_tx_pump(&tx, 0);
		assert_int_equal(tx.n_watch, 2);
		dp_move(a, base + 6500 + 1100, 1); /* one past the threshold */
		sync_tx_pump(&tx, 0);
		assert_int_equal(atomic_load(&b->out_seq), base + 6500 + 1100);
		assert_int_equal(atomic_load(&b2->out_seq), base2);
		assert_int_equal(tx.n_watch, 1);
		dp_move(a2, base2 + 1010, 1); /* the other, no mark crossed */
		assert_int_equal(A.moved->mark[a2], tx.mark_seen[a2]);
		sync_tx_pump(&tx, 0);
		assert_int_equal(atomic_load(&b2->out_seq), base2 + 1010);
	}
	/* marks too coarse for the threshold: every SA is read again */
	sa_moved_start(&A, 4096);
	dp_move(a, base + 6500 + 1100 + 2000, 0);
	sync_tx_pump(&tx, 0);
	assert_int_equal(atomic_load(&b->out_seq), base + 6500 + 1100 + 2000);
	atomic_store(&A.moved->shift, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_and_changes),
		cmocka_unit_test(test_counters_by_slot),
		cmocka_unit_test(test_compact_session),
		cmocka_unit_test(test_threshold_by_marks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
