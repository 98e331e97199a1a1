/*
 * What vrrp publishes about itself in the shm header's vrrp_status block,
 * for gwctl. vrrp is the only writer; readers copy the block under its
 * sequence count (odd while vrrp writes) so they never see half of it.
 */
#ifndef HAGW_VRRP_STATUS_H
#define HAGW_VRRP_STATUS_H

#include <stdatomic.h>
#include <stdint.h>

struct sa_table;

#define VRRP_STATUS_VERSION 1

struct vrrp_status {
	_Atomic uint32_t seq;         /* seqlock */
	uint32_t version;             /* VRRP_STATUS_VERSION; 0 = never written */
	uint32_t pid;
	uint32_t state;               /* enum vrrp_state (vrrp/fsm.h) */
	uint8_t  vrid;
	uint8_t  priority;            /* configured */
	uint8_t  effective_priority;  /* advertised: lowered while not in sync */
	uint8_t  master_priority;
	uint32_t master_addr;         /* host order; 0 = none known */
	uint32_t primary_addr;        /* ours */
	uint16_t interval_cs;         /* ours */
	uint16_t master_interval_cs;  /* learned from the master */
	uint32_t n_vips;
	uint32_t unicast;             /* 1: unicast to the peer list */
	uint64_t since_ms;            /* CLOCK_REALTIME of the last transition */
	uint64_t to_master, to_backup, to_init; /* transitions into each state */
	char     reason[64];          /* of the last transition */
	char     interface[16];
};

_Static_assert(sizeof(struct vrrp_status) <= 512, "vrrp_status must fit the shm block");

/* vrrp only: copy `s` into the table's block. */
void vrrp_status_publish(struct sa_table *t, const struct vrrp_status *s);
/* Everyone: a consistent copy. 0, or -EAGAIN if the writer kept moving. */
int  vrrp_status_read(const struct sa_table *t, struct vrrp_status *out);
const char *vrrp_status_state_name(uint32_t state);

#endif
