#include "vrrp_status.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "sa_table.h"

_Static_assert(sizeof(struct vrrp_status) <= sizeof(((struct sa_table_hdr *)0)->vrrp_status),
	       "vrrp_status larger than the shm block");
_Static_assert(offsetof(struct sa_table_hdr, vrrp_status) % 8 == 0, "vrrp_status alignment");

static struct vrrp_status *block(const struct sa_table *t)
{
	return (struct vrrp_status *)(void *)t->hdr->vrrp_status;
}

void vrrp_status_publish(struct sa_table *t, const struct vrrp_status *s)
{
	struct vrrp_status *b = block(t);
	size_t off = offsetof(struct vrrp_status, version);

	sa_rec_write_begin(&b->seq);
	memcpy((uint8_t *)b + off, (const uint8_t *)s + off, sizeof(*s) - off);
	sa_rec_write_end(&b->seq);
}

int vrrp_status_read(const struct sa_table *t, struct vrrp_status *out)
{
	const struct vrrp_status *b = block(t);
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

const char *vrrp_status_state_name(uint32_t state)
{
	static const char *const names[] = { "INIT", "BACKUP", "MASTER" };

	return state < 3 ? names[state] : "?";
}
