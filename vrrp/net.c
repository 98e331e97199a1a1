/*
 * The advert socket: one raw IPPROTO_VRRP socket bound to the interface.
 * We write the IPv4 header ourselves (IP_HDRINCL) for TTL 255 and the
 * source address; the kernel hands received adverts to us with theirs.
 *
 * Multicast mode joins 224.0.0.18 on the interface. Unicast mode sends one
 * copy to each configured peer and accepts adverts from those peers only.
 * Receive is a flat sequence of checks: the codec's (proto.c), then our
 * own advert, the peer list and the address list, each with its counter.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "vrrp.h"

#define RX_BATCH 32 /* reads per wakeup: one flood does not starve timers */

#define CTR(d, name) sa_ctr_add(&(d)->table, CTR_##name, 1)

static int sockopt(int fd, int level, int opt, const void *v, socklen_t len)
{
	return setsockopt(fd, level, opt, v, len) < 0 ? -errno : 0;
}

int vrrp_net_open(struct vrrpd *d)
{
	const struct conf_vrrp *v = &d->cfg.vrrp;
	struct ip_mreqn mreq = { .imr_ifindex = d->ifindex };
	int fd, one = 1, zero = 0, ttl = VRRP_TTL, rc;

	fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, VRRP_IPPROTO);
	if (fd < 0)
		return -errno;
	if ((rc = sockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, v->interface,
			  (socklen_t)strlen(v->interface))) < 0 ||
	    (rc = sockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one))) < 0 ||
	    (rc = sockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl))) < 0 ||
	    (rc = sockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof(zero))) < 0 ||
	    (rc = sockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq))) < 0)
		goto fail;
	if (!v->n_peers) {
		mreq.imr_multiaddr.s_addr = htonl(VRRP_MCAST_GROUP);
		if ((rc = sockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq))) < 0)
			goto fail;
	}
	d->raw_fd = fd;
	return 0;
fail:
	close(fd);
	return rc;
}

void vrrp_net_close(struct vrrpd *d)
{
	if (d->raw_fd >= 0)
		close(d->raw_fd);
	d->raw_fd = -1;
}

static void send_one(struct vrrpd *d, struct vrrp_advert *a, uint32_t dst)
{
	uint8_t buf[VRRP_PKT_MAX];
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(dst) };
	size_t len;

	a->dst = dst;
	len = vrrp_proto_build(buf, sizeof(buf), a, d->csum_mode);
	if (len && sendto(d->raw_fd, buf, len, 0, (struct sockaddr *)&sin, sizeof(sin)) ==
			   (ssize_t)len) {
		CTR(d, vrrp_tx_adverts);
		return;
	}
	CTR(d, vrrp_tx_errors);
	log_warnx_rl("cannot send an advert: %s", strerror(errno));
}

/* RFC 5798 7.2: our fields, TTL 255, protocol 112, to the group (or to
 * each unicast peer). */
void vrrp_net_send(struct vrrpd *d, uint8_t priority)
{
	const struct conf_vrrp *v = &d->cfg.vrrp;
	struct vrrp_advert a = {
		.src = d->primary,
		.ttl = VRRP_TTL,
		.vrid = (uint8_t)v->vrid,
		.priority = priority,
		.count = (uint8_t)d->n_vips,
		.interval_cs = (uint16_t)v->advert_interval,
	};
	uint32_t i;

	memcpy(a.addrs, d->vip_addrs, d->n_vips * sizeof(a.addrs[0]));
	if (!v->n_peers) {
		send_one(d, &a, VRRP_MCAST_GROUP);
		return;
	}
	for (i = 0; i < v->n_peers; i++)
		send_one(d, &a, v->peers[i]);
}

static int peer_listed(const struct conf_vrrp *v, uint32_t src)
{
	uint32_t i;

	for (i = 0; i < v->n_peers; i++)
		if (v->peers[i] == src)
			return 1;
	return 0;
}

static void addr_warn(const char *what, uint32_t src)
{
	char a[16];

	log_warnx_rl("advert from %s dropped: %s", conf_addr_str(src, a), what);
}

/* The checks after the codec's; 1 if the FSM should see the advert. */
static int advert_ok(struct vrrpd *d, const struct vrrp_advert *a)
{
	const struct conf_vrrp *v = &d->cfg.vrrp;

	if (a->src == d->primary) {
		CTR(d, vrrp_drop_own);
		return 0;
	}
	if (v->n_peers && !peer_listed(v, a->src)) {
		CTR(d, vrrp_drop_peer);
		addr_warn("not a configured peer", a->src);
		return 0;
	}
	/* 7.1: an address list unlike ours is dropped unless the sender is
	 * the address owner. */
	if (a->priority != VRRP_PRIO_OWNER && !vrrp_proto_addrs_match(a, d->vip_addrs, d->n_vips)) {
		CTR(d, vrrp_drop_addr_list);
		addr_warn("its address list differs from ours", a->src);
		return 0;
	}
	if (a->interval_cs != v->advert_interval)
		log_debug("master advertises %u cs, we are configured for %u cs (7.1)",
			  a->interval_cs, v->advert_interval);
	return 1;
}

static void on_packet(struct vrrpd *d, const uint8_t *pkt, size_t len)
{
	struct vrrp_advert a;
	enum vrrp_rx_verdict rc;

	rc = vrrp_proto_parse(pkt, len, (uint8_t)d->cfg.vrrp.vrid, d->csum_mode, &a);
	if (rc != VRRP_RX_OK) {
		sa_ctr_add(&d->table, vrrp_proto_counter(rc), 1);
		log_warnx_rl("advert dropped: %s", vrrp_proto_verdict_name(rc));
		return;
	}
	if (!advert_ok(d, &a))
		return;
	CTR(d, vrrp_rx_adverts);
	vrrp_gw_run(d, vrrp_fsm_advert(&d->fsm, vrrp_now_us(), a.src, a.priority, a.interval_cs));
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct vrrpd *d = h->data;
	uint8_t buf[VRRP_PKT_MAX + 64];
	int i;

	for (i = 0; i < RX_BATCH; i++) {
		ssize_t n = recv(d->raw_fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("recv");
			return;
		}
		on_packet(d, buf, (size_t)n);
	}
}

int vrrp_net_start(struct vrrpd *d)
{
	int rc;

	if ((rc = uv_poll_init(d->loop, &d->raw_poll, d->raw_fd)) < 0)
		return rc;
	d->raw_poll.data = d;
	return uv_poll_start(&d->raw_poll, UV_READABLE, on_readable);
}
