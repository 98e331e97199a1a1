#include "merge.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

int sync_merge_u64(_Atomic uint64_t *p, uint64_t v)
{
	uint64_t cur = atomic_load_explicit(p, memory_order_relaxed);

	while (v > cur)
		if (atomic_compare_exchange_weak_explicit(p, &cur, v, memory_order_relaxed,
							  memory_order_relaxed))
			return 0;
	return v < cur;
}

int sync_merge_u32(_Atomic uint32_t *p, uint32_t v)
{
	uint32_t cur = atomic_load_explicit(p, memory_order_relaxed);

	while (v > cur)
		if (atomic_compare_exchange_weak_explicit(p, &cur, v, memory_order_relaxed,
							  memory_order_relaxed))
			return 0;
	return v < cur;
}

int sync_merge_top(struct sa_replay *r, uint64_t v)
{
	uint64_t cur = __atomic_load_n(&r->top, __ATOMIC_RELAXED);

	while (v > cur)
		if (__atomic_compare_exchange_n(&r->top, &cur, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return 0;
	return v < cur;
}

int sync_merge_counters(struct child_sa_rec *r, uint64_t out_seq, uint64_t in_top)
{
	return sync_merge_u64(&r->out_seq, out_seq) + sync_merge_top(&r->replay, in_top);
}

int sync_child_same(const struct child_sa_rec *r, const struct sync_child *m)
{
	return r->spi_in == m->spi_in && r->spi_out == m->spi_out && r->alg == m->alg &&
	       sodium_memcmp(&r->key_in, &m->key_in, sizeof(m->key_in)) == 0 &&
	       sodium_memcmp(&r->key_out, &m->key_out, sizeof(m->key_out)) == 0;
}

int sync_child_valid(const struct sync_child *m)
{
	uint32_t lm = m->ts_local_plen ? ~0u << (32 - m->ts_local_plen) : 0;
	uint32_t rm = m->ts_remote_plen ? ~0u << (32 - m->ts_remote_plen) : 0;

	/* a selector with host bits set would never match (conf_parse_prefix) */
	if ((m->ts_local_addr & ~lm) || (m->ts_remote_addr & ~rm))
		return -EINVAL;
	if (m->spi_in == 0 || m->spi_out == 0)
		return -EINVAL;
	if (!(m->flags & SA_F_ESN) && (m->out_seq > UINT32_MAX || m->in_top > UINT32_MAX))
		return -EINVAL; /* RFC 4303 3.3.3: 32-bit counters never pass 2^32-1 */
	return 0;
}

int sync_merge_child(struct child_sa_rec *r, const struct sync_child *m, uint32_t ike_idx)
{
	memcpy(r->name, m->name, sizeof(r->name));
	r->ike_idx = ike_idx;
	r->spi_in = m->spi_in;
	r->spi_out = m->spi_out;
	r->alg = (uint8_t)m->alg;
	r->replay_window = m->replay_window;
	r->key_in = m->key_in;
	r->key_out = m->key_out;
	r->ts_local.addr = m->ts_local_addr;
	r->ts_local.plen = (uint8_t)m->ts_local_plen;
	r->ts_remote.addr = m->ts_remote_addr;
	r->ts_remote.plen = (uint8_t)m->ts_remote_plen;
	r->peer_addr = m->peer_addr;
	r->peer_port = (uint16_t)m->peer_port;
	r->created_ms = m->created_ms;
	r->life_soft_ms = m->life_soft_ms;
	r->life_hard_ms = m->life_hard_ms;
	r->life_soft_packets = m->life_soft_packets;
	r->life_hard_packets = m->life_hard_packets;
	/* the peer's flags, but ours about our own copy (SA_F_LOCAL) stay */
	atomic_store_explicit(&r->flags,
			      (m->flags & ~(uint32_t)SA_F_LOCAL) |
			      (atomic_load_explicit(&r->flags, memory_order_relaxed) & SA_F_LOCAL),
			      memory_order_relaxed);
	sync_merge_u32(&r->activation, m->activation);
	return sync_merge_counters(r, m->out_seq, m->in_top);
}

int sync_ike_same(const struct ike_sa_rec *r, const struct sync_ike *m)
{
	return r->spi_i == m->spi_i && r->spi_r == m->spi_r;
}

int sync_merge_ike(struct ike_sa_rec *r, const struct sync_ike *m)
{
	memcpy(r->name, m->name, sizeof(r->name));
	r->spi_i = m->spi_i;
	r->spi_r = m->spi_r;
	r->enc_alg = (uint8_t)m->enc_alg;
	r->prf_alg = (uint8_t)m->prf_alg;
	r->flags = m->flags;
	r->peer_addr = m->peer_addr;
	r->peer_port = (uint16_t)m->peer_port;
	r->local_addr = m->local_addr;
	memcpy(r->sk_d, m->sk_d, sizeof(r->sk_d));
	memcpy(r->sk_ei, m->sk_ei, sizeof(r->sk_ei));
	memcpy(r->sk_er, m->sk_er, sizeof(r->sk_er));
	memcpy(r->sk_pi, m->sk_pi, sizeof(r->sk_pi));
	memcpy(r->sk_pr, m->sk_pr, sizeof(r->sk_pr));
	r->sk_len = (uint8_t)m->sk_len;
	r->created_ms = m->created_ms;
	return sync_merge_msgids(r, m->msgid_out, m->msgid_in);
}

int sync_merge_msgids(struct ike_sa_rec *r, uint32_t msgid_out, uint32_t msgid_in)
{
	return sync_merge_u32(&r->msgid_out, msgid_out) + sync_merge_u32(&r->msgid_in, msgid_in);
}
