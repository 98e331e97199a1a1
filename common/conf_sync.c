/*
 * [sync]: the sync link between the members of a pair (syncd).
 *
 *   local = 10.9.0.1          this member's address on the sync link
 *   peer = 10.9.0.2           the other member's
 *   port = 7800
 *   psk = <64 hex digits>     or psk_file = /path (64 hex digits inside)
 *   interval_ms, scan_ms, packet_threshold, m_window, heartbeat_ms,
 *   timeout_ms, backoff_min_ms, backoff_max_ms, send_queue
 *
 * Unset numbers get their defaults in conf_sync_check (0 is never a valid
 * value for any of them).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "config.h"

int conf_sync_set(struct config *c, const char *name, int line, const char *key,
		  const char *v, const char **why)
{
	struct conf_sync *s = &c->sync;
	uint32_t port;

	if (!s->present) {
		s->present = 1;
		s->line = line;
	}
	if (!strcmp(key, "local"))
		return conf_parse_addr(v, &s->local_addr, why);
	if (!strcmp(key, "peer"))
		return conf_parse_addr(v, &s->peer_addr, why);
	if (!strcmp(key, "port")) {
		if (conf_parse_u32(v, 1, 65535, &port, why) < 0)
			return -1;
		s->port = (uint16_t)port;
		return 0;
	}
	if (!strcmp(key, "psk")) {
		s->have_psk = 1;
		return conf_parse_hex(v, s->psk, sizeof(s->psk), why);
	}
	if (!strcmp(key, "psk_file")) {
		s->psk_file_line = line;
		return conf_parse_str(v, s->psk_file, sizeof(s->psk_file), why);
	}
	if (!strcmp(key, "interval_ms"))
		return conf_parse_u32(v, 10, 10000, &s->interval_ms, why);
	if (!strcmp(key, "scan_ms"))
		return conf_parse_u32(v, 1, 10000, &s->scan_ms, why);
	if (!strcmp(key, "packet_threshold"))
		return conf_parse_u32(v, 1, UINT32_MAX, &s->packet_threshold, why);
	if (!strcmp(key, "m_window"))
		return conf_parse_u32(v, 1, SA_M_HISTORY, &s->m_window, why);
	if (!strcmp(key, "heartbeat_ms"))
		return conf_parse_u32(v, 10, 60000, &s->heartbeat_ms, why);
	if (!strcmp(key, "timeout_ms"))
		return conf_parse_u32(v, 50, 600000, &s->timeout_ms, why);
	if (!strcmp(key, "backoff_min_ms"))
		return conf_parse_u32(v, 10, 600000, &s->backoff_min_ms, why);
	if (!strcmp(key, "backoff_max_ms"))
		return conf_parse_u32(v, 10, 3600000, &s->backoff_max_ms, why);
	if (!strcmp(key, "send_queue"))
		return conf_parse_u32(v, 1u << 17, 1u << 30, &s->send_queue, why);
	*why = "unknown key";
	return -2;
}

/* The key file holds 64 hex digits, optionally followed by a newline. */
static int conf_sync_read_psk(struct conf_sync *s, const char **why)
{
	char buf[130];
	size_t n;
	FILE *f = fopen(s->psk_file, "r");

	if (!f) {
		*why = "cannot open psk_file";
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	if (conf_parse_hex(buf, s->psk, sizeof(s->psk), why) < 0) {
		sodium_memzero(buf, sizeof(buf));
		*why = "psk_file must hold 64 hex digits";
		return -1;
	}
	sodium_memzero(buf, sizeof(buf));
	s->have_psk = 1;
	return 0;
}

#define DEFAULT(f, v) do { if (!s->f) s->f = (v); } while (0)

int conf_sync_check(struct config *c, const char **why, int *line)
{
	struct conf_sync *s = &c->sync;

	DEFAULT(port, 7800);
	DEFAULT(interval_ms, 100);
	DEFAULT(scan_ms, s->interval_ms >= 40 ? s->interval_ms / 4 : 10);
	DEFAULT(packet_threshold, 1024);
	DEFAULT(m_window, 16);
	DEFAULT(heartbeat_ms, 200);
	DEFAULT(timeout_ms, 5 * s->heartbeat_ms);
	DEFAULT(backoff_min_ms, 100);
	DEFAULT(backoff_max_ms, 5000);
	DEFAULT(send_queue, 4u << 20);
	if (!s->present)
		return 0;
	*line = s->line;
	if (s->psk_file[0] && s->have_psk) {
		*why = "[sync] takes psk or psk_file, not both";
		return -1;
	}
	if (s->psk_file[0]) {
		*line = s->psk_file_line;
		if (conf_sync_read_psk(s, why) < 0)
			return -1;
		*line = s->line;
	}
	if (!s->local_addr || !s->peer_addr) {
		*why = "[sync] needs local and peer";
		return -1;
	}
	if (!s->have_psk) {
		*why = "[sync] needs psk or psk_file";
		return -1;
	}
	if (s->local_addr == s->peer_addr) {
		*why = "[sync] local and peer are the same address";
		return -1;
	}
	if (s->scan_ms > s->interval_ms) {
		*why = "[sync] scan_ms larger than interval_ms";
		return -1;
	}
	if (s->backoff_min_ms > s->backoff_max_ms) {
		*why = "[sync] backoff_min_ms larger than backoff_max_ms";
		return -1;
	}
	if (s->timeout_ms <= s->heartbeat_ms) {
		*why = "[sync] timeout_ms must be longer than heartbeat_ms";
		return -1;
	}
	return 0;
}
