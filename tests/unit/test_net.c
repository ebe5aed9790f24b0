/*
 * net: address helpers and the sockets an allocation is made of, on
 * loopback.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "turnpike/net.h"

static struct sockaddr_storage v4(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	cr_assert_eq(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	cr_assert_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	return ss;
}

#define SA(x) ((struct sockaddr *)&(x))

static uint16_t bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	cr_assert_eq(getsockname(fd, SA(ss), &len), 0);
	return net_addr_port(SA(ss));
}

Test(net_addr, formats_ipv4_and_ipv6_with_port)
{
	struct sockaddr_storage a = v4("192.0.2.1", 3478),
	                        b = v6("2001:db8::1", 5);
	char buf[NET_ADDRSTRLEN];

	cr_assert_str_eq(net_addr_format(SA(a), buf, sizeof(buf)),
	                 "192.0.2.1:3478");
	cr_assert_str_eq(net_addr_format(SA(b), buf, sizeof(buf)),
	                 "[2001:db8::1]:5");
}

Test(net_addr, list_format_skips_unspecified_and_joins_with_commas)
{
	struct sockaddr_storage both[2] = {v4("192.0.2.1", 3478),
	                                   v6("2001:db8::1", 5)};
	struct sockaddr_storage only6[2] = {{.ss_family = AF_UNSPEC},
	                                    v6("2001:db8::1", 5)};
	char buf[NET_ADDR_LIST_MAX], small[12];

	cr_assert_str_eq(net_addr_list_format(both, 2, buf, sizeof(buf)),
	                 "192.0.2.1:3478,[2001:db8::1]:5");
	cr_assert_str_eq(net_addr_list_format(only6, 2, buf, sizeof(buf)),
	                 "[2001:db8::1]:5");
	cr_assert_str_eq(net_addr_list_format(only6, 1, buf, sizeof(buf)), "");
	/* Too small: cut, but terminated. */
	net_addr_list_format(both, 2, small, sizeof(small));
	cr_assert_eq(strlen(small), sizeof(small) - 1);
}

Test(net_addr, equal_compares_port_equal_ip_does_not)
{
	struct sockaddr_storage a = v4("10.0.0.1", 1), b = v4("10.0.0.1", 2),
	                        c = v4("10.0.0.2", 1);

	cr_assert(!net_addr_equal(SA(a), SA(b)));
	cr_assert(net_addr_equal_ip(SA(a), SA(b)));
	cr_assert(!net_addr_equal_ip(SA(a), SA(c)));
}

Test(net_addr, unmap_turns_ipv4_mapped_into_ipv4)
{
	struct sockaddr_storage a = v6("::ffff:198.51.100.7", 9),
	                        want = v4("198.51.100.7", 9);

	net_addr_unmap(&a);
	cr_assert_eq(a.ss_family, AF_INET);
	cr_assert(net_addr_equal(SA(a), SA(want)));
}

Test(net_addr, hash_depends_on_key_and_port)
{
	struct sockaddr_storage a = v4("10.0.0.1", 1), b = v4("10.0.0.1", 2);

	cr_assert_neq(net_addr_hash(SA(a), 1), net_addr_hash(SA(b), 1));
	cr_assert_neq(net_addr_hash(SA(a), 1), net_addr_hash(SA(a), 2));
	cr_assert_eq(net_addr_hash(SA(a), 7), net_addr_hash(SA(a), 7));
}

Test(net_relay, binds_inside_the_port_range)
{
	struct sockaddr_storage addr = v4("127.0.0.1", 0);
	struct net_relay_request request = {
	    .addr = SA(addr),
	    .port_min = 40000,
	    .port_max = 40999,
	};
	uint16_t port;
	int fd, next;

	cr_assert_eq(net_relay_bind(&request, 12345, &fd, &port, &next), 0);
	cr_assert(port >= 40000 && port <= 40999);
	cr_assert_eq(bound_port(fd), port);
	cr_assert_eq(next, -1);
	close(fd);
}

Test(net_relay, even_port_with_reservation_holds_the_next_port)
{
	struct sockaddr_storage addr = v4("127.0.0.1", 0);
	struct net_relay_request request = {
	    .addr = SA(addr),
	    .port_min = 41000,
	    .port_max = 41999,
	    .even_port = true,
	    .reserve_next = true,
	};
	uint16_t port;
	int fd, next, other;

	cr_assert_eq(net_relay_bind(&request, 7, &fd, &port, &next), 0);
	cr_assert_eq(port % 2, 0);
	cr_assert_geq(next, 0);
	cr_assert_eq(bound_port(next), port + 1);
	/* The reserved port is really taken. */
	cr_assert_eq(net_udp_bind_port(SA(addr), port + 1, NULL, &other),
	             EADDRINUSE);
	close(fd);
	close(next);
}

