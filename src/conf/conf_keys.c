/*
 * The keys of turnpike.conf(5) and their setters. A setter parses one value
 * with conf_values.c, checks its range and stores it; checks that need the
 * whole file (realm after user, default-lifetime <= max-lifetime, ...) are
 * in conf.c.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "conf_private.h"
#include "turnpike/log.h"

#define NS_PER_SECOND 1000000000ULL
#define NS_PER_MS     1000000ULL
#define RATE_MIN      125ULL         /* 1 kbit/s */
#define RATE_MAX      12500000000ULL /* 100 Gbit/s */
#define BUFFER_MIN    4096
/* A larger socket buffer is a typo rather than a setting (and the kernel
 * stops at INT_MAX / 2). */
#define BUFFER_MAX (512 * 1024 * 1024)
/* RFC 8489 §14.9 and §14.14: fewer than 128 characters, 763 bytes. */
#define TEXT_CHARS_MAX 127
#define TEXT_BYTES_MAX 763
#define RUN_USER_MAX   32

#define FIELD(member) offsetof(struct conf, member)

static void *conf_field(struct conf_parser *parser, const struct conf_key *key)
{
	return (char *)parser->conf + key->offset;
}

static int bad(struct conf_parser *parser, const struct conf_key *key,
               const char *value)
{
	return conf_bad_value(parser, key, value, key->expected);
}

static int set_string(struct conf_parser *parser, char **slot,
                      const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return conf_nomem(parser);
	free(*slot);
	*slot = copy;
	return 0;
}

/* Paths are absolute: the daemon changes directory and reloads from
 * wherever it runs. */
static int set_path(struct conf_parser *parser, const struct conf_key *key,
                    const char *value)
{
	if (value[0] != '/')
		return bad(parser, key, value);
	return set_string(parser, conf_field(parser, key), value);
}

static int set_count(struct conf_parser *parser, const struct conf_key *key,
                     const char *value)
{
	uint64_t count;

	if (conf_value_uint(value, key->max, &count) != 0 || count < key->min)
		return bad(parser, key, value);
	*(uint32_t *)conf_field(parser, key) = count;
	return 0;
}

/* Whole seconds; a bare number is seconds. min and max are seconds. */
static int set_seconds(struct conf_parser *parser, const struct conf_key *key,
                       const char *value)
{
	uint64_t ns;

	if (conf_value_time(value, NS_PER_SECOND, &ns) != 0 ||
	    ns % NS_PER_SECOND != 0 || ns / NS_PER_SECOND < key->min ||
	    ns / NS_PER_SECOND > key->max)
		return bad(parser, key, value);
	*(uint32_t *)conf_field(parser, key) = ns / NS_PER_SECOND;
	return 0;
}

/* A time with a unit (only 0 may go without); min and max are ns. */
static int set_time(struct conf_parser *parser, const struct conf_key *key,
                    const char *value)
{
	uint64_t ns;

	if (conf_value_time(value, 0, &ns) != 0 || ns < key->min ||
	    ns > key->max)
		return bad(parser, key, value);
	*(uint64_t *)conf_field(parser, key) = ns;
	return 0;
}

static int set_rate(struct conf_parser *parser, const struct conf_key *key,
                    const char *value)
{
	struct conf_rate *rate = conf_field(parser, key);
	uint64_t bytes;
	int rc;

	rc = conf_value_rate(value, &bytes);
	if (rc == EDOM)
		return conf_bad_value(parser, key, value,
		                      "not a whole number of bytes per second");
	if (rc != 0 || (bytes != 0 && (bytes < key->min || bytes > key->max)))
		return bad(parser, key, value);
	rate->bytes_per_second = bytes;
	return 0;
}

static int set_pps(struct conf_parser *parser, const struct conf_key *key,
                   const char *value)
{
	struct conf_rate *rate = conf_field(parser, key);
	uint64_t packets;

	if (conf_value_uint(value, key->max, &packets) != 0)
		return bad(parser, key, value);
	rate->packets_per_second = packets;
	return 0;
}

