/*
 * The durable tables: users, their USERHASH index and quota overrides,
 * in the durable environment, whose every commit is on disk when it
 * returns.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "turnpike/stun.h"
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

int store_user_decode(const MDB_val *key, const MDB_val *value,
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

/* RFC 8489 §14.4: the USERHASH of a user, with the realm its keys were
 * made for (not the configured one: see store.h). */
static int userhash_of(const struct store_user *user,
                       uint8_t hash[STUN_SHA256_SIZE])
{
	return stun_userhash(user->name, strlen(user->name), user->realm,
	                     strlen(user->realm), hash);
}

/* Adds or removes the index entry of user, in txn. */
static int userhash_change(struct store *store, MDB_txn *txn,
                           const struct store_user *user, bool add)
{
	uint8_t hash[STUN_SHA256_SIZE];
	MDB_val key = {sizeof(hash), hash};
	MDB_val name = {strlen(user->name), (void *)user->name};
	MDB_dbi index = store->dbi[STORE_USERHASHES];
	int rc;

	if (userhash_of(user, hash) != 0)
		return ENOMEM;
	if (add)
		rc = mdb_put(txn, index, &key, &name, 0);
	else
		rc = mdb_del(txn, index, &key, &name);
	/* An entry already gone is what a delete wants. */
	return rc == MDB_NOTFOUND && !add ? 0 : store_error(rc);
}

/* The user of that name in txn, for its old index entry. */
static int user_read(struct store *store, MDB_txn *txn, const char *name,
                     struct store_user *user)
{
	MDB_val key = {strlen(name), (void *)name}, value;
	int rc = mdb_get(txn, store->dbi[STORE_USERS], &key, &value);

	if (rc != 0)
		return store_error(rc);
	return store_user_decode(&key, &value, user);
}

/* Removes the index entry of the user of that name; ENOENT when there
 * is no such user. */
static int unindex(struct store *store, MDB_txn *txn, const char *name)
{
	struct store_user old;
	int err = user_read(store, txn, name, &old);

	if (err == 0)
		err = userhash_change(store, txn, &old, false);
	explicit_bzero(&old, sizeof(old));
	return err;
}

int store_user_write(struct store *store, MDB_txn *txn,
                     const struct store_user *user)
{
	uint8_t buf[USER_RECORD_MAX];
	MDB_val key = {strlen(user->name), (void *)user->name};
	MDB_val value = {0, buf};
	int err;

	if ((err = user_encode(user, buf, &value.mv_size)) != 0)
		return err;
	err = unindex(store, txn, user->name);
	if (err == 0 || err == ENOENT)
		err = store_error(
		    mdb_put(txn, store->dbi[STORE_USERS], &key, &value, 0));
	if (err == 0)
		err = userhash_change(store, txn, user, true);
	explicit_bzero(buf, sizeof(buf));
	return err;
}

int store_user_put(struct store *store, const struct store_user *user)
{
	MDB_txn *txn;
	int err;

	if (!store_key_valid(user->name, sizeof(user->name)))
		return EINVAL;
	if ((err = store_txn_begin(store, STORE_ENV_DURABLE, true, &txn)) != 0)
		return err;
	return store_txn_end(txn, store_user_write(store, txn, user));
}

int store_user_get(struct store *store, const char *name,
                   struct store_user *user)
{
	MDB_txn *txn;
	int err;

	if (!store_key_valid(name, sizeof(user->name)))
		return EINVAL;
	if ((err = store_txn_begin(store, STORE_ENV_DURABLE, false, &txn)) != 0)
		return err;
	err = user_read(store, txn, name, user);
	mdb_txn_abort(txn);
	return err;
}

/* Of the names under one USERHASH (one, but for a realm that makes
 * "name:realm" of another user's), the one whose keys are for realm. */