Test(net_relay, full_range_gives_eaddrinuse)
{
	struct sockaddr_storage addr = v4("127.0.0.1", 0);
	struct net_relay_request request = {
	    .addr = SA(addr),
	    .port_min = 42000,
	    .port_max = 42001,
	};
	uint16_t port;
	int fds[2], next, fd;

	cr_assert_eq(net_relay_bind(&request, 0, &fds[0], &port, &next), 0);
	cr_assert_eq(net_relay_bind(&request, 0, &fds[1], &port, &next), 0);
	cr_assert_eq(net_relay_bind(&request, 0, &fd, &port, &next),
	             EADDRINUSE);
	close(fds[0]);
	close(fds[1]);
}

/* DESIGN.md section 2: a connected socket on the listener's port gets its
 * client's datagrams; the listener keeps getting everyone else's. */
Test(net_udp, connected_clone_takes_its_clients_datagrams)
{
	struct net_udp_options opts = {.reuseport = true};
	struct sockaddr_storage any = v4("127.0.0.1", 0), listen_addr, me,
	                        other;
	socklen_t len = sizeof(listen_addr);
	int listener, clone, client, stranger;
	char buf[16];

	cr_assert_eq(
	    net_udp_bind(SA(any), sizeof(struct sockaddr_in), &opts, &listener),
	    0);
	cr_assert_eq(getsockname(listener, SA(listen_addr), &len), 0);
	cr_assert_eq(
	    net_udp_bind(SA(any), sizeof(struct sockaddr_in), NULL, &client),
	    0);
	cr_assert_eq(
	    net_udp_bind(SA(any), sizeof(struct sockaddr_in), NULL, &stranger),
	    0);
	len = sizeof(me);
	getsockname(client, SA(me), &len);
	len = sizeof(other);
	getsockname(stranger, SA(other), &len);
	cr_assert_eq(net_udp_connected(SA(listen_addr), SA(me), &opts, &clone),
	             0);
	cr_assert_eq(sendto(client, "mine", 4, 0, SA(listen_addr),
	                    sizeof(struct sockaddr_in)),
	             4);
	cr_assert_eq(sendto(stranger, "else", 4, 0, SA(listen_addr),
	                    sizeof(struct sockaddr_in)),
	             4);
	usleep(20000);
	cr_assert_eq(recv(clone, buf, sizeof(buf), MSG_DONTWAIT), 4);
	cr_assert_eq(memcmp(buf, "mine", 4), 0);
	cr_assert_eq(recv(listener, buf, sizeof(buf), MSG_DONTWAIT), 4);
	cr_assert_eq(memcmp(buf, "else", 4), 0);
	cr_assert_eq(recv(clone, buf, sizeof(buf), MSG_DONTWAIT), -1);
	close(listener);
	close(clone);
	close(client);
	close(stranger);
}

Test(net_udp, dont_fragment_sets_pmtu_discovery)
{
	struct sockaddr_storage any = v4("127.0.0.1", 0);
	int fd, value = -1;
	socklen_t len = sizeof(value);

	cr_assert_eq(
	    net_udp_bind(SA(any), sizeof(struct sockaddr_in), NULL, &fd), 0);
	cr_assert_eq(net_set_dont_fragment(fd, AF_INET, true), 0);
	getsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &value, &len);
	cr_assert_eq(value, IP_PMTUDISC_DO);
	close(fd);
}

/* A wildcard socket learns that a datagram was sent to 127.0.0.2, and a
 * reply built with that address leaves from it: a client connected to
 * 127.0.0.2 receives it (the kernel drops any other source). */
Test(net_pktinfo, wildcard_socket_replies_from_the_address_asked)
{
	struct net_udp_options opts = {.reuseport = true};
	struct sockaddr_storage any = v4("0.0.0.0", 0), second, local, from;
	struct sockaddr_storage loopback = v4("127.0.0.1", 0);
	uint8_t control[NET_PKTINFO_SPACE], reply_control[NET_PKTINFO_SPACE];
	char buf[16];
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr msg = {
	    .msg_name = &from,
	    .msg_namelen = sizeof(from),
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = control,
	    .msg_controllen = sizeof(control),
	};
	int listener, client;
	uint16_t port;

	cr_assert_eq(
	    net_udp_bind(SA(any), sizeof(struct sockaddr_in), &opts, &listener),
	    0);
	cr_assert_eq(net_pktinfo_enable(listener, AF_INET), 0);
	port = bound_port(listener);
	second = v4("127.0.0.2", port);
	cr_assert_eq(net_udp_bind(SA(loopback), sizeof(struct sockaddr_in),
	                          NULL, &client),
	             0);
	cr_assert_eq(connect(client, SA(second), sizeof(struct sockaddr_in)),
	             0);
	cr_assert_eq(send(client, "ask", 3, 0), 3);
	usleep(20000);
	cr_assert_eq(recvmsg(listener, &msg, MSG_DONTWAIT), 3);
	cr_assert(net_pktinfo_destination(&msg, port, &local));
	cr_assert(net_addr_equal(SA(local), SA(second)));

	iov.iov_base = "answer";
	iov.iov_len = 6;
	msg.msg_namelen = sizeof(struct sockaddr_in);
	msg.msg_control = reply_control;
	msg.msg_controllen =
	    net_pktinfo_source(SA(local), reply_control, sizeof(reply_control));
	cr_assert_gt(msg.msg_controllen, 0);
	cr_assert_eq(sendmsg(listener, &msg, 0), 6);
	usleep(20000);
	cr_assert_eq(recv(client, buf, sizeof(buf), MSG_DONTWAIT), 6);
	cr_assert_eq(memcmp(buf, "answer", 6), 0);
	close(listener);
	close(client);
}

