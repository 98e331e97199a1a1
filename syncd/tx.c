/*
 * The active's side: makes the peer's copy equal to our table.
 *
 * The shadow (one entry per slot) says what the peer has been told: the
 * slot's generation and sequence count when we sent it, and the counters
 * we last sent. Every pump compares the table with the shadow and sends the
 * difference, so nothing is lost when the queue is full (the difference
 * stays until there is room) or the link drops (a new session starts from
 * an empty shadow: a bulk snapshot).
 *
 * Change detection reads the table without locking and without writing to
 * it, so gwd is never held up:
 * - adds and deletes move hdr->table_gen; then one pass sends the deletes
 *   (slot freed or reused) and one pass the adds (deletes first, so an SPI
 *   that moved between slots is never deleted after its add);
 * - a record rewritten in place moves its seq (or its atomic flags): sent
 *   again as a CHILD_ADD / IKE_ADD;
 * - message IDs (atomics) differ from the shadow: IKE_UPDATE;
 * - counters (atomics) differ from the shadow: at the end of each interval
 *   (flush) every SA that moved, in between only those that moved more
 *   than packet_threshold.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "syncd.h"

#define TX_PREFETCH 16 /* records ahead of a pass over every SA's counters */

static int live(uint32_t state)
{
	return state == SA_STATE_INSTALLED || state == SA_STATE_REKEYED;
}

int sync_tx_init(struct sync_tx *x, struct sa_table *t, const struct conf_sync *cfg,
		 sync_send_fn send, sync_room_fn room, void *arg)
{
	memset(x, 0, sizeof(*x));
	x->t = t;
	x->cfg = cfg;
	x->send = send;
	x->room = room;
	x->arg = arg;
	x->child = calloc(t->hdr->child_capacity, sizeof(*x->child));
	x->ike = calloc(t->hdr->ike_capacity, sizeof(*x->ike));
	x->ctr_raw = malloc((size_t)SYNC_CTR_PER_MSG * SYNC_CTR_ENTRY);
	x->ctr_slots = malloc((size_t)SYNC_CTR_PER_MSG * SYNC_CTR_SLOT);
	x->ctr_cmp = malloc(SYNC_CTR_CMP_ROOM);
	x->mark_seen = calloc(t->hdr->child_capacity, sizeof(*x->mark_seen));
	x->watch = calloc(t->hdr->child_capacity, sizeof(*x->watch));
	if (!x->child || !x->ike || !x->ctr_raw || !x->ctr_slots || !x->ctr_cmp || !x->mark_seen ||
	    !x->watch) {
		sync_tx_free(x);
		return -ENOMEM;
	}
	return 0;
}

void sync_tx_free(struct sync_tx *x)
{
	free(x->child);
	free(x->ike);
	free(x->ctr_raw);
	free(x->ctr_slots);
	free(x->ctr_cmp);
	free(x->mark_seen);
	free(x->watch);
	memset(x, 0, sizeof(*x));
}

/* Room in the peer's queue; when there is none, the write path pumps
 * again once it drained (sync_tx_stalled). */
static int tx_room(struct sync_tx *x)
{
	if (x->room(x->arg))
		return 1;
	x->stalled = 1;
	return 0;
}

static int tx_send(struct sync_tx *x, struct sync_msg *m)
{
	m->version = SYNC_PROTO_VERSION;
	return x->send(x->arg, m);
}

int sync_tx_start(struct sync_tx *x, uint64_t bulk_id)
{
	struct sa_table_hdr *h = x->t->hdr;
	struct sync_msg m = { .type = SYNC_BULK_BEGIN };

	memset(x->child, 0, (size_t)h->child_capacity * sizeof(*x->child));
	memset(x->ike, 0, (size_t)h->ike_capacity * sizeof(*x->ike));
	x->running = 1;
	x->bulk = 1;
	x->cur_ike = x->cur_child = 0;
	x->bulk_nc = x->bulk_ni = 0;
	x->bulk_id = bulk_id;
	x->bulk_start_ns = now_ns();
	x->hwm_child = x->hwm_ike = 0;
	x->ctr_n = 0;
	x->n_watch = 0;
	x->cmp_len = 0;
	x->cmp_base = 0;
	x->compact = !!(x->peer_caps & SYNC_CAP_CTR_COMPACT);
	x->gen_seen = atomic_load(&h->table_gen);
	x->gen_valid = 1;
	x->tick_start_ms = now_ms();
	m.u.bulk.id = bulk_id;
	m.u.bulk.n_child = atomic_load(&h->child_count);
	m.u.bulk.n_ike = atomic_load(&h->ike_count);
	return tx_send(x, &m);
}

