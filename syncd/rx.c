/*
 * The standby's side: applies the active's state to our table.
 *
 * Writers of whole records take the table lock and the record's seqlock
 * (sa_table.h); one message is applied under one lock hold, so a counters
 * message of thousands of SAs costs one lock. SAs are found by their
 * inbound SPI through our own index, rebuilt whenever table_gen moved
 * without us (gwd installed or removed something); counters entries also
 * name the active's slot, which the peer map turns into ours without a
 * hash lookup (checked: same SPI as when the map was set, same slot
 * generation, still live).
 *
 * Outcomes that do not close the link are counted by name: an SA we do
 * not hold (sync_drop_unknown_sa), a counter or message ID that would go
 * down (sync_drop_backwards: the record keeps its higher value), a full
 * table, an add whose content is impossible.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "merge.h"
#include "mwin.h"
#include "syncd.h"

#define CTR(r, name, n) sa_ctr_add((r)->t, CTR_##name, (n))

static int live(uint32_t state)
{
	return state == SA_STATE_INSTALLED || state == SA_STATE_REKEYED;
}

int sync_rx_init(struct sync_rx *r, struct sa_table *t, const struct conf_sync *cfg)
{
	memset(r, 0, sizeof(*r));
	r->t = t;
	r->cfg = cfg;
	r->serial = 1;
	r->mark_child = calloc(t->hdr->child_capacity, sizeof(uint32_t));
	r->mark_ike = calloc(t->hdr->ike_capacity, sizeof(uint32_t));
	r->hint = calloc(t->hdr->child_capacity, sizeof(*r->hint));
	if (!r->mark_child || !r->mark_ike || !r->hint || sync_index_init(&r->child, 1024) < 0 ||
	    sync_index_init(&r->ike, 256) < 0) {
		sync_rx_free(r);
		return -ENOMEM;
	}
	return 0;
}

void sync_rx_free(struct sync_rx *r)
{
	free(r->peer);
	free(r->hint);
	free(r->mark_child);
	free(r->mark_ike);
	sync_index_free(&r->child);
	sync_index_free(&r->ike);
	memset(r, 0, sizeof(*r));
}

static void rx_rebuild(struct sync_rx *r)
{
	struct sa_table *t = r->t;
	uint32_t i;

	sync_index_clear(&r->child);
	sync_index_clear(&r->ike);
	for (i = 0; i < t->hdr->child_capacity; i++)
		if (live(t->child[i].state))
			sync_index_put(&r->child, t->child[i].spi_in, i);
	for (i = 0; i < t->hdr->ike_capacity; i++)
		if (live(t->ike[i].state))
			sync_index_put(&r->ike, t->ike[i].spi_i, i);
	r->known_gen = atomic_load(&t->hdr->table_gen);
	r->index_valid = 1;
}

/* Lock held. */
static void rx_begin(struct sync_rx *r)
{
	sa_table_lock(r->t);
	if (!r->index_valid || atomic_load(&r->t->hdr->table_gen) != r->known_gen)
		rx_rebuild(r);
}

static void rx_end(struct sync_rx *r)
{
	r->known_gen = atomic_load(&r->t->hdr->table_gen);
	sa_table_unlock(r->t);
}

static long rx_find_child(struct sync_rx *r, uint32_t spi_in)
{
	long i = sync_index_get(&r->child, spi_in);

	if (i < 0 || !live(r->t->child[i].state) || r->t->child[i].spi_in != spi_in)
		return -1;
	return i;
}

static long rx_find_ike(struct sync_rx *r, uint64_t spi_i, uint64_t spi_r)
{
	long i;

	if (!spi_i)
		return -1;
	i = sync_index_get(&r->ike, spi_i);
	if (i < 0 || !live(r->t->ike[i].state) || r->t->ike[i].spi_i != spi_i ||
	    r->t->ike[i].spi_r != spi_r)
		return -1;
	return i;
}

static void rx_set_state(struct sa_table *t, _Atomic uint32_t *seq, uint32_t *state, uint32_t want)
{
	(void)t;
	if (*state == want)
		return;
	sa_rec_write_begin(seq);
	*state = want;
	sa_rec_write_end(seq);
}

/* Remembers where the active's slot went; without memory, the counters of
 * that slot are found by SPI (slower, same result). */
