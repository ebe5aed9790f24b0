/*
 * store: the durable environment (users, quota overrides, the USERHASH
 * index) apart from the live one, and the conversion of a version 1
 * store, whose one environment held both, made here with raw LMDB calls
 * in the old layout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include "turnpike/stun.h"
#include "../../src/store/store_private.h" /* the environments' flags */
#include "test_store.h"

TestSuite(store_durable, .init = setup, .fini = teardown);

static void path_of(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
}

static mode_t mode_of(const char *name)
{
	char path[128];
	struct stat st;

	path_of(path, sizeof(path), name);
	cr_assert_eq(stat(path, &st), 0, "%s", path);
	return st.st_mode & 0777;
}

static bool exists(const char *name)
{
	char path[128];

	path_of(path, sizeof(path), name);
	return access(path, F_OK) == 0;
}

static struct store_user user_of(const char *name, const char *realm,
                                 uint8_t fill)
{
	struct store_user user;

	memset(&user, 0, sizeof(user));
	snprintf(user.name, sizeof(user.name), "%s", name);
	snprintf(user.realm, sizeof(user.realm), "%s", realm);
	memset(user.key_md5, fill, sizeof(user.key_md5));
	memset(user.key_sha256, fill + 1, sizeof(user.key_sha256));
	return user;
}

static void hash_of(const char *name, const char *realm,
                    uint8_t hash[STUN_SHA256_SIZE])
{
	cr_assert_eq(
	    stun_userhash(name, strlen(name), realm, strlen(realm), hash), 0);
}

/* The user store_user_get_by_hash finds for name:hash_realm under the
 * configured realm, or its error. */
static int find_by_hash(const char *name, const char *hash_realm,
                        const char *realm, struct store_user *found)
{
	uint8_t hash[STUN_SHA256_SIZE];

	hash_of(name, hash_realm, hash);
	return store_user_get_by_hash(store, hash, realm, found);
}

/* Entries in the USERHASH index: one per user, no stale ones (the
 * lookup would skip those, so only a count shows them). */
static size_t index_entries(void)
{
	MDB_txn *txn;
	MDB_stat stat;

	cr_assert_eq(mdb_txn_begin(store->env[STORE_ENV_DURABLE], NULL,
	                           MDB_RDONLY, &txn),
	             0);
	cr_assert_eq(mdb_stat(txn, store->dbi[STORE_USERHASHES], &stat), 0);
	mdb_txn_abort(txn);
	return stat.ms_entries;
}

static void reopen(unsigned flags)
{
	store_close(store);
	store = NULL;
	cr_assert_eq(store_open(dir, flags, &store), 0);
}

/* ---- two environments ------------------------------------------------- */

Test(store_durable, open_makes_the_durable_environment_in_a_subdirectory)
{
	umask(022);
	reopen(0);
	cr_assert_eq(mode_of("durable"), 0750);
	cr_assert_eq(mode_of("durable/data.mdb"), 0640);
	cr_assert_eq(mode_of("durable/lock.mdb"), 0640);
	cr_assert_eq(mode_of("data.mdb"), 0640);
	cr_assert_eq(mode_of("lock.mdb"), 0640);
}

/* The reason for the split: LMDB warns that with MDB_NOSYNC a system
 * crash can corrupt an environment, so the users' keeps every default. */
Test(store_durable, only_the_live_environment_runs_without_fsync)
{
	unsigned live, durable;

	cr_assert_eq(mdb_env_get_flags(store->env[STORE_ENV_LIVE], &live), 0);
	cr_assert_eq(mdb_env_get_flags(store->env[STORE_ENV_DURABLE], &durable),
	             0);
	cr_assert(live & MDB_NOSYNC);
	cr_assert(live & MDB_WRITEMAP);
	cr_assert_eq(durable & (MDB_NOSYNC | MDB_NOMETASYNC | MDB_WRITEMAP |
	                        MDB_MAPASYNC | MDB_RDONLY),
	             0);
}

