/*
 * The LMDB environment: opening, the format version, clearing the live
 * tables, stale readers, and the translation of LMDB codes to errno.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_private.h"

/* Sparse: only pages in use take disk space. A record is at most about
 * 2 KiB, so this holds several hundred thousand allocations and users. */
#define STORE_MAP_SIZE ((size_t)1 << 30)
/* One reader slot per transaction in flight: the master, each worker and
 * a few turnpikectl runs need far fewer. */
#define STORE_MAX_READERS 512
/* The directory keeps other users out; files are group-readable for
 * backups. Note that a reader needs write access to lock.mdb. */
#define STORE_DIR_MODE  0750
#define STORE_FILE_MODE 0640

static const char *const table_names[STORE_TABLE_COUNT] = {
    [STORE_ALLOCATIONS] = "allocations",
    [STORE_QUOTA_COUNTS] = "quota_counts",
    [STORE_META] = "meta",
    [STORE_USERS] = "users",
    [STORE_QUOTA_OVERRIDES] = "quota_overrides",
};

int store_error(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_NOTFOUND:
		return ENOENT;
	case MDB_KEYEXIST:
		return EEXIST;
	case MDB_MAP_FULL:
		return ENOSPC;
	case MDB_BAD_VALSIZE:
		return EINVAL;
	case MDB_READERS_FULL:
		return EAGAIN;
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE:
		return EPROTO;
	}
	/* LMDB passes system errors through as they are. */
	return rc > 0 ? rc : EIO;
}

const char *store_strerror(int err)
{
	switch (err) {
	case EDQUOT:
		return "allocation quota reached";
	case EPROTO:
		return "not a turnpike store, or one of another version";
	case EROFS:
		return "store opened read-only";
	case ENOSPC:
		return "store is full";
	}
	/* Both the LMDB codes and errno values. */
	return mdb_strerror(err);
}

bool store_key_valid(const char *s, size_t size)
{
	size_t len;

	if (s == NULL)
		return false;
	len = strnlen(s, size);
	return len > 0 && len < size && len <= STORE_KEY_MAX;
}

int store_txn_begin(struct store *store, bool write, MDB_txn **txn)
{
	if (write && store->read_only)
		return EROFS;
	return store_error(
	    mdb_txn_begin(store->env, NULL, write ? 0 : MDB_RDONLY, txn));
}

int store_txn_end(MDB_txn *txn, int err)
{
	if (err != 0) {
		mdb_txn_abort(txn);
		return err;
	}
	return store_error(mdb_txn_commit(txn));
}

int store_sync(struct store *store)
{
	return store_error(mdb_env_sync(store->env, 1));
}

int store_u32_get(MDB_txn *txn, MDB_dbi dbi, const char *key, uint32_t *value)
{
	MDB_val k = {strlen(key), (void *)key}, v;
	int rc = mdb_get(txn, dbi, &k, &v);

	if (rc != 0)
		return store_error(rc);
	if (v.mv_size != sizeof(*value))
		return EIO;
	memcpy(value, v.mv_data, sizeof(*value));
	return 0;
}

int store_u32_put(MDB_txn *txn, MDB_dbi dbi, const char *key, uint32_t value)
{
	MDB_val k = {strlen(key), (void *)key}, v = {sizeof(value), &value};

	return store_error(mdb_put(txn, dbi, &k, &v, 0));
}

static int make_dir(const char *dir)
{
	if (mkdir(dir, STORE_DIR_MODE) == 0 || errno == EEXIST)
		return 0;
	return errno;
}