/* A time says how long the bucket may run ahead at the rate; a size says
 * how many bytes. Either up to one second (DESIGN.md section 5). */
static int set_burst(struct conf_parser *parser, const struct conf_key *key,
                     const char *value)
{
	struct conf_rate *rate = conf_field(parser, key);
	uint64_t amount;

	/* A bare number could be read as bytes or as milliseconds. */
	if (value[strlen(value) - 1] >= '0' && value[strlen(value) - 1] <= '9')
		return bad(parser, key, value);
	if (conf_value_has_time_unit(value)) {
		if (conf_value_time(value, 0, &amount) != 0 || amount == 0 ||
		    amount > NS_PER_SECOND)
			return bad(parser, key, value);
		rate->burst_ns = amount;
		return 0;
	}
	if (conf_value_size(value, &amount) != 0 || amount == 0 ||
	    amount > RATE_MAX)
		return bad(parser, key, value);
	rate->burst_bytes = amount;
	return 0;
}

static int set_buffer(struct conf_parser *parser, const struct conf_key *key,
                      const char *value)
{
	uint64_t bytes;

	if (conf_value_size(value, &bytes) != 0 ||
	    (bytes != 0 && (bytes < key->min || bytes > key->max)))
		return bad(parser, key, value);
	*(int *)conf_field(parser, key) = bytes;
	return 0;
}

/* A size with a unit between key->min and key->max bytes (0 included
 * only when min is 0). */
static int parse_bounded_size(struct conf_parser *parser,
                              const struct conf_key *key, const char *value,
                              uint64_t *bytes)
{
	if (conf_value_size(value, bytes) != 0 || *bytes < key->min ||
	    *bytes > key->max)
		return bad(parser, key, value);
	return 0;
}

/* A size held in 64 bits. */
static int set_size(struct conf_parser *parser, const struct conf_key *key,
                    const char *value)
{
	uint64_t bytes;
	int rc = parse_bounded_size(parser, key, value, &bytes);

	if (rc != 0)
		return rc;
	*(uint64_t *)conf_field(parser, key) = bytes;
	return 0;
}

/* A bound in bytes held in an int (a socket option); 0 would mean "no
 * bound" and is refused by key->min. */
static int set_limit_size(struct conf_parser *parser,
                          const struct conf_key *key, const char *value)
{
	uint64_t bytes;
	int rc = parse_bounded_size(parser, key, value, &bytes);

	if (rc != 0)
		return rc;
	*(int *)conf_field(parser, key) = (int)bytes;
	return 0;
}

static bool listen_same_socket(const struct conf_listen *a,
                               const struct conf_listen *b)
{
	/* TCP and TLS listeners are both TCP sockets. */
	bool a_udp = a->transport == CONF_TRANSPORT_UDP;
	bool b_udp = b->transport == CONF_TRANSPORT_UDP;

	return a_udp == b_udp && a->addr_len == b->addr_len &&
	       memcmp(&a->addr, &b->addr, a->addr_len) == 0;
}

static int set_listen(struct conf_parser *parser, const struct conf_key *key,
                      const char *value)
{
	struct conf *conf = parser->conf;
	struct conf_listen listen;
	void *grown;

	if (conf_value_listen(value, &listen) != 0)
		return bad(parser, key, value);
	for (size_t i = 0; i < conf->listen_count; i++)
		if (listen_same_socket(&listen, &conf->listens[i]))
			return conf_error(parser, parser->line,
			                  "listen '%s': the same socket as on "
			                  "line %u",
			                  value, parser->listen_lines[i]);
	grown = conf_array_grow(parser->listen_lines, conf->listen_count,
	                        sizeof(*parser->listen_lines));
	if (grown == NULL)
		return conf_nomem(parser);
	parser->listen_lines = grown;
	grown = conf_array_grow(conf->listens, conf->listen_count,
	                        sizeof(*conf->listens));
	if (grown == NULL)
		return conf_nomem(parser);
	conf->listens = grown;
	parser->listen_lines[conf->listen_count] = parser->line;
	conf->listens[conf->listen_count++] = listen;
	return 0;
}

