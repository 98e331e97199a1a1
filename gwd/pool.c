/* Preallocated packet buffers and the bounded send queue. */
#include <errno.h>
#include <stdlib.h>

#include "gwd.h"

int pkt_pool_init(struct pkt_pool *p, uint32_t n)
{
	uint32_t i;

	p->bufs = calloc(n, sizeof(*p->bufs));
	if (!p->bufs)
		return -ENOMEM;
	p->free = NULL;
	for (i = n; i-- > 0;) {
		p->bufs[i].next = p->free;
		p->free = &p->bufs[i];
	}
	p->size = p->avail = n;
	return 0;
}

void pkt_pool_free(struct pkt_pool *p)
{
	free(p->bufs);
	p->bufs = p->free = NULL;
	p->size = p->avail = 0;
}

struct pkt *pkt_get(struct pkt_pool *p)
{
	struct pkt *k = p->free;

	if (!k)
		return NULL;
	p->free = k->next;
	p->avail--;
	k->off = k->len = 0;
	return k;
}

void pkt_put(struct pkt_pool *p, struct pkt *k)
{
	k->next = p->free;
	p->free = k;
	p->avail++;
}

int pkt_queue_init(struct pkt_queue *q, uint32_t cap)
{
	q->ring = calloc(cap, sizeof(*q->ring));
	if (!q->ring)
		return -ENOMEM;
	q->cap = cap;
	q->head = q->count = 0;
	return 0;
}

void pkt_queue_free(struct pkt_queue *q)
{
	free(q->ring);
	q->ring = NULL;
	q->cap = q->count = 0;
}

int pkt_queue_push(struct pkt_queue *q, struct pkt *k)
{
	if (q->count == q->cap)
		return -ENOBUFS;
	q->ring[(q->head + q->count) % q->cap] = k;
	q->count++;
	return 0;
}

struct pkt *pkt_queue_peek(struct pkt_queue *q, uint32_t i)
{
	return i < q->count ? q->ring[(q->head + i) % q->cap] : NULL;
}

void pkt_queue_drop_front(struct pkt_queue *q, uint32_t n)
{
	q->head = (q->head + n) % q->cap;
	q->count -= n;
}
