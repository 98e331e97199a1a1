/*
 * The IKE engine's writes to the shared SA table. Each write is one
 * seqlocked record change under the table lock, so syncd and gwctl never
 * see half an SA, and each one tells the host (table_changed) so that
 * gwd's data-plane view is rebuilt at once.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "ike.h"
#include "log.h"

static void changed(struct ike *ike)
{
	if (ike->ops.table_changed)
		ike->ops.table_changed(ike->ops.ctx);
}

static void ike_rec_fill(struct ike *ike, struct ike_sa *sa, struct ike_sa_rec *r)
{
	snprintf(r->name, sizeof(r->name), "%s", sa->conn->name);
	r->flags = (sa->initiator ? IKE_F_INITIATOR : 0) |
		   (sa->peer_msgid_sync ? IKE_F_PEER_MSGID_SYNC : 0) | (sa->natt ? IKE_F_NAT_T : 0);
	r->spi_i = sa->spi_i;
	r->spi_r = sa->spi_r;
	r->enc_alg = (uint8_t)sa->enc;
	r->prf_alg = 1;
	r->peer_port = sa->peer_port;
	r->peer_addr = sa->peer_addr;
	r->local_addr = ike->local_addr;
	memcpy(r->sk_d, sa->keys.sk_d, IKE_PRF_LEN);
	memcpy(r->sk_ei, sa->keys.sk_ei, IKE_ENC_KEY_LEN);
	memcpy(r->sk_er, sa->keys.sk_er, IKE_ENC_KEY_LEN);
	memcpy(r->sk_pi, sa->keys.sk_pi, IKE_PRF_LEN);
	memcpy(r->sk_pr, sa->keys.sk_pr, IKE_PRF_LEN);
	r->sk_len = IKE_PRF_LEN;
	atomic_store(&r->msgid_out, sa->msgid_out);
	atomic_store(&r->msgid_in, sa->msgid_in);
}

int ike_shm_write_ike(struct ike *ike, struct ike_sa *sa)
{
	struct sa_table *t = ike->table;
	struct ike_sa_rec *r;
	int idx = sa->shm_idx;

	sa_table_lock(t);
	if (idx < 0) {
		if ((idx = sa_table_alloc_ike(t)) < 0) {
			sa_table_unlock(t);
			log_warnx("ike %s: shm table full (ike_capacity %u)", sa->conn->name,
				  t->hdr->ike_capacity);
			return idx;
		}
		r = &t->ike[idx];
		sa_rec_write_begin(&r->seq);
		ike_rec_fill(ike, sa, r);
		r->created_ms = wall_ms();
		sa_rec_write_end(&r->seq);
		sa_table_publish_ike(t, (uint32_t)idx);
		sa->shm_idx = idx;
	} else {
		r = &t->ike[idx];
		sa_rec_write_begin(&r->seq);
		ike_rec_fill(ike, sa, r);
		sa_rec_write_end(&r->seq);
		atomic_fetch_add(&t->hdr->table_gen, 1);
	}
	sa_table_unlock(t);
	changed(ike);
	return 0;
}

/* Message IDs move on every exchange; they are atomics in the record, so
 * no lock and no seqlock (sa_table.h). */
void ike_shm_msgids(struct ike *ike, struct ike_sa *sa)
{
	struct ike_sa_rec *r;

	if (sa->shm_idx < 0)
		return;
	r = &ike->table->ike[sa->shm_idx];
	atomic_store(&r->msgid_out, sa->msgid_out);
	atomic_store(&r->msgid_in, sa->msgid_in);
}

void ike_shm_free_ike(struct ike *ike, struct ike_sa *sa)
{
	if (sa->shm_idx < 0)
		return;
	sa_table_lock(ike->table);
	sa_table_free_ike(ike->table, (uint32_t)sa->shm_idx);
	sa_table_unlock(ike->table);
	sa->shm_idx = -1;
	changed(ike);
}

int ike_shm_child_install(struct ike *ike, struct ike_sa *sa, struct ike_child *ch,
			  const uint8_t *key_in, const uint8_t *key_out, int shm_state)
{
	const struct conf_ike_conn *c = sa->conn;
	struct sa_table *t = ike->table;
	struct child_sa_rec *r;
	int idx;

	sa_table_lock(t);
	if ((idx = sa_table_alloc_child(t)) < 0) {
		sa_table_unlock(t);
		log_warnx("ike %s: shm table full (child_capacity %u)", c->name,
			  t->hdr->child_capacity);
		return idx;
	}
	r = &t->child[idx];
	sa_rec_write_begin(&r->seq);
	snprintf(r->name, sizeof(r->name), "%s", c->name);
	r->ike_idx = sa->shm_idx >= 0 ? (uint32_t)sa->shm_idx + 1 : 0;
	r->spi_in = ch->spi_in;
	r->spi_out = ch->spi_out;
	r->alg = (uint8_t)ch->alg;
	r->replay_window = ike->cfg->gw.replay_window;
	memcpy(r->key_in.key, key_in, SA_KEY_MAX);
	memcpy(r->key_in.salt, key_in + SA_KEY_MAX, SA_SALT_LEN);
	memcpy(r->key_out.key, key_out, SA_KEY_MAX);
	memcpy(r->key_out.salt, key_out + SA_KEY_MAX, SA_SALT_LEN);
	r->ts_local = ch->ts_local;
	r->ts_remote = ch->ts_remote;
	r->peer_addr = sa->peer_addr;
	r->peer_port = sa->natt ? sa->peer_port : 4500;
	r->created_ms = wall_ms();
	r->life_soft_ms = (uint64_t)c->child_lifetime_s * 1000;
	r->life_hard_ms = (uint64_t)c->child_lifetime_s * 1100;
	r->life_soft_packets = c->child_life_packets;
	r->life_hard_packets = c->child_life_packets + c->child_life_packets / 10;
	atomic_store(&r->flags, (ch->esn ? SA_F_ESN : 0u) | (sa->initiator ? SA_F_INITIATOR : 0u));
	sa_rec_write_end(&r->seq);
	sa_table_publish_child(t, (uint32_t)idx);
	if (shm_state != SA_STATE_INSTALLED) {
		sa_rec_write_begin(&r->seq);
		r->state = (uint32_t)shm_state;
		sa_rec_write_end(&r->seq);
	}
	sa_table_unlock(t);
	ch->shm_idx = idx;
	changed(ike);
	return 0;
}

