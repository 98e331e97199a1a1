/*
 * IKEv2 wire format (RFC 7296 section 3): constants, the payload-chain
 * parser and a message builder. Pure code, no I/O.
 *
 *   IKE header (28 bytes, 3.1)
 *   +-------------------------------+-------------------------------+
 *   |                  IKE SA Initiator's SPI (8)                   |
 *   |                  IKE SA Responder's SPI (8)                   |
 *   | Next Payload  | MjVer | MnVer | Exchange Type |     Flags     |
 *   |                        Message ID (4)                         |
 *   |                          Length (4)                           |
 *   +---------------------------------------------------------------+
 *   Generic payload header (4 bytes, 3.2)
 *   | Next Payload  |C|  RESERVED   |         Payload Length        |
 *
 * The parser never trusts a length: every payload must fit the message
 * and be at least as long as its fixed part (ike_msg_parse). The SK
 * payload (3.14) must be the last one; its contents are parsed again
 * after decryption, starting with the type in its Next Payload field.
 */
#ifndef HAGW_IKE_MSG_H
#define HAGW_IKE_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "sa_table.h"

enum {
	IKE_HDR_LEN = 28,
	IKE_PL_HDR_LEN = 4,
	IKE_VERSION = 0x20,          /* major 2, minor 0 */
	IKE_MAX_PAYLOADS = 48,
	IKE_MSG_MAX = 4096,          /* what we build; what we accept is the UDP max */
	IKE_NONCE_LEN = 32,          /* ours: at least half the PRF key size (2.10) */
	IKE_NONCE_MIN = 16,
	IKE_NONCE_MAX = 256,
	IKE_SK_IV_LEN = 8,           /* RFC 5282 / RFC 7634 explicit IV */
	IKE_SK_ICV_LEN = 16,
};

enum ike_exchange {
	IKE_SA_INIT = 34,
	IKE_AUTH = 35,
	IKE_CREATE_CHILD_SA = 36,
	IKE_INFORMATIONAL = 37,
};

enum ike_hdr_flags {
	IKE_FLAG_I = 0x08,  /* sent by the original initiator */
	IKE_FLAG_V = 0x10,
	IKE_FLAG_R = 0x20,  /* a response */
};

enum ike_pl_type {
	IKE_PL_NONE = 0,
	IKE_PL_SA = 33,
	IKE_PL_KE = 34,
	IKE_PL_IDI = 35,
	IKE_PL_IDR = 36,
	IKE_PL_CERT = 37,
	IKE_PL_CERTREQ = 38,
	IKE_PL_AUTH = 39,
	IKE_PL_NONCE = 40,
	IKE_PL_NOTIFY = 41,
	IKE_PL_DELETE = 42,
	IKE_PL_VENDOR = 43,
	IKE_PL_TSI = 44,
	IKE_PL_TSR = 45,
	IKE_PL_SK = 46,
	IKE_PL_CP = 47,
	IKE_PL_EAP = 48,
};

enum ike_proto { IKE_PROTO_IKE = 1, IKE_PROTO_AH = 2, IKE_PROTO_ESP = 3 };

