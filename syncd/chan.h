/*
 * The sync link's secure channel over a TCP stream (pure: bytes in, bytes
 * out; the caller owns the socket).
 *
 * Handshake, symmetric, both ends send at once (I = the end that
 * connected, R = the end that accepted):
 *
 *   -> HS1   "HAGWSYN1" (8) | nonce (32, random)          both ways
 *   -> HS2   mac (32)                                     both ways
 *
 *   K      = BLAKE2b-256(key = PSK, "hagw sync 1" | nonce_I | nonce_R)
 *   k_I2R  = KDF(K, 1, "hagwsync"), k_R2I = KDF(K, 2), k_mac = KDF(K, 3)
 *   mac_X  = BLAKE2b-256(key = k_mac, label_X | nonce_I | nonce_R),
 *            label "initiator" or "responder"
 *
 * Each end sends its HS2 once it has the peer's HS1, and accepts the peer
 * only when the peer's HS2 verifies (constant time). Until then nothing but
 * the handshake is sent or read: a peer that does not hold the PSK learns
 * two nonces and a MAC under a key derived from it, nothing of the state.
 * Fresh nonces from both ends make every session's keys new; the labels
 * stop a MAC from being reflected back.
 *
 * Frames, after the handshake:
 *
 *   length (4, big endian, of what follows) | XChaCha20-Poly1305(message)
 *
 * with AD = the length bytes and nonce = the frame's number in its
 * direction (64-bit little endian, zero padded), kept by both ends and never
 * sent: a frame replayed, dropped, reordered or cut fails its tag, and a
 * nonce is never used twice under one key. A length over SYNC_FRAME_MAX is
 * refused before anything is buffered.
 *
 * A frame holds one message, or, towards a peer whose HELLO has
 * SYNC_CAP_BATCH, several messages back to back (each one msgpack value:
 * sync_decode_first splits them), at most SYNC_MSG_MAX bytes in all. A snapshot
 * of small messages then costs one seal and one open per 64 KB instead of
 * one per message.
 */
#ifndef HAGW_SYNC_CHAN_H
#define HAGW_SYNC_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "codec.h"

#define SYNC_PSK_LEN    32
#define SYNC_NONCE_LEN  32
#define SYNC_MAC_LEN    32
#define SYNC_HS1_LEN    (8 + SYNC_NONCE_LEN)
#define SYNC_HS2_LEN    SYNC_MAC_LEN
#define SYNC_FRAME_HDR  4
#define SYNC_TAG_LEN    crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SYNC_FRAME_MAX  (SYNC_MSG_MAX + SYNC_TAG_LEN)  /* after the header */

enum sync_chan_state {
	CHAN_WAIT_HS1 = 0,
	CHAN_WAIT_HS2 = 1,
	CHAN_OPEN     = 2,
	CHAN_FAILED   = 3,
};

struct sync_chan {
	int state;
	int initiator;
	uint8_t psk[SYNC_PSK_LEN];
	uint8_t n_local[SYNC_NONCE_LEN], n_peer[SYNC_NONCE_LEN];
	uint8_t k_tx[32], k_rx[32], k_mac[32];
	uint64_t n_tx, n_rx;          /* frame numbers */
};

/* nonce: 32 random bytes from the caller (randombytes_buf), so tests can
 * fix it. Writes HS1 to out. */
void sync_chan_init(struct sync_chan *c, const uint8_t psk[SYNC_PSK_LEN], int initiator,
		    const uint8_t nonce[SYNC_NONCE_LEN], uint8_t out[SYNC_HS1_LEN]);
/* The peer's HS1: 0 and our HS2 in out, or -EPROTO (not our protocol). */
int  sync_chan_on_hs1(struct sync_chan *c, const uint8_t in[SYNC_HS1_LEN],
		      uint8_t out[SYNC_HS2_LEN]);
/* The peer's HS2: 0 (channel open) or -EACCES (the peer lacks the PSK). */
int  sync_chan_on_hs2(struct sync_chan *c, const uint8_t in[SYNC_HS2_LEN]);
/* Bytes of handshake the channel waits for now (0 when open). */
size_t sync_chan_want(const struct sync_chan *c);

/* Seals one message into a frame; returns its length or -EMSGSIZE/-ENOSPC. */
int  sync_chan_seal(struct sync_chan *c, const uint8_t *msg, size_t len, uint8_t *out, size_t cap);
/* Length of the frame whose header is hdr (header included), or -EMSGSIZE. */
long sync_chan_frame_len(const uint8_t hdr[SYNC_FRAME_HDR]);
/* Opens a whole frame (header included) into msg (SYNC_MSG_MAX bytes);
 * returns the message length, or -EBADMSG (tag) and the channel fails. */
int  sync_chan_open(struct sync_chan *c, const uint8_t *frame, size_t len, uint8_t *msg);
void sync_chan_wipe(struct sync_chan *c);

#endif
