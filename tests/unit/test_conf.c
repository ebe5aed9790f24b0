/*
 * conf: turnpike.conf(5), key by key, and the file:line messages.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>

#include "turnpike/conf.h"

static char err[1024];

static struct conf *parse_ok(const char *text)
{
	struct conf *conf = NULL;
	int rc = conf_parse("t.conf", text, &conf, err, sizeof(err));

	cr_assert_eq(rc, 0, "\"%s\" refused: %s", text, err);
	cr_assert_not_null(conf);
	return conf;
}

/* One key = value line that must parse. */
static struct conf *parse_key(const char *key, const char *value)
{
	char text[1024];

	snprintf(text, sizeof(text), "%s = %s\n", key, value);
	return parse_ok(text);
}

static void assert_error(const char *text, const char *expected)
{
	struct conf *conf = NULL;
	int rc = conf_parse("t.conf", text, &conf, err, sizeof(err));

	cr_assert_eq(rc, EINVAL, "\"%s\" accepted (rc %d)", text, rc);
	cr_assert_null(conf);
	cr_assert_str_eq(err, expected);
}

/* key = value is refused with one line "t.conf:1: key ...". */
static void assert_bad(const char *key, const char *value)
{
	struct conf *conf = NULL;
	char text[1024], prefix[128];
	int rc;

	snprintf(text, sizeof(text), "%s = %s\n", key, value);
	snprintf(prefix, sizeof(prefix), "t.conf:1: %s", key);
	rc = conf_parse("t.conf", text, &conf, err, sizeof(err));
	cr_assert_eq(rc, EINVAL, "%s = %s accepted", key, value);
	cr_assert_null(conf);
	cr_assert(strncmp(err, prefix, strlen(prefix)) == 0,
	          "%s = %s: message \"%s\"", key, value, err);
	cr_assert_null(strchr(err, '\n'));
}

static void assert_bad_values(const char *key, const char *const *values)
{
	for (; *values != NULL; values++)
		assert_bad(key, *values);
}

