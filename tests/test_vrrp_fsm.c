/*
 * The VRRPv3 state machine (vrrp/fsm.c) driven by a table of
 * (state, event, expected state, expected actions, expected timers) rows,
 * one or more per rule of RFC 5798 6.4 / RFC 9568 6.4.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../vrrp/fsm.h"

#define T0      1000000u    /* Startup time (us) */
#define ME      0xc0a83202u /* 192.168.50.2: our primary address */
#define LOWER   0xc0a83201u /* 192.168.50.1 */
#define HIGHER  0xc0a83203u /* 192.168.50.3 */

/* Timer expectations: an exact delay after the event, or one of these. */
#define OFF  (-2)           /* the timer must be stopped */
#define KEEP (-1)           /* the timer must be where it was */

enum ev { STARTUP, SHUTDOWN, ADVERT, TIMER, SET_PRIO };

struct row {
	const char *rule;
	int state;              /* where the machine is before the event */
	uint8_t prio;           /* configured priority */
	int preempt;
	uint32_t preempt_delay_ms;
	enum ev ev;
	int64_t at;             /* event time, us after the state was reached */
	uint32_t src;           /* ADVERT */
	uint8_t aprio;          /* ADVERT priority, SET_PRIO priority */
	uint16_t acs;           /* ADVERT interval */
	int want_state;
	uint32_t want_actions;
	int64_t want_down, want_adver;
};

#define A_ADV    VRRP_A_SEND_ADVERT
#define A_ADV0   VRRP_A_SEND_ADVERT_0
#define A_PROM   VRRP_A_PROMOTE
#define A_DEM    VRRP_A_DEMOTE
#define A_GARP   VRRP_A_SEND_GARP
#define A_ST     VRRP_A_STATE
#define A_TM     VRRP_A_TIMERS
#define INIT     VRRP_STATE_INIT
#define BACKUP   VRRP_STATE_BACKUP
#define MASTER   VRRP_STATE_MASTER

/* Own interval 1 cs (10000 us). At priority 100: Skew_Time = 156 * 10000 /
 * 256 = 6093 us, Master_Down_Interval = 30000 + 6093 = 36093 us. With the
 * master's 5 cs: Skew 30468 us, Master_Down 180468 us. */
