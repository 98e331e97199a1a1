/*
 * Gratuitous ARP for the VIPs (RFC 5798 6.4.2: "broadcast a gratuitous ARP
 * request containing the virtual router MAC address for each IP address").
 * We keep the interfaces' own MACs (no virtual MAC), as keepalived does by
 * default, which is exactly why the neighbours must be told at once.
 * One AF_PACKET socket per VIP, opened with protocol 0 so it receives
 * nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "vrrp.h"

static int if_mac(int fd, const char *dev, uint8_t mac[6])
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		return -errno;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

int vrrp_garp_open(struct vrrpd *d)
{
	uint32_t i;
	int rc;

	for (i = 0; i < d->n_vips; i++) {
		struct vrrp_vip *v = &d->vips[i];

		v->pkt_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (v->pkt_fd < 0)
			return -errno;
		if ((rc = if_mac(v->pkt_fd, v->dev, v->mac)) < 0)
			return rc;
	}
	return 0;
}

void vrrp_garp_close(struct vrrpd *d)
{
	uint32_t i;

	for (i = 0; i < d->n_vips; i++)
		if (d->vips[i].pkt_fd >= 0) {
			close(d->vips[i].pkt_fd);
			d->vips[i].pkt_fd = -1;
		}
}

static int garp_send(const struct vrrp_vip *v)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ARP),
		.sll_ifindex = v->ifindex,
		.sll_halen = 6,
		.sll_addr = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	};
	uint8_t frame[64];
	size_t len = vrrp_garp_build(frame, sizeof(frame), v->mac, v->addr);

	if (sendto(v->pkt_fd, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll)) != (ssize_t)len)
		return -errno;
	return 0;
}

void vrrp_garp_send_all(struct vrrpd *d)
{
	uint32_t i;

	for (i = 0; i < d->n_vips; i++) {
		int rc = garp_send(&d->vips[i]);

		if (rc < 0) {
			sa_ctr_add(&d->table, CTR_vrrp_garp_errors, 1);
			log_warnx_rl("gratuitous ARP on %s: %s", d->vips[i].dev, strerror(-rc));
			continue;
		}
		sa_ctr_add(&d->table, CTR_vrrp_garp_sent, 1);
	}
}
