/*
 * credentials: TURN REST API credentials (draft-uberti-behave-turn-rest)
 * minted with the first `auth-secret`, as an application server would:
 * the username "expiry:user", the password base64(HMAC-SHA1(secret,
 * username)), and the TURN URIs of the listeners (RFC 7065).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "turnpike/auth.h"
#include "turnpike/net.h"
#include "ctl.h"

/* "turns:" + an address and port + "?transport=tcp". */
#define URI_MAX (NET_ADDRSTRLEN + 32)

/* The address clients reach a listener at: its own, or for a wildcard
 * listener the external, else the relay address of its family. Returns
 * false when there is none to name. */
static bool public_address(const struct conf *conf,
                           const struct conf_listen *listen,
                           struct sockaddr_storage *out)
{
	bool v4 = listen->addr.ss_family == AF_INET;

	*out = listen->addr;
	if (!net_addr_unspecified((const struct sockaddr *)out))
		return true;
	if (v4 ? conf->has_external_v4 : conf->has_external_v6)
		*out = v4 ? conf->external_v4 : conf->external_v6;
	else if (v4 ? conf->has_relay_v4 : conf->has_relay_v6)
		*out = v4 ? conf->relay_v4 : conf->relay_v6;
	if (net_addr_unspecified((const struct sockaddr *)out))
		return false;
	net_addr_set_port(
	    (struct sockaddr *)out,
	    net_addr_port((const struct sockaddr *)&listen->addr));
	return true;
}

/* Calls fn for the URI of each listener: RFC 7065 section 3, "turns"
 * for TLS, whose transport is TCP. */
static void for_each_uri(const struct conf *conf,
                         void (*fn)(const char *uri, void *arg), void *arg)
{
	char address[NET_ADDRSTRLEN], uri[URI_MAX];
	struct sockaddr_storage ss;
	size_t i;

	for (i = 0; i < conf->listen_count; i++) {
		enum conf_transport transport = conf->listens[i].transport;

		if (!public_address(conf, &conf->listens[i], &ss))
			continue;
		net_addr_format((const struct sockaddr *)&ss, address,
		                sizeof(address));
		snprintf(uri, sizeof(uri), "%s:%s?transport=%s",
		         transport == CONF_TRANSPORT_TLS ? "turns" : "turn",
		         address,
		         transport == CONF_TRANSPORT_UDP ? "udp" : "tcp");
		fn(uri, arg);
	}
}

static void print_uri(const char *uri, void *arg)
{
	printf("uri:      %s\n", uri);
}

static void json_uri(const char *uri, void *arg)
{
	json_string(arg, NULL, uri);
}

static void print_credentials(const struct ctl *ctl, const char *username,
                              const char *password, uint64_t expiry)
{
	struct json json;
	char when[64];

	if (!ctl->json) {
		printf("username: %s\npassword: %s\n", username, password);
		printf("expires:  %s (in %ld s)\n",
		       ctl_format_time(expiry, when, sizeof(when)), ctl->ttl);
		for_each_uri(ctl->conf, print_uri, NULL);
		return;
	}
	json_init(&json, stdout);
	json_object_begin(&json, NULL);
	json_string(&json, "username", username);
	json_string(&json, "password", password);
	json_int(&json, "ttl", ctl->ttl);
	json_array_begin(&json, "uris");
	for_each_uri(ctl->conf, json_uri, &json);
	json_array_end(&json);
	json_object_end(&json);
	json_finish(&json);
}

int ctl_cmd_credentials(struct ctl *ctl)
{
	char username[STUN_USERNAME_MAX + 1];
	char password[AUTH_REST_PASSWORD_SIZE];
	const char *user;
	uint64_t expiry;
	int len, err;

	if (ctl->arg_count != 2)
		return ctl_usage_error("credentials wants one user");
	user = ctl->args[1];
	if (user[0] == '\0' || strlen(user) > AUTH_QUOTA_KEY_MAX)
		return ctl_error("a user has 1 to %d bytes",
		                 AUTH_QUOTA_KEY_MAX);
	if (ctl->conf->auth_secret_count == 0)
		return ctl_error("%s has no auth-secret: REST API credentials "
		                 "are off",
		                 ctl->config_path);
	if (ctl->ttl == 0)
		ctl->ttl = CTL_DEFAULT_TTL;
	expiry = (uint64_t)time(NULL) + (uint64_t)ctl->ttl;
	len = snprintf(username, sizeof(username), "%" PRIu64 ":%s", expiry,
	               user);
	if (len < 0 || (size_t)len >= sizeof(username))
		return ctl_error("username longer than %d bytes",
		                 STUN_USERNAME_MAX);
	err = auth_rest_password(ctl->conf->auth_secrets[0], username, password,
	                         sizeof(password));
	if (err != 0)
		return ctl_error("computing the password: %s", strerror(err));
	print_credentials(ctl, username, password, expiry);
	OPENSSL_cleanse(password, sizeof(password));
	return CTL_EXIT_OK;
}
