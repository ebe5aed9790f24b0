/*
 * conf: the configuration file (turnpike.conf(5)).
 *
 * One immutable struct conf per generation: conf_load() builds it, nothing
 * changes it afterwards, a reload builds a new one and swaps the pointer.
 * Every error names the file, the line and the problem.
 */
#ifndef TURNPIKE_CONF_H
#define TURNPIKE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define CONF_DEFAULT_PATH SYSCONFDIR "/turnpike/turnpike.conf"

/* Two generations of workers must fit in the 256 worker slots (DESIGN.md
 * section 7: a reload that changes the listeners or the worker count runs
 * a new generation next to the draining old one). */
#define CONF_WORKERS_MAX 128

enum conf_transport {
	CONF_TRANSPORT_UDP,
	CONF_TRANSPORT_TCP,
	CONF_TRANSPORT_TLS,
};

struct conf_listen {
	enum conf_transport transport;
	struct sockaddr_storage addr; /* port included */
	socklen_t addr_len;
};

/* An address range for allow-peer / deny-peer. IPv4 ranges are stored as
 * IPv4 (family AF_INET); IPv6 as AF_INET6. */
struct conf_cidr {
	int family;
	uint8_t addr[16];
	uint8_t prefix_len;
};

/* A static user from `user = name:password`. The password is kept only as
 * long-term keys (RFC 8489 §9.2.2) once the realm is known. */
struct conf_user {
	char *name;
	uint8_t key_md5[16];
	uint8_t key_sha256[32];
};

/* A rate: bytes per second (from bit units / 8) or packets per second;
 * 0 = unlimited. */
struct conf_rate {
	uint64_t bytes_per_second;
	uint64_t packets_per_second;
	/* Burst, as a time (nanoseconds) or as bytes; 0 = the default.
	 * conf_load() always sets burst_ns (at most 1 s): the burst given as a
	 * time, the time burst_bytes lasts at bytes_per_second, or
	 * CONF_DEFAULT_BURST_NS. burst_bytes is set only when the burst was
	 * given as a size (then never above one second of bytes_per_second),
	 * and bounds the byte bucket; burst_ns bounds the packet bucket. */
	uint64_t burst_ns;
	uint64_t burst_bytes;
};

#define CONF_DEFAULT_BURST_NS 20000000ULL /* 20 ms */

enum conf_rate_policy {
	CONF_RATE_PACE,
	CONF_RATE_DROP,
};

enum conf_log_target {
	CONF_LOG_SYSLOG,
	CONF_LOG_STDERR,
	CONF_LOG_FILE,
};

struct conf {
	char *path; /* the file it came from */

	struct conf_listen *listens;
	size_t listen_count;

	/* relay-address: at most one per family. */
	struct sockaddr_storage relay_v4, relay_v6;
	bool has_relay_v4, has_relay_v6;
	/* external-address: advertised instead of the relay address. */
	struct sockaddr_storage external_v4, external_v6;
	bool has_external_v4, has_external_v6;
	uint16_t relay_port_min, relay_port_max;

	char *realm;
	char *software; /* SOFTWARE attribute value */
	long workers;   /* 0 = auto (online CPUs), else 1 .. CONF_WORKERS_MAX */

	struct conf_user *users;
	size_t user_count;
	char **auth_secrets; /* first one mints credentials; all verify */
	size_t auth_secret_count;
	uint32_t nonce_lifetime; /* seconds */

	uint32_t user_quota;  /* 0 = unlimited */
	uint32_t total_quota; /* 0 = unlimited */

	struct conf_cidr *allow_peers, *deny_peers;
	size_t allow_peer_count, deny_peer_count;

	/* channel-numbers = rfc5766: accept ChannelBind up to 0x7FFF. */
	bool rfc5766_channels;

	uint32_t default_lifetime; /* seconds */
	uint32_t max_lifetime;
	/* `drain-timeout`: how long a worker that stopped taking allocations
	 * (an old generation after a reload, or SIGQUIT) keeps serving its
	 * live ones before it exits anyway; seconds. */
	uint32_t drain_timeout;

	char *state_dir;
	char *pid_file;
	char *run_user; /* `user-name`: drop privileges to it; NULL = stay */

	enum conf_log_target log_target;
	char *log_file;
	int log_level; /* LOG_ERR .. LOG_DEBUG */

	char *tls_cert, *tls_key, *tls_chain;
	/* OpenSSL cipher strings: TLS 1.2 (tls-ciphers) and TLS 1.3
	 * (tls-ciphersuites); NULL keeps the built-in default. */
	char *tls_ciphers, *tls_ciphersuites;
	int tls_min_version;            /* 12 = TLS 1.2, 13 = TLS 1.3 */
	uint32_t tls_handshake_timeout; /* seconds */

	/* TCP and TLS clients (tcp:// and tls:// listeners), per worker. */
	uint32_t stream_auth_timeout; /* seconds until a successful Allocate */
	uint32_t stream_max_pending;  /* connections without an allocation */
	uint32_t stream_max_pending_per_source; /* the same, per source IP */
	int stream_buffer;             /* bytes queued to one client, at most */
	uint32_t stream_write_timeout; /* seconds a client may not read */

	struct conf_rate allocation_rate, user_rate, total_rate;
	enum conf_rate_policy rate_policy;
	uint64_t max_delay_ns;
	uint64_t pace_slot_ns; /* `pace-slot`: width of a timing-wheel slot */
	/* `allocation-queue`: bytes one allocation may have waiting on the
	 * wheel in one direction. */
	uint64_t allocation_queue;
	/* `pace-buffers`: packets a worker may hold on its wheel at once. */
	uint32_t pace_buffers;

	/* Socket buffers (bytes): listeners and per-allocation sockets. */
	int listener_rcvbuf, listener_sndbuf;
	int allocation_rcvbuf, allocation_sndbuf;
};

/*
 * Parses the file. On success returns 0 and a new *out (free with
 * conf_free()). On failure returns EINVAL (or ENOMEM, or the errno of
 * opening or reading the file, then with the message "file: strerror") and
 * writes one line "file:line: problem" into err (of err_size bytes); *out
 * is left alone.
 */
int conf_load(const char *path, struct conf **out, char *err, size_t err_size);

/* As conf_load(), from a string (for tests); name is used in messages. */
int conf_parse(const char *name, const char *text, struct conf **out, char *err,
               size_t err_size);

/* Frees a configuration; NULL is a no-op. Keys are cleansed. */
void conf_free(struct conf *conf);

/* The number of workers to start: conf->workers, or the online CPUs (at
 * most CONF_WORKERS_MAX). */
long conf_worker_count(const struct conf *conf);

#endif
