/*
 * The server side of the long-term credential mechanism (RFC 8489 §9.2.4),
 * for static users and for TURN REST API credentials, and the RFC 8656 §5
 * check that later requests come from the allocation's own user.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>

#include "turnpike/auth.h"
#include "auth_private.h"

#define ALGORITHM_COUNT                                                        \
	(sizeof(auth_password_algorithms) / sizeof(auth_password_algorithms[0]))

/* RFC 8489 §9.2.3: SHA-256 first, as the stronger; MD5 for RFC 5389
 * clients. */
const uint16_t auth_password_algorithms[2] = {
    STUN_PASSWORD_ALGORITHM_SHA256,
    STUN_PASSWORD_ALGORITHM_MD5,
};

/* The credential attributes of a request, borrowed from the message. */
struct auth_request {
	const uint8_t *username; /* NULL when the request has USERHASH */
	size_t username_len;
	const uint8_t *userhash; /* STUN_SHA256_SIZE bytes, or NULL */
	const uint8_t *realm;
	size_t realm_len;
	const uint8_t *nonce;
	size_t nonce_len;
	uint16_t algorithm;
	bool use_sha256;
};

/* The value of the first attribute of the type, or NULL when absent. */
static const uint8_t *attr_bytes(const struct stun_msg *msg, uint16_t type,
                                 size_t *len)
{
	const struct stun_attr *attr = stun_msg_find(msg, type);

	if (attr == NULL)
		return NULL;
	*len = attr->length;
	return stun_attr_value(msg, attr);
}

/* RFC 8489 §9.2.4 (2): PASSWORD-ALGORITHMS must be our offer byte for
 * byte: the same algorithms in the same order, with no parameters. */
static bool offer_matches(const struct stun_msg *msg,
                          const struct stun_attr *list)
{
	uint16_t got[ALGORITHM_COUNT + 1];
	size_t count, i;

	if (stun_attr_read_password_algorithms(
	        msg, list, got, ALGORITHM_COUNT + 1, &count) != 0 ||
	    count != ALGORITHM_COUNT || list->length != 4 * ALGORITHM_COUNT)
		return false;
	for (i = 0; i < count; i++)
		if (got[i] != auth_password_algorithms[i])
			return false;
	return true;
}

static bool algorithm_offered(uint16_t algorithm)
{
	size_t i;

	for (i = 0; i < ALGORITHM_COUNT; i++)
		if (auth_password_algorithms[i] == algorithm)
			return true;
	return false;
}

/*
 * RFC 8489 §9.2.4: when the nonce carries the cookie with the "Password
 * algorithms" bit, neither attribute means MD5; otherwise both must be
 * there, the list must be what we offered and the choice one of it (else
 * 400). The list is echoed so that a man in the middle who strips SHA-256
 * from our 401 is caught (§9.2.1, bid-down). Without the bit the exchange
 * is RFC 5389's, which knows only MD5.
 */
static int read_algorithm(const struct stun_msg *msg,
                          const struct auth_request *req, uint16_t *algorithm)
{
	const struct stun_attr *one, *list;
	uint32_t features;
	uint16_t chosen;

	*algorithm = STUN_PASSWORD_ALGORITHM_MD5;
	if (auth_nonce_features(req->nonce, req->nonce_len, &features) != 0 ||
	    (features & AUTH_FEATURE_PASSWORD_ALGORITHMS) == 0)
		return 0;
	one = stun_msg_find(msg, STUN_ATTR_PASSWORD_ALGORITHM);
	list = stun_msg_find(msg, STUN_ATTR_PASSWORD_ALGORITHMS);
	if (one == NULL && list == NULL)
		return 0;
	if (one == NULL || list == NULL || !offer_matches(msg, list) ||
	    stun_attr_read_password_algorithm(msg, one, &chosen) != 0 ||
	    !algorithm_offered(chosen))
		return 400;
	*algorithm = chosen;
	return 0;
}

/* The first checks of RFC 8489 §9.2.4, which need no user. */
static int read_request(const struct stun_msg *msg, struct auth_request *req)
{
	size_t userhash_len = 0;

	memset(req, 0, sizeof(*req));
	/* §9.2.4: no integrity at all is a first try: 401 with a nonce. */
	if (msg->integrity_index < 0 && msg->integrity_sha256_index < 0)
		return 401;
	req->username = attr_bytes(msg, STUN_ATTR_USERNAME, &req->username_len);
	req->userhash = attr_bytes(msg, STUN_ATTR_USERHASH, &userhash_len);
	req->realm = attr_bytes(msg, STUN_ATTR_REALM, &req->realm_len);
	req->nonce = attr_bytes(msg, STUN_ATTR_NONCE, &req->nonce_len);
	/* §9.2.4: integrity without USERNAME or USERHASH, REALM and NONCE
	 * is a bad request. Both names at once is too: they could name two
	 * users, and §9.2.5 has the client send one. */
	if ((req->username == NULL && req->userhash == NULL) ||
	    (req->username != NULL && req->userhash != NULL) ||
	    req->realm == NULL || req->nonce == NULL)
		return 400;
	if (req->userhash != NULL && userhash_len != STUN_SHA256_SIZE)
		return 400;
	/* §9.2.4: MESSAGE-INTEGRITY-SHA256, when present, is the one
	 * checked. */
	req->use_sha256 = msg->integrity_sha256_index >= 0;
	return read_algorithm(msg, req, &req->algorithm);
}

