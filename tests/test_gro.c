/* The TUN's TCP coalescer (gwd/gro.c): what merges, what never does, and
 * that a merged packet is exactly what the kernel cuts back into the
 * originals. Segments are built here with valid checksums; each table row
 * changes one field of the second segment and says whether it may merge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../gwd/gro.h"

#define MSS 1000
#define SEQ0 0xfffffc00u /* the sequence space wraps inside the test */

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

/* Reference checksum, 16-bit words as RFC 1071 writes it. */
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
	size_t ihl = (size_t)(ip[0] & 15) * 4;

	put16(ip + 10, 0);
	put16(ip + 10, ref_csum(0, ip, ihl));
	put16(ip + ihl + 16, 0);
	put16(ip + ihl + 16, ref_csum(ref_pseudo(ip, len - ihl), ip + ihl, len - ihl));
}

/* Segment i of a bulk flow 10.1.0.5:40000 -> 10.2.0.7:5201, with the
 * timestamp option (12 bytes: NOP NOP TS), payload bytes (i * 7 + j). */
static size_t seg(uint8_t *ip, int i, size_t payload)
{
	uint8_t *t = ip + 20;
	size_t len = 20 + 32 + payload;

	memset(ip, 0, len);
	ip[0] = 0x45;                         /* IPv4, 20-byte header */
	put16(ip + 2, (uint16_t)len);         /* total length */
	put16(ip + 4, (uint16_t)(0x1234 + i));/* ID, +1 per segment */
	put16(ip + 6, 0x4000);                /* DF */
	ip[8] = 63;                           /* TTL */
	ip[9] = 6;                            /* TCP */
	put32(ip + 12, 0x0a010005);
	put32(ip + 16, 0x0a020007);
	put16(t, 40000);                      /* source port */
	put16(t + 2, 5201);                   /* destination port */
	put32(t + 4, SEQ0 + (uint32_t)i * MSS);/* sequence */
	put32(t + 8, 0x11223344);             /* ACK number */
	t[12] = 8 << 4;                       /* data offset: 32 bytes */
	t[13] = 0x10;                         /* ACK */
	put16(t + 14, 502);                   /* window */
	t[20] = 1; t[21] = 1; t[22] = 8; t[23] = 10; /* NOP NOP TS len 10 */
	put32(t + 24, 777);                   /* TSval */
	put32(t + 28, 555);                   /* TSecr */
	for (size_t j = 0; j < payload; j++)
		t[32 + j] = (uint8_t)(i * 7 + j);
	fix_csums(ip, len);
	return len;
}

static struct gro r;
static int owner_a, owner_b;

static int setup(void **state) { return gro_init(&r); }
static int teardown(void **state) { gro_free(&r); return 0; }

static void test_csum_rfc1071(void **state)
{
	/* an IPv4 header whose checksum is 0xb861 (the classic worked example) */
	static const uint8_t h[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
				       0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	uint8_t buf[1501];

	assert_int_equal((uint16_t)~gro_csum_fold(gro_csum_add(0, h, 20)), 0xb861);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 17);
	for (size_t n = 0; n <= sizeof(buf); n += 97) /* odd and even lengths */
		assert_int_equal((uint16_t)~gro_csum_fold(gro_csum_add(0, buf, n)), ref_csum(0, buf, n));
}

/* Three full segments and a short one become one packet that says TCPv4
 * GSO with the MSS; completing its partial checksum gives a valid packet
 * whose payload is the four payloads in order. */
