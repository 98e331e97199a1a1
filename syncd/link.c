/*
 * The sync link: one TCP connection to the peer over the sync network.
 *
 * Who connects: the member with the lower [sync] local address connects
 * (with bounded exponential backoff and a connect timeout), the other one
 * listens and accepts only the configured peer address. Every connection
 * runs the PSK handshake (chan.h) first; nothing else is read or sent until
 * the peer proved the key. A newly authenticated connection replaces an
 * older one (the peer restarted; the old one is half dead).
 *
 * Timers (one periodic scan timer, every scan_ms):
 *   - pump the sender (tx.c), flush every interval_ms
 *   - heartbeat every heartbeat_ms
 *   - drop a session silent for timeout_ms (sync_link_timeout), a
 *     handshake or connect older than timeout_ms (sync_drop_handshake)
 *   - notice our own role or epoch change (vrrp writes them)
 *   - publish the status block
 * and the retry timer, armed after a failed or lost connection.
 *
 * Send queue: frames are sealed into 64 KB chunks handed to uv_write; the
 * bytes in flight are bounded by send_queue (the sender stops producing
 * above it and resumes from the write callback).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "syncd.h"

#define CTR(d, name) sa_ctr_add(&(d)->t, CTR_##name, 1)

struct sync_chunk {
	uv_write_t req;
	struct sync_chunk *next;      /* in the pool */
	struct sync_conn *c;
	size_t len;
	uint8_t data[SYNC_CHUNK];
};

static void conn_close(struct sync_conn *c, const char *why);
static void link_evaluate(struct syncd *d);
static void link_retry_arm(struct syncd *d);

static const char *ip_str(uint32_t a, char b[16])
{
	return conf_addr_str(a, b);
}

/* --- write path --- */

/* Chunks come from a pool: each interval's counters fill and write dozens
 * of them, and giving them back to malloc made the heap shrink and grow
 * again (page faults, zeroed pages, munmap on every interval). */
static struct sync_chunk *chunk_get(struct syncd *d)
{
	struct sync_chunk *k = d->chunk_pool;

	if (k) {
		d->chunk_pool = k->next;
		d->chunk_pooled--;
		return k;
	}
	return malloc(sizeof(*k));
}

static void chunk_put(struct syncd *d, struct sync_chunk *k)
{
	if (!k)
		return;
	/* as many as the send queue holds: a flush of every SA's counters
	 * fills it, and the next flush needs them all again */
	if (d->chunk_pooled > d->cfg.sync.send_queue / SYNC_CHUNK) {
		free(k);
		return;
	}
	k->next = d->chunk_pool;
	d->chunk_pool = k;
	d->chunk_pooled++;
}

static void chunk_pool_free(struct syncd *d)
{
	struct sync_chunk *k;

	while ((k = d->chunk_pool)) {
		d->chunk_pool = k->next;
		free(k);
	}
	d->chunk_pooled = 0;
}

static void on_write(uv_write_t *req, int status)
{
	struct sync_chunk *k = req->data;
	struct sync_conn *c = k->c;
	struct syncd *d = c->d;

	c->queued -= k->len;
	chunk_put(d, k);
	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c, uv_strerror(status));
		return;
	}
	/* room again: let a paused sender go on (only a paused one: a pump
	 * reads every SA's counters, far too much for every chunk written) */
	if (c == d->conn && sync_tx_stalled(&d->tx) && c->queued < d->cfg.sync.send_queue / 2) {
		int rc = sync_tx_pump(&d->tx, 0);

		if (rc < 0)
			conn_close(c, "send failed");
	}
}

/* Hands the current chunk to the kernel (uv_write). */
static int conn_write(struct sync_conn *c)
{
	struct sync_chunk *k = c->cur;
	uv_buf_t b;
	int rc;

	if (!k || !k->len || c->closing)
		return 0;
	c->cur = NULL;
	b = uv_buf_init((char *)k->data, (unsigned)k->len);
	k->req.data = k;
	if ((rc = uv_write(&k->req, (uv_stream_t *)&c->tcp, &b, 1, on_write)) < 0) {
		c->queued -= k->len;
		chunk_put(c->d, k);
		return rc;
	}
	return 0;
}