static void rx_peer_set(struct sync_rx *r, uint32_t slot, uint32_t idx, uint32_t gen, uint32_t spi)
{
	if (slot >= SYNC_PEER_SLOTS_MAX)
		return;
	if (slot >= r->n_peer) {
		uint32_t n = r->n_peer ? r->n_peer : 1024;
		struct rx_peer_slot *p;

		while (n <= slot)
			n *= 2;
		if (!(p = realloc(r->peer, (size_t)n * sizeof(*p))))
			return;
		memset(p + r->n_peer, 0, (size_t)(n - r->n_peer) * sizeof(*p));
		r->peer = p;
		r->n_peer = n;
	}
	r->peer[slot] = (struct rx_peer_slot){ idx + 1, gen, spi };
}

static int rx_child_add(struct sync_rx *r, const struct sync_child *m)
{
	struct sa_table *t = r->t;
	struct child_sa_rec *rec;
	uint32_t ike_idx = 0;
	long k, idx;
	int back = 0, fresh = 0;

	if (sync_child_valid(m) < 0) {
		CTR(r, sync_drop_bad_record, 1);
		return RX_BAD_RECORD;
	}
	if ((m->ike_spi_i || m->ike_spi_r) && (k = rx_find_ike(r, m->ike_spi_i, m->ike_spi_r)) >= 0)
		ike_idx = (uint32_t)k + 1;
	if ((idx = rx_find_child(r, m->spi_in)) >= 0) {
		rec = &t->child[idx];
		sa_rec_write_begin(&rec->seq);
		if (!sync_child_same(rec, m)) {
			/* same SPI, other keys: another SA; its counters start anew */
			atomic_store(&rec->out_seq, 0);
			memset(&rec->replay, 0, sizeof(rec->replay));
			atomic_store(&rec->activation, 0);
			rec->s0_ms = 0;
			rec->m_count = 0;
			rec->m_peak = rec->m_peak_in = 0;
		}
		back = sync_merge_child(rec, m, ike_idx);
		mwin_baseline(rec, atomic_load(&rec->out_seq), sa_replay_top(rec), now_ms());
		sa_rec_write_end(&rec->seq);
	} else {
		/* the active's slot if it is free here: both tables in one order
		 * keep the counters' walk through ours sequential */
		uint32_t hint = m->has_slot && m->slot < t->hdr->child_capacity ? m->slot
										  : r->next_child;

		if ((idx = sa_table_alloc_child_from(t, hint)) < 0) {
			CTR(r, sync_drop_table_full, 1);
			log_warnx_rl("sync: table full (child_capacity %u): SA 0x%08x not applied",
				     t->hdr->child_capacity, m->spi_in);
			return RX_FULL;
		}
		r->next_child = (uint32_t)idx + 1;
		rec = &t->child[idx];
		sa_rec_write_begin(&rec->seq);
		sync_merge_child(rec, m, ike_idx);
		mwin_baseline(rec, m->out_seq, m->in_top, now_ms());
		sa_rec_write_end(&rec->seq);
		sa_table_publish_child(t, (uint32_t)idx);
		sync_index_put(&r->child, m->spi_in, (uint32_t)idx);
		fresh = 1;
	}
	rx_set_state(t, &rec->seq, &rec->state, m->state);
	r->hint[idx].h.valid = 0;
	if (m->has_slot)
		rx_peer_set(r, m->slot, (uint32_t)idx, rec->gen, m->spi_in);
	if (r->in_bulk)
		r->mark_child[idx] = r->serial;
	else if (fresh && m->created_ms) {
		uint64_t w = wall_ms();

		r->add_lag_ms_last = w > m->created_ms ? w - m->created_ms : 0;
	}
	r->applied_add++;
	if (back) {
		CTR(r, sync_drop_backwards, (uint64_t)back);
		return RX_BACKWARDS;
	}
	return RX_OK;
}

static int rx_child_del(struct sync_rx *r, const struct sync_child_del *m)
{
	long idx = rx_find_child(r, m->spi_in);

	if (idx < 0 || r->t->child[idx].spi_out != m->spi_out) {
		CTR(r, sync_drop_unknown_sa, 1);
		return RX_UNKNOWN_SA;
	}
	sa_table_free_child(r->t, (uint32_t)idx);
	sync_index_del(&r->child, m->spi_in);
	r->applied_del++;
	return RX_OK;
}

