/*
 * storeforge: writes a state directory in the layout of store version 1
 * (one LMDB environment for everything, users and quota overrides
 * included), as a turnpiked of before the durable environment left it,
 * so that the integration tests can watch turnpiked convert one. It
 * writes the tables with raw LMDB calls, as that version did; only this
 * test helper and the store module include <lmdb.h>.
 *
 *   storeforge DIR REALM NAME:PASSWORD[:QUOTA]...
 */
#include "config.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "turnpike/stun.h"

static int put(MDB_txn *txn, MDB_dbi dbi, const char *key, const void *value,
               size_t len)
{
	MDB_val k = {strlen(key), (void *)key}, v = {len, (void *)value};

	return mdb_put(txn, dbi, &k, &v, 0);
}

/* Version 1's user record: the realm's length and bytes, then the MD5
 * and SHA-256 long-term keys (RFC 8489 §9.2.2). */
static int put_user(MDB_txn *txn, MDB_dbi users, const char *realm,
                    const char *name, const char *password)
{
	uint8_t record[1 + 127 + 16 + 32];
	size_t realm_len = strlen(realm), len;
	uint8_t *keys = record + 1 + realm_len;

	if (realm_len > 127)
		return EINVAL;
	record[0] = (uint8_t)realm_len;
	memcpy(record + 1, realm, realm_len);
	if (stun_long_term_key(STUN_PASSWORD_ALGORITHM_MD5, name, strlen(name),
	                       realm, realm_len, password, strlen(password),
	                       keys, &len) != 0 ||
	    stun_long_term_key(STUN_PASSWORD_ALGORITHM_SHA256, name,
	                       strlen(name), realm, realm_len, password,
	                       strlen(password), keys + 16, &len) != 0)
		return EIO;
	return put(txn, users, name, record, 1 + realm_len + 16 + 32);
}

/* NAME:PASSWORD[:QUOTA], split in place. */
static int put_entry(MDB_txn *txn, MDB_dbi users, MDB_dbi overrides,
                     const char *realm, char *entry)
{
	char *password = strchr(entry, ':'), *quota;
	uint32_t value;
	int rc;

	if (password == NULL)
		return EINVAL;
	*password++ = '\0';
	quota = strchr(password, ':');
	if (quota != NULL)
		*quota++ = '\0';
	rc = put_user(txn, users, realm, entry, password);
	if (rc == 0 && quota != NULL) {
		value = (uint32_t)strtoul(quota, NULL, 10);
		rc = put(txn, overrides, entry, &value, sizeof(value));
	}
	return rc;
}

static int forge(MDB_env *env, const char *realm, char **entries, int count)
{
	static const char *const names[] = {"allocations", "quota_counts",
	                                    "meta", "users", "quota_overrides"};
	MDB_dbi dbi[5];
	uint32_t version = 1, zero = 0;
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
		return rc;
	for (int i = 0; i < 5 && rc == 0; i++)
		rc = mdb_dbi_open(txn, names[i], MDB_CREATE, &dbi[i]);
	if (rc == 0)
		rc = put(txn, dbi[2], "version", &version, sizeof(version));
	if (rc == 0)
		rc = put(txn, dbi[2], "total", &zero, sizeof(zero));
	for (int i = 0; i < count && rc == 0; i++)
		rc = put_entry(txn, dbi[3], dbi[4], realm, entries[i]);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

int main(int argc, char **argv)
{
	MDB_env *env = NULL;
	int rc;

	if (argc < 3) {
		fprintf(
		    stderr,
		    "usage: storeforge DIR REALM NAME:PASSWORD[:QUOTA]...\n");
		return 2;
	}
	if (mkdir(argv[1], 0750) != 0 && errno != EEXIST) {
		perror(argv[1]);
		return 1;
	}
	if ((rc = mdb_env_create(&env)) == 0 &&
	    (rc = mdb_env_set_maxdbs(env, 5)) == 0 &&
	    (rc = mdb_env_open(env, argv[1], MDB_NOSYNC | MDB_WRITEMAP,
	                       0640)) == 0)
		rc = forge(env, argv[2], argv + 3, argc - 3);
	mdb_env_close(env);
	if (rc != 0) {
		fprintf(stderr, "storeforge: %s: %s\n", argv[1],
		        mdb_strerror(rc));
		return 1;
	}
	return 0;
}