void sync_tx_stop(struct sync_tx *x)
{
	x->running = 0;
	x->bulk = 0;
}

int sync_tx_stalled(const struct sync_tx *x)
{
	return x->running && x->stalled;
}

int sync_tx_bulk_done(const struct sync_tx *x)
{
	return x->running && !x->bulk;
}

/* --- adds and deletes --- */

static int tx_ike_add(struct sync_tx *x, uint32_t i)
{
	struct ike_sa_rec rec;
	struct sync_msg m = { .type = SYNC_IKE_ADD };
	struct tx_ike *s = &x->ike[i];
	int rc;

	if (sa_table_read_ike(x->t, i, &rec) < 0 || !live(rec.state))
		return 0; /* being written, or gone: the next pass sees it */
	sync_ike_from_rec(&m.u.ike, &rec);
	rc = tx_send(x, &m);
	s->present = 1;
	s->gen = rec.gen;
	s->seq = rec.seq;
	s->spi_i = rec.spi_i;
	s->spi_r = rec.spi_r;
	s->mo = m.u.ike.msgid_out;
	s->mi = m.u.ike.msgid_in;
	if (i + 1 > x->hwm_ike)
		x->hwm_ike = i + 1;
	sodium_memzero(&rec, sizeof(rec));
	sodium_memzero(&m, sizeof(m));
	return rc;
}

static int tx_child_add(struct sync_tx *x, uint32_t i)
{
	static struct child_sa_rec rec; /* 1.3 KB: not on the stack per call */
	struct sync_msg m = { .type = SYNC_CHILD_ADD };
	struct tx_child *s = &x->child[i];
	uint64_t ii = 0, ir = 0;
	int rc;

	/* the mark first: a crossing after it shows (tx_ctr_marked) */
	x->mark_seen[i] = atomic_load_explicit(&x->t->moved->mark[i], memory_order_acquire);
	if (sa_table_read_child(x->t, i, &rec) < 0 || !live(rec.state))
		return 0;
	if (rec.ike_idx && rec.ike_idx <= x->t->hdr->ike_capacity) {
		ii = x->t->ike[rec.ike_idx - 1].spi_i;
		ir = x->t->ike[rec.ike_idx - 1].spi_r;
	}
	sync_child_from_rec(&m.u.child, &rec, atomic_load(&rec.out_seq), rec.replay.top, ii, ir);
	m.u.child.slot = i;
	m.u.child.has_slot = 1;
	rc = tx_send(x, &m);
	s->present = 1;
	s->gen = rec.gen;
	s->seq = rec.seq;
	s->flags = m.u.child.flags;
	s->spi_in = rec.spi_in;
	s->spi_out = rec.spi_out;
	s->sent_out = m.u.child.out_seq;
	s->sent_in = m.u.child.in_top;
	if (i + 1 > x->hwm_child)
		x->hwm_child = i + 1;
	sodium_memzero(&rec, sizeof(rec));
	sodium_memzero(&m, sizeof(m));
	return rc;
}

static int tx_child_del(struct sync_tx *x, uint32_t i)
{
	struct sync_msg m = { .type = SYNC_CHILD_DEL };

	m.u.child_del.spi_in = x->child[i].spi_in;
	m.u.child_del.spi_out = x->child[i].spi_out;
	x->child[i].present = 0;
	return tx_send(x, &m);
}

static int tx_ike_del(struct sync_tx *x, uint32_t i)
{
	struct sync_msg m = { .type = SYNC_IKE_DEL };

	m.u.ike_ref.spi_i = x->ike[i].spi_i;
	m.u.ike_ref.spi_r = x->ike[i].spi_r;
	x->ike[i].present = 0;
	return tx_send(x, &m);
}

