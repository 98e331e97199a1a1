/*
 * The member-side steps of the promotion sequence (DESIGN.md "The promotion
 * sequence") that come before the role changes: vrrp calls
 * promote_prepare() on BACKUP -> MASTER, then sets the role ACTIVE with a
 * new epoch, then adds the VIPs. The failover issue fills in the steps
 * between 1 and 6 (seeding, ceiling check, inbound policy, IKE message
 * IDs) here, at their place.
 */
#ifndef HAGW_PROMOTE_H
#define HAGW_PROMOTE_H

#include <stdint.h>

struct sa_table;
struct config;

struct promote_report {
	uint32_t child_sas;      /* INSTALLED Child SAs seen */
	uint32_t activated;      /* activation counts incremented (step 6) */
	uint64_t elapsed_us;
};

/* Step 1: syncd stops applying (sync_frozen = 1). Step 6: every INSTALLED
 * Child SA's activation count moves, so its ESP IVs differ from any the
 * previous active member (or our previous activation) used. 0 or -errno. */
int promote_prepare(struct sa_table *t, const struct config *c, struct promote_report *r);

/* The last step of demotion, after the role is STANDBY and the VIPs are
 * gone: syncd may apply updates again. */
void promote_release(struct sa_table *t);

#endif
