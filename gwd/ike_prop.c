#include "ike_prop.h"

#include <errno.h>
#include <string.h>

#include "ike_crypto.h"

/* The transforms of one proposal, as sets. */
struct prop {
	uint8_t num, proto, spi_size;
	uint64_t spi;
	int enc_gcm256, enc_chacha;     /* offered */
	int prf_sha256, prf_other;
	int integ_other;                /* any INTEG but NONE: not for AEAD */
	int dh_x25519, dh_none, dh_other;
	int esn_yes, esn_no;
	int unknown;                    /* a transform type we do not know */
};

static int enc_xform(int alg)
{
	return alg == SA_ALG_AES_GCM_16_256 ? IKE_ENCR_AES_GCM_16 : IKE_ENCR_CHACHA20_POLY1305;
}

static void put_xform(struct ike_buf *b, int last, uint8_t type, uint16_t id, uint16_t keylen)
{
	ike_buf_u8(b, last ? 0 : 3);
	ike_buf_u8(b, 0);
	ike_buf_u16(b, keylen ? 12 : 8);
	ike_buf_u8(b, type);
	ike_buf_u8(b, 0);
	ike_buf_u16(b, id);
	if (keylen) {
		ike_buf_u16(b, 0x8000 | IKE_ATTR_KEY_LENGTH); /* TV format */
		ike_buf_u16(b, keylen);
	}
}

/* One proposal substructure; returns nothing, errors stick in b. */
static void put_proposal(struct ike_buf *b, int last, uint8_t num, uint8_t proto, uint64_t spi,
			 int enc, int dh, int esn_mask)
{
	size_t start = b->len;
	uint8_t spib[8];
	uint8_t spi_size = proto == IKE_PROTO_IKE ? (spi ? 8 : 0) : 4;
	int nx = 1 + (proto == IKE_PROTO_IKE) + !!dh + (proto == IKE_PROTO_ESP ? __builtin_popcount((unsigned)esn_mask) : 0);
	int left = nx;

	ike_buf_u8(b, last ? 0 : 2);
	ike_buf_u8(b, 0);
	ike_buf_u16(b, 0);      /* length, below */
	ike_buf_u8(b, num);
	ike_buf_u8(b, proto);
	ike_buf_u8(b, spi_size);
	ike_buf_u8(b, (uint8_t)nx);
	if (spi_size == 8)
		ike_put64(spib, spi);
	else
		ike_put32(spib, (uint32_t)spi);
	ike_buf_put(b, spib, spi_size);
	put_xform(b, --left == 0, IKE_XF_ENCR, (uint16_t)enc_xform(enc),
		  enc == SA_ALG_AES_GCM_16_256 ? 256 : 0);
	if (proto == IKE_PROTO_IKE)
		put_xform(b, --left == 0, IKE_XF_PRF, IKE_PRF_HMAC_SHA2_256, 0);
	if (dh)
		put_xform(b, --left == 0, IKE_XF_DH, IKE_DH_X25519, 0);
	if (proto == IKE_PROTO_ESP) {
		/* 3.3.2: ESN is part of every ESP proposal. */
		if (esn_mask & IKE_ESN_YES)
			put_xform(b, --left == 0, IKE_XF_ESN, 1, 0);
		if (esn_mask & IKE_ESN_NO)
			put_xform(b, --left == 0, IKE_XF_ESN, 0, 0);
	}
	if (!b->err)
		ike_put16(b->p + start + 2, (uint16_t)(b->len - start));
}

void ike_prop_build(struct ike_buf *b, uint8_t proto, const struct ike_suites *s, uint64_t spi,
		    int dh)
{
	unsigned i;

	ike_buf_pl_begin(b, IKE_PL_SA);
	for (i = 0; i < s->n; i++)
		put_proposal(b, i + 1 == s->n, (uint8_t)(i + 1), proto, spi, s->s[i].enc,
			     proto == IKE_PROTO_IKE ? 1 : dh, s->s[i].esn_mask);
	ike_buf_pl_end(b);
}

void ike_prop_build_choice(struct ike_buf *b, const struct ike_choice *c, uint64_t our_spi)
{
	ike_buf_pl_begin(b, IKE_PL_SA);
	put_proposal(b, 1, c->num, c->proto, our_spi, c->enc, c->dh,
		     c->proto == IKE_PROTO_ESP ? (c->esn ? IKE_ESN_YES : IKE_ESN_NO) : 0);
	ike_buf_pl_end(b);
}

static int parse_xform(const uint8_t *t, size_t len, struct prop *p)
{
	uint8_t type = t[4];
	uint16_t id = ike_get16(t + 6), keylen = 0;
	size_t off = 8;

	while (off < len) {
		uint16_t at;

		if (len - off < 4)
			return IKE_E_SYNTAX;
		at = ike_get16(t + off);
		if (at & 0x8000) {
			if ((at & 0x7fff) == IKE_ATTR_KEY_LENGTH)
				keylen = ike_get16(t + off + 2);
			off += 4;
		} else {
			uint16_t alen = ike_get16(t + off + 2);

			if (alen > len - off - 4)
				return IKE_E_SYNTAX;
			off += 4u + alen;
		}
	}
	switch (type) {
	case IKE_XF_ENCR:
		if (id == IKE_ENCR_AES_GCM_16 && keylen == 256)
			p->enc_gcm256 = 1;
		else if (id == IKE_ENCR_CHACHA20_POLY1305 && keylen == 0)
			p->enc_chacha = 1;
		break;
	case IKE_XF_PRF:
		if (id == IKE_PRF_HMAC_SHA2_256)
			p->prf_sha256 = 1;
		else
			p->prf_other = 1;
		break;
	case IKE_XF_INTEG:
		if (id != 0)
			p->integ_other = 1;
		break;
	case IKE_XF_DH:
		if (id == IKE_DH_X25519)
			p->dh_x25519 = 1;
		else if (id == 0)
			p->dh_none = 1;
		else
			p->dh_other = 1;
		break;
	case IKE_XF_ESN:
		if (id == 1)
			p->esn_yes = 1;
		else if (id == 0)
			p->esn_no = 1;
		break;
	default:
		p->unknown = 1;
	}
	return 0;
}

