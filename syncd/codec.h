/*
 * The sync protocol's messages (pure: buffers in, structs out; no I/O).
 *
 * Framing (chan.h) carries one message per encrypted frame. A message is
 * one msgpack map with string keys. Every message has:
 *
 *   "v"  uint  protocol version, SYNC_PROTO_VERSION (anything else: refused)
 *   "t"  uint  type, enum sync_type (unknown types: skipped, link stays up)
 *
 * and then the keys of its type, all required (unknown keys are ignored,
 * so a later version may add some):
 *
 *   HELLO (1)       "id" member id, "lv" shm layout version, "ep" epoch,
 *                   "r" role (0 standby, 1 active), "cc" child capacity;
 *                   optional "cap": what the sender understands beyond
 *                   the first build (SYNC_CAP_*); absent: nothing
 *   BULK_BEGIN (2)  "b" bulk id, "nc" Child SAs, "ni" IKE SAs on the sender
 *   BULK_END (3)    "b" bulk id, "nc", "ni" as sent in this bulk
 *   CHILD_ADD (4)   the whole Child SA, keys included; also used to replace
 *                   one whose record changed (rekeyed, flags):
 *                   "n" name (str <32), "si"/"so" SPIs in/out, "a" alg,
 *                   "st" state, "f" flags, "w" replay window,
 *                   "ki"/"ko" key+salt in/out (bin 36 each),
 *                   "la"/"lp" local selector address/prefix length,
 *                   "ra"/"rp" remote selector, "pa"/"pp" peer address/port,
 *                   "cr" created (wall ms), "lsm"/"lhm" soft/hard lifetime
 *                   ms, "lsp"/"lhp" soft/hard lifetime packets,
 *                   "ac" activation, "os" outbound sequence counter,
 *                   "it" inbound replay top, "ii"/"ir" owning IKE SA SPIs
 *                   (0/0: none); optional "x": the sender's table slot,
 *                   which its counters entries repeat (see COUNTERS)
 *   CHILD_DEL (5)   "si", "so"
 *   IKE_ADD (6)     "n", "ii"/"ir" SPIs, "ea" enc alg, "pr" prf, "f" flags,
 *                   "st" state, "pa"/"pp" peer, "la" local address,
 *                   "kd" SK_d, "kei"/"ker" SK_e (bin 36), "kpi"/"kpr" SK_p,
 *                   "kl" SK_d/SK_p length, "mo"/"mi" message IDs, "cr"
 *   IKE_UPDATE (7)  "ii", "ir", "mo", "mi": sent on every exchange
 *   IKE_DEL (8)     "ii", "ir"
 *   COUNTERS (9)    "k" tick number, "sp" ms since the tick started on the
 *                   sender, "w" sender wall ms when sampled, and the
 *                   entries in one of two forms (exactly one present):
 *                   "c" bin of N fixed 20-byte entries, big endian:
 *                     spi_in (4) | outbound seq (8) | inbound replay top (8)
 *                   (a bin, not nested msgpack: one decode per message,
 *                   whatever N; N * 20 must equal the bin length);
 *                   with it, optional "x": bin of N 4-byte big-endian
 *                   sender slots, entry by entry, so that the receiver
 *                   finds each SA by position instead of by hash (it still
 *                   checks the SPI); or, only to a peer whose HELLO has
 *                   SYNC_CAP_CTR_COMPACT,
 *                   "e" bin of compact entries, back to back:
 *                     slot step (varint) | spi_in (4, big endian) |
 *                     outbound seq (varint) | inbound replay top (varint)
 *                   varints are LEB128 (7 bits a byte, low first, at most
 *                   10 bytes, no bits past 64); the first entry's slot is
 *                   its step, each next one's the previous + 1 + step, so
 *                   slots only go up and consecutive ones cost a byte. The
 *                   whole bin must be whole entries (checked on decode).
 *                   Values stay absolute (state, not deltas): a varint
 *                   only drops the high zero bytes of a counter.
 *   HEARTBEAT (10)  "k" tick, "ep" epoch, "r" role, "s" in sync (0/1)
 *
 * Optional keys ("x") may be absent (a sender of an earlier build): the
 * receiver then finds SAs by SPI alone. Sizes: a message is at most
 * SYNC_MSG_MAX bytes. Numbers are range
 * checked on decode (an SPI below 256, an algorithm we do not know, a
 * prefix length over 32, a bin of the wrong length: the message is
 * malformed). Before msgpack-c sees a message, sync_decode walks it once
 * and refuses containers that claim more elements than bytes remain, so a
 * short message cannot make the unpacker allocate for billions.
 */
