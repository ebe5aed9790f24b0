/*
 * conf: reads turnpike.conf(5) into an immutable struct conf.
 *
 * This file holds the file reading, the line loop, the messages and the
 * checks that need the whole file; the keys are in conf_keys.c and the
 * value parsers in conf_values.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "conf_private.h"

/* A larger file is a mistake (a log given as -c), not a configuration. */
#define CONF_FILE_MAX     (16 * 1024 * 1024)
#define VALUE_SHOWN_MAX   64
#define CONF_DEFAULT_PORT 3478

int conf_error(struct conf_parser *parser, unsigned line, const char *fmt, ...)
{
	char problem[1024];
	va_list ap;

	if (parser->err == NULL || parser->err_size == 0)
		return EINVAL;
	va_start(ap, fmt);
	vsnprintf(problem, sizeof(problem), fmt, ap);
	va_end(ap);
	if (line != 0)
		snprintf(parser->err, parser->err_size, "%s:%u: %s",
		         parser->name, line, problem);
	else
		snprintf(parser->err, parser->err_size, "%s: %s", parser->name,
		         problem);
	return EINVAL;
}

int conf_nomem(struct conf_parser *parser)
{
	conf_error(parser, parser->line, "out of memory");
	return ENOMEM;
}

/* The value as shown in a message: one line, and short. */
static void value_shown(const char *value, char *buf, size_t size)
{
	size_t i;

	for (i = 0; value[i] != '\0' && i + 4 < size; i++)
		buf[i] = (unsigned char)value[i] < 0x20 || value[i] == 0x7f
		             ? '?'
		             : value[i];
	if (value[i] != '\0')
		memcpy(buf + i - 3, "...", 3);
	buf[i] = '\0';
}

int conf_bad_value(struct conf_parser *parser, const struct conf_key *key,
                   const char *value, const char *problem)
{
	char shown[VALUE_SHOWN_MAX];

	value_shown(value, shown, sizeof(shown));
	return conf_error(parser, parser->line, "%s '%s': %s", key->name, shown,
	                  problem);
}

void *conf_array_grow(void *array, size_t count, size_t size)
{
	char *grown = reallocarray(array, count + 1, size);

	if (grown != NULL)
		memset(grown + count * size, 0, size);
	return grown;
}

