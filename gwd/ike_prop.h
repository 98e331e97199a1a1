/*
 * SA payload proposals (RFC 7296 3.3) and traffic-selector narrowing
 * (2.9). Pure code.
 *
 *   Proposal:  Last(0)/More(2) | RESERVED | Length(2) | Num | Protocol |
 *              SPI Size | #Transforms | SPI | Transforms
 *   Transform: Last(0)/More(3) | RESERVED | Length(2) | Type | RESERVED |
 *              Transform ID(2) | Attributes (Key Length: 0x800e, bits)
 *
 * A suite (struct ike_suite, conf_sections.h) is what the config names.
 * Selection prefers our configured order (like strongSwan's default) and,
 * within a suite, ESN when the suite allows it and the peer offers it.
 */
#ifndef HAGW_IKE_PROP_H
#define HAGW_IKE_PROP_H

#include <stdint.h>

#include "config.h"
#include "ike_msg.h"

struct ike_choice {
	uint8_t proto;    /* enum ike_proto */
	uint8_t num;      /* the peer's proposal number, echoed */
	uint8_t spi_size;
	uint64_t spi;     /* the proposer's SPI */
	int enc;          /* enum sa_alg */
	int dh;           /* 1 if X25519 was chosen */
	int esn;
};

/* How a selection treats DH transforms (CREATE_CHILD_SA PFS, 1.3.1). */
enum ike_dh_mode {
	IKE_DH_IGNORE,    /* IKE_AUTH child proposals: the DH is the IKE SA's */
	IKE_DH_REQUIRE,   /* X25519 must be offered (IKE SAs, PFS) */
	IKE_DH_FORBID,    /* no KE payload: NONE or absent only */
};

/* Our offer: one proposal per suite, numbered from 1. dh: include X25519
 * (IKE: always; ESP: only for a PFS rekey). */
void ike_prop_build(struct ike_buf *b, uint8_t proto, const struct ike_suites *s, uint64_t spi,
		    int dh);
/* The answer: the one chosen proposal with our SPI. */
void ike_prop_build_choice(struct ike_buf *b, const struct ike_choice *c, uint64_t our_spi);
/* Picks from a peer's SA payload. Returns 0, -ENOENT (NO_PROPOSAL_CHOSEN)
 * or IKE_E_SYNTAX. */
int ike_prop_select(const struct ike_pl *sa, uint8_t proto, const struct ike_suites *ours,
		    enum ike_dh_mode dh, struct ike_choice *out);

/* 2.9 narrowing: the widest intersection of `ours` with any of theirs.
 * Returns 0 or -ENOENT. */
int ike_ts_narrow(const struct sa_ts *ours, const struct sa_ts *theirs, unsigned n,
		  struct sa_ts *out);
int ike_ts_within(const struct sa_ts *inner, const struct sa_ts *outer);

#endif
