/*
 * Revocations (turnpikectl revoke): users whose live allocations must end
 * now, in every worker, whatever generation. Kept in the live
 * environment's meta table, which turnpiked clears at each start:
 * "revoked:NAME" holds the wall-clock second of the latest revocation of
 * NAME (an allocation made up to then ends), "revoked-seq" counts
 * revocations. Each worker reads the count once a second and, when it
 * moved, the list: allocation-rate work, never the packet path.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store_private.h"

#define REVOKED_PREFIX "revoked:"
#define REVOKED_SEQ    "revoked-seq"
/* Both sort from here, before every other key of the table. */
#define REVOKED_KEYS "revoked"

int store_revoke(struct store *store, const char *name, uint64_t when)
{
	char key[sizeof(REVOKED_PREFIX) + STORE_NAME_MAX];
	MDB_dbi meta = store->dbi[STORE_META];
	uint64_t seq = 0;
	MDB_txn *txn;
	int err;

	if (!store_key_valid(name, STORE_NAME_MAX))
		return EINVAL;
	snprintf(key, sizeof(key), "%s%s", REVOKED_PREFIX, name);
	if ((err = store_txn_begin(store, STORE_ENV_LIVE, true, &txn)) != 0)
		return err;
	err = store_u64_put(txn, meta, key, when);
	if (err == 0) {
		err = store_u64_get(txn, meta, REVOKED_SEQ, &seq);
		if (err == ENOENT)
			err = 0;
	}
	if (err == 0)
		err = store_u64_put(txn, meta, REVOKED_SEQ, seq + 1);
	return store_txn_end(txn, err);
}

bool store_revocation_matches(const char *name, const char *username,
                              const char *quota_key)
{
	return strcmp(name, username) == 0 || strcmp(name, quota_key) == 0;
}

int store_revocation_seq(struct store *store, uint64_t *seq)
{
	MDB_txn *txn;
	int err;

	*seq = 0;
	if ((err = store_txn_begin(store, STORE_ENV_LIVE, false, &txn)) != 0)
		return err;
	err = store_u64_get(txn, store->dbi[STORE_META], REVOKED_SEQ, seq);
	mdb_txn_abort(txn);
	return err == ENOENT ? 0 : err;
}

int store_revocation_foreach(struct store *store, store_revocation_fn fn,
                             void *arg)
{
	const size_t prefix = strlen(REVOKED_PREFIX);
	char name[STORE_NAME_MAX];
	MDB_val key = {prefix, REVOKED_PREFIX}, data;
	MDB_cursor *cursor;
	MDB_txn *txn;
	uint64_t when;
	int rc, err;

	if ((err = store_txn_begin(store, STORE_ENV_LIVE, false, &txn)) != 0)
		return err;
	err =
	    store_error(mdb_cursor_open(txn, store->dbi[STORE_META], &cursor));
	if (err != 0) {
		mdb_txn_abort(txn);
		return err;
	}
	rc = mdb_cursor_get(cursor, &key, &data, MDB_SET_RANGE);
	for (; rc == 0; rc = mdb_cursor_get(cursor, &key, &data, MDB_NEXT)) {
		if (key.mv_size <= prefix ||
		    memcmp(key.mv_data, REVOKED_PREFIX, prefix) != 0)
			break; /* past the revocations: keys are sorted */
		if (key.mv_size - prefix >= sizeof(name) ||
		    data.mv_size != sizeof(when)) {
			err = EIO;
			break;
		}
		memcpy(name, (const char *)key.mv_data + prefix,
		       key.mv_size - prefix);
		name[key.mv_size - prefix] = '\0';
		memcpy(&when, data.mv_data, sizeof(when));
		if ((err = fn(name, when, arg)) != 0)
			break;
	}
	if (err == 0 && rc != 0 && rc != MDB_NOTFOUND)
		err = store_error(rc);
	mdb_cursor_close(cursor);
	mdb_txn_abort(txn);
	return err;
}

int store_revocations_clear(MDB_txn *txn, MDB_dbi meta)
{
	const size_t prefix = strlen(REVOKED_KEYS);
	MDB_val key = {prefix, REVOKED_KEYS}, data;
	MDB_cursor *cursor;
	int rc, err;

	err = store_error(mdb_cursor_open(txn, meta, &cursor));
	if (err != 0)
		return err;
	/* After mdb_cursor_del the cursor already sits on the next key,
	 * and MDB_NEXT returns that one (as in purge_in()). */
	rc = mdb_cursor_get(cursor, &key, &data, MDB_SET_RANGE);
	while (rc == 0 && key.mv_size >= prefix &&
	       memcmp(key.mv_data, REVOKED_KEYS, prefix) == 0) {
		if ((err = store_error(mdb_cursor_del(cursor, 0))) != 0)
			break;
		rc = mdb_cursor_get(cursor, &key, &data, MDB_NEXT);
	}
	if (err == 0 && rc != 0 && rc != MDB_NOTFOUND)
		err = store_error(rc);
	mdb_cursor_close(cursor);
	return err;
}
