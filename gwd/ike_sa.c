/*
 * The IKE SA life cycle: lookup, state changes, sending with
 * retransmission and the response cache, the receive path (a flat
 * sequence of checks, each with its counter), timers and the queue of
 * work that waits for the window of one (RFC 7296 2.3). The exchanges
 * themselves are in ike_xchg.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ike.h"
#include "ike_int.h"
#include "log.h"

const char *ike_state_name(int state)
{
	static const char *const n[] = {
		"INIT_SENT", "INIT_DONE", "AUTH_SENT", "ESTABLISHED", "REKEYED", "DELETING", "DEAD",
	};

	return state >= 0 && state <= IKE_ST_DEAD ? n[state] : "?";
}

void ike_set_state(struct ike *ike, struct ike_sa *sa, int st)
{
	if (sa->state == st)
		return;
	log_info("ike %s [%016llx_i %016llx_r]: %s -> %s", sa->conn->name,
		 (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r,
		 ike_state_name(sa->state), ike_state_name(st));
	if (sa->state == IKE_ST_INIT_DONE && ike->half_open)
		ike->half_open--;
	if (st == IKE_ST_INIT_DONE)
		ike->half_open++;
	sa->state = st;
}

int ike_init(struct ike *ike, const struct config *cfg, struct sa_table *table,
	     const struct ike_ops *ops)
{
	memset(ike, 0, sizeof(*ike));
	ike->cfg = cfg;
	ike->table = table;
	ike->ops = *ops;
	ike->member_id = cfg->gw.member_id;
	ike->local_addr = cfg->gw.local_addr;
	ike->cap = cfg->gw.ike_capacity < 1024 ? cfg->gw.ike_capacity : 1024;
	if (!(ike->sas = calloc(ike->cap, sizeof(*ike->sas))))
		return -ENOMEM;
	randombytes_buf(ike->cookie_secret, sizeof(ike->cookie_secret));
	return 0;
}

static void req_clear(struct ike_sa *sa)
{
	free(sa->req.buf);
	sodium_memzero(&sa->req, sizeof(sa->req));
	ike_timer_stop(&sa->t, IKE_T_RETRANSMIT);
}

/* Frees the SA and every Child SA it still owns, in memory and in shm. */
void ike_sa_destroy(struct ike *ike, struct ike_sa *sa)
{
	unsigned i;

	ike_promo_req_lost(ike, sa);
	for (i = 0; i < IKE_MAX_CHILDREN; i++)
		if (sa->child[i].state != IKE_CH_FREE)
			ike_child_drop(ike, sa, &sa->child[i]);
	if (sa->shm_idx >= 0) {
		ike_shm_free_ike(ike, sa);
		CTR(ike, ike_sa_deleted);
	}
	if (sa->state == IKE_ST_INIT_DONE && ike->half_open)
		ike->half_open--;
	if (sa->initiator && sa->conn) {
		/* an initiating conn comes back, but not in a tight loop */
		long ci = sa->conn - ike->cfg->ike.conns;

		if (ci >= 0 && ci < CONF_MAX_CONNS)
			ike->conn_retry_at[ci] = ike->now + 5000;
	}
	req_clear(sa);
	free(sa->init_req);
	free(sa->init_resp);
	free(sa->resp);
	sodium_memzero(sa, sizeof(*sa));
}

void ike_free(struct ike *ike)
{
	/* the shm SAs stay: a restarted gwd, or the standby, still needs
	 * them; only our memory goes */
	ike_forget(ike);
	free(ike->sas);
	ike->sas = NULL;
}

struct ike_sa *ike_sa_new(struct ike *ike, const struct conf_ike_conn *conn, int initiator)
{
	unsigned i, j;

	for (i = 0; i < ike->cap; i++) {
		struct ike_sa *sa = &ike->sas[i];

		if (sa->used)
			continue;
		memset(sa, 0, sizeof(*sa));
		sa->used = 1;
		sa->conn = conn;
		sa->initiator = initiator;
		sa->shm_idx = -1;
		sa->created = sa->last_rx = ike->now;
		for (j = 0; j < IKE_MAX_CHILDREN; j++)
			sa->child[j].shm_idx = -1;
		return sa;
	}
	return NULL;
}

struct ike_sa *ike_sa_find(struct ike *ike, uint64_t spi_i, uint64_t spi_r)
{
	unsigned i;

