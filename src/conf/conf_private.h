/*
 * conf internals: the parser state shared by conf.c (file and line loop,
 * checks after the whole file), conf_keys.c (the key table and setters) and
 * conf_values.c (parsers for single values).
 */
#ifndef TURNPIKE_CONF_PRIVATE_H
#define TURNPIKE_CONF_PRIVATE_H

#include <stdarg.h>

#include "turnpike/conf.h"

struct conf_parser;

/*
 * One key of turnpike.conf(5). set() parses value into the field at offset
 * (when the setter is generic), using min and max as bounds; it returns 0,
 * or EINVAL/ENOMEM after writing the message with conf_error().
 */
struct conf_key {
	const char *name;
	int (*set)(struct conf_parser *parser, const struct conf_key *key,
	           const char *value);
	size_t offset;
	uint64_t min, max;
	bool repeatable;
	const char *expected; /* finishes "KEY 'VALUE': expected ..." */
};

/* Room for the line of every key; conf_keys.c checks the table fits. */
#define CONF_KEY_MAX 64

struct conf_parser {
	struct conf *conf;
	const char *name; /* the file, for messages */
	unsigned line;
	char *err;
	size_t err_size;
	unsigned key_line[CONF_KEY_MAX]; /* first line of each key; 0 = unset */

	/* Plain-text passwords, parallel to conf->users, kept only until the
	 * realm is known; cleansed and freed by conf_parser_clear(). */
	char **passwords;
	unsigned *user_lines;
	unsigned *listen_lines;
	unsigned *secret_lines;
	unsigned relay_line_v4, relay_line_v6;
	unsigned external_line_v4, external_line_v6;
};

/* conf.c */
int conf_error(struct conf_parser *parser, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "KEY 'VALUE': problem" on the current line; returns EINVAL. Never for
 * values that hold secrets. */
int conf_bad_value(struct conf_parser *parser, const struct conf_key *key,
                   const char *value, const char *problem);
/* "out of memory" on the current line; returns ENOMEM. */
int conf_nomem(struct conf_parser *parser);
/* array (count elements of size bytes) grown by one zeroed element; NULL
 * when out of memory, array then unchanged. */
void *conf_array_grow(void *array, size_t count, size_t size);

/* conf_auth.c: the user and auth-secret keys, and the long-term keys of
 * the users once the whole file (and so the realm) is read. */
int conf_set_user(struct conf_parser *parser, const struct conf_key *key,
                  const char *value);
int conf_set_auth_secret(struct conf_parser *parser, const struct conf_key *key,
                         const char *value);
int conf_derive_user_keys(struct conf_parser *parser);

/* conf_keys.c */
const struct conf_key *conf_key_find(const char *name);
/* The known key within edit distance 2 of name, or NULL. */
const char *conf_key_suggest(const char *name);
size_t conf_key_index(const struct conf_key *key);
/* The first line of the named key, or 0 if the file did not set it. */
unsigned conf_key_line(const struct conf_parser *parser, const char *name);

/*
 * conf_values.c: parsers of one value. Each returns 0, EINVAL (not the
 * expected form), ERANGE (out of range, or too large to represent) or EDOM
 * (a fraction of the smallest unit, such as "1.5B").
 */
int conf_value_uint(const char *s, uint64_t max, uint64_t *out);
/* "192.0.2.1", "2001:db8::1" or "[2001:db8::1]"; port 0. */
int conf_value_ip(const char *s, struct sockaddr_storage *out,
                  socklen_t *out_len);
/* "udp://ADDR[:PORT]", "tcp://..." or "tls://..."; ADDR as IPv4 or
 * [IPv6]; the port defaults to 3478 (5349 for tls). */
int conf_value_listen(const char *s, struct conf_listen *out);
/* "ADDR/LEN" or "ADDR"; host bits are cleared, ::ffff:0:0/96 becomes
 * IPv4. */
int conf_value_cidr(const char *s, struct conf_cidr *out);
/* A rate with a unit, in bytes per second (bit rates rounded down). */
int conf_value_rate(const char *s, uint64_t *bytes_per_second);
/* A size in bytes; k, M, G, KiB, MiB, GiB are binary, kB, MB, GB decimal. */
int conf_value_size(const char *s, uint64_t *bytes);
/* A time in nanoseconds. bare_unit_ns is the unit of a number without one;
 * 0 requires a unit (except for "0"). */
int conf_value_time(const char *s, uint64_t bare_unit_ns, uint64_t *ns);
/* Whether s ends in a time unit (ns, us, ms, s, m, min, h). */
bool conf_value_has_time_unit(const char *s);
/* UTF-8 text of 1..max_chars characters and at most max_bytes bytes,
 * without control characters. */
int conf_value_text(const char *s, size_t max_chars, size_t max_bytes);

#endif