/* Room for n more bytes in the current chunk, writing a full one. */
static uint8_t *conn_reserve(struct sync_conn *c, size_t n)
{
	if (c->cur && SYNC_CHUNK - c->cur->len < n && conn_write(c) < 0)
		return NULL;
	if (!c->cur) {
		if (!(c->cur = chunk_get(c->d)))
			return NULL;
		c->cur->c = c;
		c->cur->len = 0;
	}
	return c->cur->data + c->cur->len;
}

static void conn_commit(struct sync_conn *c, size_t n)
{
	c->cur->len += n;
	c->queued += n;
}

static int conn_raw(struct sync_conn *c, const uint8_t *p, size_t n)
{
	uint8_t *w = conn_reserve(c, n);

	if (!w)
		return -ENOMEM;
	memcpy(w, p, n);
	conn_commit(c, n);
	return conn_write(c);
}

/* Seals msg (len bytes: one message, or a batch) into a frame. */
static int conn_frame(struct sync_conn *c, const uint8_t *msg, size_t len)
{
	uint8_t *w;
	int n;

	if (!(w = conn_reserve(c, len + SYNC_FRAME_HDR + SYNC_TAG_LEN)))
		return -ENOMEM;
	if ((n = sync_chan_seal(&c->ch, msg, len, w, SYNC_CHUNK - c->cur->len)) < 0)
		return n;
	conn_commit(c, (size_t)n);
	c->d->st.bytes_tx += (uint64_t)n;
	return 0;
}

/* The batched messages go out as one frame. */
static int conn_seal(struct sync_conn *c)
{
	size_t len = c->batch_len;

	c->batch_len = 0;
	return len ? conn_frame(c, c->batch, len) : 0;
}

/* Everything sent so far to the kernel: the batch sealed, the chunk written. */
static int conn_flush(struct sync_conn *c)
{
	int rc;

	if (c->closing)
		return 0;
	if ((rc = conn_seal(c)) < 0)
		return rc;
	return conn_write(c);
}

static int conn_send(struct sync_conn *c, const struct sync_msg *m)
{
	struct syncd *d = c->d;
	int len, rc;

	if (c->closing || !c->open)
		return -ENOTCONN;
	if (c->batching) {
		/* into the next frame; a full one is sealed first */
		len = sync_encode(m, c->batch + c->batch_len, SYNC_MSG_MAX - c->batch_len);
		if (len == -ENOSPC && c->batch_len) {
			if ((rc = conn_seal(c)) < 0)
				return rc;
			len = sync_encode(m, c->batch, SYNC_MSG_MAX);
		}
		if (len >= 0) {
			c->batch_len += (size_t)len;
			d->st.msgs_tx++;
			return 0;
		}
	} else if ((len = sync_encode(m, d->msgbuf, SYNC_MSG_MAX)) >= 0) {
		if ((rc = conn_frame(c, d->msgbuf, (size_t)len)) < 0)
			return rc;
		d->st.msgs_tx++;
		return 0;
	}
	log_warnx("sync: cannot encode %s: %s", sync_type_name(m->type), strerror(-len));
	return len;
}

static int tx_send_cb(void *arg, const struct sync_msg *m)
{
	struct syncd *d = arg;

	return d->conn ? conn_send(d->conn, m) : -ENOTCONN;
}

static int tx_room_cb(void *arg)
{
	struct syncd *d = arg;

	return d->conn && !d->conn->closing && d->conn->queued < d->cfg.sync.send_queue;
}

static void send_heartbeat(struct syncd *d)
{
	struct sync_msg m = { .version = SYNC_PROTO_VERSION, .type = SYNC_HEARTBEAT };

	if (!d->conn)
		return;
	m.u.hb.tick = d->tx.tick;
	m.u.hb.epoch = d->epoch;
	m.u.hb.role = d->role;
	m.u.hb.in_sync = atomic_load(&d->t.hdr->in_sync);
	conn_send(d->conn, &m);
	d->last_hb_ms = now_ms();
}

static void send_hello(struct syncd *d)
{
	struct sync_msg m = { .version = SYNC_PROTO_VERSION, .type = SYNC_HELLO };

	m.u.hello.member_id = d->t.hdr->member_id;
	m.u.hello.layout_version = SA_TABLE_LAYOUT_VERSION;
	m.u.hello.epoch = d->epoch;
	m.u.hello.role = d->role;
	m.u.hello.child_capacity = d->t.hdr->child_capacity;
	m.u.hello.caps = SYNC_CAPS;
	m.u.hello.has_caps = 1;
	conn_send(d->conn, &m);
}

