/*
 * libFuzzer harness: the TUN's TCP coalescer (gwd/gro.c) and cutter
 * (gwd/tso.c) on decrypted inner packets, which remote hosts choose.
 *
 * Input: a sequence of records [flags][len hi][len lo][len bytes]. Each
 * record is an inner packet offered the way dp_tun_put does; flags bit 0
 * makes the harness set the IPv4 total length and both checksums first, so
 * the fuzzer gets past them. Only packets with a valid IPv4 header checksum
 * are offered, as dp_inner_ok lets only those through.
 *
 * Property: whenever a merged packet is finished, tso.c cuts it back into
 * exactly the packets that went in, byte for byte; anything else aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../gwd/gro.h"
#include "../gwd/tso.h"

#define MAX_IN 64

static struct gro r;
static uint8_t in[MAX_IN][2048];
static size_t in_len[MAX_IN];
static uint32_t n_in;

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t csum(uint32_t s, const uint8_t *p, size_t n)
{
	return (uint16_t)~gro_csum_fold(gro_csum_add(s, p, n));
}

/* Total length and both checksums made right, where the headers allow. */
static void fix(uint8_t *ip, size_t len)
{
	size_t ihl = (size_t)(ip[0] & 15) * 4;
	uint8_t ph[12];

	if (len < 20 || ihl < 20 || ihl > len)
		return;
	put16(ip + 2, (uint16_t)len);
	put16(ip + 10, 0);
	put16(ip + 10, csum(0, ip, ihl));
	if (ip[9] != 6 || len < ihl + 20)
		return;
	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = 6;
	put16(ph + 10, (uint16_t)(len - ihl));
	put16(ip + ihl + 16, 0);
	put16(ip + ihl + 16, csum(gro_csum_add(0, ph, 12), ip + ihl, len - ihl));
}

static int ip_ok(const uint8_t *ip, size_t len)
{
	size_t ihl = len ? (size_t)(ip[0] & 15) * 4 : 0;

	return len >= 20 && ip[0] >> 4 == 4 && ihl >= 20 && ihl <= len && csum(0, ip, ihl) == 0;
}

static void finish(void)
{
	static uint8_t seg[2048];
	struct gro_vnet_hdr vh;
	size_t len;
	uint32_t i;

	if (!r.len)
		return;
	len = gro_finish(&r, &vh);
	if (r.segs != n_in)
		abort();
	if (r.segs == 1) {
		if (len != in_len[0] || memcmp(r.buf, in[0], len) || vh.gso_type)
			abort();
	} else {
		if (tso_count(&vh, r.buf, len, sizeof(seg)) != (int)r.segs)
			abort();
		for (i = 0; i < r.segs; i++) {
			int n = tso_segment(&vh, r.buf, len, i, seg, sizeof(seg));

			if (n != (int)in_len[i] || memcmp(seg, in[i], in_len[i]))
				abort();
		}
	}
	gro_reset(&r);
	n_in = 0;
}

static void offer(const uint8_t *ip, size_t len)
{
	if (gro_merge(&r, &r, ip, len)) {
		if (n_in == MAX_IN)
			abort(); /* more than GRO_MAX_SEGS merged */
		memcpy(in[n_in], ip, len);
		in_len[n_in++] = len;
		return;
	}
	finish();
	if (gro_start(&r, &r, ip, len)) {
		memcpy(in[0], ip, len);
		in_len[0] = len;
		n_in = 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pkt[2048];

	if (!r.buf && gro_init(&r) < 0)
		abort();
	gro_reset(&r);
	n_in = 0;
	while (size >= 3) {
		size_t len = (size_t)data[1] << 8 | data[2];
		int flags = data[0];

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		if (len > sizeof(pkt))
			len = sizeof(pkt);
		memcpy(pkt, data, len);
		data += len;
		size -= len;
		if (flags & 1)
			fix(pkt, len);
		if (ip_ok(pkt, len))
			offer(pkt, len);
	}
	finish();
	return 0;
}
