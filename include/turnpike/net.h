/*
 * net: socket helpers. No protocol, no event loop: descriptors and
 * addresses only.
 *
 * Functions return 0 or a positive errno value; descriptors come back
 * through out-parameters, non-blocking and close-on-exec.
 */
#ifndef TURNPIKE_NET_H
#define TURNPIKE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* Room for "[v6addr%scope]:port". */
#define NET_ADDRSTRLEN (INET6_ADDRSTRLEN + 16)

/*
 * A UDP socket bound to addr with SO_REUSEPORT (so that every worker, and
 * every per-allocation client socket, can share the listener's port), and
 * with the given buffer sizes (0 keeps the kernel default).
 */
struct net_udp_options {
	int rcvbuf;
	int sndbuf;
	bool reuseport;
	bool v6only; /* IPV6_V6ONLY on an AF_INET6 socket */
};
int net_udp_bind(const struct sockaddr *addr, socklen_t addr_len,
                 const struct net_udp_options *options, int *fd_out);

/*
 * The per-allocation client socket (DESIGN.md section 2): bound to the
 * listener's address with SO_REUSEPORT and connect()ed to the client, so
 * that the kernel hands this client's datagrams to it.
 */
int net_udp_connected(const struct sockaddr *local, const struct sockaddr *peer,
                      const struct net_udp_options *options, int *fd_out);

/*
 * A relay socket bound to addr on a random free port in [port_min,
 * port_max]; with even_port, the port is even and port + 1 is free too
 * (RFC 8656 §7.2 EVEN-PORT). Returns EADDRINUSE when no port was free
 * after trying the range, EMFILE/ENFILE when out of descriptors. On
 * success *port_out holds the port; with reserve_next, *next_fd_out holds a
 * socket bound to port + 1 (the reservation), else it is -1.
 */
struct net_relay_request {
	const struct sockaddr *addr;
	uint16_t port_min, port_max;
	bool even_port;
	bool reserve_next;
	const struct net_udp_options *options;
};
int net_relay_bind(const struct net_relay_request *request, uint32_t random,
                   int *fd_out, uint16_t *port_out, int *next_fd_out);

/*
 * EVEN-PORT reservations across workers (RFC 8656 §7.2): the reserving
 * worker holds port + 1 with a socket bound with SO_REUSEPORT and
 * connect()ed to itself (net_relay_hold), so it receives nothing; the
 * worker that redeems the token, whichever it is, binds the same port
 * with SO_REUSEPORT and then clears the option so that nobody else can
 * join (net_relay_redeem). Both return 0 or an errno value.
 */
int net_relay_hold(int fd);
int net_relay_redeem(const struct sockaddr *addr, uint16_t port,
                     const struct net_udp_options *options, int *fd_out);

/*
 * Steering of new UDP clients (steer.c): an SK_REUSEPORT program per UDP
 * listen address that picks, by the kernel's hash of the client's
 * address, one of the sockets last given to net_steer_set for its group,
 * never a connected per-allocation socket or an old generation's
 * listener. net_steer_open needs bpf() with CAP_BPF (CAP_SYS_ADMIN before
 * Linux 5.8, or root): it returns EPERM without it and ENOSYS, EINVAL or
 * EOPNOTSUPP on a kernel without SK_REUSEPORT programs (before 4.19).
 * net_steer_set needs no privilege: it puts fds[0 .. count) (bound UDP sockets
 * of one reuseport group, at most NET_STEER_WIDTH) in row group (<
 * NET_STEER_GROUPS) and attaches that row's program to their group; returns 0
 * or an errno. Until it succeeds, and for a datagram whose pick fails, the
 * kernel's own hash decides.
 */
#define NET_STEER_GROUPS 16
#define NET_STEER_WIDTH  128
struct net_steer;
int net_steer_open(struct net_steer **out);
int net_steer_set(struct net_steer *steer, unsigned group, const int *fds,
                  size_t count);
void net_steer_close(struct net_steer *steer); /* NULL: no-op */
/* Whether this process may use the maps now (a harmless lookup): before
 * Linux 5.19 a kernel with unprivileged bpf() disabled refuses every bpf()
 * command, map updates on a descriptor included, without CAP_BPF (EPERM).
 * Returns 0 or an errno. */