/* The relay address is sent to clients in XOR-RELAYED-ADDRESS, so it must
 * be an address a peer can reach: not :: or 0.0.0.0, not multicast. */
static bool ip_is_unicast(const struct sockaddr_storage *addr)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)addr;

	if (addr->ss_family == AF_INET)
		return sin->sin_addr.s_addr != htonl(INADDR_ANY) &&
		       !IN_MULTICAST(ntohl(sin->sin_addr.s_addr));
	return !IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr) &&
	       !IN6_IS_ADDR_MULTICAST(&sin6->sin6_addr);
}

struct family_slots {
	struct sockaddr_storage *v4, *v6;
	bool *has_v4, *has_v6;
	unsigned *line_v4, *line_v6;
};

static int set_family_address(struct conf_parser *parser,
                              const struct conf_key *key, const char *value,
                              const struct family_slots *slots)
{
	struct sockaddr_storage addr;
	socklen_t len;
	bool v4;

	if (conf_value_ip(value, &addr, &len) != 0 || !ip_is_unicast(&addr))
		return bad(parser, key, value);
	v4 = addr.ss_family == AF_INET;
	if (v4 ? *slots->has_v4 : *slots->has_v6)
		return conf_error(parser, parser->line,
		                  "%s '%s': a second %s address (the first is "
		                  "on line %u); give one per family",
		                  key->name, value, v4 ? "IPv4" : "IPv6",
		                  v4 ? *slots->line_v4 : *slots->line_v6);
	*(v4 ? slots->v4 : slots->v6) = addr;
	*(v4 ? slots->has_v4 : slots->has_v6) = true;
	*(v4 ? slots->line_v4 : slots->line_v6) = parser->line;
	return 0;
}

static int set_relay_address(struct conf_parser *parser,
                             const struct conf_key *key, const char *value)
{
	struct conf *conf = parser->conf;
	struct family_slots slots = {
	    &conf->relay_v4,     &conf->relay_v6,        &conf->has_relay_v4,
	    &conf->has_relay_v6, &parser->relay_line_v4, &parser->relay_line_v6,
	};

	return set_family_address(parser, key, value, &slots);
}

static int set_external_address(struct conf_parser *parser,
                                const struct conf_key *key, const char *value)
{
	struct conf *conf = parser->conf;
	struct family_slots slots = {
	    &conf->external_v4,        &conf->external_v6,
	    &conf->has_external_v4,    &conf->has_external_v6,
	    &parser->external_line_v4, &parser->external_line_v6,
	};

	return set_family_address(parser, key, value, &slots);
}

/* Blanks around the dash are allowed: "49152 - 65535". */
static int set_relay_ports(struct conf_parser *parser,
                           const struct conf_key *key, const char *value)
{
	const char *dash = strchr(value, '-');
	size_t len = dash != NULL ? (size_t)(dash - value) : 0;
	uint64_t min, max;
	char first[8];

	while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
		len--;
	if (dash == NULL || len >= sizeof(first))
		return bad(parser, key, value);
	memcpy(first, value, len);
	first[len] = '\0';
	if (conf_value_uint(first, UINT16_MAX, &min) != 0 ||
	    conf_value_uint(dash + 1 + strspn(dash + 1, " \t"), UINT16_MAX,
	                    &max) != 0 ||
	    min < key->min || min > max)
		return bad(parser, key, value);
	parser->conf->relay_port_min = min;
	parser->conf->relay_port_max = max;
	return 0;
}

/* realm and software: UTF-8 text of fewer than 128 characters. */
static int set_text(struct conf_parser *parser, const struct conf_key *key,
                    const char *value)
{
	if (conf_value_text(value, TEXT_CHARS_MAX, TEXT_BYTES_MAX) != 0)
		return bad(parser, key, value);
	return set_string(parser, conf_field(parser, key), value);
}

