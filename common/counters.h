/*
 * Gateway-wide counters in the shm header, one name each. Every drop in
 * every daemon has its own name here; gwctl prints them all by name.
 * Append new names at the end of their group; the slot array is fixed
 * (CTR_SLOTS), so adding a name does not change the shm layout.
 */
#ifndef HAGW_COUNTERS_H
#define HAGW_COUNTERS_H

#define CTR_LIST(X)                                                           \
	/* gwd data plane */                                                  \
	X(rx_packets)             /* ESP packets that reached the TUN */     \
	X(tx_packets)             /* ESP packets sent */                     \
	X(rx_bytes)               /* inner bytes received */                 \
	X(tx_bytes)               /* inner bytes sent */                     \
	X(drop_replay)            /* duplicate or left of the window */      \
	X(drop_zero_seq)          /* sequence number 0 (RFC 4303 3.3.3) */   \
	X(drop_auth)              /* ICV did not verify */                   \
	X(drop_no_sa)             /* unknown SPI inbound, no SA outbound */  \
	X(drop_malformed)         /* bad padding, next header, inner IPv4 */ \
	X(drop_truncated)         /* shorter than ESP header + IV + ICV */   \
	X(drop_oversize)          /* larger than the buffers or the MTU */   \
	X(drop_selector)          /* inner addresses outside the SA's TS */  \
	X(drop_queue_full)        /* a bounded queue was full */             \
	X(drop_blocked)           /* SA at the sequence-number ceiling */    \
	X(drop_not_active)        /* member is STANDBY: sends nothing */     \
	X(drop_not_ipv4)          /* non-IPv4 packet read from the TUN */    \
	X(drop_send_error)        /* sendmmsg failed other than EAGAIN */    \
	X(drop_tun_write)         /* write to the TUN failed */              \
	X(sn_threshold_crossings) /* an SA reached the rekey threshold */    \
	X(sn_blocked)             /* an SA reached the ceiling and blocked */\
	X(ike_packets)            /* non-ESP-marker packets on UDP 4500 */   \
	X(ike_unhandled)          /* IKE packets with no IKE handler */      \
	X(natt_keepalives)        /* RFC 3948 one-byte keepalives */         \
	X(tun_reads)              /* wakeups of the TUN reader */            \
	X(udp_reads)              /* recvmmsg calls that returned data */    \
	X(udp_sends)              /* sendmmsg calls */                       \
	/* syncd (docs/syncd.md): each closes the link unless it says not */ \
	X(sync_refused_auth)      /* peer could not prove the PSK */         \
	X(sync_refused_addr)      /* connection not from the [sync] peer */  \
	X(sync_refused_busy)      /* too many handshakes at once */          \
	X(sync_drop_handshake)    /* bad magic, early close, timeout */      \
	X(sync_drop_auth)         /* frame failed its AEAD tag */            \
	X(sync_drop_oversize)     /* frame length over the limit */          \
	X(sync_drop_malformed)    /* msgpack of the wrong shape */           \
	X(sync_drop_version)      /* protocol or layout version mismatch */  \
	X(sync_drop_unknown_type) /* skipped, link stays up */               \
	X(sync_drop_not_active)   /* state from a peer not ACTIVE (kept) */  \
	X(sync_drop_frozen)       /* state while sync_frozen (kept) */       \
	X(sync_drop_unknown_sa)   /* delete/update for an SA we lack (kept) */ \
	X(sync_drop_backwards)    /* counter or msgid went down (kept) */    \
	X(sync_drop_table_full)   /* no free slot for an add (kept) */       \
	X(sync_drop_bad_record)   /* add with impossible content (kept) */   \
	X(sync_link_timeout)      /* peer silent past timeout_ms */          \
	/* gwd offloads (docs/offload.md) */                                  \
	X(udp_gso_msgs)           /* sent messages of several datagrams */   \
	X(udp_gro_msgs)           /* messages received with UDP GRO */       \
	X(tun_gro_writes)         /* TUN writes of several TCP segments */   \
	X(drop_tun_offload)       /* TUN packet with GSO we cannot cut */    \
	X(tun_tso_reads)          /* TUN reads of a TSO packet (cut here) */ \
	/* vrrp: adverts, receive checks (RFC 5798 7.1), GARP, VIPs */      \
	X(vrrp_rx_adverts)        /* adverts that passed every check */      \
	X(vrrp_tx_adverts)        /* adverts sent (each unicast copy) */     \
	X(vrrp_tx_errors)         /* an advert could not be sent */          \
	X(vrrp_drop_short)        /* shorter than headers or IP length */    \
	X(vrrp_drop_ip)           /* bad IPv4 header, fragment, not 112 */   \
	X(vrrp_drop_ttl)          /* TTL not 255 (RFC 5798 5.1.1.3) */       \
	X(vrrp_drop_version)      /* VRRP version not 3 */                   \
	X(vrrp_drop_type)         /* type not 1 (ADVERTISEMENT) */           \
	X(vrrp_drop_checksum)     /* checksum did not verify */              \
	X(vrrp_drop_vrid)         /* another virtual router's VRID */        \
	X(vrrp_drop_length)       /* address count 0 or != length */         \
	X(vrrp_drop_interval)     /* Max Advertise Interval 0 */             \
	X(vrrp_drop_addr_list)    /* addresses differ, sender not owner */   \
	X(vrrp_drop_peer)         /* unicast: source not a listed peer */    \
	X(vrrp_drop_own)          /* our own advert came back */             \
	X(vrrp_garp_sent)         /* gratuitous ARPs sent */                 \
	X(vrrp_garp_errors)       /* gratuitous ARPs that failed to send */  \
	X(vrrp_vip_errors)        /* VIP add/del by netlink failed */        \
	X(vrrp_notify_errors)     /* notify script could not be started */   \
	/* ike: gwd's IKEv2 (gwd/ike_*.c) */                                  \
	X(ike_rx)                 /* IKE messages received (500 and 4500) */ \
	X(ike_tx)                 /* IKE messages sent, retransmits too */   \
	X(ike_drop_truncated)     /* shorter than a header or length says */ \
	X(ike_drop_malformed)     /* bad lengths, fields or payload order */ \
	X(ike_unsupported_critical) /* unknown critical payload (2.5) */    \
	X(ike_bad_version)        /* major version not 2 */                  \
	X(ike_unknown_spi)        /* no IKE SA with these SPIs */            \
	X(ike_bad_msgid)          /* message ID outside the window */        \
	X(ike_decrypt_failed)     /* SK payload did not authenticate */      \
	X(ike_auth_failed)        /* AUTH did not verify, or was refused */  \
	X(ike_no_proposal)        /* NO_PROPOSAL_CHOSEN sent or received */  \
	X(ike_invalid_ke)         /* INVALID_KE_PAYLOAD sent or received */  \
	X(ike_ts_unacceptable)    /* traffic selectors did not narrow */     \
	X(ike_no_conn)            /* IKE_SA_INIT from a peer not configured */\
	X(ike_cookies_sent)       /* COOKIE asked under load (2.6) */        \
	X(ike_retransmits)        /* requests sent again */                  \
	X(ike_dup_requests)       /* answered from the cached response */   \
	X(ike_half_open_timeouts) /* responder SAs that never saw IKE_AUTH */\
	X(ike_exchange_timeouts)  /* requests never answered: SA given up */ \
	X(ike_sa_established)     /* IKE SAs authenticated */                \
	X(ike_sa_deleted)         /* IKE SAs removed */                      \
	X(ike_child_installed)    /* Child SAs installed in the table */     \
	X(ike_child_deleted)      /* Child SAs removed */                    \
	X(ike_rekeys_requested)   /* Child SA rekeys we started */           \
	X(ike_rekeys_succeeded)   /* ... that completed */                   \
	X(ike_rekeys_failed)      /* ... that were refused or timed out */   \
	X(ike_rekeys_answered)    /* Child SA rekeys the peer started */     \
	X(ike_threshold_rekeys)   /* rekeys started by SA_F_REKEY_NEEDED */  \
	X(ike_lifetime_rekeys)    /* rekeys started by time or packets */    \
	X(ike_ike_rekeys)         /* IKE SA rekeys, either side */           \
	X(ike_dpd_sent)           /* liveness checks sent */                 \
	X(ike_dpd_answered)       /* empty INFORMATIONALs answered */        \
	X(ike_msgid_syncs)        /* RFC 6311 exchanges, either side */      \
	X(ike_child_expired)      /* Child SA past its hard lifetime */      \
	/* failover: the promotion (promote.h) and what follows it */     \
	X(promotions)             /* promotions run (promote_prepare) */     \
	X(replay_restarts)        /* inbound windows restarted after one */  \
	/* failover: gwd's IKE engine after a promotion (gwd/ike_promo.c) */ \
	X(ike_promo_rekeys)       /* rekeys started from its queue */        \
	X(ike_promo_msgid_syncs)  /* RFC 6311 syncs started for it */        \

enum ctr_id {
#define CTR_ENUM(n) CTR_##n,
	CTR_LIST(CTR_ENUM)
#undef CTR_ENUM
	CTR_COUNT
};

#define CTR_SLOTS 256
#define CTR_MAX   CTR_SLOTS
_Static_assert(CTR_COUNT <= CTR_SLOTS, "too many counters for the shm header");

extern const char *const ctr_names[CTR_COUNT];

#endif
