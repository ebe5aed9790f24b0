/*
 * auth: the long-term credential mechanism (RFC 8489 §9.2) with stateless
 * nonces, static users and the TURN REST API shared-secret scheme.
 *
 * Nothing here keeps per-client state: a nonce is an HMAC over a timestamp
 * and the client's address under a key the master makes at start, so any
 * worker verifies any nonce and a 401 costs no memory.
 *
 * Functions return 0 or a positive errno value unless said otherwise.
 */
#ifndef TURNPIKE_AUTH_H
#define TURNPIKE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "turnpike/conf.h"
#include "turnpike/stun.h"

#define AUTH_NONCE_KEY_SIZE 32
/* "obMatJos2" + 4 characters of security features + timestamp + MAC. */
#define AUTH_NONCE_MAX 96
/* How far in the future a nonce's timestamp may lie and still be fresh:
 * workers read the clock at different moments. */
#define AUTH_NONCE_SKEW 2
/* base64 of a 20-byte HMAC-SHA1, and its NUL. */
#define AUTH_REST_PASSWORD_SIZE 29
/* The user name or REST user-id that quotas are counted against. */
#define AUTH_QUOTA_KEY_MAX 128

/* The secret behind every nonce; made once by the master, kept across
 * reloads, shared by the workers. */
struct auth_nonce_key {
	uint8_t bytes[AUTH_NONCE_KEY_SIZE];
};

/* Fills the key from the kernel's random source. */
int auth_nonce_key_generate(struct auth_nonce_key *key);

/*
 * Makes a nonce for the client at time now (seconds, any monotonic-enough
 * clock the checker shares: the workers use CLOCK_REALTIME seconds so that
 * nonces survive a worker restart). The nonce starts with the RFC 8489
 * §9.2 cookie "obMatJos2" and the security feature bits: password
 * algorithms always; username anonymity (USERHASH) only with
 * offer_userhash, because a USERHASH cannot be turned back into the
 * "expiry:user-id" name that REST credentials are computed from, and
 * clients such as libjuice send USERHASH whenever it is offered. Writes a
 * NUL-terminated string of fewer than AUTH_NONCE_MAX bytes (printable ASCII).
 * Returns 0, or ENOMEM when OpenSSL could not compute the MAC; out then
 * still holds a well-formed nonce that no check accepts, so a caller that
 * ignores the error sends a 438 loop rather than garbage.
 */
int auth_nonce_make(const struct auth_nonce_key *key,
                    const struct sockaddr *client, uint64_t now,
                    bool offer_userhash, char out[AUTH_NONCE_MAX]);

/*
 * Checks a nonce from a request. Returns 0 when it was made for this
 * client less than lifetime seconds before now (at most AUTH_NONCE_SKEW
 * seconds after now); ESTALE when it was made for this client but has
 * expired (or lies further in the future); EINVAL when it is not one of
 * ours for this client (wrong MAC, format or address). An IPv4-mapped
 * IPv6 client address counts as the IPv4 address.
 */
int auth_nonce_check(const struct auth_nonce_key *key,
                     const struct sockaddr *client, const uint8_t *nonce,
                     size_t nonce_len, uint64_t now, uint32_t lifetime);

/* What a successful check found out about the requester. */
struct auth_identity {
	char username[STUN_USERNAME_MAX + 1];
	char quota_key[AUTH_QUOTA_KEY_MAX + 1];
	uint16_t password_algorithm; /* STUN_PASSWORD_ALGORITHM_* */
	uint8_t key[STUN_KEY_MAX];   /* long-term key, for the response */
	size_t key_len;
	bool use_sha256; /* the request used MESSAGE-INTEGRITY-SHA256 */
	bool by_userhash;
	bool rest; /* REST API credentials */
};

/* A user's long-term keys (RFC 8489 §9.2.2), made with the realm of the
 * context's configuration. */
struct auth_user_keys {
	uint8_t key_md5[16];
	uint8_t key_sha256[32];
};

/*
 * Finds a user that is not in the configuration (the store's user
 * database, which the auth module does not know). name is the request's
 * USERNAME, not NUL-terminated, name_len bytes. Must return ENOENT for a
 * user whose keys were made for another realm than conf->realm. Returns
 * 0 and fills *out; ENOENT when there is no such user; another errno
 * value when the lookup failed (the request then gets 500).
 */
typedef int (*auth_lookup_user_fn)(void *arg, const char *name, size_t name_len,
                                   struct auth_user_keys *out);

/*
 * Finds a user that is not in the configuration by a request's USERHASH
 * (RFC 8489 §14.4), through an index rather than by hashing every name.
 * Writes the user's name, NUL-terminated, into name (name_size bytes) and
 * its keys into *out. Must return ENOENT for a user whose keys were made
 * for another realm than conf->realm. The check then compares the
 * USERHASH of the name found with the request's (constant-time), so an
 * index entry that names the wrong user finds nobody. Returns as
 * auth_lookup_user_fn.
 */
