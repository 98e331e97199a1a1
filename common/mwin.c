#include "mwin.h"

#include "sa_table.h"

static uint64_t mwin_max(const struct child_sa_rec *r, const uint64_t *ring, uint32_t window);

static uint32_t sat32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

uint64_t mwin_norm(uint64_t inc, uint64_t span_ms, uint32_t interval_ms)
{
	unsigned __int128 x;

	if (span_ms <= interval_ms || interval_ms == 0)
		return inc;
	x = (unsigned __int128)inc * interval_ms + span_ms - 1;
	return (uint64_t)(x / span_ms);
}

void mwin_baseline(struct child_sa_rec *r, uint64_t out, uint64_t in, uint64_t now_ms)
{
	r->s0 = out;
	r->in_s0 = in;
	r->s0_ms = now_ms ? now_ms : 1;
}

/* The bucket at k of a ring now holds v: the peak (P, at *pos) follows it,
 * a tie moving to the newer bucket so that the peak leaves the window as
 * late as possible. */
static void mwin_raise(uint32_t *peak, uint8_t *pos, uint64_t v, uint32_t k)
{
	if (sat32(v) >= *peak) {
		*peak = sat32(v);
		*pos = (uint8_t)k;
	}
}

/* Peak and its bucket over the newest min(m_count, window) buckets. */
static void mwin_rescan(const struct child_sa_rec *r, const uint64_t *ring, uint32_t window,
			uint32_t *peak, uint8_t *pos)
{
	uint32_t n = r->m_count < window ? r->m_count : window, i;

	*peak = 0;
	*pos = (uint8_t)(r->m_head % SA_M_HISTORY);
	for (i = n; i-- > 0;) /* oldest first: ties go to the newest */
		mwin_raise(peak, pos, ring[(r->m_head % SA_M_HISTORY + SA_M_HISTORY - i) % SA_M_HISTORY],
			   (r->m_head % SA_M_HISTORY + SA_M_HISTORY - i) % SA_M_HISTORY);
}

/* The update as it was specified first: push, clamp, rescan the window. */
static void mwin_update_full(struct child_sa_rec *r, uint64_t d_out, uint64_t d_in,
			     uint64_t tick_ms, uint32_t window, struct mwin_hint *hint)
{
	uint32_t h;

	if (d_out || d_in) {
		h = r->m_head % SA_M_HISTORY;
		if (r->m_count && r->m_ms[h] == tick_ms) {
			r->m_inc[h] += d_out;
			r->in_m_inc[h] += d_in;
		} else {
			h = r->m_count ? (h + 1) % SA_M_HISTORY : 0;
			r->m_head = h;
			r->m_inc[h] = d_out;
			r->in_m_inc[h] = d_in;
			r->m_ms[h] = tick_ms;
			if (r->m_count < window)
				r->m_count++;
		}
	}
	if (r->m_count > window)
		r->m_count = window;
	mwin_rescan(r, r->m_inc, window, &r->m_peak, &hint->out);
	mwin_rescan(r, r->in_m_inc, window, &r->m_peak_in, &hint->in);
	hint->valid = window != 0;
}

/* The same with a valid hint (so m_count <= window, window >= 1): the window only changes by the bucket written and, when it was full, by
 * losing its oldest bucket, which forces a rescan only if a peak was there. */
static void mwin_update_fast(struct child_sa_rec *r, uint64_t d_out, uint64_t d_in,
			     uint64_t tick_ms, uint32_t window, struct mwin_hint *hint)
{
	uint32_t h = r->m_head % SA_M_HISTORY, old;
	int full;

	if (!d_out && !d_in)
		return;
	if (r->m_count && r->m_ms[h] == tick_ms) {
		r->m_inc[h] += d_out;
		r->in_m_inc[h] += d_in;
		mwin_raise(&r->m_peak, &hint->out, r->m_inc[h], h);
		mwin_raise(&r->m_peak_in, &hint->in, r->in_m_inc[h], h);
		return;
	}
	full = r->m_count == window;
	old = (h + SA_M_HISTORY + 1 - window) % SA_M_HISTORY; /* the window's oldest */
	h = r->m_count ? (h + 1) % SA_M_HISTORY : 0;
	r->m_head = h;
	r->m_inc[h] = d_out;
	r->in_m_inc[h] = d_in;
	r->m_ms[h] = tick_ms;
	if (!full)
		r->m_count++;
	if (full && hint->out == old)
		mwin_rescan(r, r->m_inc, window, &r->m_peak, &hint->out);
	else
		mwin_raise(&r->m_peak, &hint->out, d_out, h);
	if (full && hint->in == old)
		mwin_rescan(r, r->in_m_inc, window, &r->m_peak_in, &hint->in);
	else
		mwin_raise(&r->m_peak_in, &hint->in, d_in, h);
}

