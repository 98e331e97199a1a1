/* Internal to the IKE engine: shared by ike_sa.c and ike_xchg.c. */
#ifndef HAGW_IKE_INT_H
#define HAGW_IKE_INT_H

#include "ike.h"

#define CTR(ike, name) sa_ctr_add((ike)->table, CTR_##name, 1)

/* ike_sa.c */
void ike_set_state(struct ike *ike, struct ike_sa *sa, int st);
struct ike_sa *ike_sa_new(struct ike *ike, const struct conf_ike_conn *conn, int initiator);
struct ike_sa *ike_sa_find(struct ike *ike, uint64_t spi_i, uint64_t spi_r);
void ike_sa_destroy(struct ike *ike, struct ike_sa *sa);
void ike_sa_kick(struct ike *ike, struct ike_sa *sa);
int  ike_rekey_allowed(struct ike *ike);
void ike_send_raw(struct ike *ike, struct ike_sa *sa, const uint8_t *buf, size_t len);
int  ike_send_request(struct ike *ike, struct ike_sa *sa, int kind, uint8_t exch,
		      const struct ike_buf *inner, int msgid0);
int  ike_send_request_plain(struct ike *ike, struct ike_sa *sa, int kind, const struct ike_buf *msg);
void ike_req_done(struct ike_sa *sa);
void ike_req_requeue(struct ike *ike, struct ike_sa *sa);
void ike_send_response(struct ike *ike, struct ike_sa *sa, const struct ike_msg *m,
		       const struct ike_buf *inner, int advance);
void ike_send_response_plain(struct ike *ike, struct ike_sa *sa, const struct ike_buf *msg);
void ike_send_plain_notify(struct ike *ike, uint32_t addr, uint16_t port, int natt,
			   const struct ike_hdr *h, uint64_t spi_r, uint16_t type,
			   const void *data, size_t len);
void ike_respond_notify(struct ike *ike, struct ike_sa *sa, const struct ike_msg *m, uint16_t type,
			const void *data, size_t len);

/* ike_xchg.c */
void ike_init_request(struct ike *ike, struct ike_msg *m, uint32_t src, uint16_t sport, int natt);
void ike_init_response(struct ike *ike, struct ike_msg *m, uint32_t src, uint16_t sport, int natt);
void ike_xchg_request(struct ike *ike, struct ike_sa *sa, struct ike_msg *m);
void ike_xchg_response(struct ike *ike, struct ike_sa *sa, struct ike_msg *m);
void ike_start_rekey_child(struct ike *ike, struct ike_sa *sa, int idx);
void ike_start_rekey_ike(struct ike *ike, struct ike_sa *sa);
void ike_start_delete_child(struct ike *ike, struct ike_sa *sa, int idx);
void ike_start_delete_ike(struct ike *ike, struct ike_sa *sa);
void ike_start_dpd(struct ike *ike, struct ike_sa *sa);
void ike_start_msgid_sync(struct ike *ike, struct ike_sa *sa);
void ike_child_drop(struct ike *ike, struct ike_sa *sa, struct ike_child *ch);
void ike_child_retire(struct ike *ike, struct ike_sa *sa, struct ike_child *ch);
void ike_child_promote(struct ike *ike, struct ike_sa *sa, int idx);

/* ike_promo.c: after a promotion */
int  ike_promo_check(struct ike *ike);
void ike_promo_refill(struct ike *ike);
int  ike_promo_allowed(struct ike *ike, const struct ike_child *ch);
void ike_promo_kick_blocked(struct ike *ike);
void ike_promo_started(struct ike *ike, struct ike_sa *sa, struct ike_child *ch);
void ike_promo_result(struct ike *ike, struct ike_sa *sa, const struct ike_req *q, int ok);
void ike_promo_req_lost(struct ike *ike, struct ike_sa *sa);

#endif
