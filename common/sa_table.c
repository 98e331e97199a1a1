#include "sa_table.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include <sodium.h>

_Static_assert(sizeof(struct sa_ts) == 8, "sa_ts layout");
_Static_assert(sizeof(struct sa_keymat) == 36, "sa_keymat layout");
_Static_assert(offsetof(struct child_sa_rec, replay) == 64,
	       "a Child SA's hot fields fill exactly its first cache line");
_Static_assert(sizeof(struct child_sa_rec) % 64 == 0, "Child SA records are line-aligned");
_Static_assert(SA_REPLAY_WORDS && !(SA_REPLAY_WORDS & (SA_REPLAY_WORDS - 1)),
	       "the replay ring must be a power of two words (RFC 6479)");

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

size_t sa_table_size(uint32_t child_capacity, uint32_t ike_capacity)
{
	return align64(sizeof(struct sa_table_hdr)) +
	       align64((size_t)ike_capacity * sizeof(struct ike_sa_rec)) +
	       (size_t)child_capacity * sizeof(struct child_sa_rec) +
	       align64(sizeof(struct sa_moved) + (size_t)child_capacity * sizeof(uint16_t));
}

static void sa_table_map_parts(struct sa_table *t)
{
	uint8_t *base = (uint8_t *)t->hdr;
	size_t off = align64(sizeof(struct sa_table_hdr));

	t->ike = (struct ike_sa_rec *)(base + off);
	off += align64((size_t)t->hdr->ike_capacity * sizeof(struct ike_sa_rec));
	t->child = (struct child_sa_rec *)(base + off);
	off += (size_t)t->hdr->child_capacity * sizeof(struct child_sa_rec);
	t->moved = (struct sa_moved *)(base + off);
}

void sa_moved_start(struct sa_table *t, uint32_t packet_threshold)
{
	uint32_t k = 0;

	while (k < 31 && (2ull << k) <= packet_threshold)
		k++;
	atomic_store(&t->moved->shift, packet_threshold ? k + 1 : 0);
}

static int sa_table_init_lock(struct sa_table_hdr *h)
{
	pthread_mutexattr_t a;
	int rc;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	rc = pthread_mutex_init(&h->lock, &a);
	pthread_mutexattr_destroy(&a);
	return -rc;
}

static int sa_table_check(const struct sa_table_hdr *h, size_t len, char *errbuf, size_t errlen)
{
	if (len < sizeof(*h) || h->magic != SA_TABLE_MAGIC) {
		snprintf(errbuf, errlen, "not an SA table (bad magic)");
		return -EPROTO;
	}
	if (h->layout_version != SA_TABLE_LAYOUT_VERSION ||
	    h->hdr_size != sizeof(struct sa_table_hdr) ||
	    h->child_rec_size != sizeof(struct child_sa_rec) ||
	    h->ike_rec_size != sizeof(struct ike_sa_rec)) {
		snprintf(errbuf, errlen,
			 "SA table layout version %u (sizes %u/%u/%u) does not match this "
			 "program's version %u (sizes %zu/%zu/%zu); stop every daemon of "
			 "this member and remove /dev/shm of the table",
			 h->layout_version, h->hdr_size, h->child_rec_size, h->ike_rec_size,
			 SA_TABLE_LAYOUT_VERSION, sizeof(struct sa_table_hdr),
			 sizeof(struct child_sa_rec), sizeof(struct ike_sa_rec));
		return -EPROTO;
	}
	if (len < sa_table_size(h->child_capacity, h->ike_capacity)) {
		snprintf(errbuf, errlen, "SA table is shorter than its capacity says");
		return -EPROTO;
	}
	return 0;
}

