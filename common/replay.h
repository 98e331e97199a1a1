/*
 * Anti-replay (RFC 4303 section 3.4.3, Appendix A) with the RFC 6479
 * bitmap: a ring of 64-bit words, of which one is always being cleared, so
 * the window (at most (SA_REPLAY_WORDS - 1) * 64 packets) moves by
 * clearing whole words instead of shifting.
 *
 * Use: seq = replay_infer(...) for ESN, then replay_check() before the
 * decryption, and replay_update() only after the ICV verified.
 */
#ifndef HAGW_REPLAY_H
#define HAGW_REPLAY_H

#include <stdint.h>

#include "sa_table.h"

enum replay_verdict {
	REPLAY_OK    = 0,
	REPLAY_ZERO  = 1, /* sequence number 0: never sent (RFC 4303 3.3.3) */
	REPLAY_OLD   = 2, /* left of the window */
	REPLAY_DUP   = 3, /* inside the window, already seen */
};


/* RFC 4303 Appendix A2.2: the 64-bit number for a received low half,
 * given the top of the window and its size. Without ESN it returns lo. */
uint64_t replay_infer(uint64_t top, uint32_t window, uint32_t lo, int esn);

int  replay_check(const struct sa_replay *r, uint32_t window, uint64_t seq);
void replay_update(struct sa_replay *r, uint32_t window, uint64_t seq);

/* Restarts the window at `top` with nothing seen above it (promotion). The
 * numbers at or below top - window are old; those inside count as seen. */
void replay_reset(struct sa_replay *r, uint64_t top);

const char *replay_verdict_name(int v);

#endif
