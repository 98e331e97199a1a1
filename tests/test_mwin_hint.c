/* mwin_update_hint (common/mwin.h) against mwin_update: the same record
 * after every step of long random update sequences, whatever the window,
 * the tick pattern and the size of the increments; and the stored peaks
 * equal to the ring's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mwin.h"
#include "sa_table.h"

#define I 100 /* interval_ms */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13; /* xorshift64 */
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* An increment: mostly small, sometimes zero, sometimes past 32 bits. */
static uint64_t step_inc(void)
{
	switch (rnd() % 8) {
	case 0: return 0;
	case 1: return (1ull << 32) + rnd() % 1000;
	case 2: return rnd() % 5000;
	default: return rnd() % 64;
	}
}

static uint32_t sat32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void run(uint32_t window_first, int steps, int vary_window)
{
	struct child_sa_rec *a = sa_child_rec_new(), *b = sa_child_rec_new();
	struct mwin_hint hint = { 0 };
	uint64_t out = 1000, in = 50, tick = 100, now = 100, span;
	uint32_t window = window_first;

	assert_non_null(a);
	assert_non_null(b);
	for (int k = 0; k < steps; k++) {
		/* a new tick most of the time, several updates in one sometimes */
		if (rnd() % 4)
			tick += 100 + (rnd() % 16 == 0 ? 100 * (rnd() % 20) : 0);
		now = tick + rnd() % 7;
		span = rnd() % 10 == 0 ? 100 + rnd() % 900 : 100;
		out += step_inc();
		in += step_inc();
		if (rnd() % 50 == 0)
			out -= out / 4; /* a value going back: no movement */
		if (vary_window && rnd() % 40 == 0)
			window = 1 + (uint32_t)(rnd() % SA_M_HISTORY); /* a restart with another window */
		if (rnd() % 97 == 0)
			hint.valid = 0; /* the caller lost its memory */
		mwin_update(a, out, in, tick, now, span, I, window);
		mwin_update_hint(b, out, in, tick, now, span, I, window, &hint);
		if (memcmp(a, b, sizeof(*a)))
			fail_msg("window %u step %d: records differ (m_peak %u/%u, in %u/%u)", window, k,
				 a->m_peak, b->m_peak, a->m_peak_in, b->m_peak_in);
		assert_int_equal(b->m_peak, sat32(mwin_peak(b, window)));
		assert_int_equal(b->m_peak_in, sat32(mwin_peak_in(b, window)));
	}
	free(a);
	free(b);
}

static void test_every_window(void **state)
{
	for (uint32_t w = 1; w <= SA_M_HISTORY; w++)
		run(w, 3000, 0);
}

static void test_window_changes(void **state)
{
	for (int i = 0; i < 20; i++)
		run(16, 5000, 1);
}

/* The peak's own bucket leaving a full window forces a rescan: a peak of
 * 500 followed by smaller buckets falls to the next largest. */
static void test_peak_leaves(void **state)
{
	struct child_sa_rec *r = sa_child_rec_new();
	struct mwin_hint hint = { 0 };
	static const uint64_t incs[] = { 500, 10, 30, 20, 5, 7 };
	uint64_t out = 0;

	mwin_update_hint(r, 0, 0, 100, 100, 100, I, 4, &hint); /* baseline */
	for (size_t i = 0; i < sizeof(incs) / sizeof(incs[0]); i++) {
		out += incs[i];
		mwin_update_hint(r, out, 0, 200 + 100 * i, 200 + 100 * i, 100, I, 4, &hint);
	}
	/* window of 4: 30, 20, 5, 7 */
	assert_int_equal(r->m_peak, 30);
	assert_int_equal(r->m_count, 4);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_window),
		cmocka_unit_test(test_window_changes),
		cmocka_unit_test(test_peak_leaves),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
