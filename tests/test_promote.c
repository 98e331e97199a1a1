/* common/promote.c and common/vrrp_status.c against a real shm table. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "promote.h"
#include "sa_table.h"
#include "vrrp_status.h"

static char shm[64];

static int setup(void **state)
{
	static struct sa_table t;

	snprintf(shm, sizeof(shm), "/hagw-test-promote-%d", (int)getpid());
	sa_table_unlink(shm);
	if (sa_table_create(&t, shm, 1, 8, 2) < 0)
		return -1;
	*state = &t;
	return 0;
}

static int teardown(void **state)
{
	sa_table_detach(*state);
	sa_table_unlink(shm);
	return 0;
}

static int add_child(struct sa_table *t, int publish)
{
	int idx;

	sa_table_lock(t);
	idx = sa_table_alloc_child(t);
	if (idx >= 0 && publish)
		sa_table_publish_child(t, (uint32_t)idx);
	sa_table_unlock(t);
	return idx;
}

/* Step 1 freezes sync; step 6 moves the activation of installed SAs only. */
static void test_prepare(void **state)
{
	struct sa_table *t = *state;
	struct promote_report r;
	struct config c;
	int a, b, larval;

	memset(&c, 0, sizeof(c));
	a = add_child(t, 1);
	b = add_child(t, 1);
	larval = add_child(t, 0);
	assert_true(a >= 0 && b >= 0 && larval >= 0);
	atomic_store(&t->child[b].activation, 41);

	assert_int_equal(promote_prepare(t, &c, &r), 0);
	assert_int_equal(atomic_load(&t->hdr->sync_frozen), 1);
	assert_int_equal(r.child_sas, 2);
	assert_int_equal(r.activated, 2);
	assert_int_equal(atomic_load(&t->child[a].activation), 1);
	assert_int_equal(atomic_load(&t->child[b].activation), 42);
	assert_int_equal(atomic_load(&t->child[larval].activation), 0);

	promote_prepare(t, &c, &r);
	assert_int_equal(atomic_load(&t->child[a].activation), 2);
	promote_release(t);
	assert_int_equal(atomic_load(&t->hdr->sync_frozen), 0);
}

static void test_status_block(void **state)
{
	struct sa_table *t = *state;
	struct vrrp_status s, got;

	assert_int_equal(vrrp_status_read(t, &got), 0);
	assert_int_equal(got.version, 0); /* never written */
	memset(&s, 0, sizeof(s));
	s.version = VRRP_STATUS_VERSION;
	s.state = 2;
	s.vrid = 51;
	s.master_addr = 0xc0a83201;
	s.to_master = 3;
	snprintf(s.reason, sizeof(s.reason), "master down timer expired");
	vrrp_status_publish(t, &s);
	assert_int_equal(vrrp_status_read(t, &got), 0);
	assert_int_equal(atomic_load(&got.seq) & 1, 0);
	assert_memory_equal((uint8_t *)&got + 4, (uint8_t *)&s + 4, sizeof(s) - 4);
	assert_string_equal(vrrp_status_state_name(got.state), "MASTER");
	/* a writer caught in the middle: the reader gives up, never half */
	atomic_fetch_add(&((struct vrrp_status *)(void *)t->hdr->vrrp_status)->seq, 1);
	assert_int_equal(vrrp_status_read(t, &got), -EAGAIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prepare),
		cmocka_unit_test(test_status_block),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