/* The keys are made with our realm, so another one cannot be right. */
static bool realm_matches(const struct conf *conf,
                          const struct auth_request *req)
{
	return conf->realm != NULL && strlen(conf->realm) == req->realm_len &&
	       memcmp(conf->realm, req->realm, req->realm_len) == 0;
}

static bool name_matches(const char *name, const uint8_t *bytes, size_t len)
{
	return strlen(name) == len && memcmp(name, bytes, len) == 0;
}

/* RFC 8489 §14.4: USERHASH is SHA-256(name ":" realm). Returns 0 when it
 * is the name's, EACCES when not, ENOMEM when it could not be computed. */
static int userhash_matches(const struct conf *conf, const char *name,
                            const uint8_t *userhash)
{
	uint8_t hash[STUN_SHA256_SIZE];

	if (stun_userhash(name, strlen(name), conf->realm, strlen(conf->realm),
	                  hash) != 0)
		return ENOMEM;
	return CRYPTO_memcmp(hash, userhash, sizeof(hash)) == 0 ? 0 : EACCES;
}

/* The static user the request names. Returns 0, ENOENT or ENOMEM. */
static int find_static_user(const struct conf *conf,
                            const struct auth_request *req,
                            const struct conf_user **found)
{
	const struct conf_user *user;
	size_t i;
	int rc;

	for (i = 0; i < conf->user_count; i++) {
		user = &conf->users[i];
		if (req->username != NULL)
			rc = name_matches(user->name, req->username,
			                  req->username_len)
			         ? 0
			         : EACCES;
		else
			rc = userhash_matches(conf, user->name, req->userhash);
		if (rc == 0)
			*found = user;
		if (rc != EACCES)
			return rc;
	}
	return ENOENT;
}

/* §9.2.4: the integrity attribute the request carries, under key. */
static int verify_integrity(const struct stun_msg *msg,
                            const struct auth_request *req, const uint8_t *key,
                            size_t key_len)
{
	int rc;

	if (req->use_sha256)
		rc = stun_msg_check_integrity_sha256(msg, key, key_len);
	else
		rc = stun_msg_check_integrity(msg, key, key_len);
	switch (rc) {
	case 0:
		return 0;
	case EACCES:
		return 401;
	case ENOMEM:
		return 500;
	default: /* EBADMSG: a size the decoder should have refused */
		return 400;
	}
}

static int check_nonce(const struct auth_context *ctx,
                       const struct auth_request *req)
{
	/* §9.2.4, last: a stale or foreign nonce with good credentials. */
	if (auth_nonce_check(ctx->nonce_key, ctx->client, req->nonce,
	                     req->nonce_len, ctx->now,
	                     ctx->conf->nonce_lifetime) != 0)
		return 438;
	return 0;
}

