/*
 * turnpike-bench: the command line, credentials, the TLS context and
 * descriptors; then one of the modes (run.c, limiter.c, wakeup.c).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "turnpike/auth.h"
#include "turnpike/net.h"
#include "bench.h"

#define EXIT_USAGE      2
#define DEFAULT_PORT    "3478"
#define REST_TTL        86400
#define FDS_SPARE       64
#define ALLOCATIONS_MAX 100000u
#define RATE_MAX        100000000ull
#define COUNT_MAX       10000000u

enum long_only {
	OPT_SERVER_PID = 256,
	OPT_SERVER_NAME,
	OPT_PEER,
	OPT_ALLOW_REMOTE,
	OPT_TRANSPORT,
	OPT_CA,
};

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *bench_transport_name(enum bench_transport transport)
{
	switch (transport) {
	case BENCH_TRANSPORT_TCP:
		return "tcp";
	case BENCH_TRANSPORT_TLS:
		return "tls";
	default:
		return "udp";
	}
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: turnpike-bench [-eqsV] [-a allocations] [-d seconds] "
	        "[-p port] [-r pps]\n"
	        "\t[-S bytes] [-T senders] [-t seconds] [-u user] "
	        "[-w password | -W secret]\n"
	        "\t[-m flow | alloc | limiter | wakeup] [-n count] [-c "
	        "concurrency] "
	        "[--peer address]\n"
	        "\t[--transport udp | tcp | tls] [--ca file] "
	        "[--server-pid pid]\n"
	        "\t[--server-name name] [--allow-remote] address\n");
}

static int bad(const char *what, const char *value)
{
	fprintf(stderr, "turnpike-bench: %s, not '%s'\n", what, value);
	return EINVAL;
}

static int parse_uint(const char *s, unsigned long long min,
                      unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return EINVAL;
	*out = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || *out < min || *out > max)
		return EINVAL;
	return 0;
}

static int parse_seconds(const char *s, double min, double max, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(*out) ||
	    *out < min || *out > max)
		return EINVAL;
	return 0;
}

/* A numeric address only: a benchmark's target is named exactly. */
static int parse_address(const char *host, const char *port,
                         struct sockaddr_storage *out)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM,
	                         .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV},
	                *res;

	if (getaddrinfo(host, port, &hints, &res) != 0)
		return EINVAL;
	memcpy(out, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

static bool is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
		return in6->sin6_addr.s6_addr[12] == 127;
	return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
}

static int off_loopback(const char *what, const char *address)
{
	fprintf(stderr,
	        "turnpike-bench: refusing %s address %s: not on loopback "
	        "(127.0.0.0/8, ::1); --allow-remote permits it\n",
	        what, address);
	return EINVAL;
}

