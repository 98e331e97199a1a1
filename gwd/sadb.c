/*
 * gwd's view of the shared SA table: prepared keys, an SPI hash for the
 * inbound path and a selector list for the outbound path. The shm table is
 * the truth; this view is rebuilt whenever its generation moves.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gwd.h"
#include "log.h"
#include "seed.h"

static uint32_t spi_hash(uint32_t spi)
{
	return spi * 2654435761u; /* Knuth: SPIs may be sequential */
}

void gwd_sadb_free(struct gwd *g)
{
	uint32_t i;

	for (i = 0; i < g->db.n; i++) {
		esp_key_wipe(&g->db.sas[i].key_in);
		esp_key_wipe(&g->db.sas[i].key_out);
	}
	free(g->db.sas);
	free(g->db.spi_hash);
	memset(&g->db, 0, sizeof(g->db));
}

static int sadb_add(struct gwd_sadb *db, uint32_t idx, struct child_sa_rec *rec,
		    const struct child_sa_rec *snap, uint32_t threshold_pct)
{
	struct gwd_sa *sa = &db->sas[db->n];
	int rc;

	memset(sa, 0, sizeof(*sa));
	if ((rc = esp_key_init(&sa->key_in, snap->alg, &snap->key_in)) < 0 ||
	    (rc = esp_key_init(&sa->key_out, snap->alg, &snap->key_out)) < 0)
		return rc;
	sa->idx = idx;
	sa->gen = snap->gen;
	sa->rec = rec;
	sa->spi_in = snap->spi_in;
	sa->spi_out = snap->spi_out;
	sa->flags = snap->flags;
	sa->ts_local = snap->ts_local;
	sa->ts_remote = snap->ts_remote;
	sa->peer.sin_family = AF_INET;
	sa->peer.sin_addr.s_addr = htonl(snap->peer_addr);
	sa->peer.sin_port = htons(snap->peer_port);
	sa->window = snap->replay_window ? snap->replay_window : 1024;
	sa->esn = !!(snap->flags & SA_F_ESN);
	sa->sends = snap->state == SA_STATE_INSTALLED;
	sa->ceiling = esp_seq_ceiling(sa->esn);
	sa->threshold = seed_threshold(sa->ceiling, threshold_pct);
	db->n++;
	return 0;
}

static int cmp_plen_desc(const void *a, const void *b)
{
	const struct gwd_sa *x = a, *y = b;

	return (int)y->ts_remote.plen - (int)x->ts_remote.plen;
}

int gwd_sadb_sync(struct gwd *g)
{
	struct sa_table *t = &g->table;
	uint64_t gen = atomic_load(&t->hdr->table_gen);
	struct gwd_sadb db = { 0 };
	struct child_sa_rec *snap;
	uint32_t i, n = 0, cap;

	if (g->db.sas && gen == g->db.table_gen)
		return 0;
	cap = atomic_load(&t->hdr->child_count) + 16;
	if (!(snap = malloc(sizeof(*snap))) || !(db.sas = calloc(cap, sizeof(*db.sas)))) {
		free(snap);
		return -ENOMEM;
	}
	db.cap = cap;
	db.table_gen = gen;
	for (i = 0; i < t->hdr->child_capacity && db.n < db.cap; i++) {
		struct child_sa_rec *r = &t->child[i];

		if (r->state != SA_STATE_INSTALLED && r->state != SA_STATE_REKEYED)
			continue;
		if (sa_table_read_child(t, i, snap) < 0)
			continue;
		if (snap->state != SA_STATE_INSTALLED && snap->state != SA_STATE_REKEYED)
			continue;
		if (sadb_add(&db, i, r, snap, g->cfg.gw.rekey_threshold) < 0)
			log_warnx("sa %s: algorithm %s unavailable", snap->name, sa_alg_name(snap->alg));
	}
	sodium_memzero(snap, sizeof(*snap));
	free(snap);
	qsort(db.sas, db.n, sizeof(*db.sas), cmp_plen_desc);

	for (db.hash_mask = 15; db.hash_mask < db.n * 2; db.hash_mask = db.hash_mask * 2 + 1)
		;
	if (!(db.spi_hash = calloc((size_t)db.hash_mask + 1, sizeof(uint32_t)))) {
		free(db.sas);
		return -ENOMEM;
	}
	for (i = 0; i < db.n; i++) {
		uint32_t h = spi_hash(db.sas[i].spi_in) & db.hash_mask;

		while (db.spi_hash[h])
			h = (h + 1) & db.hash_mask;
		db.spi_hash[h] = i + 1;
		n++;
	}
	gwd_sadb_free(g);
	g->db = db;
	log_debug("sadb: %u SAs (table generation %llu)", n, (unsigned long long)gen);
	return 0;
}