/* One step of the snapshot per call while there is room. */
static int tx_bulk(struct sync_tx *x)
{
	struct sa_table *t = x->t;
	struct sync_msg m = { .type = SYNC_BULK_END };
	int rc;

	while (x->bulk) {
		if (!tx_room(x))
			return 0;
		if (x->cur_ike < t->hdr->ike_capacity) {
			uint32_t i = x->cur_ike++;

			if (live(t->ike[i].state)) {
				x->bulk_ni++;
				if ((rc = tx_ike_add(x, i)) < 0)
					return rc;
			}
			continue;
		}
		if (x->cur_child < t->hdr->child_capacity) {
			uint32_t i = x->cur_child++;

			if (live(t->child[i].state)) {
				x->bulk_nc++;
				if ((rc = tx_child_add(x, i)) < 0)
					return rc;
			}
			continue;
		}
		x->bulk = 0;
		x->bulks++;
		x->bulk_done_ms = now_ms();
		m.u.bulk.id = x->bulk_id;
		m.u.bulk.n_child = x->bulk_nc;
		m.u.bulk.n_ike = x->bulk_ni;
		log_info("sync: bulk snapshot %llu sent: %u Child SAs, %u IKE SAs in %.1f ms",
			 (unsigned long long)x->bulk_id, x->bulk_nc, x->bulk_ni,
			 (double)(now_ns() - x->bulk_start_ns) / 1e6);
		return tx_send(x, &m);
	}
	return 0;
}

/* Deletes first, then adds; gives up (to start over later) when the queue
 * is full, so gen_seen moves only after a complete pass. */
static int tx_reconcile(struct sync_tx *x)
{
	struct sa_table *t = x->t;
	uint64_t gen = atomic_load(&t->hdr->table_gen);
	uint32_t i;
	int rc;

	if (x->gen_valid && gen == x->gen_seen)
		return 0;
	for (i = 0; i < x->hwm_child; i++) {
		struct child_sa_rec *r = &t->child[i];
		struct tx_child *s = &x->child[i];

		if (!s->present || (live(r->state) && r->gen == s->gen && r->spi_in == s->spi_in))
			continue;
		if (!tx_room(x))
			return 0;
		if ((rc = tx_child_del(x, i)) < 0)
			return rc;
	}
	for (i = 0; i < x->hwm_ike; i++) {
		struct ike_sa_rec *r = &t->ike[i];
		struct tx_ike *s = &x->ike[i];

		if (!s->present || (live(r->state) && r->gen == s->gen && r->spi_i == s->spi_i))
			continue;
		if (!tx_room(x))
			return 0;
		if ((rc = tx_ike_del(x, i)) < 0)
			return rc;
	}
	for (i = 0; i < t->hdr->ike_capacity; i++) {
		if (!live(t->ike[i].state) || (x->ike[i].present && x->ike[i].seq == t->ike[i].seq))
			continue;
		if (!tx_room(x))
			return 0;
		if ((rc = tx_ike_add(x, i)) < 0)
			return rc;
	}
	for (i = 0; i < t->hdr->child_capacity; i++) {
		if (!live(t->child[i].state) ||
		    (x->child[i].present && x->child[i].seq == t->child[i].seq))
			continue;
		if (!tx_room(x))
			return 0;
		if ((rc = tx_child_add(x, i)) < 0)
			return rc;
	}
	x->gen_seen = gen;
	x->gen_valid = 1;
	return 0;
}

