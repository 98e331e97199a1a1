/*
 * The ESP data plane: TUN -> ESP-in-UDP (RFC 3948) and back.
 *
 * Outbound: read the TUN until EAGAIN or `batch` packets, find each one's
 * SA by its selectors, take the next sequence number, encrypt in place,
 * queue; then sendmmsg() the queue. The queue is bounded: when it is full a
 * packet is dropped and counted, and while the socket says EAGAIN we wait
 * for it to become writable.
 *
 * Inbound: recvmmsg() a batch; each datagram is a NAT-T keepalive (one
 * byte 0xff), IKE (the four-byte non-ESP marker) or ESP. ESP goes through
 * a flat sequence of checks, each with its own counter: length, SPI,
 * sequence number against the window (before decryption), ICV, trailer,
 * window update (after the ICV), inner IPv4 header, selectors; then the TUN.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gwd.h"
#include "log.h"
#include "replay.h"

#define CTR(g, name, n) sa_ctr_add(&(g)->table, CTR_##name, (n))

static inline void sa_ctr(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* RFC 4303 3.4.4.1 / RFC 4301 5.2: the decrypted packet must be a sane
 * IPv4 packet whose addresses the SA's selectors allow. Returns 0 (ok),
 * -1 (malformed) or -2 (selector). */
int dp_inner_ok(const struct gwd_sa *sa, const uint8_t *ip, size_t len, size_t *ip_len)
{
	size_t ihl, tot;

	if (len < 20 || ip[0] >> 4 != 4)
		return -1;
	ihl = (size_t)(ip[0] & 15) * 4;
	tot = (size_t)ip[2] << 8 | ip[3];
	if (ihl < 20 || ihl > len || tot < ihl || tot > len)
		return -1;
	if (ip_checksum(ip, ihl) != 0)
		return -1;
	if (!ts_contains(&sa->ts_remote, get32(ip + 12)) || !ts_contains(&sa->ts_local, get32(ip + 16)))
		return -2;
	*ip_len = tot; /* anything after tot is TFC padding (RFC 4303 2.7) */
	return 0;
}

static void dp_input_esp(struct gwd *g, struct pkt *k)
{
	uint8_t *p = k->data + k->off;
	struct gwd_sa *sa;
	struct child_sa_rec *rec;
	uint32_t spi, lo;
	uint64_t seq;
	size_t inner_len, ip_len;
	int rc, v;

	if (k->len > PKT_BUF_SIZE - 64) {
		CTR(g, drop_oversize, 1);
		return;
	}
	if (esp_peek(p, k->len, &spi, &lo) < 0) {
		CTR(g, drop_truncated, 1);
		return;
	}
	if (!(sa = gwd_sadb_by_spi(g, spi))) {
		CTR(g, drop_no_sa, 1);
		log_warnx_rl("esp: unknown spi 0x%08x", spi);
		return;
	}
	rec = sa->rec;
	seq = replay_infer(rec->replay.top, sa->window, lo, sa->esn);
	if (g->cfg.gw.anti_replay) {
		v = replay_check(&rec->replay, sa->window, seq);
		if (v == REPLAY_ZERO) {
			CTR(g, drop_zero_seq, 1);
			sa_ctr(&rec->ctr.drop_replay, 1);
			return;
		}
		if (v != REPLAY_OK) {
			CTR(g, drop_replay, 1);
			sa_ctr(&rec->ctr.drop_replay, 1);
			return;
		}
	}
	rc = esp_decap(&sa->key_in, seq, sa->esn, p, k->len, &inner_len);
	if (rc == ESP_EAUTH) {
		CTR(g, drop_auth, 1);
		sa_ctr(&rec->ctr.drop_auth, 1);
		log_warnx_rl("esp: spi 0x%08x seq %llu: ICV failed", spi, (unsigned long long)seq);
		return;
	}
	if (rc < 0) {
		CTR(g, drop_malformed, 1);
		sa_ctr(&rec->ctr.drop_malformed, 1);
		return;
	}
	/* RFC 4303 3.4.3: the window moves only for authenticated packets. */
	replay_update(&rec->replay, sa->window, seq);

	rc = dp_inner_ok(sa, p + ESP_PAYLOAD_OFF, inner_len, &ip_len);
	if (rc == -1) {
		CTR(g, drop_malformed, 1);
		sa_ctr(&rec->ctr.drop_malformed, 1);
		return;
	}
	if (rc == -2) {
		CTR(g, drop_selector, 1);
		sa_ctr(&rec->ctr.drop_selector, 1);
		return;
	}
	if (write(g->tun_fd, p + ESP_PAYLOAD_OFF, ip_len) < 0) {
		CTR(g, drop_tun_write, 1);
		return;
	}
	CTR(g, rx_packets, 1);
	CTR(g, rx_bytes, ip_len);
	sa_ctr(&rec->ctr.rx_packets, 1);
	sa_ctr(&rec->ctr.rx_bytes, ip_len);
}

