#include "ike_msg.h"

#include <errno.h>
#include <string.h>

#include "ike_crypto.h"

int ike_hdr_parse(const uint8_t *p, size_t len, struct ike_hdr *h)
{
	if (len < IKE_HDR_LEN)
		return IKE_E_TRUNC;
	h->spi_i = ike_get64(p);
	h->spi_r = ike_get64(p + 8);
	h->np = p[16];
	h->version = p[17];
	h->exchange = p[18];
	h->flags = p[19];
	h->msgid = ike_get32(p + 20);
	h->length = ike_get32(p + 24);
	/* 2.5: a major version other than 2 is answered with
	 * INVALID_MAJOR_VERSION; the minor version is ignored. */
	if ((h->version >> 4) != 2)
		return IKE_E_VERSION;
	if (h->length < IKE_HDR_LEN || h->length > len)
		return IKE_E_TRUNC;
	if (h->length != len)
		return IKE_E_SYNTAX; /* trailing bytes after the message */
	return 0;
}

/* Minimum body length of each payload type we read (section 3). */
static int pl_min_len(uint8_t type)
{
	switch (type) {
	case IKE_PL_SA: return 8;       /* one proposal header */
	case IKE_PL_KE: return 4;
	case IKE_PL_IDI: case IKE_PL_IDR: return 4;
	case IKE_PL_AUTH: return 4;
	case IKE_PL_NONCE: return IKE_NONCE_MIN;
	case IKE_PL_NOTIFY: return 4;
	case IKE_PL_DELETE: return 4;
	case IKE_PL_TSI: case IKE_PL_TSR: return 4;
	case IKE_PL_SK: return IKE_SK_IV_LEN + IKE_SK_ICV_LEN;
	case IKE_PL_CERT: case IKE_PL_CERTREQ: case IKE_PL_VENDOR: case IKE_PL_CP: case IKE_PL_EAP:
		return 0;
	default: return -1;             /* not a type we know */
	}
}

static int parse_chain(struct ike_msg *m, uint8_t np, const uint8_t *p, size_t len, int inner)
{
	size_t off = 0;

	while (np != IKE_PL_NONE) {
		struct ike_pl *pl;
		uint16_t plen;
		int min;

		if (len - off < IKE_PL_HDR_LEN)
			return IKE_E_TRUNC;
		plen = ike_get16(p + off + 2);
		if (plen < IKE_PL_HDR_LEN || plen > len - off)
			return IKE_E_TRUNC;
		min = pl_min_len(np);
		if (min < 0) {
			/* 2.5 / 3.2: unknown payloads are skipped unless critical. */
			if (p[off + 1] & 0x80) {
				m->crit_type = np;
				return IKE_E_CRITICAL;
			}
		} else {
			if (plen - IKE_PL_HDR_LEN < min)
				return IKE_E_SYNTAX;
			if (m->n == IKE_MAX_PAYLOADS)
				return IKE_E_TOOMANY;
			pl = &m->pl[m->n++];
			pl->type = np;
			pl->critical = p[off + 1] >> 7;
			pl->hdr = p + off;
			pl->body = p + off + IKE_PL_HDR_LEN;
			pl->len = (uint16_t)(plen - IKE_PL_HDR_LEN);
			if (np == IKE_PL_SK) {
				/* 3.14: SK is the last payload; its Next Payload
				 * names the first payload inside. */
				if (inner || off + plen != len)
					return IKE_E_SYNTAX;
				m->sk = pl;
				return 0;
			}
		}
		np = p[off];
		off += plen;
	}
	return off == len ? 0 : IKE_E_SYNTAX;
}

int ike_msg_parse(struct ike_msg *m, const uint8_t *p, size_t len)
{
	int rc;

	memset(m, 0, sizeof(*m));
	m->raw = p;
	m->raw_len = len;
	if ((rc = ike_hdr_parse(p, len, &m->hdr)) < 0)
		return rc;
	return parse_chain(m, m->hdr.np, p + IKE_HDR_LEN, len - IKE_HDR_LEN, 0);
}

