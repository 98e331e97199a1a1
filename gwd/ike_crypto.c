#include "ike_crypto.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "ike_msg.h"
#include "ike_sha1.h"
#include "sa_table.h"

void ike_prf3(const uint8_t *key, size_t klen, const uint8_t *a, size_t alen,
	      const uint8_t *b, size_t blen, const uint8_t *c, size_t clen, uint8_t out[IKE_PRF_LEN])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, klen);
	if (alen)
		crypto_auth_hmacsha256_update(&st, a, alen);
	if (blen)
		crypto_auth_hmacsha256_update(&st, b, blen);
	if (clen)
		crypto_auth_hmacsha256_update(&st, c, clen);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

int ike_prfplus(const uint8_t *key, size_t klen, const uint8_t *seed, size_t slen,
		uint8_t *out, size_t out_len)
{
	uint8_t t[IKE_PRF_LEN];
	size_t done = 0, tlen = 0;
	uint8_t n;

	if (out_len > 255 * IKE_PRF_LEN)
		return -EINVAL; /* 2.13: the counter is one octet */
	for (n = 1; done < out_len; n++) {
		size_t k;

		ike_prf3(key, klen, t, tlen, seed, slen, &n, 1, t);
		tlen = IKE_PRF_LEN;
		k = out_len - done < IKE_PRF_LEN ? out_len - done : IKE_PRF_LEN;
		memcpy(out + done, t, k);
		done += k;
	}
	sodium_memzero(t, sizeof(t));
	return 0;
}

void ike_dh_keypair(uint8_t priv[IKE_DH_LEN], uint8_t pub[IKE_DH_LEN])
{
	randombytes_buf(priv, IKE_DH_LEN);
	crypto_scalarmult_base(pub, priv);
}

int ike_dh_shared(const uint8_t priv[IKE_DH_LEN], const uint8_t *peer_pub, size_t peer_len,
		  uint8_t shared[IKE_DH_LEN])
{
	if (peer_len != IKE_DH_LEN)
		return -EINVAL;
	return crypto_scalarmult(shared, priv, peer_pub) == 0 ? 0 : -EINVAL;
}

void ike_skeyseed(const uint8_t *ni, size_t nilen, const uint8_t *nr, size_t nrlen,
		  const uint8_t shared[IKE_DH_LEN], uint8_t out[IKE_PRF_LEN])
{
	uint8_t key[2 * IKE_NONCE_MAX];

	memcpy(key, ni, nilen);
	memcpy(key + nilen, nr, nrlen);
	ike_prf3(key, nilen + nrlen, shared, IKE_DH_LEN, NULL, 0, NULL, 0, out);
}

void ike_skeyseed_rekey(const uint8_t sk_d_old[IKE_PRF_LEN], const uint8_t shared[IKE_DH_LEN],
			const uint8_t *ni, size_t nilen, const uint8_t *nr, size_t nrlen,
			uint8_t out[IKE_PRF_LEN])
{
	ike_prf3(sk_d_old, IKE_PRF_LEN, shared, IKE_DH_LEN, ni, nilen, nr, nrlen, out);
}

int ike_derive_keys(const uint8_t skeyseed[IKE_PRF_LEN], const uint8_t *ni, size_t nilen,
		    const uint8_t *nr, size_t nrlen, uint64_t spi_i, uint64_t spi_r,
		    struct ike_keys *k)
{
	uint8_t seed[2 * IKE_NONCE_MAX + 16], out[sizeof(*k)];
	size_t n = 0;
	int rc;

	if (nilen > IKE_NONCE_MAX || nrlen > IKE_NONCE_MAX)
		return -EINVAL;
	memcpy(seed, ni, nilen);
	n += nilen;
	memcpy(seed + n, nr, nrlen);
	n += nrlen;
	ike_put64(seed + n, spi_i);
	ike_put64(seed + n + 8, spi_r);
	n += 16;
	/* The struct is laid out in the order of 2.14 (no SK_a with AEAD). */
	if ((rc = ike_prfplus(skeyseed, IKE_PRF_LEN, seed, n, out, sizeof(out))) < 0)
		return rc;
	memcpy(k->sk_d, out, IKE_PRF_LEN);
	memcpy(k->sk_ei, out + 32, IKE_ENC_KEY_LEN);
	memcpy(k->sk_er, out + 68, IKE_ENC_KEY_LEN);
	memcpy(k->sk_pi, out + 104, IKE_PRF_LEN);
	memcpy(k->sk_pr, out + 136, IKE_PRF_LEN);
	sodium_memzero(out, sizeof(out));
	return 0;
}

