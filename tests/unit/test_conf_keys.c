/*
 * conf: the keys of identity, authentication, limits, files, accounts,
 * logging and TLS (realm and software, workers, user, auth-secret,
 * nonce-lifetime, quotas, peer ranges, lifetimes, paths, user-name, log,
 * the tls- and stream- keys).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>

#include "turnpike/conf.h"
#include "test_conf.h"

/* --- realm, software, workers ------------------------------------------ */

Test(conf, realm_of_127_characters_is_accepted_128_is_not)
{
	char value[256 * 2 + 1];
	struct conf *conf;

	memset(value, 'r', 127);
	value[127] = '\0';
	conf = parse_key("realm", value);
	cr_assert_eq(strlen(conf->realm), 127);
	conf_free(conf);
	strcat(value, "r");
	assert_bad("realm", value);
}

Test(conf, realm_counts_characters_not_bytes)
{
	char value[128 * 2 + 1] = "";
	struct conf *conf;

	for (int i = 0; i < 127; i++)
		strcat(value, "\xc3\xa4"); /* ä */
	conf = parse_key("realm", value);
	cr_assert_eq(strlen(conf->realm), 254);
	conf_free(conf);
	strcat(value, "\xc3\xa4");
	assert_bad("realm", value);
}

Test(conf, realm_must_be_utf8_without_control_characters)
{
	static const char *const bad[] = {
	    "\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80", "a\x01b", NULL,
	};

	assert_bad_values("realm", bad);
}

Test(conf, software_replaces_the_default_and_is_bounded)
{
	char value[200];
	struct conf *conf = parse_key("software", "relay 1.0");

	cr_assert_str_eq(conf->software, "relay 1.0");
	conf_free(conf);
	memset(value, 's', 128);
	value[128] = '\0';
	assert_bad("software", value);
	assert_bad("software", "a\x7f");
}

/* At most 128: two generations must fit in the 256 worker slots. */
Test(conf, workers_is_auto_or_1_to_128)
{
	struct conf *conf = parse_key("workers", "auto");
	static const char *const bad[] = {
	    "0", "129", "1024", "-1", "four", "2.5", "+2", "Auto", NULL,
	};

	cr_assert_eq(conf->workers, 0);
	cr_assert_geq(conf_worker_count(conf), 1);
	cr_assert_eq(conf_worker_count(conf),
	             sysconf(_SC_NPROCESSORS_ONLN) < 1 ? 1
	             : sysconf(_SC_NPROCESSORS_ONLN) > CONF_WORKERS_MAX
	                 ? CONF_WORKERS_MAX
	                 : sysconf(_SC_NPROCESSORS_ONLN));
	conf_free(conf);
	conf = parse_key("workers", "128");
	cr_assert_eq(conf_worker_count(conf), 128);
	conf_free(conf);
	conf = parse_key("workers", "3");
	cr_assert_eq(conf->workers, 3);
	cr_assert_eq(conf_worker_count(conf), 3);
	conf_free(conf);
	assert_bad_values("workers", bad);
}

/* --- user, auth-secret, nonce-lifetime --------------------------------- */

static void digest(const EVP_MD *md, const char *text, uint8_t *out)
{
	cr_assert_eq(EVP_Digest(text, strlen(text), out, NULL, md, NULL), 1);
}

static void assert_user_keys(const struct conf_user *user, const char *input)
{
	uint8_t md5[16], sha256[32];

	digest(EVP_md5(), input, md5);
	digest(EVP_sha256(), input, sha256);
	cr_assert_arr_eq(user->key_md5, md5, sizeof(md5), "MD5 of %s", input);
	cr_assert_arr_eq(user->key_sha256, sha256, sizeof(sha256),
	                 "SHA-256 of %s", input);
}