static uint16_t port_of(const struct sockaddr_storage *addr)
{
	if (addr->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
	return ntohs(((const struct sockaddr_in *)addr)->sin_port);
}

static const char *ip_of(const struct sockaddr_storage *addr, char *buf,
                         size_t size)
{
	const void *ip =
	    addr->ss_family == AF_INET6
	        ? (const void *)&((const struct sockaddr_in6 *)addr)->sin6_addr
	        : (const void *)&((const struct sockaddr_in *)addr)->sin_addr;

	return inet_ntop(addr->ss_family, ip, buf, size);
}

static void assert_address(const struct sockaddr_storage *addr, const char *ip,
                           uint16_t port)
{
	char buf[INET6_ADDRSTRLEN];

	cr_assert_str_eq(ip_of(addr, buf, sizeof(buf)), ip);
	cr_assert_eq(port_of(addr), port);
}

static void assert_cidr(const struct conf_cidr *cidr, const char *ip,
                        unsigned prefix_len)
{
	char buf[INET6_ADDRSTRLEN];

	cr_assert_str_eq(inet_ntop(cidr->family, cidr->addr, buf, sizeof(buf)),
	                 ip);
	cr_assert_eq(cidr->prefix_len, prefix_len);
}

static void digest(const EVP_MD *md, const char *text, uint8_t *out)
{
	cr_assert_eq(EVP_Digest(text, strlen(text), out, NULL, md, NULL), 1);
}

/* --- Defaults ---------------------------------------------------------- */

Test(conf, empty_file_gives_documented_defaults)
{
	struct conf *conf = parse_ok("");

	cr_assert_eq(conf->listen_count, 1);
	cr_assert_eq(conf->listens[0].transport, CONF_TRANSPORT_UDP);
	cr_assert_eq(conf->listens[0].addr_len, sizeof(struct sockaddr_in));
	assert_address(&conf->listens[0].addr, "0.0.0.0", 3478);
	cr_assert(!conf->has_relay_v4 && !conf->has_relay_v6);
	cr_assert(!conf->has_external_v4 && !conf->has_external_v6);
	cr_assert_eq(conf->relay_port_min, 49152);
	cr_assert_eq(conf->relay_port_max, 65535);
	cr_assert_str_eq(conf->realm, "turnpike");
	cr_assert_str_eq(conf->software, "turnpike/" PACKAGE_VERSION);
	cr_assert_eq(conf->workers, 0);
	cr_assert_eq(conf->user_count, 0);
	cr_assert_eq(conf->auth_secret_count, 0);
	cr_assert_eq(conf->nonce_lifetime, 600);
	cr_assert_eq(conf->user_quota, 0);
	cr_assert_eq(conf->total_quota, 0);
	cr_assert_eq(conf->allow_peer_count + conf->deny_peer_count, 0);
	cr_assert_eq(conf->default_lifetime, 600);
	cr_assert_eq(conf->max_lifetime, 3600);
	cr_assert_eq(conf->drain_timeout, 3600);
	cr_assert_str_eq(conf->state_dir, LOCALSTATEDIR "/lib/turnpike");
	cr_assert_str_eq(conf->pid_file, RUNSTATEDIR "/turnpike/turnpiked.pid");
	cr_assert_null(conf->run_user);
	cr_assert_eq(conf->log_target, CONF_LOG_SYSLOG);
	cr_assert_null(conf->log_file);
	cr_assert_eq(conf->log_level, LOG_INFO);
	cr_assert_null(conf->tls_cert);
	cr_assert_null(conf->tls_key);
	cr_assert_null(conf->tls_chain);
	cr_assert_null(conf->tls_ciphers);
	cr_assert_null(conf->tls_ciphersuites);
	cr_assert_eq(conf->tls_min_version, 12);
	cr_assert_eq(conf->tls_handshake_timeout, 10);
	cr_assert_eq(conf->stream_auth_timeout, 30);
	cr_assert_eq(conf->stream_max_pending, 1024);
	cr_assert_eq(conf->stream_max_pending_per_source, 32);
	cr_assert_eq(conf->stream_buffer, 256 * 1024);
	cr_assert_eq(conf->stream_write_timeout, 30);
	cr_assert_eq(conf->allocation_rate.bytes_per_second, 0);
	cr_assert_eq(conf->user_rate.packets_per_second, 0);
	cr_assert_eq(conf->total_rate.bytes_per_second, 0);
	cr_assert_eq(conf->allocation_rate.burst_ns, CONF_DEFAULT_BURST_NS);
	cr_assert_eq(conf->total_rate.burst_bytes, 0);
	cr_assert_eq(conf->rate_policy, CONF_RATE_PACE);
	cr_assert_eq(conf->max_delay_ns, 50000000);
	cr_assert_eq(conf->pace_slot_ns, 1000000);
	cr_assert_eq(conf->listener_rcvbuf, 4 * 1024 * 1024);
	cr_assert_eq(conf->listener_sndbuf, 4 * 1024 * 1024);
	cr_assert_eq(conf->allocation_rcvbuf, 256 * 1024);
	cr_assert_eq(conf->allocation_sndbuf, 256 * 1024);
	cr_assert_str_eq(conf->path, "t.conf");
	conf_free(conf);
}

Test(conf, example_of_design_section_6_parses)
{
	struct conf *conf =
	    parse_ok("listen = udp://0.0.0.0:3478        # repeatable\n"
	             "relay-address = 192.0.2.10         # one per family\n"
	             "external-address = 198.51.100.7    # behind 1:1 NAT\n"
	             "relay-ports = 49152-65535\n"
	             "realm = example.org\n"
	             "workers = auto                     # or a number\n"
	             "user = alice:password              # repeatable\n"
	             "auth-secret = s3cr3t               # repeatable\n"
	             "user-quota = 10                    # 0 = unlimited\n"
	             "total-quota = 0\n"
	             "allow-peer = 10.0.0.0/8            # repeatable\n"
	             "default-lifetime = 600\n"
	             "max-lifetime = 3600\n"
	             "state-dir = /var/lib/turnpike      # LMDB environment\n"
	             "pid-file = /run/turnpike/turnpiked.pid\n"
	             "log = syslog                       # or stderr\n"
	             "log-level = info\n"
	             "allocation-rate = 2Mbit            # per allocation\n"
	             "user-rate = 10Mbit                 # per user\n"
	             "total-rate = 0                     # 0 = unlimited\n"
	             "rate-policy = pace                 # or drop\n"
	             "max-delay = 50ms\n");

	cr_assert_str_eq(conf->realm, "example.org");
	cr_assert_eq(conf->user_quota, 10);
	cr_assert_eq(conf->user_rate.bytes_per_second, 1250000);
	conf_free(conf);
}

Test(conf, example_of_the_man_page_parses)
{
	struct conf *conf = parse_ok(
	    "listen = udp://0.0.0.0:3478\n"
	    "listen = tcp://0.0.0.0:3478\n"
	    "listen = tls://0.0.0.0:443\n"
	    "tls-cert = /etc/turnpike/cert.pem\n"
	    "tls-key = /etc/turnpike/key.pem\n"
	    "\n"
	    "relay-address = 192.0.2.10\n"
	    "realm = example.org\n"
	    "user = alice:correct-horse-battery\n"
	    "auth-secret = 4f1a9c0e62d3b7a85e    # new\n"
	    "auth-secret = 0b7d2e91c4a6f3805d    # old, until its credentials "
	    "expire\n"
	    "user-quota = 10\n"
	    "\n"
	    "allocation-rate = 2Mbit\n"
	    "user-rate = 10Mbit\n"
	    "max-delay = 50ms\n"
	    "\n"
	    "user-name = turnpike\n"
	    "log-level = notice\n");

	cr_assert_eq(conf->listen_count, 3);
	cr_assert_eq(conf->auth_secret_count, 2);
	cr_assert_str_eq(conf->auth_secrets[1], "0b7d2e91c4a6f3805d");
	cr_assert_str_eq(conf->run_user, "turnpike");
	conf_free(conf);
}

/* --- Syntax and messages ----------------------------------------------- */

Test(conf, unknown_key_names_file_line_and_suggestion)
{
	assert_error("realm = a\n\nrelm = example.org\n",
	             "t.conf:3: unknown key 'relm' (did you mean 'realm'?)");
}

Test(conf, unknown_key_two_edits_away_is_still_suggested)
{
	assert_error("relay-prts = 1-2\n",
	             "t.conf:1: unknown key 'relay-prts' (did you mean "
	             "'relay-ports'?)");
	assert_error("max_dely = 1ms\n",
	             "t.conf:1: unknown key 'max_dely' (did you mean "
	             "'max-delay'?)");
}

Test(conf, swapped_letters_count_as_one_edit)
{
	assert_error("raelm = a\n",
	             "t.conf:1: unknown key 'raelm' (did you mean 'realm'?)");
}

Test(conf, keys_are_case_sensitive)
{
	assert_error("Realm = a\n",
	             "t.conf:1: unknown key 'Realm' (did you mean 'realm'?)");
}

Test(conf, unknown_key_far_from_every_key_has_no_suggestion)
{
	assert_error("colour = blue\n", "t.conf:1: unknown key 'colour'");
}

Test(conf, coturn_key_names_suggest_ours)
{
	assert_error("static-auth-secret = x\n",
	             "t.conf:1: unknown key 'static-auth-secret' (did you mean "
	             "'auth-secret'?)");
	assert_error("min-port = 50000\n",
	             "t.conf:1: unknown key 'min-port' (did you mean "
	             "'relay-ports'?)");
}

Test(conf, line_without_equals_is_an_error)
{
	assert_error("# realm\nrealm example.org\n",
	             "t.conf:2: expected 'key = value'");
}

Test(conf, line_without_key_is_an_error)
{
	assert_error(" = value\n", "t.conf:1: missing key before '='");
}

Test(conf, key_without_value_is_an_error)
{
	assert_error("realm =\n", "t.conf:1: missing value for 'realm'");
	assert_error("realm = # only a comment\n",
	             "t.conf:1: missing value for 'realm'");
}

Test(conf, duplicate_key_names_both_lines)
{
	assert_error("realm = a\n# x\nrealm = b\n",
	             "t.conf:3: duplicate key 'realm' (first set on line 1)");
}

Test(conf, duplicate_key_is_an_error_even_with_the_same_value)
{
	assert_error("workers = 2\nworkers = 2\n",
	             "t.conf:2: duplicate key 'workers' (first set on line 1)");
}

Test(conf, value_error_names_key_value_and_expectation)
{
	assert_error("\nworkers = many\n",
	             "t.conf:2: workers 'many': expected auto or a number from "
	             "1 to 128");
}

Test(conf, comments_and_blank_lines_are_ignored)
{
	struct conf *conf = parse_ok("# a comment\n"
	                             "\n"
	                             "   \t\n"
	                             "   # an indented comment\n"
	                             "realm = example.org # after the value\n"
	                             "workers = 3\t# after a tab\n");

	cr_assert_str_eq(conf->realm, "example.org");
	cr_assert_eq(conf->workers, 3);
	conf_free(conf);
}

Test(conf, hash_without_blank_before_it_belongs_to_the_value)
{
	struct conf *conf = parse_ok("realm = example#org\n");

	cr_assert_str_eq(conf->realm, "example#org");
	conf_free(conf);
}

Test(conf, blanks_around_key_and_value_are_trimmed)
{
	struct conf *conf = parse_ok("  \trealm\t=\t my realm  \t\n");

	cr_assert_str_eq(conf->realm, "my realm");
	conf_free(conf);
}

Test(conf, crlf_line_endings_are_accepted)
{
	struct conf *conf = parse_ok("realm = a\r\nworkers = 2\r\n");

	cr_assert_str_eq(conf->realm, "a");
	cr_assert_eq(conf->workers, 2);
	conf_free(conf);
}

Test(conf, byte_order_mark_is_skipped)
{
	struct conf *conf = parse_ok("\xef\xbb\xbfrealm = a\n");

	cr_assert_str_eq(conf->realm, "a");
	conf_free(conf);
}

Test(conf, last_line_needs_no_newline)
{
	struct conf *conf = parse_ok("realm = a\nworkers = 2");

	cr_assert_eq(conf->workers, 2);
	conf_free(conf);
	assert_error("realm = a\nworkers = x",
	             "t.conf:2: workers 'x': expected auto or a number from 1 "
	             "to 128");
}

Test(conf, message_shows_control_characters_as_question_marks)
{
	assert_error("realm = a\rb\n",
	             "t.conf:1: realm 'a?b': expected 1 to 127 characters of "
	             "UTF-8 text");
}

Test(conf, message_shortens_long_values)
{
	char text[400];

	memset(text, 'x', sizeof(text));
	memcpy(text, "workers = ", 10);
	text[sizeof(text) - 1] = '\0';
	assert_bad("workers", text + 10);
	cr_assert(strstr(err, "...") != NULL);
	cr_assert(strlen(err) < 200);
}

Test(conf, error_leaves_out_untouched)
{
	struct conf *conf = (struct conf *)&err;

	cr_assert_eq(conf_parse("t.conf", "bad", &conf, err, sizeof(err)),
	             EINVAL);
	cr_assert_eq(conf, (struct conf *)&err);
}

Test(conf, error_fits_a_small_buffer)
{
	struct conf *conf = NULL;
	char small[12];

	cr_assert_eq(
	    conf_parse("t.conf", "relm = x", &conf, small, sizeof(small)),
	    EINVAL);
	cr_assert_str_eq(small, "t.conf:1: u");
	cr_assert_eq(conf_parse("t.conf", "relm = x", &conf, NULL, 0), EINVAL);
}

/* --- conf_load ---------------------------------------------------------- */

static char *temp_file(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_conf.XXXXXX");
	fd = mkstemp(path);
	cr_assert_neq(fd, -1);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

Test(conf, conf_load_reads_a_file)
{
	char *path = temp_file("realm = example.org\nuser = a:b\n");
	struct conf *conf = NULL;

	cr_assert_eq(conf_load(path, &conf, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(conf->realm, "example.org");
	cr_assert_str_eq(conf->path, path);
	cr_assert_eq(conf->user_count, 1);
	conf_free(conf);
	unlink(path);
}

Test(conf, conf_load_of_a_missing_file_says_file_and_strerror)
{
	struct conf *conf = NULL;

	cr_assert_eq(
	    conf_load("/nonexistent/turnpike.conf", &conf, err, sizeof(err)),
	    ENOENT);
	cr_assert_null(conf);
	cr_assert_str_eq(err, "/nonexistent/turnpike.conf: No such file or "
	                      "directory");
}

Test(conf, conf_load_of_a_directory_fails_with_its_errno)
{
	struct conf *conf = NULL;

	cr_assert_eq(conf_load("/tmp", &conf, err, sizeof(err)), EISDIR);
	cr_assert_str_eq(err, "/tmp: Is a directory");
}

Test(conf, conf_load_names_the_file_and_line_in_errors)
{
	char *path = temp_file("realm = a\n\nrelm = b\n");
	struct conf *conf = NULL;
	char expected[256];

	cr_assert_eq(conf_load(path, &conf, err, sizeof(err)), EINVAL);
	snprintf(expected, sizeof(expected),
	         "%s:3: unknown key 'relm' (did you mean 'realm'?)", path);
	cr_assert_str_eq(err, expected);
	unlink(path);
}

Test(conf, conf_load_refuses_a_nul_byte)
{
	char path[] = "/tmp/test_conf.XXXXXX";
	struct conf *conf = NULL;
	char expected[256];
	int fd = mkstemp(path);

	cr_assert_eq(write(fd, "realm = a\nwor\0kers = 2\n", 23), 23);
	close(fd);
	cr_assert_eq(conf_load(path, &conf, err, sizeof(err)), EINVAL);
	snprintf(expected, sizeof(expected), "%s:2: NUL byte in the file",
	         path);
	cr_assert_str_eq(err, expected);
	unlink(path);
}

/* --- listen ------------------------------------------------------------- */

Test(conf, listen_udp_ipv4_with_port)
{
	struct conf *conf = parse_key("listen", "udp://192.0.2.1:4000");

	cr_assert_eq(conf->listen_count, 1);
	cr_assert_eq(conf->listens[0].transport, CONF_TRANSPORT_UDP);
	assert_address(&conf->listens[0].addr, "192.0.2.1", 4000);
	conf_free(conf);
}

Test(conf, listen_ipv6_needs_brackets)
{
	struct conf *conf = parse_key("listen", "udp://[::1]:3478");

	cr_assert_eq(conf->listens[0].addr.ss_family, AF_INET6);
	cr_assert_eq(conf->listens[0].addr_len, sizeof(struct sockaddr_in6));
	assert_address(&conf->listens[0].addr, "::1", 3478);
	conf_free(conf);
	assert_bad("listen", "udp://::1");
	assert_bad("listen", "udp://::1:3478");
}

Test(conf, listen_default_port_is_3478_and_5349_for_tls)
{
	struct conf *conf = parse_ok("listen = udp://192.0.2.1\n"
	                             "listen = tcp://[2001:db8::1]\n"
	                             "listen = tls://0.0.0.0\n"
	                             "tls-cert = /etc/c.pem\n"
	                             "tls-key = /etc/k.pem\n");

	cr_assert_eq(conf->listen_count, 3);
	assert_address(&conf->listens[0].addr, "192.0.2.1", 3478);
	cr_assert_eq(conf->listens[1].transport, CONF_TRANSPORT_TCP);
	assert_address(&conf->listens[1].addr, "2001:db8::1", 3478);
	cr_assert_eq(conf->listens[2].transport, CONF_TRANSPORT_TLS);
	assert_address(&conf->listens[2].addr, "0.0.0.0", 5349);
	conf_free(conf);
}

Test(conf, listen_replaces_the_default)
{
	struct conf *conf = parse_key("listen", "tcp://127.0.0.1:5000");

	cr_assert_eq(conf->listen_count, 1);
	cr_assert_eq(conf->listens[0].transport, CONF_TRANSPORT_TCP);
	conf_free(conf);
}

Test(conf, listen_rejects_what_is_not_scheme_address_port)
{
	static const char *const bad[] = {
	    "udp:/1.2.3.4",
	    "http://1.2.3.4",
	    "UDP://1.2.3.4",
	    "udp://",
	    "udp://[::1",
	    "udp://[::1]x",
	    "udp://[::1]:",
	    "udp://1.2.3.4:",
	    "udp://1.2.3.4:0",
	    "udp://1.2.3.4:65536",
	    "udp://1.2.3.4:x",
	    "udp://host:3478",
	    "udp://[1.2.3.4]:5",
	    "udp://1.2.3:5",
	    "1.2.3.4:3478",
	    "udp://1.2.3.4:+5",
	    NULL,
	};

	assert_bad_values("listen", bad);
}

Test(conf, listen_twice_on_the_same_socket_is_an_error)
{
	assert_error("listen = udp://192.0.2.1\n"
	             "listen = udp://192.0.2.1:3478\n",
	             "t.conf:2: listen 'udp://192.0.2.1:3478': the same socket "
	             "as on line 1");
	/* TLS runs over TCP: one port cannot take both. */
	assert_error("listen = tcp://192.0.2.1:443\n"
	             "listen = tls://192.0.2.1:443\n",
	             "t.conf:2: listen 'tls://192.0.2.1:443': the same socket "
	             "as on line 1");
}

Test(conf, listen_udp_and_tcp_may_share_a_port)
{
	struct conf *conf = parse_ok("listen = udp://192.0.2.1\n"
	                             "listen = tcp://192.0.2.1\n");

	cr_assert_eq(conf->listen_count, 2);
	conf_free(conf);
}

Test(conf, listen_tls_needs_tls_cert_and_tls_key)
{
	assert_error("realm = a\nlisten = tls://0.0.0.0\n",
	             "t.conf:2: listen: a tls:// listener needs tls-cert and "
	             "tls-key");
	assert_error("listen = tls://0.0.0.0\ntls-cert = /c.pem\n",
	             "t.conf:1: listen: a tls:// listener needs tls-cert and "
	             "tls-key");
}

/* --- relay-address, external-address, relay-ports ---------------------- */

Test(conf, relay_address_takes_one_address_per_family)
{
	struct conf *conf = parse_ok("relay-address = 192.0.2.10\n"
	                             "relay-address = 2001:db8::10\n");

	cr_assert(conf->has_relay_v4 && conf->has_relay_v6);
	assert_address(&conf->relay_v4, "192.0.2.10", 0);
	assert_address(&conf->relay_v6, "2001:db8::10", 0);
	conf_free(conf);
	conf = parse_key("relay-address", "[2001:db8::11]");
	cr_assert(!conf->has_relay_v4 && conf->has_relay_v6);
	conf_free(conf);
}

Test(conf, relay_address_second_of_a_family_is_an_error)
{
	assert_error("relay-address = 192.0.2.10\n"
	             "relay-address = 192.0.2.11\n",
	             "t.conf:2: relay-address '192.0.2.11': a second IPv4 "
	             "address (the first is on line 1); give one per family");
}

Test(conf, relay_address_must_be_unicast)
{
	static const char *const bad[] = {
	    "0.0.0.0",     "::",         "224.0.0.1", "ff02::1", "1.2.3.4:5",
	    "example.org", "10.0.0.0/8", "[1.2.3.4]", "1.2.3",   NULL,
	};

	assert_bad_values("relay-address", bad);
}

Test(conf, external_address_takes_one_address_per_family)
{
	struct conf *conf = parse_ok("relay-address = 10.0.0.7\n"
	                             "relay-address = fd00::7\n"
	                             "external-address = 198.51.100.7\n"
	                             "external-address = 2001:db8::7\n");

	cr_assert(conf->has_external_v4 && conf->has_external_v6);
	assert_address(&conf->external_v4, "198.51.100.7", 0);
	assert_address(&conf->external_v6, "2001:db8::7", 0);
	conf_free(conf);
	assert_error("external-address = 2001:db8::7\n"
	             "external-address = 2001:db8::8\n",
	             "t.conf:2: external-address '2001:db8::8': a second IPv6 "
	             "address (the first is on line 1); give one per family");
	assert_bad("external-address", "0.0.0.0");
}

Test(conf, external_address_needs_a_relay_address_of_its_family)
{
	assert_error("relay-address = 10.0.0.7\n"
	             "external-address = 198.51.100.7\n"
	             "external-address = 2001:db8::7\n",
	             "t.conf:3: external-address: no IPv6 relay-address for it "
	             "to stand for");
	assert_error("external-address = 198.51.100.7\n",
	             "t.conf:1: external-address: no IPv4 relay-address for it "
	             "to stand for");
}

Test(conf, relay_ports_is_min_dash_max)
{
	struct conf *conf = parse_key("relay-ports", "1024-65535");

	cr_assert_eq(conf->relay_port_min, 1024);
	cr_assert_eq(conf->relay_port_max, 65535);
	conf_free(conf);
	conf = parse_key("relay-ports", "50000 - 50000");
	cr_assert_eq(conf->relay_port_min, 50000);
	cr_assert_eq(conf->relay_port_max, 50000);
	conf_free(conf);
}

Test(conf, relay_ports_rejects_privileged_reversed_and_malformed)
{
	static const char *const bad[] = {
	    "80-90",      "1023-2000",  "5000-4000", "5000",
	    "5000-70000", "a-b",        "-5000",     "5000-",
	    "0-0",        "1024-65536", "1e3-2e3",   "50000-60000-65000",
	    NULL,
	};

	assert_bad_values("relay-ports", bad);
}

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

	cr_assert_eq(conf_parse("t.conf", "user = hunter2secret\n", &conf, err,
	                        sizeof(err)),
	             EINVAL);
	cr_assert_null(strstr(err, "hunter2"));
	cr_assert_eq(conf_parse("t.conf", "user = a\x01:hunter2\n", &conf, err,
	                        sizeof(err)),
	             EINVAL);
	cr_assert_null(strstr(err, "hunter2"));
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

/* --- rates -------------------------------------------------------------- */

static uint64_t rate_of(const char *value)
{
	struct conf *conf = parse_key("allocation-rate", value);
	uint64_t rate = conf->allocation_rate.bytes_per_second;

	conf_free(conf);
	return rate;
}

Test(conf, rate_bits_are_stored_as_bytes_per_second)
{
	cr_assert_eq(rate_of("2Mbit"), 250000);
	cr_assert_eq(rate_of("1Gbit"), 125000000);
	cr_assert_eq(rate_of("1kbit"), 125);
	cr_assert_eq(rate_of("100Gbit"), 12500000000ULL);
	cr_assert_eq(rate_of("1.5Mbit"), 187500);
	cr_assert_eq(rate_of("2 Mbit"), 250000);
	cr_assert_eq(rate_of("2Mbps"), 250000);
	cr_assert_eq(rate_of("2Mbit/s"), 250000);
	cr_assert_eq(rate_of("8000bit"), 1000);
}

Test(conf, rate_in_bits_not_divisible_by_8_is_rounded_down)
{
	cr_assert_eq(rate_of("1001bit"), 125);
	cr_assert_eq(rate_of("1.000001Mbit"), 125000);
}

Test(conf, rate_bytes_are_decimal)
{
	cr_assert_eq(rate_of("10kB"), 10000);
	cr_assert_eq(rate_of("12.5MB"), 12500000);
	cr_assert_eq(rate_of("1GB/s"), 1000000000);
	cr_assert_eq(rate_of("125B"), 125);
}

Test(conf, rate_0_is_unlimited)
{
	cr_assert_eq(rate_of("0"), 0);
	cr_assert_eq(rate_of("0Mbit"), 0);
}

Test(conf, rate_with_a_fraction_of_a_byte_is_refused)
{
	assert_error("allocation-rate = 1000.5B\n",
	             "t.conf:1: allocation-rate '1000.5B': not a whole number "
	             "of bytes per second");
}

Test(conf, rate_rejects_missing_units_range_and_overflow)
{
	static const char *const bad[] = {
	    "2",
	    "2Mb",
	    "2 Mbits",
	    "2mbit",
	    "101Gbit",
	    "999bit",
	    "7bit",
	    "124B",
	    "-1Mbit",
	    "1e6bit",
	    "99999999999999999999Gbit",
	    "18446744073709551615Gbit",
	    "1.0000000001Gbit",
	    "Mbit",
	    ".5Mbit",
	    "1.Mbit",
	    "1KiB",
	    NULL,
	};

	assert_bad_values("allocation-rate", bad);
	assert_bad_values("user-rate", bad);
	assert_bad_values("total-rate", bad);
}

Test(conf, rate_levels_are_separate)
{
	struct conf *conf = parse_ok("allocation-rate = 2Mbit\n"
	                             "user-rate = 10Mbit\n"
	                             "total-rate = 1Gbit\n"
	                             "allocation-pps = 500\n"
	                             "user-pps = 2000\n"
	                             "total-pps = 300000\n");

	cr_assert_eq(conf->allocation_rate.bytes_per_second, 250000);
	cr_assert_eq(conf->user_rate.bytes_per_second, 1250000);
	cr_assert_eq(conf->total_rate.bytes_per_second, 125000000);
	cr_assert_eq(conf->allocation_rate.packets_per_second, 500);
	cr_assert_eq(conf->user_rate.packets_per_second, 2000);
	cr_assert_eq(conf->total_rate.packets_per_second, 300000);
	conf_free(conf);
}

/* Every key of the three levels parses into its own level and rejects
 * what its setter rejects (the keys come from one table macro, so a slip
 * there would show here, not in the level-specific tests). */
Test(conf, every_rate_key_of_every_level_parses_and_rejects)
{
	static const char *const levels[] = {"allocation", "user", "total"};
	static const char *const bad_rate[] = {"2M", "1bit", "200Gbit", NULL};
	static const char *const bad_pps[] = {"1.5", "-1", NULL};
	static const char *const bad_burst[] = {"20", "2s", "0ms", NULL};
	char key[32], text[256];

	for (size_t i = 0; i < 3; i++) {
		struct conf *conf;
		const struct conf_rate *rates[3];

		snprintf(text, sizeof(text),
		         "%s-rate = 8Mbit\n%s-pps = 700\n%s-burst = 5ms\n",
		         levels[i], levels[i], levels[i]);
		conf = parse_ok(text);
		rates[0] = &conf->allocation_rate;
		rates[1] = &conf->user_rate;
		rates[2] = &conf->total_rate;
		for (size_t j = 0; j < 3; j++) {
			cr_assert_eq(rates[j]->bytes_per_second,
			             i == j ? 1000000 : 0, "%s", text);
			cr_assert_eq(rates[j]->packets_per_second,
			             i == j ? 700 : 0, "%s", text);
		}
		cr_assert_eq(rates[i]->burst_ns, 5000000);
		conf_free(conf);
		snprintf(key, sizeof(key), "%s-rate", levels[i]);
		assert_bad_values(key, bad_rate);
		snprintf(key, sizeof(key), "%s-pps", levels[i]);
		assert_bad_values(key, bad_pps);
		snprintf(key, sizeof(key), "%s-burst", levels[i]);
		assert_bad_values(key, bad_burst);
	}
}

/* RFC 8656 §12 narrowed the range; coturn's client still uses RFC 5766's. */
Test(conf, channel_numbers_is_rfc8656_or_rfc5766)
{
	static const char *const bad[] = {"5766", "RFC5766", "rfc3489", NULL};
	struct conf *conf = parse_ok("");

	cr_assert(!conf->rfc5766_channels, "rfc8656 is the default");
	conf_free(conf);
	conf = parse_key("channel-numbers", "rfc5766");
	cr_assert(conf->rfc5766_channels);
	conf_free(conf);
	conf = parse_key("channel-numbers", "rfc8656");
	cr_assert(!conf->rfc5766_channels);
	conf_free(conf);
	assert_bad_values("channel-numbers", bad);
}

Test(conf, pps_is_a_plain_integer)
{
	static const char *const bad[] = {
	    "1.5", "10k", "1000000001", "-1", "100pps", NULL,
	};
	struct conf *conf = parse_key("user-pps", "0");

	cr_assert_eq(conf->user_rate.packets_per_second, 0);
	conf_free(conf);
	conf = parse_key("total-pps", "1000000000");
	cr_assert_eq(conf->total_rate.packets_per_second, 1000000000);
	conf_free(conf);
	assert_bad_values("allocation-pps", bad);
	assert_bad_values("user-pps", bad);
	assert_bad_values("total-pps", bad);
}

Test(conf, burst_as_a_time)
{
	struct conf *conf = parse_ok("allocation-burst = 20ms\n"
	                             "user-burst = 1s\n"
	                             "total-burst = 500us\n");

	cr_assert_eq(conf->allocation_rate.burst_ns, 20000000);
	cr_assert_eq(conf->allocation_rate.burst_bytes, 0);
	cr_assert_eq(conf->user_rate.burst_ns, 1000000000);
	cr_assert_eq(conf->total_rate.burst_ns, 500000);
	conf_free(conf);
}

Test(conf, burst_as_a_size_also_gives_its_time_at_the_rate)
{
	struct conf *conf = parse_ok("allocation-rate = 2Mbit\n"
	                             "allocation-burst = 25kB\n"
	                             "user-rate = 1MB\n"
	                             "user-burst = 64KiB\n");

	cr_assert_eq(conf->allocation_rate.burst_bytes, 25000);
	cr_assert_eq(conf->allocation_rate.burst_ns, 100000000);
	cr_assert_eq(conf->user_rate.burst_bytes, 65536);
	cr_assert_eq(conf->user_rate.burst_ns, 65536000);
	conf_free(conf);
}

Test(conf, burst_size_above_one_second_of_rate_is_an_error)
{
	assert_error(
	    "allocation-rate = 1Mbit\nallocation-burst = 200kB\n",
	    "t.conf:2: allocation-burst: 200000 bytes is more than one "
	    "second of allocation-rate (125000 bytes)");
}

Test(conf, burst_size_needs_a_byte_rate_when_packets_are_limited)
{
	assert_error(
	    "user-pps = 1000\nuser-burst = 64kB\n",
	    "t.conf:2: user-burst: a size needs user-rate; give a time "
	    "to bound user-pps");
}

Test(conf, burst_rejects_bare_numbers_and_out_of_range)
{
	static const char *const bad[] = {
	    "64",         "0ms",  "0B",   "1001ms", "2s", "1m",
	    "20 parsecs", "13GB", "-1ms", "1.5B",   NULL,
	};

	assert_bad_values("allocation-burst", bad);
	assert_bad_values("user-burst", bad);
	assert_bad_values("total-burst", bad);
}

Test(conf, rate_policy_is_pace_or_drop)
{
	struct conf *conf = parse_key("rate-policy", "drop");

	cr_assert_eq(conf->rate_policy, CONF_RATE_DROP);
	conf_free(conf);
	conf = parse_key("rate-policy", "pace");
	cr_assert_eq(conf->rate_policy, CONF_RATE_PACE);
	conf_free(conf);
	assert_bad("rate-policy", "delay");
	assert_bad("rate-policy", "Pace");
}

/* --- times -------------------------------------------------------------- */

static uint64_t max_delay_of(const char *value)
{
	struct conf *conf = parse_key("max-delay", value);
	uint64_t ns = conf->max_delay_ns;

	conf_free(conf);
	return ns;
}

Test(conf, max_delay_takes_ns_us_ms_s)
{
	cr_assert_eq(max_delay_of("50ms"), 50000000);
	cr_assert_eq(max_delay_of("250us"), 250000);
	cr_assert_eq(max_delay_of("1500ns"), 1500);
	cr_assert_eq(max_delay_of("1s"), 1000000000);
	cr_assert_eq(max_delay_of("0.5s"), 500000000);
	cr_assert_eq(max_delay_of("0"), 0);
}

Test(conf, max_delay_is_at_most_one_second_with_a_unit)
{
	static const char *const bad[] = {
	    "2s", "1001ms", "50", "1.5ns", "5 parsecs", "1m", "-1ms", NULL,
	};

	assert_bad_values("max-delay", bad);
}

Test(conf, pace_slot_is_1us_to_10ms_and_fits_max_delay)
{
	static const char *const bad[] = {"0", "500ns", "20ms", "100", NULL};
	struct conf *conf = parse_key("pace-slot", "100us");

	cr_assert_eq(conf->pace_slot_ns, 100000);
	conf_free(conf);
	assert_bad_values("pace-slot", bad);
	assert_error("pace-slot = 5ms\nmax-delay = 2ms\n",
	             "t.conf:1: pace-slot is longer than max-delay");
	assert_error("max-delay = 2ms\npace-slot = 5ms\n",
	             "t.conf:2: pace-slot is longer than max-delay");
}

Test(conf, default_pace_slot_shrinks_to_a_short_max_delay)
{
	struct conf *conf = parse_key("max-delay", "500us");

	cr_assert_eq(conf->pace_slot_ns, 500000);
	conf_free(conf);
	conf = parse_key("max-delay", "0");
	cr_assert_eq(conf->pace_slot_ns, 1000000);
	conf_free(conf);
}

/* --- socket buffers ------------------------------------------------------ */

Test(conf, buffers_take_binary_and_decimal_units)
{
	struct conf *conf = parse_ok("listener-rcvbuf = 4MiB\n"
	                             "listener-sndbuf = 8M\n"
	                             "allocation-rcvbuf = 256k\n"
	                             "allocation-sndbuf = 1MB\n");

	cr_assert_eq(conf->listener_rcvbuf, 4194304);
	cr_assert_eq(conf->listener_sndbuf, 8388608);
	cr_assert_eq(conf->allocation_rcvbuf, 262144);
	cr_assert_eq(conf->allocation_sndbuf, 1000000);
	conf_free(conf);
	conf =
	    parse_ok("listener-rcvbuf = 0\nallocation-sndbuf = 4096\n"
	             "allocation-rcvbuf = 64KiB\nlistener-sndbuf = 512MiB\n");
	cr_assert_eq(conf->listener_rcvbuf, 0);
	cr_assert_eq(conf->allocation_sndbuf, 4096);
	cr_assert_eq(conf->allocation_rcvbuf, 65536);
	cr_assert_eq(conf->listener_sndbuf, 512 * 1024 * 1024);
	conf_free(conf);
}

Test(conf, buffers_reject_bad_sizes)
{
	static const char *const bad[] = {
	    "1GiB", "100",  "4095",   "4Mbit", "1.5B",
	    "-1",   "lots", "4 MB/s", NULL,
	};

	assert_bad_values("listener-rcvbuf", bad);
	assert_bad_values("listener-sndbuf", bad);
	assert_bad_values("allocation-rcvbuf", bad);
	assert_bad_values("allocation-sndbuf", bad);
}

/* --- conf_free ---------------------------------------------------------- */

Test(conf, conf_free_of_null_is_a_no_op)
{
	conf_free(NULL);
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

Test(conf, allocation_queue_is_a_size_from_4k_to_64m)
{
	static const char *const bad[] = {"0", "1KiB", "65MiB", "abc", NULL};
	struct conf *conf = parse_key("allocation-queue", "64KiB");

	cr_assert_eq(conf->allocation_queue, 65536);
	conf_free(conf);
	conf = parse_key("realm", "x");
	cr_assert_eq(conf->allocation_queue, 256 * 1024, "the default");
	cr_assert_eq(conf->pace_buffers, 8192, "the default");
	conf_free(conf);
	assert_bad_values("allocation-queue", bad);
}

Test(conf, pace_buffers_is_16_to_a_million)
{
	static const char *const bad[] = {"0", "15", "1048577", "4k", NULL};
	struct conf *conf = parse_key("pace-buffers", "16384");

	cr_assert_eq(conf->pace_buffers, 16384);
	conf_free(conf);
	assert_bad_values("pace-buffers", bad);
}
