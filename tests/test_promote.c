/*
 * The promotion (common/promote.c): the per-SA decision as numbered table
 * rows for every strategy, near 2^32 and the ESN ceiling, manual and
 * never-synced SAs and the last IV activation; the inbound restart under
 * both policies against the real replay window; then whole promotions on a
 * real shm table (the report, back-to-back promotions, IKE message IDs, a
 * promotion with nothing to do), and the status blocks gwctl reads.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "esp.h"
#include "failover_status.h"
#include "log.h"
#include "promote.h"
#include "replay.h"
#include "sa_table.h"
#include "vrrp_status.h"

#define C32 0xffffffffull
#define C48 0xffffffffffffull
#define T32 (C32 * 95 / 100)         /* the rekey thresholds: 95 % */
#define T48 (C48 * 95 / 100)
#define NOW 1000000ull               /* the promotion's monotonic ms in the rows */

static char shm[64];

/* interval_ms: the sync interval behind k (the table tests take a long one,
 * so that a slow machine does not make k 2) */
static void load_cfg_interval(struct config *c, const char *failover, uint32_t interval_ms)
{
	struct conf_err err;
	char text[768];

	snprintf(text, sizeof(text),
		 "[gateway]\nname = t\nmember_id = 3\n"
		 "[sync]\nlocal = 10.9.0.1\npeer = 10.9.0.2\ninterval_ms = %u\npsk = "
		 "0101010101010101010101010101010101010101010101010101010101010101\n"
		 "[failover]\n%s", interval_ms, failover);
	if (config_load_string(c, "t.conf", text, &err) < 0)
		fail_msg("%s", err.msg);
}

static void load_cfg(struct config *c, const char *failover)
{
	load_cfg_interval(c, failover, 10000);
}

/* X = 2, M_min = 100, interval 100 ms, threshold 95 % */
static void params(struct promote_params *p, uint32_t strategy, uint32_t inbound)
{
	struct config c;
	char text[128];

	snprintf(text, sizeof(text), "strategy = %s\ninbound = %s\nx = 2.0\nm_min = 100\n",
		 conf_failover_strategy_name(strategy), conf_failover_inbound_name(inbound));
	load_cfg_interval(&c, text, 100);
	promote_params_init(p, &c, NOW);
	config_free(&c);
}

/* --- the decision, one row per case --- */

enum { SEED = CONF_FAILOVER_SEED, GLOBAL = CONF_FAILOVER_GLOBAL_REKEY, NONE = CONF_FAILOVER_NONE };
#define ESN SA_F_ESN
#define MAN SA_F_MANUAL
#define RN  SA_F_REKEY_NEEDED
#define TH  SA_F_THRESHOLD
#define BL  SA_F_BLOCKED
#define V_SEED PROMOTE_V_SEEDED
#define V_RK   PROMOTE_V_REKEY
#define V_NEW  PROMOTE_V_REKEY_NEW
#define V_BL   PROMOTE_V_BLOCKED
#define V_CAN  PROMOTE_V_CANNOT_REKEY
#define V_NS   PROMOTE_V_NEVER_SYNCED
#define V_ST   PROMOTE_V_STALE
#define V_ACT  PROMOTE_V_ACT_LAST
#define V_NT   PROMOTE_V_NEW_THRESHOLD
#define V_NB   PROMOTE_V_NEW_BLOCKED
#define NEVER  UINT64_MAX            /* age: s0_ms = 0 */

