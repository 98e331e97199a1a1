#include "promote.h"

#include <string.h>

#include "config.h"
#include "log.h"
#include "sa_table.h"

int promote_prepare(struct sa_table *t, const struct config *c, struct promote_report *r)
{
	uint64_t t0 = now_ns();
	uint32_t i;

	memset(r, 0, sizeof(*r));
	/* 1. The table is ours: syncd stops applying. Setting the flag before
	 * taking the lock lets an apply in progress finish, and none start. */
	atomic_store(&t->hdr->sync_frozen, 1);

	/* 2-5. Seeding, ceiling check, inbound policy and IKE message-ID
	 * resync belong to the failover issue and go here. */

	/* 6. Nonce safety: a new activation for every SA we will send on. */
	sa_table_lock(t);
	for (i = 0; i < t->hdr->child_capacity; i++) {
		struct child_sa_rec *rec = &t->child[i];

		if (rec->state != SA_STATE_INSTALLED)
			continue;
		r->child_sas++;
		atomic_fetch_add(&rec->activation, 1);
		r->activated++;
	}
	sa_table_unlock(t);
	r->elapsed_us = (now_ns() - t0) / 1000;
	return 0;
}

void promote_release(struct sa_table *t)
{
	atomic_store(&t->hdr->sync_frozen, 0);
}
