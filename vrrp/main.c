/*
 * vrrp: the VRRPv3 elector of one member. Elects the active member, moves
 * the VIPs and drives the promotion sequence (DESIGN.md).
 *
 *   vrrp -c FILE [-n] [-v] [-p PIDFILE]
 *
 * It attaches to (or creates) the member's shm table like gwd, since the
 * daemons start in any order, and waits for its interfaces and the
 * interface's IPv4 address, saying what it waits for.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "nl.h"
#include "vrrp.h"

#define WAIT_STEP_MS 100
#define WAIT_LOG_MS  5000

static void usage(void)
{
	fprintf(stderr, "usage: vrrp -c config [-n] [-v] [-p pidfile]\n"
			"  -n  check the config and exit\n"
			"  -v  verbose (debug) logging\n");
	exit(1);
}

static int is_vip(const struct conf_vrrp *v, uint32_t a)
{
	uint32_t i;

	for (i = 0; i < v->n_vips; i++)
		if (v->vips[i].addr == a)
			return 1;
	return 0;
}

/* RFC 5798 7.2: the source is the interface's primary IPv4 address (the
 * first that is not one of ours to move), unless `source` names one. */
static uint32_t primary_addr(const struct conf_vrrp *v)
{
	struct ifaddrs *ifa, *i;
	uint32_t found = 0;

	if (v->source)
		return v->source;
	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i && !found; i = i->ifa_next) {
		uint32_t a;

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    strcmp(i->ifa_name, v->interface))
			continue;
		a = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
		if (!is_vip(v, a))
			found = a;
	}
	freeifaddrs(ifa);
	return found;
}

static void wait_step(uint64_t *waited, const char *what, const char *name)
{
	if (*waited % WAIT_LOG_MS == 0)
		log_info("waiting for %s %s", what, name);
	nanosleep(&(struct timespec){ 0, WAIT_STEP_MS * 1000000L }, NULL);
	*waited += WAIT_STEP_MS;
}

static void wait_for_links(struct vrrpd *d)
{
	const struct conf_vrrp *v = &d->cfg.vrrp;
	uint64_t waited = 0;
	uint32_t i;

	while ((d->ifindex = nl_link_index(v->interface)) < 0)
		wait_step(&waited, "interface", v->interface);
	while (!(d->primary = primary_addr(v)))
		wait_step(&waited, "an IPv4 address on", v->interface);
	d->n_vips = v->n_vips;
	for (i = 0; i < v->n_vips; i++) {
		struct vrrp_vip *x = &d->vips[i];

		x->addr = v->vips[i].addr;
		x->plen = v->vips[i].plen;
		x->dev = v->vips[i].dev;
		x->pkt_fd = -1;
		d->vip_addrs[i] = x->addr;
		while ((x->ifindex = nl_link_index(x->dev)) < 0)
			wait_step(&waited, "interface", x->dev);
	}
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct vrrpd *d = h->data;

	if (d->stopping)
		return;
	d->stopping = 1;
	log_info("signal %d: stopping", signum);
	/* 6.4.3 Shutdown: a master sends priority 0 and gives up the VIPs. */
	vrrp_gw_run(d, vrrp_fsm_shutdown(&d->fsm, vrrp_now_us()));
	uv_stop(d->loop);
}