static void test_decide_rows(void **state)
{
	static const struct {
		int n;
		uint32_t strategy, flags, act;
		uint64_t out_seq, s0, age, m;
		uint64_t want_out, want_k;
		uint32_t want_flags, want_act, want_v;
	} rows[] = {
		/* n  strategy flags act out_seq     S_0         age   M       -> out_seq        k  flags        act  verdict */
		{ 1,  SEED, 0,     0, 1000,       1000,       50,   500,    2000,            1, 0,           1, V_SEED },
		{ 2,  SEED, 0,     7, 1000,       1000,       450,  500,    6000,            5, 0,           8, V_SEED | V_ST },      /* lost syncs: k = 5 */
		{ 3,  SEED, 0,     0, 1000,       1000,       50,   0,      1200,            1, 0,           1, V_SEED },             /* idle: M_min */
		{ 4,  SEED, 0,     0, 5000,       0,          NEVER, 0,     5200,            1, 0,           1, V_SEED | V_NS },      /* never synced: from its own counter */
		{ 5,  SEED, 0,     0, 5000,       0,          NEVER, 700,   6400,            1, 0,           1, V_SEED | V_NS },
		{ 6,  SEED, 0,     1, 9000,       1000,       50,   500,    9000,            1, 0,           2, 0 },                  /* ahead already (back-to-back): no move */
		{ 7,  SEED, 0,     1, 1500,       1000,       50,   500,    2000,            1, 0,           2, V_SEED },             /* moves from S_0, not from the counter */
		{ 8,  SEED, 0,     0, 4080218000, 4080218000, 50,   1000,   4080220000,      1, RN | TH,     1, V_SEED | V_RK | V_NEW | V_NT },
		{ 9,  SEED, 0,     0, 4080217000, 4080217000, 50,   900,    4080218800,      1, 0,           1, V_SEED },             /* just under */
		{ 10, SEED, 0,     0, 4080217130, 4080217130, 50,   900,    T32,             1, RN | TH,     1, V_SEED | V_RK | V_NEW | V_NT }, /* exactly at */
		{ 11, SEED, 0,     0, C32 - 100,  C32 - 100,  50,   50,     C32,             1, RN | TH | BL, 1, V_SEED | V_RK | V_NEW | V_BL | V_NT | V_NB }, /* lands on the last number */
		{ 12, SEED, 0,     0, C32 - 100,  C32 - 100,  50,   51,     C32,             1, RN | TH | BL, 1, V_SEED | V_RK | V_NEW | V_BL | V_NT | V_NB }, /* past: clamped */
		{ 13, SEED, 0,     0, C32,        C32,        50,   1,      C32,             1, RN | TH | BL, 1, V_RK | V_NEW | V_BL | V_NT | V_NB },
		{ 14, SEED, ESN,   0, C32 - 100,  C32 - 100,  50,   51,     C32 + 100,       1, ESN,         1, V_SEED },             /* ESN: 2^32 is no limit */
		{ 15, SEED, ESN,   0, C48 - 10,   C48 - 10,   50,   100,    C48,             1, ESN|RN|TH|BL, 1, V_SEED | V_RK | V_NEW | V_BL | V_NT | V_NB }, /* the IV's 48 bits */
		{ 16, SEED, ESN,   0, T48 - 200,  T48 - 200,  50,   100,    T48,             1, ESN|RN|TH,   1, V_SEED | V_RK | V_NEW | V_NT },
		{ 17, SEED, ESN,   0, UINT64_MAX - 5, UINT64_MAX - 5, 50, 10, UINT64_MAX - 5, 1, ESN|RN|TH|BL, 1, V_RK | V_NEW | V_BL | V_NT | V_NB }, /* saturates, never wraps */
		{ 18, SEED, 0,     0, 10,         10,         UINT64_MAX - 1, 100000, C32,  UINT64_MAX / 100 + 1, RN | TH | BL, 1, V_SEED | V_RK | V_NEW | V_BL | V_ST | V_NT | V_NB },
		/* manually keyed: flagged at the threshold, blocked past the ceiling, never queued */
		{ 19, SEED, MAN,   0, 4080218000, 4080218000, 50,   1000,   4080220000,      1, MAN|RN|TH,   1, V_SEED | V_CAN | V_NT },
		{ 20, SEED, MAN,   0, C32 - 100,  C32 - 100,  50,   51,     C32,             1, MAN|RN|TH|BL, 1, V_SEED | V_CAN | V_BL | V_NT | V_NB },
		{ 21, SEED, MAN,   0, 1000,       1000,       50,   500,    2000,            1, MAN,         1, V_SEED },
		/* what the old active flagged stays, and is still in the queue */
		{ 22, SEED, RN|TH, 0, 1000,       1000,       50,   500,    2000,            1, RN | TH,     1, V_SEED | V_RK },
		{ 23, SEED, BL|RN|TH, 0, C32,     C32,        50,   0,      C32,             1, BL | RN | TH, 1, V_RK | V_BL },
		/* the last IV activations (esp.h: 12 bits) */
		{ 24, SEED, 0, ESP_IV_MAX_ACT - 1, 1000, 1000, 50,  500,    2000,            1, RN,          ESP_IV_MAX_ACT, V_SEED | V_RK | V_NEW | V_ACT },
		{ 25, SEED, 0, ESP_IV_MAX_ACT, 1000, 1000,   50,    500,    2000,            1, RN | BL,     ESP_IV_MAX_ACT + 1, V_SEED | V_RK | V_NEW | V_ACT | V_BL | V_NB },
		{ 26, SEED, MAN, ESP_IV_MAX_ACT, 1000, 1000, 50,    500,    2000,            1, MAN|RN|BL,   ESP_IV_MAX_ACT + 1, V_SEED | V_CAN | V_ACT | V_BL | V_NB },
		{ 27, SEED, 0, UINT32_MAX, 1000, 1000,       50,    500,    2000,            1, RN | BL,     UINT32_MAX, V_SEED | V_RK | V_NEW | V_ACT | V_BL | V_NB },
		/* none: resume where the standby is; the ceiling still counts */
		{ 28, NONE, 0,     0, 1000,       1000,       5000, 500,    1000,            50, 0,          1, V_ST },   /* k is reported, not used */
		{ 29, NONE, 0,     0, 1000,       900,        50,   500,    1000,            1, 0,           1, 0 },
		{ 30, NONE, 0,     0, 900,        1000,       50,   500,    1000,            1, 0,           1, V_SEED },             /* never below S_0 */
		{ 31, NONE, 0,     0, T32,        T32,        50,   500,    T32,             1, RN | TH,     1, V_RK | V_NEW | V_NT },
		{ 32, NONE, 0,     0, C32,        C32,        50,   500,    C32,             1, RN | TH | BL, 1, V_RK | V_NEW | V_BL | V_NT | V_NB },
		{ 33, NONE, 0,     0, 5000,       0,          NEVER, 500,   5000,            1, 0,           1, V_NS },
		/* global-rekey: no seeding, every rekeyable SA queued */
		{ 34, GLOBAL, 0,   0, 1000,       1000,       50,   500,    1000,            1, RN,          1, V_RK | V_NEW },
		{ 35, GLOBAL, ESN, 0, 1000,       1000,       50,   500,    1000,            1, ESN | RN,    1, V_RK | V_NEW },
		{ 36, GLOBAL, MAN, 0, 1000,       1000,       50,   500,    1000,            1, MAN,         1, V_CAN },
		{ 37, GLOBAL, 0,   0, T32,        T32,        50,   500,    T32,             1, RN | TH,     1, V_RK | V_NEW | V_NT },
		{ 38, GLOBAL, RN,  0, 1000,       1000,       50,   500,    1000,            1, RN,          1, V_RK },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct promote_params p;
		struct promote_sa sa = {
			.flags = rows[i].flags, .activation = rows[i].act, .out_seq = rows[i].out_seq,
			.s0 = rows[i].s0, .s0_ms = rows[i].age == NEVER ? 0 : NOW - rows[i].age,
			.in_s0 = 0, .m_peak = (uint32_t)(rows[i].m > UINT32_MAX ? UINT32_MAX : rows[i].m),
		};
		struct promote_decision d;

		params(&p, rows[i].strategy, CONF_INBOUND_LEARN);
		if (rows[i].age != NEVER && rows[i].age > NOW) {
			p.now_ms = rows[i].age + 1; /* row 18: an age near 2^64 */
			sa.s0_ms = 1;
		}
		promote_decide(&p, &sa, &d);
		if (d.out_seq != rows[i].want_out || d.k != rows[i].want_k ||
		    d.flags != rows[i].want_flags || d.activation != rows[i].want_act ||
		    d.verdict != rows[i].want_v)
			fail_msg("row %d: out %llu k %llu flags 0x%x act %u v 0x%x; "
				 "want %llu k %llu flags 0x%x act %u v 0x%x", rows[i].n,
				 (unsigned long long)d.out_seq, (unsigned long long)d.k, d.flags,
				 d.activation, d.verdict, (unsigned long long)rows[i].want_out,
				 (unsigned long long)rows[i].want_k, rows[i].want_flags,
				 rows[i].want_act, rows[i].want_v);
		if (d.advance != d.out_seq - rows[i].out_seq)
			fail_msg("row %d: advance %llu", rows[i].n, (unsigned long long)d.advance);
		if (d.out_seq < rows[i].out_seq)
			fail_msg("row %d: the counter went back", rows[i].n);
	}
}

