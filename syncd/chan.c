#include "chan.h"

#include <errno.h>
#include <string.h>

static const uint8_t hs_magic[8] = { 'H', 'A', 'G', 'W', 'S', 'Y', 'N', '1' };

void sync_chan_init(struct sync_chan *c, const uint8_t psk[SYNC_PSK_LEN], int initiator,
		    const uint8_t nonce[SYNC_NONCE_LEN], uint8_t out[SYNC_HS1_LEN])
{
	memset(c, 0, sizeof(*c));
	c->initiator = initiator;
	memcpy(c->psk, psk, SYNC_PSK_LEN);
	memcpy(c->n_local, nonce, SYNC_NONCE_LEN);
	memcpy(out, hs_magic, sizeof(hs_magic));
	memcpy(out + sizeof(hs_magic), nonce, SYNC_NONCE_LEN);
	c->state = CHAN_WAIT_HS1;
}

/* label | nonce_I | nonce_R, hashed under key */
static void chan_hash(uint8_t out[32], const uint8_t key[32], const char *label,
		      const struct sync_chan *c)
{
	crypto_generichash_state st;
	const uint8_t *ni = c->initiator ? c->n_local : c->n_peer;
	const uint8_t *nr = c->initiator ? c->n_peer : c->n_local;

	crypto_generichash_init(&st, key, 32, 32);
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
	crypto_generichash_update(&st, ni, SYNC_NONCE_LEN);
	crypto_generichash_update(&st, nr, SYNC_NONCE_LEN);
	crypto_generichash_final(&st, out, 32);
}

int sync_chan_on_hs1(struct sync_chan *c, const uint8_t in[SYNC_HS1_LEN], uint8_t out[SYNC_HS2_LEN])
{
	uint8_t k[32], k_i2r[32], k_r2i[32];

	if (c->state != CHAN_WAIT_HS1 || memcmp(in, hs_magic, sizeof(hs_magic))) {
		c->state = CHAN_FAILED;
		return -EPROTO;
	}
	memcpy(c->n_peer, in + sizeof(hs_magic), SYNC_NONCE_LEN);
	chan_hash(k, c->psk, "hagw sync 1", c);
	crypto_kdf_derive_from_key(k_i2r, 32, 1, "hagwsync", k);
	crypto_kdf_derive_from_key(k_r2i, 32, 2, "hagwsync", k);
	crypto_kdf_derive_from_key(c->k_mac, 32, 3, "hagwsync", k);
	memcpy(c->k_tx, c->initiator ? k_i2r : k_r2i, 32);
	memcpy(c->k_rx, c->initiator ? k_r2i : k_i2r, 32);
	chan_hash(out, c->k_mac, c->initiator ? "initiator" : "responder", c);
	sodium_memzero(k, sizeof(k));
	sodium_memzero(k_i2r, sizeof(k_i2r));
	sodium_memzero(k_r2i, sizeof(k_r2i));
	c->state = CHAN_WAIT_HS2;
	return 0;
}

int sync_chan_on_hs2(struct sync_chan *c, const uint8_t in[SYNC_HS2_LEN])
{
	uint8_t want[SYNC_MAC_LEN];
	int ok;

	if (c->state != CHAN_WAIT_HS2) {
		c->state = CHAN_FAILED;
		return -EACCES;
	}
	chan_hash(want, c->k_mac, c->initiator ? "responder" : "initiator", c);
	ok = sodium_memcmp(want, in, SYNC_MAC_LEN) == 0;
	sodium_memzero(want, sizeof(want));
	if (!ok) {
		sync_chan_wipe(c);
		c->state = CHAN_FAILED;
		return -EACCES;
	}
	sodium_memzero(c->psk, sizeof(c->psk));
	c->state = CHAN_OPEN;
	return 0;
}

size_t sync_chan_want(const struct sync_chan *c)
{
	switch (c->state) {
	case CHAN_WAIT_HS1: return SYNC_HS1_LEN;
	case CHAN_WAIT_HS2: return SYNC_HS2_LEN;
	default: return 0;
	}
}

static void chan_nonce(uint8_t n[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES], uint64_t ctr)
{
	memset(n, 0, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	for (int i = 0; i < 8; i++)
		n[i] = (uint8_t)(ctr >> (8 * i));
}

int sync_chan_seal(struct sync_chan *c, const uint8_t *msg, size_t len, uint8_t *out, size_t cap)
{
	uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	unsigned long long clen;
	size_t body = len + SYNC_TAG_LEN;

	if (c->state != CHAN_OPEN || len > SYNC_MSG_MAX)
		return -EMSGSIZE;
	if (cap < SYNC_FRAME_HDR + body)
		return -ENOSPC;
	out[0] = (uint8_t)(body >> 24);
	out[1] = (uint8_t)(body >> 16);
	out[2] = (uint8_t)(body >> 8);
	out[3] = (uint8_t)body;
	chan_nonce(nonce, c->n_tx++);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + SYNC_FRAME_HDR, &clen, msg, len, out,
						   SYNC_FRAME_HDR, NULL, nonce, c->k_tx);
	return (int)(SYNC_FRAME_HDR + clen);
}

long sync_chan_frame_len(const uint8_t hdr[SYNC_FRAME_HDR])
{
	uint32_t body = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];

	if (body > SYNC_FRAME_MAX)
		return -EMSGSIZE;
	if (body < SYNC_TAG_LEN)
		return -EBADMSG;
	return (long)(SYNC_FRAME_HDR + body);
}

int sync_chan_open(struct sync_chan *c, const uint8_t *frame, size_t len, uint8_t *msg)
{
	uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	unsigned long long mlen;
	long want;

	if (c->state != CHAN_OPEN || len < SYNC_FRAME_HDR)
		return -EBADMSG;
	if ((want = sync_chan_frame_len(frame)) < 0)
		return (int)want;
	if ((size_t)want != len)
		return -EBADMSG;
	chan_nonce(nonce, c->n_rx);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(msg, &mlen, NULL, frame + SYNC_FRAME_HDR,
						       len - SYNC_FRAME_HDR, frame, SYNC_FRAME_HDR,
						       nonce, c->k_rx) < 0) {
		c->state = CHAN_FAILED;
		return -EBADMSG;
	}
	c->n_rx++;
	return (int)mlen;
}

void sync_chan_wipe(struct sync_chan *c)
{
	sodium_memzero(c, sizeof(*c));
	c->state = CHAN_FAILED;
}
