/*
 * The LMDB environments: opening both, their format versions, clearing
 * the live tables, stale readers, and the translation of LMDB codes to
 * errno.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_private.h"

/* Sparse: only pages in use take disk space. A record is at most about
 * 2 KiB, so this holds several hundred thousand allocations and users. */
#define STORE_MAP_SIZE ((size_t)1 << 30)
/* One reader slot per transaction in flight: the master, each worker and
 * a few turnpikectl runs need far fewer. */
#define STORE_MAX_READERS 512
/* The named databases of either environment, with room for version 1's
 * users and quota overrides, which the migration opens in the live one. */
#define STORE_MAX_DBS 8
/* The directories keep other users out; files are group-readable for
 * backups. Note that a reader needs write access to lock.mdb. */
#define STORE_DIR_MODE  0750
#define STORE_FILE_MODE 0640

static const struct table {
	const char *name;
	enum store_env env;
	unsigned flags;
} tables[STORE_TABLE_COUNT] = {
    [STORE_ALLOCATIONS] = {"allocations", STORE_ENV_LIVE, 0},
    [STORE_QUOTA_COUNTS] = {"quota_counts", STORE_ENV_LIVE, 0},
    [STORE_META] = {"meta", STORE_ENV_LIVE, 0},
    [STORE_USERS] = {"users", STORE_ENV_DURABLE, 0},
    [STORE_QUOTA_OVERRIDES] = {"quota_overrides", STORE_ENV_DURABLE, 0},
    [STORE_USERHASHES] = {"userhashes", STORE_ENV_DURABLE, MDB_DUPSORT},
    [STORE_DURABLE_META] = {"meta", STORE_ENV_DURABLE, 0},
};

enum store_env store_table_env(enum store_table table)
{
	return tables[table].env;
}

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
		return "read-only: a read-only file system (where LMDB cannot "
		       "take a reader slot in lock.mdb), or a store opened "
		       "read-only";
	case ELOOP:
		return "a symbolic link in the state directory (refused)";
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

int store_txn_begin(struct store *store, enum store_env env, bool write,
                    MDB_txn **txn)
{
	if (write && store->read_only)
		return EROFS;
	return store_error(
	    mdb_txn_begin(store->env[env], NULL, write ? 0 : MDB_RDONLY, txn));
}

int store_txn_end(MDB_txn *txn, int err)
{
	if (err != 0) {
		mdb_txn_abort(txn);
		return err;
	}
	return store_error(mdb_txn_commit(txn));
}

/* A fixed-size value under a string key: ENOENT when missing, EIO when
 * of another size. */
static int value_get(MDB_txn *txn, MDB_dbi dbi, const char *key, void *value,
                     size_t size)
{
	MDB_val k = {strlen(key), (void *)key}, v;
	int rc = mdb_get(txn, dbi, &k, &v);

	if (rc != 0)
		return store_error(rc);
	if (v.mv_size != size)
		return EIO;
	memcpy(value, v.mv_data, size);
	return 0;
}

static int value_put(MDB_txn *txn, MDB_dbi dbi, const char *key,
                     const void *value, size_t size)
{
	MDB_val k = {strlen(key), (void *)key}, v = {size, (void *)value};

	return store_error(mdb_put(txn, dbi, &k, &v, 0));
}

int store_u32_get(MDB_txn *txn, MDB_dbi dbi, const char *key, uint32_t *value)
{
	return value_get(txn, dbi, key, value, sizeof(*value));
}

int store_u32_put(MDB_txn *txn, MDB_dbi dbi, const char *key, uint32_t value)
{
	return value_put(txn, dbi, key, &value, sizeof(value));
}

int store_u64_get(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t *value)
{
	return value_get(txn, dbi, key, value, sizeof(*value));
}

int store_u64_put(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t value)
{
	return value_put(txn, dbi, key, &value, sizeof(value));
}

static int make_dir(const char *dir)
{
	if (mkdir(dir, STORE_DIR_MODE) == 0 || errno == EEXIST)
		return 0;
	return errno;
}

/* path = dir/name (name NULL: dir itself), or ENAMETOOLONG. */
static int path_in(char path[PATH_MAX], const char *dir, const char *name)
{
	int len = snprintf(path, PATH_MAX, "%s%s%s", dir, name ? "/" : "",
	                   name ? name : "");

	return len < 0 || len >= PATH_MAX ? ENAMETOOLONG : 0;
}

