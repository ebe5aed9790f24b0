/*
 * Which of the host's addresses a datagram was sent to, for listeners
 * bound to a wildcard address (0.0.0.0 or ::). Such a socket receives for
 * every address of the host, but a reply sent from it leaves from the
 * address the routing table prefers, which on a host with several
 * addresses is not always the one the client wrote to; a client behind a
 * NAT, or one with a connected socket, then drops it. IP_PKTINFO and
 * IPV6_RECVPKTINFO (RFC 3542 section 6) give the destination of each
 * datagram, and the same control message on sendmsg() sets the source
 * of the reply.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "turnpike/net.h"

_Static_assert(NET_PKTINFO_SPACE >= CMSG_SPACE(sizeof(struct in6_pktinfo)) &&
                   NET_PKTINFO_SPACE >= CMSG_SPACE(sizeof(struct in_pktinfo)),
               "NET_PKTINFO_SPACE holds either control message");

int net_pktinfo_enable(int fd, int family)
{
	int on = 1;

	if (family == AF_INET6)
		return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on,
		                  sizeof(on)) == 0
		           ? 0
		           : errno;
	return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) == 0
	           ? 0
	           : errno;
}

bool net_pktinfo_destination(const struct msghdr *msg, uint16_t port,
                             struct sockaddr_storage *out)
{
	struct cmsghdr *cmsg;

	for (cmsg = CMSG_FIRSTHDR((struct msghdr *)msg); cmsg != NULL;
	     cmsg = CMSG_NXTHDR((struct msghdr *)msg, cmsg)) {
		if (cmsg->cmsg_level == IPPROTO_IP &&
		    cmsg->cmsg_type == IP_PKTINFO) {
			struct sockaddr_in *sin = (struct sockaddr_in *)out;
			struct in_pktinfo info;

			memcpy(&info, CMSG_DATA(cmsg), sizeof(info));
			/* Sent to a broadcast address: ipi_addr is that,
			 * ipi_spec_dst the interface's own. Not a client of
			 * ours, and no address to answer from. */
			if (info.ipi_addr.s_addr != info.ipi_spec_dst.s_addr)
				return false;
			memset(out, 0, sizeof(*out));
			sin->sin_family = AF_INET;
			sin->sin_addr = info.ipi_addr;
			sin->sin_port = htons(port);
			return true;
		}
		if (cmsg->cmsg_level == IPPROTO_IPV6 &&
		    cmsg->cmsg_type == IPV6_PKTINFO) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
			struct in6_pktinfo info;

			memcpy(&info, CMSG_DATA(cmsg), sizeof(info));
			if (IN6_IS_ADDR_MULTICAST(&info.ipi6_addr))
				return false; /* as broadcast above */
			memset(out, 0, sizeof(*out));
			sin6->sin6_family = AF_INET6;
			sin6->sin6_addr = info.ipi6_addr;
			sin6->sin6_port = htons(port);
			/* A link-local address means nothing without
			 * its interface. */
			if (IN6_IS_ADDR_LINKLOCAL(&info.ipi6_addr))
				sin6->sin6_scope_id = info.ipi6_ifindex;
			return true;
		}
	}
	return false;
}

size_t net_pktinfo_source(const struct sockaddr *local, void *control,
                          size_t size)
{
	struct msghdr msg = {.msg_control = control, .msg_controllen = size};
	struct cmsghdr *cmsg;

	if (size < NET_PKTINFO_SPACE)
		return 0;
	memset(control, 0, NET_PKTINFO_SPACE);
	cmsg = CMSG_FIRSTHDR(&msg);
	if (local->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)local;
		struct in6_pktinfo info = {.ipi6_addr = sin6->sin6_addr,
		                           .ipi6_ifindex = sin6->sin6_scope_id};

		cmsg->cmsg_level = IPPROTO_IPV6;
		cmsg->cmsg_type = IPV6_PKTINFO;
		cmsg->cmsg_len = CMSG_LEN(sizeof(info));
		memcpy(CMSG_DATA(cmsg), &info, sizeof(info));
		return CMSG_SPACE(sizeof(info));
	}
	if (local->sa_family == AF_INET) {
		const struct sockaddr_in *sin =
		    (const struct sockaddr_in *)local;
		/* ipi_spec_dst picks the source; ifindex 0 lets routing
		 * pick the interface. */
		struct in_pktinfo info = {.ipi_spec_dst = sin->sin_addr};

		cmsg->cmsg_level = IPPROTO_IP;
		cmsg->cmsg_type = IP_PKTINFO;
		cmsg->cmsg_len = CMSG_LEN(sizeof(info));
		memcpy(CMSG_DATA(cmsg), &info, sizeof(info));
		return CMSG_SPACE(sizeof(info));
	}
	return 0;
}
