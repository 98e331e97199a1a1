/*
 * libFuzzer harness: gwd's IKEv2 input, on real engines with real shm
 * tables (unlinked at once: nothing is left behind).
 *
 * Input: byte 0 chooses the mode (value % 3).
 *   0: the rest is one message for the parser alone: header, payload
 *      chain, every payload body parser, proposal selection, TS, and the
 *      SK payload opened with a fixed key (it must authenticate to get
 *      further, which random input does not: mode 2 is for that).
 *   1: the rest is a datagram from the configured peer to a responder
 *      engine: IKE_SA_INIT handling, cookies, unknown SPIs, everything
 *      reachable without keys. The SAs it creates are dropped after it.
 *   2: byte 1 picks the exchange (IKE_AUTH, CREATE_CHILD_SA,
 *      INFORMATIONAL), byte 2 is the first payload type and the rest the
 *      payload chain, which the harness encrypts with the keys of an
 *      established IKE SA and sends with the right message ID: every
 *      protected request handler (rekeys, deletes, DPD, RFC 6311, bad
 *      TS, bad proposals...) sees fuzzed, authenticated input.
 *      Authentication is not skipped; it is satisfied.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../gwd/ike.h"
#include "../gwd/ike_int.h"
#include "log.h"

#define ADDR_A 0xc0000201u
#define ADDR_B 0xc0000202u

struct peer {
	struct config cfg;
	struct sa_table t;
	struct ike ike;
	uint32_t addr;
};

static struct peer A, B, R; /* A initiates to B; R only responds (mode 1) */
static uint64_t now = 1000;
static struct {
	uint32_t dst;
	uint16_t sport;
	size_t len;
	uint8_t buf[IKE_MSG_MAX];
} wire[32];
static unsigned wire_n;

static int w_send(void *ctx, uint32_t addr, uint16_t port, int natt, const uint8_t *m, size_t len)
{
	if (wire_n < 32) {
		wire[wire_n].dst = addr;
		wire[wire_n].sport = natt ? 4500 : 500;
		wire[wire_n].len = len;
		memcpy(wire[wire_n].buf, m, len);
		wire_n++;
	}
	(void)ctx;
	(void)port;
	return 0;
}

/* A and B talk; R's answers go nowhere. */
static void pump(void)
{
	unsigned guard = 0;

	while (wire_n && guard++ < 64) {
		uint32_t dst = wire[0].dst;
		uint16_t sport = wire[0].sport;
		size_t len = wire[0].len;
		static uint8_t b[IKE_MSG_MAX];

		memcpy(b, wire[0].buf, len);
		memmove(wire, wire + 1, (--wire_n) * sizeof(wire[0]));
		if (dst == ADDR_A)
			ike_input(&A.ike, now, ADDR_B, sport, sport == 4500, b, len);
		else if (dst == ADDR_B)
			ike_input(&B.ike, now, ADDR_A, sport, sport == 4500, b, len);
	}
	wire_n = 0;
}

static void peer_init(struct peer *p, const char *name, uint32_t addr, uint32_t peer, int initiator)
{
	struct ike_ops ops = { .ctx = p, .send = w_send };
	struct conf_err e;
	char text[1024], shm[64];

	snprintf(shm, sizeof(shm), "/hagw-fuzz-ike-%s-%d", name, (int)getpid());
	snprintf(text, sizeof(text),
		 "[gateway]\nmember_id = %d\nlocal = %u.%u.%u.%u\nshm = %s\n"
		 "[ike]\ncookie_threshold = 3\n"
		 "[conn peer]\npeer = %u.%u.%u.%u\npsk = fuzz\nlocal_id = %s.test\nremote_id = %s.test\n"
		 "local_ts = 10.%d.0.0/24\nremote_ts = 10.%d.0.0/16\ninitiator = %s\n"
		 "esp_proposals = chacha20poly1305-esn-noesn, aes256gcm16\n",
		 initiator ? 1 : 2, addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255, shm,
		 peer >> 24, (peer >> 16) & 255, (peer >> 8) & 255, peer & 255,
		 initiator ? "a" : "b", initiator ? "b" : "a", initiator ? 1 : 2, initiator ? 2 : 1,
		 initiator ? "yes" : "no");
	p->addr = addr;
	if (config_load_string(&p->cfg, name, text, &e) < 0)
		abort();
	sa_table_unlink(shm);
	if (sa_table_create(&p->t, shm, p->cfg.gw.member_id, 32, 8) < 0)
		abort();
	sa_table_unlink(shm);
	atomic_store(&p->t.hdr->role, SA_ROLE_ACTIVE);
	if (ike_init(&p->ike, &p->cfg, &p->t, &ops) < 0)
		abort();
}

static struct ike_sa *established(struct peer *p)
{
	unsigned i;

	for (i = 0; i < p->ike.cap; i++)
		if (p->ike.sas[i].used && p->ike.sas[i].state == IKE_ST_ESTABLISHED)
			return &p->ike.sas[i];
	return NULL;
}