Test(conf, user_keys_use_the_realm_given_later_in_the_file)
{
	struct conf *conf = parse_ok("user = alice:pass\n"
	                             "realm = example.org\n");

	cr_assert_eq(conf->user_count, 1);
	cr_assert_str_eq(conf->users[0].name, "alice");
	assert_user_keys(&conf->users[0], "alice:example.org:pass");
	conf_free(conf);
}

Test(conf, user_keys_use_the_default_realm_without_one)
{
	struct conf *conf = parse_key("user", "bob:secret");

	assert_user_keys(&conf->users[0], "bob:turnpike:secret");
	conf_free(conf);
}

Test(conf, user_password_may_hold_colons_and_hashes)
{
	struct conf *conf = parse_key("user", "carol:a:b#c");

	cr_assert_str_eq(conf->users[0].name, "carol");
	assert_user_keys(&conf->users[0], "carol:turnpike:a:b#c");
	conf_free(conf);
}

Test(conf, user_is_repeatable_in_order)
{
	struct conf *conf = parse_ok("user = a:1\nuser = b:2\nuser = c:3\n");

	cr_assert_eq(conf->user_count, 3);
	cr_assert_str_eq(conf->users[0].name, "a");
	cr_assert_str_eq(conf->users[2].name, "c");
	assert_user_keys(&conf->users[1], "b:turnpike:2");
	conf_free(conf);
}

Test(conf, user_needs_name_colon_password)
{
	assert_error("user = alice\n", "t.conf:1: user: expected "
	                               "NAME:PASSWORD with a non-empty NAME");
	assert_error("user = :pw\n", "t.conf:1: user: expected NAME:PASSWORD "
	                             "with a non-empty NAME");
	assert_error("user = alice:\n", "t.conf:1: user 'alice': empty "
	                                "password");
}

Test(conf, user_name_is_at_most_508_bytes)
{
	char value[600];
	struct conf *conf;

	memset(value, 'n', 508);
	strcpy(value + 508, ":pw");
	conf = parse_key("user", value);
	cr_assert_eq(strlen(conf->users[0].name), 508);
	conf_free(conf);
	memset(value, 'n', 509);
	strcpy(value + 509, ":pw");
	assert_bad("user", value);
}

Test(conf, user_named_twice_is_an_error)
{
	assert_error("user = alice:a\nuser = alice:b\n",
	             "t.conf:2: user 'alice' repeats line 1");
}

Test(conf, user_messages_never_show_the_password)
{
	struct conf *conf = NULL;

	cr_assert_eq(conf_parse("t.conf", "user = hunter2secret\n", &conf,
	                        conf_err, sizeof(conf_err)),
	             EINVAL);
	cr_assert_null(strstr(conf_err, "hunter2"));
	cr_assert_eq(conf_parse("t.conf", "user = a\x01:hunter2\n", &conf,
	                        conf_err, sizeof(conf_err)),
	             EINVAL);
	cr_assert_null(strstr(conf_err, "hunter2"));
}

Test(conf, auth_secret_is_repeatable_in_order)
{
	struct conf *conf = parse_ok("auth-secret = new\nauth-secret = old\n");

	cr_assert_eq(conf->auth_secret_count, 2);
	cr_assert_str_eq(conf->auth_secrets[0], "new");
	cr_assert_str_eq(conf->auth_secrets[1], "old");
	conf_free(conf);
}

Test(conf, auth_secret_given_twice_is_an_error_that_hides_it)
{
	assert_error("auth-secret = s3cr3t\n\nauth-secret = s3cr3t\n",
	             "t.conf:3: auth-secret repeats line 1");
}

Test(conf, nonce_lifetime_is_whole_seconds_up_to_a_day)
{
	static const char *const bad[] = {
	    "0", "1500ms", "86401", "2d", "1.5s", "-1", "s", "25h", NULL,
	};
	struct conf *conf = parse_key("nonce-lifetime", "10m");

	cr_assert_eq(conf->nonce_lifetime, 600);
	conf_free(conf);
	conf = parse_key("nonce-lifetime", "30");
	cr_assert_eq(conf->nonce_lifetime, 30);
	conf_free(conf);
	conf = parse_key("nonce-lifetime", "24h");
	cr_assert_eq(conf->nonce_lifetime, 86400);
	conf_free(conf);
	assert_bad_values("nonce-lifetime", bad);
}

