/*
 * store: live allocations, quotas, users and overrides in one process,
 * each test in its own LMDB environment under /tmp.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <lmdb.h> /* only to forge a store of another version */
#include <sys/stat.h>

#include "turnpike/net.h"
#include "test_store.h"

TestSuite(store, .init = setup, .fini = teardown);

Test(store, open_creates_the_directory_with_mode_0750)
{
	char sub[96];
	struct store *other;
	struct stat st;

	umask(022);
	snprintf(sub, sizeof(sub), "%s/state", dir);
	cr_assert_eq(store_open(sub, 0, &other), 0);
	cr_assert_eq(stat(sub, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0750);
	store_close(other);
	cr_assert_eq(store_open(sub, 0, &other), 0, "reopen");
	store_close(other);
}

Test(store, open_fails_cleanly_when_the_directory_cannot_be_made)
{
	char path[128];
	struct store *other = (struct store *)&other;
	FILE *f;

	snprintf(path, sizeof(path), "%s/file", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fclose(f);
	cr_assert_eq(store_open(path, 0, &other), ENOTDIR);
	cr_assert_null(other);
	strcat(path, "/below");
	cr_assert_eq(store_open(path, 0, &other), ENOTDIR);
	cr_assert_eq(store_open("/nonexistent/turnpike/x", 0, &other), ENOENT);
	cr_assert_eq(store_open("/nonexistent", STORE_READ_ONLY, &other),
	             ENOENT);
	cr_assert_eq(store_open(dir, 0x100, &other), EINVAL);
	store_close(NULL);
}

/* Closes the fixture's store and opens its live environment raw, in a
 * write transaction on the metadata table: to forge what another version
 * would have written. */
static void meta_begin(MDB_env **env, MDB_txn **txn, MDB_dbi *meta)
{
	store_close(store);
	store = NULL;
	cr_assert_eq(mdb_env_create(env), 0);
	cr_assert_eq(mdb_env_set_maxdbs(*env, 8), 0);
	cr_assert_eq(mdb_env_open(*env, dir, 0, 0640), 0);
	cr_assert_eq(mdb_txn_begin(*env, NULL, 0, txn), 0);
	cr_assert_eq(mdb_dbi_open(*txn, "meta", 0, meta), 0);
}

Test(store, refuses_a_store_of_another_version)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta;
	uint32_t version = 99;
	MDB_val key = {7, "version"}, value = {4, &version};
	struct store *other;

	meta_begin(&env, &txn, &meta);
	cr_assert_eq(mdb_put(txn, meta, &key, &value, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	cr_assert_eq(store_open(dir, 0, &other), EPROTO);
	cr_assert_eq(store_open(dir, STORE_READ_ONLY, &other), EPROTO);
}

Test(store, add_counts_per_quota_key_and_in_total)
{
	struct store_allocation a = alloc("192.0.2.1", 1000, "alice", 0),
	                        b = alloc("192.0.2.1", 1001, "alice", 1),
	                        c = alloc("192.0.2.2", 1000, "bob", 0);

	cr_assert_eq(count_of("alice"), 0);
	cr_assert_eq(store_allocation_add(store, &a, &unlimited), 0);
	cr_assert_eq(store_allocation_add(store, &b, &unlimited), 0);
	cr_assert_eq(store_allocation_add(store, &c, &unlimited), 0);
	cr_assert_eq(count_of("alice"), 2);
	cr_assert_eq(count_of("bob"), 1);
	cr_assert_eq(total(), 3);
}

Test(store, a_held_five_tuple_is_eexist_even_for_another_worker)
{
	struct store_allocation a = alloc("192.0.2.1", 1000, "alice", 0),
	                        b = alloc("192.0.2.1", 1000, "bob", 3);

	cr_assert_eq(store_allocation_add(store, &a, &unlimited), 0);
	cr_assert_eq(store_allocation_add(store, &b, &unlimited), EEXIST);
	b.tuple.transport = 6; /* the same addresses over TCP are another */
	cr_assert_eq(store_allocation_add(store, &b, &unlimited), 0);
	cr_assert_eq(count_of("alice"), 1);
	cr_assert_eq(total(), 2);
}

Test(store, ipv6_tuples_are_distinct_and_mapped_ipv4_is_ipv4)
{
	struct store_allocation a = alloc("2001:db8::1", 1000, "alice", 0),
	                        b = alloc("2001:db8::2", 1000, "alice", 0),
	                        c = alloc("192.0.2.9", 7, "carol", 0),
	                        d = alloc("::ffff:192.0.2.9", 7, "carol", 0);

	cr_assert_eq(store_allocation_add(store, &a, &unlimited), 0);
	cr_assert_eq(store_allocation_add(store, &b, &unlimited), 0);
	cr_assert_eq(store_allocation_add(store, &a, &unlimited), EEXIST);
	cr_assert_eq(store_allocation_add(store, &c, &unlimited), 0);
	d.tuple.listener = c.tuple.listener;
	cr_assert_eq(store_allocation_add(store, &d, &unlimited), EEXIST);
	cr_assert_eq(store_allocation_delete(store, &a.tuple), 0);
	cr_assert_eq(count_of("alice"), 1);
}

Test(store, user_quota_is_edquot_and_total_quota_too)
{
	struct store_limits limits = {.user_quota = 2, .total_quota = 3};
	struct store_allocation a[4] = {alloc("192.0.2.1", 1, "alice", 0),
	                                alloc("192.0.2.1", 2, "alice", 0),
	                                alloc("192.0.2.1", 3, "alice", 0),
	                                alloc("192.0.2.1", 4, "bob", 0)};
	struct store_allocation e = alloc("192.0.2.1", 5, "eve", 0);

	cr_assert_eq(store_allocation_add(store, &a[0], &limits), 0);
	cr_assert_eq(store_allocation_add(store, &a[1], &limits), 0);
	cr_assert_eq(store_allocation_add(store, &a[2], &limits), EDQUOT);
	cr_assert_eq(store_allocation_add(store, &a[3], &limits), 0);
	cr_assert_eq(store_allocation_add(store, &e, &limits), EDQUOT);
	cr_assert_eq(count_of("alice"), 2);
	cr_assert_eq(count_of("eve"), 0);
	cr_assert_eq(total(), 3);
}

Test(store, a_quota_override_replaces_the_configured_quota)
{
	struct store_limits limits = {.user_quota = 1};
	struct store_allocation a = alloc("192.0.2.1", 1, "alice", 0),
	                        b = alloc("192.0.2.1", 2, "alice", 0),
	                        c = alloc("192.0.2.1", 3, "alice", 0);
	uint32_t quota;

	cr_assert_eq(store_quota_get(store, "alice", &quota), ENOENT);
	cr_assert_eq(store_quota_set(store, "alice", 2), 0);
	cr_assert_eq(store_quota_get(store, "alice", &quota), 0);
	cr_assert_eq(quota, 2);
	cr_assert_eq(store_allocation_add(store, &a, &limits), 0);
	cr_assert_eq(store_allocation_add(store, &b, &limits), 0);
	cr_assert_eq(store_allocation_add(store, &c, &limits), EDQUOT);
	cr_assert_eq(store_quota_set(store, "alice", 0), 0, "0 = unlimited");
	cr_assert_eq(store_allocation_add(store, &c, &limits), 0);
	cr_assert_eq(store_allocation_delete(store, &c.tuple), 0);
	cr_assert_eq(store_quota_delete(store, "alice"), 0);
	cr_assert_eq(store_quota_delete(store, "alice"), ENOENT);
	cr_assert_eq(store_allocation_add(store, &c, &limits), EDQUOT,
	             "back to the configured quota");
}

Test(store, delete_gives_quota_back_and_a_missing_tuple_is_enoent)
{
	struct store_limits limits = {.user_quota = 1};
	struct store_allocation a = alloc("192.0.2.1", 1, "alice", 0),
	                        b = alloc("192.0.2.1", 2, "alice", 0);

	cr_assert_eq(store_allocation_add(store, &a, &limits), 0);
	cr_assert_eq(store_allocation_add(store, &b, &limits), EDQUOT);
	cr_assert_eq(store_allocation_delete(store, &a.tuple), 0);
	cr_assert_eq(count_of("alice"), 0);
	cr_assert_eq(total(), 0);
	cr_assert_eq(store_allocation_delete(store, &a.tuple), ENOENT);
	cr_assert_eq(store_allocation_add(store, &b, &limits), 0);
}

Test(store, update_rewrites_the_record_and_keeps_the_counts)
{
	struct store_allocation a = alloc("192.0.2.1", 1, "alice", 0),
	                        other = alloc("192.0.2.1", 2, "alice", 0);

	cr_assert_eq(store_allocation_update(store, &a), ENOENT);
	cr_assert_eq(store_allocation_add(store, &a, &unlimited), 0);
	a.expires += 600;
	a.peer_count = 1;
	a.peers[0].family = AF_INET;
	cr_assert_eq(store_allocation_update(store, &a), 0);
	cr_assert_eq(count_of("alice"), 1);
	cr_assert_eq(total(), 1);
	strcpy(a.quota_key, "mallory");
	cr_assert_eq(store_allocation_update(store, &a), EINVAL);
	cr_assert_eq(store_allocation_update(store, &other), ENOENT);
}

/* Three allocations of alice's on worker 1 (client ports 1-3) interleaved
 * with three of bob's on worker 2, so that a purge's cursor walks over
 * deletions next to each other and next to survivors. */
static void add_alice_and_bob(const struct store_limits *limits)
{
	struct store_allocation a;

	for (uint16_t port = 1; port <= 3; port++) {
		a = alloc("192.0.2.1", port, "alice", 1);
		cr_assert_eq(store_allocation_add(store, &a, limits), 0);
		a = alloc("192.0.2.1", 100 + port, "bob", 2);
		cr_assert_eq(store_allocation_add(store, &a, limits), 0);
	}
}

Test(store, worker_purge_removes_its_records_and_gives_quota_back)
{
	struct store_limits limits = {.user_quota = 3};
	struct store_allocation a;
	size_t removed = 0;

	add_alice_and_bob(&limits);
	a = alloc("192.0.2.1", 4, "alice", 1);
	cr_assert_eq(store_allocation_add(store, &a, &limits), EDQUOT);
	cr_assert_eq(store_worker_purge(store, 1, 1001, &removed), 0);
	cr_assert_eq(removed, 3);
	cr_assert_eq(count_of("alice"), 0);
	cr_assert_eq(count_of("bob"), 3);
	cr_assert_eq(total(), 3);
	for (uint16_t port = 1; port <= 3; port++) {
		a = alloc("192.0.2.1", port, "alice", 0);
		cr_assert_eq(store_allocation_add(store, &a, &limits), 0);
	}
	cr_assert_eq(store_worker_purge(store, 7, 1007, NULL), 0);
	cr_assert_eq(total(), 6);
}

/* What store_worker_purge_each() showed: client ports and usernames. */
struct purged_seen {
	unsigned count;
	uint16_t ports[8];
	bool names_ok;
};

static int note_purged(const struct store_allocation *a, void *arg)
{
	struct purged_seen *seen = arg;

	if (seen->count < 8)
		seen->ports[seen->count] =
		    net_addr_port((const struct sockaddr *)&a->tuple.client);
	seen->count++;
	seen->names_ok = seen->names_ok && strcmp(a->username, "alice") == 0 &&
	                 a->tuple.transport == 17 && a->created == 1700000000;
	return 1; /* ignored: the purge goes on */
}

Test(store, worker_purge_each_shows_every_record_it_removes)
{
	struct purged_seen seen = {.names_ok = true};
	size_t removed = 0;

	add_alice_and_bob(&unlimited);
	cr_assert_eq(store_worker_purge_each(store, 1, 1001, note_purged, &seen,
	                                     &removed),
	             0);
	cr_assert_eq(removed, 3);
	cr_assert_eq(seen.count, 3);
	cr_assert(seen.names_ok, "records come with their tuple and fields");
	for (uint16_t port = 1; port <= 3; port++)
		cr_assert(seen.ports[0] == port || seen.ports[1] == port ||
		              seen.ports[2] == port,
		          "client port %u not shown", port);
	cr_assert_eq(count_of("alice"), 0);
	cr_assert_eq(count_of("bob"), 3);
}

/* What store_revocation_foreach() listed. */
struct revocations_seen {
	unsigned count;
	char names[4][16];
	uint64_t when[4];
};

static int note_revocation(const char *name, uint64_t when, void *arg)
{
	struct revocations_seen *seen = arg;

	if (seen->count < 4) {
		snprintf(seen->names[seen->count], sizeof(seen->names[0]), "%s",
		         name);
		seen->when[seen->count] = when;
	}
	seen->count++;
	return 0;
}

Test(store, revocations_count_and_list_the_latest_of_each_user)
{
	struct revocations_seen seen = {0};
	uint64_t seq = 99;
	char too_long[STORE_NAME_MAX + 1];

	cr_assert_eq(store_revocation_seq(store, &seq), 0);
	cr_assert_eq(seq, 0, "no revocation yet");
	cr_assert_eq(store_revoke(store, "bob", 100), 0);
	cr_assert_eq(store_revoke(store, "alice", 200), 0);
	cr_assert_eq(store_revoke(store, "bob", 300), 0);
	cr_assert_eq(store_revocation_seq(store, &seq), 0);
	cr_assert_eq(seq, 3);
	cr_assert_eq(store_revocation_foreach(store, note_revocation, &seen),
	             0);
	cr_assert_eq(seen.count, 2, "one entry per user");
	cr_assert_str_eq(seen.names[0], "alice");
	cr_assert_eq(seen.when[0], 200);
	cr_assert_str_eq(seen.names[1], "bob");
	cr_assert_eq(seen.when[1], 300, "the latest revocation");
	cr_assert_eq(store_revoke(store, "", 1), EINVAL);
	memset(too_long, 'x', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	cr_assert_eq(store_revoke(store, too_long, 1), EINVAL);
	cr_assert_eq(total(), 0, "the allocation counts are untouched");
	/* A restart clears them with the allocations they were for. */
	cr_assert_eq(store_clear_live(store), 0);
	cr_assert_eq(store_revocation_seq(store, &seq), 0);
	cr_assert_eq(seq, 0);
	seen.count = 0;
	cr_assert_eq(store_revocation_foreach(store, note_revocation, &seen),
	             0);
	cr_assert_eq(seen.count, 0);
}

Test(store, revocation_of_a_user_id_matches_its_rest_credentials)
{
	cr_assert(store_revocation_matches("dave", "dave", "dave"));
	cr_assert(store_revocation_matches("dave", "1800000000:dave", "dave"));
	cr_assert(store_revocation_matches("1800000000:dave", "1800000000:dave",
	                                   "dave"));
	cr_assert_not(store_revocation_matches("1800000001:dave",
	                                       "1800000000:dave", "dave"));
	cr_assert_not(store_revocation_matches("dav", "dave", "dave"));
}

/* Generations (DESIGN.md section 7): a slot freed by a dead worker is
 * reused, and a dead worker's pid may come back in another slot; a purge
 * must take only the records of the process that died. */
Test(store, worker_purge_needs_both_slot_and_pid)
{
	struct store_allocation a;
	size_t removed = 9;

	a = alloc("192.0.2.1", 1, "alice", 3); /* slot 3, pid 1003 */
	cr_assert_eq(store_allocation_add(store, &a, &unlimited), 0);
	a = alloc("192.0.2.1", 2, "alice", 3);
	a.pid = 2003; /* slot 3 again: the worker that replaced it */
	cr_assert_eq(store_allocation_add(store, &a, &unlimited), 0);
	a = alloc("192.0.2.1", 3, "alice", 4);
	a.pid = 1003; /* pid 1003 again, in another slot */
	cr_assert_eq(store_allocation_add(store, &a, &unlimited), 0);
	cr_assert_eq(store_worker_purge(store, 3, 1003, &removed), 0);
	cr_assert_eq(removed, 1);
	cr_assert_eq(total(), 2);
	cr_assert_eq(store_worker_purge(store, 3, 1003, &removed), 0);
	cr_assert_eq(removed, 0);
	cr_assert_eq(store_worker_purge(store, 3, 2003, &removed), 0);
	cr_assert_eq(removed, 1);
	cr_assert_eq(store_worker_purge(store, 4, 1003, &removed), 0);
	cr_assert_eq(removed, 1);
	cr_assert_eq(count_of("alice") + total(), 0);
}

Test(store, worker_purge_of_many_records_in_one_transaction)
{
	struct store_allocation a;
	size_t removed = 0;

	for (uint16_t i = 0; i < 2000; i++) {
		a = alloc("192.0.2.1", i, i % 3 ? "alice" : "bob", i % 2);
		cr_assert_eq(store_allocation_add(store, &a, &unlimited), 0);
	}
	cr_assert_eq(store_worker_purge(store, 1, 1001, &removed), 0);
	cr_assert_eq(removed, 1000);
	cr_assert_eq(total(), 1000);
	cr_assert_eq(count_of("alice") + count_of("bob"), 1000);
	cr_assert_eq(store_worker_purge(store, 0, 1000, &removed), 0);
	cr_assert_eq(removed, 1000);
	cr_assert_eq(count_of("alice") + count_of("bob") + total(), 0);
}

static struct store_allocation full(void)
{
	struct store_allocation a = alloc("2001:db8::7", 40000, "alice", 5);

	memset(a.username, 'u', sizeof(a.username) - 1);
	memset(a.quota_key, 'q', sizeof(a.quota_key) - 1);
	a.tuple.transport = 56;
	a.pid = 4242;
	a.relayed[1] = addr("2001:db8::10", 50001);
	a.created = UINT64_MAX - 1;
	a.expires = UINT64_MAX;
	a.peer_count = STORE_MAX_PEERS;
	for (int i = 0; i < STORE_MAX_PEERS; i++) {
		a.peers[i].family = i % 2 ? AF_INET6 : AF_INET;
		memset(a.peers[i].addr, i + 1, i % 2 ? 16 : 4);
		a.peers[i].expires = 1000 + (uint64_t)i;
	}
	a.channel_count = STORE_MAX_CHANNELS;
	for (int i = 0; i < STORE_MAX_CHANNELS; i++) {
		a.channels[i].number = (uint16_t)(0x4000 + i);
		a.channels[i].peer =
		    addr(i % 2 ? "2001:db8::5" : "198.51.100.5",
		         (uint16_t)(6000 + i));
		a.channels[i].expires = 2000 + (uint64_t)i;
	}
	return a;
}

#define assert_same_addr(x, y) cr_assert_eq(memcmp(&(x), &(y), sizeof(x)), 0)

/* Field by field: struct padding is not part of what the store keeps. */
static void assert_same(const struct store_allocation *x,
                        const struct store_allocation *y)
{
	cr_assert_eq(x->tuple.transport, y->tuple.transport);
	assert_same_addr(x->tuple.client, y->tuple.client);
	assert_same_addr(x->tuple.listener, y->tuple.listener);
	cr_assert_str_eq(x->username, y->username);
	cr_assert_str_eq(x->quota_key, y->quota_key);
	cr_assert_eq(x->worker, y->worker);
	cr_assert_eq(x->pid, y->pid);
	assert_same_addr(x->relayed[0], y->relayed[0]);
	assert_same_addr(x->relayed[1], y->relayed[1]);
	cr_assert_eq(x->created, y->created);
	cr_assert_eq(x->expires, y->expires);
	cr_assert_eq(x->peer_count, y->peer_count);
	for (int i = 0; i < x->peer_count; i++) {
		cr_assert_eq(x->peers[i].family, y->peers[i].family);
		assert_same_addr(x->peers[i].addr, y->peers[i].addr);
		cr_assert_eq(x->peers[i].expires, y->peers[i].expires);
	}
	cr_assert_eq(x->channel_count, y->channel_count);
	for (int i = 0; i < x->channel_count; i++) {
		cr_assert_eq(x->channels[i].number, y->channels[i].number);
		assert_same_addr(x->channels[i].peer, y->channels[i].peer);
		cr_assert_eq(x->channels[i].expires, y->channels[i].expires);
	}
}

struct seen {
	int calls;
	struct store_allocation last;
};

static int remember(const struct store_allocation *a, void *arg)
{
	struct seen *seen = arg;

	seen->calls++;
	seen->last = *a;
	return 0;
}

static int stop_at_two(const struct store_allocation *a, void *arg)
{
	return ++*(int *)arg == 2 ? 77 : 0;
}

Test(store, foreach_returns_every_field_with_peers_and_channels)
{
	struct store_allocation a = full(),
	                        small = alloc("10.0.0.1", 1, "b", 0);
	struct seen seen = {0};
	int calls = 0;

	cr_assert_eq(store_allocation_add(store, &small, &unlimited), 0);
	cr_assert_eq(store_allocation_add(store, &a, &unlimited), 0);
	cr_assert_eq(store_allocation_foreach(store, remember, &seen), 0);
	cr_assert_eq(seen.calls, 2);
	/* IPv6 keys sort after IPv4 ones: the full record comes last. */
	assert_same(&seen.last, &a);
	cr_assert_eq(store_allocation_foreach(store, stop_at_two, &calls), 77);
	cr_assert_eq(calls, 2);
}

Test(store, out_of_bounds_records_are_einval)
{
	struct store_allocation a = alloc("192.0.2.1", 1, "alice", 0);

	a.peer_count = STORE_MAX_PEERS + 1;
	cr_assert_eq(store_allocation_add(store, &a, &unlimited), EINVAL);
	a = alloc("192.0.2.1", 1, "", 0);
	cr_assert_eq(store_allocation_add(store, &a, &unlimited), EINVAL);
	a = alloc("192.0.2.1", 1, "alice", 0);
	a.tuple.client.ss_family = AF_UNIX;
	cr_assert_eq(store_allocation_add(store, &a, &unlimited), EINVAL);
	a = alloc("192.0.2.1", 1, "alice", 0);
	memset(a.username, 'x', sizeof(a.username));
	cr_assert_eq(store_allocation_add(store, &a, &unlimited), EINVAL);
	cr_assert_eq(total(), 0);
}

Test(store, clear_live_drops_records_and_counts_but_not_users)
{
	struct store_allocation a = alloc("192.0.2.1", 1, "alice", 0);
	struct store_user user = {.name = "alice", .realm = "example.org"};
	struct seen seen = {0};

	cr_assert_eq(store_user_put(store, &user), 0);
	cr_assert_eq(store_quota_set(store, "alice", 4), 0);
	cr_assert_eq(store_allocation_add(store, &a, &unlimited), 0);
	cr_assert_eq(store_clear_live(store), 0);
	cr_assert_eq(total(), 0);
	cr_assert_eq(count_of("alice"), 0);
	cr_assert_eq(store_allocation_foreach(store, remember, &seen), 0);
	cr_assert_eq(seen.calls, 0);
	cr_assert_eq(store_user_get(store, "alice", &user), 0);
	cr_assert_eq(store_allocation_add(store, &a, &unlimited), 0);
}

Test(store, reader_check_finds_no_stale_reader)
{
	int dead = -1;

	cr_assert_eq(store_reader_check(store, &dead), 0);
	cr_assert_eq(dead, 0);
	cr_assert_eq(store_reader_check(store, NULL), 0);
}

static int collect_names(const struct store_user *user, void *arg)
{
	strcat(arg, user->name);
	strcat(arg, ",");
	return 0;
}

Test(store, users_put_get_replace_delete_and_foreach)
{
	struct store_user bob = {.name = "bob", .realm = "example.org"},
	                  alice = {.name = "alice", .realm = "r"}, got;
	char names[64] = "", long_name[600];

	memset(bob.key_md5, 0xaa, sizeof(bob.key_md5));
	memset(bob.key_sha256, 0xbb, sizeof(bob.key_sha256));
	cr_assert_eq(store_user_get(store, "bob", &got), ENOENT);
	cr_assert_eq(store_user_put(store, &bob), 0);
	cr_assert_eq(store_user_put(store, &alice), 0);
	cr_assert_eq(store_user_get(store, "bob", &got), 0);
	cr_assert_eq(memcmp(&got, &bob, sizeof(got)), 0);
	bob.key_md5[0] = 1; /* passwd */
	strcpy(bob.realm, "other.example");
	cr_assert_eq(store_user_put(store, &bob), 0);
	cr_assert_eq(store_user_get(store, "bob", &got), 0);
	cr_assert_eq(memcmp(&got, &bob, sizeof(got)), 0);
	cr_assert_eq(store_user_foreach(store, collect_names, names), 0);
	cr_assert_str_eq(names, "alice,bob,");
	cr_assert_eq(store_user_delete(store, "bob"), 0);
	cr_assert_eq(store_user_delete(store, "bob"), ENOENT);
	cr_assert_eq(store_user_get(store, "bob", &got), ENOENT);
	memset(long_name, 'n', 512);
	long_name[512] = '\0';
	cr_assert_eq(store_user_get(store, long_name, &got), EINVAL);
	cr_assert_eq(store_user_get(store, "", &got), EINVAL);
}

Test(store, strerror_explains_store_and_lmdb_codes)
{
	cr_assert_str_eq(store_strerror(EDQUOT), "allocation quota reached");
	cr_assert_not_null(
	    strstr(store_strerror(MDB_MAP_FULL), "MDB_MAP_FULL"));
	cr_assert_not_null(
	    strstr(store_strerror(MDB_KEYEXIST), "MDB_KEYEXIST"));
	cr_assert_str_eq(store_strerror(ENOENT), strerror(ENOENT));
}

/* ---- The master's status snapshot ---------------------------------------- */

static struct store_status *status_example(uint32_t workers)
{
	struct store_status *s = calloc(1, sizeof(*s));

	cr_assert_not_null(s);
	s->master_pid = 4242;
	s->started = 1700000000;
	s->time = 1700000100;
	s->generation = 3;
	strcpy(s->config_path, "/etc/turnpike/turnpike.conf");
	s->reloads = 2;
	s->last_reload_time = 1700000050;
	strcpy(s->last_reload_error, "turnpike.conf:7: unknown key 'relm'");
	s->worker_count = workers;
	for (uint32_t i = 0; i < workers; i++) {
		s->workers[i].index = i;
		s->workers[i].pid = (pid_t)(5000 + i);
		s->workers[i].generation = UINT64_MAX - 3 + i % 3;
		s->workers[i].draining = i % 2 == 1;
		s->workers[i].allocations = i * 10;
		s->workers[i].client_packets = UINT64_MAX - i;
		s->workers[i].client_bytes = (uint64_t)1 << 40;
		s->workers[i].peer_packets = 7;
		s->workers[i].peer_bytes = 8;
		s->workers[i].drops = 9;
		for (int l = 0; l < STORE_RATE_LEVELS; l++) {
			s->workers[i].rate[l].passed = 100 + (uint64_t)l;
			s->workers[i].rate[l].delayed = 200 + (uint64_t)l;
			s->workers[i].rate[l].dropped =
			    UINT64_MAX - (uint64_t)l;
		}
		s->workers[i].rate_queue_dropped = 11;
	}
	s->counter_count = 3;
	strcpy(s->counters[0].name, "rx_datagrams");
	s->counters[0].value = UINT64_MAX;
	strcpy(s->counters[1].name, "a_counter_from_a_newer_master_0123456789");
	s->counters[1].name[STORE_COUNTER_NAME_MAX - 1] = '\0';
	s->counters[1].value = 0;
	strcpy(s->counters[2].name, "tls_handshake_failures");
	s->counters[2].value = 12345;
	s->exited.client_packets = 77;
	s->exited.drops = 3;
	s->exited.rate[1].dropped = UINT64_MAX;
	return s;
}

/* Cuts the stored snapshot's last `cut` bytes (none: it is left as it
 * is), as an older master that wrote less would have left it; returns
 * its size before. */
static size_t status_cut(size_t cut)
{
	MDB_val key = {6, "status"}, value;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta;
	size_t size;

	meta_begin(&env, &txn, &meta);
	cr_assert_eq(mdb_get(txn, meta, &key, &value), 0);
	size = value.mv_size;
	cr_assert_gt(value.mv_size, cut);
	value.mv_size -= cut;
	if (cut > 0)
		cr_assert_eq(mdb_put(txn, meta, &key, &value, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	cr_assert_eq(store_open(dir, 0, &store), 0);
	return size;
}

/* The bytes of one worker's figures: a snapshot with one more worker. */
static size_t status_worker_size(void)
{
	struct store_status *s = status_example(0);
	size_t without;

	cr_assert_eq(store_status_put(store, s), 0);
	without = status_cut(0);
	s->worker_count = 1;
	cr_assert_eq(store_status_put(store, s), 0);
	free(s);
	return status_cut(0) - without;
}

Test(store, status_is_enoent_until_published_then_read_back_whole)
{
	struct store_status *put = status_example(3),
	                    *got = calloc(1, sizeof(*got));

	cr_assert_eq(store_status_get(store, got), ENOENT);
	cr_assert_eq(store_status_put(store, put), 0);
	cr_assert_eq(store_status_get(store, got), 0);
	cr_assert_eq(memcmp(got, put, sizeof(*got)), 0);
	put->worker_count = STORE_STATUS_WORKERS_MAX;
	memset(put->last_reload_error, 0, sizeof(put->last_reload_error));
	put->counter_count = STORE_COUNTERS_MAX;
	for (uint32_t i = 0; i < STORE_COUNTERS_MAX; i++) {
		memset(put->counters[i].name, 'c',
		       sizeof(put->counters[i].name) - 1);
		put->counters[i].value = i;
	}
	cr_assert_eq(store_status_put(store, put), 0, "replaced, largest");
	cr_assert_eq(store_status_get(store, got), 0);
	cr_assert_eq(memcmp(got, put, sizeof(*got)), 0);
	free(put);
	free(got);
}

/* A master from before counters were kept wrote the snapshot without
 * them or the exited workers' figures: it still reads, with none. Forged
 * by cutting both (the counters' count is 2 bytes, 0) off a snapshot. */
Test(store, status_without_counters_reads_with_none)
{
	struct store_status *put = status_example(2),
	                    *got = calloc(1, sizeof(*got));
	size_t worker_size = status_worker_size();

	put->counter_count = 0;
	memset(put->counters, 0, sizeof(put->counters));
	memset(&put->exited, 0, sizeof(put->exited));
	cr_assert_eq(store_status_put(store, put), 0);
	status_cut(2 + worker_size);
	cr_assert_eq(store_status_get(store, got), 0);
	cr_assert_eq(got->counter_count, 0);
	cr_assert_eq(got->worker_count, 2);
	cr_assert_eq(memcmp(got, put, sizeof(*got)), 0);
	free(put);
	free(got);
}

/* One from before exited workers' figures were kept: its counters read,
 * and no exited figures. */
Test(store, status_without_exited_reads_with_zero)
{
	struct store_status *put = status_example(2),
	                    *got = calloc(1, sizeof(*got));
	size_t worker_size = status_worker_size();

	cr_assert_eq(store_status_put(store, put), 0);
	status_cut(worker_size);
	memset(&put->exited, 0, sizeof(put->exited));
	cr_assert_eq(store_status_get(store, got), 0);
	cr_assert_eq(got->counter_count, 3);
	cr_assert_eq(memcmp(got, put, sizeof(*got)), 0);
	status_cut(1); /* and one that ends inside the counters is damaged */
	cr_assert_eq(store_status_get(store, got), EIO);
	free(put);
	free(got);
}

Test(store, status_out_of_bounds_is_einval_and_survives_clear_live)
{
	struct store_status *s = status_example(1);
	struct store *reader;

	s->worker_count = STORE_STATUS_WORKERS_MAX + 1;
	cr_assert_eq(store_status_put(store, s), EINVAL);
	s->counter_count = STORE_COUNTERS_MAX + 1;
	s->worker_count = 1;
	cr_assert_eq(store_status_put(store, s), EINVAL);
	s->counter_count = 1;
	memset(s->config_path, 'x', sizeof(s->config_path));
	cr_assert_eq(store_status_put(store, s), EINVAL);
	s->config_path[0] = '\0';
	cr_assert_eq(store_status_put(store, s), 0);
	cr_assert_eq(store_clear_live(store), 0);
	cr_assert_eq(store_open(dir, STORE_READ_ONLY, &reader), 0);
	cr_assert_eq(store_status_get(reader, s), 0, "a reader sees it");
	cr_assert_eq(s->worker_count, 1);
	cr_assert_eq(store_status_put(reader, s), EROFS);
	store_close(reader);
	free(s);
}
