/* ESP codec: published known-answer vectors (RFC 7634 Appendix A,
 * draft-mcgrew-gcm-test-01), round trips, IV construction, and bit-flip and
 * truncation loops that must all be rejected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "esp.h"
#include "esp_vectors.h"

static int kat_alg(const struct esp_kat *v)
{
	return v->alg == ESP_KAT_AES_GCM ? SA_ALG_AES_GCM_16_256 : SA_ALG_CHACHA20_POLY1305;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void kat_key(const struct esp_kat *v, struct esp_key *k)
{
	struct sa_keymat km;

	memcpy(km.key, v->key, SA_KEY_MAX);
	memcpy(km.salt, v->salt, SA_SALT_LEN);
	assert_int_equal(esp_key_init(k, kat_alg(v), &km), ESP_OK);
}

/* Decapsulating each published ESP packet must authenticate (this checks the
 * AAD with and without ESN and the nonce) and give the published plaintext. */
static void test_kat_decap(void **state)
{
	size_t i, checked = 0;

	for (i = 0; i < ESP_KATS_COUNT; i++) {
		const struct esp_kat *v = &esp_kats[i];
		uint8_t pkt[512];
		struct esp_key k;
		size_t inner = 0;
		uint32_t spi, lo;
		int rc;

		if (!v->esp_framed || !v->esp_packet)
			continue;
		kat_key(v, &k);
		memcpy(pkt, v->esp_packet, v->esp_packet_len);
		assert_int_equal(esp_peek(pkt, v->esp_packet_len, &spi, &lo), ESP_OK);
		assert_int_equal(spi, v->spi);
		assert_int_equal(lo, (uint32_t)v->seq);
		rc = esp_decap(&k, v->seq, v->esn, pkt, v->esp_packet_len, &inner);
		/* The draft's plaintexts carry next header 1: they authenticate,
		 * then fail our tunnel-mode next-header check. */
		if (v->pt[v->pt_len - 1] == ESP_NH_IPV4) {
			assert_int_equal(rc, ESP_OK);
			assert_int_equal(inner, v->pt_len - 2 - v->pt[v->pt_len - 2]);
		} else {
			assert_int_equal(rc, ESP_ENEXTHDR);
		}
		assert_memory_equal(pkt + ESP_PAYLOAD_OFF, v->pt, v->pt_len);
		checked++;
	}
	assert_true(checked >= 5);
}

/* Encapsulating RFC 7634's inner packet with its IV must give its packet
 * byte for byte (padding 1, 2, pad length, next header 4). */
static void test_kat_encap(void **state)
{
	size_t i, checked = 0;

	for (i = 0; i < ESP_KATS_COUNT; i++) {
		const struct esp_kat *v = &esp_kats[i];
		uint8_t buf[512];
		struct esp_key k;
		size_t inner;
		int n;

		if (!v->esp_framed || !v->esp_packet || v->pt[v->pt_len - 1] != ESP_NH_IPV4)
			continue;
		kat_key(v, &k);
		inner = v->pt_len - 2 - v->pt[v->pt_len - 2];
		memcpy(buf + ESP_PAYLOAD_OFF, v->pt, inner);
		n = esp_encap(&k, v->spi, v->seq, v->esn, be64(v->iv), buf, inner, sizeof(buf));
		assert_int_equal(n, (int)v->esp_packet_len);
		assert_memory_equal(buf, v->esp_packet, v->esp_packet_len);
		checked++;
	}
	assert_true(checked >= 1);
}

static size_t make_inner(uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + 3);
	p[0] = 0x45;
	return len;
}

