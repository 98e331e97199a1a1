/*
 * Taking over the SAs already in the shm table: those a previous gwd of
 * this member negotiated (a restart), or those syncd replicated from the
 * other member (a promotion). The table holds everything an established
 * IKE SA needs (keys, SPIs, message IDs, peer), so the IKE SA resumes
 * where it was, with its Child SAs and their counters; nothing is
 * renegotiated. Records for a [conn] that is no longer configured, and
 * Child SAs whose IKE SA is gone, are removed.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ike.h"
#include "ike_int.h"
#include "log.h"

/*
 * A rekey half done when the old active went: one INSTALLED and one
 * REKEYED Child SA. Which is which is not in a flag (SA_F_INITIATOR is
 * the IKE SA's original initiator, not the rekey's), but in their ages:
 * - our rekey: the new SA sends (INSTALLED), the old one (REKEYED) is the
 *   older; it still has to be deleted;
 * - the peer's rekey: the old SA sends until the peer switches, the new
 *   one (REKEYED) is the newer and only receives (IKE_CH_INBOUND), and is
 *   promoted on the peer's Delete of the old or on traffic.
 * Created in the same millisecond: the one that has sent is the old one
 * (an inbound-only SA never sent).
 */
static void adopt_classify(struct ike_sa *sa, int n, const uint64_t *created,
			   const uint64_t *sent)
{
	int i, j;

	for (i = 0; i < n; i++) {
		struct ike_child *ch = &sa->child[i];
		int pred = -1;

		if (ch->state != IKE_CH_INBOUND)
			continue;
		for (j = 0; j < n; j++)
			if (sa->child[j].state == IKE_CH_INSTALLED &&
			    (created[j] < created[i] || (created[j] == created[i] && !sent[i])))
				pred = j; /* j is older: i is the peer's new SA */
		for (j = 0; j < n && pred < 0; j++)
			if (sa->child[j].state == IKE_CH_INSTALLED) {
				/* i is older than an SA that sends: ours replaced it */
				ch->state = IKE_CH_REKEYED;
				ch->want_delete = 1;
				break;
			}
		if (pred >= 0)
			ch->pred = pred;
	}
}

static void adopt_children(struct ike *ike, struct ike_sa *sa, uint32_t ike_idx)
{
	struct sa_table *t = ike->table;
	struct child_sa_rec *r = sa_child_rec_new();
	uint64_t created[IKE_MAX_CHILDREN], sent[IKE_MAX_CHILDREN];
	uint32_t j;
	int n = 0;

	if (!r)
		return;
	for (j = 0; j < t->hdr->child_capacity && n < IKE_MAX_CHILDREN; j++) {
		struct ike_child *ch = &sa->child[n];

		if (t->child[j].ike_idx != ike_idx + 1 || sa_table_read_child(t, j, r) < 0 ||
		    (r->state != SA_STATE_INSTALLED && r->state != SA_STATE_REKEYED))
			continue;
		memset(ch, 0, sizeof(*ch));
		ch->shm_idx = (int)j;
		ch->pred = -1;
		ch->spi_in = r->spi_in;
		ch->spi_out = r->spi_out;
		ch->alg = r->alg;
		ch->esn = !!(r->flags & SA_F_ESN);
		ch->ts_local = r->ts_local;
		ch->ts_remote = r->ts_remote;
		ch->created = ike->now;
		ch->rekey_at = ike->now + (uint64_t)sa->conn->child_lifetime_s * 1000;
		/* REKEYED: one half of a rekey; adopt_classify() tells which */
		ch->state = r->state == SA_STATE_REKEYED ? IKE_CH_INBOUND : IKE_CH_INSTALLED;
		created[n] = r->created_ms;
		sent[n] = atomic_load(&r->ctr.tx_packets) | atomic_load(&r->out_seq);
		/* DESIGN.md nonce safety: a new activation for every take-over. */
		atomic_fetch_add(&t->child[j].activation, 1);
		n++;
	}
	adopt_classify(sa, n, created, sent);
	sodium_memzero(r, sizeof(r[0]));
	free(r);
}

