/* gwd's receive and send paths without sockets: a real shm table and real
 * SAs, the TUN replaced by a pipe. Each bad packet must move exactly its
 * own counter and leave the SA as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "../gwd/gwd.h"
#include "log.h"

#define KA "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f01020304"
#define KB "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f05060708"

static struct gwd g;      /* the receiver: 10.2.0.0/24 behind it */
static struct gwd peer;   /* the sender: 10.1.0.0/24 behind it */
static int tun_pipe[2], peer_pipe[2];

static void gw_init(struct gwd *x, const char *text, int *pipefd)
{
	struct conf_err e;

	memset(x, 0, sizeof(*x));
	if (config_load_string(&x->cfg, "t.conf", text, &e) < 0)
		fail_msg("%s", e.msg);
	sa_table_unlink(x->cfg.gw.shm);
	assert_int_equal(sa_table_create(&x->table, x->cfg.gw.shm, x->cfg.gw.member_id, 16, 4), 0);
	atomic_store(&x->table.hdr->role, SA_ROLE_ACTIVE);
	x->member_id = x->cfg.gw.member_id;
	assert_int_equal(gwd_install_manual(x), 0);
	assert_int_equal(gwd_sadb_sync(x), 0);
	assert_int_equal(pkt_pool_init(&x->pool, 64), 0);
	assert_int_equal(pkt_queue_init(&x->txq, 16), 0);
	assert_int_equal(pipe2(pipefd, O_NONBLOCK), 0);
	x->tun_fd = pipefd[1];
}

static int setup(void **state)
{
	char a[1024], b[1024];
	int pid = (int)getpid();

	snprintf(a, sizeof(a),
		 "[gateway]\nmember_id = 2\nname = r%d\n[sa s]\nspi_in = 0x1001\nspi_out = 0x2001\n"
		 "alg = %s\nkey_in = " KA "\nkey_out = " KB "\nlocal_ts = 10.2.0.0/24\n"
		 "remote_ts = 10.1.0.0/24\npeer = 192.0.2.1\n",
		 pid, (const char *)*state);
	snprintf(b, sizeof(b),
		 "[gateway]\nmember_id = 1\nname = s%d\n[sa s]\nspi_in = 0x2001\nspi_out = 0x1001\n"
		 "alg = %s\nkey_in = " KB "\nkey_out = " KA "\nlocal_ts = 10.1.0.0/24\n"
		 "remote_ts = 10.2.0.0/24\npeer = 192.0.2.2\ninitial_seq = 4294967290\n",
		 pid, (const char *)*state);
	esp_crypto_init();
	gw_init(&g, a, tun_pipe);
	gw_init(&peer, b, peer_pipe);
	return 0;
}

static void gw_fini(struct gwd *x, int *pipefd)
{
	gwd_sadb_free(x);
	pkt_pool_free(&x->pool);
	pkt_queue_free(&x->txq);
	sa_table_detach(&x->table);
	sa_table_unlink(x->cfg.gw.shm);
	config_free(&x->cfg);
	close(pipefd[0]);
	close(pipefd[1]);
}

