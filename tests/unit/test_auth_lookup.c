/*
 * auth: users found through the context's lookup, by name or through the
 * USERHASH index, as the store's user database answers (a fake here).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "turnpike/auth.h"
#include "turnpike/conf.h"
#include "turnpike/stun.h"
#include "test_auth.h"

/* ---- Users found through the context's lookup (the store's database) ---- */

/* A fake user database: "erin" with "secret-garden" in our realm, and a
 * record of what it was asked. */
struct fake_db {
	int calls, hash_calls;
	char last_name[64];
	int fail; /* returned instead of a lookup, when not 0 */
	/* The name the USERHASH index answers with for erin's hash, as a
	 * damaged index would; NULL: "erin". */
	const char *indexed_name;
};

static int fake_lookup(void *arg, const char *name, size_t name_len,
                       struct auth_user_keys *out)
{
	struct fake_db *db = arg;
	struct conf_user erin;

	db->calls++;
	snprintf(db->last_name, sizeof(db->last_name), "%.*s", (int)name_len,
	         name);
	if (db->fail != 0)
		return db->fail;
	if (name_len != 4 || memcmp(name, "erin", 4) != 0)
		return ENOENT;
	make_user(&erin, "erin", "secret-garden");
	memcpy(out->key_md5, erin.key_md5, sizeof(out->key_md5));
	memcpy(out->key_sha256, erin.key_sha256, sizeof(out->key_sha256));
	return 0;
}

/* The same database's USERHASH index: erin's hash (of our realm) only. */
static int fake_lookup_userhash(void *arg, const uint8_t hash[STUN_SHA256_SIZE],
                                char *name, size_t name_size,
                                struct auth_user_keys *out)
{
	struct fake_db *db = arg;
	uint8_t erin[STUN_SHA256_SIZE];

	db->hash_calls++;
	if (db->fail != 0)
		return db->fail;
	cr_assert_eq(stun_userhash("erin", 4, REALM, strlen(REALM), erin), 0);
	if (memcmp(hash, erin, sizeof(erin)) != 0)
		return ENOENT;
	snprintf(name, name_size, "%s",
	         db->indexed_name != NULL ? db->indexed_name : "erin");
	return fake_lookup(arg, "erin", 4, out);
}

static void use_fake_db(struct fake_db *db)
{
	memset(db, 0, sizeof(*db));
	ctx.lookup_user = fake_lookup;
	ctx.lookup_userhash = fake_lookup_userhash;
	ctx.lookup_arg = db;
}

Test(auth, looked_up_user_authenticates_with_its_name_as_quota_key)
{
	struct request req = request_for("erin", "secret-garden");
	struct auth_identity identity;
	struct fake_db db;

	use_fake_db(&db);
	cr_assert_eq(check(&req, &identity), 0);
	cr_assert_eq(db.calls, 1);
	cr_assert_str_eq(db.last_name, "erin");
	cr_assert_str_eq(identity.username, "erin");
	cr_assert_str_eq(identity.quota_key, "erin");
	cr_assert_eq(identity.key_len, 16);
	cr_assert_not(identity.rest);
}

Test(auth, looked_up_user_with_sha256_uses_its_sha256_key)
{
	struct request req = request_for("erin", "secret-garden");
	struct auth_identity identity;
	struct fake_db db;

	use_fake_db(&db);
	request_with_algorithm(&req, STUN_PASSWORD_ALGORITHM_SHA256);
	req.integrity = INTEGRITY_SHA256;
	cr_assert_eq(check(&req, &identity), 0);
	cr_assert_eq(identity.key_len, 32);
}

Test(auth, looked_up_user_with_wrong_password_gets_401)
{
	struct request req = request_for("erin", "wonderland");
	struct auth_identity identity;
	struct fake_db db;

	use_fake_db(&db);
	cr_assert_eq(check(&req, &identity), 401);
	cr_assert_eq(identity.key_len, 0);
}

Test(auth, static_user_is_found_without_the_lookup)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity identity;
	struct fake_db db;

	use_fake_db(&db);
	cr_assert_eq(check(&req, &identity), 0);
	cr_assert_eq(db.calls, 0);
}

Test(auth, user_unknown_to_the_lookup_gets_401)
{
	struct request req = request_for("mallory", "wonderland");
	struct auth_identity identity;
	struct fake_db db;

	use_fake_db(&db);
	cr_assert_eq(check(&req, &identity), 401);
	cr_assert_eq(db.calls, 1);
}

Test(auth, failing_lookup_gets_500)
{
	struct request req = request_for("erin", "secret-garden");
	struct auth_identity identity;
	struct fake_db db;

	use_fake_db(&db);
	db.fail = EIO;
	cr_assert_eq(check(&req, &identity), 500);
}

/* A request that names erin by USERHASH. */
static struct request erin_by_userhash(const char *password)
{
	struct request req = request_for(NULL, password);