static int set_workers(struct conf_parser *parser, const struct conf_key *key,
                       const char *value)
{
	uint64_t workers;

	if (strcmp(value, "auto") == 0) {
		parser->conf->workers = 0;
		return 0;
	}
	if (conf_value_uint(value, key->max, &workers) != 0 ||
	    workers < key->min)
		return bad(parser, key, value);
	parser->conf->workers = workers;
	return 0;
}

static int peer_add(struct conf_parser *parser, const struct conf_key *key,
                    const char *value, struct conf_cidr **array, size_t *count)
{
	struct conf_cidr cidr;
	void *grown;

	if (conf_value_cidr(value, &cidr) != 0)
		return bad(parser, key, value);
	if ((grown = conf_array_grow(*array, *count, sizeof(**array))) == NULL)
		return conf_nomem(parser);
	*array = grown;
	(*array)[(*count)++] = cidr;
	return 0;
}

static int set_allow_peer(struct conf_parser *parser,
                          const struct conf_key *key, const char *value)
{
	return peer_add(parser, key, value, &parser->conf->allow_peers,
	                &parser->conf->allow_peer_count);
}

static int set_deny_peer(struct conf_parser *parser, const struct conf_key *key,
                         const char *value)
{
	return peer_add(parser, key, value, &parser->conf->deny_peers,
	                &parser->conf->deny_peer_count);
}

/* A portable account name (POSIX.1 §3.437); the daemon looks it up. */
static int set_run_user(struct conf_parser *parser, const struct conf_key *key,
                        const char *value)
{
	static const char portable[] = "abcdefghijklmnopqrstuvwxyz"
	                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                               "0123456789._-";
	size_t len = strlen(value);

	if (len > RUN_USER_MAX || strspn(value, portable) != len ||
	    value[0] == '-')
		return bad(parser, key, value);
	return set_string(parser, &parser->conf->run_user, value);
}

static int set_log(struct conf_parser *parser, const struct conf_key *key,
                   const char *value)
{
	struct conf *conf = parser->conf;

	if (strcmp(value, "syslog") == 0) {
		conf->log_target = CONF_LOG_SYSLOG;
		return 0;
	}
	if (strcmp(value, "stderr") == 0) {
		conf->log_target = CONF_LOG_STDERR;
		return 0;
	}
	if (value[0] != '/')
		return bad(parser, key, value);
	conf->log_target = CONF_LOG_FILE;
	return set_string(parser, &conf->log_file, value);
}

static int set_log_level(struct conf_parser *parser, const struct conf_key *key,
                         const char *value)
{
	int level = log_level_parse(value);

	if (level < 0)
		return bad(parser, key, value);
	parser->conf->log_level = level;
	return 0;
}

static int set_rate_policy(struct conf_parser *parser,
                           const struct conf_key *key, const char *value)
{
	if (strcmp(value, "pace") == 0)
		parser->conf->rate_policy = CONF_RATE_PACE;
	else if (strcmp(value, "drop") == 0)
		parser->conf->rate_policy = CONF_RATE_DROP;
	else
		return bad(parser, key, value);
	return 0;
}

/* TLS 1.2 is the oldest version RFC 8656 §3.1 (and RFC 8996) allows. */
static int set_tls_version(struct conf_parser *parser,
                           const struct conf_key *key, const char *value)
{
	if (strcmp(value, "1.2") == 0)
		parser->conf->tls_min_version = 12;
	else if (strcmp(value, "1.3") == 0)
		parser->conf->tls_min_version = 13;
	else
		return bad(parser, key, value);
	return 0;
}

/* An OpenSSL cipher string: printable ASCII without blanks. Whether
 * OpenSSL knows the names is checked when the TLS context is built
 * (turnpiked -t, start and reload). */