	for (i = 0; i < ike->cap; i++)
		if (ike->sas[i].used && ike->sas[i].spi_i == spi_i && ike->sas[i].spi_r == spi_r)
			return &ike->sas[i];
	return NULL;
}

struct ike_sa *ike_sa_by_child_spi(struct ike *ike, uint32_t spi, int *child)
{
	unsigned i, j;

	for (i = 0; i < ike->cap; i++) {
		struct ike_sa *sa = &ike->sas[i];

		if (!sa->used)
			continue;
		for (j = 0; j < IKE_MAX_CHILDREN; j++)
			if (sa->child[j].state != IKE_CH_FREE &&
			    (sa->child[j].spi_in == spi || sa->child[j].spi_out == spi)) {
				*child = (int)j;
				return sa;
			}
	}
	return NULL;
}

/* --- sending --- */

void ike_send_raw(struct ike *ike, struct ike_sa *sa, const uint8_t *buf, size_t len)
{
	CTR(ike, ike_tx);
	if (ike->ops.send(ike->ops.ctx, sa->peer_addr, sa->peer_port, sa->natt, buf, len) < 0)
		log_warnx_rl("ike %s: send failed", sa->conn->name);
}

static const uint8_t *key_out(const struct ike_sa *sa)
{
	return sa->initiator ? sa->keys.sk_ei : sa->keys.sk_er;
}

static const uint8_t *key_in(const struct ike_sa *sa)
{
	return sa->initiator ? sa->keys.sk_er : sa->keys.sk_ei;
}

static int seal(struct ike_sa *sa, struct ike_buf *out, uint8_t exch, int response, uint32_t msgid,
		const struct ike_buf *inner)
{
	uint64_t iv;

	ike_buf_init_msg(out, sa->spi_i, sa->spi_r, exch,
			 (uint8_t)((sa->initiator ? IKE_FLAG_I : 0) | (response ? IKE_FLAG_R : 0)),
			 msgid);
	/* A random explicit IV: unique enough under one SK_e for the few
	 * messages of an IKE SA, and safe across cluster members. */
	randombytes_buf(&iv, sizeof(iv));
	return ike_sk_seal(out, inner, sa->enc, key_out(sa), iv);
}

/* Starts an exchange: encrypts, remembers the request for retransmission
 * and sends it. The message ID is the next one unless `msgid0` (RFC 6311
 * uses 0). Returns 0 or -errno. */
int ike_send_request(struct ike *ike, struct ike_sa *sa, int kind, uint8_t exch,
		     const struct ike_buf *inner, int msgid0)
{
	static struct ike_buf out;
	uint32_t msgid = msgid0 ? 0 : sa->msgid_out;
	int rc;

	if ((rc = seal(sa, &out, exch, 0, msgid, inner)) < 0)
		return rc;
	free(sa->req.buf);
	if (!(sa->req.buf = malloc(out.len)))
		return -ENOMEM;
	memcpy(sa->req.buf, out.p, out.len);
	sa->req.len = out.len;
	sa->req.kind = kind;
	sa->req.msgid = msgid;
	sa->req.tries = 0;
	if (!msgid0)
		sa->msgid_out++;
	ike_shm_msgids(ike, sa);
	ike_timer_arm(&sa->t, IKE_T_RETRANSMIT, ike->now + ike->cfg->ike.retransmit_ms);
	ike_send_raw(ike, sa, out.p, out.len);
	return 0;
}

/* Plain (unencrypted) requests: IKE_SA_INIT. */
int ike_send_request_plain(struct ike *ike, struct ike_sa *sa, int kind, const struct ike_buf *msg)
{
	free(sa->req.buf);
	if (!(sa->req.buf = malloc(msg->len)))
		return -ENOMEM;
	memcpy(sa->req.buf, msg->p, msg->len);
	sa->req.len = msg->len;
	sa->req.kind = kind;
	sa->req.msgid = 0;
	sa->req.tries = 0;
	ike_timer_arm(&sa->t, IKE_T_RETRANSMIT, ike->now + ike->cfg->ike.retransmit_ms);
	ike_send_raw(ike, sa, msg->p, msg->len);
	return 0;
}

void ike_req_done(struct ike_sa *sa)
{
	req_clear(sa);
}

/* The outstanding request is dropped unanswered (an RFC 6311 sync makes
 * its message ID stale): what it was for is queued again, so that a sync
 * after a take-over loses no Delete and no rekey. */