/* One option; EINVAL after printing why. */
static int parse_option(int ch, const char *arg, struct bench_options *o,
                        const char **port, const char **peer)
{
	unsigned long long v;

	switch (ch) {
	case 'a':
		if (parse_uint(arg, 1, ALLOCATIONS_MAX, &v) != 0)
			return bad("-a wants 1 to 100000 allocations", arg);
		o->allocations = (unsigned)v;
		return 0;
	case 'c':
		if (parse_uint(arg, 1, BENCH_THREADS_MAX, &v) != 0)
			return bad("-c wants 1 to 256 at a time", arg);
		o->concurrency = (unsigned)v;
		return 0;
	case 'd':
		if (parse_seconds(arg, 0.1, BENCH_DURATION_MAX, &o->duration) !=
		    0)
			return bad("-d wants 0.1 to 250 seconds", arg);
		return 0;
	case 'e':
		o->echo = true;
		return 0;
	case 'm':
		if (strcmp(arg, "flow") == 0)
			o->mode = BENCH_MODE_FLOW;
		else if (strcmp(arg, "alloc") == 0)
			o->mode = BENCH_MODE_ALLOC;
		else if (strcmp(arg, "limiter") == 0)
			o->mode = BENCH_MODE_LIMITER;
		else if (strcmp(arg, "wakeup") == 0)
			o->mode = BENCH_MODE_WAKEUP;
		else
			return bad("-m wants flow, alloc, limiter or wakeup",
			           arg);
		return 0;
	case 'n':
		if (parse_uint(arg, 1, COUNT_MAX, &v) != 0)
			return bad("-n wants 1 to 10000000 allocations", arg);
		o->count = (unsigned)v;
		return 0;
	case 'p':
		if (parse_uint(arg, 1, 65535, &v) != 0)
			return bad("-p wants a port from 1 to 65535", arg);
		*port = arg;
		return 0;
	case 'q':
		o->quiet = true;
		return 0;
	case 'r':
		if (parse_uint(arg, 0, RATE_MAX, &v) != 0)
			return bad("-r wants 0 (flat out) to 100000000 packets "
			           "per second",
			           arg);
		o->rate = v;
		return 0;
	case 's':
		o->send_indications = true;
		return 0;
	case 'S':
		if (parse_uint(arg, BENCH_PAYLOAD_MIN, BENCH_PAYLOAD_MAX, &v) !=
		    0)
			return bad("-S wants 16 to 4000 bytes", arg);
		o->payload = (unsigned)v;
		return 0;
	case 't':
		if (parse_seconds(arg, 0.1, 60, &o->timeout) != 0)
			return bad("-t wants 0.1 to 60 seconds", arg);
		return 0;
	case 'T':
		if (parse_uint(arg, 1, BENCH_SENDERS_MAX, &v) != 0)
			return bad("-T wants 1 to 16 sender threads", arg);
		o->senders = (unsigned)v;
		return 0;
	case 'u':
		o->user = arg;
		return 0;
	case 'w':
		o->password = arg;
		return 0;
	case 'W':
		o->secret = arg;
		return 0;
	case OPT_SERVER_PID:
		if (parse_uint(arg, 1, 0x7fffffff, &v) != 0)
			return bad("--server-pid wants a process id", arg);
		if (o->pid_count == BENCH_MAX_PIDS)
			return bad("too many --server-pid", arg);
		o->pids[o->pid_count++] = (pid_t)v;
		return 0;
	case OPT_SERVER_NAME:
		if (o->name_count == BENCH_MAX_NAMES)
			return bad("too many --server-name", arg);
		o->names[o->name_count++] = arg;
		return 0;
	case OPT_PEER:
		*peer = arg;
		return 0;
	case OPT_ALLOW_REMOTE:
		o->allow_remote = true;
		return 0;
	case OPT_TRANSPORT:
		if (strcmp(arg, "udp") == 0)
			o->transport = BENCH_TRANSPORT_UDP;
		else if (strcmp(arg, "tcp") == 0)
			o->transport = BENCH_TRANSPORT_TCP;
		else if (strcmp(arg, "tls") == 0)
			o->transport = BENCH_TRANSPORT_TLS;
		else
			return bad("--transport wants udp, tcp or tls", arg);
		return 0;
	case OPT_CA:
		o->ca_file = arg;
		return 0;
	default:
		usage(stderr);
		return EINVAL;
	}
}

/* Checks what the options say together. */
static int check_options(struct bench_options *o, const char *host,
                         const char *port, const char *peer)
{
	if (parse_address(host, port, &o->server) != 0)
		return bad("the server must be a numeric IPv4 or IPv6 address",
		           host);
	if (parse_address(peer, "0", &o->peer) != 0)
		return bad("--peer must be a numeric IPv4 or IPv6 address",
		           peer);
	/* Benchmarks flood: only where the operator said so. */
	if (!o->allow_remote && !is_loopback((struct sockaddr *)&o->server))
		return off_loopback("server", host);
	if (!o->allow_remote && !is_loopback((struct sockaddr *)&o->peer))
		return off_loopback("peer", peer);
	if ((o->password == NULL) == (o->secret == NULL)) {
		fprintf(stderr, "turnpike-bench: give a password (-w) or a "
		                "REST API secret (-W), one of them\n");
		return EINVAL;
	}
	if (o->user == NULL && o->password != NULL) {
		fprintf(stderr, "turnpike-bench: -w needs a user name (-u)\n");
		return EINVAL;
	}
	if (o->ca_file != NULL && o->transport != BENCH_TRANSPORT_TLS) {
		fprintf(stderr, "turnpike-bench: --ca goes with --transport "
		                "tls\n");
		return EINVAL;
	}
	return 0;
}