static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* The pass's arithmetic (k by a reciprocal, the advance's fast path) gives
 * what seed_compute gives, over random S_0, ages, M and both ceilings. */
static void test_decide_matches_seed(void **state)
{
	struct promote_params p;
	int i;

	params(&p, SEED, CONF_INBOUND_LEARN);
	for (i = 0; i < 200000; i++) {
		int esn = (int)(rnd() & 1);
		uint64_t ceiling = esp_seq_ceiling(esn);
		uint64_t age = i % 3 ? rnd() % 100000 : rnd() >> (rnd() % 64);
		struct promote_sa sa = { 0 };
		struct promote_decision d;
		struct seed_result r;

		sa.flags = esn ? SA_F_ESN : 0;
		sa.s0 = sa.out_seq = rnd() % (ceiling + 1);
		sa.m_peak = (uint32_t)(rnd() >> (rnd() % 64));
		if (age >= NOW)
			age = NOW - 1;
		sa.s0_ms = NOW - age;
		promote_decide(&p, &sa, &d);
		seed_compute(&p.seed, sa.s0, age, sa.m_peak, ceiling, &r);
		if (d.k != r.k || d.out_seq != (r.s_n > ceiling ? ceiling : r.s_n))
			fail_msg("S_0 %llu age %llu M %u: out %llu k %llu, seed_compute %llu k %llu",
				 (unsigned long long)sa.s0, (unsigned long long)age, sa.m_peak,
				 (unsigned long long)d.out_seq, (unsigned long long)d.k,
				 (unsigned long long)r.s_n, (unsigned long long)r.k);
		/* same verdict, but a counter on the last number is blocked: no
		 * number is left to send */
		if (!!(d.verdict & PROMOTE_V_BLOCKED) != (r.verdict == SEED_BLOCKED || r.s_n == ceiling))
			fail_msg("S_0 %llu: blocked %d, seed verdict %s", (unsigned long long)sa.s0,
				 !!(d.verdict & PROMOTE_V_BLOCKED), seed_verdict_name(r.verdict));
		if (!!(d.flags & SA_F_REKEY_NEEDED) != (r.verdict != SEED_OK))
			fail_msg("S_0 %llu: rekey flag and seed verdict %s differ",
				 (unsigned long long)sa.s0, seed_verdict_name(r.verdict));
	}
	/* every k from a reciprocal equals the division, interval 1..10000 */
	for (i = 0; i < 100000; i++) {
		uint64_t age = rnd() % (1ull << 33);

		p.seed.interval_ms = (uint32_t)(1 + rnd() % 10000);
		p.k_recip = p.seed.interval_ms > 1 ? UINT64_MAX / p.seed.interval_ms + 1 : 0;
		{
			struct promote_sa sa = { .s0 = 1, .out_seq = 1, .s0_ms = 1 };
			struct promote_decision d;

			p.now_ms = age + 1;
			promote_decide(&p, &sa, &d);
			if (d.k != seed_k(age, p.seed.interval_ms))
				fail_msg("age %llu interval %u: k %llu, want %llu",
					 (unsigned long long)age, p.seed.interval_ms,
					 (unsigned long long)d.k,
					 (unsigned long long)seed_k(age, p.seed.interval_ms));
		}
	}
}

