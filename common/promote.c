#include "promote.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "esp.h"
#include "log.h"
#include "replay.h"
#include "sa_table.h"
#include "sync_status.h"

/* Records ahead to prefetch: a record is 22 cache lines, so the hardware
 * prefetcher does not follow the stride; this many misses are in flight
 * while one record is decided (bench/promote.sh measured 8..32 alike). */
#ifndef PROMOTE_PREFETCH
#define PROMOTE_PREFETCH 16
#endif

static inline void promote_sa_load(struct promote_sa *sa, struct child_sa_rec *rec)
{
	sa->flags = atomic_load_explicit(&rec->flags, memory_order_relaxed);
	sa->activation = atomic_load_explicit(&rec->activation, memory_order_relaxed);
	sa->out_seq = atomic_load_explicit(&rec->out_seq, memory_order_relaxed);
	sa->s0 = rec->s0;
	sa->s0_ms = rec->s0_ms;
	sa->in_s0 = rec->in_s0;
	sa->m_peak = rec->m_peak;
	sa->m_peak_in = rec->m_peak_in;
}

/* --- parameters --- */

static void params_limits(struct promote_params *p)
{
	int esn;

	for (esn = 0; esn < 2; esn++) {
		p->ceiling[esn] = esp_seq_ceiling(esn);
		p->threshold[esn] = seed_threshold(p->ceiling[esn], p->seed.threshold_pct);
	}
	if (!p->seed.interval_ms)
		p->seed.interval_ms = 100;
	/* ceil(2^64 / interval) (exactly 2^64 / interval for a power of two):
	 * age * recip >> 64 is floor(age / interval) for any age and interval
	 * below 2^32, since the error (below age / 2^64 < 2^-32) never reaches
	 * the distance 1 / interval to the next integer. */
	p->k_recip = p->seed.interval_ms > 1 ? UINT64_MAX / p->seed.interval_ms + 1 : 0;
}

void promote_params_init(struct promote_params *p, const struct config *c, uint64_t now_ms)
{
	memset(p, 0, sizeof(*p));
	p->strategy = c->failover.strategy;
	p->inbound = c->failover.inbound;
	p->seed.x_milli = c->failover.x_milli;
	p->seed.m_min = c->failover.m_min;
	p->seed.interval_ms = c->sync.interval_ms;
	p->seed.threshold_pct = c->gw.rekey_threshold;
	p->now_ms = now_ms;
	params_limits(p);
}

void promote_params_from_status(struct promote_params *p, const struct failover_status *s)
{
	memset(p, 0, sizeof(*p));
	p->inbound = CONF_INBOUND_LEARN;
	p->seed.threshold_pct = 95;
	if (s->version == FAILOVER_STATUS_VERSION) {
		p->strategy = s->strategy;
		p->inbound = s->inbound;
		p->seed.x_milli = s->x_milli;
		p->seed.m_min = s->m_min;
		p->seed.interval_ms = s->interval_ms;
		p->seed.threshold_pct = s->threshold_pct;
		p->now_ms = s->mono_ms;
	}
	params_limits(p);
}

/* --- the decision for one SA (pure) --- */

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

static uint64_t age_of(const struct promote_params *p, uint64_t then_ms)
{
	return p->now_ms > then_ms ? p->now_ms - then_ms : 0;
}

/* seed_k() without a division in the pass: k = max(1, ceil(age / interval)). */
static uint64_t promote_k(const struct promote_params *p, uint64_t age)
{
	uint64_t d = p->seed.interval_ms, q;

	if (age <= d)
		return 1;
	if ((age >> 32) || !p->k_recip)
		return seed_k(age, p->seed.interval_ms);
	q = (uint64_t)(((unsigned __int128)age * p->k_recip) >> 64);
	return q + (q * d != age);
}

/* k for an SA: 1 without an S_0 (the jump starts from its own counter). */
static uint64_t sa_k(const struct promote_params *p, const struct promote_sa *sa)
{
	return sa->s0_ms ? promote_k(p, age_of(p, sa->s0_ms)) : 1;
}

