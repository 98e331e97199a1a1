/*
 * M, the traffic history behind counter seeding (DESIGN.md, promotion step
 * 2), kept per Child SA on the standby by syncd and read by the failover.
 *
 * The record fields (sa_table.h): S_0 = s0 (outbound) / in_s0 (inbound
 * replay top) is the last synced value, received at s0_ms (CLOCK_MONOTONIC
 * ms of the standby). The ring m_inc[] / in_m_inc[] / m_ms[] holds one
 * bucket per sync interval (tick) of the active in which the SA moved: the
 * increment over that interval and the standby's time stamp of that tick.
 * m_head is the newest bucket, m_count how many are valid (at most the
 * window N); the storage ring is SA_M_HISTORY long whatever N is.
 *
 * Why buckets per tick and not one entry per update: an SA that moves more
 * than packet_threshold per interval is updated several times per interval,
 * and the M the failover needs is the traffic of a whole interval. Updates
 * of one tick carry the same tick stamp and add up in one bucket.
 *
 * Why idle intervals leave no bucket: the active sends an SA in every tick
 * in which it moved, so an increment that arrives after a quiet spell
 * happened within that one tick; spreading it over the quiet spell would
 * understate a burst. Only when the active's own tick lasted longer than an
 * interval (a late timer, a stalled sender) is the increment normalised to
 * one interval: inc * interval / span, rounded up.
 *
 * M = the peak bucket over the newest N buckets; every update also stores
 * it in m_peak / m_peak_in (the record's first cache line), so that a
 * promotion of a million SAs reads one line per SA. Pure functions: no locks,
 * the caller (syncd) holds the record's seqlock.
 */
#ifndef HAGW_MWIN_H
#define HAGW_MWIN_H

#include <stdint.h>

struct child_sa_rec;

/* Normalises an increment that accrued over span_ms to one interval. */
uint64_t mwin_norm(uint64_t inc, uint64_t span_ms, uint32_t interval_ms);

/* Sets S_0 without recording an increment (first sight of an SA, a bulk
 * snapshot after a reconnect: the gap has no known shape). Keeps the ring. */
void mwin_baseline(struct child_sa_rec *r, uint64_t out, uint64_t in, uint64_t now_ms);

/* One counter update that belongs to the tick stamped tick_ms and accrued
 * over span_ms of the active's time (0: within one interval). Values below
 * S_0 count as no movement (the merge has already refused them). Every
 * update leaves m_peak/m_peak_in equal to the peaks of the window. */
void mwin_update(struct child_sa_rec *r, uint64_t out, uint64_t in, uint64_t tick_ms,
		 uint64_t now_ms, uint64_t span_ms, uint32_t interval_ms, uint32_t window);

/*
 * The same, with the caller's memory of where the peaks sit in the ring
 * (kept per record between updates, outside the table): an update then
 * reads only the buckets it writes, instead of the whole window, and
 * rescans only when the peak's own bucket leaves the window. The result is
 * exactly mwin_update's. A hint is only good for the record it was made
 * on and as long as nothing else wrote the ring or the peaks: the caller
 * zeroes it (valid = 0) when the slot is reused or the record rewritten,
 * and the next update rescans.
 */
struct mwin_hint {
	uint8_t out, in;           /* ring positions of the peaks */
	uint8_t valid;
	uint8_t pad_;
};
void mwin_update_hint(struct child_sa_rec *r, uint64_t out, uint64_t in, uint64_t tick_ms,
		      uint64_t now_ms, uint64_t span_ms, uint32_t interval_ms, uint32_t window,
		      struct mwin_hint *hint);

/* Starts loading the ring lines the next mwin_update_hint of r reads and
 * writes (r->m_head must be in the cache already to be cheap). */
void mwin_prefetch(const struct child_sa_rec *r);

/* Peak per-interval increment over the newest `window` buckets. */
uint64_t mwin_peak(const struct child_sa_rec *r, uint32_t window);
uint64_t mwin_peak_in(const struct child_sa_rec *r, uint32_t window);

/* Age of S_0 at now_ms; UINT64_MAX if there is none yet. */
uint64_t mwin_age(const struct child_sa_rec *r, uint64_t now_ms);

#endif