static int rx_ike_add(struct sync_rx *r, const struct sync_ike *m)
{
	struct sa_table *t = r->t;
	struct ike_sa_rec *rec;
	long idx;
	int back;

	if (!m->spi_i) {
		CTR(r, sync_drop_bad_record, 1);
		return RX_BAD_RECORD;
	}
	if ((idx = rx_find_ike(r, m->spi_i, m->spi_r)) < 0) {
		if ((idx = sa_table_alloc_ike_from(t, r->next_ike)) < 0) {
			CTR(r, sync_drop_table_full, 1);
			return RX_FULL;
		}
		r->next_ike = (uint32_t)idx + 1;
		rec = &t->ike[idx];
		sa_rec_write_begin(&rec->seq);
		back = sync_merge_ike(rec, m);
		sa_rec_write_end(&rec->seq);
		sa_table_publish_ike(t, (uint32_t)idx);
		sync_index_put(&r->ike, m->spi_i, (uint32_t)idx);
	} else {
		rec = &t->ike[idx];
		sa_rec_write_begin(&rec->seq);
		back = sync_merge_ike(rec, m);
		sa_rec_write_end(&rec->seq);
	}
	rx_set_state(t, &rec->seq, &rec->state, m->state);
	if (r->in_bulk)
		r->mark_ike[idx] = r->serial;
	r->applied_ike++;
	if (back) {
		CTR(r, sync_drop_backwards, (uint64_t)back);
		return RX_BACKWARDS;
	}
	return RX_OK;
}

static int rx_ike_update(struct sync_rx *r, const struct sync_ike_ref *m)
{
	long idx = rx_find_ike(r, m->spi_i, m->spi_r);
	int back;

	if (idx < 0) {
		CTR(r, sync_drop_unknown_sa, 1);
		return RX_UNKNOWN_SA;
	}
	back = sync_merge_msgids(&r->t->ike[idx], m->msgid_out, m->msgid_in);
	r->applied_ike++;
	if (back) {
		CTR(r, sync_drop_backwards, (uint64_t)back);
		return RX_BACKWARDS;
	}
	return RX_OK;
}

static int rx_ike_del(struct sync_rx *r, const struct sync_ike_ref *m)
{
	long idx = rx_find_ike(r, m->spi_i, m->spi_r);

	if (idx < 0) {
		CTR(r, sync_drop_unknown_sa, 1);
		return RX_UNKNOWN_SA;
	}
	sa_table_free_ike(r->t, (uint32_t)idx);
	sync_index_del(&r->ike, m->spi_i);
	r->applied_ike++;
	return RX_OK;
}

/* The bucket stamp of the active's tick: our clock when its first message
 * arrived, strictly increasing from tick to tick (mwin.h). */
static uint64_t rx_tick_ms(struct sync_rx *r, uint64_t tick, uint64_t now)
{
	if (tick != r->tick || !r->tick_ms) {
		r->tick = tick;
		r->tick_ms = now > r->tick_ms ? now : r->tick_ms + 1;
	}
	return r->tick_ms;
}

/*
 * Counters come in messages of thousands of entries, each for a record
 * somewhere in a table of hundreds of MB that is not in any cache: an
 * update is a handful of cache misses (the record's line 0 and replay top,
 * its SPI, the M ring's head, then the ring's buckets). The loop is a
 * pipeline so that they are in flight together: the record's lines are
 * fetched RX_AHEAD entries before its update, the ring's buckets (found
 * from the head, loaded by then) RX_RING_AHEAD entries before.
 */
#define RX_HASH_AHEAD 24
#define RX_AHEAD      16
#define RX_RING_AHEAD 8
#define RX_PIPE       32 /* power of two above RX_HASH_AHEAD */

enum { RX_BY_SPI = -2, RX_NONE = -1 };

struct rx_pending {
	struct sync_ctr_slotted s;   /* the entry and the active's slot */
	long idx;                  /* candidate slot, RX_BY_SPI, or RX_NONE */
	uint32_t gen;              /* from the peer map: the slot's generation */
	int mapped;
};

