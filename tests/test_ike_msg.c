/* IKEv2 messages: parsing from byte fixtures (a hand-made one with a
 * comment per field, and strongSwan's real IKE_SA_INIT), truncation and
 * bit-flip loops, the SK payload, proposals, traffic selectors and the
 * [conn] config. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "../gwd/ike_crypto.h"
#include "../gwd/ike_msg.h"
#include "../gwd/ike_prop.h"
#include "config.h"
#include "ike_vectors.h"

/* An IKE_SA_INIT request: header, SA (one proposal, ChaCha20-Poly1305,
 * PRF_HMAC_SHA2_256, X25519), KE, Nonce, an unknown non-critical payload. */
static const uint8_t fix_init[] = {
	/* header */
	0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, /* SPIi */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* SPIr: 0 */
	33,                                             /* next: SA */
	0x20,                                           /* version 2.0 */
	34,                                             /* IKE_SA_INIT */
	0x08,                                           /* flags: Initiator */
	0x00, 0x00, 0x00, 0x00,                         /* message ID 0 */
	0x00, 0x00, 0x00, 0x84,                         /* length 132 */
	/* SA payload */
	34, 0x00, 0x00, 0x24,                           /* next KE, length 36 */
	0x00, 0x00, 0x00, 0x20,                         /* proposal: last, length 32 */
	0x01, 0x01, 0x00, 0x03,                         /* #1, IKE, no SPI, 3 transforms */
	0x03, 0x00, 0x00, 0x08, 0x01, 0x00, 0x00, 28,   /* ENCR CHACHA20_POLY1305 */
	0x03, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x05, /* PRF HMAC_SHA2_256 */
	0x00, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 31,   /* DH 31 (X25519), last */
	/* KE payload */
	40, 0x00, 0x00, 0x28,                           /* next Nonce, length 40 */
	0x00, 31, 0x00, 0x00,                           /* group 31, reserved */
	9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, /* public value (32) */
	9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
	/* Nonce payload */
	200, 0x00, 0x00, 0x14,                          /* next 200 (unknown), length 20 */
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	/* unknown payload type 200, not critical: skipped */
	0, 0x00, 0x00, 0x08,                            /* last, length 8 */
	0xde, 0xad, 0xbe, 0xef,
};

static void test_parse_fixture(void **state)
{
	struct ike_msg m;
	const struct ike_pl *pl;
	uint16_t group;
	const uint8_t *d;
	size_t len;

	assert_int_equal(sizeof(fix_init), 132);
	assert_int_equal(ike_msg_parse(&m, fix_init, sizeof(fix_init)), 0);
	assert_true(m.hdr.spi_i == 0x1122334455667788ull);
	assert_int_equal(m.hdr.exchange, IKE_SA_INIT);
	assert_int_equal(m.hdr.flags, IKE_FLAG_I);
	assert_int_equal(m.n, 3); /* the unknown one is not kept */
	assert_int_equal(m.pl[0].type, IKE_PL_SA);
	assert_non_null(pl = ike_msg_find(&m, IKE_PL_KE));
	ike_pl_ke(pl, &group, &d, &len);
	assert_int_equal(group, 31);
	assert_int_equal(len, 32);
	assert_non_null(pl = ike_msg_find(&m, IKE_PL_NONCE));
	assert_int_equal(pl->len, 16);
	assert_null(m.sk);
}

/* Every prefix of a valid message is refused, without reading past it. */
static void test_truncation_loop(void **state)
{
	struct ike_msg m;
	uint8_t buf[sizeof(kat_init_req)];
	size_t n;

	for (n = 0; n < sizeof(fix_init); n++)
		assert_true(ike_msg_parse(&m, fix_init, n) < 0);
	/* and with the length field telling the truth about the prefix */
	for (n = IKE_HDR_LEN; n < sizeof(kat_init_req); n++) {
		memcpy(buf, kat_init_req, n);
		ike_put32(buf + 24, (uint32_t)n);
		assert_true(ike_msg_parse(&m, buf, n) < 0);
	}
}

/* Flipping any bit of any length field is caught or stays in bounds. */
static void test_bitflip_loop(void **state)
{
	uint8_t buf[sizeof(kat_init_req)];
	struct ike_msg m;
	size_t i, b, ok = 0;

	for (i = 0; i < sizeof(buf); i++)
		for (b = 0; b < 8; b++) {
			memcpy(buf, kat_init_req, sizeof(buf));
			buf[i] ^= (uint8_t)(1u << b);
			if (ike_msg_parse(&m, buf, sizeof(buf)) == 0) {
				unsigned k;

				ok++;
				for (k = 0; k < m.n; k++)
					assert_true(m.pl[k].body + m.pl[k].len <= buf + sizeof(buf));
			}
		}
	assert_true(ok > 0); /* flips in payload data still parse */
}

