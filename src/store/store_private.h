/*
 * Internal helpers shared by the files of the store module. This header
 * and the store's .c files are the only ones that see <lmdb.h>.
 */
#ifndef TURNPIKE_STORE_PRIVATE_H
#define TURNPIKE_STORE_PRIVATE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "turnpike/store.h"

/*
 * The layout of the tables and records; a store holding another version
 * is refused at open (EPROTO) rather than misread.
 *
 * STORE_VERSION is the live environment's (state-dir itself). Version 1
 * was one environment for everything; version 2 keeps only the live
 * tables there and moves users and quota overrides to the durable
 * environment (state-dir/durable), which has its own version,
 * STORE_DURABLE_VERSION. migrate.c turns a version 1 store into a
 * version 2 one.
 */
#define STORE_VERSION         2
#define STORE_VERSION_SINGLE  1 /* the one-environment layout */
#define STORE_DURABLE_VERSION 1

/* The environments of a store, in state-dir and state-dir/durable. */
enum store_env {
	/* Cleared at start, so written without fsync (MDB_NOSYNC,
	 * MDB_WRITEMAP): allocation-rate writes stay cheap. */
	STORE_ENV_LIVE,
	/* The operator's data: every commit is on disk when it returns
	 * (LMDB's default durability). */
	STORE_ENV_DURABLE,
	STORE_ENV_COUNT
};

#define STORE_DURABLE_SUBDIR "durable"

/* The named databases, each in one environment (store_table_env). */
enum store_table {
	/* live */
	STORE_ALLOCATIONS,  /* tuple key -> packed record */
	STORE_QUOTA_COUNTS, /* quota key -> uint32 live count */
	STORE_META,         /* "version", "total", "status" */
	/* durable */
	STORE_USERS,           /* name -> realm and keys */
	STORE_QUOTA_OVERRIDES, /* quota key -> uint32 quota */
	/* RFC 8489 §14.4 USERHASH of name ":" the user's own realm -> name;
	 * MDB_DUPSORT, as two users of different realms may share one
	 * ("a:b" of realm "c", "a" of realm "b:c"). */
	STORE_USERHASHES,
	STORE_DURABLE_META, /* "version", "migrated" -> uint32 */
	STORE_TABLE_COUNT
};

/* Version 1's tables in the live environment, which the migration reads
 * and then drops. */
#define STORE_V1_USERS           "users"
#define STORE_V1_QUOTA_OVERRIDES "quota_overrides"

struct store {
	MDB_env *env[STORE_ENV_COUNT];
	MDB_dbi dbi[STORE_TABLE_COUNT];
	bool read_only;
	struct store_migration migration; /* what store_open converted */
};

/* The environment that holds a table. */
enum store_env store_table_env(enum store_table table);

/* LMDB refuses keys longer than this (mdb_env_get_maxkeysize). */
#define STORE_KEY_MAX 511

/* record.c: the encodings. An address is a family byte (0 none, 4, 6),
 * 16 address bytes (IPv4 in the first 4) and the port, big-endian. */
#define STORE_ADDR_SIZE      19
#define STORE_TUPLE_KEY_SIZE (1 + 2 * STORE_ADDR_SIZE)
#define STORE_PEER_SIZE      (1 + 16 + 8)
#define STORE_CHANNEL_SIZE   (2 + STORE_ADDR_SIZE + 8)
#define STORE_RECORD_MAX                                                       \
	(4 + 4 + 8 + 8 + 2 * STORE_ADDR_SIZE + 2 + (STORE_NAME_MAX - 1) + 1 +  \
	 (STORE_QUOTA_KEY_MAX - 1) + 2 + 2 +                                   \
	 STORE_MAX_PEERS * STORE_PEER_SIZE +                                   \
	 STORE_MAX_CHANNELS * STORE_CHANNEL_SIZE)

/* Returns 0, or EINVAL for an address that is neither IPv4 nor IPv6. */
int store_tuple_encode(const struct store_five_tuple *tuple,
                       uint8_t key[STORE_TUPLE_KEY_SIZE]);
/* Returns 0, or EIO when the key is not one store_tuple_encode made. */
int store_tuple_decode(const uint8_t *key, size_t len,
                       struct store_five_tuple *tuple);
/* Writes at most STORE_RECORD_MAX bytes to buf. Returns 0, or EINVAL for
 * a record out of bounds (counts, unterminated strings, families, an
 * empty quota key). */
int store_record_encode(const struct store_allocation *allocation,
                        uint8_t buf[STORE_RECORD_MAX], size_t *len);
/* Fills everything but the tuple. Returns 0, or EIO for a damaged one. */
int store_record_decode(const uint8_t *buf, size_t len,
                        struct store_allocation *allocation);

/* store.c: the edge between LMDB codes and errno values. */
int store_error(int rc);
/* True when s is a usable key: not empty, terminated within size bytes
 * and no longer than LMDB allows. */
bool store_key_valid(const char *s, size_t size);
/* A write transaction (EROFS on a read-only store) or a read one, in
 * one environment: LMDB transactions do not span environments. */
int store_txn_begin(struct store *store, enum store_env env, bool write,
                    MDB_txn **txn);
/* Commits when err is 0, aborts otherwise; returns the first error. */
int store_txn_end(MDB_txn *txn, int err);
/* revocations.c: drops every revocation and their count, in the
 * caller's write transaction (store_clear_live: they die with the
 * allocations they were for). */
int store_revocations_clear(MDB_txn *txn, MDB_dbi meta);
/* A uint32 value under a string key: ENOENT when missing. */
int store_u32_get(MDB_txn *txn, MDB_dbi dbi, const char *key, uint32_t *value);
int store_u32_put(MDB_txn *txn, MDB_dbi dbi, const char *key, uint32_t value);
/* The same for a uint64 value (revocations.c). */
int store_u64_get(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t *value);
int store_u64_put(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t value);

/* users.c: the record of a user, and its USERHASH entry, written in the
 * caller's durable write transaction (the migration's too). Replaces a
 * user of that name and the entry of its old realm. */
int store_user_write(struct store *store, MDB_txn *txn,
                     const struct store_user *user);
/* Decodes a users record. Returns 0, or EIO for a damaged one. */
int store_user_decode(const MDB_val *key, const MDB_val *value,
                      struct store_user *user);

/* migrate.c: turns the version 1 store whose live environment (and
 * empty durable one) store has open into a version 2 one, filling
 * store->migration. */
int store_migrate(struct store *store);

#endif