/* --- connection lifetime --- */

static void on_close(uv_handle_t *h)
{
	struct sync_conn *c = h->data;

	sync_chan_wipe(&c->ch);
	chunk_put(c->d, c->cur);
	free(c->batch);
	free(c->rbuf);
	free(c);
}

static void hs_remove(struct syncd *d, struct sync_conn *c)
{
	for (int i = 0; i < SYNC_MAX_HANDSHAKES; i++)
		if (d->hs[i] == c)
			d->hs[i] = NULL;
}

static void set_in_sync(struct syncd *d, int v)
{
	if ((int)atomic_load(&d->t.hdr->in_sync) != v)
		log_info("sync: %s", v ? "in sync" : "not in sync");
	atomic_store(&d->t.hdr->in_sync, (uint32_t)v);
	d->st.in_sync = (uint8_t)v;
}

static void conn_close(struct sync_conn *c, const char *why)
{
	struct syncd *d = c->d;
	char a[16];

	if (c->closing)
		return;
	c->closing = 1;
	hs_remove(d, c);
	if (d->connecting == c)
		d->connecting = NULL;
	if (d->conn == c) {
		log_info("sync: link to %s closed: %s", ip_str(c->peer_ip, a), why);
		d->conn = NULL;
		sync_tx_stop(&d->tx);
		d->rx.in_bulk = 0;
		d->rx_synced = 0;
		d->st.disconnects++;
		d->st.peer_hello = 0;
		set_in_sync(d, 0);
	} else {
		log_debug("sync: connection %s closed: %s", ip_str(c->peer_ip, a), why);
	}
	if (c->cur) {
		c->queued -= c->cur->len;
		chunk_put(d, c->cur);
		c->cur = NULL;
	}
	uv_close((uv_handle_t *)&c->tcp, on_close);
	if (d->initiator && !d->stopping && !d->conn && !d->connecting)
		link_retry_arm(d);
	sync_link_publish(d);
}

static struct sync_conn *conn_new(struct syncd *d, int initiator)
{
	struct sync_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (!(c->rbuf = malloc(SYNC_FRAME_HDR + SYNC_FRAME_MAX))) {
		free(c);
		return NULL;
	}
	c->d = d;
	c->initiator = initiator;
	c->started_ms = now_ms();
	uv_tcp_init(d->loop, &c->tcp);
	c->tcp.data = c;
	return c;
}

/* --- handling what the peer sends --- */

static int may_apply(struct syncd *d, struct sync_conn *c)
{
	if (!c->peer_hello || c->peer_role != SA_ROLE_ACTIVE ||
	    atomic_load(&d->t.hdr->role) == SA_ROLE_ACTIVE) {
		CTR(d, sync_drop_not_active);
		log_warnx_rl("sync: state from a peer that is not the active member: dropped");
		return 0;
	}
	if (atomic_load(&d->t.hdr->sync_frozen)) {
		CTR(d, sync_drop_frozen);
		return 0;
	}
	return 1;
}

static void on_hello(struct syncd *d, struct sync_conn *c, const struct sync_hello *h)
{
	char a[16];

	if (h->member_id == d->t.hdr->member_id) {
		/* two members with one id would share ESP IVs (esp.h) */
		log_warnx("sync: peer %s has our member id %u; refused", ip_str(c->peer_ip, a),
			  h->member_id);
		CTR(d, sync_drop_version);
		conn_close(c, "same member id");
		return;
	}
	if (h->layout_version != SA_TABLE_LAYOUT_VERSION)
		log_warnx("sync: peer table layout %u, ours %u (the protocol carries fields, "
			  "not records: going on)", h->layout_version, SA_TABLE_LAYOUT_VERSION);
	c->peer_hello = 1;
	c->peer_caps = h->has_caps ? h->caps : 0;
	if ((c->peer_caps & SYNC_CAP_BATCH) && !c->batch)
		c->batch = malloc(SYNC_MSG_MAX); /* else one message a frame */
	c->batching = c->batch != NULL;
	c->peer_member = h->member_id;
	c->peer_role = h->role;
	c->peer_epoch = h->epoch;
	log_info("sync: peer member %u (%s, epoch %llu) at %s", h->member_id, sa_role_name((int)h->role),
		 (unsigned long long)h->epoch, ip_str(c->peer_ip, a));
	link_evaluate(d);
}

