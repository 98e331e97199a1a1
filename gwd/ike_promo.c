/*
 * What the engine does after a promotion (docs/failover.md, "After the
 * role flip"): the promotion (common/promote.c, run by vrrp) decided which
 * Child SAs need a rekey (SA_F_REKEY_NEEDED) and which IKE SAs need an
 * RFC 6311 message-ID sync (IKE_F_MSGID_SYNC_NEEDED); the engine, once it
 * has taken the SAs over (ike_adopt.c), carries that out:
 *
 * - the flagged Child SAs form the promotion's queue, worked through at
 *   [failover] rekey_rate (its own bucket; [ike] rekey_rate paces only
 *   the rekeys gwd decides by itself), BLOCKED ones first, and each
 *   attempt is counted in the report (failover_status_rekey_*());
 * - the flagged IKE SAs start their message-ID sync before anything else
 *   (the window is one: the rekeys wait for it) and the flag is cleared.
 *
 * Which promotion: the report's epoch_new, once it equals the table's
 * epoch. vrrp sets the role before it publishes the epoch, so for a few
 * ticks the report may still say "pending": the engine waits then, so
 * that no flagged SA goes down the ordinary path first.
 */
#include <sodium.h>

#include "failover_status.h"
#include "ike.h"
#include "ike_int.h"
#include "log.h"

/* A promotion's report stays pending for microseconds; a longer wait is
 * an aborted one (the role set some other way): give up after 1 s. */
#define IKE_PROMO_WAIT_TICKS (1000 / IKE_TICK_MS)

static unsigned promo_take_ike(struct ike *ike, struct ike_sa *sa)
{
	if (!(ike_shm_ike_flags(ike, sa) & IKE_F_MSGID_SYNC_NEEDED))
		return 0;
	/* promote.c flags only peers that announced RFC 6311; a record that
	 * says otherwise just loses the flag */
	ike_shm_ike_clear_flags(ike, sa, IKE_F_MSGID_SYNC_NEEDED);
	if (!sa->peer_msgid_sync || ike_msgid_sync(ike, sa) < 0)
		return 0;
	CTR(ike, ike_promo_msgid_syncs);
	return 1;
}

static unsigned promo_take_children(struct ike *ike, struct ike_sa *sa)
{
	unsigned n = 0;
	int i;

	for (i = 0; i < IKE_MAX_CHILDREN; i++) {
		struct ike_child *ch = &sa->child[i];
		uint32_t f;

		if (ch->state != IKE_CH_INSTALLED)
			continue;
		f = ike_shm_child_flags(ike, ch);
		/* a manual SA has no IKE SA, so it is never here; the
		 * check keeps it that way */
		if (!(f & SA_F_REKEY_NEEDED) || (f & SA_F_MANUAL))
			continue;
		ch->promo = 1;
		ch->promo_retry_at = 0;
		ch->want_rekey = 0;
		ch->rekey_reason = 0; /* promote.c counted the crossing */
		n++;
	}
	return n;
}

static void promo_take(struct ike *ike, const struct failover_status *st)
{
	unsigned i, rekeys = 0, syncs = 0;

	for (i = 0; i < ike->cap; i++) {
		struct ike_sa *sa = &ike->sas[i];

		if (!sa->used || sa->state != IKE_ST_ESTABLISHED)
			continue;
		syncs += promo_take_ike(ike, sa);
		rekeys += promo_take_children(ike, sa);
	}
	/* the first rekey may start at once, the next 1/rate later */
	ike->promo_tokens = 1.0;
	log_info("ike: promotion #%llu (epoch %llu): %u child SAs to rekey at %u/s (report: %llu queued), "
		 "%u RFC 6311 message-ID syncs (report: %llu)",
		 (unsigned long long)st->count, (unsigned long long)st->epoch_new, rekeys,
		 ike->cfg->failover.rekey_rate, (unsigned long long)st->rekey_queued, syncs,
		 (unsigned long long)st->ike_msgid_sync);
}

int ike_promo_check(struct ike *ike)
{
	uint64_t epoch = atomic_load(&ike->table->hdr->epoch);
	struct failover_status st;

	if (failover_status_read(ike->table, &st) < 0 || st.version != FAILOVER_STATUS_VERSION)
		return 0;
	if (st.epoch_new == FAILOVER_EPOCH_PENDING) {
		if (ike->promo_wait < IKE_PROMO_WAIT_TICKS) {
			ike->promo_wait++;
			return 1;
		}
		return 0;
	}
	ike->promo_wait = 0;
	if (st.epoch_new == ike->promo_epoch)
		return 0;
	ike->promo_epoch = st.epoch_new;
	/* An older promotion's report (the role set by other means), or one
	 * whose queue a previous gwd already worked on (a restart): the
	 * flagged SAs take the ordinary path. */
	if (st.epoch_new != epoch || atomic_load(&st.rekeys_started) != 0)
		return 0;
	promo_take(ike, &st);
	return 0;
}

