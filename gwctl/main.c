/*
 * gwctl: read the member's shared SA table and tell what is there.
 *
 *   gwctl [-c config | -s shm] [--json] command ...
 *
 * Every read command takes --json and then prints one JSON document.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gwctl.h"
#include "log.h"

static const struct gwctl_cmd cmds[] = {
	{ "status", "status", cmd_status },
	{ "sa", "sa list | sa show SPI", cmd_sa },
	{ "stats", "stats", cmd_stats },
	{ "keys", "keys --wireshark", cmd_keys },
	{ "ike", "ike list", cmd_ike },
	{ "rekey", "rekey SPI | rekey ike SPI_I", cmd_rekey },
	{ "initiate", "initiate CONN", cmd_ikectl },
	{ "delete-ike", "delete-ike SPI_I", cmd_ikectl },
	{ "msgid-sync", "msgid-sync SPI_I", cmd_ikectl },
	{ "role", "role active|standby   (lab tool: what vrrp does)", cmd_role },
	{ "in-sync", "in-sync 0|1   (labs without syncd: set the in-sync flag)", cmd_in_sync },
	{ "failover", "failover last   (the last promotion's report)", cmd_failover },
	{ "promote", "promote [REASON]   (lab tool: the promotion vrrp runs)", cmd_promote },
};

#define DEFAULT_CONFIG "/etc/hagw/hagw.conf"

static void usage(void)
{
	size_t i;

	fprintf(stderr, "usage: gwctl [-c config | -s shm] [--json] command\ncommands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(stderr, "  %s\n", cmds[i].usage);
	exit(1);
}

int main(int argc, char **argv)
{
	static struct gwctl c;
	const char *conf = NULL, *shm = NULL;
	char err[512];
	int i, rc;

	log_init("gwctl", 1, 0);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			c.json = 1;
		else if (!strcmp(argv[i], "-c") && i + 1 < argc)
			conf = argv[++i];
		else if (!strcmp(argv[i], "-s") && i + 1 < argc)
			shm = argv[++i];
		else if (argv[i][0] == '-')
			usage();
		else
			break;
	}
	if (i == argc)
		usage();
	if (!shm) {
		struct conf_err cerr;

		if (!conf)
			conf = getenv("HAGW_CONFIG") ? getenv("HAGW_CONFIG") : DEFAULT_CONFIG;
		if (config_load(&c.cfg, conf, &cerr) < 0) {
			fprintf(stderr, "gwctl: %s\n", cerr.msg);
			return 1;
		}
		c.have_cfg = 1;
		shm = c.cfg.gw.shm;
	}
	/* --json may also follow the command */
	for (int k = i; k < argc; k++)
		if (!strcmp(argv[k], "--json")) {
			c.json = 1;
			memmove(&argv[k], &argv[k + 1], (size_t)(argc - k) * sizeof(*argv));
			argc--;
			k--;
		}
	if ((rc = sa_table_attach(&c.t, shm, 0, err, sizeof(err))) < 0) {
		fprintf(stderr, "gwctl: %s\n", err);
		if (rc == -ENOENT)
			fprintf(stderr, "gwctl: no daemon of this member has created its table yet\n");
		return 1;
	}
	json_init(&c.j, stdout);
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
		if (!strcmp(argv[i], cmds[k].name)) {
			rc = cmds[k].run(&c, argc - i, argv + i);
			sa_table_detach(&c.t);
			config_free(&c.cfg);
			return rc;
		}
	usage();
}
