/*
 * The VRRPv3 state machine (RFC 5798 6.4 with the RFC 9568 corrections):
 * Initialize, Backup, Master. Pure: no sockets and no clock. The caller
 * passes the time in (microseconds on any monotonic clock), and each event
 * returns a bitmask of actions for the caller to carry out, in this order:
 *
 *   SEND_ADVERT_0   an advert at priority 0 (a master leaving, 6.4.3)
 *   SEND_ADVERT     an advert at the effective priority
 *   DEMOTE          role STANDBY, then the VIPs go (DESIGN: BACKUP entry)
 *   PROMOTE         promotion steps, role ACTIVE + epoch, then the VIPs
 *   SEND_GARP       gratuitous ARPs for every VIP, now and repeated
 *   STATE           the state changed: run the notify hook, publish status
 *   TIMERS          a deadline moved: rearm from vrrp_fsm_deadline()
 *
 * Timers (both deadlines in the struct, 0 = stopped):
 *   adver_at   Adver_Timer, Master only: send the next advert
 *   down_at    Master_Down_Timer, Backup only: the master is gone
 *
 * Times are integer microseconds, so Skew_Time and Master_Down_Interval
 * keep their fractions of a centisecond (6.1: never whole seconds).
 */
#ifndef HAGW_VRRP_FSM_H
#define HAGW_VRRP_FSM_H

#include <stdint.h>

enum vrrp_state {
	VRRP_STATE_INIT   = 0,
	VRRP_STATE_BACKUP = 1,
	VRRP_STATE_MASTER = 2,
};
#define VRRP_STATE_COUNT 3

enum {
	VRRP_A_SEND_ADVERT_0 = 1u << 0,
	VRRP_A_SEND_ADVERT   = 1u << 1,
	VRRP_A_DEMOTE        = 1u << 2,
	VRRP_A_PROMOTE       = 1u << 3,
	VRRP_A_SEND_GARP     = 1u << 4,
	VRRP_A_STATE         = 1u << 5,
	VRRP_A_TIMERS        = 1u << 6,
};

#define VRRP_PRIO_OWNER 255 /* RFC 5798 5.2.4: the address owner */
#define VRRP_PRIO_STOP  0   /* a master that is leaving */

struct vrrp_fsm_cfg {
	uint8_t  vrid;
	uint8_t  priority;          /* configured, 1..255 */
	uint16_t interval_cs;       /* Advertisement_Interval, 1..4095 */
	int      preempt;           /* Preempt_Mode */
	uint64_t preempt_delay_us;  /* after Startup, a lower master is accepted */
	uint32_t primary;           /* our primary IPv4 address (host order) */
};

struct vrrp_fsm {
	struct vrrp_fsm_cfg cfg;
	int      state;
	uint8_t  prio;               /* effective priority: what we advertise */
	uint16_t master_interval_cs; /* Master_Adver_Interval */
	uint64_t adver_at, down_at;  /* deadlines, 0 = stopped */
	uint64_t started_at;         /* time of Startup */
	uint32_t master_addr;        /* the master as we know it, 0 = none */
	uint8_t  master_prio;
	int      master_left;        /* heard priority 0: Skew_Time is running */
	uint64_t transitions[VRRP_STATE_COUNT]; /* entries into each state */
	char     reason[64];         /* why the last transition happened */
};

void     vrrp_fsm_init(struct vrrp_fsm *f, const struct vrrp_fsm_cfg *cfg);
uint32_t vrrp_fsm_startup(struct vrrp_fsm *f, uint64_t now);
uint32_t vrrp_fsm_shutdown(struct vrrp_fsm *f, uint64_t now);
/* A received advert that passed the codec's checks. */
uint32_t vrrp_fsm_advert(struct vrrp_fsm *f, uint64_t now, uint32_t src, uint8_t priority,
			 uint16_t interval_cs);
/* Call at (or after) vrrp_fsm_deadline(); early calls do nothing. */
uint32_t vrrp_fsm_timer(struct vrrp_fsm *f, uint64_t now);
/* A new effective priority (the sync demotion changed). */
uint32_t vrrp_fsm_set_priority(struct vrrp_fsm *f, uint64_t now, uint8_t prio);
/* The earliest running deadline, 0 if none. */
uint64_t vrrp_fsm_deadline(const struct vrrp_fsm *f);

/* RFC 5798 6.1, in microseconds. */
uint64_t vrrp_fsm_skew_us(uint8_t prio, uint16_t master_interval_cs);
uint64_t vrrp_fsm_down_us(uint8_t prio, uint16_t master_interval_cs);

const char *vrrp_fsm_state_name(int state);

#endif