enum ike_notify {
	/* errors (3.10.1) */
	IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD = 1,
	IKE_N_INVALID_IKE_SPI = 4,
	IKE_N_INVALID_MAJOR_VERSION = 5,
	IKE_N_INVALID_SYNTAX = 7,
	IKE_N_INVALID_MESSAGE_ID = 9,
	IKE_N_INVALID_SPI = 11,
	IKE_N_NO_PROPOSAL_CHOSEN = 14,
	IKE_N_INVALID_KE_PAYLOAD = 17,
	IKE_N_AUTHENTICATION_FAILED = 24,
	IKE_N_SINGLE_PAIR_REQUIRED = 34,
	IKE_N_NO_ADDITIONAL_SAS = 35,
	IKE_N_TS_UNACCEPTABLE = 38,
	IKE_N_TEMPORARY_FAILURE = 43,
	IKE_N_CHILD_SA_NOT_FOUND = 44,
	IKE_N_ERROR_MAX = 16383,
	/* status */
	IKE_N_INITIAL_CONTACT = 16384,
	IKE_N_NAT_DETECTION_SOURCE_IP = 16388,
	IKE_N_NAT_DETECTION_DESTINATION_IP = 16389,
	IKE_N_COOKIE = 16390,
	IKE_N_USE_TRANSPORT_MODE = 16391,
	IKE_N_REKEY_SA = 16393,
	IKE_N_ESP_TFC_PADDING_NOT_SUPPORTED = 16394,
	IKE_N_NON_FIRST_FRAGMENTS_ALSO = 16395,
	IKE_N_MSGID_SYNC_SUPPORTED = 16420,      /* RFC 6311 */
	IKE_N_MSGID_SYNC = 16422,                /* RFC 6311 */
};

enum ike_id_type { IKE_ID_IPV4 = 1, IKE_ID_FQDN = 2, IKE_ID_RFC822 = 3, IKE_ID_KEY_ID = 11 };
enum { IKE_AUTH_PSK = 2 };                   /* Shared Key Message Integrity Code */
enum { IKE_TS_IPV4_RANGE = 7 };

/* Parse results (negative). */
enum ike_perr {
	IKE_E_TRUNC = -1,     /* shorter than a header or a length says */
	IKE_E_SYNTAX = -2,    /* a length or field that cannot be right */
	IKE_E_CRITICAL = -3,  /* unknown payload with the critical bit (2.5) */
	IKE_E_VERSION = -4,   /* major version is not 2 (2.5) */
	IKE_E_TOOMANY = -5,   /* more payloads than we keep */
};

struct ike_hdr {
	uint64_t spi_i, spi_r;
	uint8_t np, version, exchange, flags;
	uint32_t msgid, length;
};

struct ike_pl {
	uint8_t type;
	uint8_t critical;
	uint16_t len;           /* body length, without the generic header */
	const uint8_t *body;
	const uint8_t *hdr;     /* the generic header */
};

struct ike_msg {
	struct ike_hdr hdr;
	const uint8_t *raw;
	size_t raw_len;
	struct ike_pl pl[IKE_MAX_PAYLOADS];
	unsigned n;
	uint8_t crit_type;      /* the unknown critical payload type on IKE_E_CRITICAL */
	const struct ike_pl *sk;/* the SK payload, or NULL */
};

/* Byte helpers. */
static inline uint16_t ike_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t ike_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t ike_get64(const uint8_t *p)
{
	return (uint64_t)ike_get32(p) << 32 | ike_get32(p + 4);
}
static inline void ike_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void ike_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void ike_put64(uint8_t *p, uint64_t v) { ike_put32(p, (uint32_t)(v >> 32)); ike_put32(p + 4, (uint32_t)v); }

/* The header alone: checks the length field against len and the major
 * version. Returns 0 or an ike_perr. */
int ike_hdr_parse(const uint8_t *p, size_t len, struct ike_hdr *h);
/* Header and the outer payload chain. */
int ike_msg_parse(struct ike_msg *m, const uint8_t *p, size_t len);
/* Appends the chain found in a decrypted SK body (first type `np`). */
int ike_msg_parse_inner(struct ike_msg *m, uint8_t np, const uint8_t *p, size_t len);

const struct ike_pl *ike_msg_find(const struct ike_msg *m, uint8_t type);
/* The first notify of `type` in m, or NULL. */
const struct ike_pl *ike_msg_notify(const struct ike_msg *m, uint16_t type);
/* The first error notify (type < 16384), or 0. */
uint16_t ike_msg_error(const struct ike_msg *m);

