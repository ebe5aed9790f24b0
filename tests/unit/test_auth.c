/*
 * The auth module: stateless nonces, the RFC 8489 §9.2.4 checks in order,
 * static users, USERHASH, password algorithm negotiation and the TURN REST
 * API. Requests are built with the stun writer and decoded, as the worker
 * sees them; time is a fake clock passed in.
 *
 * This file: the fixture and the request builder the other files share
 * (test_auth.h), the RFC 8489 §9.2.4 checks, the password algorithms,
 * USERHASH and later requests of the same user. Nonces, the TURN REST API
 * and users found through the lookup are in test_auth_nonce.c,
 * test_auth_rest.c and test_auth_lookup.c; the four files make one program.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "turnpike/auth.h"
#include "turnpike/conf.h"
#include "turnpike/stun.h"
#include "../../src/auth/auth_private.h"
#include "test_auth.h"

struct conf conf;
static struct conf_user users[3];
static char *secrets[2];
struct auth_nonce_key nonce_key;
struct sockaddr_in client;
struct auth_context ctx;
char nonce[AUTH_NONCE_MAX];

static const uint8_t tid[STUN_TID_SIZE] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};

void make_user(struct conf_user *user, const char *name, const char *password)
{
	uint8_t md5[STUN_KEY_MAX];
	size_t len;

	user->name = (char *)name;
	cr_assert_eq(stun_long_term_key(STUN_PASSWORD_ALGORITHM_MD5, name,
	                                strlen(name), REALM, strlen(REALM),
	                                password, strlen(password), md5, &len),
	             0);
	cr_assert_eq(len, sizeof(user->key_md5));
	memcpy(user->key_md5, md5, sizeof(user->key_md5));
	cr_assert_eq(stun_long_term_key(STUN_PASSWORD_ALGORITHM_SHA256, name,
	                                strlen(name), REALM, strlen(REALM),
	                                password, strlen(password),
	                                user->key_sha256, &len),
	             0);
}

void set_client(struct sockaddr_in *sin, const char *ip, uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	cr_assert_eq(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
}

static void setup(void)
{
	memset(&conf, 0, sizeof(conf));
	make_user(&users[0], "alice", "wonderland");
	make_user(&users[1], "bob", "builder");
	/* A static user whose name reads as REST credentials. */
	make_user(&users[2], "1800000000:carol", "static-pass");
	secrets[0] = "north";
	secrets[1] = "south";
	conf.realm = REALM;
	conf.users = users;
	conf.user_count = 3;
	conf.auth_secrets = secrets;
	conf.auth_secret_count = 2;
	conf.nonce_lifetime = LIFETIME;
	memset(&nonce_key, 0x5a, sizeof(nonce_key));
	set_client(&client, "192.0.2.10", 40000);
	ctx.conf = &conf;
	ctx.nonce_key = &nonce_key;
	ctx.client = (const struct sockaddr *)&client;
	ctx.now = NOW;
	cr_assert_eq(auth_nonce_make(&nonce_key, ctx.client, NOW, true, nonce),
	             0);
}

TestSuite(auth_nonce, .init = setup);
TestSuite(auth, .init = setup);
TestSuite(auth_rest, .init = setup);

/* ---- Requests ---------------------------------------------------------- */

struct request request_for(const char *username, const char *password)
{
	struct request req = {
	    .username = username,
	    .realm = REALM,
	    .nonce = nonce,
	    .key_name = username,
	    .password = password,
	    .integrity = INTEGRITY_SHA1,
	};
	return req;
}

void request_with_algorithm(struct request *req, uint16_t algorithm)
{
	req->algorithm = algorithm;
	req->offer = auth_password_algorithms;
	req->offer_count = 2;
}

static void key_for(const struct request *req, const char *password,
                    uint8_t key[STUN_KEY_MAX], size_t *key_len)
{
	uint16_t algorithm = req->algorithm == STUN_PASSWORD_ALGORITHM_SHA256
	                         ? STUN_PASSWORD_ALGORITHM_SHA256
	                         : STUN_PASSWORD_ALGORITHM_MD5;

	cr_assert_eq(stun_long_term_key(algorithm, req->key_name,
	                                strlen(req->key_name), REALM,
	                                strlen(REALM), password,
	                                strlen(password), key, key_len),
	             0);
}

