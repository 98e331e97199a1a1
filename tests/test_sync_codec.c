/* The sync codec (syncd/codec.h): a round trip for every type, a byte
 * fixture, and inputs of the wrong shape, truncated or bit-flipped. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../syncd/codec.h"

static uint8_t buf[SYNC_MSG_MAX];

static void fill(void *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		((uint8_t *)p)[i] = (uint8_t)(seed + i * 7);
}

static struct sync_msg child_msg(void)
{
	struct sync_msg m = { .type = SYNC_CHILD_ADD };
	struct sync_child *c = &m.u.child;

	strcpy(c->name, "site-a");
	c->spi_in = 0xc0ffee01;
	c->spi_out = 0x00000100;
	c->alg = SA_ALG_CHACHA20_POLY1305;
	c->state = SA_STATE_INSTALLED;
	c->flags = SA_F_ESN | SA_F_MANUAL;
	c->replay_window = 1024;
	fill(&c->key_in, sizeof(c->key_in), 1);
	fill(&c->key_out, sizeof(c->key_out), 99);
	c->ts_local_addr = 0x0a020000;
	c->ts_local_plen = 16;
	c->ts_remote_addr = 0x0a010100;
	c->ts_remote_plen = 24;
	c->peer_addr = 0xc0a83201;
	c->peer_port = 4500;
	c->created_ms = 1700000000123ull;
	c->life_soft_ms = 3600000;
	c->life_hard_ms = 3900000;
	c->life_soft_packets = 1ull << 40;
	c->life_hard_packets = UINT64_MAX;
	c->activation = 7;
	c->out_seq = (1ull << 40) + 5;
	c->in_top = 12345;
	c->ike_spi_i = 0x1122334455667788ull;
	c->ike_spi_r = 0x99aabbccddeeff00ull;
	return m;
}

static struct sync_msg ike_msg(void)
{
	struct sync_msg m = { .type = SYNC_IKE_ADD };
	struct sync_ike *k = &m.u.ike;

	strcpy(k->name, "ike-a");
	k->spi_i = 0x0102030405060708ull;
	k->spi_r = 0xfffffffffffffffeull;
	k->enc_alg = SA_ALG_AES_GCM_16_256;
	k->prf_alg = 1;
	k->flags = 3;
	k->state = SA_STATE_INSTALLED;
	k->peer_addr = 0xc0a83202;
	k->peer_port = 4500;
	k->local_addr = 0xc0a83201;
	fill(k->sk_d, sizeof(k->sk_d), 3);
	fill(k->sk_ei, sizeof(k->sk_ei), 4);
	fill(k->sk_er, sizeof(k->sk_er), 5);
	fill(k->sk_pi, sizeof(k->sk_pi), 6);
	fill(k->sk_pr, sizeof(k->sk_pr), 7);
	k->sk_len = 32;
	k->msgid_out = 17;
	k->msgid_in = UINT32_MAX;
	k->created_ms = 42;
	return m;
}

/* Encode, decode, compare the whole union (the structs are zeroed first,
 * so padding compares equal too). */
static void roundtrip(struct sync_msg *m)
{
	struct sync_msg out;
	int n = sync_encode(m, buf, sizeof(buf));

	assert_true(n > 0);
	assert_int_equal(sync_decode(buf, (size_t)n, &out), 0);
	assert_int_equal(out.type, m->type);
	assert_int_equal(out.version, SYNC_PROTO_VERSION);
	if (m->type == SYNC_COUNTERS) {
		assert_int_equal(out.u.ctr.n, m->u.ctr.n);
		assert_int_equal(out.u.ctr.tick, m->u.ctr.tick);
		assert_int_equal(out.u.ctr.span_ms, m->u.ctr.span_ms);
		assert_int_equal(out.u.ctr.wall_ms, m->u.ctr.wall_ms);
		assert_int_equal(!out.u.ctr.cmp, !m->u.ctr.cmp);
		if (m->u.ctr.cmp) {
			assert_int_equal(out.u.ctr.cmp_len, m->u.ctr.cmp_len);
			assert_memory_equal(out.u.ctr.cmp, m->u.ctr.cmp, m->u.ctr.cmp_len);
			return;
		}
		assert_memory_equal(out.u.ctr.raw, m->u.ctr.raw, (size_t)m->u.ctr.n * SYNC_CTR_ENTRY);
		assert_int_equal(!out.u.ctr.slots, !m->u.ctr.slots);
		if (m->u.ctr.slots && m->u.ctr.n)
			assert_memory_equal(out.u.ctr.slots, m->u.ctr.slots,
					    (size_t)m->u.ctr.n * SYNC_CTR_SLOT);
		return;
	}
	assert_memory_equal(&out.u, &m->u, sizeof(m->u));
}

