/* Logging in the style of OpenBSD's log.c: stderr in the foreground,
 * syslog otherwise. log_warn appends strerror(errno), log_warnx does not. */
#ifndef HAGW_LOG_H
#define HAGW_LOG_H

#include <stdint.h>

void log_init(const char *progname, int foreground, int verbose);
void log_setverbose(int verbose);
int  log_getverbose(void);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A token bucket for log lines on paths that bad input can reach: at most
 * `burst` lines, refilled at one per second. Returns 1 if a line may go. */
struct log_ratelimit {
	uint64_t last_ms;
	uint32_t tokens;
	uint32_t suppressed;
};
int log_ratelimit_ok(struct log_ratelimit *rl);

#define log_warnx_rl(fmt, ...)                                   \
	do {                                                     \
		static struct log_ratelimit rl__;                \
		if (log_ratelimit_ok(&rl__))                     \
			log_warnx(fmt, ##__VA_ARGS__);           \
	} while (0)

/* Writes the daemon's PID to `path` (-p); NULL: nothing. Fatal on error. */
void log_pidfile(const char *path);

uint64_t now_ms(void);  /* CLOCK_MONOTONIC in milliseconds */
uint64_t now_ns(void);  /* CLOCK_MONOTONIC in nanoseconds */
uint64_t wall_ms(void); /* CLOCK_REALTIME in milliseconds */

#endif
