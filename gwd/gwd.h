/* gwd's private header: the daemon's state and its modules' entry points. */
#ifndef HAGW_GWD_H
#define HAGW_GWD_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "esp.h"
#include "ike.h"
#include "gro.h"
#include "promote.h"
#include "sa_table.h"

/* A packet buffer. Data starts at `off`; outbound packets are read from
 * the TUN at ESP_PAYLOAD_OFF so the ESP header goes in front in place. */
#define PKT_BUF_SIZE 2048

struct pkt {
	uint32_t off, len;
	struct sockaddr_in peer;
	struct pkt *next;               /* free list */
	uint8_t data[PKT_BUF_SIZE];
};

struct pkt_pool {
	struct pkt *bufs;
	struct pkt *free;
	uint32_t size, avail;
};

/* A bounded FIFO of packets waiting for sendmmsg. */
struct pkt_queue {
	struct pkt **ring;
	uint32_t cap, head, count;
};

/* gwd's own view of one Child SA: the prepared keys and where its shm
 * record is. Rebuilt when the table's generation moves. */
struct gwd_sa {
	uint32_t idx;                   /* slot in the shm table */
	uint32_t gen;
	struct child_sa_rec *rec;
	struct esp_key key_in, key_out;
	uint32_t spi_in, spi_out;
	uint32_t flags;
	struct sa_ts ts_local, ts_remote;
	struct sockaddr_in peer;
	uint32_t window;
	int esn;
	int sends;                      /* INSTALLED (not REKEYED) */
	uint64_t ceiling, threshold;    /* outbound sequence limits */
};

struct gwd_sadb {
	struct gwd_sa *sas;             /* aligned: esp_key holds AES state */
	uint32_t n, cap;
	uint32_t *spi_hash;             /* open addressing: index+1, 0 = empty */
	uint32_t hash_mask;
	uint64_t table_gen;
};

/* Room for one UDP_SEGMENT (u16) or UDP_GRO (int) control message. */
union dp_cmsg {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

struct gwd {
	struct config cfg;
	struct sa_table table;
	struct gwd_sadb db;
	uv_loop_t *loop;
	int tun_fd, udp_fd;
	int tun_ifindex;
	uv_poll_t tun_poll, udp_poll;
	uv_signal_t sig_term, sig_int;
	uv_timer_t housekeeping;
	struct pkt_pool pool;
	struct pkt_queue txq;
	int udp_writable_wait;
	uint32_t member_id;
	/* IKE: UDP 500 (4500 is the data plane's socket), the engine, its
	 * tick and the control socket */
	struct ike ike;
	int ike_fd;
	uv_poll_t ike_poll;
	uv_timer_t ike_timer;
	int ctl_fd;
	uv_poll_t ctl_poll;
	/* batch scratch */
	struct mmsghdr *mmsg;
	struct iovec *iov;
	struct pkt **batch;
	/* UDP GSO: datagrams up to gso_max bytes may share a message (0: off) */
	uint32_t gso_max;
	uint32_t *msg_pkts;             /* packets in each message of a send */
	union dp_cmsg *cmsg;            /* one UDP_SEGMENT cmsg per message */
	/* TUN with IFF_VNET_HDR: a virtio_net_hdr before every packet, and
	 * TCP segments coalesced on the way in (gro.h) */
	int tun_vnet;
	struct gro gro;
	uint8_t *tun_buf;               /* vnet header + one TSO read */
	/* UDP GRO on the socket: batch receive buffers of 64 KiB */
	int udp_gro;
	uint8_t *rx_buf;
	struct sockaddr_in *rx_peer;
	/* the last promotion's inbound policy (promote.h, step 4) */
	struct promote_params_cache promote;
};


/* sadb.c */
int  gwd_sadb_sync(struct gwd *g);   /* rebuild if the table moved */
struct gwd_sa *gwd_sadb_by_spi(struct gwd *g, uint32_t spi);
struct gwd_sa *gwd_sadb_out(struct gwd *g, uint32_t src, uint32_t dst);
void gwd_sadb_free(struct gwd *g);
int  gwd_install_manual(struct gwd *g);

/* pool.c */
int  pkt_pool_init(struct pkt_pool *p, uint32_t n);
void pkt_pool_free(struct pkt_pool *p);
struct pkt *pkt_get(struct pkt_pool *p);
void pkt_put(struct pkt_pool *p, struct pkt *k);
int  pkt_queue_init(struct pkt_queue *q, uint32_t cap);
void pkt_queue_free(struct pkt_queue *q);
int  pkt_queue_push(struct pkt_queue *q, struct pkt *k);
struct pkt *pkt_queue_peek(struct pkt_queue *q, uint32_t i);
void pkt_queue_drop_front(struct pkt_queue *q, uint32_t n);

/* tun.c */
int  tun_open(const char *name, uint32_t mtu, uint32_t txqlen, int vnet, int *ifindex);
int  tun_add_routes(struct gwd *g);

/* dataplane.c */
int  dp_start(struct gwd *g);
void dp_stop(struct gwd *g);
/* One inbound UDP payload (exported for tests): ESP, IKE or keepalive. */
void dp_input(struct gwd *g, struct pkt *k);
/* One packet read from the TUN; returns 1 if it was queued for sending. */
int  dp_output(struct gwd *g, struct pkt *k);
void dp_flush(struct gwd *g);
/* Writes the packet the TUN coalescer holds, if any (dp_input may hold one). */
void dp_tun_flush(struct gwd *g);
int  dp_inner_ok(const struct gwd_sa *sa, const uint8_t *ip, size_t len, size_t *ip_len);

/* ike_io.c: the IKE engine's sockets and timer */
int  gwd_ike_start(struct gwd *g);
void gwd_ike_stop(struct gwd *g);
/* One message that came on 4500 after the non-ESP marker. */
void gwd_ike_input_natt(struct gwd *g, const struct pkt *k, const uint8_t *msg, size_t len);

/* ctl.c: the control socket (gw.control), one command per line */
int  ctl_start(struct gwd *g);
void ctl_stop(struct gwd *g);
/* Runs one command line; writes the answer (ending "ok" or "error: ...")
 * into out. Exported for tests. */
void ctl_exec(struct gwd *g, char *line, char *out, size_t cap);

#endif