void ike_shm_child_state(struct ike *ike, struct ike_child *ch, int shm_state)
{
	struct child_sa_rec *r;

	if (ch->shm_idx < 0)
		return;
	sa_table_lock(ike->table);
	r = &ike->table->child[ch->shm_idx];
	sa_rec_write_begin(&r->seq);
	r->state = (uint32_t)shm_state;
	sa_rec_write_end(&r->seq);
	atomic_fetch_add(&ike->table->hdr->table_gen, 1);
	sa_table_unlock(ike->table);
	changed(ike);
}

void ike_shm_child_owner(struct ike *ike, struct ike_sa *sa, struct ike_child *ch)
{
	struct child_sa_rec *r;

	if (ch->shm_idx < 0)
		return;
	sa_table_lock(ike->table);
	r = &ike->table->child[ch->shm_idx];
	sa_rec_write_begin(&r->seq);
	r->ike_idx = sa->shm_idx >= 0 ? (uint32_t)sa->shm_idx + 1 : 0;
	sa_rec_write_end(&r->seq);
	atomic_fetch_add(&ike->table->hdr->table_gen, 1);
	sa_table_unlock(ike->table);
}

void ike_shm_child_free(struct ike *ike, struct ike_child *ch)
{
	if (ch->shm_idx < 0)
		return;
	sa_table_lock(ike->table);
	sa_table_free_child(ike->table, (uint32_t)ch->shm_idx);
	sa_table_unlock(ike->table);
	ch->shm_idx = -1;
	changed(ike);
}

uint32_t ike_shm_child_flags(struct ike *ike, const struct ike_child *ch)
{
	if (ch->shm_idx < 0)
		return 0;
	return atomic_load(&ike->table->child[ch->shm_idx].flags);
}

uint64_t ike_shm_child_packets(struct ike *ike, const struct ike_child *ch)
{
	const struct child_sa_rec *r;

	if (ch->shm_idx < 0)
		return 0;
	r = &ike->table->child[ch->shm_idx];
	return atomic_load(&r->ctr.tx_packets) + atomic_load(&r->ctr.rx_packets);
}

static int child_spi_taken(struct ike *ike, uint32_t spi)
{
	unsigned i, j;

	if (sa_table_find_child_by_spi(ike->table, spi) >= 0)
		return 1;
	for (i = 0; i < ike->cap; i++)
		for (j = 0; j < IKE_MAX_CHILDREN; j++)
			if (ike->sas[i].used && ike->sas[i].child[j].state != IKE_CH_FREE &&
			    ike->sas[i].child[j].spi_in == spi)
				return 1;
		/* an SPI being negotiated */
	for (i = 0; i < ike->cap; i++)
		if (ike->sas[i].used && (ike->sas[i].req.new_spi == spi ||
					 ike->sas[i].auth_child_spi == spi))
			return 1;
	return 0;
}

/* Reference 004 3.9: two members must never pick the same SPI, so the
 * member id takes the top four bits (RFC 4303 2.1 leaves SPIs to us;
 * values below 256 are reserved). */
uint32_t ike_alloc_child_spi(struct ike *ike)
{
	uint32_t spi;

	do {
		spi = (ike->member_id & 0xf) << 28 | (randombytes_random() & 0x0fffffffu);
	} while (spi < 256 || child_spi_taken(ike, spi));
	return spi;
}

uint64_t ike_alloc_ike_spi(struct ike *ike)
{
	uint64_t spi;

	do {
		randombytes_buf(&spi, sizeof(spi));
		spi = (uint64_t)(ike->member_id & 0xf) << 60 | (spi & 0x0fffffffffffffffull);
	} while (spi == 0);
	return spi;
}

uint32_t ike_shm_ike_flags(struct ike *ike, const struct ike_sa *sa)
{
	if (sa->shm_idx < 0)
		return 0;
	return ike->table->ike[sa->shm_idx].flags;
}

/* Under the lock and the record's seqlock: syncd may be reading it. */
void ike_shm_ike_clear_flags(struct ike *ike, const struct ike_sa *sa, uint32_t f)
{
	struct ike_sa_rec *r;

	if (sa->shm_idx < 0)
		return;
	sa_table_lock(ike->table);
	r = &ike->table->ike[sa->shm_idx];
	sa_rec_write_begin(&r->seq);
	r->flags &= ~f;
	sa_rec_write_end(&r->seq);
	sa_table_unlock(ike->table);
}