static int teardown(void **state)
{
	gw_fini(&g, tun_pipe);
	gw_fini(&peer, peer_pipe);
	return 0;
}

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* An IPv4/UDP packet src -> dst of `len` bytes. */
static size_t ipv4(uint8_t *p, uint32_t src, uint32_t dst, size_t len)
{
	uint16_t c;

	memset(p, 0, len);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[8] = 64;
	p[9] = 17;
	for (int i = 0; i < 4; i++) {
		p[12 + i] = (uint8_t)(src >> (24 - 8 * i));
		p[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	c = csum(p, 20);
	p[10] = (uint8_t)(c >> 8);
	p[11] = (uint8_t)c;
	return len;
}

/* The sender encrypts an inner packet; returns the ESP datagram. */
static struct pkt *seal(uint32_t src, uint32_t dst, size_t len)
{
	struct pkt *k = pkt_get(&peer.pool);

	k->len = (uint32_t)ipv4(k->data + ESP_PAYLOAD_OFF, src, dst, len);
	if (!dp_output(&peer, k)) {
		pkt_put(&peer.pool, k);
		return NULL;
	}
	assert_int_equal(peer.txq.count, 1);
	pkt_queue_drop_front(&peer.txq, 1);
	return k;
}

static uint64_t ctr(struct gwd *x, int c) { return sa_ctr_get(&x->table, c); }

/* Feeds a copy of `k` (len bytes) to the receiver. */
static void feed(const struct pkt *k, size_t len)
{
	struct pkt *c = pkt_get(&g.pool);

	memcpy(c->data, k->data, len);
	c->off = 0;
	c->len = (uint32_t)len;
	dp_input(&g, c);
	pkt_put(&g.pool, c);
}

#define EXPECT_ONLY(cname, before)                                                       \
	do {                                                                             \
		for (int i_ = 0; i_ < CTR_COUNT; i_++) {                                 \
			uint64_t want_ = before[i_] + (i_ == CTR_##cname ? 1 : 0);       \
			if (ctr(&g, i_) != want_)                                        \
				fail_msg("counter %s: %llu, want %llu", ctr_names[i_],   \
					 (unsigned long long)ctr(&g, i_),                \
					 (unsigned long long)want_);                     \
		}                                                                        \
	} while (0)

static void snap(uint64_t *b)
{
	for (int i = 0; i < CTR_COUNT; i++)
		b[i] = ctr(&g, i);
}

static void test_receive_checks(void **state)
{
	uint64_t b[CTR_COUNT], top;
	struct pkt *good = seal(0x0a010005, 0x0a020007, 100);
	struct pkt *k2 = seal(0x0a010005, 0x0a020007, 60);
	struct pkt *bad_sel = seal(0x0a010005, 0x0a020107, 60); /* no SA at the sender */
	uint8_t out[2048];
	struct pkt tmp;

	assert_non_null(good);
	assert_non_null(k2);
	assert_null(bad_sel);
	assert_int_equal(ctr(&peer, CTR_drop_no_sa), 1);

	snap(b);
	b[CTR_rx_bytes] += 100;
	feed(good, good->len);
	EXPECT_ONLY(rx_packets, b);
	assert_int_equal(read(tun_pipe[0], out, sizeof(out)), 100);
	top = g.db.sas[0].rec->replay.top;
	assert_true(top == 4294967291ull);

	/* 1. the same packet again: replay */
	snap(b);
	feed(good, good->len);
	EXPECT_ONLY(drop_replay, b);
	/* 2. a flipped byte in the ciphertext of a fresh packet: ICV */
	memcpy(&tmp, k2, sizeof(tmp));
	tmp.data[30] ^= 0x40;
	snap(b);
	feed(&tmp, tmp.len);
	EXPECT_ONLY(drop_auth, b);
	assert_true(g.db.sas[0].rec->replay.top == top); /* window did not move */
	/* ... and the genuine one still passes afterwards */
	snap(b);
	feed(k2, k2->len);
	assert_int_equal(ctr(&g, CTR_rx_packets), b[CTR_rx_packets] + 1);
	/* 3. truncated */
	snap(b);
	feed(k2, 20);
	EXPECT_ONLY(drop_truncated, b);
	/* 4. unknown SPI */
	memcpy(&tmp, k2, sizeof(tmp));
	tmp.data[3] ^= 0x77;
	snap(b);
	feed(&tmp, tmp.len);
	EXPECT_ONLY(drop_no_sa, b);
	/* 5. sequence number zero */
	memcpy(&tmp, k2, sizeof(tmp));
	memset(tmp.data + 4, 0, 4);
	snap(b);
	feed(&tmp, tmp.len);
	EXPECT_ONLY(drop_zero_seq, b);
	/* 6. NAT-T keepalive and IKE marker */
	tmp.data[0] = 0xff;
	snap(b);
	feed(&tmp, 1);
	EXPECT_ONLY(natt_keepalives, b);
	memset(tmp.data, 0, 8);
	feed(&tmp, 40);
	assert_int_equal(ctr(&g, CTR_ike_packets), b[CTR_ike_packets] + 1);
	/* 7. oversized */
	snap(b);
	feed(k2, PKT_BUF_SIZE - 10);
	EXPECT_ONLY(drop_oversize, b);
}

/* An authenticated packet whose inner source lies outside the SA's remote
 * selector is dropped (RFC 4301 5.2), as is a garbage inner header. */
static void test_inner_checks(void **state)
{
	struct gwd_sa *sa = &g.db.sas[0];
	uint8_t ip[64];
	size_t l;

	ipv4(ip, 0x0a010005, 0x0a020007, 40);
	assert_int_equal(dp_inner_ok(sa, ip, 40, &l), 0);
	assert_int_equal(l, 40);
	assert_int_equal(dp_inner_ok(sa, ip, 60, &l), 0); /* TFC padding after */
	assert_int_equal(l, 40);
	ipv4(ip, 0x0a090005, 0x0a020007, 40);
	assert_int_equal(dp_inner_ok(sa, ip, 40, &l), -2); /* source */
	ipv4(ip, 0x0a010005, 0x0a030007, 40);
	assert_int_equal(dp_inner_ok(sa, ip, 40, &l), -2); /* destination */
	ipv4(ip, 0x0a010005, 0x0a020007, 40);
	ip[10] ^= 1;
	assert_int_equal(dp_inner_ok(sa, ip, 40, &l), -1); /* header checksum */
	ipv4(ip, 0x0a010005, 0x0a020007, 40);
	assert_int_equal(dp_inner_ok(sa, ip, 30, &l), -1); /* total length > data */
	ip[0] = 0x65;
	assert_int_equal(dp_inner_ok(sa, ip, 40, &l), -1); /* version */
	assert_int_equal(dp_inner_ok(sa, ip, 19, &l), -1);
}

/* The sender started at 2^32 - 6 (initial_seq): it crosses the rekey
 * threshold at once, sends up to 2^32 - 1, then blocks (manual SA). */
static void test_ceiling(void **state)
{
	struct child_sa_rec *rec = peer.db.sas[0].rec;
	uint64_t sent = 0;
	int i;

	for (i = 0; i < 10; i++)
		if (seal(0x0a010005, 0x0a020007, 40))
			sent++;
	assert_int_equal(sent, 5); /* 2^32-5 .. 2^32-1 */
	assert_true(atomic_load(&rec->out_seq) == 0xffffffffull);
	assert_int_equal(ctr(&peer, CTR_sn_threshold_crossings), 1);
	assert_int_equal(ctr(&peer, CTR_sn_blocked), 1);
	assert_int_equal(ctr(&peer, CTR_drop_blocked), 5);
	assert_true(atomic_load(&rec->flags) & SA_F_BLOCKED);
	assert_true(atomic_load(&rec->flags) & SA_F_REKEY_NEEDED);
}

/* A STANDBY member sends nothing and does not touch its counters. */
static void test_standby_sends_nothing(void **state)
{
	struct child_sa_rec *rec = peer.db.sas[0].rec;
	uint64_t seq = atomic_load(&rec->out_seq);

	atomic_store(&peer.table.hdr->role, SA_ROLE_STANDBY);
	assert_null(seal(0x0a010005, 0x0a020007, 40));
	assert_int_equal(ctr(&peer, CTR_drop_not_active), 1);
	assert_true(atomic_load(&rec->out_seq) == seq);
}

/* A restarted gwd keeps the counters of SAs already in the table and gives
 * them a new activation, so no IV can repeat. */
static void test_reinstall_keeps_counters(void **state)
{
	struct child_sa_rec *rec = peer.db.sas[0].rec;
	uint64_t seq;

	seal(0x0a010005, 0x0a020007, 40);
	seq = atomic_load(&rec->out_seq);
	assert_int_equal(atomic_load(&rec->activation), 0);
	assert_int_equal(gwd_install_manual(&peer), 0);
	assert_true(atomic_load(&rec->out_seq) == seq);
	assert_int_equal(atomic_load(&rec->activation), 1);
}

/*
 * After a promotion the receiver's window restarts at its first packet
 * (promote.h, step 4). The old active accepted 1001..1010, but the last
 * sync said 1003: syncd raised the top to 1003 and left the bitmap empty.
 * learn: 1001..1003 are refused, 1004..1010 are the documented exposure
 * (taken once each); strict (M_in 5, X 2): nothing up to 1013 is taken.
 */
static void promote_receiver(const char *inbound)
{
	struct child_sa_rec *rec = g.db.sas[0].rec;
	struct promote_report r;
	struct conf_err e;
	struct config c;
	char text[256];

	snprintf(text, sizeof(text), "[gateway]\nname = p\n[failover]\nx = 2.0\nm_min = 2\n"
		 "inbound = %s\n", inbound);
	if (config_load_string(&c, "p.conf", text, &e) < 0)
		fail_msg("%s", e.msg);
	memset(&rec->replay, 0, sizeof(rec->replay));
	rec->replay.top = 1003;
	rec->in_s0 = 1003;
	rec->s0_ms = now_ms();
	rec->m_peak_in = 5;
	atomic_store(&g.table.hdr->role, SA_ROLE_STANDBY);
	promote_release(&g.table);
	assert_int_equal(promote_prepare(&g.table, &c, "test", &r), 0);
	promote_activate(&g.table, &r);
	assert_true(atomic_load(&rec->flags) & SA_F_REPLAY_RESET);
	config_free(&c);
}

/*
 * A promotion that leaves the sender's SA past the ceiling blocks it
 * (promote.c step 3): from the role flip on, gwd's data plane sends
 * nothing on it, although its table snapshot (sadb) still has it as a
 * sending SA: the flag is read on every packet. The SA here is manual,
 * so it stays blocked (a negotiated one is replaced by its rekey, and the
 * old one then is REKEYED: receive only).
 */
static void test_promotion_blocked_sends_nothing(void **state)
{
	struct child_sa_rec *rec = peer.db.sas[0].rec;
	struct promote_report r;
	uint64_t tx = atomic_load(&rec->ctr.tx_packets);
	int i;

	assert_non_null(seal(0x0a010005, 0x0a020007, 40)); /* it sent before */
	atomic_store(&peer.table.hdr->role, SA_ROLE_STANDBY);
	assert_int_equal(promote_prepare(&peer.table, &peer.cfg, "test", &r), 0);
	promote_activate(&peer.table, &r);
	promote_release(&peer.table);
	assert_int_equal(r.st.blocked, 1);
	assert_int_equal(r.st.cannot_rekey, 1);
	assert_true(atomic_load(&rec->flags) & SA_F_BLOCKED);
	assert_true(peer.db.sas[0].sends);
	for (i = 0; i < 10; i++)
		assert_null(seal(0x0a010005, 0x0a020007, 40));
	assert_int_equal(peer.txq.count, 0);
	assert_int_equal(atomic_load(&rec->ctr.tx_packets), tx + 1);
	assert_int_equal(atomic_load(&rec->ctr.drop_blocked), 10);
	assert_true(atomic_load(&rec->out_seq) == 0xffffffffull);
}

static void test_promotion_restarts_window(void **state)
{
	struct child_sa_rec *tx = peer.db.sas[0].rec, *rx = g.db.sas[0].rec;
	struct pkt *p[16];
	uint64_t b[CTR_COUNT];
	int i;

	atomic_store(&tx->out_seq, 1000);
	for (i = 1; i <= 15; i++) /* p[i] carries 1000 + i */
		assert_non_null(p[i] = seal(0x0a010005, 0x0a020007, 60));

	promote_receiver("learn");
	snap(b);
	feed(p[2], p[2]->len);
	assert_int_equal(ctr(&g, CTR_replay_restarts), b[CTR_replay_restarts] + 1);
	assert_int_equal(ctr(&g, CTR_drop_replay), b[CTR_drop_replay] + 1);
	assert_int_equal(atomic_load(&rx->flags) & SA_F_REPLAY_RESET, 0);
	feed(p[3], p[3]->len);
	assert_int_equal(ctr(&g, CTR_drop_replay), b[CTR_drop_replay] + 2);
	feed(p[5], p[5]->len); /* the exposure: above the synced top */
	assert_int_equal(ctr(&g, CTR_rx_packets), b[CTR_rx_packets] + 1);
	feed(p[5], p[5]->len); /* once */
	assert_int_equal(ctr(&g, CTR_drop_replay), b[CTR_drop_replay] + 3);
	assert_int_equal(ctr(&g, CTR_replay_restarts), b[CTR_replay_restarts] + 1);

	promote_receiver("strict");
	snap(b);
	for (i = 4; i <= 13; i++)
		feed(p[i], p[i]->len);
	assert_int_equal(ctr(&g, CTR_drop_replay), b[CTR_drop_replay] + 10);
	assert_int_equal(ctr(&g, CTR_rx_packets), b[CTR_rx_packets]);
	feed(p[14], p[14]->len);
	assert_int_equal(ctr(&g, CTR_rx_packets), b[CTR_rx_packets] + 1);
	assert_int_equal(ctr(&g, CTR_replay_restarts), b[CTR_replay_restarts] + 1);
	assert_true(rx->replay.top == 1014);
	for (i = 1; i <= 15; i++)
		pkt_put(&peer.pool, p[i]);
}

int main(void)
{
	static const char *chacha = "chacha20poly1305", *aes = "aes256gcm16";
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate_setup_teardown(test_receive_checks, setup, teardown, (void *)chacha),
		cmocka_unit_test_prestate_setup_teardown(test_receive_checks, setup, teardown, (void *)aes),
		cmocka_unit_test_prestate_setup_teardown(test_inner_checks, setup, teardown, (void *)chacha),
		cmocka_unit_test_prestate_setup_teardown(test_ceiling, setup, teardown, (void *)chacha),
		cmocka_unit_test_prestate_setup_teardown(test_standby_sends_nothing, setup, teardown, (void *)aes),
		cmocka_unit_test_prestate_setup_teardown(test_reinstall_keeps_counters, setup, teardown, (void *)aes),
		cmocka_unit_test_prestate_setup_teardown(test_promotion_blocked_sends_nothing, setup, teardown, (void *)aes),
		cmocka_unit_test_prestate_setup_teardown(test_promotion_restarts_window, setup, teardown, (void *)aes),
		cmocka_unit_test_prestate_setup_teardown(test_promotion_restarts_window, setup, teardown, (void *)chacha),
	};

	return cmocka_run_group_tests_name("dataplane", tests, NULL, NULL);
}