static void test_strongswan_init(void **state)
{
	struct ike_msg m;
	struct ike_choice ch;
	struct ike_suites aes, chacha;
	const char *why;
	unsigned i, notifies = 0;

	assert_int_equal(ike_msg_parse(&m, kat_init_req, sizeof(kat_init_req)), 0);
	assert_true(m.hdr.spi_i == kat_spi_i);
	for (i = 0; i < m.n; i++)
		notifies += m.pl[i].type == IKE_PL_NOTIFY;
	assert_true(notifies >= 2);
	assert_non_null(ike_msg_notify(&m, IKE_N_NAT_DETECTION_SOURCE_IP));
	assert_int_equal(conf_ike_suites_parse("aes256gcm16-prfsha256-x25519", 0, &aes, &why), 0);
	assert_int_equal(conf_ike_suites_parse("chacha20poly1305-prfsha256-x25519", 0, &chacha, &why), 0);
	assert_int_equal(ike_prop_select(ike_msg_find(&m, IKE_PL_SA), IKE_PROTO_IKE, &aes,
					 IKE_DH_REQUIRE, &ch), 0);
	assert_int_equal(ch.enc, SA_ALG_AES_GCM_16_256);
	assert_int_equal(ch.num, 1);
	/* strongSwan offered AES-GCM only: NO_PROPOSAL_CHOSEN for ChaCha */
	assert_int_equal(ike_prop_select(ike_msg_find(&m, IKE_PL_SA), IKE_PROTO_IKE, &chacha,
					 IKE_DH_REQUIRE, &ch), -ENOENT);
	assert_int_equal(ike_prop_select(ike_msg_find(&m, IKE_PL_SA), IKE_PROTO_ESP, &aes,
					 IKE_DH_IGNORE, &ch), -ENOENT);
}

static void test_unknown_critical(void **state)
{
	uint8_t buf[sizeof(fix_init)];
	struct ike_msg m;

	memcpy(buf, fix_init, sizeof(buf));
	buf[sizeof(buf) - 7] = 0x80; /* critical bit on the unknown payload */
	assert_int_equal(ike_msg_parse(&m, buf, sizeof(buf)), IKE_E_CRITICAL);
	assert_int_equal(m.crit_type, 200);
}

static void test_bad_version_and_trailing(void **state)
{
	uint8_t buf[sizeof(fix_init) + 1];
	struct ike_msg m;

	memcpy(buf, fix_init, sizeof(fix_init));
	buf[17] = 0x30;
	assert_int_equal(ike_msg_parse(&m, buf, sizeof(fix_init)), IKE_E_VERSION);
	buf[17] = 0x21; /* minor versions are ignored */
	assert_int_equal(ike_msg_parse(&m, buf, sizeof(fix_init)), 0);
	buf[sizeof(fix_init)] = 0;
	assert_int_equal(ike_msg_parse(&m, buf, sizeof(buf)), IKE_E_SYNTAX);
}

static void build_sk(struct ike_buf *msg, int alg, const uint8_t *key)
{
	static struct ike_buf in;
	struct sa_ts ts = { .addr = 0x0a010000, .plen = 24 };
	uint32_t spis[2] = { 0x10000001, 0x20000002 };

	ike_buf_init_msg(msg, 1, 2, IKE_INFORMATIONAL, IKE_FLAG_I, 7);
	ike_buf_init_chain(&in);
	ike_buf_delete(&in, IKE_PROTO_ESP, spis, 2);
	ike_buf_ts(&in, IKE_PL_TSI, &ts);
	ike_buf_notify(&in, 0, NULL, 0, IKE_N_MSGID_SYNC_SUPPORTED, NULL, 0);
	assert_int_equal(ike_sk_seal(msg, &in, alg, key, 0x0102030405060708ull), 0);
}

static void test_sk_roundtrip_flips(void **state)
{
	static struct ike_buf msg;
	uint8_t key[36], buf[IKE_MSG_MAX];
	struct ike_msg m;
	struct ike_delete_pl d;
	struct sa_ts ts[4];
	unsigned n, skip;
	size_t i;

	randombytes_buf(key, sizeof(key));
	build_sk(&msg, SA_ALG_CHACHA20_POLY1305, key);
	memcpy(buf, msg.p, msg.len);
	assert_int_equal(ike_msg_parse(&m, buf, msg.len), 0);
	assert_non_null(m.sk);
	assert_int_equal(ike_sk_open(&m, buf, SA_ALG_CHACHA20_POLY1305, key), 0);
	assert_int_equal(m.n, 4);
	assert_int_equal(ike_pl_delete(ike_msg_find(&m, IKE_PL_DELETE), &d), 0);
	assert_int_equal(d.n, 2);
	assert_int_equal(ike_get32(d.spis + 4), 0x20000002);
	assert_int_equal(ike_pl_ts(ike_msg_find(&m, IKE_PL_TSI), ts, 4, &n, &skip), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ts[0].addr, 0x0a010000);
	assert_int_equal(ts[0].plen, 24);
	assert_non_null(ike_msg_notify(&m, IKE_N_MSGID_SYNC_SUPPORTED));
	/* Any flipped bit after the header fields we parse is an auth
	 * failure; none crashes. */
	for (i = 0; i < msg.len * 8; i++) {
		int rc;

		memcpy(buf, msg.p, msg.len);
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		rc = ike_msg_parse(&m, buf, msg.len);
		if (rc == 0)
			rc = ike_sk_open(&m, buf, SA_ALG_CHACHA20_POLY1305, key);
		assert_true(rc < 0);
	}
}