/* --- inbound --- */

static void test_inbound_top_rows(void **state)
{
	static const struct {
		int n;
		uint32_t policy, flags;
		uint64_t in_s0, age, m_in, top, want;
	} rows[] = {
		/* n  policy  flags in_s0   age   M_in  top     -> restart at */
		{ 1, CONF_INBOUND_LEARN,  0, 5000, 50, 700, 4000, 5000 },        /* the synced top */
		{ 2, CONF_INBOUND_LEARN,  0, 5000, 50, 700, 6000, 6000 },        /* ours, if higher */
		{ 3, CONF_INBOUND_LEARN,  0, 0, NEVER, 700, 6000, 6000 },
		{ 4, CONF_INBOUND_STRICT, 0, 5000, 50, 700, 4000, 6400 },        /* + X * M_in */
		{ 5, CONF_INBOUND_STRICT, 0, 5000, 50, 0, 4000, 5200 },          /* + X * M_min */
		{ 6, CONF_INBOUND_STRICT, 0, 5000, 250, 700, 4000, 9200 },       /* k = 3 */
		{ 7, CONF_INBOUND_STRICT, 0, 5000, 50, 700, 9000, 9000 },        /* never below ours */
		{ 8, CONF_INBOUND_STRICT, 0, 0, NEVER, 700, 6000, 7400 },        /* no S_0: from ours */
		{ 9, CONF_INBOUND_STRICT, 0, C32 - 10, 50, 700, 0, C32 },        /* clamped: 32 bits */
		{ 10, CONF_INBOUND_STRICT, SA_F_ESN, C32 - 10, 50, 700, 0, C32 + 1390 },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct promote_params p;
		struct promote_sa sa = { .flags = rows[i].flags, .in_s0 = rows[i].in_s0,
					 .s0_ms = rows[i].age == NEVER ? 0 : NOW - rows[i].age,
					 .m_peak_in = (uint32_t)rows[i].m_in };
		uint64_t got;

		params(&p, SEED, rows[i].policy);
		got = promote_inbound_top(&p, &sa, rows[i].top);
		if (got != rows[i].want)
			fail_msg("row %d: %llu, want %llu", rows[i].n, (unsigned long long)got,
				 (unsigned long long)rows[i].want);
	}
}

/* gwd's restart against the real window: what is at or below the restart
 * point is refused, what is above is taken, the flag is consumed. */
static void test_replay_restart(void **state)
{
	struct child_sa_rec *r = sa_child_rec_new();
	struct promote_params p;
	uint64_t s;

	assert_non_null(r);
	r->replay_window = 64;
	/* what the standby's window looked like: top raised by syncd, bitmap
	 * empty (sync_merge_top moves only the top) */
	r->replay.top = 5000;
	r->in_s0 = 5000;
	r->s0_ms = NOW - 50;
	r->m_peak_in = 700;
	atomic_store(&r->flags, SA_F_REPLAY_RESET);

	params(&p, SEED, CONF_INBOUND_LEARN);
	promote_replay_restart(&p, r);
	assert_int_equal(atomic_load(&r->flags) & SA_F_REPLAY_RESET, 0);
	assert_int_equal(r->replay.top, 5000);
	for (s = 4937; s <= 5000; s++) /* inside the window: counted as seen */
		assert_int_equal(replay_check(&r->replay, 64, s), REPLAY_DUP);
	assert_int_equal(replay_check(&r->replay, 64, 4936), REPLAY_OLD);
	for (s = 5001; s <= 5100; s++) /* learn: the exposure, once each */
		assert_int_equal(replay_check(&r->replay, 64, s), REPLAY_OK);
	replay_update(&r->replay, 64, 5050);
	assert_int_equal(replay_check(&r->replay, 64, 5050), REPLAY_DUP);

	/* strict: nothing up to S_0 + X * M_in is taken */
	memset(&r->replay, 0, sizeof(r->replay));
	r->replay.top = 5000;
	atomic_store(&r->flags, SA_F_REPLAY_RESET | SA_F_ESN);
	params(&p, SEED, CONF_INBOUND_STRICT);
	promote_replay_restart(&p, r);
	assert_int_equal(atomic_load(&r->flags), SA_F_ESN);
	assert_int_equal(r->replay.top, 6400);
	for (s = 5001; s <= 6400; s++)
		assert_int_not_equal(replay_check(&r->replay, 64, s), REPLAY_OK);
	assert_int_equal(replay_check(&r->replay, 64, 6401), REPLAY_OK);
	free(r);
}

