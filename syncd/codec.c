/*
 * The sync message codec (format in codec.h). One table of fields per
 * message type drives both the encoder and the decoder, so a field cannot
 * be written under one key and read under another.
 */
#include "codec.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <msgpack.h>

/* Optional kinds: F_OPT32 is a u32 followed in its struct by a u32
 * presence flag; F_CTR ("c"), F_SLOTS ("x") and F_CMP ("e") are the
 * counters' bins (a NULL pointer: absent; decode_fields checks that the
 * counters have one form of entries). */
enum field_kind { F_U32, F_U64, F_BIN, F_STR, F_CTR, F_OPT32, F_SLOTS, F_CMP };

struct field {
	const char *key;
	uint8_t kind;
	uint16_t off;              /* within the union of struct sync_msg */
	uint16_t len;              /* F_BIN: exact bytes; F_STR: buffer size */
	uint64_t min, max;         /* F_U32/F_U64 */
};

#define U32(k, type, f, ...)    { k, F_U32, offsetof(type, f), 0, __VA_ARGS__ }
#define U64(k, type, f)         { k, F_U64, offsetof(type, f), 0, 0, UINT64_MAX }
#define BIN(k, type, f)         { k, F_BIN, offsetof(type, f), sizeof(((type *)0)->f), 0, 0 }
#define STR(k, type, f)         { k, F_STR, offsetof(type, f), sizeof(((type *)0)->f), 0, 0 }
#define ANY32 0, UINT32_MAX
#define SPI   256, UINT32_MAX /* RFC 4303 2.1: 1-255 are reserved */

static const struct field f_hello[] = {
	U32("id", struct sync_hello, member_id, ANY32),
	U32("lv", struct sync_hello, layout_version, ANY32),
	U64("ep", struct sync_hello, epoch),
	U32("r", struct sync_hello, role, 0, 1),
	U32("cc", struct sync_hello, child_capacity, ANY32),
	{ "cap", F_OPT32, offsetof(struct sync_hello, caps), 0, 0, UINT32_MAX },
};

static const struct field f_bulk[] = {
	U64("b", struct sync_bulk, id),
	U32("nc", struct sync_bulk, n_child, ANY32),
	U32("ni", struct sync_bulk, n_ike, ANY32),
};

_Static_assert(offsetof(struct sync_child, has_slot) == offsetof(struct sync_child, slot) + 4,
	       "F_OPT32: the presence flag follows the value");
_Static_assert(offsetof(struct sync_hello, has_caps) == offsetof(struct sync_hello, caps) + 4,
	       "F_OPT32: the presence flag follows the value");

static const struct field f_child[] = {
	STR("n", struct sync_child, name),
	U32("si", struct sync_child, spi_in, SPI),
	U32("so", struct sync_child, spi_out, SPI),
	U32("a", struct sync_child, alg, SA_ALG_AES_GCM_16_256, SA_ALG_CHACHA20_POLY1305),
	U32("st", struct sync_child, state, SA_STATE_INSTALLED, SA_STATE_REKEYED),
	U32("f", struct sync_child, flags, ANY32),
	U32("w", struct sync_child, replay_window, 0, SA_REPLAY_MAX_WINDOW),
	BIN("ki", struct sync_child, key_in),
	BIN("ko", struct sync_child, key_out),
	U32("la", struct sync_child, ts_local_addr, ANY32),
	U32("lp", struct sync_child, ts_local_plen, 0, 32),
	U32("ra", struct sync_child, ts_remote_addr, ANY32),
	U32("rp", struct sync_child, ts_remote_plen, 0, 32),
	U32("pa", struct sync_child, peer_addr, ANY32),
	U32("pp", struct sync_child, peer_port, 0, 65535),
	U64("cr", struct sync_child, created_ms),
	U64("lsm", struct sync_child, life_soft_ms),
	U64("lhm", struct sync_child, life_hard_ms),
	U64("lsp", struct sync_child, life_soft_packets),
	U64("lhp", struct sync_child, life_hard_packets),
	U32("ac", struct sync_child, activation, ANY32),
	U64("os", struct sync_child, out_seq),
	U64("it", struct sync_child, in_top),
	U64("ii", struct sync_child, ike_spi_i),
	U64("ir", struct sync_child, ike_spi_r),
	{ "x", F_OPT32, offsetof(struct sync_child, slot), 0, 0, UINT32_MAX },
};