static void on_bulk(struct syncd *d, struct sync_conn *c, const struct sync_msg *m)
{
	uint32_t swept;
	double ms;

	if (!may_apply(d, c))
		return;
	if (m->type == SYNC_BULK_BEGIN) {
		log_info("sync: bulk snapshot %llu from member %u: %u Child SAs, %u IKE SAs",
			 (unsigned long long)m->u.bulk.id, c->peer_member, m->u.bulk.n_child,
			 m->u.bulk.n_ike);
		d->rx_synced = 0;
		set_in_sync(d, 0);
		sync_rx_bulk_begin(&d->rx, m->u.bulk.id);
		d->bulk_rx_start_ns = now_ns();
		d->bulk_rx_adds = d->rx.applied_add;
		return;
	}
	if (!d->rx.in_bulk || m->u.bulk.id != d->rx.bulk_id) {
		CTR(d, sync_drop_malformed);
		return;
	}
	swept = sync_rx_bulk_end(&d->rx, m->u.bulk.id);
	ms = (double)(now_ns() - d->bulk_rx_start_ns) / 1e6;
	d->st.bulks_rx++;
	d->st.bulk_last_n = d->rx.applied_add - d->bulk_rx_adds;
	d->st.bulk_last_us = (now_ns() - d->bulk_rx_start_ns) / 1000;
	log_info("sync: bulk snapshot %llu applied: %llu SAs in %.1f ms, %u stale removed",
		 (unsigned long long)m->u.bulk.id, (unsigned long long)d->st.bulk_last_n, ms, swept);
	d->rx_synced = 1;
	set_in_sync(d, 1);
	send_heartbeat(d); /* tells the active at once */
}

/* One decoded message (rc: sync_decode's result). */
static void on_message(struct syncd *d, struct sync_conn *c, const struct sync_msg *m, int rc)
{
	if (rc == -EPROTONOSUPPORT) {
		CTR(d, sync_drop_version);
		conn_close(c, "protocol version mismatch");
		return;
	}
	if (rc < 0) {
		CTR(d, sync_drop_malformed);
		conn_close(c, "malformed message");
		return;
	}
	if (rc == SYNC_UNKNOWN) {
		CTR(d, sync_drop_unknown_type);
		log_debug("sync: message type %u skipped", m->type);
		return;
	}
	switch (m->type) {
	case SYNC_HELLO:
		on_hello(d, c, &m->u.hello);
		return;
	case SYNC_HEARTBEAT:
		c->peer_role = m->u.hb.role;
		c->peer_epoch = m->u.hb.epoch;
		c->peer_in_sync = m->u.hb.in_sync;
		link_evaluate(d);
		return;
	case SYNC_BULK_BEGIN:
	case SYNC_BULK_END:
		on_bulk(d, c, m);
		return;
	default:
		break;
	}
	if (!may_apply(d, c))
		return;
	sync_rx_apply(&d->rx, m);
	d->st.last_update_ms = now_ms();
}

/* --- handshake --- */

static void conn_opened(struct syncd *d, struct sync_conn *c)
{
	char a[16];

	hs_remove(d, c);
	if (d->connecting == c)
		d->connecting = NULL;
	if (d->conn)
		conn_close(d->conn, "replaced by a new connection");
	c->open = 1;
	c->last_rx_ms = now_ms();
	d->conn = c;
	d->backoff_ms = d->cfg.sync.backoff_min_ms;
	d->st.connects++;
	d->st.open_ms = now_ms();
	d->rx_synced = 0;
	log_info("sync: link to %s authenticated (%s)", ip_str(c->peer_ip, a),
		 c->initiator ? "we connected" : "peer connected");
	d->role = atomic_load(&d->t.hdr->role);
	d->epoch = atomic_load(&d->t.hdr->epoch);
	send_hello(d);
	conn_flush(c);
}

