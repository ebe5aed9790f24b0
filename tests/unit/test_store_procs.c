/*
 * store across processes, as the master, workers and turnpikectl use it:
 * the parent keeps its store open over fork(), as the master does, and
 * every child opens its own and leaves by _exit() without touching the
 * inherited one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_store.h"

TestSuite(store_procs, .init = setup, .fini = teardown);

#define CHILDREN 8
#define TRIES    5

/* Child exit statuses above this say what went wrong. */
#define CHILD_FAILED 100

/* Blocks until the parent closes the write end, so that the children
 * race for the write lock instead of running one after another. */
static void wait_gate(int gate[2])
{
	char byte;

	close(gate[1]);
	if (read(gate[0], &byte, 1) < 0)
		_exit(CHILD_FAILED);
}

/* Tries TRIES allocations of quota key "shared" (or its own key) and
 * exits with how many were admitted. */
static void child_adds(int index, int gate[2], const struct store_limits *l,
                       bool own_key)
{
	struct store *mine;
	struct store_allocation a;
	char key[16];
	int admitted = 0, err;

	wait_gate(gate);
	if (store_open(dir, 0, &mine) != 0)
		_exit(CHILD_FAILED + 1);
	snprintf(key, sizeof(key), own_key ? "user%d" : "shared", index);
	for (int i = 0; i < TRIES; i++) {
		a = alloc("192.0.2.1", (uint16_t)(index * 100 + i), key,
		          (uint32_t)index);
		err = store_allocation_add(mine, &a, l);
		if (err == 0)
			admitted++;
		else if (err != EDQUOT)
			_exit(CHILD_FAILED + 2);
	}
	store_close(mine);
	_exit(admitted);
}

/* Runs CHILDREN children at once and returns the sum of their admitted
 * allocations. */
static int race(const struct store_limits *limits, bool own_keys)
{
	int gate[2], status, sum = 0;
	pid_t pids[CHILDREN];

	cr_assert_eq(pipe(gate), 0);
	for (int i = 0; i < CHILDREN; i++) {
		pids[i] = fork();
		cr_assert_neq(pids[i], -1);
		if (pids[i] == 0)
			child_adds(i, gate, limits, own_keys);
	}
	close(gate[0]);
	close(gate[1]);
	for (int i = 0; i < CHILDREN; i++) {
		cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
		cr_assert(WIFEXITED(status));
		cr_assert_lt(WEXITSTATUS(status), CHILD_FAILED, "child %d: %d",
		             i, WEXITSTATUS(status));
		sum += WEXITSTATUS(status);
	}
	return sum;
}

Test(store_procs, user_quota_holds_across_eight_writer_processes)
{
	struct store_limits limits = {.user_quota = 3};

	cr_assert_eq(race(&limits, false), 3);
	cr_assert_eq(count_of("shared"), 3);
	cr_assert_eq(total(), 3);
}

Test(store_procs, total_quota_holds_across_eight_writer_processes)
{
	struct store_limits limits = {.total_quota = 3};

	cr_assert_eq(race(&limits, true), 3);
	cr_assert_eq(total(), 3);
}

Test(store_procs, unlimited_writers_lose_no_allocation)
{
	cr_assert_eq(race(&unlimited, true), CHILDREN * TRIES);
	cr_assert_eq(total(), CHILDREN * TRIES);
	cr_assert_eq(count_of("user0"), TRIES);
}

/* The reader's side: sees the first allocation at open, then (after the
 * parent's signal) the second, and may not write. Exit 0 = all good. */
static void child_reads(int to_child[2], int to_parent[2])
{
	struct store *ro;
	struct store_allocation a = alloc("192.0.2.1", 9, "alice", 0);
	uint32_t n = 0;
	char byte = 'r';

	close(to_child[1]);
	close(to_parent[0]);
	if (store_open(dir, STORE_READ_ONLY, &ro) != 0)
		_exit(1);
	if (store_allocation_total(ro, &n) != 0 || n != 1)
		_exit(2);
	if (store_allocation_add(ro, &a, &unlimited) != EROFS ||
	    store_clear_live(ro) != EROFS ||
	    store_quota_set(ro, "a", 1) != EROFS)
		_exit(3);
	if (write(to_parent[1], &byte, 1) != 1 ||
	    read(to_child[0], &byte, 1) != 1)
		_exit(4);
	if (store_allocation_count(ro, "alice", &n) != 0 || n != 2)
		_exit(5);
	store_close(ro);
	_exit(0);
}

Test(store_procs, a_read_only_open_sees_what_the_writer_commits)
{
	struct store_allocation a = alloc("192.0.2.1", 1, "alice", 0),
	                        b = alloc("192.0.2.1", 2, "alice", 0);
	int to_child[2], to_parent[2], status;
	char byte = 'w';
	pid_t pid;

	cr_assert_eq(store_allocation_add(store, &a, &unlimited), 0);
	cr_assert_eq(pipe(to_child), 0);
	cr_assert_eq(pipe(to_parent), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0)
		child_reads(to_child, to_parent);
	close(to_parent[1]);
	cr_assert_eq(read(to_parent[0], &byte, 1), 1, "the reader failed");
	cr_assert_eq(store_allocation_add(store, &b, &unlimited), 0);
	cr_assert_eq(write(to_child[1], &byte, 1), 1);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 0, "reader step %d",
	             WEXITSTATUS(status));
	close(to_child[1]);
	close(to_parent[0]);
}

/* Dies inside a read transaction, leaving its reader slot behind. */
static int die_reading(const struct store_allocation *a, void *arg)
{
	_exit(0);
}

Test(store_procs, reader_check_frees_the_slot_of_a_dead_reader)
{
	struct store_allocation a = alloc("192.0.2.1", 1, "alice", 0);
	struct store *mine;
	int status, dead = -1;
	pid_t pid;

	cr_assert_eq(store_allocation_add(store, &a, &unlimited), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		if (store_open(dir, 0, &mine) == 0)
			store_allocation_foreach(mine, die_reading, NULL);
		_exit(1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(WEXITSTATUS(status), 0);
	cr_assert_eq(store_reader_check(store, &dead), 0);
	cr_assert_eq(dead, 1);
	cr_assert_eq(store_reader_check(store, &dead), 0);
	cr_assert_eq(dead, 0);
}