int ike_msg_parse_inner(struct ike_msg *m, uint8_t np, const uint8_t *p, size_t len)
{
	return parse_chain(m, np, p, len, 1);
}

const struct ike_pl *ike_msg_find(const struct ike_msg *m, uint8_t type)
{
	unsigned i;

	for (i = 0; i < m->n; i++)
		if (m->pl[i].type == type)
			return &m->pl[i];
	return NULL;
}

const struct ike_pl *ike_msg_notify(const struct ike_msg *m, uint16_t type)
{
	unsigned i;

	for (i = 0; i < m->n; i++)
		if (m->pl[i].type == IKE_PL_NOTIFY && ike_get16(m->pl[i].body + 2) == type)
			return &m->pl[i];
	return NULL;
}

uint16_t ike_msg_error(const struct ike_msg *m)
{
	unsigned i;

	for (i = 0; i < m->n; i++) {
		uint16_t t;

		if (m->pl[i].type != IKE_PL_NOTIFY)
			continue;
		t = ike_get16(m->pl[i].body + 2);
		if (t && t <= IKE_N_ERROR_MAX)
			return t;
	}
	return 0;
}

int ike_pl_notify(const struct ike_pl *pl, struct ike_notify_pl *n)
{
	const uint8_t *b = pl->body;

	n->proto = b[0];
	n->spi_size = b[1];
	n->type = ike_get16(b + 2);
	if ((size_t)4 + n->spi_size > pl->len)
		return IKE_E_SYNTAX;
	n->spi = b + 4;
	n->data = b + 4 + n->spi_size;
	n->data_len = pl->len - 4 - n->spi_size;
	return 0;
}

int ike_pl_ke(const struct ike_pl *pl, uint16_t *group, const uint8_t **data, size_t *len)
{
	*group = ike_get16(pl->body);
	*data = pl->body + 4;
	*len = pl->len - 4u;
	return 0;
}

int ike_pl_id(const struct ike_pl *pl, uint8_t *type, const uint8_t **data, size_t *len)
{
	*type = pl->body[0];
	*data = pl->body + 4;
	*len = pl->len - 4u;
	return *len ? 0 : IKE_E_SYNTAX;
}

int ike_pl_auth(const struct ike_pl *pl, uint8_t *method, const uint8_t **data, size_t *len)
{
	*method = pl->body[0];
	*data = pl->body + 4;
	*len = pl->len - 4u;
	return *len ? 0 : IKE_E_SYNTAX;
}

int ike_pl_delete(const struct ike_pl *pl, struct ike_delete_pl *d)
{
	d->proto = pl->body[0];
	d->spi_size = pl->body[1];
	d->n = ike_get16(pl->body + 2);
	d->spis = pl->body + 4;
	/* 3.11: IKE SA deletes carry no SPI; ESP ones carry 4-byte SPIs. */
	if (d->proto == IKE_PROTO_IKE)
		return 0;
	if ((size_t)d->spi_size * d->n != pl->len - 4u)
		return IKE_E_SYNTAX;
	return 0;
}

/* A range [a, b] as a prefix, or -1 if it is not one. */
static int range_to_prefix(uint32_t a, uint32_t b, struct sa_ts *ts)
{
	uint32_t span = a ^ b;
	int plen = 32;

	while (span & 1) {
		span >>= 1;
		plen--;
	}
	if (span)
		return -1;
	if (plen == 0) {
		if (a != 0 || b != 0xffffffffu)
			return -1;
	} else if (plen < 32) {
		uint32_t host = ~(~0u << (32 - plen));

		if ((a & host) != 0 || (b & host) != host)
			return -1;
	}
	memset(ts, 0, sizeof(*ts));
	ts->addr = a;
	ts->plen = (uint8_t)plen;
	return 0;
}

