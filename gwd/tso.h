/*
 * TCP segmentation of what the TUN hands gwd when it offers TSO
 * (TUNSETOFFLOAD TUN_F_CSUM | TUN_F_TSO4): the sender's TCP then passes
 * one packet of up to 64 KiB through the kernel instead of up to 44, and
 * gwd reads it in one read(). gwd cuts it here into the segments the
 * kernel would have cut (the inverse of gro.c), each with full checksums,
 * since each becomes one ESP packet. Pure logic: no I/O.
 *
 * The kernel's rules (tcp_gso_segment, inet_gso_segment): every segment
 * but the last carries gso_size bytes of payload; the IP ID goes up by one
 * per segment; the sequence number by the payload; FIN and PSH stay only
 * on the last segment, CWR only on the first.
 */
#ifndef HAGW_TSO_H
#define HAGW_TSO_H

#include <stddef.h>
#include <stdint.h>

#include "gro.h"

enum {
	TSO_EINVAL = -1,  /* not a TCPv4 GSO packet we can cut */
	TSO_ESPACE = -2,  /* a segment would not fit the output buffer */
};

/* Checks the GSO packet ip[len] described by vh; returns the number of
 * segments it makes, or TSO_EINVAL. `cap` is the room for one segment. */
int tso_count(const struct gro_vnet_hdr *vh, const uint8_t *ip, size_t len, size_t cap);

/* Writes segment i (0 <= i < tso_count) to out[cap]; returns its length or
 * a negative TSO_* code. */
int tso_segment(const struct gro_vnet_hdr *vh, const uint8_t *ip, size_t len, uint32_t i,
		uint8_t *out, size_t cap);

/* Completes a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM) in place: the
 * field at csum_start + csum_offset holds the pseudo-header sum. Returns 0
 * or TSO_EINVAL if the offsets do not fit the packet. */
int tso_csum_complete(const struct gro_vnet_hdr *vh, uint8_t *ip, size_t len);

#endif
