/*
 * The VRRPv3 advert codec (vrrp/proto.c): byte fixtures with a comment per
 * field (checksums computed independently of the codec), then bit flips
 * and truncations, each rejected with the counter the receive check names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../vrrp/proto.h"
#include "counters.h"

/* 192.168.50.1 -> 224.0.0.18, VRID 51, priority 200, 1 cs, two VIPs;
 * checksum over the VRRP message alone (RFC 9568 5.2.8). */
static const uint8_t adv9568[] = {
	/* IPv4 header */
	0x45,                   /* version 4, IHL 5 (20 bytes) */
	0xc0,                   /* TOS: CS6, network control */
	0x00, 0x24,             /* total length 36 = 20 + 8 + 2 * 4 */
	0x00, 0x00,             /* identification */
	0x00, 0x00,             /* flags 0, fragment offset 0 */
	0xff,                   /* TTL 255 (5.1.1.3) */
	0x70,                   /* protocol 112, VRRP */
	0xe7, 0xed,             /* header checksum */
	192, 168, 50, 1,        /* source: the sender's primary address */
	224, 0, 0, 18,          /* destination: 224.0.0.18 */
	/* VRRP */
	0x31,                   /* version 3, type 1 (ADVERTISEMENT) */
	0x33,                   /* VRID 51 */
	0xc8,                   /* priority 200 */
	0x02,                   /* Count IPvX Addr 2 */
	0x00, 0x01,             /* rsvd 0, Max Adver Int 1 centisecond */
	0x09, 0xba,             /* checksum, VRRP message only */
	192, 168, 50, 100,      /* IPvX address 1: WAN VIP */
	10, 1, 0, 1,            /* IPvX address 2: LAN VIP */
};

/* The same advert with the RFC 5798 checksum, which also sums the IPv4
 * pseudo-header (source, destination, 0, 112, VRRP length 16). */
static const uint8_t adv5798[] = {
	0x45, 0xc0, 0x00, 0x24, 0x00, 0x00, 0x00, 0x00, /* as above */
	0xff, 0x70, 0xe7, 0xed,
	192, 168, 50, 1,
	224, 0, 0, 18,
	0x31, 0x33, 0xc8, 0x02,
	0x00, 0x01,             /* rsvd 0, Max Adver Int 1 centisecond */
	0x36, 0x7d,             /* checksum with the pseudo-header */
	192, 168, 50, 100,
	10, 1, 0, 1,
};

#define VRRP_OFF 20
static const uint32_t vips[] = { 0xc0a83264, 0x0a010001 };

static struct vrrp_advert fixture_advert(void)
{
	struct vrrp_advert a = {
		.src = 0xc0a83201, .dst = VRRP_MCAST_GROUP, .ttl = 255, .vrid = 51,
		.priority = 200, .count = 2, .interval_cs = 1,
		.addrs = { 0xc0a83264, 0x0a010001 },
	};
	return a;
}

static enum vrrp_rx_verdict parse(const uint8_t *p, size_t len, int mode)
{
	struct vrrp_advert a;

	return vrrp_proto_parse(p, len, 51, mode, &a);
}

static void test_parse_fixture(void **state)
{
	struct vrrp_advert a;

	assert_int_equal(vrrp_proto_parse(adv9568, sizeof(adv9568), 51, VRRP_CSUM_RFC9568, &a),
			 VRRP_RX_OK);
	assert_int_equal(a.src, 0xc0a83201);
	assert_int_equal(a.dst, VRRP_MCAST_GROUP);
	assert_int_equal(a.vrid, 51);
	assert_int_equal(a.priority, 200);
	assert_int_equal(a.count, 2);
	assert_int_equal(a.interval_cs, 1);
	assert_int_equal(a.addrs[0], vips[0]);
	assert_int_equal(a.addrs[1], vips[1]);
	assert_int_equal(parse(adv5798, sizeof(adv5798), VRRP_CSUM_PSEUDO), VRRP_RX_OK);
}

/* The two checksum forms are not interchangeable: the switch matters. */
static void test_checksum_modes(void **state)
{
	assert_int_equal(parse(adv9568, sizeof(adv9568), VRRP_CSUM_PSEUDO), VRRP_RX_CHECKSUM);
	assert_int_equal(parse(adv5798, sizeof(adv5798), VRRP_CSUM_RFC9568), VRRP_RX_CHECKSUM);
}

