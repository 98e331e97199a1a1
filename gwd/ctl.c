/*
 * gwd's control socket: a unix stream socket at [gateway] control (mode
 * 0600). One command line in, one answer out, then the connection closes.
 * The answer's last line is "ok" or "error: <why>".
 *
 *   rekey SPI            rekey the Child SA with this (in or out) SPI
 *   rekey-ike SPI_I      rekey the IKE SA (initiator SPI, hex)
 *   delete-ike SPI_I     delete the IKE SA and its Child SAs
 *   msgid-sync SPI_I     start an RFC 6311 message-ID sync
 *   initiate CONN        start an IKE SA for a [conn]
 *
 * The listening socket is polled by the loop; a client gets 200 ms to
 * send its line, which bounds how long the data plane can be held up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gwd.h"
#include "log.h"

static struct ike_sa *sa_by_spi_i(struct gwd *g, const char *arg)
{
	unsigned long long spi;
	char *end;
	unsigned i;

	errno = 0;
	spi = strtoull(arg, &end, 16);
	if (errno || *end || !g->ike.sas)
		return NULL;
	for (i = 0; i < g->ike.cap; i++)
		if (g->ike.sas[i].used && g->ike.sas[i].spi_i == spi)
			return &g->ike.sas[i];
	return NULL;
}

static int ctl_rc(int rc, char *out, size_t cap)
{
	if (rc < 0)
		snprintf(out, cap, "error: %s\n", strerror(-rc));
	else
		snprintf(out, cap, "ok\n");
	return rc;
}

void ctl_exec(struct gwd *g, char *line, char *out, size_t cap)
{
	char *cmd = strtok(line, " \t\r\n"), *arg = strtok(NULL, " \t\r\n");
	struct ike_sa *sa;

	if (!cmd || !arg) {
		snprintf(out, cap, "error: usage: rekey SPI | rekey-ike SPI_I | delete-ike SPI_I | "
				   "msgid-sync SPI_I | initiate CONN\n");
		return;
	}
	if (!g->ike.sas) {
		snprintf(out, cap, "error: no [conn] configured: IKE is off\n");
		return;
	}
	g->ike.now = now_ms();
	if (!strcmp(cmd, "rekey")) {
		unsigned long spi;
		char *end;

		errno = 0;
		spi = strtoul(arg, &end, 0);
		if (errno || *end || spi > UINT32_MAX) {
			snprintf(out, cap, "error: bad SPI '%s'\n", arg);
			return;
		}
		ctl_rc(ike_rekey_child(&g->ike, (uint32_t)spi), out, cap);
		return;
	}
	if (!strcmp(cmd, "initiate")) {
		const struct conf_ike_conn *c = conf_ike_conn_by_name(&g->cfg.ike, arg);

		ctl_rc(c ? ike_initiate(&g->ike, c) : -ENOENT, out, cap);
		return;
	}
	if (!(sa = sa_by_spi_i(g, arg))) {
		snprintf(out, cap, "error: no IKE SA with initiator SPI '%s'\n", arg);
		return;
	}
	if (!strcmp(cmd, "rekey-ike")) {
		ctl_rc(ike_rekey_ike(&g->ike, sa->spi_i), out, cap);
	} else if (!strcmp(cmd, "msgid-sync")) {
		ctl_rc(ike_msgid_sync(&g->ike, sa), out, cap);
	} else if (!strcmp(cmd, "delete-ike")) {
		ctl_rc(ike_delete_ike(&g->ike, sa), out, cap);
	} else {
		snprintf(out, cap, "error: unknown command '%s'\n", cmd);
	}
}

static void on_ctl(uv_poll_t *h, int status, int events)
{
	struct gwd *g = h->data;
	struct timeval tv = { 0, 200000 };
	char line[256], out[512];
	size_t n = 0;
	int fd;

	if (status < 0 || !(events & UV_READABLE))
		return;
	if ((fd = accept4(g->ctl_fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (n < sizeof(line) - 1) {
		ssize_t r = read(fd, line + n, sizeof(line) - 1 - n);

		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(line, '\n', n))
			break;
	}
	line[n] = '\0';
	ctl_exec(g, line, out, sizeof(out));
	if (write(fd, out, strlen(out)) < 0)
		log_warn("control socket write");
	close(fd);
}

static int ctl_in_use(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), live;

	if (fd < 0)
		return 0;
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return live;
}

int ctl_start(struct gwd *g)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = g->cfg.gw.control;
	char dir[sizeof(sun.sun_path)];
	char *slash;
	int rc;

	g->ctl_fd = -1;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0700); /* /run/hagw on a fresh boot */
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (ctl_in_use(&sun))
		return -EADDRINUSE; /* another gwd answers there: leave it */
	if ((g->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	unlink(path); /* a stale socket of an earlier gwd */
	if (bind(g->ctl_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, 0600) < 0 ||
	    listen(g->ctl_fd, 8) < 0) {
		rc = -errno;
		close(g->ctl_fd);
		g->ctl_fd = -1;
		return rc;
	}
	uv_poll_init(g->loop, &g->ctl_poll, g->ctl_fd);
	g->ctl_poll.data = g;
	uv_poll_start(&g->ctl_poll, UV_READABLE, on_ctl);
	return 0;
}

void ctl_stop(struct gwd *g)
{
	if (g->ctl_fd < 0)
		return;
	uv_poll_stop(&g->ctl_poll);
	uv_close((uv_handle_t *)&g->ctl_poll, NULL);
	close(g->ctl_fd);
	unlink(g->cfg.gw.control);
	g->ctl_fd = -1;
}