static const struct field f_child_del[] = {
	U32("si", struct sync_child_del, spi_in, SPI),
	U32("so", struct sync_child_del, spi_out, SPI),
};

static const struct field f_ike[] = {
	STR("n", struct sync_ike, name),
	U64("ii", struct sync_ike, spi_i),
	U64("ir", struct sync_ike, spi_r),
	U32("ea", struct sync_ike, enc_alg, SA_ALG_NONE, SA_ALG_CHACHA20_POLY1305),
	U32("pr", struct sync_ike, prf_alg, 0, 255),
	U32("f", struct sync_ike, flags, ANY32),
	U32("st", struct sync_ike, state, SA_STATE_INSTALLED, SA_STATE_REKEYED),
	U32("pa", struct sync_ike, peer_addr, ANY32),
	U32("pp", struct sync_ike, peer_port, 0, 65535),
	U32("la", struct sync_ike, local_addr, ANY32),
	BIN("kd", struct sync_ike, sk_d),
	BIN("kei", struct sync_ike, sk_ei),
	BIN("ker", struct sync_ike, sk_er),
	BIN("kpi", struct sync_ike, sk_pi),
	BIN("kpr", struct sync_ike, sk_pr),
	U32("kl", struct sync_ike, sk_len, 0, SA_PRF_KEY_MAX),
	U32("mo", struct sync_ike, msgid_out, ANY32),
	U32("mi", struct sync_ike, msgid_in, ANY32),
	U64("cr", struct sync_ike, created_ms),
};

static const struct field f_ike_upd[] = {
	U64("ii", struct sync_ike_ref, spi_i),
	U64("ir", struct sync_ike_ref, spi_r),
	U32("mo", struct sync_ike_ref, msgid_out, ANY32),
	U32("mi", struct sync_ike_ref, msgid_in, ANY32),
};

static const struct field f_ike_del[] = {
	U64("ii", struct sync_ike_ref, spi_i),
	U64("ir", struct sync_ike_ref, spi_r),
};

static const struct field f_ctr[] = {
	U64("k", struct sync_counters, tick),
	U64("sp", struct sync_counters, span_ms),
	U64("w", struct sync_counters, wall_ms),
	{ "c", F_CTR, offsetof(struct sync_counters, raw), 0, 0, 0 },
	{ "x", F_SLOTS, offsetof(struct sync_counters, slots), 0, 0, 0 },
	{ "e", F_CMP, offsetof(struct sync_counters, cmp), 0, 0, 0 },
};

static const struct field f_hb[] = {
	U64("k", struct sync_heartbeat, tick),
	U64("ep", struct sync_heartbeat, epoch),
	U32("r", struct sync_heartbeat, role, 0, 1),
	U32("s", struct sync_heartbeat, in_sync, 0, 1),
};

#define FIELDS(a) a, sizeof(a) / sizeof(a[0])
static const struct {
	const char *name;
	const struct field *f;
	size_t n;
} types[SYNC_TYPE_MAX + 1] = {
	[SYNC_HELLO] = { "hello", FIELDS(f_hello) },
	[SYNC_BULK_BEGIN] = { "bulk_begin", FIELDS(f_bulk) },
	[SYNC_BULK_END] = { "bulk_end", FIELDS(f_bulk) },
	[SYNC_CHILD_ADD] = { "child_add", FIELDS(f_child) },
	[SYNC_CHILD_DEL] = { "child_del", FIELDS(f_child_del) },
	[SYNC_IKE_ADD] = { "ike_add", FIELDS(f_ike) },
	[SYNC_IKE_UPDATE] = { "ike_update", FIELDS(f_ike_upd) },
	[SYNC_IKE_DEL] = { "ike_del", FIELDS(f_ike_del) },
	[SYNC_COUNTERS] = { "counters", FIELDS(f_ctr) },
	[SYNC_HEARTBEAT] = { "heartbeat", FIELDS(f_hb) },
};

