/* VRRPv3 advert codec (proto.h). */
#include "proto.h"

#include <string.h>

#include "counters.h"

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t vrrp_proto_checksum(const uint8_t *vrrp, size_t len, uint32_t src, uint32_t dst,
			     int csum_mode)
{
	uint32_t sum = 0;

	if (csum_mode == VRRP_CSUM_PSEUDO) {
		uint8_t ph[12];

		put32(ph, src);
		put32(ph + 4, dst);
		ph[8] = 0;
		ph[9] = VRRP_IPPROTO;
		put16(ph + 10, (uint16_t)len);
		sum = csum_add(sum, ph, sizeof(ph));
	}
	return csum_fold(csum_add(sum, vrrp, len));
}

size_t vrrp_proto_build(uint8_t *buf, size_t cap, const struct vrrp_advert *a, int csum_mode)
{
	size_t vlen = VRRP_HDR_LEN + 4u * a->count, len = VRRP_IP_HLEN + vlen;
	uint8_t *ip = buf, *v = buf + VRRP_IP_HLEN;
	unsigned i;

	if (len > cap || a->count > VRRP_MAX_ADDRS || a->interval_cs > VRRP_INTERVAL_MAX)
		return 0;
	memset(buf, 0, len);
	ip[0] = 0x45;
	ip[1] = VRRP_TOS;
	put16(ip + 2, (uint16_t)len);
	ip[8] = a->ttl;
	ip[9] = VRRP_IPPROTO;
	put32(ip + 12, a->src);
	put32(ip + 16, a->dst);
	put16(ip + 10, csum_fold(csum_add(0, ip, VRRP_IP_HLEN)));

	v[0] = VRRP_VERSION << 4 | VRRP_TYPE_ADVERT;
	v[1] = a->vrid;
	v[2] = a->priority;
	v[3] = a->count;
	put16(v + 4, a->interval_cs & 0x0fff); /* reserved bits zero (5.2.6) */
	for (i = 0; i < a->count; i++)
		put32(v + VRRP_HDR_LEN + 4 * i, a->addrs[i]);
	put16(v + 6, vrrp_proto_checksum(v, vlen, a->src, a->dst, csum_mode));
	return len;
}

/* The IPv4 header as a raw socket delivers it: the kernel has checked its
 * checksum, but not that it carries one whole unfragmented VRRP message. */
static enum vrrp_rx_verdict ip_check(const uint8_t *pkt, size_t len, size_t *ihl, size_t *tot)
{
	if (len < VRRP_IP_HLEN)
		return VRRP_RX_SHORT;
	*ihl = (size_t)(pkt[0] & 0x0f) * 4;
	*tot = get16(pkt + 2);
	if (pkt[0] >> 4 != 4 || *ihl < VRRP_IP_HLEN || *tot < *ihl)
		return VRRP_RX_IP;
	if (pkt[9] != VRRP_IPPROTO || (get16(pkt + 6) & 0x3fff))
		return VRRP_RX_IP; /* MF set or an offset: a fragment */
	if (*tot > len || *tot < *ihl + VRRP_HDR_LEN)
		return VRRP_RX_SHORT;
	return VRRP_RX_OK;
}

