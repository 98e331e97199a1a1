/*
 * gwctl's view of the promotion (common/promote.h): `failover last`, the
 * report of the last promotion of this member, and its line in `status`.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "failover_status.h"
#include "gwctl.h"
#include "log.h"

static int fo_read(struct gwctl *c, struct failover_status *s)
{
	if (failover_status_read(&c->t, s) < 0 || s->version != FAILOVER_STATUS_VERSION) {
		memset(s, 0, sizeof(*s));
		return -1;
	}
	return 0;
}

static const char *fmt_x(uint32_t milli, char buf[16])
{
	snprintf(buf, 16, "%u.%03u", milli / 1000, milli % 1000);
	return buf;
}

static const char *fmt_member(uint32_t id, char buf[16])
{
	if (id == FAILOVER_MEMBER_UNKNOWN)
		snprintf(buf, 16, "unknown");
	else
		snprintf(buf, 16, "%u", id);
	return buf;
}

static void fo_json(struct gwctl *c, const struct failover_status *s)
{
	struct json *j = &c->j;
	char b[16];

	json_bool(j, "promoted", s->version != 0);
	if (!s->version)
		return;
	json_u64(j, "count", s->count);
	json_u64(j, "wall_ms", s->wall_ms);
	json_u64(j, "age_ms", wall_ms() > s->wall_ms ? wall_ms() - s->wall_ms : 0);
	json_str(j, "reason", s->reason);
	json_u64(j, "member_id", s->member_id);
	if (s->prev_active != FAILOVER_MEMBER_UNKNOWN)
		json_u64(j, "previous_active", s->prev_active);
	json_u64(j, "epoch_prev", s->epoch_prev);
	if (s->epoch_new != FAILOVER_EPOCH_PENDING)
		json_u64(j, "epoch_new", s->epoch_new);
	json_str(j, "strategy", conf_failover_strategy_name(s->strategy));
	json_str(j, "inbound", conf_failover_inbound_name(s->inbound));
	json_str(j, "x", fmt_x(s->x_milli, b));
	json_u64(j, "m_min", s->m_min);
	json_u64(j, "interval_ms", s->interval_ms);
	json_u64(j, "rekey_threshold_pct", s->threshold_pct);
	json_u64(j, "rekey_rate", s->rekey_rate);
	json_u64(j, "slots_scanned", s->scanned);
	json_u64(j, "child_sas", s->child_sas);
	json_u64(j, "seeded", s->seeded);
	json_u64(j, "advance_max", s->advance_max);
	json_u64(j, "advance_median", s->advance_median);
	json_u64(j, "k_max", s->k_max);
	json_u64(j, "stale", s->stale);
	json_u64(j, "never_synced", s->never_synced);
	json_u64(j, "rekey_queued", s->rekey_queued);
	json_u64(j, "rekey_new", s->rekey_new);
	json_u64(j, "rekeys_started", atomic_load(&s->rekeys_started));
	json_u64(j, "rekeys_done", atomic_load(&s->rekeys_done));
	json_u64(j, "rekeys_failed", atomic_load(&s->rekeys_failed));
	json_u64(j, "blocked", s->blocked);
	json_u64(j, "cannot_rekey", s->cannot_rekey);
	json_u64(j, "last_activation", s->act_last);
	json_u64(j, "inbound_restart", s->inbound_restart);
	json_u64(j, "inbound_advance_max", s->inbound_adv_max);
	json_u64(j, "ike_sas", s->ike_sas);
	json_u64(j, "ike_msgid_sync", s->ike_msgid_sync);
	json_u64(j, "ike_no_msgid_sync", s->ike_no_msgid_sync);
	json_u64(j, "scan_us", s->scan_us);
	json_u64(j, "duration_us", s->duration_us);
}

static void fo_text(const struct failover_status *s)
{
	char b[16], m[16], age[32];
	uint64_t w = wall_ms();

	if (!s->version) {
		printf("no promotion recorded in this table\n");
		return;
	}
	printf("promotion   #%" PRIu64 ", %s ago: %s\n", s->count,
	       fmt_age(w > s->wall_ms ? w - s->wall_ms : 0, age), s->reason);
	printf("members     %u took over from %s; epoch %" PRIu64 " -> ", s->member_id,
	       fmt_member(s->prev_active, m), s->epoch_prev);
	if (s->epoch_new == FAILOVER_EPOCH_PENDING)
		printf("(role not flipped yet)\n");
	else
		printf("%" PRIu64 "\n", s->epoch_new);
	printf("policy      strategy %s, inbound %s, X %s, M_min %u, interval %u ms, "
	       "rekey at %u%%, %u rekeys/s\n", conf_failover_strategy_name(s->strategy),
	       conf_failover_inbound_name(s->inbound), fmt_x(s->x_milli, b), s->m_min,
	       s->interval_ms, s->threshold_pct, s->rekey_rate);
	printf("duration    %" PRIu64 " us to the role flip (%" PRIu64 " us for %" PRIu64
	       " slots)\n", s->duration_us, s->scan_us, s->scanned);
	printf("child SAs   %" PRIu64 ", %" PRIu64 " seeded; advance max %" PRIu64
	       ", median %" PRIu64 "; k max %" PRIu64 " (%" PRIu64 " with k > 1), %" PRIu64
	       " never synced\n", s->child_sas, s->seeded, s->advance_max, s->advance_median,
	       s->k_max, s->stale, s->never_synced);
	printf("rekeys      %" PRIu64 " queued (%" PRIu64 " new), %" PRIu64 " started, %" PRIu64
	       " done, %" PRIu64 " failed\n", s->rekey_queued, s->rekey_new,
	       (uint64_t)atomic_load(&s->rekeys_started), (uint64_t)atomic_load(&s->rekeys_done),
	       (uint64_t)atomic_load(&s->rekeys_failed));
	printf("blocked     %" PRIu64 " (send nothing until rekeyed); %" PRIu64
	       " manual SAs cannot rekey; %" PRIu64 " at their last IV activation\n",
	       s->blocked, s->cannot_rekey, s->act_last);
	printf("inbound     %" PRIu64 " windows restart at their next packet (%s",
	       s->inbound_restart, conf_failover_inbound_name(s->inbound));
	if (s->inbound == CONF_INBOUND_STRICT)
		printf(", raised up to %" PRIu64 ")\n", s->inbound_adv_max);
	else
		printf(")\n");
	printf("IKE SAs     %" PRIu64 ", %" PRIu64 " flagged for an RFC 6311 message-ID sync, %"
	       PRIu64 " peers without it\n", s->ike_sas, s->ike_msgid_sync, s->ike_no_msgid_sync);
}

int cmd_failover(struct gwctl *c, int argc, char **argv)
{
	struct failover_status s;

	if (argc != 2 || strcmp(argv[1], "last")) {
		fprintf(stderr, "usage: gwctl [--json] failover last\n");
		return 1;
	}
	fo_read(c, &s);
	if (c->json) {
		json_obj_begin(&c->j, NULL);
		fo_json(c, &s);
		json_obj_end(&c->j);
		json_done(&c->j);
		return 0;
	}
	fo_text(&s);
	return 0;
}

/* One line (or a small object) in `status`. */
void gwctl_failover_status(struct gwctl *c)
{
	struct failover_status s;
	char age[32];
	uint64_t w = wall_ms();

	fo_read(c, &s);
	if (c->json) {
		json_obj_begin(&c->j, "failover");
		json_bool(&c->j, "promoted", s.version != 0);
		if (s.version) {
			json_u64(&c->j, "age_ms", w > s.wall_ms ? w - s.wall_ms : 0);
			json_u64(&c->j, "duration_us", s.duration_us);
			json_u64(&c->j, "rekey_queued", s.rekey_queued);
			json_u64(&c->j, "blocked", s.blocked);
		}
		json_obj_end(&c->j);
		return;
	}
	if (!s.version) {
		printf("failover    no promotion yet\n");
		return;
	}
	printf("failover    last promotion %s ago in %" PRIu64 " us: %" PRIu64 " SAs, %" PRIu64
	       " queued for rekey, %" PRIu64 " blocked (gwctl failover last)\n",
	       fmt_age(w > s.wall_ms ? w - s.wall_ms : 0, age), s.duration_us, s.child_sas,
	       s.rekey_queued, s.blocked);
}
