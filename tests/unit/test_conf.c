/*
 * conf: turnpike.conf(5), key by key, and the file:line messages.
 *
 * This file: the defaults, the syntax and its messages, conf_load() and
 * conf_free(), and the helpers the other files share (test_conf.h). The
 * keys themselves are in test_conf_listen.c, test_conf_keys.c and
 * test_conf_rates.c; the four files make one program.
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

#include "turnpike/conf.h"
#include "test_conf.h"

char conf_err[1024];

struct conf *parse_ok(const char *text)
{
	struct conf *conf = NULL;
	int rc = conf_parse("t.conf", text, &conf, conf_err, sizeof(conf_err));

	cr_assert_eq(rc, 0, "\"%s\" refused: %s", text, conf_err);
	cr_assert_not_null(conf);
	return conf;
}

/* One key = value line that must parse. */
struct conf *parse_key(const char *key, const char *value)
{
	char text[1024];

	snprintf(text, sizeof(text), "%s = %s\n", key, value);
	return parse_ok(text);
}

void assert_error(const char *text, const char *expected)
{
	struct conf *conf = NULL;
	int rc = conf_parse("t.conf", text, &conf, conf_err, sizeof(conf_err));

	cr_assert_eq(rc, EINVAL, "\"%s\" accepted (rc %d)", text, rc);
	cr_assert_null(conf);
	cr_assert_str_eq(conf_err, expected);
}

/* key = value is refused with one line "t.conf:1: key ...". */
void assert_bad(const char *key, const char *value)
{
	struct conf *conf = NULL;
	char text[1024], prefix[128];
	int rc;

	snprintf(text, sizeof(text), "%s = %s\n", key, value);
	snprintf(prefix, sizeof(prefix), "t.conf:1: %s", key);
	rc = conf_parse("t.conf", text, &conf, conf_err, sizeof(conf_err));
	cr_assert_eq(rc, EINVAL, "%s = %s accepted", key, value);
	cr_assert_null(conf);
	cr_assert(strncmp(conf_err, prefix, strlen(prefix)) == 0,
	          "%s = %s: message \"%s\"", key, value, conf_err);
	cr_assert_null(strchr(conf_err, '\n'));
}

void assert_bad_values(const char *key, const char *const *values)
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

void assert_address(const struct sockaddr_storage *addr, const char *ip,
                    uint16_t port)
{
	char buf[INET6_ADDRSTRLEN];

	cr_assert_str_eq(ip_of(addr, buf, sizeof(buf)), ip);
	cr_assert_eq(port_of(addr), port);
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
	cr_assert(strstr(conf_err, "...") != NULL);
	cr_assert(strlen(conf_err) < 200);
}

Test(conf, error_leaves_out_untouched)
{
	struct conf *conf = (struct conf *)&conf_err;

	cr_assert_eq(
	    conf_parse("t.conf", "bad", &conf, conf_err, sizeof(conf_err)),
	    EINVAL);
	cr_assert_eq(conf, (struct conf *)&conf_err);
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

	cr_assert_eq(conf_load(path, &conf, conf_err, sizeof(conf_err)), 0,
	             "%s", conf_err);
	cr_assert_str_eq(conf->realm, "example.org");
	cr_assert_str_eq(conf->path, path);
	cr_assert_eq(conf->user_count, 1);
	conf_free(conf);
	unlink(path);
}

Test(conf, conf_load_of_a_missing_file_says_file_and_strerror)
{
	struct conf *conf = NULL;

	cr_assert_eq(conf_load("/nonexistent/turnpike.conf", &conf, conf_err,
	                       sizeof(conf_err)),
	             ENOENT);
	cr_assert_null(conf);
	cr_assert_str_eq(conf_err,
	                 "/nonexistent/turnpike.conf: No such file or "
	                 "directory");
}

Test(conf, conf_load_of_a_directory_fails_with_its_errno)
{
	struct conf *conf = NULL;

	cr_assert_eq(conf_load("/tmp", &conf, conf_err, sizeof(conf_err)),
	             EISDIR);
	cr_assert_str_eq(conf_err, "/tmp: Is a directory");
}

Test(conf, conf_load_names_the_file_and_line_in_errors)
{
	char *path = temp_file("realm = a\n\nrelm = b\n");
	struct conf *conf = NULL;
	char expected[256];

	cr_assert_eq(conf_load(path, &conf, conf_err, sizeof(conf_err)),
	             EINVAL);
	snprintf(expected, sizeof(expected),
	         "%s:3: unknown key 'relm' (did you mean 'realm'?)", path);
	cr_assert_str_eq(conf_err, expected);
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
	cr_assert_eq(conf_load(path, &conf, conf_err, sizeof(conf_err)),
	             EINVAL);
	snprintf(expected, sizeof(expected), "%s:2: NUL byte in the file",
	         path);
	cr_assert_str_eq(conf_err, expected);
	unlink(path);
}

/* --- conf_free ---------------------------------------------------------- */

Test(conf, conf_free_of_null_is_a_no_op)
{
	conf_free(NULL);
}
