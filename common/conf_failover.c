/*
 * [failover]: what the promotion does to the counters (docs/failover.md).
 *
 *   [failover]
 *   strategy = seed          ; seed | global-rekey | none
 *   x = 2.0                  ; burst multiplier X, 1.5-3.0, up to 3 decimals
 *   m_min = 1024             ; floor of M, packets per sync interval
 *   inbound = learn          ; learn | strict
 *   rekey_rate = 100         ; rekeys gwd starts per second after a promotion
 *
 * The sync interval behind k is [sync] interval_ms. Unset values get their
 * defaults in conf_failover_check, which runs after [sync]'s check (the
 * section table's order), so m_min can default to packet_threshold.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"

#define X_MIN_MILLI 1500u
#define X_MAX_MILLI 3000u

static const char *const strategy_names[] = { "seed", "global-rekey", "none" };
static const char *const inbound_names[] = { "learn", "strict" };

const char *conf_failover_strategy_name(uint32_t s)
{
	return s < 3 ? strategy_names[s] : "?";
}

const char *conf_failover_inbound_name(uint32_t i)
{
	return i < 2 ? inbound_names[i] : "?";
}

void conf_failover_defaults(struct conf_failover *f)
{
	memset(f, 0, sizeof(*f));
	f->strategy = CONF_FAILOVER_SEED;
	f->inbound = CONF_INBOUND_LEARN;
	f->x_milli = 2000;
	f->m_min = 1024;
	f->rekey_rate = 100;
}

static int name_index(const char *v, const char *const *names, size_t n, uint32_t *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v, names[i])) {
			*out = (uint32_t)i;
			return 0;
		}
	return -1;
}

/* "2", "2.0", "1.75", "2.125": a decimal with at most three fractional
 * digits, kept exact in thousandths (no floating point in the math). */
static int parse_milli(const char *v, uint32_t *out, const char **why)
{
	uint32_t whole = 0, frac = 0, digits = 0;
	const char *p = v;

	if (*p < '0' || *p > '9')
		goto bad;
	while (*p >= '0' && *p <= '9' && whole < 1000)
		whole = whole * 10 + (uint32_t)(*p++ - '0');
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9' && digits < 3) {
			frac = frac * 10 + (uint32_t)(*p++ - '0');
			digits++;
		}
		if (!digits)
			goto bad;
	}
	if (*p)
		goto bad;
	while (digits++ < 3)
		frac *= 10;
	*out = whole * 1000 + frac;
	return 0;
bad:
	*why = "expected a decimal number with at most 3 decimals";
	return -1;
}

int conf_failover_set(struct config *c, const char *name, int line, const char *key,
		      const char *v, const char **why)
{
	struct conf_failover *f = &c->failover;

	if (!f->present) {
		f->present = 1;
		f->line = line;
	}
	if (!strcmp(key, "strategy")) {
		if (name_index(v, strategy_names, 3, &f->strategy) < 0) {
			*why = "expected seed, global-rekey or none";
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "inbound")) {
		if (name_index(v, inbound_names, 2, &f->inbound) < 0) {
			*why = "expected learn or strict";
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "x")) {
		if (parse_milli(v, &f->x_milli, why) < 0)
			return -1;
		if (f->x_milli < X_MIN_MILLI || f->x_milli > X_MAX_MILLI) {
			*why = "out of range 1.5..3.0";
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "m_min"))
		return conf_parse_u32(v, 1, 1u << 30, &f->m_min, why);
	if (!strcmp(key, "rekey_rate"))
		return conf_parse_u32(v, 1, 100000, &f->rekey_rate, why);
	*why = "unknown key";
	return -2;
}

int conf_failover_check(struct config *c, const char **why, int *line)
{
	struct conf_failover *f = &c->failover;

	if (!f->x_milli)
		f->x_milli = 2000;
	if (!f->m_min)
		f->m_min = c->sync.packet_threshold ? c->sync.packet_threshold : 1024;
	if (!f->rekey_rate)
		f->rekey_rate = 100;
	(void)why;
	(void)line;
	return 0;
}