static void put_credentials(struct stun_writer *w, const struct request *req)
{
	uint8_t hash[STUN_SHA256_SIZE];

	if (req->username != NULL)
		stun_put_string(w, STUN_ATTR_USERNAME, req->username);
	if (req->userhash != NULL) {
		cr_assert_eq(stun_userhash(req->userhash, strlen(req->userhash),
		                           REALM, strlen(REALM), hash),
		             0);
		stun_put_bytes(w, STUN_ATTR_USERHASH, hash, sizeof(hash));
	}
	if (req->realm != NULL)
		stun_put_string(w, STUN_ATTR_REALM, req->realm);
	if (req->nonce != NULL)
		stun_put_string(w, STUN_ATTR_NONCE, req->nonce);
	if (req->offer_count > 0)
		stun_put_password_algorithms(w, req->offer, req->offer_count);
	if (req->algorithm != 0 && !req->no_algorithm)
		stun_put_password_algorithm(w, req->algorithm);
}

static void put_integrity(struct stun_writer *w, const struct request *req)
{
	uint8_t key[STUN_KEY_MAX];
	size_t key_len;

	if (req->integrity == INTEGRITY_NONE)
		return;
	key_for(req, req->password, key, &key_len);
	if (req->integrity != INTEGRITY_SHA256)
		stun_put_integrity(w, key, key_len);
	if (req->integrity == INTEGRITY_BOTH && req->sha256_password != NULL)
		key_for(req, req->sha256_password, key, &key_len);
	if (req->integrity != INTEGRITY_SHA1)
		stun_put_integrity_sha256(w, key, key_len);
}

/* Builds the Allocate request into buf and decodes it into msg. */
static void build(const struct request *req, uint8_t *buf, size_t capacity,
                  struct stun_msg *msg)
{
	struct stun_writer w;
	size_t len;

	stun_writer_init(&w, buf, capacity, STUN_METHOD_ALLOCATE,
	                 STUN_CLASS_REQUEST, tid);
	stun_put_transport(&w, STUN_TRANSPORT_UDP);
	put_credentials(&w, req);
	put_integrity(&w, req);
	stun_put_fingerprint(&w);
	cr_assert_eq(stun_writer_finish(&w, &len), 0);
	cr_assert_eq(stun_msg_decode(msg, buf, len), 0);
}

int check(const struct request *req, struct auth_identity *identity)
{
	uint8_t buf[1024];
	struct stun_msg msg;

	build(req, buf, sizeof(buf), &msg);
	return auth_check_request(&ctx, &msg, identity);
}

int check_same(const struct request *req, const struct auth_identity *owner)
{
	uint8_t buf[1024];
	struct stun_msg msg;

	build(req, buf, sizeof(buf), &msg);
	return auth_check_same_user(&ctx, &msg, owner);
}

void rest_username(char *out, size_t size, uint64_t expiry, const char *user_id)
{
	snprintf(out, size, "%llu:%s", (unsigned long long)expiry, user_id);
}

void rest_password(const char *secret, const char *username,
                   char out[AUTH_REST_PASSWORD_SIZE])
{
	cr_assert_eq(
	    auth_rest_password(secret, username, out, AUTH_REST_PASSWORD_SIZE),
	    0);
}

struct request rest_request(char *username, char *password, uint64_t expiry,
                            const char *user_id, const char *secret)
{
	rest_username(username, 64, expiry, user_id);
	rest_password(secret, username, password);
	return request_for(username, password);
}

/* ---- RFC 8489 §9.2.4, in order ----------------------------------------- */

Test(auth, request_without_integrity_gets_401)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity identity;

	req.integrity = INTEGRITY_NONE;
	cr_assert_eq(check(&req, &identity), 401);
	/* Even with nothing else in it: the client's first try. */
	req.username = NULL;
	req.realm = NULL;
	req.nonce = NULL;
	cr_assert_eq(check(&req, &identity), 401);
}

Test(auth, integrity_without_username_or_userhash_gets_400)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity identity;

	req.username = NULL;
	cr_assert_eq(check(&req, &identity), 400);
}

Test(auth, missing_realm_gets_400)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity identity;

	req.realm = NULL;
	cr_assert_eq(check(&req, &identity), 400);
}

