/*
 * Load for bench/sync.sh: fills an active member's SA table with N Child
 * SAs through the same sa_table calls gwd uses, then (for `secs` seconds)
 * moves every SA's outbound counter and replay top by `pps` per second, in
 * 10 ms steps, as a data plane carrying that traffic would, and marks the
 * moves for syncd as gwd does (sa_moved_note, with the default
 * packet_threshold). Built by the bench script against libcommon.a; not a
 * daemon of the product.
 *
 *   sync_load SHM MEMBER_ID N CAPACITY PPS SECS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "log.h"
#include "sa_table.h"

int main(int argc, char **argv)
{
	struct sa_table t;
	uint32_t n, cap, i, next = 0;
	uint64_t pps, secs, step, end;
	int rc;

	if (argc != 7) {
		fprintf(stderr, "usage: sync_load SHM MEMBER_ID N CAPACITY PPS SECS\n");
		return 1;
	}
	n = (uint32_t)strtoul(argv[3], NULL, 0);
	cap = (uint32_t)strtoul(argv[4], NULL, 0);
	pps = strtoull(argv[5], NULL, 0);
	secs = strtoull(argv[6], NULL, 0);
	if (sodium_init() < 0 ||
	    (rc = sa_table_create(&t, argv[1], (uint32_t)strtoul(argv[2], NULL, 0), cap, 16)) < 0)
		return 1;
	if (atomic_load(&t.hdr->role) != SA_ROLE_ACTIVE) {
		atomic_fetch_add(&t.hdr->epoch, 1);
		atomic_store(&t.hdr->role, SA_ROLE_ACTIVE);
	}
	sa_table_lock(&t);
	for (i = atomic_load(&t.hdr->child_count); i < n; i++) {
		int k = sa_table_alloc_child_from(&t, next);
		struct child_sa_rec *r;

		if (k < 0)
			break;
		next = (uint32_t)k + 1;
		r = &t.child[k];
		sa_rec_write_begin(&r->seq);
		snprintf(r->name, sizeof(r->name), "bench%u", i);
		r->spi_in = 0x10000000u + i;
		r->spi_out = 0x20000000u + i;
		r->alg = SA_ALG_AES_GCM_16_256;
		randombytes_buf(&r->key_in, sizeof(r->key_in));
		randombytes_buf(&r->key_out, sizeof(r->key_out));
		r->ts_local = (struct sa_ts){ .addr = 0x0a000000, .plen = 8 };
		r->ts_remote = (struct sa_ts){ .addr = 0xac100000 + (i << 8), .plen = 24 };
		r->peer_addr = 0xc0a80002;
		r->peer_port = 4500;
		r->replay_window = 1024;
		r->created_ms = wall_ms();
		atomic_store(&r->flags, SA_F_ESN);
		sa_rec_write_end(&r->seq);
		sa_table_publish_child(&t, (uint32_t)k);
	}
	sa_table_unlock(&t);
	printf("sync_load: %u Child SAs in %s\n", atomic_load(&t.hdr->child_count), argv[1]);
	fflush(stdout);
	sa_moved_start(&t, 1024); /* as gwd with the default packet_threshold */
	step = pps / 100 ? pps / 100 : 1;
	end = now_ms() + secs * 1000;
	while (now_ms() < end) {
		for (i = 0; i < cap; i++) {
			struct child_sa_rec *r = &t.child[i];

			if (r->state != SA_STATE_INSTALLED)
				continue;
			uint64_t o = atomic_fetch_add_explicit(&r->out_seq, step, memory_order_relaxed);
			uint64_t p = __atomic_fetch_add(&r->replay.top, step, __ATOMIC_RELAXED);

			/* and marks them as gwd's data plane does */
			sa_moved_note(&t, i, o, o + step);
			sa_moved_note(&t, i, p, p + step);
		}
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	sa_table_detach(&t);
	return 0;
}
