#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp.h"

/* One row per section kind. `named` kinds take a name after the kind. */
struct section_kind {
	const char *kind;
	int named;
	int (*set)(struct config *c, const char *name, int line, const char *key,
		   const char *val, const char **why);
	int (*check)(struct config *c, const char **why, int *line);
};

static int gateway_set(struct config *c, const char *name, int line, const char *key,
		       const char *val, const char **why);
static int gateway_check(struct config *c, const char **why, int *line);
static int sa_set(struct config *c, const char *name, int line, const char *key,
		  const char *val, const char **why);
static int sa_check(struct config *c, const char **why, int *line);

static const struct section_kind section_kinds[] = {
	{ "gateway", 0, gateway_set, gateway_check },
	{ "sa", 1, sa_set, sa_check },
	{ "ike", 0, conf_ike_set, NULL },
	{ "conn", 1, conf_conn_set, conf_ike_check },
	{ "sync", 0, conf_sync_set, conf_sync_check },
	{ "vrrp", 0, conf_vrrp_set, conf_vrrp_check },
	{ "failover", 0, conf_failover_set, conf_failover_check },
};

struct parse_ctx {
	struct config *c;
	struct conf_err *err;
	const char *file;
	int line;          /* counted by our reader: inih does not pass it */
	int section_line;  /* where the current [section] header is */
	int failed;
	int too_long;
	const char *text;  /* for config_load_string */
	FILE *fp;
};

static void conf_error(struct parse_ctx *p, int line, const char *why, const char *tok)
{
	if (p->failed)
		return; /* the first error is the one worth reading */
	p->failed = 1;
	if (tok)
		snprintf(p->err->msg, sizeof(p->err->msg), "%s:%d: %s '%s'", p->file, line, why, tok);
	else
		snprintf(p->err->msg, sizeof(p->err->msg), "%s:%d: %s", p->file, line, why);
}

/* --- value parsers --- */

int conf_parse_u64(const char *v, uint64_t *out, const char **why)
{
	char *end;
	unsigned long long x;

	if (*v == '-' || *v == '\0') {
		*why = "expected a non-negative number";
		return -1;
	}
	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || *end) {
		*why = "expected a number";
		return -1;
	}
	*out = x;
	return 0;
}

int conf_parse_u32(const char *v, uint32_t min, uint32_t max, uint32_t *out, const char **why)
{
	uint64_t x;

	if (conf_parse_u64(v, &x, why) < 0)
		return -1;
	if (x < min || x > max) {
		static char buf[64];
		snprintf(buf, sizeof(buf), "out of range %u..%u", min, max);
		*why = buf;
		return -1;
	}
	*out = (uint32_t)x;
	return 0;
}

int conf_parse_bool(const char *v, int *out, const char **why)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0"))
		*out = 0;
	else {
		*why = "expected yes or no";
		return -1;
	}
	return 0;
}

int conf_parse_addr(const char *v, uint32_t *out, const char **why)
{
	struct in_addr a;

	if (inet_pton(AF_INET, v, &a) != 1) {
		*why = "expected an IPv4 address";
		return -1;
	}
	*out = ntohl(a.s_addr);
	return 0;
}

