/*
 * The durable tables: users and quota overrides. The environment runs
 * without fsync for the live tables, so every change here is followed by
 * an explicit sync before it is reported done.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "store_private.h"

/* A user record: the realm's length and bytes, then both keys. */
#define USER_RECORD_MAX (1 + 127 + 16 + 32)

static int user_encode(const struct store_user *user,
                       uint8_t buf[USER_RECORD_MAX], size_t *len)
{
	size_t realm_len = strnlen(user->realm, sizeof(user->realm));

	if (realm_len == sizeof(user->realm))
		return EINVAL;
	buf[0] = (uint8_t)realm_len;
	memcpy(buf + 1, user->realm, realm_len);
	memcpy(buf + 1 + realm_len, user->key_md5, sizeof(user->key_md5));
	memcpy(buf + 1 + realm_len + sizeof(user->key_md5), user->key_sha256,
	       sizeof(user->key_sha256));
	*len = 1 + realm_len + sizeof(user->key_md5) + sizeof(user->key_sha256);
	return 0;
}

static int user_decode(const MDB_val *key, const MDB_val *value,
                       struct store_user *user)
{
	const uint8_t *p = value->mv_data;
	size_t realm_len;

	memset(user, 0, sizeof(*user));
	if (key->mv_size >= sizeof(user->name) || value->mv_size < 1)
		return EIO;
	realm_len = p[0];
	if (realm_len >= sizeof(user->realm) ||
	    value->mv_size != 1 + realm_len + sizeof(user->key_md5) +
	                          sizeof(user->key_sha256))
		return EIO;
	memcpy(user->name, key->mv_data, key->mv_size);
	memcpy(user->realm, p + 1, realm_len);
	memcpy(user->key_md5, p + 1 + realm_len, sizeof(user->key_md5));
	memcpy(user->key_sha256, p + 1 + realm_len + sizeof(user->key_md5),
	       sizeof(user->key_sha256));
	return 0;
}

/* Commits a durable change: the commit, then the sync. */
static int durable_end(struct store *store, MDB_txn *txn, int err)
{
	if ((err = store_txn_end(txn, err)) != 0)
		return err;
	return store_sync(store);
}

/* One write of a durable table; value NULL deletes the key. */
static int durable_write(struct store *store, enum store_table table,
                         const char *name, MDB_val *value)
{
	MDB_val key = {strlen(name), (void *)name};
	MDB_txn *txn;
	int rc, err;

	if ((err = store_txn_begin(store, true, &txn)) != 0)
		return err;
	if (value != NULL)
		rc = mdb_put(txn, store->dbi[table], &key, value, 0);
	else
		rc = mdb_del(txn, store->dbi[table], &key, NULL);
	return durable_end(store, txn, store_error(rc));
}

int store_user_put(struct store *store, const struct store_user *user)
{
	uint8_t buf[USER_RECORD_MAX];
	MDB_val value = {0, buf};
	int err;

	if (!store_key_valid(user->name, sizeof(user->name)))
		return EINVAL;
	if ((err = user_encode(user, buf, &value.mv_size)) == 0)
		err = durable_write(store, STORE_USERS, user->name, &value);
	explicit_bzero(buf, sizeof(buf));
	return err;
}

int store_user_get(struct store *store, const char *name,
                   struct store_user *user)
{
	MDB_val key = {0, (void *)name}, value;
	MDB_txn *txn;
	int err;

	if (!store_key_valid(name, sizeof(user->name)))
		return EINVAL;
	key.mv_size = strlen(name);
	if ((err = store_txn_begin(store, false, &txn)) != 0)
		return err;
	err = store_error(mdb_get(txn, store->dbi[STORE_USERS], &key, &value));
	if (err == 0)
		err = user_decode(&key, &value, user);
	mdb_txn_abort(txn);
	return err;
}

int store_user_delete(struct store *store, const char *name)
{
	if (!store_key_valid(name, STORE_NAME_MAX))
		return EINVAL;
	return durable_write(store, STORE_USERS, name, NULL);
}

static int user_foreach_in(MDB_cursor *cursor, store_user_fn fn, void *arg)
{
	struct store_user user;
	MDB_val key, value;
	int rc = 0, err = 0;

	while (err == 0 &&
	       (rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) == 0) {
		err = user_decode(&key, &value, &user);
		if (err == 0)
			err = fn(&user, arg);
	}
	explicit_bzero(&user, sizeof(user));
	if (err != 0)
		return err;
	return rc == MDB_NOTFOUND ? 0 : store_error(rc);
}

int store_user_foreach(struct store *store, store_user_fn fn, void *arg)
{
	MDB_cursor *cursor;
	MDB_txn *txn;
	int err;

	if ((err = store_txn_begin(store, false, &txn)) != 0)
		return err;
	err =
	    store_error(mdb_cursor_open(txn, store->dbi[STORE_USERS], &cursor));
	if (err == 0) {
		err = user_foreach_in(cursor, fn, arg);
		mdb_cursor_close(cursor);
	}
	mdb_txn_abort(txn);
	return err;
}

int store_quota_set(struct store *store, const char *quota_key, uint32_t quota)
{
	MDB_val value = {sizeof(quota), &quota};

	if (!store_key_valid(quota_key, STORE_QUOTA_KEY_MAX))
		return EINVAL;
	return durable_write(store, STORE_QUOTA_OVERRIDES, quota_key, &value);
}

int store_quota_get(struct store *store, const char *quota_key, uint32_t *quota)
{
	MDB_txn *txn;
	int err;

	if (!store_key_valid(quota_key, STORE_QUOTA_KEY_MAX))
		return EINVAL;
	if ((err = store_txn_begin(store, false, &txn)) != 0)
		return err;
	err = store_u32_get(txn, store->dbi[STORE_QUOTA_OVERRIDES], quota_key,
	                    quota);
	mdb_txn_abort(txn);
	return err;
}

int store_quota_delete(struct store *store, const char *quota_key)
{
	if (!store_key_valid(quota_key, STORE_QUOTA_KEY_MAX))
		return EINVAL;
	return durable_write(store, STORE_QUOTA_OVERRIDES, quota_key, NULL);
}
