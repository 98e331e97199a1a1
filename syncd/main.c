/*
 * syncd: replicates SA state from the ACTIVE member of a pair to the
 * STANDBY over an authenticated, encrypted TCP link, and keeps M (the
 * counters' recent growth) per Child SA on the standby. docs/syncd.md.
 *
 *   syncd -c FILE [-n] [-v] [-p PIDFILE]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "syncd.h"

static void usage(void)
{
	fprintf(stderr, "usage: syncd -c config [-n] [-v] [-p pidfile]\n"
			"  -n  check the config and exit\n"
			"  -v  verbose (debug) logging\n");
	exit(1);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct syncd *d = h->data;

	log_info("signal %d: stopping", signum);
	uv_stop(d->loop);
}

int main(int argc, char **argv)
{
	static struct syncd d;
	const char *conf = NULL, *pidfile = NULL;
	struct conf_err err;
	char a[16], b[16];
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
	log_init("syncd", 1, verbose);
	if (config_load(&d.cfg, conf, &err) < 0) {
		fprintf(stderr, "syncd: %s\n", err.msg);
		return 1;
	}
	if (!d.cfg.sync.present) {
		fprintf(stderr, "syncd: %s: no [sync] section\n", conf);
		return 1;
	}
	if (check) {
		printf("syncd: %s: config OK (sync %s -> %s port %u)\n", conf,
		       conf_addr_str(d.cfg.sync.local_addr, a), conf_addr_str(d.cfg.sync.peer_addr, b),
		       d.cfg.sync.port);
		return 0;
	}
	if (sodium_init() < 0)
		fatalx("libsodium failed to initialise");
	if ((rc = sa_table_create(&d.t, d.cfg.gw.shm, d.cfg.gw.member_id, d.cfg.gw.child_capacity,
				  d.cfg.gw.ike_capacity)) < 0) {
		errno = -rc;
		fatal("sa table %s", d.cfg.gw.shm);
	}
	d.loop = uv_default_loop();
	if ((rc = sync_link_start(&d)) < 0) {
		errno = -rc;
		fatal("sync link on %s port %u", conf_addr_str(d.cfg.sync.local_addr, a), d.cfg.sync.port);
	}
	uv_signal_init(d.loop, &d.sig_term);
	uv_signal_init(d.loop, &d.sig_int);
	d.sig_term.data = d.sig_int.data = &d;
	uv_signal_start(&d.sig_term, on_signal, SIGTERM);
	uv_signal_start(&d.sig_int, on_signal, SIGINT);
	log_pidfile(pidfile);
	log_info("member %u (%s): sync %s -> %s port %u, %s, interval %u ms, role %s",
		 d.cfg.gw.member_id, d.cfg.gw.name, conf_addr_str(d.cfg.sync.local_addr, a),
		 conf_addr_str(d.cfg.sync.peer_addr, b), d.cfg.sync.port,
		 d.initiator ? "connecting" : "listening", d.cfg.sync.interval_ms,
		 sa_role_name((int)atomic_load(&d.t.hdr->role)));

	uv_run(d.loop, UV_RUN_DEFAULT);

	sync_link_stop(&d);
	uv_close((uv_handle_t *)&d.sig_term, NULL);
	uv_close((uv_handle_t *)&d.sig_int, NULL);
	uv_run(d.loop, UV_RUN_DEFAULT);
	sync_link_free(&d);
	sync_tx_free(&d.tx);
	sync_rx_free(&d.rx);
	free(d.msgbuf);
	free(d.rxbuf);
	sa_table_detach(&d.t);
	sodium_memzero(&d.cfg.sync.psk, sizeof(d.cfg.sync.psk));
	config_free(&d.cfg);
	if (pidfile)
		unlink(pidfile);
	return 0;
}