const char *sync_type_name(uint32_t type)
{
	return type <= SYNC_TYPE_MAX && types[type].name ? types[type].name : "unknown";
}

/* --- encoding --- */

struct wbuf {
	uint8_t *p;
	size_t cap, len;
	int overflow;
};

static int wbuf_write(void *data, const char *buf, size_t len)
{
	struct wbuf *w = data;

	if (w->overflow || len > w->cap - w->len) {
		w->overflow = 1;
		return -1;
	}
	memcpy(w->p + w->len, buf, len);
	w->len += len;
	return 0;
}

static void pack_key(msgpack_packer *pk, const char *k)
{
	size_t n = strlen(k);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, k, n);
}

static int field_optional(const struct field *f)
{
	return f->kind == F_OPT32 || f->kind == F_CTR || f->kind == F_SLOTS || f->kind == F_CMP;
}

static int field_present(const struct field *f, const uint8_t *base)
{
	const uint8_t *p = base + f->off;

	if (f->kind == F_OPT32)
		return *(const uint32_t *)(const void *)(p + sizeof(uint32_t)) != 0;
	if (f->kind == F_CTR || f->kind == F_SLOTS || f->kind == F_CMP)
		return *(const uint8_t *const *)(const void *)p != NULL;
	return 1;
}

static void pack_field(msgpack_packer *pk, const struct field *f, const uint8_t *base)
{
	const uint8_t *p = base + f->off;

	pack_key(pk, f->key);
	switch (f->kind) {
	case F_U32:
	case F_OPT32:
		msgpack_pack_uint32(pk, *(const uint32_t *)(const void *)p);
		break;
	case F_U64:
		msgpack_pack_uint64(pk, *(const uint64_t *)(const void *)p);
		break;
	case F_BIN:
		msgpack_pack_bin(pk, f->len);
		msgpack_pack_bin_body(pk, p, f->len);
		break;
	case F_STR: {
		size_t n = strnlen((const char *)p, f->len - 1);

		msgpack_pack_str(pk, n);
		msgpack_pack_str_body(pk, p, n);
		break;
	}
	case F_CTR: {
		const struct sync_counters *c = (const void *)base;

		msgpack_pack_bin(pk, (size_t)c->n * SYNC_CTR_ENTRY);
		msgpack_pack_bin_body(pk, c->raw, (size_t)c->n * SYNC_CTR_ENTRY);
		break;
	}
	case F_SLOTS: {
		const struct sync_counters *c = (const void *)base;

		msgpack_pack_bin(pk, (size_t)c->n * SYNC_CTR_SLOT);
		msgpack_pack_bin_body(pk, c->slots, (size_t)c->n * SYNC_CTR_SLOT);
		break;
	}
	case F_CMP: {
		const struct sync_counters *c = (const void *)base;

		msgpack_pack_bin(pk, c->cmp_len);
		msgpack_pack_bin_body(pk, c->cmp, c->cmp_len);
		break;
	}
	}
}