int conf_parse_prefix(const char *v, struct sa_ts *out, const char **why)
{
	char buf[32];
	const char *slash = strchr(v, '/');
	uint32_t plen = 32, addr;
	size_t n = slash ? (size_t)(slash - v) : strlen(v);

	if (n >= sizeof(buf)) {
		*why = "expected an IPv4 prefix";
		return -1;
	}
	memcpy(buf, v, n);
	buf[n] = '\0';
	if (conf_parse_addr(buf, &addr, why) < 0)
		return -1;
	if (slash && conf_parse_u32(slash + 1, 0, 32, &plen, why) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	out->addr = plen ? addr & (~0u << (32 - plen)) : 0;
	out->plen = (uint8_t)plen;
	if (out->addr != addr) {
		*why = "host bits set in prefix";
		return -1;
	}
	return 0;
}

int conf_parse_hex(const char *v, uint8_t *out, size_t len, const char **why)
{
	size_t i;

	if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X'))
		v += 2;
	if (strlen(v) != len * 2) {
		static char buf[64];
		snprintf(buf, sizeof(buf), "expected %zu hex bytes", len);
		*why = buf;
		return -1;
	}
	for (i = 0; i < len; i++) {
		int hi = v[2 * i], lo = v[2 * i + 1];

		if (!isxdigit(hi) || !isxdigit(lo)) {
			*why = "not a hex digit";
			return -1;
		}
		hi = isdigit(hi) ? hi - '0' : tolower(hi) - 'a' + 10;
		lo = isdigit(lo) ? lo - '0' : tolower(lo) - 'a' + 10;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int conf_parse_str(const char *v, char *out, size_t cap, const char **why)
{
	if (*v == '\0' || strlen(v) >= cap) {
		*why = *v ? "too long" : "empty";
		return -1;
	}
	strcpy(out, v);
	return 0;
}

const char *conf_addr_str(uint32_t addr, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255,
		 addr & 255);
	return buf;
}

const char *conf_ts_str(const struct sa_ts *ts, char buf[20])
{
	char a[16];

	snprintf(buf, 20, "%s/%u", conf_addr_str(ts->addr, a), ts->plen);
	return buf;
}

int ts_contains(const struct sa_ts *ts, uint32_t addr)
{
	uint32_t mask = ts->plen ? ~0u << (32 - ts->plen) : 0;

	return (addr & mask) == ts->addr;
}

/* --- [gateway] --- */

static void gateway_defaults(struct conf_gateway *g)
{
	memset(g, 0, sizeof(*g));
	g->member_id = 1;
	snprintf(g->name, sizeof(g->name), "gw");
	snprintf(g->tun, sizeof(g->tun), "hagw0");
	g->tun_mtu = 1400;
	g->tun_txqlen = 4096;
	g->port = 4500;
	g->child_capacity = 1024;
	g->ike_capacity = 256;
	g->replay_window = 1024;
	g->rekey_threshold = 95;
	g->sock_buf = 8u << 20;
	g->batch = 64;
	g->queue_len = 1024;
	g->pool_size = 4096;
	g->standalone = 1;
	g->anti_replay = 1;
	g->udp_offload = 1;
	g->tun_offload = 1;
}

static int gateway_set(struct config *c, const char *name, int line, const char *key,
		       const char *v, const char **why)
{
	struct conf_gateway *g = &c->gw;
	uint32_t port;

	if (!strcmp(key, "member_id"))
		return conf_parse_u32(v, 0, ESP_IV_MAX_MEMBER, &g->member_id, why);
	if (!strcmp(key, "name"))
		return conf_parse_str(v, g->name, sizeof(g->name), why);
	if (!strcmp(key, "tun"))
		return conf_parse_str(v, g->tun, sizeof(g->tun), why);
	if (!strcmp(key, "mtu"))
		return conf_parse_u32(v, 576, 9000, &g->tun_mtu, why);
	if (!strcmp(key, "tun_queue"))
		return conf_parse_u32(v, 16, 1u << 20, &g->tun_txqlen, why);
	if (!strcmp(key, "local"))
		return conf_parse_addr(v, &g->local_addr, why);
	if (!strcmp(key, "port")) {
		if (conf_parse_u32(v, 1, 65535, &port, why) < 0)
			return -1;
		g->port = (uint16_t)port;
		return 0;
	}
	if (!strcmp(key, "shm")) {
		if (v[0] != '/' || strchr(v + 1, '/')) {
			*why = "shm name must be /name";
			return -1;
		}
		return conf_parse_str(v, g->shm, sizeof(g->shm), why);
	}
	if (!strcmp(key, "control"))
		return conf_parse_str(v, g->control, sizeof(g->control), why);
	if (!strcmp(key, "child_capacity"))
		return conf_parse_u32(v, 1, 4000000, &g->child_capacity, why);
	if (!strcmp(key, "ike_capacity"))
		return conf_parse_u32(v, 1, 1000000, &g->ike_capacity, why);
	if (!strcmp(key, "replay_window"))
		return conf_parse_u32(v, 32, SA_REPLAY_MAX_WINDOW, &g->replay_window, why);
	if (!strcmp(key, "rekey_threshold"))
		return conf_parse_u32(v, 1, 100, &g->rekey_threshold, why);
	if (!strcmp(key, "socket_buffer"))
		return conf_parse_u32(v, 65536, 1u << 30, &g->sock_buf, why);
	if (!strcmp(key, "batch"))
		return conf_parse_u32(v, 1, 1024, &g->batch, why);
	if (!strcmp(key, "queue"))
		return conf_parse_u32(v, 16, 1u << 20, &g->queue_len, why);
	if (!strcmp(key, "buffers"))
		return conf_parse_u32(v, 256, 1u << 22, &g->pool_size, why);
	if (!strcmp(key, "standalone"))
		return conf_parse_bool(v, &g->standalone, why);
	if (!strcmp(key, "anti_replay"))
		return conf_parse_bool(v, &g->anti_replay, why);
	if (!strcmp(key, "udp_offload"))
		return conf_parse_bool(v, &g->udp_offload, why);
	if (!strcmp(key, "tun_offload"))
		return conf_parse_bool(v, &g->tun_offload, why);
	*why = "unknown key";
	return -2;
}

static int gateway_check(struct config *c, const char **why, int *line)
{
	struct conf_gateway *g = &c->gw;

	if (g->shm[0] == '\0')
		snprintf(g->shm, sizeof(g->shm), "/hagw-%s", g->name);
	if (g->control[0] == '\0')
		snprintf(g->control, sizeof(g->control), "/run/hagw/%s.ctl", g->name);
	if (g->batch > g->queue_len) {
		*why = "batch larger than queue";
		return -1;
	}
	return 0;
}

/* --- [sa NAME] --- */

static struct conf_sa *sa_get(struct config *c, const char *name, int line)
{
	uint32_t i;

	for (i = 0; i < c->n_sas; i++)
		if (!strcmp(c->sas[i].name, name))
			return &c->sas[i];
	if (c->n_sas == CONF_MAX_SAS)
		return NULL;
	struct conf_sa *n = realloc(c->sas, (c->n_sas + 1) * sizeof(*n));
	if (!n)
		return NULL;
	c->sas = n;
	n = &c->sas[c->n_sas++];
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->line = line;
	n->peer_port = 4500;
	return n;
}

static int parse_keymat(const char *v, struct sa_keymat *km, const char **why)
{
	uint8_t buf[SA_KEY_MAX + SA_SALT_LEN];

	if (conf_parse_hex(v, buf, sizeof(buf), why) < 0)
		return -1;
	memcpy(km->key, buf, SA_KEY_MAX);
	memcpy(km->salt, buf + SA_KEY_MAX, SA_SALT_LEN);
	return 0;
}

static int sa_set(struct config *c, const char *name, int line, const char *key,
		  const char *v, const char **why)
{
	struct conf_sa *s;
	uint32_t port;

	if (strlen(name) >= SA_NAME_MAX) {
		*why = "SA name too long";
		return -1;
	}
	if (!(s = sa_get(c, name, line))) {
		*why = "too many SAs";
		return -1;
	}
	if (!strcmp(key, "spi_in") || !strcmp(key, "spi_out")) {
		uint32_t *spi = key[4] == 'i' ? &s->spi_in : &s->spi_out;

		if (conf_parse_u32(v, 256, UINT32_MAX, spi, why) < 0) {
			*why = "SPI must be 256..0xffffffff (RFC 4303 2.1)";
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "alg")) {
		if ((s->alg = sa_alg_from_name(v)) < 0) {
			*why = "unknown algorithm (aes256gcm16, chacha20poly1305)";
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "key_in")) {
		s->have_key_in = 1;
		return parse_keymat(v, &s->key_in, why);
	}
	if (!strcmp(key, "key_out")) {
		s->have_key_out = 1;
		return parse_keymat(v, &s->key_out, why);
	}
	if (!strcmp(key, "esn"))
		return conf_parse_bool(v, &s->esn, why);
	if (!strcmp(key, "local_ts")) {
		s->have_local = 1;
		return conf_parse_prefix(v, &s->ts_local, why);
	}
	if (!strcmp(key, "remote_ts")) {
		s->have_remote = 1;
		return conf_parse_prefix(v, &s->ts_remote, why);
	}
	if (!strcmp(key, "peer"))
		return conf_parse_addr(v, &s->peer_addr, why);
	if (!strcmp(key, "peer_port")) {
		if (conf_parse_u32(v, 1, 65535, &port, why) < 0)
			return -1;
		s->peer_port = (uint16_t)port;
		return 0;
	}
	if (!strcmp(key, "initial_seq"))
		return conf_parse_u64(v, &s->initial_seq, why);
	if (!strcmp(key, "replay_window"))
		return conf_parse_u32(v, 32, SA_REPLAY_MAX_WINDOW, &s->replay_window, why);
	*why = "unknown key";
	return -2;
}

static int sa_check(struct config *c, const char **why, int *line)
{
	uint32_t i, j;

	for (i = 0; i < c->n_sas; i++) {
		struct conf_sa *s = &c->sas[i];

		*line = s->line;
		if (!s->spi_in || !s->spi_out) {
			*why = !s->spi_in ? "SA needs spi_in" : "SA needs spi_out";
			return -1;
		}
		if (!s->alg) {
			*why = "SA needs alg";
			return -1;
		}
		if (!s->have_key_in || !s->have_key_out) {
			*why = "SA needs key_in and key_out";
			return -1;
		}
		if (!s->have_local || !s->have_remote) {
			*why = "SA needs local_ts and remote_ts";
			return -1;
		}
		if (!s->peer_addr) {
			*why = "SA needs peer";
			return -1;
		}
		if (!s->esn && s->initial_seq > UINT32_MAX) {
			*why = "initial_seq above 2^32-1 needs esn = yes";
			return -1;
		}
		if (!s->replay_window)
			s->replay_window = c->gw.replay_window;
		for (j = 0; j < i; j++) {
			if (c->sas[j].spi_in == s->spi_in) {
				*why = "spi_in used twice";
				return -1;
			}
		}
	}
	return 0;
}

/* --- the parser --- */

/* inih hands us `kind name` as the section; split it. */
static const struct section_kind *section_lookup(const char *section, const char **name)
{
	size_t i, n = strcspn(section, " \t");

	*name = section + n;
	while (**name == ' ' || **name == '\t')
		(*name)++;
	for (i = 0; i < sizeof(section_kinds) / sizeof(section_kinds[0]); i++)
		if (strlen(section_kinds[i].kind) == n && !strncmp(section, section_kinds[i].kind, n))
			return &section_kinds[i];
	return NULL;
}

static int ini_cb(void *user, const char *section, const char *key, const char *val)
{
	struct parse_ctx *p = user;
	const struct section_kind *k;
	const char *name, *why = NULL;
	int rc;

	if (p->too_long) {
		conf_error(p, p->line, "line too long", key);
		return 0;
	}
	if (section[0] == '\0') {
		conf_error(p, p->line, "key outside of any section", key);
		return 0;
	}
	if (!(k = section_lookup(section, &name))) {
		conf_error(p, p->line, "unknown section", section);
		return 0;
	}
	if (k->named != (*name != '\0')) {
		conf_error(p, p->line, k->named ? "section needs a name" : "section takes no name",
			   section);
		return 0;
	}
	rc = k->set(p->c, name, p->section_line, key, val, &why);
	if (rc == -2)
		conf_error(p, p->line, why, key);
	else if (rc < 0)
		conf_error(p, p->line, why, val);
	return rc == 0;
}

/* Our reader counts lines, since the inih Debian ships does not pass them. */
static void note_section(struct parse_ctx *p, const char *line)
{
	line += strspn(line, " \t");
	if (*line == '[')
		p->section_line = p->line;
}

static char *reader_file(char *str, int num, void *stream)
{
	struct parse_ctx *p = stream;
	char *r = fgets(str, num, p->fp);

	if (r) {
		size_t n = strlen(r);

		p->line++;
		note_section(p, r);
		if (n == (size_t)num - 1 && r[n - 1] != '\n' && !feof(p->fp)) {
			int ch;

			p->too_long = 1;
			while ((ch = fgetc(p->fp)) != EOF && ch != '\n')
				;
		} else {
			p->too_long = 0;
		}
	}
	return r;
}

static char *reader_string(char *str, int num, void *stream)
{
	struct parse_ctx *p = stream;
	size_t n = 0;

	if (*p->text == '\0')
		return NULL;
	while (p->text[n] && p->text[n] != '\n')
		n++;
	p->line++;
	p->too_long = n >= (size_t)num - 1;
	if (p->too_long)
		n = (size_t)num - 2;
	memcpy(str, p->text, n);
	str[n] = '\n';
	str[n + 1] = '\0';
	note_section(p, str);
	p->text += strcspn(p->text, "\n");
	if (*p->text == '\n')
		p->text++;
	return str;
}

static void config_defaults(struct config *c, const char *path)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->path, sizeof(c->path), "%s", path);
	gateway_defaults(&c->gw);
}

