/*
 * The shared-memory SA table: the one place that knows its layout.
 *
 * One POSIX shm object per member (mode 0600), attached by gwd, syncd, vrrp
 * and gwctl. Layout:
 *
 *   struct sa_table_hdr              magic, layout version, sizes, member id,
 *                                    role, epoch, in-sync flag, counters
 *   struct ike_sa_rec[ike_capacity]
 *   struct child_sa_rec[child_capacity]
 *   struct sa_moved + mark[child_capacity]   (layout 3) the data plane's
 *                                    marks of moving counters, for syncd
 *
 * Concurrency
 * - Writers of whole records (install, delete, rekey, sync apply) take the
 *   header's robust process-shared mutex, so a writer that dies does not
 *   wedge the others (EOWNERDEAD is recovered).
 * - Readers never lock: every record has a sequence count `seq` that a
 *   writer makes odd before it changes the record and even after
 *   (a seqlock). sa_table_read_child()/read_ike() copy a record and retry
 *   until they saw an even, unchanged count, so they never see half a record.
 * - Hot fields (the outbound sequence counter, the inbound replay top, packet
 *   counters) are 64-bit atomics updated in place by the data plane outside
 *   the seqlock; readers that need them read them with atomic loads.
 * - hdr.table_gen moves on every add and delete, so a process that keeps its
 *   own index (gwd's SPI hash) knows when to rebuild it.
 *
 * A record's slot does not move while it is in use; it is found again by
 * index, and an index together with the record's `gen` (bumped on every
 * reuse of the slot) names one SA for its whole life.
 */
#ifndef HAGW_SA_TABLE_H
#define HAGW_SA_TABLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "counters.h"

#define SA_TABLE_MAGIC          0x48414757u /* "HAGW" */
#define SA_TABLE_LAYOUT_VERSION 3u

#define SA_KEY_MAX       32 /* AEAD key bytes (AES-256, ChaCha20) */
#define SA_SALT_LEN      4  /* RFC 4106 / RFC 7634 salt */
#define SA_IKE_KEY_MAX   36 /* SK_e: key + salt for the AEAD suites */
#define SA_PRF_KEY_MAX   32 /* SK_d, SK_p: HMAC-SHA2-256 output size */
#define SA_NONCE_MAX     64
#define SA_REPLAY_WORDS  32 /* RFC 6479 ring: 32 x 64 bits */
#define SA_REPLAY_MAX_WINDOW ((SA_REPLAY_WORDS - 1) * 64) /* 1984 */
#define SA_M_HISTORY     32 /* room for the M window (config, default 16) */
#define SA_NAME_MAX      32

enum sa_role {
	SA_ROLE_STANDBY = 0,
	SA_ROLE_ACTIVE  = 1,
};

/* ESP and IKE encryption transforms (the values are ours, not IANA's). */
enum sa_alg {
	SA_ALG_NONE              = 0,
	SA_ALG_AES_GCM_16_256    = 1, /* RFC 4106, 32-byte key + 4-byte salt */
	SA_ALG_CHACHA20_POLY1305 = 2, /* RFC 7634, 32-byte key + 4-byte salt */
};

enum sa_state {
	SA_STATE_FREE      = 0,
	SA_STATE_LARVAL    = 1, /* being negotiated; not used by the data plane */
	SA_STATE_INSTALLED = 2, /* in use both ways */
	SA_STATE_REKEYED   = 3, /* replaced by a newer SA: receives, does not send */
};

/* Child SA flags. */
enum {
	SA_F_ESN          = 1u << 0, /* RFC 4304 64-bit sequence numbers */
	SA_F_MANUAL       = 1u << 1, /* keyed from the config: cannot be rekeyed */
	SA_F_REKEY_NEEDED = 1u << 2, /* counter at/above the rekey threshold */
	SA_F_BLOCKED      = 1u << 3, /* counter at the ceiling: sends nothing */
	SA_F_THRESHOLD    = 1u << 4, /* threshold crossing already counted */
	SA_F_INITIATOR    = 1u << 5, /* we initiated the Child SA */
	/* The promotion (promote.h): this member's inbound window restarts
	 * at the SA's next packet, before its replay check (gwd). Local to the
	 * member: syncd neither sends nor overwrites it. */
	SA_F_REPLAY_RESET = 1u << 6,
};