void ike_req_requeue(struct ike *ike, struct ike_sa *sa)
{
	struct ike_req *q = &sa->req;
	struct ike_child *ch = q->child >= 0 && q->child < IKE_MAX_CHILDREN ? &sa->child[q->child] : NULL;

	switch (q->kind) {
	case IKE_REQ_REKEY_CHILD:
		if (q->promo)
			ike_promo_result(ike, sa, q, 0);
		else if (ch && ch->state == IKE_CH_INSTALLED)
			ch->want_rekey = 1;
		break;
	case IKE_REQ_DELETE_CHILD:
		if (ch && ch->state != IKE_CH_FREE && !ch->linger_until)
			ch->want_delete = 1;
		break;
	case IKE_REQ_REKEY_IKE:
		sa->want_rekey = 1;
		break;
	case IKE_REQ_DELETE_IKE:
		sa->want_delete = 1;
		break;
	default:
		break;
	}
}

static void cache_response(struct ike_sa *sa, const uint8_t *p, size_t len, uint32_t msgid)
{
	free(sa->resp);
	sa->resp = malloc(len);
	sa->resp_len = sa->resp ? len : 0;
	if (sa->resp)
		memcpy(sa->resp, p, len);
	sa->resp_msgid = msgid;
}

/* Answers the request in m; `advance` moves the expected message ID (not
 * for RFC 6311, whose exchanges live outside the window). */
void ike_send_response(struct ike *ike, struct ike_sa *sa, const struct ike_msg *m,
		       const struct ike_buf *inner, int advance)
{
	static struct ike_buf out;

	if (seal(sa, &out, m->hdr.exchange, 1, m->hdr.msgid, inner) < 0) {
		log_warnx("ike %s: response does not fit", sa->conn->name);
		return;
	}
	cache_response(sa, out.p, out.len, m->hdr.msgid);
	if (advance) {
		sa->msgid_in = m->hdr.msgid + 1;
		ike_shm_msgids(ike, sa);
	}
	ike_send_raw(ike, sa, out.p, out.len);
}

void ike_send_response_plain(struct ike *ike, struct ike_sa *sa, const struct ike_buf *msg)
{
	cache_response(sa, msg->p, msg->len, 0);
	ike_send_raw(ike, sa, msg->p, msg->len);
}

/* An answer outside any SA (errors to IKE_SA_INIT, INVALID_IKE_SPI). */
void ike_send_plain_notify(struct ike *ike, uint32_t addr, uint16_t port, int natt,
			   const struct ike_hdr *h, uint64_t spi_r, uint16_t type,
			   const void *data, size_t len)
{
	struct ike_buf b;

	ike_buf_init_msg(&b, h->spi_i, spi_r, h->exchange,
			 (uint8_t)(IKE_FLAG_R | (h->flags & IKE_FLAG_I ? 0 : IKE_FLAG_I)), h->msgid);
	ike_buf_notify(&b, 0, NULL, 0, type, data, len);
	ike_buf_finish(&b);
	CTR(ike, ike_tx);
	ike->ops.send(ike->ops.ctx, addr, port, natt, b.p, b.len);
}

/* An encrypted error notify as the whole response. */
void ike_respond_notify(struct ike *ike, struct ike_sa *sa, const struct ike_msg *m, uint16_t type,
			const void *data, size_t len)
{
	struct ike_buf in;

	ike_buf_init_chain(&in);
	ike_buf_notify(&in, 0, NULL, 0, type, data, len);
	ike_send_response(ike, sa, m, &in, 1);
}

/* --- receiving --- */

static int is_msgid_sync(const struct ike_msg *m)
{
	return m->hdr.exchange == IKE_INFORMATIONAL && m->hdr.msgid == 0 &&
	       ike_msg_notify(m, IKE_N_MSGID_SYNC) != NULL;
}

