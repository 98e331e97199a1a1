/* The TUN's TSO cutter (gwd/tso.c): a packet merged by gro.c cuts back into
 * exactly the original segments, flags land where the kernel puts them,
 * and what is not a TCPv4 GSO packet is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../gwd/gro.h"
#include "../gwd/tso.h"

#define MSS 1000
#define CAP 2000

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }

/* RFC 1071, 16-bit words, as a reference independent of gro.c's. */
static uint16_t ref_csum(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t ref_pseudo(const uint8_t *ip, size_t tcp_len)
{
	return get16(ip + 12) + get16(ip + 14) + get16(ip + 16) + get16(ip + 18) + 6 + (uint32_t)tcp_len;
}

static void fix_csums(uint8_t *ip, size_t len)
{
	put16(ip + 10, 0);
	put16(ip + 10, ref_csum(0, ip, 20));
	put16(ip + 36, 0);
	put16(ip + 36, ref_csum(ref_pseudo(ip, len - 20), ip + 20, len - 20));
}

/* Segment i of 10.1.0.5:40000 -> 10.2.0.7:5201, no TCP options. */
static size_t seg(uint8_t *ip, int i, size_t payload, uint8_t flags)
{
	size_t len = 40 + payload;

	memset(ip, 0, len);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)len);
	put16(ip + 4, (uint16_t)(0xfffe + i)); /* the ID wraps inside the test */
	put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = 6;
	put32(ip + 12, 0x0a010005);
	put32(ip + 16, 0x0a020007);
	put16(ip + 20, 40000);
	put16(ip + 22, 5201);
	put32(ip + 24, 1000000u + (uint32_t)i * MSS);
	put32(ip + 28, 42);
	ip[32] = 5 << 4;
	ip[33] = flags;
	put16(ip + 34, 1000);
	for (size_t j = 0; j < payload; j++)
		ip[40 + j] = (uint8_t)(i * 13 + j);
	fix_csums(ip, len);
	return len;
}

/* gro.c merges four segments (the last short, with PSH); tso.c cuts the
 * result back into the same four, byte for byte. */
static void test_roundtrip(void **state)
{
	uint8_t a[4][CAP], out[CAP];
	size_t l[4], len;
	struct gro r;
	struct gro_vnet_hdr vh;

	assert_int_equal(gro_init(&r), 0);
	for (int i = 0; i < 4; i++)
		l[i] = seg(a[i], i, i < 3 ? MSS : 123, i < 3 ? 0x10 : 0x18);
	assert_int_equal(gro_start(&r, &r, a[0], l[0]), 1);
	for (int i = 1; i < 4; i++)
		assert_int_equal(gro_merge(&r, &r, a[i], l[i]), 1);
	len = gro_finish(&r, &vh);
	assert_int_equal(tso_count(&vh, r.buf, len, CAP), 4);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(tso_segment(&vh, r.buf, len, i, out, CAP), l[i]);
		assert_memory_equal(out, a[i], l[i]);
	}
	assert_int_equal(tso_segment(&vh, r.buf, len, 4, out, CAP), TSO_EINVAL);
	gro_free(&r);
}

/* A kernel TSO packet: FIN and PSH stay on the last segment, CWR on the
 * first; whatever the checksum field held, each segment's checksums verify. */
static void test_flags_and_csums(void **state)
{
	static uint8_t big[40 + 3 * MSS];
	uint8_t out[CAP];
	struct gro_vnet_hdr vh = { .flags = 1, .gso_type = 1, .hdr_len = 40, .gso_size = MSS,
				   .csum_start = 20, .csum_offset = 16 };
	size_t len = seg(big, 0, 3 * MSS, 0x80 | 0x10 | 0x08 | 0x01); /* CWR ACK PSH FIN */

	put16(big + 36, 0xdead); /* the kernel leaves a pseudo-header sum here */
	assert_int_equal(tso_count(&vh, big, len, CAP), 3);
	for (uint32_t i = 0; i < 3; i++) {
		int n = tso_segment(&vh, big, len, i, out, CAP);

		assert_int_equal(n, 40 + MSS);
		assert_int_equal(get16(out + 2), 40 + MSS);
		assert_int_equal(get16(out + 4), (uint16_t)(0xfffe + i));
		assert_int_equal(ref_csum(0, out, 20), 0);
		assert_int_equal(ref_csum(ref_pseudo(out, (size_t)n - 20), out + 20, (size_t)n - 20), 0);
		assert_int_equal(out[33] & 0x80, i == 0 ? 0x80 : 0);
		assert_int_equal(out[33] & 0x09, i == 2 ? 0x09 : 0);
		assert_int_equal(out[33] & 0x10, 0x10);
		assert_memory_equal(out + 40, big + 40 + i * MSS, MSS);
	}
}