/* At most one tick's worth is kept: the queue is paced, never bursts. */
void ike_promo_refill(struct ike *ike)
{
	double per_tick = ike->cfg->failover.rekey_rate * (double)IKE_TICK_MS / 1000.0;
	double cap = per_tick > 1.0 ? per_tick : 1.0;

	ike->promo_tokens += per_tick;
	if (ike->promo_tokens > cap)
		ike->promo_tokens = cap;
}

static int promo_blocked(struct ike *ike, const struct ike_child *ch)
{
	return !!(ike_shm_child_flags(ike, ch) & SA_F_BLOCKED);
}

/* A queued SA that still sends waits while a BLOCKED one (which sends
 * nothing until replaced) is ready to go: those go first. */
int ike_promo_allowed(struct ike *ike, const struct ike_child *ch)
{
	if (ike->now < ch->promo_retry_at || ike->promo_tokens < 1.0)
		return 0;
	if (ike->promo_blocked && !promo_blocked(ike, ch))
		return 0;
	ike->promo_tokens -= 1.0;
	return 1;
}

/* Counts the BLOCKED SAs of the queue that may start now (recounted every
 * tick, so an SA that went away never holds the others back for long)
 * and kicks their IKE SAs first. */
void ike_promo_kick_blocked(struct ike *ike)
{
	unsigned i;
	int j;

	ike->promo_blocked = 0;
	for (i = 0; i < ike->cap; i++) {
		struct ike_sa *sa = &ike->sas[i];

		if (!sa->used || sa->state != IKE_ST_ESTABLISHED)
			continue;
		for (j = 0; j < IKE_MAX_CHILDREN; j++) {
			const struct ike_child *ch = &sa->child[j];

			if (ch->promo && ch->state == IKE_CH_INSTALLED &&
			    ike->now >= ch->promo_retry_at && promo_blocked(ike, ch))
				ike->promo_blocked++;
		}
	}
	for (i = 0; i < ike->cap && ike->promo_blocked && ike->promo_tokens >= 1.0; i++) {
		struct ike_sa *sa = &ike->sas[i];

		if (!sa->used || sa->state != IKE_ST_ESTABLISHED || sa->req.kind != IKE_REQ_NONE)
			continue;
		for (j = 0; j < IKE_MAX_CHILDREN; j++)
			if (sa->child[j].promo && sa->child[j].state == IKE_CH_INSTALLED &&
			    promo_blocked(ike, &sa->child[j])) {
				ike_sa_kick(ike, sa);
				break;
			}
	}
}

void ike_promo_started(struct ike *ike, struct ike_sa *sa, struct ike_child *ch)
{
	sa->req.promo = ch->promo;
	if (!ch->promo)
		return;
	ch->promo = 0;
	if (ike->promo_blocked && promo_blocked(ike, ch))
		ike->promo_blocked--;
	CTR(ike, ike_promo_rekeys);
	failover_status_rekey_started(ike->table);
}

/* The outcome of a rekey from the queue. A failed one goes back into the
 * queue (while its SA is still there), not before 2-10 s (2.25: two peers
 * that collided should not collide again), and is counted again when it
 * starts: started = done + failed + the one in flight. */
void ike_promo_result(struct ike *ike, struct ike_sa *sa, const struct ike_req *q, int ok)
{
	struct ike_child *ch;

	if (!q->promo)
		return;
	failover_status_rekey_result(ike->table, ok);
	if (ok || q->child < 0 || q->child >= IKE_MAX_CHILDREN)
		return;
	ch = &sa->child[q->child];
	if (ch->state == IKE_CH_INSTALLED && !ch->linger_until) {
		ch->promo = 1;
		ch->promo_retry_at = ike->now + 2000 + randombytes_uniform(8000);
	}
}

/* The outstanding request is dropped without an answer (a message-ID
 * sync replaces it, or the IKE SA goes). */
void ike_promo_req_lost(struct ike *ike, struct ike_sa *sa)
{
	if (sa->req.kind == IKE_REQ_REKEY_CHILD)
		ike_promo_result(ike, sa, &sa->req, 0);
}
