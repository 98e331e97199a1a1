#include "replay.h"

#include <string.h>

#define WORD_BITS 64u
#define RING_MASK (SA_REPLAY_WORDS - 1u)

uint64_t replay_infer(uint64_t top, uint32_t window, uint32_t lo, int esn)
{
	uint32_t tl = (uint32_t)top, th = (uint32_t)(top >> 32);

	if (!esn)
		return lo;
	/* Case A: the window lies within one 2^32 sub-space. */
	if (tl >= window - 1) {
		if (lo >= tl - window + 1)
			return ((uint64_t)th << 32) | lo;
		return ((uint64_t)(th + 1) << 32) | lo; /* wrapped forward */
	}
	/* Case B: the window spans a sub-space boundary. */
	if (lo >= tl - window + 1) { /* unsigned wrap puts this near 2^32 */
		if (th == 0)
			return lo; /* nothing below sub-space 0: treat as is */
		return ((uint64_t)(th - 1) << 32) | lo;
	}
	return ((uint64_t)th << 32) | lo;
}

int replay_check(const struct sa_replay *r, uint32_t window, uint64_t seq)
{
	if (seq == 0)
		return REPLAY_ZERO;
	if (seq > r->top)
		return REPLAY_OK;
	if (r->top - seq >= window)
		return REPLAY_OLD;
	if (r->bitmap[(seq / WORD_BITS) & RING_MASK] & (1ull << (seq % WORD_BITS)))
		return REPLAY_DUP;
	return REPLAY_OK;
}

void replay_update(struct sa_replay *r, uint32_t window, uint64_t seq)
{
	(void)window;
	if (seq > r->top) {
		uint64_t idx = seq / WORD_BITS, cur = r->top / WORD_BITS;
		uint64_t diff = idx - cur, i;

		if (diff > SA_REPLAY_WORDS)
			diff = SA_REPLAY_WORDS;
		for (i = 1; i <= diff; i++)
			r->bitmap[(cur + i) & RING_MASK] = 0;
		r->top = seq;
	}
	r->bitmap[(seq / WORD_BITS) & RING_MASK] |= 1ull << (seq % WORD_BITS);
}

void replay_reset(struct sa_replay *r, uint64_t top)
{
	memset(r->bitmap, 0xff, sizeof(r->bitmap));
	/* Everything above top is unseen: clear from top+1 to the end of its
	 * word, and the words after it are cleared as the window moves. */
	if (top % WORD_BITS != WORD_BITS - 1)
		r->bitmap[(top / WORD_BITS) & RING_MASK] &= ~0ull >> (WORD_BITS - 1 - top % WORD_BITS);
	r->top = top;
}

const char *replay_verdict_name(int v)
{
	switch (v) {
	case REPLAY_OK: return "ok";
	case REPLAY_ZERO: return "zero";
	case REPLAY_OLD: return "old";
	case REPLAY_DUP: return "dup";
	default: return "?";
	}
}
