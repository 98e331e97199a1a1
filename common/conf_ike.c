/*
 * [ike] (timers shared by all connections) and [conn NAME] (one IKEv2
 * peer each):
 *
 *   [ike]
 *   retransmit_ms = 1000       first retransmission; doubles each try
 *   retransmit_tries = 5       then the exchange (and the IKE SA) fails
 *   half_open = 30             s a responder SA may wait for IKE_AUTH
 *   cookie_threshold = 64      half-open SAs before COOKIEs are asked (2.6)
 *   rekey_rate = 50            Child SA rekeys gwd starts per second (no storm)
 *
 *   [conn site]
 *   peer = 192.168.7.2         required
 *   peer_port = 500
 *   local_id = gw.example      IPv4 address, user@host, fqdn or @fqdn;
 *   remote_id = site.example   defaults: local address / peer address
 *   psk = secret               or 0x<hex>; required
 *   ike_proposals = aes256gcm16-prfsha256-x25519, chacha20poly1305-prfsha256-x25519
 *   esp_proposals = aes256gcm16-noesn, chacha20poly1305-noesn
 *   local_ts = 10.1.0.0/24     required
 *   remote_ts = 10.2.0.0/24    required
 *   initiator = no             yes: gwd starts the IKE SA
 *   pfs = no                   yes: Child SA rekeys carry a new X25519 KE
 *   dpd = 30                   s between liveness checks, 0 = off
 *   ike_lifetime = 14400       s, then the IKE SA is rekeyed
 *   child_lifetime = 3600      s, then the Child SA is rekeyed
 *   child_life_packets = 0     packets either way, then rekeyed (0 = off)
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ike_defaults(struct conf_ike *k)
{
	if (!k->retransmit_ms)
		k->retransmit_ms = 1000;
	if (!k->retransmit_tries)
		k->retransmit_tries = 5;
	if (!k->half_open_s)
		k->half_open_s = 30;
	if (!k->cookie_threshold)
		k->cookie_threshold = 64;
	if (!k->rekey_rate)
		k->rekey_rate = 50;
}

int conf_ike_set(struct config *c, const char *name, int line, const char *key,
		 const char *v, const char **why)
{
	struct conf_ike *k = &c->ike;

	if (!strcmp(key, "retransmit_ms"))
		return conf_parse_u32(v, 100, 60000, &k->retransmit_ms, why);
	if (!strcmp(key, "retransmit_tries"))
		return conf_parse_u32(v, 1, 20, &k->retransmit_tries, why);
	if (!strcmp(key, "half_open"))
		return conf_parse_u32(v, 1, 3600, &k->half_open_s, why);
	if (!strcmp(key, "cookie_threshold"))
		return conf_parse_u32(v, 1, 1000000, &k->cookie_threshold, why);
	if (!strcmp(key, "rekey_rate"))
		return conf_parse_u32(v, 1, 100000, &k->rekey_rate, why);
	*why = "unknown key";
	return -2;
}

static int suite_token(const char *t, size_t n, int esp, struct ike_suite *s, int *prf)
{
#define IS(lit) (n == sizeof(lit) - 1 && !strncmp(t, lit, n))
	if (IS("aes256gcm16") || IS("aes256gcm128"))
		s->enc = SA_ALG_AES_GCM_16_256;
	else if (IS("chacha20poly1305"))
		s->enc = SA_ALG_CHACHA20_POLY1305;
	else if (IS("x25519") || IS("curve25519"))
		s->dh = 1;
	else if (!esp && IS("prfsha256"))
		*prf = 1;
	else if (esp && IS("esn"))
		s->esn_mask |= IKE_ESN_YES;
	else if (esp && IS("noesn"))
		s->esn_mask |= IKE_ESN_NO;
	else
		return -1;
	return 0;
#undef IS
}

int conf_ike_suites_parse(const char *text, int esp, struct ike_suites *out, const char **why)
{
	const char *p = text;

	memset(out, 0, sizeof(*out));
	while (*p) {
		struct ike_suite s = { 0 };
		size_t len = strcspn(p, ", \t");
		const char *end = p + len, *t = p;
		int prf = 0;

		if (len == 0) {
			p++;
			continue;
		}
		while (t < end) {
			size_t n = strcspn(t, "-, \t");

			if (t + n > end)
				n = (size_t)(end - t);
			if (suite_token(t, n, esp, &s, &prf) < 0) {
				*why = esp ? "unknown ESP transform (aes256gcm16, chacha20poly1305, "
					     "x25519, esn, noesn)"
					   : "unknown IKE transform (aes256gcm16, chacha20poly1305, "
					     "prfsha256, x25519)";
				return -1;
			}
			t += n;
			if (t < end && *t == '-')
				t++;
		}
		if (!s.enc || (!esp && (!prf || !s.dh))) {
			*why = esp ? "ESP proposal needs an encryption algorithm"
				   : "IKE proposal needs encryption, prfsha256 and x25519";
			return -1;
		}
		if (esp && !s.esn_mask)
			s.esn_mask = IKE_ESN_NO;
		if (!esp)
			s.dh = 1;
		if (out->n == IKE_MAX_SUITES) {
			*why = "too many proposals";
			return -1;
		}
		out->s[out->n++] = s;
		p = end;
	}
	if (!out->n) {
		*why = "no proposal";
		return -1;
	}
	return 0;
}

static int parse_id(const char *v, struct conf_ike_id *id, const char **why)
{
	uint32_t a;
	size_t n;

	memset(id, 0, sizeof(*id));
	if (conf_parse_addr(v, &a, why) == 0) {
		id->type = 1; /* ID_IPV4_ADDR */
		id->len = 4;
		id->data[0] = (uint8_t)(a >> 24);
		id->data[1] = (uint8_t)(a >> 16);
		id->data[2] = (uint8_t)(a >> 8);
		id->data[3] = (uint8_t)a;
		return 0;
	}
	if (v[0] == '@') {
		id->type = 2; /* ID_FQDN, as strongSwan's "@name" */
		v++;
	} else {
		id->type = strchr(v, '@') ? 3 : 2; /* ID_RFC822_ADDR or ID_FQDN */
	}
	n = strlen(v);
	if (n == 0 || n > CONF_ID_MAX) {
		*why = "identity empty or too long";
		return -1;
	}
	memcpy(id->data, v, n);
	id->len = (uint8_t)n;
	return 0;
}

