/*
 * The IKEv2 exchanges, both sides of each (RFC 7296 1.2-1.4):
 * IKE_SA_INIT, IKE_AUTH with PSK and the first Child SA, CREATE_CHILD_SA
 * (Child SA rekey, IKE SA rekey), INFORMATIONAL (DPD, Delete) and RFC 6311
 * message-ID sync. Each request handler checks its payloads in order and
 * answers with the notify RFC 7296 names for the first thing wrong.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ike.h"
#include "ike_int.h"
#include "log.h"

static size_t id_body(const struct conf_ike_id *id, uint8_t *out)
{
	out[0] = id->type;
	out[1] = out[2] = out[3] = 0;
	memcpy(out + 4, id->data, id->len);
	return 4u + id->len;
}

static int id_matches(const struct ike_pl *pl, const struct conf_ike_id *want)
{
	return pl->len == 4u + want->len && pl->body[0] == want->type &&
	       !memcmp(pl->body + 4, want->data, want->len);
}

static void *dup_bytes(const void *p, size_t n)
{
	void *d = malloc(n);

	if (d)
		memcpy(d, p, n);
	return d;
}

/* 2.23. ESP only travels in UDP here (the data plane has no raw ESP), so,
 * like strongSwan's encap=yes, we pretend to be behind a NAT: our source
 * hash is random. Both sides then float to 4500 and encapsulate
 * (RFC 3948). The destination hash is the real one. */
static void put_natd(struct ike_buf *b, uint64_t spi_i, uint64_t spi_r, uint32_t dst, uint16_t dport)
{
	uint8_t h[IKE_NATD_LEN];

	randombytes_buf(h, sizeof(h));
	ike_buf_notify(b, 0, NULL, 0, IKE_N_NAT_DETECTION_SOURCE_IP, h, sizeof(h));
	ike_natd_hash(spi_i, spi_r, dst, dport, h);
	ike_buf_notify(b, 0, NULL, 0, IKE_N_NAT_DETECTION_DESTINATION_IP, h, sizeof(h));
}

static void check_natd(struct ike *ike, struct ike_sa *sa, const struct ike_msg *m,
		       uint64_t spi_r)
{
	const struct ike_pl *pl = ike_msg_notify(m, IKE_N_NAT_DETECTION_SOURCE_IP);
	struct ike_notify_pl n;
	uint8_t h[IKE_NATD_LEN];

	if (!pl || ike_pl_notify(pl, &n) < 0 || n.data_len != IKE_NATD_LEN)
		return;
	ike_natd_hash(sa->spi_i, spi_r, sa->peer_addr, sa->peer_port, h);
	if (memcmp(h, n.data, IKE_NATD_LEN))
		log_debug("ike %s: peer is behind a NAT (or pretends to be)", sa->conn->name);
	(void)ike;
}

static int nonce_get(const struct ike_msg *m, const uint8_t **p, size_t *len)
{
	const struct ike_pl *pl = ike_msg_find(m, IKE_PL_NONCE);

	if (!pl || pl->len < IKE_NONCE_MIN || pl->len > IKE_NONCE_MAX)
		return -1;
	*p = pl->body;
	*len = pl->len;
	return 0;
}

/* The KE payload: 0, -EINVAL (malformed) or -ENOPROTOOPT (other group). */
static int ke_get(const struct ike_msg *m, const uint8_t **pub)
{
	const struct ike_pl *pl = ike_msg_find(m, IKE_PL_KE);
	uint16_t group;
	size_t len;

	if (!pl)
		return -ENOENT;
	ike_pl_ke(pl, &group, pub, &len);
	if (group != IKE_DH_X25519)
		return -ENOPROTOOPT;
	return len == IKE_DH_LEN ? 0 : -EINVAL;
}

static const uint8_t invalid_ke_data[2] = { 0, IKE_DH_X25519 };

/* --- Child SAs --- */

static int child_add(struct ike *ike, struct ike_sa *sa, uint32_t spi_in, uint32_t spi_out,
		     const struct ike_choice *c, const struct sa_ts *l, const struct sa_ts *r,
		     const uint8_t km[IKE_CHILD_KEYMAT_LEN], int exchange_initiator, int state)
{
	struct ike_child *ch = NULL;
	char a[20], b[20];
	int i;

	for (i = 0; i < IKE_MAX_CHILDREN && !ch; i++)
		if (sa->child[i].state == IKE_CH_FREE)
			ch = &sa->child[i];
	if (!ch)
		return -ENOSPC;
	i--;
	memset(ch, 0, sizeof(*ch));
	ch->shm_idx = -1;
	ch->pred = -1;
	ch->spi_in = spi_in;
	ch->spi_out = spi_out;
	ch->alg = c->enc;
	ch->esn = c->esn;
	ch->ts_local = *l;
	ch->ts_remote = *r;
	ch->created = ike->now;
	ch->rekey_at = ike->now + (uint64_t)sa->conn->child_lifetime_s * 1000;
	/* 2.17: the initiator-to-responder key comes first. */
	if (ike_shm_child_install(ike, sa, ch, exchange_initiator ? km + IKE_ENC_KEY_LEN : km,
				  exchange_initiator ? km : km + IKE_ENC_KEY_LEN,
				  state == IKE_CH_INSTALLED ? SA_STATE_INSTALLED : SA_STATE_REKEYED) < 0) {
		memset(ch, 0, sizeof(*ch));
		return -ENOSPC;
	}
	ch->state = state;
	CTR(ike, ike_child_installed);
	log_info("ike %s: child SA in 0x%08x out 0x%08x %s%s %s <-> %s%s", sa->conn->name, spi_in,
		 spi_out, sa_alg_name(c->enc), c->esn ? " esn" : "", conf_ts_str(l, a),
		 conf_ts_str(r, b), state == IKE_CH_INBOUND ? " (inbound until the old one goes)" : "");
	return i;
}

void ike_child_drop(struct ike *ike, struct ike_sa *sa, struct ike_child *ch)
{
	log_info("ike %s: child SA in 0x%08x out 0x%08x removed", sa->conn->name, ch->spi_in,
		 ch->spi_out);
	ike_shm_child_free(ike, ch);
	memset(ch, 0, sizeof(*ch));
	ch->shm_idx = -1;
	ch->pred = -1;
	CTR(ike, ike_child_deleted);
}

/* A deleted SA receives a little longer, then goes (ike_sa.c timers). */
void ike_child_retire(struct ike *ike, struct ike_sa *sa, struct ike_child *ch)
{
	if (ch->state != IKE_CH_REKEYED) {
		ch->state = IKE_CH_REKEYED;
		ike_shm_child_state(ike, ch, SA_STATE_REKEYED);
	}
	ch->want_delete = 0;
	ch->want_rekey = 0;
	ch->promo = 0;
	ch->linger_until = ike->now + IKE_CHILD_LINGER_MS;
	(void)sa;
}

void ike_child_promote(struct ike *ike, struct ike_sa *sa, int idx)
{
	struct ike_child *ch = &sa->child[idx];

	ch->state = IKE_CH_INSTALLED;
	ike_shm_child_state(ike, ch, SA_STATE_INSTALLED);
	if (ch->pred >= 0 && sa->child[ch->pred].state == IKE_CH_INSTALLED) {
		sa->child[ch->pred].state = IKE_CH_REKEYED;
		sa->child[ch->pred].promo = 0; /* replaced by the peer's rekey */
		ike_shm_child_state(ike, &sa->child[ch->pred], SA_STATE_REKEYED);
	}
	ch->pred = -1;
}

static int child_by_spi_out(struct ike_sa *sa, uint32_t spi)
{
	int i;

	for (i = 0; i < IKE_MAX_CHILDREN; i++)
		if (sa->child[i].state != IKE_CH_FREE && !sa->child[i].linger_until &&
		    sa->child[i].spi_out == spi)
			return i;
	return -1;
}