static void input_protected(struct ike *ike, struct ike_sa *sa, struct ike_msg *m, uint8_t *buf,
			    uint32_t src, uint16_t sport, int natt)
{
	int response = !!(m->hdr.flags & IKE_FLAG_R), rc;
	int dup = sa->resp && m->hdr.msgid == sa->resp_msgid && m->hdr.msgid + 1 == sa->msgid_in;
	/* RFC 6311 4.1: a sync request has message ID 0 whatever the window,
	 * so it can look like a retransmission of the peer's first request;
	 * only its content tells (after decryption). */
	int maybe_sync = m->hdr.exchange == IKE_INFORMATIONAL && m->hdr.msgid == 0;

	if (!m->sk || m->n != 1) {
		/* 3.14: after IKE_SA_INIT everything is in one SK payload. */
		CTR(ike, ike_drop_malformed);
		return;
	}
	if (!response) {
		/* 2.1: a retransmitted request gets the same response again,
		 * without decrypting it (the cached response is the proof). */
		if (dup && !maybe_sync) {
			CTR(ike, ike_dup_requests);
			ike_send_raw(ike, sa, sa->resp, sa->resp_len);
			return;
		}
		if (m->hdr.msgid != sa->msgid_in &&
		    !(m->hdr.exchange == IKE_INFORMATIONAL && m->hdr.msgid == 0)) {
			CTR(ike, ike_bad_msgid);
			log_warnx_rl("ike %s: request with message ID %u, expected %u", sa->conn->name,
				     m->hdr.msgid, sa->msgid_in);
			return;
		}
	} else if (!sa->req.kind || m->hdr.msgid != sa->req.msgid) {
		CTR(ike, ike_bad_msgid);
		return;
	}
	rc = ike_sk_open(m, buf, sa->enc, key_in(sa));
	if (rc == -EBADMSG) {
		/* 2.21.2: a message that does not authenticate is dropped
		 * silently. */
		CTR(ike, ike_decrypt_failed);
		log_warnx_rl("ike %s: %s %s did not authenticate", sa->conn->name,
			     ike_exchange_name(m->hdr.exchange), response ? "response" : "request");
		return;
	}
	if (rc == IKE_E_CRITICAL) {
		uint8_t t = m->crit_type;

		CTR(ike, ike_unsupported_critical);
		if (!response)
			ike_respond_notify(ike, sa, m, IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD, &t, 1);
		return;
	}
	if (rc < 0) {
		sa_ctr_add(ike->table, rc == IKE_E_TRUNC ? CTR_ike_drop_truncated : CTR_ike_drop_malformed, 1);
		if (!response)
			ike_respond_notify(ike, sa, m, IKE_N_INVALID_SYNTAX, NULL, 0);
		return;
	}
	if (!response && dup && maybe_sync && !is_msgid_sync(m)) {
		CTR(ike, ike_dup_requests);
		ike_send_raw(ike, sa, sa->resp, sa->resp_len);
		return;
	}
	if (!response && m->hdr.msgid != sa->msgid_in && !is_msgid_sync(m)) {
		CTR(ike, ike_bad_msgid);
		return;
	}
	/* 2.23: authenticated traffic tells where the peer is now. */
	sa->peer_addr = src;
	sa->peer_port = sport;
	sa->natt = natt;
	sa->last_rx = ike->now;
	if (response)
		ike_xchg_response(ike, sa, m);
	else
		ike_xchg_request(ike, sa, m);
}

void ike_input(struct ike *ike, uint64_t now, uint32_t src, uint16_t sport, int natt,
	       const uint8_t *msg, size_t len)
{
	static uint8_t buf[2 * IKE_MSG_MAX];
	static struct ike_msg m;
	struct ike_sa *sa;
	int rc;

	ike->now = now;
	CTR(ike, ike_rx);
	if (len > sizeof(buf)) {
		CTR(ike, ike_drop_malformed);
		return;
	}
	memcpy(buf, msg, len);
	rc = ike_msg_parse(&m, buf, len);
	if (rc == IKE_E_VERSION) {
		/* 2.5: answered unencrypted, with our highest version. */
		CTR(ike, ike_bad_version);
		if (!(m.hdr.flags & IKE_FLAG_R))
			ike_send_plain_notify(ike, src, sport, natt, &m.hdr, m.hdr.spi_r,
					      IKE_N_INVALID_MAJOR_VERSION, NULL, 0);
		return;
	}
	if (rc == IKE_E_TRUNC) {
		CTR(ike, ike_drop_truncated);
		return;
	}
	if (rc == IKE_E_CRITICAL) {
		uint8_t t = m.crit_type;

		CTR(ike, ike_unsupported_critical);
		if (m.hdr.exchange == IKE_SA_INIT && !(m.hdr.flags & IKE_FLAG_R))
			ike_send_plain_notify(ike, src, sport, natt, &m.hdr, 0,
					      IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD, &t, 1);
		return;
	}
	if (rc < 0) {
		CTR(ike, ike_drop_malformed);
		return;
	}
	if (m.hdr.exchange == IKE_SA_INIT) {
		if (m.hdr.flags & IKE_FLAG_R)
			ike_init_response(ike, &m, src, sport, natt);
		else
			ike_init_request(ike, &m, src, sport, natt);
		return;
	}
	if (!(sa = ike_sa_find(ike, m.hdr.spi_i, m.hdr.spi_r)) || sa->state == IKE_ST_DEAD) {
		/* 2.21.4: a request outside any SA MAY get an unprotected
		 * INVALID_IKE_SPI; a response never gets an answer. */
		CTR(ike, ike_unknown_spi);
		if (!(m.hdr.flags & IKE_FLAG_R)) {
			static struct log_ratelimit rl;

			if (log_ratelimit_ok(&rl))
				ike_send_plain_notify(ike, src, sport, natt, &m.hdr, m.hdr.spi_r,
						      IKE_N_INVALID_IKE_SPI, NULL, 0);
		}
		return;
	}
	input_protected(ike, sa, &m, buf, src, sport, natt);
}