/* Child SA flags that describe this member's copy, not the SA. */
#define SA_F_LOCAL SA_F_REPLAY_RESET

/* IKE SA flags. */
enum {
	IKE_F_INITIATOR     = 1u << 0,
	IKE_F_PEER_MSGID_SYNC = 1u << 1, /* peer sent IKEV2_MESSAGE_ID_SYNC_SUPPORTED */
	IKE_F_NAT_T         = 1u << 2,
	/* Set at promotion for peers with IKE_F_PEER_MSGID_SYNC: the last
	 * exchange may not have been synced; gwd starts an RFC 6311
	 * IKEV2_MESSAGE_ID_SYNC and clears it. */
	IKE_F_MSGID_SYNC_NEEDED = 1u << 3,
};

/* A traffic selector: one IPv4 prefix (host order). */
struct sa_ts {
	uint32_t addr;
	uint8_t  plen;
	uint8_t  pad_[3];
};

/* The RFC 6479 window; replay.h works on it. */
struct sa_replay {
	uint64_t top;                      /* highest authenticated number */
	uint64_t bitmap[SA_REPLAY_WORDS];  /* ring of 64-bit words */
};

struct sa_keymat {
	uint8_t key[SA_KEY_MAX];
	uint8_t salt[SA_SALT_LEN];
};

/* Per-SA counters the data plane updates in place. */
struct sa_counters {
	_Atomic uint64_t tx_packets, tx_bytes;
	_Atomic uint64_t rx_packets, rx_bytes;
	_Atomic uint64_t drop_replay, drop_auth, drop_selector, drop_blocked;
	_Atomic uint64_t drop_malformed;
};

/*
 * A Child SA pair. The first cache line holds everything a pass over every
 * SA reads (syncd's sender every interval, the promotion of a standby with
 * up to a million SAs): with it first and records 64-byte aligned, such a
 * pass touches one line per SA instead of scattered fields.
 */
struct child_sa_rec {
	/* --- line 0: the hot fields --- */
	_Alignas(64) _Atomic uint32_t seq; /* seqlock: odd while being written */
	uint32_t gen;               /* bumped each time the slot is reused */
	uint32_t state;             /* enum sa_state */
	_Atomic uint32_t flags;     /* SA_F_* */

	/* Outbound: the last sequence number used (the next is out_seq + 1). */
	_Atomic uint64_t out_seq;

	/* Nonce safety: IV = member id | activation | sequence (esp.h). */
	_Atomic uint32_t activation;
	uint32_t replay_window;     /* inbound window size in packets */

	/* Sync state, kept by syncd on the standby (mwin.h): S_0 is the last
	 * synced outbound counter, received at s0_ms (monotonic); in_s0 the
	 * last synced inbound replay top; m_peak and m_peak_in the peak
	 * increments per sync interval over the M window, saturated to 32 bits
	 * (billions of packets in one interval are not a real rate). */
	uint64_t s0, s0_ms;
	uint64_t in_s0;
	uint32_t m_peak, m_peak_in;

	/* --- line 1 on: inbound RFC 6479 replay state (replay.h), written by
	 * gwd only. Other processes read replay.top with sa_replay_top(). --- */
	struct sa_replay replay;

	char     name[SA_NAME_MAX]; /* config section or IKE peer name */
	uint32_t ike_idx;           /* owning IKE SA slot + 1; 0 = none (manual) */
	uint32_t spi_in, spi_out;   /* host order */
	uint8_t  alg;               /* enum sa_alg */
	uint8_t  pad0_[3];
	struct sa_keymat key_in, key_out;
	struct sa_ts ts_local, ts_remote;
	uint32_t peer_addr;         /* outer address of the peer, host order */
	uint16_t peer_port;
	uint16_t pad1_;