/* TS payloads narrowed to what we allow (2.9). tsi is the initiator's
 * side: for a responder that is the remote one. */
static int ts_narrow(const struct ike_msg *m, const struct sa_ts *local, const struct sa_ts *remote,
		     int we_respond, struct sa_ts *l_out, struct sa_ts *r_out)
{
	const struct ike_pl *tsi = ike_msg_find(m, IKE_PL_TSI), *tsr = ike_msg_find(m, IKE_PL_TSR);
	struct sa_ts ti[16], tr[16];
	unsigned ni, nr, skip;

	if (!tsi || !tsr || ike_pl_ts(tsi, ti, 16, &ni, &skip) < 0 ||
	    ike_pl_ts(tsr, tr, 16, &nr, &skip) < 0)
		return -EINVAL;
	if (we_respond)
		return ike_ts_narrow(remote, ti, ni, r_out) < 0 || ike_ts_narrow(local, tr, nr, l_out) < 0
			       ? -ENOENT : 0;
	/* As the initiator: what came back must lie within what we asked. */
	if (!ni || !nr || !ike_ts_within(&ti[0], local) || !ike_ts_within(&tr[0], remote))
		return -ENOENT;
	*l_out = ti[0];
	*r_out = tr[0];
	return 0;
}

/* --- IKE_SA_INIT --- */

static void send_init(struct ike *ike, struct ike_sa *sa)
{
	static struct ike_buf b;

	ike_buf_init_msg(&b, sa->spi_i, 0, IKE_SA_INIT, IKE_FLAG_I, 0);
	if (sa->cookie_len) /* 2.6: the cookie goes first */
		ike_buf_notify(&b, 0, NULL, 0, IKE_N_COOKIE, sa->cookie, sa->cookie_len);
	ike_prop_build(&b, IKE_PROTO_IKE, &sa->conn->ike, 0, 1);
	ike_buf_ke(&b, IKE_DH_X25519, sa->dh_pub, IKE_DH_LEN);
	ike_buf_nonce(&b, sa->ni, sa->ni_len);
	put_natd(&b, sa->spi_i, 0, sa->peer_addr, sa->peer_port);
	ike_buf_finish(&b);
	if (b.err)
		return;
	free(sa->init_req);
	sa->init_req = dup_bytes(b.p, b.len);
	sa->init_req_len = sa->init_req ? b.len : 0;
	ike_send_request_plain(ike, sa, IKE_REQ_INIT, &b);
}

int ike_initiate(struct ike *ike, const struct conf_ike_conn *conn)
{
	struct ike_sa *sa = ike_sa_new(ike, conn, 1);

	if (!sa)
		return -ENOSPC;
	sa->spi_i = ike_alloc_ike_spi(ike);
	sa->peer_addr = conn->peer_addr;
	sa->peer_port = conn->peer_port;
	sa->natt = conn->peer_port == 4500;
	sa->ni_len = IKE_NONCE_LEN;
	randombytes_buf(sa->ni, sa->ni_len);
	ike_dh_keypair(sa->dh_priv, sa->dh_pub);
	sa->state = IKE_ST_INIT_SENT;
	log_info("ike %s: initiating to %u.%u.%u.%u:%u", conn->name, conn->peer_addr >> 24,
		 (conn->peer_addr >> 16) & 255, (conn->peer_addr >> 8) & 255, conn->peer_addr & 255,
		 conn->peer_port);
	send_init(ike, sa);
	return 0;
}

static void cookie_make(struct ike *ike, const struct ike_msg *m, uint32_t src, const uint8_t *ni,
			size_t nilen, uint8_t out[IKE_PRF_LEN])
{
	uint8_t b[12];

	ike_put32(b, src);
	ike_put64(b + 4, m->hdr.spi_i);
	ike_prf3(ike->cookie_secret, sizeof(ike->cookie_secret), ni, nilen, b, sizeof(b), NULL, 0,
		 out);
}

/* 2.6: under load, only an initiator that can receive at its address
 * gets state. */
static int cookie_ok(struct ike *ike, const struct ike_msg *m, uint32_t src, uint16_t sport,
		     int natt, const uint8_t *ni, size_t nilen)
{
	const struct ike_pl *pl;
	struct ike_notify_pl n;
	uint8_t want[IKE_PRF_LEN];

	if (ike->half_open < ike->cfg->ike.cookie_threshold)
		return 1;
	cookie_make(ike, m, src, ni, nilen, want);
	pl = ike_msg_notify(m, IKE_N_COOKIE);
	if (pl && pl == &m->pl[0] && ike_pl_notify(pl, &n) == 0 && n.data_len == sizeof(want) &&
	    sodium_memcmp(n.data, want, sizeof(want)) == 0)
		return 1;
	CTR(ike, ike_cookies_sent);
	ike_send_plain_notify(ike, src, sport, natt, &m->hdr, 0, IKE_N_COOKIE, want, sizeof(want));
	return 0;
}

static int derive_ike_keys(struct ike_sa *sa, const uint8_t *peer_pub)
{
	uint8_t shared[IKE_DH_LEN], skeyseed[IKE_PRF_LEN];
	int rc;

	if ((rc = ike_dh_shared(sa->dh_priv, peer_pub, IKE_DH_LEN, shared)) < 0)
		return rc;
	ike_skeyseed(sa->ni, sa->ni_len, sa->nr, sa->nr_len, shared, skeyseed);
	rc = ike_derive_keys(skeyseed, sa->ni, sa->ni_len, sa->nr, sa->nr_len, sa->spi_i, sa->spi_r,
			     &sa->keys);
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(skeyseed, sizeof(skeyseed));
	sodium_memzero(sa->dh_priv, sizeof(sa->dh_priv));
	return rc;
}

static struct ike_sa *init_duplicate(struct ike *ike, const struct ike_msg *m, uint32_t src)
{
	unsigned i;

	for (i = 0; i < ike->cap; i++) {
		struct ike_sa *sa = &ike->sas[i];

		if (sa->used && !sa->initiator && sa->spi_i == m->hdr.spi_i && sa->peer_addr == src)
			return sa;
	}
	return NULL;
}

/* What an acceptable request offered (IKE_SA_INIT, CREATE_CHILD_SA). */
struct req_offer {
	struct ike_choice ch;
	const uint8_t *nonce, *pub; /* pub: NULL without a KE payload */
	size_t nonce_len;
	int old;                    /* Child SA rekey: the SA it replaces */
	struct sa_ts l, r;          /* Child SA: narrowed selectors */
};

/* Maps an answer to the counter it bumps. */
static void count_refusal(struct ike *ike, uint16_t n)
{
	switch (n) {
	case IKE_N_NO_PROPOSAL_CHOSEN: CTR(ike, ike_no_proposal); break;
	case IKE_N_INVALID_KE_PAYLOAD: CTR(ike, ike_invalid_ke); break;
	case IKE_N_TS_UNACCEPTABLE: CTR(ike, ike_ts_unacceptable); break;
	case IKE_N_INVALID_SYNTAX: CTR(ike, ike_drop_malformed); break;
	default: break;
	}
}

static const uint8_t *notify_data(uint16_t n, size_t *len)
{
	*len = n == IKE_N_INVALID_KE_PAYLOAD ? sizeof(invalid_ke_data) : 0;
	return n == IKE_N_INVALID_KE_PAYLOAD ? invalid_ke_data : NULL;
}

/* 1.2 / 3.3: the checks of an IKE_SA_INIT request in order; 0 or the
 * notify to answer with. */
static uint16_t init_request_check(const struct ike_msg *m, const struct conf_ike_conn *conn,
				   struct req_offer *o)
{
	const struct ike_pl *sapl = ike_msg_find(m, IKE_PL_SA);
	int rc;