int sync_encode(const struct sync_msg *m, uint8_t *buf, size_t cap)
{
	struct wbuf w = { .p = buf, .cap = cap < SYNC_MSG_MAX ? cap : SYNC_MSG_MAX };
	const uint8_t *base = (const uint8_t *)&m->u;
	msgpack_packer pk;
	size_t i, n = 0;

	if (m->type == 0 || m->type > SYNC_TYPE_MAX || !types[m->type].f)
		return -EINVAL;
	for (i = 0; i < types[m->type].n; i++)
		n += (size_t)field_present(&types[m->type].f[i], base);
	msgpack_packer_init(&pk, &w, wbuf_write);
	msgpack_pack_map(&pk, 2 + n);
	pack_key(&pk, "v");
	msgpack_pack_uint32(&pk, m->version ? m->version : SYNC_PROTO_VERSION);
	pack_key(&pk, "t");
	msgpack_pack_uint32(&pk, m->type);
	for (i = 0; i < types[m->type].n; i++)
		if (field_present(&types[m->type].f[i], base))
			pack_field(&pk, &types[m->type].f[i], base);
	return w.overflow ? -ENOSPC : (int)w.len;
}

/* --- decoding --- */

/*
 * Walks one msgpack value without allocating: checks that it is complete
 * and that no container claims more elements than there are bytes left
 * (every element takes at least one byte). Returns the bytes it spans, or
 * -1. Iterative, with an explicit count of values still to read.
 */
static long mp_walk(const uint8_t *p, size_t len)
{
	size_t off = 0;
	uint64_t pending = 1;

	while (pending) {
		uint8_t b;
		uint64_t n = 0, skip = 0, items = 0;
		size_t w;

		if (off >= len)
			return -1;
		b = p[off++];
		pending--;
		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
			continue;
		if ((b & 0xf0) == 0x80) { items = (uint64_t)(b & 15) * 2; goto container; }
		if ((b & 0xf0) == 0x90) { items = b & 15; goto container; }
		if ((b & 0xe0) == 0xa0) { skip = b & 31; goto skipbytes; }
		switch (b) {
		case 0xcc: case 0xd0: skip = 1; goto skipbytes;
		case 0xcd: case 0xd1: skip = 2; goto skipbytes;
		case 0xce: case 0xd2: case 0xca: skip = 4; goto skipbytes;
		case 0xcf: case 0xd3: case 0xcb: skip = 8; goto skipbytes;
		case 0xd4: skip = 2; goto skipbytes;  /* fixext: type + data */
		case 0xd5: skip = 3; goto skipbytes;
		case 0xd6: skip = 5; goto skipbytes;
		case 0xd7: skip = 9; goto skipbytes;
		case 0xd8: skip = 17; goto skipbytes;
		case 0xc4: case 0xd9: w = 1; break;            /* bin8, str8 */
		case 0xc5: case 0xda: w = 2; break;
		case 0xc6: case 0xdb: w = 4; break;
		case 0xc7: w = 1; break;                       /* ext8 */
		case 0xc8: w = 2; break;
		case 0xc9: w = 4; break;
		case 0xdc: case 0xde: w = 2; break;            /* array16, map16 */
		case 0xdd: case 0xdf: w = 4; break;
		default: return -1;                            /* 0xc1: never used */
		}
		if (len - off < w)
			return -1;
		for (size_t i = 0; i < w; i++)
			n = n << 8 | p[off++];
		if (b >= 0xdc) {
			items = b >= 0xde ? n * 2 : n;
			goto container;
		}
		skip = n + (b >= 0xc7 && b <= 0xc9); /* ext: one type byte */
skipbytes:
		if (len - off < skip)
			return -1;
		off += (size_t)skip;
		continue;
container:
		if (items > len - off)
			return -1;
		pending += items;
	}
	return (long)off;
}

static int get_u64(const msgpack_object *o, uint64_t *v)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -1;
	*v = o->via.u64;
	return 0;
}

/* Our keys are 1-3 characters: compared in place, no strlen. */
static int key_is(const msgpack_object *k, const char *s)
{
	uint32_t i, n = k->via.str.size;

	if (k->type != MSGPACK_OBJECT_STR)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] != k->via.str.ptr[i] || !s[i])
			return 0;
	return s[n] == '\0';
}

/* --- compact counters entries ("e") --- */

/* LEB128: 7 bits a byte, low first; at most 10 bytes, nothing past bit
 * 63. Returns the bytes read, or 0 if it is cut short or too long. */
