/* Config: a full file parses; every kind of error names file:line and the
 * offending token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

#define K1 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f01020304"
#define K2 "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f05060708"

static const char good[] =
	"# a gateway\n"
	"[gateway]\n"
	"member_id = 3\n"
	"name = gw1\n"
	"tun = t0\n"
	"local = 192.0.2.1\n"
	"replay_window = 1536\n"
	"\n"
	"[sa site1]\n"
	"spi_in = 0x2001\n"
	"spi_out = 0x1001\n"
	"alg = aes256gcm16\n"
	"key_in = " K1 "\n"
	"key_out = " K2 "\n"
	"esn = yes\n"
	"local_ts = 10.1.0.0/24\n"
	"remote_ts = 10.2.0.0/16\n"
	"peer = 192.0.2.2\n"
	"initial_seq = 0x1ffffffff\n";

static void test_good(void **state)
{
	struct config c;
	struct conf_err e;

	assert_int_equal(config_load_string(&c, "t.conf", good, &e), 0);
	assert_int_equal(c.gw.member_id, 3);
	assert_string_equal(c.gw.name, "gw1");
	assert_string_equal(c.gw.shm, "/hagw-gw1");         /* derived default */
	assert_int_equal(c.gw.local_addr, 0xc0000201u);
	assert_int_equal(c.gw.replay_window, 1536);
	assert_int_equal(c.n_sas, 1);
	assert_string_equal(c.sas[0].name, "site1");
	assert_int_equal(c.sas[0].spi_in, 0x2001);
	assert_int_equal(c.sas[0].alg, SA_ALG_AES_GCM_16_256);
	assert_int_equal(c.sas[0].key_in.key[1], 0x01);
	assert_int_equal(c.sas[0].key_in.salt[3], 0x04);
	assert_int_equal(c.sas[0].key_out.key[0], 0xff);
	assert_int_equal(c.sas[0].esn, 1);
	assert_int_equal(c.sas[0].ts_remote.addr, 0x0a020000u);
	assert_int_equal(c.sas[0].ts_remote.plen, 16);
	assert_int_equal(c.sas[0].replay_window, 1536);      /* inherited */
	assert_true(c.sas[0].initial_seq == 0x1ffffffffull);
	config_free(&c);
}

/* Rows: text, and the exact message it must give. */
static void test_errors(void **state)
{
	static const struct {
		const char *text;
		const char *msg;
	} rows[] = {
		{ "[gateway]\nmember_id = 16\n", "t.conf:2: out of range 0..15 '16'" },
		{ "[gateway]\nbogus = 1\n", "t.conf:2: unknown key 'bogus'" },
		{ "[gatway]\nname = x\n", "t.conf:2: unknown section 'gatway'" },
		{ "name = x\n", "t.conf:1: key outside of any section 'name'" },
		{ "[gateway]\n\n\nlocal = 300.1.1.1\n", "t.conf:4: expected an IPv4 address '300.1.1.1'" },
		{ "[sa]\nspi_in = 0x300\n", "t.conf:2: section needs a name 'sa'" },
		{ "[gateway x]\nname = y\n", "t.conf:2: section takes no name 'gateway x'" },
		{ "[sa a]\nspi_in = 12\n", "t.conf:2: SPI must be 256..0xffffffff (RFC 4303 2.1) '12'" },
		{ "[sa a]\nalg = des\n", "t.conf:2: unknown algorithm (aes256gcm16, chacha20poly1305) 'des'" },
		{ "[sa a]\nkey_in = 0011\n", "t.conf:2: expected 36 hex bytes '0011'" },
		{ "[sa a]\nlocal_ts = 10.1.0.1/24\n", "t.conf:2: host bits set in prefix '10.1.0.1/24'" },
		{ "[sa a]\nlocal_ts = 10.1.0.0/33\n", "t.conf:2: out of range 0..32 '10.1.0.0/33'" },
		{ "[sa a]\nesn = maybe\n", "t.conf:2: expected yes or no 'maybe'" },
		{ "[gateway]\nname = x\n[sa a]\nspi_in = 0x300\n", "t.conf:3: SA needs spi_out" },
		{ "[gateway]\nname = x\nthis is not ini\n", "t.conf:3: syntax error" },
		{ "[gateway]\nshm = noslash\n", "t.conf:2: shm name must be /name 'noslash'" },
		{ "[gateway]\nreplay_window = 4096\n", "t.conf:2: out of range 32..1984 '4096'" },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct config c;
		struct conf_err e;

		if (config_load_string(&c, "t.conf", rows[i].text, &e) != -1)
			fail_msg("row %zu: accepted", i);
		if (strncmp(e.msg, rows[i].msg, strlen(rows[i].msg)))
			fail_msg("row %zu: got \"%s\", want \"%s\"", i, e.msg, rows[i].msg);
	}
}

static void test_sa_checks(void **state)
{
	char text[2048];
	struct config c;
	struct conf_err e;

	/* the same SA twice by SPI */
	snprintf(text, sizeof(text), "%s[sa b]\nspi_in = 0x2001\nspi_out = 0x1002\nalg = "
		 "chacha20poly1305\nkey_in = " K1 "\nkey_out = " K2 "\nlocal_ts = 10.1.0.0/24\n"
		 "remote_ts = 10.3.0.0/24\npeer = 192.0.2.3\n", good);
	assert_int_equal(config_load_string(&c, "t.conf", text, &e), -1);
	assert_string_equal(e.msg, "t.conf:20: spi_in used twice");
	/* a 64-bit start without ESN */
	snprintf(text, sizeof(text), "%s", good);
	*strstr(text, "esn = yes") = '#';
	assert_int_equal(config_load_string(&c, "t.conf", text, &e), -1);
	assert_string_equal(e.msg, "t.conf:9: initial_seq above 2^32-1 needs esn = yes");
}

static void test_long_line(void **state)
{
	char text[1024];
	struct config c;
	struct conf_err e;

	snprintf(text, sizeof(text), "[gateway]\nname = %0300d\n", 1);
	assert_int_equal(config_load_string(&c, "t.conf", text, &e), -1);
	assert_true(strstr(e.msg, "t.conf:2: line too long") == e.msg);
}

static void test_file(void **state)
{
	char path[] = "/tmp/hagw-test-conf-XXXXXX";
	struct config c;
	struct conf_err e;
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fputs("[gateway]\nname = ok\n[sa x]\nalg = nope\n", f);
	fclose(f);
	assert_int_equal(config_load(&c, path, &e), -1);
	char want[128];
	snprintf(want, sizeof(want), "%s:4: unknown algorithm", path);
	assert_true(strstr(e.msg, want) == e.msg);
	unlink(path);
	assert_int_equal(config_load(&c, "/nonexistent/x.conf", &e), -1);
	assert_string_equal(e.msg, "/nonexistent/x.conf: No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_sa_checks),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