static char *trim(char *s)
{
	char *end;

	s += strspn(s, " \t\r");
	end = s + strlen(s);
	while (end > s &&
	       (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = '\0';
	return s;
}

/* A '#' after a blank starts a comment, so that "pass#word" stays whole. */
static void strip_comment(char *value)
{
	for (char *p = value; *p != '\0'; p++)
		if (*p == '#' && p > value && (p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
}

static int unknown_key(struct conf_parser *parser, const char *name)
{
	const char *suggestion = conf_key_suggest(name);
	char shown[VALUE_SHOWN_MAX];

	value_shown(name, shown, sizeof(shown));
	if (suggestion == NULL)
		return conf_error(parser, parser->line, "unknown key '%s'",
		                  shown);
	return conf_error(parser, parser->line,
	                  "unknown key '%s' (did you mean '%s'?)", shown,
	                  suggestion);
}

static int parse_line(struct conf_parser *parser, char *line)
{
	const struct conf_key *key;
	char *equals, *name, *value;
	size_t index;

	line = trim(line);
	if (*line == '\0' || *line == '#')
		return 0;
	if ((equals = strchr(line, '=')) == NULL)
		return conf_error(parser, parser->line,
		                  "expected 'key = value'");
	*equals = '\0';
	name = trim(line);
	value = equals + 1;
	strip_comment(value);
	value = trim(value);
	if (*name == '\0')
		return conf_error(parser, parser->line,
		                  "missing key before '='");
	if ((key = conf_key_find(name)) == NULL)
		return unknown_key(parser, name);
	if (*value == '\0')
		return conf_error(parser, parser->line,
		                  "missing value for '%s'", key->name);
	index = conf_key_index(key);
	if (parser->key_line[index] != 0 && !key->repeatable)
		return conf_error(parser, parser->line,
		                  "duplicate key '%s' (first set on line %u)",
		                  key->name, parser->key_line[index]);
	if (parser->key_line[index] == 0)
		parser->key_line[index] = parser->line;
	return key->set(parser, key, value);
}

static int parse_text(struct conf_parser *parser, char *text)
{
	char *line = text, *next;
	int rc;

	/* Some editors start UTF-8 files with a byte order mark. */
	if (strncmp(line, "\xef\xbb\xbf", 3) == 0)
		line += 3;
	for (parser->line = 1; line != NULL; parser->line++) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((rc = parse_line(parser, line)) != 0)
			return rc;
		line = next;
	}
	return 0;
}

static int set_defaults(struct conf *conf, const char *path)
{
	conf->relay_port_min = 49152;
	conf->relay_port_max = 65535;
	conf->nonce_lifetime = 600;
	/* RFC 8656 §7.2: the default lifetime is 10 minutes. */
	conf->default_lifetime = 600;
	conf->max_lifetime = 3600;
	conf->drain_timeout = 3600;
	conf->log_target = CONF_LOG_SYSLOG;
	conf->log_level = LOG_INFO;
	conf->rate_policy = CONF_RATE_PACE;
	conf->max_delay_ns = 50 * 1000000ULL;
	conf->pace_slot_ns = 1000000ULL;
	conf->allocation_queue = 256 * 1024;
	conf->pace_buffers = 8192;
	conf->listener_rcvbuf = conf->listener_sndbuf = 4 * 1024 * 1024;
	conf->allocation_rcvbuf = conf->allocation_sndbuf = 256 * 1024;
	conf->tls_min_version = 12;
	conf->tls_handshake_timeout = 10;
	conf->stream_auth_timeout = 30;
	conf->stream_max_pending = 1024;
	conf->stream_max_pending_per_source = 32;
	conf->stream_buffer = 256 * 1024;
	conf->stream_write_timeout = 30;
	conf->path = strdup(path);
	conf->realm = strdup("turnpike");
	conf->software = strdup("turnpike/" PACKAGE_VERSION);
	conf->state_dir = strdup(LOCALSTATEDIR "/lib/turnpike");
	conf->pid_file = strdup(RUNSTATEDIR "/turnpike/turnpiked.pid");
	if (conf->path == NULL || conf->realm == NULL ||
	    conf->software == NULL || conf->state_dir == NULL ||
	    conf->pid_file == NULL)
		return ENOMEM;
	return 0;
}

static int default_listen(struct conf_parser *parser)
{
	struct conf *conf = parser->conf;
	struct sockaddr_in *sin;

	if (conf->listen_count > 0)
		return 0;
	if ((conf->listens = calloc(1, sizeof(*conf->listens))) == NULL)
		return conf_nomem(parser);
	conf->listen_count = 1;
	conf->listens[0].transport = CONF_TRANSPORT_UDP;
	conf->listens[0].addr_len = sizeof(*sin);
	sin = (struct sockaddr_in *)&conf->listens[0].addr;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_ANY);
	sin->sin_port = htons(CONF_DEFAULT_PORT);
	return 0;
}

static unsigned first_line(const struct conf_parser *parser, const char *a,
                           const char *b)
{
	unsigned line = conf_key_line(parser, a);

	return line != 0 ? line : conf_key_line(parser, b);
}

static int check_lifetimes(struct conf_parser *parser)
{
	const struct conf *conf = parser->conf;

	/* RFC 8656 §7.2: the server uses at least the default lifetime and
	 * at most its maximum, which only works with default <= max. */
	if (conf->default_lifetime <= conf->max_lifetime)
		return 0;
	return conf_error(
	    parser, first_line(parser, "default-lifetime", "max-lifetime"),
	    "default-lifetime (%u s) exceeds max-lifetime (%u s)",
	    conf->default_lifetime, conf->max_lifetime);
}

/* external-address is advertised in place of the relay address of its
 * family; without one it would never be used. */
static int check_external(struct conf_parser *parser)
{
	const struct conf *conf = parser->conf;

	if (conf->has_external_v4 && !conf->has_relay_v4)
		return conf_error(parser, parser->external_line_v4,
		                  "external-address: no IPv4 relay-address "
		                  "for it to stand for");
	if (conf->has_external_v6 && !conf->has_relay_v6)
		return conf_error(parser, parser->external_line_v6,
		                  "external-address: no IPv6 relay-address "
		                  "for it to stand for");
	return 0;
}

static int check_tls(struct conf_parser *parser)
{
	const struct conf *conf = parser->conf;

	for (size_t i = 0; i < conf->listen_count; i++)
		if (conf->listens[i].transport == CONF_TRANSPORT_TLS &&
		    (conf->tls_cert == NULL || conf->tls_key == NULL))
			return conf_error(parser, parser->listen_lines[i],
			                  "listen: a tls:// listener needs "
			                  "tls-cert and tls-key");
	if (conf->tls_key != NULL && conf->tls_cert == NULL)
		return conf_error(parser, conf_key_line(parser, "tls-key"),
		                  "tls-key without tls-cert");
	if (conf->tls_cert != NULL && conf->tls_key == NULL)
		return conf_error(parser, conf_key_line(parser, "tls-cert"),
		                  "tls-cert without tls-key");
	if (conf->tls_chain != NULL && conf->tls_cert == NULL)
		return conf_error(parser, conf_key_line(parser, "tls-chain"),
		                  "tls-chain without tls-cert");
	return 0;
}

/* Fills burst_ns as conf.h promises, after checking that a burst given
 * in bytes has a byte rate to be measured against. */
static int check_burst(struct conf_parser *parser, struct conf_rate *rate,
                       const char *level)
{
	char burst_key[32];

	snprintf(burst_key, sizeof(burst_key), "%s-burst", level);
	if (rate->burst_bytes == 0) {
		if (rate->burst_ns == 0)
			rate->burst_ns = CONF_DEFAULT_BURST_NS;
		return 0;
	}
	if (rate->bytes_per_second == 0) {
		if (rate->packets_per_second != 0)
			return conf_error(parser,
			                  conf_key_line(parser, burst_key),
			                  "%s: a size needs %s-rate; give a "
			                  "time to bound %s-pps",
			                  burst_key, level, level);
		rate->burst_ns = CONF_DEFAULT_BURST_NS;
		return 0;
	}
	if (rate->burst_bytes > rate->bytes_per_second)
		return conf_error(parser, conf_key_line(parser, burst_key),
		                  "%s: %llu bytes is more than one second of "
		                  "%s-rate (%llu bytes)",
		                  burst_key,
		                  (unsigned long long)rate->burst_bytes, level,
		                  (unsigned long long)rate->bytes_per_second);
	/* At most 12.5e9 bytes times 1e9: fits in 64 bits. */
	rate->burst_ns =
	    rate->burst_bytes * 1000000000ULL / rate->bytes_per_second;
	if (rate->burst_ns == 0)
		rate->burst_ns = 1;
	return 0;
}

static int check_pacing(struct conf_parser *parser)
{
	struct conf *conf = parser->conf;
	unsigned line = conf_key_line(parser, "pace-slot");

	/* A packet waits at least one slot, so a slot longer than the delay
	 * allowed would drop every paced packet. The default slot shrinks to
	 * fit; a slot the file asks for is an error. */
	if (conf->max_delay_ns == 0 || conf->pace_slot_ns <= conf->max_delay_ns)
		return 0;
	if (line == 0) {
		conf->pace_slot_ns = conf->max_delay_ns;
		return 0;
	}
	return conf_error(parser, line, "pace-slot is longer than max-delay");
}

static int finish(struct conf_parser *parser)
{
	struct conf *conf = parser->conf;
	struct conf_rate *rates[] = {&conf->allocation_rate, &conf->user_rate,
	                             &conf->total_rate};
	static const char *const levels[] = {"allocation", "user", "total"};
	int rc;

	if ((rc = default_listen(parser)) != 0 ||
	    (rc = conf_derive_user_keys(parser)) != 0 ||
	    (rc = check_lifetimes(parser)) != 0 ||
	    (rc = check_external(parser)) != 0 || (rc = check_tls(parser)) != 0)
		return rc;
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if ((rc = check_burst(parser, rates[i], levels[i])) != 0)
			return rc;
	return check_pacing(parser);
}

static void parser_clear(struct conf_parser *parser)
{
	size_t count = parser->conf != NULL ? parser->conf->user_count : 0;

	for (size_t i = 0; parser->passwords != NULL && i < count; i++) {
		if (parser->passwords[i] == NULL)
			continue;
		OPENSSL_cleanse(parser->passwords[i],
		                strlen(parser->passwords[i]));
		free(parser->passwords[i]);
	}
	free(parser->passwords);
	free(parser->user_lines);
	free(parser->listen_lines);
	free(parser->secret_lines);
}

/* Parses text in place (it is cut into lines). */
static int parse_buffer(const char *name, char *text, struct conf **out,
                        char *err, size_t err_size)
{
	struct conf_parser parser;
	int rc;

	memset(&parser, 0, sizeof(parser));
	parser.name = name;
	parser.err = err;
	parser.err_size = err_size;
	if (err != NULL && err_size > 0)
		err[0] = '\0';
	if ((parser.conf = calloc(1, sizeof(*parser.conf))) == NULL)
		return conf_nomem(&parser);
	if ((rc = set_defaults(parser.conf, name)) != 0) {
		rc = conf_nomem(&parser);
		goto fail;
	}
	if ((rc = parse_text(&parser, text)) != 0 ||
	    (rc = finish(&parser)) != 0)
		goto fail;
	parser_clear(&parser);
	*out = parser.conf;
	return 0;
fail:
	parser_clear(&parser);
	conf_free(parser.conf);
	return rc;
}

int conf_parse(const char *name, const char *text, struct conf **out, char *err,
               size_t err_size)
{
	size_t len = strlen(text);
	char *copy = malloc(len + 1);
	int rc;

	if (copy == NULL) {
		snprintf(err, err_size, "%s: out of memory", name);
		return ENOMEM;
	}
	memcpy(copy, text, len + 1);
	rc = parse_buffer(name, copy, out, err, err_size);
	OPENSSL_cleanse(copy, len);
	free(copy);
	return rc;
}

/* Grows buf to size bytes, wiping the old copy: it may hold passwords. */
static int buffer_grow(char **buf, size_t len, size_t size)
{
	char *grown = malloc(size);

	if (grown == NULL)
		return ENOMEM;
	if (*buf != NULL) {
		memcpy(grown, *buf, len);
		OPENSSL_cleanse(*buf, len);
		free(*buf);
	}
	*buf = grown;
	return 0;
}

static int read_fd(int fd, char **out, size_t *out_len)
{
	char *buf = NULL;
	size_t len = 0, size = 0;
	ssize_t n;
	int rc;

	for (;;) {
		if (len + 1 >= size) {
			size = size == 0 ? 8192 : size * 2;
			if (size > CONF_FILE_MAX) {
				rc = EFBIG;
				goto fail;
			}
			if ((rc = buffer_grow(&buf, len, size)) != 0)
				goto fail;
		}
		n = read(fd, buf + len, size - len - 1);
		if (n == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = errno;
			goto fail;
		}
		len += n;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
fail:
	if (buf != NULL)
		OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}

/* A NUL byte would silently end the line it is on. */
static int check_nul(const char *path, const char *text, size_t len, char *err,
                     size_t err_size)
{
	const char *nul = memchr(text, '\0', len);
	unsigned line = 1;

	if (nul == NULL)
		return 0;
	for (const char *p = text; p < nul; p++)
		line += *p == '\n';
	snprintf(err, err_size, "%s:%u: NUL byte in the file", path, line);
	return EINVAL;
}

int conf_load(const char *path, struct conf **out, char *err, size_t err_size)
{
	char *text = NULL;
	size_t len = 0;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		rc = errno;
		snprintf(err, err_size, "%s: %s", path, strerror(rc));
		return rc;
	}
	rc = read_fd(fd, &text, &len);
	close(fd);
	if (rc != 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(rc));
		return rc;
	}
	if ((rc = check_nul(path, text, len, err, err_size)) == 0)
		rc = parse_buffer(path, text, out, err, err_size);
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

void conf_free(struct conf *conf)
{
	if (conf == NULL)
		return;
	for (size_t i = 0; i < conf->user_count; i++)
		free(conf->users[i].name);
	if (conf->users != NULL)
		OPENSSL_cleanse(conf->users,
		                conf->user_count * sizeof(*conf->users));
	free(conf->users);
	for (size_t i = 0; i < conf->auth_secret_count; i++) {
		OPENSSL_cleanse(conf->auth_secrets[i],
		                strlen(conf->auth_secrets[i]));
		free(conf->auth_secrets[i]);
	}
	free(conf->auth_secrets);
	free(conf->listens);
	free(conf->allow_peers);
	free(conf->deny_peers);
	free(conf->path);
	free(conf->realm);
	free(conf->software);
	free(conf->state_dir);
	free(conf->pid_file);
	free(conf->run_user);
	free(conf->log_file);
	free(conf->tls_cert);
	free(conf->tls_key);
	free(conf->tls_chain);
	free(conf->tls_ciphers);
	free(conf->tls_ciphersuites);
	free(conf);
}

long conf_worker_count(const struct conf *conf)
{
	long cpus;

	if (conf->workers > 0)
		return conf->workers;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1)
		return 1;
	return cpus < CONF_WORKERS_MAX ? cpus : CONF_WORKERS_MAX;
}