/* --- the histogram behind the median --- */

static void test_hist(void **state)
{
	uint64_t v, prev = 0;
	uint32_t b, last = 0;

	for (v = 0; v < 64; v++) /* exact where it is small */
		assert_int_equal(promote_hist_value(promote_hist_bucket(v)), v);
	for (b = 0; b < PROMOTE_HIST_BUCKETS; b++) {
		uint64_t mid = promote_hist_value(b);

		if (b && b < 1920) {
			assert_true(mid > prev);
			assert_int_equal(promote_hist_bucket(mid), b);
		}
		prev = mid;
	}
	for (int i = 0; i < 100000; i++) {
		uint64_t x = rnd() >> (rnd() % 64), mid;

		b = promote_hist_bucket(x);
		assert_true(b < PROMOTE_HIST_BUCKETS);
		mid = promote_hist_value(b);
		/* within 1/32 of the value */
		assert_true((x > mid ? x - mid : mid - x) <= x / 32 + 1);
	}
	assert_int_equal(promote_hist_bucket(UINT64_MAX), 1919);
	for (v = 1; v; v <<= 1) { /* monotonic */
		assert_true(promote_hist_bucket(v) >= last);
		last = promote_hist_bucket(v);
	}
}

/* --- whole promotions on a real table --- */

static int setup(void **state)
{
	static struct sa_table t;

	log_init("test_promote", 1, 0);
	snprintf(shm, sizeof(shm), "/hagw-test-promote-%d", (int)getpid());
	sa_table_unlink(shm);
	if (sa_table_create(&t, shm, 3, 16, 4) < 0)
		return -1;
	*state = &t;
	return 0;
}

static int teardown(void **state)
{
	sa_table_detach(*state);
	sa_table_unlink(shm);
	return 0;
}

/* Empties the table between tests. */
static void reset(struct sa_table *t)
{
	uint32_t i;

	sa_table_lock(t);
	for (i = 0; i < t->hdr->child_capacity; i++)
		if (t->child[i].state != SA_STATE_FREE)
			sa_table_free_child(t, i);
	for (i = 0; i < t->hdr->ike_capacity; i++)
		if (t->ike[i].state != SA_STATE_FREE)
			sa_table_free_ike(t, i);
	sa_table_unlock(t);
	atomic_store(&t->hdr->role, SA_ROLE_STANDBY);
	promote_release(t);
}

/* A synced SA as a standby's syncd leaves it. */
static int add_child(struct sa_table *t, uint32_t state, uint32_t flags, uint64_t s0,
		     uint64_t age_ms, uint32_t m)
{
	int idx;

	sa_table_lock(t);
	idx = sa_table_alloc_child(t);
	if (idx >= 0) {
		struct child_sa_rec *r = &t->child[idx];

		atomic_store(&r->flags, flags);
		atomic_store(&r->out_seq, s0);
		r->s0 = s0;
		r->s0_ms = age_ms == NEVER ? 0 : now_ms() - age_ms;
		r->in_s0 = s0 / 2;
		r->replay.top = s0 / 2;
		r->m_peak = m;
		r->m_peak_in = m;
		r->replay_window = 64;
		r->spi_in = 0x1000u + (uint32_t)idx;
		r->spi_out = 0x2000u + (uint32_t)idx;
		if (state != SA_STATE_LARVAL)
			sa_table_publish_child(t, (uint32_t)idx);
		if (state == SA_STATE_REKEYED)
			r->state = SA_STATE_REKEYED;
	}
	sa_table_unlock(t);
	return idx;
}

static int add_ike(struct sa_table *t, uint32_t flags)
{
	int idx;

	sa_table_lock(t);
	idx = sa_table_alloc_ike(t);
	if (idx >= 0) {
		t->ike[idx].flags = flags;
		sa_table_publish_ike(t, (uint32_t)idx);
	}
	sa_table_unlock(t);
	return idx;
}

/* One promotion of a mixed table: every step's effect on the records and
 * the report that gwctl shows. */
