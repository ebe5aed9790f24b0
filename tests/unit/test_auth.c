/*
 * The auth module: stateless nonces, the RFC 8489 §9.2.4 checks in order,
 * static users, USERHASH, password algorithm negotiation and the TURN REST
 * API. Requests are built with the stun writer and decoded, as the worker
 * sees them; time is a fake clock passed in.
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

#define REALM    "example.org"
#define NOW      UINT64_C(1700000000)
#define LIFETIME 600

static struct conf conf;
static struct conf_user users[3];
static char *secrets[2];
static struct auth_nonce_key nonce_key;
static struct sockaddr_in client;
static struct auth_context ctx;
static char nonce[AUTH_NONCE_MAX];

static const uint8_t tid[STUN_TID_SIZE] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};

static void make_user(struct conf_user *user, const char *name,
                      const char *password)
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

static void set_client(struct sockaddr_in *sin, const char *ip, uint16_t port)
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

enum integrity {
	INTEGRITY_NONE,
	INTEGRITY_SHA1,
	INTEGRITY_SHA256,
	INTEGRITY_BOTH, /* MESSAGE-INTEGRITY, then MESSAGE-INTEGRITY-SHA256 */
};

/* What a test client puts in its request. */
struct request {
	const char *username; /* NULL: no USERNAME */
	const char *userhash; /* name to send the USERHASH of, or NULL */
	const char *realm;    /* NULL: no REALM */
	const char *nonce;    /* NULL: no NONCE */
	const char *key_name; /* the name the key is made with */
	const char *password;
	uint16_t algorithm;    /* 0: neither PASSWORD-ALGORITHM(S) */
	const uint16_t *offer; /* PASSWORD-ALGORITHMS sent back */
	size_t offer_count;
	bool no_algorithm; /* the list, without PASSWORD-ALGORITHM */
	enum integrity integrity;
	const char *sha256_password; /* INTEGRITY_BOTH: the second key's */
};

static struct request request_for(const char *username, const char *password)
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

static void request_with_algorithm(struct request *req, uint16_t algorithm)
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

static int check(const struct request *req, struct auth_identity *identity)
{
	uint8_t buf[1024];
	struct stun_msg msg;

	build(req, buf, sizeof(buf), &msg);
	return auth_check_request(&ctx, &msg, identity);
}

static int check_same(const struct request *req,
                      const struct auth_identity *owner)
{
	uint8_t buf[1024];
	struct stun_msg msg;

	build(req, buf, sizeof(buf), &msg);
	return auth_check_same_user(&ctx, &msg, owner);
}

static void rest_username(char *out, size_t size, uint64_t expiry,
                          const char *user_id)
{
	snprintf(out, size, "%llu:%s", (unsigned long long)expiry, user_id);
}

static void rest_password(const char *secret, const char *username,
                          char out[AUTH_REST_PASSWORD_SIZE])
{
	cr_assert_eq(
	    auth_rest_password(secret, username, out, AUTH_REST_PASSWORD_SIZE),
	    0);
}

/* ---- Nonces ------------------------------------------------------------ */

static int nonce_check_at(const char *text, uint64_t now)
{
	return auth_nonce_check(&nonce_key, ctx.client, (const uint8_t *)text,
	                        strlen(text), now, LIFETIME);
}

Test(auth_nonce, starts_with_cookie_and_both_feature_bits)
{
	/* RFC 8489 §9.2: "obMatJos2", then 24 bits in base64; password
	 * algorithms (bit 0) and username anonymity (bit 1), counted from
	 * the least significant end as the erratum and Appendix B.1 do. */
	cr_assert_eq(strncmp(nonce, "obMatJos2AAAD", 13), 0, "%s", nonce);
}

Test(auth_nonce, without_userhash_offers_password_algorithms_only)
{
	char plain[AUTH_NONCE_MAX];

	cr_assert_eq(auth_nonce_make(&nonce_key, ctx.client, NOW, false, plain),
	             0);
	cr_assert_eq(strncmp(plain, "obMatJos2AAAB", 13), 0, "%s", plain);
	cr_assert_eq(nonce_check_at(plain, NOW), 0);
}

Test(auth_nonce, is_printable_and_shorter_than_128_characters)
{
	size_t i, len = strlen(nonce);

	cr_assert_lt(len, AUTH_NONCE_MAX);
	cr_assert_lt(len, 128);
	for (i = 0; i < len; i++)
		cr_assert(nonce[i] > 0x20 && nonce[i] < 0x7f);
}