/* --- quotas, peers, lifetimes ------------------------------------------ */

static void assert_cidr(const struct conf_cidr *cidr, const char *ip,
                        unsigned prefix_len)
{
	char buf[INET6_ADDRSTRLEN];

	cr_assert_str_eq(inet_ntop(cidr->family, cidr->addr, buf, sizeof(buf)),
	                 ip);
	cr_assert_eq(cidr->prefix_len, prefix_len);
}

Test(conf, quotas_are_0_to_a_million)
{
	static const char *const bad[] = {
	    "1000001", "-1", "ten", "1e6", "1.0", "10 allocations", NULL,
	};
	struct conf *conf = parse_ok("user-quota = 10\n"
	                             "total-quota = 1000000\n");

	cr_assert_eq(conf->user_quota, 10);
	cr_assert_eq(conf->total_quota, 1000000);
	conf_free(conf);
	assert_bad_values("user-quota", bad);
	assert_bad_values("total-quota", bad);
}

Test(conf, peer_ranges_are_cidrs_in_order)
{
	struct conf *conf = parse_ok("allow-peer = 10.0.0.0/8\n"
	                             "allow-peer = fd00::/8\n"
	                             "deny-peer = 10.1.0.0/16\n");

	cr_assert_eq(conf->allow_peer_count, 2);
	cr_assert_eq(conf->allow_peers[0].family, AF_INET);
	assert_cidr(&conf->allow_peers[0], "10.0.0.0", 8);
	cr_assert_eq(conf->allow_peers[1].family, AF_INET6);
	assert_cidr(&conf->allow_peers[1], "fd00::", 8);
	cr_assert_eq(conf->deny_peer_count, 1);
	assert_cidr(&conf->deny_peers[0], "10.1.0.0", 16);
	conf_free(conf);
}

Test(conf, peer_bare_address_is_a_host_range)
{
	struct conf *conf = parse_ok("allow-peer = 127.0.0.1\n"
	                             "deny-peer = 2001:db8::1\n");

	assert_cidr(&conf->allow_peers[0], "127.0.0.1", 32);
	assert_cidr(&conf->deny_peers[0], "2001:db8::1", 128);
	conf_free(conf);
}

Test(conf, peer_host_bits_beyond_the_prefix_are_cleared)
{
	struct conf *conf = parse_ok("allow-peer = 10.1.2.3/8\n"
	                             "allow-peer = 2001:db8:ffff::1/33\n"
	                             "deny-peer = 192.168.1.1/0\n");

	assert_cidr(&conf->allow_peers[0], "10.0.0.0", 8);
	assert_cidr(&conf->allow_peers[1], "2001:db8:8000::", 33);
	assert_cidr(&conf->deny_peers[0], "0.0.0.0", 0);
	conf_free(conf);
}

Test(conf, peer_ipv4_mapped_range_is_kept_as_ipv4)
{
	struct conf *conf = parse_key("allow-peer", "::ffff:10.0.0.0/104");

	cr_assert_eq(conf->allow_peers[0].family, AF_INET);
	assert_cidr(&conf->allow_peers[0], "10.0.0.0", 8);
	conf_free(conf);
}

Test(conf, peer_rejects_malformed_ranges)
{
	static const char *const bad[] = {
	    "10.0.0.0/33",  "::/129",    "10.0.0.0/", "10.0.0/8",
	    "10.0.0.0/8x",  "[::1]/128", "host/8",    "10.0.0.0/-1",
	    "10.0.0.0/8/8", "/8",        NULL,
	};

	assert_bad_values("allow-peer", bad);
	assert_bad_values("deny-peer", bad);
}

