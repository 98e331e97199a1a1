/*
 * [vrrp]: the VRRPv3 elector's section (docs/vrrp.md lists every key).
 *
 *   [vrrp]
 *   interface = wan0
 *   vrid = 51
 *   priority = 200
 *   advert_interval = 1            ; centiseconds
 *   vip = 192.168.10.1/24 dev wan0 ; repeatable: the addresses move together
 *   vip = 10.1.0.1/24 dev lan0
 *   peer = 192.168.10.3            ; repeatable: unicast mode
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

void conf_vrrp_defaults(struct conf_vrrp *v)
{
	memset(v, 0, sizeof(*v));
	v->priority = 100;
	v->advert_interval = 100;   /* 1 s, RFC 5798 default */
	v->preempt = 1;
	v->garp_count = 2;
	v->garp_interval = 100;
	v->sync_demote = 50;
}

/* "ADDR/PLEN [dev IFNAME]"; host bits are the point of a VIP, so unlike a
 * traffic selector they are kept. */
static int vip_parse(const char *v, const char *dflt_dev, struct conf_vrrp_vip *out,
		     const char **why)
{
	char addr[32], plen[8], kw[8], dev[32], extra[2];
	char prefix[48];
	uint32_t p;
	int n;

	memset(out, 0, sizeof(*out));
	n = sscanf(v, "%47s %7s %31s %1s", prefix, kw, dev, extra);
	if (n != 1 && n != 3) {
		*why = "expected ADDR/PLEN [dev IFNAME]";
		return -1;
	}
	if (n == 3 && strcmp(kw, "dev")) {
		*why = "expected ADDR/PLEN [dev IFNAME]";
		return -1;
	}
	if (sscanf(prefix, "%31[0-9.]/%7s", addr, plen) != 2) {
		*why = "expected ADDR/PLEN";
		return -1;
	}
	if (conf_parse_addr(addr, &out->addr, why) < 0 || conf_parse_u32(plen, 1, 32, &p, why) < 0)
		return -1;
	out->plen = (uint8_t)p;
	return conf_parse_str(n == 3 ? dev : dflt_dev, out->dev, sizeof(out->dev), why);
}

static int vrrp_add_vip(struct conf_vrrp *v, int line, const char *val, const char **why)
{
	struct conf_vrrp_vip vip;
	uint32_t i;

	if (v->n_vips == CONF_VRRP_MAX_VIPS) {
		*why = "too many vip lines";
		return -1;
	}
	/* A vip without dev goes on `interface`, which may come later: "-"
	 * stands for it until the check. */
	if (vip_parse(val, "-", &vip, why) < 0)
		return -1;
	for (i = 0; i < v->n_vips; i++)
		if (v->vips[i].addr == vip.addr) {
			*why = "vip given twice";
			return -1;
		}
	vip.line = line;
	v->vips[v->n_vips++] = vip;
	return 0;
}

static int vrrp_add_peer(struct conf_vrrp *v, const char *val, const char **why)
{
	if (v->n_peers == CONF_VRRP_MAX_PEERS) {
		*why = "too many peer lines";
		return -1;
	}
	return conf_parse_addr(val, &v->peers[v->n_peers++], why);
}

static int vrrp_set_checksum(struct conf_vrrp *v, const char *val, const char **why)
{
	if (!strcmp(val, "rfc9568"))
		v->checksum_pseudo = 0;
	else if (!strcmp(val, "pseudo-header") || !strcmp(val, "rfc5798"))
		v->checksum_pseudo = 1;
	else {
		*why = "expected rfc9568 or pseudo-header";
		return -1;
	}
	return 0;
}

int conf_vrrp_set(struct config *c, const char *name, int line, const char *key,
		  const char *val, const char **why)
{
	struct conf_vrrp *v = &c->vrrp;

	if (!v->present) {
		conf_vrrp_defaults(v);
		v->present = 1;
		v->line = line;
	}
	if (!strcmp(key, "interface"))
		return conf_parse_str(val, v->interface, sizeof(v->interface), why);
	if (!strcmp(key, "vrid"))
		return conf_parse_u32(val, 1, 255, &v->vrid, why);
	if (!strcmp(key, "priority"))
		return conf_parse_u32(val, 1, 255, &v->priority, why); /* 0 is "leaving" */
	if (!strcmp(key, "advert_interval"))
		return conf_parse_u32(val, 1, 4095, &v->advert_interval, why);
	if (!strcmp(key, "preempt"))
		return conf_parse_bool(val, &v->preempt, why);
	if (!strcmp(key, "preempt_delay"))
		return conf_parse_u32(val, 0, 3600000, &v->preempt_delay, why);
	if (!strcmp(key, "vip"))
		return vrrp_add_vip(v, line, val, why);
	if (!strcmp(key, "peer"))
		return vrrp_add_peer(v, val, why);
	if (!strcmp(key, "checksum"))
		return vrrp_set_checksum(v, val, why);
	if (!strcmp(key, "garp_count"))
		return conf_parse_u32(val, 0, 100, &v->garp_count, why);
	if (!strcmp(key, "garp_interval"))
		return conf_parse_u32(val, 1, 60000, &v->garp_interval, why);
	if (!strcmp(key, "notify")) {
		if (val[0] != '/') {
			*why = "notify needs an absolute path";
			return -1;
		}
		return conf_parse_str(val, v->notify, sizeof(v->notify), why);
	}
	if (!strcmp(key, "sync_demote"))
		return conf_parse_u32(val, 0, 254, &v->sync_demote, why);
	if (!strcmp(key, "require_sync"))
		return conf_parse_bool(val, &v->require_sync, why);
	if (!strcmp(key, "source"))
		return conf_parse_addr(val, &v->source, why);
	*why = "unknown key";
	return -2;
}

int conf_vrrp_check(struct config *c, const char **why, int *line)
{
	struct conf_vrrp *v = &c->vrrp;
	uint32_t i;

	if (!v->present) {
		conf_vrrp_defaults(v);
		return 0;
	}
	*line = v->line;
	if (!v->interface[0]) {
		*why = "[vrrp] needs interface";
		return -1;
	}
	if (!v->vrid) {
		*why = "[vrrp] needs vrid";
		return -1;
	}
	if (!v->n_vips) {
		*why = "[vrrp] needs at least one vip";
		return -1;
	}
	for (i = 0; i < v->n_vips; i++)
		if (!strcmp(v->vips[i].dev, "-"))
			snprintf(v->vips[i].dev, sizeof(v->vips[i].dev), "%s", v->interface);
	return 0;
}