static void roundtrip(int alg, int esn, uint64_t seq, size_t inner_len)
{
	struct sa_keymat km;
	struct esp_key k;
	uint8_t buf[2048], orig[2048];
	size_t out = 0;
	int n;

	randombytes_buf(&km, sizeof(km));
	assert_int_equal(esp_key_init(&k, alg, &km), ESP_OK);
	make_inner(orig, inner_len);
	memcpy(buf + ESP_PAYLOAD_OFF, orig, inner_len);
	n = esp_encap(&k, 0x1234, seq, esn, esp_iv_make(3, 9, seq), buf, inner_len, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal((n - ESP_PAYLOAD_OFF - ESP_ICV_LEN) % 4, 0); /* RFC 4303 2.4 */
	assert_int_equal(esp_decap(&k, seq, esn, buf, (size_t)n, &out), ESP_OK);
	assert_int_equal(out, inner_len);
	assert_memory_equal(buf + ESP_PAYLOAD_OFF, orig, inner_len);
}

static void test_roundtrip(void **state)
{
	static const size_t lens[] = { 20, 21, 22, 23, 24, 100, 1399, 1400 };
	static const uint64_t seqs[] = { 1, 0xffffffffull, 0x100000000ull, 0xfffffffffffull };
	size_t i, j;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		for (j = 0; j < sizeof(seqs) / sizeof(seqs[0]); j++) {
			roundtrip(SA_ALG_CHACHA20_POLY1305, seqs[j] > 0xffffffffull, seqs[j], lens[i]);
			if (esp_aes_available())
				roundtrip(SA_ALG_AES_GCM_16_256, seqs[j] > 0xffffffffull, seqs[j], lens[i]);
		}
}

/* With ESN the high half is authenticated although it is not sent: a
 * receiver that infers the wrong high half must fail the ICV. */
static void test_esn_high_bits_authenticated(void **state)
{
	struct sa_keymat km;
	struct esp_key k;
	uint8_t buf[256], copy[256];
	size_t out;
	int n;

	randombytes_buf(&km, sizeof(km));
	assert_int_equal(esp_key_init(&k, SA_ALG_CHACHA20_POLY1305, &km), ESP_OK);
	make_inner(buf + ESP_PAYLOAD_OFF, 40);
	n = esp_encap(&k, 7, 0x300000005ull, 1, 1, buf, 40, sizeof(buf));
	memcpy(copy, buf, (size_t)n);
	assert_int_equal(esp_decap(&k, 0x200000005ull, 1, buf, (size_t)n, &out), ESP_EAUTH);
	/* (a failed in-place decryption wipes the buffer: use the copy) */
	assert_int_equal(esp_decap(&k, 0x300000005ull, 1, copy, (size_t)n, &out), ESP_OK);
}

/* Every single-bit flip anywhere in the packet, and every truncation, is
 * rejected. */
static void flip_and_truncate(int alg)
{
	struct sa_keymat km;
	struct esp_key k;
	uint8_t good[256], buf[256];
	size_t out, i;
	int n, bit;

	randombytes_buf(&km, sizeof(km));
	assert_int_equal(esp_key_init(&k, alg, &km), ESP_OK);
	make_inner(good + ESP_PAYLOAD_OFF, 61);
	n = esp_encap(&k, 0xabcd, 77, 0, esp_iv_make(1, 1, 77), good, 61, sizeof(good));
	assert_true(n > 0);
	for (i = 0; i < (size_t)n; i++)
		for (bit = 0; bit < 8; bit++) {
			memcpy(buf, good, (size_t)n);
			buf[i] ^= (uint8_t)(1u << bit);
			/* seq given as the receiver would infer it from the header */
			uint64_t seq = (uint64_t)buf[4] << 24 | buf[5] << 16 | buf[6] << 8 | buf[7];
			if (esp_decap(&k, seq, 0, buf, (size_t)n, &out) != ESP_EAUTH)
				fail_msg("flip of byte %zu bit %d was not rejected", i, bit);
		}
	for (i = 0; i < (size_t)n; i++) {
		memcpy(buf, good, (size_t)n);
		int rc = esp_decap(&k, 77, 0, buf, i, &out);
		if (rc != ESP_ETRUNC && rc != ESP_EAUTH)
			fail_msg("truncation to %zu bytes: %s", i, esp_err_name(rc));
	}
	memcpy(buf, good, (size_t)n);
	assert_int_equal(esp_decap(&k, 77, 0, buf, (size_t)n, &out), ESP_OK);
}

static void test_flips_chacha(void **state) { flip_and_truncate(SA_ALG_CHACHA20_POLY1305); }

static void test_flips_aes(void **state)
{
	if (!esp_aes_available())
		skip();
	flip_and_truncate(SA_ALG_AES_GCM_16_256);
}

/* A trailer that authenticates but is wrong (RFC 4303 2.4-2.6) is refused:
 * build such packets by encrypting chosen payloads with the raw AEAD. */
static void test_bad_trailer(void **state)
{
	static const struct {
		uint8_t tail[4];
		int want;
	} rows[] = {
		{ { 0x01, 0x02, 0x02, 4 }, ESP_OK },        /* pad 1,2 len 2 */
		{ { 0x01, 0x03, 0x02, 4 }, ESP_EPAD },      /* pad byte wrong */
		{ { 0x00, 0x00, 0x02, 4 }, ESP_EPAD },      /* zero padding */
		{ { 0x00, 0x00, 0x00, 41 }, ESP_ENEXTHDR }, /* IPv6: not ours */
		{ { 0x00, 0x00, 0x00, 59 }, ESP_EDUMMY },   /* RFC 4303 2.6 dummy */
		{ { 0x00, 0x00, 0xff, 4 }, ESP_EPAD },      /* pad length past start */
	};
	struct sa_keymat km;
	struct esp_key k;
	size_t i;

	randombytes_buf(&km, sizeof(km));
	assert_int_equal(esp_key_init(&k, SA_ALG_CHACHA20_POLY1305, &km), ESP_OK);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint8_t pkt[64] = { 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 };
		uint8_t aad[8], nonce[12], *pt = pkt + ESP_PAYLOAD_OFF;
		size_t ptlen = 8, out;

		memcpy(aad, pkt, 8);
		memcpy(nonce, km.salt, 4);
		memcpy(nonce + 4, pkt + 8, 8);
		memset(pt, 0x45, 4);
		memcpy(pt + 4, rows[i].tail, 4);
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(pt, pt + ptlen, NULL, pt, ptlen, aad, 8,
								   NULL, nonce, km.key);
		assert_int_equal(esp_decap(&k, 1, 0, pkt, ESP_PAYLOAD_OFF + ptlen + ESP_ICV_LEN, &out),
				 rows[i].want);
	}
}