static void test_ts_ranges(void **state)
{
	/* TS payload: three selectors; a /24 range, a non-prefix range,
	 * a TCP-only range: only the first is ours. */
	static const uint8_t body[] = {
		3, 0, 0, 0,
		7, 0, 0, 16, 0, 0, 0xff, 0xff, 10, 2, 0, 0, 10, 2, 0, 255,
		7, 0, 0, 16, 0, 0, 0xff, 0xff, 10, 2, 0, 1, 10, 2, 0, 5,
		7, 6, 0, 16, 0, 0, 0xff, 0xff, 10, 3, 0, 0, 10, 3, 0, 255,
	};
	struct ike_pl pl = { .type = IKE_PL_TSI, .len = sizeof(body), .body = body };
	struct sa_ts ts[4];
	unsigned n, skip;

	assert_int_equal(ike_pl_ts(&pl, ts, 4, &n, &skip), 0);
	assert_int_equal(n, 1);
	assert_int_equal(skip, 2);
	assert_int_equal(ts[0].addr, 0x0a020000);
	assert_int_equal(ts[0].plen, 24);
	pl.len--; /* a selector that runs past the payload */
	assert_int_equal(ike_pl_ts(&pl, ts, 4, &n, &skip), IKE_E_SYNTAX);
}

static void test_ts_narrow_table(void **state)
{
	static const struct {
		uint32_t ours; uint8_t ours_plen;
		uint32_t theirs; uint8_t theirs_plen;
		int rc; uint32_t out; uint8_t out_plen;
	} rows[] = {
		/* equal */
		{ 0x0a010000, 24, 0x0a010000, 24, 0, 0x0a010000, 24 },
		/* theirs wider: narrowed to ours */
		{ 0x0a010000, 24, 0x00000000, 0, 0, 0x0a010000, 24 },
		/* theirs narrower: theirs */
		{ 0x0a010000, 24, 0x0a010080, 25, 0, 0x0a010080, 25 },
		/* disjoint */
		{ 0x0a010000, 24, 0x0a020000, 24, -ENOENT, 0, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct sa_ts o = { .addr = rows[i].ours, .plen = rows[i].ours_plen };
		struct sa_ts t = { .addr = rows[i].theirs, .plen = rows[i].theirs_plen };
		struct sa_ts out = { 0 };

		assert_int_equal(ike_ts_narrow(&o, &t, 1, &out), rows[i].rc);
		if (rows[i].rc == 0) {
			assert_int_equal(out.addr, rows[i].out);
			assert_int_equal(out.plen, rows[i].out_plen);
		}
	}
}

/* Our own offer, parsed back: ESP with both ESN values, then the choice. */
static void test_prop_build_select(void **state)
{
	static struct ike_buf b;
	struct ike_suites ours, theirs, esn_only;
	struct ike_choice ch;
	struct ike_msg m;
	const char *why;

	assert_int_equal(conf_ike_suites_parse("chacha20poly1305-esn-noesn, aes256gcm16", 1, &theirs, &why), 0);
	assert_int_equal(conf_ike_suites_parse("aes256gcm16-noesn,chacha20poly1305-noesn", 1, &ours, &why), 0);
	assert_int_equal(conf_ike_suites_parse("chacha20poly1305-esn", 1, &esn_only, &why), 0);
	ike_buf_init_msg(&b, 1, 2, IKE_CREATE_CHILD_SA, 0, 3);
	ike_prop_build(&b, IKE_PROTO_ESP, &theirs, 0xc0ffee11, 1);
	ike_buf_finish(&b);
	assert_int_equal(ike_msg_parse(&m, b.p, b.len), 0);
	/* our order wins: AES-GCM, proposal #2 */
	assert_int_equal(ike_prop_select(&m.pl[0], IKE_PROTO_ESP, &ours, IKE_DH_REQUIRE, &ch), 0);
	assert_int_equal(ch.enc, SA_ALG_AES_GCM_16_256);
	assert_int_equal(ch.num, 2);
	assert_int_equal(ch.spi, 0xc0ffee11);
	assert_int_equal(ch.esn, 0);
	assert_int_equal(ike_prop_select(&m.pl[0], IKE_PROTO_ESP, &esn_only, IKE_DH_REQUIRE, &ch), 0);
	assert_int_equal(ch.esn, 1);
	assert_int_equal(ch.enc, SA_ALG_CHACHA20_POLY1305);
	/* it carries a DH transform: refused when no KE came (PFS mismatch) */
	assert_int_equal(ike_prop_select(&m.pl[0], IKE_PROTO_ESP, &ours, IKE_DH_FORBID, &ch), -ENOENT);
	/* the answer is one proposal that selects the same */
	ch.esn = 0;
	ch.enc = SA_ALG_AES_GCM_16_256;
	ch.dh = 1;
	ike_buf_init_msg(&b, 1, 2, IKE_CREATE_CHILD_SA, IKE_FLAG_R, 3);
	ike_prop_build_choice(&b, &ch, 0x30000001);
	ike_buf_finish(&b);
	assert_int_equal(ike_msg_parse(&m, b.p, b.len), 0);
	assert_int_equal(ike_prop_select(&m.pl[0], IKE_PROTO_ESP, &ours, IKE_DH_REQUIRE, &ch), 0);
	assert_int_equal(ch.spi, 0x30000001);
}

static void test_conf_conn(void **state)
{
	static const char *const good =
		"[gateway]\nlocal = 192.168.1.1\n"
		"[conn site]\npeer = 192.168.1.2\npsk = 0x00112233\nlocal_id = @gw.example\n"
		"remote_id = 192.168.1.2\nlocal_ts = 10.1.0.0/24\nremote_ts = 10.2.0.0/16\n"
		"esp_proposals = chacha20poly1305-esn\ninitiator = yes\npfs = yes\n";
	static const struct {
		const char *text;
		const char *err;
	} bad[] = {
		{ "[conn a]\npeer = 1.2.3.4\nfoo = 1\n", "t:3: unknown key 'foo'" },
		{ "[conn a]\npeer = 1.2.3\n", "t:2: expected an IPv4 address '1.2.3'" },
		{ "[conn a]\nike_proposals = aes256gcm16-prfsha1-x25519\n",
		  "t:2: unknown IKE transform (aes256gcm16, chacha20poly1305, prfsha256, x25519) "
		  "'aes256gcm16-prfsha1-x25519'" },
		{ "[conn a]\npeer = 1.2.3.4\n", "t:1: conn needs psk" },
		{ "[conn a]\npeer = 1.2.3.4\npsk = x\nlocal_ts = 10.0.0.0/8\n", "t:1: conn needs local_ts and remote_ts" },
		{ "[conn a]\npsk = 0x123\n", "t:2: hex PSK: even number of digits, at most 128 bytes '0x123'" },
		{ "[ike]\nretransmit_ms = 5\n", "t:2: out of range 100..60000 '5'" },
	};
	struct config c;
	struct conf_err err;
	size_t i;

	assert_int_equal(config_load_string(&c, "t", good, &err), 0);
	assert_int_equal(c.ike.n_conns, 1);
	assert_int_equal(c.ike.conns[0].psk_len, 4);
	assert_int_equal(c.ike.conns[0].local_id.type, 2);
	assert_int_equal(c.ike.conns[0].local_id.len, 10);
	assert_int_equal(c.ike.conns[0].remote_id.type, 1);
	assert_int_equal(c.ike.conns[0].esp.s[0].esn_mask, IKE_ESN_YES);
	assert_int_equal(c.ike.conns[0].ike.n, 2); /* the default list */
	assert_int_equal(c.ike.retransmit_ms, 1000);
	assert_true(c.ike.conns[0].initiator && c.ike.conns[0].pfs);
	assert_ptr_equal(conf_ike_conn_by_peer(&c.ike, 0xc0a80102), &c.ike.conns[0]);
	config_free(&c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(config_load_string(&c, "t", bad[i].text, &err), -1);
		assert_string_equal(err.msg, bad[i].err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fixture),
		cmocka_unit_test(test_truncation_loop),
		cmocka_unit_test(test_bitflip_loop),
		cmocka_unit_test(test_strongswan_init),
		cmocka_unit_test(test_unknown_critical),
		cmocka_unit_test(test_bad_version_and_trailing),
		cmocka_unit_test(test_sk_roundtrip_flips),
		cmocka_unit_test(test_ts_ranges),
		cmocka_unit_test(test_ts_narrow_table),
		cmocka_unit_test(test_prop_build_select),
		cmocka_unit_test(test_conf_conn),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