/* Stage 1: the next entry, and where its SA should be. */
static void rx_ctr_locate(struct sync_rx *r, struct sync_ctr_iter *it, struct rx_pending *p)
{
	p->mapped = 0;
	if (sync_ctr_next(it, &p->s) < 0) { /* not after sync_decode */
		memset(&p->s, 0, sizeof(p->s));
		p->idx = RX_NONE;
		return;
	}
	if (p->s.has_slot) {
		uint32_t x = p->s.slot;

		if (x < r->n_peer && r->peer[x].idx1 && r->peer[x].spi == p->s.e.spi_in) {
			p->idx = (long)r->peer[x].idx1 - 1;
			p->gen = r->peer[x].gen;
			p->mapped = 1;
			return;
		}
	}
	p->idx = RX_BY_SPI;
	sync_index_prefetch(&r->child, p->s.e.spi_in);
}

/* Stage 2: the record's lines start loading (line 0, replay top, the M
 * ring's head; the SPI's line only for a hash candidate, checked by SPI). */
static void rx_ctr_fetch(struct sync_rx *r, struct rx_pending *p)
{
	const struct child_sa_rec *rec;

	if (p->idx == RX_BY_SPI)
		p->idx = sync_index_get(&r->child, p->s.e.spi_in);
	if (p->idx < 0)
		return;
	rec = &r->t->child[p->idx];
	__builtin_prefetch(rec, 1);
	__builtin_prefetch(&rec->replay.top, 1);
	__builtin_prefetch(&rec->m_head, 1);
	__builtin_prefetch(&r->hint[p->idx], 1);
	if (!p->mapped)
		__builtin_prefetch(&rec->spi_in);
}

/* The hint for an update of rec at idx, void unless the record is as our
 * last update left it. */
static struct mwin_hint *rx_hint_get(struct sync_rx *r, uint32_t idx, const struct child_sa_rec *rec)
{
	struct rx_hint *h = &r->hint[idx];

	if (h->gen != rec->gen || h->m_peak != rec->m_peak || h->m_peak_in != rec->m_peak_in ||
	    h->m_head != rec->m_head || h->m_count != rec->m_count)
		h->h.valid = 0;
	return &h->h;
}

static void rx_hint_put(struct sync_rx *r, uint32_t idx, const struct child_sa_rec *rec)
{
	struct rx_hint *h = &r->hint[idx];

	h->gen = rec->gen;
	h->m_peak = rec->m_peak;
	h->m_peak_in = rec->m_peak_in;
	h->m_head = (uint8_t)rec->m_head;
	h->m_count = (uint8_t)rec->m_count;
	if (rec->m_head != h->m_head || rec->m_count != h->m_count)
		h->h.valid = 0; /* out of our range: never matches, rescan */
}

/* The candidate is the SA: live and with the entry's SPI. A mapped slot
 * needs no look at the SPI: the map holds the SPI our CHILD_ADD wrote
 * into that slot at that generation, and a record's SPI is only ever
 * written into a freshly allocated slot (a new generation) or by that
 * CHILD_ADD path, which updates the map. */
static int rx_ctr_check(const struct sync_rx *r, const struct rx_pending *p)
{
	const struct child_sa_rec *rec = &r->t->child[p->idx];

	if (!live(rec->state))
		return 0;
	return p->mapped ? rec->gen == p->gen : rec->spi_in == p->s.e.spi_in;
}

static void rx_ctr_apply(struct sync_rx *r, const struct sync_counters *c,
			 struct rx_pending *p, uint64_t stamp, uint64_t now)
{
	struct child_sa_rec *rec;

	if (p->idx < 0 || !rx_ctr_check(r, p))
		p->idx = rx_find_child(r, p->s.e.spi_in);
	if (p->idx < 0) {
		r->ctr_unknown++;
		return;
	}
	rec = &r->t->child[p->idx];
	if (!(atomic_load_explicit(&rec->flags, memory_order_relaxed) & SA_F_ESN) &&
	    (p->s.e.out_seq > UINT32_MAX || p->s.e.in_top > UINT32_MAX)) {
		CTR(r, sync_drop_bad_record, 1);
		return;
	}
	sa_rec_write_begin(&rec->seq);
	r->ctr_back += (uint64_t)sync_merge_counters(rec, p->s.e.out_seq, p->s.e.in_top);
	mwin_update_hint(rec, p->s.e.out_seq, p->s.e.in_top, stamp, now, c->span_ms,
			 r->cfg->interval_ms, r->cfg->m_window, rx_hint_get(r, (uint32_t)p->idx, rec));
	rx_hint_put(r, (uint32_t)p->idx, rec);
	sa_rec_write_end(&rec->seq);
}

