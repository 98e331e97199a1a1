/*
 * The report of the last promotion, kept in the shm header's
 * failover_status block and read by `gwctl failover last` (and by gwd,
 * which restarts each inbound window lazily with the parameters recorded
 * here: promote.h).
 *
 * The promoting process (vrrp) writes the whole block under its sequence
 * count (odd while writing); readers copy it and retry until they saw an
 * even, unchanged count. The rekey counters at the end are the exception:
 * gwd adds to them with atomic increments as the queued rekeys complete,
 * outside the sequence count, and a new promotion starts them at zero.
 */
#ifndef HAGW_FAILOVER_STATUS_H
#define HAGW_FAILOVER_STATUS_H

#include <stdatomic.h>
#include <stdint.h>

struct sa_table;

#define FAILOVER_STATUS_VERSION 1
#define FAILOVER_EPOCH_PENDING  UINT64_MAX /* the role has not flipped yet */
#define FAILOVER_MEMBER_UNKNOWN UINT32_MAX

struct failover_status {
	_Atomic uint32_t seq;          /* seqlock */
	uint32_t version;              /* FAILOVER_STATUS_VERSION; 0 = never written */
	uint64_t count;                /* promotions recorded in this table */
	uint64_t wall_ms;              /* when: CLOCK_REALTIME ms at the start */
	uint64_t mono_ms;              /* the same instant, CLOCK_MONOTONIC: the "now" of every age */
	char     reason[64];           /* why (the caller's words) */
	uint32_t member_id;            /* this member */
	uint32_t prev_active;          /* the member that was ACTIVE (syncd's peer), or UNKNOWN */
	uint64_t epoch_prev, epoch_new; /* epoch_new PENDING until the role flipped */

	/* The parameters the promotion used (and gwd's inbound restart uses). */
	uint32_t strategy;             /* enum conf_failover_strategy */
	uint32_t inbound;              /* enum conf_failover_inbound */
	uint32_t x_milli, interval_ms;
	uint32_t m_min, threshold_pct;
	uint32_t rekey_rate, pad0_;

	/* What it found and did. */
	uint64_t scanned;              /* Child SA slots read */
	uint64_t child_sas;            /* INSTALLED (outbound) */
	uint64_t inbound_sas;          /* INSTALLED + REKEYED (receiving) */
	uint64_t seeded;               /* outbound counters moved */
	uint64_t advance_max;          /* largest move of a counter */
	uint64_t advance_median;       /* median move, within 1/32 (histogram) */
	uint64_t k_max;                /* largest k (stale S_0) */
	uint64_t stale;                /* SAs seeded with k > 1 */
	uint64_t never_synced;         /* no S_0: seeded from their own counter */
	uint64_t rekey_queued;         /* REKEY_NEEDED and rekeyable: gwd's queue */
	uint64_t rekey_new;            /* of those, flagged by this promotion */
	uint64_t blocked;              /* BLOCKED: send nothing until rekeyed */
	uint64_t cannot_rekey;         /* manually keyed at the threshold/ceiling */
	uint64_t act_last;             /* at their last IV activation */
	uint64_t inbound_restart;      /* windows to restart at their first packet */
	uint64_t inbound_adv_max;      /* strict: largest raise of a window above its synced top */
	uint64_t ike_sas;
	uint64_t ike_msgid_sync;       /* flagged for an RFC 6311 message-ID sync */
	uint64_t ike_no_msgid_sync;    /* peer without RFC 6311 support */
	uint64_t scan_us;              /* the pass over the table */
	uint64_t duration_us;          /* start to role ACTIVE: no packet left before */

	/* gwd, as it works through the queue (atomic adds). */
	_Atomic uint64_t rekeys_started, rekeys_done, rekeys_failed;
};

_Static_assert(sizeof(struct failover_status) <= 1024, "failover_status must fit the shm block");

/* The promoting process only: copy `s` into the block. The first publish of
 * a promotion (epoch_new PENDING) also starts the rekey counters at zero. */
void failover_status_publish(struct sa_table *t, const struct failover_status *s);
/* Everyone: a consistent copy. 0, or -EAGAIN if the writer kept moving. */
int  failover_status_read(const struct sa_table *t, struct failover_status *out);
/* gwd: one queued rekey started / finished (ok) / failed. */
void failover_status_rekey_started(struct sa_table *t);
void failover_status_rekey_result(struct sa_table *t, int ok);

#endif
