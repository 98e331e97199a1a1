#include "failover_status.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "sa_table.h"

_Static_assert(sizeof(struct failover_status) <=
	       sizeof(((struct sa_table_hdr *)0)->failover_status),
	       "failover_status larger than the shm block");
_Static_assert(offsetof(struct sa_table_hdr, failover_status) % 8 == 0,
	       "failover_status alignment");

static struct failover_status *block(const struct sa_table *t)
{
	return (struct failover_status *)(void *)t->hdr->failover_status;
}

void failover_status_publish(struct sa_table *t, const struct failover_status *s)
{
	struct failover_status *b = block(t);
	size_t off = offsetof(struct failover_status, version);
	size_t end = offsetof(struct failover_status, rekeys_started);

	sa_rec_write_begin(&b->seq);
	memcpy((uint8_t *)b + off, (const uint8_t *)s + off, end - off);
	/* A new promotion's rekeys count from zero; its second publish (the
	 * epoch, once the role flipped) keeps what gwd counted meanwhile. */
	if (s->epoch_new == FAILOVER_EPOCH_PENDING) {
		atomic_store(&b->rekeys_started, 0);
		atomic_store(&b->rekeys_done, 0);
		atomic_store(&b->rekeys_failed, 0);
	}
	sa_rec_write_end(&b->seq);
}

int failover_status_read(const struct sa_table *t, struct failover_status *out)
{
	const struct failover_status *b = block(t);
	int tries;

	for (tries = 0; tries < 10000; tries++) {
		uint32_t s1 = atomic_load_explicit(&b->seq, memory_order_acquire);

		if (s1 & 1)
			continue;
		memcpy((void *)out, (const void *)b, sizeof(*out));
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&b->seq, memory_order_relaxed) == s1)
			return 0;
	}
	return -EAGAIN;
}

void failover_status_rekey_started(struct sa_table *t)
{
	atomic_fetch_add(&block(t)->rekeys_started, 1);
}

void failover_status_rekey_result(struct sa_table *t, int ok)
{
	atomic_fetch_add(ok ? &block(t)->rekeys_done : &block(t)->rekeys_failed, 1);
}
