/* The TUN device (IFF_TUN, IFF_NO_PI: bare IPv4 packets) and its routes. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "gwd.h"
#include "log.h"
#include "nl.h"

/* vnet: IFF_VNET_HDR, so that gwd can write coalesced TCP (gro.h), and
 * TSO offered to the kernel (TUN_F_TSO4, which needs TUN_F_CSUM), so that
 * TCP into the tunnel reaches gwd in packets of up to 64 KiB (tso.h). */
int tun_open(const char *name, uint32_t mtu, uint32_t txqlen, int vnet, int *ifindex)
{
	struct ifreq ifr;
	int fd, rc;

	if ((fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (vnet && ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4) < 0)
		log_warn("tun %s: no TSO; plain packets then", ifr.ifr_name);
	if ((rc = nl_link_index(ifr.ifr_name)) < 0 || (*ifindex = rc, rc = nl_link_up(rc, mtu, txqlen)) < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/* A route per remote selector of every SA we hold, so the kernel hands us
 * what is meant for the tunnel. */
int tun_add_routes(struct gwd *g)
{
	char buf[20];
	uint32_t i;
	int rc;

	for (i = 0; i < g->db.n; i++) {
		struct gwd_sa *sa = &g->db.sas[i];

		if ((rc = nl_route_add(g->tun_ifindex, sa->ts_remote.addr, sa->ts_remote.plen)) < 0) {
			errno = -rc;
			log_warn("route %s dev %s", conf_ts_str(&sa->ts_remote, buf), g->cfg.gw.tun);
			return rc;
		}
	}
	return 0;
}