int ike_child_keymat(const uint8_t sk_d[IKE_PRF_LEN], const uint8_t *shared,
		     const uint8_t *ni, size_t nilen, const uint8_t *nr, size_t nrlen,
		     uint8_t out[IKE_CHILD_KEYMAT_LEN])
{
	uint8_t seed[IKE_DH_LEN + 2 * IKE_NONCE_MAX];
	size_t n = 0;

	if (nilen > IKE_NONCE_MAX || nrlen > IKE_NONCE_MAX)
		return -EINVAL;
	if (shared) {
		memcpy(seed, shared, IKE_DH_LEN);
		n = IKE_DH_LEN;
	}
	memcpy(seed + n, ni, nilen);
	n += nilen;
	memcpy(seed + n, nr, nrlen);
	n += nrlen;
	return ike_prfplus(sk_d, IKE_PRF_LEN, seed, n, out, IKE_CHILD_KEYMAT_LEN);
}

void ike_psk_auth(const uint8_t *psk, size_t psklen, const uint8_t *msg, size_t msglen,
		  const uint8_t *nonce, size_t noncelen, const uint8_t sk_p[IKE_PRF_LEN],
		  const uint8_t *id, size_t idlen, uint8_t out[IKE_PRF_LEN])
{
	static const char pad[] = "Key Pad for IKEv2"; /* 17 octets, no NUL (2.15) */
	uint8_t k[IKE_PRF_LEN], maced_id[IKE_PRF_LEN];

	ike_prf3(psk, psklen, (const uint8_t *)pad, sizeof(pad) - 1, NULL, 0, NULL, 0, k);
	ike_prf3(sk_p, IKE_PRF_LEN, id, idlen, NULL, 0, NULL, 0, maced_id);
	ike_prf3(k, sizeof(k), msg, msglen, nonce, noncelen, maced_id, sizeof(maced_id), out);
	sodium_memzero(k, sizeof(k));
}

void ike_natd_hash(uint64_t spi_i, uint64_t spi_r, uint32_t addr, uint16_t port,
		   uint8_t out[IKE_NATD_LEN])
{
	uint8_t b[22];

	ike_put64(b, spi_i);
	ike_put64(b + 8, spi_r);
	ike_put32(b + 16, addr);
	ike_put16(b + 20, port);
	ike_sha1(b, sizeof(b), out);
}

static void aead_nonce(uint8_t nonce[12], const uint8_t key[IKE_ENC_KEY_LEN], const uint8_t iv[8])
{
	memcpy(nonce, key + 32, 4);
	memcpy(nonce + 4, iv, 8);
}

int ike_aead_encrypt(int alg, const uint8_t key[IKE_ENC_KEY_LEN], const uint8_t iv[8],
		     const uint8_t *aad, size_t aadlen, const uint8_t *plain, size_t plen,
		     uint8_t *ct)
{
	uint8_t nonce[12];

	aead_nonce(nonce, key, iv);
	switch (alg) {
	case SA_ALG_AES_GCM_16_256:
		if (!crypto_aead_aes256gcm_is_available())
			return -ENOTSUP;
		crypto_aead_aes256gcm_encrypt_detached(ct, ct + plen, NULL, plain, plen, aad, aadlen,
						       NULL, nonce, key);
		return 0;
	case SA_ALG_CHACHA20_POLY1305:
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(ct, ct + plen, NULL, plain, plen,
								   aad, aadlen, NULL, nonce, key);
		return 0;
	}
	return -EINVAL;
}

int ike_aead_decrypt(int alg, const uint8_t key[IKE_ENC_KEY_LEN], const uint8_t iv[8],
		     const uint8_t *aad, size_t aadlen, const uint8_t *ct, size_t ctlen,
		     uint8_t *plain)
{
	uint8_t nonce[12];
	size_t plen;
	int rc = -1;

	if (ctlen < IKE_SK_ICV_LEN)
		return -EBADMSG;
	plen = ctlen - IKE_SK_ICV_LEN;
	aead_nonce(nonce, key, iv);
	switch (alg) {
	case SA_ALG_AES_GCM_16_256:
		if (!crypto_aead_aes256gcm_is_available())
			return -ENOTSUP;
		rc = crypto_aead_aes256gcm_decrypt_detached(plain, NULL, ct, plen, ct + plen, aad,
							    aadlen, nonce, key);
		break;
	case SA_ALG_CHACHA20_POLY1305:
		rc = crypto_aead_chacha20poly1305_ietf_decrypt_detached(plain, NULL, ct, plen,
									 ct + plen, aad, aadlen,
									 nonce, key);
		break;
	default:
		return -EINVAL;
	}
	return rc == 0 ? 0 : -EBADMSG;
}