static int conn_handshake(struct syncd *d, struct sync_conn *c, const uint8_t *p)
{
	uint8_t out[SYNC_HS2_LEN];
	char a[16];

	if (c->ch.state == CHAN_WAIT_HS1) {
		if (sync_chan_on_hs1(&c->ch, p, out) < 0) {
			CTR(d, sync_drop_handshake);
			conn_close(c, "not a sync handshake");
			return -1;
		}
		if (conn_raw(c, out, sizeof(out)) < 0) {
			conn_close(c, "write failed");
			return -1;
		}
		return 0;
	}
	if (sync_chan_on_hs2(&c->ch, p) < 0) {
		CTR(d, sync_refused_auth);
		log_warnx("sync: %s could not prove the pre-shared key: refused", ip_str(c->peer_ip, a));
		conn_close(c, "wrong key");
		return -1;
	}
	conn_opened(d, c);
	return 0;
}

/* The messages of one opened frame: one, or several back to back (we
 * announce SYNC_CAP_BATCH), each decoded and applied in order as if it had
 * come alone: a malformed one closes the link, changing nothing itself. */
static void conn_messages(struct syncd *d, struct sync_conn *c, const uint8_t *p, size_t n)
{
	static struct sync_msg m; /* a Child SA add is large: not on the stack */
	size_t off = 0, span;
	int rc;

	do {
		rc = sync_decode_first(p + off, n - off, &m, &span);
		if (!span)
			rc = -EBADMSG; /* not a whole value: the rest cannot be split */
		d->st.msgs_rx++;
		on_message(d, c, &m, rc);
		off += span;
	} while (span && off < n && !c->closing);
	sodium_memzero(&m, sizeof(m)); /* keys */
}

/* Consumes complete handshake messages and frames from the read buffer. */
static void conn_process(struct syncd *d, struct sync_conn *c)
{
	size_t off = 0;

	while (!c->closing) {
		size_t avail = c->rlen - off, want = sync_chan_want(&c->ch);
		long flen;
		int n;

		if (want) {
			if (avail < want)
				break;
			if (conn_handshake(d, c, c->rbuf + off) < 0)
				return;
			off += want;
			continue;
		}
		if (avail < SYNC_FRAME_HDR)
			break;
		if ((flen = sync_chan_frame_len(c->rbuf + off)) < 0) {
			if (flen == -EMSGSIZE)
				CTR(d, sync_drop_oversize);
			else
				CTR(d, sync_drop_malformed);
			conn_close(c, "bad frame length");
			return;
		}
		if (avail < (size_t)flen)
			break;
		if ((n = sync_chan_open(&c->ch, c->rbuf + off, (size_t)flen, d->rxbuf)) < 0) {
			CTR(d, sync_drop_auth);
			conn_close(c, "frame failed authentication");
			return;
		}
		off += (size_t)flen;
		d->st.bytes_rx += (uint64_t)flen;
		d->st.last_rx_ms = c->last_rx_ms = now_ms();
		conn_messages(d, c, d->rxbuf, (size_t)n);
	}
	if (c->closing)
		return;
	if (off) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	if (d->conn == c)
		conn_flush(c);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct sync_conn *c = h->data;
	size_t cap = SYNC_FRAME_HDR + SYNC_FRAME_MAX;

	*b = uv_buf_init((char *)c->rbuf + c->rlen, (unsigned)(cap - c->rlen));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct sync_conn *c = s->data;

	if (c->closing)
		return;
	if (n < 0) {
		if (!c->open)
			CTR(c->d, sync_drop_handshake);
		conn_close(c, n == UV_EOF ? "closed by peer" : uv_strerror((int)n));
		return;
	}
	c->rlen += (size_t)n;
	conn_process(c->d, c);
}

static int conn_begin(struct syncd *d, struct sync_conn *c)
{
	uint8_t nonce[SYNC_NONCE_LEN], hs1[SYNC_HS1_LEN];
	int rc;

	randombytes_buf(nonce, sizeof(nonce));
	sync_chan_init(&c->ch, d->cfg.sync.psk, c->initiator, nonce, hs1);
	uv_tcp_nodelay(&c->tcp, 1);
	if ((rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read)) < 0 ||
	    (rc = conn_raw(c, hs1, sizeof(hs1))) < 0)
		return rc;
	c->started_ms = now_ms();
	return 0;
}

/* --- connecting (the lower address) --- */