static int config_finish(struct parse_ctx *p, int rc)
{
	size_t i;

	if (rc < 0 && !p->failed)
		conf_error(p, 0, "cannot read", p->file);
	if (rc > 0 && !p->failed)
		conf_error(p, rc, "syntax error", NULL);
	if (p->failed)
		return -1;
	for (i = 0; i < sizeof(section_kinds) / sizeof(section_kinds[0]); i++) {
		const char *why = NULL;
		int line = 0;

		if (section_kinds[i].check && section_kinds[i].check(p->c, &why, &line) < 0) {
			conf_error(p, line, why, NULL);
			return -1;
		}
	}
	return 0;
}

int config_load(struct config *c, const char *path, struct conf_err *err)
{
	struct parse_ctx p = { .c = c, .err = err, .file = path };
	int rc;

	config_defaults(c, path);
	err->msg[0] = '\0';
	if (!(p.fp = fopen(path, "r"))) {
		snprintf(err->msg, sizeof(err->msg), "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = ini_parse_stream(reader_file, &p, ini_cb, &p);
	fclose(p.fp);
	if (config_finish(&p, rc) < 0) {
		config_free(c);
		return -1;
	}
	return 0;
}

int config_load_string(struct config *c, const char *name, const char *text, struct conf_err *err)
{
	struct parse_ctx p = { .c = c, .err = err, .file = name, .text = text };
	int rc;

	config_defaults(c, name);
	err->msg[0] = '\0';
	rc = ini_parse_stream(reader_string, &p, ini_cb, &p);
	if (config_finish(&p, rc) < 0) {
		config_free(c);
		return -1;
	}
	return 0;
}

void config_free(struct config *c)
{
	if (c->sas) {
		explicit_bzero(c->sas, c->n_sas * sizeof(*c->sas));
		free(c->sas);
	}
	c->sas = NULL;
	c->n_sas = 0;
	conf_ike_free(c);
}