static int parse_options(int argc, char **argv, struct bench_options *o)
{
	static const struct option longs[] = {
	    {"allocations", required_argument, NULL, 'a'},
	    {"concurrency", required_argument, NULL, 'c'},
	    {"duration", required_argument, NULL, 'd'},
	    {"echo", no_argument, NULL, 'e'},
	    {"help", no_argument, NULL, 'h'},
	    {"mode", required_argument, NULL, 'm'},
	    {"count", required_argument, NULL, 'n'},
	    {"port", required_argument, NULL, 'p'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"rate", required_argument, NULL, 'r'},
	    {"send-indications", no_argument, NULL, 's'},
	    {"size", required_argument, NULL, 'S'},
	    {"timeout", required_argument, NULL, 't'},
	    {"senders", required_argument, NULL, 'T'},
	    {"user", required_argument, NULL, 'u'},
	    {"password", required_argument, NULL, 'w'},
	    {"secret", required_argument, NULL, 'W'},
	    {"version", no_argument, NULL, 'V'},
	    {"server-pid", required_argument, NULL, OPT_SERVER_PID},
	    {"server-name", required_argument, NULL, OPT_SERVER_NAME},
	    {"peer", required_argument, NULL, OPT_PEER},
	    {"allow-remote", no_argument, NULL, OPT_ALLOW_REMOTE},
	    {"transport", required_argument, NULL, OPT_TRANSPORT},
	    {"ca", required_argument, NULL, OPT_CA},
	    {NULL, 0, NULL, 0},
	};
	const char *port = DEFAULT_PORT, *peer = "127.0.0.1";
	int ch;

	*o = (struct bench_options){.allocations = 8,
	                            .payload = 100,
	                            .senders = 1,
	                            .duration = 5,
	                            .count = 1000,
	                            .concurrency = 8,
	                            .timeout = 3};
	while ((ch = getopt_long(argc, argv, "a:c:d:ehm:n:p:qr:sS:t:T:u:Vw:W:",
	                         longs, NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			exit(0);
		}
		if (ch == 'V') {
			printf("turnpike-bench %s\n", PACKAGE_VERSION);
			exit(0);
		}
		if (parse_option(ch, optarg, o, &port, &peer) != 0)
			return EINVAL;
	}
	/* The limiter's and a wakeup's costs are measured in process: no
	 * server. */
	if ((o->mode == BENCH_MODE_LIMITER || o->mode == BENCH_MODE_WAKEUP) &&
	    optind == argc)
		return 0;
	if (optind + 1 != argc) {
		usage(stderr);
		return EINVAL;
	}
	if (o->user == NULL && o->secret != NULL)
		o->user = "bench";
	return check_options(o, argv[optind], port, peer);
}

/* REST API credentials (auth.h): "expiry:user" signed with the secret. */
static int make_credentials(const struct bench_options *o,
                            struct bench_credentials *cred)
{
	int n;

	if (o->secret == NULL) {
		if (strlen(o->user) >= sizeof(cred->username) ||
		    strlen(o->password) >= sizeof(cred->password))
			return ENAMETOOLONG;
		strcpy(cred->username, o->user);
		strcpy(cred->password, o->password);
		return 0;
	}
	n = snprintf(cred->username, sizeof(cred->username), "%lld:%s",
	             (long long)time(NULL) + REST_TTL, o->user);
	if (n < 0 || (size_t)n >= sizeof(cred->username))
		return ENAMETOOLONG;
	return auth_rest_password(o->secret, cred->username, cred->password,
	                          sizeof(cred->password));
}

/* Descriptors: one per allocation, and some to spare. */
static int raise_nofile(unsigned needed)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return errno;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < needed + FDS_SPARE) {
		fprintf(stderr,
		        "turnpike-bench: %u allocations need %u descriptors; "
		        "the limit is %llu (ulimit -n)\n",
		        needed, needed + FDS_SPARE,
		        (unsigned long long)rl.rlim_cur);
		return EMFILE;
	}
	return 0;
}

