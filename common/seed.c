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
