/* The VRRPv3 state machine (fsm.h). One handler per event; every change of
 * state goes through set_state(). */
#include "fsm.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

#define US_PER_CS 10000u

uint64_t vrrp_fsm_skew_us(uint8_t prio, uint16_t master_interval_cs)
{
	/* Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256 */
	return (256u - prio) * (uint64_t)master_interval_cs * US_PER_CS / 256u;
}

uint64_t vrrp_fsm_down_us(uint8_t prio, uint16_t master_interval_cs)
{
	/* Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time */
	return 3u * (uint64_t)master_interval_cs * US_PER_CS +
	       vrrp_fsm_skew_us(prio, master_interval_cs);
}

const char *vrrp_fsm_state_name(int state)
{
	switch (state) {
	case VRRP_STATE_INIT: return "INIT";
	case VRRP_STATE_BACKUP: return "BACKUP";
	case VRRP_STATE_MASTER: return "MASTER";
	default: return "?";
	}
}

static const char *addr_str(uint32_t a, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return buf;
}

__attribute__((format(printf, 3, 4)))
static uint32_t set_state(struct vrrp_fsm *f, int state, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->reason, sizeof(f->reason), fmt, ap);
	va_end(ap);
	log_info("vrid %u: %s -> %s (%s)", f->cfg.vrid, vrrp_fsm_state_name(f->state),
		 vrrp_fsm_state_name(state), f->reason);
	f->state = state;
	f->transitions[state]++;
	return VRRP_A_STATE | VRRP_A_TIMERS;
}

void vrrp_fsm_init(struct vrrp_fsm *f, const struct vrrp_fsm_cfg *cfg)
{
	memset(f, 0, sizeof(*f));
	f->cfg = *cfg;
	f->state = VRRP_STATE_INIT;
	f->prio = cfg->priority;
	f->master_interval_cs = cfg->interval_cs;
}

/* Entering Master (6.4.1 Startup for the owner, 6.4.2 Master_Down_Timer):
 * advertise, take the addresses, announce them, start the Adver_Timer. */
static uint32_t become_master(struct vrrp_fsm *f, uint64_t now)
{
	f->down_at = 0;
	f->master_left = 0;
	f->adver_at = now + f->cfg.interval_cs * (uint64_t)US_PER_CS;
	f->master_addr = f->cfg.primary;
	f->master_prio = f->prio;
	return VRRP_A_SEND_ADVERT | VRRP_A_PROMOTE | VRRP_A_SEND_GARP;
}

/* Follow a master: adopt its interval (6.4.2), restart Master_Down_Timer. */
static void follow(struct vrrp_fsm *f, uint64_t now, uint32_t src, uint8_t prio, uint16_t cs)
{
	f->master_interval_cs = cs;
	f->master_left = 0;
	f->down_at = now + vrrp_fsm_down_us(f->prio, cs);
	f->master_addr = src;
	f->master_prio = prio;
}

uint32_t vrrp_fsm_startup(struct vrrp_fsm *f, uint64_t now)
{
	if (f->state != VRRP_STATE_INIT)
		return 0;
	f->started_at = now;
	if (f->cfg.priority == VRRP_PRIO_OWNER) {
		uint32_t a = become_master(f, now);

		return a | set_state(f, VRRP_STATE_MASTER, "startup as address owner");
	}
	f->master_interval_cs = f->cfg.interval_cs;
	f->down_at = now + vrrp_fsm_down_us(f->prio, f->master_interval_cs);
	f->master_addr = 0;
	f->master_prio = 0;
	/* DEMOTE: a previous run may have died as master and left the VIPs. */
	return VRRP_A_DEMOTE | set_state(f, VRRP_STATE_BACKUP, "startup");
}

uint32_t vrrp_fsm_shutdown(struct vrrp_fsm *f, uint64_t now)
{
	uint32_t a = 0;

	if (f->state == VRRP_STATE_INIT)
		return 0;
	if (f->state == VRRP_STATE_MASTER)
		a = VRRP_A_SEND_ADVERT_0 | VRRP_A_DEMOTE; /* 6.4.3: priority 0 */
	f->adver_at = f->down_at = 0;
	f->master_addr = 0;
	return a | set_state(f, VRRP_STATE_INIT, "shutdown");
}