static int sa_table_map(struct sa_table *t, int fd, size_t len, int writable)
{
	void *p = mmap(NULL, len, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	t->hdr = p;
	t->map_len = len;
	return 0;
}

int sa_table_attach(struct sa_table *t, const char *name, int writable, char *errbuf, size_t errlen)
{
	struct stat st;
	int fd, rc, tries;

	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	fd = shm_open(name, writable ? O_RDWR : O_RDONLY, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(errbuf, errlen, "shm %s: %s", name, strerror(errno));
		return rc;
	}
	/* A creator may still be initialising: wait briefly for the magic. */
	for (tries = 0; tries < 200; tries++) {
		if (fstat(fd, &st) < 0) {
			rc = -errno;
			goto out;
		}
		if ((size_t)st.st_size >= sizeof(struct sa_table_hdr)) {
			if (t->hdr == NULL && (rc = sa_table_map(t, fd, (size_t)st.st_size, writable)) < 0)
				goto out;
			if (atomic_load((_Atomic uint32_t *)&t->hdr->magic) == SA_TABLE_MAGIC)
				break;
		}
		nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
	}
	if (t->hdr == NULL) {
		snprintf(errbuf, errlen, "shm %s: empty", name);
		rc = -EPROTO;
		goto out;
	}
	if ((rc = sa_table_check(t->hdr, t->map_len, errbuf, errlen)) < 0) {
		munmap(t->hdr, t->map_len);
		t->hdr = NULL;
		goto out;
	}
	sa_table_map_parts(t);
	rc = 0;
out:
	close(fd);
	return rc;
}

int sa_table_create(struct sa_table *t, const char *name, uint32_t member_id,
		    uint32_t child_capacity, uint32_t ike_capacity)
{
	size_t len = sa_table_size(child_capacity, ike_capacity);
	char err[256];
	int fd, rc;

	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 && errno == EEXIST) {
		rc = sa_table_attach(t, name, 1, err, sizeof(err));
		if (rc < 0) {
			log_warnx("%s", err);
			return rc;
		}
		if (t->hdr->child_capacity != child_capacity || t->hdr->ike_capacity != ike_capacity ||
		    t->hdr->member_id != member_id) {
			log_warnx("shm %s exists with member %u and capacity %u/%u; the config says "
				  "member %u and %u/%u",
				  name, t->hdr->member_id, t->hdr->child_capacity, t->hdr->ike_capacity,
				  member_id, child_capacity, ike_capacity);
			sa_table_detach(t);
			return -EEXIST;
		}
		return 0;
	}
	if (fd < 0)
		return -errno;
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	if (fchmod(fd, 0600) < 0 || ftruncate(fd, (off_t)len) < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = sa_table_map(t, fd, len, 1)) < 0)
		goto fail;
	close(fd);

	struct sa_table_hdr *h = t->hdr;
	h->layout_version = SA_TABLE_LAYOUT_VERSION;
	h->hdr_size = sizeof(struct sa_table_hdr);
	h->child_rec_size = sizeof(struct child_sa_rec);
	h->ike_rec_size = sizeof(struct ike_sa_rec);
	h->child_capacity = child_capacity;
	h->ike_capacity = ike_capacity;
	h->member_id = member_id;
	atomic_store(&h->role, SA_ROLE_STANDBY);
	if ((rc = sa_table_init_lock(h)) < 0) {
		sa_table_detach(t);
		shm_unlink(name);
		return rc;
	}
	sa_table_map_parts(t);
	/* The magic goes last: attachers wait for it. */
	atomic_store((_Atomic uint32_t *)&h->magic, SA_TABLE_MAGIC);
	return 0;
fail:
	close(fd);
	shm_unlink(name);
	return rc;
}

void sa_table_detach(struct sa_table *t)
{
	if (t->hdr)
		munmap(t->hdr, t->map_len);
	t->hdr = NULL;
	t->ike = NULL;
	t->child = NULL;
}

int sa_table_unlink(const char *name)
{
	return shm_unlink(name) < 0 ? -errno : 0;
}

/* A writer that died inside a record left its seqlock odd; make every such
 * record even again so readers do not spin. The record is as it was left. */
static void sa_table_repair(struct sa_table *t)
{
	uint32_t i;

	for (i = 0; i < t->hdr->child_capacity; i++)
		if (atomic_load(&t->child[i].seq) & 1)
			atomic_fetch_add(&t->child[i].seq, 1);
	for (i = 0; i < t->hdr->ike_capacity; i++)
		if (atomic_load(&t->ike[i].seq) & 1)
			atomic_fetch_add(&t->ike[i].seq, 1);
}