/* RFC 5798 7.1 (with RFC 9568 errata 8299 and 8301), in this order. */
enum vrrp_rx_verdict vrrp_proto_parse(const uint8_t *pkt, size_t len, uint8_t vrid,
				      int csum_mode, struct vrrp_advert *out)
{
	enum vrrp_rx_verdict rc;
	size_t ihl = 0, tot = 0, vlen;
	const uint8_t *v;
	unsigned i, keep;

	if ((rc = ip_check(pkt, len, &ihl, &tot)) != VRRP_RX_OK)
		return rc;
	v = pkt + ihl;
	vlen = tot - ihl;
	if (pkt[8] != VRRP_TTL)
		return VRRP_RX_TTL;                  /* 5.1.1.3: not from this link */
	if (v[0] >> 4 != VRRP_VERSION)
		return VRRP_RX_VERSION;
	if ((v[0] & 0x0f) != VRRP_TYPE_ADVERT)
		return VRRP_RX_TYPE;                 /* 5.2.2 */
	if (vrrp_proto_checksum(v, vlen, get32(pkt + 12), get32(pkt + 16), csum_mode) != 0)
		return VRRP_RX_CHECKSUM;             /* 5.2.8 */
	if (v[1] != vrid)
		return VRRP_RX_VRID;
	if (v[3] == 0 || vlen != VRRP_HDR_LEN + 4u * v[3])
		return VRRP_RX_LENGTH;               /* 5.2.5, erratum 8299 */
	if ((get16(v + 4) & 0x0fff) == 0)
		return VRRP_RX_INTERVAL;             /* erratum 8301 */

	memset(out, 0, sizeof(*out));
	out->src = get32(pkt + 12);
	out->dst = get32(pkt + 16);
	out->ttl = pkt[8];
	out->vrid = v[1];
	out->priority = v[2];
	out->count = v[3];
	out->interval_cs = get16(v + 4) & 0x0fff;   /* reserved bits ignored */
	keep = v[3] < VRRP_MAX_ADDRS ? v[3] : VRRP_MAX_ADDRS;
	for (i = 0; i < keep; i++)
		out->addrs[i] = get32(v + VRRP_HDR_LEN + 4 * i);
	return VRRP_RX_OK;
}

int vrrp_proto_addrs_match(const struct vrrp_advert *a, const uint32_t *addrs, unsigned n)
{
	unsigned i, j;

	if (a->count != n || n > VRRP_MAX_ADDRS)
		return 0;
	for (i = 0; i < n; i++) {
		for (j = 0; j < n && a->addrs[j] != addrs[i]; j++)
			;
		if (j == n)
			return 0;
	}
	return 1;
}

int vrrp_proto_counter(enum vrrp_rx_verdict v)
{
	switch (v) {
	case VRRP_RX_OK:       return CTR_vrrp_rx_adverts;
	case VRRP_RX_SHORT:    return CTR_vrrp_drop_short;
	case VRRP_RX_IP:       return CTR_vrrp_drop_ip;
	case VRRP_RX_TTL:      return CTR_vrrp_drop_ttl;
	case VRRP_RX_VERSION:  return CTR_vrrp_drop_version;
	case VRRP_RX_TYPE:     return CTR_vrrp_drop_type;
	case VRRP_RX_CHECKSUM: return CTR_vrrp_drop_checksum;
	case VRRP_RX_VRID:     return CTR_vrrp_drop_vrid;
	case VRRP_RX_LENGTH:   return CTR_vrrp_drop_length;
	case VRRP_RX_INTERVAL: return CTR_vrrp_drop_interval;
	}
	return CTR_vrrp_drop_ip;
}

const char *vrrp_proto_verdict_name(enum vrrp_rx_verdict v)
{
	return ctr_names[vrrp_proto_counter(v)];
}

size_t vrrp_garp_build(uint8_t *buf, size_t cap, const uint8_t mac[6], uint32_t ip)
{
	uint8_t *arp = buf + 14;

	if (cap < 42)
		return 0;
	memset(buf, 0xff, 6);           /* Ethernet broadcast */
	memcpy(buf + 6, mac, 6);
	put16(buf + 12, 0x0806);        /* ARP */
	put16(arp, 1);                  /* hardware: Ethernet */
	put16(arp + 2, 0x0800);         /* protocol: IPv4 */
	arp[4] = 6;
	arp[5] = 4;
	put16(arp + 6, 1);              /* request (RFC 5227 2.3 announcement) */
	memcpy(arp + 8, mac, 6);        /* sender MAC */
	put32(arp + 14, ip);            /* sender IP = the VIP */
	memset(arp + 18, 0, 6);         /* target MAC: unknown */
	put32(arp + 24, ip);            /* target IP = the VIP */
	return 42;
}
