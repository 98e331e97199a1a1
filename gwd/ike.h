/*
 * gwd's IKEv2 engine (RFC 7296 subset, see docs/ike.md): IKE SAs and their
 * Child SAs, driven by three kinds of events and free of sockets, so that
 * unit tests can drive it directly:
 *
 *   ike_input()   one IKE message (without the non-ESP marker)
 *   ike_tick()    time passes (ike_timer.h lists every timer)
 *   ike_initiate(), ike_rekey_child(), ike_msgid_sync()   commands
 *
 * What leaves the engine goes through struct ike_ops: messages to send and
 * "the shm table moved". Every exchange that changes state writes the IKE
 * SA record (keys, SPIs, message IDs) and its Child SAs into the shm table
 * before its last message is sent (ike_shm.c), so syncd can replicate it.
 *
 * State machine (one set_state() logs every change):
 *
 *   initiator: INIT_SENT --IKE_SA_INIT resp--> AUTH_SENT --IKE_AUTH resp--> ESTABLISHED
 *   responder: (IKE_SA_INIT req) INIT_DONE --IKE_AUTH req--> ESTABLISHED
 *   ESTABLISHED --IKE SA rekeyed--> REKEYED --Delete--> (freed)
 *   ESTABLISHED --our Delete--> DELETING --resp--> (freed)
 *   any --failure, timeout, peer's Delete--> DEAD (freed on the next tick)
 */
#ifndef HAGW_IKE_H
#define HAGW_IKE_H

#include <stdint.h>

#include "config.h"
#include "ike_crypto.h"
#include "ike_msg.h"
#include "ike_prop.h"
#include "ike_timer.h"
#include "sa_table.h"

#define IKE_MAX_CHILDREN 8

enum ike_state {
	IKE_ST_INIT_SENT,
	IKE_ST_INIT_DONE,
	IKE_ST_AUTH_SENT,
	IKE_ST_ESTABLISHED,
	IKE_ST_REKEYED,
	IKE_ST_DELETING,
	IKE_ST_DEAD,
};

enum ike_child_state {
	IKE_CH_FREE,
	IKE_CH_INSTALLED,   /* sends and receives */
	IKE_CH_INBOUND,     /* new SA of a rekey the peer started: receives only
			     * until the peer deletes the old one (shm REKEYED) */
	IKE_CH_REKEYED,     /* old SA: receives only until deleted (shm REKEYED) */
};

/* What our one outstanding request is (the window is one, 2.3). */
enum ike_req_kind {
	IKE_REQ_NONE,
	IKE_REQ_INIT,
	IKE_REQ_AUTH,
	IKE_REQ_REKEY_CHILD,
	IKE_REQ_REKEY_IKE,
	IKE_REQ_DPD,
	IKE_REQ_DELETE_CHILD,
	IKE_REQ_DELETE_IKE,
	IKE_REQ_MSGID_SYNC,
};

struct ike_child {
	int state;               /* enum ike_child_state */
	int shm_idx;
	uint32_t spi_in, spi_out;
	int alg, esn;
	struct sa_ts ts_local, ts_remote;
	uint64_t created;        /* monotonic ms */
	uint64_t rekey_at;       /* lifetime rekey, 0 = none */
	int want_rekey;          /* queued: rekey when the window is free */
	int want_delete;         /* queued: Delete when the window is free */
	int rekey_reason;        /* counter to bump when it starts (-1: command) */
	int pred;                /* IKE_CH_INBOUND: index of the SA it replaces */
	uint64_t linger_until;   /* deleted: still receives until then */
	int promo;               /* in the promotion's rekey queue ([failover] rekey_rate) */
	uint64_t promo_retry_at; /* ... not before (after a failed try) */
};

/* After a Delete, an old SA still takes what the peer sent before it
 * switched (its ESP path can lag behind its IKE path). */
#define IKE_CHILD_LINGER_MS 2000

struct ike_req {
	int kind;                /* enum ike_req_kind */
	uint32_t msgid;
	uint8_t *buf;
	size_t len;
	unsigned tries;
	/* exchange state */
	int child;               /* index of the child concerned */
	uint32_t new_spi;        /* Child SPI we allocated */
	uint64_t new_ike_spi;
	uint8_t nonce[IKE_NONCE_LEN];
	uint8_t dh_priv[IKE_DH_LEN], dh_pub[IKE_DH_LEN];
	int pfs;
	uint32_t sync_nonce;
	int promo;               /* a rekey from the promotion's queue (report counts it) */
};

