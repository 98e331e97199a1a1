/*
 * The IKE engine's I/O in gwd: UDP 500 (IKE_SA_INIT starts there), UDP
 * 4500 shared with the data plane (RFC 3948 2.2: IKE after a four-byte
 * zero non-ESP marker, ESP without), both bound to the gateway's service
 * address, and the engine's tick.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "gwd.h"
#include "log.h"

static int ike_send(void *ctx, uint32_t addr, uint16_t port, int natt, const uint8_t *msg,
		    size_t len)
{
	struct gwd *g = ctx;
	static const uint8_t marker[4];
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct iovec iov[2] = {
		{ .iov_base = (void *)marker, .iov_len = sizeof(marker) },
		{ .iov_base = (void *)msg, .iov_len = len },
	};
	struct msghdr mh = { .msg_name = &to, .msg_namelen = sizeof(to) };

	to.sin_addr.s_addr = htonl(addr);
	to.sin_port = htons(port);
	mh.msg_iov = natt ? iov : iov + 1;
	mh.msg_iovlen = natt ? 2 : 1;
	if (sendmsg(natt ? g->udp_fd : g->ike_fd, &mh, MSG_DONTWAIT) < 0)
		return -errno;
	return 0;
}

static void ike_table_changed(void *ctx)
{
	struct gwd *g = ctx;

	/* The data plane must see a new SA before the peer uses it. */
	gwd_sadb_sync(g);
	tun_add_routes(g);
}

void gwd_ike_input_natt(struct gwd *g, const struct pkt *k, const uint8_t *msg, size_t len)
{
	if (!g->ike.sas) {
		sa_ctr_add(&g->table, CTR_ike_unhandled, 1);
		return;
	}
	/* ESP before this message reaches the TUN first, and no coalesced
	 * packet waits across an SA change the message may cause. */
	dp_tun_flush(g);
	ike_input(&g->ike, now_ms(), ntohl(k->peer.sin_addr.s_addr), ntohs(k->peer.sin_port), 1, msg,
		  len);
}

static void on_ike_readable(uv_poll_t *h, int status, int events)
{
	struct gwd *g = h->data;
	static uint8_t buf[65536];
	int i;

	if (status < 0 || !(events & UV_READABLE))
		return;
	for (i = 0; i < 64; i++) { /* bounded work per wakeup */
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(g->ike_fd, buf, sizeof(buf), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);

		if (n < 0)
			break;
		/* RFC 3948 2.2: on port 500 there is no marker. */
		ike_input(&g->ike, now_ms(), ntohl(from.sin_addr.s_addr), ntohs(from.sin_port), 0,
			  buf, (size_t)n);
	}
}

static void on_ike_tick(uv_timer_t *t)
{
	struct gwd *g = t->data;

	ike_tick(&g->ike, now_ms());
}

static int udp500_open(uint32_t local)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int one = 1, fd, rc;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	/* The service address may be the VIP, not here yet on a standby. */
	setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sin.sin_addr.s_addr = htonl(local);
	sin.sin_port = htons(500);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int gwd_ike_start(struct gwd *g)
{
	struct ike_ops ops = { .ctx = g, .send = ike_send, .table_changed = ike_table_changed };
	int rc;

	g->ike_fd = -1;
	if (!g->cfg.ike.n_conns)
		return 0; /* no [conn]: IKE stays off, like before */
	if ((g->ike_fd = udp500_open(g->cfg.gw.local_addr)) < 0)
		return g->ike_fd;
	if ((rc = ike_init(&g->ike, &g->cfg, &g->table, &ops)) < 0)
		return rc;
	/* the first tick takes over the table's SAs if the member is ACTIVE */
	uv_poll_init(g->loop, &g->ike_poll, g->ike_fd);
	g->ike_poll.data = g;
	uv_poll_start(&g->ike_poll, UV_READABLE, on_ike_readable);
	uv_timer_init(g->loop, &g->ike_timer);
	g->ike_timer.data = g;
	uv_timer_start(&g->ike_timer, on_ike_tick, IKE_TICK_MS, IKE_TICK_MS);
	log_info("ike: %u connections, udp 500 and %u", g->cfg.ike.n_conns, g->cfg.gw.port);
	return 0;
}

void gwd_ike_stop(struct gwd *g)
{
	if (g->ike_fd < 0)
		return;
	uv_poll_stop(&g->ike_poll);
	uv_timer_stop(&g->ike_timer);
	uv_close((uv_handle_t *)&g->ike_poll, NULL);
	uv_close((uv_handle_t *)&g->ike_timer, NULL);
	ike_free(&g->ike);
	close(g->ike_fd);
	g->ike_fd = -1;
}