/* Step 2: where the counter goes. */
static uint64_t decide_seed(const struct promote_params *p, const struct promote_sa *sa,
			    uint64_t k)
{
	uint64_t target;

	if (p->strategy != CONF_FAILOVER_SEED) /* none, global-rekey: never below S_0 */
		return sa->out_seq > sa->s0 ? sa->out_seq : sa->s0;
	/* no S_0: at least X * M_min on top of our own counter */
	target = sat_add(sa->s0_ms ? sa->s0 : sa->out_seq, seed_advance_k(&p->seed, sa->m_peak, k));
	/* back-to-back promotions: a counter only moves forward */
	return target > sa->out_seq ? target : sa->out_seq;
}

/* The decision; inlined into the pass, exported as promote_decide. */
static inline __attribute__((always_inline)) void
decide(const struct promote_params *p, const struct promote_sa *sa, struct promote_decision *d)
{
	int esn = !!(sa->flags & SA_F_ESN), manual = !!(sa->flags & SA_F_MANUAL);
	uint64_t ceiling = p->ceiling[esn], target;
	uint32_t f = sa->flags, v = 0, need_rekey, blocked;

	/* k tells how stale S_0 is under every strategy (the report) */
	d->k = sa_k(p, sa);
	target = decide_seed(p, sa, d->k);
	if (!sa->s0_ms)
		v |= PROMOTE_V_NEVER_SYNCED;
	if (d->k > 1)
		v |= PROMOTE_V_STALE;

	/* Step 3. The counter is the last number used (RFC 4303 3.3.3: it
	 * never wraps), so at the ceiling no number is left: blocked. */
	if (target > ceiling)
		target = sa->out_seq > ceiling ? sa->out_seq : ceiling;
	blocked = target >= ceiling;
	need_rekey = blocked || target >= p->threshold[esn];
	if (target >= p->threshold[esn])
		f |= SA_F_THRESHOLD; /* counted here: gwd does not count it again */

	/* Step 6 (esp.h): IV = member | activation (12 bits) | sequence. Past
	 * the last activation the SA cannot send; at it, this is the key's
	 * last life: rekey it now, before the next promotion would block it. */
	d->activation = sa->activation == UINT32_MAX ? UINT32_MAX : sa->activation + 1;
	if (d->activation >= ESP_IV_MAX_ACT) {
		v |= PROMOTE_V_ACT_LAST;
		need_rekey = 1;
		if (d->activation > ESP_IV_MAX_ACT)
			blocked = 1;
	}
	if (blocked)
		f |= SA_F_BLOCKED;
	if (need_rekey)
		f |= SA_F_REKEY_NEEDED;
	/* global-rekey: every Child SA that can be rekeyed is queued */
	if (p->strategy == CONF_FAILOVER_GLOBAL_REKEY && !manual)
		f |= SA_F_REKEY_NEEDED;

	if (manual) {
		if (need_rekey || p->strategy == CONF_FAILOVER_GLOBAL_REKEY)
			v |= PROMOTE_V_CANNOT_REKEY;
	} else if (f & SA_F_REKEY_NEEDED) {
		v |= PROMOTE_V_REKEY;
		if (!(sa->flags & SA_F_REKEY_NEEDED))
			v |= PROMOTE_V_REKEY_NEW;
	}
	if (f & SA_F_BLOCKED)
		v |= PROMOTE_V_BLOCKED;
	if ((f & SA_F_THRESHOLD) && !(sa->flags & SA_F_THRESHOLD))
		v |= PROMOTE_V_NEW_THRESHOLD;
	if ((f & SA_F_BLOCKED) && !(sa->flags & SA_F_BLOCKED))
		v |= PROMOTE_V_NEW_BLOCKED;

	d->out_seq = target;
	d->advance = target - sa->out_seq;
	if (d->advance)
		v |= PROMOTE_V_SEEDED;
	d->flags = f;
	d->verdict = v;
}