static void on_connect(uv_connect_t *req, int status)
{
	struct sync_conn *c = req->data;
	struct syncd *d = c->d;

	if (c->closing)
		return;
	if (status < 0 || conn_begin(d, c) < 0) {
		log_debug("sync: connect: %s", uv_strerror(status));
		conn_close(c, status < 0 ? uv_strerror(status) : "cannot start");
		return;
	}
	c->tcp_up = 1;
}

static void link_connect(struct syncd *d)
{
	struct sockaddr_in local = { .sin_family = AF_INET }, peer = { .sin_family = AF_INET };
	struct sync_conn *c;
	int rc;

	if (d->conn || d->connecting || d->stopping)
		return;
	if (!(c = conn_new(d, 1)))
		return;
	local.sin_addr.s_addr = htonl(d->cfg.sync.local_addr);
	peer.sin_addr.s_addr = htonl(d->cfg.sync.peer_addr);
	peer.sin_port = htons(d->cfg.sync.port);
	c->peer_ip = d->cfg.sync.peer_addr;
	c->creq.data = c;
	d->connecting = c;
	if ((rc = uv_tcp_bind(&c->tcp, (struct sockaddr *)&local, 0)) < 0 ||
	    (rc = uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&peer, on_connect)) < 0) {
		log_warnx_rl("sync: connect: %s", uv_strerror(rc));
		conn_close(c, uv_strerror(rc));
	}
}

static void on_retry(uv_timer_t *t)
{
	struct syncd *d = t->data;

	d->retry_armed = 0;
	link_connect(d);
}

/* Bounded exponential backoff with jitter, so two restarts do not
 * hammer the peer in step. */
static void link_retry_arm(struct syncd *d)
{
	uint32_t wait = d->backoff_ms;

	if (d->retry_armed)
		return;
	wait += randombytes_uniform(wait / 4 + 1);
	d->backoff_ms = d->backoff_ms * 2 > d->cfg.sync.backoff_max_ms ? d->cfg.sync.backoff_max_ms
									: d->backoff_ms * 2;
	d->retry_armed = 1;
	uv_timer_start(&d->retry_timer, on_retry, wait, 0);
}

/* --- listening (the higher address) --- */

static void on_connection(uv_stream_t *server, int status)
{
	struct syncd *d = server->data;
	struct sockaddr_in sin;
	int len = sizeof(sin), slot = -1, i;
	struct sync_conn *c;
	char a[16];

	if (status < 0 || !(c = conn_new(d, 0)))
		return;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 ||
	    uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sin, &len) < 0) {
		conn_close(c, "accept failed");
		return;
	}
	c->peer_ip = ntohl(sin.sin_addr.s_addr);
	if (c->peer_ip != d->cfg.sync.peer_addr) {
		CTR(d, sync_refused_addr);
		log_warnx_rl("sync: connection from %s, not the peer: refused", ip_str(c->peer_ip, a));
		conn_close(c, "not the peer");
		return;
	}
	for (i = 0; i < SYNC_MAX_HANDSHAKES; i++)
		if (!d->hs[i])
			slot = i;
	if (slot < 0) {
		CTR(d, sync_refused_busy);
		conn_close(c, "too many handshakes");
		return;
	}
	d->hs[slot] = c;
	if (conn_begin(d, c) < 0)
		conn_close(c, "cannot start");
}

static int link_listen(struct syncd *d)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int rc;

	uv_tcp_init(d->loop, &d->listener);
	d->listener.data = d;
	sin.sin_addr.s_addr = htonl(d->cfg.sync.local_addr);
	sin.sin_port = htons(d->cfg.sync.port);
	if ((rc = uv_tcp_bind(&d->listener, (struct sockaddr *)&sin, 0)) < 0 ||
	    (rc = uv_listen((uv_stream_t *)&d->listener, 8, on_connection)) < 0) {
		uv_close((uv_handle_t *)&d->listener, NULL);
		return rc;
	}
	d->listening = 1;
	return 0;
}

/* --- roles: who sends, who applies, who is in sync --- */

/* Uses the role we last announced (d->role), never a newer one read from
 * shm: the peer must hear of a promotion before our first state arrives,
 * or it drops that state as coming from a member that is not active. */
