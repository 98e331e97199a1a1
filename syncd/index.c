#include "index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint32_t ix_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull; /* murmur3 finaliser: SPIs may be sequential */
	k ^= k >> 33;
	return (uint32_t)k;
}

static int ix_alloc(struct sync_index *x, uint32_t slots)
{
	x->keys = calloc(slots, sizeof(*x->keys));
	x->vals = calloc(slots, sizeof(*x->vals));
	if (!x->keys || !x->vals) {
		free(x->keys);
		free(x->vals);
		return -ENOMEM;
	}
	x->mask = slots - 1;
	x->n = 0;
	return 0;
}

int sync_index_init(struct sync_index *x, uint32_t expect)
{
	uint32_t slots = 64;

	while (slots < expect * 2u && slots < (1u << 31))
		slots *= 2;
	return ix_alloc(x, slots);
}

void sync_index_free(struct sync_index *x)
{
	free(x->keys);
	free(x->vals);
	memset(x, 0, sizeof(*x));
}

void sync_index_clear(struct sync_index *x)
{
	memset(x->keys, 0, ((size_t)x->mask + 1) * sizeof(*x->keys));
	x->n = 0;
}

static int ix_grow(struct sync_index *x)
{
	struct sync_index old = *x;
	uint32_t i;

	if (ix_alloc(x, (old.mask + 1) * 2) < 0) {
		*x = old;
		return -ENOMEM;
	}
	for (i = 0; i <= old.mask; i++)
		if (old.keys[i])
			sync_index_put(x, old.keys[i], old.vals[i]);
	free(old.keys);
	free(old.vals);
	return 0;
}

int sync_index_put(struct sync_index *x, uint64_t key, uint32_t val)
{
	uint32_t h;

	if ((x->n + 1) * 2 > x->mask + 1 && ix_grow(x) < 0)
		return -ENOMEM;
	for (h = ix_hash(key) & x->mask; x->keys[h] && x->keys[h] != key; h = (h + 1) & x->mask)
		;
	if (!x->keys[h])
		x->n++;
	x->keys[h] = key;
	x->vals[h] = val;
	return 0;
}

long sync_index_get(const struct sync_index *x, uint64_t key)
{
	uint32_t h;

	for (h = ix_hash(key) & x->mask; x->keys[h]; h = (h + 1) & x->mask)
		if (x->keys[h] == key)
			return x->vals[h];
	return -1;
}

void sync_index_del(struct sync_index *x, uint64_t key)
{
	uint32_t h, j;

	for (h = ix_hash(key) & x->mask; x->keys[h] && x->keys[h] != key; h = (h + 1) & x->mask)
		;
	if (!x->keys[h])
		return;
	x->keys[h] = 0;
	x->n--;
	/* backward shift: move later members of the run into the hole */
	for (j = (h + 1) & x->mask; x->keys[j]; j = (j + 1) & x->mask) {
		uint32_t home = ix_hash(x->keys[j]) & x->mask;

		if (((j - home) & x->mask) >= ((j - h) & x->mask)) {
			x->keys[h] = x->keys[j];
			x->vals[h] = x->vals[j];
			x->keys[j] = 0;
			h = j;
		}
	}
}

void sync_index_prefetch(const struct sync_index *x, uint64_t key)
{
	uint32_t h = ix_hash(key) & x->mask;

	__builtin_prefetch(&x->keys[h]);
	__builtin_prefetch(&x->vals[h]);
}