static const struct row rows[] = {
	/* 6.4.1 Initialize */
	{ "startup, not owner: Backup, Master_Down_Timer = Master_Down_Interval",
	  INIT, 100, 1, 0, STARTUP, 0, 0, 0, 0, BACKUP, A_DEM | A_ST | A_TM, 36093, OFF },
	{ "startup, owner (255): Master, advert, GARP, Adver_Timer",
	  INIT, 255, 1, 0, STARTUP, 0, 0, 0, 0, MASTER, A_ADV | A_PROM | A_GARP | A_ST | A_TM,
	  OFF, 10000 },
	{ "Initialize ignores adverts",
	  INIT, 100, 1, 0, ADVERT, 0, HIGHER, 200, 1, INIT, 0, OFF, OFF },
	{ "Initialize has no timers",
	  INIT, 100, 1, 0, TIMER, 99999999, 0, 0, 0, INIT, 0, OFF, OFF },
	{ "shutdown in Initialize does nothing",
	  INIT, 100, 1, 0, SHUTDOWN, 0, 0, 0, 0, INIT, 0, OFF, OFF },

	/* 6.4.2 Backup */
	{ "Backup: timer before Master_Down_Interval does nothing",
	  BACKUP, 100, 1, 0, TIMER, 36092, 0, 0, 0, BACKUP, 0, KEEP, OFF },
	{ "Backup: Master_Down_Timer fires: advert, GARP, Master",
	  BACKUP, 100, 1, 0, TIMER, 36093, 0, 0, 0, MASTER, A_ADV | A_PROM | A_GARP | A_ST | A_TM,
	  OFF, 10000 },
	{ "Backup: priority 0 sets Master_Down_Timer to Skew_Time",
	  BACKUP, 100, 1, 0, ADVERT, 20000, HIGHER, 0, 1, BACKUP, A_TM, 6093, OFF },
	{ "Backup: higher priority accepted, master's interval adopted",
	  BACKUP, 100, 1, 0, ADVERT, 20000, LOWER, 200, 5, BACKUP, A_TM, 180468, OFF },
	{ "Backup: equal priority accepted (>= local)",
	  BACKUP, 100, 1, 0, ADVERT, 20000, LOWER, 100, 1, BACKUP, A_TM, 36093, OFF },
	{ "Backup, preempt: lower priority discarded, timer runs on",
	  BACKUP, 100, 1, 0, ADVERT, 20000, HIGHER, 50, 1, BACKUP, 0, KEEP, OFF },
	{ "Backup, no preempt: lower priority accepted",
	  BACKUP, 100, 0, 0, ADVERT, 20000, HIGHER, 50, 1, BACKUP, A_TM, 36093, OFF },
	{ "Backup, preempt delay running: lower priority accepted",
	  BACKUP, 100, 1, 500, ADVERT, 20000, HIGHER, 50, 1, BACKUP, A_TM, 36093, OFF },
	{ "Backup, preempt delay over: lower priority discarded",
	  BACKUP, 100, 1, 500, ADVERT, 500000, HIGHER, 50, 1, BACKUP, 0, KEEP, OFF },
	{ "Backup: shutdown cancels Master_Down_Timer, Initialize",
	  BACKUP, 100, 1, 0, SHUTDOWN, 20000, 0, 0, 0, INIT, A_ST | A_TM, OFF, OFF },
	{ "Backup: a new priority changes nothing at once",
	  BACKUP, 100, 1, 0, SET_PRIO, 20000, 0, 50, 0, BACKUP, 0, KEEP, OFF },

	/* 6.4.3 Master */
	{ "Master: Adver_Timer fires: advert, timer reset",
	  MASTER, 100, 1, 0, TIMER, 10000, 0, 0, 0, MASTER, A_ADV | A_TM, OFF, 10000 },
	{ "Master: timer before Adver_Timer does nothing",
	  MASTER, 100, 1, 0, TIMER, 9999, 0, 0, 0, MASTER, 0, OFF, KEEP },
	{ "Master: priority 0 heard: advert at once, timer reset",
	  MASTER, 100, 1, 0, ADVERT, 3000, HIGHER, 0, 1, MASTER, A_ADV | A_TM, OFF, 10000 },
	{ "Master: higher priority: Backup, VIPs go, its interval adopted",
	  MASTER, 100, 1, 0, ADVERT, 3000, LOWER, 150, 5, BACKUP, A_DEM | A_ST | A_TM, 180468, OFF },
	{ "Master: equal priority, higher primary address: Backup",
	  MASTER, 100, 1, 0, ADVERT, 3000, HIGHER, 100, 1, BACKUP, A_DEM | A_ST | A_TM, 36093, OFF },
	{ "Master: equal priority, lower primary address: answer at once",
	  MASTER, 100, 1, 0, ADVERT, 3000, LOWER, 100, 1, MASTER, A_ADV | A_TM, OFF, 10000 },
	{ "Master: lower priority: answer at once (RFC 9568 6.4.3)",
	  MASTER, 100, 1, 0, ADVERT, 3000, HIGHER, 50, 1, MASTER, A_ADV | A_TM, OFF, 10000 },
	{ "Master: our own advert is ignored",
	  MASTER, 100, 1, 0, ADVERT, 3000, ME, 100, 1, MASTER, 0, OFF, KEEP },
	{ "Master: shutdown sends priority 0, demotes, Initialize",
	  MASTER, 100, 1, 0, SHUTDOWN, 3000, 0, 0, 0, INIT, A_ADV0 | A_DEM | A_ST | A_TM, OFF, OFF },
	{ "Master: a lower effective priority is advertised at once",
	  MASTER, 100, 1, 0, SET_PRIO, 3000, 0, 50, 0, MASTER, A_ADV | A_TM, OFF, 10000 },
	{ "Master, owner: 255 from a higher address wins the tie",
	  MASTER, 255, 1, 0, ADVERT, 3000, HIGHER, 255, 1, BACKUP, A_DEM | A_ST | A_TM, 30039, OFF },
	{ "Master, owner: 255 from a lower address: answer at once",
	  MASTER, 255, 1, 0, ADVERT, 3000, LOWER, 255, 1, MASTER, A_ADV | A_TM, OFF, 10000 },
};

/* Brings a machine to `state`; returns the time it got there. */
static uint64_t reach(struct vrrp_fsm *f, const struct row *r)
{
	struct vrrp_fsm_cfg c = {
		.vrid = 51, .priority = r->prio, .interval_cs = 1, .preempt = r->preempt,
		.preempt_delay_us = (uint64_t)r->preempt_delay_ms * 1000, .primary = ME,
	};
	uint64_t t = T0;

	vrrp_fsm_init(f, &c);
	if (r->state == INIT)
		return t;
	vrrp_fsm_startup(f, t);
	if (r->state == MASTER && f->state != MASTER) {
		t = f->down_at;
		vrrp_fsm_timer(f, t);
	}
	assert_int_equal(f->state, r->state);
	return t;
}

static void check_timer(const char *rule, const char *name, uint64_t now, uint64_t before,
			uint64_t after, int64_t want)
{
	if (want == OFF && after != 0)
		fail_msg("%s: %s should be stopped, is %+lld", rule, name,
			 (long long)(after - now));
	if (want == KEEP && after != before)
		fail_msg("%s: %s moved", rule, name);
	if (want >= 0 && after != now + (uint64_t)want)
		fail_msg("%s: %s at %+lld, want %+lld", rule, name,
			 after ? (long long)(after - now) : 0LL, (long long)want);
}