/* ELOOP when dir/name (name NULL: dir itself) is a symbolic link. The
 * service user owns the state directory, and a master started as root
 * opens and chowns what is in it: a link planted there would make root
 * create or hand over files elsewhere (/etc, say). */
static int refuse_symlink(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;
	int err = path_in(path, dir, name);

	if (err != 0)
		return err;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : errno;
	return S_ISLNK(st.st_mode) ? ELOOP : 0;
}

/* EROFS when a read-only open would read without LMDB's lock file: LMDB
 * opens the lock file with O_RDWR | O_CREAT, and on EROFS with
 * MDB_RDONLY goes on without locks (mdb_env_setup_locks()); its readers
 * then hold no reader slot, and a writer in another mount namespace, the
 * daemon, may reuse the pages they read. A systemd unit with
 * ProtectSystem=strict and the state directory outside its
 * ReadWritePaths= is such a reader. What counts is the mount of lock.mdb
 * itself, or of the directory while there is none. Other errors are
 * LMDB's to report. */
static int refuse_lockless_reader(const char *dir)
{
	char path[PATH_MAX];
	int err = path_in(path, dir, "lock.mdb");

	if (err != 0)
		return err;
	if (faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == 0)
		return 0;
	if (errno == ENOENT && faccessat(AT_FDCWD, dir, W_OK, AT_EACCESS) == 0)
		return 0;
	return errno == EROFS ? EROFS : 0;
}

static int env_open(struct store *store, enum store_env which, const char *dir)
{
	/*
	 * The live tables need no fsync: the master clears them at start.
	 * MDB_WRITEMAP made an add+delete pair about 3 times faster (4
	 * against 12 us), at a price: on a full disk, writing a page of the
	 * sparse file raises SIGBUS instead of returning ENOSPC. The
	 * durable environment keeps LMDB's defaults: with MDB_NOSYNC a
	 * system crash can corrupt an environment, and the operator's users
	 * must survive one. MDB_NOTLS ties reader slots to transactions,
	 * not threads.
	 */
	unsigned flags = MDB_NOTLS;
	MDB_env *env;
	int rc;

	if ((rc = refuse_symlink(dir, "data.mdb")) != 0 ||
	    (rc = refuse_symlink(dir, "lock.mdb")) != 0 ||
	    (store->read_only && (rc = refuse_lockless_reader(dir)) != 0))
		return rc;
	if (store->read_only)
		flags |= MDB_RDONLY;
	else if (which == STORE_ENV_LIVE)
		flags |= MDB_NOSYNC | MDB_WRITEMAP;
	rc = mdb_env_create(&env);
	if (rc != 0)
		return store_error(rc);
	store->env[which] = env;
	if ((rc = mdb_env_set_maxdbs(env, STORE_MAX_DBS)) != 0 ||
	    (rc = mdb_env_set_mapsize(env, STORE_MAP_SIZE)) != 0 ||
	    (rc = mdb_env_set_maxreaders(env, STORE_MAX_READERS)) != 0 ||
	    (rc = mdb_env_open(env, dir, flags, STORE_FILE_MODE)) != 0)
		return store_error(rc);
	return 0;
}

static bool tables_empty(struct store *store, MDB_txn *txn, enum store_env env)
{
	MDB_stat stat;

	for (int i = 0; i < STORE_TABLE_COUNT; i++)
		if (tables[i].env == env &&
		    (mdb_stat(txn, store->dbi[i], &stat) != 0 ||
		     stat.ms_entries != 0))
			return false;
	return true;
}

/* A new environment gets the current version; one with data but no
 * version is not ours to read. *version gets what the environment has,
 * for the caller to judge. */
static int version_read(struct store *store, MDB_txn *txn, enum store_env env,
                        uint32_t *version)
{
	MDB_dbi meta =
	    store->dbi[env == STORE_ENV_LIVE ? STORE_META : STORE_DURABLE_META];
	uint32_t current =
	    env == STORE_ENV_LIVE ? STORE_VERSION : STORE_DURABLE_VERSION;
	int err = store_u32_get(txn, meta, "version", version);

	if (err == ENOENT && !store->read_only &&
	    tables_empty(store, txn, env)) {
		*version = current;
		return store_u32_put(txn, meta, "version", current);
	}
	return err == ENOENT ? EPROTO : err;
}