Test(auth_nonce, features_read_from_rfc8489_appendix_b1_nonce)
{
	/* The B.1 request uses USERHASH: its nonce says username anonymity,
	 * bit 1, which is 0x000002. */
	static const char b1[] = "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA";
	uint32_t features;

	cr_assert_eq(
	    auth_nonce_features((const uint8_t *)b1, strlen(b1), &features), 0);
	cr_assert_eq(features, AUTH_FEATURE_USERNAME_ANONYMITY);
	cr_assert_eq(
	    auth_nonce_features((const uint8_t *)"obMatJos", 8, &features),
	    ENOENT);
}

Test(auth_nonce, accepted_for_same_client_within_lifetime)
{
	cr_assert_eq(nonce_check_at(nonce, NOW), 0);
	cr_assert_eq(nonce_check_at(nonce, NOW + LIFETIME - 1), 0);
}

Test(auth_nonce, expires_after_lifetime)
{
	cr_assert_eq(nonce_check_at(nonce, NOW + LIFETIME), ESTALE);
	cr_assert_eq(nonce_check_at(nonce, NOW + 100 * LIFETIME), ESTALE);
}

Test(auth_nonce, from_the_future_is_stale_beyond_skew)
{
	cr_assert_eq(nonce_check_at(nonce, NOW - AUTH_NONCE_SKEW), 0);
	cr_assert_eq(nonce_check_at(nonce, NOW - AUTH_NONCE_SKEW - 1), ESTALE);
}

Test(auth_nonce, other_port_is_not_ours)
{
	struct sockaddr_in other;

	set_client(&other, "192.0.2.10", 40001);
	cr_assert_eq(auth_nonce_check(&nonce_key, (struct sockaddr *)&other,
	                              (const uint8_t *)nonce, strlen(nonce),
	                              NOW, LIFETIME),
	             EINVAL);
}

Test(auth_nonce, other_address_is_not_ours)
{
	struct sockaddr_in other;

	set_client(&other, "192.0.2.11", 40000);
	cr_assert_eq(auth_nonce_check(&nonce_key, (struct sockaddr *)&other,
	                              (const uint8_t *)nonce, strlen(nonce),
	                              NOW, LIFETIME),
	             EINVAL);
}

Test(auth_nonce, other_key_is_not_ours)
{
	struct auth_nonce_key other;

	memset(&other, 0xa5, sizeof(other));
	cr_assert_eq(auth_nonce_check(&other, ctx.client,
	                              (const uint8_t *)nonce, strlen(nonce),
	                              NOW, LIFETIME),
	             EINVAL);
}

Test(auth_nonce, extended_timestamp_is_forged_not_stale)
{
	char forged[AUTH_NONCE_MAX];
	size_t time_at = 13 + 15; /* the last hex digit of the time */

	/* Moving the time forward must not make an old nonce young. */
	cr_assert_eq(auth_nonce_make(&nonce_key, ctx.client, NOW - LIFETIME,
	                             true, forged),
	             0);
	cr_assert_eq(nonce_check_at(forged, NOW), ESTALE);
	forged[time_at] = forged[time_at] == 'f' ? 'e' : 'f';
	cr_assert_eq(nonce_check_at(forged, NOW), EINVAL);
}

Test(auth_nonce, malformed_text_is_not_ours)
{
	char upper[AUTH_NONCE_MAX];
	size_t i;

	cr_assert_eq(nonce_check_at("", NOW), EINVAL);
	cr_assert_eq(nonce_check_at("obMatJos2AAAD", NOW), EINVAL);
	cr_assert_eq(nonce_check_at("not a nonce at all", NOW), EINVAL);
	/* Truncated by one, and with one extra character. */
	cr_assert_eq(auth_nonce_check(&nonce_key, ctx.client,
	                              (const uint8_t *)nonce, strlen(nonce) - 1,
	                              NOW, LIFETIME),
	             EINVAL);
	memcpy(upper, nonce, sizeof(upper));
	strcat(upper, "0");
	cr_assert_eq(nonce_check_at(upper, NOW), EINVAL);
	/* Hex has one spelling: lower case. */
	memcpy(upper, nonce, sizeof(upper));
	for (i = 13; upper[i] != '\0'; i++)
		if (upper[i] >= 'a' && upper[i] <= 'f')
			upper[i] = (char)(upper[i] - 'a' + 'A');
	if (strcmp(upper, nonce) != 0)
		cr_assert_eq(nonce_check_at(upper, NOW), EINVAL);
}

Test(auth_nonce, ipv4_mapped_ipv6_client_is_the_ipv4_client)
{
	struct sockaddr_in6 mapped;

	memset(&mapped, 0, sizeof(mapped));
	mapped.sin6_family = AF_INET6;
	mapped.sin6_port = htons(40000);
	cr_assert_eq(
	    inet_pton(AF_INET6, "::ffff:192.0.2.10", &mapped.sin6_addr), 1);
	cr_assert_eq(auth_nonce_check(&nonce_key, (struct sockaddr *)&mapped,
	                              (const uint8_t *)nonce, strlen(nonce),
	                              NOW, LIFETIME),
	             0);
}