/* Nonce safety: distinct members, activations and sequence numbers give
 * distinct IVs; the layout is member(4) | activation(12) | seq(48). */
static void test_iv(void **state)
{
	assert_true(esp_iv_make(1, 0, 5) != esp_iv_make(2, 0, 5));
	assert_true(esp_iv_make(1, 0, 5) != esp_iv_make(1, 1, 5));
	assert_true(esp_iv_make(1, 1, 5) != esp_iv_make(1, 1, 6));
	assert_true(esp_iv_make(15, ESP_IV_MAX_ACT, ESP_IV_MAX_SEQ) == UINT64_MAX);
	assert_true(esp_iv_make(1, 2, 3) == (1ull << 60 | 2ull << 48 | 3));
	assert_false(esp_iv_exhausted(ESP_IV_MAX_ACT, ESP_IV_MAX_SEQ));
	assert_true(esp_iv_exhausted(ESP_IV_MAX_ACT + 1, 1));
	assert_true(esp_iv_exhausted(1, ESP_IV_MAX_SEQ + 1));
}

static void test_no_space(void **state)
{
	struct sa_keymat km = { 0 };
	struct esp_key k;
	uint8_t buf[128];

	assert_int_equal(esp_key_init(&k, SA_ALG_CHACHA20_POLY1305, &km), ESP_OK);
	assert_int_equal(esp_encap(&k, 1, 1, 0, 1, buf, 100, sizeof(buf)), ESP_ENOSPACE);
	assert_int_equal(esp_key_init(&k, 99, &km), ESP_EALG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat_decap),
		cmocka_unit_test(test_kat_encap),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_esn_high_bits_authenticated),
		cmocka_unit_test(test_flips_chacha),
		cmocka_unit_test(test_flips_aes),
		cmocka_unit_test(test_bad_trailer),
		cmocka_unit_test(test_iv),
		cmocka_unit_test(test_no_space),
	};

	if (esp_crypto_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("esp", tests, NULL, NULL);
}
