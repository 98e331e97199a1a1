/*
 * ESP codec (RFC 4303), tunnel mode, AEAD only: AES-GCM-16 with a 256-bit
 * key (RFC 4106) and ChaCha20-Poly1305 (RFC 7634). Pure functions, no I/O.
 *
 *   0                   1                   2                   3
 *   +---------------------------------------------------------------+
 *   |               Security Parameters Index (SPI)                 |
 *   |                  Sequence Number (low 32 bits)                |
 *   |                 IV (8 bytes, see esp_iv_make)                 |
 *   |   Payload: inner IPv4 packet ...                              |
 *   |   Padding (0-3, bytes 1,2,3) | Pad Length | Next Header (4)   |
 *   |                 ICV (16 bytes)                                |
 *   +---------------------------------------------------------------+
 *
 * AAD is SPI || Seq (8 bytes), or SPI || Seq high || Seq low (12 bytes)
 * with ESN (RFC 4106 section 5, RFC 7634 section 3). The AEAD nonce is
 * salt (4) || IV (8).
 *
 * Nonce safety (DESIGN.md, RFC 6027 3.7.1): IV = member id (4 bits) |
 * activation count (12 bits) | sequence number (48 bits). Within one
 * activation of one member the sequence number never repeats; two members,
 * or one member in two activations, differ in the top bits. An SA must be
 * rekeyed before its sequence number reaches 2^48 or its activation count
 * reaches 2^12 (esp_iv_exhausted).
 */
#ifndef HAGW_ESP_H
#define HAGW_ESP_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "sa_table.h"

enum {
	ESP_HDR_LEN     = 8,
	ESP_IV_LEN      = 8,
	ESP_ICV_LEN     = 16,
	ESP_TRAILER_MAX = 3 + 2,      /* padding to 4 bytes, pad length, next hdr */
	ESP_PAYLOAD_OFF = ESP_HDR_LEN + ESP_IV_LEN,
	ESP_OVERHEAD    = ESP_PAYLOAD_OFF + ESP_TRAILER_MAX + ESP_ICV_LEN,
	ESP_NH_IPV4     = 4,
	ESP_NH_NONE     = 59,         /* RFC 4303 2.6 dummy packet */
};

#define ESP_IV_MEMBER_BITS 4
#define ESP_IV_ACT_BITS    12
#define ESP_IV_SEQ_BITS    48
#define ESP_IV_MAX_MEMBER  ((1u << ESP_IV_MEMBER_BITS) - 1)
#define ESP_IV_MAX_ACT     ((1u << ESP_IV_ACT_BITS) - 1)
#define ESP_IV_MAX_SEQ     ((1ull << ESP_IV_SEQ_BITS) - 1)

enum esp_err {
	ESP_OK         = 0,
	ESP_ETRUNC     = -1, /* too short for header, IV, trailer and ICV */
	ESP_EAUTH      = -2, /* ICV did not verify */
	ESP_EPAD       = -3, /* pad length or padding bytes wrong */
	ESP_ENEXTHDR   = -4, /* next header is not IPv4 */
	ESP_EDUMMY     = -5, /* next header 59: discard silently */
	ESP_ENOSPACE   = -6, /* output buffer too small */
	ESP_EALG       = -7, /* unknown algorithm */
};

/* A prepared key: the AES key schedule is expanded once per SA. */
struct esp_key {
	crypto_aead_aes256gcm_state aes; /* first: 16-byte aligned */
	uint8_t key[SA_KEY_MAX];
	uint8_t salt[SA_SALT_LEN];
	int alg;
};

int esp_crypto_init(void); /* sodium_init(); -1 if AES-GCM has no hardware */
int esp_aes_available(void);
int esp_key_init(struct esp_key *k, int alg, const struct sa_keymat *km);
void esp_key_wipe(struct esp_key *k);

uint64_t esp_iv_make(uint32_t member_id, uint32_t activation, uint64_t seq);
int esp_iv_exhausted(uint32_t activation, uint64_t seq);

/* The last sequence number an SA may use. RFC 4303 3.3.3: the counter
 * never wraps; 2^32 - 1 without ESN. With ESN RFC 4304 allows 2^64 - 1, but
 * the IV carries 48 bits of the counter, which is the tighter limit. */
static inline uint64_t esp_seq_ceiling(int esn)
{
	return esn ? ESP_IV_MAX_SEQ : UINT32_MAX;
}

/* Encapsulates in place. The inner packet (inner_len bytes) is already at
 * buf + ESP_PAYLOAD_OFF; the header, trailer and ICV are written around
 * it. Returns the ESP packet length or ESP_ENOSPACE if cap is too small. */
int esp_encap(const struct esp_key *k, uint32_t spi, uint64_t seq, int esn, uint64_t iv,
	      uint8_t *buf, size_t inner_len, size_t cap);

/* Reads SPI and the low sequence number. ESP_ETRUNC if len is too short. */
int esp_peek(const uint8_t *pkt, size_t len, uint32_t *spi, uint32_t *seq_lo);

/* Verifies and decrypts in place, given the full 64-bit sequence number.
 * On ESP_OK the inner packet is at pkt + ESP_PAYLOAD_OFF, *inner_len long. */
int esp_decap(const struct esp_key *k, uint64_t seq, int esn, uint8_t *pkt, size_t len,
	      size_t *inner_len);

const char *esp_err_name(int err);

#endif