	/* Lifetimes: 0 = unlimited. Times are CLOCK_REALTIME ms. */
	uint64_t created_ms;
	uint64_t life_soft_ms, life_hard_ms;
	uint64_t life_soft_packets, life_hard_packets;

	/* The M window (mwin.h): one bucket per sync interval of the active
	 * in which the SA moved, newest at m_head. */
	uint32_t m_head, m_count;
	uint64_t m_inc[SA_M_HISTORY];
	uint64_t m_ms[SA_M_HISTORY];
	uint64_t in_m_inc[SA_M_HISTORY];

	struct sa_counters ctr;
};

struct ike_sa_rec {
	_Atomic uint32_t seq;
	uint32_t gen;
	uint32_t state;             /* enum sa_state (LARVAL while negotiating) */
	uint32_t flags;             /* IKE_F_* */

	char     name[SA_NAME_MAX];
	uint64_t spi_i, spi_r;
	uint8_t  enc_alg;           /* enum sa_alg */
	uint8_t  prf_alg;           /* 1 = HMAC-SHA2-256 */
	uint16_t peer_port;
	uint32_t peer_addr, local_addr;
	uint8_t  sk_d[SA_PRF_KEY_MAX];
	uint8_t  sk_ei[SA_IKE_KEY_MAX], sk_er[SA_IKE_KEY_MAX];
	uint8_t  sk_pi[SA_PRF_KEY_MAX], sk_pr[SA_PRF_KEY_MAX];
	uint8_t  sk_len;            /* bytes used in sk_d, sk_p */
	uint8_t  pad0_[3];

	/* Message IDs (RFC 7296 2.2): next request we send, next request we
	 * expect from the peer. Synced on every exchange. */
	_Atomic uint32_t msgid_out;
	_Atomic uint32_t msgid_in;
	uint64_t created_ms;
};

/* The header. Counters are gateway-wide (counters.h names them). */
struct sa_table_hdr {
	uint32_t magic;
	uint32_t layout_version;
	uint32_t hdr_size, child_rec_size, ike_rec_size;
	uint32_t child_capacity, ike_capacity;
	uint32_t member_id;

	_Atomic uint32_t role;        /* enum sa_role */
	_Atomic uint32_t in_sync;     /* 1 once syncd holds a full snapshot */
	_Atomic uint64_t epoch;       /* bumped on every promotion */
	_Atomic uint64_t table_gen;   /* bumped on every add/delete */
	_Atomic uint32_t child_count, ike_count;
	_Atomic uint32_t sync_frozen; /* 1: syncd must not apply (promotion) */
	_Atomic uint32_t gwd_pid, syncd_pid, vrrp_pid;
	_Atomic uint64_t gwd_started_ms;

	pthread_mutex_t lock;         /* robust, process-shared: writers only */

	_Atomic uint64_t ctr[CTR_MAX];

	/* Free-form status blocks owned by one daemon each, read by gwctl. */
	uint8_t vrrp_status[512];
	uint8_t sync_status[1024];
	uint8_t failover_status[1024];
};

/*
 * Marks of moving counters, after the Child SA records. The data plane
 * (gwd) bumps a Child slot's mark whenever its outbound sequence counter
 * or inbound replay top crosses a multiple of 2^(shift - 1); shift 0: it
 * does not mark. The active's syncd compares the marks, a dense array,
 * with its own copy to find the SAs that may have moved packet_threshold
 * since it last sent them, instead of reading two lines of every record
 * several times per interval (syncd/tx.c). Only the data plane writes a
 * mark; a counter moved by anything else is found at the next interval.
 */
struct sa_moved {
	_Atomic uint32_t shift;
	uint32_t pad_[15];
	_Atomic uint16_t mark[];   /* per Child slot; only changes matter */
};

struct sa_table {
	struct sa_table_hdr *hdr;
	struct ike_sa_rec *ike;
	struct child_sa_rec *child;
	size_t map_len;
	char name[64];
	struct sa_moved *moved;
};

/* Creates (or re-creates on a capacity change) and attaches. Returns 0 or
 * -errno; on a layout mismatch with an existing object it is replaced only
 * when `replace` is set, else -EPROTO. */
