/*
 * The promotion sequence (DESIGN.md "The promotion sequence", reference 000),
 * run by vrrp on BACKUP -> MASTER:
 *
 *   promote_prepare()    1 syncd stops applying (sync_frozen)
 *                        2 seeding of every outbound counter
 *                        3 ceiling check: REKEY_NEEDED / BLOCKED
 *                        4 inbound windows marked to restart (policy)
 *                        5 IKE SAs flagged for an RFC 6311 message-ID sync
 *                        6 activation counts (nonce safety)
 *   promote_activate()   7 role ACTIVE, epoch + 1, the report published
 *   (vrrp)               8 VIPs, gratuitous ARPs
 *
 * Steps 2-6 are one pass over the first cache line of every Child SA
 * record, under the table lock; the decision for one SA is the pure
 * function promote_decide() (tests/test_promote.c drives it by rows).
 *
 * Strategies ([failover] strategy):
 *   seed          S_n = S_0 + X * max(M, M_min) * k, k = max(1, ceil(age(S_0)
 *                 / interval)); the counter becomes max(S_n, its current
 *                 value), so back-to-back promotions only move it forward.
 *                 An SA never synced (no S_0) moves X * max(M, M_min) from
 *                 its own counter. Rekeys only where the result is at or
 *                 past the rekey threshold.
 *   global-rekey  no seeding: the counter stays where the standby has it and
 *                 keeps sending while every Child SA is queued for a rekey
 *                 (what clusters without seeding do; the peer drops what
 *                 it has already seen until the new SA takes over).
 *   none          no seeding, no extra rekeys: resume from S_0.
 * Every strategy checks the ceiling and moves the activation count.
 *
 * Inbound ([failover] inbound): rewriting a million replay windows costs
 * ~60 ms of memory traffic (5 cache lines each), so the pass only sets
 * SA_F_REPLAY_RESET; gwd restarts the window at promote_inbound_top()
 * when the SA's next packet arrives, before that packet's replay check,
 * with the parameters recorded in the failover_status block.
 *   learn   the top becomes max(synced top, current top): numbers above it
 *           are accepted once (the old active may have accepted some of
 *           them: reference 000 section 5.2, RFC 6027 section 3.5).
 *   strict  the top becomes synced top + X * max(M_in, M_min) * k: nothing
 *           the old active may have accepted can be replayed; the peer's
 *           packets below that line are dropped.
 */
#ifndef HAGW_PROMOTE_H
#define HAGW_PROMOTE_H

#include <stdint.h>

#include "failover_status.h"
#include "seed.h"

struct sa_table;
struct config;
struct child_sa_rec;

struct promote_params {
	uint32_t strategy;         /* enum conf_failover_strategy */
	uint32_t inbound;          /* enum conf_failover_inbound */
	struct seed_params seed;   /* X, M_min, interval, threshold */
	uint64_t now_ms;           /* CLOCK_MONOTONIC: ages are measured to here */
	uint64_t ceiling[2];       /* last outbound number: [esn] */
	uint64_t threshold[2];     /* rekey threshold: [esn] */
	uint64_t k_recip;          /* ceil(2^64 / interval): k without a division */
};

/* The hot fields of a record (its first cache line) the decision reads. */
struct promote_sa {
	uint32_t flags, activation;
	uint64_t out_seq;
	uint64_t s0, s0_ms, in_s0;
	uint32_t m_peak, m_peak_in;
};

/* What promote_decide found (bits). */
enum {
	PROMOTE_V_SEEDED       = 1u << 0, /* the counter moved */
	PROMOTE_V_REKEY        = 1u << 1, /* REKEY_NEEDED, rekeyable: in gwd's queue */
	PROMOTE_V_REKEY_NEW    = 1u << 2, /* ... put there by this promotion */
	PROMOTE_V_BLOCKED      = 1u << 3, /* sends nothing until rekeyed */
	PROMOTE_V_CANNOT_REKEY = 1u << 4, /* manual SA that needs a rekey it cannot have */
	PROMOTE_V_NEVER_SYNCED = 1u << 5, /* no S_0 */
	PROMOTE_V_STALE        = 1u << 6, /* k > 1 */
	PROMOTE_V_ACT_LAST     = 1u << 7, /* at (or past) its last IV activation */
	PROMOTE_V_NEW_THRESHOLD = 1u << 8, /* crossed the threshold here (counted) */
	PROMOTE_V_NEW_BLOCKED  = 1u << 9, /* blocked here (counted) */
	PROMOTE_V_ALL          = (1u << 10) - 1,
};

struct promote_decision {
	uint64_t out_seq;          /* the new counter (last number used), >= the old */
	uint64_t advance;          /* out_seq - the old counter */
	uint64_t k;
	uint32_t flags;            /* the new SA_F_* */
	uint32_t activation;       /* the new activation count */
	uint32_t verdict;          /* PROMOTE_V_* */
};

/* The report, published in the failover_status block. */
struct promote_report {
	struct failover_status st;
	uint64_t t0_ns;            /* CLOCK_MONOTONIC at the start */
};

/* Parameters from the config (gw.rekey_threshold, [sync] interval_ms,
 * [failover]) at the monotonic instant now_ms. */
void promote_params_init(struct promote_params *p, const struct config *c, uint64_t now_ms);
/* The same from a published report (gwd's inbound restart). A block never
 * written gives learn. */
void promote_params_from_status(struct promote_params *p, const struct failover_status *s);

/* Steps 2, 3 and 6 for one INSTALLED Child SA. Pure. */
void promote_decide(const struct promote_params *p, const struct promote_sa *sa,
		    struct promote_decision *d);
/* Step 4: where an inbound window restarts, given its current top. Pure. */
uint64_t promote_inbound_top(const struct promote_params *p, const struct promote_sa *sa,
			     uint64_t replay_top);

/* gwd's side of step 4. The parameters of the last published promotion,
 * copied again only when the block changed (its sequence count moved). */
struct promote_params_cache {
	uint32_t seq;
	int valid;
	struct promote_params p;
};
const struct promote_params *promote_params_cached(const struct sa_table *t,
						   struct promote_params_cache *c);
/* Restarts the inbound window of a record flagged SA_F_REPLAY_RESET at
 * promote_inbound_top() and clears the flag. Only the window's writer
 * (gwd's receive path) calls it, before the packet's replay check. */
void promote_replay_restart(const struct promote_params *p, struct child_sa_rec *rec);

/* Steps 1-6 (see above). `why` is kept in the report. 0 or -errno. */
int promote_prepare(struct sa_table *t, const struct config *c, const char *why,
		    struct promote_report *r);
/* Step 7: role ACTIVE with a new epoch, then the report goes out with its
 * duration (start to role flip). Returns the new epoch. */
uint64_t promote_activate(struct sa_table *t, struct promote_report *r);

/* The last step of demotion, after the role is STANDBY and the VIPs are
 * gone: syncd may apply updates again. */
void promote_release(struct sa_table *t);

/* The advance histogram behind the report's median: 2048 buckets, exact
 * below 32, then 32 per power of two (a bucket is within 1/32 of its
 * values). Exposed for the tests. */
#define PROMOTE_HIST_BUCKETS 2048
uint32_t promote_hist_bucket(uint64_t v);
uint64_t promote_hist_value(uint32_t bucket); /* the bucket's midpoint */

#endif
