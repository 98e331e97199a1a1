/*
 * TCP receive coalescing for writes to the TUN (IFF_VNET_HDR), the way a
 * NIC's GRO does it: consecutive segments of one TCP flow, decrypted in
 * one batch, are merged into one large IPv4 packet that the kernel takes
 * with a virtio_net_hdr saying "TCPv4 GSO, segment size MSS, checksum
 * partial". The kernel then forwards it, and the receiver's TCP takes it,
 * as one packet instead of up to 44: most of the inbound gateway's time
 * was that per-packet walk. Pure logic: no I/O, driven by unit tests.
 *
 * Two packets merge only if the result is exactly what the kernel's own
 * segmentation would turn back into them: IPv4 without options or
 * fragmentation, same addresses, TOS, TTL and DF, IP ID + 1; TCP with the
 * same ports, ACK, window and options, sequence contiguous, flags ACK (PSH
 * allowed on the last), every segment the size of the first but the last.
 * Each packet's TCP checksum is verified first: the merged packet's
 * checksum is recomputed by the kernel, so a corrupt segment must never get
 * into one.
 */
#ifndef HAGW_GRO_H
#define HAGW_GRO_H

#include <stddef.h>
#include <stdint.h>

#define GRO_VNET_HDR_LEN 10   /* struct virtio_net_hdr */
#define GRO_MAX_LEN      65535
#define GRO_MAX_SEGS     64

/* struct virtio_net_hdr in host order (TUN without IFF_VNET_LE/BE). */
struct gro_vnet_hdr {
	uint8_t  flags;
	uint8_t  gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset;
};
_Static_assert(sizeof(struct gro_vnet_hdr) == GRO_VNET_HDR_LEN, "virtio_net_hdr is 10 bytes");

struct gro {
	uint8_t *buf;            /* the pending packet, GRO_MAX_LEN bytes */
	size_t len;              /* its length; 0: nothing pending */
	void *owner;       /* packets of different owners (SAs) never merge */
	uint32_t segs;           /* packets merged into it */
	uint64_t bytes;          /* their original lengths, summed */
	uint16_t hlen;           /* IP + TCP header length */
	uint16_t mss;            /* payload of every segment but the last */
	uint16_t next_id;        /* IP ID the next segment must have */
	uint32_t next_seq;       /* TCP sequence the next segment must have */
	int closed;              /* a short or PSH segment ended it */
	int psh;
};

int  gro_init(struct gro *r);
void gro_free(struct gro *r);

/* Appends ip[len] to the pending packet of the same owner if it can be
 * merged; returns 1 if it was, 0 if not (nothing pending, or not mergeable). */
int  gro_merge(struct gro *r, void *owner, const uint8_t *ip, size_t len);

/* With nothing pending: copies ip[len] in as the head of a new pending
 * packet if it is a TCP segment that could have successors. Returns 1 if
 * it did, 0 if the packet should be written on its own. */
int  gro_start(struct gro *r, void *owner, const uint8_t *ip, size_t len);

/* Finishes the pending packet for writing: headers fixed up and the
 * virtio_net_hdr to write in front of it (all zero for a single segment,
 * which goes out exactly as it came). Returns its length; the caller
 * writes r->buf, then calls gro_reset. */
size_t gro_finish(struct gro *r, struct gro_vnet_hdr *vh);
void gro_reset(struct gro *r);

/* RFC 1071 checksum helpers, also used to complete partial checksums. */
uint32_t gro_csum_add(uint32_t sum, const uint8_t *p, size_t n);
uint16_t gro_csum_fold(uint32_t sum);
/* 1 if the TCP checksum of the IPv4 packet ip[len] (ihl bytes of header)
 * verifies. */
int  gro_tcp_csum_ok(const uint8_t *ip, size_t len, size_t ihl);

#endif