	if (!sapl || nonce_get(m, &o->nonce, &o->nonce_len) < 0)
		return IKE_N_INVALID_SYNTAX;
	rc = ike_prop_select(sapl, IKE_PROTO_IKE, &conn->ike, IKE_DH_REQUIRE, &o->ch);
	if (rc < 0)
		return rc == -ENOENT ? IKE_N_NO_PROPOSAL_CHOSEN : IKE_N_INVALID_SYNTAX;
	rc = ke_get(m, &o->pub);
	if (rc == -ENOPROTOOPT)
		return IKE_N_INVALID_KE_PAYLOAD; /* tells the group we want */
	return rc < 0 ? IKE_N_INVALID_SYNTAX : 0;
}

/* A new responder SA for an acceptable IKE_SA_INIT, and its answer. */
static void init_respond(struct ike *ike, struct ike_msg *m, const struct conf_ike_conn *conn,
			 const struct req_offer *o, uint32_t src, uint16_t sport, int natt)
{
	static struct ike_buf b;
	struct ike_sa *sa;

	if (!(sa = ike_sa_new(ike, conn, 0))) {
		log_warnx_rl("ike: no room for another IKE SA");
		return;
	}
	sa->spi_i = m->hdr.spi_i;
	sa->spi_r = ike_alloc_ike_spi(ike);
	sa->peer_addr = src;
	sa->peer_port = sport;
	sa->natt = natt;
	sa->enc = o->ch.enc;
	memcpy(sa->ni, o->nonce, o->nonce_len);
	sa->ni_len = o->nonce_len;
	sa->nr_len = IKE_NONCE_LEN;
	randombytes_buf(sa->nr, sa->nr_len);
	ike_dh_keypair(sa->dh_priv, sa->dh_pub);
	sa->init_req = dup_bytes(m->raw, m->raw_len);
	sa->init_req_len = sa->init_req ? m->raw_len : 0;
	if (derive_ike_keys(sa, o->pub) < 0 || !sa->init_req) {
		CTR(ike, ike_drop_malformed);
		ike_sa_destroy(ike, sa);
		return;
	}
	check_natd(ike, sa, m, 0);
	ike_buf_init_msg(&b, sa->spi_i, sa->spi_r, IKE_SA_INIT, IKE_FLAG_R, 0);
	ike_prop_build_choice(&b, &o->ch, 0);
	ike_buf_ke(&b, IKE_DH_X25519, sa->dh_pub, IKE_DH_LEN);
	ike_buf_nonce(&b, sa->nr, sa->nr_len);
	put_natd(&b, sa->spi_i, sa->spi_r, src, sport);
	ike_buf_finish(&b);
	if (b.err || !(sa->init_resp = dup_bytes(b.p, b.len))) {
		ike_sa_destroy(ike, sa);
		return;
	}
	sa->init_resp_len = b.len;
	sa->msgid_in = 1;
	sa->state = IKE_ST_INIT_SENT; /* so that set_state counts it half-open */
	ike_set_state(ike, sa, IKE_ST_INIT_DONE);
	ike_timer_arm(&sa->t, IKE_T_HALF_OPEN, ike->now + (uint64_t)ike->cfg->ike.half_open_s * 1000);
	ike_send_response_plain(ike, sa, &b);
}

void ike_init_request(struct ike *ike, struct ike_msg *m, uint32_t src, uint16_t sport, int natt)
{
	const struct conf_ike_conn *conn;
	struct req_offer o;
	struct ike_sa *sa;
	const uint8_t *d;
	uint16_t err;
	size_t dlen;

	if (m->hdr.msgid != 0 || m->hdr.spi_r != 0 || !(m->hdr.flags & IKE_FLAG_I)) {
		CTR(ike, ike_drop_malformed);
		return;
	}
	if ((sa = init_duplicate(ike, m, src)) != NULL) {
		if (sa->state == IKE_ST_INIT_DONE && sa->resp && sa->resp_msgid == 0) {
			CTR(ike, ike_dup_requests);
			ike_send_raw(ike, sa, sa->resp, sa->resp_len);
		}
		return;
	}
	if (!(conn = conf_ike_conn_by_peer(&ike->cfg->ike, src))) {
		CTR(ike, ike_no_conn);
		log_warnx_rl("ike: IKE_SA_INIT from %u.%u.%u.%u, which no [conn] names", src >> 24,
			     (src >> 16) & 255, (src >> 8) & 255, src & 255);
		return;
	}
	if ((err = init_request_check(m, conn, &o)) != 0) {
		count_refusal(ike, err);
		d = notify_data(err, &dlen);
		ike_send_plain_notify(ike, src, sport, natt, &m->hdr, 0, err, d, dlen);
		return;
	}
	if (cookie_ok(ike, m, src, sport, natt, o.nonce, o.nonce_len))
		init_respond(ike, m, conn, &o, src, sport, natt);
}

static void send_auth(struct ike *ike, struct ike_sa *sa)
{
	const struct conf_ike_conn *c = sa->conn;
	static struct ike_buf in;
	uint8_t idb[4 + CONF_ID_MAX], auth[IKE_PRF_LEN];
	size_t idl = id_body(&c->local_id, idb);

	/* 2.15: we sign our IKE_SA_INIT request, the responder's nonce and
	 * our ID. */
	ike_psk_auth(c->psk, c->psk_len, sa->init_req, sa->init_req_len, sa->nr, sa->nr_len,
		     sa->keys.sk_pi, idb, idl, auth);
	ike_buf_init_chain(&in);
	ike_buf_id(&in, IKE_PL_IDI, idb, idl);
	ike_buf_auth(&in, IKE_AUTH_PSK, auth, sizeof(auth));
	ike_buf_notify(&in, 0, NULL, 0, IKE_N_INITIAL_CONTACT, NULL, 0);
	sa->auth_child_spi = ike_alloc_child_spi(ike);
	ike_prop_build(&in, IKE_PROTO_ESP, &c->esp, sa->auth_child_spi, 0);
	ike_buf_ts(&in, IKE_PL_TSI, &c->local_ts);
	ike_buf_ts(&in, IKE_PL_TSR, &c->remote_ts);
	ike_buf_notify(&in, 0, NULL, 0, IKE_N_MSGID_SYNC_SUPPORTED, NULL, 0);
	ike_set_state(ike, sa, IKE_ST_AUTH_SENT);
	if (ike_send_request(ike, sa, IKE_REQ_AUTH, IKE_AUTH, &in, 0) < 0)
		ike_set_state(ike, sa, IKE_ST_DEAD);
}