struct gwd_sa *gwd_sadb_by_spi(struct gwd *g, uint32_t spi)
{
	uint32_t h = spi_hash(spi) & g->db.hash_mask, i;

	if (!g->db.spi_hash)
		return NULL;
	while ((i = g->db.spi_hash[h]) != 0) {
		if (g->db.sas[i - 1].spi_in == spi)
			return &g->db.sas[i - 1];
		h = (h + 1) & g->db.hash_mask;
	}
	return NULL;
}

/* Longest remote prefix first (sorted at rebuild), then the local side. */
struct gwd_sa *gwd_sadb_out(struct gwd *g, uint32_t src, uint32_t dst)
{
	uint32_t i;

	for (i = 0; i < g->db.n; i++) {
		struct gwd_sa *sa = &g->db.sas[i];

		if (sa->sends && ts_contains(&sa->ts_remote, dst) && ts_contains(&sa->ts_local, src))
			return sa;
	}
	return NULL;
}

static int keymat_eq(const struct sa_keymat *a, const struct sa_keymat *b)
{
	return sodium_memcmp(a, b, sizeof(*a)) == 0;
}

static void manual_fill(struct child_sa_rec *r, const struct conf_sa *s)
{
	snprintf(r->name, sizeof(r->name), "%s", s->name);
	r->spi_in = s->spi_in;
	r->spi_out = s->spi_out;
	r->alg = (uint8_t)s->alg;
	r->replay_window = s->replay_window;
	r->key_in = s->key_in;
	r->key_out = s->key_out;
	r->ts_local = s->ts_local;
	r->ts_remote = s->ts_remote;
	r->peer_addr = s->peer_addr;
	r->peer_port = s->peer_port;
	r->created_ms = wall_ms();
	atomic_store(&r->flags, SA_F_MANUAL | (s->esn ? SA_F_ESN : 0));
	atomic_store(&r->out_seq, s->initial_seq);
}

/*
 * Puts the config's manually keyed SAs into the table. An SA that is
 * already there with the same SPIs and keys keeps its counters (a restarted
 * gwd must never reuse a sequence number) and gets a new activation, so
 * even a counter that went back could not repeat an IV. Manual SAs that
 * left the config are removed.
 */
int gwd_install_manual(struct gwd *g)
{
	struct sa_table *t = &g->table;
	uint32_t i, j;
	int idx, added = 0, kept = 0;

	sa_table_lock(t);
	for (i = 0; i < t->hdr->child_capacity; i++) {
		struct child_sa_rec *r = &t->child[i];
		int found = 0;

		if (r->state == SA_STATE_FREE || !(atomic_load(&r->flags) & SA_F_MANUAL))
			continue;
		for (j = 0; j < g->cfg.n_sas; j++) {
			const struct conf_sa *s = &g->cfg.sas[j];

			if (s->spi_in == r->spi_in && s->spi_out == r->spi_out && s->alg == r->alg &&
			    keymat_eq(&s->key_in, &r->key_in) && keymat_eq(&s->key_out, &r->key_out) &&
			    !!s->esn == !!(atomic_load(&r->flags) & SA_F_ESN))
				found = 1;
		}
		if (!found) {
			log_info("sa %s (spi 0x%08x): no longer in the config, removed", r->name, r->spi_in);
			sa_table_free_child(t, i);
		}
	}
	for (j = 0; j < g->cfg.n_sas; j++) {
		const struct conf_sa *s = &g->cfg.sas[j];
		struct child_sa_rec *r;

		idx = sa_table_find_child_by_spi(t, s->spi_in);
		if (idx >= 0) {
			r = &t->child[idx];
			sa_rec_write_begin(&r->seq);
			/* selectors, peer and window may change without rekeying */
			r->ts_local = s->ts_local;
			r->ts_remote = s->ts_remote;
			r->peer_addr = s->peer_addr;
			r->peer_port = s->peer_port;
			r->replay_window = s->replay_window;
			atomic_fetch_add(&r->activation, 1);
			sa_rec_write_end(&r->seq);
			atomic_fetch_add(&t->hdr->table_gen, 1);
			kept++;
			continue;
		}
		if ((idx = sa_table_alloc_child(t)) < 0) {
			sa_table_unlock(t);
			log_warnx("sa %s: table full (child_capacity %u)", s->name, t->hdr->child_capacity);
			return idx;
		}
		r = &t->child[idx];
		sa_rec_write_begin(&r->seq);
		manual_fill(r, s);
		sa_rec_write_end(&r->seq);
		sa_table_publish_child(t, (uint32_t)idx);
		added++;
	}
	sa_table_unlock(t);
	log_info("manual SAs: %d installed, %d kept with their counters", added, kept);
	return 0;
}
