/*
 * Every timer of the vrrp daemon, each behind an event-named call:
 *
 *   timer_fd    the FSM's next deadline (Adver_Timer or Master_Down_Timer,
 *               fsm.h), a CLOCK_MONOTONIC timerfd armed at an absolute
 *               time: libuv timers count whole milliseconds, and a
 *               1-centisecond advert interval gives a Skew_Time of a few
 *               milliseconds that must not be rounded.
 *   garp_timer  the repeated gratuitous ARPs after a promotion
 *               (garp_count times, every garp_interval ms).
 *   sync_timer  every SYNC_POLL_MS: re-reads the shm in_sync flag and
 *               moves the effective priority (sync_demote).
 */
#include <errno.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vrrp.h"

#define SYNC_POLL_MS 20

uint64_t vrrp_now_us(void)
{
	return now_ns() / 1000;
}

void vrrp_timers_arm(struct vrrpd *d)
{
	uint64_t at = vrrp_fsm_deadline(&d->fsm);
	struct itimerspec its = { 0 };

	if (at) {
		its.it_value.tv_sec = (time_t)(at / 1000000);
		its.it_value.tv_nsec = (long)(at % 1000000) * 1000;
	}
	if (timerfd_settime(d->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_warn("timerfd_settime");
}

static void on_deadline(uv_poll_t *h, int status, int events)
{
	struct vrrpd *d = h->data;
	uint64_t expirations;

	if (read(d->timer_fd, &expirations, sizeof(expirations)) < 0 && errno == EAGAIN)
		return;
	vrrp_gw_run(d, vrrp_fsm_timer(&d->fsm, vrrp_now_us()));
	/* An early or spurious wakeup changed nothing: arm again anyway. */
	vrrp_timers_arm(d);
}

static void on_garp(uv_timer_t *t)
{
	struct vrrpd *d = t->data;

	if (d->fsm.state != VRRP_STATE_MASTER || d->garp_left == 0) {
		uv_timer_stop(t);
		return;
	}
	d->garp_left--;
	vrrp_garp_send_all(d);
}

void vrrp_timers_garp_start(struct vrrpd *d)
{
	uint32_t ms = d->cfg.vrrp.garp_interval;

	d->garp_left = d->cfg.vrrp.garp_count;
	if (d->garp_left)
		uv_timer_start(&d->garp_timer, on_garp, ms, ms);
}

void vrrp_timers_garp_stop(struct vrrpd *d)
{
	d->garp_left = 0;
	uv_timer_stop(&d->garp_timer);
}

static void on_sync_poll(uv_timer_t *t)
{
	struct vrrpd *d = t->data;

	atomic_store(&d->table.hdr->vrrp_pid, (uint32_t)getpid());
	vrrp_gw_run(d, vrrp_fsm_set_priority(&d->fsm, vrrp_now_us(),
					     vrrp_gw_effective_priority(d)));
}

int vrrp_timers_start(struct vrrpd *d)
{
	int rc;

	d->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->timer_fd < 0)
		return -errno;
	if ((rc = uv_poll_init(d->loop, &d->timer_poll, d->timer_fd)) < 0)
		return rc;
	d->timer_poll.data = d;
	if ((rc = uv_poll_start(&d->timer_poll, UV_READABLE, on_deadline)) < 0)
		return rc;
	uv_timer_init(d->loop, &d->garp_timer);
	d->garp_timer.data = d;
	uv_timer_init(d->loop, &d->sync_timer);
	d->sync_timer.data = d;
	return uv_timer_start(&d->sync_timer, on_sync_poll, SYNC_POLL_MS, SYNC_POLL_MS);
}

void vrrp_timers_close(struct vrrpd *d)
{
	uv_close((uv_handle_t *)&d->timer_poll, NULL);
	uv_close((uv_handle_t *)&d->garp_timer, NULL);
	uv_close((uv_handle_t *)&d->sync_timer, NULL);
}