int net_steer_probe(const struct net_steer *steer);

/* Binds a UDP socket to addr at exactly port (a reserved port). */
int net_udp_bind_port(const struct sockaddr *addr, uint16_t port,
                      const struct net_udp_options *options, int *fd_out);

/*
 * A TCP listening socket bound to addr with SO_REUSEPORT (one per worker
 * per tcp:// or tls:// listener) and listen(backlog). Returns 0 or an
 * errno value.
 */
int net_tcp_listen(const struct sockaddr *addr, socklen_t addr_len, int backlog,
                   int *fd_out);

/* An accepted client connection: TCP_NODELAY (relayed media must not
 * wait for Nagle's algorithm) and, unless 0, a fixed SO_SNDBUF: without
 * it the kernel grows the send buffer of a client that does not read to
 * megabytes of kernel memory. */
int net_tcp_accepted(int fd, int sndbuf);

/* SO_LINGER 0: close() resets the connection and discards what is
 * queued, for a client that is dropped for not reading. */
int net_tcp_reset_on_close(int fd);

/* Sets or clears the don't-fragment behaviour (IP_MTU_DISCOVER). */
int net_set_dont_fragment(int fd, int family, bool on);

/* Address helpers. */
socklen_t net_addr_len(const struct sockaddr *addr);
uint16_t net_addr_port(const struct sockaddr *addr);
void net_addr_set_port(struct sockaddr *addr, uint16_t port);
/* Same family, address and port. */
bool net_addr_equal(const struct sockaddr *a, const struct sockaddr *b);
/* Same family and address, port ignored (RFC 8656 §9: permissions). */
bool net_addr_equal_ip(const struct sockaddr *a, const struct sockaddr *b);
/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) turned into AF_INET. */
void net_addr_unmap(struct sockaddr_storage *addr);
/* "1.2.3.4:5" or "[::1]:5"; always NUL-terminated. */
const char *net_addr_format(const struct sockaddr *addr, char *buf,
                            size_t size);
/* count addresses as net_addr_format() writes them, separated by commas,
 * those of family AF_UNSPEC left out (an allocation's relayed addresses,
 * RFC 8656 §7.2: one per family); always NUL-terminated. */
#define NET_ADDR_LIST_MAX (2 * NET_ADDRSTRLEN + 1)
const char *net_addr_list_format(const struct sockaddr_storage *addrs,
                                 size_t count, char *buf, size_t size);
/* A hash of address and port, keyed so that a client cannot pick
 * colliding addresses. */
uint64_t net_addr_hash(const struct sockaddr *addr, uint64_t key);

/* 0.0.0.0 or ::. */
bool net_addr_unspecified(const struct sockaddr *addr);

/*
 * pktinfo.c: the destination address of datagrams received on a socket
 * bound to a wildcard address, and the source address of replies sent
 * from it (IP_PKTINFO, IPV6_RECVPKTINFO).
 */
/* CMSG_SPACE of struct in6_pktinfo (RFC 3542: a 16-byte address and an
 * interface index), the larger of the two; spelled out because that
 * struct needs _GNU_SOURCE, which users of this header may not define. */
#define NET_PKTINFO_SPACE CMSG_SPACE(20)
int net_pktinfo_enable(int fd, int family);
/* From the control messages recvmsg() filled in: the address the
 * datagram was sent to, with port. False when there is none, or when it
 * was sent to a broadcast or multicast address. */
bool net_pktinfo_destination(const struct msghdr *msg, uint16_t port,
                             struct sockaddr_storage *out);
/* Writes the control message that makes sendmsg() send from local's
 * address into control (at least NET_PKTINFO_SPACE bytes); returns its
 * length for msg_controllen, 0 for an unknown family. */
size_t net_pktinfo_source(const struct sockaddr *local, void *control,
                          size_t size);

/* Raises RLIMIT_NOFILE to the hard limit; returns the new soft limit. */
long net_raise_nofile(void);

#endif
