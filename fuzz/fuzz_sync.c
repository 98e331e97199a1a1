/*
 * libFuzzer harness: syncd's receive side, from the frame to the standby's
 * shm table: the channel (syncd/chan.c), the message decoder
 * (syncd/codec.c) and the applier (syncd/rx.c) on a real shm table
 * (unlinked at once: nothing is left behind).
 *
 * Input: byte 0 chooses the mode (value % 3), the rest is the payload.
 *   0: the rest is one message: decoded, and applied if it decodes.
 *   1: the rest is one message that the harness seals with the active's
 *      end of a channel opened with a fixed PSK and fixed nonces; the
 *      standby's end checks the frame length, opens it (the tag must
 *      verify: authentication is satisfied, not skipped), then decodes
 *      and applies as link.c does.
 *   2: the rest is a frame off the wire: length check and open (which a
 *      random frame fails), as link.c does.
 * After each input an empty snapshot (BULK_BEGIN, BULK_END) sweeps the
 * table, so every input starts from the same empty table.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../syncd/chan.h"
#include "../syncd/syncd.h"
#include "log.h"

static struct sa_table T;
static struct conf_sync cfg = { .interval_ms = 100, .packet_threshold = 1000, .m_window = 16 };
static struct sync_rx rx;
static struct sync_chan ch_tx, ch_rx; /* opened once; copied for each input */
static uint64_t bulk = 1;

static void chan_setup(void)
{
	static const uint8_t psk[SYNC_PSK_LEN] = { 'f', 'u', 'z', 'z' };
	uint8_t ni[SYNC_NONCE_LEN] = { 1 }, nr[SYNC_NONCE_LEN] = { 2 };
	uint8_t hi[SYNC_HS1_LEN], hr[SYNC_HS1_LEN], mi[SYNC_HS2_LEN], mr[SYNC_HS2_LEN];

	sync_chan_init(&ch_tx, psk, 1, ni, hi);
	sync_chan_init(&ch_rx, psk, 0, nr, hr);
	if (sync_chan_on_hs1(&ch_tx, hr, mi) < 0 || sync_chan_on_hs1(&ch_rx, hi, mr) < 0 ||
	    sync_chan_on_hs2(&ch_tx, mr) < 0 || sync_chan_on_hs2(&ch_rx, mi) < 0)
		abort();
}

static void init(void)
{
	char name[64];

	if (sodium_init() < 0)
		abort();
	log_init("fuzz_sync", 1, 0);
	log_setverbose(-1);
	snprintf(name, sizeof(name), "/hagw-fuzz-sync-%d", (int)getpid());
	sa_table_unlink(name);
	if (sa_table_create(&T, name, 2, 64, 8) < 0)
		abort();
	sa_table_unlink(name);
	if (sync_rx_init(&rx, &T, &cfg) < 0)
		abort();
	chan_setup();
}

/* What link.c's on_message does with a message of state. */
static void apply(const uint8_t *msg, size_t len)
{
	struct sync_msg m;

	memset(&m, 0, sizeof(m));
	if (sync_decode(msg, len, &m) != 0)
		return;
	sync_type_name(m.type);
	if (m.type == SYNC_BULK_BEGIN)
		sync_rx_bulk_begin(&rx, m.u.bulk.id);
	else if (m.type == SYNC_BULK_END)
		sync_rx_bulk_end(&rx, m.u.bulk.id);
	else
		sync_rx_apply(&rx, &m);
}

static void frame_in(struct sync_chan *c, const uint8_t *frame, size_t len)
{
	static uint8_t msg[SYNC_MSG_MAX];
	long flen;
	int n;

	if (len < SYNC_FRAME_HDR || (flen = sync_chan_frame_len(frame)) < 0 || (size_t)flen > len)
		return;
	n = sync_chan_open(c, frame, (size_t)flen, msg);
	if (n >= 0)
		apply(msg, (size_t)n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[SYNC_FRAME_HDR + SYNC_FRAME_MAX];
	static int ready;
	struct sync_chan tx, rxc;
	int n;

	if (!ready) {
		init();
		ready = 1;
	}
	if (size < 1 || size - 1 > SYNC_MSG_MAX)
		return 0;
	tx = ch_tx;
	rxc = ch_rx;
	switch (data[0] % 3) {
	case 0:
		apply(data + 1, size - 1);
		break;
	case 1:
		n = sync_chan_seal(&tx, data + 1, size - 1, frame, sizeof(frame));
		if (n < 0)
			abort(); /* any message up to SYNC_MSG_MAX must seal */
		if (sync_chan_frame_len(frame) != n)
			abort();
		frame_in(&rxc, frame, (size_t)n);
		if (rxc.state != CHAN_OPEN)
			abort(); /* a frame we sealed must open */
		break;
	default:
		frame_in(&rxc, data + 1, size - 1);
		break;
	}
	/* sweep: an empty snapshot deletes whatever the input added */
	sync_rx_bulk_begin(&rx, bulk);
	sync_rx_bulk_end(&rx, bulk);
	bulk++;
	return 0;
}
