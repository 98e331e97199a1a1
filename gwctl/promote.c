/*
 * `gwctl promote [REASON]`: a lab tool that runs the promotion on this
 * member's table exactly as vrrp runs it on BACKUP -> MASTER
 * (common/promote.h: prepare, activate, release), without the VIPs. It
 * lets a test promote a standalone gwd and watch its IKE engine work the
 * rekey queue (docs/failover.md "After the role flip").
 */
#include <inttypes.h>
#include <stdio.h>

#include "gwctl.h"
#include "promote.h"
#include "sa_table.h"

int cmd_promote(struct gwctl *c, int argc, char **argv)
{
	struct promote_report r;
	struct sa_table w;
	char err[256];
	uint64_t epoch;

	if (argc > 2 || !c->have_cfg) {
		fprintf(stderr, "usage: gwctl -c CONF promote [REASON]\n");
		return 1;
	}
	if (sa_table_attach(&w, c->t.name, 1, err, sizeof(err)) < 0) {
		fprintf(stderr, "gwctl: %s\n", err);
		return 1;
	}
	if (promote_prepare(&w, &c->cfg, argc == 2 ? argv[1] : "gwctl promote", &r) < 0) {
		fprintf(stderr, "gwctl: promotion failed\n");
		sa_table_detach(&w);
		return 1;
	}
	epoch = promote_activate(&w, &r);
	promote_release(&w);
	printf("promoted: epoch %" PRIu64 ", %" PRIu64 " child SAs, %" PRIu64 " queued for rekey, "
	       "%" PRIu64 " blocked, %" PRIu64 " IKE SAs to message-ID sync\n",
	       epoch, r.st.child_sas, r.st.rekey_queued, r.st.blocked, r.st.ike_msgid_sync);
	sa_table_detach(&w);
	return 0;
}
