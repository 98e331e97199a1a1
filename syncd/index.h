/* syncd's own SPI -> slot index (open addressing, linear probing with
 * backward-shift deletion). Key 0 is never used: SPI 0 is invalid. */
#ifndef HAGW_SYNC_INDEX_H
#define HAGW_SYNC_INDEX_H

#include <stdint.h>

struct sync_index {
	uint64_t *keys;
	uint32_t *vals;
	uint32_t mask, n;
};

int  sync_index_init(struct sync_index *x, uint32_t expect);
void sync_index_free(struct sync_index *x);
void sync_index_clear(struct sync_index *x);
int  sync_index_put(struct sync_index *x, uint64_t key, uint32_t val); /* 0 or -ENOMEM */
long sync_index_get(const struct sync_index *x, uint64_t key);         /* val or -1 */
void sync_index_del(struct sync_index *x, uint64_t key);
/* Starts loading the slot of key into the cache (batches of lookups). */
void sync_index_prefetch(const struct sync_index *x, uint64_t key);

#endif