Test(conf, lifetimes_take_seconds_or_units)
{
	struct conf *conf = parse_ok("default-lifetime = 300\n"
	                             "max-lifetime = 2h\n");

	cr_assert_eq(conf->default_lifetime, 300);
	cr_assert_eq(conf->max_lifetime, 7200);
	conf_free(conf);
	conf = parse_ok("default-lifetime = 1m\nmax-lifetime = 60s\n");
	cr_assert_eq(conf->default_lifetime, 60);
	cr_assert_eq(conf->max_lifetime, 60);
	conf_free(conf);
}

Test(conf, lifetimes_reject_bad_values)
{
	static const char *const bad[] = {
	    "0", "1.5s", "90000", "10x", "ms", "-5", "500ms", NULL,
	};

	assert_bad_values("default-lifetime", bad);
	assert_bad_values("max-lifetime", bad);
}

/* An old generation drains for up to a week: longer is a typo. */
Test(conf, drain_timeout_takes_seconds_or_units_up_to_a_week)
{
	static const char *const bad[] = {
	    "0", "1.5s", "604801", "8d", "10x", "-5", "500ms", NULL,
	};
	struct conf *conf = parse_ok("drain-timeout = 90\n");

	cr_assert_eq(conf->drain_timeout, 90);
	conf_free(conf);
	conf = parse_ok("drain-timeout = 2h\n");
	cr_assert_eq(conf->drain_timeout, 7200);
	conf_free(conf);
	conf = parse_ok("drain-timeout = 604800\n");
	cr_assert_eq(conf->drain_timeout, 604800);
	conf_free(conf);
	assert_bad_values("drain-timeout", bad);
}

Test(conf, default_lifetime_above_max_lifetime_names_its_line)
{
	assert_error("realm = a\ndefault-lifetime = 4000\n",
	             "t.conf:2: default-lifetime (4000 s) exceeds max-lifetime "
	             "(3600 s)");
	assert_error("realm = a\nmax-lifetime = 5m\n",
	             "t.conf:2: default-lifetime (600 s) exceeds max-lifetime "
	             "(300 s)");
}

/* --- paths, accounts, logging, TLS -------------------------------------- */

Test(conf, paths_must_be_absolute)
{
	static const char *const keys[] = {"state-dir", "pid-file", "tls-cert",
	                                   "tls-key", "tls-chain"};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		assert_bad(keys[i], "var/lib/turnpike");
		assert_bad(keys[i], "./x");
		assert_bad(keys[i], "~/x");
	}
}

Test(conf, state_dir_and_pid_file_replace_the_defaults)
{
	struct conf *conf = parse_ok("state-dir = /srv/turnpike\n"
	                             "pid-file = /run/t.pid\n");

	cr_assert_str_eq(conf->state_dir, "/srv/turnpike");
	cr_assert_str_eq(conf->pid_file, "/run/t.pid");
	conf_free(conf);
}

Test(conf, user_name_is_a_portable_account_name)
{
	static const char *const bad[] = {
	    "-turnpike", "a b",  "root:x",
	    "../x",      "tÜrn", "abcdefghijklmnopqrstuvwxyz0123456",
	    NULL,
	};
	struct conf *conf = parse_key("user-name", "_turnpike-1.x");

	cr_assert_str_eq(conf->run_user, "_turnpike-1.x");
	conf_free(conf);
	assert_bad_values("user-name", bad);
}

Test(conf, log_is_syslog_stderr_or_an_absolute_path)
{
	struct conf *conf = parse_key("log", "stderr");

	cr_assert_eq(conf->log_target, CONF_LOG_STDERR);
	conf_free(conf);
	conf = parse_key("log", "syslog");
	cr_assert_eq(conf->log_target, CONF_LOG_SYSLOG);
	conf_free(conf);
	conf = parse_key("log", "/var/log/turnpike.log");
	cr_assert_eq(conf->log_target, CONF_LOG_FILE);
	cr_assert_str_eq(conf->log_file, "/var/log/turnpike.log");
	conf_free(conf);
	assert_bad("log", "turnpike.log");
	assert_bad("log", "journal");
	assert_bad("log", "Syslog");
}

