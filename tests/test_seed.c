/* Counter seeding: table rows of (S_0, age, M, ceiling) and the S_n, k and
 * verdict they must give, including arithmetic near 2^32 and 2^64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "seed.h"

#define C32 0xffffffffull
#define C48 0xffffffffffffull

static void test_rows(void **state)
{
	static const struct {
		int n;
		uint32_t x_milli;
		uint64_t m_min, s0, age_ms, m, ceiling;
		uint64_t want_sn, want_k;
		int want;
	} rows[] = {
		/* n  X     Mmin  S_0          age  M      ceiling  S_n                    k  verdict */
		{ 1, 2000, 100, 1000,        50,  500,   C32, 2000,                  1, SEED_OK },
		{ 2, 2000, 100, 1000,        0,   500,   C32, 2000,                  1, SEED_OK },      /* age 0: k = 1 */
		{ 3, 2000, 100, 1000,        100, 500,   C32, 2000,                  1, SEED_OK },      /* exactly one interval */
		{ 4, 2000, 100, 1000,        101, 500,   C32, 3000,                  2, SEED_OK },      /* just over: k = 2 */
		{ 5, 2000, 100, 1000,        450, 500,   C32, 6000,                  5, SEED_OK },      /* lost syncs widen the jump */
		{ 6, 2000, 100, 1000,        50,  0,     C32, 1200,                  1, SEED_OK },      /* idle SA: M_min */
		{ 7, 1500, 0,   0,           10,  3,     C32, 5,                     1, SEED_OK },      /* ceil(4.5) = 5 */
		{ 8, 3000, 100, 1000,        50,  1000,  C32, 4000,                  1, SEED_OK },
		{ 9, 2000, 100, 4080218000,  50,  1000,  C32, 4080220000,            1, SEED_REKEY },   /* 95% = 4080218930 */
		{ 10, 2000, 100, 4080217000, 50,  900,   C32, 4080218800,            1, SEED_OK },      /* just under */
		{ 11, 2000, 100, 4080217130, 50,  900,   C32, 4080218930,            1, SEED_REKEY },   /* exactly at */
		{ 12, 2000, 0,   C32 - 100,  50,  50,    C32, C32,                   1, SEED_REKEY },   /* lands on the last number */
		{ 13, 2000, 0,   C32 - 100,  50,  51,    C32, C32 + 2,               1, SEED_BLOCKED }, /* one past */
		{ 14, 2000, 100, C32,        50,  1,     C32, C32 + 200,             1, SEED_BLOCKED },
		{ 15, 2000, 100, C48 - 10,   50,  100,   C48, C48 + 190,             1, SEED_BLOCKED }, /* ESN limit */
		{ 16, 2000, 100, 1ull << 40, 50,  1000,  C48, (1ull << 40) + 2000,   1, SEED_OK },
		/* saturation: nothing wraps to a small number */
		{ 17, 3000, 0,   UINT64_MAX - 5, 50, 10, C48, UINT64_MAX,            1, SEED_BLOCKED },
		{ 18, 3000, 0,   5, UINT64_MAX, UINT64_MAX, C48, UINT64_MAX,         UINT64_MAX / 100 + 1, SEED_BLOCKED },
		{ 19, 2000, UINT64_MAX, 0,   50,  0,     C32, UINT64_MAX,            1, SEED_BLOCKED },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct seed_params p = { rows[i].x_milli, rows[i].m_min, 100, 95 };
		struct seed_result r;

		seed_compute(&p, rows[i].s0, rows[i].age_ms, rows[i].m, rows[i].ceiling, &r);
		if (r.s_n != rows[i].want_sn || r.k != rows[i].want_k || r.verdict != rows[i].want)
			fail_msg("row %d: S_n %llu k %llu %s; want %llu k %llu %s", rows[i].n,
				 (unsigned long long)r.s_n, (unsigned long long)r.k,
				 seed_verdict_name(r.verdict), (unsigned long long)rows[i].want_sn,
				 (unsigned long long)rows[i].want_k, seed_verdict_name(rows[i].want));
		if (r.s_n != UINT64_MAX && r.advance != r.s_n - rows[i].s0)
			fail_msg("row %d: advance %llu", rows[i].n, (unsigned long long)r.advance);
	}
}

static void test_threshold(void **state)
{
	assert_true(seed_threshold(C32, 95) == 4080218930ull);
	assert_true(seed_threshold(C32, 100) == C32);
	assert_true(seed_threshold(UINT64_MAX, 95) == 17524406870024074034ull);
	assert_true(seed_threshold(C48, 50) == C48 / 2);
}

/* The advance never shrinks as M, X, age or S_0 grow (monotonic). */
static void test_monotonic(void **state)
{
	struct seed_params p = { 2000, 100, 100, 95 };
	struct seed_result a, b;
	uint64_t m, age;

	for (m = 0; m < 5000; m += 37)
		for (age = 0; age < 2000; age += 53) {
			seed_compute(&p, 1000, age, m, C32, &a);
			seed_compute(&p, 1000, age + 53, m + 37, C32, &b);
			assert_true(b.s_n >= a.s_n);
			assert_true(a.s_n > 1000);
		}
}

/* The fast path of seed_advance_k (64-bit, no 128-bit division) against
 * the plain 128-bit formula, saturated, over random inputs. */
static void test_fast_path(void **state)
{
	uint64_t x = 0x2545f4914f6cdd1dull;
	int i;

	for (i = 0; i < 500000; i++) {
		struct seed_params p = { 0, 0, 100, 95 };
		unsigned __int128 want;
		uint64_t m, k, got;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		p.x_milli = 1500 + (uint32_t)(x % 1501);
		m = x >> (x % 64);
		p.m_min = (x >> 7) % 5000;
		k = 1 + ((x >> 11) >> ((x >> 3) % 64));
		got = seed_advance_k(&p, m, k);
		want = (unsigned __int128)(m > p.m_min ? m : p.m_min) * p.x_milli;
		want = (want + 999) / 1000 * k;
		if (want > UINT64_MAX)
			want = UINT64_MAX;
		if (got != (uint64_t)want)
			fail_msg("m %llu k %llu x %u: %llu", (unsigned long long)m,
				 (unsigned long long)k, p.x_milli, (unsigned long long)got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_monotonic),
		cmocka_unit_test(test_fast_path),
	};

	return cmocka_run_group_tests_name("seed", tests, NULL, NULL);
}
