/*
 * syncd's private header: the daemon's state and its modules.
 *
 *   codec.c   messages <-> msgpack (pure)       chan.c   PSK handshake, frames (pure)
 *   merge.c   monotonic merge (pure)            index.c  SPI -> slot hash
 *   tx.c      ACTIVE: scan the table, send      rx.c     STANDBY: apply, M window
 *   link.c    TCP, connect/accept, backoff, queues, heartbeats, status
 *   main.c    options, config, table, loop
 */
#ifndef HAGW_SYNCD_H
#define HAGW_SYNCD_H

#include <stdint.h>
#include <uv.h>

#include "chan.h"
#include "codec.h"
#include "config.h"
#include "index.h"
#include "mwin.h"
#include "sa_table.h"
#include "sync_status.h"

/* --- tx.c: what the peer has been told, per slot of our table --- */
struct tx_child {
	uint32_t gen, seq, flags, spi_in, spi_out;
	uint8_t  present;
	uint8_t  watched;            /* in the watch list (tx_ctr_marked) */
	uint64_t sent_out, sent_in;
};

struct tx_ike {
	uint32_t gen, seq;
	uint8_t  present;
	uint64_t spi_i, spi_r;
	uint32_t mo, mi;
};

/* Sends one message; returns 0 or -errno (the link is then going down). */
typedef int (*sync_send_fn)(void *arg, const struct sync_msg *m);
/* 1 while the peer's send queue has room for more than heartbeats. */
typedef int (*sync_room_fn)(void *arg);

struct sync_tx {
	struct sa_table *t;
	const struct conf_sync *cfg;
	sync_send_fn send;
	sync_room_fn room;
	void *arg;
	struct tx_child *child;
	struct tx_ike *ike;
	int running;                 /* we are ACTIVE, the peer STANDBY */
	int bulk;                    /* a snapshot is being sent */
	int stalled;                 /* the last pump stopped for want of room */
	uint32_t cur_ike, cur_child; /* its cursors */
	uint32_t bulk_nc, bulk_ni;
	uint64_t bulk_id, bulk_start_ns, bulk_done_ms;
	uint64_t gen_seen;           /* table_gen the shadow matches */
	int gen_valid;
	uint32_t hwm_child, hwm_ike; /* no slot at or above is in use */
	uint64_t tick, tick_start_ms;
	uint8_t *ctr_raw;            /* SYNC_CTR_PER_MSG entries */
	uint8_t *ctr_slots;          /* and their slots */
	uint8_t *ctr_cmp;            /* or compact entries, cmp_len bytes */
	size_t cmp_len;
	uint64_t cmp_base;           /* the last compact entry's slot + 1 */
	uint32_t ctr_n;
	uint32_t peer_caps;          /* the peer's HELLO "cap", set before start */
	uint16_t *mark_seen;         /* per slot: the data plane's mark we last saw */
	uint32_t *watch, n_watch;    /* slots marked since they were last sent */
	int compact;                 /* this session sends "e" */
	uint64_t bulks;
};

int  sync_tx_init(struct sync_tx *x, struct sa_table *t, const struct conf_sync *cfg,
		  sync_send_fn send, sync_room_fn room, void *arg);
void sync_tx_free(struct sync_tx *x);
/* Starts a session: a fresh bulk snapshot (the peer's view is unknown). */
int  sync_tx_start(struct sync_tx *x, uint64_t bulk_id);
void sync_tx_stop(struct sync_tx *x);
/* Sends what changed; flush: the interval is over, send every counter that
 * moved (else only those past packet_threshold). Returns 0 or -errno. */
int  sync_tx_pump(struct sync_tx *x, int flush);
int  sync_tx_bulk_done(const struct sync_tx *x);
/* 1 if the last pump left something unsent because the queue was full. */
int  sync_tx_stalled(const struct sync_tx *x);

/* --- rx.c: applying the active's state on the standby --- */
/* Where the active's slot lives here: our slot + 1 (0: unknown), its
 * generation and inbound SPI when the active's CHILD_ADD put it there. */
struct rx_peer_slot {
	uint32_t idx1, gen, spi;
};
#define SYNC_PEER_SLOTS_MAX (1u << 24) /* higher slots: found by SPI */

/* Per slot of our table: where the M peaks sit in its ring (mwin.h), and
 * what the record looked like after our last update of it; anything else
 * found there (another SA in the slot, a ring or peak written by someone
 * else) voids the hint and the update rescans. */
