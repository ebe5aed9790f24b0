/*
 * Address helpers shared by the daemon, the tools and the tests.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "turnpike/net.h"

socklen_t net_addr_len(const struct sockaddr *addr)
{
	return addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                   : sizeof(struct sockaddr_in);
}

uint16_t net_addr_port(const struct sockaddr *addr)
{
	if (addr->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
	return ntohs(((const struct sockaddr_in *)addr)->sin_port);
}

void net_addr_set_port(struct sockaddr *addr, uint16_t port)
{
	if (addr->sa_family == AF_INET6)
		((struct sockaddr_in6 *)addr)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)addr)->sin_port = htons(port);
}

bool net_addr_equal_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
	              &((const struct sockaddr_in6 *)b)->sin6_addr,
	              sizeof(struct in6_addr)) == 0;
}

bool net_addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	return net_addr_equal_ip(a, b) && net_addr_port(a) == net_addr_port(b);
}

void net_addr_unmap(struct sockaddr_storage *addr)
{
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
	struct sockaddr_in v4;

	if (addr->ss_family != AF_INET6 ||
	    !IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr))
		return;
	memset(&v4, 0, sizeof(v4));
	v4.sin_family = AF_INET;
	v4.sin_port = v6->sin6_port;
	memcpy(&v4.sin_addr, &v6->sin6_addr.s6_addr[12], 4);
	memset(addr, 0, sizeof(*addr));
	memcpy(addr, &v4, sizeof(v4));
}

const char *net_addr_format(const struct sockaddr *addr, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];

	if (addr->sa_family == AF_INET6) {
		inet_ntop(AF_INET6,
		          &((const struct sockaddr_in6 *)addr)->sin6_addr, ip,
		          sizeof(ip));
		snprintf(buf, size, "[%s]:%u", ip, net_addr_port(addr));
	} else if (addr->sa_family == AF_INET) {
		inet_ntop(AF_INET,
		          &((const struct sockaddr_in *)addr)->sin_addr, ip,
		          sizeof(ip));
		snprintf(buf, size, "%s:%u", ip, net_addr_port(addr));
	} else {
		snprintf(buf, size, "(family %d)", addr->sa_family);
	}
	return buf;
}

const char *net_addr_list_format(const struct sockaddr_storage *addrs,
                                 size_t count, char *buf, size_t size)
{
	char one[NET_ADDRSTRLEN];
	size_t used = 0, i;
	int n;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < count; i++) {
		if (addrs[i].ss_family == AF_UNSPEC)
			continue;
		net_addr_format((const struct sockaddr *)&addrs[i], one,
		                sizeof(one));
		n = snprintf(buf + used, size - used, "%s%s",
		             used > 0 ? "," : "", one);
		if (n < 0 || (size_t)n >= size - used)
			break; /* cut, still terminated */
		used += (size_t)n;
	}
	return buf;
}

/* SipHash-style mixing is overkill for a table whose key is secret and
 * whose chains are bounded; a keyed multiply-xorshift is enough to keep a
 * client from choosing colliding ports. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

uint64_t net_addr_hash(const struct sockaddr *addr, uint64_t key)
{
	uint64_t h = mix64(key ^ net_addr_port(addr));
	const uint8_t *bytes;
	size_t len, i;

	if (addr->sa_family == AF_INET6) {
		bytes = ((const struct sockaddr_in6 *)addr)->sin6_addr.s6_addr;
		len = 16;
	} else {
		bytes = (const uint8_t *)&((const struct sockaddr_in *)addr)
		            ->sin_addr;
		len = 4;
	}
	for (i = 0; i < len; i += 4) {
		uint32_t word;
		memcpy(&word, bytes + i, 4);
		h = mix64(h ^ word);
	}
	return h;
}

long net_raise_nofile(void)
{
	struct rlimit limit;

	if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
		return -1;
	if (limit.rlim_cur < limit.rlim_max) {
		limit.rlim_cur = limit.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &limit);
		(void)getrlimit(RLIMIT_NOFILE, &limit);
	}
	return (long)limit.rlim_cur;
}

bool net_addr_unspecified(const struct sockaddr *addr)
{
	if (addr->sa_family == AF_INET)
		return ((const struct sockaddr_in *)addr)->sin_addr.s_addr ==
		       htonl(INADDR_ANY);
	return addr->sa_family == AF_INET6 &&
	       IN6_IS_ADDR_UNSPECIFIED(
	           &((const struct sockaddr_in6 *)addr)->sin6_addr);
}