/* Copies len bytes as a string, cut to fit. */
static void copy_string(char *dst, size_t dst_size, const char *src, size_t len)
{
	if (len > dst_size - 1)
		len = dst_size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static void identity_set_key(struct auth_identity *identity,
                             const struct auth_request *req, const uint8_t *key,
                             size_t key_len)
{
	identity->password_algorithm = req->algorithm;
	memcpy(identity->key, key, key_len);
	identity->key_len = key_len;
	identity->use_sha256 = req->use_sha256;
	identity->by_userhash = req->userhash != NULL;
}

/* A user's name and keys, once found. */
struct auth_user {
	const char *name; /* the static user's, the request's or found_name */
	size_t name_len;
	char found_name[STUN_USERNAME_MAX + 1]; /* by USERHASH */
	struct auth_user_keys keys;
};

/* A user found by USERHASH in ctx's lookup: the index only finds, the
 * hash of the name it found must be the request's (§14.4). */
static int find_by_userhash(const struct auth_context *ctx,
                            const struct auth_request *req,
                            struct auth_user *user)
{
	int rc;

	rc = ctx->lookup_userhash(ctx->lookup_arg, req->userhash,
	                          user->found_name, sizeof(user->found_name),
	                          &user->keys);
	if (rc != 0)
		return rc;
	user->found_name[sizeof(user->found_name) - 1] = '\0';
	user->name = user->found_name;
	user->name_len = strlen(user->found_name);
	rc = userhash_matches(ctx->conf, user->found_name, req->userhash);
	return rc == EACCES ? ENOENT : rc;
}

/* The user the request names: a static one, else one the context's
 * lookups know, by USERNAME or by USERHASH. Returns 0, ENOENT, or
 * another errno value. */
static int find_user(const struct auth_context *ctx,
                     const struct auth_request *req, struct auth_user *user)
{
	const struct conf_user *found = NULL;
	int rc;

	rc = find_static_user(ctx->conf, req, &found);
	if (rc == 0) {
		user->name = found->name;
		user->name_len = strlen(found->name);
		memcpy(user->keys.key_md5, found->key_md5,
		       sizeof(user->keys.key_md5));
		memcpy(user->keys.key_sha256, found->key_sha256,
		       sizeof(user->keys.key_sha256));
		return 0;
	}
	if (rc != ENOENT)
		return rc;
	if (req->userhash != NULL)
		return ctx->lookup_userhash != NULL
		           ? find_by_userhash(ctx, req, user)
		           : ENOENT;
	if (ctx->lookup_user == NULL)
		return ENOENT;
	user->name = (const char *)req->username;
	user->name_len = req->username_len;
	return ctx->lookup_user(ctx->lookup_arg, user->name, user->name_len,
	                        &user->keys);
}

/* A user with long-term keys: a static one, whose keys were made with
 * the realm at load time, or a looked-up one, whose keys the lookup
 * checked against the realm. Returns 0, 401 (no such user, wrong
 * integrity), 400 or 500. */
static int check_user(const struct auth_context *ctx,
                      const struct stun_msg *msg,
                      const struct auth_request *req,
                      struct auth_identity *identity)
{
	struct auth_user user;
	const uint8_t *key;
	size_t key_len;
	int code;

	memset(&user, 0, sizeof(user));
	code = find_user(ctx, req, &user);
	if (code != 0) {
		OPENSSL_cleanse(&user.keys, sizeof(user.keys));
		/* §9.2.4: a USERNAME or USERHASH not valid: 401 */
		return code == ENOENT ? 401 : 500;
	}
	if (req->algorithm == STUN_PASSWORD_ALGORITHM_SHA256) {
		key = user.keys.key_sha256;
		key_len = sizeof(user.keys.key_sha256);
	} else {
		key = user.keys.key_md5;
		key_len = sizeof(user.keys.key_md5);
	}
	code = verify_integrity(msg, req, key, key_len);
	if (code == 0) {
		identity_set_key(identity, req, key, key_len);
		copy_string(identity->username, sizeof(identity->username),
		            user.name, user.name_len);
		copy_string(identity->quota_key, sizeof(identity->quota_key),
		            user.name, user.name_len);
	}
	OPENSSL_cleanse(&user.keys, sizeof(user.keys));
	return code;
}

/* The long-term key (§9.2.2) for REST credentials under one secret. */
static int rest_key(const struct auth_context *ctx,
                    const struct auth_request *req, const char *username,
                    const char *secret, uint8_t key[STUN_KEY_MAX],
                    size_t *key_len)
{
	char password[AUTH_REST_PASSWORD_SIZE];
	int rc;

	rc = auth_rest_password(secret, username, password, sizeof(password));
	if (rc == 0)
		rc = stun_long_term_key(req->algorithm, username,
		                        strlen(username), ctx->conf->realm,
		                        strlen(ctx->conf->realm), password,
		                        strlen(password), key, key_len);
	OPENSSL_cleanse(password, sizeof(password));
	return rc;
}

/* Tries each secret in turn, so that a rotated-out secret keeps working
 * while credentials minted with it live. Returns 0, 401, 400 or 500. */
static int check_rest_secrets(const struct auth_context *ctx,
                              const struct stun_msg *msg,
                              const struct auth_request *req,
                              const char *username,
                              struct auth_identity *identity)
{
	uint8_t key[STUN_KEY_MAX];
	size_t i, key_len = 0;
	int code = 401;

	for (i = 0; i < ctx->conf->auth_secret_count && code == 401; i++) {
		if (rest_key(ctx, req, username, ctx->conf->auth_secrets[i],
		             key, &key_len) != 0)
			code = 500;
		else
			code = verify_integrity(msg, req, key, key_len);
	}
	if (code == 0)
		identity_set_key(identity, req, key, key_len);
	OPENSSL_cleanse(key, sizeof(key));
	return code;
}

/*
 * TURN REST API credentials (draft-uberti-behave-turn-rest-00 §2.2): the
 * username "expiry:user-id" carries its own validity. USERHASH cannot
 * name them: the hash cannot be turned back into the username the password
 * is computed from. Returns 0, 401, 400 or 500.
 */
static int check_rest(const struct auth_context *ctx,
                      const struct stun_msg *msg,
                      const struct auth_request *req,
                      struct auth_identity *identity)
{
	char username[STUN_USERNAME_MAX + 1];
	const char *user_id;
	uint64_t expiry;
	int code;

	if (ctx->conf->auth_secret_count == 0 || req->username == NULL ||
	    req->username_len > STUN_USERNAME_MAX ||
	    memchr(req->username, '\0', req->username_len) != NULL)
		return 401;
	copy_string(username, sizeof(username), (const char *)req->username,
	            req->username_len);
	if (auth_rest_parse(username, &expiry, &user_id) != 0)
		return 401;
	/* §2.2: past its expiry the username is refused like a bad one. */
	if (expiry < ctx->now)
		return 401;
	code = check_rest_secrets(ctx, msg, req, username, identity);
	if (code != 0)
		return code;
	identity->rest = true;
	copy_string(identity->username, sizeof(identity->username), username,
	            req->username_len);
	/* Quotas count per user-id, so that one user's several credentials
	 * share them; a bare timestamp is its own key. */
	if (*user_id == '\0')
		user_id = username;
	copy_string(identity->quota_key, sizeof(identity->quota_key), user_id,
	            strlen(user_id));
	return 0;
}

int auth_check_request(const struct auth_context *ctx,
                       const struct stun_msg *msg,
                       struct auth_identity *identity)
{
	struct auth_request req;
	int code;

	memset(identity, 0, sizeof(*identity));
	code = read_request(msg, &req);
	if (code != 0)
		return code;
	/* §9.2.4: credentials for another realm are not valid here. */
	if (!realm_matches(ctx->conf, &req))
		return 401;
	code = check_user(ctx, msg, &req, identity);
	/* A user with keys comes first; a name that also reads as REST
	 * credentials gets the REST check when that one fails. */
	if (code == 401)
		code = check_rest(ctx, msg, &req, identity);
	if (code == 0)
		code = check_nonce(ctx, &req);
	if (code != 0)
		OPENSSL_cleanse(identity, sizeof(*identity));
	return code;
}

/* RFC 8656 §5: a request on an allocation under another USERNAME or
 * USERHASH than the one that made it gets 441 (Wrong Credentials). */
static int check_owner_name(const struct auth_context *ctx,
                            const struct auth_request *req,
                            const struct auth_identity *owner)
{
	if (req->username != NULL)
		return name_matches(owner->username, req->username,
		                    req->username_len)
		           ? 0
		           : 441;
	switch (userhash_matches(ctx->conf, owner->username, req->userhash)) {
	case 0:
		return 0;
	case EACCES:
		return 441;
	default:
		return 500;
	}
}

/* RFC 8656 §5, the part of a later request's check that needs no keys:
 * read into *req, our realm, the owner's name (else 441) and the owner's
 * password algorithm: the key depends on it, so another one is not the
 * credentials the allocation was made with. Returns 0 or the code. */
static int check_owner_request(const struct auth_context *ctx,
                               const struct stun_msg *msg,
                               const struct auth_identity *owner,
                               struct auth_request *req)
{
	int code = read_request(msg, req);

	if (code != 0)
		return code;
	if (!realm_matches(ctx->conf, req))
		return 401;
	code = check_owner_name(ctx, req, owner);
	if (code != 0)
		return code;
	return req->algorithm == owner->password_algorithm ? 0 : 401;
}

int auth_check_same_user(const struct auth_context *ctx,
                         const struct stun_msg *msg,
                         const struct auth_identity *owner)
{
	struct auth_identity current;
	struct auth_request req;
	int code;

	code = check_owner_request(ctx, msg, owner, &req);
	if (code != 0)
		return code;
	/*
	 * The credentials as they are now, not as they were at the
	 * Allocate: a user deleted or given a new password, an auth-secret
	 * withdrawn, REST credentials expired (bound by their expiry for the
	 * allocation's life, as coturn has it) all end the owner's right to
	 * refresh. The key must also be the one the allocation was made
	 * with: RFC 8656 §5 wants the same credentials, not just the same
	 * name, and responses are signed with it.
	 */
	code = auth_check_request(ctx, msg, &current);
	if (code == 0 &&
	    (current.rest != owner->rest || current.key_len != owner->key_len ||
	     CRYPTO_memcmp(current.key, owner->key, owner->key_len) != 0))
		code = 401;
	OPENSSL_cleanse(&current, sizeof(current));
	return code;
}

bool auth_signed_by_owner(const struct auth_context *ctx,
                          const struct stun_msg *msg,
                          const struct auth_identity *owner)
{
	struct auth_request req;

	return check_owner_request(ctx, msg, owner, &req) == 0 &&
	       verify_integrity(msg, &req, owner->key, owner->key_len) == 0 &&
	       check_nonce(ctx, &req) == 0;
}
