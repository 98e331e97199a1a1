/* The M window (common/mwin.h): rows of update sequences and the M they
 * must give, with the sync interval fixed at 100 ms. */
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

struct step {
	uint64_t tick_ms;  /* bucket stamp (the active's tick as seen here) */
	uint64_t out, in;  /* counter values sent */
	uint64_t span;     /* ms the increment accrued over on the active */
};

static const struct {
	const char *what;
	uint32_t window;
	struct step s[24];
	int n;
	uint64_t m, m_in;
} rows[] = {
	{ "first sight is a baseline, no increment", 16,
	  { { 100, 5000, 70, 100 } }, 1, 0, 0 },
	{ "one interval of 50", 16,
	  { { 100, 0, 0, 0 }, { 200, 50, 0, 100 } }, 2, 50, 0 },
	{ "steady 10 per interval", 16,
	  { { 100, 0, 0, 0 }, { 200, 10, 0, 100 }, { 300, 20, 0, 100 }, { 400, 30, 0, 100 } }, 4, 10, 0 },
	{ "threshold updates inside one tick add up", 16,
	  { { 100, 0, 0, 0 }, { 200, 256, 0, 25 }, { 200, 512, 0, 50 }, { 200, 768, 0, 75 },
	    { 300, 1000, 0, 100 } }, 5, 768, 0 },
	{ "a burst after a quiet spell is one interval's worth", 16,
	  { { 100, 0, 0, 0 }, { 5000, 1000, 0, 100 } }, 2, 1000, 0 },
	{ "a stalled sender's tick of 400 ms is normalised", 16,
	  { { 100, 0, 0, 0 }, { 600, 1000, 0, 400 } }, 2, 250, 0 },
	{ "normalising rounds up", 16,
	  { { 100, 0, 0, 0 }, { 1200, 1, 0, 1000 } }, 2, 1, 0 },
	{ "the peak leaves a window of 4 after 4 newer buckets", 4,
	  { { 100, 0, 0, 0 }, { 200, 500, 0, 100 }, { 300, 510, 0, 100 }, { 400, 520, 0, 100 },
	    { 500, 530, 0, 100 }, { 600, 540, 0, 100 } }, 6, 10, 0 },
	{ "the peak stays while it is among the last 4", 4,
	  { { 100, 0, 0, 0 }, { 200, 500, 0, 100 }, { 300, 510, 0, 100 }, { 400, 520, 0, 100 },
	    { 500, 530, 0, 100 } }, 5, 500, 0 },
	{ "a value going back is no movement", 16,
	  { { 100, 100, 0, 0 }, { 200, 150, 0, 100 }, { 300, 120, 0, 100 }, { 400, 160, 0, 100 } },
	  4, 50, 0 },
	{ "inbound has its own M", 16,
	  { { 100, 0, 1000, 0 }, { 200, 5, 1300, 100 }, { 300, 10, 1400, 100 } }, 3, 5, 300 },
	{ "the ring wraps past SA_M_HISTORY", 16,
	  { { 100, 0, 0, 0 }, { 200, 900, 0, 100 }, { 300, 901, 0, 100 }, { 400, 902, 0, 100 },
	    { 500, 903, 0, 100 }, { 600, 904, 0, 100 }, { 700, 905, 0, 100 }, { 800, 906, 0, 100 },
	    { 900, 907, 0, 100 }, { 1000, 908, 0, 100 }, { 1100, 909, 0, 100 }, { 1200, 910, 0, 100 },
	    { 1300, 911, 0, 100 }, { 1400, 912, 0, 100 }, { 1500, 913, 0, 100 }, { 1600, 914, 0, 100 },
	    { 1700, 915, 0, 100 }, { 1800, 916, 0, 100 }, { 1900, 920, 0, 100 } }, 19, 4, 0 },
	{ "an update that moves nothing leaves no bucket", 2,
	  { { 100, 0, 0, 0 }, { 200, 70, 0, 100 }, { 300, 70, 0, 100 }, { 400, 70, 0, 100 } },
	  4, 70, 0 },
};

static void test_rows(void **state)
{
	struct child_sa_rec *r = calloc(1, sizeof(*r));
	size_t i;

	assert_non_null(r);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(r, 0, sizeof(*r));
		for (int k = 0; k < rows[i].n; k++) {
			const struct step *s = &rows[i].s[k];

			mwin_update(r, s->out, s->in, s->tick_ms, s->tick_ms + 3, s->span, I,
				    rows[i].window);
		}
		if (mwin_peak(r, rows[i].window) != rows[i].m ||
		    mwin_peak_in(r, rows[i].window) != rows[i].m_in)
			fail_msg("row %zu (%s): M %llu/%llu, want %llu/%llu", i, rows[i].what,
				 (unsigned long long)mwin_peak(r, rows[i].window),
				 (unsigned long long)mwin_peak_in(r, rows[i].window),
				 (unsigned long long)rows[i].m, (unsigned long long)rows[i].m_in);
	}
	free(r);
}

static void test_s0_and_age(void **state)
{
	struct child_sa_rec *r = calloc(1, sizeof(*r));

	assert_int_equal(mwin_age(r, 1000), UINT64_MAX);
	mwin_update(r, 10, 20, 500, 500, 0, I, 16);
	assert_int_equal(r->s0, 10);
	assert_int_equal(r->in_s0, 20);
	assert_int_equal(mwin_age(r, 750), 250);
	mwin_update(r, 40, 20, 600, 610, 100, I, 16);
	assert_int_equal(r->s0, 40);
	assert_int_equal(mwin_age(r, 610), 0);
	assert_int_equal(r->m_ms[r->m_head], 600); /* the bucket's stamp */
	/* a baseline (bulk after a reconnect) moves S_0 and keeps the history */
	mwin_baseline(r, 5000, 20, 900);
	assert_int_equal(r->s0, 5000);
	assert_int_equal(mwin_peak(r, 16), 30);
	/* a smaller window than the one filled */
	assert_int_equal(mwin_peak(r, 1), 30);
	free(r);
}

static void test_norm(void **state)
{
	assert_int_equal(mwin_norm(1000, 100, I), 1000);
	assert_int_equal(mwin_norm(1000, 50, I), 1000); /* shorter: not scaled up */
	assert_int_equal(mwin_norm(1000, 200, I), 500);
	assert_int_equal(mwin_norm(1001, 200, I), 501);
	assert_int_equal(mwin_norm(UINT64_MAX, 200, I), UINT64_MAX / 2 + 1);
	assert_int_equal(mwin_norm(0, 5000, I), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_s0_and_age),
		cmocka_unit_test(test_norm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
