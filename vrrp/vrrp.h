/* vrrp's private header: the daemon's state and its modules' entry points. */
#ifndef HAGW_VRRP_H
#define HAGW_VRRP_H

#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "fsm.h"
#include "proto.h"
#include "sa_table.h"
#include "vrrp_status.h"

/* One virtual address and where it lives. */
struct vrrp_vip {
	uint32_t addr;
	uint8_t  plen;
	int      ifindex;
	int      pkt_fd;               /* AF_PACKET socket for its GARPs */
	uint8_t  mac[6];
	const char *dev;
};

struct vrrpd {
	uv_loop_t *loop;
	struct config cfg;
	struct sa_table table;
	struct vrrp_fsm fsm;
	int csum_mode;

	int ifindex;                   /* the advert interface */
	uint32_t primary;              /* our source address */
	struct vrrp_vip vips[CONF_VRRP_MAX_VIPS];
	uint32_t vip_addrs[CONF_VRRP_MAX_VIPS];
	uint32_t n_vips;

	int raw_fd;                    /* IPPROTO_VRRP, IP_HDRINCL */
	uv_poll_t raw_poll;

	/* timers.c */
	int timer_fd;                  /* the FSM's deadline (timerfd) */
	uv_poll_t timer_poll;
	uv_timer_t garp_timer;
	uint32_t garp_left;
	uv_timer_t sync_timer;

	uv_signal_t sig_term, sig_int;
	struct vrrp_status status;     /* as last published */
	int stopping;
};

/* net.c: the advert socket. */
int  vrrp_net_open(struct vrrpd *d);
void vrrp_net_close(struct vrrpd *d);
void vrrp_net_send(struct vrrpd *d, uint8_t priority);
int  vrrp_net_start(struct vrrpd *d);

/* garp.c: gratuitous ARP through AF_PACKET. */
int  vrrp_garp_open(struct vrrpd *d);
void vrrp_garp_close(struct vrrpd *d);
void vrrp_garp_send_all(struct vrrpd *d);

/* gw.c: what the FSM's actions do to this member. */
void vrrp_gw_run(struct vrrpd *d, uint32_t actions);
void vrrp_gw_publish(struct vrrpd *d);
uint8_t vrrp_gw_effective_priority(const struct vrrpd *d);

/* timers.c: every timer of the daemon. */
int  vrrp_timers_start(struct vrrpd *d);
void vrrp_timers_arm(struct vrrpd *d);
void vrrp_timers_garp_start(struct vrrpd *d);
void vrrp_timers_garp_stop(struct vrrpd *d);
void vrrp_timers_close(struct vrrpd *d);

uint64_t vrrp_now_us(void);

#endif