static size_t uvarint_get_long(const uint8_t *p, size_t len, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	for (i = 0; i < len && i < 10; i++) {
		x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			if (i == 9 && p[i] > 1)
				return 0; /* bits past 64 */
			*v = x;
			return i + 1;
		}
	}
	return 0;
}

static size_t uvarint_put_long(uint8_t *p, uint64_t v);

/* The same, for the common one and two bytes (slot steps, the counters of
 * young SAs) without a loop. */
static inline size_t uvarint_get(const uint8_t *p, size_t len, uint64_t *v)
{
	if (len >= 1 && p[0] < 0x80) {
		*v = p[0];
		return 1;
	}
	if (len >= 2 && p[1] < 0x80) {
		*v = (p[0] & 0x7fu) | (uint64_t)p[1] << 7;
		return 2;
	}
	return uvarint_get_long(p, len, v);
}

static inline size_t uvarint_put(uint8_t *p, uint64_t v)
{
	if (v < 0x80) {
		p[0] = (uint8_t)v;
		return 1;
	}
	if (v < 0x4000) {
		p[0] = (uint8_t)(v | 0x80);
		p[1] = (uint8_t)(v >> 7);
		return 2;
	}
	return uvarint_put_long(p, v);
}

static size_t uvarint_put_long(uint8_t *p, uint64_t v)
{
	size_t i = 0;

	while (v >= 0x80) {
		p[i++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[i++] = (uint8_t)v;
	return i;
}

/* One entry at p (len bytes left), its slot base + step (base: the
 * previous slot + 1, 0 for the first). Returns its length or 0. */
static size_t ctr_cmp_get(const uint8_t *p, size_t len, uint64_t base, struct sync_ctr_slotted *s)
{
	struct sync_ctr_entry *e = &s->e;
	uint64_t step, slot;
	size_t n, off;

	if (!(off = uvarint_get(p, len, &step)) || step > UINT32_MAX)
		return 0;
	slot = base + step;
	if (slot > UINT32_MAX || len - off < 4)
		return 0;
	s->slot = (uint32_t)slot;
	s->has_slot = 1;
	e->spi_in = (uint32_t)p[off] << 24 | (uint32_t)p[off + 1] << 16 |
		    (uint32_t)p[off + 2] << 8 | p[off + 3];
	off += 4;
	if (!(n = uvarint_get(p + off, len - off, &e->out_seq)))
		return 0;
	off += n;
	if (!(n = uvarint_get(p + off, len - off, &e->in_top)))
		return 0;
	return off + n;
}

/* Entries in a whole "e" bin, or -1 if it is not made of whole entries. */
static long ctr_cmp_count(const uint8_t *p, size_t len)
{
	struct sync_ctr_slotted e;
	uint64_t base = 0;
	size_t off = 0, n;
	long count = 0;

	while (off < len) {
		if (!(n = ctr_cmp_get(p + off, len - off, base, &e)))
			return -1;
		off += n;
		base = (uint64_t)e.slot + 1;
		count++;
	}
	return count;
}

size_t sync_ctr_put_compact(uint8_t *p, uint64_t base, uint32_t slot, const struct sync_ctr_entry *e)
{
	size_t off = uvarint_put(p, slot - base);

	p[off++] = (uint8_t)(e->spi_in >> 24);
	p[off++] = (uint8_t)(e->spi_in >> 16);
	p[off++] = (uint8_t)(e->spi_in >> 8);
	p[off++] = (uint8_t)e->spi_in;
	off += uvarint_put(p + off, e->out_seq);
	off += uvarint_put(p + off, e->in_top);
	return off;
}

static int set_field(const struct field *f, const msgpack_object *o, uint8_t *base)
{
	uint8_t *p = base + f->off;
	uint64_t v;

	switch (f->kind) {
	case F_U32:
	case F_U64:
	case F_OPT32:
		if (get_u64(o, &v) < 0 || v < f->min || v > f->max)
			return -1;
		if (f->kind == F_U64)
			*(uint64_t *)(void *)p = v;
		else
			*(uint32_t *)(void *)p = (uint32_t)v;
		if (f->kind == F_OPT32)
			*(uint32_t *)(void *)(p + sizeof(uint32_t)) = 1;
		return 0;
	case F_BIN:
		if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != f->len)
			return -1;
		memcpy(p, o->via.bin.ptr, f->len);
		return 0;
	case F_STR:
		if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= f->len ||
		    memchr(o->via.str.ptr, '\0', o->via.str.size))
			return -1;
		memcpy(p, o->via.str.ptr, o->via.str.size);
		p[o->via.str.size] = '\0';
		return 0;
	case F_CTR: {
		struct sync_counters *c = (void *)base;

		if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size % SYNC_CTR_ENTRY)
			return -1;
		c->n = o->via.bin.size / SYNC_CTR_ENTRY;
		c->raw = o->via.bin.size ? (const uint8_t *)o->via.bin.ptr : (const uint8_t *)"";
		return 0;
	}
	case F_SLOTS: {
		struct sync_counters *c = (void *)base;

		if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size % SYNC_CTR_SLOT)
			return -1;
		c->n_slots = o->via.bin.size / SYNC_CTR_SLOT;
		/* a bin of 0 bytes may point nowhere: present all the same */
		c->slots = o->via.bin.size ? (const uint8_t *)o->via.bin.ptr : (const uint8_t *)"";
		return 0;
	}
	case F_CMP: {
		struct sync_counters *c = (void *)base;
		long n;

		if (o->type != MSGPACK_OBJECT_BIN ||
		    (n = ctr_cmp_count((const uint8_t *)o->via.bin.ptr, o->via.bin.size)) < 0)
			return -1;
		c->n = (uint32_t)n;
		c->cmp = o->via.bin.size ? (const uint8_t *)o->via.bin.ptr : (const uint8_t *)"";
		c->cmp_len = o->via.bin.size;
		return 0;
	}
	}
	return -1;
}