Test(net_pktinfo, no_control_message_no_destination)
{
	struct sockaddr_storage out;
	struct msghdr msg = {0};

	cr_assert_not(net_pktinfo_destination(&msg, 3478, &out));
}

Test(net_addr, unspecified_is_only_the_wildcard)
{
	struct sockaddr_storage a = v4("0.0.0.0", 1), b = v4("127.0.0.1", 1),
	                        c = v6("::", 1), d = v6("::1", 1);

	cr_assert(net_addr_unspecified(SA(a)));
	cr_assert_not(net_addr_unspecified(SA(b)));
	cr_assert(net_addr_unspecified(SA(c)));
	cr_assert_not(net_addr_unspecified(SA(d)));
}

/* Sends one datagram to dst from each of count fresh sockets, then counts
 * what each of fds[0 .. n) received. */
static void spray(const struct sockaddr_storage *dst, socklen_t len,
                  unsigned count, const int *fds, size_t n, unsigned *got)
{
	char buf[16];
	unsigned i;

	for (i = 0; i < count; i++) {
		int c = socket(dst->ss_family, SOCK_DGRAM, 0);

		cr_assert_geq(c, 0);
		cr_assert_eq(
		    sendto(c, "new", 3, 0, (const struct sockaddr *)dst, len),
		    3);
		close(c);
	}
	usleep(50000);
	for (i = 0; i < n; i++)
		for (got[i] = 0;
		     recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT) > 0;)
			got[i]++;
}

/* Three sockets in one reuseport group, two of them given to the
 * steering row: the third, like a connected socket of an allocation
 * before Linux 6.13 or an old generation's listener, gets nothing. */
static void check_steering(struct sockaddr_storage addr, unsigned group)
{
	struct net_udp_options opts = {.reuseport = true, .v6only = true};
	socklen_t len = addr.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                           : sizeof(struct sockaddr_in);
	struct net_steer *steer;
	unsigned got[3];
	int fds[3], err, i;

	err = net_steer_open(&steer);
	if (err == EPERM || err == ENOSYS || err == EINVAL || err == EOPNOTSUPP)
		cr_skip_test("bpf() refused: %s", strerror(err));
	cr_assert_eq(err, 0, "net_steer_open: %s", strerror(err));
	for (i = 0; i < 3; i++) {
		cr_assert_eq(net_udp_bind(SA(addr), len, &opts, &fds[i]), 0);
		net_addr_set_port(SA(addr), bound_port(fds[0]));
	}
	cr_assert_eq(net_steer_set(steer, group, fds, 2), 0);
	spray(&addr, len, 64, fds, 3, got);
	cr_assert_eq(got[2], 0, "an unlisted socket got %u", got[2]);
	cr_assert(got[0] > 0 && got[1] > 0, "got %u and %u", got[0], got[1]);
	cr_assert_eq(got[0] + got[1], 64);
	for (i = 0; i < 3; i++)
		close(fds[i]);
	net_steer_close(steer);
}

Test(net_steer, picks_only_the_sockets_given_ipv4)
{
	check_steering(v4("127.0.0.1", 0), 0);
}

Test(net_steer, picks_only_the_sockets_given_ipv6)
{
	check_steering(v6("::1", 0), 1);
}

/* A broadcast reaches a wildcard socket with ipi_addr the broadcast
 * address and ipi_spec_dst the interface's: no destination to answer
 * from. */
Test(net_pktinfo, a_broadcast_destination_is_refused)
{
	union {
		struct cmsghdr align;
		uint8_t bytes[NET_PKTINFO_SPACE];
	} control;
	struct msghdr msg = {.msg_control = control.bytes,
	                     .msg_controllen = sizeof(control)};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	struct in_pktinfo info;
	struct sockaddr_storage out;

	memset(&control, 0, sizeof(control));
	memset(&info, 0, sizeof(info));
	inet_pton(AF_INET, "127.255.255.255", &info.ipi_addr);
	inet_pton(AF_INET, "127.0.0.1", &info.ipi_spec_dst);
	cmsg->cmsg_level = IPPROTO_IP;
	cmsg->cmsg_type = IP_PKTINFO;
	cmsg->cmsg_len = CMSG_LEN(sizeof(info));
	memcpy(CMSG_DATA(cmsg), &info, sizeof(info));
	msg.msg_controllen = CMSG_SPACE(sizeof(info));
	cr_assert_not(net_pktinfo_destination(&msg, 3478, &out));
	info.ipi_addr = info.ipi_spec_dst;
	memcpy(CMSG_DATA(cmsg), &info, sizeof(info));
	cr_assert(net_pktinfo_destination(&msg, 3478, &out));
}
