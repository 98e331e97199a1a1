/*
 * gwd: the ESP gateway daemon. Carries ESP-in-UDP between a TUN device and
 * UDP port 4500 for the SAs in this member's shared-memory table, and
 * negotiates them with IKEv2 for each [conn] of the config (ike.h).
 *
 *   gwd -c FILE [-n] [-v] [-p PIDFILE]
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gwd.h"
#include "log.h"

static void usage(void)
{
	fprintf(stderr, "usage: gwd -c config [-n] [-v] [-p pidfile]\n"
			"  -n  check the config and exit\n"
			"  -v  verbose (debug) logging\n");
	exit(1);
}

static int udp_open(const struct conf_gateway *gw)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int one = 1, buf = (int)gw->sock_buf, fd, rc;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	/* IP_FREEBIND: the VIP may not be on this member yet (standby). */
	setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Large buffers: a tunnel that drops bursts here makes TCP collapse.
	 * The FORCE variants (root) pass net.core.[rw]mem_max. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	sin.sin_addr.s_addr = htonl(gw->local_addr);
	sin.sin_port = htons(gw->port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* UDP GSO needs Linux 4.18: getsockopt tells whether this kernel has it. */
static uint32_t udp_gso_probe(int fd, int want)
{
	int v;
	socklen_t l = sizeof(v);

	if (!want)
		return 0;
	if (getsockopt(fd, SOL_UDP, UDP_SEGMENT, &v, &l) < 0) {
		log_info("udp gso: not supported by this kernel (%s)", strerror(errno));
		return 0;
	}
	return PKT_BUF_SIZE;
}

/* UDP GRO needs Linux 5.0; without it each datagram comes alone. */
static int udp_gro_enable(int fd, int want)
{
	int one = 1;

	if (!want)
		return 0;
	if (setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0) {
		log_info("udp gro: not supported by this kernel (%s)", strerror(errno));
		return 0;
	}
	return 1;
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct gwd *g = h->data;

	log_info("signal %d: stopping", signum);
	uv_stop(g->loop);
}

static uint64_t routed_gen;

static void on_housekeeping(uv_timer_t *t)
{
	struct gwd *g = t->data;

	gwd_sadb_sync(g);
	if (g->db.table_gen != routed_gen && tun_add_routes(g) == 0)
		routed_gen = g->db.table_gen;
	atomic_store(&g->table.hdr->gwd_pid, (uint32_t)getpid());
}

int main(int argc, char **argv)
{
	static struct gwd g;
	const char *conf = NULL, *pidfile = NULL;
	struct conf_err err;
	int ch, check = 0, verbose = 0, rc;

	while ((ch = getopt(argc, argv, "c:np:v")) != -1) {
		switch (ch) {
		case 'c': conf = optarg; break;
		case 'n': check = 1; break;
		case 'p': pidfile = optarg; break;
		case 'v': verbose++; break;
		default: usage();
		}
	}
	if (!conf || optind != argc)
		usage();
	log_init("gwd", 1, verbose);
	if (config_load(&g.cfg, conf, &err) < 0) {
		fprintf(stderr, "gwd: %s\n", err.msg);
		return 1;
	}
	if (check) {
		printf("gwd: %s: config OK (%u manual SAs)\n", conf, g.cfg.n_sas);
		return 0;
	}
	if (esp_crypto_init() < 0)
		fatalx("libsodium failed to initialise");
	g.member_id = g.cfg.gw.member_id;

	if ((rc = sa_table_create(&g.table, g.cfg.gw.shm, g.cfg.gw.member_id,
				  g.cfg.gw.child_capacity, g.cfg.gw.ike_capacity)) < 0) {
		errno = -rc;
		fatal("sa table %s", g.cfg.gw.shm);
	}
	/* marks of moving counters for syncd's threshold (sa_table.h) */
	sa_moved_start(&g.table, g.cfg.sync.packet_threshold);
	if (g.cfg.gw.standalone && atomic_load(&g.table.hdr->role) != SA_ROLE_ACTIVE) {
		atomic_store(&g.table.hdr->role, SA_ROLE_ACTIVE);
		atomic_fetch_add(&g.table.hdr->epoch, 1);
	}
	if (gwd_install_manual(&g) < 0)
		fatalx("cannot install the manual SAs");
	if ((rc = gwd_sadb_sync(&g)) < 0) {
		errno = -rc;
		fatal("sadb");
	}
	g.tun_vnet = g.cfg.gw.tun_offload;
	if ((g.tun_fd = tun_open(g.cfg.gw.tun, g.cfg.gw.tun_mtu, g.cfg.gw.tun_txqlen, g.tun_vnet,
				 &g.tun_ifindex)) < 0) {
		errno = -g.tun_fd;
		fatal("tun %s", g.cfg.gw.tun);
	}
	if (tun_add_routes(&g) < 0)
		fatalx("cannot add the tunnel routes");
	routed_gen = g.db.table_gen;
	if ((g.udp_fd = udp_open(&g.cfg.gw)) < 0) {
		errno = -g.udp_fd;
		fatal("udp port %u", g.cfg.gw.port);
	}
	g.gso_max = udp_gso_probe(g.udp_fd, g.cfg.gw.udp_offload);
	g.udp_gro = udp_gro_enable(g.udp_fd, g.cfg.gw.udp_offload);

	g.loop = uv_default_loop();
	if ((rc = dp_start(&g)) < 0) {
		errno = -rc;
		fatal("data plane");
	}
	if ((rc = gwd_ike_start(&g)) < 0) {
		errno = -rc;
		fatal("ike (udp port 500 on the local address)");
	}
	if ((rc = ctl_start(&g)) < 0) {
		errno = -rc;
		log_warn("control socket %s", g.cfg.gw.control);
	}
	uv_signal_init(g.loop, &g.sig_term);
	uv_signal_init(g.loop, &g.sig_int);
	g.sig_term.data = g.sig_int.data = &g;
	uv_signal_start(&g.sig_term, on_signal, SIGTERM);
	uv_signal_start(&g.sig_int, on_signal, SIGINT);
	uv_timer_init(g.loop, &g.housekeeping);
	g.housekeeping.data = &g;
	uv_timer_start(&g.housekeeping, on_housekeeping, 0, 1000);
	atomic_store(&g.table.hdr->gwd_pid, (uint32_t)getpid());
	atomic_store(&g.table.hdr->gwd_started_ms, wall_ms());
	log_pidfile(pidfile);
	log_info("member %u (%s) on %s, udp %u, %u SAs, role %s", g.cfg.gw.member_id, g.cfg.gw.name,
		 g.cfg.gw.tun, g.cfg.gw.port, g.db.n, sa_role_name((int)atomic_load(&g.table.hdr->role)));

	uv_run(g.loop, UV_RUN_DEFAULT);

	ctl_stop(&g);
	gwd_ike_stop(&g);
	dp_stop(&g);
	uv_close((uv_handle_t *)&g.housekeeping, NULL);
	uv_close((uv_handle_t *)&g.sig_term, NULL);
	uv_close((uv_handle_t *)&g.sig_int, NULL);
	uv_close((uv_handle_t *)&g.tun_poll, NULL);
	uv_close((uv_handle_t *)&g.udp_poll, NULL);
	uv_run(g.loop, UV_RUN_NOWAIT);
	atomic_store(&g.table.hdr->gwd_pid, 0);
	close(g.udp_fd);
	close(g.tun_fd);
	gwd_sadb_free(&g);
	sa_table_detach(&g.table);
	config_free(&g.cfg);
	if (pidfile)
		unlink(pidfile);
	return 0;
}