void mwin_update_hint(struct child_sa_rec *r, uint64_t out, uint64_t in, uint64_t tick_ms,
		      uint64_t now_ms, uint64_t span_ms, uint32_t interval_ms, uint32_t window,
		      struct mwin_hint *hint)
{
	struct mwin_hint none = { 0 };
	uint64_t d_out, d_in;

	if (r->s0_ms == 0) {
		mwin_baseline(r, out, in, now_ms);
		return;
	}
	if (!hint)
		hint = &none;
	if (window > SA_M_HISTORY)
		window = SA_M_HISTORY;
	d_out = mwin_norm(out > r->s0 ? out - r->s0 : 0, span_ms, interval_ms);
	d_in = mwin_norm(in > r->in_s0 ? in - r->in_s0 : 0, span_ms, interval_ms);
	if (hint->valid && window && r->m_count <= window)
		mwin_update_fast(r, d_out, d_in, tick_ms, window, hint);
	else
		mwin_update_full(r, d_out, d_in, tick_ms, window, hint);
	if (out > r->s0)
		r->s0 = out;
	if (in > r->in_s0)
		r->in_s0 = in;
	r->s0_ms = now_ms ? now_ms : 1;
}

void mwin_update(struct child_sa_rec *r, uint64_t out, uint64_t in, uint64_t tick_ms,
		 uint64_t now_ms, uint64_t span_ms, uint32_t interval_ms, uint32_t window)
{
	mwin_update_hint(r, out, in, tick_ms, now_ms, span_ms, interval_ms, window, NULL);
}

static uint64_t mwin_max(const struct child_sa_rec *r, const uint64_t *ring, uint32_t window)
{
	uint32_t n = r->m_count < window ? r->m_count : window, i;
	uint64_t m = 0;

	if (n > SA_M_HISTORY)
		n = SA_M_HISTORY;
	for (i = 0; i < n; i++) {
		uint32_t k = (r->m_head % SA_M_HISTORY + SA_M_HISTORY - i) % SA_M_HISTORY;

		if (ring[k] > m)
			m = ring[k];
	}
	return m;
}

void mwin_prefetch(const struct child_sa_rec *r)
{
	uint32_t h = r->m_head % SA_M_HISTORY, n = (h + 1) % SA_M_HISTORY;

	/* the newest bucket (same tick) and the next (a new tick): mostly one
	 * line per array */
	__builtin_prefetch(&r->m_inc[h], 1);
	__builtin_prefetch(&r->m_inc[n], 1);
	__builtin_prefetch(&r->in_m_inc[h], 1);
	__builtin_prefetch(&r->in_m_inc[n], 1);
	__builtin_prefetch(&r->m_ms[h], 1);
	__builtin_prefetch(&r->m_ms[n], 1);
}

uint64_t mwin_peak(const struct child_sa_rec *r, uint32_t window)
{
	return mwin_max(r, r->m_inc, window);
}

uint64_t mwin_peak_in(const struct child_sa_rec *r, uint32_t window)
{
	return mwin_max(r, r->in_m_inc, window);
}

uint64_t mwin_age(const struct child_sa_rec *r, uint64_t now_ms)
{
	if (!r->s0_ms)
		return UINT64_MAX;
	return now_ms > r->s0_ms ? now_ms - r->s0_ms : 0;
}