#ifndef HAGW_SYNC_CODEC_H
#define HAGW_SYNC_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "sa_table.h"

#define SYNC_PROTO_VERSION 1
#define SYNC_MSG_MAX       65536
#define SYNC_CTR_ENTRY     20
#define SYNC_CTR_SLOT      4  /* bytes per entry in "x" */
/* Counter entries per message (with slots), leaving room for the map. */
#define SYNC_CTR_PER_MSG   ((SYNC_MSG_MAX - 256) / (SYNC_CTR_ENTRY + SYNC_CTR_SLOT))
#define SYNC_CTR_CMP_MAX   29 /* bytes of one compact entry at most: 5+4+10+10 */
#define SYNC_CTR_CMP_ROOM  (SYNC_MSG_MAX - 256) /* bytes of "e" per message */

/* HELLO "cap" bits. */
enum {
	SYNC_CAP_CTR_COMPACT = 1u << 0, /* decodes COUNTERS "e" */
	SYNC_CAP_BATCH       = 1u << 1, /* takes frames of several messages (chan.h) */
	SYNC_CAPS            = SYNC_CAP_CTR_COMPACT | SYNC_CAP_BATCH, /* all this build has */
};

enum sync_type {
	SYNC_HELLO      = 1,
	SYNC_BULK_BEGIN = 2,
	SYNC_BULK_END   = 3,
	SYNC_CHILD_ADD  = 4,
	SYNC_CHILD_DEL  = 5,
	SYNC_IKE_ADD    = 6,
	SYNC_IKE_UPDATE = 7,
	SYNC_IKE_DEL    = 8,
	SYNC_COUNTERS   = 9,
	SYNC_HEARTBEAT  = 10,
	SYNC_TYPE_MAX   = 10,
};

/* sync_decode results beside 0. */
enum {
	SYNC_UNKNOWN = 1,          /* well-formed, type we do not know: skip */
};

struct sync_hello {
	uint32_t member_id, layout_version, role, child_capacity;
	uint64_t epoch;
	uint32_t caps, has_caps;   /* "cap", optional */
};

struct sync_bulk {
	uint64_t id;
	uint32_t n_child, n_ike;
};

struct sync_child {
	char     name[SA_NAME_MAX];
	uint32_t spi_in, spi_out;
	uint32_t alg, state, flags, replay_window;
	struct sa_keymat key_in, key_out;
	uint32_t ts_local_addr, ts_remote_addr, peer_addr;
	uint32_t ts_local_plen, ts_remote_plen, peer_port;
	uint64_t created_ms, life_soft_ms, life_hard_ms, life_soft_packets, life_hard_packets;
	uint32_t activation;
	uint64_t out_seq, in_top;
	uint64_t ike_spi_i, ike_spi_r;
	uint32_t slot, has_slot;   /* "x", optional: the sender's slot */
};

struct sync_child_del {
	uint32_t spi_in, spi_out;
};

struct sync_ike {
	char     name[SA_NAME_MAX];
	uint64_t spi_i, spi_r;
	uint32_t enc_alg, prf_alg, flags, state, peer_addr, peer_port, local_addr, sk_len;
	uint8_t  sk_d[SA_PRF_KEY_MAX];
	uint8_t  sk_ei[SA_IKE_KEY_MAX], sk_er[SA_IKE_KEY_MAX];
	uint8_t  sk_pi[SA_PRF_KEY_MAX], sk_pr[SA_PRF_KEY_MAX];
	uint32_t msgid_out, msgid_in;
	uint64_t created_ms;
};