static void link_evaluate(struct syncd *d)
{
	struct sync_conn *c = d->conn;
	uint32_t role = d->role;
	int want_tx = c && c->peer_hello && role == SA_ROLE_ACTIVE && c->peer_role == SA_ROLE_STANDBY;

	/* The peer still says it is not in sync long after our snapshot
	 * ended (it dropped it, e.g. while it saw us as standby): again. */
	if (want_tx && sync_tx_bulk_done(&d->tx) && !c->peer_in_sync &&
	    now_ms() - d->tx.bulk_done_ms > d->cfg.sync.timeout_ms) {
		log_info("sync: member %u is still not in sync: snapshot again", c->peer_member);
		sync_tx_stop(&d->tx);
	}
	if (want_tx && !d->tx.running) {
		uint64_t id = ++d->bulk_seq | (uint64_t)randombytes_random() << 32;

		log_info("sync: sending a bulk snapshot to member %u", c->peer_member);
		d->st.bulks_tx++;
		d->tx.peer_caps = c->peer_caps;
		if (sync_tx_start(&d->tx, id) < 0 || sync_tx_pump(&d->tx, 0) < 0) {
			conn_close(c, "send failed");
			return;
		}
	} else if (!want_tx && d->tx.running) {
		sync_tx_stop(&d->tx);
	}
	if (!c)
		set_in_sync(d, 0);
	else if (role == SA_ROLE_ACTIVE)
		set_in_sync(d, sync_tx_bulk_done(&d->tx) && c->peer_in_sync);
	else
		set_in_sync(d, d->rx_synced);
}

static void check_role(struct syncd *d)
{
	uint32_t role = atomic_load(&d->t.hdr->role);
	uint64_t epoch = atomic_load(&d->t.hdr->epoch);

	if (role == d->role && epoch == d->epoch)
		return;
	log_info("sync: our role %s -> %s, epoch %llu", sa_role_name((int)d->role),
		 sa_role_name((int)role), (unsigned long long)epoch);
	if (role != d->role)
		d->rx_synced = 0; /* a new active: wait for its snapshot */
	d->role = role;
	d->epoch = epoch;
	send_heartbeat(d);
	link_evaluate(d);
}

static void check_timeouts(struct syncd *d, uint64_t now)
{
	uint32_t lim = d->cfg.sync.timeout_ms;
	int i;

	if (d->conn && now - d->conn->last_rx_ms > lim) {
		CTR(d, sync_link_timeout);
		conn_close(d->conn, "peer silent");
	}
	for (i = 0; i < SYNC_MAX_HANDSHAKES; i++)
		if (d->hs[i] && now - d->hs[i]->started_ms > lim) {
			CTR(d, sync_drop_handshake);
			conn_close(d->hs[i], "handshake timeout");
		}
	if (d->connecting && now - d->connecting->started_ms > lim) {
		if (d->connecting->tcp_up)
			CTR(d, sync_drop_handshake);
		conn_close(d->connecting, "connect timeout");
	}
}

static void on_scan(uv_timer_t *t)
{
	struct syncd *d = t->data;
	uint64_t now = now_ms();
	int flush = 0;

	check_role(d);
	check_timeouts(d, now);
	if (d->conn) {
		/* half a scan of tolerance: a timer a little early must not push
		 * the flush to the next scan, a whole scan late */
		if ((int64_t)(now - d->last_flush_ms) + d->cfg.sync.scan_ms / 2 >=
		    (int64_t)d->cfg.sync.interval_ms) {
			flush = 1;
			d->last_flush_ms += d->cfg.sync.interval_ms;
			/* an early flush leaves the schedule ahead of now (signed);
			 * only one a whole interval behind starts it anew */
			if ((int64_t)(now - d->last_flush_ms) >= (int64_t)d->cfg.sync.interval_ms)
				d->last_flush_ms = now;
		}
		if (sync_tx_pump(&d->tx, flush) < 0) {
			conn_close(d->conn, "send failed");
		} else {
			if (now - d->last_hb_ms >= d->cfg.sync.heartbeat_ms)
				send_heartbeat(d);
			if (d->conn)
				conn_flush(d->conn);
		}
	}
	if (d->conn)
		link_evaluate(d);
	sync_link_publish(d);
}

