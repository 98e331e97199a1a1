/* gwctl ike list, gwctl rekey SPI (and the other control-socket commands). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "gwctl.h"
#include "log.h"

static unsigned children_of(struct gwctl *c, uint32_t ike_idx)
{
	unsigned n = 0;
	uint32_t i;

	for (i = 0; i < c->t.hdr->child_capacity; i++) {
		const struct child_sa_rec *r = &c->t.child[i];

		if ((r->state == SA_STATE_INSTALLED || r->state == SA_STATE_REKEYED) &&
		    r->ike_idx == ike_idx + 1)
			n++;
	}
	return n;
}

static void ike_json(struct gwctl *c, const struct ike_sa_rec *r, uint32_t idx)
{
	char b[32];

	json_obj_begin(&c->j, NULL);
	json_str(&c->j, "name", r->name);
	snprintf(b, sizeof(b), "%016" PRIx64, r->spi_i);
	json_str(&c->j, "spi_i", b);
	snprintf(b, sizeof(b), "%016" PRIx64, r->spi_r);
	json_str(&c->j, "spi_r", b);
	json_str(&c->j, "state", sa_state_name((int)r->state));
	json_str(&c->j, "role", (r->flags & IKE_F_INITIATOR) ? "initiator" : "responder");
	json_str(&c->j, "enc", sa_alg_name(r->enc_alg));
	json_str(&c->j, "prf", "prfsha256");
	json_str(&c->j, "dh", "x25519");
	json_str(&c->j, "peer", conf_addr_str(r->peer_addr, b));
	json_u64(&c->j, "peer_port", r->peer_port);
	json_u64(&c->j, "msgid_out", r->msgid_out);
	json_u64(&c->j, "msgid_in", r->msgid_in);
	json_bool(&c->j, "peer_msgid_sync", !!(r->flags & IKE_F_PEER_MSGID_SYNC));
	json_bool(&c->j, "nat_t", !!(r->flags & IKE_F_NAT_T));
	json_u64(&c->j, "age_ms", r->created_ms ? wall_ms() - r->created_ms : 0);
	json_u64(&c->j, "child_sas", children_of(c, idx));
	json_obj_end(&c->j);
}

static int ike_list(struct gwctl *c)
{
	struct ike_sa_rec r;
	uint32_t i;

	if (c->json)
		json_arr_begin(&c->j, NULL);
	else
		printf("%-16s %-16s %-16s %-9s %-9s %-16s %-21s %6s %6s %7s %5s\n", "NAME", "SPI_I",
		       "SPI_R", "STATE", "ROLE", "ENC", "PEER", "MID_O", "MID_I", "AGE", "CHILD");
	for (i = 0; i < c->t.hdr->ike_capacity; i++) {
		char peer[32], a[16], age[32];

		if (c->t.ike[i].state == SA_STATE_FREE || sa_table_read_ike(&c->t, i, &r) < 0 ||
		    r.state == SA_STATE_FREE)
			continue;
		if (c->json) {
			ike_json(c, &r, i);
			continue;
		}
		snprintf(peer, sizeof(peer), "%s:%u", conf_addr_str(r.peer_addr, a), r.peer_port);
		printf("%-16s %016" PRIx64 " %016" PRIx64 " %-9s %-9s %-16s %-21s %6u %6u %7s %5u\n",
		       r.name, r.spi_i, r.spi_r, sa_state_name((int)r.state),
		       (r.flags & IKE_F_INITIATOR) ? "initiator" : "responder", sa_alg_name(r.enc_alg),
		       peer, (unsigned)r.msgid_out, (unsigned)r.msgid_in,
		       fmt_age(r.created_ms ? wall_ms() - r.created_ms : 0, age), children_of(c, i));
	}
	sodium_memzero(&r, sizeof(r));
	if (c->json) {
		json_arr_end(&c->j);
		json_done(&c->j);
	}
	return 0;
}

/* gwctl status: one line (or one JSON object) about IKE. */
void ike_status(struct gwctl *c)
{
	uint64_t est = sa_ctr_get(&c->t, CTR_ike_sa_established),
		 req = sa_ctr_get(&c->t, CTR_ike_rekeys_requested),
		 ok = sa_ctr_get(&c->t, CTR_ike_rekeys_succeeded),
		 fail = sa_ctr_get(&c->t, CTR_ike_rekeys_failed),
		 ans = sa_ctr_get(&c->t, CTR_ike_rekeys_answered);

	if (c->json) {
		json_obj_begin(&c->j, "ike");
		json_u64(&c->j, "sas", atomic_load(&c->t.hdr->ike_count));
		json_u64(&c->j, "established", est);
		json_u64(&c->j, "rekeys_requested", req);
		json_u64(&c->j, "rekeys_succeeded", ok);
		json_u64(&c->j, "rekeys_failed", fail);
		json_u64(&c->j, "rekeys_answered", ans);
		json_obj_end(&c->j);
		return;
	}
	printf("ike         %u SAs; %" PRIu64 " established; child rekeys %" PRIu64 " requested, %" PRIu64
	       " succeeded, %" PRIu64 " failed, %" PRIu64 " answered\n",
	       atomic_load(&c->t.hdr->ike_count), est, req, ok, fail, ans);
}

int cmd_ike(struct gwctl *c, int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "list"))
		return ike_list(c);
	fprintf(stderr, "usage: gwctl ike list\n");
	return 1;
}

/* One line to gwd's control socket; prints the answer. */
static int ctl_call(struct gwctl *c, const char *line)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[1024];
	ssize_t n;
	size_t got = 0;
	int fd;

	if (!c->have_cfg) {
		fprintf(stderr, "gwctl: this command needs -c config (for the control socket)\n");
		return 1;
	}
	if (strlen(c->cfg.gw.control) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "gwctl: control socket path too long\n");
		return 1;
	}
	memcpy(sun.sun_path, c->cfg.gw.control, strlen(c->cfg.gw.control) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "gwctl: %s: %s (is gwd running?)\n", c->cfg.gw.control, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (write(fd, line, strlen(line)) < 0) {
		close(fd);
		return 1;
	}
	while (got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	fputs(buf, strncmp(buf, "ok", 2) ? stderr : stdout);
	return strncmp(buf, "ok", 2) ? 1 : 0;
}

int cmd_rekey(struct gwctl *c, int argc, char **argv)
{
	char line[128];

	if (argc == 2) {
		snprintf(line, sizeof(line), "rekey %s\n", argv[1]);
		return ctl_call(c, line);
	}
	if (argc == 3 && !strcmp(argv[1], "ike")) {
		snprintf(line, sizeof(line), "rekey-ike %s\n", argv[2]);
		return ctl_call(c, line);
	}
	fprintf(stderr, "usage: gwctl rekey SPI | rekey ike SPI_I\n");
	return 1;
}

int cmd_ikectl(struct gwctl *c, int argc, char **argv)
{
	char line[128];

	if (argc != 2) {
		fprintf(stderr, "usage: gwctl %s ARG\n", argv[0]);
		return 1;
	}
	snprintf(line, sizeof(line), "%s %s\n", argv[0], argv[1]);
	return ctl_call(c, line);
}
