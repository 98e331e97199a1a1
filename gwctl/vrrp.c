/* gwctl's VRRP part: the vrrp block of `status`, and `in-sync` for labs. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "gwctl.h"
#include "log.h"
#include "vrrp_status.h"

static int vrrp_running(const struct vrrp_status *s)
{
	return s->version && s->pid && (kill((pid_t)s->pid, 0) == 0 || errno == EPERM);
}

static void vrrp_json(struct gwctl *c, const struct vrrp_status *s, int running)
{
	char a[16];

	json_obj_begin(&c->j, "vrrp");
	json_bool(&c->j, "running", running);
	if (s->version) {
		json_u64(&c->j, "pid", s->pid);
		json_str(&c->j, "state", vrrp_status_state_name(s->state));
		json_str(&c->j, "interface", s->interface);
		json_u64(&c->j, "vrid", s->vrid);
		json_u64(&c->j, "priority", s->priority);
		json_u64(&c->j, "effective_priority", s->effective_priority);
		json_str(&c->j, "primary", conf_addr_str(s->primary_addr, a));
		json_str(&c->j, "master", s->master_addr ? conf_addr_str(s->master_addr, a) : "");
		json_u64(&c->j, "master_priority", s->master_priority);
		json_u64(&c->j, "interval_cs", s->interval_cs);
		json_u64(&c->j, "master_interval_cs", s->master_interval_cs);
		json_bool(&c->j, "unicast", (int)s->unicast);
		json_u64(&c->j, "vips", s->n_vips);
		json_u64(&c->j, "to_master", s->to_master);
		json_u64(&c->j, "to_backup", s->to_backup);
		json_u64(&c->j, "to_init", s->to_init);
		json_str(&c->j, "last_reason", s->reason);
		json_u64(&c->j, "last_change_ms_ago", s->since_ms ? wall_ms() - s->since_ms : 0);
	}
	json_obj_end(&c->j);
}

static void vrrp_text(const struct vrrp_status *s, int running)
{
	char a[16], age[32];

	if (!s->version) {
		printf("vrrp        not running\n");
		return;
	}
	printf("vrrp        %s%s, vrid %u on %s (%s), %s\n", vrrp_status_state_name(s->state),
	       running ? "" : " (not running)", s->vrid, s->interface,
	       conf_addr_str(s->primary_addr, a), s->unicast ? "unicast" : "multicast");
	printf("  priority  %u, effective %u, interval %u cs\n", s->priority,
	       s->effective_priority, s->interval_cs);
	if (s->master_addr)
		printf("  master    %s priority %u, interval %u cs\n",
		       conf_addr_str(s->master_addr, a), s->master_priority, s->master_interval_cs);
	else
		printf("  master    none known\n");
	printf("  changes   %" PRIu64 " to master, %" PRIu64 " to backup, %" PRIu64
	       " to init; last %s ago: %s\n",
	       s->to_master, s->to_backup, s->to_init,
	       fmt_age(s->since_ms ? wall_ms() - s->since_ms : 0, age), s->reason);
}

void vrrp_status_show(struct gwctl *c)
{
	struct vrrp_status s;

	if (vrrp_status_read(&c->t, &s) < 0)
		memset(&s, 0, sizeof(s));
	if (s.version != VRRP_STATUS_VERSION)
		memset(&s, 0, sizeof(s));
	if (c->json)
		vrrp_json(c, &s, vrrp_running(&s));
	else
		vrrp_text(&s, vrrp_running(&s));
}

/* Sets the shm in_sync flag by hand: what syncd does once it holds a full
 * snapshot. For labs and tests without syncd; a running syncd overrides. */
int cmd_in_sync(struct gwctl *c, int argc, char **argv)
{
	struct sa_table w;
	char err[256];
	int rc;

	if (argc != 2 || (strcmp(argv[1], "0") && strcmp(argv[1], "1"))) {
		fprintf(stderr, "usage: gwctl in-sync 0|1\n");
		return 1;
	}
	if ((rc = sa_table_attach(&w, c->t.name, 1, err, sizeof(err))) < 0) {
		fprintf(stderr, "gwctl: %s\n", err);
		return 1;
	}
	atomic_store(&w.hdr->in_sync, argv[1][0] == '1');
	sa_table_detach(&w);
	return 0;
}