/* Step 4 for a k already known (the pass has it from the decision). */
static uint64_t inbound_top_k(const struct promote_params *p, const struct promote_sa *sa,
			      uint64_t replay_top, uint64_t k)
{
	uint64_t top = sa->in_s0 > replay_top ? sa->in_s0 : replay_top;
	uint64_t ceiling = (sa->flags & SA_F_ESN) ? UINT64_MAX : UINT32_MAX;
	uint64_t floor;

	if (p->inbound != CONF_INBOUND_STRICT)
		return top;
	/* Strict: the old active may have accepted X * max(M_in, M_min) per
	 * interval since the synced top (k intervals); none of it may be
	 * accepted again. Without a synced top our own top is the base. */
	floor = sat_add(sa->s0_ms ? sa->in_s0 : replay_top,
			seed_advance_k(&p->seed, sa->m_peak_in, k));
	if (floor > ceiling)
		floor = ceiling;
	return floor > top ? floor : top;
}

uint64_t promote_inbound_top(const struct promote_params *p, const struct promote_sa *sa,
			     uint64_t replay_top)
{
	return inbound_top_k(p, sa, replay_top, sa_k(p, sa));
}

void promote_decide(const struct promote_params *p, const struct promote_sa *sa,
		    struct promote_decision *d)
{
	decide(p, sa, d);
}

const struct promote_params *promote_params_cached(const struct sa_table *t,
						   struct promote_params_cache *c)
{
	const struct failover_status *b = (const void *)t->hdr->failover_status;
	struct failover_status st;

	if (c->valid && atomic_load_explicit(&b->seq, memory_order_acquire) == c->seq)
		return &c->p;
	if (failover_status_read(t, &st) < 0) {
		/* a writer that died half-way: learn, and look again next time */
		memset(&st, 0, sizeof(st));
		c->valid = 0;
	} else {
		c->seq = st.seq;
		c->valid = 1;
	}
	promote_params_from_status(&c->p, &st);
	return &c->p;
}

void promote_replay_restart(const struct promote_params *p, struct child_sa_rec *rec)
{
	struct promote_sa sa;

	promote_sa_load(&sa, rec);
	replay_reset(&rec->replay, promote_inbound_top(p, &sa, rec->replay.top));
	atomic_fetch_and_explicit(&rec->flags, ~(uint32_t)SA_F_REPLAY_RESET, memory_order_relaxed);
}

/* --- the advance histogram --- */

uint32_t promote_hist_bucket(uint64_t v)
{
	uint32_t e;

	if (v < 32)
		return (uint32_t)v;
	e = 63u - (uint32_t)__builtin_clzll(v);
	return (e - 4) * 32 + (uint32_t)((v >> (e - 5)) & 31);
}

uint64_t promote_hist_value(uint32_t b)
{
	uint32_t e;
	uint64_t lo, width;

	if (b < 32)
		return b;
	e = b / 32 + 4;
	lo = (uint64_t)(32 + b % 32) << (e - 5);
	width = 1ull << (e - 5);
	return lo + (width - 1) / 2;
}

static uint64_t hist_median(const uint32_t *hist, uint64_t n)
{
	uint64_t want = (n + 1) / 2, seen = 0;
	uint32_t b;

	if (!n)
		return 0;
	for (b = 0; b < PROMOTE_HIST_BUCKETS; b++) {
		seen += hist[b];
		if (seen >= want)
			return promote_hist_value(b);
	}
	return 0;
}

/* --- the pass --- */


/* Writes back what moved. Plain (relaxed) stores: the lock is ours, syncd
 * is frozen, and gwd writes none of these while STANDBY; a locked RMW per
 * SA would serialise the misses the prefetch keeps in flight. */
static void promote_sa_store(struct child_sa_rec *rec, const struct promote_sa *old,
			     const struct promote_decision *d)
{
	if (d->out_seq != old->out_seq)
		atomic_store_explicit(&rec->out_seq, d->out_seq, memory_order_relaxed);
	atomic_store_explicit(&rec->activation, d->activation, memory_order_relaxed);
	if ((d->flags | SA_F_REPLAY_RESET) != old->flags)
		atomic_store_explicit(&rec->flags, d->flags | SA_F_REPLAY_RESET,
				      memory_order_relaxed);
}

/* What the pass adds up. Verdicts are counted per combination of bits, one
 * increment per SA, and spread into the report's fields at the end. */
struct promote_acc {
	uint32_t verdicts[PROMOTE_V_ALL + 1];
	uint32_t hist[PROMOTE_HIST_BUCKETS];
	uint64_t child, inbound, adv_max, k_max, in_adv_max;
};