static void test_prepare(void **state)
{
	struct sa_table *t = *state;
	struct promote_report r;
	struct failover_status st;
	struct config c;
	uint64_t thr0 = sa_ctr_get(t, CTR_sn_threshold_crossings);
	uint64_t blk0 = sa_ctr_get(t, CTR_sn_blocked), epoch0 = atomic_load(&t->hdr->epoch);
	int a, b, near, past, man, never, rekeyed, larval, ike1, ike2;

	reset(t);
	load_cfg(&c, "x = 2.0\nm_min = 100\n");
	a = add_child(t, SA_STATE_INSTALLED, 0, 1000, 10, 500);           /* +1000 */
	b = add_child(t, SA_STATE_INSTALLED, SA_F_ESN, 1ull << 40, 10, 20); /* +200 (M_min) */
	near = add_child(t, SA_STATE_INSTALLED, 0, 4080218000u, 10, 1000); /* threshold */
	past = add_child(t, SA_STATE_INSTALLED, 0, C32 - 100, 10, 1000);   /* ceiling */
	man = add_child(t, SA_STATE_INSTALLED, SA_F_MANUAL, C32 - 100, 10, 1000);
	never = add_child(t, SA_STATE_INSTALLED, 0, 7000, NEVER, 0);       /* +200 */
	rekeyed = add_child(t, SA_STATE_REKEYED, 0, 3000, 10, 0);
	larval = add_child(t, SA_STATE_LARVAL, 0, 3000, 10, 0);
	ike1 = add_ike(t, IKE_F_PEER_MSGID_SYNC);
	ike2 = add_ike(t, 0);
	assert_true(a >= 0 && b >= 0 && near >= 0 && past >= 0 && man >= 0 && never >= 0 &&
		    rekeyed >= 0 && larval >= 0 && ike1 >= 0 && ike2 >= 0);
	atomic_store(&t->child[b].activation, 41);

	assert_int_equal(promote_prepare(t, &c, "master down timer expired", &r), 0);
	assert_int_equal(atomic_load(&t->hdr->sync_frozen), 1);
	assert_int_equal(atomic_load(&t->hdr->role), SA_ROLE_STANDBY); /* not yet */
	assert_int_equal(failover_status_read(t, &st), 0);
	assert_true(st.epoch_new == FAILOVER_EPOCH_PENDING);
	assert_int_equal(promote_activate(t, &r), epoch0 + 1);
	assert_int_equal(atomic_load(&t->hdr->role), SA_ROLE_ACTIVE);

	/* 2: seeded */
	assert_int_equal(atomic_load(&t->child[a].out_seq), 2000);
	assert_true(atomic_load(&t->child[b].out_seq) == (1ull << 40) + 200);
	assert_int_equal(atomic_load(&t->child[never].out_seq), 7200);
	assert_int_equal(atomic_load(&t->child[rekeyed].out_seq), 3000); /* sends nothing */
	/* 3: the ceiling */
	assert_int_equal(atomic_load(&t->child[near].flags),
			 SA_F_REKEY_NEEDED | SA_F_THRESHOLD | SA_F_REPLAY_RESET);
	assert_int_equal(atomic_load(&t->child[past].flags),
			 SA_F_REKEY_NEEDED | SA_F_THRESHOLD | SA_F_BLOCKED | SA_F_REPLAY_RESET);
	assert_true(atomic_load(&t->child[past].out_seq) == C32);
	assert_int_equal(atomic_load(&t->child[man].flags), SA_F_MANUAL | SA_F_REKEY_NEEDED |
			 SA_F_THRESHOLD | SA_F_BLOCKED | SA_F_REPLAY_RESET);
	/* 4: every receiving SA restarts its window; the larval one is not ours yet */
	assert_int_equal(atomic_load(&t->child[a].flags), SA_F_REPLAY_RESET);
	assert_int_equal(atomic_load(&t->child[rekeyed].flags), SA_F_REPLAY_RESET);
	assert_int_equal(atomic_load(&t->child[larval].flags), 0);
	/* 5 */
	assert_int_equal(t->ike[ike1].flags, IKE_F_PEER_MSGID_SYNC | IKE_F_MSGID_SYNC_NEEDED);
	assert_int_equal(t->ike[ike2].flags, 0);
	/* 6 */
	assert_int_equal(atomic_load(&t->child[a].activation), 1);
	assert_int_equal(atomic_load(&t->child[b].activation), 42);
	assert_int_equal(atomic_load(&t->child[rekeyed].activation), 0);
	assert_int_equal(atomic_load(&t->child[larval].activation), 0);

	/* the report */
	assert_int_equal(failover_status_read(t, &st), 0);
	assert_int_equal(st.version, FAILOVER_STATUS_VERSION);
	assert_string_equal(st.reason, "master down timer expired");
	assert_int_equal(st.member_id, 3);
	assert_true(st.epoch_prev == epoch0 && st.epoch_new == epoch0 + 1);
	assert_int_equal(st.strategy, CONF_FAILOVER_SEED);
	assert_int_equal(st.x_milli, 2000);
	assert_int_equal(st.m_min, 100);
	assert_int_equal(st.scanned, 16);
	assert_int_equal(st.child_sas, 6);
	assert_int_equal(st.inbound_restart, 7);
	assert_int_equal(st.seeded, 6);
	assert_int_equal(st.advance_max, 2000);
	/* 100 100 200 200 1000 2000: the bucket 200..203, by its midpoint */
	assert_int_equal(st.advance_median, 201);
	assert_int_equal(st.rekey_queued, 2);      /* near, past */
	assert_int_equal(st.rekey_new, 2);
	assert_int_equal(st.blocked, 2);           /* past, man */
	assert_int_equal(st.cannot_rekey, 1);
	assert_int_equal(st.never_synced, 1);
	assert_int_equal(st.ike_sas, 2);
	assert_int_equal(st.ike_msgid_sync, 1);
	assert_int_equal(st.ike_no_msgid_sync, 1);
	assert_true(st.duration_us >= st.scan_us);
	assert_int_equal(sa_ctr_get(t, CTR_sn_threshold_crossings) - thr0, 3);
	assert_int_equal(sa_ctr_get(t, CTR_sn_blocked) - blk0, 2);

	/* gwd's rekey counters: zero for a new promotion, kept by its second
	 * publish */
	failover_status_rekey_started(t);
	failover_status_rekey_result(t, 1);
	failover_status_rekey_result(t, 0);
	failover_status_publish(t, &r.st);
	assert_int_equal(failover_status_read(t, &st), 0);
	assert_true(st.rekeys_started == 1 && st.rekeys_done == 1 && st.rekeys_failed == 1);
	config_free(&c);
}

