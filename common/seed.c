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

uint64_t seed_k(uint64_t age_ms, uint32_t interval_ms)
{
	uint64_t interval = interval_ms ? interval_ms : 1;
	uint64_t k;

	/* k = max(1, ceil(age / interval)): each sync interval that passed
	 * since S_0 may have carried up to one more burst. The common case, an
	 * S_0 younger than one interval, needs no division. */
	if (age_ms <= interval)
		return 1;
	k = age_ms / interval + (age_ms % interval != 0);
	return k;
}

uint64_t seed_advance(const struct seed_params *p, uint64_t age_ms, uint64_t m, uint64_t *k_out)
{
	uint64_t k = seed_k(age_ms, p->interval_ms);

	if (k_out)
		*k_out = k;
	return seed_advance_k(p, m, k);
}

uint64_t seed_advance_k(const struct seed_params *p, uint64_t m, uint64_t k)
{
	uint64_t base = m > p->m_min ? m : p->m_min;
	u128 adv;

	/* Fast path, exact: base * X fits 64 bits (base < 2^52, X < 2^12), so
	 * the division by the constant 1000 is a multiply, and the product
	 * with k is checked for overflow instead of computed in 128 bits. */
	if (base < (1ull << 52) && p->x_milli < (1u << 12)) {
		uint64_t bx = (base * p->x_milli + 999) / 1000, r;

		if (!__builtin_mul_overflow(bx, k, &r))
			return r;
		return UINT64_MAX;
	}
	/* ceil(X * base), then * k. base * x_milli < 2^64 * 2^32; after the
	 * division and a clamp to 2^64 the product with k (< 2^64) stays
	 * below 2^128, so nothing wraps before the final saturation. */
	adv = (u128)base * p->x_milli;
	adv = (adv + 999) / 1000;
	if (adv > (u128)UINT64_MAX)
		adv = (u128)UINT64_MAX + 1;
	adv *= k;
	return sat64(adv);
}

void seed_compute(const struct seed_params *p, uint64_t s0, uint64_t age_ms, uint64_t m,
		  uint64_t ceiling, struct seed_result *r)
{
	r->advance = seed_advance(p, age_ms, m, &r->k);
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