static int parse_proposal(const uint8_t *b, size_t len, struct prop *p)
{
	unsigned nx, i;
	size_t off;

	memset(p, 0, sizeof(*p));
	p->num = b[4];
	p->proto = b[5];
	p->spi_size = b[6];
	nx = b[7];
	off = 8u + p->spi_size;
	if (off > len || p->spi_size > 8)
		return IKE_E_SYNTAX;
	if (p->spi_size == 4)
		p->spi = ike_get32(b + 8);
	else if (p->spi_size == 8)
		p->spi = ike_get64(b + 8);
	for (i = 0; i < nx; i++) {
		uint16_t tlen;
		int rc;

		if (len - off < 8)
			return IKE_E_SYNTAX;
		tlen = ike_get16(b + off + 2);
		if (tlen < 8 || tlen > len - off)
			return IKE_E_SYNTAX;
		/* 3.3.2: the Last flag must agree with the count. */
		if ((b[off] == 0) != (i + 1 == nx) || (b[off] != 0 && b[off] != 3))
			return IKE_E_SYNTAX;
		if ((rc = parse_xform(b + off, tlen, p)) < 0)
			return rc;
		off += tlen;
	}
	return off == len ? 0 : IKE_E_SYNTAX;
}

static int suite_fits(const struct ike_suite *s, const struct prop *p, uint8_t proto,
		      enum ike_dh_mode dh, struct ike_choice *c)
{
	if (p->proto != proto || p->unknown || p->integ_other)
		return 0;
	if (s->enc == SA_ALG_AES_GCM_16_256 ? !p->enc_gcm256 : !p->enc_chacha)
		return 0;
	if (proto == IKE_PROTO_IKE && (!p->prf_sha256 || p->spi_size != (p->spi ? 8 : 0)))
		return 0;
	if (proto == IKE_PROTO_ESP && p->spi_size != 4)
		return 0;
	if (dh == IKE_DH_REQUIRE && !p->dh_x25519)
		return 0;
	if (dh == IKE_DH_FORBID && (p->dh_x25519 || p->dh_other))
		return 0;
	memset(c, 0, sizeof(*c));
	c->proto = proto;
	c->num = p->num;
	c->spi_size = p->spi_size;
	c->spi = p->spi;
	c->enc = s->enc;
	c->dh = dh == IKE_DH_REQUIRE;
	if (proto == IKE_PROTO_ESP) {
		if ((s->esn_mask & IKE_ESN_YES) && p->esn_yes)
			c->esn = 1;
		else if ((s->esn_mask & IKE_ESN_NO) && (p->esn_no || (!p->esn_yes && !p->esn_no)))
			c->esn = 0;
		else
			return 0;
	}
	return 1;
}

int ike_prop_select(const struct ike_pl *sa, uint8_t proto, const struct ike_suites *ours,
		    enum ike_dh_mode dh, struct ike_choice *out)
{
	struct prop props[16];
	unsigned np = 0, i, j;
	size_t off = 0;
	int rc;

	/* Parse all first: a malformed SA payload is INVALID_SYNTAX even if
	 * an early proposal would have fit. */
	while (off < sa->len) {
		const uint8_t *b = sa->body + off;
		uint16_t plen;

		if (sa->len - off < 8)
			return IKE_E_SYNTAX;
		plen = ike_get16(b + 2);
		if (plen < 8 || plen > sa->len - off)
			return IKE_E_SYNTAX;
		if (np < 16) {
			if ((rc = parse_proposal(b, plen, &props[np])) < 0)
				return rc;
			np++;
		}
		off += plen;
		if (b[0] == 0)
			break;
		if (b[0] != 2)
			return IKE_E_SYNTAX;
	}
	if (off != sa->len)
		return IKE_E_SYNTAX;
	for (i = 0; i < ours->n; i++)
		for (j = 0; j < np; j++)
			if (suite_fits(&ours->s[i], &props[j], proto, dh, out))
				return 0;
	return -ENOENT;
}

static uint32_t ts_mask(uint8_t plen) { return plen ? ~0u << (32 - plen) : 0; }

int ike_ts_within(const struct sa_ts *inner, const struct sa_ts *outer)
{
	return inner->plen >= outer->plen && (inner->addr & ts_mask(outer->plen)) == outer->addr;
}

int ike_ts_narrow(const struct sa_ts *ours, const struct sa_ts *theirs, unsigned n,
		  struct sa_ts *out)
{
	int found = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		const struct sa_ts *x = NULL;

		if (ike_ts_within(&theirs[i], ours))
			x = &theirs[i];
		else if (ike_ts_within(ours, &theirs[i]))
			x = ours;
		if (x && (!found || x->plen < out->plen)) {
			*out = *x;
			found = 1;
		}
	}
	return found ? 0 : -ENOENT;
}
