/* TCP receive coalescing for the TUN: see gro.h. */
#include "gro.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define IP_HLEN   20           /* no options: a packet with options is written alone */
#define TCP_ACK   0x10
#define TCP_PSH   0x08
#define IP_FRAG   0x3fff       /* MF and fragment offset */
#define VNET_F_NEEDS_CSUM 1
#define VNET_GSO_TCPV4    1

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

int gro_init(struct gro *r)
{
	memset(r, 0, sizeof(*r));
	if (!(r->buf = malloc(GRO_MAX_LEN)))
		return -ENOMEM;
	return 0;
}

void gro_free(struct gro *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

void gro_reset(struct gro *r)
{
	r->len = 0;
	r->segs = 0;
	r->bytes = 0;
	r->owner = NULL;
	r->closed = r->psh = 0;
}

/* RFC 1071 sum of memory, in the host's byte order: 32-bit words into a
 * 64-bit accumulator (RFC 1071 2(B), byte order independence); folded and
 * swapped to network order at the end. An odd length only at the end. */
uint32_t gro_csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	uint64_t s = sum;

	for (; n >= 4; p += 4, n -= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		s += w;
	}
	if (n >= 2) {
		uint16_t w;

		memcpy(&w, p, 2);
		s += w;
		p += 2;
		n -= 2;
	}
	if (n) {
		uint8_t last[2] = { p[0], 0 };
		uint16_t w;

		memcpy(&w, last, 2);
		s += w;
	}
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

/* The folded sum as a network-order 16-bit value (not complemented). */
uint16_t gro_csum_fold(uint32_t sum)
{
	uint8_t b[2];
	uint16_t v;

	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	v = (uint16_t)sum;
	memcpy(b, &v, 2);
	return get16(b);
}

static uint32_t tcp_pseudo_sum(const uint8_t *ip, size_t tcp_len)
{
	uint8_t ph[12];

	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = 6;
	put16(ph + 10, (uint16_t)tcp_len);
	return gro_csum_add(0, ph, sizeof(ph));
}

int gro_tcp_csum_ok(const uint8_t *ip, size_t len, size_t ihl)
{
	uint32_t s = gro_csum_add(tcp_pseudo_sum(ip, len - ihl), ip + ihl, len - ihl);

	return gro_csum_fold(s) == 0xffff;
}

/* An IPv4 TCP segment the kernel could have cut from a larger one: no IP
 * options, not a fragment, only ACK (and PSH) set, some payload. Returns
 * the TCP header length, 0 if not eligible. */
static size_t gro_eligible(const uint8_t *ip, size_t len)
{
	size_t thl;

	if (len < IP_HLEN + 20 || len > GRO_MAX_LEN || ip[0] != 0x45 || ip[9] != 6 ||
	    get16(ip + 2) != len || (get16(ip + 6) & IP_FRAG))
		return 0;
	thl = (size_t)(ip[IP_HLEN + 12] >> 4) * 4;
	if (thl < 20 || IP_HLEN + thl >= len)
		return 0;
	if ((ip[IP_HLEN + 13] & ~TCP_PSH) != TCP_ACK)
		return 0;
	return thl;
}

int gro_start(struct gro *r, void *owner, const uint8_t *ip, size_t len)
{
	size_t thl = gro_eligible(ip, len);

	if (r->len || !thl || ip[IP_HLEN + 13] != TCP_ACK || !gro_tcp_csum_ok(ip, len, IP_HLEN))
		return 0;
	memcpy(r->buf, ip, len);
	r->len = len;
	r->owner = owner;
	r->segs = 1;
	r->bytes = len;
	r->hlen = (uint16_t)(IP_HLEN + thl);
	r->mss = (uint16_t)(len - r->hlen);
	r->next_id = (uint16_t)(get16(ip + 4) + 1);
	r->next_seq = get32(ip + IP_HLEN + 4) + r->mss;
	r->closed = r->psh = 0;
	return 1;
}

/* Everything but the sequence, ID, length and checksums equals the head's,
 * so that cutting the merged packet gives back exactly this one. */
static int gro_same_flow(const uint8_t *h, const uint8_t *ip, size_t hlen)
{
	const uint8_t *ht = h + IP_HLEN, *t = ip + IP_HLEN;

	return ip[1] == h[1] && ip[8] == h[8] &&                       /* TOS, TTL */
	       ip[6] == h[6] &&                                        /* DF, reserved bit */
	       !memcmp(ip + 12, h + 12, 8) &&                          /* addresses */
	       !memcmp(t, ht, 4) &&                                    /* ports */
	       t[12] == ht[12] &&                                      /* offset, reserved */
	       !memcmp(t + 8, ht + 8, 4) &&                            /* ACK number */
	       !memcmp(t + 14, ht + 14, 2) &&                          /* window */
	       !memcmp(t + 18, ht + 18, 2) &&                          /* urgent pointer */
	       !memcmp(t + 20, ht + 20, hlen - IP_HLEN - 20);          /* options */
}

int gro_merge(struct gro *r, void *owner, const uint8_t *ip, size_t len)
{
	size_t thl, payload;

	if (!r->len || r->closed || owner != r->owner || r->segs >= GRO_MAX_SEGS)
		return 0;
	if (!(thl = gro_eligible(ip, len)) || IP_HLEN + thl != r->hlen)
		return 0;
	payload = len - r->hlen;
	if (payload > r->mss || r->len + payload > GRO_MAX_LEN)
		return 0;
	if (get16(ip + 4) != r->next_id || get32(ip + IP_HLEN + 4) != r->next_seq ||
	    !gro_same_flow(r->buf, ip, r->hlen) || !gro_tcp_csum_ok(ip, len, IP_HLEN))
		return 0;
	memcpy(r->buf + r->len, ip + r->hlen, payload);
	r->len += payload;
	r->segs++;
	r->bytes += len;
	r->next_id++;
	r->next_seq += (uint32_t)payload;
	if (ip[IP_HLEN + 13] & TCP_PSH)
		r->psh = 1;
	/* the kernel cuts every segment but the last at mss */
	if (payload < r->mss || r->psh)
		r->closed = 1;
	return 1;
}

size_t gro_finish(struct gro *r, struct gro_vnet_hdr *vh)
{
	uint8_t *h = r->buf, *t = r->buf + IP_HLEN;

	memset(vh, 0, sizeof(*vh));
	if (r->segs < 2)
		return r->len; /* as it came, checksums and all */
	put16(h + 2, (uint16_t)r->len);
	put16(h + 10, 0);
	put16(h + 10, (uint16_t)~gro_csum_fold(gro_csum_add(0, h, IP_HLEN)));
	if (r->psh)
		t[13] |= TCP_PSH;
	/* CHECKSUM_PARTIAL: the field holds the pseudo-header sum; the kernel
	 * completes it per segment (or for the whole, if it stays whole). */
	put16(t + 16, gro_csum_fold(tcp_pseudo_sum(h, r->len - IP_HLEN)));
	vh->flags = VNET_F_NEEDS_CSUM;
	vh->gso_type = VNET_GSO_TCPV4;
	vh->hdr_len = r->hlen;
	vh->gso_size = r->mss;
	vh->csum_start = IP_HLEN;
	vh->csum_offset = 16;
	return r->len;
}