static uint32_t backup_advert(struct vrrp_fsm *f, uint64_t now, uint32_t src, uint8_t prio,
			      uint16_t cs)
{
	int delaying = now < f->started_at + f->cfg.preempt_delay_us;

	if (prio == VRRP_PRIO_STOP) {
		/* 6.4.2: the master is leaving; take over after Skew_Time. */
		f->down_at = now + vrrp_fsm_skew_us(f->prio, f->master_interval_cs);
		f->master_left = 1;
		return VRRP_A_TIMERS;
	}
	if (!f->cfg.preempt || prio >= f->prio || delaying) {
		follow(f, now, src, prio, cs);
		return VRRP_A_TIMERS;
	}
	return 0; /* preempt: ignore the lower master; its timer runs out */
}

static uint32_t master_advert(struct vrrp_fsm *f, uint64_t now, uint32_t src, uint8_t prio,
			      uint16_t cs)
{
	char a[16];

	/* 6.4.3: higher priority, or equal priority and a higher primary
	 * address (compared as unsigned integers), wins. */
	if (prio != VRRP_PRIO_STOP && (prio > f->prio || (prio == f->prio && src > f->cfg.primary))) {
		f->adver_at = 0;
		follow(f, now, src, prio, cs);
		return VRRP_A_DEMOTE |
		       set_state(f, VRRP_STATE_BACKUP, "%s priority %u from %s",
				 prio > f->prio ? "higher" : "equal, higher address", prio,
				 addr_str(src, a));
	}
	/* Priority 0 (a backup must take over at once) or a lower one (RFC
	 * 9568 6.4.3: assert mastership at once): advertise now. */
	f->adver_at = now + f->cfg.interval_cs * (uint64_t)US_PER_CS;
	return VRRP_A_SEND_ADVERT | VRRP_A_TIMERS;
}

uint32_t vrrp_fsm_advert(struct vrrp_fsm *f, uint64_t now, uint32_t src, uint8_t priority,
			 uint16_t interval_cs)
{
	if (src == f->cfg.primary || interval_cs == 0)
		return 0; /* our own, or what the codec already refuses */
	switch (f->state) {
	case VRRP_STATE_BACKUP: return backup_advert(f, now, src, priority, interval_cs);
	case VRRP_STATE_MASTER: return master_advert(f, now, src, priority, interval_cs);
	default: return 0;
	}
}

uint32_t vrrp_fsm_timer(struct vrrp_fsm *f, uint64_t now)
{
	if (f->state == VRRP_STATE_BACKUP && f->down_at && now >= f->down_at) {
		const char *why = f->master_left ? "master left (priority 0), Skew_Time passed" :
						   "master down timer expired";

		return become_master(f, now) | set_state(f, VRRP_STATE_MASTER, "%s", why);
	}
	if (f->state == VRRP_STATE_MASTER && f->adver_at && now >= f->adver_at) {
		f->adver_at = now + f->cfg.interval_cs * (uint64_t)US_PER_CS;
		return VRRP_A_SEND_ADVERT | VRRP_A_TIMERS;
	}
	return 0;
}

uint32_t vrrp_fsm_set_priority(struct vrrp_fsm *f, uint64_t now, uint8_t prio)
{
	if (prio == f->prio)
		return 0;
	log_info("vrid %u: effective priority %u -> %u", f->cfg.vrid, f->prio, prio);
	f->prio = prio;
	if (f->state != VRRP_STATE_MASTER)
		return 0;
	/* Tell the backups at once: a higher one that preempts stops
	 * accepting our adverts now rather than at the next interval. */
	f->master_prio = prio;
	f->adver_at = now + f->cfg.interval_cs * (uint64_t)US_PER_CS;
	return VRRP_A_SEND_ADVERT | VRRP_A_TIMERS;
}

uint64_t vrrp_fsm_deadline(const struct vrrp_fsm *f)
{
	if (f->adver_at && f->down_at)
		return f->adver_at < f->down_at ? f->adver_at : f->down_at;
	return f->adver_at ? f->adver_at : f->down_at;
}