static void test_roundtrip_every_type(void **state)
{
	struct sync_msg m;
	static uint8_t raw[SYNC_CTR_PER_MSG * SYNC_CTR_ENTRY];
	static uint8_t slots[SYNC_CTR_PER_MSG * SYNC_CTR_SLOT];
	uint32_t i;

	memset(&m, 0, sizeof(m));
	m.type = SYNC_HELLO;
	m.u.hello = (struct sync_hello){ .member_id = 3, .layout_version = SA_TABLE_LAYOUT_VERSION,
					 .role = SA_ROLE_ACTIVE, .child_capacity = 1000000,
					 .epoch = 1ull << 50 };
	roundtrip(&m);

	memset(&m, 0, sizeof(m));
	m.type = SYNC_BULK_BEGIN;
	m.u.bulk = (struct sync_bulk){ UINT64_MAX, 100000, 5 };
	roundtrip(&m);
	m.type = SYNC_BULK_END;
	roundtrip(&m);

	m = child_msg();
	roundtrip(&m);
	m.u.child.slot = 999999;          /* the optional "x" */
	m.u.child.has_slot = 1;
	roundtrip(&m);
	m.u.child.slot = 0;
	roundtrip(&m);
	m.u.child.has_slot = 0;
	m.u.child.state = SA_STATE_REKEYED;
	m.u.child.ike_spi_i = m.u.child.ike_spi_r = 0;
	memset(m.u.child.name, 0, sizeof(m.u.child.name));
	roundtrip(&m);

	memset(&m, 0, sizeof(m));
	m.type = SYNC_CHILD_DEL;
	m.u.child_del = (struct sync_child_del){ 256, UINT32_MAX };
	roundtrip(&m);

	m = ike_msg();
	roundtrip(&m);

	memset(&m, 0, sizeof(m));
	m.type = SYNC_IKE_UPDATE;
	m.u.ike_ref = (struct sync_ike_ref){ 1, 2, 300, 301 };
	roundtrip(&m);
	memset(&m, 0, sizeof(m));
	m.type = SYNC_IKE_DEL;
	m.u.ike_ref.spi_i = 9;
	m.u.ike_ref.spi_r = 10;
	roundtrip(&m);

	memset(&m, 0, sizeof(m));
	m.type = SYNC_COUNTERS;
	m.u.ctr.tick = 77;
	m.u.ctr.span_ms = 100;
	m.u.ctr.wall_ms = 1700000000000ull;
	for (i = 0; i < SYNC_CTR_PER_MSG; i++) {
		struct sync_ctr_entry e = { 256 + i, (uint64_t)i << 33, i };

		sync_ctr_put(raw, i, &e);
	}
	m.u.ctr.raw = raw;
	m.u.ctr.n = SYNC_CTR_PER_MSG;
	roundtrip(&m);                /* without slots: an earlier sender */
	for (i = 0; i < SYNC_CTR_PER_MSG; i++)
		sync_ctr_put_slot(slots, i, i * 3);
	m.u.ctr.slots = slots;        /* the largest message we send */
	roundtrip(&m);
	m.u.ctr.n = 0;
	roundtrip(&m);

	/* hello with capabilities */
	memset(&m, 0, sizeof(m));
	m.type = SYNC_HELLO;
	m.u.hello = (struct sync_hello){ .member_id = 1, .epoch = 2, .caps = SYNC_CAPS, .has_caps = 1 };
	roundtrip(&m);

	memset(&m, 0, sizeof(m));
	m.type = SYNC_HEARTBEAT;
	m.u.hb = (struct sync_heartbeat){ 5, 6, SA_ROLE_STANDBY, 1 };
	roundtrip(&m);
}