void ike_init_response(struct ike *ike, struct ike_msg *m, uint32_t src, uint16_t sport, int natt)
{
	const struct ike_pl *sapl, *pl;
	struct ike_notify_pl n;
	struct ike_choice ch;
	const uint8_t *nr, *pub;
	size_t nrlen;
	uint16_t err;
	unsigned i;
	struct ike_sa *sa = NULL;

	for (i = 0; i < ike->cap && !sa; i++)
		if (ike->sas[i].used && ike->sas[i].initiator && ike->sas[i].spi_i == m->hdr.spi_i &&
		    ike->sas[i].state == IKE_ST_INIT_SENT)
			sa = &ike->sas[i];
	if (!sa || sa->req.kind != IKE_REQ_INIT || m->hdr.msgid != 0) {
		CTR(ike, ike_unknown_spi);
		return;
	}
	if ((pl = ike_msg_notify(m, IKE_N_COOKIE)) && ike_pl_notify(pl, &n) == 0) {
		if (n.data_len < 1 || n.data_len > sizeof(sa->cookie) || sa->cookie_len) {
			CTR(ike, ike_drop_malformed);
			return;
		}
		memcpy(sa->cookie, n.data, n.data_len);
		sa->cookie_len = n.data_len;
		log_info("ike %s: responder asks for a cookie", sa->conn->name);
		send_init(ike, sa);
		return;
	}
	if ((err = ike_msg_error(m)) != 0) {
		if (err == IKE_N_INVALID_KE_PAYLOAD)
			CTR(ike, ike_invalid_ke); /* X25519 is the only group we have */
		if (err == IKE_N_NO_PROPOSAL_CHOSEN)
			CTR(ike, ike_no_proposal);
		log_warnx("ike %s: IKE_SA_INIT refused: %s", sa->conn->name, ike_notify_name(err));
		ike_set_state(ike, sa, IKE_ST_DEAD);
		return;
	}
	if (!m->hdr.spi_r || !(sapl = ike_msg_find(m, IKE_PL_SA)) || nonce_get(m, &nr, &nrlen) < 0 ||
	    ke_get(m, &pub) < 0 ||
	    ike_prop_select(sapl, IKE_PROTO_IKE, &sa->conn->ike, IKE_DH_REQUIRE, &ch) < 0) {
		CTR(ike, ike_drop_malformed);
		log_warnx("ike %s: unusable IKE_SA_INIT response", sa->conn->name);
		ike_set_state(ike, sa, IKE_ST_DEAD);
		return;
	}
	ike_req_done(sa);
	sa->spi_r = m->hdr.spi_r;
	sa->enc = ch.enc;
	memcpy(sa->nr, nr, nrlen);
	sa->nr_len = nrlen;
	if (derive_ike_keys(sa, pub) < 0) {
		ike_set_state(ike, sa, IKE_ST_DEAD);
		return;
	}
	check_natd(ike, sa, m, sa->spi_r);
	sa->init_resp = dup_bytes(m->raw, m->raw_len);
	sa->init_resp_len = sa->init_resp ? m->raw_len : 0;
	/* 2.23: with a NAT (which we always claim), move to port 4500. */
	sa->peer_addr = src;
	sa->peer_port = sport == 500 ? 4500 : sport;
	sa->natt = 1;
	(void)natt;
	sa->msgid_out = 1;
	send_auth(ike, sa);
}

/* --- IKE_AUTH --- */

static void established(struct ike *ike, struct ike_sa *sa)
{
	const struct conf_ike_conn *c = sa->conn;

	ike_set_state(ike, sa, IKE_ST_ESTABLISHED);
	ike_timer_stop(&sa->t, IKE_T_HALF_OPEN);
	if (c->dpd_s)
		ike_timer_arm(&sa->t, IKE_T_DPD, ike->now + (uint64_t)c->dpd_s * 1000);
	ike_timer_arm(&sa->t, IKE_T_REKEY, ike->now + (uint64_t)c->ike_lifetime_s * 1000);
	free(sa->init_req);
	free(sa->init_resp);
	sa->init_req = sa->init_resp = NULL;
	ike_shm_write_ike(ike, sa);
}

/* 2.15: the peer signed its IKE_SA_INIT message, our nonce and its ID,
 * and the ID must be the one we expect from this peer. Returns NULL or
 * what was wrong. */
static const char *auth_check(const struct ike_sa *sa, const struct ike_pl *id,
			      const struct ike_pl *authpl, const uint8_t *msg, size_t msglen,
			      const uint8_t *nonce, size_t nonce_len, const uint8_t *sk_p)
{
	const struct conf_ike_conn *c = sa->conn;
	uint8_t want[IKE_PRF_LEN];
	const uint8_t *ad;
	size_t adlen;
	uint8_t method;
	int ok;

	if (!id || !authpl || ike_pl_auth(authpl, &method, &ad, &adlen) < 0)
		return "no ID or AUTH";
	if (!id_matches(id, &c->remote_id))
		return "unexpected identity";
	if (method != IKE_AUTH_PSK || adlen != sizeof(want))
		return "not a PSK AUTH";
	ike_psk_auth(c->psk, c->psk_len, msg, msglen, nonce, nonce_len, sk_p, id->body, id->len, want);
	ok = sodium_memcmp(ad, want, sizeof(want)) == 0;
	sodium_memzero(want, sizeof(want));
	return ok ? NULL : "wrong AUTH";
}

/* The first Child SA an IKE_AUTH request asks for: 0 or why not. */
static uint16_t auth_child_check(const struct ike_sa *sa, const struct ike_msg *m,
				 struct req_offer *o)
{
	const struct conf_ike_conn *c = sa->conn;
	const struct ike_pl *sapl = ike_msg_find(m, IKE_PL_SA);

	if (!sapl || ike_prop_select(sapl, IKE_PROTO_ESP, &c->esp, IKE_DH_IGNORE, &o->ch) < 0)
		return IKE_N_NO_PROPOSAL_CHOSEN;
	if (ts_narrow(m, &c->local_ts, &c->remote_ts, 1, &o->l, &o->r) < 0)
		return IKE_N_TS_UNACCEPTABLE;
	return 0;
}

/* 2.4: INITIAL_CONTACT says the peer kept no state: every other IKE SA
 * with it (same conn, so same identity) is stale and goes, with its
 * Child SAs, before they can shadow the new ones. */
static void initial_contact(struct ike *ike, struct ike_sa *sa)
{
	unsigned i;

	for (i = 0; i < ike->cap; i++) {
		struct ike_sa *o = &ike->sas[i];

		if (!o->used || o == sa || o->conn != sa->conn || o->state == IKE_ST_INIT_SENT ||
		    o->state == IKE_ST_INIT_DONE || o->state == IKE_ST_AUTH_SENT)
			continue;
		log_info("ike %s [%016llx_i %016llx_r]: replaced (INITIAL_CONTACT)", o->conn->name,
			 (unsigned long long)o->spi_i, (unsigned long long)o->spi_r);
		ike_sa_destroy(ike, o);
	}
}

static void auth_request(struct ike *ike, struct ike_sa *sa, struct ike_msg *m)
{
	const struct conf_ike_conn *c = sa->conn;
	static struct ike_buf in;
	uint8_t idb[4 + CONF_ID_MAX], auth[IKE_PRF_LEN], km[IKE_CHILD_KEYMAT_LEN];
	struct req_offer o;
	const char *why;
	uint16_t child_err;
	uint32_t spi_in = 0;
	size_t idl;

	if (sa->state != IKE_ST_INIT_DONE) {
		CTR(ike, ike_drop_malformed);
		return;
	}
	why = auth_check(sa, ike_msg_find(m, IKE_PL_IDI), ike_msg_find(m, IKE_PL_AUTH), sa->init_req,
			 sa->init_req_len, sa->nr, sa->nr_len, sa->keys.sk_pi);
	if (why) {
		CTR(ike, ike_auth_failed);
		log_warnx("ike %s: peer authentication failed (%s)", c->name, why);
		/* 2.21.2: AUTHENTICATION_FAILED in the response; nothing installed. */
		ike_respond_notify(ike, sa, m, IKE_N_AUTHENTICATION_FAILED, NULL, 0);
		ike_set_state(ike, sa, IKE_ST_DEAD);
		return;
	}
	if (ike_msg_notify(m, IKE_N_MSGID_SYNC_SUPPORTED))
		sa->peer_msgid_sync = 1;
	if (ike_msg_notify(m, IKE_N_INITIAL_CONTACT))
		initial_contact(ike, sa);
	child_err = auth_child_check(sa, m, &o);
	count_refusal(ike, child_err);
	/* our AUTH signs the IKE_SA_INIT response, which established() frees */
	idl = id_body(&c->local_id, idb);
	ike_psk_auth(c->psk, c->psk_len, sa->init_resp, sa->init_resp_len, sa->ni, sa->ni_len,
		     sa->keys.sk_pr, idb, idl, auth);
	CTR(ike, ike_sa_established);
	established(ike, sa);
	if (!child_err) {
		spi_in = ike_alloc_child_spi(ike);
		if (ike_child_keymat(sa->keys.sk_d, NULL, sa->ni, sa->ni_len, sa->nr, sa->nr_len, km) < 0 ||
		    child_add(ike, sa, spi_in, (uint32_t)o.ch.spi, &o.ch, &o.l, &o.r, km, 0,
			      IKE_CH_INSTALLED) < 0)
			child_err = IKE_N_TEMPORARY_FAILURE;
		sodium_memzero(km, sizeof(km));
	}
	ike_buf_init_chain(&in);
	ike_buf_id(&in, IKE_PL_IDR, idb, idl);
	ike_buf_auth(&in, IKE_AUTH_PSK, auth, sizeof(auth));
	if (child_err) {
		log_warnx("ike %s: no Child SA: %s", c->name, ike_notify_name(child_err));
		ike_buf_notify(&in, 0, NULL, 0, child_err, NULL, 0);
	} else {
		ike_prop_build_choice(&in, &o.ch, spi_in);
		ike_buf_ts(&in, IKE_PL_TSI, &o.r);
		ike_buf_ts(&in, IKE_PL_TSR, &o.l);
	}
	ike_buf_notify(&in, 0, NULL, 0, IKE_N_MSGID_SYNC_SUPPORTED, NULL, 0);
	ike_send_response(ike, sa, m, &in, 1);
}