static void test_merge_and_finish(void **state)
{
	uint8_t a[4][2048], out[65536];
	size_t l[4], len, total = 0;
	struct gro_vnet_hdr vh;

	for (int i = 0; i < 4; i++)
		total += (l[i] = seg(a[i], i, i < 3 ? MSS : 300)) - 52;
	assert_int_equal(gro_merge(&r, &owner_a, a[0], l[0]), 0); /* nothing pending */
	assert_int_equal(gro_start(&r, &owner_a, a[0], l[0]), 1);
	for (int i = 1; i < 4; i++)
		assert_int_equal(gro_merge(&r, &owner_a, a[i], l[i]), 1);
	assert_int_equal(r.segs, 4);
	assert_int_equal(r.bytes, l[0] + l[1] + l[2] + l[3]);
	assert_true(r.closed); /* the short one ends it */

	len = gro_finish(&r, &vh);
	assert_int_equal(len, 52 + total);
	memcpy(out, r.buf, len);
	assert_int_equal(vh.flags, 1);        /* NEEDS_CSUM */
	assert_int_equal(vh.gso_type, 1);     /* TCPV4 */
	assert_int_equal(vh.gso_size, MSS);
	assert_int_equal(vh.hdr_len, 52);
	assert_int_equal(vh.csum_start, 20);
	assert_int_equal(vh.csum_offset, 16);
	assert_int_equal(get16(out + 2), len);
	assert_int_equal(ref_csum(0, out, 20), 0);                 /* IP header checksum */
	assert_int_equal(get16(out + 4), 0x1234);                   /* first ID */
	assert_int_equal(get32(out + 24), SEQ0);                    /* first sequence */
	assert_int_equal(out[33], 0x10);                            /* ACK, no PSH */
	/* the field holds the pseudo-header sum; the kernel sums from
	 * csum_start over it and stores the complement */
	assert_int_equal((uint16_t)~get16(out + 36), ref_csum(ref_pseudo(out, len - 20), NULL, 0));
	put16(out + 36, ref_csum(0, out + 20, len - 20));
	assert_int_equal(ref_csum(ref_pseudo(out, len - 20), out + 20, len - 20), 0);
	for (int i = 0, off = 52; i < 4; off += (int)l[i] - 52, i++)
		assert_memory_equal(out + off, a[i] + 52, l[i] - 52);
	gro_reset(&r);
	assert_int_equal(r.len, 0);
}

/* A single segment goes out exactly as it came, with a zero header. */
static void test_single(void **state)
{
	uint8_t a[2048];
	size_t l = seg(a, 0, MSS);
	struct gro_vnet_hdr vh, zero = { 0 };

	assert_int_equal(gro_start(&r, &owner_a, a, l), 1);
	assert_int_equal(gro_finish(&r, &vh), l);
	assert_memory_equal(&vh, &zero, sizeof(vh));
	assert_memory_equal(r.buf, a, l);
}

/* Row: what is done to the second segment, and whether it may still merge. */
struct row {
	const char *what;
	void (*mut)(uint8_t *ip, size_t *len);
	int merges;
};

static void m_none(uint8_t *ip, size_t *len) { }
static void m_seq_gap(uint8_t *ip, size_t *len) { put32(ip + 24, get32(ip + 24) + 1); }
static void m_seq_back(uint8_t *ip, size_t *len) { put32(ip + 24, SEQ0); }
static void m_id(uint8_t *ip, size_t *len) { put16(ip + 4, 0x1236); }
static void m_sport(uint8_t *ip, size_t *len) { put16(ip + 20, 40001); }
static void m_dst(uint8_t *ip, size_t *len) { ip[19] = 8; }
static void m_ack(uint8_t *ip, size_t *len) { put32(ip + 28, 0x11223345); }
static void m_win(uint8_t *ip, size_t *len) { put16(ip + 34, 503); }
static void m_ttl(uint8_t *ip, size_t *len) { ip[8] = 62; }
static void m_tos_ce(uint8_t *ip, size_t *len) { ip[1] = 3; }
static void m_no_df(uint8_t *ip, size_t *len) { put16(ip + 6, 0); }
static void m_mf(uint8_t *ip, size_t *len) { put16(ip + 6, 0x6000); }
static void m_evil(uint8_t *ip, size_t *len) { put16(ip + 6, 0xc000); }
static void m_urgptr(uint8_t *ip, size_t *len) { put16(ip + 38, 9); }
static void m_tsval(uint8_t *ip, size_t *len) { put32(ip + 44, 778); }
static void m_psh(uint8_t *ip, size_t *len) { ip[33] |= 0x08; }
static void m_fin(uint8_t *ip, size_t *len) { ip[33] |= 0x01; }
static void m_syn(uint8_t *ip, size_t *len) { ip[33] |= 0x02; }
static void m_rst(uint8_t *ip, size_t *len) { ip[33] |= 0x04; }
static void m_urg(uint8_t *ip, size_t *len) { ip[33] |= 0x20; }
static void m_ece(uint8_t *ip, size_t *len) { ip[33] |= 0x40; }
static void m_cwr(uint8_t *ip, size_t *len) { ip[33] |= 0x80; }
static void m_reserved(uint8_t *ip, size_t *len) { ip[32] |= 0x01; }
static void m_udp(uint8_t *ip, size_t *len) { ip[9] = 17; }
static void m_longer(uint8_t *ip, size_t *len)
{
	*len += 1; /* one byte more than the MSS the first one set */
	put16(ip + 2, (uint16_t)*len);
}
static void m_shorter(uint8_t *ip, size_t *len)
{
	*len -= 100;
	put16(ip + 2, (uint16_t)*len);
}
static void m_pure_ack(uint8_t *ip, size_t *len)
{
	*len = 52;
	put16(ip + 2, 52);
}
static void m_tot_len(uint8_t *ip, size_t *len) { put16(ip + 2, (uint16_t)(*len - 1)); }
static void m_ip_options(uint8_t *ip, size_t *len) { ip[0] = 0x46; }
/* marks for "break the checksum after fixing" */
static void m_bad_tcp_csum(uint8_t *ip, size_t *len) { }
static void m_bad_payload(uint8_t *ip, size_t *len) { }

