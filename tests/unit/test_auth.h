/*
 * The fixture and request builder shared by the auth module's test files
 * (test_auth*.c, one program), defined in test_auth.c. The suites auth,
 * auth_nonce and auth_rest all start from setup(): three static users
 * (alice, bob and "1800000000:carol"), the secrets "north" and "south", a
 * client at 192.0.2.10:40000, a fake clock at NOW and a fresh nonce.
 */
#ifndef TEST_AUTH_H
#define TEST_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "turnpike/auth.h"
#include "turnpike/conf.h"

#define REALM    "example.org"
#define NOW      UINT64_C(1700000000)
#define LIFETIME 600

extern struct conf conf;
extern struct auth_nonce_key nonce_key;
extern struct sockaddr_in client;
extern struct auth_context ctx;
/* A nonce made for the client at NOW. */
extern char nonce[AUTH_NONCE_MAX];

/* Fills user with the MD5 and SHA-256 keys of name in REALM. */
void make_user(struct conf_user *user, const char *name, const char *password);
void set_client(struct sockaddr_in *sin, const char *ip, uint16_t port);

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

/* USERNAME, REALM, the nonce and MESSAGE-INTEGRITY with an MD5 key. */
struct request request_for(const char *username, const char *password);
/* Sends PASSWORD-ALGORITHM algorithm with our offer as the list. */
void request_with_algorithm(struct request *req, uint16_t algorithm);
/* Builds req as an Allocate request and returns what
 * auth_check_request() says of it. */
int check(const struct request *req, struct auth_identity *identity);
/* The same with auth_check_same_user() and the allocation's owner. */
int check_same(const struct request *req, const struct auth_identity *owner);
/* The REST user name "expiry:user_id" and its password under secret. */
void rest_username(char *out, size_t size, uint64_t expiry,
                   const char *user_id);
void rest_password(const char *secret, const char *username,
                   char out[AUTH_REST_PASSWORD_SIZE]);
/* REST credentials as a request: both written into the caller's
 * buffers (64 bytes of username), which the request points at. */
struct request rest_request(char *username, char *password, uint64_t expiry,
                            const char *user_id, const char *secret);

#endif
