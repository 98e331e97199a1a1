/*
 * gwctl's view of syncd: the sync lines of `status`, the S_0 / M lines of
 * `sa show`, and `role`, a lab tool that sets this member's role the way
 * vrrp does (docs/syncd.md).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "gwctl.h"
#include "log.h"
#include "mwin.h"
#include "sync_status.h"

static const struct {
	int id;
	const char *reason;
} sync_drops[] = {
	{ CTR_sync_drop_handshake, "handshake" },   { CTR_sync_drop_auth, "auth" },
	{ CTR_sync_drop_oversize, "oversize" },     { CTR_sync_drop_malformed, "malformed" },
	{ CTR_sync_drop_version, "version" },       { CTR_sync_drop_unknown_type, "unknown_type" },
	{ CTR_sync_drop_not_active, "not_active" }, { CTR_sync_drop_frozen, "frozen" },
	{ CTR_sync_drop_unknown_sa, "unknown_sa" }, { CTR_sync_drop_backwards, "backwards" },
	{ CTR_sync_drop_table_full, "table_full" }, { CTR_sync_drop_bad_record, "bad_record" },
	{ CTR_sync_link_timeout, "link_timeout" },
};

static uint64_t sync_refused(const struct gwctl *c)
{
	return sa_ctr_get(&c->t, CTR_sync_refused_auth) + sa_ctr_get(&c->t, CTR_sync_refused_addr) +
	       sa_ctr_get(&c->t, CTR_sync_refused_busy);
}

static int syncd_alive(const struct sync_status *s)
{
	return s->pid && (kill((pid_t)s->pid, 0) == 0 || errno == EPERM);
}

static uint64_t age(uint64_t then, uint64_t now)
{
	return then && now > then ? now - then : 0;
}

static void sync_status_json(struct gwctl *c, const struct sync_status *s, int have)
{
	uint64_t now = now_ms();
	char b[16];
	size_t i;

	json_obj_begin(&c->j, "sync");
	json_bool(&c->j, "running", have && syncd_alive(s));
	if (have) {
		json_str(&c->j, "peer", conf_addr_str(s->peer_addr, b));
		json_u64(&c->j, "port", s->port);
		json_str(&c->j, "link", sync_link_name(s->link));
		json_bool(&c->j, "connected", s->link == SYNC_LINK_OPEN);
		json_bool(&c->j, "in_sync", s->in_sync);
		if (s->peer_hello) {
			json_u64(&c->j, "peer_member", s->peer_member);
			json_str(&c->j, "peer_role", sa_role_name((int)s->peer_role));
			json_u64(&c->j, "peer_epoch", s->peer_epoch);
		}
		json_u64(&c->j, "last_rx_age_ms", age(s->last_rx_ms, now));
		json_u64(&c->j, "last_update_age_ms", age(s->last_update_ms, now));
		json_u64(&c->j, "msgs_tx", s->msgs_tx);
		json_u64(&c->j, "msgs_rx", s->msgs_rx);
		json_u64(&c->j, "bytes_tx", s->bytes_tx);
		json_u64(&c->j, "bytes_rx", s->bytes_rx);
		json_u64(&c->j, "connects", s->connects);
		json_u64(&c->j, "disconnects", s->disconnects);
		json_u64(&c->j, "bulks_tx", s->bulks_tx);
		json_u64(&c->j, "bulks_rx", s->bulks_rx);
		json_u64(&c->j, "bulk_last_n", s->bulk_last_n);
		json_u64(&c->j, "bulk_last_us", s->bulk_last_us);
		json_u64(&c->j, "applied_add", s->applied_add);
		json_u64(&c->j, "applied_del", s->applied_del);
		json_u64(&c->j, "applied_ctr", s->applied_ctr);
		json_u64(&c->j, "applied_ike", s->applied_ike);
		json_u64(&c->j, "add_lag_ms", s->add_lag_ms_last);
		json_u64(&c->j, "ctr_lag_ms", s->ctr_lag_ms_last);
		json_u64(&c->j, "ctr_lag_ms_max", s->ctr_lag_ms_max);
		json_u64(&c->j, "send_queue_bytes", s->send_queue_bytes);
		json_u64(&c->j, "interval_ms", s->interval_ms);
	}
	json_u64(&c->j, "refused", sync_refused(c));
	json_u64(&c->j, "refused_auth", sa_ctr_get(&c->t, CTR_sync_refused_auth));
	json_u64(&c->j, "refused_addr", sa_ctr_get(&c->t, CTR_sync_refused_addr));
	json_u64(&c->j, "refused_busy", sa_ctr_get(&c->t, CTR_sync_refused_busy));
	json_obj_begin(&c->j, "drops");
	for (i = 0; i < sizeof(sync_drops) / sizeof(sync_drops[0]); i++)
		json_u64(&c->j, sync_drops[i].reason, sa_ctr_get(&c->t, sync_drops[i].id));
	json_obj_end(&c->j);
	json_obj_end(&c->j);
}

static void sync_status_text(struct gwctl *c, const struct sync_status *s, int have)
{
	uint64_t now = now_ms();
	char b[16], x[32], y[32];
	size_t i;
	int n = 0;

	if (!have || !syncd_alive(s)) {
		printf("sync        syncd not running%s\n", have ? "" : " (never ran on this table)");
		if (!have)
			return;
	}
	printf("sync        peer %s port %u, %s%s, %s\n", conf_addr_str(s->peer_addr, b), s->port,
	       sync_link_name(s->link), s->initiator ? " (we connect)" : " (we listen)",
	       s->in_sync ? "in sync" : "not in sync");
	if (s->peer_hello && s->link == SYNC_LINK_OPEN)
		printf("sync peer   member %u, %s, epoch %" PRIu64 "\n", s->peer_member,
		       sa_role_name((int)s->peer_role), s->peer_epoch);
	printf("sync last   frame %s, update %s\n",
	       s->last_rx_ms ? (fmt_age(age(s->last_rx_ms, now), x), strcat(x, " ago")) : "never",
	       s->last_update_ms ? (fmt_age(age(s->last_update_ms, now), y), strcat(y, " ago"))
				 : "never");
	printf("sync tx     %" PRIu64 " msgs  %" PRIu64 " bytes  (%" PRIu64 " bulks sent)\n",
	       s->msgs_tx, s->bytes_tx, s->bulks_tx);
	printf("sync rx     %" PRIu64 " msgs  %" PRIu64 " bytes  (%" PRIu64 " bulks applied, last %"
	       PRIu64 " SAs in %" PRIu64 " us)\n",
	       s->msgs_rx, s->bytes_rx, s->bulks_rx, s->bulk_last_n, s->bulk_last_us);
	printf("sync lag    add %" PRIu64 " ms, counters %" PRIu64 " ms (max %" PRIu64 " ms)\n",
	       s->add_lag_ms_last, s->ctr_lag_ms_last, s->ctr_lag_ms_max);
	printf("sync peers  %" PRIu64 " connects, %" PRIu64 " disconnects, %" PRIu64
	       " refused (auth %" PRIu64 ", addr %" PRIu64 ", busy %" PRIu64 ")\n",
	       s->connects, s->disconnects, sync_refused(c), sa_ctr_get(&c->t, CTR_sync_refused_auth),
	       sa_ctr_get(&c->t, CTR_sync_refused_addr), sa_ctr_get(&c->t, CTR_sync_refused_busy));
	printf("sync drops ");
	for (i = 0; i < sizeof(sync_drops) / sizeof(sync_drops[0]); i++) {
		uint64_t v = sa_ctr_get(&c->t, sync_drops[i].id);

		if (v)
			n += printf(" %s %" PRIu64, sync_drops[i].reason, v);
	}
	printf("%s\n", n ? "" : " none");
}

void gwctl_sync_status(struct gwctl *c)
{
	struct sync_status s;
	int have = sync_status_read(&c->t, &s) == 0;

	if (c->json)
		sync_status_json(c, &s, have);
	else
		sync_status_text(c, &s, have);
}

static uint32_t m_window(const struct gwctl *c)
{
	struct sync_status s;

	if (c->have_cfg)
		return c->cfg.sync.m_window;
	if (sync_status_read(&c->t, &s) == 0 && s.m_window)
		return s.m_window;
	return 16;
}

void gwctl_sa_sync(struct gwctl *c, const struct child_sa_rec *r)
{
	uint64_t a = mwin_age(r, now_ms());
	uint32_t w = m_window(c);
	char b[32];

	if (c->json) {
		json_u64(&c->j, "s0", r->s0);
		json_u64(&c->j, "in_s0", r->in_s0);
		json_i64(&c->j, "s0_age_ms", a == UINT64_MAX ? -1 : (int64_t)a);
		json_u64(&c->j, "m", mwin_peak(r, w));
		json_u64(&c->j, "m_in", mwin_peak_in(r, w));
		json_u64(&c->j, "m_buckets", r->m_count < w ? r->m_count : w);
		json_u64(&c->j, "m_window", w);
		return;
	}
	printf("synced          S_0 %" PRIu64 "  age %s  M %" PRIu64 " per interval (%u of %u buckets)\n",
	       r->s0, a == UINT64_MAX ? "never" : fmt_age(a, b), mwin_peak(r, w),
	       r->m_count < w ? r->m_count : w, w);
	printf("synced inbound  top %" PRIu64 "  M %" PRIu64 "\n", r->in_s0, mwin_peak_in(r, w));
}

/* gwctl role active|standby: what vrrp does at promotion/demotion, for labs
 * and tests without vrrp. ACTIVE takes a new epoch (DESIGN.md step 7). */
int cmd_role(struct gwctl *c, int argc, char **argv)
{
	struct sa_table w;
	char err[256];
	int want, rc;

	if (argc != 2 || (strcmp(argv[1], "active") && strcmp(argv[1], "standby"))) {
		fprintf(stderr, "usage: gwctl role active|standby\n");
		return 1;
	}
	want = !strcmp(argv[1], "active") ? SA_ROLE_ACTIVE : SA_ROLE_STANDBY;
	if ((rc = sa_table_attach(&w, c->t.name, 1, err, sizeof(err))) < 0) {
		fprintf(stderr, "gwctl: %s\n", err);
		return 1;
	}
	if ((int)atomic_load(&w.hdr->role) != want) {
		if (want == SA_ROLE_ACTIVE)
			atomic_fetch_add(&w.hdr->epoch, 1);
		atomic_store(&w.hdr->role, (uint32_t)want);
	}
	printf("role %s, epoch %" PRIu64 "\n", sa_role_name(want), (uint64_t)atomic_load(&w.hdr->epoch));
	sa_table_detach(&w);
	return 0;
}