static void setup(struct vrrpd *d)
{
	const struct conf_vrrp *v = &d->cfg.vrrp;
	struct vrrp_fsm_cfg fc;
	int rc;

	if ((rc = sa_table_create(&d->table, d->cfg.gw.shm, d->cfg.gw.member_id,
				  d->cfg.gw.child_capacity, d->cfg.gw.ike_capacity)) < 0) {
		errno = -rc;
		fatal("sa table %s", d->cfg.gw.shm);
	}
	if (d->cfg.gw.standalone)
		log_warnx("[gateway] standalone = yes: gwd makes itself ACTIVE whatever vrrp "
			  "elects; set standalone = no in a cluster");
	wait_for_links(d);
	d->csum_mode = v->checksum_pseudo ? VRRP_CSUM_PSEUDO : VRRP_CSUM_RFC9568;
	if ((rc = vrrp_net_open(d)) < 0) {
		errno = -rc;
		fatal("raw socket on %s", v->interface);
	}
	if ((rc = vrrp_garp_open(d)) < 0) {
		errno = -rc;
		fatal("packet socket for gratuitous ARP");
	}
	fc = (struct vrrp_fsm_cfg){
		.vrid = (uint8_t)v->vrid,
		.priority = (uint8_t)v->priority,
		.interval_cs = (uint16_t)v->advert_interval,
		.preempt = v->preempt,
		.preempt_delay_us = (uint64_t)v->preempt_delay * 1000,
		.primary = d->primary,
	};
	vrrp_fsm_init(&d->fsm, &fc);
	d->fsm.prio = vrrp_gw_effective_priority(d);
}

static void start_loop(struct vrrpd *d)
{
	int rc;

	d->loop = uv_default_loop();
	uv_signal_init(d->loop, &d->sig_term);
	uv_signal_init(d->loop, &d->sig_int);
	d->sig_term.data = d->sig_int.data = d;
	uv_signal_start(&d->sig_term, on_signal, SIGTERM);
	uv_signal_start(&d->sig_int, on_signal, SIGINT);
	if ((rc = vrrp_timers_start(d)) < 0 || (rc = vrrp_net_start(d)) < 0)
		fatalx("event loop: %s", uv_strerror(rc));
	atomic_store(&d->table.hdr->vrrp_pid, (uint32_t)getpid());
}

static void teardown(struct vrrpd *d)
{
	uv_close((uv_handle_t *)&d->raw_poll, NULL);
	uv_close((uv_handle_t *)&d->sig_term, NULL);
	uv_close((uv_handle_t *)&d->sig_int, NULL);
	vrrp_timers_close(d);
	uv_run(d->loop, UV_RUN_NOWAIT);
	vrrp_gw_publish(d);
	atomic_store(&d->table.hdr->vrrp_pid, 0);
	vrrp_net_close(d);
	vrrp_garp_close(d);
	close(d->timer_fd);
	sa_table_detach(&d->table);
	config_free(&d->cfg);
}

int main(int argc, char **argv)
{
	static struct vrrpd d = { .raw_fd = -1, .timer_fd = -1 };
	const char *conf = NULL, *pidfile = NULL;
	struct conf_err err;
	int ch, check = 0, verbose = 0;
	char a[16];

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
	log_init("vrrp", 1, verbose);
	if (config_load(&d.cfg, conf, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (!d.cfg.vrrp.present) {
		fprintf(stderr, "%s: no [vrrp] section\n", conf);
		return 1;
	}
	if (check) {
		printf("%s: config OK (vrid %u, %u VIPs, %s)\n", conf, d.cfg.vrrp.vrid,
		       d.cfg.vrrp.n_vips, d.cfg.vrrp.n_peers ? "unicast" : "multicast");
		return 0;
	}
	setup(&d);
	start_loop(&d);
	log_pidfile(pidfile);
	log_info("vrid %u on %s from %s, priority %u (effective %u), interval %u cs, %s",
		 d.cfg.vrrp.vrid, d.cfg.vrrp.interface, conf_addr_str(d.primary, a),
		 d.cfg.vrrp.priority, d.fsm.prio, d.cfg.vrrp.advert_interval,
		 d.cfg.vrrp.n_peers ? "unicast" : "multicast 224.0.0.18");
	vrrp_gw_run(&d, vrrp_fsm_startup(&d.fsm, vrrp_now_us()));

	uv_run(d.loop, UV_RUN_DEFAULT);

	teardown(&d);
	if (pidfile)
		unlink(pidfile);
	return 0;
}
