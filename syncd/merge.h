/*
 * Monotonic merge of synced state into a record (pure: no locks; the
 * caller holds the table lock and the record's seqlock).
 *
 * A counter (outbound sequence number, inbound replay top), a message ID
 * or an activation count only ever moves up: a lower value from the peer
 * is refused and reported, and the record keeps what it had. Static fields
 * (keys, selectors, lifetimes) are copied as sent.
 */
#ifndef HAGW_SYNC_MERGE_H
#define HAGW_SYNC_MERGE_H

#include <stdint.h>

#include "codec.h"
#include "sa_table.h"

/* Raises *p to v. Returns 1 if v was below the current value (refused). */
int  sync_merge_u64(_Atomic uint64_t *p, uint64_t v);
int  sync_merge_u32(_Atomic uint32_t *p, uint32_t v);
/* The inbound replay top, which gwd writes with plain stores under
 * __atomic loads (sa_replay_top): raised with a CAS. */
int  sync_merge_top(struct sa_replay *r, uint64_t v);

/* Outbound counter and replay top; returns how many of them went back. */
int  sync_merge_counters(struct child_sa_rec *r, uint64_t out_seq, uint64_t in_top);

/* 1 if the message names the same SA as the record (SPIs, algorithm, keys):
 * then its counters merge; else the record is replaced as a whole. */
int  sync_child_same(const struct child_sa_rec *r, const struct sync_child *m);
/* Copies the static fields; counters merge monotonic. Returns the number
 * of counters that went back. ike_idx is the local IKE slot + 1, or 0. */
int  sync_merge_child(struct child_sa_rec *r, const struct sync_child *m, uint32_t ike_idx);
/* Content checks beyond the codec's ranges; 0 or -EINVAL. */
int  sync_child_valid(const struct sync_child *m);

int  sync_ike_same(const struct ike_sa_rec *r, const struct sync_ike *m);
int  sync_merge_ike(struct ike_sa_rec *r, const struct sync_ike *m);
int  sync_merge_msgids(struct ike_sa_rec *r, uint32_t msgid_out, uint32_t msgid_in);

#endif