static void test_build_fixture(void **state)
{
	struct vrrp_advert a = fixture_advert();
	uint8_t buf[VRRP_PKT_MAX];

	assert_int_equal(vrrp_proto_build(buf, sizeof(buf), &a, VRRP_CSUM_RFC9568), sizeof(adv9568));
	assert_memory_equal(buf, adv9568, sizeof(adv9568));
	assert_int_equal(vrrp_proto_build(buf, sizeof(buf), &a, VRRP_CSUM_PSEUDO), sizeof(adv5798));
	assert_memory_equal(buf, adv5798, sizeof(adv5798));
	/* too small a buffer, too many addresses, a 13-bit interval */
	assert_int_equal(vrrp_proto_build(buf, sizeof(adv9568) - 1, &a, 0), 0);
	a.count = VRRP_MAX_ADDRS + 1;
	assert_int_equal(vrrp_proto_build(buf, sizeof(buf), &a, 0), 0);
	a = fixture_advert();
	a.interval_cs = 4096;
	assert_int_equal(vrrp_proto_build(buf, sizeof(buf), &a, 0), 0);
}

/* Every truncation of the datagram is short of the IPv4 total length. */
static void test_truncations(void **state)
{
	size_t len;

	for (len = 0; len < sizeof(adv9568); len++)
		assert_int_equal(parse(adv9568, len, VRRP_CSUM_RFC9568), VRRP_RX_SHORT);
	assert_int_equal(vrrp_proto_counter(VRRP_RX_SHORT), CTR_vrrp_drop_short);
}

/* Which check a single flipped bit must trip. */
static enum vrrp_rx_verdict flip_verdict(size_t byte, int bit, int mode)
{
	if (byte == 8)
		return VRRP_RX_TTL;
	if (byte == 9)
		return VRRP_RX_IP;                      /* not protocol 112 */
	if (byte >= 12 && byte < 20)                    /* addresses: only the */
		return mode == VRRP_CSUM_PSEUDO ? VRRP_RX_CHECKSUM : VRRP_RX_OK; /* pseudo sum */
	if (byte == VRRP_OFF)
		return bit >= 4 ? VRRP_RX_VERSION : VRRP_RX_TYPE;
	return VRRP_RX_CHECKSUM;                        /* 5.2.8 covers the rest */
}

static void flip_all(const uint8_t *fix, size_t n, int mode)
{
	uint8_t p[64];
	size_t i;
	int b;

	for (i = 8; i < n; i++) {
		if (i == 10 || i == 11)
			continue; /* IPv4 header checksum: the kernel checks it */
		for (b = 0; b < 8; b++) {
			memcpy(p, fix, n);
			p[i] ^= (uint8_t)(1u << b);
			if (parse(p, n, mode) != flip_verdict(i, b, mode))
				fail_msg("mode %d, byte %zu bit %d: %s, want %s", mode, i, b,
					 vrrp_proto_verdict_name(parse(p, n, mode)),
					 vrrp_proto_verdict_name(flip_verdict(i, b, mode)));
		}
	}
}

static void test_bit_flips(void **state)
{
	flip_all(adv9568, sizeof(adv9568), VRRP_CSUM_RFC9568);
	flip_all(adv5798, sizeof(adv5798), VRRP_CSUM_PSEUDO);
}

/* Packets that are well formed up to one field, with a valid checksum:
 * each reaches its own check. */
static void refix(uint8_t *p, size_t n)
{
	p[VRRP_OFF + 6] = p[VRRP_OFF + 7] = 0;
	uint16_t c = vrrp_proto_checksum(p + VRRP_OFF, n - VRRP_OFF, 0, 0, VRRP_CSUM_RFC9568);
	p[VRRP_OFF + 6] = (uint8_t)(c >> 8);
	p[VRRP_OFF + 7] = (uint8_t)c;
}

