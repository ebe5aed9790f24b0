/*
 * Credentials in the file: static users (kept as RFC 8489 long-term keys,
 * the password wiped once the keys are made) and REST API secrets.
 * Messages name a user, never a password or a secret.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "turnpike/stun.h"

#include "conf_private.h"

/* RFC 8489 §14.3: a USERNAME is fewer than 509 bytes. */
#define USER_NAME_MAX 508

static int user_add(struct conf_parser *parser, char *name, char *password)
{
	struct conf *conf = parser->conf;
	void *grown;

	if ((grown = conf_array_grow(parser->passwords, conf->user_count,
	                             sizeof(*parser->passwords))) == NULL)
		return ENOMEM;
	parser->passwords = grown;
	if ((grown = conf_array_grow(parser->user_lines, conf->user_count,
	                             sizeof(*parser->user_lines))) == NULL)
		return ENOMEM;
	parser->user_lines = grown;
	if ((grown = conf_array_grow(conf->users, conf->user_count,
	                             sizeof(*conf->users))) == NULL)
		return ENOMEM;
	conf->users = grown;
	parser->passwords[conf->user_count] = password;
	parser->user_lines[conf->user_count] = parser->line;
	conf->users[conf->user_count++].name = name;
	return 0;
}

/* Messages name the user, never the password. */
int conf_set_user(struct conf_parser *parser, const struct conf_key *key,
                  const char *value)
{
	const char *colon = strchr(value, ':');
	char *name = NULL, *password = NULL;
	size_t i;

	if (colon == NULL || colon == value)
		return conf_error(parser, parser->line,
		                  "user: expected NAME:PASSWORD with a "
		                  "non-empty NAME");
	if ((name = strndup(value, colon - value)) == NULL)
		return conf_nomem(parser);
	if (conf_value_text(name, USER_NAME_MAX, USER_NAME_MAX) != 0) {
		conf_bad_value(parser, key, name,
		               "expected a name of at most 508 bytes of "
		               "UTF-8 text");
		goto fail;
	}
	if (colon[1] == '\0') {
		conf_bad_value(parser, key, name, "empty password");
		goto fail;
	}
	for (i = 0; i < parser->conf->user_count; i++)
		if (strcmp(parser->conf->users[i].name, name) == 0) {
			conf_error(parser, parser->line,
			           "user '%s' repeats line %u", name,
			           parser->user_lines[i]);
			goto fail;
		}
	if ((password = strdup(colon + 1)) == NULL ||
	    user_add(parser, name, password) != 0) {
		if (password != NULL)
			OPENSSL_cleanse(password, strlen(password));
		free(password);
		free(name);
		return conf_nomem(parser);
	}
	return 0;
fail:
	free(name);
	return EINVAL;
}

int conf_set_auth_secret(struct conf_parser *parser, const struct conf_key *key,
                         const char *value)
{
	struct conf *conf = parser->conf;
	char *secret;
	void *grown;

	for (size_t i = 0; i < conf->auth_secret_count; i++)
		if (strcmp(conf->auth_secrets[i], value) == 0)
			return conf_error(parser, parser->line,
			                  "auth-secret repeats line %u",
			                  parser->secret_lines[i]);
	if ((grown =
	         conf_array_grow(parser->secret_lines, conf->auth_secret_count,
	                         sizeof(*parser->secret_lines))) == NULL)
		return conf_nomem(parser);
	parser->secret_lines = grown;
	if ((grown =
	         conf_array_grow(conf->auth_secrets, conf->auth_secret_count,
	                         sizeof(*conf->auth_secrets))) == NULL)
		return conf_nomem(parser);
	conf->auth_secrets = grown;
	if ((secret = strdup(value)) == NULL)
		return conf_nomem(parser);
	parser->secret_lines[conf->auth_secret_count] = parser->line;
	conf->auth_secrets[conf->auth_secret_count++] = secret;
	return 0;
}

/* RFC 8489 §9.2.2: key = MD5 or SHA-256 of "username:realm:password"
 * (the OpaqueString profile leaves ASCII as it is). */
static int user_keys(struct conf_user *user, const char *realm,
                     const char *password)
{
	return stun_long_term_keys(user->name, realm, password, user->key_md5,
	                           user->key_sha256) != 0
	           ? EPROTONOSUPPORT
	           : 0;
}

/* Keys are made here, not at the user line, because realm may come later
 * in the file. The password is wiped as soon as its keys exist. */
int conf_derive_user_keys(struct conf_parser *parser)
{
	struct conf *conf = parser->conf;
	char *password;
	int rc;

	for (size_t i = 0; i < conf->user_count; i++) {
		password = parser->passwords[i];
		rc = user_keys(&conf->users[i], conf->realm, password);
		OPENSSL_cleanse(password, strlen(password));
		free(password);
		parser->passwords[i] = NULL;
		if (rc == ENOMEM)
			return conf_nomem(parser);
		if (rc != 0)
			return conf_error(parser, parser->user_lines[i],
			                  "user '%s': no MD5 or SHA-256 in "
			                  "this OpenSSL",
			                  conf->users[i].name);
	}
	return 0;
}