struct sync_ike_ref {
	uint64_t spi_i, spi_r;
	uint32_t msgid_out, msgid_in; /* IKE_UPDATE only */
};

struct sync_ctr_entry {
	uint32_t spi_in;
	uint64_t out_seq, in_top;
};

/* An entry with the sender's slot, as the iterator returns them. */
struct sync_ctr_slotted {
	struct sync_ctr_entry e;
	uint32_t slot, has_slot;   /* has_slot: the message named slots */
};

struct sync_counters {
	uint64_t tick, span_ms, wall_ms;
	uint32_t n;
	const uint8_t *raw;        /* n * SYNC_CTR_ENTRY bytes (into the buffer) */
	const uint8_t *slots;      /* n * SYNC_CTR_SLOT bytes, or NULL ("x" absent) */
	uint32_t n_slots;          /* decoding only: entries in "x" */
	const uint8_t *cmp;        /* "e": cmp_len bytes holding n entries, or NULL */
	uint32_t cmp_len;
};

/* Reads the entries of either form in order. */
struct sync_ctr_iter {
	const struct sync_counters *c;
	uint32_t i;
	uint32_t off;              /* into cmp */
	uint64_t slot;             /* next slot's base (cmp) */
};

struct sync_heartbeat {
	uint64_t tick, epoch;
	uint32_t role, in_sync;
};

struct sync_msg {
	uint32_t version;
	uint32_t type;
	union {
		struct sync_hello hello;
		struct sync_bulk bulk;
		struct sync_child child;
		struct sync_child_del child_del;
		struct sync_ike ike;
		struct sync_ike_ref ike_ref;
		struct sync_counters ctr;
		struct sync_heartbeat hb;
	} u;
};

/* Decodes the message at the start of buf (one of a batch) as sync_decode
 * does, with its length in *span (0 if it is not a whole msgpack value:
 * -EBADMSG, the rest of buf cannot be split). */
int  sync_decode_first(const uint8_t *buf, size_t len, struct sync_msg *m, size_t *span);

/* Encodes into buf; returns the length, or -ENOSPC, -EINVAL (bad type). */
int  sync_encode(const struct sync_msg *m, uint8_t *buf, size_t cap);
/* Decodes buf; 0, SYNC_UNKNOWN (m->type says which), -EBADMSG (malformed,
 * wrong shape, out of range), -EPROTONOSUPPORT (version), -EMSGSIZE. The
 * counters' raw entries point into buf. */
int  sync_decode(const uint8_t *buf, size_t len, struct sync_msg *m);

void sync_ctr_put(uint8_t *raw, uint32_t i, const struct sync_ctr_entry *e);
void sync_ctr_get(const struct sync_counters *c, uint32_t i, struct sync_ctr_entry *e);
/* Slot entries of "x": put into a buffer of SYNC_CTR_PER_MSG, read back
 * (c->slots must be set). */
void sync_ctr_put_slot(uint8_t *slots, uint32_t i, uint32_t slot);
uint32_t sync_ctr_slot(const struct sync_counters *c, uint32_t i);
/* Appends one compact entry for slot at p, the previous entry's slot + 1
 * being base (0 for the first); returns its length, at most
 * SYNC_CTR_CMP_MAX. Slots must go up. */
size_t sync_ctr_put_compact(uint8_t *p, uint64_t base, uint32_t slot, const struct sync_ctr_entry *e);
void sync_ctr_iter_init(struct sync_ctr_iter *it, const struct sync_counters *c);
/* The next entry (with its slot, if the message has them); 0, or -1 after
 * the last. The message was checked by sync_decode. */
int  sync_ctr_next(struct sync_ctr_iter *it, struct sync_ctr_slotted *s);

const char *sync_type_name(uint32_t type);

/* Record <-> message helpers (pure). */
struct child_sa_rec;
struct ike_sa_rec;
void sync_child_from_rec(struct sync_child *m, const struct child_sa_rec *r,
			 uint64_t out_seq, uint64_t in_top, uint64_t ike_i, uint64_t ike_r);
void sync_ike_from_rec(struct sync_ike *m, const struct ike_sa_rec *r);

#endif