static void promote_child_pass(struct sa_table *t, const struct promote_params *p,
			       struct promote_acc *a)
{
	struct child_sa_rec *base = t->child;
	uint32_t cap = t->hdr->child_capacity, i;
	uint64_t child = 0, inbound = 0, adv_max = 0, k_max = 0, in_adv_max = 0;

	for (i = 0; i < cap; i++) {
		struct child_sa_rec *rec = &base[i];
		struct promote_decision d;
		struct promote_sa sa;
		uint32_t state;

		if (i + PROMOTE_PREFETCH < cap)
			__builtin_prefetch(&base[i + PROMOTE_PREFETCH], 1, 3);
		state = rec->state;
		if (state != SA_STATE_INSTALLED && state != SA_STATE_REKEYED)
			continue;
		promote_sa_load(&sa, rec);
		/* Step 4: every receiving SA restarts its window at its next packet */
		inbound++;
		if (state == SA_STATE_REKEYED) {
			/* receives only: nothing to seed, no IV to protect */
			if (p->inbound == CONF_INBOUND_STRICT) {
				uint64_t adv = promote_inbound_top(p, &sa, sa.in_s0) - sa.in_s0;

				in_adv_max = adv > in_adv_max ? adv : in_adv_max;
			}
			if (!(sa.flags & SA_F_REPLAY_RESET))
				atomic_store_explicit(&rec->flags, sa.flags | SA_F_REPLAY_RESET,
						      memory_order_relaxed);
			continue;
		}
		child++;
		decide(p, &sa, &d);
		if (p->inbound == CONF_INBOUND_STRICT) {
			uint64_t adv = inbound_top_k(p, &sa, sa.in_s0, d.k) - sa.in_s0;

			in_adv_max = adv > in_adv_max ? adv : in_adv_max;
		}
		promote_sa_store(rec, &sa, &d);
		a->verdicts[d.verdict & PROMOTE_V_ALL]++;
		a->hist[promote_hist_bucket(d.advance)]++;
		adv_max = d.advance > adv_max ? d.advance : adv_max;
		k_max = d.k > k_max ? d.k : k_max;
	}
	a->child = child;
	a->inbound = inbound;
	a->adv_max = adv_max;
	a->k_max = k_max;
	a->in_adv_max = in_adv_max;
}

static uint64_t count_bit(const struct promote_acc *a, uint32_t bit)
{
	uint64_t n = 0;
	uint32_t v;

	for (v = 0; v <= PROMOTE_V_ALL; v++)
		if (v & bit)
			n += a->verdicts[v];
	return n;
}

static void promote_acc_report(const struct promote_acc *a, struct failover_status *st)
{
	st->child_sas = a->child;
	st->inbound_restart = a->inbound;
	st->advance_max = a->adv_max;
	/* a bucket's midpoint can lie above the largest value in it */
	st->advance_median = hist_median(a->hist, a->child);
	if (st->advance_median > a->adv_max)
		st->advance_median = a->adv_max;
	st->k_max = a->k_max;
	st->inbound_adv_max = a->in_adv_max;
	st->seeded = count_bit(a, PROMOTE_V_SEEDED);
	st->rekey_queued = count_bit(a, PROMOTE_V_REKEY);
	st->rekey_new = count_bit(a, PROMOTE_V_REKEY_NEW);
	st->blocked = count_bit(a, PROMOTE_V_BLOCKED);
	st->cannot_rekey = count_bit(a, PROMOTE_V_CANNOT_REKEY);
	st->never_synced = count_bit(a, PROMOTE_V_NEVER_SYNCED);
	st->stale = count_bit(a, PROMOTE_V_STALE);
	st->act_last = count_bit(a, PROMOTE_V_ACT_LAST);
}

/* Step 5 (RFC 6311): message IDs come from the sync stream, synced on
 * every exchange; the last one may still have been lost with the active,
 * so every IKE SA whose peer supports it is resynchronised. */
