/* TCP segmentation of the TUN's TSO packets: see tso.h. */
#include "tso.h"

#include <string.h>

#define VNET_GSO_TCPV4 1
#define VNET_GSO_ECN   0x80
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* Header lengths of a TCPv4 GSO packet; 0 if it is not one. */
static size_t tso_hlen(const struct gro_vnet_hdr *vh, const uint8_t *ip, size_t len, size_t *ihl)
{
	size_t thl;

	if ((vh->gso_type & ~VNET_GSO_ECN) != VNET_GSO_TCPV4 || vh->gso_size == 0)
		return 0;
	if (len < 40 || ip[0] >> 4 != 4 || ip[9] != 6 || (get16(ip + 6) & 0x3fff))
		return 0;
	*ihl = (size_t)(ip[0] & 15) * 4;
	if (*ihl < 20 || *ihl + 20 > len)
		return 0;
	thl = (size_t)(ip[*ihl + 12] >> 4) * 4;
	if (thl < 20 || *ihl + thl >= len)
		return 0; /* no payload: nothing to segment */
	return *ihl + thl;
}

/* The full TCP checksum of the segment at ip (RFC 793 3.1 pseudo-header). */
static void tso_tcp_csum(uint8_t *ip, size_t ihl, size_t tcp_len)
{
	uint8_t ph[12], *t = ip + ihl;
	uint32_t sum;

	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = 6;
	put16(ph + 10, (uint16_t)tcp_len);
	put16(t + 16, 0);
	sum = gro_csum_add(gro_csum_add(0, ph, sizeof(ph)), t, tcp_len);
	put16(t + 16, (uint16_t)~gro_csum_fold(sum));
}

int tso_count(const struct gro_vnet_hdr *vh, const uint8_t *ip, size_t len, size_t cap)
{
	size_t ihl, hlen = tso_hlen(vh, ip, len, &ihl);

	if (!hlen)
		return TSO_EINVAL;
	if (hlen + vh->gso_size > cap)
		return TSO_ESPACE;
	return (int)((len - hlen + vh->gso_size - 1) / vh->gso_size);
}

int tso_segment(const struct gro_vnet_hdr *vh, const uint8_t *ip, size_t len, uint32_t i,
		uint8_t *out, size_t cap)
{
	size_t ihl, hlen = tso_hlen(vh, ip, len, &ihl), off, plen;
	uint32_t n;
	uint8_t *t = out + ihl;

	if (!hlen)
		return TSO_EINVAL;
	n = (uint32_t)((len - hlen + vh->gso_size - 1) / vh->gso_size);
	if (i >= n)
		return TSO_EINVAL;
	off = hlen + (size_t)i * vh->gso_size;
	plen = len - off < vh->gso_size ? len - off : vh->gso_size;
	if (hlen + plen > cap)
		return TSO_ESPACE;
	memcpy(out, ip, hlen);
	memcpy(out + hlen, ip + off, plen);

	put16(out + 2, (uint16_t)(hlen + plen));
	put16(out + 4, (uint16_t)(get16(ip + 4) + i));
	put16(out + 10, 0);
	put16(out + 10, (uint16_t)~gro_csum_fold(gro_csum_add(0, out, ihl)));

	put32(t + 4, get32(ip + ihl + 4) + i * vh->gso_size);
	if (i + 1 < n)
		t[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
	if (i > 0)
		t[13] &= (uint8_t)~TCP_CWR;
	tso_tcp_csum(out, ihl, hlen - ihl + plen);
	return (int)(hlen + plen);
}

int tso_csum_complete(const struct gro_vnet_hdr *vh, uint8_t *ip, size_t len)
{
	size_t start = vh->csum_start, at = start + vh->csum_offset;
	uint16_t c;

	if (start >= len || at + 2 > len)
		return TSO_EINVAL;
	c = (uint16_t)~gro_csum_fold(gro_csum_add(0, ip + start, len - start));
	if (c == 0 && vh->csum_offset == 6)
		c = 0xffff; /* UDP: 0 would mean "no checksum" (RFC 768) */
	put16(ip + at, c);
	return 0;
}
