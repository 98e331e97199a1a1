/*
 * Driver for bench/promote.sh: times the promotion (common/promote.c) of a
 * synthetic standby table, from promote_prepare() to the role flip of
 * promote_activate(), which is when gwd may send its first packet.
 *
 *   promote_bench SHM N RUNS
 *
 * The table holds N Child SAs (and 1,024 IKE SAs) as a standby's syncd
 * would leave them, with a mix drawn from a fixed seed:
 *   - state: 98 % INSTALLED, 2 % REKEYED (receive only)
 *   - ESN on 40 %; manually keyed 0.1 %
 *   - M (peak packets per interval): 50 % 0-10, 30 % 10-1,000,
 *     15 % 1,000-20,000, 5 % 20,000-200,000; M_in alike
 *   - age of S_0: 70 % under one interval, 20 % up to 2 s, 9 % up to
 *     10 min (idle SAs), 1 % never synced
 *   - S_0: uniform over the first 80 % of the space; 0.5 % between 90 % and
 *     100 % (some cross the threshold or the ceiling when seeded)
 *   - the counter is S_0, or above it for 5 % (this member was active before)
 *   - activation: small; 0.01 % at the last IV activation or past it
 * Every run starts from the same state: the first cache line of every
 * record (all the promotion reads or writes) is restored from a copy, with
 * the ages of S_0 kept, and flushed from the caches (clflush), so no record
 * starts in them. The first run after filling is reported separately.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "esp.h"
#include "log.h"
#include "promote.h"
#include "sa_table.h"

#define LINE 64
#define IKE_N 1024

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible, no libc state */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint64_t rnd_range(uint64_t lo, uint64_t hi)
{
	return lo + rnd() % (hi - lo + 1);
}

static uint32_t pick_m(void)
{
	uint64_t r = rnd() % 100;

	if (r < 50)
		return (uint32_t)rnd_range(0, 10);
	if (r < 80)
		return (uint32_t)rnd_range(10, 1000);
	if (r < 95)
		return (uint32_t)rnd_range(1000, 20000);
	return (uint32_t)rnd_range(20000, 200000);
}

static void fill_one(struct child_sa_rec *r, uint64_t now)
{
	int esn = rnd() % 100 < 40;
	uint64_t space = esp_seq_ceiling(esn), r100 = rnd() % 1000, age;

	atomic_store(&r->flags, (esn ? SA_F_ESN : 0) | (rnd() % 1000 == 0 ? SA_F_MANUAL : 0));
	r->m_peak = pick_m();
	r->m_peak_in = pick_m();
	if (r100 < 5)
		r->s0 = space / 10 * 9 + rnd() % (space / 10);
	else
		r->s0 = rnd() % (space / 10 * 8);
	r->in_s0 = rnd() % (space / 10 * 8);
	r100 = rnd() % 100;
	if (r100 < 70)
		age = rnd_range(0, 100);
	else if (r100 < 90)
		age = rnd_range(101, 2000);
	else if (r100 < 99)
		age = rnd_range(2001, 600000);
	else
		age = UINT64_MAX;
	r->s0_ms = age == UINT64_MAX ? 0 : now - age;
	atomic_store(&r->out_seq, rnd() % 100 < 5 ? r->s0 + rnd_range(1, 5000) : r->s0);
	atomic_store(&r->activation, rnd() % 10000 == 0 ? (uint32_t)rnd_range(ESP_IV_MAX_ACT - 1,
						ESP_IV_MAX_ACT) : (uint32_t)rnd_range(0, 20));
	r->replay_window = 1024;
	r->replay.top = r->in_s0;
}

static int fill(struct sa_table *t, uint32_t n, uint64_t now)
{
	uint32_t i;
	int idx = 0;

	sa_table_lock(t);
	for (i = 0; i < n; i++) {
		struct child_sa_rec *r;

		if ((idx = sa_table_alloc_child_from(t, (uint32_t)idx)) < 0)
			break;
		r = &t->child[idx];
		fill_one(r, now);
		r->spi_in = 0x10000000u + (uint32_t)idx;
		r->spi_out = 0x20000000u + (uint32_t)idx;
		sa_table_publish_child(t, (uint32_t)idx);
		if (rnd() % 100 < 2)
			r->state = SA_STATE_REKEYED;
	}
	for (i = 0; i < IKE_N && i < t->hdr->ike_capacity; i++) {
		int k = sa_table_alloc_ike(t);

		if (k < 0)
			break;
		t->ike[k].flags = rnd() % 2 ? IKE_F_PEER_MSGID_SYNC : 0;
		sa_table_publish_ike(t, (uint32_t)k);
	}
	sa_table_unlock(t);
	return idx < 0 ? -1 : 0;
}

static void save_lines(const struct sa_table *t, uint8_t *copy, uint32_t cap)
{
	uint32_t i;

	for (i = 0; i < cap; i++)
		memcpy(copy + (size_t)i * LINE, &t->child[i], LINE);
}

/* Puts back the first line of every record, with S_0's time stamps moved
 * so that the ages are the same at this run as at the first, and evicts
 * those lines (and the IKE records) from every cache level. */
