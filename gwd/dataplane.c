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
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "gwd.h"
#include "log.h"
#include "replay.h"
#include "tso.h"

/* The largest packet a TSO TUN hands us (its GSO limit, 64 KiB), and the
 * largest UDP GRO message. */
#define DP_TUN_MAX 65536
#define DP_RX_BUF  65536

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

/* Writes one packet (segs inner packets of `bytes` in all, from one SA) to
 * the TUN, with its virtio_net_hdr if the TUN has them. The packets count
 * as received only once the kernel took them. */
static void dp_tun_write(struct gwd *g, struct child_sa_rec *rec, const uint8_t *ip, size_t len,
			 const struct gro_vnet_hdr *vh, uint32_t segs, uint64_t bytes)
{
	static const struct gro_vnet_hdr none;
	struct iovec iov[2] = {
		{ .iov_base = (void *)(vh ? vh : &none), .iov_len = sizeof(*vh) },
		{ .iov_base = (void *)ip, .iov_len = len },
	};
	ssize_t n = g->tun_vnet ? writev(g->tun_fd, iov, 2) : write(g->tun_fd, ip, len);

	if (n < 0) {
		CTR(g, drop_tun_write, segs);
		log_warnx_rl("tun write: %s", strerror(errno));
		return;
	}
	if (segs > 1)
		CTR(g, tun_gro_writes, 1);
	CTR(g, rx_packets, segs);
	CTR(g, rx_bytes, bytes);
	sa_ctr(&rec->ctr.rx_packets, segs);
	sa_ctr(&rec->ctr.rx_bytes, bytes);
}

void dp_tun_flush(struct gwd *g)
{
	struct gro_vnet_hdr vh;
	size_t len;

	if (!g->gro.len)
		return;
	len = gro_finish(&g->gro, &vh);
	dp_tun_write(g, g->gro.owner, g->gro.buf, len, &vh, g->gro.segs,
		     g->gro.bytes);
	gro_reset(&g->gro);
}

/* A decrypted, checked inner packet on its way to the TUN: merged into the
 * pending TCP packet if it continues it (gro.h), else that one is written
 * first and this one starts the next or goes alone. Order is kept. */
static void dp_tun_put(struct gwd *g, struct child_sa_rec *rec, const uint8_t *ip, size_t len)
{
	if (g->gro.buf) {
		if (gro_merge(&g->gro, rec, ip, len))
			return;
		dp_tun_flush(g);
		if (gro_start(&g->gro, rec, ip, len))
			return;
	}
	dp_tun_write(g, rec, ip, len, NULL, 1, len);
}

