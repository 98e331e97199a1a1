/* The [vrrp] config section (common/conf_vrrp.c): defaults, every key, and
 * errors as `file:line: why 'token'`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "config.h"

static const char good[] =
	"[gateway]\n"
	"name = gw1\n"
	"[vrrp]\n"
	"interface = wan0\n"
	"vrid = 51\n"
	"priority = 200\n"
	"advert_interval = 1\n"
	"preempt = no\n"
	"preempt_delay = 1500\n"
	"vip = 192.168.10.1/24 dev wan0\n"
	"vip = 10.1.0.1/24 dev lan0\n"
	"vip = 192.168.10.2/32\n"
	"peer = 192.168.10.3\n"
	"peer = 192.168.10.4\n"
	"checksum = pseudo-header\n"
	"garp_count = 5\n"
	"garp_interval = 50\n"
	"notify = /usr/local/bin/vrrp-notify\n"
	"sync_demote = 120\n"
	"require_sync = yes\n"
	"source = 192.168.10.11\n";

static void test_all_keys(void **state)
{
	struct config c;
	struct conf_err err;
	const struct conf_vrrp *v = &c.vrrp;

	assert_int_equal(config_load_string(&c, "t.conf", good, &err), 0);
	assert_true(v->present);
	assert_string_equal(v->interface, "wan0");
	assert_int_equal(v->vrid, 51);
	assert_int_equal(v->priority, 200);
	assert_int_equal(v->advert_interval, 1);
	assert_int_equal(v->preempt, 0);
	assert_int_equal(v->preempt_delay, 1500);
	assert_int_equal(v->n_vips, 3);
	assert_int_equal(v->vips[0].addr, 0xc0a80a01);
	assert_int_equal(v->vips[0].plen, 24);
	assert_string_equal(v->vips[1].dev, "lan0");
	assert_string_equal(v->vips[2].dev, "wan0"); /* defaults to interface */
	assert_int_equal(v->vips[2].plen, 32);
	assert_int_equal(v->n_peers, 2);
	assert_int_equal(v->peers[1], 0xc0a80a04);
	assert_int_equal(v->checksum_pseudo, 1);
	assert_int_equal(v->garp_count, 5);
	assert_int_equal(v->garp_interval, 50);
	assert_string_equal(v->notify, "/usr/local/bin/vrrp-notify");
	assert_int_equal(v->sync_demote, 120);
	assert_int_equal(v->require_sync, 1);
	assert_int_equal(v->source, 0xc0a80a0b);
	config_free(&c);
}

static void test_defaults(void **state)
{
	struct config c;
	struct conf_err err;

	assert_int_equal(config_load_string(&c, "t.conf",
		"[vrrp]\ninterface = eth0\nvrid = 7\nvip = 10.0.0.1/24\n", &err), 0);
	assert_int_equal(c.vrrp.priority, 100);
	assert_int_equal(c.vrrp.advert_interval, 100);
	assert_int_equal(c.vrrp.preempt, 1);
	assert_int_equal(c.vrrp.preempt_delay, 0);
	assert_int_equal(c.vrrp.checksum_pseudo, 0);
	assert_int_equal(c.vrrp.garp_count, 2);
	assert_int_equal(c.vrrp.sync_demote, 50);
	assert_int_equal(c.vrrp.require_sync, 0);
	assert_int_equal(c.vrrp.n_peers, 0);
	config_free(&c);
	assert_int_equal(config_load_string(&c, "t.conf", "[gateway]\nname = x\n", &err), 0);
	assert_false(c.vrrp.present);
	config_free(&c);
}

static void test_errors(void **state)
{
	static const struct {
		const char *text, *msg;
	} t[] = {
		{ "[vrrp]\nvrid = 0\n", "t.conf:2: out of range 1..255 '0'" },
		{ "[vrrp]\npriority = 256\n", "t.conf:2: out of range 1..255 '256'" },
		{ "[vrrp]\nadvert_interval = 4096\n", "t.conf:2: out of range 1..4095 '4096'" },
		{ "[vrrp]\nadvert_interval = 0\n", "t.conf:2: out of range 1..4095 '0'" },
		{ "[vrrp]\n\nvip = 10.0.0.300/24\n", "t.conf:3: expected an IPv4 address '10.0.0.300/24'" },
		{ "[vrrp]\nvip = 10.0.0.1\n", "t.conf:2: expected ADDR/PLEN '10.0.0.1'" },
		{ "[vrrp]\nvip = 10.0.0.1/24 via wan0\n",
		  "t.conf:2: expected ADDR/PLEN [dev IFNAME] '10.0.0.1/24 via wan0'" },
		{ "[vrrp]\nvip = 10.0.0.1/33\n", "t.conf:2: out of range 1..32 '10.0.0.1/33'" },
		{ "[vrrp]\nvip = 10.0.0.1/24\nvip = 10.0.0.1/24\n", "t.conf:3: vip given twice '10.0.0.1/24'" },
		{ "[vrrp]\npeer = nowhere\n", "t.conf:2: expected an IPv4 address 'nowhere'" },
		{ "[vrrp]\nchecksum = md5\n", "t.conf:2: expected rfc9568 or pseudo-header 'md5'" },
		{ "[vrrp]\nnotify = notify.sh\n", "t.conf:2: notify needs an absolute path 'notify.sh'" },
		{ "[vrrp]\npreempt = maybe\n", "t.conf:2: expected yes or no 'maybe'" },
		{ "[vrrp]\ncolour = red\n", "t.conf:2: unknown key 'colour'" },
		{ "[vrrp x]\nvrid = 1\n", "t.conf:2: section takes no name 'vrrp x'" },
		{ "[gateway]\n[vrrp]\nvrid = 1\nvip = 10.0.0.1/24\n", "t.conf:2: [vrrp] needs interface" },
		{ "[vrrp]\ninterface = e\nvip = 10.0.0.1/24\n", "t.conf:1: [vrrp] needs vrid" },
		{ "[vrrp]\ninterface = e\nvrid = 3\n", "t.conf:1: [vrrp] needs at least one vip" },
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

	return cmocka_run_group_tests(tests, NULL, NULL);
}