void dp_input(struct gwd *g, struct pkt *k)
{
	const uint8_t *p = k->data + k->off;

	/* RFC 3948 2.3: a single 0xff byte is a NAT-keepalive. */
	if (k->len == 1 && p[0] == 0xff) {
		CTR(g, natt_keepalives, 1);
		return;
	}
	/* RFC 3948 2.2: four zero bytes where the SPI would be mark IKE. */
	if (k->len >= 4 && get32(p) == 0) {
		CTR(g, ike_packets, 1);
		gwd_ike_input_natt(g, k, p + 4, k->len - 4);
		return;
	}
	dp_input_esp(g, k);
}

static void sa_block(struct gwd *g, struct gwd_sa *sa, uint64_t seq)
{
	atomic_fetch_or(&sa->rec->flags, SA_F_BLOCKED);
	CTR(g, sn_blocked, 1);
	log_warnx("sa %s (spi 0x%08x): sequence number %llu would pass the ceiling; blocked%s",
		  sa->rec->name, sa->spi_out, (unsigned long long)seq,
		  (sa->flags & SA_F_MANUAL) ? " (manually keyed: it cannot be rekeyed)" : " until rekeyed");
}

int dp_output(struct gwd *g, struct pkt *k)
{
	uint8_t *ip = k->data + ESP_PAYLOAD_OFF;
	struct child_sa_rec *rec;
	struct gwd_sa *sa;
	uint32_t flags, act;
	uint64_t seq;
	int n;

	if (k->len < 20 || ip[0] >> 4 != 4) {
		CTR(g, drop_not_ipv4, 1);
		return 0;
	}
	if (!(sa = gwd_sadb_out(g, get32(ip + 12), get32(ip + 16)))) {
		CTR(g, drop_no_sa, 1);
		return 0;
	}
	rec = sa->rec;
	if (atomic_load_explicit(&g->table.hdr->role, memory_order_relaxed) != SA_ROLE_ACTIVE) {
		CTR(g, drop_not_active, 1);
		return 0;
	}
	flags = atomic_load_explicit(&rec->flags, memory_order_relaxed);
	if (flags & SA_F_BLOCKED) {
		CTR(g, drop_blocked, 1);
		sa_ctr(&rec->ctr.drop_blocked, 1);
		return 0;
	}
	/* gwd is the only writer of out_seq while ACTIVE: no RMW needed. */
	seq = atomic_load_explicit(&rec->out_seq, memory_order_relaxed) + 1;
	act = atomic_load_explicit(&rec->activation, memory_order_relaxed);
	if (seq > sa->ceiling || esp_iv_exhausted(act, seq)) {
		sa_block(g, sa, seq);
		CTR(g, drop_blocked, 1);
		sa_ctr(&rec->ctr.drop_blocked, 1);
		return 0;
	}
	if (seq >= sa->threshold && !(flags & SA_F_THRESHOLD)) {
		atomic_fetch_or(&rec->flags, SA_F_THRESHOLD | SA_F_REKEY_NEEDED);
		CTR(g, sn_threshold_crossings, 1);
		log_info("sa %s (spi 0x%08x): sequence number %llu reached the rekey threshold (%u%%)",
			 rec->name, sa->spi_out, (unsigned long long)seq, g->cfg.gw.rekey_threshold);
	}
	n = esp_encap(&sa->key_out, sa->spi_out, seq, sa->esn,
		      esp_iv_make(g->member_id, act, seq), k->data, k->len, PKT_BUF_SIZE);
	if (n < 0) {
		CTR(g, drop_oversize, 1);
		return 0;
	}
	atomic_store_explicit(&rec->out_seq, seq, memory_order_relaxed);
	sa_ctr(&rec->ctr.tx_packets, 1);
	sa_ctr(&rec->ctr.tx_bytes, k->len);
	CTR(g, tx_bytes, k->len);
	k->off = 0;
	k->len = (uint32_t)n;
	k->peer = sa->peer;
	if (pkt_queue_push(&g->txq, k) < 0) {
		CTR(g, drop_queue_full, 1);
		return 0;
	}
	return 1;
}

static void on_udp_poll(uv_poll_t *h, int status, int events);

static void dp_poll_update(struct gwd *g)
{
	int want = g->txq.count > 0;

	if (want != g->udp_writable_wait) {
		g->udp_writable_wait = want;
		uv_poll_start(&g->udp_poll, UV_READABLE | (want ? UV_WRITABLE : 0), on_udp_poll);
	}
}