static void dp_input_esp(struct gwd *g, struct pkt *k)
{
	uint8_t *p = k->data + k->off;
	struct gwd_sa *sa;
	struct child_sa_rec *rec;
	uint32_t spi, lo;
	uint64_t seq, top;
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
	/* After a promotion the window restarts, per the inbound policy,
	 * before the SA's first replay check (promote.h, step 4). */
	if (atomic_load_explicit(&rec->flags, memory_order_relaxed) & SA_F_REPLAY_RESET) {
		promote_replay_restart(promote_params_cached(&g->table, &g->promote), rec);
		CTR(g, replay_restarts, 1);
	}
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
	top = rec->replay.top;
	replay_update(&rec->replay, sa->window, seq);
	sa_moved_note(&g->table, (uint32_t)(rec - g->table.child), top, rec->replay.top);

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
	dp_tun_put(g, rec, p + ESP_PAYLOAD_OFF, ip_len);
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
	sa_moved_note(&g->table, (uint32_t)(rec - g->table.child), seq - 1, seq);
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

/*
 * UDP GSO (UDP_SEGMENT, Linux 4.18): a run of queued datagrams to the same
 * peer, all of one length but the last (which may be shorter), leaves as
 * one message of several iovecs; the stack is walked once for the run and
 * the datagrams are cut at the end (on a veth they may even reach the
 * peer's socket whole). Limits: the kernel's UDP_MAX_SEGMENTS, and a
 * message within one 64 KiB IP datagram.
 */
#define DP_GSO_SEGS  64
#define DP_GSO_BYTES (65535 - 20 - 8)

static int dp_same_peer(const struct pkt *a, const struct pkt *b)
{
	return a->peer.sin_addr.s_addr == b->peer.sin_addr.s_addr &&
	       a->peer.sin_port == b->peer.sin_port;
}

/* How many queued packets from `first` (at most `max`) can share a message. */
static uint32_t dp_gso_run(struct gwd *g, uint32_t first, uint32_t max)
{
	const struct pkt *k0 = pkt_queue_peek(&g->txq, first);
	uint32_t n = 1, bytes = k0->len;

	if (k0->len > g->gso_max)
		return 1;
	while (n < max && n < DP_GSO_SEGS && first + n < g->txq.count) {
		const struct pkt *k = pkt_queue_peek(&g->txq, first + n);

		if (k->len > k0->len || !dp_same_peer(k, k0) || bytes + k->len > DP_GSO_BYTES)
			break;
		bytes += k->len;
		n++;
		if (k->len < k0->len)
			break; /* a shorter datagram ends the run */
	}
	return n;
}

/* Message m carries the n queued packets from `first`. */
static void dp_msg_fill(struct gwd *g, uint32_t m, uint32_t first, uint32_t n)
{
	struct msghdr *h = &g->mmsg[m].msg_hdr;
	struct pkt *k0 = pkt_queue_peek(&g->txq, first);
	uint32_t i;

	for (i = 0; i < n; i++) {
		struct pkt *k = pkt_queue_peek(&g->txq, first + i);

		g->iov[first + i].iov_base = k->data + k->off;
		g->iov[first + i].iov_len = k->len;
	}
	memset(h, 0, sizeof(*h));
	h->msg_name = &k0->peer;
	h->msg_namelen = sizeof(k0->peer);
	h->msg_iov = &g->iov[first];
	h->msg_iovlen = n;
	if (n > 1) {
		struct cmsghdr *c = &g->cmsg[m].align;
		uint16_t seg = (uint16_t)k0->len;

		h->msg_control = g->cmsg[m].buf;
		h->msg_controllen = sizeof(g->cmsg[m].buf);
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(seg));
		memcpy(CMSG_DATA(c), &seg, sizeof(seg));
	}
	g->msg_pkts[m] = n;
}

/* A GSO message failed with `err`: EIO means the route's device cannot
 * checksum for GSO (off for good); EINVAL or EMSGSIZE, a segment too large
 * for the path MTU (IP would have fragmented it): GSO only below that size.
 * Returns 1 if the packets should be sent again. */
static int dp_gso_failed(struct gwd *g, int err, uint32_t seg)
{
	if (err != EIO && err != EINVAL && err != EMSGSIZE)
		return 0;
	g->gso_max = err == EIO ? 0 : seg - 1;
	log_info("udp gso: %s for %u-byte datagrams; now for datagrams up to %u bytes",
		 strerror(err), seg, g->gso_max);
	return 1;
}

void dp_flush(struct gwd *g)
{
	uint32_t batch = g->cfg.gw.batch;

	while (g->txq.count) {
		uint32_t npkt = 0, nmsg = 0, done = 0, i;
		int sent;

		while (npkt < g->txq.count && npkt < batch) {
			uint32_t n = dp_gso_run(g, npkt, batch - npkt);

			dp_msg_fill(g, nmsg++, npkt, n);
			npkt += n;
		}
		sent = sendmmsg(g->udp_fd, g->mmsg, nmsg, MSG_DONTWAIT);
		CTR(g, udp_sends, 1);
		if (sent < 0) {
			int err = errno;

			if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS)
				break;
			if (g->msg_pkts[0] > 1 && dp_gso_failed(g, err, pkt_queue_peek(&g->txq, 0)->len))
				continue;
			/* the first message failed (e.g. no route): drop it alone */
			log_warnx_rl("udp send: %s", strerror(err));
			done = g->msg_pkts[0];
			CTR(g, drop_send_error, done);
		} else {
			for (i = 0; i < (uint32_t)sent; i++) {
				done += g->msg_pkts[i];
				if (g->msg_pkts[i] > 1)
					CTR(g, udp_gso_msgs, 1);
			}
			CTR(g, tx_packets, done);
		}
		for (i = 0; i < done; i++)
			pkt_put(&g->pool, pkt_queue_peek(&g->txq, i));
		pkt_queue_drop_front(&g->txq, done);
	}
	dp_poll_update(g);
}