static int by_hash_in(struct store *store, MDB_txn *txn, MDB_cursor *cursor,
                      const char *realm, struct store_user *user)
{
	char name[STORE_NAME_MAX];
	MDB_val key, value;
	int rc, err;

	rc = mdb_cursor_get(cursor, &key, &value, MDB_GET_CURRENT);
	while (rc == 0) {
		if (value.mv_size == 0 || value.mv_size >= sizeof(name))
			return EIO;
		memcpy(name, value.mv_data, value.mv_size);
		name[value.mv_size] = '\0';
		err = user_read(store, txn, name, user);
		if (err == 0 && strcmp(user->realm, realm) == 0)
			return 0;
		if (err != 0 && err != ENOENT)
			return err;
		rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT_DUP);
	}
	explicit_bzero(user, sizeof(*user));
	return store_error(rc);
}

int store_user_get_by_hash(struct store *store,
                           const uint8_t hash[STUN_SHA256_SIZE],
                           const char *realm, struct store_user *user)
{
	MDB_val key = {STUN_SHA256_SIZE, (void *)hash}, value;
	MDB_cursor *cursor;
	MDB_txn *txn;
	int err;

	memset(user, 0, sizeof(*user));
	if ((err = store_txn_begin(store, STORE_ENV_DURABLE, false, &txn)) != 0)
		return err;
	err = store_error(
	    mdb_cursor_open(txn, store->dbi[STORE_USERHASHES], &cursor));
	if (err == 0) {
		err = store_error(
		    mdb_cursor_get(cursor, &key, &value, MDB_SET_KEY));
		if (err == 0)
			err = by_hash_in(store, txn, cursor, realm, user);
		mdb_cursor_close(cursor);
	}
	mdb_txn_abort(txn);
	return err;
}

static int delete_in(struct store *store, MDB_txn *txn, const char *name)
{
	MDB_val key = {strlen(name), (void *)name};
	int err = unindex(store, txn, name);

	if (err == 0)
		err = store_error(
		    mdb_del(txn, store->dbi[STORE_USERS], &key, NULL));
	return err;
}

int store_user_delete(struct store *store, const char *name)
{
	MDB_txn *txn;
	int err;

	if (!store_key_valid(name, STORE_NAME_MAX))
		return EINVAL;
	if ((err = store_txn_begin(store, STORE_ENV_DURABLE, true, &txn)) != 0)
		return err;
	return store_txn_end(txn, delete_in(store, txn, name));
}

static int user_foreach_in(MDB_cursor *cursor, store_user_fn fn, void *arg)
{
	struct store_user user;
	MDB_val key, value;
	int rc = 0, err = 0;

	while (err == 0 &&
	       (rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) == 0) {
		err = store_user_decode(&key, &value, &user);
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

	if ((err = store_txn_begin(store, STORE_ENV_DURABLE, false, &txn)) != 0)
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

/* One write of the overrides; value NULL deletes the key. */
static int override_write(struct store *store, const char *quota_key,
                          MDB_val *value)
{
	MDB_val key = {strlen(quota_key), (void *)quota_key};
	MDB_dbi overrides = store->dbi[STORE_QUOTA_OVERRIDES];
	MDB_txn *txn;
	int rc, err;

	if ((err = store_txn_begin(store, STORE_ENV_DURABLE, true, &txn)) != 0)
		return err;
	if (value != NULL)
		rc = mdb_put(txn, overrides, &key, value, 0);
	else
		rc = mdb_del(txn, overrides, &key, NULL);
	return store_txn_end(txn, store_error(rc));
}

int store_quota_set(struct store *store, const char *quota_key, uint32_t quota)
{
	MDB_val value = {sizeof(quota), &quota};

	if (!store_key_valid(quota_key, STORE_QUOTA_KEY_MAX))
		return EINVAL;
	return override_write(store, quota_key, &value);
}

int store_quota_get(struct store *store, const char *quota_key, uint32_t *quota)
{
	MDB_txn *txn;
	int err;

	if (!store_key_valid(quota_key, STORE_QUOTA_KEY_MAX))
		return EINVAL;
	if ((err = store_txn_begin(store, STORE_ENV_DURABLE, false, &txn)) != 0)
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
	return override_write(store, quota_key, NULL);
}