/* --- timers and queued work --- */

static int child_busy(const struct ike_sa *sa, int idx)
{
	return sa->req.kind == IKE_REQ_REKEY_CHILD && sa->req.child == idx;
}

/* Starts the most urgent queued exchange if the window is free. */
void ike_sa_kick(struct ike *ike, struct ike_sa *sa)
{
	int i;

	if (sa->req.kind != IKE_REQ_NONE)
		return;
	if (sa->state == IKE_ST_REKEYED && sa->want_delete) {
		ike_start_delete_ike(ike, sa);
		return;
	}
	if (sa->state != IKE_ST_ESTABLISHED)
		return;
	/* RFC 6311 first: until it is done, no message ID is to be trusted
	 * (a Delete of a half-done rekey, taken over, would go out with a
	 * stale one and be dropped by the peer) */
	if (sa->want_sync) {
		ike_start_msgid_sync(ike, sa);
		return;
	}
	for (i = 0; i < IKE_MAX_CHILDREN; i++)
		if (sa->child[i].state != IKE_CH_FREE && sa->child[i].want_delete) {
			ike_start_delete_child(ike, sa, i);
			return;
		}
	if (sa->want_delete) {
		ike_start_delete_ike(ike, sa);
		return;
	}
	for (i = 0; i < IKE_MAX_CHILDREN; i++) {
		struct ike_child *ch = &sa->child[i];

		if (ch->state != IKE_CH_INSTALLED)
			continue;
		/* One bucket per queue (docs/failover.md): the promotion's
		 * at [failover] rekey_rate, gwd's own at [ike] rekey_rate;
		 * a command (gwctl rekey) is not limited. */
		if ((ch->want_rekey && ch->rekey_reason < 0) ||
		    (ch->promo ? ike_promo_allowed(ike, ch) :
				 ch->want_rekey && ike_rekey_allowed(ike))) {
			ike_start_rekey_child(ike, sa, i);
			return;
		}
	}
	if (sa->want_rekey) {
		ike_start_rekey_ike(ike, sa);
		return;
	}
	if (ike_timer_fired(&sa->t, IKE_T_DPD, ike->now))
		ike_start_dpd(ike, sa);
}

static void retransmit(struct ike *ike, struct ike_sa *sa)
{
	const struct conf_ike *k = &ike->cfg->ike;

	if (sa->req.tries + 1 >= k->retransmit_tries) {
		/* 2.4: a peer that answers nothing is gone. */
		CTR(ike, ike_exchange_timeouts);
		if (sa->req.kind == IKE_REQ_REKEY_CHILD)
			CTR(ike, ike_rekeys_failed);
		log_warnx("ike %s: %u tries without an answer; giving the IKE SA up",
			  sa->conn->name, sa->req.tries + 1);
		ike_set_state(ike, sa, IKE_ST_DEAD);
		return;
	}
	sa->req.tries++;
	CTR(ike, ike_retransmits);
	ike_timer_arm(&sa->t, IKE_T_RETRANSMIT,
		      ike->now + ((uint64_t)k->retransmit_ms << sa->req.tries));
	ike_send_raw(ike, sa, sa->req.buf, sa->req.len);
}