/* A packet buffer for one packet on its way out. A TSO read can be many
 * packets: when the send queue is full, send first. */
static struct pkt *dp_out_pkt(struct gwd *g)
{
	struct pkt *k;

	if (g->txq.count == g->txq.cap)
		dp_flush(g);
	if (!(k = pkt_get(&g->pool)))
		CTR(g, drop_queue_full, 1);
	return k;
}

static void dp_out_send(struct gwd *g, struct pkt *k)
{
	if (!dp_output(g, k))
		pkt_put(&g->pool, k);
}

/* A plain TUN: one read, one packet, straight into its buffer. Returns -1
 * when the TUN is empty. */
static int dp_tun_read_plain(struct gwd *g)
{
	struct pkt *k = dp_out_pkt(g);
	ssize_t n;

	if (!k)
		return -1;
	n = read(g->tun_fd, k->data + ESP_PAYLOAD_OFF, PKT_BUF_SIZE - ESP_OVERHEAD);
	if (n <= 0) {
		pkt_put(&g->pool, k);
		return -1;
	}
	k->len = (uint32_t)n;
	dp_out_send(g, k);
	return 0;
}

/* A TUN with vnet headers and TSO (tun_open): a read is one packet, maybe
 * with a partial checksum to complete, or a TCP packet of up to 64 KiB to
 * cut into the segments the kernel would have sent (tso.h). */
static int dp_tun_read_vnet(struct gwd *g)
{
	const size_t cap = PKT_BUF_SIZE - ESP_OVERHEAD;
	uint8_t *ip = g->tun_buf + GRO_VNET_HDR_LEN;
	struct gro_vnet_hdr vh;
	struct pkt *k;
	ssize_t n;
	size_t len;
	int segs, i;

	n = read(g->tun_fd, g->tun_buf, GRO_VNET_HDR_LEN + DP_TUN_MAX);
	if (n < GRO_VNET_HDR_LEN)
		return -1;
	len = (size_t)n - GRO_VNET_HDR_LEN;
	memcpy(&vh, g->tun_buf, sizeof(vh));
	if (vh.gso_type == 0) {
		if ((vh.flags & 1) && tso_csum_complete(&vh, ip, len) < 0) {
			CTR(g, drop_tun_offload, 1);
			return 0;
		}
		if (len > cap) {
			CTR(g, drop_oversize, 1);
			return 0;
		}
		if (!(k = dp_out_pkt(g)))
			return 0;
		memcpy(k->data + ESP_PAYLOAD_OFF, ip, len);
		k->len = (uint32_t)len;
		dp_out_send(g, k);
		return 0;
	}
	if ((segs = tso_count(&vh, ip, len, cap)) < 0) {
		if (segs == TSO_ESPACE)
			CTR(g, drop_oversize, 1);
		else
			CTR(g, drop_tun_offload, 1);
		return 0;
	}
	CTR(g, tun_tso_reads, 1);
	for (i = 0; i < segs; i++) {
		if (!(k = dp_out_pkt(g)))
			continue; /* counted: one drop per segment */
		k->len = (uint32_t)tso_segment(&vh, ip, len, (uint32_t)i, k->data + ESP_PAYLOAD_OFF, cap);
		dp_out_send(g, k);
	}
	return 0;
}

static void on_tun_readable(struct gwd *g)
{
	uint32_t i;

	gwd_sadb_sync(g);
	CTR(g, tun_reads, 1);
	for (i = 0; i < g->cfg.gw.batch; i++)
		if ((g->tun_buf ? dp_tun_read_vnet(g) : dp_tun_read_plain(g)) < 0)
			break;
	dp_flush(g);
}