/* Message IDs move on every exchange: sent as soon as a pump sees them. */
static int tx_ike_scan(struct sync_tx *x)
{
	struct sa_table *t = x->t;
	uint32_t i;
	int rc;

	for (i = 0; i < x->hwm_ike; i++) {
		struct ike_sa_rec *r = &t->ike[i];
		struct tx_ike *s = &x->ike[i];
		struct sync_msg m = { .type = SYNC_IKE_UPDATE };

		if (!s->present || !live(r->state) || r->gen != s->gen)
			continue;
		if (atomic_load_explicit(&r->seq, memory_order_acquire) != s->seq) {
			if (!tx_room(x))
				return 0;
			if ((rc = tx_ike_add(x, i)) < 0)
				return rc;
			continue;
		}
		m.u.ike_ref.msgid_out = atomic_load_explicit(&r->msgid_out, memory_order_relaxed);
		m.u.ike_ref.msgid_in = atomic_load_explicit(&r->msgid_in, memory_order_relaxed);
		if (m.u.ike_ref.msgid_out == s->mo && m.u.ike_ref.msgid_in == s->mi)
			continue;
		if (!tx_room(x))
			return 0;
		m.u.ike_ref.spi_i = s->spi_i;
		m.u.ike_ref.spi_r = s->spi_r;
		s->mo = m.u.ike_ref.msgid_out;
		s->mi = m.u.ike_ref.msgid_in;
		if ((rc = tx_send(x, &m)) < 0)
			return rc;
	}
	return 0;
}

static int tx_ctr_flush(struct sync_tx *x)
{
	struct sync_msg m = { .type = SYNC_COUNTERS };
	int rc;

	if (!x->ctr_n)
		return 0;
	m.u.ctr.tick = x->tick;
	m.u.ctr.span_ms = now_ms() - x->tick_start_ms;
	m.u.ctr.wall_ms = wall_ms();
	m.u.ctr.n = x->ctr_n;
	if (x->compact) {
		m.u.ctr.cmp = x->ctr_cmp;
		m.u.ctr.cmp_len = (uint32_t)x->cmp_len;
	} else {
		m.u.ctr.raw = x->ctr_raw;
		m.u.ctr.slots = x->ctr_slots;
	}
	rc = tx_send(x, &m);
	x->ctr_n = 0;
	x->cmp_len = 0;
	x->cmp_base = 0;
	return rc;
}

/* Adds slot's entry to the message being built, sending it when full. */
static int tx_ctr_add(struct sync_tx *x, uint32_t slot, const struct sync_ctr_entry *e)
{
	if (x->compact) {
		x->cmp_len += sync_ctr_put_compact(x->ctr_cmp + x->cmp_len, x->cmp_base, slot, e);
		x->cmp_base = (uint64_t)slot + 1;
		x->ctr_n++;
		return x->cmp_len + SYNC_CTR_CMP_MAX > SYNC_CTR_CMP_ROOM ? tx_ctr_flush(x) : 0;
	}
	sync_ctr_put_slot(x->ctr_slots, x->ctr_n, slot);
	sync_ctr_put(x->ctr_raw, x->ctr_n++, e);
	return x->ctr_n == SYNC_CTR_PER_MSG ? tx_ctr_flush(x) : 0;
}

static uint64_t delta(uint64_t now, uint64_t sent)
{
	return now > sent ? now - sent : 0;
}

/* Sends slot i's counters if they moved (flush) or moved the threshold;
 * 1 if it did. */
static int tx_ctr_check(struct sync_tx *x, uint32_t i, int flush, int *rc)
{
	struct child_sa_rec *r = &x->t->child[i];
	struct tx_child *s = &x->child[i];
	struct sync_ctr_entry e;
	uint64_t d;

	e.out_seq = atomic_load_explicit(&r->out_seq, memory_order_relaxed);
	e.in_top = sa_replay_top(r);
	d = delta(e.out_seq, s->sent_out);
	if (delta(e.in_top, s->sent_in) > d)
		d = delta(e.in_top, s->sent_in);
	if (!d || (!flush && d < x->cfg->packet_threshold))
		return 0;
	e.spi_in = s->spi_in;
	s->sent_out = e.out_seq;
	s->sent_in = e.in_top;
	*rc = tx_ctr_add(x, i, &e);
	return 1;
}

/* 1 if the data plane marks moving counters finely enough for this
 * threshold: every 2^k packets with 2^k <= packet_threshold (sa_table.h). */
static int tx_marks_usable(const struct sync_tx *x)
{
	uint32_t sh = atomic_load_explicit(&x->t->moved->shift, memory_order_relaxed);

	return sh && sh <= 32 && (1ull << (sh - 1)) <= x->cfg->packet_threshold;
}

