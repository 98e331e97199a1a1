/* gwctl status, sa, stats, keys. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "gwctl.h"
#include "log.h"

const char *fmt_age(uint64_t ms, char buf[32])
{
	if (ms < 10000)
		snprintf(buf, 32, "%" PRIu64 "ms", ms);
	else if (ms < 600000)
		snprintf(buf, 32, "%" PRIu64 "s", ms / 1000);
	else
		snprintf(buf, 32, "%" PRIu64 "m", ms / 60000);
	return buf;
}

static const struct {
	uint32_t bit;
	const char *name;
} sa_flag_names[] = {
	{ SA_F_ESN, "esn" },       { SA_F_MANUAL, "manual" },
	{ SA_F_REKEY_NEEDED, "rekey-needed" }, { SA_F_BLOCKED, "blocked" },
	{ SA_F_THRESHOLD, "threshold" }, { SA_F_INITIATOR, "initiator" },
	{ SA_F_REPLAY_RESET, "replay-restart" },
};

const char *fmt_flags(uint32_t flags, char buf[96])
{
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(sa_flag_names) / sizeof(sa_flag_names[0]); i++)
		if (flags & sa_flag_names[i].bit)
			n += (size_t)snprintf(buf + n, 96 - n, "%s%s", n ? "," : "", sa_flag_names[i].name);
	if (!n)
		snprintf(buf, 96, "-");
	return buf;
}

static int pid_alive(uint32_t pid)
{
	return pid && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

int cmd_status(struct gwctl *c, int argc, char **argv)
{
	struct sa_table_hdr *h = c->t.hdr;
	uint32_t gwd = atomic_load(&h->gwd_pid);
	uint64_t started = atomic_load(&h->gwd_started_ms);
	char age[32];

	if (c->json) {
		json_obj_begin(&c->j, NULL);
		json_u64(&c->j, "member_id", h->member_id);
		json_str(&c->j, "shm", c->t.name);
		json_str(&c->j, "role", sa_role_name((int)atomic_load(&h->role)));
		json_u64(&c->j, "epoch", atomic_load(&h->epoch));
		json_bool(&c->j, "in_sync", (int)atomic_load(&h->in_sync));
		json_u64(&c->j, "child_sas", atomic_load(&h->child_count));
		json_u64(&c->j, "ike_sas", atomic_load(&h->ike_count));
		json_u64(&c->j, "child_capacity", h->child_capacity);
		json_u64(&c->j, "ike_capacity", h->ike_capacity);
		json_obj_begin(&c->j, "gwd");
		json_bool(&c->j, "running", pid_alive(gwd));
		json_u64(&c->j, "pid", gwd);
		json_u64(&c->j, "uptime_ms", started && pid_alive(gwd) ? wall_ms() - started : 0);
		json_obj_end(&c->j);
		ike_status(c);
		gwctl_sync_status(c);
		vrrp_status_show(c);
		gwctl_failover_status(c);
		json_obj_end(&c->j);
		json_done(&c->j);
		return 0;
	}
	printf("member      %u (%s)\n", h->member_id, c->t.name);
	printf("role        %s, epoch %" PRIu64 ", %s\n", sa_role_name((int)atomic_load(&h->role)),
	       (uint64_t)atomic_load(&h->epoch), atomic_load(&h->in_sync) ? "in sync" : "not in sync");
	printf("SAs         %u child (capacity %u), %u IKE (capacity %u)\n",
	       atomic_load(&h->child_count), h->child_capacity, atomic_load(&h->ike_count),
	       h->ike_capacity);
	if (pid_alive(gwd))
		printf("gwd         running, pid %u, up %s\n", gwd,
		       fmt_age(started ? wall_ms() - started : 0, age));
	else
		printf("gwd         not running\n");
	ike_status(c);
	gwctl_sync_status(c);
	vrrp_status_show(c);
	gwctl_failover_status(c);
	return 0;
}

static void sa_json(struct gwctl *c, const struct child_sa_rec *r, int detail)
{
	struct json *j = &c->j;
	char b[32], f[96];

	json_obj_begin(j, NULL);
	json_str(j, "name", r->name);
	snprintf(b, sizeof(b), "0x%08x", r->spi_in);
	json_str(j, "spi_in", b);
	snprintf(b, sizeof(b), "0x%08x", r->spi_out);
	json_str(j, "spi_out", b);
	json_str(j, "alg", sa_alg_name(r->alg));
	json_bool(j, "esn", !!(r->flags & SA_F_ESN));
	json_str(j, "state", sa_state_name((int)r->state));
	fmt_flags(r->flags, f);
	json_str(j, "flags", f);
	json_str(j, "local_ts", conf_ts_str(&r->ts_local, b));
	json_str(j, "remote_ts", conf_ts_str(&r->ts_remote, b));
	json_str(j, "peer", conf_addr_str(r->peer_addr, b));
	json_u64(j, "peer_port", r->peer_port);
	json_u64(j, "out_seq", r->out_seq);
	json_u64(j, "replay_top", r->replay.top);
	json_u64(j, "replay_window", r->replay_window);
	json_u64(j, "activation", r->activation);
	json_u64(j, "tx_packets", r->ctr.tx_packets);
	json_u64(j, "rx_packets", r->ctr.rx_packets);
	if (detail) {
		json_u64(j, "tx_bytes", r->ctr.tx_bytes);
		json_u64(j, "rx_bytes", r->ctr.rx_bytes);
		json_u64(j, "drop_replay", r->ctr.drop_replay);
		json_u64(j, "drop_auth", r->ctr.drop_auth);
		json_u64(j, "drop_selector", r->ctr.drop_selector);
		json_u64(j, "drop_blocked", r->ctr.drop_blocked);
		json_u64(j, "drop_malformed", r->ctr.drop_malformed);
		json_u64(j, "created_ms", r->created_ms);
		gwctl_sa_sync(c, r);
	}
	json_obj_end(j);
}

static int sa_list(struct gwctl *c)
{
	struct child_sa_rec *r = sa_child_rec_new();
	uint32_t i;
	int n = 0;

	if (!r)
		return 1;
	if (c->json)
		json_arr_begin(&c->j, NULL);
	else
		printf("%-16s %-10s %-10s %-16s %-9s %-24s %12s %12s %10s %10s\n", "NAME", "SPI_IN",
		       "SPI_OUT", "ALG", "STATE", "FLAGS", "OUT_SEQ", "REPLAY_TOP", "TX_PKTS", "RX_PKTS");
	for (i = 0; i < c->t.hdr->child_capacity; i++) {
		char f[96];

		if (c->t.child[i].state == SA_STATE_FREE || sa_table_read_child(&c->t, i, r) < 0 ||
		    r->state == SA_STATE_FREE)
			continue;
		n++;
		if (c->json) {
			sa_json(c, r, 0);
			continue;
		}
		printf("%-16s 0x%08x 0x%08x %-16s %-9s %-24s %12" PRIu64 " %12" PRIu64 " %10" PRIu64
		       " %10" PRIu64 "\n",
		       r->name, r->spi_in, r->spi_out, sa_alg_name(r->alg), sa_state_name((int)r->state),
		       fmt_flags(r->flags, f), (uint64_t)r->out_seq, r->replay.top,
		       (uint64_t)r->ctr.tx_packets, (uint64_t)r->ctr.rx_packets);
	}
	if (c->json) {
		json_arr_end(&c->j);
		json_done(&c->j);
	}
	free(r);
	return 0;
}

static int sa_show(struct gwctl *c, const char *arg)
{
	struct child_sa_rec *r;
	unsigned long spi;
	char *end, b[32], f[96];
	int idx;

	errno = 0;
	spi = strtoul(arg, &end, 0);
	if (errno || *end || spi > UINT32_MAX) {
		fprintf(stderr, "gwctl: bad SPI '%s'\n", arg);
		return 1;
	}
	if ((idx = sa_table_find_child_by_spi(&c->t, (uint32_t)spi)) < 0) {
		fprintf(stderr, "gwctl: no SA with SPI 0x%08lx\n", spi);
		return 1;
	}
	if (!(r = sa_child_rec_new()) || sa_table_read_child(&c->t, (uint32_t)idx, r) < 0) {
		free(r);
		return 1;
	}
	if (c->json) {
		sa_json(c, r, 1);
		json_done(&c->j);
		free(r);
		return 0;
	}
	printf("name            %s\n", r->name);
	printf("spi             in 0x%08x  out 0x%08x\n", r->spi_in, r->spi_out);
	printf("alg             %s%s\n", sa_alg_name(r->alg), (r->flags & SA_F_ESN) ? ", esn" : "");
	printf("state           %s  flags %s\n", sa_state_name((int)r->state), fmt_flags(r->flags, f));
	printf("selectors       local %s", conf_ts_str(&r->ts_local, b));
	printf("  remote %s\n", conf_ts_str(&r->ts_remote, b));
	printf("peer            %s:%u\n", conf_addr_str(r->peer_addr, b), r->peer_port);
	printf("outbound        seq %" PRIu64 "  activation %u\n", (uint64_t)r->out_seq,
	       (unsigned)r->activation);
	printf("inbound         replay top %" PRIu64 "  window %u\n", r->replay.top, r->replay_window);
	gwctl_sa_sync(c, r);
	printf("tx              %" PRIu64 " packets  %" PRIu64 " bytes\n", (uint64_t)r->ctr.tx_packets,
	       (uint64_t)r->ctr.tx_bytes);
	printf("rx              %" PRIu64 " packets  %" PRIu64 " bytes\n", (uint64_t)r->ctr.rx_packets,
	       (uint64_t)r->ctr.rx_bytes);
	printf("drops           replay %" PRIu64 "  auth %" PRIu64 "  selector %" PRIu64
	       "  blocked %" PRIu64 "  malformed %" PRIu64 "\n",
	       (uint64_t)r->ctr.drop_replay, (uint64_t)r->ctr.drop_auth,
	       (uint64_t)r->ctr.drop_selector, (uint64_t)r->ctr.drop_blocked,
	       (uint64_t)r->ctr.drop_malformed);
	free(r);
	return 0;
}

int cmd_sa(struct gwctl *c, int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "list"))
		return sa_list(c);
	if (argc >= 3 && !strcmp(argv[1], "show"))
		return sa_show(c, argv[2]);
	fprintf(stderr, "usage: gwctl sa list | sa show SPI\n");
	return 1;
}

int cmd_stats(struct gwctl *c, int argc, char **argv)
{
	int i;

	if (c->json)
		json_obj_begin(&c->j, NULL);
	for (i = 0; i < CTR_COUNT; i++) {
		if (c->json)
			json_u64(&c->j, ctr_names[i], sa_ctr_get(&c->t, i));
		else
			printf("%-24s %" PRIu64 "\n", ctr_names[i], sa_ctr_get(&c->t, i));
	}
	if (c->json) {
		json_obj_end(&c->j);
		json_done(&c->j);
	}
	return 0;
}

static void hex(FILE *f, const uint8_t *p, size_t n)
{
	while (n--)
		fprintf(f, "%02x", *p++);
}

/* Wireshark's esp_sa UAT: "IPv4","src","dst","spi","encryption","key",
 * "authentication","auth key". One line per direction; the key is the
 * RFC 4106 keying material, AES key then 4-byte salt. tshark 4.0 (Debian 12)
 * loads these lines from a profile's esp_sa file or from -o uat:esp_sa:LINE
 * (netns-tests/wireshark.sh). AES-GCM only: Wireshark 4.0 cannot decrypt
 * ChaCha20-Poly1305 ESP. */
