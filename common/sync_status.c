#include "sync_status.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

static struct sync_status *sync_status_block(const struct sa_table *t)
{
	return (struct sync_status *)(void *)t->hdr->sync_status;
}

void sync_status_publish(struct sa_table *t, const struct sync_status *s)
{
	struct sync_status *d = sync_status_block(t);

	sa_rec_write_begin(&d->seq);
	memcpy((uint8_t *)d + sizeof(d->seq), (const uint8_t *)s + sizeof(s->seq),
	       sizeof(*s) - sizeof(s->seq));
	d->version = SYNC_STATUS_VERSION;
	sa_rec_write_end(&d->seq);
}

int sync_status_read(const struct sa_table *t, struct sync_status *out)
{
	const struct sync_status *d = sync_status_block(t);
	int tries;

	for (tries = 0; tries < 10000; tries++) {
		uint32_t s1 = atomic_load_explicit(&d->seq, memory_order_acquire);

		if (s1 & 1)
			continue;
		memcpy((uint8_t *)out + sizeof(out->seq), (const uint8_t *)d + sizeof(d->seq),
		       sizeof(*out) - sizeof(out->seq));
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&d->seq, memory_order_relaxed) == s1)
			return out->version == SYNC_STATUS_VERSION ? 0 : -ENOENT;
	}
	return -EAGAIN;
}

const char *sync_link_name(uint32_t link)
{
	switch (link) {
	case SYNC_LINK_DOWN: return "down";
	case SYNC_LINK_CONNECTING: return "connecting";
	case SYNC_LINK_HANDSHAKE: return "handshake";
	case SYNC_LINK_OPEN: return "open";
	case SYNC_LINK_BACKOFF: return "backoff";
	case SYNC_LINK_LISTENING: return "listening";
	default: return "?";
	}
}