/* The field a key names, or -1. Keys come in table order from our own
 * encoder: the one after the previous match is tried first, so a message
 * costs one comparison per key instead of one per key and field. */
static long field_find(uint32_t type, const msgpack_object *k, size_t next)
{
	const struct field *f = types[type].f;
	size_t j, n = types[type].n;

	if (k->type != MSGPACK_OBJECT_STR)
		return -1;
	if (next < n && key_is(k, f[next].key))
		return (long)next;
	for (j = 0; j < n; j++)
		if (key_is(k, f[j].key))
			return (long)j;
	return -1;
}

static int decode_fields(const msgpack_object_map *map, uint32_t type, struct sync_msg *m)
{
	const struct field *f = types[type].f;
	uint64_t seen = 0, need = 0;
	size_t i, j, next = 0;

	for (i = 0; i < map->size; i++) {
		const msgpack_object_kv *kv = &map->ptr[i];
		long k = field_find(type, &kv->key, next);

		if (k < 0)
			continue; /* "v", "t", or a key of a later version */
		j = (size_t)k;
		if (seen & (1ull << j) || set_field(&f[j], &kv->val, (uint8_t *)&m->u) < 0)
			return -EBADMSG; /* a duplicate key is as wrong as a bad value */
		seen |= 1ull << j;
		next = j + 1;
	}
	for (j = 0; j < types[type].n; j++)
		if (!field_optional(&f[j]))
			need |= 1ull << j;
	if ((seen & need) != need)
		return -EBADMSG;
	/* counters: entries in exactly one form; "x" goes entry by entry
	 * with "c", and never with "e" (which holds its own slots) */
	if (type == SYNC_COUNTERS) {
		const struct sync_counters *c = &m->u.ctr;

		if (!c->raw == !c->cmp || (c->slots && (!c->raw || c->n_slots != c->n)))
			return -EBADMSG;
	}
	return 0;
}

