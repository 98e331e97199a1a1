/*
 * Config sections owned by the other daemons. Each section kind has its
 * struct here, a member in struct config (config.h), a row in the section
 * table in config.c, and its parser (defaults, set, check) in
 * conf_<kind>.c.
 */
#ifndef HAGW_CONF_SECTIONS_H
#define HAGW_CONF_SECTIONS_H

#include <stdint.h>

struct config;

/* --- IKEv2 (conf_ike.c): [ike] and [conn NAME] --- */

#define IKE_MAX_SUITES   8
#define CONF_MAX_CONNS   64
#define CONF_ID_MAX      128
#define CONF_PSK_MAX     128

enum { IKE_ESN_NO = 1, IKE_ESN_YES = 2 }; /* ike_suite.esn_mask bits */

/* One proposal the config names, strongSwan-style:
 * IKE "aes256gcm16-prfsha256-x25519", ESP "aes256gcm16[-x25519][-esn][-noesn]". */
struct ike_suite {
	uint8_t enc;      /* enum sa_alg */
	uint8_t dh;       /* 1: X25519 (always for IKE; ESP: PFS on rekey) */
	uint8_t esn_mask; /* ESP only: IKE_ESN_* */
};

struct ike_suites {
	struct ike_suite s[IKE_MAX_SUITES];
	unsigned n;
};

/* An ID payload body as configured: type and data (RFC 7296 3.5). */
struct conf_ike_id {
	uint8_t type;     /* IKE_ID_IPV4 1, FQDN 2, RFC822 3 */
	uint8_t len;
	uint8_t data[CONF_ID_MAX];
};

struct conf_ike_conn {
	char     name[32];
	int      line;
	uint32_t peer_addr;              /* host order */
	uint16_t peer_port;              /* IKE_SA_INIT goes here (500) */
	struct conf_ike_id local_id, remote_id;
	int      have_local_id, have_remote_id;
	uint8_t  psk[CONF_PSK_MAX];
	uint32_t psk_len;
	struct ike_suites ike, esp;
	struct sa_ts local_ts, remote_ts;        /* struct sa_ts: sa_table.h */
	int      have_local_ts, have_remote_ts;
	int      initiator;              /* 1: start the IKE SA */
	int      pfs;                    /* 1: X25519 on Child SA rekeys */
	uint32_t dpd_s;                  /* liveness check interval, 0 = off */
	uint32_t ike_lifetime_s;         /* IKE SA rekey after */
	uint32_t child_lifetime_s;       /* Child SA rekey after */
	uint64_t child_life_packets;     /* Child SA rekey after (0 = off) */
};

/* [ike]: timers shared by every connection. */
struct conf_ike {
	uint32_t retransmit_ms;          /* first retransmission timeout */
	uint32_t retransmit_tries;       /* then the SA is given up */
	uint32_t half_open_s;            /* responder SAs waiting for IKE_AUTH */
	uint32_t cookie_threshold;       /* half-open SAs before we ask cookies */
	uint32_t rekey_rate;             /* Child SA rekeys started per second */
	struct conf_ike_conn *conns;
	uint32_t n_conns;
};

/* The section parsers (rows of section_kinds[] in config.c). */
int  conf_ike_set(struct config *c, const char *name, int line, const char *key,
		  const char *val, const char **why);
int  conf_conn_set(struct config *c, const char *name, int line, const char *key,
		   const char *val, const char **why);
int  conf_ike_check(struct config *c, const char **why, int *line);
void conf_ike_free(struct config *c);