int ike_pl_ts(const struct ike_pl *pl, struct sa_ts *out, unsigned max, unsigned *n, unsigned *skipped)
{
	unsigned count = pl->body[0], i;
	size_t off = 4;

	*n = 0;
	*skipped = 0;
	for (i = 0; i < count; i++) {
		const uint8_t *t = pl->body + off;
		uint16_t tlen;

		if (pl->len - off < 4)
			return IKE_E_SYNTAX;
		tlen = ike_get16(t + 2);
		if (tlen < 8 || tlen > pl->len - off)
			return IKE_E_SYNTAX;
		off += tlen;
		/* 3.13.1: an IPv4 range is exactly 16 octets; we carry all
		 * protocols and ports, so narrower ones are not for us. */
		if (t[0] != IKE_TS_IPV4_RANGE || tlen != 16 || t[1] != 0 ||
		    ike_get16(t + 4) != 0 || ike_get16(t + 6) != 0xffff ||
		    *n == max || range_to_prefix(ike_get32(t + 8), ike_get32(t + 12), &out[*n]) < 0) {
			(*skipped)++;
			continue;
		}
		(*n)++;
	}
	return off == pl->len ? 0 : IKE_E_SYNTAX;
}

/* --- builder --- */

static int room(struct ike_buf *b, size_t n)
{
	if (b->err || IKE_MSG_MAX - b->len < n) {
		b->err = -ENOSPC;
		return 0;
	}
	return 1;
}

void ike_buf_init_msg(struct ike_buf *b, uint64_t spi_i, uint64_t spi_r, uint8_t exchange,
		      uint8_t flags, uint32_t msgid)
{
	memset(b->p, 0, IKE_HDR_LEN);
	ike_put64(b->p, spi_i);
	ike_put64(b->p + 8, spi_r);
	b->p[17] = IKE_VERSION;
	b->p[18] = exchange;
	b->p[19] = flags;
	ike_put32(b->p + 20, msgid);
	b->len = IKE_HDR_LEN;
	b->np_off = 16;
	b->pl_off = 0;
	b->err = 0;
}

void ike_buf_init_chain(struct ike_buf *b)
{
	b->p[0] = IKE_PL_NONE;
	b->len = 1;
	b->np_off = 0;
	b->pl_off = 0;
	b->err = 0;
}

void ike_buf_pl_begin(struct ike_buf *b, uint8_t type)
{
	if (!room(b, IKE_PL_HDR_LEN))
		return;
	b->p[b->np_off] = type;
	b->np_off = b->len;
	b->pl_off = b->len;
	memset(b->p + b->len, 0, IKE_PL_HDR_LEN);
	b->len += IKE_PL_HDR_LEN;
}

void ike_buf_pl_end(struct ike_buf *b)
{
	if (b->err)
		return;
	ike_put16(b->p + b->pl_off + 2, (uint16_t)(b->len - b->pl_off));
}

void ike_buf_put(struct ike_buf *b, const void *data, size_t len)
{
	if (!room(b, len))
		return;
	if (len)
		memcpy(b->p + b->len, data, len);
	b->len += len;
}

void ike_buf_u8(struct ike_buf *b, uint8_t v) { ike_buf_put(b, &v, 1); }
void ike_buf_u16(struct ike_buf *b, uint16_t v)
{
	uint8_t x[2];

	ike_put16(x, v);
	ike_buf_put(b, x, 2);
}
void ike_buf_u32(struct ike_buf *b, uint32_t v)
{
	uint8_t x[4];

	ike_put32(x, v);
	ike_buf_put(b, x, 4);
}

void ike_buf_finish(struct ike_buf *b)
{
	if (!b->err)
		ike_put32(b->p + 24, (uint32_t)b->len);
}

void ike_buf_notify(struct ike_buf *b, uint8_t proto, const uint8_t *spi, uint8_t spi_size,
		    uint16_t type, const void *data, size_t len)
{
	ike_buf_pl_begin(b, IKE_PL_NOTIFY);
	ike_buf_u8(b, proto);
	ike_buf_u8(b, spi_size);
	ike_buf_u16(b, type);
	ike_buf_put(b, spi, spi_size);
	ike_buf_put(b, data, len);
	ike_buf_pl_end(b);
}