/* Payload bodies. Each returns 0 or IKE_E_SYNTAX. */
struct ike_notify_pl {
	uint8_t proto, spi_size;
	uint16_t type;
	const uint8_t *spi;
	const uint8_t *data;
	size_t data_len;
};
int ike_pl_notify(const struct ike_pl *pl, struct ike_notify_pl *n);
int ike_pl_ke(const struct ike_pl *pl, uint16_t *group, const uint8_t **data, size_t *len);
int ike_pl_id(const struct ike_pl *pl, uint8_t *type, const uint8_t **data, size_t *len);
int ike_pl_auth(const struct ike_pl *pl, uint8_t *method, const uint8_t **data, size_t *len);
struct ike_delete_pl {
	uint8_t proto, spi_size;
	uint16_t n;
	const uint8_t *spis;
};
int ike_pl_delete(const struct ike_pl *pl, struct ike_delete_pl *d);
/* IPv4 range selectors that are exact prefixes; others are skipped
 * (counted in *skipped). */
int ike_pl_ts(const struct ike_pl *pl, struct sa_ts *out, unsigned max, unsigned *n, unsigned *skipped);

/* The builder: a flat buffer; each payload's header gets the next one's
 * type when that one begins. Errors stick (b->err) and are checked once. */
struct ike_buf {
	uint8_t p[IKE_MSG_MAX];
	size_t len;
	size_t np_off;          /* where the next payload type goes */
	size_t pl_off;          /* the payload being built */
	int err;
};

void ike_buf_init_msg(struct ike_buf *b, uint64_t spi_i, uint64_t spi_r, uint8_t exchange,
		      uint8_t flags, uint32_t msgid);
/* A bare chain (the inside of an SK payload): byte 0 holds the first type
 * and is not part of the chain; ike_buf_chain() returns the chain. */
void ike_buf_init_chain(struct ike_buf *b);
void ike_buf_pl_begin(struct ike_buf *b, uint8_t type);
void ike_buf_pl_end(struct ike_buf *b);
void ike_buf_put(struct ike_buf *b, const void *data, size_t len);
void ike_buf_u8(struct ike_buf *b, uint8_t v);
void ike_buf_u16(struct ike_buf *b, uint16_t v);
void ike_buf_u32(struct ike_buf *b, uint32_t v);
void ike_buf_finish(struct ike_buf *b);     /* fills in the header's length */

/* Whole payloads. */
void ike_buf_notify(struct ike_buf *b, uint8_t proto, const uint8_t *spi, uint8_t spi_size,
		    uint16_t type, const void *data, size_t len);
void ike_buf_ke(struct ike_buf *b, uint16_t group, const uint8_t *pub, size_t len);
void ike_buf_nonce(struct ike_buf *b, const uint8_t *nonce, size_t len);
void ike_buf_id(struct ike_buf *b, uint8_t pl_type, const uint8_t *body, size_t len);
void ike_buf_auth(struct ike_buf *b, uint8_t method, const uint8_t *data, size_t len);
void ike_buf_ts(struct ike_buf *b, uint8_t pl_type, const struct sa_ts *ts);
void ike_buf_delete(struct ike_buf *b, uint8_t proto, const uint32_t *spis, uint16_t n);

/* SK payload (RFC 7296 3.14 with RFC 5282 / RFC 7634): appends to `msg`
 * (built with ike_buf_init_msg and nothing else yet) the encryption of the
 * chain in `inner`. key = 32-byte key || 4-byte salt. iv is the explicit
 * IV (never repeat it under one key). Returns 0 or -ENOSPC. */
int ike_sk_seal(struct ike_buf *msg, const struct ike_buf *inner, int alg, const uint8_t key[36],
		uint64_t iv);
/* Decrypts the SK payload of a parsed message in place (the buffer behind
 * m->raw must be writable: `buf`) and parses the inner chain into m.
 * Returns 0, -EBADMSG (authentication failed) or an ike_perr. */
int ike_sk_open(struct ike_msg *m, uint8_t *buf, int alg, const uint8_t key[36]);

const char *ike_exchange_name(int x);
const char *ike_notify_name(int n);

#endif
