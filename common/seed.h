/*
 * Counter seeding at promotion (reference 000; DESIGN.md "The promotion
 * sequence", step 2-3). Pure integer arithmetic, no I/O.
 *
 *   S_n = S_0 + X * max(M, M_min) * k,   k = max(1, ceil(age(S_0) / interval))
 *
 * X is given in thousandths (2.0 -> 2000) so the result is exact and the
 * same on every machine. Every step saturates instead of wrapping: an
 * advance that would pass 2^64 - 1 is a ceiling crossing, never a small
 * number. The verdict compares S_n with the SA's ceiling (2^32 - 1, or the
 * ESN limit esp_seq_ceiling() gives) and the rekey threshold.
 */
#ifndef HAGW_SEED_H
#define HAGW_SEED_H

#include <stdint.h>

struct seed_params {
	uint32_t x_milli;       /* burst multiplier X * 1000 (1500..3000) */
	uint64_t m_min;         /* floor for idle or new SAs, packets per interval */
	uint32_t interval_ms;   /* the sync interval */
	uint32_t threshold_pct; /* rekey threshold, percent of the space */
};

enum seed_verdict {
	SEED_OK      = 0, /* S_n is below the rekey threshold */
	SEED_REKEY   = 1, /* at or above the threshold: queue a rekey */
	SEED_BLOCKED = 2, /* past the ceiling: send nothing until rekeyed */
};

struct seed_result {
	uint64_t s_n;      /* the new outbound counter (last number used) */
	uint64_t advance;  /* S_n - S_0 */
	uint64_t k;        /* interval multiplier for a stale S_0 */
	int verdict;       /* enum seed_verdict */
};

uint64_t seed_threshold(uint64_t ceiling, uint32_t pct);
/* k = max(1, ceil(age / interval)); an interval of 0 counts as 1 ms. */
uint64_t seed_k(uint64_t age_ms, uint32_t interval_ms);
/* X * max(M, M_min) * k, rounded up and saturated at 2^64 - 1; the k used
 * goes to *k (may be NULL). The part of seed_compute a pass over a million
 * SAs needs: no threshold, no 128-bit division in the common case. */
uint64_t seed_advance(const struct seed_params *p, uint64_t age_ms, uint64_t m, uint64_t *k);
/* The same for a k computed by the caller. Inline: the promotion calls it
 * for every SA of a million while the table lock is held. */
static inline uint64_t seed_advance_k(const struct seed_params *p, uint64_t m, uint64_t k)
{
	uint64_t base = m > p->m_min ? m : p->m_min;
	unsigned __int128 adv;

	/* Fast path, exact: base * X fits 64 bits (base < 2^52, X < 2^12), so
	 * the division by the constant 1000 is a multiply, and the product
	 * with k is checked for overflow instead of computed in 128 bits. */
	if (base < (1ull << 52) && p->x_milli < (1u << 12)) {
		uint64_t bx = (base * p->x_milli + 999) / 1000, r;

		return __builtin_mul_overflow(bx, k, &r) ? UINT64_MAX : r;
	}
	/* ceil(X * base), then * k. base * x_milli < 2^64 * 2^32; after the
	 * division and a clamp to 2^64 the product with k (< 2^64) stays
	 * below 2^128, so nothing wraps before the final saturation. */
	adv = (unsigned __int128)base * p->x_milli;
	adv = (adv + 999) / 1000;
	if (adv > (unsigned __int128)UINT64_MAX)
		adv = (unsigned __int128)UINT64_MAX + 1;
	adv *= k;
	return adv > UINT64_MAX ? UINT64_MAX : (uint64_t)adv;
}
void seed_compute(const struct seed_params *p, uint64_t s0, uint64_t age_ms, uint64_t m,
		  uint64_t ceiling, struct seed_result *r);
const char *seed_verdict_name(int v);

#endif
