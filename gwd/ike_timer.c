#include "ike_timer.h"

void ike_timer_arm(struct ike_timers *t, enum ike_timer which, uint64_t at)
{
	t->at[which] = at ? at : 1;
}

void ike_timer_stop(struct ike_timers *t, enum ike_timer which)
{
	t->at[which] = 0;
}

int ike_timer_fired(struct ike_timers *t, enum ike_timer which, uint64_t now)
{
	if (!t->at[which] || now < t->at[which])
		return 0;
	t->at[which] = 0;
	return 1;
}

const char *ike_timer_name(enum ike_timer which)
{
	static const char *const names[IKE_T_COUNT] = {
		"retransmit", "half-open", "dpd", "rekey", "linger",
	};

	return (unsigned)which < IKE_T_COUNT ? names[which] : "?";
}
