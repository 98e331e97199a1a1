/* Replay window (RFC 4303 3.4.3, Appendix A; RFC 6479): numbered table
 * rows of (sequence, expected verdict), applied in order to one window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "replay.h"

struct row {
	int n;
	uint64_t seq;
	int verdict;  /* what replay_check says before the update */
	int update;   /* 1: the packet authenticated, update the window */
};

#define W 1024

static void run_rows(const struct row *rows, size_t n, uint32_t window, uint64_t start)
{
	struct sa_replay r;
	size_t i;

	memset(&r, 0, sizeof(r));
	r.top = start;
	for (i = 0; i < n; i++) {
		int v = replay_check(&r, window, rows[i].seq);

		if (v != rows[i].verdict)
			fail_msg("row %d: seq %llu: got %s, want %s", rows[i].n,
				 (unsigned long long)rows[i].seq, replay_verdict_name(v),
				 replay_verdict_name(rows[i].verdict));
		if (v == REPLAY_OK && rows[i].update)
			replay_update(&r, window, rows[i].seq);
	}
}

static void test_window_basic(void **state)
{
	static const struct row rows[] = {
		{ 1, 0, REPLAY_ZERO, 0 },          /* 0 is never sent */
		{ 2, 1, REPLAY_OK, 1 },
		{ 3, 1, REPLAY_DUP, 0 },
		{ 4, 2, REPLAY_OK, 1 },
		{ 5, 5, REPLAY_OK, 1 },            /* gap: 3 and 4 still open */
		{ 6, 3, REPLAY_OK, 1 },
		{ 7, 4, REPLAY_OK, 0 },            /* forged: checked, never updated */
		{ 8, 4, REPLAY_OK, 1 },            /* so the genuine one still passes */
		{ 9, 4, REPLAY_DUP, 0 },
		{ 10, W, REPLAY_OK, 1 },           /* top = 1024: window 1..1024 */
		{ 11, 1, REPLAY_DUP, 0 },          /* left edge, seen */
		{ 12, 6, REPLAY_OK, 1 },           /* inside, unseen */
		{ 13, W + 1, REPLAY_OK, 1 },       /* window 2..1025 */
		{ 14, 1, REPLAY_OLD, 0 },          /* just fell off the left edge */
		{ 15, 2, REPLAY_DUP, 0 },          /* left edge still inside */
		{ 16, 7, REPLAY_OK, 1 },
		{ 17, 3 * W, REPLAY_OK, 1 },       /* jump by two windows */
		{ 18, 2 * W, REPLAY_OLD, 0 },      /* 3072 - 2048 = 1024: outside */
		{ 19, 2 * W + 1, REPLAY_OK, 1 },   /* left edge, unseen: bitmap was cleared */
		{ 20, 2 * W + 1, REPLAY_DUP, 0 },
		{ 21, 3 * W - 1, REPLAY_OK, 1 },
		{ 22, 3 * W, REPLAY_DUP, 0 },
	};

	run_rows(rows, sizeof(rows) / sizeof(rows[0]), W, 0);
}

/* The ring wraps: words are reused; stale bits must be cleared. */
static void test_window_ring_reuse(void **state)
{
	struct sa_replay r;
	uint64_t s;

	memset(&r, 0, sizeof(r));
	for (s = 1; s <= 10 * SA_REPLAY_WORDS * 64; s += 3) {
		assert_int_equal(replay_check(&r, W, s), REPLAY_OK);
		replay_update(&r, W, s);
		assert_int_equal(replay_check(&r, W, s), REPLAY_DUP);
	}
	/* numbers skipped in the last window are still acceptable */
	s = r.top - 1;
	assert_int_equal(replay_check(&r, W, s), (s % 3 == 1) ? REPLAY_DUP : REPLAY_OK);
	assert_int_equal(replay_check(&r, W, r.top - W), REPLAY_OLD);
}

/* Every window size up to the maximum keeps its exact left edge. */
static void test_window_sizes(void **state)
{
	static const uint32_t sizes[] = { 32, 64, 100, 1024, 1500, SA_REPLAY_MAX_WINDOW };
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct sa_replay r;
		uint32_t w = sizes[i];

		memset(&r, 0, sizeof(r));
		replay_update(&r, w, 5000);
		assert_int_equal(replay_check(&r, w, 5000 - w + 1), REPLAY_OK);
		assert_int_equal(replay_check(&r, w, 5000 - w), REPLAY_OLD);
		replay_update(&r, w, 5000 - w + 1);
		assert_int_equal(replay_check(&r, w, 5000 - w + 1), REPLAY_DUP);
	}
}

