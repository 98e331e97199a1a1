/* The [failover] config section (common/conf_failover.c): every key, the
 * defaults (m_min follows [sync] packet_threshold), and errors as
 * `file:line: why 'token'`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

static void test_all_keys(void **state)
{
	struct config c;
	struct conf_err err;

	assert_int_equal(config_load_string(&c, "t.conf",
		"[failover]\nstrategy = global-rekey\nx = 2.125\nm_min = 64\n"
		"inbound = strict\nrekey_rate = 250\n", &err), 0);
	assert_true(c.failover.present);
	assert_int_equal(c.failover.strategy, CONF_FAILOVER_GLOBAL_REKEY);
	assert_int_equal(c.failover.x_milli, 2125);
	assert_int_equal(c.failover.m_min, 64);
	assert_int_equal(c.failover.inbound, CONF_INBOUND_STRICT);
	assert_int_equal(c.failover.rekey_rate, 250);
	assert_string_equal(conf_failover_strategy_name(c.failover.strategy), "global-rekey");
	assert_string_equal(conf_failover_inbound_name(c.failover.inbound), "strict");
	config_free(&c);

	assert_int_equal(config_load_string(&c, "t.conf",
		"[failover]\nstrategy = none\nx = 3\n", &err), 0);
	assert_int_equal(c.failover.strategy, CONF_FAILOVER_NONE);
	assert_int_equal(c.failover.x_milli, 3000);
	config_free(&c);

	/* X in every spelling the parser takes */
	{
		static const struct { const char *v; uint32_t milli; } xs[] = {
			{ "1.5", 1500 }, { "1.50", 1500 }, { "1.500", 1500 }, { "2", 2000 },
			{ "2.0", 2000 }, { "2.7", 2700 }, { "2.75", 2750 }, { "3.0", 3000 },
		};
		size_t i;

		for (i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
			char text[64];

			snprintf(text, sizeof(text), "[failover]\nx = %s\n", xs[i].v);
			assert_int_equal(config_load_string(&c, "t.conf", text, &err), 0);
			if (c.failover.x_milli != xs[i].milli)
				fail_msg("x = %s: %u", xs[i].v, c.failover.x_milli);
			config_free(&c);
		}
	}
}

static void test_defaults(void **state)
{
	struct config c;
	struct conf_err err;

	assert_int_equal(config_load_string(&c, "t.conf", "[gateway]\nname = x\n", &err), 0);
	assert_false(c.failover.present);
	assert_int_equal(c.failover.strategy, CONF_FAILOVER_SEED);
	assert_int_equal(c.failover.inbound, CONF_INBOUND_LEARN);
	assert_int_equal(c.failover.x_milli, 2000);
	assert_int_equal(c.failover.m_min, 1024); /* [sync] packet_threshold's default */
	assert_int_equal(c.failover.rekey_rate, 100);
	config_free(&c);

	/* M_min defaults to the packet threshold: syncd sends an SA early once
	 * it moved that much, so it is the natural floor */
	assert_int_equal(config_load_string(&c, "t.conf",
		"[sync]\nlocal = 10.9.0.1\npeer = 10.9.0.2\npsk = "
		"0000000000000000000000000000000000000000000000000000000000000000\n"
		"packet_threshold = 300\n[failover]\nx = 1.5\n", &err), 0);
	assert_int_equal(c.failover.m_min, 300);
	config_free(&c);

	conf_failover_defaults(&c.failover);
	assert_int_equal(c.failover.x_milli, 2000);
	assert_int_equal(c.failover.m_min, 1024);
}

static void test_errors(void **state)
{
	static const struct {
		const char *text, *msg;
	} t[] = {
		{ "[failover]\nstrategy = rekey\n", "t.conf:2: expected seed, global-rekey or none 'rekey'" },
		{ "[failover]\nstrategy = \n", "t.conf:2: expected seed, global-rekey or none ''" },
		{ "[failover]\ninbound = loose\n", "t.conf:2: expected learn or strict 'loose'" },
		{ "[failover]\nx = 1.4\n", "t.conf:2: out of range 1.5..3.0 '1.4'" },
		{ "[failover]\nx = 3.001\n", "t.conf:2: out of range 1.5..3.0 '3.001'" },
		{ "[failover]\nx = 0\n", "t.conf:2: out of range 1.5..3.0 '0'" },
		{ "[failover]\nx = 2.1234\n",
		  "t.conf:2: expected a decimal number with at most 3 decimals '2.1234'" },
		{ "[failover]\nx = 2.\n", "t.conf:2: expected a decimal number with at most 3 decimals '2.'" },
		{ "[failover]\nx = .5\n", "t.conf:2: expected a decimal number with at most 3 decimals '.5'" },
		{ "[failover]\nx = -2\n", "t.conf:2: expected a decimal number with at most 3 decimals '-2'" },
		{ "[failover]\nx = 2x\n", "t.conf:2: expected a decimal number with at most 3 decimals '2x'" },
		{ "[failover]\nx = 99999999999\n",
		  "t.conf:2: expected a decimal number with at most 3 decimals '99999999999'" },
		{ "[failover]\nm_min = 0\n", "t.conf:2: out of range 1..1073741824 '0'" },
		{ "[failover]\nrekey_rate = 0\n", "t.conf:2: out of range 1..100000 '0'" },
		{ "[failover]\n\nrekey_rate = fast\n", "t.conf:3: expected a number 'fast'" },
		{ "[failover]\nk = 3\n", "t.conf:2: unknown key 'k'" },
		{ "[failover gw1]\nx = 2\n", "t.conf:2: section takes no name 'failover gw1'" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct config c;
		struct conf_err err;

		if (config_load_string(&c, "t.conf", t[i].text, &err) == 0)
			fail_msg("row %zu: accepted", i);
		if (strcmp(err.msg, t[i].msg))
			fail_msg("row %zu: '%s', want '%s'", i, err.msg, t[i].msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests_name("conf_failover", tests, NULL, NULL);
}