static void id_from_addr(struct conf_ike_id *id, uint32_t a)
{
	memset(id, 0, sizeof(*id));
	id->type = 1;
	id->len = 4;
	id->data[0] = (uint8_t)(a >> 24);
	id->data[1] = (uint8_t)(a >> 16);
	id->data[2] = (uint8_t)(a >> 8);
	id->data[3] = (uint8_t)a;
}

static struct conf_ike_conn *conn_get(struct config *c, const char *name, int line)
{
	struct conf_ike *k = &c->ike;
	struct conf_ike_conn *n;
	const char *why;
	uint32_t i;

	for (i = 0; i < k->n_conns; i++)
		if (!strcmp(k->conns[i].name, name))
			return &k->conns[i];
	if (k->n_conns == CONF_MAX_CONNS || strlen(name) >= sizeof(n->name))
		return NULL;
	if (!(n = realloc(k->conns, (k->n_conns + 1) * sizeof(*n))))
		return NULL;
	k->conns = n;
	n = &k->conns[k->n_conns++];
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->line = line;
	n->peer_port = 500;
	n->dpd_s = 30;
	n->ike_lifetime_s = 14400;
	n->child_lifetime_s = 3600;
	conf_ike_suites_parse("aes256gcm16-prfsha256-x25519, chacha20poly1305-prfsha256-x25519", 0,
			      &n->ike, &why);
	conf_ike_suites_parse("aes256gcm16-noesn, chacha20poly1305-noesn", 1, &n->esp, &why);
	return n;
}

static int parse_psk(const char *v, struct conf_ike_conn *n, const char **why)
{
	size_t len = strlen(v);

	if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		if ((len - 2) % 2 || (len - 2) / 2 > CONF_PSK_MAX || len == 2) {
			*why = "hex PSK: even number of digits, at most 128 bytes";
			return -1;
		}
		n->psk_len = (uint32_t)(len - 2) / 2;
		return conf_parse_hex(v, n->psk, n->psk_len, why);
	}
	if (len == 0 || len > CONF_PSK_MAX) {
		*why = "PSK empty or longer than 128 bytes";
		return -1;
	}
	memcpy(n->psk, v, len);
	n->psk_len = (uint32_t)len;
	return 0;
}

