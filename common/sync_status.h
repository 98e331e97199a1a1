/*
 * syncd's status block, kept in the shm header's sync_status[] bytes and
 * read by gwctl. syncd is its only writer: it publishes a whole copy under
 * the block's own sequence count (odd while writing), so a reader copies
 * it and retries until it saw an even, unchanged count.
 */
#ifndef HAGW_SYNC_STATUS_H
#define HAGW_SYNC_STATUS_H

#include <stdatomic.h>
#include <stdint.h>

#include "sa_table.h"

#define SYNC_STATUS_VERSION 1

enum sync_link_state {
	SYNC_LINK_DOWN       = 0, /* not started, or stopped */
	SYNC_LINK_CONNECTING = 1,
	SYNC_LINK_HANDSHAKE  = 2,
	SYNC_LINK_OPEN       = 3, /* authenticated */
	SYNC_LINK_BACKOFF    = 4, /* waiting before the next connect */
	SYNC_LINK_LISTENING  = 5, /* waiting for the peer to connect */
};

struct sync_status {
	_Atomic uint32_t seq;
	uint32_t version;            /* SYNC_STATUS_VERSION */
	uint32_t pid;
	uint32_t link;               /* enum sync_link_state */
	uint32_t local_addr, peer_addr;
	uint16_t port;
	uint8_t  initiator;          /* we connect (lower address) */
	uint8_t  in_sync;
	uint32_t peer_member;
	uint32_t peer_role;          /* enum sa_role, valid when hello seen */
	uint32_t peer_hello;         /* 1 once the peer's hello arrived */
	uint64_t peer_epoch;
	uint64_t open_ms;            /* CLOCK_MONOTONIC ms the link opened */
	uint64_t last_rx_ms;         /* last frame from the peer */
	uint64_t last_update_ms;     /* last state message applied */
	uint64_t msgs_tx, msgs_rx, bytes_tx, bytes_rx;
	uint64_t connects, disconnects;
	uint64_t bulks_tx, bulks_rx;
	uint64_t bulk_last_n, bulk_last_us; /* size and duration of the last one */
	uint64_t applied_add, applied_del, applied_ctr, applied_ike;
	uint64_t add_lag_ms_last;    /* wall clock: created on the active -> applied */
	uint64_t ctr_lag_ms_last, ctr_lag_ms_max; /* sampled on the active -> applied */
	uint64_t send_queue_bytes, send_queue_max;
	uint32_t interval_ms, packet_threshold, m_window;
	uint32_t pad_;
};
_Static_assert(sizeof(struct sync_status) <= sizeof(((struct sa_table_hdr *)0)->sync_status),
	       "sync_status must fit the shm header's block");

void sync_status_publish(struct sa_table *t, const struct sync_status *s);
/* 0, or -EAGAIN if the writer kept it busy; -ENOENT if syncd never wrote. */
int  sync_status_read(const struct sa_table *t, struct sync_status *out);
const char *sync_link_name(uint32_t link);

#endif