static void test_ctr_entries(void **state)
{
	uint8_t raw[2 * SYNC_CTR_ENTRY];
	struct sync_ctr_entry e = { 0xdeadbeef, 0x0102030405060708ull, UINT64_MAX }, g;
	struct sync_counters c = { .raw = raw, .n = 2 };

	sync_ctr_put(raw, 1, &e);
	/* big endian, fixed width */
	assert_int_equal(raw[20], 0xde);
	assert_int_equal(raw[24], 0x01);
	assert_int_equal(raw[31], 0x08);
	assert_int_equal(raw[39], 0xff);
	sync_ctr_get(&c, 1, &g);
	assert_int_equal(g.spi_in, e.spi_in);
	assert_true(g.out_seq == e.out_seq && g.in_top == e.in_top);
}

static void test_ctr_slots(void **state)
{
	uint8_t slots[2 * SYNC_CTR_SLOT];
	struct sync_counters c = { .slots = slots, .n = 2 };

	sync_ctr_put_slot(slots, 1, 0x00abcdef);
	/* big endian, 4 bytes each, entry by entry */
	assert_int_equal(slots[4], 0x00);
	assert_int_equal(slots[5], 0xab);
	assert_int_equal(slots[7], 0xef);
	assert_int_equal(sync_ctr_slot(&c, 1), 0x00abcdef);
}

/* A counters message with one entry and its slot, by hand; then the same
 * with the slot bin one entry short, or not a bin. */
static void test_ctr_slots_fixture(void **state)
{
	uint8_t msg[] = {
		0x86,                           /* map of 6 */
		0xa1, 'v', 0x01,                /* "v": 1 */
		0xa1, 't', 0x09,                /* "t": 9 (counters) */
		0xa1, 'k', 0x05,                /* "k": tick 5 */
		0xa2, 's', 'p', 0x64,           /* "sp": 100 ms */
		0xa1, 'w', 0x00,                /* "w": 0 */
		0xa1, 'c', 0xc4, 20,            /* "c": bin 20, one entry: */
		0x00, 0x00, 0x10, 0x01,         /*   spi_in 0x1001 */
		0, 0, 0, 0, 0, 0, 0x01, 0x00,   /*   out_seq 256 */
		0, 0, 0, 0, 0, 0, 0x00, 0x07,   /*   in_top 7 */
		0xa1, 'x', 0xc4, 4,             /* "x": bin 4, one slot: */
		0x00, 0x01, 0x00, 0x02,         /*   slot 65538 */
	};
	struct sync_counters *c;
	struct sync_ctr_entry e;
	struct sync_msg m;

	msg[0] = 0x87;                          /* the map holds 7 pairs */
	assert_int_equal(sync_decode(msg, sizeof(msg), &m), 0);
	c = &m.u.ctr;
	assert_int_equal(c->n, 1);
	assert_non_null(c->slots);
	assert_int_equal(sync_ctr_slot(c, 0), 65538);
	sync_ctr_get(c, 0, &e);
	assert_int_equal(e.spi_in, 0x1001);
	assert_int_equal(e.out_seq, 256);
	assert_int_equal(e.in_top, 7);
	/* without "x": found by SPI alone */
	msg[0] = 0x86;
	assert_int_equal(sync_decode(msg, sizeof(msg) - 8, &m), 0);
	assert_null(m.u.ctr.slots);
	/* a slot bin that does not go entry by entry with "c" */
	msg[0] = 0x87;
	msg[sizeof(msg) - 5] = 0;               /* bin 0: no slots for 1 entry */
	assert_int_equal(sync_decode(msg, sizeof(msg) - 4, &m), -EBADMSG);
	msg[sizeof(msg) - 5] = 3;               /* 3 bytes: not whole slots */
	assert_int_equal(sync_decode(msg, sizeof(msg) - 1, &m), -EBADMSG);
	msg[sizeof(msg) - 6] = 0x04;            /* "x": 4, a number */
	assert_int_equal(sync_decode(msg, sizeof(msg) - 5, &m), -EBADMSG);
}

/* Compact entries: what goes in comes out, slots and all, whatever the
 * size of the values (varints of 1 to 10 bytes) and the slot steps. */