static int decode_obj(const msgpack_object *o, struct sync_msg *m)
{
	const msgpack_object_map *map;
	uint64_t v = 0, t = 0;
	int have_v = 0, have_t = 0;
	size_t i;

	if (o->type != MSGPACK_OBJECT_MAP)
		return -EBADMSG;
	map = &o->via.map;
	for (i = 0; i < map->size; i++) {
		const msgpack_object_kv *kv = &map->ptr[i];

		if (kv->key.type != MSGPACK_OBJECT_STR)
			return -EBADMSG;
		if (key_is(&kv->key, "v")) {
			if (have_v++ || get_u64(&kv->val, &v) < 0)
				return -EBADMSG;
		} else if (key_is(&kv->key, "t")) {
			if (have_t++ || get_u64(&kv->val, &t) < 0)
				return -EBADMSG;
		}
	}
	if (!have_v || !have_t || t > UINT32_MAX)
		return -EBADMSG;
	if (v != SYNC_PROTO_VERSION)
		return -EPROTONOSUPPORT;
	m->version = (uint32_t)v;
	m->type = (uint32_t)t;
	if (t == 0 || t > SYNC_TYPE_MAX || !types[t].f)
		return SYNC_UNKNOWN;
	return decode_fields(map, (uint32_t)t, m);
}

int sync_decode_first(const uint8_t *buf, size_t len, struct sync_msg *m, size_t *span)
{
	msgpack_unpacked u;
	size_t off = 0;
	long n;
	int rc;

	memset(m, 0, sizeof(*m));
	*span = 0;
	if ((n = mp_walk(buf, len < SYNC_MSG_MAX ? len : SYNC_MSG_MAX)) <= 0)
		return len > SYNC_MSG_MAX ? -EMSGSIZE : -EBADMSG;
	*span = (size_t)n;
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, (const char *)buf, *span, &off) != MSGPACK_UNPACK_SUCCESS ||
	    off != *span)
		rc = -EBADMSG;
	else
		rc = decode_obj(&u.data, m);
	msgpack_unpacked_destroy(&u);
	return rc;
}

int sync_decode(const uint8_t *buf, size_t len, struct sync_msg *m)
{
	size_t span;
	int rc;

	if (len > SYNC_MSG_MAX) {
		memset(m, 0, sizeof(*m));
		return -EMSGSIZE;
	}
	rc = sync_decode_first(buf, len, m, &span);
	/* exactly one value, nothing after it */
	if (span != len && rc != -EBADMSG) {
		memset(m, 0, sizeof(*m));
		return -EBADMSG;
	}
	return rc;
}

/* --- counters entries --- */