/* 32-bit counters: the last number is 2^32 - 1. */
static void test_window_32bit_top(void **state)
{
	static const struct row rows[] = {
		{ 1, 0xfffffffeull, REPLAY_OK, 1 },
		{ 2, 0xffffffffull, REPLAY_OK, 1 },
		{ 3, 0xfffffffeull, REPLAY_DUP, 0 },
		{ 4, 0xffffffffull - W, REPLAY_OLD, 0 },
	};

	run_rows(rows, sizeof(rows) / sizeof(rows[0]), W, 0xfffff000ull);
}

/* ESN high-bit inference, RFC 4303 Appendix A2.2. Rows of (top, received
 * low 32 bits, the 64-bit number it must mean). */
static void test_esn_infer(void **state)
{
	static const struct {
		int n;
		uint64_t top;
		uint32_t lo;
		uint64_t want;
	} rows[] = {
		{ 1, 100, 101, 101 },                                 /* case A, same space */
		{ 2, 100, 50, 50 },                                   /* case B at space 0 */
		{ 3, 0x100000010ull, 0x11, 0x100000011ull },          /* case B, above tl */
		{ 4, 0x100000010ull, 0xfffffff0u, 0x0fffffff0ull },   /* case B: previous space */
		{ 5, 0x1fffffff0ull, 0xfffffff8u, 0x1fffffff8ull },   /* case A, in window */
		{ 6, 0x1fffffff0ull, 0x00000005u, 0x200000005ull },   /* case A: wrapped forward */
		{ 7, 0x1fffffff0ull, 0xfffffff0u - W + 1, 0x1fffffff0ull - W + 1 }, /* left edge */
		{ 8, 0x1fffffff0ull, 0xfffffff0u - W, 0x2fffffff0ull - W }, /* left of it: next space */
		{ 9, 0x2000003ffull, 0x3ff, 0x2000003ffull },         /* tl = W - 1: case A */
		{ 10, 0x2000003feull, 0xffffffffu, 0x1ffffffffull },  /* tl < W - 1: case B */
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t got = replay_infer(rows[i].top, W, rows[i].lo, 1);

		if (got != rows[i].want)
			fail_msg("row %d: top 0x%llx lo 0x%x: got 0x%llx want 0x%llx", rows[i].n,
				 (unsigned long long)rows[i].top, rows[i].lo, (unsigned long long)got,
				 (unsigned long long)rows[i].want);
	}
	assert_int_equal(replay_infer(0x500000000ull, W, 7, 0), 7); /* no ESN: as is */
}

/* ESN through a 2^32 boundary: infer, check, update across the wrap. */
static void test_esn_wrap(void **state)
{
	struct sa_replay r;
	uint64_t s;

	memset(&r, 0, sizeof(r));
	r.top = 0xfffffff0ull;
	for (s = 0xfffffff1ull; s < 0x100000010ull; s++) {
		uint64_t inf = replay_infer(r.top, W, (uint32_t)s, 1);

		assert_true(inf == s);
		assert_int_equal(replay_check(&r, W, inf), REPLAY_OK);
		replay_update(&r, W, inf);
	}
	/* a replay of a number from before the wrap is still recognised */
	s = replay_infer(r.top, W, 0xfffffff5u, 1);
	assert_true(s == 0xfffffff5ull);
	assert_int_equal(replay_check(&r, W, s), REPLAY_DUP);
}

/* Promotion: the window restarts at a synced top; all at or below it count
 * as seen, all above it are open. */
static void test_reset(void **state)
{
	struct sa_replay r;

	memset(&r, 0, sizeof(r));
	replay_reset(&r, 5000);
	assert_int_equal(replay_check(&r, W, 5000), REPLAY_DUP);
	assert_int_equal(replay_check(&r, W, 4990), REPLAY_DUP);
	assert_int_equal(replay_check(&r, W, 5000 - W), REPLAY_OLD);
	assert_int_equal(replay_check(&r, W, 5001), REPLAY_OK);
	replay_update(&r, W, 5070);  /* into the next words */
	assert_int_equal(replay_check(&r, W, 5001), REPLAY_OK);
	assert_int_equal(replay_check(&r, W, 5069), REPLAY_OK);
	assert_int_equal(replay_check(&r, W, 4999), REPLAY_DUP);
	replay_reset(&r, 63); /* top at the end of a word */
	assert_int_equal(replay_check(&r, W, 63), REPLAY_DUP);
	assert_int_equal(replay_check(&r, W, 64), REPLAY_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_basic),
		cmocka_unit_test(test_window_ring_reuse),
		cmocka_unit_test(test_window_sizes),
		cmocka_unit_test(test_window_32bit_top),
		cmocka_unit_test(test_esn_infer),
		cmocka_unit_test(test_esn_wrap),
		cmocka_unit_test(test_reset),
	};

	return cmocka_run_group_tests_name("replay", tests, NULL, NULL);
}