int conf_ike_suites_parse(const char *text, int esp, struct ike_suites *s, const char **why);
const struct conf_ike_conn *conf_ike_conn_by_peer(const struct conf_ike *c, uint32_t addr);
const struct conf_ike_conn *conf_ike_conn_by_name(const struct conf_ike *c, const char *name);
/* [sync]: syncd (conf_sync.c, docs/syncd.md). Absent: syncd refuses to run. */
#define CONF_SYNC_PSK_LEN 32
struct conf_sync {
	int      present;            /* the section was in the file */
	int      line;               /* its first key, for errors found in check */
	uint32_t local_addr;         /* sync link address of this member */
	uint32_t peer_addr;          /* sync link address of the other member */
	uint16_t port;               /* TCP port, both ends */
	uint8_t  psk[CONF_SYNC_PSK_LEN];
	int      have_psk;
	char     psk_file[256];
	int      psk_file_line;
	uint32_t interval_ms;        /* counter sync interval (default 100) */
	uint32_t scan_ms;            /* table scan period (default interval/4) */
	uint32_t packet_threshold;   /* early counter update (default 1024) */
	uint32_t m_window;           /* intervals behind M (default 16) */
	uint32_t heartbeat_ms;       /* default 200 */
	uint32_t timeout_ms;         /* silence that drops the link (default 1000) */
	uint32_t backoff_min_ms;     /* reconnect backoff (default 100) */
	uint32_t backoff_max_ms;     /* (default 5000) */
	uint32_t send_queue;         /* bytes queued per peer (default 4 MiB) */
};

int conf_sync_set(struct config *c, const char *name, int line, const char *key,
		  const char *val, const char **why);
int conf_sync_check(struct config *c, const char **why, int *line);
/* [vrrp]: the VRRPv3 elector (conf_vrrp.c, docs/vrrp.md). */
#define CONF_VRRP_MAX_VIPS  8
#define CONF_VRRP_MAX_PEERS 8

struct conf_vrrp_vip {
	uint32_t addr;               /* host order */
	uint8_t  plen;
	char     dev[16];
	int      line;
};

struct conf_vrrp {
	int      present;            /* the section was given */
	int      line;               /* where it starts */
	char     interface[16];      /* adverts go out and come in here */
	uint32_t vrid;               /* 1..255 */
	uint32_t priority;           /* 1..255; 255 = address owner */
	uint32_t advert_interval;    /* centiseconds, 1..4095 */
	int      preempt;
	uint32_t preempt_delay;      /* ms after start-up */
	struct conf_vrrp_vip vips[CONF_VRRP_MAX_VIPS];
	uint32_t n_vips;
	uint32_t peers[CONF_VRRP_MAX_PEERS]; /* unicast mode when n_peers > 0 */
	uint32_t n_peers;
	int      checksum_pseudo;    /* 1: RFC 5798 IPv4 pseudo-header */
	uint32_t garp_count;         /* repeats after the first GARP */
	uint32_t garp_interval;      /* ms between them */
	char     notify[256];        /* script, run with the new state */
	uint32_t sync_demote;        /* priority lowered by this when not in sync */
	int      require_sync;
	uint32_t source;             /* primary address; 0 = the interface's */
};

void conf_vrrp_defaults(struct conf_vrrp *v);
int  conf_vrrp_set(struct config *c, const char *name, int line, const char *key,
		   const char *val, const char **why);
int  conf_vrrp_check(struct config *c, const char **why, int *line);

/* [failover]: the promotion's counter seeding and rekey policy
 * (conf_failover.c, docs/failover.md). Absent: every default. */
enum conf_failover_strategy {
	CONF_FAILOVER_SEED         = 0, /* seed the counters, rekey only near the ceiling */
	CONF_FAILOVER_GLOBAL_REKEY = 1, /* rekey every Child SA, no seeding */
	CONF_FAILOVER_NONE         = 2, /* resume from S_0 as synced */
};

enum conf_failover_inbound {
	CONF_INBOUND_LEARN  = 0, /* the window restarts at the synced top */
	CONF_INBOUND_STRICT = 1, /* ... at the synced top + X * max(M_in, M_min) * k */
};

struct conf_failover {
	int      present;
	int      line;
	uint32_t strategy;           /* enum conf_failover_strategy (default seed) */
	uint32_t inbound;            /* enum conf_failover_inbound (default learn) */
	uint32_t x_milli;            /* X * 1000, 1500..3000 (default 2000) */
	uint32_t m_min;              /* packets per interval (default [sync] packet_threshold) */
	uint32_t rekey_rate;         /* rekeys started per second by gwd (default 100) */
};

void conf_failover_defaults(struct conf_failover *f);
int  conf_failover_set(struct config *c, const char *name, int line, const char *key,
		       const char *val, const char **why);
int  conf_failover_check(struct config *c, const char **why, int *line);
const char *conf_failover_strategy_name(uint32_t s);
const char *conf_failover_inbound_name(uint32_t i);

#endif
