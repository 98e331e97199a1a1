/*
 * IKEv2 cryptography for the one suite we speak: DH group 31 (X25519,
 * RFC 8031), PRF HMAC-SHA2-256 (RFC 4868), AEAD AES-GCM-16-256 (RFC 5282)
 * and ChaCha20-Poly1305 (RFC 7634). Every primitive is libsodium's except
 * SHA-1, which only the NAT detection hashes need (ike_sha1.h).
 *
 * Key derivation, RFC 7296:
 *   2.13  prf+(K, S) = T1 | T2 | ...,  T1 = prf(K, S | 0x01),
 *                                      Tn = prf(K, Tn-1 | S | n)
 *   2.14  SKEYSEED = prf(Ni | Nr, g^ir)
 *         {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
 *               = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
 *         With an AEAD there is no SK_a (RFC 5282 section 7); each SK_e is
 *         the 32-byte key followed by the 4-byte salt.
 *   2.17  KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr), initiator-to-
 *         responder key (key || salt) first.
 *   2.18  rekeyed IKE SA: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
 *   2.15  PSK AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"),
 *                        <message> | <peer's nonce> | prf(SK_p, <ID body>))
 *   2.23  NAT detection: SHA-1(SPIi | SPIr | IP | port)
 */
#ifndef HAGW_IKE_CRYPTO_H
#define HAGW_IKE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

enum {
	IKE_PRF_LEN = 32,       /* HMAC-SHA2-256 output and SK_d / SK_p size */
	IKE_ENC_KEY_LEN = 36,   /* 32-byte AEAD key + 4-byte salt */
	IKE_DH_LEN = 32,        /* X25519 public value and shared secret */
	IKE_NATD_LEN = 20,      /* SHA-1 */
	IKE_CHILD_KEYMAT_LEN = 2 * IKE_ENC_KEY_LEN,
};

/* IANA transform IDs (RFC 7296 3.3.2 and the IKEv2 registry). */
enum {
	IKE_XF_ENCR = 1, IKE_XF_PRF = 2, IKE_XF_INTEG = 3, IKE_XF_DH = 4, IKE_XF_ESN = 5,
	IKE_ENCR_AES_GCM_16 = 20,
	IKE_ENCR_CHACHA20_POLY1305 = 28,
	IKE_PRF_HMAC_SHA2_256 = 5,
	IKE_DH_X25519 = 31,
	IKE_ATTR_KEY_LENGTH = 14,
};

struct ike_keys {
	uint8_t sk_d[IKE_PRF_LEN];
	uint8_t sk_ei[IKE_ENC_KEY_LEN], sk_er[IKE_ENC_KEY_LEN];
	uint8_t sk_pi[IKE_PRF_LEN], sk_pr[IKE_PRF_LEN];
};

/* prf(key, a | b | c): any part may be NULL with length 0. */
void ike_prf3(const uint8_t *key, size_t klen, const uint8_t *a, size_t alen,
	      const uint8_t *b, size_t blen, const uint8_t *c, size_t clen, uint8_t out[IKE_PRF_LEN]);
/* prf+(key, seed); out_len <= 255 * 32. Returns 0 or -EINVAL. */
int ike_prfplus(const uint8_t *key, size_t klen, const uint8_t *seed, size_t slen,
		uint8_t *out, size_t out_len);

/* X25519: a fresh key pair; the shared secret. -EINVAL on an all-zero
 * result (a low-order peer value, RFC 8031 2.3). */
void ike_dh_keypair(uint8_t priv[IKE_DH_LEN], uint8_t pub[IKE_DH_LEN]);
int ike_dh_shared(const uint8_t priv[IKE_DH_LEN], const uint8_t *peer_pub, size_t peer_len,
		  uint8_t shared[IKE_DH_LEN]);

void ike_skeyseed(const uint8_t *ni, size_t nilen, const uint8_t *nr, size_t nrlen,
		  const uint8_t shared[IKE_DH_LEN], uint8_t out[IKE_PRF_LEN]);
void ike_skeyseed_rekey(const uint8_t sk_d_old[IKE_PRF_LEN], const uint8_t shared[IKE_DH_LEN],
			const uint8_t *ni, size_t nilen, const uint8_t *nr, size_t nrlen,
			uint8_t out[IKE_PRF_LEN]);
int ike_derive_keys(const uint8_t skeyseed[IKE_PRF_LEN], const uint8_t *ni, size_t nilen,
		    const uint8_t *nr, size_t nrlen, uint64_t spi_i, uint64_t spi_r,
		    struct ike_keys *k);
/* KEYMAT for one Child SA pair: out[0..35] protects initiator-to-responder
 * traffic, out[36..71] the other way. shared may be NULL (no PFS). */
int ike_child_keymat(const uint8_t sk_d[IKE_PRF_LEN], const uint8_t *shared,
		     const uint8_t *ni, size_t nilen, const uint8_t *nr, size_t nrlen,
		     uint8_t out[IKE_CHILD_KEYMAT_LEN]);

/* AUTH for a PSK. msg is the peer-independent "real message" (our
 * IKE_SA_INIT message for our AUTH), nonce the other side's nonce, sk_p
 * our SK_p, id the ID payload body (type, reserved, data). */
void ike_psk_auth(const uint8_t *psk, size_t psklen, const uint8_t *msg, size_t msglen,
		  const uint8_t *nonce, size_t noncelen, const uint8_t sk_p[IKE_PRF_LEN],
		  const uint8_t *id, size_t idlen, uint8_t out[IKE_PRF_LEN]);

void ike_natd_hash(uint64_t spi_i, uint64_t spi_r, uint32_t addr, uint16_t port,
		   uint8_t out[IKE_NATD_LEN]);

/* AEAD with nonce = salt (key[32..35]) || iv. ct gets plain_len + 16
 * bytes. decrypt returns 0 or -EBADMSG. */
int ike_aead_encrypt(int alg, const uint8_t key[IKE_ENC_KEY_LEN], const uint8_t iv[8],
		     const uint8_t *aad, size_t aadlen, const uint8_t *plain, size_t plen,
		     uint8_t *ct);
int ike_aead_decrypt(int alg, const uint8_t key[IKE_ENC_KEY_LEN], const uint8_t iv[8],
		     const uint8_t *aad, size_t aadlen, const uint8_t *ct, size_t ctlen,
		     uint8_t *plain);

#endif
