/*
 * VRRPv3 for IPv4 on the wire (RFC 5798 section 5, with the RFC 9568
 * corrections): the advertisement codec. Pure: no sockets, no clock.
 *
 * A raw IPPROTO_VRRP socket hands us whole IPv4 datagrams, and we send with
 * IP_HDRINCL, so the codec works on the IPv4 header and the advert together:
 *
 *   IPv4 header (20 bytes, no options on send; TTL 255, protocol 112)
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |(rsvd) |     Max Adver Int     |          Checksum             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                       IPv4 Address(es)                        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Checksum: RFC 9568 5.2.8 sums the VRRP message alone for IPv4; RFC 5798
 * implementations (keepalived among them) also sum the IPv4 pseudo-header.
 * The mode is a config switch and applies to both directions.
 */
#ifndef HAGW_VRRP_PROTO_H
#define HAGW_VRRP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define VRRP_IPPROTO        112
#define VRRP_MCAST_GROUP    0xe0000012u /* 224.0.0.18 (RFC 5798 5.1.1.2) */
#define VRRP_TTL            255         /* RFC 5798 5.1.1.3 */
#define VRRP_VERSION        3
#define VRRP_TYPE_ADVERT    1
#define VRRP_TOS            0xc0        /* CS6: network control */
#define VRRP_IP_HLEN        20
#define VRRP_HDR_LEN        8
#define VRRP_MAX_ADDRS      32          /* addresses we keep from one advert */
#define VRRP_INTERVAL_MAX   4095        /* 12 bits of centiseconds */
#define VRRP_PKT_MAX        (VRRP_IP_HLEN + VRRP_HDR_LEN + 4 * 255)

enum vrrp_csum_mode {
	VRRP_CSUM_RFC9568 = 0, /* VRRP message only (RFC 9568 5.2.8) */
	VRRP_CSUM_PSEUDO  = 1, /* with the IPv4 pseudo-header (RFC 5798) */
};

/* What the receive checks decided; each failure has its own counter
 * (vrrp_proto_counter). */
enum vrrp_rx_verdict {
	VRRP_RX_OK = 0,
	VRRP_RX_SHORT,    /* shorter than the headers or the IP total length */
	VRRP_RX_IP,       /* not IPv4, bad IHL, not protocol 112, a fragment */
	VRRP_RX_TTL,
	VRRP_RX_VERSION,
	VRRP_RX_TYPE,
	VRRP_RX_CHECKSUM,
	VRRP_RX_VRID,
	VRRP_RX_LENGTH,   /* address count 0 or not matching the length */
	VRRP_RX_INTERVAL, /* Max Advertise Interval 0 */
};

/* One advertisement. Addresses host order. */
struct vrrp_advert {
	uint32_t src, dst;         /* IPv4 header */
	uint8_t  ttl;
	uint8_t  vrid;
	uint8_t  priority;
	uint8_t  count;            /* Count IPvX Addr as received */
	uint16_t interval_cs;      /* Max Adver Int, centiseconds */
	uint32_t addrs[VRRP_MAX_ADDRS]; /* the first min(count, MAX) */
};

/* Builds IPv4 header + advert into buf. Returns the length, or 0 if `cap`
 * is too small or the advert cannot be encoded. */
size_t vrrp_proto_build(uint8_t *buf, size_t cap, const struct vrrp_advert *a, int csum_mode);

/* Runs the RFC 5798 7.1 receive checks in order (IPv4 sanity, TTL,
 * version, type, checksum, VRID, length and count, interval) and fills
 * `out` on VRRP_RX_OK. */
enum vrrp_rx_verdict vrrp_proto_parse(const uint8_t *pkt, size_t len, uint8_t vrid,
				      int csum_mode, struct vrrp_advert *out);

/* The counters.h id that counts a verdict (CTR_vrrp_rx_adverts for OK). */
int vrrp_proto_counter(enum vrrp_rx_verdict v);
const char *vrrp_proto_verdict_name(enum vrrp_rx_verdict v);

/* RFC 1071 sum over the advert, with or without the pseudo-header. */
uint16_t vrrp_proto_checksum(const uint8_t *vrrp, size_t len, uint32_t src, uint32_t dst,
			     int csum_mode);

/* Address list check (RFC 5798 7.1, MAY): 1 if `a` lists exactly the
 * addresses in `addrs` (any order). */
int vrrp_proto_addrs_match(const struct vrrp_advert *a, const uint32_t *addrs, unsigned n);

/* A gratuitous ARP request (RFC 5227 announcement: sender and target IP
 * both `ip`) in an Ethernet broadcast frame. Returns the frame length (42). */
size_t vrrp_garp_build(uint8_t *buf, size_t cap, const uint8_t mac[6], uint32_t ip);

#endif
