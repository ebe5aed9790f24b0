/*
 * libFuzzer target for what authentication decodes from a request: the
 * NONCE (auth_nonce_check), a REST username "expiry:user-id"
 * (auth_rest_parse), USERNAME or USERHASH with REALM, PASSWORD-ALGORITHM(S)
 * and the integrity attributes (auth_check_request), and a later request
 * of the same user (auth_check_same_user).
 *
 * Random bytes would rarely carry a valid nonce and integrity, and most
 * of the checks lie behind those. So the first input byte is a set of
 * flags and the rest a STUN message, which the target may rebuild before
 * the check: with FLAG_NONCE its NONCE becomes one made now for the
 * client; with FLAG_SIGN its integrity is recomputed with the key of the
 * user it names (alice, a static user; dave, a store user, also by
 * USERHASH; any other USERNAME as REST credentials), the MD5 key and
 * MESSAGE-INTEGRITY, or with FLAG_SHA256 the SHA-256 ones.
 * Any out-of-bounds read is caught by AddressSanitizer; a broken
 * invariant aborts.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "turnpike/auth.h"
#include "turnpike/conf.h"
#include "turnpike/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FLAG_NONCE  0x01 /* put in a valid nonce */
#define FLAG_SIGN   0x02 /* recompute the integrity with a real key */
#define FLAG_SHA256 0x04 /* ... the SHA-256 key and -SHA256 attribute */
#define FLAG_LATER  0x08 /* then as a later request of that user */

#define FUZZ_REALM  "fuzz.test"
#define FUZZ_SECRET "north"
#define FUZZ_NOW    1800000000u

static struct conf conf;
static char alice[] = "alice";
static struct conf_user users[1];
static char *secrets[] = {FUZZ_SECRET};
static struct auth_nonce_key nonce_key;
static struct sockaddr_in client;
static struct auth_context ctx;
static struct auth_user_keys dave; /* a store user, through the lookups */

static int lookup_user(void *arg, const char *name, size_t name_len,
                       struct auth_user_keys *out)
{
	(void)arg;
	if (name_len != 4 || memcmp(name, "dave", 4) != 0)
		return ENOENT;
	*out = dave;
	return 0;
}

static int lookup_userhash(void *arg, const uint8_t hash[STUN_SHA256_SIZE],
                           char *name, size_t name_size,
                           struct auth_user_keys *out)
{
	uint8_t want[STUN_SHA256_SIZE];

	(void)arg;
	if (stun_userhash("dave", 4, FUZZ_REALM, strlen(FUZZ_REALM), want) !=
	        0 ||
	    memcmp(hash, want, sizeof(want)) != 0 || name_size < 5)
		return ENOENT;
	memcpy(name, "dave", 5);
	*out = dave;
	return 0;
}

static void setup(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	users[0].name = alice;
	if (stun_long_term_keys("alice", FUZZ_REALM, "wonderland",
	                        users[0].key_md5, users[0].key_sha256) != 0 ||
	    stun_long_term_keys("dave", FUZZ_REALM, "diver", dave.key_md5,
	                        dave.key_sha256) != 0)
		abort();
	conf.realm = FUZZ_REALM;
	conf.users = users;
	conf.user_count = 1;
	conf.auth_secrets = secrets;
	conf.auth_secret_count = 1;
	conf.nonce_lifetime = 600;
	memset(&nonce_key, 0x5a, sizeof(nonce_key));
	client.sin_family = AF_INET;
	client.sin_port = htons(40000);
	client.sin_addr.s_addr = htonl(0xC000020A); /* 192.0.2.10 */
	ctx.conf = &conf;
	ctx.nonce_key = &nonce_key;
	ctx.client = (const struct sockaddr *)&client;
	ctx.now = FUZZ_NOW;
	ctx.lookup_user = lookup_user;
	ctx.lookup_userhash = lookup_userhash;
}

/* The USERNAME as a C string, or "" (a name with a NUL in it is cut). */
static void username_of(const struct stun_msg *msg, char *out, size_t size)
{
	const struct stun_attr *attr = stun_msg_find(msg, STUN_ATTR_USERNAME);
	size_t len = attr != NULL ? attr->length : 0;

	if (len >= size)
		len = size - 1;
	if (len > 0)
		memcpy(out, stun_attr_value(msg, attr), len);
	out[len] = '\0';
}

/* The key of the user the message names, for FLAG_SIGN; false when
 * REST credentials cannot be made from its USERNAME. */