/* Every SA: the interval's flush (and the threshold scans when the data
 * plane does not mark). Each slot's mark is taken before its counters, so
 * any later crossing shows as a changed mark. */
static int tx_ctr_all(struct sync_tx *x, int flush)
{
	struct sa_table *t = x->t;
	uint32_t i;
	int rc = 0;

	for (i = 0; i < x->hwm_child; i++) {
		struct child_sa_rec *r = &t->child[i];
		struct tx_child *s = &x->child[i];

		/* the two lines a check reads (out_seq in line 0, the replay
		 * top in line 1), far enough ahead to have many in flight */
		if (i + TX_PREFETCH < x->hwm_child) {
			__builtin_prefetch(&t->child[i + TX_PREFETCH].out_seq);
			__builtin_prefetch(&t->child[i + TX_PREFETCH].replay.top);
		}
		if (!s->present)
			continue;
		x->mark_seen[i] = atomic_load_explicit(&t->moved->mark[i], memory_order_acquire);
		/* rewritten records: looked for once per interval, which saves a
		 * cache line per SA on the scans in between */
		if (flush && (atomic_load_explicit(&r->seq, memory_order_acquire) != s->seq ||
			      (atomic_load_explicit(&r->flags, memory_order_relaxed) &
			       ~(uint32_t)SA_F_LOCAL) != s->flags)) {
			if (!tx_room(x))
				break;
			if (r->gen == s->gen && live(r->state) && (rc = tx_child_add(x, i)) < 0)
				return rc;
			continue;
		}
		tx_ctr_check(x, i, flush, &rc);
		if (rc < 0)
			return rc;
	}
	if (flush) { /* all sent: nothing watched has moved since */
		for (i = 0; i < x->n_watch; i++)
			x->child[x->watch[i]].watched = 0;
		x->n_watch = 0;
	}
	return 0;
}

/*
 * A threshold scan with the data plane's marks: a dense pass over the
 * marks finds the SAs that crossed a multiple of 2^k since we last looked;
 * those are watched (their counters read at every scan) until they are
 * sent. An SA that moved packet_threshold >= 2^k since it was last sent has
 * crossed a multiple after that send read its mark, so it is watched by
 * now: sent at this scan, as a scan of every SA would have.
 */
static int tx_ctr_marked(struct sync_tx *x)
{
	const _Atomic uint16_t *mark = x->t->moved->mark;
	uint32_t i, k, n;
	int rc = 0;

	for (i = 0; i < x->hwm_child; i++) {
		uint16_t m = atomic_load_explicit(&mark[i], memory_order_acquire);

		if (m == x->mark_seen[i])
			continue;
		x->mark_seen[i] = m;
		if (x->child[i].present && !x->child[i].watched) {
			x->child[i].watched = 1;
			x->watch[x->n_watch++] = i;
		}
	}
	for (k = 0, n = 0; k < x->n_watch; k++) {
		i = x->watch[k];
		if (x->child[i].present && !tx_ctr_check(x, i, 0, &rc)) {
			x->watch[n++] = i; /* not there yet: still watched */
			continue;
		}
		x->child[i].watched = 0;
		if (rc < 0)
			return rc;
	}
	x->n_watch = n;
	return 0;
}

/* Counters are state: when the queue is full they wait for the next pump,
 * which sends the newer values instead. */
static int tx_counters(struct sync_tx *x, int flush)
{
	int rc;

	if (!tx_room(x))
		return 0;
	if (flush || !tx_marks_usable(x))
		rc = tx_ctr_all(x, flush);
	else
		rc = tx_ctr_marked(x);
	if (rc < 0 || (rc = tx_ctr_flush(x)) < 0)
		return rc;
	if (flush) {
		x->tick++;
		x->tick_start_ms = now_ms();
	}
	return 0;
}

int sync_tx_pump(struct sync_tx *x, int flush)
{
	int rc;

	if (!x->running)
		return 0;
	x->stalled = 0;
	if (x->bulk) {
		if ((rc = tx_bulk(x)) < 0)
			return rc;
	} else if ((rc = tx_reconcile(x)) < 0) {
		return rc;
	}
	if ((rc = tx_ike_scan(x)) < 0)
		return rc;
	return tx_counters(x, flush);
}
