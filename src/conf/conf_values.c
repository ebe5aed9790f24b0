/*
 * Parsers for one configuration value: numbers with units, addresses,
 * address ranges, text. They know nothing of keys or lines; the setters in
 * conf_keys.c turn their EINVAL/ERANGE/EDOM into messages.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "conf_private.h"

#define DIGITS "0123456789"

struct conf_unit {
	const char *name;
	uint64_t factor;
};

/* A decimal number as written: mantissa / scale, then the unit text. */
struct conf_number {
	uint64_t mantissa;
	uint64_t scale;
	const char *unit;
};

static const struct conf_unit bit_units[] = {
    {"bit", 1},           {"bps", 1},           {"kbit", 1000},
    {"kbps", 1000},       {"Mbit", 1000000},    {"Mbps", 1000000},
    {"Gbit", 1000000000}, {"Gbps", 1000000000}, {NULL, 0},
};

static const struct conf_unit byte_rate_units[] = {
    {"B", 1}, {"kB", 1000}, {"MB", 1000000}, {"GB", 1000000000}, {NULL, 0},
};

/* Socket buffers are thought of in powers of two (as sysctl and nginx do);
 * kB, MB and GB stay decimal as in the rates. */
static const struct conf_unit size_units[] = {
    {"", 1},          {"B", 1},          {"k", 1024},
    {"K", 1024},      {"KiB", 1024},     {"M", 1048576},
    {"MiB", 1048576}, {"G", 1073741824}, {"GiB", 1073741824},
    {"kB", 1000},     {"MB", 1000000},   {"GB", 1000000000},
    {NULL, 0},
};

static const struct conf_unit time_units[] = {
    {"ns", 1},
    {"us", 1000},
    {"ms", 1000000},
    {"s", 1000000000},
    {"m", 60ULL * 1000000000},
    {"min", 60ULL * 1000000000},
    {"h", 3600ULL * 1000000000},
    {NULL, 0},
};

static int digits_add(const char *s, size_t count, uint64_t *value)
{
	for (size_t i = 0; i < count; i++) {
		if (__builtin_mul_overflow(*value, 10, value) ||
		    __builtin_add_overflow(*value, (uint64_t)(s[i] - '0'),
		                           value))
			return ERANGE;
	}
	return 0;
}

int conf_value_uint(const char *s, uint64_t max, uint64_t *out)
{
	size_t count = strspn(s, DIGITS);
	uint64_t value = 0;

	if (count == 0 || s[count] != '\0')
		return EINVAL;
	if (digits_add(s, count, &value) != 0 || value > max)
		return ERANGE;
	*out = value;
	return 0;
}

/* "12", "1.5", then optional blanks and the unit. At most 9 decimals,
 * which is finer than any unit step needs. */
static int number_split(const char *s, struct conf_number *number)
{
	size_t count = strspn(s, DIGITS);

	number->mantissa = 0;
	number->scale = 1;
	if (count == 0)
		return EINVAL;
	if (digits_add(s, count, &number->mantissa) != 0)
		return ERANGE;
	s += count;
	if (*s == '.') {
		s++;
		count = strspn(s, DIGITS);
		if (count == 0 || count > 9)
			return EINVAL;
		if (digits_add(s, count, &number->mantissa) != 0)
			return ERANGE;
		for (size_t i = 0; i < count; i++)
			number->scale *= 10;
		s += count;
	}
	number->unit = s + strspn(s, " \t");
	return 0;
}

static const struct conf_unit *unit_find(const struct conf_unit *units,
                                         const char *name)
{
	for (; units->name != NULL; units++)
		if (strcmp(units->name, name) == 0)
			return units;
	return NULL;
}

/* number * factor; *exact tells whether no fraction was lost. */
static int number_scale(const struct conf_number *number, uint64_t factor,
                        uint64_t *out, bool *exact)
{
	uint64_t product;

	if (__builtin_mul_overflow(number->mantissa, factor, &product))
		return ERANGE;
	*out = product / number->scale;
	*exact = product % number->scale == 0;
	return 0;
}

/* A rate unit, with "/s" allowed after it ("Mbit/s", "MB/s"). */
static int rate_unit(const char *text, const struct conf_unit **unit,
                     bool *bits)
{
	char name[8];
	size_t len = strlen(text);

	if (len >= 2 && strcmp(text + len - 2, "/s") == 0)
		len -= 2;
	if (len == 0 || len >= sizeof(name))
		return EINVAL;
	memcpy(name, text, len);
	name[len] = '\0';
	*bits = true;
	if ((*unit = unit_find(bit_units, name)) != NULL)
		return 0;
	*bits = false;
	if ((*unit = unit_find(byte_rate_units, name)) != NULL)
		return 0;
	return EINVAL;
}