/* One received message: one datagram, or with UDP GRO a run of datagrams
 * of `seg` bytes each (the last may be shorter). */
static void dp_udp_split(struct gwd *g, const struct msghdr *h, size_t len)
{
	const uint8_t *base = h->msg_iov[0].iov_base;
	const struct cmsghdr *c;
	size_t seg = len, off;

	if (h->msg_flags & MSG_TRUNC) {
		CTR(g, drop_oversize, 1);
		return;
	}
	for (c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR((struct msghdr *)h, (struct cmsghdr *)c)) {
		int v;

		if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO)
			continue;
		memcpy(&v, CMSG_DATA(c), sizeof(v));
		if (v > 0 && (size_t)v < len) {
			seg = (size_t)v;
			CTR(g, udp_gro_msgs, 1);
		}
	}
	for (off = 0; off < len; off += seg) {
		size_t n = len - off < seg ? len - off : seg;
		struct pkt *k;

		if (n > PKT_BUF_SIZE) {
			CTR(g, drop_oversize, 1);
			continue;
		}
		if (!(k = pkt_get(&g->pool))) {
			CTR(g, drop_queue_full, 1);
			continue;
		}
		memcpy(k->data, base + off, n);
		k->off = 0;
		k->len = (uint32_t)n;
		k->peer = *(const struct sockaddr_in *)h->msg_name;
		dp_input(g, k);
		pkt_put(&g->pool, k);
	}
}

/*
 * UDP GRO (UDP_GRO, Linux 5.0): the kernel hands over a run of datagrams
 * from one peer as one buffer, the datagram size in a cmsg; a GSO run from
 * the peer then crosses the stack whole. Each datagram is copied into a
 * packet buffer and goes through dp_input like any other. Returns the
 * number of messages, or -1.
 */
static int dp_udp_read_gro(struct gwd *g)
{
	uint32_t i, nb = g->cfg.gw.batch;
	int n;

	for (i = 0; i < nb; i++) {
		struct msghdr *h = &g->mmsg[i].msg_hdr;

		g->iov[i].iov_base = g->rx_buf + (size_t)i * DP_RX_BUF;
		g->iov[i].iov_len = DP_RX_BUF;
		memset(h, 0, sizeof(*h));
		h->msg_name = &g->rx_peer[i];
		h->msg_namelen = sizeof(g->rx_peer[i]);
		h->msg_iov = &g->iov[i];
		h->msg_iovlen = 1;
		h->msg_control = g->cmsg[i].buf;
		h->msg_controllen = sizeof(g->cmsg[i].buf);
	}
	if ((n = recvmmsg(g->udp_fd, g->mmsg, nb, MSG_DONTWAIT, NULL)) <= 0)
		return -1;
	CTR(g, udp_reads, 1);
	for (i = 0; i < (uint32_t)n; i++)
		dp_udp_split(g, &g->mmsg[i].msg_hdr, g->mmsg[i].msg_len);
	dp_tun_flush(g);
	return n;
}

static void on_udp_readable(struct gwd *g)
{
	uint32_t i, nb = g->cfg.gw.batch, round;
	int n;

	gwd_sadb_sync(g);
	if (g->rx_buf) {
		for (round = 0; round < 4; round++) /* bounded work per wakeup */
			if (dp_udp_read_gro(g) < (int)nb)
				break;
		return;
	}
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
		dp_tun_flush(g);
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
	g->msg_pkts = calloc(b, sizeof(*g->msg_pkts));
	g->cmsg = calloc(b, sizeof(*g->cmsg));
	if (!g->mmsg || !g->iov || !g->batch || !g->msg_pkts || !g->cmsg)
		return -ENOMEM;
	if (g->tun_vnet && (rc = gro_init(&g->gro)) < 0)
		return rc;
	if (g->tun_vnet && !(g->tun_buf = malloc(GRO_VNET_HDR_LEN + DP_TUN_MAX)))
		return -ENOMEM;
	if (g->udp_gro && (!(g->rx_buf = malloc((size_t)b * DP_RX_BUF)) ||
			   !(g->rx_peer = calloc(b, sizeof(*g->rx_peer)))))
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