	req.userhash = "erin";
	req.key_name = "erin";
	return req;
}

Test(auth, userhash_finds_a_looked_up_user_through_the_index)
{
	struct request req = erin_by_userhash("secret-garden");
	struct auth_identity identity;
	struct fake_db db;

	use_fake_db(&db);
	request_with_algorithm(&req, STUN_PASSWORD_ALGORITHM_SHA256);
	req.integrity = INTEGRITY_SHA256;
	cr_assert_eq(check(&req, &identity), 0);
	cr_assert_eq(db.hash_calls, 1);
	cr_assert_str_eq(identity.username, "erin");
	cr_assert_str_eq(identity.quota_key, "erin");
	cr_assert(identity.by_userhash);
	cr_assert_eq(identity.key_len, 32);
}

Test(auth, userhash_of_a_looked_up_user_with_wrong_password_gets_401)
{
	struct request req = erin_by_userhash("wonderland");
	struct auth_identity identity;
	struct fake_db db;

	use_fake_db(&db);
	cr_assert_eq(check(&req, &identity), 401);
	cr_assert_eq(identity.key_len, 0);
}

/* The index finds; the hash of the name it found must still be the
 * request's, or a damaged index would let one user in as another. */
Test(auth, userhash_index_naming_another_user_gets_401)
{
	struct request req = erin_by_userhash("secret-garden");
	struct auth_identity identity;
	struct fake_db db;

	use_fake_db(&db);
	db.indexed_name = "mallory";
	cr_assert_eq(check(&req, &identity), 401);
	cr_assert_eq(db.hash_calls, 1);
}

Test(auth, failing_userhash_lookup_gets_500)
{
	struct request req = erin_by_userhash("secret-garden");
	struct auth_identity identity;
	struct fake_db db;

	use_fake_db(&db);
	db.fail = EIO;
	cr_assert_eq(check(&req, &identity), 500);
}

Test(auth, userhash_is_never_looked_up_by_name)
{
	struct request req = erin_by_userhash("secret-garden");
	struct auth_identity identity;
	struct fake_db db;

	use_fake_db(&db);
	ctx.lookup_userhash = NULL;
	cr_assert_eq(check(&req, &identity), 401);
	cr_assert_eq(db.calls, 0);
	cr_assert_eq(db.hash_calls, 0);
}

Test(auth, static_user_by_userhash_needs_no_index)
{
	struct request req = request_for(NULL, "builder");
	struct auth_identity identity;
	struct fake_db db;

	use_fake_db(&db);
	req.userhash = "bob";
	req.key_name = "bob";
	cr_assert_eq(check(&req, &identity), 0);
	cr_assert_eq(db.hash_calls, 0);
}

/* RFC 8656 §5: later requests of an allocation made by USERHASH. */
Test(auth, same_user_by_userhash_for_a_looked_up_owner)
{
	struct request req = erin_by_userhash("secret-garden");
	struct auth_identity owner;
	struct fake_db db;

	use_fake_db(&db);
	cr_assert_eq(check(&req, &owner), 0);
	cr_assert_eq(check_same(&req, &owner), 0);
	req.userhash = "alice";
	cr_assert_eq(check_same(&req, &owner), 441);
}

/* A user of the database deleted (turnpikectl users del) while its
 * allocation lives: its next request is refused. */
Test(auth, same_user_refused_once_the_database_forgets_it)
{
	struct request req = request_for("erin", "secret-garden");
	struct auth_identity owner;
	struct fake_db db;

	use_fake_db(&db);
	cr_assert_eq(check(&req, &owner), 0);
	cr_assert_eq(check_same(&req, &owner), 0);
	db.fail = ENOENT;
	cr_assert_eq(check_same(&req, &owner), 401);
	db.fail = EIO; /* the lookup failed: a server error, not a refusal */
	cr_assert_eq(check_same(&req, &owner), 500);
}

Test(auth_rest, rest_credentials_checked_after_the_lookup_finds_nothing)
{
	char username[64], password[AUTH_REST_PASSWORD_SIZE];
	struct auth_identity identity;
	struct fake_db db;
	struct request req;

	use_fake_db(&db);
	rest_username(username, sizeof(username), NOW + 3600, "dave");
	rest_password("north", username, password);
	req = request_for(username, password);
	cr_assert_eq(check(&req, &identity), 0);
	cr_assert_eq(db.calls, 1);
	cr_assert(identity.rest);
	cr_assert_str_eq(identity.quota_key, "dave");
}

Test(auth, looked_up_user_still_needs_a_fresh_nonce)
{
	struct request req = request_for("erin", "secret-garden");
	struct auth_identity identity;
	struct fake_db db;

	use_fake_db(&db);
	req.nonce = "f00dcafe";
	cr_assert_eq(check(&req, &identity), 438);
}