int conf_conn_set(struct config *c, const char *name, int line, const char *key,
		  const char *v, const char **why)
{
	struct conf_ike_conn *n = conn_get(c, name, line);
	uint32_t u;

	if (!n) {
		*why = "too many connections or name too long";
		return -1;
	}
	if (!strcmp(key, "peer"))
		return conf_parse_addr(v, &n->peer_addr, why);
	if (!strcmp(key, "peer_port")) {
		if (conf_parse_u32(v, 1, 65535, &u, why) < 0)
			return -1;
		n->peer_port = (uint16_t)u;
		return 0;
	}
	if (!strcmp(key, "local_id")) {
		n->have_local_id = 1;
		return parse_id(v, &n->local_id, why);
	}
	if (!strcmp(key, "remote_id")) {
		n->have_remote_id = 1;
		return parse_id(v, &n->remote_id, why);
	}
	if (!strcmp(key, "psk"))
		return parse_psk(v, n, why);
	if (!strcmp(key, "ike_proposals"))
		return conf_ike_suites_parse(v, 0, &n->ike, why);
	if (!strcmp(key, "esp_proposals"))
		return conf_ike_suites_parse(v, 1, &n->esp, why);
	if (!strcmp(key, "local_ts")) {
		n->have_local_ts = 1;
		return conf_parse_prefix(v, &n->local_ts, why);
	}
	if (!strcmp(key, "remote_ts")) {
		n->have_remote_ts = 1;
		return conf_parse_prefix(v, &n->remote_ts, why);
	}
	if (!strcmp(key, "initiator"))
		return conf_parse_bool(v, &n->initiator, why);
	if (!strcmp(key, "pfs"))
		return conf_parse_bool(v, &n->pfs, why);
	if (!strcmp(key, "dpd"))
		return conf_parse_u32(v, 0, 86400, &n->dpd_s, why);
	if (!strcmp(key, "ike_lifetime"))
		return conf_parse_u32(v, 10, 86400 * 7, &n->ike_lifetime_s, why);
	if (!strcmp(key, "child_lifetime"))
		return conf_parse_u32(v, 10, 86400 * 7, &n->child_lifetime_s, why);
	if (!strcmp(key, "child_life_packets"))
		return conf_parse_u64(v, &n->child_life_packets, why);
	*why = "unknown key";
	return -2;
}

int conf_ike_check(struct config *c, const char **why, int *line)
{
	uint32_t i, j;

	ike_defaults(&c->ike);
	for (i = 0; i < c->ike.n_conns; i++) {
		struct conf_ike_conn *n = &c->ike.conns[i];

		*line = n->line;
		if (!n->peer_addr) {
			*why = "conn needs peer";
			return -1;
		}
		if (!n->psk_len) {
			*why = "conn needs psk";
			return -1;
		}
		if (!n->have_local_ts || !n->have_remote_ts) {
			*why = "conn needs local_ts and remote_ts";
			return -1;
		}
		if (n->initiator && !c->gw.local_addr) {
			*why = "an initiating conn needs [gateway] local";
			return -1;
		}
		if (!n->have_local_id)
			id_from_addr(&n->local_id, c->gw.local_addr);
		if (!n->have_remote_id)
			id_from_addr(&n->remote_id, n->peer_addr);
		for (j = 0; j < i; j++)
			if (c->ike.conns[j].peer_addr == n->peer_addr) {
				*why = "two conns with the same peer";
				return -1;
			}
	}
	return 0;
}

void conf_ike_free(struct config *c)
{
	if (c->ike.conns) {
		explicit_bzero(c->ike.conns, c->ike.n_conns * sizeof(*c->ike.conns));
		free(c->ike.conns);
	}
	c->ike.conns = NULL;
	c->ike.n_conns = 0;
}

const struct conf_ike_conn *conf_ike_conn_by_peer(const struct conf_ike *c, uint32_t addr)
{
	uint32_t i;

	for (i = 0; i < c->n_conns; i++)
		if (c->conns[i].peer_addr == addr)
			return &c->conns[i];
	return NULL;
}

const struct conf_ike_conn *conf_ike_conn_by_name(const struct conf_ike *c, const char *name)
{
	uint32_t i;

	for (i = 0; i < c->n_conns; i++)
		if (!strcmp(c->conns[i].name, name))
			return &c->conns[i];
	return NULL;
}