struct rx_hint {
	uint32_t gen;
	uint32_t m_peak, m_peak_in;
	uint8_t  m_head, m_count;
	struct mwin_hint h;
};

enum sync_rx_verdict {
	RX_OK = 0,
	RX_UNKNOWN_SA,
	RX_BACKWARDS,
	RX_FULL,
	RX_BAD_RECORD,
};

struct sync_rx {
	struct sa_table *t;
	const struct conf_sync *cfg;
	struct sync_index child, ike;
	uint64_t known_gen;
	int index_valid;
	uint32_t *mark_child, *mark_ike; /* bulk serial that last touched a slot */
	uint32_t serial;
	int in_bulk;
	uint64_t bulk_id;
	uint32_t next_child, next_ike;   /* allocation hints */
	uint64_t tick, tick_ms;          /* the active's tick -> our M bucket stamp */
	uint64_t ctr_back, ctr_unknown;  /* outcomes of the counters message at hand */
	struct rx_peer_slot *peer;       /* indexed by the active's slot */
	struct rx_hint *hint;            /* indexed by our slot */
	uint32_t n_peer;
	/* outcomes, for the status block */
	uint64_t applied_add, applied_del, applied_ctr, applied_ike;
	uint64_t add_lag_ms_last, ctr_lag_ms_last, ctr_lag_ms_max;
};

int  sync_rx_init(struct sync_rx *r, struct sa_table *t, const struct conf_sync *cfg);
void sync_rx_free(struct sync_rx *r);
void sync_rx_bulk_begin(struct sync_rx *r, uint64_t id);
/* Deletes what the snapshot did not name; returns how many. */
uint32_t sync_rx_bulk_end(struct sync_rx *r, uint64_t id);
/* Applies one message of state; counts its outcome in the table's counters. */
int  sync_rx_apply(struct sync_rx *r, const struct sync_msg *m);

/* --- link.c: the connection to the peer --- */
#define SYNC_MAX_HANDSHAKES 4
#define SYNC_CHUNK          (64 * 1024 + SYNC_FRAME_HDR + SYNC_TAG_LEN)

struct sync_chunk;

struct sync_conn {
	uv_tcp_t tcp;
	uv_connect_t creq;
	struct syncd *d;
	struct sync_chan ch;
	int initiator;
	int closing;
	int open;                     /* authenticated */
	int tcp_up;                   /* connected (initiator) */
	uint32_t peer_ip;
	uint8_t *rbuf;                /* SYNC_FRAME_HDR + SYNC_FRAME_MAX */
	size_t rlen;
	struct sync_chunk *cur;       /* frames not yet handed to uv_write */
	size_t queued;                /* bytes in chunks, written or not */
	uint64_t started_ms, last_rx_ms;
	int peer_hello;
	uint32_t peer_role, peer_member, peer_in_sync;
	uint32_t peer_caps;           /* its HELLO "cap" (SYNC_CAP_*) */
	int batching;                 /* the peer takes frames of several messages */
	uint8_t *batch;               /* messages for the next frame (SYNC_MSG_MAX) */
	size_t batch_len;
	uint64_t peer_epoch;
};

struct syncd {
	struct config cfg;
	struct sa_table t;
	uv_loop_t *loop;
	uv_tcp_t listener;
	int listening;
	int initiator;                /* our address is the lower: we connect */
	struct sync_conn *conn;       /* the authenticated session, or NULL */
	struct sync_conn *hs[SYNC_MAX_HANDSHAKES];
	struct sync_conn *connecting;
	uv_timer_t scan_timer, retry_timer;
	uv_signal_t sig_term, sig_int;
	uint32_t backoff_ms;
	int retry_armed;
	struct sync_tx tx;
	struct sync_rx rx;
	int rx_synced;                /* complete snapshot applied this session */
	uint32_t role;
	uint64_t epoch;
	uint64_t last_flush_ms, last_hb_ms;
	uint64_t bulk_rx_start_ns, bulk_rx_adds;
	uint64_t bulk_seq;
	struct sync_status st;
	uint8_t *msgbuf;              /* SYNC_MSG_MAX: encode scratch */
	uint8_t *rxbuf;               /* SYNC_MSG_MAX: a received frame, opened */
	struct sync_chunk *chunk_pool;  /* free write chunks (link.c) */
	uint32_t chunk_pooled;
	int stopping;
};

int  sync_link_start(struct syncd *d);
void sync_link_stop(struct syncd *d);
/* After the loop ran the closes: frees what the link kept. */
void sync_link_free(struct syncd *d);
void sync_link_publish(struct syncd *d);

#endif
