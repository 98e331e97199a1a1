/*
 * Every IKE timer, as deadlines (CLOCK_MONOTONIC ms) kept in the SA they
 * belong to; ike_tick() (called by gwd every IKE_TICK_MS) fires the due
 * ones. No timer lives anywhere else.
 *
 *   per IKE SA (struct ike_sa.t[]):
 *     IKE_T_RETRANSMIT  our outstanding request is resent, the timeout
 *                       doubling each time ([ike] retransmit_ms, _tries);
 *                       after the last try the IKE SA is given up (2.1)
 *     IKE_T_HALF_OPEN   a responder SA that answered IKE_SA_INIT and has
 *                       not seen IKE_AUTH is dropped ([ike] half_open)
 *     IKE_T_DPD         liveness check: an empty INFORMATIONAL when nothing
 *                       came from the peer for [conn] dpd seconds (2.4)
 *     IKE_T_REKEY       the IKE SA is rekeyed ([conn] ike_lifetime, 2.18)
 *     IKE_T_LINGER      a rekeyed (old) IKE SA whose Delete never came is
 *                       freed
 *   per Child SA (struct ike_child.rekey_at):
 *     child rekey       [conn] child_lifetime; also, checked on every tick,
 *                       child_life_packets and the data plane's
 *                       SA_F_REKEY_NEEDED (sequence-number threshold)
 *   per connection (struct ike.conn_retry_at[]):
 *     conn retry        an initiating conn without an IKE SA starts one
 */
#ifndef HAGW_IKE_TIMER_H
#define HAGW_IKE_TIMER_H

#include <stdint.h>

#define IKE_TICK_MS 100

enum ike_timer {
	IKE_T_RETRANSMIT,
	IKE_T_HALF_OPEN,
	IKE_T_DPD,
	IKE_T_REKEY,
	IKE_T_LINGER,
	IKE_T_COUNT,
};

struct ike_timers {
	uint64_t at[IKE_T_COUNT]; /* 0 = not armed */
};

void ike_timer_arm(struct ike_timers *t, enum ike_timer which, uint64_t at);
void ike_timer_stop(struct ike_timers *t, enum ike_timer which);
/* 1 if `which` is armed and due at `now`; it is then disarmed. */
int  ike_timer_fired(struct ike_timers *t, enum ike_timer which, uint64_t now);
const char *ike_timer_name(enum ike_timer which);

#endif