static void test_ctr_compact(void **state)
{
	static uint8_t cmp[SYNC_CTR_CMP_ROOM];
	static const uint64_t vals[] = { 0, 1, 127, 128, 16383, 16384, 1ull << 32, (1ull << 63) - 1,
					 1ull << 63, UINT64_MAX };
	struct sync_msg m = { .type = SYNC_COUNTERS }, out;
	struct sync_ctr_slotted g;
	struct sync_ctr_iter it;
	size_t len = 0, nv = sizeof(vals) / sizeof(vals[0]);
	uint32_t i, n = 0, slot = 0;
	uint64_t base = 0;
	int k;

	for (i = 0; len + SYNC_CTR_CMP_MAX <= sizeof(cmp); i++, n++) {
		struct sync_ctr_entry e = { 0x100 + i * 77, vals[i % nv], vals[(i * 3 + 1) % nv] };

		slot = i == 0 ? 5 : slot + 1 + (i % 7 == 0 ? 100000 : i % 3); /* steps of 1 to 100001 */
		if (i == 1)
			slot = 1u << 31; /* far up, and the rest still fits */
		len += sync_ctr_put_compact(cmp + len, base, slot, &e);
		base = (uint64_t)slot + 1;
	}
	m.u.ctr.tick = 3;
	m.u.ctr.cmp = cmp;
	m.u.ctr.cmp_len = (uint32_t)len;
	m.u.ctr.n = n;
	k = sync_encode(&m, buf, sizeof(buf));
	assert_true(k > 0 && k <= SYNC_MSG_MAX);
	assert_int_equal(sync_decode(buf, (size_t)k, &out), 0);
	assert_int_equal(out.u.ctr.n, n);
	sync_ctr_iter_init(&it, &out.u.ctr);
	slot = 0;
	for (i = 0; i < n; i++) {
		assert_int_equal(sync_ctr_next(&it, &g), 0);
		slot = i == 0 ? 5 : slot + 1 + (i % 7 == 0 ? 100000 : i % 3);
		if (i == 1)
			slot = 1u << 31;
		assert_int_equal(g.has_slot, 1);
		assert_int_equal(g.slot, slot);
		assert_int_equal(g.e.spi_in, 0x100 + i * 77);
		assert_true(g.e.out_seq == vals[i % nv] && g.e.in_top == vals[(i * 3 + 1) % nv]);
	}
	assert_int_equal(sync_ctr_next(&it, &g), -1);
	/* every cut of the bin but at an entry's end is malformed; the bin's
	 * bytes are the message's last ones */
	for (size_t cut = 1; cut < 64; cut++) {
		struct sync_msg t = m;
		size_t whole = 0, e_len;

		t.u.ctr.cmp_len = (uint32_t)cut;
		for (base = 0, whole = 0; whole < cut; whole += e_len) {
			struct sync_ctr_slotted x;
			struct sync_counters one = { .cmp = cmp + whole, .cmp_len = (uint32_t)(cut - whole), .n = 1 };
			struct sync_ctr_iter it1;

			sync_ctr_iter_init(&it1, &one);
			it1.slot = base;
			if (sync_ctr_next(&it1, &x) < 0)
				break;
			e_len = it1.off;
			base = (uint64_t)x.slot + 1;
		}
		k = sync_encode(&t, buf, sizeof(buf));
		assert_int_equal(sync_decode(buf, (size_t)k, &out), whole == cut ? 0 : -EBADMSG);
	}
}

