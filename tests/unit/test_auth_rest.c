/*
 * auth: the TURN REST API shared-secret scheme: the password of an
 * "expiry:user-id" name, its expiry, rotation of the secrets, and the quota
 * key it counts against.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "turnpike/auth.h"
#include "turnpike/stun.h"
#include "test_auth.h"

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