void sa_table_lock(struct sa_table *t)
{
	int rc = pthread_mutex_lock(&t->hdr->lock);

	if (rc == EOWNERDEAD) {
		log_warnx("sa table: previous writer died holding the lock; repairing");
		sa_table_repair(t);
		pthread_mutex_consistent(&t->hdr->lock);
	} else if (rc != 0) {
		errno = rc;
		fatal("sa table lock");
	}
}

void sa_table_unlock(struct sa_table *t)
{
	pthread_mutex_unlock(&t->hdr->lock);
}

void sa_rec_write_begin(_Atomic uint32_t *seq)
{
	atomic_fetch_add_explicit(seq, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

void sa_rec_write_end(_Atomic uint32_t *seq)
{
	atomic_thread_fence(memory_order_release);
	atomic_fetch_add_explicit(seq, 1, memory_order_relaxed);
}

/* Allocation keeps no free list in shm: a scan is cheap next to an IKE
 * exchange, and a list would be one more thing a dead writer can corrupt. */
int sa_table_alloc_child(struct sa_table *t)
{
	return sa_table_alloc_child_from(t, 0);
}

/* Scans from `start` round to start - 1: a caller that fills the table in
 * bulk (syncd on a standby) passes the slot after its last one, so filling
 * N slots costs N probes, not N^2/2. */
int sa_table_alloc_child_from(struct sa_table *t, uint32_t start)
{
	uint32_t cap = t->hdr->child_capacity, k;

	for (k = 0; k < cap; k++) {
		uint32_t i = (uint32_t)(((uint64_t)start + k) % cap);
		struct child_sa_rec *r = &t->child[i];
		uint32_t gen;

		if (r->state != SA_STATE_FREE)
			continue;
		gen = r->gen + 1;
		sa_rec_write_begin(&r->seq);
		memset((uint8_t *)r + offsetof(struct child_sa_rec, gen), 0,
		       sizeof(*r) - offsetof(struct child_sa_rec, gen));
		r->gen = gen;
		r->state = SA_STATE_LARVAL;
		sa_rec_write_end(&r->seq);
		return (int)i;
	}
	return -ENOSPC;
}

int sa_table_alloc_ike(struct sa_table *t)
{
	return sa_table_alloc_ike_from(t, 0);
}

int sa_table_alloc_ike_from(struct sa_table *t, uint32_t start)
{
	uint32_t cap = t->hdr->ike_capacity, k;

	for (k = 0; k < cap; k++) {
		uint32_t i = (uint32_t)(((uint64_t)start + k) % cap);
		struct ike_sa_rec *r = &t->ike[i];
		uint32_t gen;

		if (r->state != SA_STATE_FREE)
			continue;
		gen = r->gen + 1;
		sa_rec_write_begin(&r->seq);
		memset((uint8_t *)r + offsetof(struct ike_sa_rec, gen), 0,
		       sizeof(*r) - offsetof(struct ike_sa_rec, gen));
		r->gen = gen;
		r->state = SA_STATE_LARVAL;
		sa_rec_write_end(&r->seq);
		return (int)i;
	}
	return -ENOSPC;
}

void sa_table_publish_child(struct sa_table *t, uint32_t idx)
{
	struct child_sa_rec *r = &t->child[idx];

	sa_rec_write_begin(&r->seq);
	r->state = SA_STATE_INSTALLED;
	sa_rec_write_end(&r->seq);
	atomic_fetch_add(&t->hdr->child_count, 1);
	atomic_fetch_add(&t->hdr->table_gen, 1);
}

void sa_table_free_child(struct sa_table *t, uint32_t idx)
{
	struct child_sa_rec *r = &t->child[idx];
	uint32_t was = r->state;

	sa_rec_write_begin(&r->seq);
	sodium_memzero(&r->key_in, sizeof(r->key_in));
	sodium_memzero(&r->key_out, sizeof(r->key_out));
	r->state = SA_STATE_FREE;
	sa_rec_write_end(&r->seq);
	if (was == SA_STATE_INSTALLED || was == SA_STATE_REKEYED)
		atomic_fetch_sub(&t->hdr->child_count, 1);
	atomic_fetch_add(&t->hdr->table_gen, 1);
}

void sa_table_publish_ike(struct sa_table *t, uint32_t idx)
{
	struct ike_sa_rec *r = &t->ike[idx];

	sa_rec_write_begin(&r->seq);
	r->state = SA_STATE_INSTALLED;
	sa_rec_write_end(&r->seq);
	atomic_fetch_add(&t->hdr->ike_count, 1);
	atomic_fetch_add(&t->hdr->table_gen, 1);
}

void sa_table_free_ike(struct sa_table *t, uint32_t idx)
{
	struct ike_sa_rec *r = &t->ike[idx];
	uint32_t was = r->state;

	sa_rec_write_begin(&r->seq);
	sodium_memzero(r->sk_d, sizeof(r->sk_d));
	sodium_memzero(r->sk_ei, sizeof(r->sk_ei));
	sodium_memzero(r->sk_er, sizeof(r->sk_er));
	sodium_memzero(r->sk_pi, sizeof(r->sk_pi));
	sodium_memzero(r->sk_pr, sizeof(r->sk_pr));
	r->state = SA_STATE_FREE;
	sa_rec_write_end(&r->seq);
	if (was == SA_STATE_INSTALLED)
		atomic_fetch_sub(&t->hdr->ike_count, 1);
	atomic_fetch_add(&t->hdr->table_gen, 1);
}

/* Copy a record under its seqlock. The copy is made with plain loads of a
 * record another process may be writing: the retry on a moved sequence
 * count is what makes the result consistent. */
static int seq_copy(const _Atomic uint32_t *seqp, const void *src, void *dst, size_t len)
{
	int tries;

	for (tries = 0; tries < 10000; tries++) {
		uint32_t s1 = atomic_load_explicit(seqp, memory_order_acquire);

		if (s1 & 1)
			continue;
		memcpy(dst, src, len);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(seqp, memory_order_relaxed) == s1)
			return 0;
	}
	return -EAGAIN;
}

int sa_table_read_child(const struct sa_table *t, uint32_t idx, struct child_sa_rec *out)
{
	if (idx >= t->hdr->child_capacity)
		return -ERANGE;
	return seq_copy(&t->child[idx].seq, &t->child[idx], out, sizeof(*out));
}

int sa_table_read_ike(const struct sa_table *t, uint32_t idx, struct ike_sa_rec *out)
{
	if (idx >= t->hdr->ike_capacity)
		return -ERANGE;
	return seq_copy(&t->ike[idx].seq, &t->ike[idx], out, sizeof(*out));
}

struct child_sa_rec *sa_child_rec_new(void)
{
	struct child_sa_rec *r = aligned_alloc(_Alignof(struct child_sa_rec), sizeof(*r));

	if (r)
		memset(r, 0, sizeof(*r));
	return r;
}

int sa_table_find_child_by_spi(const struct sa_table *t, uint32_t spi)
{
	uint32_t i;

	for (i = 0; i < t->hdr->child_capacity; i++) {
		const struct child_sa_rec *r = &t->child[i];

		if (r->state != SA_STATE_FREE && r->state != SA_STATE_LARVAL &&
		    (r->spi_in == spi || r->spi_out == spi))
			return (int)i;
	}
	return -ENOENT;
}

const char *sa_alg_name(int alg)
{
	switch (alg) {
	case SA_ALG_AES_GCM_16_256: return "aes256gcm16";
	case SA_ALG_CHACHA20_POLY1305: return "chacha20poly1305";
	default: return "none";
	}
}

int sa_alg_from_name(const char *s)
{
	if (!strcmp(s, "aes256gcm16") || !strcmp(s, "aes-gcm-16-256"))
		return SA_ALG_AES_GCM_16_256;
	if (!strcmp(s, "chacha20poly1305") || !strcmp(s, "chacha20-poly1305"))
		return SA_ALG_CHACHA20_POLY1305;
	return -1;
}

const char *sa_role_name(int role)
{
	return role == SA_ROLE_ACTIVE ? "ACTIVE" : "STANDBY";
}

const char *sa_state_name(int state)
{
	switch (state) {
	case SA_STATE_FREE: return "free";
	case SA_STATE_LARVAL: return "larval";
	case SA_STATE_INSTALLED: return "installed";
	case SA_STATE_REKEYED: return "rekeyed";
	default: return "?";
	}
}