Test(conf, log_level_takes_the_five_names)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
	    {"error", LOG_ERR},     {"warning", LOG_WARNING},
	    {"notice", LOG_NOTICE}, {"info", LOG_INFO},
	    {"debug", LOG_DEBUG},
	};
	static const char *const bad[] = {"warn", "verbose", "DEBUG", "7",
	                                  NULL};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		struct conf *conf = parse_key("log-level", levels[i].name);

		cr_assert_eq(conf->log_level, levels[i].level);
		conf_free(conf);
	}
	assert_bad_values("log-level", bad);
}

Test(conf, tls_files_are_kept)
{
	struct conf *conf = parse_ok("tls-cert = /etc/turnpike/cert.pem\n"
	                             "tls-key = /etc/turnpike/key.pem\n"
	                             "tls-chain = /etc/turnpike/chain.pem\n");

	cr_assert_str_eq(conf->tls_cert, "/etc/turnpike/cert.pem");
	cr_assert_str_eq(conf->tls_key, "/etc/turnpike/key.pem");
	cr_assert_str_eq(conf->tls_chain, "/etc/turnpike/chain.pem");
	conf_free(conf);
}

Test(conf, tls_cert_and_key_come_together)
{
	assert_error("realm = a\ntls-cert = /c.pem\n",
	             "t.conf:2: tls-cert without tls-key");
	assert_error("tls-key = /k.pem\n",
	             "t.conf:1: tls-key without tls-cert");
	assert_error("tls-chain = /ch.pem\n",
	             "t.conf:1: tls-chain without tls-cert");
}

Test(conf, tls_and_stream_keys)
{
	struct conf *conf =
	    parse_ok("tls-min-version = 1.3\n"
	             "tls-ciphers = ECDHE+AESGCM:!aNULL\n"
	             "tls-ciphersuites = TLS_AES_128_GCM_SHA256\n"
	             "tls-handshake-timeout = 1m\n"
	             "stream-auth-timeout = 5\n"
	             "stream-max-pending = 10\n"
	             "stream-max-pending-per-source = 2\n"
	             "stream-buffer = 64KiB\n"
	             "stream-write-timeout = 2m\n");

	cr_assert_eq(conf->tls_min_version, 13);
	cr_assert_str_eq(conf->tls_ciphers, "ECDHE+AESGCM:!aNULL");
	cr_assert_str_eq(conf->tls_ciphersuites, "TLS_AES_128_GCM_SHA256");
	cr_assert_eq(conf->tls_handshake_timeout, 60);
	cr_assert_eq(conf->stream_auth_timeout, 5);
	cr_assert_eq(conf->stream_max_pending, 10);
	cr_assert_eq(conf->stream_max_pending_per_source, 2);
	cr_assert_eq(conf->stream_buffer, 64 * 1024);
	cr_assert_eq(conf->stream_write_timeout, 120);
	conf_free(conf);
}

Test(conf, tls_and_stream_values_out_of_range_are_refused)
{
	/* RFC 8996: nothing older than TLS 1.2. */
	assert_bad("tls-min-version", "1.1");
	assert_bad("tls-min-version", "tls1.2");
	assert_bad("tls-ciphers", "HIGH MEDIUM");
	assert_bad("tls-handshake-timeout", "0");
	assert_bad("tls-handshake-timeout", "301");
	assert_bad("stream-auth-timeout", "2h");
	assert_bad("stream-max-pending", "0");
	assert_bad("stream-max-pending-per-source", "65536");
	/* 0 would mean "no bound", and a bound below a few messages none. */
	assert_bad("stream-buffer", "0");
	assert_bad("stream-buffer", "8KiB");
	assert_bad("stream-buffer", "128MiB");
	assert_bad("stream-write-timeout", "0");
}