static int set_cipher_string(struct conf_parser *parser,
                             const struct conf_key *key, const char *value)
{
	size_t i;

	for (i = 0; value[i] != '\0'; i++)
		if (value[i] <= ' ' || value[i] > '~')
			return bad(parser, key, value);
	if (i == 0 || i > 1024)
		return bad(parser, key, value);
	return set_string(parser, conf_field(parser, key), value);
}

/* RFC 8656 §12 narrowed channel numbers to 0x4000-0x4FFF; RFC 5766
 * clients (coturn's turnutils_uclient among them) still pick up to 0x7FFF. */
static int set_channel_numbers(struct conf_parser *parser,
                               const struct conf_key *key, const char *value)
{
	if (strcmp(value, "rfc8656") == 0)
		parser->conf->rfc5766_channels = false;
	else if (strcmp(value, "rfc5766") == 0)
		parser->conf->rfc5766_channels = true;
	else
		return bad(parser, key, value);
	return 0;
}

#define EXPECT_PATH "expected an absolute path"
#define EXPECT_RATE                                                            \
	"expected 0 or a rate from 1kbit to 100Gbit with a unit (bit, kbit, "  \
	"Mbit, Gbit, B, kB, MB, GB)"
#define EXPECT_PPS "expected packets per second from 0 to 1000000000"
#define EXPECT_BURST                                                           \
	"expected a time up to 1s (e.g. 20ms) or a size (e.g. 64kB)"
#define EXPECT_BUFFER                                                          \
	"expected 0 or a size from 4KiB to 512MiB (B, k, KiB, M, MiB, kB, MB)"
#define EXPECT_CIPHERS                                                         \
	"expected an OpenSSL cipher string (no blanks, at most 1024 "          \
	"characters)"
#define EXPECT_LIFETIME "expected whole seconds from 1 to 86400 (or s, m, h)"

/* The three keys of one level of the rate-limit hierarchy. */
#define RATE_KEYS(level, member)                                               \
	{level "-rate", set_rate, FIELD(member), RATE_MIN,                     \
	 RATE_MAX,      false,    EXPECT_RATE},                                \
	    {level "-pps", set_pps, FIELD(member), 0,                          \
	     1000000000,   false,   EXPECT_PPS},                               \
	{                                                                      \
		level "-burst", set_burst, FIELD(member), 0, 0, false,         \
		    EXPECT_BURST                                               \
	}