/* Compact bins that must be refused. */
static void test_ctr_compact_bad(void **state)
{
	static const struct {
		const char *what;
		uint8_t b[32];
		size_t len;
	} rows[] = {
		{ "varint of 11 bytes", { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 }, 11 },
		{ "value past 64 bits", { 0x00, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					  0xff, 0x02, 0x00 }, 16 },
		{ "slot step past 32 bits", { 0x80, 0x80, 0x80, 0x80, 0x10, 0, 0, 1, 0, 0x00, 0x00 }, 11 },
		{ "second slot past 32 bits", { 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 1, 0, 0, 0,
						0x00, 0, 0, 1, 0, 0, 0 }, 18 },
		{ "SPI cut short", { 0x00, 0, 0, 1 }, 4 },
		{ "no inbound top", { 0x00, 0, 0, 1, 0, 0x05 }, 6 },
		{ "top cut in its varint", { 0x00, 0, 0, 1, 0, 0x05, 0x81 }, 7 },
	};
	struct sync_msg m = { .type = SYNC_COUNTERS }, out;
	size_t i;
	int k;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		m.u.ctr.cmp = rows[i].b;
		m.u.ctr.cmp_len = (uint32_t)rows[i].len;
		k = sync_encode(&m, buf, sizeof(buf));
		if (sync_decode(buf, (size_t)k, &out) != -EBADMSG)
			fail_msg("row %zu (%s) decoded", i, rows[i].what);
	}
	/* "e" together with "c", or with "x"; and neither */
	m.u.ctr.cmp = rows[4].b;
	m.u.ctr.cmp_len = 0;
	m.u.ctr.raw = rows[0].b;
	k = sync_encode(&m, buf, sizeof(buf));
	assert_int_equal(sync_decode(buf, (size_t)k, &out), -EBADMSG);
	m.u.ctr.raw = NULL;
	m.u.ctr.slots = rows[0].b;
	k = sync_encode(&m, buf, sizeof(buf));
	assert_int_equal(sync_decode(buf, (size_t)k, &out), -EBADMSG);
	m.u.ctr.slots = NULL;
	m.u.ctr.cmp = NULL;
	k = sync_encode(&m, buf, sizeof(buf));
	assert_int_equal(sync_decode(buf, (size_t)k, &out), -EBADMSG);
	/* an empty "e" is a message of no entries */
	m.u.ctr.cmp = rows[0].b;
	k = sync_encode(&m, buf, sizeof(buf));
	assert_int_equal(sync_decode(buf, (size_t)k, &out), 0);
	assert_int_equal(out.u.ctr.n, 0);
}

/* A batch frame's messages back to back: each decodes with its length;
 * a cut or a stray byte is no message, and has no length. */
static void test_decode_first(void **state)
{
	struct sync_msg a = child_msg(), b, out;
	uint8_t two[2048];
	size_t span;
	int na, nb;

	memset(&b, 0, sizeof(b));
	b.type = SYNC_HEARTBEAT;
	b.u.hb = (struct sync_heartbeat){ 5, 6, SA_ROLE_STANDBY, 1 };
	na = sync_encode(&a, two, sizeof(two));
	nb = sync_encode(&b, two + na, sizeof(two) - (size_t)na);
	assert_true(na > 0 && nb > 0);
	assert_int_equal(sync_decode_first(two, (size_t)(na + nb), &out, &span), 0);
	assert_int_equal(span, na);
	assert_memory_equal(&out.u.child, &a.u.child, sizeof(a.u.child));
	assert_int_equal(sync_decode_first(two + na, (size_t)nb, &out, &span), 0);
	assert_int_equal(span, nb);
	assert_int_equal(out.type, SYNC_HEARTBEAT);
	/* alone, the pair is one message with trailing bytes */
	assert_int_equal(sync_decode(two, (size_t)(na + nb), &out), -EBADMSG);
	for (int s = 0; s < nb; s++) { /* the second cut anywhere */
		assert_int_equal(sync_decode_first(two + na, (size_t)s, &out, &span), -EBADMSG);
		assert_int_equal(span, 0);
	}
	two[na] = 0xc1; /* never used in msgpack */
	assert_int_equal(sync_decode_first(two + na, (size_t)nb, &out, &span), -EBADMSG);
	assert_int_equal(span, 0);
	assert_int_equal(sync_decode_first(two, 0, &out, &span), -EBADMSG);
}

/* A heartbeat written by hand, one field per line. */
static const uint8_t hb_fixture[] = {
	0x86,                   /* map of 6 */
	0xa1, 'v', 0x01,        /* "v": 1 */
	0xa1, 't', 0x0a,        /* "t": 10 (heartbeat) */
	0xa1, 'k', 0xcd, 0x01, 0x00, /* "k": 256 (uint16) */
	0xa2, 'e', 'p', 0x07,   /* "ep": 7 */
	0xa1, 'r', 0x01,        /* "r": 1 (active) */
	0xa1, 's', 0x00,        /* "s": 0 */
};