static void auth_response(struct ike *ike, struct ike_sa *sa, struct ike_msg *m)
{
	const struct conf_ike_conn *c = sa->conn;
	const struct ike_pl *sapl = ike_msg_find(m, IKE_PL_SA);
	uint8_t km[IKE_CHILD_KEYMAT_LEN];
	struct ike_choice ch;
	struct sa_ts l, r;
	uint16_t err = ike_msg_error(m);
	const char *why;

	ike_req_done(sa);
	why = auth_check(sa, ike_msg_find(m, IKE_PL_IDR), ike_msg_find(m, IKE_PL_AUTH), sa->init_resp,
			 sa->init_resp_len, sa->ni, sa->ni_len, sa->keys.sk_pr);
	if (why) {
		/* refused by the peer (AUTHENTICATION_FAILED), or the peer
		 * failed ours: either way nothing is installed */
		CTR(ike, ike_auth_failed);
		log_warnx("ike %s: IKE_AUTH failed: %s", c->name,
			  err ? ike_notify_name(err) : why);
		ike_set_state(ike, sa, IKE_ST_DEAD);
		return;
	}
	if (ike_msg_notify(m, IKE_N_MSGID_SYNC_SUPPORTED))
		sa->peer_msgid_sync = 1;
	CTR(ike, ike_sa_established);
	established(ike, sa);
	if (err || !sapl) {
		count_refusal(ike, err ? err : IKE_N_NO_PROPOSAL_CHOSEN);
		log_warnx("ike %s: IKE SA up without a Child SA: %s", c->name,
			  err ? ike_notify_name(err) : "no SA payload");
		return;
	}
	if (ike_prop_select(sapl, IKE_PROTO_ESP, &c->esp, IKE_DH_IGNORE, &ch) < 0 ||
	    ts_narrow(m, &c->local_ts, &c->remote_ts, 0, &l, &r) < 0) {
		CTR(ike, ike_drop_malformed);
		log_warnx("ike %s: responder's Child SA is not one we proposed", c->name);
		sa->want_delete = 1;
		return;
	}
	if (ike_child_keymat(sa->keys.sk_d, NULL, sa->ni, sa->ni_len, sa->nr, sa->nr_len, km) == 0)
		child_add(ike, sa, sa->auth_child_spi, (uint32_t)ch.spi, &ch, &l, &r, km, 1,
			  IKE_CH_INSTALLED);
	sodium_memzero(km, sizeof(km));
	sa->auth_child_spi = 0;
}

/* --- CREATE_CHILD_SA: Child SA rekey (1.3.3) --- */

void ike_start_rekey_child(struct ike *ike, struct ike_sa *sa, int idx)
{
	struct ike_child *ch = &sa->child[idx];
	struct ike_req *q = &sa->req;
	static struct ike_buf in;
	uint8_t spi[4];

	ch->want_rekey = 0;
	q->child = idx;
	q->new_spi = ike_alloc_child_spi(ike);
	q->pfs = sa->conn->pfs;
	randombytes_buf(q->nonce, sizeof(q->nonce));
	ike_buf_init_chain(&in);
	ike_prop_build(&in, IKE_PROTO_ESP, &sa->conn->esp, q->new_spi, q->pfs);
	ike_buf_nonce(&in, q->nonce, sizeof(q->nonce));
	if (q->pfs) {
		ike_dh_keypair(q->dh_priv, q->dh_pub);
		ike_buf_ke(&in, IKE_DH_X25519, q->dh_pub, IKE_DH_LEN);
	}
	/* 1.3.3: REKEY_SA names the SA by the SPI we receive on. */
	ike_put32(spi, ch->spi_in);
	ike_buf_notify(&in, IKE_PROTO_ESP, spi, 4, IKE_N_REKEY_SA, NULL, 0);
	ike_buf_ts(&in, IKE_PL_TSI, &ch->ts_local);
	ike_buf_ts(&in, IKE_PL_TSR, &ch->ts_remote);
	CTR(ike, ike_rekeys_requested);
	if (ch->rekey_reason > 0)
		sa_ctr_add(ike->table, ch->rekey_reason, 1);
	log_info("ike %s: rekeying child SA 0x%08x%s%s", sa->conn->name, ch->spi_in,
		 q->pfs ? " with PFS" : "", ch->promo ? " (promotion)" : "");
	ike_promo_started(ike, sa, ch);
	if (ike_send_request(ike, sa, IKE_REQ_REKEY_CHILD, IKE_CREATE_CHILD_SA, &in, 0) < 0) {
		CTR(ike, ike_rekeys_failed);
		ike_promo_result(ike, sa, q, 0);
		ike_req_done(sa);
	}
	q->child = idx; /* send_request keeps the exchange state */
}

static void rekey_child_response(struct ike *ike, struct ike_sa *sa, struct ike_msg *m)
{
	struct ike_req q = sa->req;
	struct ike_child *old = &sa->child[q.child];
	const struct ike_pl *sapl = ike_msg_find(m, IKE_PL_SA);
	uint8_t shared[IKE_DH_LEN], km[IKE_CHILD_KEYMAT_LEN];
	const uint8_t *nr, *pub;
	size_t nrlen;
	struct ike_choice ch;
	struct sa_ts l, r;
	uint16_t err = ike_msg_error(m);
	int rc;

	q.buf = NULL;
	ike_req_done(sa);
	if (err) {
		CTR(ike, ike_rekeys_failed);
		log_warnx("ike %s: rekey of 0x%08x refused: %s", sa->conn->name, old->spi_in,
			  ike_notify_name(err));
		ike_promo_result(ike, sa, &q, 0);
		if (err == IKE_N_CHILD_SA_NOT_FOUND && old->state != IKE_CH_FREE)
			ike_child_drop(ike, sa, old);
		else
			/* try again later; at a random moment, so that two
			 * peers that collided (2.25) do not collide again */
			old->rekey_at = ike->now + 2000 + randombytes_uniform(8000);
		goto out;
	}
	if (old->state != IKE_CH_INSTALLED || !sapl || nonce_get(m, &nr, &nrlen) < 0 ||
	    ike_prop_select(sapl, IKE_PROTO_ESP, &sa->conn->esp,
			    q.pfs ? IKE_DH_REQUIRE : IKE_DH_FORBID, &ch) < 0 ||
	    ts_narrow(m, &old->ts_local, &old->ts_remote, 0, &l, &r) < 0 ||
	    (q.pfs && (ke_get(m, &pub) < 0 || ike_dh_shared(q.dh_priv, pub, IKE_DH_LEN, shared) < 0))) {
		CTR(ike, ike_rekeys_failed);
		log_warnx("ike %s: unusable rekey response for 0x%08x", sa->conn->name, old->spi_in);
		ike_promo_result(ike, sa, &q, 0);
		goto out;
	}
	rc = ike_child_keymat(sa->keys.sk_d, q.pfs ? shared : NULL, q.nonce, sizeof(q.nonce), nr,
			      nrlen, km);
	if (rc == 0)
		rc = child_add(ike, sa, q.new_spi, (uint32_t)ch.spi, &ch, &l, &r, km, 1,
			       IKE_CH_INSTALLED);
	sodium_memzero(km, sizeof(km));
	if (rc < 0) {
		CTR(ike, ike_rekeys_failed);
		ike_promo_result(ike, sa, &q, 0);
		goto out;
	}
	/* The old SA still receives what the peer sent before it switched,
	 * until our Delete is answered (2.8). */
	old = &sa->child[q.child];
	old->state = IKE_CH_REKEYED;
	old->want_delete = 1;
	ike_shm_child_state(ike, old, SA_STATE_REKEYED);
	CTR(ike, ike_rekeys_succeeded);
	ike_promo_result(ike, sa, &q, 1);
out:
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(&q, sizeof(q));
}