static const struct row rows[] = {
	/*  1 */ { "unchanged", m_none, 1 },
	/*  2 */ { "sequence gap", m_seq_gap, 0 },
	/*  3 */ { "sequence repeated", m_seq_back, 0 },
	/*  4 */ { "IP ID skips", m_id, 0 },
	/*  5 */ { "other source port", m_sport, 0 },
	/*  6 */ { "other destination", m_dst, 0 },
	/*  7 */ { "other ACK number", m_ack, 0 },
	/*  8 */ { "other window", m_win, 0 },
	/*  9 */ { "other TTL", m_ttl, 0 },
	/* 10 */ { "ECN CE mark", m_tos_ce, 0 },
	/* 11 */ { "DF cleared", m_no_df, 0 },
	/* 12 */ { "a fragment (MF)", m_mf, 0 },
	/* 13 */ { "other TSval", m_tsval, 0 },
	/* 14 */ { "PSH: merges, and ends the packet", m_psh, 1 },
	/* 15 */ { "FIN", m_fin, 0 },
	/* 16 */ { "SYN", m_syn, 0 },
	/* 17 */ { "RST", m_rst, 0 },
	/* 18 */ { "URG", m_urg, 0 },
	/* 19 */ { "ECE", m_ece, 0 },
	/* 20 */ { "CWR", m_cwr, 0 },
	/* 21 */ { "reserved bit", m_reserved, 0 },
	/* 22 */ { "UDP", m_udp, 0 },
	/* 23 */ { "longer than the MSS", m_longer, 0 },
	/* 24 */ { "shorter: merges, and ends the packet", m_shorter, 1 },
	/* 25 */ { "no payload (pure ACK)", m_pure_ack, 0 },
	/* 26 */ { "total length disagrees", m_tot_len, 0 },
	/* 27 */ { "IP options", m_ip_options, 0 },
	/* 28 */ { "bad TCP checksum", m_bad_tcp_csum, 0 },
	/* 29 */ { "payload bit flipped", m_bad_payload, 0 },
	/* 30 */ { "reserved IP flag (RFC 3514)", m_evil, 0 },
	/* 31 */ { "urgent pointer without URG", m_urgptr, 0 },
};

static void test_merge_table(void **state)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint8_t a[2048] = { 0 }, b[2048] = { 0 };
		size_t la = seg(a, 0, MSS), lb = seg(b, 1, MSS);

		rows[i].mut(b, &lb);
		if (rows[i].mut != m_tot_len)
			fix_csums(b, lb);
		if (rows[i].mut == m_bad_tcp_csum)
			b[36] ^= 0x01;
		if (rows[i].mut == m_bad_payload)
			b[100] ^= 0x20;
		gro_reset(&r);
		assert_int_equal(gro_start(&r, &owner_a, a, la), 1);
		if (gro_merge(&r, &owner_a, b, lb) != rows[i].merges)
			fail_msg("row %zu (%s): merge %d, want %d", i + 1, rows[i].what, !rows[i].merges,
				 rows[i].merges);
		/* a rejected segment leaves the pending packet as it was */
		assert_int_equal(r.segs, 1 + rows[i].merges);
		assert_int_equal(r.len, la + (rows[i].merges ? lb - 52 : 0));
	}
}