/* Back to back: promoted again with no sync in between (reference 000's
 * conclusion). The counters only move forward, the activation moves each
 * time, nothing is counted twice. */
static void test_back_to_back(void **state)
{
	struct sa_table *t = *state;
	struct promote_report r;
	struct config c;
	uint64_t first, thr;
	int a, near;

	reset(t);
	load_cfg(&c, "x = 2.0\nm_min = 100\n");
	a = add_child(t, SA_STATE_INSTALLED, 0, 1000, 10, 500);
	near = add_child(t, SA_STATE_INSTALLED, 0, 4080218000u, 10, 1000);
	promote_prepare(t, &c, "first", &r);
	promote_activate(t, &r);
	first = atomic_load(&t->child[a].out_seq);
	assert_int_equal(first, 2000);
	/* it sent 300 packets as the active, then lost the role and got it back */
	atomic_store(&t->child[a].out_seq, first + 300);
	atomic_store(&t->hdr->role, SA_ROLE_STANDBY);
	promote_release(t);
	thr = sa_ctr_get(t, CTR_sn_threshold_crossings);
	promote_prepare(t, &c, "second", &r);
	promote_activate(t, &r);
	assert_int_equal(atomic_load(&t->child[a].out_seq), first + 300); /* not back to S_n */
	assert_int_equal(r.st.seeded, 0);
	assert_int_equal(atomic_load(&t->child[a].activation), 2);
	assert_int_equal(atomic_load(&t->child[near].activation), 2);
	assert_int_equal(r.st.rekey_queued, 1);
	assert_int_equal(r.st.rekey_new, 0);
	assert_int_equal(sa_ctr_get(t, CTR_sn_threshold_crossings), thr);
	assert_int_equal(r.st.count >= 2, 1);
	/* and a third with a new S_0 from the sync stream: forward again */
	t->child[a].s0 = first + 300;
	t->child[a].s0_ms = now_ms();
	atomic_store(&t->hdr->role, SA_ROLE_STANDBY);
	promote_prepare(t, &c, "third", &r);
	promote_activate(t, &r);
	assert_int_equal(atomic_load(&t->child[a].out_seq), first + 300 + 1000);
	assert_int_equal(atomic_load(&t->child[a].activation), 3);
	config_free(&c);
}

/* The strategies on one table: what each does to the counters and the
 * rekey queue. */