void ike_buf_ke(struct ike_buf *b, uint16_t group, const uint8_t *pub, size_t len)
{
	ike_buf_pl_begin(b, IKE_PL_KE);
	ike_buf_u16(b, group);
	ike_buf_u16(b, 0);
	ike_buf_put(b, pub, len);
	ike_buf_pl_end(b);
}

void ike_buf_nonce(struct ike_buf *b, const uint8_t *nonce, size_t len)
{
	ike_buf_pl_begin(b, IKE_PL_NONCE);
	ike_buf_put(b, nonce, len);
	ike_buf_pl_end(b);
}

void ike_buf_id(struct ike_buf *b, uint8_t pl_type, const uint8_t *body, size_t len)
{
	ike_buf_pl_begin(b, pl_type);
	ike_buf_put(b, body, len);
	ike_buf_pl_end(b);
}

void ike_buf_auth(struct ike_buf *b, uint8_t method, const uint8_t *data, size_t len)
{
	ike_buf_pl_begin(b, IKE_PL_AUTH);
	ike_buf_u8(b, method);
	ike_buf_u8(b, 0);
	ike_buf_u16(b, 0);
	ike_buf_put(b, data, len);
	ike_buf_pl_end(b);
}

void ike_buf_ts(struct ike_buf *b, uint8_t pl_type, const struct sa_ts *ts)
{
	uint32_t last = ts->plen == 0 ? 0xffffffffu :
			ts->plen == 32 ? ts->addr : ts->addr | ~(~0u << (32 - ts->plen));

	ike_buf_pl_begin(b, pl_type);
	ike_buf_u8(b, 1);       /* number of TSs */
	ike_buf_u8(b, 0);
	ike_buf_u16(b, 0);
	ike_buf_u8(b, IKE_TS_IPV4_RANGE);
	ike_buf_u8(b, 0);       /* any IP protocol */
	ike_buf_u16(b, 16);
	ike_buf_u16(b, 0);
	ike_buf_u16(b, 0xffff);
	ike_buf_u32(b, ts->addr);
	ike_buf_u32(b, last);
	ike_buf_pl_end(b);
}

void ike_buf_delete(struct ike_buf *b, uint8_t proto, const uint32_t *spis, uint16_t n)
{
	uint16_t i;

	ike_buf_pl_begin(b, IKE_PL_DELETE);
	ike_buf_u8(b, proto);
	ike_buf_u8(b, proto == IKE_PROTO_IKE ? 0 : 4);
	ike_buf_u16(b, n);
	for (i = 0; i < n; i++)
		ike_buf_u32(b, spis[i]);
	ike_buf_pl_end(b);
}

/* --- SK payload --- */

int ike_sk_seal(struct ike_buf *msg, const struct ike_buf *inner, int alg, const uint8_t key[36],
		uint64_t iv)
{
	size_t chain = inner->len - 1, plain_len = chain + 1; /* + Pad Length (0 padding) */
	size_t sk_off = msg->len, total;
	uint8_t plain[IKE_MSG_MAX], ivb[IKE_SK_IV_LEN];

	total = sk_off + IKE_PL_HDR_LEN + IKE_SK_IV_LEN + plain_len + IKE_SK_ICV_LEN;
	if (msg->err || inner->err || total > IKE_MSG_MAX)
		return -ENOSPC;
	/* 3.14: the SK header's Next Payload is the first inner payload. */
	msg->p[msg->np_off] = IKE_PL_SK;
	msg->p[sk_off] = inner->p[0];
	msg->p[sk_off + 1] = 0;
	ike_put16(msg->p + sk_off + 2, (uint16_t)(total - sk_off));
	ike_put32(msg->p + 24, (uint32_t)total);
	ike_put64(ivb, iv);
	memcpy(msg->p + sk_off + IKE_PL_HDR_LEN, ivb, IKE_SK_IV_LEN);
	memcpy(plain, inner->p + 1, chain);
	plain[chain] = 0; /* Pad Length: AEAD needs no block padding */
	/* RFC 5282 5.1: the AAD is the IKE header and the SK payload header
	 * (up to the IV), with the final lengths already in place. */
	if (ike_aead_encrypt(alg, key, ivb, msg->p, sk_off + IKE_PL_HDR_LEN, plain, plain_len,
			     msg->p + sk_off + IKE_PL_HDR_LEN + IKE_SK_IV_LEN) < 0)
		return -EINVAL;
	msg->len = total;
	msg->np_off = sk_off; /* nothing may follow SK */
	return 0;
}

