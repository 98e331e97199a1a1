#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static const char *log_name = "hagw";
static int log_fg = 1;
static int log_verbose;

void log_init(const char *progname, int foreground, int verbose)
{
	log_name = progname;
	log_fg = foreground;
	log_verbose = verbose;
	if (!foreground)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_setverbose(int verbose) { log_verbose = verbose; }
int log_getverbose(void) { return log_verbose; }

static void vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_fg) {
		if (suffix)
			fprintf(stderr, "%s: %s: %s\n", log_name, buf, suffix);
		else
			fprintf(stderr, "%s: %s\n", log_name, buf);
		fflush(stderr);
	} else if (suffix) {
		syslog(pri, "%s: %s", buf, suffix);
	} else {
		syslog(pri, "%s", buf);
	}
}

void log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, NULL);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

int log_ratelimit_ok(struct log_ratelimit *rl)
{
	enum { BURST = 5 };
	uint64_t now = now_ms();
	uint64_t refill;

	if (rl->last_ms == 0) {
		rl->last_ms = now;
		rl->tokens = BURST;
	}
	refill = (now - rl->last_ms) / 1000;
	if (refill) {
		rl->tokens = refill + rl->tokens > BURST ? BURST : (uint32_t)(rl->tokens + refill);
		rl->last_ms = now;
		if (rl->suppressed) {
			log_warnx("(%u similar messages suppressed)", rl->suppressed);
			rl->suppressed = 0;
		}
	}
	if (rl->tokens == 0) {
		rl->suppressed++;
		return 0;
	}
	rl->tokens--;
	return 1;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
uint64_t now_ms(void) { return clock_ns(CLOCK_MONOTONIC) / 1000000ull; }
uint64_t wall_ms(void) { return clock_ns(CLOCK_REALTIME) / 1000000ull; }

void log_pidfile(const char *path)
{
	FILE *f;

	if (!path)
		return;
	if (!(f = fopen(path, "w")))
		fatal("%s", path);
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
}