static void child_timers(struct ike *ike, struct ike_sa *sa)
{
	const struct conf_ike_conn *c = sa->conn;
	int i;

	for (i = 0; i < IKE_MAX_CHILDREN; i++) {
		struct ike_child *ch = &sa->child[i];

		if (ch->linger_until) {
			if (ike->now >= ch->linger_until)
				ike_child_drop(ike, sa, ch);
			continue;
		}
		if (ch->state == IKE_CH_INBOUND && ike_shm_child_packets(ike, ch) > 0) {
			/* The peer uses the new SA: it is ours to send on too. */
			ike_child_promote(ike, sa, i);
			continue;
		}
		if (ch->state == IKE_CH_INSTALLED && c->child_lifetime_s &&
		    ike->now >= ch->created + (uint64_t)c->child_lifetime_s * 1100) {
			/* Past its hard lifetime (110%, as life_hard_ms in shm)
			 * because its rekeys failed: it must not carry more. No
			 * second Child SA can be made on this IKE SA, so the IKE
			 * SA goes; an initiating conn comes back with new ones. */
			CTR(ike, ike_child_expired);
			log_warnx("ike %s: child SA 0x%08x past its hard lifetime: deleting the IKE SA",
				  c->name, ch->spi_in);
			sa->want_delete = 1;
			return;
		}
		if (ch->state != IKE_CH_INSTALLED || ch->want_rekey || ch->promo || child_busy(sa, i))
			continue;
		if (ike_shm_child_flags(ike, ch) & SA_F_REKEY_NEEDED) {
			ch->want_rekey = 1;
			ch->rekey_reason = CTR_ike_threshold_rekeys;
		} else if ((ch->rekey_at && ike->now >= ch->rekey_at) ||
			   (c->child_life_packets && ike_shm_child_packets(ike, ch) >= c->child_life_packets)) {
			ch->want_rekey = 1;
			ch->rekey_reason = CTR_ike_lifetime_rekeys;
		}
	}
}

static void sa_tick(struct ike *ike, struct ike_sa *sa)
{
	const struct conf_ike_conn *c = sa->conn;

	if (ike_timer_fired(&sa->t, IKE_T_RETRANSMIT, ike->now))
		retransmit(ike, sa);
	if (sa->state == IKE_ST_DEAD)
		return;
	if (ike_timer_fired(&sa->t, IKE_T_HALF_OPEN, ike->now) && sa->state == IKE_ST_INIT_DONE) {
		CTR(ike, ike_half_open_timeouts);
		ike_set_state(ike, sa, IKE_ST_DEAD);
		return;
	}
	if (ike_timer_fired(&sa->t, IKE_T_LINGER, ike->now) && sa->state == IKE_ST_REKEYED) {
		ike_set_state(ike, sa, IKE_ST_DEAD);
		return;
	}
	if (sa->state != IKE_ST_ESTABLISHED)
		return;
	if (ike_timer_fired(&sa->t, IKE_T_REKEY, ike->now))
		sa->want_rekey = 1;
	/* DPD only when the peer has been silent for the interval (2.4). */
	if (c->dpd_s && sa->t.at[IKE_T_DPD] && ike->now >= sa->t.at[IKE_T_DPD] &&
	    ike->now < sa->last_rx + (uint64_t)c->dpd_s * 1000)
		ike_timer_arm(&sa->t, IKE_T_DPD, sa->last_rx + (uint64_t)c->dpd_s * 1000);
	child_timers(ike, sa);
}

static int conn_has_sa(struct ike *ike, const struct conf_ike_conn *c)
{
	unsigned i;

	for (i = 0; i < ike->cap; i++)
		if (ike->sas[i].used && ike->sas[i].conn == c && ike->sas[i].state != IKE_ST_DEAD &&
		    ike->sas[i].state != IKE_ST_REKEYED)
			return 1;
	return 0;
}

/* The member's role decides who owns the peers. On promotion the SAs in
 * the table (kept current by syncd) are taken over; on demotion the
 * in-memory copies are forgotten, the other member owns them now. A
 * STANDBY member is silent. Returns 1 if ACTIVE. */
static int role_tick(struct ike *ike)
{
	int active = atomic_load(&ike->table->hdr->role) == SA_ROLE_ACTIVE, n;

	if (active == ike->active)
		return active;
	ike->active = active;
	if (!active) {
		log_info("ike: member is STANDBY: IKE goes quiet");
		ike_forget(ike);
		return 0;
	}
	n = ike_adopt(ike, ike->now);
	log_info("ike: member is ACTIVE: %d IKE SAs taken over from the table", n);
	return 1;
}