static void adopt_one(struct ike *ike, uint32_t i, const struct ike_sa_rec *r,
		      const struct conf_ike_conn *conn)
{
	struct ike_sa *sa = ike_sa_new(ike, conn, !!(r->flags & IKE_F_INITIATOR));

	if (!sa) {
		log_warnx("ike %s: no room to adopt the IKE SA", conn->name);
		return;
	}
	sa->state = IKE_ST_ESTABLISHED;
	sa->shm_idx = (int)i;
	sa->spi_i = r->spi_i;
	sa->spi_r = r->spi_r;
	sa->enc = r->enc_alg;
	sa->peer_addr = r->peer_addr;
	sa->peer_port = r->peer_port;
	sa->natt = !!(r->flags & IKE_F_NAT_T);
	sa->peer_msgid_sync = !!(r->flags & IKE_F_PEER_MSGID_SYNC);
	memcpy(sa->keys.sk_d, r->sk_d, IKE_PRF_LEN);
	memcpy(sa->keys.sk_ei, r->sk_ei, IKE_ENC_KEY_LEN);
	memcpy(sa->keys.sk_er, r->sk_er, IKE_ENC_KEY_LEN);
	memcpy(sa->keys.sk_pi, r->sk_pi, IKE_PRF_LEN);
	memcpy(sa->keys.sk_pr, r->sk_pr, IKE_PRF_LEN);
	sa->msgid_out = r->msgid_out;
	sa->msgid_in = r->msgid_in;
	if (conn->dpd_s)
		ike_timer_arm(&sa->t, IKE_T_DPD, ike->now + (uint64_t)conn->dpd_s * 1000);
	ike_timer_arm(&sa->t, IKE_T_REKEY, ike->now + (uint64_t)conn->ike_lifetime_s * 1000);
	adopt_children(ike, sa, i);
	log_info("ike %s [%016llx_i %016llx_r]: adopted from the table, message IDs out %u in %u",
		 conn->name, (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r,
		 sa->msgid_out, sa->msgid_in);
}

static int ike_adopted(struct ike *ike, uint32_t idx)
{
	unsigned i;

	for (i = 0; i < ike->cap; i++)
		if (ike->sas[i].used && ike->sas[i].shm_idx == (int)idx)
			return 1;
	return 0;
}

int ike_adopt(struct ike *ike, uint64_t now)
{
	struct sa_table *t = ike->table;
	struct ike_sa_rec r;
	uint32_t i;
	int n = 0;

	ike->now = now;
	for (i = 0; i < t->hdr->ike_capacity; i++) {
		const struct conf_ike_conn *conn;

		if (t->ike[i].state != SA_STATE_INSTALLED || ike_adopted(ike, i) ||
		    sa_table_read_ike(t, i, &r) < 0 || r.state != SA_STATE_INSTALLED)
			continue;
		if (!(conn = conf_ike_conn_by_name(&ike->cfg->ike, r.name))) {
			log_info("ike %s: not in the config any more: removed", r.name);
			sa_table_lock(t);
			sa_table_free_ike(t, i);
			sa_table_unlock(t);
			continue;
		}
		adopt_one(ike, i, &r, conn);
		n++;
	}
	sodium_memzero(&r, sizeof(r));
	/* Child SAs of an IKE SA nobody holds can never be rekeyed: gone. */
	sa_table_lock(t);
	for (i = 0; i < t->hdr->child_capacity; i++) {
		struct child_sa_rec *c = &t->child[i];

		if (c->state == SA_STATE_FREE || c->ike_idx == 0 || (atomic_load(&c->flags) & SA_F_MANUAL))
			continue;
		if (!ike_adopted(ike, c->ike_idx - 1)) {
			log_info("sa %s (spi 0x%08x): its IKE SA is gone: removed", c->name, c->spi_in);
			sa_table_free_child(t, i);
		}
	}
	sa_table_unlock(t);
	if (ike->ops.table_changed)
		ike->ops.table_changed(ike->ops.ctx);
	return n;
}