static void put_be(uint8_t *p, uint64_t v, int n)
{
	while (n--) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

void sync_ctr_put(uint8_t *raw, uint32_t i, const struct sync_ctr_entry *e)
{
	uint8_t *p = raw + (size_t)i * SYNC_CTR_ENTRY;

	put_be(p, e->spi_in, 4);
	put_be(p + 4, e->out_seq, 8);
	put_be(p + 12, e->in_top, 8);
}

void sync_ctr_get(const struct sync_counters *c, uint32_t i, struct sync_ctr_entry *e)
{
	const uint8_t *p = c->raw + (size_t)i * SYNC_CTR_ENTRY;

	e->spi_in = (uint32_t)get_be(p, 4);
	e->out_seq = get_be(p + 4, 8);
	e->in_top = get_be(p + 12, 8);
}

void sync_ctr_put_slot(uint8_t *slots, uint32_t i, uint32_t slot)
{
	put_be(slots + (size_t)i * SYNC_CTR_SLOT, slot, 4);
}

uint32_t sync_ctr_slot(const struct sync_counters *c, uint32_t i)
{
	return (uint32_t)get_be(c->slots + (size_t)i * SYNC_CTR_SLOT, 4);
}

void sync_ctr_iter_init(struct sync_ctr_iter *it, const struct sync_counters *c)
{
	memset(it, 0, sizeof(*it));
	it->c = c;
}

int sync_ctr_next(struct sync_ctr_iter *it, struct sync_ctr_slotted *s)
{
	const struct sync_counters *c = it->c;
	size_t n;

	if (it->i >= c->n)
		return -1;
	if (c->cmp) {
		if (!(n = ctr_cmp_get(c->cmp + it->off, c->cmp_len - it->off, it->slot, s)))
			return -1; /* not after sync_decode */
		it->off += (uint32_t)n;
		it->slot = (uint64_t)s->slot + 1;
	} else {
		sync_ctr_get(c, it->i, &s->e);
		s->has_slot = c->slots != NULL;
		s->slot = s->has_slot ? sync_ctr_slot(c, it->i) : 0;
	}
	it->i++;
	return 0;
}

/* --- records --- */

void sync_child_from_rec(struct sync_child *m, const struct child_sa_rec *r,
			 uint64_t out_seq, uint64_t in_top, uint64_t ike_i, uint64_t ike_r)
{
	memset(m, 0, sizeof(*m));
	memcpy(m->name, r->name, sizeof(m->name));
	m->name[sizeof(m->name) - 1] = '\0';
	m->spi_in = r->spi_in;
	m->spi_out = r->spi_out;
	m->alg = r->alg;
	m->state = r->state;
	/* flags about this member's copy (SA_F_LOCAL) stay here */
	m->flags = atomic_load_explicit(&((struct child_sa_rec *)r)->flags, memory_order_relaxed) &
		   ~(uint32_t)SA_F_LOCAL;
	m->replay_window = r->replay_window;
	m->key_in = r->key_in;
	m->key_out = r->key_out;
	m->ts_local_addr = r->ts_local.addr;
	m->ts_local_plen = r->ts_local.plen;
	m->ts_remote_addr = r->ts_remote.addr;
	m->ts_remote_plen = r->ts_remote.plen;
	m->peer_addr = r->peer_addr;
	m->peer_port = r->peer_port;
	m->created_ms = r->created_ms;
	m->life_soft_ms = r->life_soft_ms;
	m->life_hard_ms = r->life_hard_ms;
	m->life_soft_packets = r->life_soft_packets;
	m->life_hard_packets = r->life_hard_packets;
	m->activation = atomic_load_explicit(&((struct child_sa_rec *)r)->activation,
					     memory_order_relaxed);
	m->out_seq = out_seq;
	m->in_top = in_top;
	m->ike_spi_i = ike_i;
	m->ike_spi_r = ike_r;
}

void sync_ike_from_rec(struct sync_ike *m, const struct ike_sa_rec *r)
{
	memset(m, 0, sizeof(*m));
	memcpy(m->name, r->name, sizeof(m->name));
	m->name[sizeof(m->name) - 1] = '\0';
	m->spi_i = r->spi_i;
	m->spi_r = r->spi_r;
	m->enc_alg = r->enc_alg;
	m->prf_alg = r->prf_alg;
	m->flags = r->flags;
	m->state = r->state;
	m->peer_addr = r->peer_addr;
	m->peer_port = r->peer_port;
	m->local_addr = r->local_addr;
	memcpy(m->sk_d, r->sk_d, sizeof(m->sk_d));
	memcpy(m->sk_ei, r->sk_ei, sizeof(m->sk_ei));
	memcpy(m->sk_er, r->sk_er, sizeof(m->sk_er));
	memcpy(m->sk_pi, r->sk_pi, sizeof(m->sk_pi));
	memcpy(m->sk_pr, r->sk_pr, sizeof(m->sk_pr));
	m->sk_len = r->sk_len;
	m->msgid_out = atomic_load_explicit(&((struct ike_sa_rec *)r)->msgid_out, memory_order_relaxed);
	m->msgid_in = atomic_load_explicit(&((struct ike_sa_rec *)r)->msgid_in, memory_order_relaxed);
	m->created_ms = r->created_ms;
}