int  sa_table_create(struct sa_table *t, const char *name, uint32_t member_id,
		     uint32_t child_capacity, uint32_t ike_capacity);
/* Attaches to an existing table. -ENOENT if there is none yet, -EPROTO on a
 * magic or layout-version mismatch (with a message in errbuf). */
int  sa_table_attach(struct sa_table *t, const char *name, int writable,
		     char *errbuf, size_t errlen);
void sa_table_detach(struct sa_table *t);
int  sa_table_unlink(const char *name);
size_t sa_table_size(uint32_t child_capacity, uint32_t ike_capacity);

void sa_table_lock(struct sa_table *t);
void sa_table_unlock(struct sa_table *t);

/* Writers, with the lock held. begin/end bracket changes to one record. */
void sa_rec_write_begin(_Atomic uint32_t *seq);
void sa_rec_write_end(_Atomic uint32_t *seq);

/* Allocates a free Child/IKE slot (state LARVAL, gen bumped, zeroed).
 * Returns the index or -ENOSPC. Lock held. */
int  sa_table_alloc_child(struct sa_table *t);
int  sa_table_alloc_ike(struct sa_table *t);
/* The same, scanning from slot `start` (wrapping): bulk fillers pass the
 * slot after the last one they took. */
int  sa_table_alloc_child_from(struct sa_table *t, uint32_t start);
int  sa_table_alloc_ike_from(struct sa_table *t, uint32_t start);
/* Marks a slot INSTALLED / frees it; both move table_gen. Lock held. */
void sa_table_publish_child(struct sa_table *t, uint32_t idx);
void sa_table_free_child(struct sa_table *t, uint32_t idx);
void sa_table_publish_ike(struct sa_table *t, uint32_t idx);
void sa_table_free_ike(struct sa_table *t, uint32_t idx);

/* Lock-free consistent copies. Return 0, or -EAGAIN after too many retries. */
int  sa_table_read_child(const struct sa_table *t, uint32_t idx, struct child_sa_rec *out);
int  sa_table_read_ike(const struct sa_table *t, uint32_t idx, struct ike_sa_rec *out);

/* A zeroed, line-aligned Child SA record on the heap (a copy to read
 * into); free() it. Plain malloc() is not aligned enough for the type. */
struct child_sa_rec *sa_child_rec_new(void);

/* Lookups by SPI (linear; for tools and control paths, not per packet). */
int  sa_table_find_child_by_spi(const struct sa_table *t, uint32_t spi);

static inline uint64_t sa_ctr_get(const struct sa_table *t, int c)
{
	return atomic_load_explicit(&t->hdr->ctr[c], memory_order_relaxed);
}
static inline void sa_ctr_add(struct sa_table *t, int c, uint64_t n)
{
	atomic_fetch_add_explicit(&t->hdr->ctr[c], n, memory_order_relaxed);
}

static inline uint64_t sa_replay_top(const struct child_sa_rec *r)
{
	return __atomic_load_n(&r->replay.top, __ATOMIC_RELAXED);
}

/* Marks every 2^k: k from the sync packet threshold (the largest power of
 * two not above it), so that an SA that moved the threshold since syncd
 * last looked has crossed at least one multiple. */
void sa_moved_start(struct sa_table *t, uint32_t packet_threshold);

/* The data plane moved a counter of Child slot idx from `from` to `to`
 * (one writer per SA: a plain increment of the mark, released after the
 * counter's store). */
static inline void sa_moved_note(struct sa_table *t, uint32_t idx, uint64_t from, uint64_t to)
{
	uint32_t s = atomic_load_explicit(&t->moved->shift, memory_order_relaxed);

	if (s && (to >> (s - 1)) != (from >> (s - 1))) {
		_Atomic uint16_t *m = &t->moved->mark[idx];

		atomic_store_explicit(m, (uint16_t)(atomic_load_explicit(m, memory_order_relaxed) + 1),
				      memory_order_release);
	}
}

const char *sa_alg_name(int alg);
int  sa_alg_from_name(const char *s);
const char *sa_role_name(int role);
const char *sa_state_name(int state);

#endif