static int rx_counters(struct sync_rx *r, const struct sync_counters *c)
{
	const uint32_t n = c->n, f = RX_HASH_AHEAD - RX_AHEAD, g = RX_HASH_AHEAD - RX_RING_AHEAD;
	uint64_t now = now_ms(), w = wall_ms(), stamp = rx_tick_ms(r, c->tick, now);
	struct rx_pending pipe[RX_PIPE];
	struct sync_ctr_iter it;
	uint32_t j;

	r->ctr_back = r->ctr_unknown = 0;
	sync_ctr_iter_init(&it, c);
	for (j = 0; j < n + RX_HASH_AHEAD; j++) {
		if (j < n)
			rx_ctr_locate(r, &it, &pipe[j % RX_PIPE]);
		if (j >= f && j - f < n)
			rx_ctr_fetch(r, &pipe[(j - f) % RX_PIPE]);
		if (j >= g && j - g < n && pipe[(j - g) % RX_PIPE].idx >= 0)
			mwin_prefetch(&r->t->child[pipe[(j - g) % RX_PIPE].idx]);
		if (j >= RX_HASH_AHEAD)
			rx_ctr_apply(r, c, &pipe[(j - RX_HASH_AHEAD) % RX_PIPE], stamp, now);
	}
	r->applied_ctr += n - r->ctr_unknown;
	r->ctr_lag_ms_last = w > c->wall_ms ? w - c->wall_ms : 0;
	if (r->ctr_lag_ms_last > r->ctr_lag_ms_max)
		r->ctr_lag_ms_max = r->ctr_lag_ms_last;
	if (r->ctr_unknown)
		CTR(r, sync_drop_unknown_sa, r->ctr_unknown);
	if (r->ctr_back)
		CTR(r, sync_drop_backwards, r->ctr_back);
	return r->ctr_unknown ? RX_UNKNOWN_SA : r->ctr_back ? RX_BACKWARDS : RX_OK;
}

void sync_rx_bulk_begin(struct sync_rx *r, uint64_t id)
{
	r->serial++;
	if (r->serial == 0)
		r->serial = 1;
	r->in_bulk = 1;
	r->bulk_id = id;
}

uint32_t sync_rx_bulk_end(struct sync_rx *r, uint64_t id)
{
	struct sa_table *t = r->t;
	uint32_t i, n = 0;

	if (!r->in_bulk || id != r->bulk_id)
		return 0;
	rx_begin(r);
	for (i = 0; i < t->hdr->child_capacity; i++) {
		if (!live(t->child[i].state) || r->mark_child[i] == r->serial)
			continue;
		sync_index_del(&r->child, t->child[i].spi_in);
		sa_table_free_child(t, i);
		n++;
	}
	for (i = 0; i < t->hdr->ike_capacity; i++) {
		if (!live(t->ike[i].state) || r->mark_ike[i] == r->serial)
			continue;
		sync_index_del(&r->ike, t->ike[i].spi_i);
		sa_table_free_ike(t, i);
		n++;
	}
	rx_end(r);
	r->in_bulk = 0;
	return n;
}

int sync_rx_apply(struct sync_rx *r, const struct sync_msg *m)
{
	int rc;

	rx_begin(r);
	switch (m->type) {
	case SYNC_CHILD_ADD: rc = rx_child_add(r, &m->u.child); break;
	case SYNC_CHILD_DEL: rc = rx_child_del(r, &m->u.child_del); break;
	case SYNC_IKE_ADD: rc = rx_ike_add(r, &m->u.ike); break;
	case SYNC_IKE_UPDATE: rc = rx_ike_update(r, &m->u.ike_ref); break;
	case SYNC_IKE_DEL: rc = rx_ike_del(r, &m->u.ike_ref); break;
	case SYNC_COUNTERS: rc = rx_counters(r, &m->u.ctr); break;
	default: rc = RX_OK; break;
	}
	rx_end(r);
	return rc;
}
