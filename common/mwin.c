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

void mwin_update(struct child_sa_rec *r, uint64_t out, uint64_t in, uint64_t tick_ms,
		 uint64_t now_ms, uint64_t span_ms, uint32_t interval_ms, uint32_t window)
{
	uint64_t d_out, d_in;
	uint32_t h;

	if (r->s0_ms == 0) {
		mwin_baseline(r, out, in, now_ms);
		return;
	}
	d_out = mwin_norm(out > r->s0 ? out - r->s0 : 0, span_ms, interval_ms);
	d_in = mwin_norm(in > r->in_s0 ? in - r->in_s0 : 0, span_ms, interval_ms);
	if (window > SA_M_HISTORY)
		window = SA_M_HISTORY;
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
	r->m_peak = sat32(mwin_peak(r, window));
	r->m_peak_in = sat32(mwin_peak_in(r, window));
	if (out > r->s0)
		r->s0 = out;
	if (in > r->in_s0)
		r->in_s0 = in;
	r->s0_ms = now_ms ? now_ms : 1;
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

void mwin_prefetch(const struct child_sa_rec *r, uint32_t window)
{
	uint32_t h = r->m_head % SA_M_HISTORY, n = window < SA_M_HISTORY ? window : SA_M_HISTORY;
	uint32_t i;

	/* the bucket after the head (a new tick) back to the window's oldest,
	 * a line (8 buckets) at a time */
	for (i = 0; i <= n; i += 8) {
		uint32_t k = (h + 1 + SA_M_HISTORY - i) % SA_M_HISTORY;

		__builtin_prefetch(&r->m_inc[k], 1);
		__builtin_prefetch(&r->in_m_inc[k], 1);
	}
	__builtin_prefetch(&r->m_ms[h], 1);
	__builtin_prefetch(&r->m_ms[(h + 1) % SA_M_HISTORY], 1);
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