/* Another SA's packet never joins, even if it is the next segment. */
static void test_owner(void **state)
{
	uint8_t a[2048], b[2048];
	size_t la = seg(a, 0, MSS), lb = seg(b, 1, MSS);

	assert_int_equal(gro_start(&r, &owner_a, a, la), 1);
	assert_int_equal(gro_merge(&r, &owner_b, b, lb), 0);
	assert_int_equal(gro_merge(&r, &owner_a, b, lb), 1);
}

/* What may not start a packet: it could have no successor, or is not TCP
 * the kernel could re-segment. */
static void test_start_rejects(void **state)
{
	uint8_t a[2048];
	size_t l;

	l = seg(a, 0, MSS);
	a[33] |= 0x08; /* PSH */
	fix_csums(a, l);
	assert_int_equal(gro_start(&r, &owner_a, a, l), 0);
	l = seg(a, 0, 0); /* pure ACK */
	assert_int_equal(gro_start(&r, &owner_a, a, l), 0);
	l = seg(a, 0, MSS);
	a[40] ^= 1; /* corrupt */
	assert_int_equal(gro_start(&r, &owner_a, a, l), 0);
	l = seg(a, 0, MSS);
	assert_int_equal(gro_start(&r, &owner_a, a, l - 1), 0); /* truncated */
	assert_int_equal(r.len, 0);
	assert_int_equal(gro_start(&r, &owner_a, a, l), 1);
	assert_int_equal(gro_start(&r, &owner_a, a, l), 0); /* one already pending */
}

/* After a PSH or a short segment nothing more joins. */
static void test_closed(void **state)
{
	uint8_t a[3][2048];
	size_t l0 = seg(a[0], 0, MSS), l1 = seg(a[1], 1, MSS), l2 = seg(a[2], 2, MSS);
	struct gro_vnet_hdr vh;

	a[1][33] |= 0x08;
	fix_csums(a[1], l1);
	assert_int_equal(gro_start(&r, &owner_a, a[0], l0), 1);
	assert_int_equal(gro_merge(&r, &owner_a, a[1], l1), 1);
	assert_int_equal(gro_merge(&r, &owner_a, a[2], l2), 0);
	gro_finish(&r, &vh);
	assert_int_equal(r.buf[33], 0x18); /* the PSH moves to the merged packet */
}

/* The merged packet stays within 64 KiB and GRO_MAX_SEGS segments. */
static void test_limits(void **state)
{
	uint8_t a[2048];
	size_t l;
	int i, n;

	l = seg(a, 0, 1400);
	assert_int_equal(gro_start(&r, &owner_a, a, l), 1);
	for (i = 1, n = 1; i < 60; i++) {
		uint8_t b[2048];
		size_t lb = seg(b, i, 1400);

		put32(b + 24, SEQ0 + (uint32_t)i * 1400);
		fix_csums(b, lb);
		n += gro_merge(&r, &owner_a, b, lb);
	}
	assert_int_equal(n, (GRO_MAX_LEN - 52) / 1400); /* 46 */
	assert_true(r.len <= GRO_MAX_LEN);

	gro_reset(&r);
	l = seg(a, 0, 10);
	assert_int_equal(gro_start(&r, &owner_a, a, l), 1);
	for (i = 1, n = 1; i < 100; i++) {
		uint8_t b[256];
		size_t lb = seg(b, i, 10);

		put32(b + 24, SEQ0 + (uint32_t)i * 10);
		fix_csums(b, lb);
		n += gro_merge(&r, &owner_a, b, lb);
	}
	assert_int_equal(n, GRO_MAX_SEGS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_rfc1071),
		cmocka_unit_test_setup_teardown(test_merge_and_finish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
	};

	return cmocka_run_group_tests_name("gro", tests, NULL, NULL);
}