/* The handles stay valid for the environment's life once the
 * transaction that opened them commits (a read-only one too). */
static int tables_open(struct store *store, enum store_env env,
                       uint32_t *version)
{
	unsigned create = store->read_only ? 0 : MDB_CREATE;
	MDB_txn *txn;
	int err, rc;

	err = store_txn_begin(store, env, !store->read_only, &txn);
	if (err != 0)
		return err;
	for (int i = 0; i < STORE_TABLE_COUNT && err == 0; i++) {
		if (tables[i].env != env)
			continue;
		rc = mdb_dbi_open(txn, tables[i].name, tables[i].flags | create,
		                  &store->dbi[i]);
		err = store_error(rc);
	}
	if (err == 0)
		err = version_read(store, txn, env, version);
	return store_txn_end(txn, err);
}

/* The live environment first: a version 1 store has no durable one, and
 * is refused, or kept for the migration, before that is looked for. */
static int live_open(struct store *store, const char *dir, unsigned flags,
                     bool *migrate)
{
	uint32_t version;
	int err;

	if ((!store->read_only && (err = make_dir(dir)) != 0) ||
	    (err = env_open(store, STORE_ENV_LIVE, dir)) != 0 ||
	    (err = tables_open(store, STORE_ENV_LIVE, &version)) != 0)
		return err;
	*migrate =
	    version == STORE_VERSION_SINGLE && (flags & STORE_MIGRATE) != 0;
	return version == STORE_VERSION || *migrate ? 0 : EPROTO;
}

static int durable_open(struct store *store, const char *dir)
{
	char path[PATH_MAX];
	uint32_t version;
	int err;

	if ((err = path_in(path, dir, STORE_DURABLE_SUBDIR)) != 0 ||
	    (err = refuse_symlink(path, NULL)) != 0 ||
	    (!store->read_only && (err = make_dir(path)) != 0) ||
	    (err = env_open(store, STORE_ENV_DURABLE, path)) != 0 ||
	    (err = tables_open(store, STORE_ENV_DURABLE, &version)) != 0)
		return err;
	return version == STORE_DURABLE_VERSION ? 0 : EPROTO;
}

int store_open(const char *dir, unsigned flags, struct store **out)
{
	struct store *store;
	bool migrate = false;
	int err;

	*out = NULL;
	if ((flags & ~(unsigned)(STORE_READ_ONLY | STORE_MIGRATE)) != 0 ||
	    ((flags & STORE_READ_ONLY) && (flags & STORE_MIGRATE)))
		return EINVAL;
	store = calloc(1, sizeof(*store));
	if (store == NULL)
		return ENOMEM;
	store->read_only = flags & STORE_READ_ONLY;
	if ((err = live_open(store, dir, flags, &migrate)) != 0 ||
	    (err = durable_open(store, dir)) != 0 ||
	    (migrate && (err = store_migrate(store)) != 0))
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
	for (int i = 0; i < STORE_ENV_COUNT; i++)
		if (store->env[i] != NULL)
			mdb_env_close(store->env[i]);
	free(store);
}

void store_migration_get(const struct store *store, struct store_migration *out)
{
	*out = store->migration;
}

int store_clear_live(struct store *store)
{
	MDB_txn *txn;
	int err;

	err = store_txn_begin(store, STORE_ENV_LIVE, true, &txn);
	if (err != 0)
		return err;
	err = store_error(mdb_drop(txn, store->dbi[STORE_ALLOCATIONS], 0));
	if (err == 0)
		err = store_error(
		    mdb_drop(txn, store->dbi[STORE_QUOTA_COUNTS], 0));
	if (err == 0)
		err = store_u32_put(txn, store->dbi[STORE_META], "total", 0);
	if (err == 0)
		err = store_revocations_clear(txn, store->dbi[STORE_META]);
	return store_txn_end(txn, err);
}

int store_reader_check(struct store *store, int *dead)
{
	int count, sum = 0, rc = 0;

	for (int i = 0; i < STORE_ENV_COUNT && rc == 0; i++) {
		count = 0;
		rc = mdb_reader_check(store->env[i], &count);
		sum += count;
	}
	if (dead != NULL)
		*dead = sum;
	return store_error(rc);
}
