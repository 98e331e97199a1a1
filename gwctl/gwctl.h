/* gwctl's private header: the command table and what commands share. */
#ifndef HAGW_GWCTL_H
#define HAGW_GWCTL_H

#include "config.h"
#include "json.h"
#include "sa_table.h"

struct gwctl {
	struct config cfg;
	int have_cfg;
	struct sa_table t;
	int json;
	struct json j;
};

struct gwctl_cmd {
	const char *name;
	const char *usage;
	int (*run)(struct gwctl *c, int argc, char **argv); /* argv[0] = name */
};

int cmd_status(struct gwctl *c, int argc, char **argv);
int cmd_promote(struct gwctl *c, int argc, char **argv);
int cmd_sa(struct gwctl *c, int argc, char **argv);
int cmd_stats(struct gwctl *c, int argc, char **argv);
int cmd_keys(struct gwctl *c, int argc, char **argv);
int cmd_in_sync(struct gwctl *c, int argc, char **argv);

/* vrrp.c: the vrrp part of `status` (text or JSON). */
void vrrp_status_show(struct gwctl *c);
int cmd_ike(struct gwctl *c, int argc, char **argv);      /* ike.c */
int cmd_rekey(struct gwctl *c, int argc, char **argv);
int cmd_ikectl(struct gwctl *c, int argc, char **argv);
void ike_status(struct gwctl *c);

/* sync.c */
int  cmd_role(struct gwctl *c, int argc, char **argv);
void gwctl_sync_status(struct gwctl *c);
void gwctl_sa_sync(struct gwctl *c, const struct child_sa_rec *r);

/* failover.c */
int  cmd_failover(struct gwctl *c, int argc, char **argv);
void gwctl_failover_status(struct gwctl *c);

/* Human output helpers. */
const char *fmt_age(uint64_t ms, char buf[32]);
const char *fmt_flags(uint32_t flags, char buf[96]);

#endif