static void test_field_checks(void **state)
{
	static const struct {
		size_t off;
		uint8_t val;
		enum vrrp_rx_verdict want;
		int ctr;
	} t[] = {
		{ 8, 254, VRRP_RX_TTL, CTR_vrrp_drop_ttl },             /* one router hop */
		{ 8, 1, VRRP_RX_TTL, CTR_vrrp_drop_ttl },
		{ 0, 0x4a, VRRP_RX_IP, CTR_vrrp_drop_ip },              /* IHL 40 > length */
		{ 3, 0x1b, VRRP_RX_SHORT, CTR_vrrp_drop_short },        /* length 27 < 28 */
		{ 0, 0x44, VRRP_RX_IP, CTR_vrrp_drop_ip },              /* IHL 16 */
		{ 0, 0x65, VRRP_RX_IP, CTR_vrrp_drop_ip },              /* IPv6 version */
		{ 6, 0x20, VRRP_RX_IP, CTR_vrrp_drop_ip },              /* MF: a fragment */
		{ 7, 0x01, VRRP_RX_IP, CTR_vrrp_drop_ip },              /* fragment offset */
		{ 9, 17, VRRP_RX_IP, CTR_vrrp_drop_ip },                /* UDP */
		{ 20, 0x21, VRRP_RX_VERSION, CTR_vrrp_drop_version },   /* VRRPv2 */
		{ 20, 0x32, VRRP_RX_TYPE, CTR_vrrp_drop_type },         /* type 2 */
		{ 21, 52, VRRP_RX_VRID, CTR_vrrp_drop_vrid },           /* VRID 52 */
		{ 23, 0, VRRP_RX_LENGTH, CTR_vrrp_drop_length },        /* count 0 */
		{ 23, 3, VRRP_RX_LENGTH, CTR_vrrp_drop_length },        /* count > list */
		{ 23, 1, VRRP_RX_LENGTH, CTR_vrrp_drop_length },        /* count < list */
		{ 25, 0, VRRP_RX_INTERVAL, CTR_vrrp_drop_interval },    /* interval 0 */
		{ 24, 0x10, VRRP_RX_OK, CTR_vrrp_rx_adverts },          /* rsvd ignored */
		{ 22, 0, VRRP_RX_OK, CTR_vrrp_rx_adverts },             /* priority 0 */
	};
	uint8_t p[sizeof(adv9568)];
	struct vrrp_advert a;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memcpy(p, adv9568, sizeof(p));
		p[t[i].off] = t[i].val;
		refix(p, sizeof(p));
		if (vrrp_proto_parse(p, sizeof(p), 51, VRRP_CSUM_RFC9568, &a) != t[i].want)
			fail_msg("row %zu: %s, want %s", i, vrrp_proto_verdict_name(parse(p, sizeof(p), 0)),
				 vrrp_proto_verdict_name(t[i].want));
		assert_int_equal(vrrp_proto_counter(t[i].want), t[i].ctr);
	}
	/* the reserved bits do not leak into the interval */
	memcpy(p, adv9568, sizeof(p));
	p[24] = 0x10;
	refix(p, sizeof(p));
	assert_int_equal(vrrp_proto_parse(p, sizeof(p), 51, 0, &a), VRRP_RX_OK);
	assert_int_equal(a.interval_cs, 1);
	/* bytes after the IPv4 total length are not part of the packet */
	uint8_t longer[sizeof(adv9568) + 4];
	memcpy(longer, adv9568, sizeof(adv9568));
	memset(longer + sizeof(adv9568), 0xaa, 4);
	assert_int_equal(parse(longer, sizeof(longer), VRRP_CSUM_RFC9568), VRRP_RX_OK);
}

static void test_addr_list(void **state)
{
	struct vrrp_advert a = fixture_advert();
	uint32_t swapped[] = { vips[1], vips[0] }, other[] = { vips[0], 0x0a010002 };

	assert_true(vrrp_proto_addrs_match(&a, vips, 2));
	assert_true(vrrp_proto_addrs_match(&a, swapped, 2));
	assert_false(vrrp_proto_addrs_match(&a, other, 2));
	assert_false(vrrp_proto_addrs_match(&a, vips, 1));
}

static void test_garp(void **state)
{
	static const uint8_t want[42] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* Ethernet destination: broadcast */
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, /* source: our MAC */
		0x08, 0x06,                         /* ARP */
		0x00, 0x01,                         /* hardware type Ethernet */
		0x08, 0x00,                         /* protocol IPv4 */
		6, 4,                               /* address lengths */
		0x00, 0x01,                         /* request */
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, /* sender MAC */
		192, 168, 50, 100,                  /* sender IP: the VIP */
		0, 0, 0, 0, 0, 0,                   /* target MAC: unknown */
		192, 168, 50, 100,                  /* target IP: the VIP again */
	};
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 1 };
	uint8_t buf[64];

	assert_int_equal(vrrp_garp_build(buf, sizeof(buf), mac, vips[0]), 42);
	assert_memory_equal(buf, want, 42);
	assert_int_equal(vrrp_garp_build(buf, 41, mac, vips[0]), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fixture),
		cmocka_unit_test(test_checksum_modes),
		cmocka_unit_test(test_build_fixture),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_field_checks),
		cmocka_unit_test(test_addr_list),
		cmocka_unit_test(test_garp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