static void restore(struct sa_table *t, const uint8_t *copy, uint32_t cap, uint64_t shift)
{
	uint32_t i;

	for (i = 0; i < cap; i++) {
		struct child_sa_rec *r = &t->child[i];

		memcpy((void *)r, copy + (size_t)i * LINE, LINE);
		if (r->s0_ms)
			r->s0_ms += shift;
		__builtin_ia32_clflush(r);
	}
	for (i = 0; i < t->hdr->ike_capacity; i++) {
		t->ike[i].flags &= ~(uint32_t)IKE_F_MSGID_SYNC_NEEDED;
		__builtin_ia32_clflush(&t->ike[i]);
	}
	__builtin_ia32_mfence();
	atomic_store(&t->hdr->role, SA_ROLE_STANDBY);
	atomic_store(&t->hdr->sync_frozen, 0);
}

static void print_report(const char *what, const struct failover_status *s)
{
	printf("%-22s %7.2f ms (pass %.2f ms)  sas=%" PRIu64 " seeded=%" PRIu64
	       " adv_max=%" PRIu64 " adv_median=%" PRIu64 " k_max=%" PRIu64 " stale=%" PRIu64
	       " never_synced=%" PRIu64 " rekey=%" PRIu64 " blocked=%" PRIu64
	       " cannot_rekey=%" PRIu64 " act_last=%" PRIu64 " inbound=%" PRIu64
	       " in_adv_max=%" PRIu64 " ike_msgid=%" PRIu64 "\n",
	       what, s->duration_us / 1000.0, s->scan_us / 1000.0, s->child_sas, s->seeded,
	       s->advance_max, s->advance_median, s->k_max, s->stale, s->never_synced,
	       s->rekey_queued, s->blocked, s->cannot_rekey, s->act_last, s->inbound_restart,
	       s->inbound_adv_max, s->ike_msgid_sync);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int load_config(struct config *c, const char *inbound)
{
	struct conf_err err;
	char text[256];

	snprintf(text, sizeof(text),
		 "[gateway]\nname = bench\n[failover]\nstrategy = seed\nx = 2.0\ninbound = %s\n",
		 inbound);
	if (config_load_string(c, "bench.conf", text, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return 0;
}

static uint64_t run(struct sa_table *t, const struct config *c, const char *what, int show)
{
	struct promote_report r;

	promote_prepare(t, c, "bench", &r);
	promote_activate(t, &r);
	if (show)
		print_report(what, &r.st);
	return r.st.duration_us;
}

int main(int argc, char **argv)
{
	static struct config cl, cs;
	struct sa_table t;
	uint32_t n, runs, i;
	uint64_t *us, first, empty_us, cold_us, t_fill;
	uint8_t *copy;

	if (argc != 4) {
		fprintf(stderr, "usage: promote_bench SHM N RUNS\n");
		return 1;
	}
	log_init("promote_bench", 1, 0);
	n = (uint32_t)strtoul(argv[2], NULL, 0);
	runs = (uint32_t)strtoul(argv[3], NULL, 0);
	if (!n || !runs || load_config(&cl, "learn") < 0 || load_config(&cs, "strict") < 0)
		return 1;
	sa_table_unlink(argv[1]);
	if (sa_table_create(&t, argv[1], 1, n, IKE_N) < 0) {
		fprintf(stderr, "cannot create the table (%u SAs)\n", n);
		return 1;
	}
	/* nothing to do: the same capacity, no SA in it; the first pass also
	 * faults the fresh pages in, the second is what a promotion costs */
	cold_us = run(&t, &cl, "empty, pages unmapped", 1);
	atomic_store(&t.hdr->role, SA_ROLE_STANDBY);
	restore(&t, NULL, 0, 0);
	empty_us = run(&t, &cl, "empty table", 1);
	atomic_store(&t.hdr->role, SA_ROLE_STANDBY);

	us = calloc(runs, sizeof(*us));
	copy = malloc((size_t)n * LINE);
	t_fill = now_ms();
	if (!us || !copy || fill(&t, n, t_fill) < 0) {
		fprintf(stderr, "out of memory or table full\n");
		sa_table_detach(&t);
		sa_table_unlink(argv[1]);
		return 1;
	}
	save_lines(&t, copy, n);
	printf("table: %u Child SAs (%u-byte records, %.0f MiB), %u IKE SAs\n", n,
	       (unsigned)sizeof(struct child_sa_rec),
	       (double)sa_table_size(n, IKE_N) / (1 << 20), IKE_N);
	restore(&t, copy, n, now_ms() - t_fill);
	first = run(&t, &cl, "first (learn)", 1);
	for (i = 0; i < runs; i++) {
		restore(&t, copy, n, now_ms() - t_fill);
		us[i] = run(&t, &cl, "run (learn)", i == 0);
	}
	restore(&t, copy, n, now_ms() - t_fill);
	run(&t, &cs, "strict inbound", 1);
	/* back to back: promoted again with no sync in between */
	atomic_store(&t.hdr->role, SA_ROLE_STANDBY);
	run(&t, &cl, "back-to-back", 1);
	qsort(us, runs, sizeof(*us), cmp_u64);
	printf("runs=%u first=%.2f ms min=%.2f median=%.2f max=%.2f ms; "
	       "empty table %.2f ms (%.2f ms with its pages unmapped)\n",
	       runs, first / 1000.0, us[0] / 1000.0, us[runs / 2] / 1000.0,
	       us[runs - 1] / 1000.0, empty_us / 1000.0, cold_us / 1000.0);
	printf("promote: sas=%u ms=%" PRIu64 "\n", n, (us[runs - 1] + 999) / 1000);
	free(us);
	free(copy);
	sa_table_detach(&t);
	sa_table_unlink(argv[1]);
	return 0;
}
