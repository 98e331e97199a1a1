/*
 * libFuzzer harness: gwd's whole ESP receive path (dp_input) on a real shm
 * table with one fixed SA, the TUN replaced by /dev/null.
 *
 * Input: byte 0 chooses the mode.
 *   even: the rest is one UDP datagram as it came off the wire (reaches the
 *         length, SPI, replay and ICV checks, keepalive and IKE marker).
 *   odd:  bytes 1-4 are a sequence number, the rest an ESP plaintext
 *         (inner packet, padding, pad length, next header) that the harness
 *         encrypts with the SA's key, so the fuzzer reaches past the ICV:
 *         the trailer checks, the window update, the inner IPv4 and
 *         selector checks. Authentication is not skipped; it is satisfied.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../gwd/gwd.h"
#include "log.h"

static struct gwd g;
static struct sa_keymat km;

static const char conf[] =
	"[gateway]\nname = fuzz\nshm = /hagw-fuzz-esp\n"
	"[sa s]\nspi_in = 0x1001\nspi_out = 0x2001\nalg = chacha20poly1305\n"
	"key_in = 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f01020304\n"
	"key_out = 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f01020304\n"
	"local_ts = 10.2.0.0/24\nremote_ts = 10.1.0.0/24\npeer = 192.0.2.1\n";

static void init(void)
{
	struct conf_err e;
	char name[64];

	esp_crypto_init();
	if (config_load_string(&g.cfg, "fuzz.conf", conf, &e) < 0)
		abort();
	snprintf(name, sizeof(name), "/hagw-fuzz-esp-%d", (int)getpid());
	snprintf(g.cfg.gw.shm, sizeof(g.cfg.gw.shm), "%s", name);
	sa_table_unlink(name);
	if (sa_table_create(&g.table, name, 1, 4, 1) < 0)
		abort();
	sa_table_unlink(name); /* the mapping stays; nothing is left behind */
	atomic_store(&g.table.hdr->role, SA_ROLE_ACTIVE);
	if (gwd_install_manual(&g) < 0 || gwd_sadb_sync(&g) < 0)
		abort();
	g.tun_fd = open("/dev/null", O_WRONLY);
	km = g.cfg.sas[0].key_in;
	log_setverbose(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pkt k;
	static int ready;

	if (!ready) {
		init();
		ready = 1;
	}
	if (size < 1 || size > PKT_BUF_SIZE - 64)
		return 0;
	memset(&k, 0, sizeof(k));
	if (!(data[0] & 1)) {
		memcpy(k.data, data + 1, size - 1);
		k.len = (uint32_t)(size - 1);
	} else {
		uint8_t aad[8], nonce[12], *pt = k.data + ESP_PAYLOAD_OFF;
		size_t ptlen;

		if (size < 5)
			return 0;
		ptlen = size - 5;
		k.data[0] = 0, k.data[1] = 0, k.data[2] = 0x10, k.data[3] = 0x01; /* SPI */
		memcpy(k.data + 4, data + 1, 4);                                   /* seq */
		memcpy(k.data + 8, data + 1, 4);                                   /* IV */
		memset(k.data + 12, 0, 4);
		memcpy(pt, data + 5, ptlen);
		memcpy(aad, k.data, 8);
		memcpy(nonce, km.salt, 4);
		memcpy(nonce + 4, k.data + 8, 8);
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(pt, pt + ptlen, NULL, pt, ptlen, aad,
								   8, NULL, nonce, km.key);
		k.len = (uint32_t)(ESP_PAYLOAD_OFF + ptlen + ESP_ICV_LEN);
	}
	dp_input(&g, &k);
	return 0;
}