int conf_value_rate(const char *s, uint64_t *bytes_per_second)
{
	struct conf_number number;
	const struct conf_unit *unit;
	uint64_t value;
	bool bits, exact;
	int rc;

	if ((rc = number_split(s, &number)) != 0)
		return rc;
	/* "0" needs no unit: unlimited is the same in bits and bytes. */
	if (number.mantissa == 0 && *number.unit == '\0') {
		*bytes_per_second = 0;
		return 0;
	}
	if ((rc = rate_unit(number.unit, &unit, &bits)) != 0)
		return rc;
	if ((rc = number_scale(&number, unit->factor, &value, &exact)) != 0)
		return rc;
	if (!bits && !exact)
		return EDOM;
	/* A bit rate that is no whole number of bytes is rounded down; one
	 * that rounds to 0 must not turn into "unlimited". */
	if (bits)
		value /= 8;
	if (value == 0 && number.mantissa != 0)
		return ERANGE;
	*bytes_per_second = value;
	return 0;
}

int conf_value_size(const char *s, uint64_t *bytes)
{
	struct conf_number number;
	const struct conf_unit *unit;
	bool exact;
	int rc;

	if ((rc = number_split(s, &number)) != 0)
		return rc;
	if ((unit = unit_find(size_units, number.unit)) == NULL)
		return EINVAL;
	if ((rc = number_scale(&number, unit->factor, bytes, &exact)) != 0)
		return rc;
	return exact ? 0 : EDOM;
}

int conf_value_time(const char *s, uint64_t bare_unit_ns, uint64_t *ns)
{
	struct conf_number number;
	const struct conf_unit *unit;
	uint64_t factor;
	bool exact;
	int rc;

	if ((rc = number_split(s, &number)) != 0)
		return rc;
	if (*number.unit == '\0') {
		if (bare_unit_ns == 0 && number.mantissa != 0)
			return EINVAL;
		factor = bare_unit_ns;
	} else if ((unit = unit_find(time_units, number.unit)) != NULL) {
		factor = unit->factor;
	} else {
		return EINVAL;
	}
	if ((rc = number_scale(&number, factor, ns, &exact)) != 0)
		return rc;
	return exact ? 0 : EDOM;
}

bool conf_value_has_time_unit(const char *s)
{
	struct conf_number number;

	return number_split(s, &number) == 0 &&
	       unit_find(time_units, number.unit) != NULL;
}

static int ip_v4(const char *s, struct sockaddr_storage *out,
                 socklen_t *out_len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)out;

	if (inet_pton(AF_INET, s, &sin->sin_addr) != 1)
		return EINVAL;
	sin->sin_family = AF_INET;
	*out_len = sizeof(*sin);
	return 0;
}

static int ip_v6(const char *s, struct sockaddr_storage *out,
                 socklen_t *out_len)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) != 1)
		return EINVAL;
	sin6->sin6_family = AF_INET6;
	*out_len = sizeof(*sin6);
	return 0;
}

/* The text between [ and ] of "[v6]" into buf. */
static int unbracket(const char *s, size_t len, char *buf, size_t size)
{
	if (len < 3 || s[0] != '[' || s[len - 1] != ']' || len - 2 >= size)
		return EINVAL;
	memcpy(buf, s + 1, len - 2);
	buf[len - 2] = '\0';
	return 0;
}

int conf_value_ip(const char *s, struct sockaddr_storage *out,
                  socklen_t *out_len)
{
	char buf[INET6_ADDRSTRLEN];

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		if (unbracket(s, strlen(s), buf, sizeof(buf)) != 0)
			return EINVAL;
		return ip_v6(buf, out, out_len);
	}
	if (ip_v4(s, out, out_len) == 0)
		return 0;
	return ip_v6(s, out, out_len);
}

struct listen_scheme {
	const char *prefix;
	enum conf_transport transport;
	uint16_t default_port;
};