void dp_flush(struct gwd *g)
{
	while (g->txq.count) {
		uint32_t n = g->txq.count < g->cfg.gw.batch ? g->txq.count : g->cfg.gw.batch, i;
		int sent;

		for (i = 0; i < n; i++) {
			struct pkt *k = pkt_queue_peek(&g->txq, i);

			g->iov[i].iov_base = k->data + k->off;
			g->iov[i].iov_len = k->len;
			memset(&g->mmsg[i].msg_hdr, 0, sizeof(g->mmsg[i].msg_hdr));
			g->mmsg[i].msg_hdr.msg_name = &k->peer;
			g->mmsg[i].msg_hdr.msg_namelen = sizeof(k->peer);
			g->mmsg[i].msg_hdr.msg_iov = &g->iov[i];
			g->mmsg[i].msg_hdr.msg_iovlen = 1;
		}
		sent = sendmmsg(g->udp_fd, g->mmsg, n, MSG_DONTWAIT);
		CTR(g, udp_sends, 1);
		if (sent < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
				break;
			/* the first datagram failed (e.g. no route): drop it alone */
			log_warnx_rl("udp send: %s", strerror(errno));
			sent = 1;
			CTR(g, drop_send_error, 1);
		} else {
			CTR(g, tx_packets, (uint64_t)sent);
		}
		for (i = 0; i < (uint32_t)sent; i++)
			pkt_put(&g->pool, pkt_queue_peek(&g->txq, i));
		pkt_queue_drop_front(&g->txq, (uint32_t)sent);
	}
	dp_poll_update(g);
}

static void on_tun_readable(struct gwd *g)
{
	uint32_t i;

	gwd_sadb_sync(g);
	CTR(g, tun_reads, 1);
	for (i = 0; i < g->cfg.gw.batch; i++) {
		struct pkt *k = pkt_get(&g->pool);
		ssize_t n;

		if (!k) {
			CTR(g, drop_queue_full, 1);
			break;
		}
		n = read(g->tun_fd, k->data + ESP_PAYLOAD_OFF, PKT_BUF_SIZE - ESP_OVERHEAD);
		if (n <= 0) {
			pkt_put(&g->pool, k);
			break;
		}
		k->len = (uint32_t)n;
		if (!dp_output(g, k))
			pkt_put(&g->pool, k);
	}
	dp_flush(g);
}

static void on_udp_readable(struct gwd *g)
{
	uint32_t i, nb = g->cfg.gw.batch, round;
	int n;

	gwd_sadb_sync(g);
	for (round = 0; round < 4; round++) { /* bounded work per wakeup */
		for (i = 0; i < nb; i++) {
			struct pkt *k = pkt_get(&g->pool);

			if (!k)
				break;
			g->batch[i] = k;
			g->iov[i].iov_base = k->data;
			g->iov[i].iov_len = PKT_BUF_SIZE;
			memset(&g->mmsg[i].msg_hdr, 0, sizeof(g->mmsg[i].msg_hdr));
			g->mmsg[i].msg_hdr.msg_name = &k->peer;
			g->mmsg[i].msg_hdr.msg_namelen = sizeof(k->peer);
			g->mmsg[i].msg_hdr.msg_iov = &g->iov[i];
			g->mmsg[i].msg_hdr.msg_iovlen = 1;
		}
		nb = i;
		n = nb ? recvmmsg(g->udp_fd, g->mmsg, nb, MSG_DONTWAIT, NULL) : 0;
		if (n > 0)
			CTR(g, udp_reads, 1);
		for (i = 0; i < (uint32_t)(n > 0 ? n : 0); i++) {
			struct pkt *k = g->batch[i];

			k->off = 0;
			k->len = g->mmsg[i].msg_len;
			if (g->mmsg[i].msg_hdr.msg_flags & MSG_TRUNC)
				CTR(g, drop_oversize, 1);
			else
				dp_input(g, k);
		}
		for (i = 0; i < nb; i++)
			pkt_put(&g->pool, g->batch[i]);
		if (n < (int)nb)
			break;
		nb = g->cfg.gw.batch;
	}
}

static void on_tun_poll(uv_poll_t *h, int status, int events)
{
	struct gwd *g = h->data;

	if (status < 0)
		return;
	if (events & UV_READABLE)
		on_tun_readable(g);
}

static void on_udp_poll(uv_poll_t *h, int status, int events)
{
	struct gwd *g = h->data;

	if (status < 0)
		return;
	if (events & UV_WRITABLE)
		dp_flush(g);
	if (events & UV_READABLE)
		on_udp_readable(g);
}

int dp_start(struct gwd *g)
{
	uint32_t b = g->cfg.gw.batch;
	int rc;

	if ((rc = pkt_pool_init(&g->pool, g->cfg.gw.pool_size)) < 0 ||
	    (rc = pkt_queue_init(&g->txq, g->cfg.gw.queue_len)) < 0)
		return rc;
	g->mmsg = calloc(b, sizeof(*g->mmsg));
	g->iov = calloc(b, sizeof(*g->iov));
	g->batch = calloc(b, sizeof(*g->batch));
	if (!g->mmsg || !g->iov || !g->batch)
		return -ENOMEM;
	uv_poll_init(g->loop, &g->tun_poll, g->tun_fd);
	uv_poll_init(g->loop, &g->udp_poll, g->udp_fd);
	g->tun_poll.data = g->udp_poll.data = g;
	uv_poll_start(&g->tun_poll, UV_READABLE, on_tun_poll);
	uv_poll_start(&g->udp_poll, UV_READABLE, on_udp_poll);
	return 0;
}

void dp_stop(struct gwd *g)
{
	uv_poll_stop(&g->tun_poll);
	uv_poll_stop(&g->udp_poll);
}