/* A run that relayed nothing measured nothing: an error, with a hint. */
static int check_relayed(const struct bench_options *o, const struct report *r)
{
	const char *what = NULL;

	if (r->peer == 0)
		what = "nothing reached the peer";
	else if (o->echo && r->echoed == 0)
		what = "nothing came back from the peer";
	if (what == NULL)
		return 0;
	fprintf(stderr, "turnpike-bench: %s (%llu sent%s%s)\n", what,
	        (unsigned long long)r->sent,
	        r->send_error != 0 ? "; last send error: " : "",
	        r->send_error != 0 ? strerror(r->send_error) : "");
	return 1;
}

/* What the clients share: credentials, and the TLS context over TLS.
 * EXIT_USAGE or 1 after printing why; 0. */
static int make_access(const struct bench_options *o,
                       struct bench_access *access)
{
	char error[BENCH_ERROR_SIZE];

	memset(access, 0, sizeof(*access));
	access->transport = o->transport;
	access->frame_max = BENCH_FRAME_MAX(o->payload);
	if (make_credentials(o, &access->credentials) != 0) {
		fprintf(stderr, "turnpike-bench: cannot make credentials\n");
		return EXIT_USAGE;
	}
	if (o->transport == BENCH_TRANSPORT_UDP)
		return 0;
	/* A server that closes a connection must not kill the generator
	 * in the middle of a write: EPIPE is reported instead. */
	signal(SIGPIPE, SIG_IGN);
	if (o->transport == BENCH_TRANSPORT_TLS &&
	    stream_tls_context(o, &access->tls, error, sizeof(error)) != 0) {
		fprintf(stderr, "turnpike-bench: %s\n", error);
		return o->ca_file != NULL ? EXIT_USAGE : 1;
	}
	return 0;
}

static int run(const struct bench_options *o, const struct bench_access *a)
{
	char error[BENCH_ERROR_SIZE];
	struct report r = {0};
	struct procstat ps;
	int err;

	if (raise_nofile(o->mode == BENCH_MODE_FLOW ? o->allocations
	                                            : o->concurrency) != 0)
		return 1;
	err = procstat_find(&ps, o, error, sizeof(error));
	if (err != 0) {
		fprintf(stderr, "turnpike-bench: %s\n", error);
		return 1;
	}
	r.have_cpu = ps.count > 0;
	r.processes = (unsigned)ps.count;
	if (o->mode == BENCH_MODE_ALLOC)
		return run_alloc(o, a, &ps, &r) == 0 ? 0 : 1;
	if (run_flow(o, a, &ps, &r) != 0)
		return 1;
	return check_relayed(o, &r);
}

int main(int argc, char **argv)
{
	struct bench_options o;
	struct bench_access access;
	int status;

	if (parse_options(argc, argv, &o) != 0)
		return EXIT_USAGE;
	if (o.mode == BENCH_MODE_LIMITER)
		return run_limiter(&o) == 0 ? 0 : 1;
	if (o.mode == BENCH_MODE_WAKEUP)
		return run_wakeup(&o) == 0 ? 0 : 1;
	status = make_access(&o, &access);
	if (status == 0)
		status = run(&o, &access);
	SSL_CTX_free(access.tls);
	OPENSSL_cleanse(access.credentials.password,
	                sizeof(access.credentials.password));
	return status;
}