/* 1.3.3: the checks of a Child SA rekey request in order; 0 or the
 * notify to answer with. */
static uint16_t rekey_child_check(struct ike_sa *sa, const struct ike_msg *m,
				  const struct ike_pl *sapl, struct req_offer *o)
{
	const struct conf_ike_conn *c = sa->conn;
	const struct ike_pl *rk = ike_msg_notify(m, IKE_N_REKEY_SA);
	struct ike_notify_pl n;
	int rc;

	if (!rk)
		return IKE_N_NO_ADDITIONAL_SAS; /* only rekeys: one Child SA per conn */
	if (ike_pl_notify(rk, &n) < 0 || n.proto != IKE_PROTO_ESP || n.spi_size != 4 ||
	    nonce_get(m, &o->nonce, &o->nonce_len) < 0)
		return IKE_N_INVALID_SYNTAX;
	o->old = child_by_spi_out(sa, ike_get32(n.spi));
	if (o->old < 0 || sa->child[o->old].state != IKE_CH_INSTALLED)
		return IKE_N_CHILD_SA_NOT_FOUND;
	if (sa->req.kind == IKE_REQ_REKEY_CHILD && sa->req.child == o->old)
		return IKE_N_TEMPORARY_FAILURE; /* 2.25: we are rekeying it ourselves */
	rc = ke_get(m, &o->pub);
	if (rc == -ENOPROTOOPT)
		return IKE_N_INVALID_KE_PAYLOAD;
	if (rc == -EINVAL)
		return IKE_N_INVALID_SYNTAX;
	if (rc < 0)
		o->pub = NULL;
	/* PFS if and only if the peer sent a KE (1.3.1) */
	if (ike_prop_select(sapl, IKE_PROTO_ESP, &c->esp, o->pub ? IKE_DH_REQUIRE : IKE_DH_FORBID,
			    &o->ch) < 0)
		return IKE_N_NO_PROPOSAL_CHOSEN;
	if (ts_narrow(m, &c->local_ts, &c->remote_ts, 1, &o->l, &o->r) < 0)
		return IKE_N_TS_UNACCEPTABLE;
	return 0;
}

/* Installs the new SA (receive-only until the peer switches) and answers. */
static uint16_t rekey_child_answer(struct ike *ike, struct ike_sa *sa, const struct ike_msg *m,
				   const struct req_offer *o)
{
	static struct ike_buf in;
	uint8_t nr[IKE_NONCE_LEN], priv[IKE_DH_LEN], pub[IKE_DH_LEN], shared[IKE_DH_LEN];
	uint8_t km[IKE_CHILD_KEYMAT_LEN];
	uint32_t spi_in = ike_alloc_child_spi(ike);
	int rc = 0, idx;

	randombytes_buf(nr, sizeof(nr));
	if (o->pub) {
		ike_dh_keypair(priv, pub);
		rc = ike_dh_shared(priv, o->pub, IKE_DH_LEN, shared);
	}
	if (rc == 0)
		rc = ike_child_keymat(sa->keys.sk_d, o->pub ? shared : NULL, o->nonce, o->nonce_len,
				      nr, sizeof(nr), km);
	idx = rc < 0 ? rc : child_add(ike, sa, spi_in, (uint32_t)o->ch.spi, &o->ch, &o->l, &o->r,
				      km, 0, IKE_CH_INBOUND);
	sodium_memzero(km, sizeof(km));
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(priv, sizeof(priv));
	if (idx < 0)
		return IKE_N_TEMPORARY_FAILURE;
	sa->child[idx].pred = o->old;
	CTR(ike, ike_rekeys_answered);
	ike_buf_init_chain(&in);
	ike_prop_build_choice(&in, &o->ch, spi_in);
	ike_buf_nonce(&in, nr, sizeof(nr));
	if (o->pub)
		ike_buf_ke(&in, IKE_DH_X25519, pub, IKE_DH_LEN);
	ike_buf_ts(&in, IKE_PL_TSI, &o->r);
	ike_buf_ts(&in, IKE_PL_TSR, &o->l);
	ike_send_response(ike, sa, m, &in, 1);
	return 0;
}

static void rekey_child_request(struct ike *ike, struct ike_sa *sa, struct ike_msg *m,
				const struct ike_pl *sapl)
{
	struct req_offer o;
	const uint8_t *d;
	uint16_t err;
	size_t dlen;

	if ((err = rekey_child_check(sa, m, sapl, &o)) == 0)
		err = rekey_child_answer(ike, sa, m, &o);
	if (!err)
		return;
	count_refusal(ike, err);
	if (err == IKE_N_CHILD_SA_NOT_FOUND)
		log_warnx("ike %s: peer rekeys a child SA we do not have", sa->conn->name);
	d = notify_data(err, &dlen);
	ike_respond_notify(ike, sa, m, err, d, dlen);
}

/* --- CREATE_CHILD_SA: IKE SA rekey (1.3.2, 2.18) --- */

/* Builds the new IKE SA and moves every Child SA to it. */
static struct ike_sa *ike_rekey_finish(struct ike *ike, struct ike_sa *old, int initiator,
				       uint64_t spi_i, uint64_t spi_r, int enc, const uint8_t *ni,
				       size_t nilen, const uint8_t *nr, size_t nrlen,
				       const uint8_t shared[IKE_DH_LEN])
{
	struct ike_sa *sa = ike_sa_new(ike, old->conn, initiator);
	uint8_t skeyseed[IKE_PRF_LEN];
	int i;

	if (!sa)
		return NULL;
	sa->spi_i = spi_i;
	sa->spi_r = spi_r;
	sa->enc = enc;
	sa->peer_addr = old->peer_addr;
	sa->peer_port = old->peer_port;
	sa->natt = old->natt;
	sa->peer_msgid_sync = old->peer_msgid_sync;
	ike_skeyseed_rekey(old->keys.sk_d, shared, ni, nilen, nr, nrlen, skeyseed);
	ike_derive_keys(skeyseed, ni, nilen, nr, nrlen, spi_i, spi_r, &sa->keys);
	sodium_memzero(skeyseed, sizeof(skeyseed));
	sa->state = IKE_ST_AUTH_SENT;
	established(ike, sa);
	for (i = 0; i < IKE_MAX_CHILDREN; i++) {
		sa->child[i] = old->child[i];
		memset(&old->child[i], 0, sizeof(old->child[i]));
		old->child[i].shm_idx = -1;
		if (sa->child[i].state != IKE_CH_FREE)
			ike_shm_child_owner(ike, sa, &sa->child[i]);
	}
	ike_set_state(ike, old, IKE_ST_REKEYED);
	ike_timer_stop(&old->t, IKE_T_DPD);
	ike_timer_stop(&old->t, IKE_T_REKEY);
	ike_timer_arm(&old->t, IKE_T_LINGER, ike->now + 30000);
	CTR(ike, ike_ike_rekeys);
	return sa;
}