static void drop_all(struct peer *p)
{
	unsigned i;

	for (i = 0; i < p->ike.cap; i++)
		if (p->ike.sas[i].used)
			ike_sa_destroy(&p->ike, &p->ike.sas[i]);
}

/* B holds an established IKE SA with A, or one is made. */
static struct ike_sa *pair(void)
{
	struct ike_sa *b = established(&B);
	int i;

	if (b && established(&A))
		return b;
	drop_all(&A);
	drop_all(&B);
	for (i = 0; i < 80 && !(established(&A) && established(&B)); i++) {
		now += IKE_TICK_MS;
		ike_tick(&A.ike, now);
		pump();
	}
	return established(&B);
}

static void mode_parse(const uint8_t *data, size_t size)
{
	static const uint8_t key[36] = { 1, 2, 3 };
	static uint8_t buf[IKE_MSG_MAX * 2];
	static struct ike_msg m;
	struct ike_suites su;
	const char *why;
	unsigned i;

	if (size > sizeof(buf))
		return;
	memcpy(buf, data, size);
	if (ike_msg_parse(&m, buf, size) < 0)
		return;
	conf_ike_suites_parse("aes256gcm16-esn-noesn, chacha20poly1305-x25519", 1, &su, &why);
	for (i = 0; i < m.n; i++) {
		const struct ike_pl *pl = &m.pl[i];
		struct ike_notify_pl n;
		struct ike_delete_pl d;
		struct ike_choice ch;
		struct sa_ts ts[8], out;
		const uint8_t *p;
		size_t len;
		unsigned nts, skip;
		uint16_t g;
		uint8_t t;

		switch (pl->type) {
		case IKE_PL_NOTIFY: ike_pl_notify(pl, &n); break;
		case IKE_PL_DELETE: ike_pl_delete(pl, &d); break;
		case IKE_PL_KE: ike_pl_ke(pl, &g, &p, &len); break;
		case IKE_PL_IDI: case IKE_PL_IDR: ike_pl_id(pl, &t, &p, &len); break;
		case IKE_PL_AUTH: ike_pl_auth(pl, &t, &p, &len); break;
		case IKE_PL_SA:
			ike_prop_select(pl, IKE_PROTO_ESP, &su, IKE_DH_REQUIRE, &ch);
			ike_prop_select(pl, IKE_PROTO_IKE, &A.cfg.ike.conns[0].ike, IKE_DH_REQUIRE, &ch);
			break;
		case IKE_PL_TSI: case IKE_PL_TSR:
			if (ike_pl_ts(pl, ts, 8, &nts, &skip) == 0 && nts)
				ike_ts_narrow(&A.cfg.ike.conns[0].local_ts, ts, nts, &out);
			break;
		default: break;
		}
	}
	if (m.sk) {
		ike_sk_open(&m, buf, SA_ALG_CHACHA20_POLY1305, key);
	}
}

static void mode_responder(const uint8_t *data, size_t size)
{
	ike_input(&R.ike, now, ADDR_A, 500, 0, data, size);
	ike_input(&R.ike, now, ADDR_A, 4500, 1, data, size);
	wire_n = 0;
	now += IKE_TICK_MS;
	ike_tick(&R.ike, now);
	wire_n = 0;
	drop_all(&R);
}

static void mode_protected(const uint8_t *data, size_t size)
{
	static const uint8_t exch[3] = { IKE_AUTH, IKE_CREATE_CHILD_SA, IKE_INFORMATIONAL };
	static struct ike_buf in, msg;
	struct ike_sa *b = pair(), *a = established(&A);

	if (!b || !a || size < 2 || size - 2 > IKE_MSG_MAX - 200)
		return;
	ike_buf_init_chain(&in);
	in.p[0] = data[1];
	memcpy(in.p + 1, data + 2, size - 2);
	in.len = size - 1;
	/* A is the original initiator: its requests carry flag I and SK_ei */
	ike_buf_init_msg(&msg, b->spi_i, b->spi_r, exch[data[0] / 3 % 3], IKE_FLAG_I, b->msgid_in);
	if (ike_sk_seal(&msg, &in, b->enc, b->keys.sk_ei, now) < 0)
		return;
	ike_input(&B.ike, now, ADDR_A, 4500, 1, msg.p, msg.len);
	pump();
	now += IKE_TICK_MS;
	ike_tick(&B.ike, now);
	pump();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		log_init("fuzz_ike", 1, 0);
		log_setverbose(-1);
		peer_init(&A, "a", ADDR_A, ADDR_B, 1);
		peer_init(&B, "b", ADDR_B, ADDR_A, 0);
		peer_init(&R, "r", ADDR_B, ADDR_A, 0);
		ready = 1;
	}
	if (size < 1 || size > IKE_MSG_MAX)
		return 0;
	switch (data[0] % 3) {
	case 0: mode_parse(data + 1, size - 1); break;
	case 1: mode_responder(data + 1, size - 1); break;
	default: mode_protected(data, size); break;
	}
	return 0;
}
