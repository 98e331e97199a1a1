/* IKEv2 crypto: SHA-1 (FIPS 180), HMAC-SHA2-256 (RFC 4231), prf+, and key
 * derivation against strongSwan's own numbers (ike_vectors.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "../gwd/ike_crypto.h"
#include "../gwd/ike_msg.h"
#include "../gwd/ike_sha1.h"
#include "ike_vectors.h"

static void hex2bin(const char *h, uint8_t *out, size_t n)
{
	size_t bin;

	assert_int_equal(sodium_hex2bin(out, n, h, strlen(h), NULL, &bin, NULL), 0);
	assert_int_equal(bin, n);
}

/* FIPS 180-2 appendix A and the long-message vector. */
static void test_sha1_fips(void **state)
{
	static const struct {
		const char *msg;
		const char *digest;
	} rows[] = {
		{ "abc", "a9993e364706816aba3e25717850c26c9cd0d89d" },
		{ "", "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
	};
	uint8_t out[20], want[20];
	struct ike_sha1 s;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ike_sha1(rows[i].msg, strlen(rows[i].msg), out);
		hex2bin(rows[i].digest, want, 20);
		assert_memory_equal(out, want, 20);
	}
	/* one million 'a', fed in uneven pieces to cross block edges */
	ike_sha1_init(&s);
	for (i = 0; i < 1000000;) {
		char a[77];
		size_t n = 1000000 - i < sizeof(a) ? 1000000 - i : sizeof(a);

		memset(a, 'a', sizeof(a));
		ike_sha1_update(&s, a, n);
		i += n;
	}
	ike_sha1_final(&s, out);
	hex2bin("34aa973cd4c4daa4f61eeb2bdbad27316534016f", want, 20);
	assert_memory_equal(out, want, 20);
}