typedef int (*auth_lookup_userhash_fn)(void *arg,
                                       const uint8_t hash[STUN_SHA256_SIZE],
                                       char *name, size_t name_size,
                                       struct auth_user_keys *out);

/* Everything the check needs; all borrowed. */
struct auth_context {
	const struct conf
	    *conf; /* realm, users, auth-secrets, nonce-lifetime */
	const struct auth_nonce_key *nonce_key;
	const struct sockaddr *client;
	uint64_t now; /* CLOCK_REALTIME seconds */
	/* Optional (NULL: static users only): asked for a USERNAME that
	 * is not a static user, before the REST check. */
	auth_lookup_user_fn lookup_user;
	/* Optional (NULL: a USERHASH finds static users only): asked for
	 * a USERHASH that is no static user's. */
	auth_lookup_userhash_fn lookup_userhash;
	void *lookup_arg; /* of both */
};

/*
 * Authenticates a request (RFC 8489 §9.2.4). Returns 0 and fills *identity
 * when it carries valid credentials; otherwise the STUN error code to
 * answer with (and *identity zeroed):
 *   401 no integrity attribute, unknown user, REALM not ours, wrong
 *       integrity, expired REST credentials (respond with REALM, NONCE,
 *       PASSWORD-ALGORITHMS and no MESSAGE-INTEGRITY);
 *   400 integrity present but USERNAME/USERHASH, REALM or NONCE missing
 *       (or both USERNAME and USERHASH present), or PASSWORD-ALGORITHM(S)
 *       inconsistent with what we offered;
 *   438 a stale or foreign nonce with otherwise valid credentials (respond
 *       with a fresh NONCE, REALM and PASSWORD-ALGORITHMS);
 *   500 OpenSSL could not compute a digest, or a lookup failed.
 * A USERNAME names a static user, else one ctx->lookup_user finds, else
 * REST credentials; a USERHASH names a static user, else one
 * ctx->lookup_userhash finds (REST credentials have none).
 * The checks run in the order of §9.2.4, so the nonce is judged last: a
 * 438 tells the client its credentials are right and only the nonce is
 * not. The digest comparison is constant-time (CRYPTO_memcmp). Keys
 * derived here are cleansed from the stack; identity->key is the caller's
 * to cleanse (OPENSSL_cleanse) when done with it.
 */
int auth_check_request(const struct auth_context *ctx,
                       const struct stun_msg *msg,
                       struct auth_identity *identity);

/*
 * Checks that a later request comes from the allocation's own user (RFC
 * 8656 §5: same USERNAME/USERHASH, same credentials). Either USERNAME or
 * the USERHASH of the owner's name is accepted; the password algorithm
 * must be the owner's; the request must pass auth_check_request() as the
 * users, secrets and clock are now, with the very key the allocation was
 * made with: a user deleted or with a new password, a withdrawn
 * auth-secret or expired REST credentials get 401. Returns 0; 441 when
 * the request names another user; or 401/400/438/500 as above, with the
 * nonce still checked.
 */
int auth_check_same_user(const struct auth_context *ctx,
                         const struct stun_msg *msg,
                         const struct auth_identity *owner);

/*
 * After auth_check_same_user() refused a request: true when it is signed
 * with the key the allocation was made with, by the owner's name and
 * algorithm, with a fresh nonce of ours for this client. The owner
 * itself is then asking with credentials since revoked (a user deleted,
 * a new password, a withdrawn secret, expired REST credentials): the
 * allocation can end now rather than hold its 5-tuple and quota until
 * it expires. Nobody else has that key.
 */
bool auth_signed_by_owner(const struct auth_context *ctx,
                          const struct stun_msg *msg,
                          const struct auth_identity *owner);

/* The password algorithms we offer, in order of preference (SHA-256, MD5),
 * for PASSWORD-ALGORITHMS. */
extern const uint16_t auth_password_algorithms[2];

/*
 * The TURN REST API (draft-uberti-behave-turn-rest, as coturn's
 * static-auth-secret and STUNner's ephemeral mode mint it): the username
 * is "expiry:user-id" (expiry in UNIX seconds), the password is
 * base64(HMAC-SHA1(secret, username)). Writes the password, NUL-terminated,
 * into out (at least AUTH_REST_PASSWORD_SIZE bytes). Returns 0, ENOBUFS,
 * or ENOMEM when OpenSSL could not compute the HMAC.
 */
int auth_rest_password(const char *secret, const char *username, char *out,
                       size_t out_size);

/*
 * Splits a REST username "expiry:user-id" (coturn's default separator,
 * the timestamp first; a bare "expiry" has an empty user-id) into its
 * parts. *user_id points into username. Returns 0, or EINVAL when the
 * username does not start with a decimal timestamp (that fits 64 bits)
 * followed by ':' or the end.
 */
int auth_rest_parse(const char *username, uint64_t *expiry,
                    const char **user_id);

#endif