/* DESIGN.md: the rekeys gwd decides by itself (lifetime, packets, a
 * threshold crossed while ACTIVE) start at a bounded rate: a token bucket
 * of [ike] rekey_rate per second. The promotion's queue has its own
 * ([failover] rekey_rate, ike_promo.c). */
static void rekey_tokens_refill(struct ike *ike)
{
	double rate = ike->cfg->ike.rekey_rate;

	ike->rekey_tokens += rate * IKE_TICK_MS / 1000.0;
	if (ike->rekey_tokens > rate)
		ike->rekey_tokens = rate;
}

int ike_rekey_allowed(struct ike *ike)
{
	if (ike->rekey_tokens < 1.0)
		return 0;
	ike->rekey_tokens -= 1.0;
	return 1;
}

void ike_forget(struct ike *ike)
{
	unsigned i;

	for (i = 0; i < ike->cap; i++) {
		struct ike_sa *sa = &ike->sas[i];

		if (!sa->used)
			continue;
		if (sa->state == IKE_ST_INIT_DONE && ike->half_open)
			ike->half_open--;
		req_clear(sa);
		free(sa->init_req);
		free(sa->init_resp);
		free(sa->resp);
		sodium_memzero(sa, sizeof(*sa));
	}
}

void ike_tick(struct ike *ike, uint64_t now)
{
	uint32_t i;

	ike->now = now;
	if (!role_tick(ike))
		return;
	/* a promotion still publishing its epoch: nothing moves until its
	 * queue is taken (ike_promo.c) */
	if (ike_promo_check(ike))
		return;
	rekey_tokens_refill(ike);
	ike_promo_refill(ike);
	ike_promo_kick_blocked(ike);
	for (i = 0; i < ike->cap; i++) {
		struct ike_sa *sa = &ike->sas[i];

		if (!sa->used)
			continue;
		sa_tick(ike, sa);
		if (sa->state == IKE_ST_DEAD)
			ike_sa_destroy(ike, sa);
		else
			ike_sa_kick(ike, sa);
	}
	for (i = 0; i < ike->cfg->ike.n_conns; i++) {
		const struct conf_ike_conn *c = &ike->cfg->ike.conns[i];

		if (!c->initiator || now < ike->conn_retry_at[i] || conn_has_sa(ike, c))
			continue;
		ike->conn_retry_at[i] = now + 5000;
		ike_initiate(ike, c);
	}
}

/* --- commands --- */

int ike_rekey_child(struct ike *ike, uint32_t spi)
{
	struct ike_sa *sa;
	int idx;

	if (!(sa = ike_sa_by_child_spi(ike, spi, &idx)))
		return -ENOENT;
	if (sa->child[idx].state != IKE_CH_INSTALLED || sa->state != IKE_ST_ESTABLISHED)
		return -EBUSY;
	sa->child[idx].want_rekey = 1;
	sa->child[idx].rekey_reason = -1;
	ike_sa_kick(ike, sa);
	return 0;
}

int ike_rekey_ike(struct ike *ike, uint64_t spi_i)
{
	unsigned i;

	for (i = 0; i < ike->cap; i++) {
		struct ike_sa *sa = &ike->sas[i];

		if (sa->used && sa->spi_i == spi_i && sa->state == IKE_ST_ESTABLISHED) {
			sa->want_rekey = 1;
			ike_sa_kick(ike, sa);
			return 0;
		}
	}
	return -ENOENT;
}

/* RFC 6311: the failover path calls this on the new active member. The
 * outstanding request, if any, belonged to the old one: it is dropped. */
int ike_msgid_sync(struct ike *ike, struct ike_sa *sa)
{
	if (sa->state != IKE_ST_ESTABLISHED)
		return -EBUSY;
	if (!sa->peer_msgid_sync)
		return -EOPNOTSUPP;
	if (sa->req.kind != IKE_REQ_NONE) {
		ike_req_requeue(ike, sa);
		ike_req_done(sa);
	}
	sa->want_sync = 1;
	ike_sa_kick(ike, sa);
	return 0;
}

int ike_delete_ike(struct ike *ike, struct ike_sa *sa)
{
	if (sa->state != IKE_ST_ESTABLISHED)
		return -EBUSY;
	sa->want_delete = 1;
	ike_sa_kick(ike, sa);
	return 0;
}