static const struct conf_key conf_keys[] = {
    {"listen", set_listen, 0, 0, 0, true,
     "expected udp://, tcp:// or tls:// and ADDRESS[:PORT] (IPv6 in [])"},
    {"relay-address", set_relay_address, 0, 0, 0, true,
     "expected a unicast IPv4 or IPv6 address"},
    {"external-address", set_external_address, 0, 0, 0, true,
     "expected a unicast IPv4 or IPv6 address"},
    {"relay-ports", set_relay_ports, 0, 1024, UINT16_MAX, false,
     "expected MIN-MAX with 1024 <= MIN <= MAX <= 65535"},
    {"realm", set_text, FIELD(realm), 0, 0, false,
     "expected 1 to 127 characters of UTF-8 text"},
    {"workers", set_workers, 0, 1, CONF_WORKERS_MAX, false,
     "expected auto or a number from 1 to 128"},
    {"user", conf_set_user, 0, 0, 0, true, NULL},
    {"auth-secret", conf_set_auth_secret, 0, 0, 0, true, NULL},
    {"nonce-lifetime", set_seconds, FIELD(nonce_lifetime), 1, 86400, false,
     EXPECT_LIFETIME},
    {"user-quota", set_count, FIELD(user_quota), 0, 1000000, false,
     "expected a number from 0 to 1000000"},
    {"total-quota", set_count, FIELD(total_quota), 0, 1000000, false,
     "expected a number from 0 to 1000000"},
    {"allow-peer", set_allow_peer, 0, 0, 0, true,
     "expected ADDRESS or ADDRESS/PREFIX (IPv4 or IPv6)"},
    {"deny-peer", set_deny_peer, 0, 0, 0, true,
     "expected ADDRESS or ADDRESS/PREFIX (IPv4 or IPv6)"},
    {"default-lifetime", set_seconds, FIELD(default_lifetime), 1, 86400, false,
     EXPECT_LIFETIME},
    {"max-lifetime", set_seconds, FIELD(max_lifetime), 1, 86400, false,
     EXPECT_LIFETIME},
    {"drain-timeout", set_seconds, FIELD(drain_timeout), 1, 7 * 86400, false,
     "expected whole seconds from 1 to 604800 (or s, m, h)"},
    {"state-dir", set_path, FIELD(state_dir), 0, 0, false, EXPECT_PATH},
    {"pid-file", set_path, FIELD(pid_file), 0, 0, false, EXPECT_PATH},
    {"user-name", set_run_user, 0, 0, 0, false,
     "expected an account name of at most 32 letters, digits, '.', '_' "
     "or '-'"},
    {"log", set_log, 0, 0, 0, false,
     "expected syslog, stderr or an absolute path"},
    {"log-level", set_log_level, 0, 0, 0, false,
     "expected error, warning, notice, info or debug"},
    {"tls-cert", set_path, FIELD(tls_cert), 0, 0, false, EXPECT_PATH},
    {"tls-key", set_path, FIELD(tls_key), 0, 0, false, EXPECT_PATH},
    {"tls-chain", set_path, FIELD(tls_chain), 0, 0, false, EXPECT_PATH},
    {"tls-ciphers", set_cipher_string, FIELD(tls_ciphers), 0, 0, false,
     EXPECT_CIPHERS},
    {"tls-ciphersuites", set_cipher_string, FIELD(tls_ciphersuites), 0, 0,
     false, EXPECT_CIPHERS},
    {"tls-min-version", set_tls_version, 0, 0, 0, false, "expected 1.2 or 1.3"},
    {"tls-handshake-timeout", set_seconds, FIELD(tls_handshake_timeout), 1, 300,
     false, "expected whole seconds from 1 to 300 (or s, m)"},
    {"stream-auth-timeout", set_seconds, FIELD(stream_auth_timeout), 1, 3600,
     false, "expected whole seconds from 1 to 3600 (or s, m, h)"},
    {"stream-max-pending", set_count, FIELD(stream_max_pending), 1, 1000000,
     false, "expected a number from 1 to 1000000"},
    {"stream-max-pending-per-source", set_count,
     FIELD(stream_max_pending_per_source), 1, 65535, false,
     "expected a number from 1 to 65535"},
    {"stream-buffer", set_limit_size, FIELD(stream_buffer), 16 * 1024,
     64 * 1024 * 1024, false,
     "expected a size from 16KiB to 64MiB (B, k, KiB, M, MiB, kB, MB)"},
    {"stream-write-timeout", set_seconds, FIELD(stream_write_timeout), 1, 3600,
     false, "expected whole seconds from 1 to 3600 (or s, m, h)"},
    RATE_KEYS("allocation", allocation_rate),
    RATE_KEYS("user", user_rate),
    RATE_KEYS("total", total_rate),
    {"channel-numbers", set_channel_numbers, 0, 0, 0, false,
     "expected rfc8656 (0x4000-0x4FFF) or rfc5766 (0x4000-0x7FFF)"},
    {"rate-policy", set_rate_policy, 0, 0, 0, false, "expected pace or drop"},
    {"max-delay", set_time, FIELD(max_delay_ns), 0, NS_PER_SECOND, false,
     "expected a time from 0 to 1s with a unit (ns, us, ms, s)"},
    {"pace-slot", set_time, FIELD(pace_slot_ns), 1000, 10 * NS_PER_MS, false,
     "expected a time from 1us to 10ms with a unit (ns, us, ms)"},
    {"allocation-queue", set_size, FIELD(allocation_queue), 4096,
     64 * 1024 * 1024, false,
     "expected a size from 4KiB to 64MiB (B, k, KiB, M, MiB, kB, MB)"},
    {"pace-buffers", set_count, FIELD(pace_buffers), 16, 1048576, false,
     "expected a number of packets from 16 to 1048576"},
    {"software", set_text, FIELD(software), 0, 0, false,
     "expected 1 to 127 characters of UTF-8 text"},
    {"listener-rcvbuf", set_buffer, FIELD(listener_rcvbuf), BUFFER_MIN,
     BUFFER_MAX, false, EXPECT_BUFFER},
    {"listener-sndbuf", set_buffer, FIELD(listener_sndbuf), BUFFER_MIN,
     BUFFER_MAX, false, EXPECT_BUFFER},
    {"allocation-rcvbuf", set_buffer, FIELD(allocation_rcvbuf), BUFFER_MIN,
     BUFFER_MAX, false, EXPECT_BUFFER},
    {"allocation-sndbuf", set_buffer, FIELD(allocation_sndbuf), BUFFER_MIN,
     BUFFER_MAX, false, EXPECT_BUFFER},
};

