/*
 * The member's config file: INI syntax (libinih), one file per member, read
 * by every daemon of that member and by gwctl.
 *
 *   [gateway]       this member: id, TUN, outer address, shm table, limits
 *   [sa NAME]       a manually keyed Child SA pair (repeatable)
 *   [...]           the other daemons' sections (conf_sections.h)
 *
 * Each section kind has its own parser; an unknown section or key is an
 * error. Every error is reported as `file:line: message 'token'`.
 */
#ifndef HAGW_CONFIG_H
#define HAGW_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "sa_table.h"

#define CONF_PATH_MAX 256
#define CONF_MAX_SAS  4096

struct conf_gateway {
	uint32_t member_id;          /* 0..15 (it is part of the ESP IV) */
	char     name[32];
	char     tun[16];            /* TUN device name */
	uint32_t tun_mtu;
	uint32_t tun_txqlen;         /* kernel queue in front of our reads */
	uint32_t local_addr;         /* outer address (the VIP in a cluster) */
	uint16_t port;               /* UDP port for ESP-in-UDP and IKE */
	char     shm[64];            /* POSIX shm name of the SA table */
	char     control[CONF_PATH_MAX]; /* control socket */
	uint32_t child_capacity, ike_capacity;
	uint32_t replay_window;      /* default inbound window */
	uint32_t rekey_threshold;    /* percent of the sequence space */
	uint32_t sock_buf;           /* UDP SO_SNDBUF/SO_RCVBUF bytes */
	uint32_t batch;              /* packets per wakeup and per sendmmsg */
	uint32_t queue_len;          /* bounded tx queues, packets */
	uint32_t pool_size;          /* preallocated packet buffers */
	int      standalone;         /* 1: not in a cluster; ACTIVE at start */
	int      anti_replay;        /* 0: accept any sequence (comparison peer) */
	int      udp_offload;        /* UDP GSO on send, GRO on receive */
	int      tun_offload;        /* IFF_VNET_HDR: coalesced TCP to the TUN */
};

struct conf_sa {
	char     name[SA_NAME_MAX];
	int      line;               /* where the section starts */
	uint32_t spi_in, spi_out;
	int      alg;
	struct sa_keymat key_in, key_out;
	int      have_key_in, have_key_out;
	int      esn;
	struct sa_ts ts_local, ts_remote;
	int      have_local, have_remote;
	uint32_t peer_addr;
	uint16_t peer_port;
	uint64_t initial_seq;        /* outbound counter starts here (tests) */
	uint32_t replay_window;      /* 0: the gateway default */
};

#include "conf_sections.h"

struct config {
	char path[CONF_PATH_MAX];
	struct conf_gateway gw;
	struct conf_sa *sas;
	uint32_t n_sas;
	/* Sections of the other daemons (conf_sections.h) follow here. */
	struct conf_ike ike;         /* [ike] and [conn NAME] (conf_ike.c) */
	struct conf_sync sync;
	struct conf_vrrp vrrp;
	struct conf_failover failover;
};

/* Where a parse error is reported. */
struct conf_err {
	char msg[512];
};

/* Parses `path` into `c` (defaults first). Returns 0, or -1 with the
 * message `file:line: what 'token'` in err->msg. */
int  config_load(struct config *c, const char *path, struct conf_err *err);
int  config_load_string(struct config *c, const char *name, const char *text, struct conf_err *err);
void config_free(struct config *c);

/* Value parsers shared by the section parsers. Each returns 0 or -1 and
 * then fills `why` with a short reason. */
int conf_parse_u32(const char *v, uint32_t min, uint32_t max, uint32_t *out, const char **why);
int conf_parse_u64(const char *v, uint64_t *out, const char **why);
int conf_parse_bool(const char *v, int *out, const char **why);
int conf_parse_addr(const char *v, uint32_t *out, const char **why);
int conf_parse_prefix(const char *v, struct sa_ts *out, const char **why);
int conf_parse_hex(const char *v, uint8_t *out, size_t len, const char **why);
int conf_parse_str(const char *v, char *out, size_t cap, const char **why);

/* Formatting helpers. */
const char *conf_addr_str(uint32_t addr, char buf[16]);
const char *conf_ts_str(const struct sa_ts *ts, char buf[20]);
int ts_contains(const struct sa_ts *ts, uint32_t addr);

#endif