Test(auth, missing_nonce_gets_400)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity identity;

	req.nonce = NULL;
	cr_assert_eq(check(&req, &identity), 400);
}

Test(auth, username_and_userhash_together_get_400)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity identity;

	req.userhash = "alice";
	cr_assert_eq(check(&req, &identity), 400);
}

Test(auth, valid_md5_credentials_identify_static_user)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity identity;

	cr_assert_eq(check(&req, &identity), 0);
	cr_assert_str_eq(identity.username, "alice");
	cr_assert_str_eq(identity.quota_key, "alice");
	cr_assert_eq(identity.password_algorithm, STUN_PASSWORD_ALGORITHM_MD5);
	cr_assert_eq(identity.key_len, 16);
	cr_assert_eq(memcmp(identity.key, users[0].key_md5, 16), 0);
	cr_assert_not(identity.use_sha256);
	cr_assert_not(identity.by_userhash);
	cr_assert_not(identity.rest);
}

Test(auth, wrong_password_gets_401)
{
	struct request req = request_for("alice", "looking-glass");
	struct auth_identity identity;

	cr_assert_eq(check(&req, &identity), 401);
	cr_assert_eq(identity.key_len, 0, "identity is zeroed on failure");
}

Test(auth, another_users_password_gets_401)
{
	struct request req = request_for("alice", "builder");
	struct auth_identity identity;

	cr_assert_eq(check(&req, &identity), 401);
}

Test(auth, unknown_user_gets_401)
{
	struct request req = request_for("mallory", "wonderland");
	struct auth_identity identity;

	cr_assert_eq(check(&req, &identity), 401);
}

Test(auth, other_realm_gets_401)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity identity;

	req.realm = "example.net";
	cr_assert_eq(check(&req, &identity), 401);
}

Test(auth, nonce_from_other_address_gets_438)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity identity;
	struct sockaddr_in other;
	char theirs[AUTH_NONCE_MAX];

	set_client(&other, "198.51.100.7", 40000);
	cr_assert_eq(auth_nonce_make(&nonce_key, (struct sockaddr *)&other, NOW,
	                             true, theirs),
	             0);
	req.nonce = theirs;
	cr_assert_eq(check(&req, &identity), 438);
}

Test(auth, expired_nonce_gets_438)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity identity;

	ctx.now = NOW + LIFETIME;
	cr_assert_eq(check(&req, &identity), 438);
}

Test(auth, foreign_nonce_gets_438)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity identity;

	req.nonce = "f00dcafe";
	cr_assert_eq(check(&req, &identity), 438);
}

Test(auth, stale_nonce_with_wrong_password_gets_401)
{
	/* §9.2.4 judges the nonce last: a 438 promises the credentials
	 * were right. */
	struct request req = request_for("alice", "looking-glass");
	struct auth_identity identity;

	ctx.now = NOW + LIFETIME;
	cr_assert_eq(check(&req, &identity), 401);
}

/* ---- PASSWORD-ALGORITHM(S) (RFC 8489 §9.2.4, §14.11, §14.12) ---------- */

Test(auth, offer_lists_sha256_then_md5)
{
	cr_assert_eq(auth_password_algorithms[0],
	             STUN_PASSWORD_ALGORITHM_SHA256);
	cr_assert_eq(auth_password_algorithms[1], STUN_PASSWORD_ALGORITHM_MD5);
}

Test(auth, sha256_password_algorithm_uses_sha256_key)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity identity;

	request_with_algorithm(&req, STUN_PASSWORD_ALGORITHM_SHA256);
	cr_assert_eq(check(&req, &identity), 0);
	cr_assert_eq(identity.password_algorithm,
	             STUN_PASSWORD_ALGORITHM_SHA256);
	cr_assert_eq(identity.key_len, 32);
	cr_assert_eq(memcmp(identity.key, users[0].key_sha256, 32), 0);
}

