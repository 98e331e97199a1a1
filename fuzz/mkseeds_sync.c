/*
 * Writes fuzz/corpus/sync/: one message of each type with the values of
 * the unit tests (tests/test_sync_engine.c's add_child, the heartbeat of
 * tests/test_sync_codec.c), each as mode 0 (bare message) and mode 1
 * (sealed by the harness). Not part of the build; to regenerate:
 *   make && cc -std=c11 -D_GNU_SOURCE -Icommon -o /tmp/mkseeds fuzz/mkseeds_sync.c \
 *     build/lib/libsyncd.a build/lib/libcommon.a $(pkg-config --libs libsodium msgpack) \
 *     && /tmp/mkseeds fuzz/corpus/sync
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../syncd/codec.h"

static const char *dir;

static void put(const char *name, const struct sync_msg *m)
{
	static uint8_t buf[SYNC_MSG_MAX];
	char path[512];
	int n = sync_encode(m, buf, sizeof(buf)), mode;

	if (n < 0)
		exit(1);
	for (mode = 0; mode < 2; mode++) {
		FILE *f;
		uint8_t b = (uint8_t)mode;

		snprintf(path, sizeof(path), "%s/%s-%s", dir, name, mode ? "sealed" : "bare");
		if (!(f = fopen(path, "wb")))
			exit(1);
		fwrite(&b, 1, 1, f);
		fwrite(buf, 1, (size_t)n, f);
		fclose(f);
	}
}

int main(int argc, char **argv)
{
	static uint8_t raw[2 * SYNC_CTR_ENTRY];
	struct sync_ctr_entry e = { .spi_in = 0x1001, .out_seq = 5, .in_top = 8 };
	struct sync_msg m;

	dir = argc > 1 ? argv[1] : ".";
	memset(&m, 0, sizeof(m));
	m.version = SYNC_PROTO_VERSION;
	m.type = SYNC_HELLO;
	m.u.hello = (struct sync_hello){ .member_id = 1, .layout_version = SA_TABLE_LAYOUT_VERSION,
					 .role = 1, .child_capacity = 64, .epoch = 7 };
	put("hello", &m);
	m.type = SYNC_BULK_BEGIN;
	m.u.bulk = (struct sync_bulk){ .id = 3, .n_child = 1, .n_ike = 1 };
	put("bulk-begin", &m);
	m.type = SYNC_BULK_END;
	put("bulk-end", &m);
	memset(&m.u, 0, sizeof(m.u));
	m.type = SYNC_CHILD_ADD;
	snprintf(m.u.child.name, sizeof(m.u.child.name), "sa1001");
	m.u.child.spi_in = 0x1001;
	m.u.child.spi_out = 0x11001;
	m.u.child.alg = SA_ALG_AES_GCM_16_256;
	m.u.child.state = SA_STATE_INSTALLED;
	m.u.child.replay_window = 64;
	memset(&m.u.child.key_in, 0x10, sizeof(m.u.child.key_in));
	memset(&m.u.child.key_out, 0x11, sizeof(m.u.child.key_out));
	m.u.child.ts_local_addr = 0x0a020000, m.u.child.ts_local_plen = 16;
	m.u.child.ts_remote_addr = 0x0a010000, m.u.child.ts_remote_plen = 16;
	m.u.child.peer_addr = 0xc0a80001, m.u.child.peer_port = 4500;
	m.u.child.out_seq = 5, m.u.child.in_top = 8;
	m.u.child.ike_spi_i = 0xaaaa, m.u.child.ike_spi_r = 0xbbbb;
	put("child-add", &m);
	memset(&m.u, 0, sizeof(m.u));
	m.type = SYNC_CHILD_DEL;
	m.u.child_del = (struct sync_child_del){ .spi_in = 0x1001, .spi_out = 0x11001 };
	put("child-del", &m);
	memset(&m.u, 0, sizeof(m.u));
	m.type = SYNC_IKE_ADD;
	snprintf(m.u.ike.name, sizeof(m.u.ike.name), "peer");
	m.u.ike.spi_i = 0xaaaa, m.u.ike.spi_r = 0xbbbb;
	m.u.ike.enc_alg = SA_ALG_CHACHA20_POLY1305, m.u.ike.prf_alg = 5;
	m.u.ike.state = SA_STATE_INSTALLED, m.u.ike.sk_len = 32;
	m.u.ike.peer_addr = 0xc0a80001, m.u.ike.peer_port = 4500, m.u.ike.local_addr = 0xc0a80002;
	m.u.ike.msgid_out = 3, m.u.ike.msgid_in = 2;
	put("ike-add", &m);
	memset(&m.u, 0, sizeof(m.u));
	m.type = SYNC_IKE_UPDATE;
	m.u.ike_ref = (struct sync_ike_ref){ .spi_i = 0xaaaa, .spi_r = 0xbbbb, .msgid_out = 4,
					     .msgid_in = 3 };
	put("ike-update", &m);
	m.type = SYNC_IKE_DEL;
	put("ike-del", &m);
	memset(&m.u, 0, sizeof(m.u));
	m.type = SYNC_COUNTERS;
	sync_ctr_put(raw, 0, &e);
	e.spi_in = 0x1002;
	sync_ctr_put(raw, 1, &e);
	m.u.ctr = (struct sync_counters){ .tick = 9, .span_ms = 10, .wall_ms = 1000, .n = 2, .raw = raw };
	put("counters", &m);
	memset(&m.u, 0, sizeof(m.u));
	m.type = SYNC_HEARTBEAT;
	m.u.hb = (struct sync_heartbeat){ .tick = 256, .epoch = 7, .role = 1, .in_sync = 1 };
	put("heartbeat", &m);
	return 0;
}