static uint32_t fire(struct vrrp_fsm *f, const struct row *r, uint64_t now)
{
	switch (r->ev) {
	case STARTUP: return vrrp_fsm_startup(f, now);
	case SHUTDOWN: return vrrp_fsm_shutdown(f, now);
	case ADVERT: return vrrp_fsm_advert(f, now, r->src, r->aprio, r->acs);
	case TIMER: return vrrp_fsm_timer(f, now);
	case SET_PRIO: return vrrp_fsm_set_priority(f, now, r->aprio);
	}
	return 0;
}

static void test_rows(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct vrrp_fsm f;
		uint64_t now = reach(&f, r) + (uint64_t)r->at;
		uint64_t down = f.down_at, adver = f.adver_at;
		uint32_t got = fire(&f, r, now);

		if (f.state != r->want_state)
			fail_msg("row %zu (%s): state %s, want %s", i, r->rule,
				 vrrp_fsm_state_name(f.state), vrrp_fsm_state_name(r->want_state));
		if (got != r->want_actions)
			fail_msg("row %zu (%s): actions 0x%x, want 0x%x", i, r->rule, got,
				 r->want_actions);
		check_timer(r->rule, "Master_Down_Timer", now, down, f.down_at, r->want_down);
		check_timer(r->rule, "Adver_Timer", now, adver, f.adver_at, r->want_adver);
	}
}

/* RFC 5798 6.1 in microseconds: no rounding to whole units. */
static void test_intervals(void **state)
{
	static const struct {
		uint8_t prio;
		uint16_t cs;
		uint64_t skew, down;
	} t[] = {
		{ 100, 1, 6093, 36093 },        /* (156 * 10 ms) / 256 = 6.09375 ms */
		{ 200, 1, 2187, 32187 },
		{ 255, 1, 39, 30039 },
		{ 1, 1, 9960, 39960 },
		{ 100, 10, 60937, 360937 },
		{ 100, 100, 609375, 3609375 },  /* the 1 s default: 3.609 s */
		{ 100, 4095, 24953906, 147803906 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(vrrp_fsm_skew_us(t[i].prio, t[i].cs), t[i].skew);
		assert_int_equal(vrrp_fsm_down_us(t[i].prio, t[i].cs), t[i].down);
	}
}

static const struct row backup100 = { "", BACKUP, 100, 1, 0, TIMER, 0, 0, 0, 0, 0, 0, 0, 0 };

/* A master that leaves: the backup waits Skew_Time only, and says why. */
static void test_priority_zero_takeover(void **state)
{
	struct vrrp_fsm f;
	uint64_t t = reach(&f, &backup100);

	vrrp_fsm_advert(&f, t + 1000, LOWER, 200, 1);
	assert_int_equal(vrrp_fsm_advert(&f, t + 2000, LOWER, 0, 1), A_TM);
	assert_int_equal(vrrp_fsm_timer(&f, t + 2000 + 6092), 0);
	assert_int_equal(vrrp_fsm_timer(&f, t + 2000 + 6093) & A_PROM, A_PROM);
	assert_int_equal(f.state, MASTER);
	assert_non_null(strstr(f.reason, "priority 0"));
}

/* Transitions are counted per target state; the reason names the cause. */
static void test_transition_counts(void **state)
{
	struct vrrp_fsm f;
	uint64_t t = reach(&f, &backup100);

	t = f.down_at;
	vrrp_fsm_timer(&f, t);                         /* -> MASTER */
	vrrp_fsm_advert(&f, t + 100, LOWER, 150, 1);   /* -> BACKUP */
	assert_non_null(strstr(f.reason, "higher priority 150 from 192.168.50.1"));
	vrrp_fsm_shutdown(&f, t + 200);                /* -> INIT */
	assert_int_equal(f.transitions[BACKUP], 2);
	assert_int_equal(f.transitions[MASTER], 1);
	assert_int_equal(f.transitions[INIT], 1);
	assert_int_equal(f.master_addr, 0);
}

/* The backup follows the master it hears, and the deadline is the
 * earliest running timer. */
static void test_master_tracking(void **state)
{
	struct vrrp_fsm f;
	uint64_t t = reach(&f, &backup100);

	vrrp_fsm_advert(&f, t + 5, LOWER, 120, 7);
	assert_int_equal(f.master_addr, LOWER);
	assert_int_equal(f.master_prio, 120);
	assert_int_equal(f.master_interval_cs, 7);
	assert_int_equal(vrrp_fsm_deadline(&f), f.down_at);
	/* A zero interval never reaches the FSM from the codec; if it did it
	 * must not stall the timer. */
	assert_int_equal(vrrp_fsm_advert(&f, t + 6, LOWER, 120, 0), 0);
	assert_int_equal(f.master_interval_cs, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_intervals),
		cmocka_unit_test(test_priority_zero_takeover),
		cmocka_unit_test(test_transition_counts),
		cmocka_unit_test(test_master_tracking),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