static void test_strategies(void **state)
{
	static const struct {
		const char *cfg;
		uint64_t out_a, queued, cannot, seeded;
	} rows[] = {
		{ "strategy = seed\n", 2000, 1, 0, 3 },
		{ "strategy = none\n", 1000, 1, 0, 0 },
		{ "strategy = global-rekey\n", 1000, 2, 1, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct sa_table *t = *state;
		struct promote_report r;
		struct config c;
		char text[128];
		int a;

		reset(t);
		snprintf(text, sizeof(text), "%sx = 2.0\nm_min = 100\n", rows[i].cfg);
		load_cfg(&c, text);
		a = add_child(t, SA_STATE_INSTALLED, 0, 1000, 10, 500);
		add_child(t, SA_STATE_INSTALLED, 0, T32, 10, 500);
		add_child(t, SA_STATE_INSTALLED, SA_F_MANUAL, 5000, 10, 500);
		promote_prepare(t, &c, "strategy", &r);
		promote_activate(t, &r);
		if (atomic_load(&t->child[a].out_seq) != rows[i].out_a || r.st.rekey_queued != rows[i].queued ||
		    r.st.cannot_rekey != rows[i].cannot || r.st.seeded != rows[i].seeded)
			fail_msg("%s: out %llu queued %llu cannot %llu seeded %llu", rows[i].cfg,
				 (unsigned long long)atomic_load(&t->child[a].out_seq),
				 (unsigned long long)r.st.rekey_queued,
				 (unsigned long long)r.st.cannot_rekey, (unsigned long long)r.st.seeded);
		config_free(&c);
	}
}

/* The median never exceeds the largest advance: every SA here advances by
 * 2048 (X 2, M 1024), whose histogram bucket has its midpoint above 2048. */
static void test_median_within_max(void **state)
{
	struct sa_table *t = *state;
	struct promote_report r;
	struct config c;

	reset(t);
	load_cfg(&c, "x = 2.0\nm_min = 1024\n");
	add_child(t, SA_STATE_INSTALLED, 0, 1000, 10, 1024);
	add_child(t, SA_STATE_INSTALLED, 0, 5000, 10, 1024);
	assert_int_equal(promote_prepare(t, &c, "median", &r), 0);
	promote_activate(t, &r);
	assert_int_equal(r.st.advance_max, 2048);
	assert_int_equal(r.st.advance_median, 2048);
	config_free(&c);
}

/* Nothing to do: an empty table is read once and nothing is written. */
static void test_nothing_to_do(void **state)
{
	struct sa_table *t = *state;
	struct promote_report r;
	struct config c;
	uint64_t thr = sa_ctr_get(t, CTR_sn_threshold_crossings);
	uint32_t i, before[16];

	reset(t);
	load_cfg(&c, "");
	for (i = 0; i < 16; i++)
		before[i] = atomic_load(&t->child[i].flags);
	assert_int_equal(promote_prepare(t, &c, "empty", &r), 0);
	promote_activate(t, &r);
	assert_int_equal(r.st.scanned, 16);
	assert_true(r.st.child_sas == 0 && r.st.inbound_restart == 0 && r.st.seeded == 0 &&
		    r.st.rekey_queued == 0 && r.st.blocked == 0 && r.st.ike_sas == 0);
	assert_int_equal(r.st.advance_median, 0);
	assert_int_equal(sa_ctr_get(t, CTR_sn_threshold_crossings), thr);
	for (i = 0; i < 16; i++) /* free slots: not written */
		assert_int_equal(atomic_load(&t->child[i].flags), before[i]);
	assert_true(r.st.scan_us < 20000); /* 16 slots; generous for a loaded machine */
	config_free(&c);
}

/* gwd's cache of the last promotion's parameters follows the block. */
static void test_params_cached(void **state)
{
	struct sa_table *t = *state;
	struct promote_params_cache pc = { 0 };
	struct promote_report r;
	struct config c;

	reset(t);
	load_cfg(&c, "inbound = strict\nx = 2.5\n");
	promote_prepare(t, &c, "cache", &r);
	assert_int_equal(promote_params_cached(t, &pc)->inbound, CONF_INBOUND_STRICT);
	assert_int_equal(promote_params_cached(t, &pc)->seed.x_milli, 2500);
	assert_true(promote_params_cached(t, &pc)->now_ms == r.st.mono_ms);
	config_free(&c);
	load_cfg(&c, "inbound = learn\n");
	atomic_store(&t->hdr->role, SA_ROLE_STANDBY);
	promote_prepare(t, &c, "cache", &r);
	assert_int_equal(promote_params_cached(t, &pc)->inbound, CONF_INBOUND_LEARN);
	config_free(&c);
}

static void test_status_block(void **state)
{
	struct sa_table *t = *state;
	struct vrrp_status s, got;
	struct failover_status f;

	assert_int_equal(vrrp_status_read(t, &got), 0);
	assert_int_equal(got.version, 0); /* never written */
	memset(&s, 0, sizeof(s));
	s.version = VRRP_STATUS_VERSION;
	s.state = 2;
	s.vrid = 51;
	s.master_addr = 0xc0a83201;
	s.to_master = 3;
	snprintf(s.reason, sizeof(s.reason), "master down timer expired");
	vrrp_status_publish(t, &s);
	assert_int_equal(vrrp_status_read(t, &got), 0);
	assert_int_equal(atomic_load(&got.seq) & 1, 0);
	assert_memory_equal((uint8_t *)&got + 4, (uint8_t *)&s + 4, sizeof(s) - 4);
	assert_string_equal(vrrp_status_state_name(got.state), "MASTER");
	/* a writer caught in the middle: the reader gives up, never half */
	atomic_fetch_add(&((struct vrrp_status *)(void *)t->hdr->vrrp_status)->seq, 1);
	assert_int_equal(vrrp_status_read(t, &got), -EAGAIN);
	atomic_fetch_add(&((struct failover_status *)(void *)t->hdr->failover_status)->seq, 1);
	assert_int_equal(failover_status_read(t, &f), -EAGAIN);
	atomic_fetch_add(&((struct failover_status *)(void *)t->hdr->failover_status)->seq, 1);
	assert_int_equal(failover_status_read(t, &f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide_rows),
		cmocka_unit_test(test_decide_matches_seed),
		cmocka_unit_test(test_inbound_top_rows),
		cmocka_unit_test(test_replay_restart),
		cmocka_unit_test(test_hist),
		cmocka_unit_test(test_prepare),
		cmocka_unit_test(test_back_to_back),
		cmocka_unit_test(test_strategies),
		cmocka_unit_test(test_median_within_max),
		cmocka_unit_test(test_nothing_to_do),
		cmocka_unit_test(test_params_cached),
		cmocka_unit_test(test_status_block),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