/* RFC 4231 test cases 1 and 2 (HMAC-SHA-256). */
static void test_prf_rfc4231(void **state)
{
	uint8_t key[20], out[32], want[32];

	memset(key, 0x0b, sizeof(key));
	ike_prf3(key, 20, (const uint8_t *)"Hi There", 8, NULL, 0, NULL, 0, out);
	hex2bin("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", want, 32);
	assert_memory_equal(out, want, 32);
	/* the same data split over the three parts */
	ike_prf3((const uint8_t *)"Jefe", 4, (const uint8_t *)"what do ya want ", 16,
		 (const uint8_t *)"for ", 4, (const uint8_t *)"nothing?", 8, out);
	hex2bin("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want, 32);
	assert_memory_equal(out, want, 32);
}

/* RFC 7296 2.13 by its definition: T1 = prf(K, S|0x01), T2 = prf(K, T1|S|0x02). */
static void test_prfplus_structure(void **state)
{
	const uint8_t k[5] = "key!", s[7] = "seed..";
	uint8_t out[80], t1[32], t2[32], t3[32], b[64];

	assert_int_equal(ike_prfplus(k, 5, s, 7, out, sizeof(out)), 0);
	memcpy(b, s, 7);
	b[7] = 1;
	ike_prf3(k, 5, b, 8, NULL, 0, NULL, 0, t1);
	memcpy(b, t1, 32);
	memcpy(b + 32, s, 7);
	b[39] = 2;
	ike_prf3(k, 5, b, 40, NULL, 0, NULL, 0, t2);
	memcpy(b, t2, 32);
	b[39] = 3;
	ike_prf3(k, 5, b, 40, NULL, 0, NULL, 0, t3);
	assert_memory_equal(out, t1, 32);
	assert_memory_equal(out + 32, t2, 32);
	assert_memory_equal(out + 64, t3, 16);
	assert_int_equal(ike_prfplus(k, 5, s, 7, out, 255 * 32 + 1), -22);
}

static void test_ike_keys_strongswan(void **state)
{
	uint8_t skeyseed[32];
	struct ike_keys k;

	ike_skeyseed(kat_ni, sizeof(kat_ni), kat_nr, sizeof(kat_nr), kat_shared, skeyseed);
	assert_memory_equal(skeyseed, kat_skeyseed, 32);
	assert_int_equal(ike_derive_keys(skeyseed, kat_ni, sizeof(kat_ni), kat_nr, sizeof(kat_nr),
					 kat_spi_i, kat_spi_r, &k), 0);
	assert_memory_equal(k.sk_d, kat_sk_d, 32);
	assert_memory_equal(k.sk_ei, kat_sk_ei, 36);
	assert_memory_equal(k.sk_er, kat_sk_er, 36);
	assert_memory_equal(k.sk_pi, kat_sk_pi, 32);
	assert_memory_equal(k.sk_pr, kat_sk_pr, 32);
}

static void test_psk_auth_strongswan(void **state)
{
	static const char psk[] = "hagw-test-psk";
	uint8_t auth[32];

	/* initiator: its IKE_SA_INIT request, Nr, prf(SK_pi, IDi') */
	ike_psk_auth((const uint8_t *)psk, strlen(psk), kat_init_req, sizeof(kat_init_req), kat_nr,
		     sizeof(kat_nr), kat_sk_pi, kat_idi, sizeof(kat_idi), auth);
	assert_memory_equal(auth, kat_auth_i, 32);
	/* responder: the IKE_SA_INIT response, Ni, prf(SK_pr, IDr') */
	ike_psk_auth((const uint8_t *)psk, strlen(psk), kat_init_resp, sizeof(kat_init_resp),
		     kat_ni, sizeof(kat_ni), kat_sk_pr, kat_idr, sizeof(kat_idr), auth);
	assert_memory_equal(auth, kat_auth_r, 32);
	/* one byte of the PSK wrong: another AUTH */
	ike_psk_auth((const uint8_t *)"hagw-test-psK", 13, kat_init_req, sizeof(kat_init_req),
		     kat_nr, sizeof(kat_nr), kat_sk_pi, kat_idi, sizeof(kat_idi), auth);
	assert_memory_not_equal(auth, kat_auth_i, 32);
}

static void test_child_keymat_strongswan(void **state)
{
	uint8_t km[IKE_CHILD_KEYMAT_LEN];

	assert_int_equal(ike_child_keymat(kat_sk_d, NULL, kat_ni, sizeof(kat_ni), kat_nr,
					  sizeof(kat_nr), km), 0);
	assert_memory_equal(km, kat_child_key_i, 36);
	assert_memory_equal(km + 36, kat_child_key_r, 36);
}

static void test_natd_strongswan(void **state)
{
	uint8_t h[20];

	assert_int_equal(sizeof(kat_natd_chunk), 22);
	ike_natd_hash(ike_get64(kat_natd_chunk), ike_get64(kat_natd_chunk + 8),
		      ike_get32(kat_natd_chunk + 16), ike_get16(kat_natd_chunk + 20), h);
	assert_memory_equal(h, kat_natd_hash, 20);
}

/* X25519 both ways gives one secret; a low-order point is refused. */
static void test_dh(void **state)
{
	uint8_t ap[32], aP[32], bp[32], bP[32], s1[32], s2[32], zero[32] = { 0 };

	ike_dh_keypair(ap, aP);
	ike_dh_keypair(bp, bP);
	assert_int_equal(ike_dh_shared(ap, bP, 32, s1), 0);
	assert_int_equal(ike_dh_shared(bp, aP, 32, s2), 0);
	assert_memory_equal(s1, s2, 32);
	assert_int_not_equal(ike_dh_shared(ap, zero, 32, s1), 0);
	assert_int_not_equal(ike_dh_shared(ap, bP, 31, s1), 0);
}

static void test_aead_roundtrip_and_tamper(void **state)
{
	const int algs[] = { SA_ALG_AES_GCM_16_256, SA_ALG_CHACHA20_POLY1305 };
	uint8_t key[36], iv[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, aad[32], pt[100], ct[116], out[100];
	size_t a, i;

	randombytes_buf(key, sizeof(key));
	randombytes_buf(aad, sizeof(aad));
	randombytes_buf(pt, sizeof(pt));
	for (a = 0; a < 2; a++) {
		if (algs[a] == SA_ALG_AES_GCM_16_256 && !crypto_aead_aes256gcm_is_available())
			continue;
		assert_int_equal(ike_aead_encrypt(algs[a], key, iv, aad, 32, pt, 100, ct), 0);
		assert_int_equal(ike_aead_decrypt(algs[a], key, iv, aad, 32, ct, 116, out), 0);
		assert_memory_equal(out, pt, 100);
		for (i = 0; i < 116 * 8; i += 7) {
			ct[i / 8] ^= (uint8_t)(1u << (i % 8));
			assert_int_equal(ike_aead_decrypt(algs[a], key, iv, aad, 32, ct, 116, out), -74);
			ct[i / 8] ^= (uint8_t)(1u << (i % 8));
		}
		aad[3] ^= 1; /* the header is authenticated too */
		assert_int_equal(ike_aead_decrypt(algs[a], key, iv, aad, 32, ct, 116, out), -74);
		aad[3] ^= 1;
		key[33] ^= 1; /* and the salt is part of the nonce */
		assert_int_equal(ike_aead_decrypt(algs[a], key, iv, aad, 32, ct, 116, out), -74);
		key[33] ^= 1;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha1_fips),
		cmocka_unit_test(test_prf_rfc4231),
		cmocka_unit_test(test_prfplus_structure),
		cmocka_unit_test(test_ike_keys_strongswan),
		cmocka_unit_test(test_psk_auth_strongswan),
		cmocka_unit_test(test_child_keymat_strongswan),
		cmocka_unit_test(test_natd_strongswan),
		cmocka_unit_test(test_dh),
		cmocka_unit_test(test_aead_roundtrip_and_tamper),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
