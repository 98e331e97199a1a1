/* Monotonic merge (syncd/merge.h): a counter, message ID or activation
 * never goes down, and a lower value is reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../syncd/merge.h"

static const struct {
	uint64_t have, incoming, want;
	int backwards;
} rows64[] = {
	/*  have          incoming       result        refused */
	{ 0, 0, 0, 0 },
	{ 0, 1, 1, 0 },
	{ 100, 100, 100, 0 },          /* the same value again: nothing to say */
	{ 100, 99, 100, 1 },           /* one back */
	{ 100, 0, 100, 1 },
	{ 100, 1ull << 32, 1ull << 32, 0 },
	{ UINT64_MAX - 1, UINT64_MAX, UINT64_MAX, 0 },
	{ UINT64_MAX, 0, UINT64_MAX, 1 },
};

static void test_u64_rows(void **state)
{
	for (size_t i = 0; i < sizeof(rows64) / sizeof(rows64[0]); i++) {
		_Atomic uint64_t v = rows64[i].have;
		int b = sync_merge_u64(&v, rows64[i].incoming);

		if (atomic_load(&v) != rows64[i].want || b != rows64[i].backwards)
			fail_msg("row %zu: got %llu/%d", i, (unsigned long long)atomic_load(&v), b);
	}
}

static void test_u32_and_top(void **state)
{
	_Atomic uint32_t m = 5;
	struct sa_replay r = { .top = 1000 };

	assert_int_equal(sync_merge_u32(&m, 4), 1);
	assert_int_equal(atomic_load(&m), 5);
	assert_int_equal(sync_merge_u32(&m, UINT32_MAX), 0);
	assert_int_equal(atomic_load(&m), UINT32_MAX);
	assert_int_equal(sync_merge_top(&r, 999), 1);
	assert_int_equal(r.top, 1000);
	assert_int_equal(sync_merge_top(&r, 1500), 0);
	assert_int_equal(r.top, 1500);
}

static struct sync_child msg(void)
{
	struct sync_child m;

	memset(&m, 0, sizeof(m));
	strcpy(m.name, "x");
	m.spi_in = 0x1000;
	m.spi_out = 0x2000;
	m.alg = SA_ALG_AES_GCM_16_256;
	m.state = SA_STATE_INSTALLED;
	memset(&m.key_in, 0x11, sizeof(m.key_in));
	memset(&m.key_out, 0x22, sizeof(m.key_out));
	m.ts_local_addr = 0x0a020000;
	m.ts_local_plen = 16;
	m.ts_remote_addr = 0x0a010000;
	m.ts_remote_plen = 16;
	return m;
}

/* The standby's record: a counter sequence from the peer, some going back. */
static void test_child_counters(void **state)
{
	struct child_sa_rec *r = sa_child_rec_new();
	struct sync_child m = msg();
	static const struct {
		uint64_t out, in, want_out, want_in;
		int backwards;
	} seq[] = {
		{ 10, 5, 10, 5, 0 },
		{ 20, 5, 20, 5, 0 },
		{ 15, 6, 20, 6, 1 },   /* outbound went back: kept at 20 */
		{ 25, 4, 25, 6, 1 },   /* inbound went back */
		{ 1, 1, 25, 6, 2 },    /* both */
		{ 30, 30, 30, 30, 0 },
	};

	m.out_seq = 10;
	m.in_top = 5;
	assert_int_equal(sync_merge_child(r, &m, 0), 0);
	assert_true(sync_child_same(r, &m));
	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		int b = sync_merge_counters(r, seq[i].out, seq[i].in);

		if (b != seq[i].backwards || atomic_load(&r->out_seq) != seq[i].want_out ||
		    r->replay.top != seq[i].want_in)
			fail_msg("step %zu: back %d out %llu in %llu", i, b,
				 (unsigned long long)atomic_load(&r->out_seq),
				 (unsigned long long)r->replay.top);
	}
	/* a full record with lower counters keeps ours, takes the rest */
	m.out_seq = 3;
	m.in_top = 100;
	m.activation = 2;
	m.ts_remote_plen = 24;
	m.ts_remote_addr = 0x0a010100;
	assert_int_equal(sync_merge_child(r, &m, 7), 1);
	assert_int_equal(atomic_load(&r->out_seq), 30);
	assert_int_equal(r->replay.top, 100);
	assert_int_equal(r->ts_remote.plen, 24);
	assert_int_equal(r->ike_idx, 7);
	assert_int_equal(atomic_load(&r->activation), 2);
	m.activation = 1;
	sync_merge_child(r, &m, 7);
	assert_int_equal(atomic_load(&r->activation), 2); /* activation never goes back */
	/* other keys: not the same SA */
	m.key_out.key[0] ^= 1;
	assert_false(sync_child_same(r, &m));
	free(r);
}

/* SA_F_LOCAL (the promotion's "restart the window here") describes one
 * member's copy: it is not sent, and what the peer sends does not clear or
 * set it. */
static void test_local_flags(void **state)
{
	struct child_sa_rec *r = sa_child_rec_new();
	struct sync_child m = msg(), out;

	m.flags = SA_F_ESN | SA_F_REPLAY_RESET;
	sync_merge_child(r, &m, 0);
	assert_int_equal(atomic_load(&r->flags), SA_F_ESN);
	atomic_store(&r->flags, SA_F_ESN | SA_F_REPLAY_RESET);
	m.flags = SA_F_ESN | SA_F_REKEY_NEEDED;
	sync_merge_child(r, &m, 0);
	assert_int_equal(atomic_load(&r->flags), SA_F_ESN | SA_F_REKEY_NEEDED | SA_F_REPLAY_RESET);
	sync_child_from_rec(&out, r, 1, 1, 0, 0);
	assert_int_equal(out.flags, SA_F_ESN | SA_F_REKEY_NEEDED);
	free(r);
}

static void test_child_valid(void **state)
{
	struct sync_child m = msg();

	assert_int_equal(sync_child_valid(&m), 0);
	m.ts_local_addr |= 1; /* host bits under a /16 */
	assert_int_not_equal(sync_child_valid(&m), 0);
	m = msg();
	m.out_seq = 1ull << 32; /* needs ESN */
	assert_int_not_equal(sync_child_valid(&m), 0);
	m.flags = SA_F_ESN;
	assert_int_equal(sync_child_valid(&m), 0);
}

static void test_ike_msgids(void **state)
{
	struct ike_sa_rec *r = calloc(1, sizeof(*r));
	struct sync_ike k;

	memset(&k, 0, sizeof(k));
	k.spi_i = 1;
	k.spi_r = 2;
	k.msgid_out = 5;
	k.msgid_in = 7;
	assert_int_equal(sync_merge_ike(r, &k), 0);
	assert_true(sync_ike_same(r, &k));
	assert_int_equal(sync_merge_msgids(r, 6, 7), 0);
	assert_int_equal(sync_merge_msgids(r, 4, 8), 1); /* out went back */
	assert_int_equal(atomic_load(&r->msgid_out), 6);
	assert_int_equal(atomic_load(&r->msgid_in), 8);
	k.msgid_out = 0;
	k.msgid_in = 0;
	assert_int_equal(sync_merge_ike(r, &k), 2);
	assert_int_equal(atomic_load(&r->msgid_out), 6);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64_rows),
		cmocka_unit_test(test_u32_and_top),
		cmocka_unit_test(test_child_counters),
		cmocka_unit_test(test_local_flags),
		cmocka_unit_test(test_child_valid),
		cmocka_unit_test(test_ike_msgids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
