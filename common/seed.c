#include "seed.h"

typedef unsigned __int128 u128;

static uint64_t sat64(u128 v)
{
	return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

uint64_t seed_threshold(uint64_t ceiling, uint32_t pct)
{
	return (uint64_t)(((u128)ceiling * pct) / 100);
}

void seed_compute(const struct seed_params *p, uint64_t s0, uint64_t age_ms, uint64_t m,
		  uint64_t ceiling, struct seed_result *r)
{
	uint64_t base = m > p->m_min ? m : p->m_min;
	uint64_t interval = p->interval_ms ? p->interval_ms : 1;
	u128 adv;

	/* k = max(1, ceil(age / interval)): each sync interval that passed
	 * since S_0 may have carried up to one more burst. */
	r->k = age_ms / interval + (age_ms % interval != 0);
	if (r->k == 0)
		r->k = 1;
	/* ceil(X * base), then * k. base * x_milli < 2^64 * 2^32; after the
	 * division and a clamp to 2^64 the product with k (< 2^64) stays
	 * below 2^128, so nothing wraps before the final saturation. */
	adv = (u128)base * p->x_milli;
	adv = (adv + 999) / 1000;
	if (adv > (u128)UINT64_MAX)
		adv = (u128)UINT64_MAX + 1;
	adv *= r->k;
	r->advance = sat64(adv);
	r->s_n = sat64((u128)s0 + r->advance);
	if (r->s_n > ceiling)
		r->verdict = SEED_BLOCKED;
	else if (r->s_n >= seed_threshold(ceiling, p->threshold_pct))
		r->verdict = SEED_REKEY;
	else
		r->verdict = SEED_OK;
}

const char *seed_verdict_name(int v)
{
	switch (v) {
	case SEED_OK: return "ok";
	case SEED_REKEY: return "rekey";
	case SEED_BLOCKED: return "blocked";
	default: return "?";
	}
}