static bool signing_key(unsigned flags, const struct stun_msg *msg,
                        uint8_t key[STUN_KEY_MAX], size_t *key_len)
{
	char name[STUN_USERNAME_MAX + 1], password[AUTH_REST_PASSWORD_SIZE];
	bool sha256 = (flags & FLAG_SHA256) != 0;
	const struct auth_user_keys *known = NULL;
	struct auth_user_keys alice_keys;

	username_of(msg, name, sizeof(name));
	if (strcmp(name, "alice") == 0) {
		memcpy(alice_keys.key_md5, users[0].key_md5, 16);
		memcpy(alice_keys.key_sha256, users[0].key_sha256, 32);
		known = &alice_keys;
	} else if (strcmp(name, "dave") == 0 ||
	           stun_msg_find(msg, STUN_ATTR_USERHASH) != NULL) {
		known = &dave;
	}
	if (known != NULL) {
		*key_len = sha256 ? 32 : 16;
		memcpy(key, sha256 ? known->key_sha256 : known->key_md5,
		       *key_len);
		return true;
	}
	return auth_rest_password(FUZZ_SECRET, name, password,
	                          sizeof(password)) == 0 &&
	       stun_long_term_key(sha256 ? STUN_PASSWORD_ALGORITHM_SHA256
	                                 : STUN_PASSWORD_ALGORITHM_MD5,
	                          name, strlen(name), FUZZ_REALM,
	                          strlen(FUZZ_REALM), password,
	                          strlen(password), key, key_len) == 0;
}

/* The message again, with a fresh nonce and new integrity as the flags
 * say; false when it does not fit or does not decode. */
static bool rebuild(unsigned flags, const struct stun_msg *msg, uint8_t *out,
                    size_t size, size_t *len)
{
	char nonce[AUTH_NONCE_MAX];
	uint8_t key[STUN_KEY_MAX];
	size_t key_len = 0;
	bool sign =
	    (flags & FLAG_SIGN) && signing_key(flags, msg, key, &key_len);
	struct stun_writer w;
	uint16_t i;

	if (auth_nonce_make(&nonce_key, ctx.client, FUZZ_NOW, true, nonce) != 0)
		abort();
	stun_writer_init(&w, out, size, msg->method, msg->class,
	                 msg->transaction_id);
	for (i = 0; i < msg->attr_count; i++) {
		const struct stun_attr *attr = &msg->attrs[i];

		if (attr->type == STUN_ATTR_MESSAGE_INTEGRITY ||
		    attr->type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256 ||
		    attr->type == STUN_ATTR_FINGERPRINT)
			continue;
		if (attr->type == STUN_ATTR_NONCE && (flags & FLAG_NONCE))
			stun_put_string(&w, STUN_ATTR_NONCE, nonce);
		else
			stun_put_bytes(&w, attr->type,
			               stun_attr_value(msg, attr),
			               attr->length);
	}
	if (sign && (flags & FLAG_SHA256))
		stun_put_integrity_sha256(&w, key, key_len);
	else if (sign)
		stun_put_integrity(&w, key, key_len);
	return stun_writer_finish(&w, len) == 0;
}

static void check(const struct stun_msg *msg, unsigned flags)
{
	struct auth_identity identity;
	char name[STUN_USERNAME_MAX + 1];
	const struct stun_attr *nonce = stun_msg_find(msg, STUN_ATTR_NONCE);
	const char *user_id;
	uint64_t expiry;
	int rc;

	if (nonce != NULL)
		(void)auth_nonce_check(&nonce_key, ctx.client,
		                       stun_attr_value(msg, nonce),
		                       nonce->length, FUZZ_NOW, 600);
	username_of(msg, name, sizeof(name));
	if (auth_rest_parse(name, &expiry, &user_id) == 0 &&
	    (user_id < name || user_id > name + strlen(name)))
		abort();
	rc = auth_check_request(&ctx, msg, &identity);
	if (rc == 0 &&
	    (identity.key_len == 0 || identity.key_len > sizeof(identity.key)))
		abort();
	/* A later request of the same owner: with the credentials as they
	 * are, it must pass both checks; signed with the owner's key it
	 * must be seen as the owner's. */
	if (rc == 0 && (flags & FLAG_LATER) &&
	    (auth_check_same_user(&ctx, msg, &identity) != 0 ||
	     !auth_signed_by_owner(&ctx, msg, &identity)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t rebuilt[STUN_HEADER_SIZE + 0xFFFF];
	struct stun_msg msg;
	unsigned flags;
	uint8_t *copy;
	size_t len;

	if (size < 1)
		return 0;
	setup();
	flags = data[0];
	/* Exactly the message's bytes, so that ASan sees a read past them. */
	copy = malloc(size - 1 > 0 ? size - 1 : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (stun_msg_decode(&msg, copy, size - 1) == 0) {
		if ((flags & (FLAG_NONCE | FLAG_SIGN)) == 0) {
			check(&msg, flags);
		} else if (rebuild(flags, &msg, rebuilt, sizeof(rebuilt),
		                   &len)) {
			free(copy);
			copy = malloc(len);
			if (copy == NULL)
				return 0;
			memcpy(copy, rebuilt, len);
			if (stun_msg_decode(&msg, copy, len) == 0)
				check(&msg, flags);
		}
	}
	free(copy);
	return 0;
}