void ike_start_rekey_ike(struct ike *ike, struct ike_sa *sa)
{
	struct ike_req *q = &sa->req;
	static struct ike_buf in;

	sa->want_rekey = 0;
	q->new_ike_spi = ike_alloc_ike_spi(ike);
	randombytes_buf(q->nonce, sizeof(q->nonce));
	ike_dh_keypair(q->dh_priv, q->dh_pub);
	ike_buf_init_chain(&in);
	ike_prop_build(&in, IKE_PROTO_IKE, &sa->conn->ike, q->new_ike_spi, 1);
	ike_buf_nonce(&in, q->nonce, sizeof(q->nonce));
	ike_buf_ke(&in, IKE_DH_X25519, q->dh_pub, IKE_DH_LEN);
	log_info("ike %s: rekeying the IKE SA", sa->conn->name);
	if (ike_send_request(ike, sa, IKE_REQ_REKEY_IKE, IKE_CREATE_CHILD_SA, &in, 0) < 0)
		ike_req_done(sa);
}

static void rekey_ike_response(struct ike *ike, struct ike_sa *sa, struct ike_msg *m)
{
	struct ike_req q = sa->req;
	const struct ike_pl *sapl = ike_msg_find(m, IKE_PL_SA);
	uint8_t shared[IKE_DH_LEN];
	const uint8_t *nr, *pub;
	size_t nrlen;
	struct ike_choice ch;
	uint16_t err = ike_msg_error(m);

	q.buf = NULL;
	ike_req_done(sa);
	if (err || !sapl || nonce_get(m, &nr, &nrlen) < 0 || ke_get(m, &pub) < 0 ||
	    ike_prop_select(sapl, IKE_PROTO_IKE, &sa->conn->ike, IKE_DH_REQUIRE, &ch) < 0 ||
	    ch.spi_size != 8 || ike_dh_shared(q.dh_priv, pub, IKE_DH_LEN, shared) < 0) {
		log_warnx("ike %s: IKE SA rekey failed: %s", sa->conn->name,
			  err ? ike_notify_name(err) : "unusable response");
		ike_timer_arm(&sa->t, IKE_T_REKEY, ike->now + 30000);
		sodium_memzero(&q, sizeof(q));
		return;
	}
	if (ike_rekey_finish(ike, sa, 1, q.new_ike_spi, ch.spi, ch.enc, q.nonce, sizeof(q.nonce), nr,
			     nrlen, shared))
		sa->want_delete = 1; /* the old one goes now (2.18) */
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(&q, sizeof(q));
}

static void rekey_ike_request(struct ike *ike, struct ike_sa *sa, struct ike_msg *m,
			      const struct ike_pl *sapl)
{
	static struct ike_buf in;
	uint8_t nr[IKE_NONCE_LEN], priv[IKE_DH_LEN], pub_ours[IKE_DH_LEN], shared[IKE_DH_LEN];
	const uint8_t *ni, *pub;
	size_t nilen;
	struct ike_choice ch;
	uint64_t spi_r;
	int rc;

	if (sa->req.kind == IKE_REQ_REKEY_IKE) {
		ike_respond_notify(ike, sa, m, IKE_N_TEMPORARY_FAILURE, NULL, 0);
		return;
	}
	if (nonce_get(m, &ni, &nilen) < 0) {
		CTR(ike, ike_drop_malformed);
		ike_respond_notify(ike, sa, m, IKE_N_INVALID_SYNTAX, NULL, 0);
		return;
	}
	rc = ike_prop_select(sapl, IKE_PROTO_IKE, &sa->conn->ike, IKE_DH_REQUIRE, &ch);
	if (rc < 0 || ch.spi_size != 8) {
		CTR(ike, ike_no_proposal);
		ike_respond_notify(ike, sa, m, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0);
		return;
	}
	rc = ke_get(m, &pub);
	if (rc == -ENOPROTOOPT) {
		CTR(ike, ike_invalid_ke);
		ike_respond_notify(ike, sa, m, IKE_N_INVALID_KE_PAYLOAD, invalid_ke_data, 2);
		return;
	}
	ike_dh_keypair(priv, pub_ours);
	if (rc < 0 || ike_dh_shared(priv, pub, IKE_DH_LEN, shared) < 0) {
		CTR(ike, ike_drop_malformed);
		ike_respond_notify(ike, sa, m, IKE_N_INVALID_SYNTAX, NULL, 0);
		return;
	}
	randombytes_buf(nr, sizeof(nr));
	spi_r = ike_alloc_ike_spi(ike);
	/* The response goes out on the old SA, whose keys stay as they are. */
	ike_buf_init_chain(&in);
	ike_prop_build_choice(&in, &ch, spi_r);
	ike_buf_nonce(&in, nr, sizeof(nr));
	ike_buf_ke(&in, IKE_DH_X25519, pub_ours, IKE_DH_LEN);
	if (!ike_rekey_finish(ike, sa, 0, ch.spi, spi_r, ch.enc, ni, nilen, nr, sizeof(nr), shared)) {
		ike_respond_notify(ike, sa, m, IKE_N_TEMPORARY_FAILURE, NULL, 0);
	} else {
		ike_send_response(ike, sa, m, &in, 1);
		log_info("ike %s: IKE SA rekeyed by the peer", sa->conn->name);
	}
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(priv, sizeof(priv));
}

static void ccs_request(struct ike *ike, struct ike_sa *sa, struct ike_msg *m)
{
	const struct ike_pl *sapl = ike_msg_find(m, IKE_PL_SA);

	if (sa->state != IKE_ST_ESTABLISHED) {
		ike_respond_notify(ike, sa, m, IKE_N_TEMPORARY_FAILURE, NULL, 0);
		return;
	}
	if (!sapl) {
		CTR(ike, ike_drop_malformed);
		ike_respond_notify(ike, sa, m, IKE_N_INVALID_SYNTAX, NULL, 0);
		return;
	}
	if (sapl->body[5] == IKE_PROTO_IKE)
		rekey_ike_request(ike, sa, m, sapl);
	else
		rekey_child_request(ike, sa, m, sapl);
}

/* --- INFORMATIONAL --- */

void ike_start_delete_child(struct ike *ike, struct ike_sa *sa, int idx)
{
	static struct ike_buf in;

	sa->child[idx].want_delete = 0;
	ike_buf_init_chain(&in);
	ike_buf_delete(&in, IKE_PROTO_ESP, &sa->child[idx].spi_in, 1);
	if (ike_send_request(ike, sa, IKE_REQ_DELETE_CHILD, IKE_INFORMATIONAL, &in, 0) == 0)
		sa->req.child = idx;
}

void ike_start_delete_ike(struct ike *ike, struct ike_sa *sa)
{
	static struct ike_buf in;

	sa->want_delete = 0;
	ike_buf_init_chain(&in);
	ike_buf_delete(&in, IKE_PROTO_IKE, NULL, 0);
	if (sa->state == IKE_ST_ESTABLISHED)
		ike_set_state(ike, sa, IKE_ST_DELETING);
	if (ike_send_request(ike, sa, IKE_REQ_DELETE_IKE, IKE_INFORMATIONAL, &in, 0) < 0)
		ike_set_state(ike, sa, IKE_ST_DEAD);
}

void ike_start_dpd(struct ike *ike, struct ike_sa *sa)
{
	static struct ike_buf in;

	ike_buf_init_chain(&in);
	CTR(ike, ike_dpd_sent);
	ike_send_request(ike, sa, IKE_REQ_DPD, IKE_INFORMATIONAL, &in, 0);
	ike_timer_arm(&sa->t, IKE_T_DPD, ike->now + (uint64_t)sa->conn->dpd_s * 1000);
}

/* RFC 6311 4.1: nonce, then our next request ID and the next one we
 * expect, as the new active member knows them. */