static int env_open(struct store *store, const char *dir)
{
	/*
	 * The live tables need no fsync: the master clears them at start;
	 * users.c syncs the durable ones itself. MDB_WRITEMAP made an
	 * add+delete pair about 3 times faster (4 against 12 us), at a
	 * price: on a full disk, writing a page of the sparse file raises
	 * SIGBUS instead of returning ENOSPC. MDB_NOTLS ties reader slots
	 * to transactions, not threads.
	 */
	unsigned flags =
	    MDB_NOTLS |
	    (store->read_only ? MDB_RDONLY : MDB_NOSYNC | MDB_WRITEMAP);
	int rc;

	rc = mdb_env_create(&store->env);
	if (rc != 0)
		return store_error(rc);
	if ((rc = mdb_env_set_maxdbs(store->env, STORE_TABLE_COUNT)) != 0 ||
	    (rc = mdb_env_set_mapsize(store->env, STORE_MAP_SIZE)) != 0 ||
	    (rc = mdb_env_set_maxreaders(store->env, STORE_MAX_READERS)) != 0 ||
	    (rc = mdb_env_open(store->env, dir, flags, STORE_FILE_MODE)) != 0)
		return store_error(rc);
	return 0;
}

static bool tables_empty(struct store *store, MDB_txn *txn)
{
	MDB_stat stat;

	for (int i = 0; i < STORE_TABLE_COUNT; i++)
		if (mdb_stat(txn, store->dbi[i], &stat) != 0 ||
		    stat.ms_entries != 0)
			return false;
	return true;
}

/* A new store gets the version; one with data but no version, or
 * another version, is not ours to read. */
static int version_check(struct store *store, MDB_txn *txn)
{
	MDB_dbi meta = store->dbi[STORE_META];
	uint32_t version;
	int err = store_u32_get(txn, meta, "version", &version);

	if (err == ENOENT && !store->read_only && tables_empty(store, txn))
		return store_u32_put(txn, meta, "version", STORE_VERSION);
	if (err == ENOENT)
		return EPROTO;
	if (err != 0)
		return err;
	return version == STORE_VERSION ? 0 : EPROTO;
}

/* The handles stay valid for the environment's life once the
 * transaction that opened them commits (a read-only one too). */
static int tables_open(struct store *store)
{
	unsigned flags = store->read_only ? 0 : MDB_CREATE;
	MDB_txn *txn;
	int err, rc;

	err = store_txn_begin(store, !store->read_only, &txn);
	if (err != 0)
		return err;
	for (int i = 0; i < STORE_TABLE_COUNT && err == 0; i++) {
		rc = mdb_dbi_open(txn, table_names[i], flags, &store->dbi[i]);
		err = store_error(rc);
	}
	if (err == 0)
		err = version_check(store, txn);
	return store_txn_end(txn, err);
}

int store_open(const char *dir, unsigned flags, struct store **out)
{
	struct store *store;
	int err;

	*out = NULL;
	if (flags & ~(unsigned)STORE_READ_ONLY)
		return EINVAL;
	if (!(flags & STORE_READ_ONLY) && (err = make_dir(dir)) != 0)
		return err;
	store = calloc(1, sizeof(*store));
	if (store == NULL)
		return ENOMEM;
	store->read_only = flags & STORE_READ_ONLY;
	if ((err = env_open(store, dir)) != 0 ||
	    (err = tables_open(store)) != 0)
		goto fail;
	*out = store;
	return 0;
fail:
	store_close(store);
	return err;
}

void store_close(struct store *store)
{
	if (store == NULL)
		return;
	if (store->env != NULL)
		mdb_env_close(store->env);
	free(store);
}

int store_clear_live(struct store *store)
{
	MDB_txn *txn;
	int err;

	err = store_txn_begin(store, true, &txn);
	if (err != 0)
		return err;
	err = store_error(mdb_drop(txn, store->dbi[STORE_ALLOCATIONS], 0));
	if (err == 0)
		err = store_error(
		    mdb_drop(txn, store->dbi[STORE_QUOTA_COUNTS], 0));
	if (err == 0)
		err = store_u32_put(txn, store->dbi[STORE_META], "total", 0);
	return store_txn_end(txn, err);
}

int store_reader_check(struct store *store, int *dead)
{
	int count = 0, rc;

	rc = mdb_reader_check(store->env, &count);
	if (dead != NULL)
		*dead = count;
	return store_error(rc);
}
