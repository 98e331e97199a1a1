/*
 * The gateway side of the FSM's actions: adverts, the promotion and
 * demotion sequences of DESIGN.md, the VIPs (libmnl), the notify hook and
 * the status block gwctl reads.
 *
 * Promotion (BACKUP -> MASTER), each step done before the next:
 *   promote_prepare()        sync frozen, seeding, ceiling check, inbound
 *                            policy, IKE message IDs, activation counts
 *   promote_activate()       role ACTIVE, epoch + 1 (gwd starts sending),
 *                            the report for `gwctl failover last`
 *   VIPs added               then gratuitous ARPs (SEND_GARP)
 * Demotion (MASTER -> BACKUP or INIT): role STANDBY first (gwd stops
 * sending), then the VIPs go, then syncd may apply again.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "nl.h"
#include "promote.h"
#include "vrrp.h"

static void vips_add(struct vrrpd *d)
{
	uint32_t i;
	int rc;

	for (i = 0; i < d->n_vips; i++) {
		const struct vrrp_vip *v = &d->vips[i];
		char a[16];

		if ((rc = nl_addr_add(v->ifindex, v->addr, v->plen)) < 0) {
			sa_ctr_add(&d->table, CTR_vrrp_vip_errors, 1);
			log_warnx("cannot add %s/%u to %s: %s", conf_addr_str(v->addr, a),
				  v->plen, v->dev, strerror(-rc));
		}
	}
}

static void vips_del(struct vrrpd *d)
{
	uint32_t i;
	int rc;

	for (i = 0; i < d->n_vips; i++) {
		const struct vrrp_vip *v = &d->vips[i];
		char a[16];

		rc = nl_addr_del(v->ifindex, v->addr, v->plen);
		if (rc < 0 && rc != -EADDRNOTAVAIL && rc != -ENOENT) {
			sa_ctr_add(&d->table, CTR_vrrp_vip_errors, 1);
			log_warnx("cannot delete %s/%u from %s: %s", conf_addr_str(v->addr, a),
				  v->plen, v->dev, strerror(-rc));
		}
	}
}

static void promote(struct vrrpd *d)
{
	struct promote_report r;
	const struct failover_status *st = &r.st;
	uint64_t epoch;
	int rc;

	if ((rc = promote_prepare(&d->table, &d->cfg, d->fsm.reason, &r)) < 0)
		log_warnx("promotion steps failed: %s; taking the role anyway",
			  strerror(-rc));
	epoch = promote_activate(&d->table, &r);
	vips_add(d);
	log_info("role ACTIVE, epoch %llu in %llu us: %llu Child SAs, %llu seeded (max %llu, "
		 "median %llu), %llu queued for rekey, %llu blocked, %llu cannot rekey",
		 (unsigned long long)epoch, (unsigned long long)st->duration_us,
		 (unsigned long long)st->child_sas, (unsigned long long)st->seeded,
		 (unsigned long long)st->advance_max, (unsigned long long)st->advance_median,
		 (unsigned long long)st->rekey_queued, (unsigned long long)st->blocked,
		 (unsigned long long)st->cannot_rekey);
}

static void demote(struct vrrpd *d)
{
	atomic_store(&d->table.hdr->role, SA_ROLE_STANDBY);
	vrrp_timers_garp_stop(d);
	vips_del(d);
	promote_release(&d->table);
	log_info("role STANDBY, VIPs removed");
}

static void notify_closed(uv_handle_t *h)
{
	free(h);
}

static void notify_exited(uv_process_t *p, int64_t status, int sig)
{
	if (status || sig)
		log_warnx("notify script exited with status %lld, signal %d",
			  (long long)status, sig);
	uv_close((uv_handle_t *)p, notify_closed);
}

/* fork/exec through uv_spawn: the loop never waits for the script, and
 * libuv reaps it (exit_cb). */
static void notify(struct vrrpd *d)
{
	char *args[3];
	uv_process_options_t o;
	uv_process_t *p;
	int rc;

	if (!d->cfg.vrrp.notify[0])
		return;
	args[0] = d->cfg.vrrp.notify;
	args[1] = (char *)vrrp_fsm_state_name(d->fsm.state);
	args[2] = NULL;
	memset(&o, 0, sizeof(o));
	o.file = args[0];
	o.args = args;
	o.exit_cb = notify_exited;
	if (!(p = calloc(1, sizeof(*p)))) {
		sa_ctr_add(&d->table, CTR_vrrp_notify_errors, 1);
		return;
	}
	if ((rc = uv_spawn(d->loop, p, &o)) < 0) {
		sa_ctr_add(&d->table, CTR_vrrp_notify_errors, 1);
		log_warnx("notify %s: %s", args[0], uv_strerror(rc));
		uv_close((uv_handle_t *)p, notify_closed);
	}
}

uint8_t vrrp_gw_effective_priority(const struct vrrpd *d)
{
	const struct conf_vrrp *v = &d->cfg.vrrp;
	int prio = (int)v->priority;

	/* DESIGN.md: a member that is not in sync must lose to one that is. */
	if (v->require_sync && !atomic_load(&d->table.hdr->in_sync))
		prio -= (int)v->sync_demote;
	return (uint8_t)(prio < 1 ? 1 : prio);
}

void vrrp_gw_publish(struct vrrpd *d)
{
	const struct vrrp_fsm *f = &d->fsm;
	struct vrrp_status s = d->status;
	size_t off = offsetof(struct vrrp_status, version);

	s.version = VRRP_STATUS_VERSION;
	s.pid = (uint32_t)getpid();
	s.state = (uint32_t)f->state;
	s.vrid = f->cfg.vrid;
	s.priority = f->cfg.priority;
	s.effective_priority = f->prio;
	s.master_addr = f->state == VRRP_STATE_INIT ? 0 : f->master_addr;
	s.master_priority = f->master_prio;
	s.primary_addr = d->primary;
	s.interval_cs = f->cfg.interval_cs;
	s.master_interval_cs = f->master_interval_cs;
	s.n_vips = d->n_vips;
	s.unicast = d->cfg.vrrp.n_peers > 0;
	s.to_init = f->transitions[VRRP_STATE_INIT];
	s.to_backup = f->transitions[VRRP_STATE_BACKUP];
	s.to_master = f->transitions[VRRP_STATE_MASTER];
	if (s.to_init != d->status.to_init || s.to_backup != d->status.to_backup ||
	    s.to_master != d->status.to_master)
		s.since_ms = wall_ms();
	snprintf(s.reason, sizeof(s.reason), "%s", f->reason);
	snprintf(s.interface, sizeof(s.interface), "%s", d->cfg.vrrp.interface);
	if (!memcmp((uint8_t *)&s + off, (uint8_t *)&d->status + off, sizeof(s) - off))
		return;
	d->status = s;
	vrrp_status_publish(&d->table, &s);
}

void vrrp_gw_run(struct vrrpd *d, uint32_t actions)
{
	if (actions & VRRP_A_SEND_ADVERT_0)
		vrrp_net_send(d, VRRP_PRIO_STOP);
	if (actions & VRRP_A_SEND_ADVERT)
		vrrp_net_send(d, d->fsm.prio);
	if (actions & VRRP_A_DEMOTE)
		demote(d);
	if (actions & VRRP_A_PROMOTE)
		promote(d);
	if (actions & VRRP_A_SEND_GARP) {
		vrrp_garp_send_all(d);
		vrrp_timers_garp_start(d);
	}
	if (actions & VRRP_A_STATE)
		notify(d);
	if (actions & VRRP_A_TIMERS)
		vrrp_timers_arm(d);
	vrrp_gw_publish(d);
}
