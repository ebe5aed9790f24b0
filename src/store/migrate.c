/*
 * Version 1 to version 2: the users and quota overrides that version 1
 * kept in its one environment, written without fsync, move to the
 * durable environment.
 *
 * The order makes a crash at any point harmless. The live write
 * transaction opens first and holds the live environment's write lock
 * to the end. The durable transaction copies everything, marks the
 * durable environment "migrated" and commits (on disk). Only then does
 * the live transaction drop the old tables and set version 2, and the
 * live environment is synced, so that the drop is on disk before anyone
 * can change a user. A crash before the durable commit leaves a version
 * 1 store with nothing copied; one between the two commits leaves it
 * with the copy done and the mark set, and the next open drops the old
 * tables without copying them again. The mark also keeps a version 1
 * live environment restored from an old backup from bringing back users
 * deleted since: a durable environment that holds data or the mark is
 * never copied into.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "store_private.h"

#define MIGRATED_KEY "migrated"

/* Version 1's two durable tables, in the live environment. */
enum old_table { OLD_USERS, OLD_OVERRIDES, OLD_COUNT };

struct old_tables {
	MDB_dbi dbi[OLD_COUNT];
	bool present[OLD_COUNT];
};

static int old_tables_open(MDB_txn *live, struct old_tables *old)
{
	static const char *const names[OLD_COUNT] = {
	    [OLD_USERS] = STORE_V1_USERS,
	    [OLD_OVERRIDES] = STORE_V1_QUOTA_OVERRIDES,
	};
	int rc;

	for (int i = 0; i < OLD_COUNT; i++) {
		rc = mdb_dbi_open(live, names[i], 0, &old->dbi[i]);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return store_error(rc);
		old->present[i] = rc == 0;
	}
	return 0;
}

/* Entries of an old table; a missing one has none. */
static int old_count(MDB_txn *live, const struct old_tables *old,
                     enum old_table table, size_t *count)
{
	MDB_stat stat;
	int rc;

	*count = 0;
	if (!old->present[table])
		return 0;
	rc = mdb_stat(live, old->dbi[table], &stat);
	if (rc == 0)
		*count = stat.ms_entries;
	return store_error(rc);
}

/* True when the durable environment has never been written to: no
 * data, and no mark of an earlier copy. */
static int durable_untouched(struct store *store, MDB_txn *durable,
                             bool *untouched)
{
	static const enum store_table data[] = {
	    STORE_USERS, STORE_QUOTA_OVERRIDES, STORE_USERHASHES};
	uint32_t mark;
	MDB_stat stat;
	int rc, err;

	*untouched = false;
	for (size_t i = 0; i < sizeof(data) / sizeof(data[0]); i++) {
		rc = mdb_stat(durable, store->dbi[data[i]], &stat);
		if (rc != 0)
			return store_error(rc);
		if (stat.ms_entries != 0)
			return 0;
	}
	err = store_u32_get(durable, store->dbi[STORE_DURABLE_META],
	                    MIGRATED_KEY, &mark);
	if (err == ENOENT)
		*untouched = true;
	return err == ENOENT ? 0 : err;
}

/* Each old user, with its USERHASH entry. */
static int copy_users(struct store *store, MDB_cursor *cursor, MDB_txn *durable)
{
	struct store_user user;
	MDB_val key, value;
	int rc, err = 0;

	while (err == 0 &&
	       (rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) == 0) {
		err = store_user_decode(&key, &value, &user);
		if (err == 0)
			err = store_user_write(store, durable, &user);
	}
	explicit_bzero(&user, sizeof(user));
	if (err != 0)
		return err;
	return rc == MDB_NOTFOUND ? 0 : store_error(rc);
}

static int copy_overrides(struct store *store, MDB_cursor *cursor,
                          MDB_txn *durable)
{
	MDB_dbi overrides = store->dbi[STORE_QUOTA_OVERRIDES];
	MDB_val key, value;
	int rc;

	while ((rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) == 0) {
		if (value.mv_size != sizeof(uint32_t))
			return EIO;
		rc = mdb_put(durable, overrides, &key, &value, 0);
		if (rc != 0)
			return store_error(rc);
	}
	return rc == MDB_NOTFOUND ? 0 : store_error(rc);
}

static int copy_table(struct store *store, MDB_txn *live,
                      const struct old_tables *old, enum old_table table,
                      MDB_txn *durable)
{
	MDB_cursor *cursor;
	int err;

	if (!old->present[table])
		return 0;
	err = store_error(mdb_cursor_open(live, old->dbi[table], &cursor));
	if (err != 0)
		return err;
	if (table == OLD_USERS)
		err = copy_users(store, cursor, durable);
	else
		err = copy_overrides(store, cursor, durable);
	mdb_cursor_close(cursor);
	return err;
}

/* The durable half, in one durable transaction: the copy when the
 * durable environment is untouched, and the mark. */
static int durable_fill(struct store *store, MDB_txn *live,
                        const struct old_tables *old)
{
	MDB_txn *durable;
	bool copy;
	int err;

	err = store_txn_begin(store, STORE_ENV_DURABLE, true, &durable);
	if (err != 0)
		return err;
	err = durable_untouched(store, durable, &copy);
	if (err == 0 && copy)
		err = copy_table(store, live, old, OLD_USERS, durable);
	if (err == 0 && copy)
		err = copy_table(store, live, old, OLD_OVERRIDES, durable);
	if (err == 0)
		err = store_u32_put(durable, store->dbi[STORE_DURABLE_META],
		                    MIGRATED_KEY, STORE_VERSION_SINGLE);
	store->migration.copied = copy;
	return store_txn_end(durable, err);
}

/* The live half, after the durable commit: drop the old tables (which
 * closes their handles) and set the new version. */
static int live_finish(struct store *store, MDB_txn *live,
                       const struct old_tables *old)
{
	int err = 0;

	for (int i = 0; i < OLD_COUNT && err == 0; i++)
		if (old->present[i])
			err = store_error(mdb_drop(live, old->dbi[i], 1));
	if (err == 0)
		err = store_u32_put(live, store->dbi[STORE_META], "version",
		                    STORE_VERSION);
	return err;
}

static int migrate_in(struct store *store, MDB_txn *live)
{
	struct store_migration *report = &store->migration;
	struct old_tables old;
	uint32_t version;
	int err;

	/* Under the write lock: another process may have done it. */
	err = store_u32_get(live, store->dbi[STORE_META], "version", &version);
	if (err != 0 || version == STORE_VERSION)
		return err;
	if (version != STORE_VERSION_SINGLE)
		return EPROTO;
	if ((err = old_tables_open(live, &old)) != 0 ||
	    (err = old_count(live, &old, OLD_USERS, &report->users)) != 0 ||
	    (err = old_count(live, &old, OLD_OVERRIDES, &report->overrides)) !=
	        0 ||
	    (err = durable_fill(store, live, &old)) != 0)
		return err;
	report->from_version = version;
	return live_finish(store, live, &old);
}

int store_migrate(struct store *store)
{
	MDB_txn *live;
	int err;

	memset(&store->migration, 0, sizeof(store->migration));
	err = store_txn_begin(store, STORE_ENV_LIVE, true, &live);
	if (err != 0)
		return err;
	err = store_txn_end(live, migrate_in(store, live));
	/* The environment runs without fsync: force this one commit to
	 * disk, so that a crash cannot bring the old tables back. */
	if (err == 0 && store->migration.from_version != 0)
		err = store_error(mdb_env_sync(store->env[STORE_ENV_LIVE], 1));
	if (err != 0)
		memset(&store->migration, 0, sizeof(store->migration));
	return err;
}
