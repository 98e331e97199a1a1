/*
 * libFuzzer harness: the VRRPv3 advert receive checks (vrrp/proto.c,
 * RFC 5798 7.1) and the state machine (vrrp/fsm.c) fed with what passes.
 *
 * Input: byte 0 chooses the mode, the rest is one IPv4 datagram as the raw
 * IPPROTO_VRRP socket hands it over.
 *   bit 0: checksum mode (0: RFC 9568 5.2.8, VRRP message only;
 *          1: RFC 5798, with the IPv4 pseudo-header).
 *   bit 1: the harness writes the right VRRP checksum into the datagram
 *          first (when it is long enough), so the fuzzer reaches the checks
 *          after the checksum; the checksum is satisfied, not skipped.
 * An advert that passes is rebuilt with vrrp_proto_build and parsed again
 * (it must pass, with the same fields), then handed to a backup and a
 * master state machine, whose timers are run up to the next deadline.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../vrrp/fsm.h"
#include "../vrrp/proto.h"

#define FUZZ_VRID 51 /* the unit-test fixtures' VRID */

static struct vrrp_fsm backup, master;
static uint64_t now = 1000000;

static void fsm_init(void)
{
	struct vrrp_fsm_cfg c = { .vrid = FUZZ_VRID, .priority = 100, .interval_cs = 100,
				  .preempt = 1, .preempt_delay_us = 0, .primary = 0xc0a83202 };

	vrrp_fsm_init(&backup, &c);
	vrrp_fsm_startup(&backup, now);
	c.priority = VRRP_PRIO_OWNER;
	c.primary = 0xc0a83203;
	vrrp_fsm_init(&master, &c);
	vrrp_fsm_startup(&master, now);
}

static void fsm_feed(struct vrrp_fsm *f, const struct vrrp_advert *a)
{
	uint64_t d;

	vrrp_fsm_advert(f, now, a->src, a->priority, a->interval_cs);
	d = vrrp_fsm_deadline(f);
	if (d && d <= now + 50000000ull)
		vrrp_fsm_timer(f, d);
	if (f->state != VRRP_STATE_BACKUP && f->state != VRRP_STATE_MASTER)
		abort(); /* started, never shut down: one of the two */
}

/* Writes the checksum the receiver expects, when the datagram holds the
 * IPv4 header it claims and a VRRP header after it. */
static void fix_checksum(uint8_t *p, size_t len, int mode)
{
	size_t ihl, tot;
	uint32_t src, dst;
	uint16_t c;

	if (len < VRRP_IP_HLEN)
		return;
	ihl = (size_t)(p[0] & 15) * 4;
	tot = (size_t)p[2] << 8 | p[3];
	if (tot > len)
		tot = len;
	if (ihl < VRRP_IP_HLEN || tot < ihl + VRRP_HDR_LEN)
		return;
	src = (uint32_t)p[12] << 24 | (uint32_t)p[13] << 16 | (uint32_t)p[14] << 8 | p[15];
	dst = (uint32_t)p[16] << 24 | (uint32_t)p[17] << 16 | (uint32_t)p[18] << 8 | p[19];
	p[ihl + 6] = p[ihl + 7] = 0;
	c = vrrp_proto_checksum(p + ihl, tot - ihl, src, dst, mode);
	p[ihl + 6] = (uint8_t)(c >> 8);
	p[ihl + 7] = (uint8_t)c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pkt[VRRP_PKT_MAX + 64], again[VRRP_PKT_MAX];
	static int ready;
	struct vrrp_advert a, b;
	enum vrrp_rx_verdict v;
	size_t len, n;
	int mode;

	if (!ready) {
		fsm_init();
		ready = 1;
	}
	if (size < 1 || size - 1 > sizeof(pkt))
		return 0;
	mode = data[0] & 1;
	len = size - 1;
	memcpy(pkt, data + 1, len);
	if (data[0] & 2)
		fix_checksum(pkt, len, mode);
	memset(&a, 0, sizeof(a));
	v = vrrp_proto_parse(pkt, len, FUZZ_VRID, mode, &a);
	if (vrrp_proto_counter(v) < 0 || !vrrp_proto_verdict_name(v))
		abort();
	if (v != VRRP_RX_OK)
		return 0;
	/* what passed must survive our own encoder and parser unchanged */
	if (a.count <= VRRP_MAX_ADDRS) {
		n = vrrp_proto_build(again, sizeof(again), &a, mode);
		if (!n || vrrp_proto_parse(again, n, FUZZ_VRID, mode, &b) != VRRP_RX_OK)
			abort();
		if (b.src != a.src || b.priority != a.priority || b.count != a.count ||
		    b.interval_cs != a.interval_cs || memcmp(b.addrs, a.addrs, 4u * a.count))
			abort();
	}
	vrrp_proto_addrs_match(&a, a.addrs, a.count < VRRP_MAX_ADDRS ? a.count : VRRP_MAX_ADDRS);
	now += 1000;
	fsm_feed(&backup, &a);
	fsm_feed(&master, &a);
	return 0;
}