Test(store_durable, users_and_overrides_survive_a_reopen)
{
	struct store_user alice = user_of("alice", "example.org", 1),
	                  bob = user_of("bob", "example.org", 3), got;
	uint32_t quota = 0;

	cr_assert_eq(store_user_put(store, &alice), 0);
	cr_assert_eq(store_user_put(store, &bob), 0);
	cr_assert_eq(store_quota_set(store, "alice", 7), 0);
	reopen(0);
	cr_assert_eq(store_user_get(store, "alice", &got), 0);
	cr_assert_eq(memcmp(&got, &alice, sizeof(got)), 0);
	cr_assert_eq(store_user_get(store, "bob", &got), 0);
	cr_assert_eq(store_quota_get(store, "alice", &quota), 0);
	cr_assert_eq(quota, 7);
	reopen(STORE_READ_ONLY);
	cr_assert_eq(store_user_get(store, "alice", &got), 0);
	cr_assert_eq(find_by_hash("bob", "example.org", "example.org", &got),
	             0);
	cr_assert_eq(store_quota_get(store, "alice", &quota), 0);
	cr_assert_eq(store_user_put(store, &alice), EROFS);
	cr_assert_eq(store_quota_set(store, "bob", 1), EROFS);
}

/* The master's start: open, then clear the live tables. */
Test(store_durable, a_master_start_clears_live_tables_but_keeps_users)
{
	struct store_user alice = user_of("alice", "example.org", 1), got;
	struct store_allocation a = alloc("192.0.2.1", 1, "alice", 0),
	                        b = alloc("192.0.2.1", 2, "alice", 0);
	struct store_limits limits = {.user_quota = 5};
	uint32_t quota = 0;

	cr_assert_eq(store_user_put(store, &alice), 0);
	cr_assert_eq(store_quota_set(store, "alice", 1), 0);
	cr_assert_eq(store_allocation_add(store, &a, &limits), 0);
	reopen(STORE_MIGRATE);
	cr_assert_eq(store_clear_live(store), 0);
	cr_assert_eq(total(), 0);
	cr_assert_eq(count_of("alice"), 0);
	cr_assert_eq(store_user_get(store, "alice", &got), 0);
	cr_assert_eq(store_quota_get(store, "alice", &quota), 0);
	cr_assert_eq(quota, 1);
	/* The override, from the durable environment, still limits. */
	cr_assert_eq(store_allocation_add(store, &a, &limits), 0);
	cr_assert_eq(store_allocation_add(store, &b, &limits), EDQUOT);
	cr_assert_eq(store_quota_delete(store, "alice"), 0);
	cr_assert_eq(store_allocation_add(store, &b, &limits), 0);
}

Test(store_durable, read_only_with_migrate_is_einval)
{
	struct store *other = (struct store *)&other;

	cr_assert_eq(store_open(dir, STORE_READ_ONLY | STORE_MIGRATE, &other),
	             EINVAL);
	cr_assert_null(other);
}