static void promote_ike_pass(struct sa_table *t, struct failover_status *st)
{
	uint32_t i;

	for (i = 0; i < t->hdr->ike_capacity; i++) {
		struct ike_sa_rec *r = &t->ike[i];

		if (r->state != SA_STATE_INSTALLED)
			continue;
		st->ike_sas++;
		if (!(r->flags & IKE_F_PEER_MSGID_SYNC)) {
			st->ike_no_msgid_sync++;
			continue;
		}
		st->ike_msgid_sync++;
		if (r->flags & IKE_F_MSGID_SYNC_NEEDED)
			continue;
		sa_rec_write_begin(&r->seq);
		r->flags |= IKE_F_MSGID_SYNC_NEEDED;
		sa_rec_write_end(&r->seq);
	}
}

static void promote_report_begin(struct sa_table *t, const struct promote_params *p,
				 const char *why, struct promote_report *r)
{
	const struct failover_status *prev = (const void *)t->hdr->failover_status;
	struct failover_status *st = &r->st;
	struct sync_status ss;

	st->version = FAILOVER_STATUS_VERSION;
	st->count = prev->version == FAILOVER_STATUS_VERSION ? prev->count + 1 : 1;
	st->wall_ms = wall_ms();
	st->mono_ms = p->now_ms;
	snprintf(st->reason, sizeof(st->reason), "%s", why ? why : "");
	st->member_id = t->hdr->member_id;
	st->prev_active = FAILOVER_MEMBER_UNKNOWN;
	/* The link is usually down by now (the old active died): the status
	 * keeps the member it last heard from, and a peer epoch above 0 says
	 * a hello did arrive at some point. */
	if (sync_status_read(t, &ss) == 0 && (ss.peer_hello || ss.peer_epoch > 0))
		st->prev_active = ss.peer_member;
	st->epoch_prev = atomic_load(&t->hdr->epoch);
	st->epoch_new = FAILOVER_EPOCH_PENDING;
	st->strategy = p->strategy;
	st->inbound = p->inbound;
	st->x_milli = p->seed.x_milli;
	st->interval_ms = p->seed.interval_ms;
	st->m_min = (uint32_t)p->seed.m_min;
	st->threshold_pct = p->seed.threshold_pct;
}

int promote_prepare(struct sa_table *t, const struct config *c, const char *why,
		    struct promote_report *r)
{
	static struct promote_acc acc; /* 12 KiB; the caller is one thread */
	struct promote_params p;

	memset(r, 0, sizeof(*r));
	r->t0_ns = now_ns();
	/* 1. The table is ours: syncd stops applying. Setting the flag before
	 * taking the lock lets an apply in progress finish, and none start. */
	atomic_store(&t->hdr->sync_frozen, 1);

	sa_table_lock(t);
	/* ages are measured from one instant, taken with the table ours */
	promote_params_init(&p, c, now_ms());
	promote_report_begin(t, &p, why, r);
	r->st.rekey_rate = c->failover.rekey_rate;
	memset(&acc, 0, sizeof(acc));
	/* 2-4, 6: one pass over the first line of every Child SA record */
	promote_child_pass(t, &p, &acc);
	r->st.scanned = t->hdr->child_capacity;
	/* 5 */
	promote_ike_pass(t, &r->st);
	sa_table_unlock(t);

	r->st.scan_us = (now_ns() - r->t0_ns) / 1000;
	promote_acc_report(&acc, &r->st);
	sa_ctr_add(t, CTR_sn_threshold_crossings, count_bit(&acc, PROMOTE_V_NEW_THRESHOLD));
	sa_ctr_add(t, CTR_sn_blocked, count_bit(&acc, PROMOTE_V_NEW_BLOCKED));
	sa_ctr_add(t, CTR_promotions, 1);
	/* published now (epoch pending), so gwd's inbound restarts find the
	 * parameters they need whatever comes first */
	failover_status_publish(t, &r->st);
	return 0;
}

uint64_t promote_activate(struct sa_table *t, struct promote_report *r)
{
	struct sa_table_hdr *h = t->hdr;
	uint64_t epoch;

	/* 7. gwd sends from here on */
	atomic_store(&h->role, SA_ROLE_ACTIVE);
	epoch = atomic_fetch_add(&h->epoch, 1) + 1;
	r->st.duration_us = (now_ns() - r->t0_ns) / 1000;
	r->st.epoch_new = epoch;
	failover_status_publish(t, &r->st);
	return epoch;
}

void promote_release(struct sa_table *t)
{
	atomic_store(&t->hdr->sync_frozen, 0);
}