static void keys_line(uint32_t src, uint32_t dst, uint32_t spi, const struct sa_keymat *k)
{
	char a[16], b[16];

	printf("\"IPv4\",\"%s\",\"%s\",\"0x%08x\",\"AES-GCM with 16 octet ICV [RFC4106]\",\"0x",
	       conf_addr_str(src, a), conf_addr_str(dst, b), spi);
	hex(stdout, k->key, sizeof(k->key));
	hex(stdout, k->salt, sizeof(k->salt));
	printf("\",\"NULL\",\"\"\n");
}

int cmd_keys(struct gwctl *c, int argc, char **argv)
{
	struct child_sa_rec *r;
	uint32_t i, local;
	int skipped = 0, esn = 0;

	if (argc < 2 || strcmp(argv[1], "--wireshark")) {
		fprintf(stderr, "usage: gwctl keys --wireshark\n");
		return 1;
	}
	if (!c->have_cfg) {
		fprintf(stderr, "gwctl: keys needs -c config (for the local address)\n");
		return 1;
	}
	local = c->cfg.gw.local_addr;
	if (!(r = sa_child_rec_new()))
		return 1;
	for (i = 0; i < c->t.hdr->child_capacity; i++) {
		if (c->t.child[i].state == SA_STATE_FREE || sa_table_read_child(&c->t, i, r) < 0 ||
		    r->state == SA_STATE_FREE)
			continue;
		if (r->alg != SA_ALG_AES_GCM_16_256) {
			skipped++;
			continue;
		}
		keys_line(local, r->peer_addr, r->spi_out, &r->key_out);
		keys_line(r->peer_addr, local, r->spi_in, &r->key_in);
		esn += !!(r->flags & SA_F_ESN);
	}
	sodium_memzero(r, sizeof(*r));
	free(r);
	if (skipped)
		fprintf(stderr, "gwctl: %d ChaCha20-Poly1305 SAs left out (Wireshark cannot decrypt them)\n",
			skipped);
	/* Wireshark 4.0 has no ESN field in esp_sa and authenticates SPI ||
	 * 32-bit SN, not the RFC 4106 section 5 AAD with the high bits: the
	 * payload decrypts, the ICV check fails. */
	if (esn)
		fprintf(stderr,
			"gwctl: %d ESN SAs: Wireshark decrypts them but shows their ICV as incorrect "
			"(it leaves the ESN high bits out of the AAD)\n",
			esn);
	return 0;
}