void ike_start_msgid_sync(struct ike *ike, struct ike_sa *sa)
{
	static struct ike_buf in;
	uint8_t d[12];

	sa->want_sync = 0;
	/* RFC 6311 4.1: step past the request the failover may have lost
	 * (the window is one); this also keeps 0, the ID of this very
	 * exchange, from being used again for a request. */
	sa->msgid_out++;
	sa->req.sync_nonce = randombytes_random();
	ike_put32(d, sa->req.sync_nonce);
	ike_put32(d + 4, sa->msgid_out);
	ike_put32(d + 8, sa->msgid_in);
	ike_buf_init_chain(&in);
	ike_buf_notify(&in, IKE_PROTO_IKE, NULL, 0, IKE_N_MSGID_SYNC, d, sizeof(d));
	CTR(ike, ike_msgid_syncs);
	if (ike_send_request(ike, sa, IKE_REQ_MSGID_SYNC, IKE_INFORMATIONAL, &in, 1) < 0)
		ike_req_done(sa);
}

static int sync_data(const struct ike_msg *m, uint32_t *nonce, uint32_t *send, uint32_t *recv)
{
	const struct ike_pl *pl = ike_msg_notify(m, IKE_N_MSGID_SYNC);
	struct ike_notify_pl n;

	if (!pl || ike_pl_notify(pl, &n) < 0 || n.data_len != 12)
		return -1;
	*nonce = ike_get32(n.data);
	*send = ike_get32(n.data + 4);
	*recv = ike_get32(n.data + 8);
	return 0;
}

static void msgid_sync_request(struct ike *ike, struct ike_sa *sa, struct ike_msg *m)
{
	static struct ike_buf in;
	uint32_t nonce, send, recv;
	uint8_t d[12];

	if (sync_data(m, &nonce, &send, &recv) < 0) {
		CTR(ike, ike_drop_malformed);
		return;
	}
	/* RFC 6311 4.2: each counter becomes the larger of the two views. */
	if (send > sa->msgid_in)
		sa->msgid_in = send;
	if (recv > sa->msgid_out)
		sa->msgid_out = recv;
	if (sa->msgid_out == 0)
		sa->msgid_out = 1; /* 0 is this exchange's now */
	if (sa->req.kind != IKE_REQ_NONE) {
		ike_req_requeue(ike, sa);
		ike_req_done(sa); /* its message ID is stale now */
	}
	ike_put32(d, nonce);
	ike_put32(d + 4, sa->msgid_out);
	ike_put32(d + 8, sa->msgid_in);
	ike_buf_init_chain(&in);
	ike_buf_notify(&in, IKE_PROTO_IKE, NULL, 0, IKE_N_MSGID_SYNC, d, sizeof(d));
	CTR(ike, ike_msgid_syncs);
	ike_send_response(ike, sa, m, &in, 0);
	ike_shm_msgids(ike, sa);
	free(sa->resp); /* a later request 0 is not a duplicate of this */
	sa->resp = NULL;
}

static void msgid_sync_response(struct ike *ike, struct ike_sa *sa, struct ike_msg *m)
{
	uint32_t nonce, send, recv, want = sa->req.sync_nonce;

	ike_req_done(sa);
	if (sync_data(m, &nonce, &send, &recv) < 0 || nonce != want) {
		CTR(ike, ike_drop_malformed);
		return;
	}
	if (send > sa->msgid_in)
		sa->msgid_in = send;
	if (recv > sa->msgid_out)
		sa->msgid_out = recv;
	ike_shm_msgids(ike, sa);
	log_info("ike %s: message IDs synchronised: out %u in %u", sa->conn->name, sa->msgid_out,
		 sa->msgid_in);
}

static int is_msgid_sync_request(const struct ike_msg *m)
{
	return m->hdr.msgid == 0 && ike_msg_notify(m, IKE_N_MSGID_SYNC) != NULL;
}

static void info_request(struct ike *ike, struct ike_sa *sa, struct ike_msg *m)
{
	static struct ike_buf in;
	uint32_t spis[IKE_MAX_CHILDREN];
	uint16_t nspis = 0;
	int del_ike = 0, any = 0;
	unsigned i, k;

	if (is_msgid_sync_request(m)) {
		msgid_sync_request(ike, sa, m);
		return;
	}
	for (i = 0; i < m->n; i++) {
		struct ike_delete_pl d;

		if (m->pl[i].type != IKE_PL_DELETE)
			continue;
		any = 1;
		if (ike_pl_delete(&m->pl[i], &d) < 0) {
			CTR(ike, ike_drop_malformed);
			ike_respond_notify(ike, sa, m, IKE_N_INVALID_SYNTAX, NULL, 0);
			return;
		}
		if (d.proto == IKE_PROTO_IKE) {
			del_ike = 1;
			continue;
		}
		if (d.proto != IKE_PROTO_ESP || d.spi_size != 4)
			continue;
		for (k = 0; k < d.n; k++) {
			int j = child_by_spi_out(sa, ike_get32(d.spis + 4 * k)), x;

			if (j < 0)
				continue;
			/* 1.4.1: answer with our SPIs of the same SAs. */
			if (nspis < IKE_MAX_CHILDREN)
				spis[nspis++] = sa->child[j].spi_in;
			for (x = 0; x < IKE_MAX_CHILDREN; x++)
				if (sa->child[x].state == IKE_CH_INBOUND && sa->child[x].pred == j)
					ike_child_promote(ike, sa, x);
			if (sa->req.kind == IKE_REQ_DELETE_CHILD && sa->req.child == j)
				sa->req.child = -1;
			ike_child_retire(ike, sa, &sa->child[j]);
		}
	}
	ike_buf_init_chain(&in);
	if (del_ike) {
		log_info("ike %s: peer deletes the IKE SA", sa->conn->name);
		ike_send_response(ike, sa, m, &in, 1);
		ike_set_state(ike, sa, IKE_ST_DEAD);
		ike_sa_destroy(ike, sa);
		return;
	}
	if (nspis)
		ike_buf_delete(&in, IKE_PROTO_ESP, spis, nspis);
	if (!any)
		CTR(ike, ike_dpd_answered);
	ike_send_response(ike, sa, m, &in, 1);
}

/* --- dispatch --- */

void ike_xchg_request(struct ike *ike, struct ike_sa *sa, struct ike_msg *m)
{
	switch (m->hdr.exchange) {
	case IKE_AUTH:
		auth_request(ike, sa, m);
		break;
	case IKE_CREATE_CHILD_SA:
		ccs_request(ike, sa, m);
		break;
	case IKE_INFORMATIONAL:
		info_request(ike, sa, m);
		break;
	default:
		CTR(ike, ike_drop_malformed);
		return;
	}
	if (sa->used && sa->state != IKE_ST_DEAD)
		ike_sa_kick(ike, sa);
}

void ike_xchg_response(struct ike *ike, struct ike_sa *sa, struct ike_msg *m)
{
	int kind = sa->req.kind, idx = sa->req.child;

	switch (kind) {
	case IKE_REQ_AUTH:
		auth_response(ike, sa, m);
		break;
	case IKE_REQ_REKEY_CHILD:
		rekey_child_response(ike, sa, m);
		break;
	case IKE_REQ_REKEY_IKE:
		rekey_ike_response(ike, sa, m);
		break;
	case IKE_REQ_DELETE_CHILD:
		ike_req_done(sa);
		if (idx >= 0 && idx < IKE_MAX_CHILDREN && sa->child[idx].state != IKE_CH_FREE)
			ike_child_retire(ike, sa, &sa->child[idx]);
		break;
	case IKE_REQ_DELETE_IKE:
		ike_req_done(sa);
		ike_set_state(ike, sa, IKE_ST_DEAD);
		ike_sa_destroy(ike, sa);
		return;
	case IKE_REQ_MSGID_SYNC:
		msgid_sync_response(ike, sa, m);
		break;
	case IKE_REQ_DPD:
	default:
		ike_req_done(sa);
		break;
	}
	if (sa->used && sa->state != IKE_ST_DEAD)
		ike_sa_kick(ike, sa);
}
