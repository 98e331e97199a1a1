/* The sync channel (syncd/chan.h): the PSK handshake both ways, a wrong
 * key refused by both ends, frames that are replayed, reordered, flipped,
 * cut or too long. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../syncd/chan.h"

static uint8_t psk[SYNC_PSK_LEN], other[SYNC_PSK_LEN];

static void pair(struct sync_chan *i, struct sync_chan *r, const uint8_t *psk_i,
		 const uint8_t *psk_r, int *rc_i, int *rc_r)
{
	uint8_t ni[32], nr[32], hi[SYNC_HS1_LEN], hr[SYNC_HS1_LEN], mi[32], mr[32];

	randombytes_buf(ni, sizeof(ni));
	randombytes_buf(nr, sizeof(nr));
	sync_chan_init(i, psk_i, 1, ni, hi);
	sync_chan_init(r, psk_r, 0, nr, hr);
	assert_int_equal(sync_chan_want(i), SYNC_HS1_LEN);
	assert_int_equal(sync_chan_on_hs1(i, hr, mi), 0);
	assert_int_equal(sync_chan_on_hs1(r, hi, mr), 0);
	assert_int_equal(sync_chan_want(i), SYNC_HS2_LEN);
	*rc_i = sync_chan_on_hs2(i, mr);
	*rc_r = sync_chan_on_hs2(r, mi);
}

static void test_handshake(void **state)
{
	struct sync_chan i, r;
	int a, b;

	pair(&i, &r, psk, psk, &a, &b);
	assert_int_equal(a, 0);
	assert_int_equal(b, 0);
	assert_int_equal(i.state, CHAN_OPEN);
	assert_int_equal(sync_chan_want(&i), 0);
	/* the directions have different keys */
	assert_memory_not_equal(i.k_tx, i.k_rx, 32);
	assert_memory_equal(i.k_tx, r.k_rx, 32);
}

static void test_wrong_key(void **state)
{
	struct sync_chan i, r;
	uint8_t f[128], m[8] = "secrets";
	int a, b;

	pair(&i, &r, psk, other, &a, &b);
	assert_int_equal(a, -EACCES);
	assert_int_equal(b, -EACCES);
	/* a refused channel seals and opens nothing */
	assert_true(sync_chan_seal(&i, m, sizeof(m), f, sizeof(f)) < 0);
	assert_true(sync_chan_open(&r, f, 4 + 8 + SYNC_TAG_LEN, m) < 0);
}

static void test_reflection(void **state)
{
	/* an attacker who echoes our own HS1 and HS2 back does not get in */
	struct sync_chan r;
	uint8_t n[32], h[SYNC_HS1_LEN], mac[32];

	randombytes_buf(n, sizeof(n));
	sync_chan_init(&r, psk, 0, n, h);
	assert_int_equal(sync_chan_on_hs1(&r, h, mac), 0);
	assert_int_equal(sync_chan_on_hs2(&r, mac), -EACCES);
}

static void test_bad_magic(void **state)
{
	struct sync_chan r;
	uint8_t n[32] = { 0 }, h[SYNC_HS1_LEN], mac[32];

	sync_chan_init(&r, psk, 0, n, h);
	h[0] = 'X';
	assert_int_equal(sync_chan_on_hs1(&r, h, mac), -EPROTO);
	assert_int_equal(r.state, CHAN_FAILED);
}

static void open_pair(struct sync_chan *i, struct sync_chan *r)
{
	int a, b;

	pair(i, r, psk, psk, &a, &b);
	assert_int_equal(a | b, 0);
}

static void test_frames(void **state)
{
	struct sync_chan i, r;
	uint8_t f1[256], f2[256], out[SYNC_MSG_MAX];
	int n1, n2;

	open_pair(&i, &r);
	n1 = sync_chan_seal(&i, (const uint8_t *)"hello", 5, f1, sizeof(f1));
	n2 = sync_chan_seal(&i, (const uint8_t *)"world", 5, f2, sizeof(f2));
	assert_int_equal(n1, 4 + 5 + SYNC_TAG_LEN);
	assert_int_equal(sync_chan_frame_len(f1), n1);
	/* reordered: frame 2 first fails (its number is not the one expected) */
	assert_int_equal(sync_chan_open(&r, f2, (size_t)n2, out), -EBADMSG);
	open_pair(&i, &r);
	n1 = sync_chan_seal(&i, (const uint8_t *)"hello", 5, f1, sizeof(f1));
	assert_int_equal(sync_chan_open(&r, f1, (size_t)n1, out), 5);
	assert_memory_equal(out, "hello", 5);
	/* replayed: the same frame again fails */
	assert_int_equal(sync_chan_open(&r, f1, (size_t)n1, out), -EBADMSG);
	/* our own frames do not open in our direction (reflection) */
	open_pair(&i, &r);
	n1 = sync_chan_seal(&i, (const uint8_t *)"x", 1, f1, sizeof(f1));
	assert_int_equal(sync_chan_open(&i, f1, (size_t)n1, out), -EBADMSG);
}

static void test_flips_and_cuts(void **state)
{
	struct sync_chan i, r;
	uint8_t f[64], g[64], out[SYNC_MSG_MAX];
	int n;

	for (int bit = 0; bit < (4 + 8 + 16) * 8; bit++) {
		open_pair(&i, &r);
		n = sync_chan_seal(&i, (const uint8_t *)"12345678", 8, f, sizeof(f));
		memcpy(g, f, (size_t)n);
		g[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_true(sync_chan_open(&r, g, (size_t)n, out) < 0);
	}
	open_pair(&i, &r);
	n = sync_chan_seal(&i, (const uint8_t *)"12345678", 8, f, sizeof(f));
	for (int len = 0; len < n; len++)
		assert_true(sync_chan_open(&r, f, (size_t)len, out) < 0);
	assert_int_equal(sync_chan_open(&r, f, (size_t)n, out), 8);
}

static void test_lengths(void **state)
{
	struct sync_chan i, r;
	uint8_t hdr[4] = { 0x7f, 0xff, 0xff, 0xff }, small[8];
	static uint8_t big[SYNC_MSG_MAX + 64];

	assert_int_equal(sync_chan_frame_len(hdr), -EMSGSIZE);
	hdr[0] = 0;
	hdr[1] = (uint8_t)((SYNC_FRAME_MAX + 1) >> 16);
	hdr[2] = (uint8_t)((SYNC_FRAME_MAX + 1) >> 8);
	hdr[3] = (uint8_t)(SYNC_FRAME_MAX + 1);
	assert_int_equal(sync_chan_frame_len(hdr), -EMSGSIZE);
	memset(hdr, 0, 4);
	hdr[3] = 15; /* shorter than a tag */
	assert_int_equal(sync_chan_frame_len(hdr), -EBADMSG);
	open_pair(&i, &r);
	assert_int_equal(sync_chan_seal(&i, big, SYNC_MSG_MAX + 1, big, sizeof(big)), -EMSGSIZE);
	assert_int_equal(sync_chan_seal(&i, big, 8, small, sizeof(small)), -ENOSPC);
}

static int setup(void **state)
{
	if (sodium_init() < 0)
		return -1;
	randombytes_buf(psk, sizeof(psk));
	memcpy(other, psk, sizeof(psk));
	other[31] ^= 1; /* one bit off */
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_reflection),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_flips_and_cuts),
		cmocka_unit_test(test_lengths),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