/* What is not a TCPv4 GSO packet we can cut is refused, and nothing is
 * read past the packet. */
static void test_rejects(void **state)
{
	uint8_t p[CAP], out[CAP];
	struct gro_vnet_hdr good = { .flags = 1, .gso_type = 1, .hdr_len = 40, .gso_size = 500 }, vh;
	size_t len = seg(p, 0, 1200, 0x10);

	assert_int_equal(tso_count(&good, p, len, CAP), 3);
	vh = good;
	vh.gso_type = 3; /* UDP */
	assert_int_equal(tso_count(&vh, p, len, CAP), TSO_EINVAL);
	vh = good;
	vh.gso_type = 4; /* TCPv6 */
	assert_int_equal(tso_count(&vh, p, len, CAP), TSO_EINVAL);
	vh = good;
	vh.gso_size = 0;
	assert_int_equal(tso_count(&vh, p, len, CAP), TSO_EINVAL);
	vh = good;
	vh.gso_size = 1961; /* 40 + 1961 > CAP */
	assert_int_equal(tso_count(&vh, p, len, CAP), TSO_ESPACE);
	assert_int_equal(tso_count(&good, p, 40, CAP), TSO_EINVAL);   /* no payload */
	assert_int_equal(tso_count(&good, p, 39, CAP), TSO_EINVAL);   /* truncated */
	p[9] = 17;
	assert_int_equal(tso_count(&good, p, len, CAP), TSO_EINVAL);  /* not TCP */
	p[9] = 6;
	put16(p + 6, 0x2000);
	assert_int_equal(tso_count(&good, p, len, CAP), TSO_EINVAL);  /* a fragment */
	put16(p + 6, 0x4000);
	p[0] = 0x65;
	assert_int_equal(tso_count(&good, p, len, CAP), TSO_EINVAL);  /* version 6 */
	p[0] = 0x4f;                                                  /* ihl 60: TCP past the end */
	assert_int_equal(tso_count(&good, p, 70, CAP), TSO_EINVAL);
	p[0] = 0x45;
	p[32] = 15 << 4;                                              /* TCP header 60 > packet */
	assert_int_equal(tso_count(&good, p, 70, CAP), TSO_EINVAL);
	p[32] = 5 << 4;
	assert_int_equal(tso_segment(&good, p, len, 2, out, 239), TSO_ESPACE); /* 40 + 200 */
	assert_int_equal(tso_segment(&good, p, len, 2, out, 240), 240);
}

/* A non-GSO packet with a partial checksum is completed; offsets outside
 * the packet are refused. */
static void test_csum_complete(void **state)
{
	uint8_t p[CAP];
	size_t len = seg(p, 0, 301, 0x18); /* odd length */
	uint16_t want = get16(p + 36);
	struct gro_vnet_hdr vh = { .flags = 1, .csum_start = 20, .csum_offset = 16 };
	uint32_t ps = ref_pseudo(p, len - 20);

	while (ps >> 16)
		ps = (ps & 0xffff) + (ps >> 16);
	put16(p + 36, (uint16_t)ps);
	assert_int_equal(tso_csum_complete(&vh, p, len), 0);
	assert_int_equal(get16(p + 36), want);
	vh.csum_start = (uint16_t)len;
	assert_int_equal(tso_csum_complete(&vh, p, len), TSO_EINVAL);
	vh.csum_start = 20;
	vh.csum_offset = (uint16_t)(len - 21);
	assert_int_equal(tso_csum_complete(&vh, p, len), TSO_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_flags_and_csums),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_csum_complete),
	};

	return cmocka_run_group_tests_name("tso", tests, NULL, NULL);
}