Test(auth, sha256_algorithm_with_md5_key_gets_401)
{
	struct request req = request_for("alice", "wonderland");
	uint8_t buf[1024], key[STUN_KEY_MAX];
	struct auth_identity identity;
	struct stun_writer w;
	struct stun_msg msg;
	size_t len, key_len;

	/* Says SHA-256 but signs with the MD5 key. */
	request_with_algorithm(&req, STUN_PASSWORD_ALGORITHM_SHA256);
	stun_writer_init(&w, buf, sizeof(buf), STUN_METHOD_ALLOCATE,
	                 STUN_CLASS_REQUEST, tid);
	put_credentials(&w, &req);
	req.algorithm = STUN_PASSWORD_ALGORITHM_MD5;
	key_for(&req, "wonderland", key, &key_len);
	stun_put_integrity(&w, key, key_len);
	cr_assert_eq(stun_writer_finish(&w, &len), 0);
	cr_assert_eq(stun_msg_decode(&msg, buf, len), 0);
	cr_assert_eq(auth_check_request(&ctx, &msg, &identity), 401);
}

Test(auth, explicit_md5_password_algorithm_accepted)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity identity;

	request_with_algorithm(&req, STUN_PASSWORD_ALGORITHM_MD5);
	cr_assert_eq(check(&req, &identity), 0);
	cr_assert_eq(identity.password_algorithm, STUN_PASSWORD_ALGORITHM_MD5);
}

Test(auth, password_algorithm_without_list_gets_400)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity identity;

	req.algorithm = STUN_PASSWORD_ALGORITHM_SHA256;
	cr_assert_eq(check(&req, &identity), 400);
}

Test(auth, list_without_password_algorithm_gets_400)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity identity;

	request_with_algorithm(&req, STUN_PASSWORD_ALGORITHM_MD5);
	req.no_algorithm = true;
	cr_assert_eq(check(&req, &identity), 400);
}

Test(auth, list_other_than_our_offer_gets_400)
{
	/* A bid-down: SHA-256 stripped from the offer on the way. */
	static const uint16_t md5_only[] = {STUN_PASSWORD_ALGORITHM_MD5};
	static const uint16_t reversed[] = {STUN_PASSWORD_ALGORITHM_MD5,
	                                    STUN_PASSWORD_ALGORITHM_SHA256};
	struct request req = request_for("alice", "wonderland");
	struct auth_identity identity;

	request_with_algorithm(&req, STUN_PASSWORD_ALGORITHM_MD5);
	req.offer = md5_only;
	req.offer_count = 1;
	cr_assert_eq(check(&req, &identity), 400);
	req.offer = reversed;
	req.offer_count = 2;
	cr_assert_eq(check(&req, &identity), 400);
}

Test(auth, algorithm_not_in_the_list_gets_400)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity identity;

	request_with_algorithm(&req, 0x0003);
	cr_assert_eq(check(&req, &identity), 400);
}

/* ---- MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6) ------------------------- */

Test(auth, message_integrity_sha256_checked)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity identity;

	req.integrity = INTEGRITY_SHA256;
	cr_assert_eq(check(&req, &identity), 0);
	cr_assert(identity.use_sha256);
	req.password = "looking-glass";
	cr_assert_eq(check(&req, &identity), 401);
}

Test(auth, sha256_integrity_is_the_one_checked_when_both_present)
{
	struct request req = request_for("alice", "looking-glass");
	struct auth_identity identity;

	/* Wrong MESSAGE-INTEGRITY, right MESSAGE-INTEGRITY-SHA256. */
	req.integrity = INTEGRITY_BOTH;
	req.sha256_password = "wonderland";
	cr_assert_eq(check(&req, &identity), 0);
	cr_assert(identity.use_sha256);
	/* And the other way round. */
	req.password = "wonderland";
	req.sha256_password = "looking-glass";
	cr_assert_eq(check(&req, &identity), 401);
}

/* ---- USERHASH (RFC 8489 §14.4) ----------------------------------------- */

Test(auth, userhash_identifies_static_user)
{
	struct request req = request_for(NULL, "builder");
	struct auth_identity identity;

	req.userhash = "bob";
	req.key_name = "bob";
	request_with_algorithm(&req, STUN_PASSWORD_ALGORITHM_SHA256);
	req.integrity = INTEGRITY_SHA256;
	cr_assert_eq(check(&req, &identity), 0);
	cr_assert_str_eq(identity.username, "bob");
	cr_assert_str_eq(identity.quota_key, "bob");
	cr_assert(identity.by_userhash);
}