Test(store_durable, a_durable_environment_of_another_version_is_eproto)
{
	uint32_t version = 99;
	MDB_val key = {7, "version"}, value = {4, &version};
	MDB_txn *txn;

	cr_assert_eq(
	    mdb_txn_begin(store->env[STORE_ENV_DURABLE], NULL, 0, &txn), 0);
	cr_assert_eq(
	    mdb_put(txn, store->dbi[STORE_DURABLE_META], &key, &value, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	store_close(store);
	store = NULL;
	cr_assert_eq(store_open(dir, 0, &store), EPROTO);
	cr_assert_eq(store_open(dir, STORE_READ_ONLY, &store), EPROTO);
}

/* A master started as root opens what the service user may have put in
 * the state directory: a link there is refused, and nothing is created
 * where it points. */
Test(store_durable, symbolic_links_in_the_state_directory_are_refused)
{
	char durable[128], elsewhere[] = "/tmp/turnpike-elsewhere-XXXXXX";
	char planted[160];

	cr_assert_not_null(mkdtemp(elsewhere));
	store_close(store);
	store = NULL;
	path_of(durable, sizeof(durable), "durable");
	snprintf(planted, sizeof(planted), "%s/data.mdb", durable);
	cr_assert_eq(unlink(planted), 0);
	snprintf(planted, sizeof(planted), "%s/lock.mdb", durable);
	cr_assert_eq(unlink(planted), 0);
	cr_assert_eq(rmdir(durable), 0);
	cr_assert_eq(symlink(elsewhere, durable), 0);
	cr_assert_eq(store_open(dir, 0, &store), ELOOP);
	snprintf(planted, sizeof(planted), "%s/data.mdb", elsewhere);
	cr_assert_neq(access(planted, F_OK), 0, "created through the link");

	/* The live environment's files too. */
	cr_assert_eq(unlink(durable), 0);
	path_of(planted, sizeof(planted), "lock.mdb");
	cr_assert_eq(unlink(planted), 0);
	cr_assert_eq(symlink("/tmp/turnpike-no-such-file", planted), 0);
	cr_assert_eq(store_open(dir, 0, &store), ELOOP);
	cr_assert_eq(store_open(dir, STORE_READ_ONLY, &store), ELOOP);
	cr_assert_eq(unlink(planted), 0);
	cr_assert_eq(rmdir(elsewhere), 0);
}

/* ---- the USERHASH index ------------------------------------------------ */

Test(store_durable, userhash_finds_a_store_user_and_not_after_delete)
{
	struct store_user erin = user_of("erin", "example.org", 5), got;

	cr_assert_eq(find_by_hash("erin", "example.org", "example.org", &got),
	             ENOENT);
	cr_assert_eq(store_user_put(store, &erin), 0);
	cr_assert_eq(find_by_hash("erin", "example.org", "example.org", &got),
	             0);
	cr_assert_eq(memcmp(&got, &erin, sizeof(got)), 0);
	cr_assert_eq(find_by_hash("erin", "other.org", "example.org", &got),
	             ENOENT);
	cr_assert_eq(find_by_hash("eri", "example.org", "example.org", &got),
	             ENOENT);
	cr_assert_eq(index_entries(), 1);
	cr_assert_eq(store_user_delete(store, "erin"), 0);
	cr_assert_eq(find_by_hash("erin", "example.org", "example.org", &got),
	             ENOENT);
	cr_assert_eq(index_entries(), 0);
}

Test(store_durable, userhash_follows_passwd_with_the_same_realm)
{
	struct store_user erin = user_of("erin", "example.org", 5), got;

	cr_assert_eq(store_user_put(store, &erin), 0);
	erin = user_of("erin", "example.org", 9); /* passwd */
	cr_assert_eq(store_user_put(store, &erin), 0);
	cr_assert_eq(find_by_hash("erin", "example.org", "example.org", &got),
	             0);
	cr_assert_eq(got.key_md5[0], 9);
	cr_assert_eq(store_user_delete(store, "erin"), 0);
	cr_assert_eq(find_by_hash("erin", "example.org", "example.org", &got),
	             ENOENT);
}

/* The index is made with the realm stored with the user: after realm
 * changes in the configuration the old entry finds the user for the old
 * realm only, and passwd (keys for the new realm) moves the entry. */
Test(store_durable, userhash_follows_a_change_of_realm_at_passwd)
{
	struct store_user erin = user_of("erin", "old.example", 5), got;

	cr_assert_eq(store_user_put(store, &erin), 0);
	/* Configured realm now new.example: the client hashes with it. */
	cr_assert_eq(find_by_hash("erin", "new.example", "new.example", &got),
	             ENOENT);
	cr_assert_eq(find_by_hash("erin", "old.example", "new.example", &got),
	             ENOENT);
	erin = user_of("erin", "new.example", 6);
	cr_assert_eq(store_user_put(store, &erin), 0);
	cr_assert_eq(find_by_hash("erin", "new.example", "new.example", &got),
	             0);
	cr_assert_str_eq(got.realm, "new.example");
	cr_assert_eq(find_by_hash("erin", "old.example", "old.example", &got),
	             ENOENT);
	cr_assert_eq(index_entries(), 1);
}

/* "a:b" of realm "c" and "a" of realm "b:c" hash alike: each realm finds
 * its own. */
Test(store_durable, userhash_shared_by_two_realms_finds_each_realms_user)
{
	struct store_user ab = user_of("a:b", "c", 1),
	                  a = user_of("a", "b:c", 2), got;

	cr_assert_eq(store_user_put(store, &ab), 0);
	cr_assert_eq(store_user_put(store, &a), 0);
	cr_assert_eq(find_by_hash("a:b", "c", "c", &got), 0);
	cr_assert_str_eq(got.name, "a:b");
	cr_assert_eq(find_by_hash("a", "b:c", "b:c", &got), 0);
	cr_assert_str_eq(got.name, "a");
	cr_assert_eq(store_user_delete(store, "a:b"), 0);
	cr_assert_eq(find_by_hash("a:b", "c", "c", &got), ENOENT);
	cr_assert_eq(find_by_hash("a", "b:c", "b:c", &got), 0);
	cr_assert_eq(index_entries(), 1);
}

/* ---- conversion of a version 1 store ----------------------------------- */

TestSuite(store_migration, .init = setup, .fini = teardown);

struct v1_store {
	const struct store_user *users;
	size_t user_count;
	const char *override_key; /* NULL: no override */
	uint32_t override;
};

static void v1_put(MDB_txn *txn, MDB_dbi dbi, const char *key,
                   const void *value, size_t len)
{
	MDB_val k = {strlen(key), (void *)key}, v = {len, (void *)value};

	cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
}

/* A version 1 user record: the realm's length and bytes, both keys. */
static void v1_put_user(MDB_txn *txn, MDB_dbi dbi, const struct store_user *u)
{
	uint8_t record[1 + 127 + 16 + 32];
	size_t realm_len = strlen(u->realm);

	record[0] = (uint8_t)realm_len;
	memcpy(record + 1, u->realm, realm_len);
	memcpy(record + 1 + realm_len, u->key_md5, 16);
	memcpy(record + 1 + realm_len + 16, u->key_sha256, 32);
	v1_put(txn, dbi, u->name, record, 1 + realm_len + 48);
}

static MDB_dbi v1_table(MDB_txn *txn, const char *name)
{
	MDB_dbi dbi;

	cr_assert_eq(mdb_dbi_open(txn, name, MDB_CREATE, &dbi), 0);
	return dbi;
}

/* Writes the old layout in dir: one environment with the five tables,
 * version 1, a live count and the given users and override. */
static void v1_forge(const struct v1_store *v1)
{
	uint32_t version = 1, one = 1;
	MDB_dbi users, overrides, meta;
	MDB_env *env;
	MDB_txn *txn;

	cr_assert_eq(mdb_env_create(&env), 0);
	cr_assert_eq(mdb_env_set_maxdbs(env, 8), 0);
	cr_assert_eq(mdb_env_open(env, dir, 0, 0640), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	v1_table(txn, "allocations");
	v1_put(txn, v1_table(txn, "quota_counts"), "alice", &one, 4);
	meta = v1_table(txn, "meta");
	users = v1_table(txn, "users");
	overrides = v1_table(txn, "quota_overrides");
	v1_put(txn, meta, "version", &version, 4);
	v1_put(txn, meta, "total", &one, 4);
	for (size_t i = 0; i < v1->user_count; i++)
		v1_put_user(txn, users, &v1->users[i]);
	if (v1->override_key != NULL)
		v1_put(txn, overrides, v1->override_key, &v1->override, 4);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* A fresh directory for the forged store; store stays NULL. */
static void empty_dir(void)
{
	store_close(store);
	store = NULL;
	cr_assert_eq(nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
	cr_assert_eq(mkdir(dir, 0750), 0);
}

/* Forges a version 1 store and opens it as the master does. */
static void open_forged(const struct v1_store *v1, struct store_migration *m)
{
	empty_dir();
	v1_forge(v1);
	cr_assert_eq(store_open(dir, STORE_MIGRATE, &store), 0);
	store_migration_get(store, m);
}

/* Closes the store and looks at the live environment with raw LMDB:
 * version 2, and version 1's tables gone. */
static void assert_live_converted(void)
{
	MDB_val key = {7, "version"}, value;
	MDB_dbi meta, old;
	MDB_env *env;
	MDB_txn *txn;
	uint32_t version;

	store_close(store);
	store = NULL;
	cr_assert_eq(mdb_env_create(&env), 0);
	cr_assert_eq(mdb_env_set_maxdbs(env, 8), 0);
	cr_assert_eq(mdb_env_open(env, dir, MDB_RDONLY, 0640), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	cr_assert_eq(mdb_get(txn, meta, &key, &value), 0);
	memcpy(&version, value.mv_data, sizeof(version));
	cr_assert_eq(version, 2);
	cr_assert_eq(mdb_dbi_open(txn, "users", 0, &old), MDB_NOTFOUND);
	cr_assert_eq(mdb_dbi_open(txn, "quota_overrides", 0, &old),
	             MDB_NOTFOUND);
	mdb_txn_abort(txn);
	mdb_env_close(env);
}

static const struct store_user v1_users[] = {
    {.name = "alice", .realm = "example.org", .key_md5 = {1}},
    {.name = "bob", .realm = "old.example", .key_sha256 = {2}},
};

Test(store_migration, a_version_1_store_is_refused_without_migrate)
{
	struct v1_store v1 = {v1_users, 2, "alice", 3};

	empty_dir();
	v1_forge(&v1);
	cr_assert_eq(store_open(dir, 0, &store), EPROTO);
	cr_assert_null(store);
	cr_assert_eq(store_open(dir, STORE_READ_ONLY, &store), EPROTO);
	cr_assert_not(exists("durable"), "a refused open made durable/");
}

Test(store_migration, moves_users_and_overrides_to_the_durable_environment)
{
	struct v1_store v1 = {v1_users, 2, "alice", 3};
	struct store_migration m;
	struct store_user got;
	uint32_t quota = 0;

	open_forged(&v1, &m);
	cr_assert_eq(m.from_version, 1);
	cr_assert_eq(m.users, 2);
	cr_assert_eq(m.overrides, 1);
	cr_assert(m.copied);
	cr_assert_eq(store_user_get(store, "alice", &got), 0);
	cr_assert_eq(memcmp(&got, &v1_users[0], sizeof(got)), 0);
	cr_assert_eq(store_user_get(store, "bob", &got), 0);
	cr_assert_eq(memcmp(&got, &v1_users[1], sizeof(got)), 0);
	cr_assert_eq(store_quota_get(store, "alice", &quota), 0);
	cr_assert_eq(quota, 3);
	/* The index is built by the migration, with each user's realm. */
	cr_assert_eq(find_by_hash("alice", "example.org", "example.org", &got),
	             0);
	cr_assert_eq(find_by_hash("bob", "old.example", "old.example", &got),
	             0);
	cr_assert_eq(index_entries(), 2);
	assert_live_converted();
	/* Converted once: the next open has nothing to do. */
	cr_assert_eq(store_open(dir, STORE_MIGRATE, &store), 0);
	store_migration_get(store, &m);
	cr_assert_eq(m.from_version, 0);
	cr_assert_eq(store_user_get(store, "bob", &got), 0);
}

Test(store_migration, the_converted_store_works_for_readers_and_writers)
{
	struct v1_store v1 = {v1_users, 2, "alice", 1};
	struct store_allocation a = alloc("192.0.2.1", 1, "alice", 0),
	                        b = alloc("192.0.2.1", 2, "alice", 0);
	struct store_user carol = user_of("carol", "example.org", 7), got;
	struct store_limits limits = {.user_quota = 5};
	struct store_migration m;

	open_forged(&v1, &m);
	cr_assert_eq(store_clear_live(store), 0);
	cr_assert_eq(total(), 0);
	cr_assert_eq(store_allocation_add(store, &a, &limits), 0);
	cr_assert_eq(store_allocation_add(store, &b, &limits), EDQUOT);
	cr_assert_eq(store_user_put(store, &carol), 0);
	cr_assert_eq(store_user_delete(store, "bob"), 0);
	reopen(STORE_READ_ONLY);
	cr_assert_eq(store_user_get(store, "carol", &got), 0);
	cr_assert_eq(store_user_get(store, "bob", &got), ENOENT);
	cr_assert_eq(count_of("alice"), 1);
	reopen(0);
	cr_assert_eq(find_by_hash("carol", "example.org", "example.org", &got),
	             0);
}

Test(store_migration, an_empty_version_1_store_converts)
{
	struct v1_store v1 = {NULL, 0, NULL, 0};
	struct store_migration m;

	open_forged(&v1, &m);
	cr_assert_eq(m.from_version, 1);
	cr_assert_eq(m.users + m.overrides, 0);
	cr_assert(m.copied);
	assert_live_converted();
}

/* A version 1 live environment over a converted store (a crash between
 * the two commits, or an old backup restored): the durable environment
 * keeps what it has, and a user deleted since does not come back. */
Test(store_migration, never_copies_into_a_durable_environment_used_before)
{
	struct v1_store v1 = {v1_users, 2, "alice", 3};
	struct store_migration m;
	struct store_user got;
	char live[128];

	open_forged(&v1, &m);
	cr_assert_eq(store_user_delete(store, "alice"), 0);
	cr_assert_eq(store_user_delete(store, "bob"), 0);
	cr_assert_eq(store_quota_delete(store, "alice"), 0);
	store_close(store);
	store = NULL;
	path_of(live, sizeof(live), "data.mdb");
	cr_assert_eq(unlink(live), 0);
	path_of(live, sizeof(live), "lock.mdb");
	cr_assert_eq(unlink(live), 0);
	v1_forge(&v1);
	cr_assert_eq(store_open(dir, STORE_MIGRATE, &store), 0);
	store_migration_get(store, &m);
	cr_assert_eq(m.from_version, 1);
	cr_assert_eq(m.users, 2);
	cr_assert_not(m.copied);
	cr_assert_eq(store_user_get(store, "alice", &got), ENOENT);
	cr_assert_eq(find_by_hash("bob", "old.example", "old.example", &got),
	             ENOENT);
}