#define CONF_KEY_COUNT (sizeof(conf_keys) / sizeof(conf_keys[0]))
_Static_assert(CONF_KEY_COUNT <= CONF_KEY_MAX, "raise CONF_KEY_MAX");

/* Names other relays (coturn) use for the same settings, so that a
 * migrated file gets a useful hint. */
static const struct {
	const char *other, *ours;
} conf_key_aliases[] = {
    {"listening-port", "listen"},
    {"listening-ip", "listen"},
    {"tls-listening-port", "listen"},
    {"relay-ip", "relay-address"},
    {"external-ip", "external-address"},
    {"min-port", "relay-ports"},
    {"max-port", "relay-ports"},
    {"static-auth-secret", "auth-secret"},
    {"cert", "tls-cert"},
    {"pkey", "tls-key"},
    {"log-file", "log"},
    {"proc-user", "user-name"},
    {"max-bps", "allocation-rate"},
    {"bps-capacity", "total-rate"},
    {"allowed-peer-ip", "allow-peer"},
    {"denied-peer-ip", "deny-peer"},
    {"stale-nonce", "nonce-lifetime"},
    {"max-allocate-lifetime", "max-lifetime"},
};

const struct conf_key *conf_key_find(const char *name)
{
	for (size_t i = 0; i < CONF_KEY_COUNT; i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

size_t conf_key_index(const struct conf_key *key)
{
	return key - conf_keys;
}

unsigned conf_key_line(const struct conf_parser *parser, const char *name)
{
	const struct conf_key *key = conf_key_find(name);

	return key != NULL ? parser->key_line[conf_key_index(key)] : 0;
}

#define DISTANCE_MAX_LEN 40

/* Optimal string alignment distance: edits plus swaps of neighbours, the
 * usual typing mistakes. */
static size_t edit_distance(const char *a, const char *b)
{
	uint8_t d[DISTANCE_MAX_LEN + 1][DISTANCE_MAX_LEN + 1];
	size_t la = strlen(a), lb = strlen(b), i, j;
	unsigned best;

	if (la > DISTANCE_MAX_LEN || lb > DISTANCE_MAX_LEN)
		return SIZE_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1u < best)
				best = d[i - 1][j] + 1u;
			if (d[i][j - 1] + 1u < best)
				best = d[i][j - 1] + 1u;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1u < best)
				best = d[i - 2][j - 2] + 1u;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

const char *conf_key_suggest(const char *name)
{
	const char *suggestion = NULL;
	size_t best = 3, distance;

	for (size_t i = 0;
	     i < sizeof(conf_key_aliases) / sizeof(conf_key_aliases[0]); i++)
		if (strcmp(conf_key_aliases[i].other, name) == 0)
			return conf_key_aliases[i].ours;
	for (size_t i = 0; i < CONF_KEY_COUNT; i++) {
		distance = edit_distance(name, conf_keys[i].name);
		if (distance < best) {
			best = distance;
			suggestion = conf_keys[i].name;
		}
	}
	return suggestion;
}