static void test_fixture(void **state)
{
	struct sync_msg m;

	assert_int_equal(sync_decode(hb_fixture, sizeof(hb_fixture), &m), 0);
	assert_int_equal(m.type, SYNC_HEARTBEAT);
	assert_int_equal(m.u.hb.tick, 256);
	assert_int_equal(m.u.hb.epoch, 7);
	assert_int_equal(m.u.hb.role, 1);
	assert_int_equal(m.u.hb.in_sync, 0);
}

static void test_unknown_type_skipped(void **state)
{
	static const uint8_t unk[] = {
		0x83, 0xa1, 'v', 0x01,             /* "v": 1 */
		0xa1, 't', 0x63,                   /* "t": 99 */
		0xa1, 'x', 0x92, 0x01, 0xc0,       /* "x": [1, nil]: its own shape */
	};
	struct sync_msg m;

	assert_int_equal(sync_decode(unk, sizeof(unk), &m), SYNC_UNKNOWN);
	assert_int_equal(m.type, 99);
}

/* Rows: bytes that must be refused, and with which error. */
static const struct {
	const char *what;
	uint8_t b[24];
	size_t len;
	int rc;
} bad[] = {
	{ "empty", { 0 }, 0, -EBADMSG },
	{ "not a map", { 0x92, 0x01, 0x0a }, 3, -EBADMSG },
	{ "no type", { 0x81, 0xa1, 'v', 0x01 }, 4, -EBADMSG },
	{ "no version", { 0x81, 0xa1, 't', 0x0a }, 4, -EBADMSG },
	{ "version 2", { 0x82, 0xa1, 'v', 0x02, 0xa1, 't', 0x0a }, 7, -EPROTONOSUPPORT },
	{ "version as string", { 0x82, 0xa1, 'v', 0xa1, '1', 0xa1, 't', 0x0a }, 8, -EBADMSG },
	{ "negative type", { 0x82, 0xa1, 'v', 0x01, 0xa1, 't', 0xff }, 7, -EBADMSG },
	{ "integer key", { 0x82, 0x01, 0x01, 0xa1, 't', 0x0a }, 6, -EBADMSG },
	{ "heartbeat without fields", { 0x82, 0xa1, 'v', 0x01, 0xa1, 't', 0x0a }, 7, -EBADMSG },
	{ "map claims 2^32-1 pairs", { 0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'v' }, 7, -EBADMSG },
	{ "array claims 2^32-1", { 0x81, 0xa1, 'v', 0xdd, 0xff, 0xff, 0xff, 0xff }, 8, -EBADMSG },
	{ "str past the end", { 0x81, 0xd9, 0xff, 'v' }, 4, -EBADMSG },
	{ "reserved byte 0xc1", { 0x81, 0xa1, 'v', 0xc1 }, 4, -EBADMSG },
	{ "trailing byte", { 0x80, 0x00 }, 2, -EBADMSG },
	{ "duplicate v", { 0x83, 0xa1, 'v', 0x01, 0xa1, 'v', 0x01, 0xa1, 't', 0x0a }, 10, -EBADMSG },
	{ "child_del with SPI 255",
	  { 0x84, 0xa1, 'v', 0x01, 0xa1, 't', 0x05, 0xa2, 's', 'i', 0xcc, 0xff, 0xa2, 's', 'o',
	    0xcd, 0x01, 0x00 }, 18, -EBADMSG },
	{ "counters bin of 19 bytes",
	  { 0x86, 0xa1, 'v', 0x01, 0xa1, 't', 0x09, 0xa1, 'k', 0x00, 0xa2, 's', 'p', 0x00,
	    0xa1, 'w', 0x00, 0xa1, 'c', 0xc4, 0x13 }, 21, -EBADMSG },
};

static void test_bad_rows(void **state)
{
	struct sync_msg m;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = sync_decode(bad[i].b, bad[i].len, &m);

		if (rc != bad[i].rc)
			fail_msg("row %zu (%s): got %d, want %d", i, bad[i].what, rc, bad[i].rc);
	}
}

/* Each field of a child add swapped for a value of the wrong type or out
 * of range must make the whole message malformed. */