void sync_link_publish(struct syncd *d)
{
	struct sync_status *s = &d->st;
	struct sync_conn *c = d->conn;

	s->pid = d->stopping ? 0 : (uint32_t)getpid();
	s->send_queue_bytes = c ? c->queued : 0;
	if (c) {
		s->link = SYNC_LINK_OPEN;
		s->peer_hello = (uint32_t)c->peer_hello;
		s->peer_member = c->peer_member;
		s->peer_role = c->peer_role;
		s->peer_epoch = c->peer_epoch;
	} else if (d->connecting) {
		s->link = d->connecting->tcp_up ? SYNC_LINK_HANDSHAKE : SYNC_LINK_CONNECTING;
	} else if (d->hs[0] || d->hs[1] || d->hs[2] || d->hs[3]) {
		s->link = SYNC_LINK_HANDSHAKE;
	} else if (d->retry_armed) {
		s->link = SYNC_LINK_BACKOFF;
	} else {
		s->link = d->listening ? SYNC_LINK_LISTENING : SYNC_LINK_DOWN;
	}
	if (d->stopping)
		s->link = SYNC_LINK_DOWN;
	s->in_sync = (uint8_t)atomic_load(&d->t.hdr->in_sync);
	s->applied_add = d->rx.applied_add;
	s->applied_del = d->rx.applied_del;
	s->applied_ctr = d->rx.applied_ctr;
	s->applied_ike = d->rx.applied_ike;
	s->add_lag_ms_last = d->rx.add_lag_ms_last;
	s->ctr_lag_ms_last = d->rx.ctr_lag_ms_last;
	s->ctr_lag_ms_max = d->rx.ctr_lag_ms_max;
	s->send_queue_max = d->cfg.sync.send_queue;
	sync_status_publish(&d->t, s);
	atomic_store(&d->t.hdr->syncd_pid, s->pid);
}

int sync_link_start(struct syncd *d)
{
	const struct conf_sync *sc = &d->cfg.sync;
	int rc;

	if (!(d->msgbuf = malloc(SYNC_MSG_MAX)) || !(d->rxbuf = malloc(SYNC_MSG_MAX)))
		return -ENOMEM;
	if ((rc = sync_tx_init(&d->tx, &d->t, sc, tx_send_cb, tx_room_cb, d)) < 0 ||
	    (rc = sync_rx_init(&d->rx, &d->t, sc)) < 0)
		return rc;
	memset(&d->st, 0, sizeof(d->st));
	d->st.local_addr = sc->local_addr;
	d->st.peer_addr = sc->peer_addr;
	d->st.port = sc->port;
	d->st.interval_ms = sc->interval_ms;
	d->st.packet_threshold = sc->packet_threshold;
	d->st.m_window = sc->m_window;
	d->initiator = sc->local_addr < sc->peer_addr;
	d->st.initiator = (uint8_t)d->initiator;
	d->backoff_ms = sc->backoff_min_ms;
	d->role = atomic_load(&d->t.hdr->role);
	d->epoch = atomic_load(&d->t.hdr->epoch);
	set_in_sync(d, 0);
	uv_timer_init(d->loop, &d->scan_timer);
	uv_timer_init(d->loop, &d->retry_timer);
	d->scan_timer.data = d->retry_timer.data = d;
	d->last_flush_ms = now_ms();
	if (d->initiator)
		link_connect(d);
	else if ((rc = link_listen(d)) < 0)
		return rc;
	uv_timer_start(&d->scan_timer, on_scan, sc->scan_ms, sc->scan_ms);
	sync_link_publish(d);
	return 0;
}

void sync_link_stop(struct syncd *d)
{
	int i;

	d->stopping = 1;
	uv_timer_stop(&d->scan_timer);
	uv_timer_stop(&d->retry_timer);
	if (d->conn)
		conn_close(d->conn, "syncd stopping");
	if (d->connecting)
		conn_close(d->connecting, "syncd stopping");
	for (i = 0; i < SYNC_MAX_HANDSHAKES; i++)
		if (d->hs[i])
			conn_close(d->hs[i], "syncd stopping");
	if (d->listening)
		uv_close((uv_handle_t *)&d->listener, NULL);
	uv_close((uv_handle_t *)&d->scan_timer, NULL);
	uv_close((uv_handle_t *)&d->retry_timer, NULL);
	set_in_sync(d, 0);
	sync_link_publish(d);
}

void sync_link_free(struct syncd *d)
{
	chunk_pool_free(d);
}
