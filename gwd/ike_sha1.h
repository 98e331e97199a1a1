/*
 * SHA-1 (FIPS 180-4), only for the NAT detection hashes of RFC 7296
 * section 2.23, which the protocol fixes to SHA-1. libsodium has no SHA-1
 * and one hash does not justify another crypto library. Not for anything
 * that needs collision resistance.
 */
#ifndef HAGW_IKE_SHA1_H
#define HAGW_IKE_SHA1_H

#include <stddef.h>
#include <stdint.h>

struct ike_sha1 {
	uint32_t h[5];
	uint64_t total;
	uint8_t buf[64];
	size_t used;
};

void ike_sha1_init(struct ike_sha1 *s);
void ike_sha1_update(struct ike_sha1 *s, const void *data, size_t len);
void ike_sha1_final(struct ike_sha1 *s, uint8_t out[20]);
void ike_sha1(const void *data, size_t len, uint8_t out[20]);

#endif