struct ike_sa {
	int used;
	int state;               /* enum ike_state */
	int initiator;           /* original initiator of this IKE SA */
	int shm_idx;             /* -1 until written */
	const struct conf_ike_conn *conn;
	uint64_t spi_i, spi_r;
	uint32_t peer_addr;
	uint16_t peer_port;
	int natt;                /* on UDP 4500 with the non-ESP marker */
	int enc;                 /* IKE SA AEAD (enum sa_alg) */
	struct ike_keys keys;
	uint8_t ni[IKE_NONCE_MAX], nr[IKE_NONCE_MAX];
	size_t ni_len, nr_len;
	uint8_t dh_priv[IKE_DH_LEN], dh_pub[IKE_DH_LEN];
	uint8_t *init_req, *init_resp;   /* the IKE_SA_INIT messages, for AUTH */
	size_t init_req_len, init_resp_len;
	uint8_t cookie[64];
	size_t cookie_len;
	uint32_t msgid_out;      /* next request we send */
	uint32_t msgid_in;       /* next request we expect */
	struct ike_req req;
	uint8_t *resp;           /* last response sent, for duplicates (2.1) */
	size_t resp_len;
	uint32_t resp_msgid;
	struct ike_timers t;
	uint64_t created, last_rx;
	int peer_msgid_sync;     /* peer announced RFC 6311 */
	int want_rekey, want_delete, want_sync;
	uint32_t auth_child_spi; /* SPI of the first Child SA (initiator) */
	struct ike_child child[IKE_MAX_CHILDREN];
};

struct ike_ops {
	void *ctx;
	/* natt: send from port 4500 with the non-ESP marker, else from 500. */
	int  (*send)(void *ctx, uint32_t addr, uint16_t port, int natt, const uint8_t *msg,
		     size_t len);
	/* The shm table moved (an SA added, changed or removed). */
	void (*table_changed)(void *ctx);
};

struct ike {
	const struct config *cfg;
	struct sa_table *table;
	struct ike_ops ops;
	uint32_t member_id;
	uint32_t local_addr;
	struct ike_sa *sas;
	unsigned cap;
	unsigned half_open;
	uint8_t cookie_secret[32];
	uint64_t now;                       /* of the event being handled */
	uint64_t conn_retry_at[CONF_MAX_CONNS];
	int active;                         /* role seen at the last tick */
	double rekey_tokens;                /* [ike] rekey_rate bucket */
	/* After a promotion (ike_promo.c): the queue the promotion flagged,
	 * paced by its own bucket at [failover] rekey_rate. */
	double promo_tokens;
	uint64_t promo_epoch;               /* epoch whose promotion was taken */
	unsigned promo_wait;                /* ticks the report was still pending */
	unsigned promo_blocked;             /* queued BLOCKED SAs ready: they go first */
};

int  ike_init(struct ike *ike, const struct config *cfg, struct sa_table *table,
	      const struct ike_ops *ops);
void ike_free(struct ike *ike);
/* One received message: src address/port, natt = it came on 4500 with the
 * marker (already stripped). The buffer is not kept. */
void ike_input(struct ike *ike, uint64_t now, uint32_t src, uint16_t sport, int natt,
	       const uint8_t *msg, size_t len);
void ike_tick(struct ike *ike, uint64_t now);

/* Commands (control socket, failover). Return 0 or -errno. */
int  ike_initiate(struct ike *ike, const struct conf_ike_conn *conn);
int  ike_rekey_child(struct ike *ike, uint32_t spi);
int  ike_rekey_ike(struct ike *ike, uint64_t spi_i);
int  ike_msgid_sync(struct ike *ike, struct ike_sa *sa);
int  ike_delete_ike(struct ike *ike, struct ike_sa *sa);
/* Takes over the established IKE SAs (and their Child SAs) found in the
 * shm table: after a gwd restart, or on promotion. Returns how many.
 * ike_tick() calls it when the member becomes ACTIVE, and forgets the
 * in-memory SAs (not the table's) when it becomes STANDBY. */
int  ike_adopt(struct ike *ike, uint64_t now);
void ike_forget(struct ike *ike);
struct ike_sa *ike_sa_by_child_spi(struct ike *ike, uint32_t spi, int *child);

const char *ike_state_name(int state);

/* ike_shm.c: the shm table side. All take the table lock themselves. */
int  ike_shm_write_ike(struct ike *ike, struct ike_sa *sa);
void ike_shm_msgids(struct ike *ike, struct ike_sa *sa);
void ike_shm_free_ike(struct ike *ike, struct ike_sa *sa);
int  ike_shm_child_install(struct ike *ike, struct ike_sa *sa, struct ike_child *ch,
			   const uint8_t *key_in, const uint8_t *key_out, int shm_state);
void ike_shm_child_state(struct ike *ike, struct ike_child *ch, int shm_state);
void ike_shm_child_free(struct ike *ike, struct ike_child *ch);
void ike_shm_child_owner(struct ike *ike, struct ike_sa *sa, struct ike_child *ch);
uint32_t ike_shm_child_flags(struct ike *ike, const struct ike_child *ch);
uint32_t ike_shm_ike_flags(struct ike *ike, const struct ike_sa *sa);
void ike_shm_ike_clear_flags(struct ike *ike, const struct ike_sa *sa, uint32_t f);
uint64_t ike_shm_child_packets(struct ike *ike, const struct ike_child *ch);
/* SPIs with the member id in the top four bits (cluster-safe). */
uint32_t ike_alloc_child_spi(struct ike *ike);
uint64_t ike_alloc_ike_spi(struct ike *ike);

#endif
