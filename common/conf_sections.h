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