Test(auth_nonce, ipv6_client_bound_to_its_address)
{
	struct sockaddr_in6 a, b;
	char text[AUTH_NONCE_MAX];

	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons(5000);
	cr_assert_eq(inet_pton(AF_INET6, "2001:db8::1", &a.sin6_addr), 1);
	b = a;
	b.sin6_addr.s6_addr[15] = 2;
	cr_assert_eq(
	    auth_nonce_make(&nonce_key, (struct sockaddr *)&a, NOW, true, text),
	    0);
	cr_assert_eq(auth_nonce_check(&nonce_key, (struct sockaddr *)&a,
	                              (const uint8_t *)text, strlen(text), NOW,
	                              LIFETIME),
	             0);
	cr_assert_eq(auth_nonce_check(&nonce_key, (struct sockaddr *)&b,
	                              (const uint8_t *)text, strlen(text), NOW,
	                              LIFETIME),
	             EINVAL);
}

Test(auth_nonce, generated_keys_differ)
{
	struct auth_nonce_key a, b;

	cr_assert_eq(auth_nonce_key_generate(&a), 0);
	cr_assert_eq(auth_nonce_key_generate(&b), 0);
	cr_assert_neq(memcmp(&a, &b, sizeof(a)), 0);
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

/* ---- TURN REST API ----------------------------------------------------- */

Test(auth_rest, password_matches_value_computed_with_openssl)
{
	char password[AUTH_REST_PASSWORD_SIZE];

	/* Computed once, outside the tests, with
	 *   printf '%s' '1700000000:alice' |
	 *     openssl dgst -sha1 -hmac north -binary | base64 */
	cr_assert_eq(auth_rest_password("north", "1700000000:alice", password,
	                                sizeof(password)),
	             0);
	cr_assert_str_eq(password, "Cd/49soE35ICqcJF/bCTn8Z4OyE=");
}

Test(auth_rest, password_needs_29_bytes)
{
	char password[AUTH_REST_PASSWORD_SIZE];

	cr_assert_eq(
	    auth_rest_password("north", "1:a", password, sizeof(password) - 1),
	    ENOBUFS);
}

Test(auth_rest, parse_splits_expiry_and_user_id)
{
	const char *user_id;
	uint64_t expiry;

	cr_assert_eq(auth_rest_parse("1700000000:alice", &expiry, &user_id), 0);
	cr_assert_eq(expiry, UINT64_C(1700000000));
	cr_assert_str_eq(user_id, "alice");
	cr_assert_eq(auth_rest_parse("1:a:b", &expiry, &user_id), 0);
	cr_assert_str_eq(user_id, "a:b");
	cr_assert_eq(auth_rest_parse("1700000000", &expiry, &user_id), 0);
	cr_assert_str_eq(user_id, "");
}

Test(auth_rest, parse_rejects_username_without_leading_timestamp)
{
	const char *user_id;
	uint64_t expiry;

	cr_assert_eq(auth_rest_parse("", &expiry, &user_id), EINVAL);
	cr_assert_eq(auth_rest_parse("alice", &expiry, &user_id), EINVAL);
	cr_assert_eq(auth_rest_parse(":alice", &expiry, &user_id), EINVAL);
	cr_assert_eq(auth_rest_parse("alice:1700000000", &expiry, &user_id),
	             EINVAL);
	cr_assert_eq(auth_rest_parse("17x:alice", &expiry, &user_id), EINVAL);
	cr_assert_eq(auth_rest_parse("-1:alice", &expiry, &user_id), EINVAL);
	cr_assert_eq(auth_rest_parse("+1:alice", &expiry, &user_id), EINVAL);
	cr_assert_eq(
	    auth_rest_parse("18446744073709551616:a", &expiry, &user_id),
	    EINVAL);
	cr_assert_eq(
	    auth_rest_parse("18446744073709551615:a", &expiry, &user_id), 0);
	cr_assert_eq(expiry, UINT64_MAX);
}

Test(auth_rest, valid_credentials_accepted_with_user_id_as_quota_key)
{
	char username[64], password[AUTH_REST_PASSWORD_SIZE];
	struct auth_identity identity;
	struct request req;

	rest_username(username, sizeof(username), NOW + 3600, "dave");
	rest_password("north", username, password);
	req = request_for(username, password);
	cr_assert_eq(check(&req, &identity), 0);
	cr_assert(identity.rest);
	cr_assert_str_eq(identity.username, username);
	cr_assert_str_eq(identity.quota_key, "dave");
	cr_assert_eq(identity.key_len, 16);
}

Test(auth_rest, expiry_equal_to_now_still_valid)
{
	char username[64], password[AUTH_REST_PASSWORD_SIZE];
	struct auth_identity identity;
	struct request req;

	rest_username(username, sizeof(username), NOW, "dave");
	rest_password("north", username, password);
	req = request_for(username, password);
	cr_assert_eq(check(&req, &identity), 0);
}

Test(auth_rest, expired_credentials_get_401)
{
	char username[64], password[AUTH_REST_PASSWORD_SIZE];
	struct auth_identity identity;
	struct request req;

	rest_username(username, sizeof(username), NOW - 1, "dave");
	rest_password("north", username, password);
	req = request_for(username, password);
	cr_assert_eq(check(&req, &identity), 401);
}

Test(auth_rest, wrong_secret_gets_401)
{
	char username[64], password[AUTH_REST_PASSWORD_SIZE];
	struct auth_identity identity;
	struct request req;

	rest_username(username, sizeof(username), NOW + 3600, "dave");
	rest_password("west", username, password);
	req = request_for(username, password);
	cr_assert_eq(check(&req, &identity), 401);
}

Test(auth_rest, second_secret_works_during_rotation)
{
	char username[64], password[AUTH_REST_PASSWORD_SIZE];
	struct auth_identity identity;
	struct request req;

	rest_username(username, sizeof(username), NOW + 3600, "dave");
	rest_password("south", username, password);
	req = request_for(username, password);
	cr_assert_eq(check(&req, &identity), 0);
	cr_assert(identity.rest);
}

Test(auth_rest, sha256_password_algorithm_accepted)
{
	char username[64], password[AUTH_REST_PASSWORD_SIZE];
	struct auth_identity identity;
	struct request req;

	rest_username(username, sizeof(username), NOW + 3600, "dave");
	rest_password("north", username, password);
	req = request_for(username, password);
	request_with_algorithm(&req, STUN_PASSWORD_ALGORITHM_SHA256);
	req.integrity = INTEGRITY_SHA256;
	cr_assert_eq(check(&req, &identity), 0);
	cr_assert_eq(identity.key_len, 32);
	cr_assert(identity.use_sha256);
}

Test(auth_rest, bare_timestamp_counts_quota_against_whole_username)
{
	char username[64], password[AUTH_REST_PASSWORD_SIZE];
	struct auth_identity identity;
	struct request req;

	rest_username(username, sizeof(username), NOW + 3600, "");
	username[strlen(username) - 1] = '\0'; /* no colon */
	rest_password("north", username, password);
	req = request_for(username, password);
	cr_assert_eq(check(&req, &identity), 0);
	cr_assert_str_eq(identity.quota_key, username);
}

Test(auth_rest, disabled_without_secrets)
{
	char username[64], password[AUTH_REST_PASSWORD_SIZE];
	struct auth_identity identity;
	struct request req;

	conf.auth_secret_count = 0;
	rest_username(username, sizeof(username), NOW + 3600, "dave");
	rest_password("north", username, password);
	req = request_for(username, password);
	cr_assert_eq(check(&req, &identity), 401);
}

Test(auth_rest, static_user_named_like_rest_is_tried_first)
{
	char password[AUTH_REST_PASSWORD_SIZE];
	struct auth_identity identity;
	struct request req = request_for("1800000000:carol", "static-pass");

	cr_assert_eq(check(&req, &identity), 0);
	cr_assert_not(identity.rest);
	cr_assert_str_eq(identity.quota_key, "1800000000:carol");
	/* Its REST password works too: the static check failed first. */
	rest_password("north", "1800000000:carol", password);
	req = request_for("1800000000:carol", password);
	cr_assert_eq(check(&req, &identity), 0);
	cr_assert(identity.rest);
	cr_assert_str_eq(identity.quota_key, "carol");
}

Test(auth_rest, nonce_still_checked)
{
	char username[64], password[AUTH_REST_PASSWORD_SIZE];
	struct auth_identity identity;
	struct request req;

	rest_username(username, sizeof(username), NOW + 3600, "dave");
	rest_password("north", username, password);
	req = request_for(username, password);
	req.nonce = "f00dcafe";
	cr_assert_eq(check(&req, &identity), 438);
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

Test(auth_rest, same_user_refused_once_credentials_expire)
{
	char username[64], password[AUTH_REST_PASSWORD_SIZE];
	struct auth_identity owner;
	struct request req;

	rest_username(username, sizeof(username), NOW + 60, "dave");
	rest_password("south", username, password);
	req = request_for(username, password);
	owner_of(&req, &owner);
	cr_assert_eq(check_same(&req, &owner), 0);
	ctx.now = NOW + 61;
	cr_assert_eq(
	    auth_nonce_make(&nonce_key, ctx.client, ctx.now, true, nonce), 0);
	cr_assert_eq(check_same(&req, &owner), 401);
}

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
