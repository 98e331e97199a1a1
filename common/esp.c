#include "esp.h"

#include <string.h>

int esp_crypto_init(void)
{
	if (sodium_init() < 0)
		return -1;
	return 0;
}

int esp_aes_available(void)
{
	return crypto_aead_aes256gcm_is_available();
}

int esp_key_init(struct esp_key *k, int alg, const struct sa_keymat *km)
{
	memset(k, 0, sizeof(*k));
	switch (alg) {
	case SA_ALG_AES_GCM_16_256:
		if (!crypto_aead_aes256gcm_is_available())
			return ESP_EALG;
		crypto_aead_aes256gcm_beforenm(&k->aes, km->key);
		break;
	case SA_ALG_CHACHA20_POLY1305:
		memcpy(k->key, km->key, SA_KEY_MAX);
		break;
	default:
		return ESP_EALG;
	}
	memcpy(k->salt, km->salt, SA_SALT_LEN);
	k->alg = alg;
	return ESP_OK;
}

void esp_key_wipe(struct esp_key *k)
{
	sodium_memzero(k, sizeof(*k));
}

uint64_t esp_iv_make(uint32_t member_id, uint32_t activation, uint64_t seq)
{
	return ((uint64_t)(member_id & ESP_IV_MAX_MEMBER) << (ESP_IV_ACT_BITS + ESP_IV_SEQ_BITS)) |
	       ((uint64_t)(activation & ESP_IV_MAX_ACT) << ESP_IV_SEQ_BITS) |
	       (seq & ESP_IV_MAX_SEQ);
}

int esp_iv_exhausted(uint32_t activation, uint64_t seq)
{
	return activation > ESP_IV_MAX_ACT || seq > ESP_IV_MAX_SEQ;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t esp_aad(uint8_t aad[12], uint32_t spi, uint64_t seq, int esn)
{
	put32(aad, spi);
	if (!esn) {
		put32(aad + 4, (uint32_t)seq);
		return 8;
	}
	put32(aad + 4, (uint32_t)(seq >> 32));
	put32(aad + 8, (uint32_t)seq);
	return 12;
}

static void esp_nonce(uint8_t nonce[12], const struct esp_key *k, const uint8_t *iv)
{
	memcpy(nonce, k->salt, SA_SALT_LEN);
	memcpy(nonce + SA_SALT_LEN, iv, ESP_IV_LEN);
}

int esp_encap(const struct esp_key *k, uint32_t spi, uint64_t seq, int esn, uint64_t iv,
	      uint8_t *buf, size_t inner_len, size_t cap)
{
	size_t padlen = (4 - (inner_len + 2) % 4) % 4;
	size_t ptlen = inner_len + padlen + 2;
	size_t total = ESP_PAYLOAD_OFF + ptlen + ESP_ICV_LEN;
	uint8_t *pt = buf + ESP_PAYLOAD_OFF, *ivp = buf + ESP_HDR_LEN;
	uint8_t aad[12], nonce[12];
	size_t aadlen, i;

	if (total > cap)
		return ESP_ENOSPACE;
	put32(buf, spi);
	put32(buf + 4, (uint32_t)seq);
	put32(ivp, (uint32_t)(iv >> 32));
	put32(ivp + 4, (uint32_t)iv);
	for (i = 0; i < padlen; i++)
		pt[inner_len + i] = (uint8_t)(i + 1); /* RFC 4303 2.4 */
	pt[inner_len + padlen] = (uint8_t)padlen;
	pt[inner_len + padlen + 1] = ESP_NH_IPV4;

	aadlen = esp_aad(aad, spi, seq, esn);
	esp_nonce(nonce, k, ivp);
	if (k->alg == SA_ALG_AES_GCM_16_256)
		crypto_aead_aes256gcm_encrypt_detached_afternm(pt, pt + ptlen, NULL, pt, ptlen, aad,
							       aadlen, NULL, nonce, &k->aes);
	else if (k->alg == SA_ALG_CHACHA20_POLY1305)
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(pt, pt + ptlen, NULL, pt, ptlen,
								   aad, aadlen, NULL, nonce, k->key);
	else
		return ESP_EALG;
	return (int)total;
}

int esp_peek(const uint8_t *pkt, size_t len, uint32_t *spi, uint32_t *seq_lo)
{
	if (len < ESP_PAYLOAD_OFF + 4 + ESP_ICV_LEN) /* +4: trailer, aligned */
		return ESP_ETRUNC;
	*spi = get32(pkt);
	*seq_lo = get32(pkt + 4);
	return ESP_OK;
}

int esp_decap(const struct esp_key *k, uint64_t seq, int esn, uint8_t *pkt, size_t len,
	      size_t *inner_len)
{
	uint8_t aad[12], nonce[12];
	uint8_t *ct = pkt + ESP_PAYLOAD_OFF;
	size_t ctlen, aadlen, padlen, i;
	int rc;

	if (len < ESP_PAYLOAD_OFF + 4 + ESP_ICV_LEN)
		return ESP_ETRUNC;
	ctlen = len - ESP_PAYLOAD_OFF - ESP_ICV_LEN;
	aadlen = esp_aad(aad, get32(pkt), seq, esn);
	esp_nonce(nonce, k, pkt + ESP_HDR_LEN);
	if (k->alg == SA_ALG_AES_GCM_16_256)
		rc = crypto_aead_aes256gcm_decrypt_detached_afternm(ct, NULL, ct, ctlen, ct + ctlen,
								    aad, aadlen, nonce, &k->aes);
	else if (k->alg == SA_ALG_CHACHA20_POLY1305)
		rc = crypto_aead_chacha20poly1305_ietf_decrypt_detached(ct, NULL, ct, ctlen, ct + ctlen,
									aad, aadlen, nonce, k->key);
	else
		return ESP_EALG;
	if (rc != 0)
		return ESP_EAUTH;

	/* RFC 4303 2.4-2.6: the trailer, checked after authentication. */
	padlen = ct[ctlen - 2];
	if (padlen + 2 > ctlen)
		return ESP_EPAD;
	for (i = 0; i < padlen; i++)
		if (ct[ctlen - 2 - padlen + i] != (uint8_t)(i + 1))
			return ESP_EPAD;
	if (ct[ctlen - 1] == ESP_NH_NONE)
		return ESP_EDUMMY;
	if (ct[ctlen - 1] != ESP_NH_IPV4)
		return ESP_ENEXTHDR;
	*inner_len = ctlen - 2 - padlen;
	return ESP_OK;
}

const char *esp_err_name(int err)
{
	switch (err) {
	case ESP_OK: return "ok";
	case ESP_ETRUNC: return "truncated";
	case ESP_EAUTH: return "auth";
	case ESP_EPAD: return "padding";
	case ESP_ENEXTHDR: return "next-header";
	case ESP_EDUMMY: return "dummy";
	case ESP_ENOSPACE: return "no-space";
	case ESP_EALG: return "algorithm";
	default: return "?";
	}
}