Test(auth, unknown_userhash_gets_401)
{
	struct request req = request_for(NULL, "builder");
	struct auth_identity identity;

	req.userhash = "robert";
	req.key_name = "robert";
	cr_assert_eq(check(&req, &identity), 401);
}

/* ---- Later requests: RFC 8656 §5 --------------------------------------- */

static void owner_of(const struct request *req, struct auth_identity *owner)
{
	cr_assert_eq(check(req, owner), 0);
}

Test(auth, same_user_accepted)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity owner;

	owner_of(&req, &owner);
	cr_assert_eq(check_same(&req, &owner), 0);
}

/* RFC 8656 §5: another user on the allocation's 5-tuple gets 441. */
Test(auth, same_user_another_user_gets_441)
{
	struct request req = request_for("alice", "wonderland");
	struct request bob = request_for("bob", "builder");
	struct auth_identity owner;

	owner_of(&req, &owner);
	cr_assert_eq(check_same(&bob, &owner), 441);
}

Test(auth, same_user_rejects_wrong_key)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity owner;

	owner_of(&req, &owner);
	req.password = "looking-glass";
	cr_assert_eq(check_same(&req, &owner), 401);
}

Test(auth, same_user_accepts_userhash_of_owner)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity owner;

	owner_of(&req, &owner);
	req.username = NULL;
	req.userhash = "alice";
	cr_assert_eq(check_same(&req, &owner), 0);
	req.userhash = "bob";
	cr_assert_eq(check_same(&req, &owner), 441);
}

Test(auth, same_user_with_other_password_algorithm_gets_401)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity owner;

	owner_of(&req, &owner);
	request_with_algorithm(&req, STUN_PASSWORD_ALGORITHM_SHA256);
	cr_assert_eq(check_same(&req, &owner), 401);
}

Test(auth, same_user_without_integrity_gets_401_and_stale_nonce_438)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity owner;

	owner_of(&req, &owner);
	ctx.now = NOW + LIFETIME;
	cr_assert_eq(check_same(&req, &owner), 438);
	req.integrity = INTEGRITY_NONE;
	cr_assert_eq(check_same(&req, &owner), 401);
}

/* Revocation: the owner's credentials as they are now decide. A user
 * removed (a reload) or given a new password can no longer refresh, not
 * even with the new password: the allocation lapses. */
Test(auth, same_user_refused_once_the_user_is_removed)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity owner;

	owner_of(&req, &owner);
	conf.users = &users[1]; /* a reload without alice */
	conf.user_count = 2;
	cr_assert_eq(check_same(&req, &owner), 401);
}

Test(auth, same_user_refused_once_the_password_changes)
{
	struct request req = request_for("alice", "wonderland");
	struct auth_identity owner;

	owner_of(&req, &owner);
	make_user(&users[0], "alice", "through-the-looking-glass");
	cr_assert_eq(check_same(&req, &owner), 401);
	req.password = "through-the-looking-glass";
	cr_assert_eq(check(&req, &(struct auth_identity){0}), 0);
	cr_assert_eq(check_same(&req, &owner), 401,
	             "the new password is not the allocation's credentials");
}

Test(auth_rest, same_user_refused_once_its_secret_is_withdrawn)
{
	char username[64], password[AUTH_REST_PASSWORD_SIZE];
	struct auth_identity owner;
	struct request req;

	req = rest_request(username, password, NOW + 3600, "dave", "north");
	owner_of(&req, &owner);
	cr_assert_eq(check_same(&req, &owner), 0);
	conf.auth_secrets = &secrets[1]; /* rotated: only "south" left */
	conf.auth_secret_count = 1;
	cr_assert_eq(check_same(&req, &owner), 401);
}

Test(auth_rest, same_user_refused_once_credentials_expire)
{
	char username[64], password[AUTH_REST_PASSWORD_SIZE];
	struct auth_identity owner;
	struct request req;

	req = rest_request(username, password, NOW + 60, "dave", "south");
	owner_of(&req, &owner);
	cr_assert_eq(check_same(&req, &owner), 0);
	ctx.now = NOW + 61;
	cr_assert_eq(
	    auth_nonce_make(&nonce_key, ctx.client, ctx.now, true, nonce), 0);
	cr_assert_eq(check_same(&req, &owner), 401);
}