int ike_sk_open(struct ike_msg *m, uint8_t *buf, int alg, const uint8_t key[36])
{
	const struct ike_pl *sk = m->sk;
	size_t sk_off, ct_len, plain_len;
	const uint8_t *iv;
	uint8_t *ct;
	uint8_t pad;

	if (!sk)
		return IKE_E_SYNTAX;
	sk_off = (size_t)(sk->hdr - m->raw);
	iv = sk->body;
	ct = buf + sk_off + IKE_PL_HDR_LEN + IKE_SK_IV_LEN;
	ct_len = sk->len - IKE_SK_IV_LEN;
	if (ike_aead_decrypt(alg, key, iv, buf, sk_off + IKE_PL_HDR_LEN, ct, ct_len, ct) < 0)
		return -EBADMSG;
	plain_len = ct_len - IKE_SK_ICV_LEN;
	if (plain_len < 1)
		return IKE_E_SYNTAX;
	pad = ct[plain_len - 1];
	if ((size_t)pad + 1 > plain_len)
		return IKE_E_SYNTAX;
	return ike_msg_parse_inner(m, sk->hdr[0], ct, plain_len - 1 - pad);
}

const char *ike_exchange_name(int x)
{
	switch (x) {
	case IKE_SA_INIT: return "IKE_SA_INIT";
	case IKE_AUTH: return "IKE_AUTH";
	case IKE_CREATE_CHILD_SA: return "CREATE_CHILD_SA";
	case IKE_INFORMATIONAL: return "INFORMATIONAL";
	default: return "unknown";
	}
}

const char *ike_notify_name(int n)
{
	switch (n) {
	case IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD: return "UNSUPPORTED_CRITICAL_PAYLOAD";
	case IKE_N_INVALID_IKE_SPI: return "INVALID_IKE_SPI";
	case IKE_N_INVALID_MAJOR_VERSION: return "INVALID_MAJOR_VERSION";
	case IKE_N_INVALID_SYNTAX: return "INVALID_SYNTAX";
	case IKE_N_INVALID_MESSAGE_ID: return "INVALID_MESSAGE_ID";
	case IKE_N_INVALID_SPI: return "INVALID_SPI";
	case IKE_N_NO_PROPOSAL_CHOSEN: return "NO_PROPOSAL_CHOSEN";
	case IKE_N_INVALID_KE_PAYLOAD: return "INVALID_KE_PAYLOAD";
	case IKE_N_AUTHENTICATION_FAILED: return "AUTHENTICATION_FAILED";
	case IKE_N_SINGLE_PAIR_REQUIRED: return "SINGLE_PAIR_REQUIRED";
	case IKE_N_NO_ADDITIONAL_SAS: return "NO_ADDITIONAL_SAS";
	case IKE_N_TS_UNACCEPTABLE: return "TS_UNACCEPTABLE";
	case IKE_N_TEMPORARY_FAILURE: return "TEMPORARY_FAILURE";
	case IKE_N_CHILD_SA_NOT_FOUND: return "CHILD_SA_NOT_FOUND";
	case IKE_N_COOKIE: return "COOKIE";
	case IKE_N_REKEY_SA: return "REKEY_SA";
	default: return "notify";
	}
}