static void test_wrong_shapes(void **state)
{
	struct sync_msg m = child_msg(), out;

	/* prefix length 33 */
	m.u.child.ts_remote_plen = 33;
	int n = sync_encode(&m, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(sync_decode(buf, (size_t)n, &out), -EBADMSG);
	/* unknown algorithm */
	m = child_msg();
	m.u.child.alg = 9;
	n = sync_encode(&m, buf, sizeof(buf));
	assert_int_equal(sync_decode(buf, (size_t)n, &out), -EBADMSG);
	/* LARVAL state is never sent */
	m = child_msg();
	m.u.child.state = SA_STATE_LARVAL;
	n = sync_encode(&m, buf, sizeof(buf));
	assert_int_equal(sync_decode(buf, (size_t)n, &out), -EBADMSG);
	/* a key of 35 bytes: patch the bin8 length of "ki" to 35 and drop a byte */
	m = child_msg();
	n = sync_encode(&m, buf, sizeof(buf));
	for (int i = 0; i + 4 < n; i++)
		if (buf[i] == 0xa2 && buf[i + 1] == 'k' && buf[i + 2] == 'i' && buf[i + 3] == 0xc4) {
			buf[i + 4] = 35;
			memmove(buf + i + 5 + 35, buf + i + 5 + 36, (size_t)n - (size_t)(i + 5 + 36));
			n--;
			break;
		}
	assert_int_equal(sync_decode(buf, (size_t)n, &out), -EBADMSG);
}

static void test_deep_nesting(void **state)
{
	uint8_t deep[600];
	struct sync_msg m;
	size_t i;

	/* {"v": [[[[...]]]]} 590 deep: refused, not a stack overflow */
	deep[0] = 0x81;
	deep[1] = 0xa1;
	deep[2] = 'v';
	for (i = 3; i < sizeof(deep) - 1; i++)
		deep[i] = 0x91;
	deep[sizeof(deep) - 1] = 0x01;
	assert_int_equal(sync_decode(deep, sizeof(deep), &m), -EBADMSG);
}

static void test_truncation(void **state)
{
	struct sync_msg m = child_msg(), out;
	int n = sync_encode(&m, buf, sizeof(buf));

	assert_true(n > 0);
	for (int len = 0; len < n; len++)
		assert_int_equal(sync_decode(buf, (size_t)len, &out), -EBADMSG);
	m = ike_msg();
	n = sync_encode(&m, buf, sizeof(buf));
	for (int len = 0; len < n; len++)
		assert_int_equal(sync_decode(buf, (size_t)len, &out), -EBADMSG);
}

/* A flipped bit may still decode (a number changed), but never crashes,
 * and anything that decodes is itself well-formed: it encodes again. */
static void test_bitflips(void **state)
{
	static uint8_t again[SYNC_MSG_MAX];
	struct sync_msg m = child_msg(), out;
	uint8_t orig[1024];
	int n = sync_encode(&m, orig, sizeof(orig)), ok = 0, bad_n = 0;

	assert_true(n > 0);
	for (int bit = 0; bit < n * 8; bit++) {
		memcpy(buf, orig, (size_t)n);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		int rc = sync_decode(buf, (size_t)n, &out);

		if (rc == 0) {
			ok++;
			assert_true(sync_encode(&out, again, sizeof(again)) > 0);
		} else {
			bad_n++;
		}
	}
	assert_true(bad_n > 0 && ok > 0);
}

static void test_encode_limits(void **state)
{
	struct sync_msg m = child_msg();
	uint8_t small[16];

	assert_int_equal(sync_encode(&m, small, sizeof(small)), -ENOSPC);
	m.type = 0;
	assert_int_equal(sync_encode(&m, buf, sizeof(buf)), -EINVAL);
	m.type = 99;
	assert_int_equal(sync_encode(&m, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sync_decode(buf, SYNC_MSG_MAX + 1, &m), -EMSGSIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_every_type),
		cmocka_unit_test(test_ctr_entries),
		cmocka_unit_test(test_ctr_slots),
		cmocka_unit_test(test_ctr_slots_fixture),
		cmocka_unit_test(test_ctr_compact),
		cmocka_unit_test(test_ctr_compact_bad),
		cmocka_unit_test(test_decode_first),
		cmocka_unit_test(test_fixture),
		cmocka_unit_test(test_unknown_type_skipped),
		cmocka_unit_test(test_bad_rows),
		cmocka_unit_test(test_wrong_shapes),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_bitflips),
		cmocka_unit_test(test_encode_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