/* RFC 8489 §6.2: 3478 for STUN over UDP and TCP, 5349 over TLS. */
static const struct listen_scheme listen_schemes[] = {
    {"udp://", CONF_TRANSPORT_UDP, 3478},
    {"tcp://", CONF_TRANSPORT_TCP, 3478},
    {"tls://", CONF_TRANSPORT_TLS, 5349},
};

static const struct listen_scheme *listen_scheme_find(const char *s)
{
	size_t count = sizeof(listen_schemes) / sizeof(listen_schemes[0]);

	for (size_t i = 0; i < count; i++)
		if (strncmp(s, listen_schemes[i].prefix,
		            strlen(listen_schemes[i].prefix)) == 0)
			return &listen_schemes[i];
	return NULL;
}

/* "ADDR[:PORT]" with ADDR IPv4 or [IPv6]: *port is NULL when omitted. An
 * IPv6 address without brackets is refused: its last group would read as
 * a port. */
static int listen_host(const char *s, struct sockaddr_storage *addr,
                       socklen_t *addr_len, const char **port)
{
	char buf[INET6_ADDRSTRLEN];
	const char *end;

	*port = NULL;
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL ||
		    unbracket(s, end - s + 1, buf, sizeof(buf)) != 0)
			return EINVAL;
		if (end[1] == ':')
			*port = end + 2;
		else if (end[1] != '\0')
			return EINVAL;
		return ip_v6(buf, addr, addr_len);
	}
	end = strchr(s, ':');
	if (end == NULL)
		end = s + strlen(s);
	else
		*port = end + 1;
	if ((size_t)(end - s) >= sizeof(buf))
		return EINVAL;
	memcpy(buf, s, end - s);
	buf[end - s] = '\0';
	return ip_v4(buf, addr, addr_len);
}

int conf_value_listen(const char *s, struct conf_listen *out)
{
	const struct listen_scheme *scheme;
	const char *port_text;
	uint64_t port;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((scheme = listen_scheme_find(s)) == NULL)
		return EINVAL;
	out->transport = scheme->transport;
	s += strlen(scheme->prefix);
	if ((rc = listen_host(s, &out->addr, &out->addr_len, &port_text)) != 0)
		return rc;
	port = scheme->default_port;
	if (port_text != NULL &&
	    (rc = conf_value_uint(port_text, UINT16_MAX, &port)) != 0)
		return rc;
	if (port == 0)
		return ERANGE;
	if (out->addr.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&out->addr)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)&out->addr)->sin_port = htons(port);
	return 0;
}

/* Peers arrive unmapped (net_addr_unmap), so a mapped range is kept as the
 * IPv4 range it means. */
static void cidr_unmap(struct conf_cidr *cidr)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
	                                   0, 0, 0, 0, 0xff, 0xff};

	if (cidr->family != AF_INET6 || cidr->prefix_len < 96 ||
	    memcmp(cidr->addr, mapped, sizeof(mapped)) != 0)
		return;
	memmove(cidr->addr, cidr->addr + 12, 4);
	memset(cidr->addr + 4, 0, 12);
	cidr->family = AF_INET;
	cidr->prefix_len -= 96;
}

static void cidr_mask(struct conf_cidr *cidr)
{
	for (unsigned bit = cidr->prefix_len; bit < 128; bit++)
		cidr->addr[bit / 8] &= ~(0x80 >> (bit % 8));
}

int conf_value_cidr(const char *s, struct conf_cidr *out)
{
	char buf[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	uint64_t prefix, max;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len >= sizeof(buf))
		return EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = AF_INET6;
	else
		return EINVAL;
	max = out->family == AF_INET ? 32 : 128;
	prefix = max;
	if (slash != NULL &&
	    (rc = conf_value_uint(slash + 1, max, &prefix)) != 0)
		return rc;
	out->prefix_len = prefix;
	cidr_unmap(out);
	cidr_mask(out);
	return 0;
}

/* The length of the UTF-8 sequence at p, or 0 if it is not valid text
 * (a control character, a stray or overlong byte, a surrogate). */
static size_t utf8_sequence(const unsigned char *p)
{
	size_t len;

	if (p[0] < 0x20 || p[0] == 0x7f)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

int conf_value_text(const char *s, size_t max_chars, size_t max_bytes)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t chars = 0, len;

	if (*p == '\0')
		return EINVAL;
	for (; *p != '\0'; p += len, chars++)
		if ((len = utf8_sequence(p)) == 0)
			return EINVAL;
	if (chars > max_chars || strlen(s) > max_bytes)
		return ERANGE;
	return 0;
}
