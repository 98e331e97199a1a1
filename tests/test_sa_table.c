/* The shared SA table: create and attach, layout checks, slot life cycle,
 * consistent reads, robust lock recovery. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "sa_table.h"

static char name[64];

static int setup(void **state)
{
	snprintf(name, sizeof(name), "/hagw-unit-%d", (int)getpid());
	sa_table_unlink(name);
	return 0;
}

static int teardown(void **state)
{
	sa_table_unlink(name);
	return 0;
}

static void test_create_attach(void **state)
{
	struct sa_table a, b, c;
	struct stat st;
	char err[256], path[96];

	assert_int_equal(sa_table_create(&a, name, 2, 100, 10), 0);
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(a.hdr->member_id, 2);
	assert_int_equal(atomic_load(&a.hdr->role), SA_ROLE_STANDBY);
	/* a second daemon of the member attaches to the same table */
	assert_int_equal(sa_table_create(&b, name, 2, 100, 10), 0);
	assert_ptr_not_equal(a.hdr, b.hdr);
	atomic_store(&a.hdr->epoch, 42);
	assert_int_equal(atomic_load(&b.hdr->epoch), 42);
	/* a config that disagrees is refused */
	assert_int_equal(sa_table_create(&c, name, 3, 100, 10), -EEXIST);
	assert_int_equal(sa_table_create(&c, name, 2, 200, 10), -EEXIST);
	/* read-only attach (gwctl) */
	assert_int_equal(sa_table_attach(&c, name, 0, err, sizeof(err)), 0);
	assert_int_equal(c.hdr->child_capacity, 100);
	sa_table_detach(&c);
	sa_table_detach(&b);
	sa_table_detach(&a);
	assert_int_equal(sa_table_attach(&c, "/hagw-unit-none", 0, err, sizeof(err)), -ENOENT);
}

/* A table written by another layout version is a clear error. */
static void test_layout_mismatch(void **state)
{
	struct sa_table a, b;
	char err[512];

	assert_int_equal(sa_table_create(&a, name, 1, 10, 2), 0);
	a.hdr->layout_version = SA_TABLE_LAYOUT_VERSION + 1;
	assert_int_equal(sa_table_attach(&b, name, 0, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "layout version"));
	a.hdr->layout_version = SA_TABLE_LAYOUT_VERSION;
	a.hdr->magic = 0x12345678;
	assert_int_equal(sa_table_attach(&b, name, 0, err, sizeof(err)), -EPROTO);
	sa_table_detach(&a);

	/* garbage that is not a table at all */
	sa_table_unlink(name);
	int fd = shm_open(name, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 100), 0);
	close(fd);
	assert_int_equal(sa_table_attach(&b, name, 0, err, sizeof(err)), -EPROTO);
}

static void test_slots(void **state)
{
	struct sa_table t;
	struct child_sa_rec *copy = malloc(sizeof(*copy));
	uint64_t gen0;
	int i, j;

	assert_int_equal(sa_table_create(&t, name, 1, 3, 2), 0);
	gen0 = atomic_load(&t.hdr->table_gen);
	sa_table_lock(&t);
	i = sa_table_alloc_child(&t);
	assert_int_equal(i, 0);
	t.child[i].spi_in = 0x500;
	sa_table_publish_child(&t, (uint32_t)i);
	assert_int_equal(sa_table_alloc_child(&t), 1);
	assert_int_equal(sa_table_alloc_child(&t), 2);
	assert_int_equal(sa_table_alloc_child(&t), -ENOSPC);
	sa_table_free_child(&t, 1);
	j = sa_table_alloc_child(&t);
	assert_int_equal(j, 1);
	assert_int_equal(t.child[1].gen, 2); /* the slot's second life */
	sa_table_unlock(&t);
	assert_true(atomic_load(&t.hdr->table_gen) > gen0);
	assert_int_equal(atomic_load(&t.hdr->child_count), 1);
	assert_int_equal(sa_table_find_child_by_spi(&t, 0x500), 0);
	assert_int_equal(sa_table_find_child_by_spi(&t, 0x501), -ENOENT);
	assert_int_equal(sa_table_read_child(&t, 0, copy), 0);
	assert_int_equal(copy->spi_in, 0x500);
	assert_int_equal(copy->state, SA_STATE_INSTALLED);
	/* a record left odd (a writer mid-change) is not returned */
	atomic_fetch_add(&t.child[0].seq, 1);
	assert_int_equal(sa_table_read_child(&t, 0, copy), -EAGAIN);
	atomic_fetch_add(&t.child[0].seq, 1);
	assert_int_equal(sa_table_read_child(&t, 0, copy), 0);
	assert_int_equal(sa_table_read_child(&t, 99, copy), -ERANGE);
	sa_table_detach(&t);
	free(copy);
}

/* A writer that dies holding the lock, mid-record, does not wedge the
 * others: the lock is recovered and the record made readable. */
static void test_dead_writer(void **state)
{
	struct sa_table t;
	struct child_sa_rec *copy = malloc(sizeof(*copy));
	pid_t pid;
	int st;

	assert_int_equal(sa_table_create(&t, name, 1, 4, 1), 0);
	pid = fork();
	if (pid == 0) {
		struct sa_table c;

		if (sa_table_create(&c, name, 1, 4, 1) < 0)
			_exit(2);
		sa_table_lock(&c);
		sa_rec_write_begin(&c.child[2].seq);
		_exit(0); /* dies holding both */
	}
	waitpid(pid, &st, 0);
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(sa_table_read_child(&t, 2, copy), -EAGAIN);
	sa_table_lock(&t);   /* EOWNERDEAD: repaired */
	sa_table_unlock(&t);
	assert_int_equal(sa_table_read_child(&t, 2, copy), 0);
	sa_table_detach(&t);
	free(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_attach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layout_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_writer, setup, teardown),
	};

	return cmocka_run_group_tests_name("sa_table", tests, NULL, NULL);
}
